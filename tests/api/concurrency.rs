//! Races between writers, through two servers with their own connection pools on one
//! database: the database decides, so exactly one writer wins and nothing is lost.

use futures::future::join_all;
use serde_json::{json, Value};

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

    async fn simultaneous_puts_without_if_match_all_land_one_after_another(app: TestApp) {
        let user = app.create_user("serial").await;
        let path = format!("/scim/v2/Users/{}", id(&user));
        let statuses = race(&app, 20, |base, i| {
            app.client
                .put(format!("{base}{path}"))
                .header("content-type", "application/scim+json")
                .body(json!({"schemas": [USER], "userName": "serial", "title": format!("writer {i}")}).to_string())
        })
        .await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let now: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert_eq!(now["meta"]["version"], "W/\"21\"");
    }
}
