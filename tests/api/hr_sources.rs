//! Stored HR sources: `scimd import-source add|list|remove` as the real binary, the sync over
//! HTTP (`POST /Admin/Import?mode=sync&source=NAME`), and `importSource` read-only for SCIM
//! clients, on both stores.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{behaviour, scim_error, TestApp, PATCH_OP, USER};
use crate::hr_sync::{staff, HR_MAP};
use crate::import::{post_import, report, succeeded, Cli, DIRECTORY};

impl Cli {
    /// Stores the example map as source `name` with the valve `max`.
    fn add_source(&self, name: &str, max: &str) {
        let out = self.scimd(&["import-source", "add", name, "--map", HR_MAP, "--max-deactivate", max]);
        succeeded(&out);
    }
}

/// `POST /Admin/Import` of `csv` with `query`, answered in JSON.
async fn sync(app: &TestApp, query: &str, csv: &str) -> Response {
    post_import(app, &app.token, query, "text/csv", "application/json", csv).await
}

/// The users of `body`'s report rows with `status`.
fn with_status<'a>(body: &'a Value, status: &str) -> Vec<&'a str> {
    let rows = body["rows"].as_array().unwrap();
    rows.iter().filter(|r| r["status"] == status).map(|r| r["userName"].as_str().unwrap()).collect()
}

/// `staff(range)` with the users `extra` too.
fn staff_with(range: std::ops::Range<u32>, extra: &[u32]) -> String {
    let mut csv = staff(range);
    for n in extra {
        csv.push_str(&format!("{n},u{n}@contoso.com,User,Number {n}\n"));
    }
    csv
}

