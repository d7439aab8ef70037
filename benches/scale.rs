//! The scale run: the real binary loaded with a million users (through the CSV import), ten
//! thousand groups and one group of 100,000 members; prints load time, database size, peak
//! memory under mixed load, and the `userName eq` p50 at full size over its p50 at 1,000 users.
//!
//! `cargo bench --bench scale -- [--quick] [--users N] [--groups G] [--big-group M]
//! [--seconds S]`; benches/README.md explains each line. Nothing is asserted.

// A benchmark that cannot set itself up should stop loudly, so setup failures panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_scimd");
const TOKEN: &str = "scale-benchmark-token-0123456789abcdef";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// Rows per import request: about 9 MB of CSV, well under the import's 64 MiB limit.
const ROWS_PER_IMPORT: usize = 100_000;
/// Whatever the options say, no load loop sends more than this.
const MAX_REQUESTS: u64 = 2_000_000;
/// The goals the numbers are read against.
const RSS_GOAL_MB: f64 = 500.0;
const EQ_RATIO_GOAL: f64 = 1.5;

struct Options {
    users: usize,
    groups: usize,
    big_group: usize,
    small_users: usize,
    connections: usize,
    seconds: u64,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let number = |flag: &str, default: usize| value(flag).and_then(|v| v.parse().ok()).unwrap_or(default);
    let quick = args.iter().any(|a| a == "--quick");
    let users = number("--users", if quick { 100_000 } else { 1_000_000 }).clamp(1_000, 2_000_000);
    Options {
        users,
        groups: number("--groups", if quick { 1_000 } else { 10_000 }).min(100_000),
        big_group: number("--big-group", if quick { 10_000 } else { 100_000 }).min(users),
        small_users: 1_000,
        connections: 16,
        seconds: number("--seconds", if quick { 5 } else { 20 }) as u64,
    }
}

