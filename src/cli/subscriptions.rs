//! `scimd subscription add|list|remove`: the push subscriptions `/Admin/Subscriptions` manages,
//! from the command line.

use serde_json::json;

use super::{detail, operator, SubscriptionCommand};
use crate::scim::resource::format_datetime;
use crate::service::Service;

pub async fn run(service: &Service, command: SubscriptionCommand) -> anyhow::Result<()> {
    match command {
        SubscriptionCommand::Add { tenant, endpoint, events, secret } => {
            let caller = operator(service, &tenant.tenant).await?;
            let mut body = json!({ "endpoint": endpoint, "events": events });
            if let Some(secret) = secret {
                body["secret"] = json!(secret);
            }
            let view = service.create_subscription(&caller, body).await.map_err(detail)?;
            println!("{}", view.subscription.id);
            if let Some(secret) = view.secret {
                println!("{secret}");
                eprintln!("the second line is the signing secret, shown only this once");
            }
        }
        SubscriptionCommand::List { tenant } => {
            let caller = operator(service, &tenant.tenant).await?;
            println!("{:<36}  {:>9}  {:>6}  {:>4}  {:<24}  endpoint", "id", "delivered", "lag", "dead", "last error");
            for view in service.subscriptions(&caller).await.map_err(detail)? {
                let s = &view.subscription;
                let error = match (&s.last_error, s.last_error_at) {
                    (Some(_), Some(at)) => format_datetime(at),
                    _ => "-".to_owned(),
                };
                println!(
                    "{:<36}  {:>9}  {:>6}  {:>4}  {:<24}  {}",
                    s.id, s.delivered, view.lag, s.dead_letters, error, s.endpoint
                );
                if let Some(e) = &s.last_error {
                    println!("    {e}");
                }
            }
        }
        SubscriptionCommand::Remove { tenant, id } => {
            let caller = operator(service, &tenant.tenant).await?;
            service.remove_subscription(&caller, &id).await.map_err(detail)?;
            eprintln!("subscription {id} removed");
        }
    }
    Ok(())
}
