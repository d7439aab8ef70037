//! Bounded cost: liveness and readiness answer while every pooled connection is busy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use scimd::store::Store;

use crate::helpers::USER;

/// A server on a store whose pool has a single connection.
async fn serve(store: Arc<dyn Store>) -> String {
    let app = scimd::app(scimd::state(store, None).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// `/healthz` and `/readyz` answer 200 quickly while `busy` holds the only pooled connection.
async fn probes_answer_while_the_pool_is_busy(base: &str, busy: tokio::task::JoinHandle<StatusCode>) {
    // Let the blocked request take the pool's connection first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!busy.is_finished(), "the request is blocked and holds the connection");
    for probe in ["/healthz", "/readyz"] {
        let started = Instant::now();
        let res = reqwest::get(format!("{base}{probe}")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{probe}");
        assert!(started.elapsed() < Duration::from_secs(2), "{probe} took {:?}", started.elapsed());
    }
    assert!(!busy.is_finished(), "the probes did not wait for the busy request");
}

#[tokio::test]
async fn health_and_readiness_answer_while_every_pooled_connection_is_busy_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("busy.db").display());
    let db = scimd::cli::DatabaseArgs { database: url.clone(), max_connections: 1 };
    let store = scimd::open_store(&db).await.unwrap();
    let tenant = store.ensure_tenant("default").await.unwrap();
    let secret = scimd::auth::generate_secret();
    let token = scimd::store::NewToken {
        name: "t".into(),
        secret_hash: scimd::auth::hash_secret(&secret),
        scopes: vec![scimd::store::Scope::Admin],
        expires: None,
    };
    store.create_token(tenant, token).await.unwrap();
    let base = serve(store).await;
    // Another process holds SQLite's write lock, so scimd's write waits with its connection.
    let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap();
    let users = format!("{base}/scim/v2/Users");
    let busy = tokio::spawn(async move {
        let body = json!({"schemas": [USER], "userName": "waits@example.com"});
        let res = reqwest::Client::new().post(users).bearer_auth(secret).json(&body).send().await.unwrap();
        res.status()
    });

    probes_answer_while_the_pool_is_busy(&base, busy).await;

    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
}

#[tokio::test]
#[ignore = "needs SCIMD_TEST_POSTGRES_URL"]
async fn health_and_readiness_answer_while_every_pooled_connection_is_busy_on_postgres() {
    let app = crate::helpers::TestApp::postgres().await;
    let (url, schema) = app.postgres_schema().unwrap();
    let store = scimd::store::postgres::PgStore::connect_in_schema(&url, 1, Some(&schema)).await.unwrap();
    let base = serve(Arc::new(store)).await;
    // Another session locks the resources table, so scimd's read waits with its connection.
    let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("SET search_path TO \"{schema}\"")).execute(&mut other).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query("LOCK TABLE resources IN ACCESS EXCLUSIVE MODE").execute(&mut other).await.unwrap();
    let users = format!("{base}/scim/v2/Users?count=1");
    let token = app.token.clone();
    let busy =
        tokio::spawn(
            async move { reqwest::Client::new().get(users).bearer_auth(token).send().await.unwrap().status() },
        );

    probes_answer_while_the_pool_is_busy(&base, busy).await;

    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
}
