//! Versions: `meta.version` as a weak ETag, `If-Match` → 412, `If-None-Match` → 304.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{behaviour, id, scim_error, USER};

behaviour! {
    async fn if_none_match_with_the_current_version_is_304(app: TestApp) {
        let user = app.create_user("e").await;
        let url = app.url(&format!("/Users/{}", id(&user)));
        let res = app.client.get(&url).bearer_auth(&app.token).header("if-none-match", "W/\"1\"").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        let res = app.client.get(&url).bearer_auth(&app.token).header("if-none-match", "W/\"0\"").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }

    async fn put_with_a_stale_if_match_is_412_and_changes_nothing(app: TestApp) {
        let user = app.create_user("e").await;
        let url = app.url(&format!("/Users/{}", id(&user)));
        let ok = app
            .client
            .put(&url)
            .bearer_auth(&app.token)
            .header("if-match", "W/\"1\"")
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": [USER], "userName": "e", "title": "new"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()["etag"], "W/\"2\"");
        let stale = app
            .client
            .put(&url)
            .bearer_auth(&app.token)
            .header("if-match", "W/\"1\"")
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": [USER], "userName": "e", "title": "lost"}).to_string())
            .send()
            .await
            .unwrap();
        let err = scim_error(stale, 412).await;
        assert!(
            err["detail"].as_str().unwrap().contains("W/\\\"2\\\"") || err["detail"].as_str().unwrap().contains("W/\"2\"")
        );
        let now: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert_eq!(now["title"], "new");
    }

    async fn delete_with_a_stale_if_match_is_412_and_with_star_succeeds(app: TestApp) {
        let user = app.create_user("e").await;
        let url = app.url(&format!("/Users/{}", id(&user)));
        let res = app
            .client
            .request(Method::DELETE, &url)
            .bearer_auth(&app.token)
            .header("if-match", "W/\"7\"")
            .send()
            .await
            .unwrap();
        scim_error(res, 412).await;
        let res =
            app.client.request(Method::DELETE, &url).bearer_auth(&app.token).header("if-match", "*").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    async fn etag_header_matches_meta_version_on_every_read(app: TestApp) {
        let user = app.create_user("e").await;
        let res = app.get(&format!("/Users/{}", id(&user))).await;
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["meta"]["version"], json!(etag));
    }
}
