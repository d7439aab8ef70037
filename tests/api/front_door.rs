//! The product as a new user meets it: the built `scimd` binary started with no arguments in
//! an empty folder, its options and variables, its logs, and the command line's answers to
//! hostile input (one line and exit 1, never a panic).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::USER;

const BIN: &str = env!("CARGO_BIN_EXE_scimd");

/// Every variable scimd reads, removed so that the machine's environment cannot change a test.
const SCIMD_VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "SCIMD_DATABASE_URL",
    "SCIMD_LISTEN",
    "SCIMD_BOOTSTRAP_TOKEN",
    "SCIMD_BASE_URL",
    "SCIMD_TRUST_FORWARDED_HEADERS",
    "SCIMD_DELETED_RETENTION",
    "SCIMD_LOG_FORMAT",
    "SCIMD_MAX_CONNECTIONS",
    "SCIMD_SMTP_URL",
    "SCIMD_MAIL_FROM",
    "RUST_LOG",
    "NO_COLOR",
];

/// `scimd` with `args` and `envs`, in `dir`, with nothing else from the environment.
fn scimd(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).args(args);
    for name in SCIMD_VARIABLES {
        command.env_remove(name);
    }
    command.envs(envs.iter().copied());
    command
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A scimd process serving on 127.0.0.1, its stderr kept in a file.
struct Running {
    child: Child,
    base: String,
    stderr: PathBuf,
}

