//! The embedded store: SQLite in WAL mode with a busy timeout; writes take the lock up front
//! (`BEGIN IMMEDIATE`), and concurrent API writes share one commit (`group_commit`).
//!
//! The queries are shared with PostgreSQL (`store::sql_store`); this file opens the database
//! and runs statements on it for the generic store.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqliteConnection};

use crate::store::backend::{bound, Backend, Deadline, Param};
use crate::store::dialect::{Dialect, SqliteDialect};
use crate::store::group_commit::{self, GroupCommit};
use crate::store::sql;
use crate::store::sql_store::{fold_old_documents, SqlStore};
use crate::store::Result;

/// How long a statement waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The store on SQLite, which has one writer at a time: writers of this process queue for
/// their turn (`SqlStore::write_turn`).
pub type SqliteStore = SqlStore<Sqlite>;

impl Backend for Sqlite {
    type Db = Sqlite;
    type Row = SqliteRow;
    const DIALECT: &'static dyn Dialect = &SqliteDialect;

    async fn execute<'c>(conn: &'c mut SqliteConnection, sql: &'c str, params: &'c [Param<'c>]) -> sqlx::Result<u64> {
        Ok(bound(sql, params).execute(conn).await?.rows_affected())
    }

    async fn fetch_one<'c>(
        conn: &'c mut SqliteConnection,
        sql: &'c str,
        params: &'c [Param<'c>],
    ) -> sqlx::Result<SqliteRow> {
        bound(sql, params).fetch_one(conn).await
    }

    async fn fetch_optional<'c>(
        conn: &'c mut SqliteConnection,
        sql: &'c str,
        params: &'c [Param<'c>],
    ) -> sqlx::Result<Option<SqliteRow>> {
        bound(sql, params).fetch_optional(conn).await
    }

    async fn fetch_all<'c>(
        conn: &'c mut SqliteConnection,
        sql: &'c str,
        params: &'c [Param<'c>],
    ) -> sqlx::Result<Vec<SqliteRow>> {
        bound(sql, params).fetch_all(conn).await
    }

    async fn watch(conn: &mut SqliteConnection, deadline: Arc<Deadline>) -> sqlx::Result<()> {
        conn.lock_handle().await?.set_progress_handler(STEPS_PER_CHECK, move || !deadline.passed());
        Ok(())
    }
}

impl SqlStore<Sqlite> {
    /// Opens (creating if missing) the database at `url` and runs the migrations. Each
    /// statement runs under `query_timeout`, counted from when its connection leaves the pool.
    pub async fn connect(url: &str, max_connections: u32, query_timeout: Duration) -> Result<SqliteStore> {
        SUB_JOURNALS_IN_MEMORY.call_once(|| {
            if !keep_sub_journals_in_memory() {
                tracing::debug!("SQLite had started: savepoint journals spill to files past 64 KiB");
            }
        });
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a write acknowledged to a client survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            // The WAL is copied into the database by `checkpoints`, off the writers' path: left
            // to SQLite, the commit that crosses 1,000 pages copies them while its batch waits.
            .pragma("wal_autocheckpoint", "0")
            // Up to 16 MiB of pages per connection, where SQLite keeps 2 MiB: at 100,000 users
            // the index pages a batch of creates touches no longer fit in 2 MiB, and each miss
            // is a read from the file. Idle connections give their caches back (`memory`).
            .pragma("cache_size", CACHE_SIZE)
            .foreign_keys(true);
        // Migrations run on a connection of their own, outside the time budget: one that
        // rebuilds an index of a million users may take longer.
        let mut conn = SqliteConnection::connect_with(&options).await?;
        sqlx::migrate!("migrations/sqlite").run(&mut conn).await?;
        fold_old_documents::<Sqlite>(&mut conn).await?;
        conn.close().await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            // No ping on every checkout: the connection is a file in this process, and arming
            // its deadline (below) already goes to its thread and fails if that thread is gone.
            .test_before_acquire(false)
            .after_connect(move |conn, _| Box::pin(arm(conn, query_timeout)))
            .before_acquire(move |conn, _| Box::pin(async move { arm(conn, query_timeout).await.map(|()| true) }))
            .connect_with(options.clone())
            .await?;
        let probe = sql::probe_pool().connect_with(options).await?;
        let write_lock: Arc<tokio::sync::Mutex<()>> = Arc::default();
        let group = GroupCommit::start(pool.clone(), write_lock.clone(), query_timeout, group_commit::KEEP_IDLE)?;
        tokio::spawn(checkpoints(pool.clone()));
        Ok(SqlStore { pool, probe, write_lock: Some(write_lock), group: Some(Arc::new(group)) })
    }
}

