//! The shared store: PostgreSQL, for several scimd processes behind a load balancer. Uniqueness,
//! versions and membership are enforced by the database, never by one process's memory.
//!
//! The queries are shared with SQLite (`store::sql_store`); this file opens the database and
//! runs statements on it for the generic store.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, Postgres};

use crate::store::backend::{bound, Backend, Deadline, Param};
use crate::store::dialect::{Dialect, PostgresDialect};
use crate::store::sql;
use crate::store::sql_store::{fold_old_documents, SqlStore};
use crate::store::Result;

/// The store on PostgreSQL, which takes concurrent writers: row locks and constraints order
/// them, so there is no write lock in the process.
pub type PgStore = SqlStore<Postgres>;

/// Statements are written with `?`; PostgreSQL numbers its placeholders (`$1`, `$2`, …).
impl Backend for Postgres {
    type Db = Postgres;
    type Row = PgRow;
    const DIALECT: &'static dyn Dialect = &PostgresDialect;

    async fn execute<'c>(conn: &'c mut PgConnection, sql: &'c str, params: &'c [Param<'c>]) -> sqlx::Result<u64> {
        Ok(bound(&PostgresDialect.numbered(sql), params).execute(conn).await?.rows_affected())
    }

    async fn fetch_one<'c>(conn: &'c mut PgConnection, sql: &'c str, params: &'c [Param<'c>]) -> sqlx::Result<PgRow> {
        bound(&PostgresDialect.numbered(sql), params).fetch_one(conn).await
    }

    async fn fetch_optional<'c>(
        conn: &'c mut PgConnection,
        sql: &'c str,
        params: &'c [Param<'c>],
    ) -> sqlx::Result<Option<PgRow>> {
        bound(&PostgresDialect.numbered(sql), params).fetch_optional(conn).await
    }

    async fn fetch_all<'c>(
        conn: &'c mut PgConnection,
        sql: &'c str,
        params: &'c [Param<'c>],
    ) -> sqlx::Result<Vec<PgRow>> {
        bound(&PostgresDialect.numbered(sql), params).fetch_all(conn).await
    }

    async fn watch(_conn: &mut PgConnection, _deadline: Arc<Deadline>) -> sqlx::Result<()> {
        // statement_timeout counts per statement already.
        Ok(())
    }
}

impl SqlStore<Postgres> {
    /// Connects to `url` and runs the migrations; each statement runs under `query_timeout`.
    pub async fn connect(url: &str, max_connections: u32, query_timeout: Duration) -> Result<Self> {
        Self::connect_in_schema(url, max_connections, None, query_timeout).await
    }

    /// Connects with `search_path` set to `schema` (created if missing), so that several
    /// independent stores can share one database, as the tests do.
    pub async fn connect_in_schema(
        url: &str,
        max_connections: u32,
        schema: Option<&str>,
        query_timeout: Duration,
    ) -> Result<Self> {
        let mut options = PgConnectOptions::from_str(url)?;
        // One plain connection first: an unreachable server fails here at once, where the pool
        // would keep retrying until its acquire timeout. It runs the migrations too, outside
        // the time budget: one that rebuilds an index of a million users may take longer.
        let mut conn = PgConnection::connect_with(&options).await?;
        if let Some(schema) = schema {
            let schema = schema.replace('"', "");
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")).execute(&mut conn).await?;
            sqlx::query(&format!("SET search_path TO \"{schema}\"")).execute(&mut conn).await?;
            // Named after the schema, so an operator (or a test's cleanup) can tell the
            // connections of one store from another's in pg_stat_activity.
            options = options.options([("search_path", schema.as_str())]).application_name(&schema);
        }
        sqlx::migrate!("migrations/postgres").run(&mut conn).await?;
        fold_old_documents::<Postgres>(&mut conn).await?;
        // Fresh statistics, so the planner picks the lookup indexes even where autovacuum is
        // off or has not run yet; ANALYZE samples a bounded number of rows, so it stays quick.
        sqlx::query("ANALYZE resources, members, resource_values").execute(&mut conn).await?;
        conn.close().await?;
        let options = options.options([("statement_timeout", format!("{}ms", query_timeout.as_millis()))]);
        let pool = PgPoolOptions::new().max_connections(max_connections.max(1)).connect_with(options.clone()).await?;
        let probe = sql::probe_pool().connect_with(options).await?;
        Ok(SqlStore { pool, probe, write_lock: None, group: None })
    }
}
