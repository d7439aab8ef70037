//! The CSV import benchmark: a generated bulk-add file, then a generated HR export read through
//! the example column map and synced, each imported into a fresh database through
//! `Service::import_csv`, the function `scimd import` calls; prints rows/s. Never asserts.
//!
//! `cargo bench --bench import -- [--quick] [--rows N] [--database URL]`; benches/README.md
//! explains each line.

// A benchmark that cannot set itself up should stop loudly, so setup failures panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The allocator the `scimd` binary runs with (src/main.rs), so the import is measured as
/// `scimd import` runs it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use scimd::auth::Principal;
use scimd::cli::DatabaseArgs;
use scimd::directory::import::{ColumnMap, MaxDeactivate, SourceName};
use scimd::directory::import::{Report, Status};
use scimd::scim::schema::ResourceKind;
use scimd::service::{Caller, ImportOptions, Service, SyncOptions};
use scimd::store::{Load, NewResource, Scope, Store};

/// The project's bar for a fresh import into SQLite.
const BAR_ROWS_PER_S: f64 = 5000.0;
/// The bar for a sync run whose file changed little: unchanged rows should be cheap.
const BAR_SYNC_ROWS_PER_S: f64 = 20_000.0;
/// The example column map shipped in examples/, which the HR files below follow.
const HR_MAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hr-map.json");
/// Employees per manager in the generated HR export.
const TEAM: usize = 10;
/// Whatever `--rows` says, no run imports more than this.
const MAX_ROWS: usize = 1_000_000;

struct Options {
    rows: usize,
    database: Option<String>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let quick = args.iter().any(|a| a == "--quick");
    let rows = value("--rows").and_then(|v| v.parse().ok()).unwrap_or(if quick { 10_000 } else { 100_000 });
    Options { rows: rows.min(MAX_ROWS), database: value("--database") }
}

/// A bulk-add file of `rows` users with every column of the template filled, as the admin
/// center's own sample has them; `title` lets a second file change every row.
fn generate(rows: usize, title: &str) -> Vec<u8> {
    let mut csv = String::from(
        "User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,Office Phone,\
         Mobile Phone,Fax,Address,City,State or Province,ZIP or Postal Code,Country or Region\n",
    );
    for i in 0..rows {
        writeln!(
            csv,
            "user{i}@contoso.com,Given{i},Family{i},\"Family{i}, Given{i}\",{title},Department {},{},\
             +1 425 555 {:04},+1 425 556 {:04},+1 425 557 {:04},\"{} Main Street, Suite {}\",Redmond,WA,98052,United States",
            i % 40,
            10_000 + i,
            i % 10_000,
            i % 10_000,
            i % 10_000,
            i % 500,
            i % 90
        )
        .unwrap();
    }
    csv.into_bytes()
}

/// An HR export of `rows` employees in the example map's columns. Employee `i` reports to
/// employee `i / TEAM` (the first to nobody), so most managers are named before their own row;
/// every employee holds one license. `leavers` employees from the end are missing, and every
/// `retitle`-th employee (if any) has a new job title.
fn generate_hr(rows: usize, leavers: usize, retitle: Option<usize>) -> Vec<u8> {
    let mut csv = String::from(
        "Employee ID,Person ID,Email,First Name,Last Name,Preferred Name,Job Title,Cost Center,Company,\
         Division,Department,Manager ID,Country,Licenses,Work Phone,Language\n",
    );
    for i in 0..rows - leavers.min(rows) {
        let manager = if i == 0 { String::new() } else { format!("E{}", i / TEAM) };
        let title = match retitle {
            Some(n) if i % n == 0 => "Senior Engineer",
            _ => "Engineer",
        };
        writeln!(
            csv,
            "E{i},P{i},emp{i}@contoso.com,Given{i},Family{i},Given{i} Family{i},{title},CC{},Contoso,Division {},\
             Department {},{manager},NL,ENTERPRISEPACK,+31 20 555 {:04},nl-NL",
            i % 300,
            i % 7,
            i % 40,
            i % 10_000
        )
        .unwrap();
    }
    csv.into_bytes()
}

