//! PATCH over HTTP, including the request shapes Microsoft Entra ID and Okta send, each
//! asserting the stored resource afterwards.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{behaviour, id, scim_error, TestApp, PATCH_OP, USER};

fn ops(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

async fn member_ids(app: &TestApp, group: &str) -> Vec<String> {
    let g: Value = app.get(&format!("/Groups/{group}")).await.json().await.unwrap();
    let mut ids: Vec<String> = g["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

behaviour! {
    async fn user_patch_answers_200_with_the_resource_and_bumps_the_version_once(app: TestApp) {
        let user = app.create_user("p").await;
        let res = app
            .patch(
                &format!("/Users/{}", id(&user)),
                ops(json!([{"op": "add", "path": "title", "value": "Engineer"}, {"op": "replace", "path": "displayName", "value": "P"}])),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["etag"], "W/\"2\"");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["title"], "Engineer");
        assert_eq!(body["displayName"], "P");
    }

    async fn entra_replace_active_with_a_string_boolean(app: TestApp) {
        let user = app.create_user("entra").await;
        let path = format!("/Users/{}", id(&user));
        let res = app.patch(&path, ops(json!([{"op": "Replace", "path": "active", "value": "False"}]))).await;
        assert_eq!(res.status(), StatusCode::OK);
        let stored: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(stored["active"], json!(false));
    }

    async fn entra_add_through_a_value_path_that_matches_nothing_creates_the_element(app: TestApp) {
        let user = app.create_user("entra").await;
        let path = format!("/Users/{}", id(&user));
        let res = app
            .patch(&path, ops(json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@contoso.com"},
                                     {"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555"}])))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let stored: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(stored["emails"], json!([{"type": "work", "value": "w@contoso.com"}]));
        assert_eq!(stored["phoneNumbers"], json!([{"type": "work", "value": "+1 555"}]));
    }

    async fn entra_no_path_replace_with_dotted_and_urn_keys(app: TestApp) {
        let user = app.create_user("entra").await;
        let path = format!("/Users/{}", id(&user));
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let res = app
            .patch(
                &path,
                ops(json!([{"op": "replace", "value": {"displayName": "Ann", "name.givenName": "Ann",
                            format!("{ext}:department"): "Sales"}}])),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let stored: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(stored["displayName"], "Ann");
        assert_eq!(stored["name"]["givenName"], "Ann");
        assert_eq!(stored[ext]["department"], "Sales");
        assert!(stored["schemas"].as_array().unwrap().contains(&json!(ext)));
    }

    async fn entra_replace_manager_with_a_plain_string(app: TestApp) {
        let user = app.create_user("report").await;
        let manager = app.create_user("boss").await;
        let path = format!("/Users/{}", id(&user));
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let res = app.patch(&path, ops(json!([{"op": "Replace", "path": format!("{ext}:manager"), "value": id(&manager)}]))).await;
        assert_eq!(res.status(), StatusCode::OK);
        let stored: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(stored[ext]["manager"]["value"], manager["id"]);
    }

    async fn an_empty_operations_array_changes_nothing_and_answers_200(app: TestApp) {
        let user = app.create_user("same").await;
        let res = app.patch(&format!("/Users/{}", id(&user)), ops(json!([]))).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["etag"], "W/\"1\"");
    }

    async fn a_failing_operation_leaves_the_resource_unchanged(app: TestApp) {
        let user = app.create_user("atomic").await;
        let path = format!("/Users/{}", id(&user));
        let res = app
            .patch(&path, ops(json!([{"op": "replace", "path": "title", "value": "X"}, {"op": "replace", "path": "shoeSize", "value": 9}])))
            .await;
        let err = scim_error(res, 400).await;
        assert_eq!(err["scimType"], "invalidPath");
        let stored: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(stored, user);
    }

    async fn patching_a_read_only_attribute_is_mutability(app: TestApp) {
        let user = app.create_user("ro").await;
        let res = app.patch(&format!("/Users/{}", id(&user)), ops(json!([{"op": "replace", "path": "id", "value": "x"}]))).await;
        assert_eq!(scim_error(res, 400).await["scimType"], "mutability");
    }

    async fn patch_without_the_patch_op_schema_is_invalid_syntax(app: TestApp) {
        let user = app.create_user("s").await;
        let res = app.patch(&format!("/Users/{}", id(&user)), json!({"Operations": []})).await;
        assert_eq!(scim_error(res, 400).await["scimType"], "invalidSyntax");
    }

    async fn patch_to_a_taken_user_name_is_409(app: TestApp) {
        app.create_user("first").await;
        let second = app.create_user("second").await;
        let res = app.patch(&format!("/Users/{}", id(&second)), ops(json!([{"op": "replace", "path": "userName", "value": "FIRST"}]))).await;
        assert_eq!(scim_error(res, 409).await["scimType"], "uniqueness");
    }

    async fn patch_with_a_stale_if_match_is_412(app: TestApp) {
        let user = app.create_user("v").await;
        let res = app
            .client
            .patch(app.url(&format!("/Users/{}", id(&user))))
            .bearer_auth(&app.token)
            .header("if-match", "W/\"5\"")
            .header("content-type", "application/scim+json")
            .body(ops(json!([{"op": "replace", "path": "title", "value": "x"}])).to_string())
            .send()
            .await
            .unwrap();
        scim_error(res, 412).await;
    }

    async fn group_patch_answers_204_unless_attributes_are_asked_for(app: TestApp) {
        let u = app.create_user("u").await;
        let group = app.create_group("G", &[]).await;
        let path = format!("/Groups/{}", id(&group));
        let res = app.patch(&path, ops(json!([{"op": "add", "path": "members", "value": [{"value": id(&u)}]}]))).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(res.headers()["etag"], "W/\"2\"");
        let res = app.patch(&format!("{path}?attributes=displayName"), ops(json!([{"op": "replace", "path": "displayName", "value": "H"}]))).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["displayName"], "H");
        assert!(body.get("members").is_none());
    }

    async fn entra_member_add_with_a_value_array_and_remove_with_a_value_array_removes_exactly_those(app: TestApp) {
        let (a, b, c) = (app.create_user("a").await, app.create_user("b").await, app.create_user("c").await);
        let group = app.create_group("G", &[]).await;
        let path = format!("/Groups/{}", id(&group));
        let res = app
            .patch(&path, ops(json!([{"op": "Add", "path": "members", "value": [{"value": id(&a)}, {"value": id(&b)}, {"value": id(&c)}]}])))
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(member_ids(&app, id(&group)).await, sorted(&[id(&a), id(&b), id(&c)]));
        let res = app.patch(&path, ops(json!([{"op": "Remove", "path": "members", "value": [{"value": id(&b)}]}]))).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(member_ids(&app, id(&group)).await, sorted(&[id(&a), id(&c)]));
    }

    async fn okta_member_remove_with_a_value_filter_keeps_other_members(app: TestApp) {
        let (a, b) = (app.create_user("a").await, app.create_user("b").await);
        let group = app.create_group("G", &[id(&a), id(&b)]).await;
        let path = format!("/Groups/{}", id(&group));
        let res = app.patch(&path, ops(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", id(&a))}]))).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(member_ids(&app, id(&group)).await, sorted(&[id(&b)]));
    }

    async fn okta_rename_with_id_in_the_value_and_replace_members_with_empty_list(app: TestApp) {
        let a = app.create_user("a").await;
        let group = app.create_group("Old", &[id(&a)]).await;
        let path = format!("/Groups/{}", id(&group));
        let res = app.patch(&path, ops(json!([{"op": "replace", "value": {"id": id(&group), "displayName": "New"}}]))).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = app.patch(&path, ops(json!([{"op": "replace", "path": "members", "value": []}]))).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let g: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(g["displayName"], "New");
        assert!(g.get("members").is_none());
    }

    async fn adding_an_unknown_member_names_it_and_changes_nothing(app: TestApp) {
        let a = app.create_user("a").await;
        let group = app.create_group("G", &[id(&a)]).await;
        let path = format!("/Groups/{}", id(&group));
        let res = app.patch(&path, ops(json!([{"op": "add", "path": "members", "value": [{"value": "ghost"}]}]))).await;
        let err = scim_error(res, 400).await;
        assert!(err["detail"].as_str().unwrap().contains("ghost"));
        assert_eq!(member_ids(&app, id(&group)).await, sorted(&[id(&a)]));
        let g: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(g["meta"]["version"], "W/\"1\"");
    }

    async fn okta_put_of_a_whole_user(app: TestApp) {
        let user = app.create_user("okta@example.com").await;
        let path = format!("/Users/{}", id(&user));
        let res = app
            .put(
                &path,
                json!({"schemas": [USER], "id": id(&user), "userName": "okta@example.com", "name": {"givenName": "O", "familyName": "K"},
                       "emails": [{"primary": true, "value": "okta@example.com", "type": "work"}], "active": true,
                       "groups": [], "password": "Pa55word!"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let stored: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(stored["name"]["familyName"], "K");
        assert_eq!(stored["emails"][0]["primary"], true);
        assert!(stored.get("password").is_none());
    }
}
