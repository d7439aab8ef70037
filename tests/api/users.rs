//! Users: create, read, replace, delete, list and the `eq` filters identity providers send.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{behaviour, id, scim_error, USER};

behaviour! {
    async fn create_user_returns_201_with_location_meta_and_etag(app: TestApp) {
        let res = app
            .post(
                "/Users",
                json!({"schemas": [USER], "userName": "bjensen", "name": {"givenName": "Barbara"}, "externalId": "e1"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/scim+json"));
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let body: Value = res.json().await.unwrap();
        assert_eq!(location, format!("{}/Users/{}", app.url(""), id(&body)));
        assert_eq!(body["meta"]["location"], json!(location));
        assert_eq!(body["meta"]["version"], json!(etag));
        assert_eq!(body["meta"]["resourceType"], "User");
        assert_eq!(body["meta"]["created"], body["meta"]["lastModified"]);
        assert_eq!(body["userName"], "bjensen");
        assert_eq!(body["externalId"], "e1");
        assert_eq!(body["schemas"], json!([USER]));
    }

    async fn get_user_returns_what_was_created(app: TestApp) {
        let created = app.create_user("alice").await;
        let res = app.get(&format!("/Users/{}", id(&created))).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body, created);
    }

    async fn get_unknown_user_is_404(app: TestApp) {
        scim_error(app.get("/Users/does-not-exist").await, 404).await;
    }

    async fn user_name_is_unique_case_insensitively_with_unicode_folding(app: TestApp) {
        app.create_user("Müller@example.com").await;
        let res = app.post("/Users", json!({"schemas": [USER], "userName": "MÜLLER@EXAMPLE.COM"})).await;
        let err = scim_error(res, 409).await;
        assert_eq!(err["scimType"], "uniqueness");
        assert!(err["detail"].as_str().unwrap().contains("MÜLLER@EXAMPLE.COM"));
    }

    async fn password_is_accepted_but_never_returned(app: TestApp) {
        let res = app.post("/Users", json!({"schemas": [USER], "userName": "p", "password": "t0p-secret"})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        assert!(body.get("password").is_none());
        let fetched: Value = app.get(&format!("/Users/{}", id(&body))).await.json().await.unwrap();
        assert!(fetched.get("password").is_none());
        assert!(!fetched.to_string().contains("t0p-secret"));
    }

    async fn read_only_attributes_sent_by_clients_are_ignored(app: TestApp) {
        let res = app
            .post(
                "/Users",
                json!({"schemas": [USER], "userName": "ro", "id": "chosen-by-client", "meta": {"version": "W/\"99\""},
                       "groups": [{"value": "g"}]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        assert_ne!(id(&body), "chosen-by-client");
        assert_eq!(body["meta"]["version"], "W/\"1\"");
        assert!(body.get("groups").is_none());
    }

    async fn attribute_names_in_any_case_are_accepted_and_stored_canonically(app: TestApp) {
        let res = app
            .post("/Users", json!({"SCHEMAS": [USER], "UserName": "c", "NAME": {"familyname": "F"}, "Active": "True"}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["userName"], "c");
        assert_eq!(body["name"], json!({"familyName": "F"}));
        assert_eq!(body["active"], json!(true));
    }

    async fn put_replaces_the_user_and_bumps_the_version(app: TestApp) {
        let created = app.create_user("r1").await;
        let path = format!("/Users/{}", id(&created));
        app.put(&path, json!({"schemas": [USER], "userName": "r1", "title": "Boss", "displayName": "R"})).await;
        let res = app.put(&path, json!({"schemas": [USER], "userName": "r1-renamed", "displayName": "R"})).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["etag"], "W/\"3\"");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["userName"], "r1-renamed");
        assert!(body.get("title").is_none(), "PUT is a full replace");
        assert_eq!(body["meta"]["created"], created["meta"]["created"]);
        let fetched: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(fetched, body);
    }

    async fn put_keeps_the_password_when_none_is_sent(app: TestApp) {
        let res = app.post("/Users", json!({"schemas": [USER], "userName": "pw", "password": "x"})).await;
        let body: Value = res.json().await.unwrap();
        let res = app.put(&format!("/Users/{}", id(&body)), json!({"schemas": [USER], "userName": "pw"})).await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    async fn put_of_unknown_user_is_404(app: TestApp) {
        scim_error(app.put("/Users/nope", json!({"schemas": [USER], "userName": "x"})).await, 404).await;
    }

    async fn put_to_a_taken_user_name_is_409_and_changes_nothing(app: TestApp) {
        app.create_user("taken").await;
        let other = app.create_user("other").await;
        let path = format!("/Users/{}", id(&other));
        let err = scim_error(app.put(&path, json!({"schemas": [USER], "userName": "TAKEN"})).await, 409).await;
        assert_eq!(err["scimType"], "uniqueness");
        let fetched: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(fetched, other);
    }

    async fn delete_removes_the_user_and_frees_its_name(app: TestApp) {
        let created = app.create_user("gone").await;
        let path = format!("/Users/{}", id(&created));
        assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
        scim_error(app.get(&path).await, 404).await;
        scim_error(app.delete(&path).await, 404).await;
        let list: Value = app.get("/Users?filter=userName%20eq%20%22gone%22").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 0);
        app.create_user("gone").await;
    }

    async fn list_pages_with_start_index_and_count(app: TestApp) {
        for i in 0..5 {
            app.create_user(&format!("u{i}")).await;
        }
        let page: Value = app.get("/Users?startIndex=2&count=2").await.json().await.unwrap();
        assert_eq!(page["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
        assert_eq!(page["totalResults"], 5);
        assert_eq!(page["startIndex"], 2);
        assert_eq!(page["itemsPerPage"], 2);
        let names: Vec<&str> =
            page["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap()).collect();
        assert_eq!(names, ["u1", "u2"]);
        let none: Value = app.get("/Users?count=0").await.json().await.unwrap();
        assert_eq!(none["totalResults"], 5);
        assert_eq!(none["Resources"], json!([]));
        let past: Value = app.get("/Users?startIndex=10").await.json().await.unwrap();
        assert_eq!(past["Resources"], json!([]));
        assert_eq!(past["totalResults"], 5);
    }

    async fn filter_user_name_eq_is_case_insensitive(app: TestApp) {
        app.create_user("Müller").await;
        app.create_user("someone").await;
        let list: Value = app.get("/Users?filter=userName%20eq%20%22M%C3%9CLLER%22").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 1);
        assert_eq!(list["Resources"][0]["userName"], "Müller");
    }

    async fn filter_external_id_and_id_eq_are_case_exact(app: TestApp) {
        let res = app.post("/Users", json!({"schemas": [USER], "userName": "x", "externalId": "AbC"})).await;
        let user: Value = res.json().await.unwrap();
        let hit: Value = app.get("/Users?filter=externalId%20eq%20%22AbC%22").await.json().await.unwrap();
        assert_eq!(hit["totalResults"], 1);
        let miss: Value = app.get("/Users?filter=externalId%20eq%20%22abc%22").await.json().await.unwrap();
        assert_eq!(miss["totalResults"], 0);
        let by_id: Value = app.get(&format!("/Users?filter=id%20eq%20%22{}%22", id(&user))).await.json().await.unwrap();
        assert_eq!(by_id["Resources"][0]["id"], user["id"]);
    }

    async fn filter_on_an_unknown_attribute_is_invalid_filter(app: TestApp) {
        let err = scim_error(app.get("/Users?filter=shoeSize%20eq%20%2242%22").await, 400).await;
        assert_eq!(err["scimType"], "invalidFilter");
        assert!(err["detail"].as_str().unwrap().contains("shoeSize"));
    }

    async fn filter_with_an_unquoted_value_is_invalid_filter(app: TestApp) {
        let err = scim_error(app.get("/Users?filter=userName%20eq%20bjensen").await, 400).await;
        assert_eq!(err["scimType"], "invalidFilter");
    }

    async fn search_endpoint_takes_a_search_request(app: TestApp) {
        app.create_user("s1").await;
        app.create_user("s2").await;
        let res = app
            .post(
                "/Users/.search",
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                       "filter": "userName eq \"s2\"", "attributes": ["userName"]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let list: Value = res.json().await.unwrap();
        assert_eq!(list["totalResults"], 1);
        assert_eq!(list["Resources"][0]["userName"], "s2");
        assert!(list["Resources"][0].get("meta").is_none());
    }

    async fn root_search_lists_users_then_groups_and_pages_across_them(app: TestApp) {
        app.create_user("u1").await;
        app.create_user("u2").await;
        app.create_group("g1", &[]).await;
        let search = |body: Value| app.post("/.search", body);
        let all: Value = search(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})).await.json().await.unwrap();
        assert_eq!(all["totalResults"], 3);
        let page: Value = search(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "startIndex": 2, "count": 2}))
            .await
            .json()
            .await
            .unwrap();
        let kinds: Vec<&str> = page["Resources"].as_array().unwrap().iter().map(|r| r["meta"]["resourceType"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["User", "Group"]);
        // displayName exists on both types; userName only on Users.
        let by_name: Value = search(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"u2\""}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(by_name["totalResults"], 1);
        let res = search(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "nope eq \"x\""})).await;
        assert_eq!(scim_error(res, 400).await["scimType"], "invalidFilter");
    }

    async fn cursor_paging_walks_every_user_once_while_others_are_created(app: TestApp) {
        for i in 0..5 {
            app.create_user(&format!("c{i}")).await;
        }
        let mut seen = Vec::new();
        let mut cursor = String::new();
        for round in 0..10 {
            let page: Value = app.get(&format!("/Users?count=2&cursor={cursor}")).await.json().await.unwrap();
            seen.extend(page["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap().to_owned()));
            if round == 0 {
                app.create_user("late").await;
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, ["c0", "c1", "c2", "c3", "c4", "late"]);
    }

    async fn cursors_are_tamper_evident_and_bound_to_their_query(app: TestApp) {
        for i in 0..3 {
            app.create_user(&format!("t{i}")).await;
        }
        let page: Value = app.get("/Users?count=1&cursor=").await.json().await.unwrap();
        let next = page["nextCursor"].as_str().unwrap().to_owned();
        let mut forged = next.clone();
        forged.insert(3, 'x');
        for url in [
            format!("/Users?count=1&cursor={forged}"),
            format!("/Users?count=1&cursor={next}&filter=userName%20pr"),
            format!("/Groups?count=1&cursor={next}"),
        ] {
            let err = scim_error(app.get(&url).await, 400).await;
            assert_eq!(err["scimType"], "invalidCursor", "{url}");
        }
        let err = scim_error(app.get(&format!("/Users?cursor={next}&sortBy=userName")).await, 400).await;
        assert_eq!(err["scimType"], "invalidValue");
    }

    async fn attributes_and_excluded_attributes_shape_a_read(app: TestApp) {
        let res = app
            .post(
                "/Users",
                json!({"schemas": [USER], "userName": "pr", "title": "T", "name": {"givenName": "G", "familyName": "F"}}),
            )
            .await;
        let user: Value = res.json().await.unwrap();
        let path = format!("/Users/{}", id(&user));
        let only: Value = app.get(&format!("{path}?attributes=name.givenName")).await.json().await.unwrap();
        assert_eq!(only, json!({"schemas": [USER], "id": id(&user), "name": {"givenName": "G"}}));
        let without: Value = app.get(&format!("{path}?excludedAttributes=title,meta")).await.json().await.unwrap();
        assert!(without.get("title").is_none() && without.get("meta").is_none());
        assert_eq!(without["userName"], "pr");
    }
}
