//! Bounded cost: liveness and readiness answer while every pooled connection is busy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use scimd::scim::schema::ResourceKind::User;
use scimd::store::{Load, Store};

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
    let db = scimd::cli::DatabaseArgs::new(url.clone(), 1);
    let store = scimd::open_store(&db).await.unwrap();
    let tenant = store.ensure_tenant("default").await.unwrap();
    let secret = scimd::auth::generate_secret();
    let token = scimd::store::NewToken {
        name: "t".into(),
        secret_hash: scimd::auth::hash_secret(&secret),
        scopes: vec![scimd::store::Scope::Admin],
        expires: None,
        rate_limit: None,
    };
    store.create_token(tenant, token, &crate::helpers::test_actor()).await.unwrap();
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
    let store =
        scimd::store::postgres::PgStore::connect_in_schema(&url, 1, Some(&schema), scimd::store::DEFAULT_QUERY_TIMEOUT)
            .await
            .unwrap();
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

/// A store holding `n` users with long names, and the tenant they are in.
async fn store_with_users(store: &Arc<dyn Store>, n: usize) -> scimd::store::TenantId {
    let tenant = store.ensure_tenant("default").await.unwrap();
    for chunk in 0..n.div_ceil(1000) {
        let news: Vec<_> = (0..1000.min(n - chunk * 1000))
            .map(|i| scimd::store::NewResource {
                id: format!("u{chunk}-{i}").into(),
                kind: User,
                doc: json!({"userName": format!("{}{chunk}-{i}@example.com", "long-name-".repeat(20)),
                            "title": "x".repeat(200), "displayName": "y".repeat(200)}),
                password_hash: None,
                members: vec![],
                name_guard: None,
                audit: crate::helpers::test_audit(),
            })
            .collect();
        for r in store.insert_many(tenant, &news, Load::default()).await.unwrap() {
            r.unwrap();
        }
    }
    tenant
}

/// A filter within the cost budget that makes the database work on every row.
fn expensive_query() -> scimd::store::ListQuery {
    let filter = "userName co \"zz\" or title co \"zz\" or displayName co \"zz\" or userName ew \"zz\" or title sw \"zz\" or displayName ew \"zz\"";
    scimd::store::ListQuery {
        filter: Some(scimd::scim::filter::parse_checked(scimd::scim::schema::ResourceKind::User, filter).unwrap()),
        sort: None,
        start_index: 1,
        after_seq: None,
        count: 10,
        member_budget: None,
    }
}

#[tokio::test]
async fn a_query_past_its_time_budget_is_cancelled_and_its_connection_serves_the_next_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("slow.db").display());
    let filled = scimd::open_store(&scimd::cli::DatabaseArgs::new(url.clone(), 1)).await.unwrap();
    let tenant = store_with_users(&filled, 10_000).await;
    drop(filled);
    // The same database with one connection and a budget far below what the filter needs
    // (about 100 ms here) and far above what a lookup by id needs (well under 1 ms).
    let store = scimd::store::sqlite::SqliteStore::connect(&url, 1, Duration::from_millis(25)).await.unwrap();

    let started = Instant::now();
    let cancelled = store.list(tenant, User, &expensive_query(), Load::default()).await;

    assert!(matches!(cancelled, Err(scimd::store::StoreError::Cancelled)), "{cancelled:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "stopped at the budget: {:?}", started.elapsed());
    let next = store.fetch(tenant, User, &"u0-0".into(), Load::default()).await;
    assert!(next.is_ok(), "the pool's one connection serves the next request: {next:?}");
}

#[tokio::test]
#[ignore = "needs SCIMD_TEST_POSTGRES_URL"]
async fn a_query_past_its_time_budget_is_cancelled_and_its_connection_serves_the_next_on_postgres() {
    let app = crate::helpers::TestApp::postgres().await;
    let (url, schema) = app.postgres_schema().unwrap();
    let tenant = app.store.ensure_tenant("default").await.unwrap();
    let store = scimd::store::postgres::PgStore::connect_in_schema(&url, 1, Some(&schema), Duration::from_millis(300))
        .await
        .unwrap();
    // Another session locks the table: statement_timeout counts the wait for the lock.
    let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("SET search_path TO \"{schema}\"")).execute(&mut other).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query("LOCK TABLE resources IN ACCESS EXCLUSIVE MODE").execute(&mut other).await.unwrap();

    let started = Instant::now();
    let cancelled = store.list(tenant, User, &expensive_query(), Load::default()).await;

    assert!(matches!(cancelled, Err(scimd::store::StoreError::Cancelled)), "{cancelled:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "stopped at the budget: {:?}", started.elapsed());
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    let next = store.list(tenant, User, &expensive_query(), Load::default()).await;
    assert!(next.is_ok(), "the pool's one connection serves the next request: {next:?}");
}
