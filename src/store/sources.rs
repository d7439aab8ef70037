//! A tenant's stored HR sources (`import_sources`): the column map and valve a sync of each
//! runs with. The map is kept as the JSON given; the service reads and checks it. Also what
//! syncs last applied to each user (`import_fingerprints`).

use serde_json::json;

use crate::scim::schema::DIRECTORY_USER;
use crate::store::audit;
use crate::store::backend::{Backend, Param, SqlRow};
use crate::store::sql;
use crate::store::sql_store::{now, touched, SqlStore};
use crate::store::{Actor, AuditEntry, Fingerprint, ImportSource, Operation, Result, SourceUser, StoreError, TenantId};

const SELECT: &str = "SELECT name, column_map, max_deactivate, created, updated FROM import_sources";

fn source(row: &impl SqlRow) -> Result<ImportSource> {
    Ok(ImportSource {
        name: row.text("name")?.to_owned(),
        column_map: row.text("column_map")?.to_owned(),
        max_deactivate: row.text("max_deactivate")?.to_owned(),
        created: sql::parse_time(row.text("created")?)?,
        updated: sql::parse_time(row.text("updated")?)?,
    })
}

/// Adds the source, or replaces the map and valve of the one of that name (keeping when it was
/// first added); true when it replaced one. The insert that does nothing decides, so two adds
/// racing for one name cannot both say they added it.
pub(crate) async fn put<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    new: &ImportSource,
    actor: &Actor,
) -> Result<bool> {
    let at = now();
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let inserted = B::execute(
        &mut tx,
        "INSERT INTO import_sources (tenant_id, name, column_map, max_deactivate, created, updated) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, name) DO NOTHING",
        &[
            Param::Int(tenant.0),
            Param::Text(&new.name),
            Param::Text(&new.column_map),
            Param::Text(&new.max_deactivate),
            Param::Text(&at),
            Param::Text(&at),
        ],
    )
    .await?;
    let replaced = inserted == 0;
    if replaced {
        let done = B::execute(
            &mut tx,
            "UPDATE import_sources SET column_map = ?, max_deactivate = ?, updated = ? \
             WHERE tenant_id = ? AND name = ?",
            &[
                Param::Text(&new.column_map),
                Param::Text(&new.max_deactivate),
                Param::Text(&at),
                Param::Int(tenant.0),
                Param::Text(&new.name),
            ],
        )
        .await?;
        touched(done)?;
    }
    let operation = if replaced { Operation::Replace } else { Operation::Create };
    let entry = AuditEntry::new(actor, operation, json!({"maxDeactivate": {"after": new.max_deactivate}}));
    audit::record_on::<B>(&mut tx, tenant, "ImportSource", &new.name, &entry).await?;
    tx.commit().await?;
    Ok(replaced)
}

/// The tenant's sources by name.
pub(crate) async fn list<B: Backend>(store: &SqlStore<B>, tenant: TenantId) -> Result<Vec<ImportSource>> {
    let mut conn = store.pool.acquire().await?;
    let rows = B::fetch_all(&mut conn, &format!("{SELECT} WHERE tenant_id = ? ORDER BY name"), &[Param::Int(tenant.0)])
        .await?;
    rows.iter().map(source).collect()
}

/// The source `name`; `NotFound` when the tenant has none of that name.
pub(crate) async fn get<B: Backend>(store: &SqlStore<B>, tenant: TenantId, name: &str) -> Result<ImportSource> {
    let mut conn = store.pool.acquire().await?;
    let row = B::fetch_optional(
        &mut conn,
        &format!("{SELECT} WHERE tenant_id = ? AND name = ?"),
        &[Param::Int(tenant.0), Param::Text(name)],
    )
    .await?;
    row.as_ref().map(source).transpose()?.ok_or(StoreError::NotFound)
}

