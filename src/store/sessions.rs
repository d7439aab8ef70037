//! Admin-center sessions, shared by every process on the database: opening one (keeping at
//! most a bound per token), finding one with its token in one read, renewing, ending, purging.

use crate::store::backend::{Backend, Param, SqlRow};
use crate::store::sql_store::{now, SqlStore};
use crate::store::tokens::{token_record, TOKEN_COLUMNS};
use crate::store::{NewSession, Result, SessionRecord};

/// Stores `new`; of its token's sessions, those expired by `now` and all but the `keep` that
/// expire last go, so a loop of sign-ins cannot grow the table.
pub(crate) async fn open_session<B: Backend>(
    store: &SqlStore<B>,
    new: &NewSession,
    now_ms: i64,
    keep: u64,
) -> Result<()> {
    let created = now();
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    let token = new.token.0;
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    B::execute(
        &mut tx,
        "INSERT INTO console_sessions (id_hash, token_id, csrf, created, expires_at) VALUES (?, ?, ?, ?, ?)",
        &[
            Param::Text(&new.id_hash),
            Param::Int(token),
            Param::Text(&new.csrf),
            Param::Text(&created),
            Param::Int(new.expires_at),
        ],
    )
    .await?;
    B::execute(
        &mut tx,
        "DELETE FROM console_sessions WHERE token_id = ? AND (expires_at <= ? OR id_hash NOT IN \
         (SELECT id_hash FROM console_sessions WHERE token_id = ? ORDER BY expires_at DESC, id_hash LIMIT ?))",
        &[Param::Int(token), Param::Int(now_ms), Param::Int(token), Param::Int(keep)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The session whose id hashes to `id_hash`, with its token, unless it expired by `now_ms`
/// (then it is removed).
pub(crate) async fn session<B: Backend>(
    store: &SqlStore<B>,
    id_hash: &str,
    now_ms: i64,
) -> Result<Option<SessionRecord>> {
    let sql = format!(
        "SELECT {TOKEN_COLUMNS}, s.csrf, s.flash, s.expires_at FROM console_sessions s \
         JOIN tokens t ON t.id = s.token_id JOIN tenants n ON n.id = t.tenant_id WHERE s.id_hash = ?"
    );
    let mut conn = store.pool.acquire().await?;
    let Some(row) = B::fetch_optional(&mut conn, &sql, &[Param::Text(id_hash)]).await? else { return Ok(None) };
    let expires_at = row.int("expires_at")?;
    if expires_at <= now_ms {
        B::execute(&mut conn, "DELETE FROM console_sessions WHERE id_hash = ?", &[Param::Text(id_hash)]).await?;
        return Ok(None);
    }
    Ok(Some(SessionRecord {
        token: token_record(&row)?,
        csrf: row.text("csrf")?.to_owned(),
        flash: row.opt_text("flash")?.map(str::to_owned),
        expires_at,
    }))
}

/// Moves the session's expiry to `expires_at`.
pub(crate) async fn touch_session<B: Backend>(store: &SqlStore<B>, id_hash: &str, expires_at: i64) -> Result<()> {
    let mut conn = store.pool.acquire().await?;
    B::execute(
        &mut conn,
        "UPDATE console_sessions SET expires_at = ? WHERE id_hash = ?",
        &[Param::Int(expires_at), Param::Text(id_hash)],
    )
    .await?;
    Ok(())
}

/// Sets (or, with `None`, clears) the message for the session's next page.
pub(crate) async fn set_session_flash<B: Backend>(
    store: &SqlStore<B>,
    id_hash: &str,
    flash: Option<&str>,
) -> Result<()> {
    let mut conn = store.pool.acquire().await?;
    B::execute(
        &mut conn,
        "UPDATE console_sessions SET flash = ? WHERE id_hash = ?",
        &[Param::OptText(flash), Param::Text(id_hash)],
    )
    .await?;
    Ok(())
}

pub(crate) async fn close_session<B: Backend>(store: &SqlStore<B>, id_hash: &str) -> Result<()> {
    let mut conn = store.pool.acquire().await?;
    B::execute(&mut conn, "DELETE FROM console_sessions WHERE id_hash = ?", &[Param::Text(id_hash)]).await?;
    Ok(())
}

/// Removes every session expired by `now_ms`; returns how many.
pub(crate) async fn purge_sessions<B: Backend>(store: &SqlStore<B>, now_ms: i64) -> Result<u64> {
    let mut conn = store.pool.acquire().await?;
    Ok(B::execute(&mut conn, "DELETE FROM console_sessions WHERE expires_at <= ?", &[Param::Int(now_ms)]).await?)
}
