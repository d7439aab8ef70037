//! Authentication and authorisation: bearer, bare and Basic credentials, scopes, and tenants
//! that cannot see each other's data.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use scimd::store::Scope;

use crate::helpers::{behaviour, id, scim_error, USER};

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

    async fn health_needs_no_credentials(app: TestApp) {
        let res = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}
