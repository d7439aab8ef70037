//! The audit log: a row per committed write, inserted in the write's own transaction, so the
//! log holds exactly the changes that happened; read back a page at a time, oldest or newest first.

use time::OffsetDateTime;

use crate::scim::schema::ResourceKind;
use crate::store::backend::{Backend, Conn, Param, SqlRow};
use crate::store::sql_store::{corrupt, now, SqlStore};
use crate::store::{group_commit, sql};
use crate::store::{Actor, AuditEntry, AuditEvent, AuditQuery, Operation, Result, StoreError, TenantId, TokenId};

/// The columns every audit line fills, in the order the statements below list them.
const COLUMNS: &str =
    "INSERT INTO audit_events (tenant_id, at, token_id, actor, request_id, client, operation, resource_type, \
     resource_id, changes)";

/// The actor's four columns: token id, name, request id, client address.
fn actor_params(actor: &Actor) -> [Param<'_>; 4] {
    [
        Param::OptInt(actor.token_id.map(|t| t.0)),
        Param::Text(&actor.name),
        Param::OptText(actor.request_id.as_deref()),
        Param::OptText(actor.client.as_deref()),
    ]
}

/// Records `entry` for the resource `kind`/`id`, inside the caller's transaction.
pub(crate) async fn record<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    kind: ResourceKind,
    id: &str,
    entry: &AuditEntry,
) -> Result<()> {
    record_many::<B>(conn, tenant, std::iter::once((kind.name(), id, entry))).await
}

/// Records `entry` for something of the tenant's that is not a SCIM resource (`Token`,
/// `Domain`), inside the caller's transaction.
pub(crate) async fn record_on<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    resource_type: &str,
    id: &str,
    entry: &AuditEntry,
) -> Result<()> {
    record_many::<B>(conn, tenant, std::iter::once((resource_type, id, entry))).await
}

/// Records `entry` in a transaction of its own: a line that no write carries, such as the
/// outcome of a results mail.
pub(crate) async fn record_alone<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    resource_type: &str,
    id: &str,
    entry: &AuditEntry,
) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    record_on::<B>(&mut tx, tenant, resource_type, id, entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Records entries `(resource type, id, entry)`, a hundred lines per statement, inside the
/// caller's transaction: a batch of inserts pays a few statements, not one per line.
pub(crate) async fn record_many<'e, B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    entries: impl Iterator<Item = (&'e str, &'e str, &'e AuditEntry)>,
) -> Result<()> {
    const ROWS: usize = 100;
    let entries: Vec<_> = entries.collect();
    // Positions are drawn under a shared hold of the tenant's log, kept until the commit: the
    // tenant's writers commit side by side, and a reader's `horizon` waits for the positions
    // drawn before it (SQLite's writers commit in turn anyway).
    hold_log::<B>(conn, tenant).await?;
    let at = now();
    for chunk in entries.chunks(ROWS) {
        let changes: Vec<String> = chunk.iter().map(|(_, _, e)| e.changes.to_string()).collect();
        let mut sql = format!("{COLUMNS} VALUES ");
        let mut params = Vec::with_capacity(chunk.len() * 10);
        for (i, ((resource_type, id, entry), changes)) in chunk.iter().zip(&changes).enumerate() {
            sql.push_str(if i == 0 { "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" } else { ", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" });
            params.extend([Param::Int(tenant.0), Param::Text(&at)]);
            params.extend(actor_params(&entry.actor));
            params.extend([
                Param::Text(entry.operation.as_str()),
                Param::Text(resource_type),
                Param::Text(id),
                Param::Text(changes),
            ]);
        }
        // Nothing in a write reads its own audit lines.
        group_commit::execute_unread::<B>(conn, &sql, &params).await?;
    }
    Ok(())
}

/// Takes the shared hold of the tenant's log that drawing positions needs (`horizon`).
async fn hold_log<B: Backend>(conn: &mut Conn<B>, tenant: TenantId) -> Result<()> {
    if let Some(lock) = B::DIALECT.shared_lock_key() {
        B::execute(&mut *conn, lock, &[Param::Text(&log_key(tenant))]).await?;
    }
    Ok(())
}

