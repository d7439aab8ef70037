//! CSV import: `scimd import` run as the real binary and `POST /Admin/Import`, on both stores,
//! the store checked afterwards.

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::{json, Value};

use scimd::scim::schema::ResourceKind;
use scimd::store::{Load, MemberRef, NewResource, Store, TenantId, Update};

use crate::helpers::{behaviour, scim_error, TestApp};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_scimd");
pub(crate) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub(crate) const DIRECTORY: &str = "urn:scimd:schemas:extension:directory:2.0:User";

/// The app's database with the tenant `default`, and the files of one test.
pub(crate) struct Cli {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) url: String,
    pub(crate) store: std::sync::Arc<dyn Store>,
    pub(crate) tenant: TenantId,
}

impl Cli {
    pub(crate) async fn new(app: &TestApp) -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let url = app.database_url();
        let store = app.store.clone();
        let tenant = store.ensure_tenant("default").await.unwrap();
        Cli { dir, url, store, tenant }
    }

    /// Writes `csv` to a file and runs `scimd import` on it with `args`.
    pub(crate) fn import(&self, csv: &[u8], args: &[&str]) -> Output {
        let path = self.dir.path().join("users.csv");
        std::fs::write(&path, csv).unwrap();
        Command::new(BIN).arg("import").arg(&path).args(args).args(["--database", &self.url]).output().unwrap()
    }

    pub(crate) async fn user(&self, user_name: &str) -> Option<Value> {
        let found = self.store.users_by_name(self.tenant, &[user_name.to_owned()]).await.unwrap();
        let id = &found.first()?.id;
        let load = Load { groups: true, ..Load::default() };
        let stored = self.store.fetch(self.tenant, ResourceKind::User, id, load).await.unwrap();
        let mut doc = stored.doc;
        doc["id"] = json!(stored.id);
        doc["version"] = json!(stored.version);
        doc["groups"] = json!(stored.groups.unwrap_or_default().iter().map(|g| g.id.clone()).collect::<Vec<_>>());
        Some(doc)
    }

    pub(crate) async fn user_count(&self) -> usize {
        self.store.list_tenants().await.unwrap().iter().find(|t| t.id == self.tenant).unwrap().users as usize
    }
}

/// The report's rows as maps from column to cell.
pub(crate) fn report(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), ["row", "userName", "status", "id", "detail"]);
    reader
        .records()
        .map(|r| headers.iter().map(String::from).zip(r.unwrap().iter().map(String::from)).collect())
        .collect()
}

pub(crate) fn succeeded(out: &Output) -> (String, String) {
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    (String::from_utf8(out.stdout.clone()).unwrap(), stderr)
}

#[test]
fn import_help_names_the_columns_the_report_and_the_exit_status() {
    let out = Command::new(BIN).args(["import", "--help"]).output().unwrap();

    let help = String::from_utf8(out.stdout).unwrap();
    for expected in ["ZIP or Postal Code", "--dry-run", "--report <FILE>", "--tenant", "Exit status: 0", "refused"] {
        assert!(help.contains(expected), "{expected:?} missing from:\n{help}");
    }
}

const FILE: &str = "User Name,First Name,Department\nann@contoso.com,Ann,Sales\nbad@contoso.com,,\"x\",extra\n";

