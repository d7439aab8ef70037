//! Authentication and authorisation: bearer, bare and Basic credentials, scopes, and tenants
//! that cannot see each other's data.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use scimd::store::Scope;

use crate::helpers::{behaviour, id, scim_error, GROUP, PATCH_OP, USER};

const LICENSE: &str = "urn:scimd:schemas:core:2.0:License";

behaviour! {
    async fn token_ids_are_never_handed_out_twice(app: TestApp) {
        let tenant = app.store.ensure_tenant("short-lived").await.unwrap();
        let token = |name: &str| scimd::store::NewToken {
            name: name.into(),
            secret_hash: scimd::auth::hash_secret(name),
            scopes: vec![Scope::Read],
            expires: None,
            rate_limit: None,
        };
        let gone = app.store.create_token(tenant, token("gone"), &crate::helpers::test_actor()).await.unwrap();
        app.store.remove_tenant(tenant, true).await.unwrap();

        let default = app.store.ensure_tenant("default").await.unwrap();
        let next = app.store.create_token(default, token("next"), &crate::helpers::test_actor()).await.unwrap();

        assert!(next.id > gone.id, "token {} was given out again", gone.id);
    }

    async fn a_tenant_holding_resources_is_removed_only_when_forced(app: TestApp) {
        let tenant = app.store.ensure_tenant("holding").await.unwrap();
        let new = |id: &str, doc: Value| scimd::store::NewResource {
            id: id.into(),
            kind: if doc.get("userName").is_some() { scimd::scim::schema::ResourceKind::User } else { scimd::scim::schema::ResourceKind::Group },
            doc,
            password_hash: None,
            members: vec![],
            name_guard: None,
            audit: crate::helpers::test_audit(),
        };
        let load = scimd::store::Load::default();
        app.store.insert(tenant, new("u1", json!({"userName": "u1"})), load).await.unwrap();
        app.store.insert(tenant, new("g1", json!({"displayName": "g1"})), load).await.unwrap();
        let refused = app.store.remove_tenant(tenant, false).await;
        assert!(
            matches!(refused, Err(scimd::store::StoreError::TenantNotEmpty { users: 1, groups: 1 })),
            "{refused:?}"
        );
        assert_eq!(app.store.find_tenant("holding").await.unwrap(), Some(tenant));
        app.store.remove_tenant(tenant, true).await.unwrap();
        assert_eq!(app.store.find_tenant("holding").await.unwrap(), None);
        // An empty tenant goes without force.
        let empty = app.store.ensure_tenant("empty").await.unwrap();
        app.store.remove_tenant(empty, false).await.unwrap();
    }

    async fn missing_credentials_are_401_with_www_authenticate(app: TestApp) {
        let res = app.client.get(app.url("/Users")).send().await.unwrap();
        assert!(res.headers().get_all("www-authenticate").iter().any(|v| v.to_str().unwrap().starts_with("Bearer")));
        scim_error(res, 401).await;
    }

    async fn a_wrong_token_is_401(app: TestApp) {
        let res = app.client.get(app.url("/Users")).bearer_auth("scimd_wrong").send().await.unwrap();
        scim_error(res, 401).await;
    }

    async fn a_bare_token_header_is_accepted_like_okta_sends_it(app: TestApp) {
        let res = app.client.get(app.url("/Users")).header("authorization", &app.token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }

    async fn http_basic_with_tenant_name_and_token_is_accepted(app: TestApp) {
        let res = app.client.get(app.url("/Users")).basic_auth("default", Some(&app.token)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.client.get(app.url("/Users")).basic_auth("other", Some(&app.token)).send().await.unwrap();
        scim_error(res, 401).await;
    }

    async fn a_read_token_cannot_write(app: TestApp) {
        let read = app.token_for("default", &[Scope::Read]).await;
        let res = app.send_as(&read, Method::GET, "/Users", None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.send_as(&read, Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": "x"}))).await;
        scim_error(res, 403).await;
        let list: Value = app.get("/Users").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 0);
    }

    async fn another_tenants_resources_are_404_and_never_listed(app: TestApp) {
        let user = app.create_user("private").await;
        let group = app.create_group("private-group", &[id(&user)]).await;
        let other = app.token_for("contoso", &[Scope::Admin]).await;
        for path in [format!("/Users/{}", id(&user)), format!("/Groups/{}", id(&group))] {
            scim_error(app.send_as(&other, Method::GET, &path, None).await, 404).await;
            scim_error(app.send_as(&other, Method::DELETE, &path, None).await, 404).await;
        }
        let res = app
            .send_as(
                &other,
                Method::PUT,
                &format!("/Users/{}", id(&user)),
                Some(json!({"schemas": [USER], "userName": "stolen"})),
            )
            .await;
        scim_error(res, 404).await;
        let list: Value = app.send_as(&other, Method::GET, "/Users", None).await.json().await.unwrap();
        assert_eq!(list["totalResults"], 0);
        let list: Value = app.send_as(&other, Method::GET, "/Groups", None).await.json().await.unwrap();
        assert_eq!(list["totalResults"], 0);
        // The same userName is free in another tenant, and members must come from one's own tenant.
        let res =
            app.send_as(&other, Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": "private"}))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let res = app
            .send_as(&other, Method::POST, "/Groups", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g", "members": [{"value": id(&user)}]})))
            .await;
        scim_error(res, 400).await;
        let still: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert_eq!(still["userName"], "private");
    }

    async fn every_endpoint_hides_another_tenants_data(app: TestApp) {
        let user = app.create_user("private").await;
        let group = app.create_group("private-group", &[id(&user)]).await;
        let license: Value = app
            .post("/Licenses", json!({"schemas": [LICENSE], "partNumber": "E3", "seats": 1}))
            .await
            .json()
            .await
            .unwrap();
        let gone = app.create_user("gone").await;
        app.delete(&format!("/Users/{}", id(&gone))).await;
        let other = app.token_for("contoso", &[Scope::Admin]).await;
        let as_other = |method: Method, path: String, body: Option<Value>| {
            let other = other.clone();
            let app = &app;
            async move { app.send_as(&other, method, &path, body).await }
        };
        let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]});
        let bodies = [
            ("Users", id(&user), json!({"schemas": [USER], "userName": "stolen"})),
            ("Groups", id(&group), json!({"schemas": [GROUP], "displayName": "stolen"})),
            ("Licenses", id(&license), json!({"schemas": [LICENSE], "partNumber": "STOLEN", "seats": 9})),
        ];
        for (endpoint, rid, body) in &bodies {
            let path = format!("/{endpoint}/{rid}");
            scim_error(as_other(Method::GET, path.clone(), None).await, 404).await;
            scim_error(as_other(Method::PUT, path.clone(), Some(body.clone())).await, 404).await;
            scim_error(as_other(Method::PATCH, path.clone(), Some(patch.clone())).await, 404).await;
            scim_error(as_other(Method::DELETE, path.clone(), None).await, 404).await;
            let list: Value = as_other(Method::GET, format!("/{endpoint}"), None).await.json().await.unwrap();
            assert_eq!(list["totalResults"], 0, "{endpoint}");
            let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": format!("id eq \"{rid}\"")});
            let found: Value = as_other(Method::POST, format!("/{endpoint}/.search"), Some(search.clone())).await.json().await.unwrap();
            assert_eq!(found["totalResults"], 0, "{endpoint}");
            let found: Value = as_other(Method::POST, "/.search".into(), Some(search)).await.json().await.unwrap();
            assert_eq!(found["totalResults"], 0, "{endpoint}");
        }
        let groups: Value = as_other(Method::GET, format!("/Groups?filter=members.value%20eq%20%22{}%22", id(&user)), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(groups["totalResults"], 0);
        let deleted: Value = as_other(Method::GET, "/Admin/DeletedUsers".into(), None).await.json().await.unwrap();
        assert_eq!(deleted["totalResults"], 0);
        let restore = as_other(Method::POST, format!("/Admin/DeletedUsers/{}/restore", id(&gone)), Some(json!({}))).await;
        scim_error(restore, 404).await;
        scim_error(as_other(Method::DELETE, format!("/Admin/DeletedUsers/{}", id(&gone)), None).await, 404).await;
        let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
            {"method": "PATCH", "path": format!("/Users/{}", id(&user)), "data": patch},
            {"method": "DELETE", "path": format!("/Groups/{}", id(&group))},
            {"method": "DELETE", "path": format!("/Licenses/{}", id(&license))}
        ]});
        let answer: Value = as_other(Method::POST, "/Bulk".into(), Some(bulk)).await.json().await.unwrap();
        let statuses: Vec<&str> = answer["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["404", "404", "404"]);
        let schema: Value =
            as_other(Method::GET, "/Schemas/urn:scimd:schemas:extension:directory:2.0:User".into(), None).await.json().await.unwrap();
        assert!(!schema.to_string().contains(id(&license)), "no license id leaks through the schema");
        // All of it is still there, unchanged, for its own tenant.
        for (endpoint, rid, _) in &bodies {
            let r: Value = app.get(&format!("/{endpoint}/{rid}")).await.json().await.unwrap();
            assert_eq!(r["meta"]["version"], "W/\"1\"", "{endpoint}");
        }
        let deleted: Value = app.get("/Admin/DeletedUsers").await.json().await.unwrap();
        assert_eq!(deleted["totalResults"], 1);
    }

    async fn health_needs_no_credentials(app: TestApp) {
        let res = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}

