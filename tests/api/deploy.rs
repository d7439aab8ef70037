//! The files in deploy/ are real: the binary started with the systemd unit's command line, its
//! environment and the example settings file serves, logs JSON and names the public URL.

use std::collections::BTreeMap;

use crate::helpers::BIN;

/// `KEY=VALUE` settings as systemd reads them: the unit's `Environment=` lines, then the
/// `EnvironmentFile=`, whose values win. Also the unit's `ExecStart=` arguments.
fn unit_settings() -> (Vec<String>, BTreeMap<String, String>) {
    let root = env!("CARGO_MANIFEST_DIR");
    let unit = std::fs::read_to_string(format!("{root}/deploy/scimd.service")).unwrap();
    let file = std::fs::read_to_string(format!("{root}/deploy/scimd.env")).unwrap();
    let mut exec = Vec::new();
    let mut env = BTreeMap::new();
    for line in unit.lines() {
        if let Some(cmd) = line.strip_prefix("ExecStart=") {
            exec = cmd.split_whitespace().map(str::to_owned).collect();
        }
        if let Some((k, v)) = line.strip_prefix("Environment=").and_then(|kv| kv.split_once('=')) {
            env.insert(k.to_owned(), v.to_owned());
        }
    }
    for line in file.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (k, v) = line.split_once('=').unwrap();
        env.insert(k.to_owned(), v.to_owned());
    }
    (exec, env)
}

#[tokio::test]
async fn the_systemd_unit_and_its_settings_file_start_a_working_server() {
    let (exec, mut env) = unit_settings();
    assert_eq!(exec[0], "/usr/local/bin/scimd", "the unit runs the installed binary");
    let state = tempfile::tempdir().unwrap();
    // The unit's state directory and listener, moved to this test's own.
    for value in env.values_mut() {
        *value = value.replace("/var/lib/scimd", &state.path().display().to_string());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(env.insert("SCIMD_LISTEN".into(), format!("127.0.0.1:{port}")).as_deref(), Some("127.0.0.1:8080"));
    env.insert("SCIMD_BOOTSTRAP_TOKEN".into(), "deploy-test-token-0123456789abcdef".into());
    let mut child = std::process::Command::new(BIN)
        .args(&exec[1..])
        .env_clear()
        .envs(&env)
        .current_dir(state.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let res = client
        .post(format!("http://127.0.0.1:{port}/scim/v2/Users"))
        .bearer_auth("deploy-test-token-0123456789abcdef")
        .json(&serde_json::json!({"schemas": [crate::helpers::USER], "userName": "deploy@example.com"}))
        .send()
        .await;
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(up, "scimd did not become ready: {}", String::from_utf8_lossy(&out.stderr));
    let res = res.unwrap();
    assert_eq!(res.status(), 201);
    // The public URL of the settings file, not the listener's.
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://scim.example.com/scim/v2/Users/"), "{location}");
    assert!(state.path().join("scimd.db").exists(), "the database is in the state directory");
    let log = String::from_utf8_lossy(&out.stderr);
    let first = log.lines().next().expect("scimd logs");
    assert!(serde_json::from_str::<serde_json::Value>(first).is_ok(), "the log is JSON lines: {first}");
}
