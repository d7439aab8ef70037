//! Soft delete and restore: deleted users disappear from SCIM reads, free their name and
//! memberships, and can be listed, restored or purged by an admin.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use scimd::store::Scope;

use crate::helpers::{behaviour, id, scim_error, USER};

behaviour! {
    async fn a_deleted_user_is_listed_with_its_deletion_time_and_can_be_restored(app: TestApp) {
        let user = app.create_user("geoff@contoso.com").await;
        let group = app.create_group("Team", &[id(&user)]).await;
        assert_eq!(app.delete(&format!("/Users/{}", id(&user))).await.status(), StatusCode::NO_CONTENT);
        let filtered: Value = app.get("/Users?filter=userName%20eq%20%22geoff@contoso.com%22").await.json().await.unwrap();
        assert_eq!(filtered["totalResults"], 0);
        let deleted: Value = app.get("/Admin/DeletedUsers").await.json().await.unwrap();
        assert_eq!(deleted["totalResults"], 1);
        assert_eq!(deleted["Resources"][0]["id"], user["id"]);
        assert!(deleted["Resources"][0]["meta"]["deleted"].as_str().is_some());
        let res = app.post(&format!("/Admin/DeletedUsers/{}/restore", id(&user)), json!({})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let restored: Value = res.json().await.unwrap();
        assert_eq!(restored["userName"], "geoff@contoso.com");
        assert_eq!(app.get(&format!("/Users/{}", id(&user))).await.status(), StatusCode::OK);
        // Memberships are not restored.
        let g: Value = app.get(&format!("/Groups/{}", id(&group))).await.json().await.unwrap();
        assert!(g.get("members").is_none());
        let deleted: Value = app.get("/Admin/DeletedUsers").await.json().await.unwrap();
        assert_eq!(deleted["totalResults"], 0);
    }

    async fn restore_fails_clearly_when_the_name_was_taken_meanwhile(app: TestApp) {
        let user = app.create_user("reused").await;
        app.delete(&format!("/Users/{}", id(&user))).await;
        app.create_user("REUSED").await;
        let res = app.post(&format!("/Admin/DeletedUsers/{}/restore", id(&user)), json!({})).await;
        let err = scim_error(res, 409).await;
        assert_eq!(err["scimType"], "uniqueness");
        assert!(err["detail"].as_str().unwrap().contains("another user"));
        scim_error(app.get(&format!("/Users/{}", id(&user))).await, 404).await;
    }

    async fn purge_removes_a_deleted_user_for_good(app: TestApp) {
        let user = app.create_user("gone").await;
        let path = format!("/Admin/DeletedUsers/{}", id(&user));
        scim_error(app.delete(&path).await, 404).await;
        app.delete(&format!("/Users/{}", id(&user))).await;
        assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
        scim_error(app.post(&format!("{path}/restore"), json!({})).await, 404).await;
        let deleted: Value = app.get("/Admin/DeletedUsers").await.json().await.unwrap();
        assert_eq!(deleted["totalResults"], 0);
    }

    async fn deleted_users_are_for_admin_tokens_of_the_same_tenant(app: TestApp) {
        let user = app.create_user("private").await;
        app.delete(&format!("/Users/{}", id(&user))).await;
        let writer = app.token_for("default", &[Scope::Write]).await;
        scim_error(app.send_as(&writer, Method::GET, "/Admin/DeletedUsers", None).await, 403).await;
        let other = app.token_for("contoso", &[Scope::Admin]).await;
        let list: Value = app.send_as(&other, Method::GET, "/Admin/DeletedUsers", None).await.json().await.unwrap();
        assert_eq!(list["totalResults"], 0);
        let path = format!("/Admin/DeletedUsers/{}/restore", id(&user));
        scim_error(app.send_as(&other, Method::POST, &path, Some(json!({}))).await, 404).await;
    }

    async fn users_deleted_before_the_retention_period_are_purged(app: TestApp) {
        let user = app.create_user("old").await;
        app.delete(&format!("/Users/{}", id(&user))).await;
        let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
        assert_eq!(app.store.purge_deleted_before(later, &crate::helpers::test_actor()).await.unwrap(), 1);
        let deleted: Value = app.get("/Admin/DeletedUsers").await.json().await.unwrap();
        assert_eq!(deleted["totalResults"], 0);
        let res = app.post("/Users", json!({"schemas": [USER], "userName": "old"})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
}