mod tokens_over_http {
    use reqwest::{Method, StatusCode};
    use serde_json::{json, Value};

    use scimd::store::Scope;

    use crate::helpers::{behaviour, scim_error};

    behaviour! {
        async fn the_last_active_admin_token_of_a_tenant_is_not_revoked_over_http(app: TestApp) {
            let list: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
            let mine = list["Resources"][0]["id"].as_str().unwrap().to_owned();

            let err = scim_error(app.delete(&format!("/Admin/Tokens/{mine}")).await, 409).await;
            assert!(err["detail"].as_str().unwrap().contains("last active admin token"), "{err}");

            let second: Value = app.post("/Admin/Tokens", json!({"name": "second", "scopes": ["admin"]})).await.json().await.unwrap();
            let (second_id, second_secret) = (second["id"].as_str().unwrap().to_owned(), second["secret"].as_str().unwrap().to_owned());
            assert_eq!(app.delete(&format!("/Admin/Tokens/{mine}")).await.status(), StatusCode::NO_CONTENT);
            let res = app.send_as(&second_secret, Method::DELETE, &format!("/Admin/Tokens/{second_id}"), None).await;
            scim_error(res, 409).await;
            let reader: Value = app
                .send_as(&second_secret, Method::POST, "/Admin/Tokens", Some(json!({"name": "reader", "scopes": ["read"]})))
                .await
                .json()
                .await
                .unwrap();
            let res = app.send_as(&second_secret, Method::DELETE, &format!("/Admin/Tokens/{}", reader["id"].as_str().unwrap()), None).await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT, "other tokens are revoked as before");
        }

