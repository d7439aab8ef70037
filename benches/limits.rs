//! Bounded cost, measured: the memory that listing big groups takes, and the latency other
//! tenants see while one hashes a Bulk of passwords. Prints figures; never asserts.
//!
//! `cargo bench --bench limits -- [--groups G] [--members M] [--clients C] [--passwords P]`
//! (defaults 20 groups × 50,000 members, 4 clients, 1,000 passwords).

// A benchmark that cannot set itself up should stop loudly, so setup failures panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use scimd::auth::{generate_secret, hash_secret};
use scimd::cli::DatabaseArgs;
use scimd::scim::resource::MemberRef;
use scimd::scim::schema::ResourceKind;
use scimd::store::{Load, NewResource, NewToken, Scope, Store, TenantId};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

struct Options {
    groups: usize,
    members: usize,
    clients: usize,
    passwords: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let num = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Options {
        groups: num("--groups", 20),
        members: num("--members", 50_000),
        clients: num("--clients", 4),
        passwords: num("--passwords", 1000),
    }
}

/// Fields of a process's `/proc/PID/status`, in MB (0 when missing).
fn status_mb(pid: u32, names: &[&str]) -> Vec<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    names.iter().map(|n| field(n)).collect()
}

/// A process's resident memory now and at its peak since the last reset, in MB.
fn rss_mb(pid: u32) -> (f64, f64) {
    let v = status_mb(pid, &["VmRSS:", "VmHWM:"]);
    (v[0], v[1])
}

/// What the resident memory is made of: heap and other anonymous memory, and file pages.
fn rss_parts(pid: u32) -> String {
    let v = status_mb(pid, &["RssAnon:", "RssFile:", "RssShmem:"]);
    format!("anonymous {:.0} MB, files {:.0} MB", v[0], v[1] + v[2])
}

/// Sets a process's peak back to its current resident size (Linux: `5` to `clear_refs`).
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// The built `scimd` serving `url` on a free port of 127.0.0.1, as an operator runs it, so
/// that its memory is measured apart from this load generator's.
async fn start_scimd(url: &str) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["--database", url, "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..300 {
        if reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status() == 200) {
            return (child, format!("{base}/scim/v2"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("scimd did not start");
}

/// The paging fields of a ListResponse; the resources are skipped, not kept.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageHead {
    items_per_page: u64,
    total_results: u64,
}

async fn token(store: &Arc<dyn Store>, tenant: TenantId) -> String {
    let secret = generate_secret();
    let new = NewToken {
        name: "bench".into(),
        secret_hash: hash_secret(&secret),
        scopes: vec![Scope::Admin],
        expires: None,
        rate_limit: None,
    };
    store.create_token(tenant, new, &scimd::store::Actor::system("benchmark")).await.unwrap();
    secret
}

fn main() {
    let opts = options();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run(opts));
}

async fn run(opts: Options) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("limits.db").display());
    let store = scimd::open_store(&DatabaseArgs::new(url.clone(), 16)).await.unwrap();
    let tenant = store.ensure_tenant("default").await.unwrap();
    let other = store.ensure_tenant("other").await.unwrap();
    let (admin, reader) = (token(&store, tenant).await, token(&store, other).await);

    let started = Instant::now();
    for chunk in 0..opts.members.div_ceil(1000) {
        let news: Vec<_> = (chunk * 1000..opts.members.min((chunk + 1) * 1000))
            .map(|i| NewResource {
                id: format!("m{i}").into(),
                kind: ResourceKind::User,
                doc: json!({"userName": format!("member{i}@example.com")}),
                password_hash: None,
                members: vec![],
                name_guard: None,
                audit: bench_audit(),
            })
            .collect();
        store.insert_many(tenant, &news, Load::default()).await.unwrap();
    }
    for g in 0..opts.groups {
        let new = NewResource {
            id: format!("g{g}").into(),
            kind: ResourceKind::Group,
            doc: json!({"displayName": format!("sample {g}")}),
            password_hash: None,
            members: (0..opts.members).map(|i| MemberRef::id(format!("m{i}").into())).collect(),
            name_guard: None,
            audit: bench_audit(),
        };
        store.insert(tenant, new, Load::default()).await.unwrap();
    }
    let probe = NewResource {
        id: "probe".into(),
        kind: ResourceKind::User,
        doc: json!({"userName": "probe@other.example"}),
        password_hash: None,
        members: vec![],
        name_guard: None,
        audit: bench_audit(),
    };
    store.insert(other, probe, Load::default()).await.unwrap();
    println!("built {} groups of {} members in {:.1} s", opts.groups, opts.members, started.elapsed().as_secs_f64());

    drop(store);
    let (mut server, base) = start_scimd(&url).await;
    let http = reqwest::Client::new();

    // Warm up first, so that the baseline has every pooled connection open (each holds
    // SQLite's schema and prepared statements) as a serving process does.
    let (cold, _) = rss_mb(server.id());
    let warm_up: Vec<_> = (0..16)
        .map(|_| {
            let (http, base, admin) = (http.clone(), base.clone(), admin.clone());
            tokio::spawn(async move {
                for _ in 0..50 {
                    let url = format!("{base}/Groups?count=1&excludedAttributes=members");
                    let _ = http.get(url).bearer_auth(&admin).send().await;
                }
            })
        })
        .collect();
    for task in warm_up {
        let _ = task.await;
    }
    println!(
        "scimd's resident memory just started: {cold:.0} MB; warmed up (every connection open): {:.0} MB",
        rss_mb(server.id()).0
    );
    // Twice: what stays after the second burst shows whether anything creeps up.
    for burst in ["first", "second"] {
        println!("{burst} burst:");
        groups_memory(&http, &base, server.id(), &admin, &opts).await;
    }
    password_bulk(&http, &base, &admin, &reader, &opts).await;
    let _ = server.kill();
    let _ = server.wait();
}