impl Running {
    /// Starts `scimd` (with `args`; no arguments is the README's first command) on a free port
    /// given through `SCIMD_LISTEN`, and waits until it answers `/healthz`.
    async fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Running {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let stderr = dir.join(format!("stderr-{port}.log"));
        let mut all_envs = vec![("SCIMD_LISTEN", listen.as_str())];
        all_envs.extend_from_slice(envs);
        let child = scimd(dir, args, &all_envs)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut running = Running { child, base: format!("http://{listen}"), stderr };
        for _ in 0..150 {
            if reqwest::get(format!("{}/healthz", running.base)).await.is_ok_and(|r| r.status() == StatusCode::OK) {
                return running;
            }
            if let Some(status) = running.child.try_wait().unwrap() {
                panic!("scimd exited with {status} before serving: {}", running.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = running.child.kill();
        panic!("scimd did not answer /healthz within 15 s: {}", running.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/scim/v2{path}", self.base)
    }

    /// SIGTERM, then the exit status once scimd has drained and stopped.
    async fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        for _ in 0..150 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        panic!("scimd did not stop within 15 s of SIGTERM: {}", self.log());
    }
}

/// The secret a first start printed: the line after the announcement.
fn printed_token(log: &str) -> String {
    let tokens: Vec<&str> = log.lines().filter(|l| l.starts_with("scimd_")).collect();
    assert_eq!(tokens.len(), 1, "exactly one token printed: {log}");
    tokens[0].trim().to_owned()
}

fn one_line_error(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "exit 1, not a panic (101): {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    stderr
}

#[tokio::test]
async fn bare_scimd_in_an_empty_folder_creates_scimd_db_prints_a_token_once_and_honours_scimd_listen() {
    let dir = tempfile::tempdir().unwrap();

    let server = Running::start(dir.path(), &[], &[]).await;

    assert!(dir.path().join("scimd.db").is_file(), "./scimd.db created");
    let token = printed_token(&server.log());
    let client = reqwest::Client::new();
    let users = client.get(server.url("/Users")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(users.status(), StatusCode::OK);
    assert_eq!(client.get(server.url("/Users")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let (status, _) = server.stop().await;
    assert!(status.success(), "a clean stop on SIGTERM: {status}");

    // A second start finds the token in ./scimd.db: nothing is printed, the token still works.
    let again = Running::start(dir.path(), &[], &[]).await;
    assert!(!again.log().lines().any(|l| l.starts_with("scimd_")), "no second token: {}", again.log());
    let users = client.get(again.url("/Users")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(users.status(), StatusCode::OK);
    again.stop().await;
}

#[tokio::test]
async fn bare_scimd_takes_every_serve_variable() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "front-door-bootstrap-secret";

    let server = Running::start(
        dir.path(),
        &[],
        &[
            ("SCIMD_BOOTSTRAP_TOKEN", secret),
            ("SCIMD_BASE_URL", "https://scim.example.com"),
            ("SCIMD_DATABASE_URL", "sqlite://other.db"),
            ("SCIMD_LOG_FORMAT", "json"),
        ],
    )
    .await;

    assert!(dir.path().join("other.db").is_file() && !dir.path().join("scimd.db").exists());
    assert!(!server.log().contains("scimd_"), "no token printed when one is configured");
    let client = reqwest::Client::new();
    let body = json!({"schemas": [USER], "userName": "door@example.com"});
    let res = client.post(server.url("/Users")).bearer_auth(secret).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://scim.example.com/scim/v2/Users/"), "{location}");
    let (_, log) = server.stop().await;
    for line in log.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: a JSON log line: {line}"));
    }
}

#[tokio::test]
async fn serve_takes_the_same_options_as_bare_scimd_and_serve_options_before_a_command_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &["serve", "--base-url", "https://idp.example.com/scim/v2/"], &[]).await;
    let token = printed_token(&server.log());
    let res = reqwest::Client::new().get(server.url("/Schemas")).bearer_auth(&token).send().await.unwrap();
    let body: Value = res.json().await.unwrap();
    let location = body["Resources"][0]["meta"]["location"].as_str().unwrap();
    assert!(location.starts_with("https://idp.example.com/scim/v2/Schemas/"), "{location}");
    server.stop().await;

    let out = scimd(dir.path(), &["--listen", "127.0.0.1:1", "token", "list"], &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen is an option of `scimd serve`"));
}

#[tokio::test]
async fn the_first_token_is_one_json_line_with_log_format_json() {
    let dir = tempfile::tempdir().unwrap();

    let server = Running::start(dir.path(), &["--log-format", "json"], &[]).await;

    let log = server.log();
    let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
    let announced: Vec<&Value> = lines.iter().filter(|l| l["fields"]["token"].is_string()).collect();
    assert_eq!(announced.len(), 1, "{log}");
    let token = announced[0]["fields"]["token"].as_str().unwrap();
    let res = reqwest::Client::new().get(server.url("/Users")).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn text_logs_off_a_terminal_are_plain_and_name_the_token_and_the_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &[], &[]).await;
    let token = printed_token(&server.log());
    let client = reqwest::Client::new();

    let bad = client.get(server.url("/Users?filter=userName%20eq%20bare")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let me = client.get(server.url("/Me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::NOT_IMPLEMENTED);
    let (_, log) = server.stop().await;

    assert!(!log.contains('\u{1b}'), "no colour codes in a file: {log}");
    let refused = log.lines().find(|l| l.contains("refused")).expect("a line for the 400");
    assert!(
        refused.contains("scim_type=\"invalidFilter\"") || refused.contains("scim_type=invalidFilter"),
        "{refused}"
    );
    assert!(refused.contains("detail="), "{refused}");
    assert!(refused.contains("token_id=1") && refused.contains("token=\"bootstrap\""), "names the token: {refused}");
    assert!(!log.lines().any(|l| l.contains("ERROR")), "/Me's 501 is not an error: {log}");
    assert!(log.contains("SIGTERM"), "the signal is logged: {log}");
}

#[tokio::test]
async fn a_revoked_bootstrap_token_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "revoked-bootstrap-secret";
    let server = Running::start(dir.path(), &["--bootstrap-token", secret], &[]).await;
    server.stop().await;
    let revoked = scimd(dir.path(), &["token", "revoke", "1"], &[]).output().unwrap();
    assert!(revoked.status.success(), "{revoked:?}");

    let out = scimd(dir.path(), &["--bootstrap-token", secret], &[("SCIMD_LISTEN", "127.0.0.1:0")]).output().unwrap();

    let stderr = one_line_error(&out);
    assert!(stderr.contains("bootstrap token (id 1, \"bootstrap\") has been revoked"), "{stderr}");
    let list = scimd(dir.path(), &["token", "list"], &[]).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("revoked"), "the token stays revoked");
}

#[tokio::test]
async fn secrets_and_database_passwords_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let admin = "logscan-admin-secret-0001";
    let password = "logscan-db-password-0002";
    let user_password = "logscan-user-password-0003";
    let smtp_password = "logscan-smtp-password-0005";
    let smtp = crate::smtp::SmtpReceiver::start().await;
    let smtp_url = format!("smtp://mailer:{smtp_password}@127.0.0.1:{}?tls=none", smtp.port);
    let envs = [("SCIMD_BOOTSTRAP_TOKEN", admin), ("RUST_LOG", "debug"), ("SCIMD_SMTP_URL", smtp_url.as_str())];
    let server = Running::start(dir.path(), &[], &envs).await;
    let client = reqwest::Client::new();
    let users = server.url("/Users");
    assert_eq!(client.get(&users).bearer_auth(admin).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(client.get(&users).header("authorization", admin).send().await.unwrap().status(), StatusCode::OK);
    let basic = client.get(&users).basic_auth("default", Some(admin)).send().await.unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    let wrong = client.get(&users).bearer_auth("logscan-wrong-secret-0004").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body = json!({"schemas": [USER], "userName": "pw@example.com", "password": user_password});
    assert_eq!(client.post(&users).bearer_auth(admin).json(&body).send().await.unwrap().status(), 201);
    let created: Value = client
        .post(server.url("/Admin/Tokens"))
        .bearer_auth(admin)
        .json(&json!({"name": "okta", "scopes": ["read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_secret = created["secret"].as_str().unwrap().to_owned();
    assert_eq!(client.get(&users).bearer_auth(&new_secret).send().await.unwrap().status(), StatusCode::OK);
    let imported: Value = client
        .post(server.url("/Admin/Import?mailResults=it@example.com&temporaryPasswords=true"))
        .bearer_auth(admin)
        .header("content-type", "text/csv")
        .body("User Name\nnew@example.com\n")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(imported["mail"]["status"], "sent", "{imported}");
    let temporary_password = imported["rows"][0]["temporaryPassword"].as_str().unwrap().to_owned();
    let mails = smtp.messages();
    assert_eq!(mails[0].auth, Some(("mailer".to_owned(), smtp_password.to_owned())), "the password was used");
    let (_, mut output) = server.stop().await;

    let url = format!("postgres://scimd:{password}@127.0.0.1:1/scimd");
    let failed = scimd(dir.path(), &["token", "list", "--database", &url], &[]).output().unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr).into_owned();
    assert!(stderr.contains("postgres://scimd:***@127.0.0.1:1/scimd"), "the URL is shown redacted: {stderr}");
    output.push_str(&stderr);
    let help =
        scimd(dir.path(), &["--help"], &[("SCIMD_DATABASE_URL", &url), ("DATABASE_URL", &url)]).output().unwrap();
    output.push_str(&String::from_utf8_lossy(&help.stdout));
    let serve = scimd(dir.path(), &[], &[("DATABASE_URL", &url), ("SCIMD_LISTEN", "127.0.0.1:0")]).output().unwrap();
    assert_eq!(serve.status.code(), Some(1));
    output.push_str(&String::from_utf8_lossy(&serve.stderr));

    let smtp_help = scimd(dir.path(), &["import", "--help"], &[("SCIMD_SMTP_URL", &smtp_url)]).output().unwrap();
    output.push_str(&String::from_utf8_lossy(&smtp_help.stdout));
    let bad_smtp = format!("smtp://mailer:{smtp_password}@127.0.0.1:1?tls=sometimes");
    let refused = scimd(dir.path(), &["--smtp-url", &bad_smtp], &[("SCIMD_LISTEN", "127.0.0.1:0")]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    output.push_str(&String::from_utf8_lossy(&refused.stderr));

    let secrets = [
        admin,
        password,
        user_password,
        "logscan-wrong-secret-0004",
        new_secret.as_str(),
        smtp_password,
        temporary_password.as_str(),
    ];
    for secret in secrets {
        assert!(!output.contains(secret), "{secret} appears in the output:\n{output}");
    }
}

#[tokio::test]
async fn scimd_database_url_comes_before_database_url_and_an_unusable_sqlite_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let envs = [("SCIMD_DATABASE_URL", "sqlite://first.db"), ("DATABASE_URL", "sqlite://second.db")];
    let out = scimd(dir.path(), &["tenant", "list"], &envs).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join("first.db").exists() && !dir.path().join("second.db").exists());
    let out = scimd(dir.path(), &["tenant", "list"], &[("DATABASE_URL", "sqlite://second.db")]).output().unwrap();
    assert!(out.status.success() && dir.path().join("second.db").exists(), "DATABASE_URL is the fallback");

    let out =
        scimd(dir.path(), &["tenant", "list", "--database", "sqlite:///nonexistent-dir/x.db"], &[]).output().unwrap();
    let stderr = one_line_error(&out);
    assert!(stderr.contains("\"/nonexistent-dir/x.db\""), "{stderr}");
}

#[tokio::test]
async fn lifetimes_past_a_hundred_years_and_unknown_log_formats_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        scimd(dir.path(), &["token", "create", "--scope", "read", "--expires", "99999999999d"], &[]).output().unwrap();
    assert!(one_line_error(&out).contains("at most 36500 days"));
    let out = scimd(dir.path(), &["--deleted-retention", "9999999d"], &[]).output().unwrap();
    assert!(one_line_error(&out).contains("--deleted-retention"));
    let out = scimd(dir.path(), &["--deleted-retention", "9999999999999999999m"], &[]).output().unwrap();
    one_line_error(&out);

    let out = scimd(dir.path(), &["--log-format", "xml"], &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("[possible values: text, json]"));
}

#[tokio::test]
async fn commands_refuse_an_unknown_tenant_instead_of_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["token", "create", "--scope", "read", "--tenant", "contsoo"][..],
        &["domain", "add", "contoso.com", "--tenant", "contsoo"],
        &["license", "add", "ENTERPRISEPACK", "--seats", "5", "--tenant", "contsoo"],
        &["user", "list", "--tenant", "contsoo"],
    ] {
        let out = scimd(dir.path(), args, &[]).output().unwrap();
        let stderr = one_line_error(&out);
        assert!(stderr.contains("no tenant called \"contsoo\"; create it with `scimd tenant add contsoo`"), "{stderr}");
    }
    let tenants = scimd(dir.path(), &["tenant", "list"], &[]).output().unwrap();
    assert!(!String::from_utf8_lossy(&tenants.stdout).contains("contsoo"), "no tenant was created");
}

#[tokio::test]
async fn user_list_show_disable_and_enable_work_by_id_or_user_name() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &[], &[]).await;
    let token = printed_token(&server.log());
    let client = reqwest::Client::new();
    for name in ["ann@example.com", "bob@example.com"] {
        let body = json!({"schemas": [USER], "userName": name, "displayName": name.split('@').next()});
        client.post(server.url("/Users")).bearer_auth(&token).json(&body).send().await.unwrap();
    }
    server.stop().await;
    let run = |args: &[&str]| {
        let out = scimd(dir.path(), args, &[]).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };

    let list = run(&["user", "list"]);
    assert_eq!(list.lines().count(), 3, "a header and two users: {list}");
    assert!(list.contains("ann@example.com") && list.contains("allowed"), "{list}");
    run(&["user", "disable", "ann@example.com"]);
    let shown: Value = serde_json::from_str(&run(&["user", "show", "ann@example.com"])).unwrap();
    assert_eq!(shown["active"], false);
    let id = shown["id"].as_str().unwrap().to_owned();
    assert!(run(&["user", "list", "--filter", "active eq false"]).contains("ann@example.com"));
    run(&["user", "enable", &id]);
    let shown: Value = serde_json::from_str(&run(&["user", "show", &id])).unwrap();
    assert_eq!(shown["active"], true);

    let missing = scimd(dir.path(), &["user", "show", "nobody@example.com"], &[]).output().unwrap();
    assert!(one_line_error(&missing).contains("no user with id or userName \"nobody@example.com\""));
    let bad_filter = scimd(dir.path(), &["user", "list", "--filter", "userName eq bare"], &[]).output().unwrap();
    one_line_error(&bad_filter);
}

#[tokio::test]
async fn forwarded_headers_shape_locations_only_when_trusted() {
    for (args, envs, expected) in [
        (&[][..], &[][..], "http://127.0.0.1:"),
        (&["--trust-forwarded-headers"][..], &[][..], "https://scim.example.com/scim/v2/Schemas/"),
        (&[][..], &[("SCIMD_TRUST_FORWARDED_HEADERS", "true")][..], "https://scim.example.com/scim/v2/Schemas/"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let server = Running::start(dir.path(), args, envs).await;
        let token = printed_token(&server.log());

        let res = reqwest::Client::new()
            .get(server.url("/Schemas"))
            .bearer_auth(&token)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "scim.example.com, proxy.internal")
            .send()
            .await
            .unwrap();

        let body: Value = res.json().await.unwrap();
        let location = body["Resources"][0]["meta"]["location"].as_str().unwrap();
        assert!(location.starts_with(expected), "{args:?} {envs:?}: {location}");
        server.stop().await;
    }
}

/// Whether the server has closed `stream`: a read sees the end, or an error.
async fn closed(stream: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_or_idling_is_dropped_after_the_header_timeout() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &["--http-header-timeout", "1", "--http-body-timeout", "1"], &[]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();

    // One header byte every 200 ms: never a whole request.
    let mut trickle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    trickle.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.unwrap();
    let started = Instant::now();
    let mut dropped = false;
    while started.elapsed() < Duration::from_secs(5) {
        if trickle.write_all(b"s").await.is_err() || closed(&mut trickle).await {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(dropped, "the trickling connection was closed");
    assert!(started.elapsed() < Duration::from_secs(3), "within the timeout: {:?}", started.elapsed());

    // A keep-alive connection that answered one request and then idles is closed too.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert!(!closed(&mut idle).await, "the first request is answered on an open connection");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(closed(&mut idle).await, "the idle connection was closed");

    // A body that stops halfway gets an answer, or the connection closes, after the body timeout.
    let mut slow_body = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let token = printed_token(&server.log());
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    slow_body.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), tokio::io::AsyncReadExt::read_to_end(&mut slow_body, &mut answer));
    assert!(read.await.is_ok(), "the server ended the request");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3),
        "at the body timeout: {elapsed:?}"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 4"), "{answer}");