/// The database of one run and how to remove it afterwards.
struct Db {
    store: Arc<dyn Store>,
    drop_schema: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

async fn open(database: Option<&str>) -> Db {
    let dir = tempfile::tempdir().unwrap();
    match database {
        Some(url) if url.starts_with("postgres") => {
            let schema = format!("scimd_bench_import_{}", uuid::Uuid::new_v4().simple());
            let store = scimd::store::postgres::PgStore::connect_in_schema(
                url,
                8,
                Some(&schema),
                scimd::store::DEFAULT_QUERY_TIMEOUT,
            )
            .await
            .unwrap_or_else(|e| fail(&format!("cannot open {url}: {e}")));
            Db { store: Arc::new(store), drop_schema: Some((url.to_owned(), schema)), _dir: dir }
        }
        other => {
            let url = other
                .map(str::to_owned)
                .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("import.db").display()));
            let store = scimd::open_store(&DatabaseArgs::new(url, 8)).await.unwrap_or_else(|e| fail(&format!("{e:#}")));
            Db { store, drop_schema: None, _dir: dir }
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("import benchmark: {message}");
    std::process::exit(2)
}

/// Imports `data` once and prints the line for it; returns rows/s.
async fn measure(service: &Service, caller: &Caller, data: &[u8], what: &str, expect: Status) -> f64 {
    measure_with(service, caller, data, &ImportOptions::default(), what, (expect, None)).await
}

/// `measure` with options: an HR sync's map and source. `expect` is the status rows should get,
/// and how many of them (every row when `None`).
async fn measure_with(
    service: &Service,
    caller: &Caller,
    data: &[u8],
    options: &ImportOptions,
    what: &str,
    (expect, how_many): (Status, Option<usize>),
) -> f64 {
    let started = Instant::now();
    let report: Report = service.import_csv(caller, data, options, &mut |_| {}).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let rate = report.rows.len() as f64 / secs;
    let (got, want) = (report.count(expect), how_many.unwrap_or(report.rows.len()));
    let warning = if got == want {
        String::new()
    } else {
        format!("   !! {got} of {} rows {} where {want} should be", report.rows.len(), expect.as_str())
    };
    println!("{what:<48} {:>8} rows {secs:>7.1} s {rate:>9.0} rows/s{warning}", report.rows.len());
    let counts: Vec<String> = Status::ALL
        .iter()
        .filter(|s| report.count(**s) > 0)
        .map(|s| format!("{} {}", report.count(*s), s.as_str()))
        .collect();
    println!("    {}", counts.join(", "));
    if let Some(refused) = report.rows.iter().find(|r| r.status == Status::Refused) {
        println!("    first refusal: row {}: {}", refused.row, refused.detail.as_deref().unwrap_or(""));
    }
    rate
}

/// On PostgreSQL, gathers the statistics autovacuum would after a bulk load (this machine's
/// server runs without it); without them every lookup by id plans as a scan of the table.
async fn analyze(db: &Db) {
    if let Some((url, schema)) = &db.drop_schema {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let sql = format!("ANALYZE {schema}.resources, {schema}.members, {schema}.resource_values");
        sqlx::query(&sql).execute(&mut c).await.unwrap();
    }
}

fn main() {
    let opts = options();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(run(opts));
}

async fn run(opts: Options) {
    println!(
        "scimd import benchmark: {} rows, database {}",
        opts.rows,
        opts.database.as_deref().unwrap_or("sqlite (temporary file)")
    );
    let fresh = generate(opts.rows, "Accountant");
    let changed = generate(opts.rows, "Senior Accountant");
    println!("generated a bulk-add CSV of {} rows ({:.1} MB)", opts.rows, fresh.len() as f64 / 1e6);

    let db = open(opts.database.as_deref()).await;
    let (service, caller) = serve(&db).await;

    let rate = measure(&service, &caller, &fresh, "fresh import (every row created)", Status::Created).await;
    analyze(&db).await;
    measure(&service, &caller, &fresh, "same file again (every row unchanged)", Status::Unchanged).await;
    measure(&service, &caller, &changed, "changed file (every row updated and written)", Status::Updated).await;
    println!(
        "verdict: fresh import at {rate:.0} rows/s is {} the bar of {BAR_ROWS_PER_S:.0} rows/s (set for SQLite)",
        if rate >= BAR_ROWS_PER_S { "within" } else { "OUTSIDE" }
    );
    db.close().await;

    hr_sync(&opts).await;
}

/// The HR half: a fresh sync of an export with managers and licenses, then the next night's
/// export with 1% of the rows changed (a new title for 0.9%, 0.1% gone).
async fn hr_sync(opts: &Options) {
    let rows = opts.rows;
    let (leavers, retitle) = (rows / 1000, 111);
    let first = generate_hr(rows, 0, None);
    let next = generate_hr(rows, leavers, Some(retitle));
    let kept = rows - leavers.min(rows);
    let unchanged = kept - kept.div_ceil(retitle);
    println!("generated an HR export of {rows} rows ({:.1} MB) and the next night's", first.len() as f64 / 1e6);
    let db = open(opts.database.as_deref()).await;
    let (service, caller) = serve(&db).await;
    let license = serde_json::json!({"partNumber": "ENTERPRISEPACK", "seats": rows});
    let new = NewResource {
        id: uuid::Uuid::new_v4().to_string().into(),
        kind: ResourceKind::License,
        doc: license,
        password_hash: None,
        members: vec![],
        name_guard: None,
        audit: scimd::store::AuditEntry::new(&caller.actor(), scimd::store::Operation::Create, serde_json::Value::Null),
    };
    db.store.insert(caller.principal.tenant, new, Load::default()).await.unwrap();
    let map = ColumnMap::parse(&std::fs::read(HR_MAP).unwrap()).unwrap();
    let sync = SyncOptions { source: SourceName::parse("hr").unwrap(), max_deactivate: MaxDeactivate::Percent(10) };
    let options = ImportOptions { map: Some(map), sync: Some(sync), ..ImportOptions::default() };

    let fresh = measure_with(
        &service,
        &caller,
        &first,
        &options,
        "HR sync, first run (every row created)",
        (Status::Created, None),
    )
    .await;
    analyze(&db).await;
    let synced = measure_with(
        &service,
        &caller,
        &next,
        &options,
        "HR sync, next night (1% changed)",
        (Status::Unchanged, Some(unchanged)),
    )
    .await;
    println!(
        "verdict: HR first run at {fresh:.0} rows/s is {} the bar of {BAR_ROWS_PER_S:.0}; the next night at {synced:.0} rows/s is {} the bar of {BAR_SYNC_ROWS_PER_S:.0}",
        if fresh >= BAR_ROWS_PER_S { "within" } else { "OUTSIDE" },
        if synced >= BAR_SYNC_ROWS_PER_S { "within" } else { "OUTSIDE" },
    );
    db.close().await;
}

/// The service over `db` and an administrator of its default tenant.
async fn serve(db: &Db) -> (Service, Caller) {
    let tenant = db.store.ensure_tenant("default").await.unwrap();
    let service = scimd::state(db.store.clone(), None).unwrap().service;
    let principal = Principal {
        tenant,
        tenant_name: "default".into(),
        token_id: scimd::service::TokenId(0),
        token_name: "benchmark".into(),
        scopes: vec![Scope::Write, Scope::Admin],
        rate_limit: None,
    };
    let caller = Caller::new(principal, None, None);
    (service, caller)
}

impl Db {
    /// Drops a PostgreSQL run's schema; a SQLite file goes with its folder.
    async fn close(self) {
        if let Some((url, schema)) = self.drop_schema {
            use sqlx::Connection;
            if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut c).await;
            }
        }
    }
}
