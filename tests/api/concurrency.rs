//! Races between writers, through two servers with their own connection pools on one
//! database: the database decides, so exactly one writer wins and nothing is lost.

use futures::future::join_all;
use serde_json::{json, Value};

use scimd::scim::schema::ResourceKind;
use scimd::store::Load;

use crate::helpers::{behaviour, id, TestApp, USER};

async fn race(app: &TestApp, n: usize, request: impl Fn(&str, usize) -> reqwest::RequestBuilder) -> Vec<u16> {
    let second = app.second_server().await;
    let bases = [app.base.clone(), second];
    let sends = (0..n).map(|i| request(&bases[i % 2], i).bearer_auth(&app.token).send());
    join_all(sends).await.into_iter().map(|r| r.expect("response").status().as_u16()).collect()
}

behaviour! {
    async fn fifty_simultaneous_creates_of_one_user_name_yield_one_201_and_409s(app: TestApp) {
        let statuses = race(&app, 50, |base, i| {
            let name = if i % 2 == 0 { "Race@Example.com" } else { "race@example.COM" };
            app.client
                .post(format!("{base}/scim/v2/Users"))
                .header("content-type", "application/scim+json")
                .body(json!({"schemas": [USER], "userName": name}).to_string())
        })
        .await;
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 49, "{statuses:?}");
        let list: Value = app.get("/Users").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 1);
    }

    async fn fifty_simultaneous_puts_with_one_if_match_yield_one_success_and_412s(app: TestApp) {
        let user = app.create_user("contested").await;
        let path = format!("/scim/v2/Users/{}", id(&user));
        let statuses = race(&app, 50, |base, i| {
            app.client
                .put(format!("{base}{path}"))
                .header("if-match", "W/\"1\"")
                .header("content-type", "application/scim+json")
                .body(json!({"schemas": [USER], "userName": "contested", "title": format!("writer {i}")}).to_string())
        })
        .await;
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 49, "{statuses:?}");
        let now: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert_eq!(now["meta"]["version"], "W/\"2\"");
    }

    async fn fifty_simultaneous_patches_with_one_if_match_yield_one_success_and_412s(app: TestApp) {
        let user = app.create_user("patched").await;
        let path = format!("/scim/v2/Users/{}", id(&user));
        let statuses = race(&app, 50, |base, i| {
            app.client
                .patch(format!("{base}{path}"))
                .header("if-match", "W/\"1\"")
                .header("content-type", "application/scim+json")
                .body(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "replace", "path": "title", "value": format!("writer {i}")}]})
                    .to_string(),
                )
        })
        .await;
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 49, "{statuses:?}");
    }

    async fn concurrent_member_adds_to_one_group_lose_no_member(app: TestApp) {
        let mut users = Vec::new();
        for i in 0..40 {
            users.push(id(&app.create_user(&format!("m{i}")).await).to_owned());
        }
        let group = app.create_group("Crowd", &[]).await;
        let path = format!("/scim/v2/Groups/{}", id(&group));
        let statuses = race(&app, 40, |base, i| {
            app.client
                .patch(format!("{base}{path}"))
                .header("content-type", "application/scim+json")
                .body(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "add", "path": "members", "value": [{"value": users[i]}]}]})
                    .to_string(),
                )
        })
        .await;
        assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
        let g: Value = app.get(&format!("/Groups/{}", id(&group))).await.json().await.unwrap();
        assert_eq!(g["members"].as_array().unwrap().len(), 40);
        assert_eq!(g["meta"]["version"], "W/\"41\"");
    }

    async fn a_thousand_concurrent_member_adds_through_two_servers_all_succeed_and_all_stay(app: TestApp) {
        use futures::StreamExt;
        app.seed_users("crowd", 1000).await;
        let group = app.create_group("Stadium", &[]).await;
        let second = app.second_server().await;
        let bases = [app.base.clone(), second];
        let path = format!("/scim/v2/Groups/{}", id(&group));

        // 200 in flight at a time, alternating between the two servers.
        let statuses: Vec<u16> = futures::stream::iter(0..1000)
            .map(|i| {
                let request = app
                    .client
                    .patch(format!("{}{path}", bases[i % 2]))
                    .bearer_auth(&app.token)
                    .header("content-type", "application/scim+json")
                    .body(
                        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                               "Operations": [{"op": "add", "path": "members", "value": [{"value": format!("crowd-{i}")}]}]})
                        .to_string(),
                    );
                async move { request.send().await.expect("response").status().as_u16() }
            })
            .buffer_unordered(200)
            .collect()
            .await;

        assert!(statuses.iter().all(|s| *s == 204), "every add answered 204: {:?}", statuses.iter().filter(|s| **s != 204).collect::<Vec<_>>());
        let g: Value = app.get(&format!("/Groups/{}?attributes=members.value", id(&group))).await.json().await.unwrap();
        assert_eq!(g["members"].as_array().unwrap().len(), 1000, "every member kept");
        let g: Value = app.get(&format!("/Groups/{}?excludedAttributes=members", id(&group))).await.json().await.unwrap();
        assert_eq!(g["meta"]["version"], "W/\"1001\"", "one version per change");
    }

    async fn simultaneous_puts_without_if_match_all_land_one_after_another(app: TestApp) {
        let user = app.create_user("serial").await;
        let path = format!("/scim/v2/Users/{}", id(&user));
        let statuses = race(&app, 100, |base, i| {
            app.client
                .put(format!("{base}{path}"))
                .header("content-type", "application/scim+json")
                .body(json!({"schemas": [USER], "userName": "serial", "title": format!("writer {i}")}).to_string())
        })
        .await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let now: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert_eq!(now["meta"]["version"], "W/\"101\"");
    }

    async fn the_initial_domain_rule_holds_between_simultaneous_writers(app: TestApp) {
        let tenant = app.store.find_tenant("default").await.unwrap().unwrap();
        app.store.add_domain(tenant, "contoso.com", false, &crate::helpers::test_actor()).await.unwrap();
        app.store.add_domain(tenant, "contoso.onmicrosoft.com", true, &crate::helpers::test_actor()).await.unwrap();
        // Each local part is created at the same moment on the initial and the custom domain.
        let statuses = race(&app, 40, |base, i| {
            let domain = if i % 2 == 0 { "contoso.onmicrosoft.com" } else { "contoso.com" };
            app.client
                .post(format!("{base}/scim/v2/Users"))
                .header("content-type", "application/scim+json")
                .body(json!({"schemas": [USER], "userName": format!("user{}@{domain}", i / 2)}).to_string())
        })
        .await;
        assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
        // Whatever the order, a name on the initial domain never came after its custom twin.
        let query = scimd::store::ListQuery { filter: None, sort: None, start_index: 1, after_seq: None, count: 1000, member_budget: None };
        let users = app.store.list(tenant, ResourceKind::User, &query, Load::default()).await.unwrap().items;
        let seq_of = |name: String| users.iter().find(|u| u.doc["userName"] == name.as_str()).map(|u| u.seq);
        for n in 0..20 {
            let initial = seq_of(format!("user{n}@contoso.onmicrosoft.com"));
            let custom = seq_of(format!("user{n}@contoso.com"));
            assert!(custom.is_some(), "the custom-domain name is never refused");
            if let (Some(i), Some(c)) = (initial, custom) {
                assert!(i < c, "user{n}: the initial-domain name was created after the custom one");
            }
        }
    }
}