        async fn an_admin_creates_lists_and_revokes_its_tenants_tokens(app: TestApp) {
            let res = app.post("/Admin/Tokens", json!({"name": "entra-id", "scopes": ["read", "write"], "expires": "90d"})).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let location = res.headers()["location"].to_str().unwrap().to_owned();
            let created: Value = res.json().await.unwrap();
            let secret = created["secret"].as_str().unwrap().to_owned();
            assert!(location.ends_with(&format!("/Admin/Tokens/{}", created["id"].as_str().unwrap())));
            assert_eq!(created["scopes"], json!(["read", "write"]));
            assert_eq!(created["status"], "active");
            assert!(created["expires"].as_str().is_some());
            // The new token works, within its scopes.
            assert_eq!(app.send_as(&secret, Method::GET, "/Users", None).await.status(), StatusCode::OK);
            scim_error(app.send_as(&secret, Method::GET, "/Admin/Tokens", None).await, 403).await;

            let list: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
            let listed = list["Resources"].as_array().unwrap();
            assert!(listed.iter().any(|t| t["name"] == "entra-id" && t["id"] == created["id"]));
            assert!(!list.to_string().contains(&secret), "secrets are never listed");
            assert!(listed.iter().all(|t| t.get("secret").is_none()));

            let path = format!("/Admin/Tokens/{}", created["id"].as_str().unwrap());
            assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
            let list: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
            let revoked = list["Resources"].as_array().unwrap().iter().find(|t| t["id"] == created["id"]).cloned().unwrap();
            assert_eq!(revoked["status"], "revoked");
            // A verified token is trusted for the cache lifetime (2 s; shortened for tests).
            tokio::time::sleep(crate::helpers::TOKEN_CACHE + std::time::Duration::from_millis(50)).await;
            scim_error(app.send_as(&secret, Method::GET, "/Users", None).await, 401).await;
        }

