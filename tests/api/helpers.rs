//! `TestApp::spawn()`: a scimd on 127.0.0.1 with its own database and an admin token,
//! plus typed helpers for the requests the tests repeat.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use scimd::auth::{generate_secret, hash_secret};
use scimd::cli::DatabaseArgs;
use scimd::store::{NewToken, Scope, Store};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The reason libtest prints for the PostgreSQL half of the suite, which `cargo test` counts as
/// ignored; `.ci/run` runs it with `SCIMD_TEST_POSTGRES_URL` set and `--ignored`.
pub const NEEDS_POSTGRES: &str = "needs SCIMD_TEST_POSTGRES_URL";

/// Runs each behaviour test once per store: on SQLite, and as an ignored twin on PostgreSQL
/// (run with `cargo test -- --ignored` and `SCIMD_TEST_POSTGRES_URL` set).
macro_rules! behaviour {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(async fn $name($app: $crate::helpers::TestApp) $body)*

        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name($crate::helpers::TestApp::sqlite().await).await
            })*
        }

        mod postgres {
            $(#[tokio::test]
            #[ignore = "needs SCIMD_TEST_POSTGRES_URL"]
            async fn $name() {
                super::$name($crate::helpers::TestApp::postgres().await).await
            })*
        }
    };
}
pub(crate) use behaviour;

pub struct TestApp {
    pub base: String,
    pub token: String,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    /// Opens another store on the same database, as a second scimd process would.
    reopen: Reopen,
    _dir: tempfile::TempDir,
    _schema: Option<DropSchema>,
}

#[derive(Clone)]
enum Reopen {
    Sqlite(String),
    Postgres { url: String, schema: String },
}

/// Drops a test's PostgreSQL schema when the test ends, so runs leave nothing behind.
pub(crate) struct DropSchema {
    pub(crate) url: String,
    pub(crate) schema: String,
}

impl Drop for DropSchema {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                    // The test's runtime is blocked in this drop, so its pooled connections
                    // cannot finish what they left (a rollback queued by a dropped
                    // transaction holds its locks): end them, then drop their schema.
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                    )
                    .bind(&schema)
                    .execute(&mut conn)
                    .await;
                    let _ =
                        sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

