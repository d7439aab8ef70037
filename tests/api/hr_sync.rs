//! HR sync from files: `scimd import --map` of an HR export (any columns, managers, licenses),
//! run as the real binary on both stores.

use std::process::{Command, Output};

use crate::helpers::behaviour;
use crate::import::{report, succeeded, Cli, BIN, DIRECTORY, ENTERPRISE};

/// The example column map shipped in examples/.
const HR_MAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hr-map.json");

impl Cli {
    /// `scimd import` of an HR export through the example map, with `args`.
    fn import_hr(&self, csv: &str, args: &[&str]) -> Output {
        self.import(csv.as_bytes(), &[&["--map", HR_MAP], args].concat())
    }

    /// `scimd ARGS` over the test's database.
    fn scimd(&self, args: &[&str]) -> Output {
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
}

/// An HR export of the users `u{n}@contoso.com` for `n` in `range`, employee number `n`.
fn staff(range: std::ops::Range<u32>) -> String {
    let mut csv = "Employee ID,Email,First Name,Last Name\n".to_owned();
    for n in range {
        csv.push_str(&format!("{n},u{n}@contoso.com,User,Number {n}\n"));
    }
    csv
}
