//! `scimd token create|list|revoke`: bearer tokens, their secrets printed once.

use anyhow::Context;
use time::OffsetDateTime;

use super::{day, detail, operator, parse_lifetime, TokenCommand};
use crate::service::Service;
use crate::service::{Scope, TokenState};

pub async fn run(service: &Service, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { tenant, scope, name, expires, rate_limit } => {
            let scopes = scope
                .iter()
                .map(|s| {
                    Scope::parse(s).with_context(|| format!("unknown scope {s:?}: use read, write, sync or admin"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let expires = expires
                .as_deref()
                .map(parse_lifetime)
                .transpose()
                .context("--expires")?
                .map(|d| OffsetDateTime::now_utc() + d);
            let caller = operator(service, &tenant.tenant).await?;
            let (_, secret) = service.issue_token(&caller, name, scopes, expires, rate_limit).await.map_err(detail)?;
            println!("{secret}");
        }
        TokenCommand::List { tenant } => {
            let tenant = match tenant {
                Some(name) => Some(service.tenant(&name).await.map_err(detail)?),
                None => None,
            };
            println!(
                "{:>5}  {:<16} {:<20} {:<22} {:<20} {:<20} status",
                "id", "tenant", "name", "scopes", "created", "last used"
            );
            let now = OffsetDateTime::now_utc();
            for t in service.all_tokens(tenant).await.map_err(detail)? {
                let mut status = match (t.state(now), t.expires) {
                    (TokenState::Active, Some(e)) => format!("expires {}", day(Some(e))),
                    (state, _) => state.as_str().to_owned(),
                };
                if let Some(rate) = t.rate_limit {
                    status.push_str(&format!(", {rate} requests/s"));
                }
                let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{:>5}  {:<16} {:<20} {:<22} {:<20} {:<20} {status}",
                    t.id,
                    t.tenant_name,
                    t.name,
                    scopes.join(","),
                    day(Some(t.created)),
                    day(t.last_used)
                );
            }
        }
        TokenCommand::Revoke { id } => {
            service.revoke_any_token(crate::service::TokenId(id)).await.map_err(detail)?;
            eprintln!("token {id} revoked");
        }
    }
    Ok(())
}