impl TestApp {
    /// SQLite in a fresh file.
    pub async fn sqlite() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = DatabaseArgs::new(format!("sqlite://{}", dir.path().join("scimd.db").display()), 8);
        let store = scimd::open_store(&db).await.expect("store opens");
        Self::start(store, dir, Reopen::Sqlite(db.database), None).await
    }

    /// PostgreSQL in a fresh schema of the database `SCIMD_TEST_POSTGRES_URL` names. A
    /// PostgreSQL test run without it fails: it must never pass without having run.
    pub async fn postgres() -> TestApp {
        let url = std::env::var("SCIMD_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| panic!("this test {NEEDS_POSTGRES}, such as postgres://postgres@127.0.0.1:5432/test"));
        let schema = format!("scimd_test_{}", uuid::Uuid::new_v4().simple());
        let store = scimd::store::postgres::PgStore::connect_in_schema(
            &url,
            4,
            Some(&schema),
            scimd::store::DEFAULT_QUERY_TIMEOUT,
        )
        .await
        .expect("postgres store opens");
        let dir = tempfile::tempdir().expect("temp dir");
        let reopen = Reopen::Postgres { url: url.clone(), schema: schema.clone() };
        Self::start(Arc::new(store), dir, reopen, Some(DropSchema { url, schema })).await
    }

    async fn start(
        store: Arc<dyn Store>,
        dir: tempfile::TempDir,
        reopen: Reopen,
        schema: Option<DropSchema>,
    ) -> TestApp {
        scimd::telemetry::init_for_tests();
        let addr = serve(store.clone()).await;
        let mut app = TestApp {
            base: format!("http://{addr}"),
            token: String::new(),
            store,
            client: reqwest::Client::new(),
            reopen,
            _dir: dir,
            _schema: schema,
        };
        app.token = app.token_for("default", &[Scope::Admin]).await;
        app
    }

    /// Starts a second server with its own store (its own connection pool) on the same
    /// database, like a second scimd process behind a load balancer; returns its base URL.
    /// The database URL a `scimd` command over this app's database takes (`--database`).
    pub fn database_url(&self) -> String {
        match &self.reopen {
            Reopen::Sqlite(url) => url.clone(),
            Reopen::Postgres { url, schema } => {
                let join = if url.contains('?') { '&' } else { '?' };
                format!("{url}{join}options=-c%20search_path%3D{schema}")
            }
        }
    }

    /// Runs one SQL statement on this app's database, as an operator (or an older scimd) would.
    pub async fn execute_sql(&self, statement: &str) {
        use sqlx::Connection;
        match &self.reopen {
            Reopen::Sqlite(url) => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite connects");
                sqlx::query(statement).execute(&mut conn).await.expect("statement runs");
            }
            Reopen::Postgres { url, schema } => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres connects");
                sqlx::query(&format!("SET search_path TO \"{schema}\"")).execute(&mut conn).await.unwrap();
                sqlx::query(statement).execute(&mut conn).await.expect("statement runs");
            }
        }
    }

    /// Starts another server on this app's store that sends results mail through `smtp_url`,
    /// as `scimd serve --smtp-url` does; returns its base URL.
    pub async fn mail_server(&self, smtp_url: &str) -> String {
        format!("http://{}", serve_with_mail(self.store.clone(), Some(smtp_url)).await)
    }

    /// The stored password hash of the resource `id`, read from the database as an operator would.
    pub async fn password_hash(&self, id: &str) -> Option<String> {
        use sqlx::Connection;
        match &self.reopen {
            Reopen::Sqlite(url) => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite connects");
                sqlx::query_scalar("SELECT password_hash FROM resources WHERE id = ?")
                    .bind(id)
                    .fetch_one(&mut conn)
                    .await
                    .expect("the resource exists")
            }
            Reopen::Postgres { url, schema } => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres connects");
                sqlx::query(&format!("SET search_path TO \"{schema}\"")).execute(&mut conn).await.unwrap();
                sqlx::query_scalar("SELECT password_hash FROM resources WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut conn)
                    .await
                    .expect("the resource exists")
            }
        }
    }

    /// Starts another server on this app's store that trusts `X-Forwarded-*` headers, as
    /// `scimd serve --trust-forwarded-headers` does; returns its base URL.
    pub async fn proxied_server(&self) -> String {
        let mut state = scimd::state(self.store.clone(), None).expect("state");
        state.trust_forwarded_headers = true;
        format!("http://{}", serve_state(state).await)
    }

    pub async fn second_server(&self) -> String {
        let store: Arc<dyn Store> = match &self.reopen {
            Reopen::Sqlite(url) => scimd::open_store(&DatabaseArgs::new(url.clone(), 8)).await.expect("store opens"),
            Reopen::Postgres { url, schema } => Arc::new(
                scimd::store::postgres::PgStore::connect_in_schema(
                    url,
                    4,
                    Some(schema),
                    scimd::store::DEFAULT_QUERY_TIMEOUT,
                )
                .await
                .expect("postgres store opens"),
            ),
        };
        format!("http://{}", serve(store).await)
    }

    /// The PostgreSQL URL and schema this app's store lives in (`None` on SQLite).
    pub fn postgres_schema(&self) -> Option<(String, String)> {
        match &self.reopen {
            Reopen::Postgres { url, schema } => Some((url.clone(), schema.clone())),
            Reopen::Sqlite(_) => None,
        }
    }

    /// A new token of `tenant` (created if new) with `scopes`.
    pub async fn token_for(&self, tenant: &str, scopes: &[Scope]) -> String {
        let tenant = self.store.ensure_tenant(tenant).await.expect("tenant");
        let secret = generate_secret();
        let token = NewToken {
            name: "test".into(),
            secret_hash: hash_secret(&secret),
            scopes: scopes.to_vec(),
            expires: None,
            rate_limit: None,
        };
        self.store.create_token(tenant, token, &test_actor()).await.expect("token");
        secret
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/scim/v2{path}", self.base)
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.send_as(&self.token, method, path, body).await
    }

    pub async fn send_as(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(Method::DELETE, path, None).await
    }

    /// `n` users written straight to the store, 1,000 a transaction, with the ids `prefix-0`,
    /// `prefix-1`, … and the userNames `prefix0@example.com`, …: setup for tests of size.
    pub async fn seed_users(&self, prefix: &str, n: usize) {
        let tenant = self.store.ensure_tenant("default").await.expect("tenant");
        for chunk in 0..n.div_ceil(1000) {
            let news: Vec<_> = (chunk * 1000..n.min((chunk + 1) * 1000))
                .map(|i| scimd::store::NewResource {
                    id: format!("{prefix}-{i}").into(),
                    kind: scimd::scim::schema::ResourceKind::User,
                    doc: json!({"userName": format!("{prefix}{i}@example.com")}),
                    password_hash: None,
                    members: vec![],
                    name_guard: None,
                    audit: test_audit(),
                })
                .collect();
            for r in self.store.insert_many(tenant, &news, scimd::store::Load::default()).await.expect("insert") {
                r.expect("user seeded");
            }
        }
    }

    /// Creates a user and returns its JSON.
    pub async fn create_user(&self, user_name: &str) -> Value {
        let res = self.post("/Users", json!({"schemas": [USER], "userName": user_name})).await;
        assert_eq!(res.status(), StatusCode::CREATED, "creating {user_name}");
        res.json().await.expect("json")
    }

    /// Creates a group with these member ids and returns its JSON.
    pub async fn create_group(&self, name: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let res = self.post("/Groups", json!({"schemas": [GROUP], "displayName": name, "members": members})).await;
        assert_eq!(res.status(), StatusCode::CREATED, "creating group {name}");
        res.json().await.expect("json")
    }
}

