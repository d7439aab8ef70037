//! Authentication and authorisation: bearer, bare and Basic credentials, scopes, and tenants
//! that cannot see each other's data.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use scimd::store::Scope;

use crate::helpers::{behaviour, id, scim_error, GROUP, PATCH_OP, USER};

const LICENSE: &str = "urn:scimd:schemas:core:2.0:License";

behaviour! {
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
