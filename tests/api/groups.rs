//! Groups: membership in its own table, `members` rendered with `display`/`$ref`/`type`,
//! and `User.groups` derived from it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{behaviour, id, scim_error, GROUP, USER};

behaviour! {
    async fn group_members_are_rendered_with_display_ref_and_type(app: TestApp) {
        let res = app.post("/Users", json!({"schemas": [USER], "userName": "m1", "displayName": "Member One"})).await;
        let user: Value = res.json().await.unwrap();
        let inner = app.create_group("inner", &[]).await;
        let group = app.create_group("outer", &[id(&user), id(&inner)]).await;
        let members = group["members"].as_array().unwrap();
        assert_eq!(members.len(), 2);
        let m = members.iter().find(|m| m["value"] == user["id"]).unwrap();
        assert_eq!(m["display"], "Member One");
        assert_eq!(m["type"], "User");
        assert_eq!(m["$ref"], json!(format!("{}/Users/{}", app.url(""), id(&user))));
        let g = members.iter().find(|m| m["value"] == inner["id"]).unwrap();
        assert_eq!(g["type"], "Group");
        assert_eq!(g["display"], "inner");
    }

    async fn user_groups_are_derived_from_membership(app: TestApp) {
        let user = app.create_user("joiner").await;
        let group = app.create_group("Sales", &[id(&user)]).await;
        let fetched: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert_eq!(fetched["groups"][0]["value"], group["id"]);
        assert_eq!(fetched["groups"][0]["display"], "Sales");
        assert_eq!(fetched["groups"][0]["type"], "direct");
    }

    async fn unknown_member_ids_are_refused_by_name_and_nothing_is_created(app: TestApp) {
        let user = app.create_user("real").await;
        let res = app
            .post("/Groups", json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": id(&user)}, {"value": "ghost-1"}, {"value": "ghost-2"}]}))
            .await;
        let err = scim_error(res, 400).await;
        let detail = err["detail"].as_str().unwrap();
        assert!(detail.contains("ghost-1") && detail.contains("ghost-2") && !detail.contains(id(&user)), "{detail}");
        let list: Value = app.get("/Groups").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 0);
    }

    async fn put_replaces_the_member_list(app: TestApp) {
        let (a, b) = (app.create_user("a").await, app.create_user("b").await);
        let group = app.create_group("G", &[id(&a)]).await;
        let res = app
            .put(
                &format!("/Groups/{}", id(&group)),
                json!({"schemas": [GROUP], "displayName": "G2", "members": [{"value": id(&b)}]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["displayName"], "G2");
        let ids: Vec<&str> = body["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
        assert_eq!(ids, [id(&b)]);
    }

    async fn excluded_members_are_not_rendered(app: TestApp) {
        let user = app.create_user("x").await;
        let group = app.create_group("Big", &[id(&user)]).await;
        let body: Value =
            app.get(&format!("/Groups/{}?excludedAttributes=members", id(&group))).await.json().await.unwrap();
        assert!(body.get("members").is_none());
        assert_eq!(body["displayName"], "Big");
        let list: Value = app.get("/Groups?excludedAttributes=members").await.json().await.unwrap();
        assert!(list["Resources"][0].get("members").is_none());
    }

    async fn deleting_a_user_removes_it_from_its_groups(app: TestApp) {
        let (a, b) = (app.create_user("a").await, app.create_user("b").await);
        let group = app.create_group("G", &[id(&a), id(&b)]).await;
        app.delete(&format!("/Users/{}", id(&a))).await;
        let body: Value = app.get(&format!("/Groups/{}", id(&group))).await.json().await.unwrap();
        let ids: Vec<&str> = body["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
        assert_eq!(ids, [id(&b)]);
    }

    async fn deleting_a_group_removes_it_from_user_groups(app: TestApp) {
        let user = app.create_user("u").await;
        let group = app.create_group("G", &[id(&user)]).await;
        assert_eq!(app.delete(&format!("/Groups/{}", id(&group))).await.status(), StatusCode::NO_CONTENT);
        scim_error(app.get(&format!("/Groups/{}", id(&group))).await, 404).await;
        let body: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert!(body.get("groups").is_none());
    }

    async fn group_display_name_is_required_and_filterable(app: TestApp) {
        let err = scim_error(app.post("/Groups", json!({"schemas": [GROUP]})).await, 400).await;
        assert!(err["detail"].as_str().unwrap().contains("displayName"));
        app.create_group("Engineering", &[]).await;
        app.create_group("Sales", &[]).await;
        let list: Value = app.get("/Groups?filter=displayName%20eq%20%22engineering%22").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 1);
        assert_eq!(list["Resources"][0]["displayName"], "Engineering");
    }

    async fn a_display_the_client_gives_a_member_is_kept_and_displayname_is_taken_as_display(app: TestApp) {
        let (a, b) = (app.create_user("a").await, app.create_user("b").await);
        let res = app
            .post(
                "/Groups",
                json!({"schemas": [GROUP], "displayName": "G",
                       "members": [{"value": id(&a), "display": "Alice A."}, {"value": id(&b), "displayName": "Bob B."}]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let g: Value = res.json().await.unwrap();
        let display = |uid: &str| g["members"].as_array().unwrap().iter().find(|m| m["value"] == uid).unwrap()["display"].clone();
        assert_eq!(display(id(&a)), "Alice A.");
        assert_eq!(display(id(&b)), "Bob B.");
    }

    async fn a_member_without_a_value_is_invalid(app: TestApp) {
        let res = app.post("/Groups", json!({"schemas": [GROUP], "displayName": "G", "members": [{"display": "x"}]})).await;
        let err = scim_error(res, 400).await;
        assert_eq!(err["scimType"], "invalidValue");
    }
}