fn log_key(tenant: TenantId) -> String {
    format!("audit:{}", tenant.0)
}

/// The newest position of the whole log.
const NEWEST: &str = "SELECT COALESCE(max(seq), 0) FROM audit_events";

/// The position up to which the tenant's log is settled: every line of the tenant's at or
/// before it has committed (or never will), and every line drawn from now on comes after it.
/// A reader following the log by position reads up to here and never skips a line committed
/// late. On PostgreSQL the tenant's writers, which draw positions under a shared hold of its
/// log until their commit, are waited for; SQLite commits its writers' positions in order.
pub(crate) async fn horizon<B: Backend>(store: &SqlStore<B>, tenant: TenantId) -> Result<i64> {
    match B::DIALECT.lock_key() {
        None => {
            let mut conn = store.pool.acquire().await?;
            Ok(B::fetch_one(&mut conn, NEWEST, &[]).await?.int(0)?)
        }
        Some(lock) => {
            let mut tx = store.begin_write().await?;
            B::execute(&mut tx, lock, &[Param::Text(&log_key(tenant))]).await?;
            let newest = B::fetch_one(&mut tx, NEWEST, &[]).await?.int(0)?;
            tx.commit().await?;
            Ok(newest)
        }
    }
}

/// Records, for every user deleted before `before`, that `actor` purged it: the rows the
/// caller's transaction is about to delete.
pub(crate) async fn record_purges<B: Backend>(conn: &mut Conn<B>, before: &str, actor: &Actor) -> Result<()> {
    if B::DIALECT.shared_lock_key().is_some() {
        let rows = B::fetch_all(
            &mut *conn,
            "SELECT DISTINCT tenant_id FROM resources WHERE deleted_at IS NOT NULL AND deleted_at < ? \
             ORDER BY tenant_id",
            &[Param::Text(before)],
        )
        .await?;
        for row in &rows {
            hold_log::<B>(conn, TenantId(row.int(0)?)).await?;
        }
    }
    let at = now();
    let sql = format!(
        "{COLUMNS} SELECT tenant_id, ?, ?, ?, ?, ?, 'purge', kind, id, '{{}}' FROM resources \
         WHERE deleted_at IS NOT NULL AND deleted_at < ?"
    );
    let [token, name, request, client] = actor_params(actor);
    B::execute(conn, &sql, &[Param::Text(&at), token, name, request, client, Param::Text(before)]).await?;
    Ok(())
}

pub(crate) async fn events<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    query: &AuditQuery,
) -> Result<(u64, Vec<AuditEvent>)> {
    let times = [query.since.map(sql::format_time), query.until.map(sql::format_time)];
    let (conditions, params) = conditions(tenant, query, &times);
    let mut conn = store.pool.acquire().await?;
    let total = B::fetch_one(&mut conn, &format!("SELECT count(*) FROM audit_events WHERE {conditions}"), &params)
        .await?
        .int(0)?;
    let mut page_params = params.clone();
    page_params.push(Param::Int(query.count as i64));
    page_params.push(Param::Int(query.start_index.saturating_sub(1) as i64));
    let rows = B::fetch_all(&mut conn, &page_sql(&conditions, query.newest_first), &page_params).await?;
    let events = rows.iter().map(event).collect::<Result<Vec<_>>>()?;
    Ok((u64::try_from(total).unwrap_or(0), events))
}