/// A scimd process serving a SQLite file of its own.
struct Scimd {
    child: std::process::Child,
    base: String,
    file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Scimd {
    async fn start(http: &reqwest::Client) -> Scimd {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("scale.db");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--bootstrap-token", TOKEN])
            .args(["--database", &format!("sqlite://{}", file.display()), "--query-timeout", "600"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let scimd = Scimd { child, base: format!("http://127.0.0.1:{port}/scim/v2"), file, _dir: dir };
        for _ in 0..400 {
            if http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok() {
                return scimd;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("scimd did not start");
    }

    /// The process's resident memory now and at its peak (VmRSS, VmHWM), in MB.
    fn memory_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// The database file with its write-ahead log, in MB.
    fn database_mb(&self) -> f64 {
        let size = |suffix: &str| {
            let mut name = self.file.clone().into_os_string();
            name.push(suffix);
            std::fs::metadata(name).map_or(0, |m| m.len())
        };
        (size("") + size("-wal")) as f64 / 1e6
    }
}

impl Drop for Scimd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Users `from..to` as a bulk-add CSV with the template's usual columns.
fn users_csv(from: usize, to: usize) -> String {
    let mut csv = String::from("User Name,First Name,Last Name,Display Name,Job Title,Department,City\n");
    for i in from..to {
        writeln!(
            csv,
            "user{i}@contoso.com,Given{i},Family{i},\"Family{i}, Given{i}\",Accountant,Department {},Redmond",
            i % 40
        )
        .unwrap();
    }
    csv
}

/// Imports `n` users through `POST /Admin/Import`, as an HR job would; returns their ids.
async fn import_users(http: &reqwest::Client, scimd: &Scimd, n: usize, verbose: bool) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    let started = Instant::now();
    for from in (0..n).step_by(ROWS_PER_IMPORT) {
        let to = (from + ROWS_PER_IMPORT).min(n);
        let res = http
            .post(format!("{}/Admin/Import", scimd.base))
            .bearer_auth(TOKEN)
            .header("content-type", "text/csv")
            .header("accept", "text/csv")
            .body(users_csv(from, to))
            .timeout(Duration::from_secs(900))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "import answered {}: {}", res.status(), res.text().await.unwrap());
        let report = res.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(report.as_bytes());
        for row in reader.records() {
            let row = row.unwrap();
            assert_eq!(&row[2], "created", "row {} was not created: {}", &row[0], &row[4]);
            ids.push(row[3].to_owned());
        }
        if verbose {
            let secs = started.elapsed().as_secs_f64();
            println!("  {to:>9} users in {secs:>6.1} s ({:.0} rows/s)", to as f64 / secs);
        }
    }
    ids
}

/// One `/Bulk` of up to 1,000 operations; panics unless every one succeeded.
async fn bulk(http: &reqwest::Client, scimd: &Scimd, operations: Vec<Value>) -> Vec<Value> {
    let body = json!({"schemas": [BULK], "Operations": operations});
    let res = http.post(format!("{}/Bulk", scimd.base)).bearer_auth(TOKEN).json(&body).send().await.unwrap();
    assert!(res.status().is_success(), "bulk answered {}", res.status());
    let out: Value = res.json().await.unwrap();
    let results = out["Operations"].as_array().cloned().unwrap_or_default();
    for r in &results {
        assert!(r["status"].as_str().is_some_and(|s| s.starts_with('2')), "bulk operation failed: {r}");
    }
    results
}

/// `groups` groups of 10 users each, 1,000 to a Bulk.
async fn create_groups(http: &reqwest::Client, scimd: &Scimd, ids: &[String], groups: usize) {
    for start in (0..groups).step_by(1000) {
        let operations = (start..(start + 1000).min(groups))
            .map(|g| {
                let members: Vec<Value> =
                    (0..10).map(|k| json!({"value": ids[(g * 7919 + k * 104_729) % ids.len()]})).collect();
                json!({"method": "POST", "path": "/Groups", "bulkId": format!("g{g}"),
                       "data": {"schemas": [GROUP], "displayName": format!("Group {g}"), "members": members}})
            })
            .collect();
        bulk(http, scimd, operations).await;
    }
}

/// One group holding the first `members` users, added 1,000 at a time by PATCH.
async fn create_big_group(http: &reqwest::Client, scimd: &Scimd, ids: &[String], members: usize) -> String {
    let res = http
        .post(format!("{}/Groups", scimd.base))
        .bearer_auth(TOKEN)
        .json(&json!({"schemas": [GROUP], "displayName": "Everyone"}))
        .send()
        .await
        .unwrap();
    let group: Value = res.json().await.unwrap();
    let gid = group["id"].as_str().unwrap().to_owned();
    for chunk in ids[..members].chunks(1000) {
        let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": value}]});
        let res = http
            .patch(format!("{}/Groups/{gid}?excludedAttributes=members", scimd.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "adding members answered {}", res.status());
    }
    gid
}

struct Stats {
    requests: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    failures: u64,
}

/// `connections` loops sending the request `make(n)` makes for the n-th request, for `seconds`.
async fn load<F>(connections: usize, seconds: u64, make: F) -> Stats
where
    F: Fn(u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (make, sent) = (make.clone(), sent.clone());
            tokio::spawn(async move {
                let (mut latencies, mut failures) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let n = sent.fetch_add(1, Ordering::Relaxed);
                    if n >= MAX_REQUESTS {
                        break;
                    }
                    let t = Instant::now();
                    match make(n).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                        }
                        _ => failures += 1,
                    }
                    latencies.push(t.elapsed().as_micros() as u64);
                }
                (latencies, failures)
            })
        })
        .collect();
    let (mut all, mut failures) = (Vec::new(), 0);
    for task in tasks {
        let (l, f) = task.await.unwrap();
        all.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied();
    Stats {
        requests: all.len(),
        rps: all.len() as f64 / elapsed,
        p50_ms: pct(0.5).unwrap_or(0) as f64 / 1000.0,
        p99_ms: pct(0.99).unwrap_or(0) as f64 / 1000.0,
        failures,
    }
}

/// SplitMix64 of `n`: a spread-out number below `bound`.
fn pick(n: u64, salt: u64, bound: usize) -> usize {
    let mut z = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(salt);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) % bound.max(1) as u64) as usize
}

async fn eq_filter(http: &reqwest::Client, base: &str, users: usize, o: &Options) -> Stats {
    let (http, base) = (http.clone(), base.to_owned());
    load(o.connections, o.seconds.min(10), move |n| {
        let name = format!("user{}@contoso.com", pick(n, 3, users));
        http.get(format!("{base}/Users")).query(&[("filter", format!("userName eq \"{name}\""))]).bearer_auth(TOKEN)
    })
    .await
}