/// How much of one savepoint's journal SQLite keeps in memory before it moves it to a
/// temporary file. Every group-committed write runs under a savepoint, and a created user
/// touches about twenty pages: 80 KiB, past SQLite's own 64 KiB, so each batch used to open,
/// write page by page and delete a file. 1 MiB holds any ordinary write; a larger one (a
/// group given thousands of members) still spills. The journal empties when its savepoint is
/// released, so this is the bound per connection.
const SUB_JOURNAL_IN_MEMORY: i32 = 1 << 20;

static SUB_JOURNALS_IN_MEMORY: std::sync::Once = std::sync::Once::new();

/// Raises the in-memory bound of statement and savepoint journals to `SUB_JOURNAL_IN_MEMORY`.
/// SQLite takes settings of this kind only before its first connection in the process; false
/// when it had already started (the journals then keep SQLite's default).
#[allow(unsafe_code)]
fn keep_sub_journals_in_memory() -> bool {
    // SAFETY: sqlite3_config with SQLITE_CONFIG_STMTJRNL_SPILL takes one int argument, passed
    // as the C int the variadic call expects. It is called once (`SUB_JOURNALS_IN_MEMORY`),
    // before the store's first connection; if SQLite has already been initialized it changes
    // nothing and answers SQLITE_MISUSE.
    let rc =
        unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_STMTJRNL_SPILL, SUB_JOURNAL_IN_MEMORY) };
    rc == libsqlite3_sys::SQLITE_OK
}

/// Each connection's page cache, in KiB (SQLite's negative `cache_size`).
const CACHE_SIZE: &str = "-16384";

/// How often the WAL is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Copies the WAL into the database file every `CHECKPOINT_EVERY`, as far as readers allow
/// (PASSIVE: neither readers nor writers wait for it), until the pool closes.
async fn checkpoints(pool: sqlx::SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::warn!(error = %e, "could not copy the write-ahead log into the database");
        }
    }
}

/// How many SQLite virtual-machine steps run between two looks at the clock.
const STEPS_PER_CHECK: i32 = 10_000;

