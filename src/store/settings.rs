//! Settings shared by every process on one database (such as the cursor-signing key): the
//! first writer of a setting wins, everyone reads its value. Also the named locks with an
//! expiry that keep two runs of one HR sync apart.

use crate::store::backend::{Backend, Param, SqlRow};
use crate::store::sql_store::SqlStore;
use crate::store::Result;

/// The setting `name`, set to `initial` if it has no value yet.
pub(crate) async fn setting<B: Backend>(store: &SqlStore<B>, name: &str, initial: &str) -> Result<String> {
    let mut conn = store.pool.acquire().await?;
    B::execute(
        &mut conn,
        "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        &[Param::Text(name), Param::Text(initial)],
    )
    .await?;
    let row = B::fetch_one(&mut conn, "SELECT value FROM settings WHERE name = ?", &[Param::Text(name)]).await?;
    Ok(row.text(0)?.to_owned())
}

/// Takes (or, for its holder, extends) the lock `name` until `until` (Unix milliseconds):
/// true when `holder` has it now, false while another holder's lock has not expired at `now`.
/// One statement, so two processes racing for a free lock cannot both win.
pub(crate) async fn try_lock<B: Backend>(
    store: &SqlStore<B>,
    name: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> Result<bool> {
    let mut conn = store.pool.acquire().await?;
    B::execute(
        &mut conn,
        "INSERT INTO import_locks (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE \
         SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE import_locks.expires_at < ? OR import_locks.holder = excluded.holder",
        &[Param::Text(name), Param::Text(holder), Param::Int(until), Param::Int(now)],
    )
    .await?;
    let row = B::fetch_one(&mut conn, "SELECT holder FROM import_locks WHERE name = ?", &[Param::Text(name)]).await?;
    Ok(row.text(0)? == holder)
}

/// Frees the lock `name` if `holder` still has it.
pub(crate) async fn unlock<B: Backend>(store: &SqlStore<B>, name: &str, holder: &str) -> Result<()> {
    let mut conn = store.pool.acquire().await?;
    B::execute(
        &mut conn,
        "DELETE FROM import_locks WHERE name = ? AND holder = ?",
        &[Param::Text(name), Param::Text(holder)],
    )
    .await?;
    Ok(())
}

/// Who holds the lock `name`, and until when (Unix milliseconds), if anyone does.
pub(crate) async fn lock_holder<B: Backend>(store: &SqlStore<B>, name: &str) -> Result<Option<(String, i64)>> {
    let mut conn = store.pool.acquire().await?;
    let row = B::fetch_optional(
        &mut conn,
        "SELECT holder, expires_at FROM import_locks WHERE name = ?",
        &[Param::Text(name)],
    )
    .await?;
    row.map(|r| Ok((r.text("holder")?.to_owned(), r.int("expires_at")?))).transpose()
}

/// Hands the lock `name` from `from` to `holder` until `until`: true when `from` still had it.
/// The holder is compared in the statement, so of two runs taking over one lock only one wins.
pub(crate) async fn take_over_lock<B: Backend>(
    store: &SqlStore<B>,
    name: &str,
    from: &str,
    holder: &str,
    until: i64,
) -> Result<bool> {
    let mut conn = store.pool.acquire().await?;
    let done = B::execute(
        &mut conn,
        "UPDATE import_locks SET holder = ?, expires_at = ? WHERE name = ? AND holder = ?",
        &[Param::Text(holder), Param::Int(until), Param::Text(name), Param::Text(from)],
    )
    .await?;
    Ok(done == 1)
}
