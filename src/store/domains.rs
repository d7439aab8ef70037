//! A tenant's verified domains (`tenant_domains`), which the directory rules read; at most
//! one of them is the tenant's initial domain.

use crate::store::backend::{Backend, Param, SqlRow};
use crate::store::sql_store::{touched, SqlStore};
use serde_json::json;

use crate::store::audit;
use crate::store::{Actor, AuditEntry, Operation, Result, TenantId};

/// The tenant's domains, lower-case, and whether each is the initial one.
pub(crate) async fn domains<B: Backend>(store: &SqlStore<B>, tenant: TenantId) -> Result<Vec<(String, bool)>> {
    let mut conn = store.pool.acquire().await?;
    let rows = B::fetch_all(
        &mut conn,
        "SELECT domain, initial FROM tenant_domains WHERE tenant_id = ? ORDER BY domain",
        &[Param::Int(tenant.0)],
    )
    .await?;
    rows.iter().map(|r| Ok((r.text("domain")?.to_owned(), r.int("initial")? != 0))).collect()
}

/// Adds (or re-marks) a domain; marking one initial unmarks the others.
pub(crate) async fn add_domain<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    domain: &str,
    initial: bool,
    actor: &Actor,
) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    if initial {
        B::execute(&mut tx, "UPDATE tenant_domains SET initial = 0 WHERE tenant_id = ?", &[Param::Int(tenant.0)])
            .await?;
    }
    let domain = domain.to_ascii_lowercase();
    B::execute(
        &mut tx,
        "INSERT INTO tenant_domains (tenant_id, domain, initial) VALUES (?, ?, ?) \
         ON CONFLICT (tenant_id, domain) DO UPDATE SET initial = excluded.initial",
        &[Param::Int(tenant.0), Param::Text(&domain), Param::Int(i64::from(initial))],
    )
    .await?;
    let entry = AuditEntry::new(actor, Operation::Create, json!({"initial": {"after": initial}}));
    audit::record_on::<B>(&mut tx, tenant, "Domain", &domain, &entry).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn remove_domain<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    domain: &str,
    actor: &Actor,
) -> Result<()> {
    let domain = domain.to_ascii_lowercase();
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let done = B::execute(
        &mut tx,
        "DELETE FROM tenant_domains WHERE tenant_id = ? AND domain = ?",
        &[Param::Int(tenant.0), Param::Text(&domain)],
    )
    .await?;
    touched(done)?;
    audit::record_on::<B>(&mut tx, tenant, "Domain", &domain, &AuditEntry::new(actor, Operation::Delete, json!({})))
        .await?;
    tx.commit().await?;
    Ok(())
}
