//! The embedded store: SQLite in WAL mode with a busy timeout; every write is one
//! `BEGIN IMMEDIATE` transaction so writers queue for the lock instead of failing midway.
//!
//! The queries are shared with PostgreSQL (`store::shared`); this file only opens the database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::store::sql;
use crate::store::Result;

/// How long a statement waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and runs the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a write acknowledged to a client survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .collation(sql::FOLD_COLLATION, |a, b| sql::fold(a).cmp(&sql::fold(b)))
            .with_regexp();
        let pool = SqlitePoolOptions::new().max_connections(max_connections.max(1)).connect_with(options).await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

crate::sql_store!(SqliteStore, sqlx::Sqlite, crate::store::sql::SqliteDialect);