        async fn bad_token_requests_are_clear_errors_and_other_tenants_tokens_do_not_exist(app: TestApp) {
            for (body, status) in [
                (json!({"name": "x", "scopes": ["root"]}), 400),
                (json!({"name": "x"}), 400),
                (json!({"name": "x", "scopes": ["read"], "expires": "forever"}), 400),
                (json!({"name": "x", "scopes": ["read"], "secret": "mine"}), 400),
                (json!(["read"]), 400),
            ] {
                let err = scim_error(app.post("/Admin/Tokens", body.clone()).await, status).await;
                assert!(!err["detail"].as_str().unwrap().is_empty(), "{body}");
            }
            // Lifetimes past 100 years are refused, never an overflow in the date arithmetic.
            for expires in ["100000000d", "99999999999999999h", "36501d", "9223372036854775807m"] {
                let body = json!({"name": "x", "scopes": ["read"], "expires": expires});
                let err = scim_error(app.post("/Admin/Tokens", body).await, 400).await;
                assert_eq!(err["scimType"], "invalidValue", "{expires}");
                assert!(err["detail"].as_str().unwrap().contains("at most 36500 days"), "{err}");
            }
            let longest = json!({"name": "x", "scopes": ["read"], "expires": "36500d"});
            assert_eq!(app.post("/Admin/Tokens", longest).await.status(), StatusCode::CREATED);
            let writer = app.token_for("default", &[Scope::Write]).await;
            let res = app.send_as(&writer, Method::POST, "/Admin/Tokens", Some(json!({"scopes": ["admin"]}))).await;
            scim_error(res, 403).await;

            let other = app.token_for("contoso", &[Scope::Admin]).await;
            let list: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
            let mine = list["Resources"][0]["id"].as_str().unwrap().to_owned();
            scim_error(app.send_as(&other, Method::DELETE, &format!("/Admin/Tokens/{mine}"), None).await, 404).await;
            let theirs: Value = app.send_as(&other, Method::GET, "/Admin/Tokens", None).await.json().await.unwrap();
            assert!(theirs["Resources"].as_array().unwrap().iter().all(|t| t["id"] != mine.as_str()));
            scim_error(app.delete("/Admin/Tokens/not-a-number").await, 404).await;
            // Still working: nothing was revoked.
            assert_eq!(app.get("/Users").await.status(), StatusCode::OK);
        }

        async fn a_token_created_with_a_rate_limit_keeps_it_and_a_bad_one_is_refused(app: TestApp) {
            let res = app.post("/Admin/Tokens", json!({"name": "okta", "scopes": ["read"], "rateLimit": 25})).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let created: Value = res.json().await.unwrap();

            for bad in [json!(0), json!(-1), json!(1.5), json!("fast"), json!(4_294_967_296_u64)] {
                let body = json!({"name": "x", "scopes": ["read"], "rateLimit": bad});
                let err = scim_error(app.post("/Admin/Tokens", body).await, 400).await;
                assert!(err["detail"].as_str().unwrap().starts_with("rateLimit"), "{bad}: {err}");
            }

            assert_eq!(created["rateLimit"], 25, "{created}");
            let list: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
            let listed = list["Resources"].as_array().unwrap();
            assert_eq!(listed.len(), 2, "the bad ones made nothing: {list}");
            assert_eq!(listed.iter().find(|t| t["name"] == "okta").unwrap()["rateLimit"], 25);
            assert!(listed.iter().find(|t| t["name"] != "okta").unwrap()["rateLimit"].is_null(), "none given: the server's");
        }
    }
}