/// `clients` clients each read every group with its members, page by page, at once.
async fn groups_memory(http: &reqwest::Client, base: &str, pid: u32, admin: &str, opts: &Options) {
    let (baseline, _) = rss_mb(pid);
    let baseline_parts = rss_parts(pid);
    reset_peak(pid);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..opts.clients {
        let (http, base, admin) = (http.clone(), base.to_owned(), admin.to_owned());
        tasks.push(tokio::spawn(async move {
            let (mut start, mut groups, mut bytes) = (1u64, 0u64, 0u64);
            // Bounded: at most one page per group, and a page holds at least one.
            for _ in 0..=1000 {
                let res = http
                    .get(format!("{base}/Groups?startIndex={start}&count=100"))
                    .bearer_auth(&admin)
                    .send()
                    .await
                    .unwrap();
                let body = res.bytes().await.unwrap();
                bytes += body.len() as u64;
                let page: PageHead = serde_json::from_slice(&body).unwrap();
                let n = page.items_per_page;
                groups += n;
                start += n;
                if n == 0 || start > page.total_results {
                    break;
                }
            }
            (groups, bytes)
        }));
    }
    let mut read = (0, 0);
    for t in tasks {
        let (g, b) = t.await.unwrap();
        read = (read.0 + g, read.1 + b);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (_, peak) = rss_mb(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (after, _) = rss_mb(pid);
    // Ten more seconds of light traffic, which lets the allocator return what it kept.
    for _ in 0..100 {
        let _ = http.get(format!("{base}/Groups?count=1&excludedAttributes=members")).bearer_auth(admin).send().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (later, _) = rss_mb(pid);
    let later_parts = rss_parts(pid);
    // And thirty more, past the periodic trim and the pool's idle timeout.
    for _ in 0..300 {
        let _ = http.get(format!("{base}/Groups?count=1&excludedAttributes=members")).bearer_auth(admin).send().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (latest, _) = rss_mb(pid);
    println!(
        "GET /Groups with members, {} clients at once: {} groups, {:.0} MB of responses in {elapsed:.1} s",
        opts.clients,
        read.0,
        read.1 as f64 / 1e6
    );
    println!(
        "  scimd's resident memory: {baseline:.0} MB before, peak {peak:.0} MB (growth {:.0} MB, bar 300 MB), \
         {after:.0} MB 2 s after, {later:.0} MB 12 s after, {latest:.0} MB 42 s after",
        peak - baseline
    );
    println!("  before: {baseline_parts}; 12 s after: {later_parts}; 42 s after: {}", rss_parts(pid));
}

/// One tenant posts a Bulk of users with passwords while another reads a user by id.
async fn password_bulk(http: &reqwest::Client, base: &str, admin: &str, reader: &str, opts: &Options) {
    let operations: Vec<Value> = (0..opts.passwords)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("p{i}"),
                   "data": {"schemas": [USER], "userName": format!("pw{i}@example.com"), "password": format!("secret-{i}-x")}})
        })
        .collect();
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations});
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let reader_task = {
        let (http, base, reader, done, reads) =
            (http.clone(), base.to_owned(), reader.to_owned(), done.clone(), reads.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            // Bounded in count as well as by the Bulk's end.
            while !done.load(Ordering::Relaxed) && latencies.len() < 1_000_000 {
                let t = Instant::now();
                let res = http.get(format!("{base}/Users/probe")).bearer_auth(&reader).send().await.unwrap();
                assert_eq!(res.status(), 200);
                let _ = res.bytes().await;
                latencies.push(t.elapsed());
                reads.fetch_add(1, Ordering::Relaxed);
            }
            latencies
        })
    };
    let started = Instant::now();
    let res = http.post(format!("{base}/Bulk")).bearer_auth(admin).json(&bulk).send().await.unwrap();
    let status = res.status();
    let _ = res.bytes().await;
    let bulk_secs = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let mut latencies = reader_task.await.unwrap();
    latencies.sort();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map(|d| d.as_secs_f64() * 1000.0).unwrap_or(f64::NAN);
    println!("Bulk of {} POSTs with passwords: {status} in {bulk_secs:.1} s", opts.passwords);
    println!(
        "  meanwhile another tenant's GET by id: {} requests, p50 {:.2} ms, p99 {:.2} ms (bar 50 ms), max {:.2} ms",
        reads.load(Ordering::Relaxed),
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(latencies.last())
    );
}

/// The audit entry of the benchmark's direct store writes.
fn bench_audit() -> scimd::store::AuditEntry {
    scimd::store::AuditEntry::new(
        &scimd::store::Actor::system("benchmark"),
        scimd::store::Operation::Create,
        serde_json::json!({}),
    )
}
