//! Groups: membership in its own table, `members` rendered with `display`/`$ref`/`type`,
//! and `User.groups` derived from it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{behaviour, id, scim_error, GROUP, PATCH_OP, USER};

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

    async fn a_write_answers_with_the_groups_and_members_a_read_shows(app: TestApp) {
        let user = app.create_user("writer").await;
        let group = app.create_group("Sales", &[id(&user)]).await;
        let patch = |value: Value| json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": value}]});

        let res = app.patch(&format!("/Users/{}", id(&user)), patch(json!({"title": "Lead"}))).await;
        assert_eq!(res.status(), StatusCode::OK);
        let answered: Value = res.json().await.unwrap();
        let read: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert_eq!(answered["groups"], json!([{"value": id(&group), "display": "Sales", "type": "direct", "$ref": app.url(&format!("/Groups/{}", id(&group)))}]));
        assert_eq!(answered, read);

        // A group's PATCH answers 204, as Entra ID expects; its PUT answers with the group.
        let res = app.patch(&format!("/Groups/{}", id(&group)), patch(json!({"displayName": "Sales EMEA"}))).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let read: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert_eq!(read["groups"][0]["display"], "Sales EMEA");

        let other = app.create_user("newcomer").await;
        let members = json!([{"value": id(&user)}, {"value": id(&other)}]);
        let res = app
            .put(&format!("/Groups/{}", id(&group)), json!({"schemas": [GROUP], "displayName": "Sales", "members": members}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let answered: Value = res.json().await.unwrap();
        assert_eq!(answered["members"].as_array().unwrap().len(), 2, "{answered}");
        let read: Value = app.get(&format!("/Groups/{}", id(&group))).await.json().await.unwrap();
        assert_eq!(answered, read);
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

/// `sizes.len()` groups, each with the first `sizes[i]` of enough users as members; their ids.
async fn big_groups(app: &crate::helpers::TestApp, sizes: &[usize]) -> Vec<String> {
    use scimd::scim::resource::MemberRef;
    use scimd::scim::schema::ResourceKind;
    use scimd::store::{Load, NewResource};
    let tenant = app.store.ensure_tenant("default").await.unwrap();
    app.seed_users("member", sizes.iter().copied().max().unwrap_or(0)).await;
    let mut ids = Vec::new();
    for (g, size) in sizes.iter().enumerate() {
        let new = NewResource {
            id: format!("big-{g}").into(),
            kind: ResourceKind::Group,
            doc: json!({"displayName": format!("Big {g}")}),
            password_hash: None,
            members: (0..*size).map(|i| MemberRef::id(format!("member-{i}").into())).collect(),
            name_guard: None,
            audit: crate::helpers::test_audit(),
        };
        ids.push(app.store.insert(tenant, new, Load::default()).await.unwrap().id.into_string());
    }
    ids
}

/// Pages of large groups; a module of its own, since `behaviour!` makes one per module.
mod budget {
    use serde_json::{json, Value};

    use super::big_groups;
    use crate::helpers::behaviour;

    behaviour! {
        async fn a_page_of_groups_ends_before_its_members_pass_the_budget_and_paging_goes_on(app: TestApp) {
            // 6,000 + 6,000 + 100 members against a budget of 10,000 a page.
            let ids = big_groups(&app, &[6000, 6000, 100]).await;

            let first: Value = app.get("/Groups?count=10").await.json().await.unwrap();
            assert_eq!((first["totalResults"].as_u64(), first["itemsPerPage"].as_u64()), (Some(3), Some(1)));
            assert_eq!(first["Resources"][0]["id"], ids[0].as_str());
            assert_eq!(first["Resources"][0]["members"].as_array().unwrap().len(), 6000);
            let rest: Value = app.get("/Groups?count=10&startIndex=2").await.json().await.unwrap();
            assert_eq!(rest["itemsPerPage"], 2);
            assert_eq!(rest["Resources"][1]["members"].as_array().unwrap().len(), 100);
            // Without members nothing is cut.
            let bare: Value = app.get("/Groups?count=10&excludedAttributes=members").await.json().await.unwrap();
            assert_eq!(bare["itemsPerPage"], 3);
            // Cursor paging goes on after a cut page.
            let page: Value = app.get("/Groups?count=10&cursor=").await.json().await.unwrap();
            assert_eq!(page["itemsPerPage"], 1);
            let next = page["nextCursor"].as_str().expect("a cut page has a next cursor");
            let page: Value = app.get(&format!("/Groups?count=10&cursor={next}")).await.json().await.unwrap();
            assert_eq!(page["itemsPerPage"], 2);
            assert!(page.get("nextCursor").is_none(), "{page}");
        }

        async fn a_group_bigger_than_a_page_is_written_a_chunk_at_a_time_and_arrives_whole(app: TestApp) {
            let ids = big_groups(&app, &[12_000, 100]).await;

            let group: Value = app.get(&format!("/Groups/{}", ids[0])).await.json().await.unwrap();
            let members = group["members"].as_array().expect("the members, streamed into the body");
            assert_eq!(members.len(), 12_000);
            let unique: std::collections::HashSet<&str> = members.iter().map(|m| m["value"].as_str().unwrap()).collect();
            assert_eq!(unique.len(), 12_000, "no member twice");
            assert_eq!(members[0]["type"], "User");
            assert!(members[0]["$ref"].as_str().unwrap().contains("/scim/v2/Users/"));
            assert_eq!(group["displayName"], "Big 0");

            let values: Value = app.get(&format!("/Groups/{}?attributes=members.value", ids[0])).await.json().await.unwrap();
            let first = values["members"][0].as_object().unwrap();
            assert_eq!(first.keys().collect::<Vec<_>>(), ["value"], "the projection holds in every chunk");
            assert_eq!(values["members"].as_array().unwrap().len(), 12_000);

            let page: Value = app.get("/Groups?count=10").await.json().await.unwrap();
            assert_eq!((page["totalResults"].as_u64(), page["itemsPerPage"].as_u64()), (Some(2), Some(1)));
            assert_eq!(page["Resources"][0]["members"].as_array().unwrap().len(), 12_000);
            let rest: Value = app.get("/Groups?count=10&startIndex=2").await.json().await.unwrap();
            assert_eq!(rest["Resources"][0]["members"].as_array().unwrap().len(), 100);
            let search: Value = app
                .post("/.search", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                        "filter": "displayName sw \"Big\"", "count": 10}))
                .await
                .json()
                .await
                .unwrap();
            let found: Vec<usize> = search["Resources"].as_array().unwrap().iter().map(|g| g["members"].as_array().map_or(0, Vec::len)).collect();
            assert_eq!(found, [12_000], "/.search ends its page at the big group too");
        }
    }
}
