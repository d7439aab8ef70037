//! The real binary: `scimd token create` prints a working secret alone on stdout, and
//! `scimd serve` creates and prints a first token once, serves, and stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

use scimd::auth::hash_secret;
use scimd::cli::DatabaseArgs;
use scimd::store::Scope;

const BIN: &str = env!("CARGO_BIN_EXE_scimd");

fn db_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("cli.db").display())
}

#[tokio::test]
async fn token_create_prints_only_the_secret_and_stores_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["token", "create", "--tenant", "contoso", "--scope", "read,write", "--database", &db_url(&dir)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let secret = stdout.trim();
    assert_eq!(stdout.lines().count(), 1);
    let store = scimd::open_store(&DatabaseArgs { database: db_url(&dir), max_connections: 1 }).await.unwrap();
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
    let path = dir.path().join("cli.db");
    let status = Command::new("sqlite3")
        .arg(&path)
        .arg("INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (9999, 'future', CURRENT_TIMESTAMP, 1, x'00', 0)")
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("skipped: the sqlite3 command is not installed");
        return;
    }
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