behaviour! {
    async fn import_source_add_list_and_remove_through_the_binary(app: TestApp) {
        let cli = Cli::new(&app).await;
        let bad_map = cli.dir.path().join("bad.json");
        std::fs::write(&bad_map, r#"{"columns": {"Email": "userName", "Shoe Size": "shoeSize"}}"#).unwrap();
        let bad_map = bad_map.to_str().unwrap();
        assert!(cli.scimd(&["tenant", "add", "fabrikam"]).status.success());

        let added = cli.scimd(&["import-source", "add", "workday", "--map", HR_MAP]);
        let replaced = cli.scimd(&["import-source", "add", "workday", "--map", HR_MAP, "--max-deactivate", "25"]);
        let refused = cli.scimd(&["import-source", "add", "payroll", "--map", bad_map]);
        let bad_name = cli.scimd(&["import-source", "add", "work day", "--map", HR_MAP]);
        let elsewhere = cli.scimd(&["import-source", "add", "adp", "--map", HR_MAP, "--tenant", "fabrikam"]);
        let list = cli.scimd(&["import-source", "list"]);

        assert!(succeeded(&added).0.contains("added import source \"workday\" (--max-deactivate 10%)"));
        assert!(succeeded(&replaced).0.contains("replaced the map and valve of import source \"workday\""));
        assert_eq!(refused.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("bad.json") && stderr.contains("\"shoeSize\", which is not one it may name"), "{stderr}");
        assert_eq!(bad_name.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&bad_name.stderr).contains("\"work day\" is not a source name"));
        succeeded(&elsewhere);
        let (list, _) = succeeded(&list);
        let lines: Vec<Vec<&str>> = list.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(lines.len(), 1, "one source of this tenant, the refused map not stored: {list}");
        assert_eq!(&lines[0][..2], ["workday", "25"], "{list}");

        let unknown = cli.scimd(&["import-source", "remove", "payroll"]);
        let removed = cli.scimd(&["import-source", "remove", "workday"]);

        assert_eq!(unknown.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&unknown.stderr);
        assert!(stderr.contains("the tenant has no import source \"payroll\"") && stderr.contains("import-source list"), "{stderr}");
        assert!(succeeded(&removed).0.contains("removed import source \"workday\""));
        assert_eq!(succeeded(&cli.scimd(&["import-source", "list"])).0.lines().count(), 1, "only the header");
        let other = succeeded(&cli.scimd(&["import-source", "list", "--tenant", "fabrikam"])).0;
        assert!(other.contains("adp"), "{other}");
    }

    async fn a_stored_source_syncs_over_http_with_three_leavers_and_a_returner(app: TestApp) {
        let cli = Cli::new(&app).await;
        cli.add_source("hr", "3");
        let first = sync(&app, "?mode=sync&source=hr", &staff(0..10)).await;
        assert_eq!(first.status(), StatusCode::OK);
        let first: Value = first.json().await.unwrap();
        assert_eq!((first["created"].as_u64(), first["deactivated"].as_u64()), (Some(10), Some(0)), "{first}");
        let left: Value = sync(&app, "?mode=sync&source=hr", &staff(0..9)).await.json().await.unwrap();
        assert_eq!(with_status(&left, "deactivated"), ["u9@contoso.com"]);
        // Night two: 6, 7 and 8 left; 9 is back.
        let night = staff_with(0..6, &[9]);

        let res = sync(&app, "?mode=sync&source=hr", &night).await;

        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(with_status(&body, "deactivated"), ["u6@contoso.com", "u7@contoso.com", "u8@contoso.com"], "{body}");
        assert_eq!(with_status(&body, "reactivated"), ["u9@contoso.com"], "{body}");
        assert_eq!(
            (&body["deactivated"], &body["reactivated"], &body["unchanged"], &body["refused"]),
            (&json!(3), &json!(1), &json!(6), &json!(0)),
            "{body}"
        );
        for (n, active) in [(0, true), (6, false), (7, false), (8, false), (9, true)] {
            let user = cli.user(&format!("u{n}@contoso.com")).await.expect("never deleted");
            assert_eq!((&user["active"], &user[DIRECTORY]["importSource"]), (&json!(active), &json!("hr")), "u{n}");
        }

        let csv = post_import(&app, &app.token, "?mode=sync&source=hr", "text/csv", "text/csv", &night).await;

        assert_eq!(csv.status(), StatusCode::OK);
        let rows = report(&csv.text().await.unwrap());
        assert!(rows.iter().all(|r| r["status"] == "unchanged"), "the same night again, as CSV: {rows:?}");
    }

    async fn the_valve_over_http_is_409_with_nothing_written_and_max_deactivate_overrides_it_once(app: TestApp) {
        let cli = Cli::new(&app).await;
        cli.add_source("hr", "10%");
        assert_eq!(sync(&app, "?mode=sync&source=hr", &staff(0..30)).await.status(), StatusCode::OK);
        let truncated = staff_with(0..2, &[99]);
        let before = cli.user("u2@contoso.com").await.unwrap();

        let res = sync(&app, "?mode=sync&source=hr", &truncated).await;

        let body = scim_error(res, 409).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("would deactivate 28 of the 30 active users of source \"hr\""), "{detail}");
        assert!(detail.contains("--max-deactivate 10% allows (3)") && detail.contains("maxDeactivate="), "{detail}");
        assert!(detail.contains("u10@contoso.com") && detail.contains("and 8 more"), "at most 20 names: {detail}");
        assert!(cli.user("u99@contoso.com").await.is_none(), "nothing written");
        assert_eq!(cli.user("u2@contoso.com").await.unwrap()["version"], before["version"]);

        let plan = sync(&app, "?mode=sync&source=hr&maxDeactivate=100%25&dryRun=true", &truncated).await;

        assert_eq!(plan.status(), StatusCode::OK);
        let plan: Value = plan.json().await.unwrap();
        assert_eq!((&plan["dryRun"], &plan["deactivated"], &plan["created"]), (&json!(true), &json!(28), &json!(1)));
        assert!(cli.user("u99@contoso.com").await.is_none(), "a dry run writes nothing");

        let run = sync(&app, "?mode=sync&source=hr&maxDeactivate=28", &truncated).await;

        assert_eq!(run.status(), StatusCode::OK);
        assert_eq!(cli.user("u2@contoso.com").await.unwrap()["active"], false);
        let next = scim_error(sync(&app, "?mode=sync&source=hr", &staff(0..30)).await, 409).await;
        let detail = next["detail"].as_str().unwrap();
        assert!(detail.contains("deactivate 1 of the 3 active users") && detail.contains("10% allows (0)"), "{detail}");
        let back: Value = sync(&app, "?mode=sync&source=hr", &staff_with(0..30, &[99])).await.json().await.unwrap();
        assert_eq!((&back["reactivated"], &back["deactivated"]), (&json!(28), &json!(0)), "{back}");
    }

    async fn a_sync_over_http_while_another_run_holds_the_lock_is_409_and_writes_nothing(app: TestApp) {
        let cli = Cli::new(&app).await;
        cli.add_source("hr", "10%");
        let name = format!("import:{}:hr", cli.tenant);
        let far = 4_102_444_800_000; // 2100
        assert!(cli.store.try_lock(&name, "a run on another machine", 0, far).await.unwrap());

        let res = sync(&app, "?mode=sync&source=hr", &staff(0..3)).await;

        let body = scim_error(res, 409).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("another sync of source \"hr\" is running") && detail.contains("expires"), "{detail}");
        assert_eq!(cli.user_count().await, 0, "nothing written");
        let plan = sync(&app, "?mode=sync&source=hr&dryRun=true", &staff(0..3)).await;
        assert_eq!(plan.status(), StatusCode::OK, "a dry run takes no lock");
        cli.store.unlock(&name, "a run on another machine").await.unwrap();
        assert_eq!(sync(&app, "?mode=sync&source=hr", &staff(0..3)).await.status(), StatusCode::OK);
        assert_eq!(cli.user_count().await, 3);
    }

    async fn unknown_sources_modes_and_valves_are_refused_with_scim_errors_and_change_nothing(app: TestApp) {
        let cli = Cli::new(&app).await;
        cli.add_source("hr", "10%");
        let file = staff(0..2);

        let unknown = sync(&app, "?mode=sync&source=workday", &file).await;
        let no_source = sync(&app, "?mode=sync", &file).await;
        let bad_mode = sync(&app, "?mode=mirror&source=hr", &file).await;
        let bad_valve = sync(&app, "?mode=sync&source=hr&maxDeactivate=lots", &file).await;
        let valve_without_sync = sync(&app, "?source=hr&maxDeactivate=5", &file).await;
        let bad_name = sync(&app, "?mode=sync&source=work%20day", &file).await;

        let detail = |b: &Value| b["detail"].as_str().unwrap().to_owned();
        let unknown = scim_error(unknown, 404).await;
        assert!(detail(&unknown).contains("no import source \"workday\""), "{unknown}");
        assert!(detail(&unknown).contains("scimd import-source add workday --map MAP.json --tenant default"));
        for (res, says) in [
            (no_source, "mode=sync needs source=NAME"),
            (bad_mode, "mode \"mirror\" is not one scimd knows"),
            (bad_valve, "maxDeactivate: \"lots\" is not a number of users"),
            (valve_without_sync, "maxDeactivate is the valve of a sync"),
            (bad_name, "\"work day\" is not a source name"),
        ] {
            let body = scim_error(res, 400).await;
            assert_eq!(body["scimType"], "invalidValue", "{body}");
            assert!(detail(&body).contains(says), "{body}");
        }
        assert_eq!(cli.user_count().await, 0, "nothing written");
    }

    async fn mode_add_with_a_source_reads_its_map_and_deactivates_no_one(app: TestApp) {
        let cli = Cli::new(&app).await;
        cli.add_source("hr", "10%");
        assert_eq!(sync(&app, "?mode=sync&source=hr", &staff(0..4)).await.status(), StatusCode::OK);
        cli.add_source("payroll", "10%");

        let res = sync(&app, "?source=payroll", &staff_with(0..1, &[7])).await;

        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!((&body["created"], &body["unchanged"]), (&json!(1), &json!(1)), "{body}");
        assert!(body.get("deactivated").is_none(), "no sync: {body}");
        assert_eq!(cli.user("u3@contoso.com").await.unwrap()["active"], true);
        assert_eq!(cli.user("u0@contoso.com").await.unwrap()[DIRECTORY]["importSource"], "hr", "still hr's");
        let u7 = cli.user("u7@contoso.com").await.unwrap();
        assert_eq!(u7["name"]["familyName"], "Number 7", "read through the map");
        assert!(u7.get(DIRECTORY).and_then(|d| d.get("importSource")).is_none(), "no source's: {u7}");
        let template = sync(&app, "?mode=add", &staff(0..1)).await;
        let body = scim_error(template, 400).await;
        assert!(body["detail"].as_str().unwrap().contains("unknown column \"Employee ID\""), "no source: the template");
    }

    async fn import_source_is_read_only_for_scim_clients(app: TestApp) {
        let cli = Cli::new(&app).await;
        cli.add_source("hr", "100%");
        assert_eq!(sync(&app, "?mode=sync&source=hr", &staff(0..2)).await.status(), StatusCode::OK);
        let owned = cli.user("u0@contoso.com").await.unwrap();
        let id = owned["id"].as_str().unwrap().to_owned();

        let posted = app
            .post("/Users", json!({"schemas": [USER, DIRECTORY], "userName": "x@contoso.com", DIRECTORY: {"importSource": "hr"}}))
            .await;
        let put = app
            .put(&format!("/Users/{id}"), json!({"schemas": [USER], "userName": "u0@contoso.com", "displayName": "Put"}))
            .await;
        let put_other = app
            .put(
                &format!("/Users/{id}"),
                json!({"schemas": [USER, DIRECTORY], "userName": "u0@contoso.com", DIRECTORY: {"importSource": "payroll"}}),
            )
            .await;
        let patches = [
            json!({"op": "replace", "path": format!("{DIRECTORY}:importSource"), "value": "payroll"}),
            json!({"op": "remove", "path": format!("{DIRECTORY}:importSource")}),
            json!({"op": "add", "value": {DIRECTORY: {"importSource": "payroll"}}}),
        ];

        assert_eq!(posted.status(), StatusCode::CREATED);
        let posted: Value = posted.json().await.unwrap();
        assert!(posted.get(DIRECTORY).and_then(|d| d.get("importSource")).is_none(), "ignored on POST: {posted}");
        assert_eq!(put.status(), StatusCode::OK);
        let put: Value = put.json().await.unwrap();
        assert_eq!(put[DIRECTORY]["importSource"], "hr", "a PUT without it keeps it: {put}");
        assert_eq!(put_other.status(), StatusCode::OK);
        assert_eq!(put_other.json::<Value>().await.unwrap()[DIRECTORY]["importSource"], "hr", "ignored on PUT");
        for op in patches {
            let res = app.patch(&format!("/Users/{id}"), json!({"schemas": [PATCH_OP], "Operations": [op]})).await;
            let body = scim_error(res, 400).await;
            assert_eq!(body["scimType"], "mutability", "{op}: {body}");
            assert!(body["detail"].as_str().unwrap().contains("importSource is read-only"), "{body}");
        }
        let after = cli.user("u0@contoso.com").await.unwrap();
        assert_eq!(after[DIRECTORY]["importSource"], "hr", "never moved");
        // The user SCIM created is no source's: the sync of hr leaves it alone.
        let night: Value = sync(&app, "?mode=sync&source=hr", &staff(0..2)).await.json().await.unwrap();
        assert_eq!(night["deactivated"], 0, "{night}");
        assert_ne!(cli.user("x@contoso.com").await.unwrap()["active"], false);
    }

    async fn a_sync_over_http_whose_client_goes_away_frees_its_lock(app: TestApp) {
        let cli = Cli::new(&app).await;
        cli.add_source("hr", "10%");
        const ROWS: u32 = 5000;
        // A client of its own on a socket of its own, so that going away closes the connection.
        let body = staff(0..ROWS);
        let authority = app.base.trim_start_matches("http://").to_owned();
        let mut socket = tokio::net::TcpStream::connect(&authority).await.unwrap();
        let head = format!(
            "POST /scim/v2/Admin/Import?mode=sync&source=hr HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
            app.token,
            body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(body.as_bytes()).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while cli.user_count().await == 0 {
            assert!(Instant::now() < deadline, "no user was imported within a minute");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let name = format!("import:{}:hr", cli.tenant);
        assert!(cli.store.lock_holder(&name).await.unwrap().is_some(), "the sync runs");

        drop(socket);

        let deadline = Instant::now() + Duration::from_secs(60);
        while cli.store.lock_holder(&name).await.unwrap().is_some() {
            assert!(Instant::now() < deadline, "the cancelled sync still holds the lock");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let written = cli.user_count().await;
        assert!(written < ROWS as usize, "the sync stopped with its client: {written} of {ROWS}");
        let again = sync(&app, "?mode=sync&source=hr", &staff(0..ROWS)).await;
        assert_eq!(again.status(), StatusCode::OK, "the next run is not blocked");
        assert_eq!(cli.user_count().await, ROWS as usize);
    }

    async fn scimd_import_without_map_reads_through_a_stored_source_with_its_valve(app: TestApp) {
        let cli = Cli::new(&app).await;
        cli.add_source("hr", "1");
        let sync = ["--mode", "sync", "--source", "hr"];
        let first = cli.import(staff(0..5).as_bytes(), &sync);
        let (_, stderr) = succeeded(&first);
        assert!(stderr.contains("reading the file through the stored map of source \"hr\""), "{stderr}");
        assert!(stderr.contains("5 created"), "the HR columns are read through the stored map: {stderr}");

        let stopped = cli.import(staff(0..3).as_bytes(), &sync);
        let raised = cli.import(staff(0..3).as_bytes(), &[&sync[..], &["--max-deactivate", "2"]].concat());

        assert_eq!(stopped.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&stopped.stderr);
        assert!(stderr.contains("would deactivate 2 of the 5") && stderr.contains("--max-deactivate 1 allows (1)"), "{stderr}");
        assert!(succeeded(&raised).1.contains("2 deactivated"));
        assert_eq!(cli.user("u4@contoso.com").await.unwrap()["active"], false);
        let unstored = cli.import(staff(0..1).as_bytes(), &["--mode", "sync", "--source", "payroll"]);
        assert_eq!(unstored.status.code(), Some(1), "no stored map: the bulk-add template, which has no Employee ID");
        assert!(String::from_utf8_lossy(&unstored.stderr).contains("unknown column \"Employee ID\""));
    }
}