/// The WHERE clause selecting `query`'s lines of the tenant, and its parameters; `times` are
/// the query's `since` and `until` as stored. Only the conditions given go in: written as
/// `(? IS NULL OR column = ?)` they would hide from the planner that a resource's history is
/// one range of its index.
pub(crate) fn conditions<'q>(
    tenant: TenantId,
    query: &'q AuditQuery,
    times: &'q [Option<String>; 2],
) -> (String, Vec<Param<'q>>) {
    let mut conditions = String::from("tenant_id = ?");
    let mut params = vec![Param::Int(tenant.0)];
    let given = [
        (" AND resource_type = ?", query.resource_type.as_deref().map(Param::Text)),
        (" AND resource_id = ?", query.resource_id.as_deref().map(Param::Text)),
        (" AND operation = ?", query.operation.map(|o| Param::Text(o.as_str()))),
        (" AND token_id = ?", query.token_id.map(|t| Param::Int(t.0))),
        (" AND at >= ?", times[0].as_deref().map(Param::Text)),
        (" AND at <= ?", times[1].as_deref().map(Param::Text)),
    ];
    for (condition, param) in given {
        if let Some(param) = param {
            conditions.push_str(condition);
            params.push(param);
        }
    }
    (conditions, params)
}

/// A page of the lines `conditions` selects; binds the page size and offset after them.
pub(crate) fn page_sql(conditions: &str, newest_first: bool) -> String {
    let order = if newest_first { "seq DESC" } else { "seq" };
    format!(
        "SELECT seq, at, token_id, actor, request_id, client, operation, resource_type, resource_id, changes \
         FROM audit_events WHERE {conditions} ORDER BY {order} LIMIT ? OFFSET ?"
    )
}

fn event(row: &impl SqlRow) -> Result<AuditEvent> {
    let operation = row.text("operation")?;
    Ok(AuditEvent {
        seq: row.int("seq")?,
        at: sql::parse_time(row.text("at")?)?,
        actor: Actor {
            token_id: row.opt_int("token_id")?.map(TokenId),
            name: row.text("actor")?.to_owned(),
            request_id: row.opt_text("request_id")?.map(str::to_owned),
            client: row.opt_text("client")?.map(str::to_owned),
        },
        operation: Operation::parse(operation).ok_or_else(|| corrupt("audit operation", operation))?,
        resource_type: row.text("resource_type")?.to_owned(),
        resource_id: row.text("resource_id")?.to_owned(),
        changes: serde_json::from_str(row.text("changes")?).map_err(|e| corrupt("audit changes", e))?,
    })
}

/// Up to `limit` of the tenant's lines after position `after`, in position order, up to its
/// `horizon`.
pub(crate) async fn after<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    after: i64,
    limit: u64,
) -> Result<Vec<AuditEvent>> {
    let upto = horizon(store, tenant).await?;
    let mut conn = store.pool.acquire().await?;
    let rows = B::fetch_all(
        &mut conn,
        "SELECT seq, at, token_id, actor, request_id, client, operation, resource_type, resource_id, changes \
         FROM audit_events WHERE seq > ? AND seq <= ? AND tenant_id = ? ORDER BY seq LIMIT ?",
        &[
            Param::Int(after),
            Param::Int(upto),
            Param::Int(tenant.0),
            Param::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
        ],
    )
    .await?;
    rows.iter().map(event).collect()
}

/// How many of the tenant's resource writes follow position `after`, counting at most `cap`.
pub(crate) async fn resource_writes_after<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    after: i64,
    cap: u64,
) -> Result<u64> {
    let mut conn = store.pool.acquire().await?;
    let n = B::fetch_one(
        &mut conn,
        "SELECT count(*) FROM (SELECT 1 FROM audit_events WHERE seq > ? AND tenant_id = ? \
         AND resource_type IN ('User', 'Group', 'License') AND operation <> 'purge' LIMIT ?) AS pending",
        &[Param::Int(after), Param::Int(tenant.0), Param::Int(i64::try_from(cap).unwrap_or(i64::MAX))],
    )
    .await?
    .int(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) async fn purge_before<B: Backend>(store: &SqlStore<B>, before: OffsetDateTime) -> Result<u64> {
    let before = sql::format_time(before);
    let mut conn = store.pool.acquire().await?;
    let done = B::execute(&mut conn, "DELETE FROM audit_events WHERE at < ?", &[Param::Text(&before)]).await;
    done.map_err(StoreError::from)
}
