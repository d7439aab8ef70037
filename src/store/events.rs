//! Event delivery bookkeeping: push subscriptions with their cursors, retries and dead letters,
//! and token poll streams. The events themselves are the audit log's lines (`audit_after`).

use time::OffsetDateTime;

use crate::store::audit;
use crate::store::backend::{Backend, Param, SqlRow};
use crate::store::sql;
use crate::store::sql_store::{corrupt, now, touched, SqlStore};
use crate::store::{
    Actor, AuditEntry, DeadLetter, Delivery, NewSubscription, Operation, PollStream, Result, Subscription, TenantId,
    TokenId,
};

const SUBSCRIPTION_SELECT: &str = "SELECT s.id, s.tenant_id, s.endpoint, s.event_types, s.secret, s.created, \
     s.cursor, s.attempts, s.retry_at, s.delivered, s.last_delivery, s.last_error, s.last_error_at, \
     (SELECT count(*) FROM dead_letters d WHERE d.subscription_id = s.id) AS dead_letters FROM subscriptions s";

fn subscription(row: &impl SqlRow) -> Result<Subscription> {
    let time = |col: &str| -> Result<Option<OffsetDateTime>> { row.opt_text(col)?.map(sql::parse_time).transpose() };
    let types = row.text("event_types")?;
    Ok(Subscription {
        id: row.text("id")?.to_owned(),
        tenant: TenantId(row.int("tenant_id")?),
        endpoint: row.text("endpoint")?.to_owned(),
        event_types: serde_json::from_str(types).map_err(|e| corrupt("event types", e))?,
        secret: row.text("secret")?.to_owned(),
        created: sql::parse_time(row.text("created")?)?,
        cursor: row.int("cursor")?,
        attempts: row.int("attempts")?,
        retry_at: time("retry_at")?,
        delivered: row.int("delivered")?,
        last_delivery: time("last_delivery")?,
        last_error: row.opt_text("last_error")?.map(str::to_owned),
        last_error_at: time("last_error_at")?,
        dead_letters: row.int("dead_letters")?,
    })
}

pub(crate) async fn create<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    new: &NewSubscription,
    actor: &Actor,
) -> Result<Subscription> {
    let types = serde_json::to_string(&new.event_types).map_err(|e| corrupt("event types", e))?;
    let created = now();
    // The subscription starts at the tenant's log as settled now: every event not committed
    // by then comes after it.
    let cursor = audit::horizon(store, tenant).await?;
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let changes = serde_json::json!({"endpoint": {"after": new.endpoint}, "events": {"after": new.event_types}});
    let entry = AuditEntry::new(actor, Operation::Create, changes);
    audit::record_on::<B>(&mut tx, tenant, "Subscription", &new.id, &entry).await?;
    B::execute(
        &mut tx,
        "INSERT INTO subscriptions (id, tenant_id, endpoint, event_types, secret, created, cursor) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        &[
            Param::Text(&new.id),
            Param::Int(tenant.0),
            Param::Text(&new.endpoint),
            Param::Text(&types),
            Param::Text(&new.secret),
            Param::Text(&created),
            Param::Int(cursor),
        ],
    )
    .await?;
    let sql = format!("{SUBSCRIPTION_SELECT} WHERE s.id = ?");
    let row = B::fetch_one(&mut tx, &sql, &[Param::Text(&new.id)]).await?;
    let out = subscription(&row)?;
    tx.commit().await?;
    Ok(out)
}

pub(crate) async fn list<B: Backend>(store: &SqlStore<B>, tenant: Option<TenantId>) -> Result<Vec<Subscription>> {
    let sql = format!("{SUBSCRIPTION_SELECT} WHERE (? IS NULL OR s.tenant_id = ?) ORDER BY s.created, s.id");
    let t = tenant.map(|t| t.0);
    let mut conn = store.pool.acquire().await?;
    let rows = B::fetch_all(&mut conn, &sql, &[Param::OptInt(t), Param::OptInt(t)]).await?;
    rows.iter().map(subscription).collect()
}

pub(crate) async fn get<B: Backend>(store: &SqlStore<B>, tenant: TenantId, id: &str) -> Result<Subscription> {
    let sql = format!("{SUBSCRIPTION_SELECT} WHERE s.id = ? AND s.tenant_id = ?");
    let mut conn = store.pool.acquire().await?;
    let row = B::fetch_optional(&mut conn, &sql, &[Param::Text(id), Param::Int(tenant.0)]).await?;
    row.map(|r| subscription(&r)).transpose()?.ok_or(crate::store::StoreError::NotFound)
}

pub(crate) async fn remove<B: Backend>(store: &SqlStore<B>, tenant: TenantId, id: &str, actor: &Actor) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    B::execute(&mut tx, "DELETE FROM dead_letters WHERE subscription_id = ?", &[Param::Text(id)]).await?;
    let gone = B::execute(
        &mut tx,
        "DELETE FROM subscriptions WHERE id = ? AND tenant_id = ?",
        &[Param::Text(id), Param::Int(tenant.0)],
    )
    .await?;
    touched(gone)?;
    let entry = AuditEntry::new(actor, Operation::Delete, serde_json::json!({}));
    audit::record_on::<B>(&mut tx, tenant, "Subscription", id, &entry).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn dead_letters<B: Backend>(store: &SqlStore<B>, id: &str, limit: u64) -> Result<Vec<DeadLetter>> {
    let mut conn = store.pool.acquire().await?;
    let rows = B::fetch_all(
        &mut conn,
        "SELECT event_seq, jti, error, at FROM dead_letters WHERE subscription_id = ? ORDER BY event_seq DESC LIMIT ?",
        &[Param::Text(id), Param::Int(i64::try_from(limit).unwrap_or(i64::MAX))],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeadLetter {
                seq: r.int("event_seq")?,
                jti: r.text("jti")?.to_owned(),
                error: r.text("error")?.to_owned(),
                at: sql::parse_time(r.text("at")?)?,
            })
        })
        .collect()
}

