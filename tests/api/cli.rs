//! The real binary: `scimd token create` prints a working secret alone on stdout, and
//! `scimd serve` creates and prints a first token once, serves, and stops cleanly on SIGTERM.
//! The management commands run on both stores, over the behaviour suite's databases.

use std::process::{Command, Stdio};
use std::time::Duration;

use scimd::auth::hash_secret;
use scimd::cli::DatabaseArgs;
use scimd::store::Scope;

use crate::helpers::{behaviour, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_scimd");

fn db_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("cli.db").display())
}

#[tokio::test]
async fn token_create_prints_only_the_secret_and_stores_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&scimd(&dir, &["tenant", "add", "contoso"]));
    let out = Command::new(BIN)
        .args(["token", "create", "--tenant", "contoso", "--scope", "read,write", "--database", &db_url(&dir)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let secret = stdout.trim();
    assert_eq!(stdout.lines().count(), 1);
    let store = scimd::open_store(&DatabaseArgs::new(db_url(&dir), 1)).await.unwrap();
    let token = store.find_token(&hash_secret(secret)).await.unwrap().expect("token stored");
    assert_eq!(token.tenant_name, "contoso");
    assert_eq!(token.scopes, vec![Scope::Read, Scope::Write]);
}

#[tokio::test]
async fn token_create_refuses_an_unknown_scope_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        Command::new(BIN).args(["token", "create", "--scope", "root", "--database", &db_url(&dir)]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("unknown scope \"root\""), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn serve_prints_a_first_token_once_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let stderr_path = dir.path().join("stderr.log");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", &db_url(&dir)])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "scimd answered /healthz");
    let log = std::fs::read_to_string(&stderr_path).unwrap();
    let secret = log.lines().find(|l| l.starts_with("scimd_")).expect("first token printed").trim().to_owned();
    let res = client.get(format!("http://127.0.0.1:{port}/scim/v2/Users")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    assert!(status.expect("scimd stopped after SIGTERM").success());
}

#[tokio::test]
async fn serve_with_an_unreachable_postgres_fails_at_start_up_with_one_line() {
    let out =
        Command::new(BIN).args(["serve", "--database", "postgres://postgres@127.0.0.1:1/nowhere"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("cannot open the PostgreSQL database"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_scimd_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(&dir);
    let out = Command::new(BIN).args(["token", "create", "--scope", "read", "--database", &url]).output().unwrap();
    assert!(out.status.success());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (9999, 'future', CURRENT_TIMESTAMP, 1, x'00', 0)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = Command::new(BIN).args(["token", "create", "--scope", "read", "--database", &url]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("migrated by a newer scimd"), "{stderr}");
}

#[tokio::test]
async fn serve_with_an_unusable_database_url_fails_with_one_line() {
    let out = Command::new(BIN).args(["serve", "--database", "mysql://nowhere"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
}

fn scimd(dir: &tempfile::TempDir, args: &[&str]) -> std::process::Output {
    let url = db_url(dir);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--database", url.as_str()]);
    Command::new(BIN).args(&all).output().unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `scimd …` over the app's database, as an operator at the server's console runs it.
fn run(app: &TestApp, args: &[&str]) -> std::process::Output {
    let url = app.database_url();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--database", url.as_str()]);
    Command::new(BIN).args(&all).output().unwrap()
}

behaviour! {
    async fn tenants_are_added_listed_and_removed_only_when_empty_or_forced(app: TestApp) {
        stdout(&run(&app, &["tenant", "add", "contoso"]));
        let again = run(&app, &["tenant", "add", "contoso"]);
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
        let store = app.store.clone();
        let tenant = store.find_tenant("contoso").await.unwrap().unwrap();
        let new = scimd::store::NewResource {
            id: "u1".into(),
            kind: scimd::scim::schema::ResourceKind::User,
            doc: serde_json::json!({"userName": "a"}),
            password_hash: None,
            members: vec![],
            name_guard: None,
            audit: crate::helpers::test_audit(),
        };
        store.insert(tenant, new, scimd::store::Load::default()).await.unwrap();
        let list = stdout(&run(&app, &["tenant", "list"]));
        assert!(list.lines().any(|l| l.starts_with("contoso") && l.contains(" 1 ")), "{list}");
        let refused = run(&app, &["tenant", "remove", "contoso"]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
        assert!(store.find_tenant("contoso").await.unwrap().is_some());
        run(&app, &["tenant", "remove", "contoso", "--force"]);
        assert!(store.find_tenant("contoso").await.unwrap().is_none());
    }

    async fn tokens_are_listed_without_secrets_and_revoked_or_expired_tokens_stop_working(app: TestApp) {
        stdout(&run(&app, &["tenant", "add", "t"]));
        let secret = stdout(&run(
            &app,
            &["token", "create", "--tenant", "t", "--scope", "read", "--name", "entra", "--expires", "90d"],
        ));
        let secret = secret.trim().to_owned();
        let list = stdout(&run(&app, &["token", "list"]));
        assert!(list.contains("entra") && list.contains("expires"), "{list}");
        assert!(!list.contains(&secret), "the secret is never listed");
        let store = app.store.clone();
        let token = store.find_token(&hash_secret(&secret)).await.unwrap().unwrap();
        assert!(token.expires.is_some());
        let bad = run(&app, &["token", "create", "--scope", "read", "--expires", "soon"]);
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("90d"));

        // A server over the same database: the token works, then is revoked from the command line.
        let mut state = scimd::state(store.clone(), None).unwrap();
        state.auth = std::sync::Arc::new(
            scimd::service::Authenticator::new(store.clone()).with_cache_lifetime(crate::helpers::TOKEN_CACHE),
        );
        let router = scimd::app(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let client = reqwest::Client::new();
        let get = || client.get(format!("http://{addr}/scim/v2/Users")).bearer_auth(&secret).send();
        assert_eq!(get().await.unwrap().status(), 200);
        stdout(&run(&app, &["token", "revoke", &token.id.to_string()]));
        let list = stdout(&run(&app, &["token", "list", "--tenant", "t"]));
        assert!(list.contains("revoked"), "{list}");
        // Verified tokens are trusted for the cache lifetime without asking the store again.
        tokio::time::sleep(crate::helpers::TOKEN_CACHE + Duration::from_millis(50)).await;
        assert_eq!(get().await.unwrap().status(), 401);
        let missing = run(&app, &["token", "revoke", "999"]);
        assert!(!missing.status.success());

        // An expired token is refused.
        let t = store.find_tenant("t").await.unwrap().unwrap();
        let old = scimd::auth::generate_secret();
        let past = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        store
            .create_token(
                t,
                scimd::store::NewToken {
                    name: "old".into(),
                    secret_hash: hash_secret(&old),
                    scopes: vec![Scope::Read],
                    expires: Some(past),
                    rate_limit: None,
                }, &crate::helpers::test_actor(),
            )
            .await
            .unwrap();
        let res = client.get(format!("http://{addr}/scim/v2/Users")).bearer_auth(&old).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }

    async fn user_restore_brings_a_deleted_user_back(app: TestApp) {
        let store = app.store.clone();
        let tenant = store.ensure_tenant("default").await.unwrap();
        let new = scimd::store::NewResource {
            id: "u1".into(),
            kind: scimd::scim::schema::ResourceKind::User,
            doc: serde_json::json!({"userName": "back"}),
            password_hash: None,
            members: vec![],
            name_guard: None,
            audit: crate::helpers::test_audit(),
        };
        store.insert(tenant, new, scimd::store::Load::default()).await.unwrap();
        store.delete(tenant, scimd::scim::schema::ResourceKind::User, &"u1".into(), None, &crate::helpers::test_audit()).await.unwrap();
        let out = run(&app, &["user", "restore", "u1"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(store
            .fetch(tenant, scimd::scim::schema::ResourceKind::User, &"u1".into(), scimd::store::Load::default())
            .await
            .is_ok());
        let again = run(&app, &["user", "restore", "u1"]);
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("deleted User u1 not found"));

        // The audit log names the command line as the restore's actor.
        let log = stdout(&run(&app, &["audit", "list", "--resource-id", "u1"]));
        let restore = log.lines().find(|l| l.contains(" restore ")).unwrap_or_else(|| panic!("{log}"));
        assert!(restore.contains("command line") && restore.contains("User/u1"), "{log}");
        let bad = run(&app, &["audit", "list", "--operation", "rename"]);
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("is not one of create"));
    }

    async fn domains_are_added_listed_and_removed(app: TestApp) {
        stdout(&run(&app, &["domain", "add", "contoso.com"]));
        stdout(&run(&app, &["domain", "add", "contoso.onmicrosoft.com", "--initial"]));
        let list = stdout(&run(&app, &["domain", "list"]));
        assert_eq!(list, "contoso.com\ncontoso.onmicrosoft.com\tinitial\n");
        let bad = run(&app, &["domain", "add", "not a domain"]);
        assert!(!bad.status.success());
        stdout(&run(&app, &["domain", "remove", "contoso.com"]));
        let missing = run(&app, &["domain", "remove", "contoso.com"]);
        assert!(!missing.status.success());
        assert_eq!(stdout(&run(&app, &["domain", "list"])), "contoso.onmicrosoft.com\tinitial\n");
    }

    async fn licenses_are_added_listed_resized_and_removed(app: TestApp) {
        use scimd::scim::schema::ResourceKind;
        stdout(&run(&app, &["tenant", "add", "contoso"]));
        let id = stdout(&run(
            &app,
            &["license", "add", "ENTERPRISEPACK", "--seats", "2", "--name", "Office 365 E3", "--tenant", "contoso"],
        ));
        let id = id.trim().to_owned();
        let dup = run(&app, &["license", "add", "enterprisepack", "--seats", "1", "--tenant", "contoso"]);
        assert!(!dup.status.success());
        let stderr = String::from_utf8_lossy(&dup.stderr);
        assert!(stderr.contains("already in use") && stderr.lines().count() == 1, "{stderr}");

        // A user holding it, written through the store as another process would.
        let store = app.store.clone();
        let tenant = store.find_tenant("contoso").await.unwrap().unwrap();
        let doc = serde_json::json!({"userName": "a", "urn:scimd:schemas:extension:directory:2.0:User": {"usageLocation": "NL", "licenses": [{"value": id}]}});
        let new = scimd::store::NewResource {
            id: "u1".into(),
            kind: ResourceKind::User,
            doc,
            password_hash: None,
            members: vec![],
            name_guard: None, audit: crate::helpers::test_audit(),
        };
        store.insert(tenant, new, scimd::store::Load::default()).await.unwrap();

        let list = stdout(&run(&app, &["license", "list", "--tenant", "contoso"]));
        let row = list.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{list}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cols[1..5], ["ENTERPRISEPACK", "2", "1", "1"], "{list}");
        assert!(row.ends_with("Office 365 E3"));

        let below = run(&app, &["license", "set-seats", "ENTERPRISEPACK", "0", "--tenant", "contoso"]);
        assert!(!below.status.success());
        assert!(String::from_utf8_lossy(&below.stderr).contains("1 are assigned"));
        let negative = run(&app, &["license", "set-seats", "ENTERPRISEPACK", "-1", "--tenant", "contoso"]);
        assert!(String::from_utf8_lossy(&negative.stderr).contains("0 or more"));
        let ok = run(&app, &["license", "set-seats", "ENTERPRISEPACK", "10", "--tenant", "contoso"]);
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        let license = store.fetch(tenant, ResourceKind::License, &id.as_str().into(), scimd::store::Load::default()).await.unwrap();
        assert_eq!(license.doc["seats"], 10);
        assert_eq!(license.doc["available"], 9);

        let held = run(&app, &["license", "remove", "ENTERPRISEPACK", "--tenant", "contoso"]);
        assert!(String::from_utf8_lossy(&held.stderr).contains("assigned to 1 user"));
        store.delete(tenant, ResourceKind::User, &"u1".into(), None, &crate::helpers::test_audit()).await.unwrap();
        assert!(run(&app, &["license", "remove", "ENTERPRISEPACK", "--tenant", "contoso"]).status.success());
        let missing = run(&app, &["license", "set-seats", "ENTERPRISEPACK", "3", "--tenant", "contoso"]);
        assert!(String::from_utf8_lossy(&missing.stderr).contains("has no license"));
        let unknown_tenant = run(&app, &["license", "list", "--tenant", "nobody"]);
        assert!(!unknown_tenant.status.success());
    }
}