pub(crate) async fn post_import(
    app: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    accept: &str,
    body: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/Admin/Import{query}")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .header("accept", accept)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

behaviour! {
    async fn import_reads_bom_quoted_cells_any_header_case_and_missing_columns(app: TestApp) {
        let cli = Cli::new(&app).await;
        let csv = "\u{feff} first NAME ,USER NAME,Address,  city,Department,Office Number,Mobile Phone\n\
                   Ann,ann@contoso.com,\"1 Main St, Suite 2\nBuilding \"\"B\"\"\",Delft,Sales,B-101,06 1234 5678\n\
                   Bob,bob@contoso.com,,,,,\n";

        let out = cli.import(csv.as_bytes(), &[]);

        let (stdout, stderr) = succeeded(&out);
        let rows = report(&stdout);
        assert_eq!(rows.len(), 2, "{stdout}");
        assert_eq!((rows[0]["row"].as_str(), rows[0]["status"].as_str()), ("2", "created"));
        assert_eq!((rows[1]["row"].as_str(), rows[1]["status"].as_str()), ("4", "created"), "the physical line");
        assert!(stderr.contains("2 created, 0 updated, 0 unchanged, 0 refused in"), "{stderr}");
        let ann = cli.user("ANN@contoso.com").await.expect("ann imported");
        assert_eq!(rows[0]["id"], ann["id"].as_str().unwrap());
        assert_eq!(ann["name"], json!({"givenName": "Ann"}));
        assert_eq!(
            ann["addresses"],
            json!([{"streetAddress": "1 Main St, Suite 2\nBuilding \"B\"", "locality": "Delft", "type": "work"}])
        );
        assert_eq!(ann["phoneNumbers"], json!([{"type": "mobile", "value": "06 1234 5678"}]));
        assert_eq!(ann[ENTERPRISE]["department"], "Sales");
        assert_eq!(ann[DIRECTORY]["officeLocation"], "B-101");
        let bob = cli.user("bob@contoso.com").await.expect("bob imported");
        assert_eq!(bob.get("addresses"), None, "empty cells are not given");
        assert_eq!(bob.get(ENTERPRISE), None);
    }

    async fn a_file_without_a_user_name_column_is_refused_whole_in_one_line(app: TestApp) {
        let cli = Cli::new(&app).await;

        let out = cli.import(b"First Name,Last Name\nAnn,Smith\n", &[]);

        assert!(!out.status.success());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("no \"User Name\" column"), "{stderr}");
        assert!(stderr.contains("\"Country or Region\""), "lists the accepted columns: {stderr}");
        assert!(out.stdout.is_empty());
        assert_eq!(cli.user_count().await, 0);
    }

    async fn a_file_with_an_unknown_column_is_refused_naming_it_and_leaves_no_report(app: TestApp) {
        let cli = Cli::new(&app).await;
        let report_path = cli.dir.path().join("report.csv");

        let out = cli.import(b"User Name,Shoe Size\nann@contoso.com,38\n", &["--report", report_path.to_str().unwrap()]);

        assert!(!out.status.success());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("unknown column \"Shoe Size\""), "{stderr}");
        assert_eq!(cli.user_count().await, 0);
        assert!(!report_path.exists());
    }

    async fn bad_rows_are_refused_with_their_reason_and_the_good_ones_imported(app: TestApp) {
        let cli = Cli::new(&app).await;
        let mut csv = b"User Name,Last Name,Alternate email address\n".to_vec();
        csv.extend_from_slice(b"good1@contoso.com,One,one@home.example\n");
        csv.extend_from_slice(b"extra@contoso.com,Extra,x@home.example,surplus\n");
        csv.extend_from_slice(b"badmail@contoso.com,Mail,not an address\n");
        csv.extend_from_slice(b"latin1@contoso.com,M\xfcller,\n");
        csv.extend_from_slice(b",Nameless,\n");
        csv.extend_from_slice(b"good2@contoso.com,Two,\n");

        let out = cli.import(&csv, &[]);

        let (stdout, stderr) = succeeded(&out);
        let rows = report(&stdout);
        let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
        assert_eq!(status, ["created", "refused", "refused", "refused", "refused", "created"], "{stdout}");
        assert!(rows[1]["detail"].contains("4 cells but the header has 3 columns"), "{stdout}");
        assert_eq!(rows[1]["userName"], "extra@contoso.com");
        assert!(rows[2]["detail"].contains("\"not an address\" is not an email address"), "{stdout}");
        assert!(rows[3]["detail"].contains("not valid UTF-8"), "{stdout}");
        assert!(rows[4]["detail"].contains("\"User Name\" cell is empty"), "{stdout}");
        assert!(rows[1..5].iter().all(|r| r["id"].is_empty()));
        assert!(stderr.contains("2 created, 0 updated, 0 unchanged, 4 refused"), "{stderr}");
        assert_eq!(cli.user_count().await, 2, "no half-written user");
        assert!(cli.user("badmail@contoso.com").await.is_none());
        assert_eq!(
            cli.user("good1@contoso.com").await.unwrap()[DIRECTORY]["alternateEmails"][0]["value"],
            "one@home.example"
        );
    }

    async fn a_rerun_updates_every_user_and_keeps_what_the_file_does_not_give(app: TestApp) {
        let cli = Cli::new(&app).await;
        let first = "User Name,First Name,Job Title,Office Phone,City\n\
                     ann@contoso.com,Ann,Clerk,+31 15 000 0001,Delft\n\
                     bob@contoso.com,Bob,Clerk,,\n";
        let (stdout, _) = succeeded(&cli.import(first.as_bytes(), &[]));
        let ann_id = report(&stdout)[0]["id"].clone();
        // By hand, between the imports: a group membership, a nickName and a home phone.
        let group = NewResource {
            id: "g1".into(),
            kind: ResourceKind::Group,
            doc: json!({"displayName": "Clerks"}),
            password_hash: None,
            members: vec![MemberRef::id(ann_id.clone().into())],
            name_guard: None,
            audit: crate::helpers::test_audit(),
        };
        cli.store.insert(cli.tenant, group, Load::default()).await.unwrap();
        let mut ann = cli.store.fetch(cli.tenant, ResourceKind::User, &ann_id.as_str().into(), Load::default()).await.unwrap();
        ann.doc["nickName"] = json!("Annie");
        ann.doc["phoneNumbers"].as_array_mut().unwrap().push(json!({"type": "home", "value": "+31 15 999 9999"}));
        let update =
            Update { doc: ann.doc, previous: None, password_hash: None, members: vec![], expected_version: ann.version, name_guard: None , audit: crate::helpers::test_audit()};
        cli.store.update(cli.tenant, ResourceKind::User, &ann_id.as_str().into(), update, Load::default()).await.unwrap();

        let again = "User Name,First Name,Job Title,Office Phone,City\n\
                     ANN@contoso.com,,Senior Clerk,+31 15 000 0002,\n\
                     bob@contoso.com,Bob,Clerk,,\n";
        let out = cli.import(again.as_bytes(), &[]);

        let (stdout, stderr) = succeeded(&out);
        let rows = report(&stdout);
        // Ann's row changes her; Bob's gives what he has, so nothing is written for him.
        assert_eq!((rows[0]["status"].as_str(), rows[1]["status"].as_str()), ("updated", "unchanged"), "{stdout}");
        assert_eq!(rows[0]["id"], ann_id);
        assert!(stderr.contains("0 created, 1 updated, 1 unchanged, 0 refused"), "{stderr}");
        assert_eq!(cli.user_count().await, 2);
        let ann = cli.user("ann@contoso.com").await.unwrap();
        assert_eq!(ann["title"], "Senior Clerk");
        assert_eq!(ann["name"]["givenName"], "Ann", "an empty cell keeps the value");
        assert_eq!(ann["addresses"][0]["locality"], "Delft");
        assert_eq!(ann["userName"], "ann@contoso.com", "the name only finds the user");
        assert_eq!(ann["nickName"], "Annie");
        assert_eq!(
            ann["phoneNumbers"],
            json!([{"type": "work", "value": "+31 15 000 0002"}, {"type": "home", "value": "+31 15 999 9999"}])
        );
        assert_eq!(ann["groups"], json!(["g1"]));
        let bob = cli.user("bob@contoso.com").await.unwrap();
        assert_eq!(bob["version"], 1, "a row that changes nothing writes nothing");
    }

    async fn the_same_user_name_twice_is_created_then_updated(app: TestApp) {
        let cli = Cli::new(&app).await;
        let csv = "User Name,First Name,Last Name\nann@contoso.com,Ann,\nother@contoso.com,O,\nAnn@Contoso.com,,Smith\n";

        let (stdout, _) = succeeded(&cli.import(csv.as_bytes(), &[]));

        let rows = report(&stdout);
        assert_eq!(rows[0]["status"], "created");
        assert_eq!(rows[2]["status"], "updated");
        assert_eq!(rows[0]["id"], rows[2]["id"]);
        let ann = cli.user("ann@contoso.com").await.unwrap();
        assert_eq!(ann["name"], json!({"givenName": "Ann", "familyName": "Smith"}));
        assert_eq!(cli.user_count().await, 2);
    }

    async fn a_synchronized_user_is_refused_with_the_services_detail(app: TestApp) {
        let cli = Cli::new(&app).await;
        let synced = NewResource {
            id: "s1".into(),
            kind: ResourceKind::User,
            doc: json!({"userName": "onprem@contoso.com", DIRECTORY: {"onPremisesSyncEnabled": true}}),
            password_hash: None,
            members: vec![],
            name_guard: None,
            audit: crate::helpers::test_audit(),
        };
        cli.store.insert(cli.tenant, synced, Load::default()).await.unwrap();

        let (stdout, stderr) = succeeded(&cli.import(b"User Name,Job Title\nonprem@contoso.com,Boss\n", &[]));

        let rows = report(&stdout);
        assert_eq!((rows[0]["status"].as_str(), rows[0]["id"].as_str()), ("refused", "s1"));
        assert!(rows[0]["detail"].contains("on-premises directory"), "{stdout}");
        assert!(stderr.contains("0 created, 0 updated, 0 unchanged, 1 refused"));
        assert_eq!(cli.user("onprem@contoso.com").await.unwrap().get("title"), None);
    }

    async fn the_initial_domain_rule_holds_between_rows_of_one_file_also_in_a_dry_run(app: TestApp) {
        let cli = Cli::new(&app).await;
        cli.store.add_domain(cli.tenant, "contoso.com", false, &crate::helpers::test_actor()).await.unwrap();
        cli.store.add_domain(cli.tenant, "contoso.onmicrosoft.com", true, &crate::helpers::test_actor()).await.unwrap();
        let csv = "User Name\ngeoff@contoso.com\ngeoff@contoso.onmicrosoft.com\n\
                   ann@contoso.onmicrosoft.com\nann@contoso.com\nbob@fabrikam.com\n";

        let dry = cli.import(csv.as_bytes(), &["--dry-run"]);
        let real = cli.import(csv.as_bytes(), &[]);

        for out in [dry, real] {
            let (stdout, _) = succeeded(&out);
            let rows = report(&stdout);
            let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
            assert_eq!(status, ["created", "refused", "created", "created", "refused"], "{stdout}");
            assert!(rows[1]["detail"].contains("a name on the initial domain must be created first"), "{stdout}");
            assert!(rows[4]["detail"].contains("not in a verified domain"), "{stdout}");
        }
        assert_eq!(cli.user_count().await, 3);
    }

    async fn a_dry_run_reports_what_would_happen_and_writes_nothing(app: TestApp) {
        let cli = Cli::new(&app).await;
        succeeded(&cli.import(b"User Name,Job Title\nold@contoso.com,Clerk\n", &[]));
        let before = cli.user("old@contoso.com").await.unwrap();
        let csv = "User Name,Job Title,Alternate email address\n\
                   old@contoso.com,Boss,\nnew@contoso.com,Clerk,\nnew@contoso.com,Boss,\nbad@contoso.com,,nope\n";

        let out = cli.import(csv.as_bytes(), &["--dry-run"]);

        let (stdout, stderr) = succeeded(&out);
        let rows = report(&stdout);
        let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
        assert_eq!(status, ["updated", "created", "updated", "refused"], "{stdout}");
        assert_eq!(rows[0]["id"], before["id"].as_str().unwrap());
        assert_eq!(rows[1]["id"], "", "a user that was not created has no id");
        assert!(rows[3]["detail"].contains("not an email address"));
        assert!(stderr.contains("dry run, nothing written: 1 created, 2 updated, 0 unchanged, 1 refused"), "{stderr}");
        assert!(stderr.contains("checked 4 rows"), "{stderr}");
        assert_eq!(cli.user_count().await, 1);
        assert_eq!(cli.user("old@contoso.com").await.unwrap(), before);
    }

    async fn the_report_goes_to_the_report_file_and_only_the_summary_to_stderr(app: TestApp) {
        let cli = Cli::new(&app).await;
        let path = cli.dir.path().join("out").with_extension("csv");

        let out = cli.import(b"User Name\nann@contoso.com\n", &["--report", path.to_str().unwrap()]);

        let (stdout, stderr) = succeeded(&out);
        assert!(stdout.is_empty(), "{stdout}");
        let rows = report(&std::fs::read_to_string(&path).unwrap());
        assert_eq!(rows[0]["status"], "created");
        assert!(stderr.lines().last().unwrap().starts_with("1 created, 0 updated, 0 unchanged, 0 refused in"), "{stderr}");
    }

    async fn without_a_terminal_progress_is_a_plain_line_every_10000_rows_and_at_the_end(app: TestApp) {
        let cli = Cli::new(&app).await;
        let mut csv = String::from("User Name\n");
        for i in 0..10_500 {
            csv.push_str(&format!("user{i}@contoso.com\n"));
        }

        let out = cli.import(csv.as_bytes(), &[]);

        let (_, stderr) = succeeded(&out);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 3, "{stderr}");
        assert!(lines[0].starts_with("imported 10000 rows ("), "{stderr}");
        assert_eq!(lines[1], "imported 10500 rows, done");
        assert!(lines[2].starts_with("10500 created, 0 updated, 0 unchanged, 0 refused in"), "{stderr}");
        assert_eq!(cli.user_count().await, 10_500);
    }

    async fn an_unknown_tenant_or_a_missing_file_fails_with_one_line(app: TestApp) {
        let cli = Cli::new(&app).await;

        let unknown = cli.import(b"User Name\nann@contoso.com\n", &["--tenant", "fabrikam"]);
        let missing =
            Command::new(BIN).args(["import", "/nonexistent/users.csv", "--database", &cli.url]).output().unwrap();

        for (out, expected) in [(unknown, "no tenant called \"fabrikam\""), (missing, "cannot read /nonexistent/users.csv")]
        {
            assert!(!out.status.success());
            let stderr = String::from_utf8(out.stderr).unwrap();
            assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
            assert!(stderr.contains(expected), "{stderr}");
        }
        assert_eq!(cli.user_count().await, 0);
    }

    async fn a_cell_over_the_attribute_size_limit_refuses_its_row_as_the_api_refuses_the_value(app: TestApp) {
        let long = "x".repeat(scimd::scim::resource::MAX_STRING_BYTES + 1);
        let file = format!("User Name,Job Title\nbig@contoso.com,{long}\nsmall@contoso.com,Clerk\n");

        let body: Value = post_import(&app, &app.token, "", "text/csv", "application/json", &file).await.json().await.unwrap();

        assert_eq!((body["created"].clone(), body["refused"].clone()), (json!(1), json!(1)), "{}", body["rows"]);
        assert_eq!(body["rows"][0]["status"], "refused");
        assert!(body["rows"][0]["detail"].as_str().unwrap().contains("the limit is 65536 bytes"), "{}", body["rows"][0]);
        let api = app.post("/Users", json!({"schemas": [crate::helpers::USER], "userName": "api@contoso.com", "title": long})).await;
        let err = crate::helpers::scim_error(api, 400).await;
        assert_eq!(err["scimType"], "invalidValue");
        assert!(err["detail"].as_str().unwrap().contains("title is 65537 bytes long"), "{err}");
    }

    async fn a_row_with_a_nul_is_refused_alone_and_the_import_goes_on(app: TestApp) {
        // 510 good rows, one holding a NUL, then 5 more: the bad row spans a chunk boundary's
        // neighbourhood, and every other row must land.
        let mut file = String::from("User Name,Job Title\n");
        for i in 0..510 {
            file.push_str(&format!("good{i}@contoso.com,Clerk\n"));
        }
        file.push_str("nul@contoso.com,a\u{0}b\n");
        for i in 0..5 {
            file.push_str(&format!("after{i}@contoso.com,Clerk\n"));
        }

        let body: Value = post_import(&app, &app.token, "", "text/csv", "application/json", &file).await.json().await.unwrap();

        assert_eq!((body["created"].clone(), body["refused"].clone()), (json!(515), json!(1)));
        let refused = body["rows"].as_array().unwrap().iter().find(|r| r["status"] == "refused").unwrap();
        assert_eq!(refused["userName"], "nul@contoso.com");
        assert!(refused["detail"].as_str().unwrap().contains("control character U+0000"), "{refused}");
    }

    async fn imported_users_are_active_and_a_token_with_sync_too_imports_as_the_administrator(app: TestApp) {
        use scimd::store::Scope;
        let both = app.token_for("default", &[Scope::Admin, Scope::Sync]).await;
        let synced = app
            .send_as(&both, reqwest::Method::POST, "/Users", Some(json!({"schemas": [crate::helpers::USER], "userName": "synced@contoso.com"})))
            .await;
        assert_eq!(synced.status(), StatusCode::CREATED);
        let file = "User Name,Job Title\nfresh@contoso.com,Clerk\nsynced@contoso.com,Boss\n";

        let body: Value = post_import(&app, &both, "", "text/csv", "application/json", file).await.json().await.unwrap();

        assert_eq!((body["created"].clone(), body["refused"].clone()), (json!(1), json!(1)), "{}", body["rows"]);
        assert!(body["rows"][1]["detail"].as_str().unwrap().contains("on-premises directory"), "{}", body["rows"][1]);
        let id = body["rows"][0]["id"].as_str().unwrap();
        let user: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
        assert_eq!(user["active"], true, "imported users can sign in");
        assert!(user["urn:scimd:schemas:extension:directory:2.0:User"]["onPremisesSyncEnabled"].is_null(), "{user}");
        let active: Value = app.get("/Users?filter=active%20eq%20true&count=0").await.json().await.unwrap();
        assert_eq!(active["totalResults"], 1);
    }

    async fn admin_import_answers_a_json_report_and_creates_the_users(app: TestApp) {
        let res = post_import(&app, &app.token, "", "text/csv", "application/scim+json", FILE).await;

        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["schemas"], json!(["urn:scimd:api:messages:2.0:ImportReport"]));
        assert_eq!((body["created"].clone(), body["updated"].clone(), body["refused"].clone()), (json!(1), json!(0), json!(1)));
        assert_eq!(body["rows"][0]["row"], 2);
        assert_eq!(body["rows"][0]["status"], "created");
        assert!(body["rows"][1]["detail"].as_str().unwrap().contains("4 cells"));
        let id = body["rows"][0]["id"].as_str().unwrap();
        let user: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
        assert_eq!(user[ENTERPRISE]["department"], "Sales");
        let tenant = app.store.find_tenant("default").await.unwrap().unwrap();
        let found = app.store.users_by_name(tenant, &["ANN@CONTOSO.COM".into(), "nobody@contoso.com".into()]).await.unwrap();
        let found: Vec<(String, String)> =
            found.into_iter().map(|u| (u.doc["userName"].as_str().unwrap().to_owned(), u.id.to_string())).collect();
        assert_eq!(found, [("ann@contoso.com".to_owned(), id.to_string())]);
    }

    async fn admin_import_answers_the_csv_report_to_a_client_that_accepts_csv(app: TestApp) {
        post_import(&app, &app.token, "", "text/csv", "application/json", FILE).await;

        let res = post_import(&app, &app.token, "", "text/csv; charset=utf-8", "text/csv", FILE).await;

        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let rows = report(&res.text().await.unwrap());
        // The same file again: the user already has every value, so nothing is written.
        assert_eq!((rows[0]["status"].as_str(), rows[1]["status"].as_str()), ("unchanged", "refused"));
    }

    async fn admin_import_dry_run_reports_and_writes_nothing(app: TestApp) {
        let res = post_import(&app, &app.token, "?dryRun=true", "text/csv", "application/json", FILE).await;

        let body: Value = res.json().await.unwrap();
        assert_eq!(body["dryRun"], true);
        assert_eq!(body["rows"][0]["status"], "created");
        assert_eq!(body["rows"][0].get("id"), None);
        let list: Value = app.get("/Users").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 0);
    }

    async fn admin_import_refuses_json_other_scopes_and_a_file_without_user_names(app: TestApp) {
        let json_body = post_import(&app, &app.token, "", "application/scim+json", "application/json", "{}").await;
        scim_error(json_body, 415).await;
        let writer = app.token_for("default", &[scimd::store::Scope::Write]).await;
        let forbidden = post_import(&app, &writer, "", "text/csv", "application/json", FILE).await;
        scim_error(forbidden, 403).await;
        let no_names = post_import(&app, &app.token, "", "text/csv", "application/json", "First Name\nAnn\n").await;

        let body = scim_error(no_names, 400).await;

        assert_eq!(body["scimType"], "invalidSyntax");
        assert!(body["detail"].as_str().unwrap().contains("no \"User Name\" column"));
        let list: Value = app.get("/Users").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 0);
    }
}