pub(crate) async fn lease<B: Backend>(
    store: &SqlStore<B>,
    id: &str,
    owner: &str,
    until: OffsetDateTime,
) -> Result<bool> {
    let (now, until) = (now(), sql::format_time(until));
    let _turn = store.write_turn().await;
    let mut conn = store.pool.acquire().await?;
    let taken = B::execute(
        &mut conn,
        "UPDATE subscriptions SET lease_owner = ?, lease_until = ? \
         WHERE id = ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)",
        &[Param::Text(owner), Param::Text(&until), Param::Text(id), Param::Text(&now), Param::Text(owner)],
    )
    .await?;
    Ok(taken == 1)
}

pub(crate) async fn record<B: Backend>(store: &SqlStore<B>, id: &str, delivery: &Delivery) -> Result<()> {
    let at = now();
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    match delivery {
        Delivery::Delivered { cursor, count } => {
            B::execute(
                &mut tx,
                "UPDATE subscriptions SET cursor = ?, delivered = delivered + ?, last_delivery = ?, attempts = 0, \
                 retry_at = NULL WHERE id = ? AND cursor <= ?",
                &[Param::Int(*cursor), Param::Int(*count), Param::Text(&at), Param::Text(id), Param::Int(*cursor)],
            )
            .await?;
        }
        Delivery::Failed { error, attempts, retry_at } => {
            let retry_at = sql::format_time(*retry_at);
            B::execute(
                &mut tx,
                "UPDATE subscriptions SET attempts = ?, retry_at = ?, last_error = ?, last_error_at = ? WHERE id = ?",
                &[Param::Int(*attempts), Param::Text(&retry_at), Param::Text(error), Param::Text(&at), Param::Text(id)],
            )
            .await?;
        }
        Delivery::GivenUp { seq, jti, error } => {
            B::execute(
                &mut tx,
                "INSERT INTO dead_letters (subscription_id, event_seq, jti, error, at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (subscription_id, event_seq) DO NOTHING",
                &[Param::Text(id), Param::Int(*seq), Param::Text(jti), Param::Text(error), Param::Text(&at)],
            )
            .await?;
            B::execute(
                &mut tx,
                "UPDATE subscriptions SET cursor = ?, attempts = 0, retry_at = NULL, last_error = ?, \
                 last_error_at = ? WHERE id = ? AND cursor < ?",
                &[Param::Int(*seq), Param::Text(error), Param::Text(&at), Param::Text(id), Param::Int(*seq)],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The token's stream; a token that never polled starts right after its own creation line
/// (or, when that line is gone, at the newest position).
pub(crate) async fn poll_stream<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    token: TokenId,
) -> Result<PollStream> {
    let mut conn = store.pool.acquire().await?;
    let row = B::fetch_optional(
        &mut conn,
        "SELECT cursor, acked FROM poll_streams WHERE token_id = ?",
        &[Param::Int(token.0)],
    )
    .await?;
    if let Some(row) = row {
        let acked = serde_json::from_str(row.text("acked")?).map_err(|e| corrupt("acknowledgements", e))?;
        return Ok(PollStream { cursor: row.int("cursor")?, acked });
    }
    let created = B::fetch_optional(
        &mut conn,
        "SELECT seq FROM audit_events WHERE tenant_id = ? AND resource_id = ? AND resource_type = 'Token' \
         AND operation = 'create' ORDER BY seq LIMIT 1",
        &[Param::Int(tenant.0), Param::Text(&token.0.to_string())],
    )
    .await?;
    drop(conn);
    let cursor = match created {
        Some(row) => row.int(0)?,
        None => audit::horizon(store, tenant).await?,
    };
    let stream = PollStream { cursor, acked: Vec::new() };
    let _turn = store.write_turn().await;
    let mut conn = store.pool.acquire().await?;
    B::execute(
        &mut conn,
        "INSERT INTO poll_streams (token_id, tenant_id, cursor, acked) VALUES (?, ?, ?, '[]') \
         ON CONFLICT (token_id) DO NOTHING",
        &[Param::Int(token.0), Param::Int(tenant.0), Param::Int(cursor)],
    )
    .await?;
    Ok(stream)
}

pub(crate) async fn save_poll_stream<B: Backend>(
    store: &SqlStore<B>,
    token: TokenId,
    stream: &PollStream,
) -> Result<()> {
    let acked = serde_json::to_string(&stream.acked).map_err(|e| corrupt("acknowledgements", e))?;
    let _turn = store.write_turn().await;
    let mut conn = store.pool.acquire().await?;
    B::execute(
        &mut conn,
        "UPDATE poll_streams SET cursor = ?, acked = ? WHERE token_id = ?",
        &[Param::Int(stream.cursor), Param::Text(&acked), Param::Int(token.0)],
    )
    .await?;
    Ok(())
}
