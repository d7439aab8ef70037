//! Results mail and temporary passwords: `scimd import` run as the real binary, `POST
//! /Admin/Import` and an administrator's `POST /Users`, each mailing a real SMTP server on
//! 127.0.0.1 (`smtp.rs`), whose messages are parsed and checked; on both stores.

use std::process::{Command, Output};

use argon2::{PasswordHash, PasswordVerifier};
use mail_parser::MimeHeaders;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{behaviour, scim_error, TestApp, USER};
use crate::smtp::{smtp_url_nobody_listens_on, Received, SmtpReceiver};

const BIN: &str = env!("CARGO_BIN_EXE_scimd");
const CREATION_RESULTS: &str = "urn:scimd:api:messages:2.0:CreationResults";

/// A new user, an existing one (updated), and a refused row.
const FILE: &str = "User Name,Job Title\nnew@contoso.com,Clerk\nknown@contoso.com,Boss\nbad@contoso.com,Clerk,extra\n";

/// Runs `scimd import` over the app's database on `csv`, saved as `users.csv`.
fn import(app: &TestApp, dir: &tempfile::TempDir, csv: &str, args: &[&str]) -> Output {
    let path = dir.path().join("users.csv");
    std::fs::write(&path, csv).unwrap();
    Command::new(BIN)
        .arg("import")
        .arg(&path)
        .args(args)
        .args(["--database", &app.database_url()])
        .env_remove("SCIMD_SMTP_URL")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The report's rows as maps from column to cell.
fn rows(csv: &[u8]) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv);
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| headers.iter().map(String::from).zip(r.unwrap().iter().map(String::from)).collect())
        .collect()
}

/// The mail's subject, text and attached report.
fn contents(message: &Received) -> (String, String, Vec<u8>) {
    let parsed = message.parsed();
    let subject = parsed.subject().unwrap().to_owned();
    let body = parsed.body_text(0).unwrap().replace("\r\n", "\n");
    let attachment = parsed.attachments().find(|a| a.attachment_name() == Some("report.csv")).expect("report.csv");
    (subject, body, attachment.contents().to_vec())
}

/// Whether `password` is the one stored (hashed) for the user `id`.
async fn password_works(app: &TestApp, id: &str, password: &str) -> bool {
    let hash = app.password_hash(id).await.expect("the user has a password");
    argon2::Argon2::default().verify_password(password.as_bytes(), &PasswordHash::new(&hash).unwrap()).is_ok()
}

async fn users(app: &TestApp) -> u64 {
    let list: Value = app.get("/Users?count=0").await.json().await.unwrap();
    list["totalResults"].as_u64().unwrap()
}

async fn mail_events(app: &TestApp) -> Vec<Value> {
    let log: Value = app.get("/Admin/AuditEvents?operation=mail").await.json().await.unwrap();
    log["Resources"].as_array().unwrap().clone()
}

