//! `scimd tenant …`, `scimd domain …` and `scimd license …`: the tenant's shape, managed by
//! its operator through the same service functions as `/Admin` and `/Licenses`.

use serde_json::{json, Value};

use super::{detail, operator, DomainCommand, LicenseCommand, TenantArg, TenantCommand};
use crate::scim::projection::Projection;
use crate::scim::resource::format_datetime;
use crate::scim::schema::ResourceKind::License;
use crate::service::{ListParams, Service};

pub async fn tenant(service: &Service, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Add { name } => {
            service.add_tenant(&name).await.map_err(detail)?;
            eprintln!(
                "tenant {name:?} created; give it a token with `scimd token create --tenant {name} --scope read,write`"
            );
        }
        TenantCommand::List => {
            println!("{:<24} {:>10} {:>10}  created", "tenant", "users", "groups");
            for t in service.tenants().await.map_err(detail)? {
                println!("{:<24} {:>10} {:>10}  {}", t.name, t.users, t.groups, format_datetime(t.created));
            }
        }
        TenantCommand::Remove { name, force } => {
            service.remove_tenant(&name, force).await.map_err(detail)?;
            eprintln!("tenant {name:?} removed");
        }
    }
    Ok(())
}

pub async fn domain(service: &Service, command: DomainCommand) -> anyhow::Result<()> {
    match command {
        DomainCommand::Add { domain, tenant: TenantArg { tenant }, initial } => {
            let caller = operator(service, &tenant).await?;
            service.add_domain(&caller, &domain, initial).await.map_err(detail)?;
            eprintln!("{domain} is a verified domain of {tenant:?}{}", if initial { " (initial)" } else { "" });
        }
        DomainCommand::List { tenant: TenantArg { tenant } } => {
            let caller = operator(service, &tenant).await?;
            for (domain, initial) in service.domains(&caller).await.map_err(detail)? {
                println!("{domain}{}", if initial { "\tinitial" } else { "" });
            }
        }
        DomainCommand::Remove { domain, tenant: TenantArg { tenant } } => {
            let caller = operator(service, &tenant).await?;
            service.remove_domain(&caller, &domain).await.map_err(detail)?;
            eprintln!("{domain} removed from {tenant:?}");
        }
    }
    Ok(())
}

pub async fn license(service: &Service, command: LicenseCommand) -> anyhow::Result<()> {
    let number = |doc: &Value, k: &str| doc[k].as_i64().unwrap_or_default();
    let text = |doc: &Value, k: &str| doc[k].as_str().unwrap_or_default().to_owned();
    match command {
        LicenseCommand::Add { part_number, seats, name, tenant: TenantArg { tenant } } => {
            let caller = operator(service, &tenant).await?;
            let mut body = json!({ "partNumber": part_number, "seats": seats });
            if let Some(name) = name {
                body["displayName"] = json!(name);
            }
            let license = service.create(&caller, License, body, &Projection::Default).await.map_err(detail)?;
            println!("{}", license.stored.id);
        }
        LicenseCommand::List { tenant: TenantArg { tenant } } => {
            let caller = operator(service, &tenant).await?;
            println!("{:<36}  {:<24} {:>8} {:>8} {:>9}  name", "id", "part number", "seats", "assigned", "available");
            let mut params = ListParams { cursor: Some(String::new()), ..Default::default() };
            loop {
                let page = service.list(&caller, License, &params).await.map_err(detail)?;
                for l in &page.resources {
                    let doc = &l.stored.doc;
                    println!(
                        "{:<36}  {:<24} {:>8} {:>8} {:>9}  {}",
                        l.stored.id,
                        text(doc, "partNumber"),
                        number(doc, "seats"),
                        number(doc, "consumed"),
                        number(doc, "available"),
                        text(doc, "displayName")
                    );
                }
                match page.next_cursor {
                    Some(next) => params.cursor = Some(next),
                    None => break,
                }
            }
        }
        LicenseCommand::SetSeats { part_number, seats, tenant: TenantArg { tenant } } => {
            let caller = operator(service, &tenant).await?;
            let license = service.license_by_part_number(&caller, &part_number).await.map_err(detail)?;
            let license = service.set_seats(&caller, &license.stored.id, seats).await.map_err(detail)?;
            let doc = &license.stored.doc;
            eprintln!(
                "{part_number} has {seats} seats: {} assigned, {} available",
                number(doc, "consumed"),
                number(doc, "available")
            );
        }
        LicenseCommand::Remove { part_number, tenant: TenantArg { tenant } } => {
            let caller = operator(service, &tenant).await?;
            let license = service.license_by_part_number(&caller, &part_number).await.map_err(detail)?;
            service.delete(&caller, License, license.stored.id.as_str(), None).await.map_err(detail)?;
            eprintln!("license {part_number} removed");
        }
    }
    Ok(())
}
