//! `scimd serve --tls-cert --tls-key`: HTTPS with certificates made here, URLs that say https,
//! and SIGHUP loading a renewed certificate without a restart (a broken one is not loaded).

use std::path::Path;
use std::time::Duration;

use crate::helpers::{BIN, USER};

const TOKEN: &str = "tls-test-token-0123456789abcdefghij";

/// A new self-signed certificate for localhost: its PEM and its key's PEM.
fn certificate() -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (made.cert.pem(), made.key_pair.serialize_pem())
}

/// A client that trusts only `cert`, on a connection of its own.
fn client(cert: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn healthy(client: &reqwest::Client, port: u16) -> bool {
    client.get(format!("https://localhost:{port}/healthz")).send().await.is_ok_and(|r| r.status() == 200)
}

/// Waits up to 10 s for `client` to be served over TLS.
async fn until_healthy(client: &reqwest::Client, port: u16) -> bool {
    for _ in 0..200 {
        if healthy(client, port).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn write(dir: &Path, (cert, key): &(String, String)) {
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    std::fs::write(dir.join("key.pem"), key).unwrap();
}

fn hangup(child: &std::process::Child) {
    assert!(std::process::Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());
}

#[tokio::test]
async fn https_with_a_certificate_reloaded_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let first = certificate();
    write(dir.path(), &first);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--bootstrap-token", TOKEN])
        .args(["--database", &format!("sqlite://{}", dir.path().join("scimd.db").display())])
        .arg("--tls-cert")
        .arg(dir.path().join("cert.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("key.pem"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let trusts_first = client(&first.0);
    assert!(until_healthy(&trusts_first, port).await, "scimd serves HTTPS");

    // Resources name their https URL.
    let res = trusts_first
        .post(format!("https://localhost:{port}/scim/v2/Users"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"schemas": [USER], "userName": "tls@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("https://localhost:{port}/scim/v2/Users/")), "{location}");
    // Plain HTTP gets no answer from a TLS listener.
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/healthz")).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200));

    // A renewed certificate, then SIGHUP: new connections get it.
    let second = certificate();
    write(dir.path(), &second);
    hangup(&child);
    let trusts_second = client(&second.0);
    assert!(until_healthy(&trusts_second, port).await, "the renewed certificate is served after SIGHUP");
    assert!(!healthy(&trusts_first, port).await, "the old certificate is no longer served");

    // A broken key is not loaded: the renewed certificate stays.
    std::fs::write(dir.path().join("key.pem"), "not a key").unwrap();
    hangup(&child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(healthy(&trusts_second, port).await, "a failed reload keeps the certificate in use");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_key_that_is_not_the_certificates_stops_the_start_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &certificate());
    let (_, other_key) = certificate();
    std::fs::write(dir.path().join("other.pem"), other_key).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--database", &format!("sqlite://{}", dir.path().join("scimd.db").display())])
        .arg("--tls-cert")
        .arg(dir.path().join("cert.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("other.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not go with the certificate"), "{stderr}");
}

#[tokio::test]
async fn sighup_without_tls_leaves_the_server_running() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database", &format!("sqlite://{}", dir.path().join("scimd.db").display())])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let plain = reqwest::Client::new();
    let up = || async { plain.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok() };
    for _ in 0..200 {
        if up().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up().await, "scimd started");
    hangup(&child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP ended the process");
    assert!(up().await);
    let _ = child.kill();
    let _ = child.wait();
}