/// Gives a connection leaving the pool its deadline: SQLite's progress handler interrupts any
/// statement still running past it (SQLITE_INTERRUPT, which the store reports as cancelled).
async fn arm(conn: &mut SqliteConnection, budget: Duration) -> std::result::Result<(), sqlx::Error> {
    Sqlite::watch(conn, Arc::new(Deadline::after(budget))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::ResourceKind;
    use crate::store::backend::SqlRow;
    use crate::store::sql::{compile_filter, Bind, Fragment};
    use tokio::sync::oneshot;

    /// SQLite's plan for a user list filtered by `filter`, one line per step.
    async fn plan(store: &SqliteStore, filter: &str) -> String {
        let registry = crate::scim::schema::Registry::builtin().unwrap();
        let rt = registry.resource_type(ResourceKind::User);
        let checked = crate::scim::filter::check(registry, rt, &parse_filter(filter).unwrap()).unwrap();
        let mut f = Fragment::default();
        compile_filter(&SqliteDialect, ResourceKind::User, &checked, &mut f).unwrap();
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT r.doc FROM resources r WHERE r.tenant_id = ? AND r.kind = 'User' \
             AND r.deleted_at IS NULL AND {}",
            f.sql
        );
        let mut params = vec![Param::Int(1)];
        params.extend(f.binds.iter().map(Bind::param));
        let mut conn = store.pool.acquire().await.unwrap();
        let rows = Sqlite::fetch_all(&mut conn, &sql, &params).await.unwrap();
        rows.iter().map(|r| r.text("detail").unwrap()).collect::<Vec<_>>().join("\n")
    }

    #[tokio::test]
    async fn a_resources_audit_history_is_read_from_its_own_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 2, crate::store::DEFAULT_QUERY_TIMEOUT).await;
        let query = crate::store::AuditQuery {
            resource_type: Some("User".into()),
            resource_id: Some("2819c223-7f76-453a-919d-413861904646".into()),
            operation: None,
            token_id: None,
            since: None,
            until: None,
            newest_first: true,
            start_index: 1,
            count: 50,
        };
        let times = [None, None];
        let (conditions, mut params) = crate::store::audit::conditions(crate::store::TenantId(1), &query, &times);
        params.extend([Param::Int(50), Param::Int(0)]);
        let sql = format!("EXPLAIN QUERY PLAN {}", crate::store::audit::page_sql(&conditions, true));
        let mut conn = store.pool.acquire().await.unwrap();
        let rows = Sqlite::fetch_all(&mut conn, &sql, &params).await.unwrap();
        let plan = rows.iter().map(|r| r.text("detail").unwrap()).collect::<Vec<_>>().join("\n");

        assert!(plan.contains("audit_events_resource (tenant_id=? AND resource_id=?)"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "the page is sorted after reading: {plan}");
    }

    #[tokio::test]
    async fn the_write_ahead_log_reaches_the_database_file_without_a_writer_copying_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let store =
            SqliteStore::connect(&format!("sqlite://{}", path.display()), 2, crate::store::DEFAULT_QUERY_TIMEOUT)
                .await
                .unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let mut conn = store.pool.acquire().await.unwrap();
        let filler = "x".repeat(4000);
        for i in 0..300 {
            let sql = "INSERT INTO settings (name, value) VALUES (?, ?)";
            Sqlite::execute(&mut conn, sql, &[Param::Text(&format!("filler-{i}")), Param::Text(&filler)])
                .await
                .unwrap();
        }
        drop(conn);
        // 300 pages of 4 KB: below SQLite's own threshold of 1,000, so only the task copies them.

        let started = std::time::Instant::now();
        while std::fs::metadata(&path).unwrap().len() <= before {
            assert!(started.elapsed() < CHECKPOINT_EVERY * 5, "the log was not copied in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The temporary files SQLite has open in this process (it names them `etilqs_…`).
    #[cfg(target_os = "linux")]
    fn sqlite_temp_files() -> usize {
        let fds = std::fs::read_dir("/proc/self/fd").unwrap();
        fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().contains("etilqs"))
            .count()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_savepoint_that_changes_a_few_hundred_kilobytes_keeps_its_journal_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 2, crate::store::DEFAULT_QUERY_TIMEOUT).await;
        let mut conn = store.pool.acquire().await.unwrap();
        let filler = "x".repeat(3000);
        for i in 0..60 {
            let sql = "INSERT INTO settings (name, value) VALUES (?, ?)";
            Sqlite::execute(&mut conn, sql, &[Param::Text(&format!("page-{i}")), Param::Text(&filler)]).await.unwrap();
        }
        // A group-committed write: a savepoint inside the batch's transaction, changing pages
        // that were there before it (60 pages, 240 KiB, where SQLite's default bound is 64 KiB).
        Sqlite::execute(&mut conn, "BEGIN IMMEDIATE", &[]).await.unwrap();
        Sqlite::execute(&mut conn, "SAVEPOINT w", &[]).await.unwrap();
        let changed = "UPDATE settings SET value = replace(value, 'x', 'y') WHERE name LIKE 'page-%'";
        Sqlite::execute(&mut conn, changed, &[]).await.unwrap();
        let spilled = sqlite_temp_files();
        Sqlite::execute(&mut conn, "ROLLBACK TO w", &[]).await.unwrap();
        Sqlite::execute(&mut conn, "COMMIT", &[]).await.unwrap();

        assert_eq!(spilled, 0, "the savepoint's journal went to a temporary file");
        let sql = "SELECT count(*) FROM settings WHERE name LIKE 'page-%' AND value = ?";
        let unchanged = Sqlite::fetch_one(&mut conn, sql, &[Param::Text(&filler)]).await.unwrap();
        assert_eq!(unchanged.int(0).unwrap(), 60, "rolling back to the savepoint restored every page");
    }

    /// A store on a new file in `dir`, with `connections` and a query time `budget`.
    async fn open(dir: &tempfile::TempDir, connections: u32, budget: Duration) -> SqliteStore {
        let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
        SqliteStore::connect(&url, connections, budget).await.unwrap()
    }

    /// A grouped write of the setting `name`, marked as one of these tests' writes.
    async fn put(store: &SqliteStore, name: &'static str) -> crate::store::Result<()> {
        store
            .write(move |conn| {
                Box::pin(async move {
                    let sql = "INSERT INTO settings (name, value) VALUES (?, 'x')";
                    Sqlite::execute(conn, sql, &[Param::Text(name)]).await?;
                    Ok(())
                })
            })
            .await
    }

    /// The names `put` wrote that were committed, in order.
    async fn written(store: &SqliteStore) -> Vec<String> {
        let mut conn = store.pool.acquire().await.unwrap();
        let sql = "SELECT name FROM settings WHERE value = 'x' ORDER BY name";
        let rows = Sqlite::fetch_all(&mut conn, sql, &[]).await.unwrap();
        rows.iter().map(|r| r.text(0).unwrap().to_owned()).collect()
    }

    #[tokio::test]
    async fn a_grouped_write_past_its_budget_is_cancelled_alone_and_the_others_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 2, Duration::from_millis(50)).await;
        let put = |name: &'static str| put(&store, name);
        // Counting to a billion takes seconds; the budget is 50 ms.
        let slow = store.write(|conn| {
            Box::pin(async move {
                let sql = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) \
                           SELECT count(*) FROM c";
                Sqlite::fetch_one(conn, sql, &[]).await?;
                Ok(())
            })
        });
        let (before, slow, after) = tokio::join!(put("before"), slow, put("after"));
        assert!(matches!(slow, Err(crate::store::StoreError::Cancelled)), "{slow:?}");
        assert!(before.is_ok() && after.is_ok(), "{before:?} {after:?}");
        assert_eq!(written(&store).await, ["after", "before"]);
    }

    #[tokio::test]
    async fn a_grouped_write_that_fails_after_writing_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 2, crate::store::DEFAULT_QUERY_TIMEOUT).await;
        let put = |name: &'static str| put(&store, name);
        let failing = |name: &'static str| {
            store.write(move |conn| {
                Box::pin(async move {
                    let sql = "INSERT INTO settings (name, value) VALUES (?, 'x')";
                    Sqlite::execute(conn, sql, &[Param::Text(name)]).await?;
                    Err::<(), _>(crate::store::StoreError::NotFound)
                })
            })
        };
        // Queued together, so they share batches: a failing write first, in the middle, last.
        let (a, b, c, d, e, f) = tokio::join!(failing("a"), put("b"), failing("c"), put("d"), put("e"), failing("f"));
        assert!([&a, &c, &f].iter().all(|r| matches!(r, Err(crate::store::StoreError::NotFound))));
        assert!(b.is_ok() && d.is_ok() && e.is_ok(), "{b:?} {d:?} {e:?}");
        assert_eq!(written(&store).await, ["b", "d", "e"]);
    }

    #[tokio::test]
    async fn statements_left_for_the_release_run_with_their_write_and_only_if_it_stands() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 2, crate::store::DEFAULT_QUERY_TIMEOUT).await;
        // Writes `name` now and leaves `later` for the release; fails after that if `fail`.
        let write = |name: &'static str, later: &'static str, fail: bool| {
            store.write(move |conn| {
                Box::pin(async move {
                    let sql = "INSERT INTO settings (name, value) VALUES (?, 'x')";
                    Sqlite::execute(conn, sql, &[Param::Text(name)]).await?;
                    assert!(crate::store::group_commit::with_release(sql, &[Param::Text(later)]));
                    if fail {
                        return Err(crate::store::StoreError::NotFound);
                    }
                    Ok(())
                })
            })
        };
        put(&store, "taken").await.unwrap();
        // Queued together, so they share batches: a write whose later statement fails (the
        // name is taken), one that fails itself, and two that stand.
        let (a, b, c, d) = tokio::join!(
            write("a", "a-later", false),
            write("b", "taken", false),
            write("c", "c-later", true),
            write("d", "d-later", false),
        );
        assert!(a.is_ok() && d.is_ok(), "{a:?} {d:?}");
        assert!(matches!(b, Err(crate::store::StoreError::NotCommitted(_))), "{b:?}");
        assert!(matches!(c, Err(crate::store::StoreError::NotFound)), "{c:?}");
        assert_eq!(written(&store).await, ["a", "a-later", "d", "d-later", "taken"]);
        // Outside a batch there is nothing to leave a statement with.
        assert!(!crate::store::group_commit::with_release("SELECT 1", &[]));
    }

    #[tokio::test]
    async fn a_write_that_panics_loses_its_batch_and_the_writes_after_it_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 2, crate::store::DEFAULT_QUERY_TIMEOUT).await;
        let put = |name: &'static str| put(&store, name);
        put("first").await.unwrap();
        let panicked = store
            .write(|conn| {
                Box::pin(async move {
                    let sql = "INSERT INTO settings (name, value) VALUES ('lost', 'x')";
                    Sqlite::execute(conn, sql, &[]).await?;
                    let _: u32 = "not a number".parse().expect("a write with a bug");
                    Ok(())
                })
            })
            .await;
        assert!(matches!(panicked, Err(crate::store::StoreError::NotCommitted(_))), "{panicked:?}");
        put("after").await.unwrap();
        assert_eq!(written(&store).await, ["after", "first"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_batch_runs_while_the_requests_runtime_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 2, crate::store::DEFAULT_QUERY_TIMEOUT).await;
        let (wrote, written_now) = std::sync::mpsc::channel();
        let write = store.write(move |conn| {
            Box::pin(async move {
                let sql = "INSERT INTO settings (name, value) VALUES ('busy', 'x')";
                Sqlite::execute(conn, sql, &[]).await?;
                let _ = wrote.send(());
                Ok(())
            })
        });
        tokio::pin!(write);
        // One poll queues the write; then this runtime's only thread is kept busy. A committer
        // that is one of its tasks would not run until the thread is free again.
        assert!(futures::poll!(&mut write).is_pending());
        let ran = written_now.recv_timeout(Duration::from_secs(10));
        assert!(ran.is_ok(), "the batch waited for the requests' runtime");
        write.await.unwrap();
        assert_eq!(written(&store).await, ["busy"]);
    }

    /// Marks the connection a grouped write runs on, and answers how many writes marked it
    /// before: a temporary table belongs to its connection.
    async fn mark(group: &GroupCommit<Sqlite>) -> i64 {
        group
            .run(|conn| {
                Box::pin(async move {
                    Sqlite::execute(&mut *conn, "CREATE TEMP TABLE IF NOT EXISTS marks (n INTEGER)", &[]).await?;
                    let before = Sqlite::fetch_one(&mut *conn, "SELECT count(*) FROM temp.marks", &[]).await?.int(0)?;
                    Sqlite::execute(&mut *conn, "INSERT INTO temp.marks VALUES (1)", &[]).await?;
                    Ok(before)
                })
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_committer_keeps_its_connection_between_writes_until_none_comes() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 3, crate::store::DEFAULT_QUERY_TIMEOUT).await;
        let pool = store.pool.clone();
        let keep = Duration::from_millis(300);
        let group = GroupCommit::<Sqlite>::start(pool.clone(), Arc::default(), Duration::from_secs(5), keep).unwrap();
        // Three idle connections: the pool hands out the one idle longest.
        let held = futures::future::join_all((0..3).map(|_| pool.acquire())).await;
        drop(held);
        assert!(idle_soon(&pool, 3).await);

        // One write at a time, as a client that waits for each answer sends them.
        assert_eq!(mark(&group).await, 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(mark(&group).await, 1, "the second write ran on another connection");
        assert_eq!(mark(&group).await, 2);
        // (The store's checkpoints borrow a connection for a moment every second.)
        assert!(idle_soon(&pool, 2).await, "not kept by the committer: {} idle", pool.num_idle());

        // With no write for `keep`, it goes back to the pool.
        tokio::time::sleep(keep).await;
        assert!(idle_soon(&pool, 3).await, "still kept: {} idle", pool.num_idle());
    }

    /// Whether the pool has `n` idle connections within two seconds: a dropped connection goes
    /// back to the pool on a task of its own.
    async fn idle_soon(pool: &sqlx::SqlitePool, n: usize) -> bool {
        for _ in 0..200 {
            if pool.num_idle() == n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// A grouped write of `name` that waits for `go` before it writes.
    async fn put_when(store: &SqliteStore, name: &'static str, go: oneshot::Receiver<()>) -> crate::store::Result<()> {
        store
            .write(move |conn| {
                Box::pin(async move {
                    let _ = go.await;
                    let sql = "INSERT INTO settings (name, value) VALUES (?, 'x')";
                    Sqlite::execute(conn, sql, &[Param::Text(name)]).await?;
                    Ok(())
                })
            })
            .await
    }

    #[tokio::test]
    async fn the_committer_keeps_no_connection_a_waiting_reader_needs() {
        let dir = tempfile::tempdir().unwrap();
        // One connection: the committer, with another write queued, must still give it back
        // between batches, or the reader below waits for a write that waits for the reader.
        let store = open(&dir, 1, crate::store::DEFAULT_QUERY_TIMEOUT).await;
        let (go_a, a_waits) = oneshot::channel();
        let (go_b, b_waits) = oneshot::channel();
        let first = put_when(&store, "a", a_waits);
        let second = async {
            // Queued while the first batch runs.
            tokio::time::sleep(Duration::from_millis(50)).await;
            put_when(&store, "b", b_waits).await
        };
        let reader = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = go_a.send(());
            let seen = written(&store).await;
            let _ = go_b.send(());
            seen
        };
        let all = tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(first, second, reader) }).await;
        let (first, second, seen) = all.expect("the reader waited behind the next batch");
        assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
        assert_eq!(seen, ["a"]);
        assert_eq!(written(&store).await, ["a", "b"]);
    }

    #[tokio::test]
    async fn the_committer_gives_its_connection_to_a_writer_whose_turn_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 2, crate::store::DEFAULT_QUERY_TIMEOUT).await;
        let (go_a, a_waits) = oneshot::channel();
        let (b_done, b_is_in) = oneshot::channel();
        let first = put_when(&store, "a", a_waits);
        // Queued while the first batch runs, so the committer keeps its connection after it.
        let second = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let result = put(&store, "b").await;
            let _ = b_done.send(());
            result
        };
        // A writer outside the batches, waiting for its turn, then for a connection.
        let other = async {
            tokio::time::sleep(Duration::from_millis(60)).await;
            let _turn = store.write_turn().await;
            let mut conn = store.pool.acquire().await.unwrap();
            let sql = "INSERT INTO settings (name, value) VALUES ('w', 'x')";
            Sqlite::execute(&mut conn, sql, &[]).await.unwrap();
        };
        // A reader holding the pool's other connection until the second write is in.
        let holder = async {
            tokio::time::sleep(Duration::from_millis(70)).await;
            let conn = store.pool.acquire().await.unwrap();
            let _ = go_a.send(());
            let _ = b_is_in.await;
            drop(conn);
        };
        let all = async { tokio::join!(first, second, other, holder) };
        let (first, second, (), ()) = tokio::time::timeout(Duration::from_secs(10), all)
            .await
            .expect("the committer held a connection while waiting for the turn of a writer that needed one");
        assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
        assert_eq!(written(&store).await, ["a", "b", "w"]);
    }

    #[tokio::test]
    async fn identity_provider_lookups_and_suffixes_are_index_searches_never_scans() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 1, crate::store::DEFAULT_QUERY_TIMEOUT).await;
        for (filter, index) in [
            ("userName eq \"a@b.c\"", "resources_user_name"),
            ("externalId eq \"x\"", "resources_external_id"),
            ("id eq \"x\"", "id=?)"),
            ("displayName eq \"x\"", "resources_display_name"),
            ("emails.value eq \"a@b.c\"", "resource_values_lookup"),
            ("emails[type eq \"work\" and value eq \"a@b.c\"]", "resource_values_lookup"),
            ("userName ew \"@b.c\"", "resources_user_name_rev"),
            ("emails.value ew \"@b.c\"", "resource_values_suffix"),
            ("emails[type eq \"work\" and value ew \"@b.c\"]", "resource_values_suffix"),
        ] {
            let plan = plan(&store, filter).await;
            println!("{filter}:\n{plan}");
            assert!(plan.contains(index), "{filter} uses {index}:\n{plan}");
            assert!(!plan.lines().any(|l| l.starts_with("SCAN r")), "{filter} scans the table:\n{plan}");
        }
    }
}