/// Removes the source `name`; `NotFound` when the tenant has none of that name.
pub(crate) async fn remove<B: Backend>(store: &SqlStore<B>, tenant: TenantId, name: &str, actor: &Actor) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let done = B::execute(
        &mut tx,
        "DELETE FROM import_sources WHERE tenant_id = ? AND name = ?",
        &[Param::Int(tenant.0), Param::Text(name)],
    )
    .await?;
    touched(done)?;
    let entry = AuditEntry::new(actor, Operation::Delete, json!({}));
    audit::record_on::<B>(&mut tx, tenant, "ImportSource", name, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Users one statement reads the fingerprints of at most.
const PRINTS_PER_STATEMENT: usize = 500;
/// Users one statement writes the fingerprints of at most: a SELECT each, and SQLite takes at
/// most 500 in one compound SELECT.
const PRINTS_WRITTEN_PER_STATEMENT: usize = 200;

pub(crate) async fn fingerprints<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    source: &str,
    seqs: &[i64],
) -> Result<Vec<Fingerprint>> {
    let mut conn = store.pool.acquire().await?;
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(PRINTS_PER_STATEMENT) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT f.resource_seq, f.row_hash, f.version FROM import_fingerprints f \
             JOIN resources r ON r.seq = f.resource_seq \
             WHERE r.tenant_id = ? AND f.source = ? AND f.resource_seq IN ({marks})"
        );
        let mut params = vec![Param::Int(tenant.0), Param::Text(source)];
        params.extend(chunk.iter().map(|s| Param::Int(*s)));
        for row in B::fetch_all(&mut conn, &sql, &params).await? {
            out.push(Fingerprint { seq: row.int(0)?, row_hash: row.text(1)?.to_owned(), version: row.int(2)? });
        }
    }
    Ok(out)
}

pub(crate) async fn record_fingerprints<B: Backend>(
    store: &SqlStore<B>,
    source: &str,
    prints: &[Fingerprint],
) -> Result<()> {
    if prints.is_empty() {
        return Ok(());
    }
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    for chunk in prints.chunks(PRINTS_WRITTEN_PER_STATEMENT) {
        // One SELECT per user, so that a user purged meanwhile, which has no row to point at,
        // is left out rather than failing the statement.
        let one = "SELECT r.seq, ?, ?, CAST(? AS BIGINT) FROM resources r WHERE r.seq = ?";
        let sql = format!(
            "INSERT INTO import_fingerprints (resource_seq, source, row_hash, version) {} \
             ON CONFLICT (resource_seq) DO UPDATE SET source = excluded.source, \
             row_hash = excluded.row_hash, version = excluded.version",
            vec![one; chunk.len()].join(" UNION ALL ")
        );
        let mut params = Vec::with_capacity(chunk.len() * 4);
        for p in chunk {
            params.extend([Param::Text(source), Param::Text(&p.row_hash), Param::Int(p.version), Param::Int(p.seq)]);
        }
        B::execute(&mut tx, &sql, &params).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn source_users<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    source: &str,
) -> Result<Vec<SourceUser>> {
    let d = B::DIALECT;
    // `importSource` is caseExact: the stored text is compared as it is.
    let sql = format!(
        "SELECT r.id, r.user_name, CAST(CASE WHEN {} = FALSE THEN 0 ELSE 1 END AS BIGINT) AS active \
         FROM resources r WHERE r.tenant_id = ? AND r.kind = 'User' AND r.deleted_at IS NULL AND {} = ?",
        d.json_bool(&d.json_scalar("r.doc", &["active"])),
        d.json_scalar("r.doc", &[DIRECTORY_USER, "importSource"]),
    );
    let mut conn = store.pool.acquire().await?;
    let rows = B::fetch_all(&mut conn, &sql, &[Param::Int(tenant.0), Param::Text(source)]).await?;
    rows.iter()
        .map(|r| Ok(SourceUser { id: r.text(0)?.into(), user_name: r.text(1)?.to_owned(), active: r.int(2)? != 0 }))
        .collect()
}
