//! `scimd audit list`: the tenant's audit log, a line per event, oldest first.

use super::{day, detail, operator, AuditCommand};
use crate::service::{AuditParams, Service};

pub async fn run(service: &Service, command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::List { resource_id, operation, since, limit, tenant } = command;
    let caller = operator(service, &tenant.tenant).await?;
    let params = AuditParams { resource_id, operation, since, count: Some(limit), ..AuditParams::default() };
    let page = service.audit_events(&caller, &params).await.map_err(detail)?;
    println!("{:<20} {:<20} {:<8} {:<8} {:<36}  changes", "time", "actor", "token", "operation", "resource");
    for e in &page.events {
        let token = e.actor.token_id.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
        println!(
            "{:<20} {:<20} {:<8} {:<8} {:<36}  {}",
            day(Some(e.at)),
            e.actor.name,
            token,
            e.operation.as_str(),
            format!("{}/{}", e.resource_type, e.resource_id),
            e.changes
        );
    }
    if page.total > page.events.len() as u64 {
        eprintln!("{} of {} events; narrow with --since, --resource-id or --operation", page.events.len(), page.total);
    }
    Ok(())
}
