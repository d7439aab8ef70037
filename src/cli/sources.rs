//! `scimd import-source add|list|remove`: a tenant's stored HR sources, whose column map and
//! valve `POST /scim/v2/Admin/Import?mode=sync&source=NAME` runs with.

use anyhow::Context;

use super::{day, detail, operator, ImportSourceCommand};
use crate::directory::import::SourceName;
use crate::service::Service;

pub async fn run(service: &Service, command: ImportSourceCommand) -> anyhow::Result<()> {
    match command {
        ImportSourceCommand::Add { name, map, max_deactivate, tenant } => {
            SourceName::parse(&name).map_err(detail)?;
            let text = std::fs::read(&map).with_context(|| format!("cannot read the map {}", map.display()))?;
            let caller = operator(service, &tenant.tenant).await?;
            let replaced = service
                .add_import_source(&caller, &name, &text, max_deactivate)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", map.display(), e.detail))?;
            match replaced {
                true => println!(
                    "replaced the map and valve of import source \"{name}\" (--max-deactivate {max_deactivate})"
                ),
                false => println!("added import source \"{name}\" (--max-deactivate {max_deactivate})"),
            }
        }
        ImportSourceCommand::List { tenant } => {
            let caller = operator(service, &tenant.tenant).await?;
            println!("{:<24}  {:>14}  {:<19}  {:<19}", "name", "max-deactivate", "created", "updated");
            for s in service.import_sources(&caller).await.map_err(detail)? {
                println!(
                    "{:<24}  {:>14}  {:<19}  {:<19}",
                    s.name,
                    s.max_deactivate,
                    day(Some(s.created)),
                    day(Some(s.updated))
                );
            }
        }
        ImportSourceCommand::Remove { name, tenant } => {
            let caller = operator(service, &tenant.tenant).await?;
            service.remove_import_source(&caller, &name).await.map_err(detail)?;
            println!("removed import source \"{name}\"; its users keep their importSource");
        }
    }
    Ok(())
}