fn line(name: &str, s: &Stats) {
    let failed = if s.failures > 0 { format!("   !! {} FAILED", s.failures) } else { String::new() };
    println!(
        "{name:<44} {:>8} requests {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>7.2} ms{failed}",
        s.requests, s.rps, s.p50_ms, s.p99_ms
    );
}

fn main() {
    let opts = options();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(run(opts));
}

async fn run(o: Options) {
    println!(
        "scimd scale run: {} users, {} groups of 10, one group of {} members; SQLite; {BIN}",
        o.users, o.groups, o.big_group
    );
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let scimd = Scimd::start(&http).await;

    let started = Instant::now();
    let ids = import_users(&http, &scimd, o.users, true).await;
    let users_secs = started.elapsed().as_secs_f64();
    let t = Instant::now();
    create_groups(&http, &scimd, &ids, o.groups).await;
    let groups_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let big = create_big_group(&http, &scimd, &ids, o.big_group).await;
    let big_secs = t.elapsed().as_secs_f64();
    println!(
        "load: users {users_secs:.1} s ({:.0} rows/s), groups {groups_secs:.1} s, the big group {big_secs:.1} s; \
         {:.1} s in all",
        o.users as f64 / users_secs,
        started.elapsed().as_secs_f64()
    );
    println!("database: {:.0} MB (file and write-ahead log)", scimd.database_mb());
    let (rss, hwm) = scimd.memory_mb();
    println!("scimd memory after loading: {rss:.0} MB resident, {hwm:.0} MB at the peak of the load");

    // Mixed load: reads by id and by name, PATCHes and creates, and now and then a page of the
    // big group's members; scimd's resident memory sampled every 100 ms.
    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling, pid) = (peak.clone(), sampling.clone(), scimd.child.id());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let kb = status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|k| k.parse::<u64>().ok())
                    .unwrap_or(0);
                peak.fetch_max(kb, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mixed = {
        let (http, base, ids) = (http.clone(), scimd.base.clone(), Arc::new(ids.clone()));
        load(o.connections, o.seconds, move |n| {
            let id = &ids[pick(n, 1, ids.len())];
            match n % 100 {
                0..=69 => http.get(format!("{base}/Users/{id}")).bearer_auth(TOKEN),
                70..=84 => {
                    let name = format!("user{}@contoso.com", pick(n, 2, ids.len()));
                    let filter = format!("userName eq \"{name}\"");
                    http.get(format!("{base}/Users")).query(&[("filter", filter)]).bearer_auth(TOKEN)
                }
                85..=94 => http.patch(format!("{base}/Users/{id}")).bearer_auth(TOKEN).json(&json!({
                    "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": format!("t{n}")}]
                })),
                95..=98 => http
                    .post(format!("{base}/Users"))
                    .bearer_auth(TOKEN)
                    .json(&json!({"schemas": [USER], "userName": format!("mixed{n}@contoso.com")})),
                _ => http.get(format!("{base}/Groups/{big}")).bearer_auth(TOKEN),
            }
        })
        .await
    };
    sampling.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    let peak_mb = peak.load(Ordering::Relaxed) as f64 / 1024.0;
    line("mixed load (70% GET, 15% eq, 10% PATCH, 4% POST, 1% big group)", &mixed);
    println!(
        "peak resident memory of scimd under the mixed load: {peak_mb:.0} MB (goal < {RSS_GOAL_MB:.0} MB: {})",
        if peak_mb < RSS_GOAL_MB { "within" } else { "OUTSIDE" }
    );

    let large = eq_filter(&http, &scimd.base, o.users, &o).await;
    line(&format!("GET userName eq at {} users", o.users), &large);
    drop(scimd);
    let small_scimd = Scimd::start(&http).await;
    import_users(&http, &small_scimd, o.small_users, false).await;
    let small = eq_filter(&http, &small_scimd.base, o.small_users, &o).await;
    line(&format!("GET userName eq at {} users", o.small_users), &small);
    let ratio = large.p50_ms / small.p50_ms;
    println!(
        "eq-filter p50 ratio {}/{} = {ratio:.2} (goal <= {EQ_RATIO_GOAL}: {})",
        o.users,
        o.small_users,
        if ratio <= EQ_RATIO_GOAL { "within" } else { "OUTSIDE" }
    );
}
