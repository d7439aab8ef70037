//! The command line: each command parses its arguments (`args`), opens the store, and calls
//! the service as the tenant's administrator, printing what a person or a script needs.
//!
//! A module per command group; none of them touches the store but through the service.

mod args;
mod audit;
mod directory;
mod import;
mod serve;
mod sources;
mod subscriptions;
mod tokens;
mod users;

pub use args::*;
pub use import::RowsRefused;

use anyhow::Context;

use crate::scim::error::ScimError;
use crate::service::{Caller, Service};

/// Runs the command the command line names; no command is `serve`.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve::serve(&cli.db, cli.serve).await,
        Some(Command::Serve(args)) => serve::serve(&cli.db, args).await,
        Some(Command::Token(command)) => tokens::run(&service(&cli.db).await?, command).await,
        Some(Command::Tenant(command)) => directory::tenant(&service(&cli.db).await?, command).await,
        Some(Command::Domain(command)) => directory::domain(&service(&cli.db).await?, command).await,
        Some(Command::Subscription(command)) => subscriptions::run(&service(&cli.db).await?, command).await,
        Some(Command::Audit(command)) => audit::run(&service(&cli.db).await?, command).await,
        Some(Command::License(command)) => directory::license(&service(&cli.db).await?, command).await,
        Some(Command::User(command)) => users::run(&service(&cli.db).await?, command).await,
        Some(Command::Import(args)) => import::run(&cli.db, args).await,
        Some(Command::ImportSource(command)) => sources::run(&service(&cli.db).await?, command).await,
        Some(Command::Backup(args)) => backup(&service(&cli.db).await?, &args).await,
    }
}

/// `scimd backup FILE`: the copy, then one line saying where it is and how large.
async fn backup(service: &Service, args: &BackupArgs) -> anyhow::Result<()> {
    service.backup(&args.file).await.map_err(detail)?;
    let bytes = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or_default();
    println!("backed up to {} ({bytes} bytes)", args.file.display());
    Ok(())
}

/// The service over the database the command line names.
async fn service(db: &DatabaseArgs) -> anyhow::Result<Service> {
    Ok(crate::state(crate::open_store(db).await?, None)?.service)
}

/// The operator acting as the administrator of the tenant called `name`, which must exist.
async fn operator(service: &Service, name: &str) -> anyhow::Result<Caller> {
    let tenant = service.tenant(name).await.map_err(detail)?;
    Ok(Caller::operator(tenant, name))
}

/// SCIM errors are already written for a person: the command line prints their detail alone.
fn detail(e: ScimError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.detail)
}

/// `90d`, `12h`, `30m`: a lifetime given on the command line.
fn parse_lifetime(s: &str) -> anyhow::Result<time::Duration> {
    crate::auth::parse_lifetime(s).with_context(|| {
        format!("{s:?} is not a lifetime such as 90d, 12h or 30m of at most {} days", crate::auth::MAX_LIFETIME_DAYS)
    })
}

/// A time as the command line prints it: to the second, in UTC.
fn day(t: Option<time::OffsetDateTime>) -> String {
    t.map(|d| crate::scim::resource::format_datetime(d)[..19].to_owned()).unwrap_or_else(|| "-".into())
}
