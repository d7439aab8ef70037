//! A tenant's stored HR sources (`import_sources`): the column map and valve a sync of each
//! runs with. The map is kept as the JSON given; the service reads and checks it.

use serde_json::json;

use crate::store::audit;
use crate::store::backend::{Backend, Param, SqlRow};
use crate::store::sql;
use crate::store::sql_store::{now, touched, SqlStore};
use crate::store::{Actor, AuditEntry, ImportSource, Operation, Result, StoreError, TenantId};

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