    let health = reqwest::get(format!("{}/healthz", server.base)).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "other clients are served meanwhile");
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &["--http-max-connections", "2"], &[]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    // The start-up probe's connection is closed by now or soon; two idle connections fill the slots.
    let mut first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _second = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let waiting = tokio::spawn(reqwest::get(format!("{}/healthz", server.base)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a third connection waits while two are served");
    first.shutdown().await.unwrap();
    drop(first);
    let res = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("served once a slot frees");
    assert_eq!(res.unwrap().unwrap().status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_with_retry_after_and_a_token_of_its_own_rate_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &["--rate-limit", "2"], &[]).await;
    let token = printed_token(&server.log());
    let out = scimd(dir.path(), &["token", "create", "--scope", "read", "--name", "fast", "--rate-limit", "50"], &[])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let fast = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let client = reqwest::Client::new();

    let (mut served, mut refused) = (0, 0);
    for _ in 0..5 {
        let res = client.get(server.url("/Users?count=1")).bearer_auth(&token).send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
            let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&retry), "{retry}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
            assert_eq!(body["status"], "429");
            assert!(body["detail"].as_str().unwrap().contains("2 requests a second"), "{body}");
        } else {
            assert_eq!(res.status(), StatusCode::OK);
            served += 1;
        }
    }
    assert!((2..=3).contains(&served) && refused >= 2, "a burst of 2, then 429: {served} served, {refused} refused");
    for _ in 0..10 {
        let res = client.get(server.url("/Users?count=1")).bearer_auth(&fast).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "the token's own rate of 50 wins");
    }
    let list = scimd(dir.path(), &["token", "list"], &[]).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("50 requests/s"));
    server.stop().await;
}
