//! The one place sqlx's per-database types meet the store: `Backend` runs a statement with our
//! own `Param`s and hands back rows read through `SqlRow`, so store code needs only `B: Backend`.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sqlx::postgres::PgRow;
use sqlx::query::Query;
use sqlx::sqlite::SqliteRow;
use sqlx::{Database, Encode, Row, Type};

use crate::store::dialect::Dialect;
use crate::store::sql::Bind;

/// A parameter of one statement, borrowed from the caller, so binding copies nothing. The
/// nullable ones are typed: PostgreSQL must know what a NULL stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Param<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Real(f64),
    Bool(bool),
}

impl Bind {
    /// A filter's bound value as a statement parameter.
    pub fn param(&self) -> Param<'_> {
        match self {
            Bind::Text(s) => Param::Text(s),
            Bind::Int(i) => Param::Int(*i),
            Bind::Real(f) => Param::Real(*f),
            Bind::Bool(v) => Param::Bool(*v),
            Bind::NullText => Param::OptText(None),
            Bind::NullInt => Param::OptInt(None),
        }
    }
}

impl Param<'_> {
    /// The parameter as an owned value, for a statement run later.
    pub fn to_bind(&self) -> Bind {
        match *self {
            Param::Text(s) | Param::OptText(Some(s)) => Bind::Text(s.to_owned()),
            Param::Int(i) | Param::OptInt(Some(i)) => Bind::Int(i),
            Param::OptText(None) => Bind::NullText,
            Param::OptInt(None) => Bind::NullInt,
            Param::Real(f) => Bind::Real(f),
            Param::Bool(b) => Bind::Bool(b),
        }
    }
}

/// A connection of backend `B`; a `sqlx::Transaction` or a pooled connection derefs to it, so
/// the same function runs inside and outside a transaction.
pub type Conn<B> = <<B as Backend>::Db as Database>::Connection;

/// A database the SQL store runs on: SQLite or PostgreSQL, nothing else (the trait is sealed).
///
/// Every statement is written with `?` placeholders; the backend turns them into its own.
pub trait Backend: sealed::Sealed + Send + Sync + 'static {
    type Db: Database;
    type Row: SqlRow;
    /// What this database spells differently.
    const DIALECT: &'static dyn Dialect;

    /// Runs a statement; returns how many rows it touched.
    fn execute<'c>(
        conn: &'c mut Conn<Self>,
        sql: &'c str,
        params: &'c [Param<'c>],
    ) -> impl Future<Output = sqlx::Result<u64>> + Send + 'c;

    fn fetch_one<'c>(
        conn: &'c mut Conn<Self>,
        sql: &'c str,
        params: &'c [Param<'c>],
    ) -> impl Future<Output = sqlx::Result<Self::Row>> + Send + 'c;

    fn fetch_optional<'c>(
        conn: &'c mut Conn<Self>,
        sql: &'c str,
        params: &'c [Param<'c>],
    ) -> impl Future<Output = sqlx::Result<Option<Self::Row>>> + Send + 'c;

    fn fetch_all<'c>(
        conn: &'c mut Conn<Self>,
        sql: &'c str,
        params: &'c [Param<'c>],
    ) -> impl Future<Output = sqlx::Result<Vec<Self::Row>>> + Send + 'c;

    /// Makes the statements that follow on `conn` run under `deadline`, where the budget is
    /// counted per connection rather than per statement (SQLite); a no-op elsewhere. The
    /// deadline can then be moved without a round trip to the connection.
    fn watch<'c>(
        conn: &'c mut Conn<Self>,
        deadline: Arc<Deadline>,
    ) -> impl Future<Output = sqlx::Result<()>> + Send + 'c;
}

/// A point in time past which a connection's statements are interrupted, movable from any
/// thread while the connection runs.
#[derive(Debug)]
pub struct Deadline(AtomicU64);

impl Deadline {
    /// `budget` from now.
    pub fn after(budget: Duration) -> Deadline {
        Deadline(AtomicU64::new(since_start() + budget.as_nanos() as u64))
    }

    /// Moves the deadline to `budget` from now.
    pub fn restart(&self, budget: Duration) {
        self.0.store(since_start() + budget.as_nanos() as u64, Ordering::Relaxed);
    }

    pub fn passed(&self) -> bool {
        since_start() > self.0.load(Ordering::Relaxed)
    }
}

/// Nanoseconds since the first deadline of the process.
fn since_start() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

pub(crate) mod sealed {
    pub trait Sealed {}
    impl Sealed for sqlx::Sqlite {}
    impl Sealed for sqlx::Postgres {}
}

/// A result row, read by column name or position; text is borrowed from the row.
pub trait SqlRow: Send + Sync + 'static {
    fn text<I: RowIndex>(&self, col: I) -> sqlx::Result<&str>;
    fn opt_text<I: RowIndex>(&self, col: I) -> sqlx::Result<Option<&str>>;
    fn int<I: RowIndex>(&self, col: I) -> sqlx::Result<i64>;
    fn opt_int<I: RowIndex>(&self, col: I) -> sqlx::Result<Option<i64>>;
}

/// A column name or position, for either database's rows.
pub trait RowIndex: sqlx::ColumnIndex<SqliteRow> + sqlx::ColumnIndex<PgRow> {}
impl RowIndex for &str {}
impl RowIndex for usize {}

impl SqlRow for SqliteRow {
    fn text<I: RowIndex>(&self, col: I) -> sqlx::Result<&str> {
        self.try_get(col)
    }
    fn opt_text<I: RowIndex>(&self, col: I) -> sqlx::Result<Option<&str>> {
        self.try_get(col)
    }
    fn int<I: RowIndex>(&self, col: I) -> sqlx::Result<i64> {
        self.try_get(col)
    }
    fn opt_int<I: RowIndex>(&self, col: I) -> sqlx::Result<Option<i64>> {
        self.try_get(col)
    }
}

impl SqlRow for PgRow {
    fn text<I: RowIndex>(&self, col: I) -> sqlx::Result<&str> {
        self.try_get(col)
    }
    fn opt_text<I: RowIndex>(&self, col: I) -> sqlx::Result<Option<&str>> {
        self.try_get(col)
    }
    fn int<I: RowIndex>(&self, col: I) -> sqlx::Result<i64> {
        self.try_get(col)
    }
    fn opt_int<I: RowIndex>(&self, col: I) -> sqlx::Result<Option<i64>> {
        self.try_get(col)
    }
}

/// `sql` with `params` bound in order: the sqlx bounds every parameter type needs, in one place.
pub(super) fn bound<'q, DB>(sql: &'q str, params: &[Param<'q>]) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    f64: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
{
    let mut query = sqlx::query(sql);
    for param in params {
        query = match *param {
            Param::Text(s) => query.bind(s),
            Param::OptText(s) => query.bind(s),
            Param::Int(i) => query.bind(i),
            Param::OptInt(i) => query.bind(i),
            Param::Real(f) => query.bind(f),
            Param::Bool(b) => query.bind(b),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_passes_after_its_budget_and_moves_when_restarted() {
        let deadline = Deadline::after(Duration::from_millis(20));
        assert!(!deadline.passed());
        std::thread::sleep(Duration::from_millis(30));
        assert!(deadline.passed());
        deadline.restart(Duration::from_secs(60));
        assert!(!deadline.passed());
    }
}
