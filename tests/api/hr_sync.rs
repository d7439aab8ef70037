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
}