/// How long the test servers trust a verified token: short, so revocation tests need not wait.
pub const TOKEN_CACHE: std::time::Duration = std::time::Duration::from_millis(200);

async fn serve(store: Arc<dyn Store>) -> SocketAddr {
    serve_with_mail(store, None).await
}

async fn serve_with_mail(store: Arc<dyn Store>, smtp_url: Option<&str>) -> SocketAddr {
    let mut state = scimd::state(store.clone(), None).expect("state");
    if let Some(url) = smtp_url {
        let url = scimd::service::SmtpUrl::parse(url).expect("smtp url");
        let mailer = scimd::service::Mailer::new(&url, "scimd <scimd@example.com>").expect("mailer");
        state.service = state.service.with_mailer(mailer);
    }
    state.auth = Arc::new(scimd::service::Authenticator::new(store).with_cache_lifetime(TOKEN_CACHE));
    serve_state(state).await
}

async fn serve_state(state: scimd::http::AppState) -> SocketAddr {
    let app = scimd::app(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Reads a SCIM error body and checks its shape (RFC 7644 §3.12).
pub async fn scim_error(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    assert!(
        res.headers()["content-type"].to_str().unwrap().starts_with("application/scim+json"),
        "errors are scim+json"
    );
    let body: Value = res.json().await.expect("error body is JSON");
    assert_eq!(body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    assert_eq!(body["status"], json!(status.to_string()));
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "error has a detail");
    body
}

pub fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

/// Who the tests' direct store writes are by, as the audit log records them.
pub fn test_actor() -> scimd::store::Actor {
    scimd::store::Actor::system("test")
}

/// The audit entry of a test's direct store write.
pub fn test_audit() -> scimd::store::AuditEntry {
    scimd::store::AuditEntry::new(&test_actor(), scimd::store::Operation::Create, serde_json::json!({}))
}

/// The scimd binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_scimd");

/// A scimd process on this app's database, serving on a free port.
pub struct Process {
    child: std::process::Child,
    /// The SCIM base URL, `http://127.0.0.1:PORT/scim/v2`.
    pub base: String,
}

impl Process {
    pub async fn start(app: &TestApp) -> Process {
        Self::start_on(app, &app.database_url()).await
    }

    /// A scimd process on another database (`--database`), waited for with this app's client.
    pub async fn start_on(app: &TestApp, database: &str) -> Process {
        Self::start_with(app, database, &[]).await
    }

    /// A scimd process on `database` with more `serve` options.
    pub async fn start_with(app: &TestApp, database: &str, options: &[&str]) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", database])
            .args(options)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Waited for on drop, even when it does not start.
        let process = Process { child, base: format!("http://127.0.0.1:{port}/scim/v2") };
        for _ in 0..200 {
            if app.client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok() {
                return process;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("scimd did not start");
    }

    /// Kills it with SIGKILL, as a power cut or the OOM killer would, and reaps it.
    pub fn kill(mut self) {
        assert!(std::process::Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success());
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