async fn post_import(app: &TestApp, base: &str, query: &str, accept: &str, body: &str) -> reqwest::Response {
    app.client
        .post(format!("{base}/scim/v2/Admin/Import{query}"))
        .bearer_auth(&app.token)
        .header("content-type", "text/csv")
        .header("accept", accept)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[test]
fn import_help_documents_results_mail_and_temporary_passwords() {
    let out = Command::new(BIN).args(["import", "--help"]).output().unwrap();

    let help = text(&out.stdout);
    for expected in
        ["--mail-results <ADDRESSES>", "--temporary-passwords", "--smtp-url <URL>", "SCIMD_SMTP_URL", "--mail-from"]
    {
        assert!(help.contains(expected), "{expected:?} missing from:\n{help}");
    }
}

behaviour! {
    async fn cli_import_mails_the_results_with_the_report_attached_and_temporary_passwords(app: TestApp) {
        let smtp = SmtpReceiver::start().await;
        let dir = tempfile::tempdir().unwrap();
        let known = app.create_user("known@contoso.com").await;

        let out = import(&app, &dir, FILE, &[
            "--smtp-url", &smtp.url(), "--mail-from", "HR sync <hr@contoso.com>",
            "--mail-results", "it@contoso.com, hr@contoso.com", "--temporary-passwords",
        ]);

        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("results mailed to it@contoso.com, hr@contoso.com"), "{stderr}");
        let report = rows(&out.stdout);
        assert_eq!(report.iter().map(|r| r["status"].as_str()).collect::<Vec<_>>(), ["created", "updated", "refused"]);
        let password = report[0]["temporaryPassword"].clone();
        assert_eq!(password.len(), 20, "{password}");
        assert!(!stderr.contains(&password), "the summary and logs never show it");
        assert_eq!((report[1]["temporaryPassword"].as_str(), report[2]["temporaryPassword"].as_str()), ("", ""), "only new users get one");
        assert!(password_works(&app, &report[0]["id"], &password).await, "the reported password is the stored one");
        assert!(app.password_hash(crate::helpers::id(&known)).await.is_none(), "an updated user is given none");

        let messages = smtp.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].mail_from, "hr@contoso.com");
        assert_eq!(messages[0].rcpt_to, ["it@contoso.com", "hr@contoso.com"]);
        let parsed = messages[0].parsed();
        let to: Vec<_> = parsed.to().unwrap().iter().filter_map(|a| a.address()).collect();
        assert_eq!(to, ["it@contoso.com", "hr@contoso.com"]);
        let (subject, body, attachment) = contents(&messages[0]);
        assert_eq!(subject, "scimd (default): import of users.csv: 1 created, 1 updated, 0 unchanged, 1 refused");
        assert!(body.contains(&format!("row 2: new@contoso.com, temporary password {password}")), "{body}");
        assert!(body.contains("row 3: known@contoso.com"), "{body}");
        assert!(body.contains("Refused (1):\n  row 4: bad@contoso.com: "), "{body}");
        assert_eq!(attachment, out.stdout, "the attachment is the report");

        let events = mail_events(&app).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["resourceType"], "Mail");
        assert_eq!(events[0]["changes"]["to"], json!(["it@contoso.com", "hr@contoso.com"]));
        assert_eq!(events[0]["changes"]["outcome"], "sent");
        let log: Value = app.get("/Admin/AuditEvents").await.json().await.unwrap();
        assert!(!log.to_string().contains(&password), "the audit log never holds the password");
    }

    async fn admin_import_mails_the_results_and_answers_the_outcome_and_the_passwords(app: TestApp) {
        let smtp = SmtpReceiver::start().await;
        let base = app.mail_server(&smtp.url()).await;

        let res = post_import(&app, &base, "?mailResults=it@contoso.com&temporaryPasswords=true", "application/json", FILE).await;

        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["mail"], json!({"to": ["it@contoso.com"], "status": "sent"}));
        assert_eq!((body["created"].clone(), body["refused"].clone()), (json!(2), json!(1)));
        let password = body["rows"][0]["temporaryPassword"].as_str().unwrap();
        assert!(password_works(&app, body["rows"][0]["id"].as_str().unwrap(), password).await);
        let messages = smtp.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].rcpt_to, ["it@contoso.com"]);
        let (subject, body_text, attachment) = contents(&messages[0]);
        assert!(subject.contains("import over HTTP: 2 created, 0 updated, 0 unchanged, 1 refused"), "{subject}");
        assert!(body_text.contains(password), "{body_text}");
        assert_eq!(rows(&attachment)[0]["temporaryPassword"], password);

        let csv = post_import(&app, &base, "?mailResults=it@contoso.com", "text/csv", FILE).await;

        assert_eq!(csv.headers()["results-mail"], "results mailed to it@contoso.com");
        assert_eq!(smtp.messages().len(), 2);
    }

    async fn six_addresses_a_bad_address_or_no_smtp_server_are_refused_before_anything_is_imported(app: TestApp) {
        let smtp = SmtpReceiver::start().await;
        let base = app.mail_server(&smtp.url()).await;
        let dir = tempfile::tempdir().unwrap();
        let six = "a@x.com,b@x.com,c@x.com,d@x.com,e@x.com,f@x.com";

        let body = scim_error(post_import(&app, &base, &format!("?mailResults={six}"), "application/json", FILE).await, 400).await;
        assert_eq!(body["scimType"], "invalidValue");
        assert!(body["detail"].as_str().unwrap().contains("names 6 addresses; it may go to at most 5"), "{body}");
        let body = scim_error(post_import(&app, &base, "?mailResults=it@contoso.com,it.contoso.com", "application/json", FILE).await, 400).await;
        assert!(body["detail"].as_str().unwrap().contains("cannot go to \"it.contoso.com\""), "{body}");
        let body = scim_error(post_import(&app, &app.base, "?mailResults=it@contoso.com", "application/json", FILE).await, 400).await;
        assert!(body["detail"].as_str().unwrap().contains("--smtp-url"), "{body}");
        let cli_six = import(&app, &dir, FILE, &["--smtp-url", &smtp.url(), "--mail-results", six]);
        let cli_no_server = import(&app, &dir, FILE, &["--mail-results", "it@contoso.com"]);

        for out in [&cli_six, &cli_no_server] {
            assert_eq!(out.status.code(), Some(1), "{out:?}");
            assert_eq!(text(&out.stderr).trim().lines().count(), 1, "one line: {out:?}");
            assert!(out.stdout.is_empty());
        }
        assert!(text(&cli_six.stderr).contains("at most 5"));
        assert!(text(&cli_no_server.stderr).contains("--smtp-url"));
        assert_eq!(users(&app).await, 0, "nothing imported");
        assert!(smtp.messages().is_empty());
    }

    async fn a_mail_the_smtp_server_does_not_take_leaves_the_import_done_and_says_so(app: TestApp) {
        let down = smtp_url_nobody_listens_on().await;
        let base = app.mail_server(&down).await;
        let dir = tempfile::tempdir().unwrap();

        let res = post_import(&app, &base, "?mailResults=it@contoso.com", "application/json", FILE).await;
        let out = import(&app, &dir, "User Name\nlater@contoso.com\n", &["--smtp-url", &down, "--mail-results", "hr@contoso.com"]);

        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["created"], 2);
        assert_eq!(body["mail"]["status"], "failed");
        assert!(body["mail"]["detail"].as_str().unwrap().contains("did not take the mail"), "{body}");
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "the import is done: {stderr}");
        assert!(stderr.contains("the results mail to hr@contoso.com failed (the import itself is done)"), "{stderr}");
        assert_eq!(users(&app).await, 3);
        let events = mail_events(&app).await;
        assert_eq!(events.len(), 2);
        for (event, to) in events.iter().zip(["it@contoso.com", "hr@contoso.com"]) {
            assert_eq!(event["changes"]["outcome"], "failed");
            assert_eq!(event["changes"]["to"], json!([to]));
            assert!(event["changes"]["detail"].as_str().is_some_and(|d| !d.is_empty()), "{event}");
        }
    }

    async fn an_administrator_creating_a_user_may_ask_for_a_temporary_password_and_a_results_mail(app: TestApp) {
        let smtp = SmtpReceiver::start().await;
        let base = app.mail_server(&smtp.url()).await;
        let url = format!("{base}/scim/v2/Users?mailResults=it@contoso.com&temporaryPasswords=true");
        let user = json!({"schemas": [USER], "userName": "ann@contoso.com"});
        let writer = app.token_for("default", &[scimd::store::Scope::Write]).await;

        let refused = app.client.post(&url).bearer_auth(&writer).json(&user).send().await.unwrap();
        let res = app.client.post(&url).bearer_auth(&app.token).json(&user).send().await.unwrap();

        scim_error(refused, 403).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        let password = body[CREATION_RESULTS]["temporaryPassword"].as_str().unwrap();
        assert_eq!(body[CREATION_RESULTS]["mail"]["status"], "sent");
        assert!(body.get("password").is_none());
        assert!(password_works(&app, crate::helpers::id(&body), password).await);
        assert_eq!(users(&app).await, 1, "the refused request created nobody");
        let messages = smtp.messages();
        assert_eq!(messages.len(), 1);
        let (subject, text, attachment) = contents(&messages[0]);
        assert!(subject.contains("user created by an administrator: 1 created"), "{subject}");
        assert!(text.contains(&format!("row 1: ann@contoso.com, temporary password {password}")), "{text}");
        assert_eq!(rows(&attachment)[0]["id"], crate::helpers::id(&body));
        let fetched: Value = app.get(&format!("/Users/{}", crate::helpers::id(&body))).await.json().await.unwrap();
        assert!(fetched.get(CREATION_RESULTS).is_none(), "shown once, at creation");
    }
}
