//! HR sync from files: `scimd import --map` of an HR export (any columns, managers, licenses),
//! run as the real binary on both stores.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::behaviour;
use crate::import::{report, succeeded, Cli, BIN, DIRECTORY, ENTERPRISE};

/// The example column map shipped in examples/.
pub(crate) const HR_MAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hr-map.json");

impl Cli {
    /// `scimd import` of an HR export through the example map, with `args`.
    fn import_hr(&self, csv: &str, args: &[&str]) -> Output {
        self.import(csv.as_bytes(), &[&["--map", HR_MAP], args].concat())
    }

    /// `scimd ARGS` over the test's database.
    pub(crate) fn scimd(&self, args: &[&str]) -> Output {
        Command::new(BIN).args(args).args(["--database", &self.url]).output().unwrap()
    }
}

behaviour! {
    async fn an_hr_export_is_read_through_the_example_map(app: TestApp) {
        let cli = Cli::new(&app).await;
        let csv = "Employee ID,Email,Preferred Name,Job Title,Salary Band\n\
                   1001,ann@contoso.com,Ann Smith,Clerk,B4\n\
                   1002,bob@contoso.com,Bob Jones,Manager,C1\n";

        let out = cli.import_hr(csv, &[]);

        let (stdout, stderr) = succeeded(&out);
        let rows = report(&stdout);
        assert_eq!(rows.iter().map(|r| r["status"].as_str()).collect::<Vec<_>>(), ["created", "created"]);
        assert!(stderr.contains("2 created, 0 updated, 0 unchanged, 0 refused"), "{stderr}");
        let ann = cli.user("ann@contoso.com").await.expect("ann imported");
        assert_eq!((ann["displayName"].as_str(), ann["title"].as_str()), (Some("Ann Smith"), Some("Clerk")));
        assert_eq!(ann[ENTERPRISE]["employeeNumber"], "1001");
        assert_eq!(ann["active"], true);
        assert!(!ann.to_string().contains("B4"), "the ignored column is dropped: {ann}");
        let unknown = cli.import_hr("Email,Shoe Size\nann@contoso.com,38\n", &[]);
        assert_eq!(unknown.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown column \"Shoe Size\""));
    }

    async fn managers_named_before_their_rows_are_set_and_licenses_take_seats(app: TestApp) {
        let cli = Cli::new(&app).await;
        let added = cli.scimd(&["license", "add", "ENTERPRISEPACK", "--seats", "2", "--tenant", "default"]);
        assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
        let csv = "Employee ID,Email,Manager ID,Country,Licenses\n\
                   1003,cem@contoso.com,1002,NL,enterprisepack\n\
                   1002,bob@contoso.com,1001,NL,ENTERPRISEPACK\n\
                   1004,dee@contoso.com,ann@contoso.com,NL,ENTERPRISEPACK\n\
                   1001,ann@contoso.com,,NL,\n";

        let out = cli.import_hr(csv, &[]);

        let (stdout, _) = succeeded(&out);
        let rows = report(&stdout);
        let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
        assert_eq!(status, ["created", "created", "refused", "created"], "{stdout}");
        assert!(rows[2]["detail"].contains("no seats left"), "the third license has no seat: {stdout}");
        let (ann, bob, cem) = (
            cli.user("ann@contoso.com").await.unwrap(),
            cli.user("bob@contoso.com").await.unwrap(),
            cli.user("cem@contoso.com").await.unwrap(),
        );
        assert_eq!(cem[ENTERPRISE]["manager"]["value"], bob["id"], "a manager whose row comes later");
        assert_eq!(bob[ENTERPRISE]["manager"]["value"], ann["id"]);
        assert_eq!(cem[DIRECTORY]["licenses"].as_array().unwrap().len(), 1);

        let again = cli.import_hr(csv, &[]);

        let rows = report(&succeeded(&again).0);
        let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
        assert_eq!(status, ["unchanged", "unchanged", "refused", "unchanged"], "the same file twice");
    }

    async fn a_files_new_users_take_their_seats_together_and_too_many_are_refused_each(app: TestApp) {
        let cli = Cli::new(&app).await;
        let added = cli.scimd(&["license", "add", "ENTERPRISEPACK", "--seats", "4", "--tenant", "default"]);
        assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
        let added = cli.scimd(&["license", "add", "EMS", "--seats", "9", "--tenant", "default"]);
        assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
        let rows = |range: std::ops::Range<u32>| {
            let mut csv = String::from("Employee ID,Email,Country,Licenses\n");
            for i in range {
                csv.push_str(&format!("{i},u{i}@contoso.com,NL,ENTERPRISEPACK;EMS\n"));
            }
            csv
        };

        let first = cli.import_hr(&rows(0..3), &[]);
        let second = cli.import_hr(&rows(3..5), &[]);

        let status = |out: &Output| -> Vec<String> {
            report(&succeeded(out).0).iter().map(|r| r["status"].clone()).collect()
        };
        assert_eq!(status(&first), ["created", "created", "created"]);
        let refused = report(&succeeded(&second).0);
        assert_eq!(refused.iter().map(|r| r["status"].as_str()).collect::<Vec<_>>(), ["created", "refused"]);
        assert!(refused[1]["detail"].contains("no seats left"), "{refused:?}");
        let licenses: Value = app.get("/Licenses?sortBy=partNumber").await.json().await.unwrap();
        let consumed: Vec<(&str, i64)> = licenses["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["partNumber"].as_str().unwrap(), l["consumed"].as_i64().unwrap()))
            .collect();
        assert_eq!(consumed, [("EMS", 4), ("ENTERPRISEPACK", 4)], "a seat for each user created, no more");
        for i in 0..4 {
            let user = cli.user(&format!("u{i}@contoso.com")).await.unwrap();
            assert_eq!(user[DIRECTORY]["licenses"].as_array().unwrap().len(), 2, "{user}");
        }
        assert!(cli.user("u4@contoso.com").await.is_none());
    }

    async fn a_sync_deactivates_leavers_reactivates_a_returner_and_leaves_other_users_alone(app: TestApp) {
        let cli = Cli::new(&app).await;
        let first = staff(0..10);
        assert_eq!(cli.import_hr(&first, &["--mode", "sync", "--source", "hr"]).status.code(), Some(0));
        let other = cli.import_hr(&staff(20..22), &["--mode", "sync", "--source", "payroll"]);
        assert_eq!(other.status.code(), Some(0));
        let by_scim = app.create_user("scim@contoso.com").await;
        // Night two: 7, 8 and 9 left. Night three: 7 comes back.
        let second = staff(0..7);
        let valve = ["--mode", "sync", "--source", "hr", "--max-deactivate", "3"];

        let out = cli.import_hr(&second, &valve);

        let (stdout, stderr) = succeeded(&out);
        let rows = report(&stdout);
        let left: Vec<&str> =
            rows.iter().filter(|r| r["status"] == "deactivated").map(|r| r["userName"].as_str()).collect();
        assert_eq!(left, ["u7@contoso.com", "u8@contoso.com", "u9@contoso.com"], "{stdout}");
        assert!(rows.iter().filter(|r| r["status"] != "deactivated").all(|r| r["status"] == "unchanged"), "{stdout}");
        assert!(stderr.contains("0 created, 0 updated, 7 unchanged, 3 deactivated, 0 reactivated, 0 refused"), "{stderr}");
        assert_eq!(cli.user("u8@contoso.com").await.expect("never deleted")["active"], false);
        assert_eq!(cli.user("u20@contoso.com").await.unwrap()["active"], true, "another source's user");
        assert_ne!(cli.user("scim@contoso.com").await.unwrap()["active"], false, "a user created over SCIM");
        assert_eq!(cli.user("scim@contoso.com").await.unwrap()["id"], by_scim["id"]);

        let third = cli.import_hr(&staff(0..8), &valve);

        let rows = report(&succeeded(&third).0);
        assert_eq!(rows[7]["status"], "reactivated", "{rows:?}");
        assert_eq!(cli.user("u7@contoso.com").await.unwrap()["active"], true);
        assert_eq!(cli.user("u8@contoso.com").await.unwrap()["active"], false);
        assert_eq!(cli.user("u7@contoso.com").await.unwrap()[DIRECTORY]["importSource"], "hr");
    }

    async fn a_sync_skips_rows_it_already_applied_but_not_users_changed_since(app: TestApp) {
        let cli = Cli::new(&app).await;
        let sync = ["--mode", "sync", "--source", "hr"];
        assert_eq!(cli.import_hr(&staff(0..10), &sync).status.code(), Some(0));
        // Every user holds what the sync applied, and the store knows it.
        let names: Vec<String> = (0..10).map(|n| format!("u{n}@contoso.com")).collect();
        let tenant = app.store.ensure_tenant("default").await.unwrap();
        let users = app.store.users_by_name(tenant, &names).await.unwrap();
        let seqs: Vec<i64> = users.iter().map(|u| u.seq).collect();
        let prints = app.store.fingerprints(tenant, "hr", &seqs).await.unwrap();
        assert_eq!(prints.len(), 10, "{prints:?}");
        assert!(users.iter().all(|u| prints.iter().any(|p| p.seq == u.seq && p.version == u.version)));
        assert!(app.store.fingerprints(tenant, "payroll", &seqs).await.unwrap().is_empty(), "another source's");

        // Other clients change two of them.
        let u3 = cli.user("u3@contoso.com").await.unwrap();
        let u4 = cli.user("u4@contoso.com").await.unwrap();
        for (user, op) in [
            (&u3, json!({"op": "replace", "path": "name.familyName", "value": "Renamed"})),
            (&u4, json!({"op": "replace", "path": "active", "value": false})),
        ] {
            let path = format!("/Users/{}", user["id"].as_str().unwrap());
            let res = app.patch(&path, json!({"schemas": [crate::helpers::PATCH_OP], "Operations": [op]})).await;
            assert_eq!(res.status(), 200);
        }

        let again = cli.import_hr(&staff(0..10), &sync);

        let rows = report(&succeeded(&again).0);
        let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
        let mut expected = vec!["unchanged"; 10];
        expected[3] = "updated";
        expected[4] = "reactivated";
        assert_eq!(status, expected, "{rows:?}");
        assert_eq!(cli.user("u3@contoso.com").await.unwrap()["name"]["familyName"], "Number 3");
        assert_eq!(cli.user("u4@contoso.com").await.unwrap()["active"], true);

        // A changed row is applied even to a user the sync skipped before.
        let mut changed = staff(0..10);
        changed = changed.replace("5,u5@contoso.com,User,Number 5", "5,u5@contoso.com,User,Fifth");
        let rows = report(&succeeded(&cli.import_hr(&changed, &sync)).0);
        assert_eq!(rows[5]["status"], "updated", "{rows:?}");
        assert!(rows.iter().enumerate().all(|(i, r)| i == 5 || r["status"] == "unchanged"), "{rows:?}");
        assert_eq!(cli.user("u5@contoso.com").await.unwrap()["name"]["familyName"], "Fifth");
        // The same file once more: nothing left to do.
        let rows = report(&succeeded(&cli.import_hr(&changed, &sync)).0);
        assert!(rows.iter().all(|r| r["status"] == "unchanged"), "{rows:?}");
    }

    async fn a_truncated_file_is_stopped_by_the_valve_with_nothing_written(app: TestApp) {
        let cli = Cli::new(&app).await;
        assert_eq!(cli.import_hr(&staff(0..20), &["--mode", "sync", "--source", "hr"]).status.code(), Some(0));
        let mut truncated = staff(0..5);
        truncated.push_str("9999,new@contoso.com,New,Hire\n");
        let before = cli.user("u0@contoso.com").await.unwrap()["version"].clone();

        let out = cli.import_hr(&truncated, &["--mode", "sync", "--source", "hr"]);

        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("would deactivate 15 of the 20 active users of source \"hr\""), "{stderr}");
        assert!(stderr.contains("--max-deactivate 10% allows (2)") && stderr.contains("u19@contoso.com"), "{stderr}");
        assert!(out.stdout.is_empty());
        assert!(cli.user("new@contoso.com").await.is_none(), "nothing written");
        assert_eq!(cli.user("u0@contoso.com").await.unwrap()["version"], before);
        assert_eq!(cli.user("u19@contoso.com").await.unwrap()["active"], true);

        let plan = cli.import_hr(&truncated, &["--mode", "sync", "--source", "hr", "--max-deactivate", "100%", "--dry-run"]);

        let (stdout, stderr) = succeeded(&plan);
        let rows = report(&stdout);
        assert_eq!(rows.iter().filter(|r| r["status"] == "deactivated").count(), 15, "{stdout}");
        assert_eq!(rows[5]["status"], "created");
        assert!(stderr.contains("dry run, nothing written: 1 created, 0 updated, 5 unchanged, 15 deactivated"), "{stderr}");
        assert_eq!(cli.user("u19@contoso.com").await.unwrap()["active"], true);
        assert!(cli.user("new@contoso.com").await.is_none());
    }

    async fn a_sync_exits_0_when_clean_3_when_rows_are_refused_and_1_when_the_file_is_refused(app: TestApp) {
        let cli = Cli::new(&app).await;
        let sync = ["--mode", "sync", "--source", "hr"];

        let clean = cli.import_hr(&staff(0..2), &sync);
        let some_refused = cli.import_hr("Employee ID,Email,Active\n1,u0@contoso.com,yes\n2,u1@contoso.com,maybe\n", &sync);
        let refused = cli.import_hr("Employee ID,Shoe Size\n1,38\n", &sync);
        let no_source = cli.import_hr(&staff(0..2), &["--mode", "sync"]);

        assert_eq!(clean.status.code(), Some(0));
        assert_eq!(some_refused.status.code(), Some(3), "{}", String::from_utf8_lossy(&some_refused.stderr));
        assert_eq!(report(&String::from_utf8(some_refused.stdout).unwrap())[1]["status"], "refused");
        assert_eq!(cli.user("u1@contoso.com").await.unwrap()["active"], true, "a refused row is not a leaver");
        assert_eq!(refused.status.code(), Some(1));
        assert_eq!(no_source.status.code(), Some(2));
    }

    async fn a_second_run_of_one_source_exits_1_while_the_first_holds_the_lock(app: TestApp) {
        let cli = Cli::new(&app).await;
        let name = format!("import:{}:hr", cli.tenant);
        let far = 4_102_444_800_000; // 2100
        assert!(cli.store.try_lock(&name, "a run on another machine", 0, far).await.unwrap());
        let sync = ["--mode", "sync", "--source", "hr"];

        let second = cli.import_hr(&staff(0..3), &sync);

        assert_eq!(second.status.code(), Some(1));
        let stderr = String::from_utf8(second.stderr).unwrap();
        assert!(stderr.contains("another sync of source \"hr\" is running"), "{stderr}");
        assert_eq!(cli.user_count().await, 0, "nothing written");
        let other_source = cli.import_hr(&staff(5..6), &["--mode", "sync", "--source", "payroll"]);
        assert_eq!(other_source.status.code(), Some(0), "other sources are not blocked");

        // The first run was killed: its lock expired long ago.
        cli.store.unlock(&name, "a run on another machine").await.unwrap();
        assert!(cli.store.try_lock(&name, "a killed run", 0, 1).await.unwrap());

        let after = cli.import_hr(&staff(0..3), &sync);

        assert_eq!(after.status.code(), Some(0), "{}", String::from_utf8_lossy(&after.stderr));
        assert!(cli.user("u2@contoso.com").await.is_some());
        assert!(cli.store.try_lock(&name, "the next run", 2, 3).await.unwrap(), "the run freed its lock");
    }

    async fn a_25_column_export_fills_every_mapped_attribute_with_managers_named_before_their_rows(app: TestApp) {
        let cli = Cli::new(&app).await;
        let added = cli.scimd(&["license", "add", "ENTERPRISEPACK", "--seats", "10", "--tenant", "default"]);
        let (license, _) = succeeded(&added);
        let license = license.trim().to_owned();
        // Every header the example map knows, 20 mapped and 5 ignored, in an order of the HR
        // system's own; the managers' rows come after their reports'.
        let csv = "Work Location Code,Email,Employee ID,Salary Band,Person ID,First Name,Middle Name,Last Name,\
                   Preferred Name,Job Title,Date of Birth,Cost Center,Company,Division,Department,Manager ID,\
                   Country,Licenses,Hire Date,Active,Work Phone,Mobile Phone,Employment Type,Language,Office\n\
                   AMS-01,cem@contoso.com,1003,B2,P-3,Cem,Can,Yilmaz,Cem Yilmaz,Analyst,1990-01-02,CC-7,\"Contoso, Ltd.\",\
                   Retail,Finance,1001,NL,ENTERPRISEPACK,2020-03-01,true,+31 20 555 0103,+31 6 5550 0103,Permanent,nl-NL,\
                   Amsterdam 4.12\n\
                   AMS-01,dee@contoso.com,1002,B2,P-2,Dee,,Dekker,Dee Dekker,Analyst,1991-02-03,CC-7,\"Contoso, Ltd.\",\
                   Retail,Finance,bob@contoso.com,NL,,2021-04-01,no,,,Contractor,en-GB,\n\
                   AMS-01,bob@contoso.com,1001,C1,P-1,Bob,,Bakker,Bob Bakker,Manager,1980-05-06,CC-7,\"Contoso, Ltd.\",\
                   Retail,Finance,1000,NL,ENTERPRISEPACK,2015-01-01,yes,+31 20 555 0101,,Permanent,nl-NL,Amsterdam 4.01\n\
                   AMS-00,ann@contoso.com,1000,E1,P-0,Ann,,Smith,Ann Smith,Director,1970-07-08,CC-1,\"Contoso, Ltd.\",\
                   Board,Management,,NL,ENTERPRISEPACK,2010-01-01,1,,,Permanent,en-US,Amsterdam 5.01\n";
        assert_eq!(csv.lines().next().unwrap().split(',').count(), 25);

        let out = cli.import_hr(csv, &["--mode", "sync", "--source", "hr"]);

        let (stdout, stderr) = succeeded(&out);
        let status: Vec<String> = report(&stdout).iter().map(|r| r["status"].clone()).collect();
        assert_eq!(status, ["created"; 4], "{stdout}");
        assert!(stderr.contains("4 created, 0 updated, 0 unchanged, 0 deactivated, 0 reactivated, 0 refused"), "{stderr}");
        let (ann, bob, cem, dee) = (
            cli.user("ann@contoso.com").await.unwrap(),
            cli.user("bob@contoso.com").await.unwrap(),
            cli.user("cem@contoso.com").await.unwrap(),
            cli.user("dee@contoso.com").await.unwrap(),
        );
        assert_eq!(cem["externalId"], "P-3");
        assert_eq!(cem["name"], json!({"givenName": "Cem", "middleName": "Can", "familyName": "Yilmaz"}));
        assert_eq!((cem["displayName"].as_str(), cem["title"].as_str()), (Some("Cem Yilmaz"), Some("Analyst")));
        assert_eq!(cem["preferredLanguage"], "nl-NL");
        assert_eq!(cem["active"], true);
        let phones: Vec<(&str, &str)> = cem["phoneNumbers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["type"].as_str().unwrap(), p["value"].as_str().unwrap()))
            .collect();
        assert_eq!(phones, [("work", "+31 20 555 0103"), ("mobile", "+31 6 5550 0103")]);
        let e = &cem[ENTERPRISE];
        assert_eq!(
            (&e["employeeNumber"], &e["costCenter"], &e["organization"], &e["division"], &e["department"]),
            (&json!("1003"), &json!("CC-7"), &json!("Contoso, Ltd."), &json!("Retail"), &json!("Finance"))
        );
        assert_eq!(e["manager"]["value"], bob["id"], "a manager by employee number, whose row comes later");
        assert_eq!(dee[ENTERPRISE]["manager"]["value"], bob["id"], "a manager by userName, whose row comes later");
        assert_eq!(bob[ENTERPRISE]["manager"]["value"], ann["id"]);
        assert!(ann[ENTERPRISE].get("manager").is_none());
        let d = &cem[DIRECTORY];
        assert_eq!((&d["usageLocation"], &d["officeLocation"]), (&json!("NL"), &json!("Amsterdam 4.12")));
        assert_eq!(d["licenses"].as_array().unwrap().iter().map(|l| &l["value"]).collect::<Vec<_>>(), [&json!(license)]);
        assert_eq!(d["importSource"], "hr");
        assert_eq!(dee["active"], false, "Active \"no\"");
        assert!(dee[DIRECTORY].get("licenses").is_none());
        assert!(dee.get("phoneNumbers").is_none(), "empty cells give nothing");
        for user in [&ann, &bob, &cem, &dee] {
            let text = user.to_string();
            for ignored in ["AMS-0", "B2", "1990-01-02", "2020-03-01", "Permanent", "Contractor"] {
                assert!(!text.contains(ignored), "{ignored} is in an ignored column: {text}");
            }
        }

        let again = cli.import_hr(csv, &["--mode", "sync", "--source", "hr"]);

        let status: Vec<String> = report(&succeeded(&again).0).iter().map(|r| r["status"].clone()).collect();
        assert_eq!(status, ["unchanged"; 4], "the same file again writes nothing");
        assert_eq!(cli.user("cem@contoso.com").await.unwrap()["version"], cem["version"]);
    }

    async fn a_sync_killed_mid_run_is_finished_by_running_the_same_file_again(app: TestApp) {
        let cli = Cli::new(&app).await;
        const ROWS: u32 = 5000;
        let path = cli.dir.path().join("night.csv");
        std::fs::write(&path, staff(0..ROWS)).unwrap();
        let path = path.to_str().unwrap();
        let sync = ["import", path, "--map", HR_MAP, "--mode", "sync", "--source", "hr", "--report", "/dev/null"];
        let mut child = Command::new(BIN)
            .args(sync)
            .args(["--database", &cli.url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Killed once some chunks are in, long before the last.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = 0;
        while seen == 0 {
            assert!(Instant::now() < deadline, "no user was imported within a minute");
            assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
            tokio::time::sleep(Duration::from_millis(10)).await;
            seen = cli.user_count().await;
        }
        let killed = Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        child.wait().unwrap();
        let partial = cli.user_count().await;
        assert!(partial > 0 && partial < ROWS as usize, "killed part-way: {partial} of {ROWS}");
        let name = format!("import:{}:hr", cli.tenant);
        assert!(cli.store.lock_holder(&name).await.unwrap().is_some(), "the killed run left its lock");

        let started = Instant::now();
        let again = cli.scimd(&sync);

        let (_, stderr) = succeeded(&again);
        assert!(started.elapsed() < Duration::from_secs(120), "the lock of the killed run was taken over, not waited for");
        assert!(stderr.contains(" 0 deactivated, 0 reactivated, 0 refused"), "{stderr}");
        assert!(cli.store.lock_holder(&name).await.unwrap().is_none(), "the run freed its lock");
        // The state of one clean run: every row once, with its attributes, of source hr.
        assert_eq!(cli.user_count().await, ROWS as usize, "nothing duplicated, nothing missing");
        let mut found = std::collections::HashMap::new();
        for page in 0..ROWS.div_ceil(1000) {
            let res = app.get(&format!("/Users?startIndex={}&count=1000", page * 1000 + 1)).await;
            let body: Value = res.json().await.unwrap();
            for u in body["Resources"].as_array().unwrap() {
                let key = u["userName"].as_str().unwrap().to_owned();
                assert!(found.insert(key, u.clone()).is_none(), "{u}");
            }
        }
        assert_eq!(found.len(), ROWS as usize);
        for n in 0..ROWS {
            let u = &found[&format!("u{n}@contoso.com")];
            assert_eq!(u[ENTERPRISE]["employeeNumber"], n.to_string(), "{u}");
            assert_eq!(u["name"], json!({"givenName": "User", "familyName": format!("Number {n}")}), "{u}");
            assert_eq!((&u["active"], &u[DIRECTORY]["importSource"]), (&json!(true), &json!("hr")), "{u}");
        }
    }
}

/// An HR export of the users `u{n}@contoso.com` for `n` in `range`, employee number `n`.
pub(crate) fn staff(range: std::ops::Range<u32>) -> String {
    let mut csv = "Employee ID,Email,First Name,Last Name\n".to_owned();
    for n in range {
        csv.push_str(&format!("{n},u{n}@contoso.com,User,Number {n}\n"));
    }
    csv
}
