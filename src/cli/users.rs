//! `scimd user …`: look at users, block or allow their sign-in, bring back deleted ones, all
//! through the service as the tenant's administrator.

use super::{detail, operator, UserCommand};
use crate::directory::DIRECTORY_USER;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind::User;
use crate::service::Stored;
use crate::service::{ListParams, Service};

pub async fn run(service: &Service, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::List { filter, deleted, tenant } => {
            let caller = operator(service, &tenant.tenant).await?;
            // The header comes with the first page, so a refused filter prints only its error.
            let header = std::sync::Once::new();
            let print = |u: &Stored| {
                header.call_once(|| {
                    println!("{:<36}  {:<32} {:<24} {:<8} synchronized", "id", "userName", "displayName", "sign-in")
                });
                let text = |k: &str| u.doc[k].as_str().unwrap_or("-").to_owned();
                let synced = u.doc[DIRECTORY_USER]["onPremisesSyncEnabled"].as_bool().unwrap_or(false);
                let active = u.doc["active"].as_bool().unwrap_or(true);
                println!(
                    "{:<36}  {:<32} {:<24} {:<8} {}",
                    u.id,
                    text("userName"),
                    text("displayName"),
                    if active { "allowed" } else { "blocked" },
                    if synced { "yes" } else { "no" }
                );
            };
            if deleted {
                if filter.is_some() {
                    anyhow::bail!("--filter does not apply to --deleted");
                }
                let mut start = 1;
                loop {
                    let params = ListParams { start_index: Some(start), ..Default::default() };
                    let page = service.deleted_users(&caller, &params).await.map_err(detail)?;
                    page.resources.iter().for_each(|r| print(&r.stored));
                    start += page.resources.len() as i64;
                    if page.resources.is_empty() || start > page.total as i64 {
                        break;
                    }
                }
            } else {
                let mut params = ListParams { filter, cursor: Some(String::new()), ..Default::default() };
                loop {
                    let page = service.list(&caller, User, &params).await.map_err(detail)?;
                    page.resources.iter().for_each(|r| print(&r.stored));
                    match page.next_cursor {
                        Some(next) => params.cursor = Some(next),
                        None => break,
                    }
                }
            }
            if !header.is_completed() {
                eprintln!("no users");
            }
        }
        UserCommand::Show { user, tenant } => {
            let caller = operator(service, &tenant.tenant).await?;
            let found = service.user_by_id_or_name(&caller, &user).await.map_err(detail)?;
            let registry = crate::scim::schema::Registry::builtin().map_err(anyhow::Error::msg)?;
            let shown = crate::http::render::resource(registry, "", found, &Projection::Default);
            println!("{}", serde_json::to_string_pretty(&shown)?);
        }
        UserCommand::Disable { user, tenant } => set_active(service, &tenant.tenant, &user, false).await?,
        UserCommand::Enable { user, tenant } => set_active(service, &tenant.tenant, &user, true).await?,
        UserCommand::Restore { id, tenant } => {
            let caller = operator(service, &tenant.tenant).await?;
            let user = service.restore_user(&caller, &id).await.map_err(detail)?;
            let name = user.stored.doc["userName"].as_str().unwrap_or_default();
            eprintln!("user {id} ({name}) restored; its group memberships were not");
        }
    }
    Ok(())
}

/// Blocks or allows a user's sign-in (`active`), as a PATCH would.
async fn set_active(service: &Service, tenant: &str, user: &str, active: bool) -> anyhow::Result<()> {
    let caller = operator(service, tenant).await?;
    let id = service.user_by_id_or_name(&caller, user).await.map_err(detail)?.stored.id;
    let user = service.set_active(&caller, &id, active).await.map_err(detail)?;
    let name = user.stored.doc["userName"].as_str().unwrap_or_default();
    eprintln!("sign-in {} for {name} ({id})", if active { "allowed" } else { "blocked" });
    Ok(())
}
