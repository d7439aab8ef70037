//! scimd: a SCIM 2.0 service provider (RFC 7643, RFC 7644) over SQLite or PostgreSQL.
//!
//! Layers, arrows pointing one way: `http` → `service` → {`scim`, `directory`, `store`}.
//! `scim` is the protocol (schemas, filters, PATCH, projection) with no I/O; `store` keeps
//! resources in a database; `service` has one function per SCIM operation; `http` is axum.

pub mod auth;
pub mod cli;
pub mod directory;
pub mod http;
mod progress;
pub mod scim;
pub mod service;
pub mod store;
pub mod telemetry;

use std::sync::Arc;

use anyhow::{bail, Context};
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::auth::{hash_secret, Authenticator};
use crate::cli::{
    Cli, Command, DatabaseArgs, DomainCommand, ImportArgs, LicenseCommand, ServeArgs, TenantCommand, TokenCommand,
    UserCommand,
};
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::scim::schema::Registry;
use crate::service::{Caller, ListParams, Service};
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{NewToken, Scope, Store, StoreError, TenantId};

pub use crate::http::router as app;

/// The tenant bootstrap tokens and CLI commands use when none is named.
pub const DEFAULT_TENANT: &str = "default";

/// Opens the store the URL names, running its migrations.
pub async fn open_store(db: &DatabaseArgs) -> anyhow::Result<Arc<dyn Store>> {
    let url = db.database.as_str();
    if url.starts_with("sqlite:") {
        let store = SqliteStore::connect(url, db.max_connections).await.map_err(|e| startup_error(e, "SQLite"))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let store = PgStore::connect(url, db.max_connections).await.map_err(|e| startup_error(e, "PostgreSQL"))?;
        Ok(Arc::new(store))
    } else {
        bail!("unsupported database URL {url:?}: use sqlite://FILE or postgres://…")
    }
}

/// A start-up failure in one line that says what to do.
fn startup_error(e: StoreError, database: &str) -> anyhow::Error {
    match e {
        StoreError::Migrate(sqlx::migrate::MigrateError::VersionMissing(v)) => anyhow::anyhow!(
            "the {database} database was migrated by a newer scimd (migration {v} is unknown to this binary); \
             run the newer scimd or restore a matching backup"
        ),
        e => anyhow::anyhow!("cannot open the {database} database: {e}"),
    }
}

/// Builds the application state exactly as `serve` does.
pub fn state(store: Arc<dyn Store>, base_url: Option<String>) -> anyhow::Result<AppState> {
    let registry = Registry::builtin().map_err(|e| anyhow::anyhow!("schema documents are invalid: {e}"))?.clone();
    Ok(AppState {
        service: Service::new(store.clone(), Arc::new(registry)),
        auth: Arc::new(Authenticator::new(store)),
        base_url: base_url.map(|b| b.trim_end_matches('/').to_owned()),
    })
}

/// Runs the command the command line names.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => {
            serve(
                &cli.db,
                ServeArgs { listen: "127.0.0.1:8080".into(), log_format: "text".into(), ..Default::default() },
            )
            .await
        }
        Some(Command::Serve(args)) => serve(&cli.db, args).await,
        Some(Command::Token(command)) => token_command(&cli.db, command).await,
        Some(Command::Tenant(command)) => tenant_command(&cli.db, command).await,
        Some(Command::Domain(command)) => domain_command(&cli.db, command).await,
        Some(Command::License(command)) => license_command(&cli.db, command).await,
        Some(Command::Import(args)) => import_command(&cli.db, args).await,
        Some(Command::User(UserCommand::Restore { id, tenant })) => {
            let store = open_store(&cli.db).await?;
            let tenant_id = existing_tenant(store.as_ref(), &tenant).await?;
            match store.restore(tenant_id, &id).await {
                Ok(user) => {
                    let name = user.doc.get("userName").and_then(serde_json::Value::as_str).unwrap_or_default();
                    eprintln!("user {id} ({name}) restored; its group memberships were not");
                    Ok(())
                }
                Err(StoreError::NotFound) => bail!("tenant {tenant:?} has no deleted user {id}"),
                Err(StoreError::Conflict { value, .. }) => {
                    bail!("cannot restore {id}: userName {value:?} has been given to another user since")
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

async fn token_command(db: &DatabaseArgs, command: TokenCommand) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    match command {
        TokenCommand::Create { tenant, scope, name, expires } => {
            let scopes = parse_scopes(&scope)?;
            let expires = expires
                .as_deref()
                .map(parse_lifetime)
                .transpose()
                .context("--expires")?
                .map(|d| OffsetDateTime::now_utc() + d);
            let tenant = store.ensure_tenant(&tenant).await?;
            let secret = auth::generate_secret();
            store.create_token(tenant, NewToken { name, secret_hash: hash_secret(&secret), scopes, expires }).await?;
            println!("{secret}");
        }
        TokenCommand::List { tenant } => {
            let tenant = match tenant {
                Some(name) => Some(existing_tenant(store.as_ref(), &name).await?),
                None => None,
            };
            println!(
                "{:>5}  {:<16} {:<20} {:<22} {:<20} {:<20} status",
                "id", "tenant", "name", "scopes", "created", "last used"
            );
            let now = OffsetDateTime::now_utc();
            for t in store.list_tokens(tenant).await? {
                let day = |d: Option<OffsetDateTime>| {
                    d.map(|d| crate::scim::resource::format_datetime(d)[..19].to_owned()).unwrap_or_else(|| "-".into())
                };
                let status = match (t.state(now), t.expires) {
                    ("active", Some(e)) => format!("expires {}", day(Some(e))),
                    (state, _) => state.to_owned(),
                };
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
        TokenCommand::Revoke { id } => match store.revoke_token(id).await {
            Ok(()) => eprintln!("token {id} revoked"),
            Err(StoreError::NotFound) => bail!("no token with id {id}; `scimd token list` shows them"),
            Err(e) => return Err(e.into()),
        },
    }
    Ok(())
}

async fn tenant_command(db: &DatabaseArgs, command: TenantCommand) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    match command {
        TenantCommand::Add { name } => {
            if store.find_tenant(&name).await?.is_some() {
                bail!("tenant {name:?} already exists");
            }
            store.ensure_tenant(&name).await?;
            eprintln!(
                "tenant {name:?} created; give it a token with `scimd token create --tenant {name} --scope read,write`"
            );
        }
        TenantCommand::List => {
            println!("{:<24} {:>10} {:>10}  created", "tenant", "users", "groups");
            for t in store.list_tenants().await? {
                println!(
                    "{:<24} {:>10} {:>10}  {}",
                    t.name,
                    t.users,
                    t.groups,
                    crate::scim::resource::format_datetime(t.created)
                );
            }
        }
        TenantCommand::Remove { name, force } => {
            let tenants = store.list_tenants().await?;
            let t = tenants.iter().find(|t| t.name == name).with_context(|| format!("no tenant called {name:?}"))?;
            if (t.users > 0 || t.groups > 0) && !force {
                bail!(
                    "tenant {name:?} holds {} users and {} groups; add --force to remove them with it",
                    t.users,
                    t.groups
                );
            }
            store.remove_tenant(t.id).await?;
            eprintln!("tenant {name:?} removed");
        }
    }
    Ok(())
}

async fn domain_command(db: &DatabaseArgs, command: DomainCommand) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    match command {
        DomainCommand::Add { domain, tenant, initial } => {
            if !domain.contains('.') || domain.contains('@') || domain.contains(char::is_whitespace) {
                bail!("{domain:?} is not a domain name such as contoso.com");
            }
            let t = store.ensure_tenant(&tenant).await?;
            store.add_domain(t, &domain, initial).await?;
            eprintln!("{domain} is a verified domain of {tenant:?}{}", if initial { " (initial)" } else { "" });
        }
        DomainCommand::List { tenant } => {
            let t = existing_tenant(store.as_ref(), &tenant).await?;
            for (domain, initial) in store.domains(t).await? {
                println!("{domain}{}", if initial { "\tinitial" } else { "" });
            }
        }
        DomainCommand::Remove { domain, tenant } => {
            let t = existing_tenant(store.as_ref(), &tenant).await?;
            match store.remove_domain(t, &domain).await {
                Ok(()) => eprintln!("{domain} removed from {tenant:?}"),
                Err(StoreError::NotFound) => bail!("{domain} is not a verified domain of {tenant:?}"),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

async fn license_command(db: &DatabaseArgs, command: LicenseCommand) -> anyhow::Result<()> {
    use crate::scim::projection::Projection;
    use crate::scim::schema::ResourceKind::License;
    use serde_json::json;

    let store = open_store(db).await?;
    let service = state(store.clone(), None)?.service;
    let all = Projection::Default;
    match command {
        LicenseCommand::Add { part_number, seats, name, tenant } => {
            let id = store.ensure_tenant(&tenant).await?;
            let caller = Caller::operator(id, &tenant);
            let mut body = json!({ "partNumber": part_number, "seats": seats });
            if let Some(name) = name {
                body["displayName"] = json!(name);
            }
            let license = service.create(&caller, License, body, &all).await.map_err(scim_detail)?;
            println!("{}", license.body["id"].as_str().unwrap_or_default());
        }
        LicenseCommand::List { tenant } => {
            let caller = Caller::operator(existing_tenant(store.as_ref(), &tenant).await?, &tenant);
            let list = service.list(&caller, License, &ListParams::default()).await.map_err(scim_detail)?;
            println!("{:<36}  {:<24} {:>8} {:>8} {:>9}  name", "id", "part number", "seats", "assigned", "available");
            for l in list["Resources"].as_array().into_iter().flatten() {
                let text = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
                println!(
                    "{:<36}  {:<24} {:>8} {:>8} {:>9}  {}",
                    text("id"),
                    text("partNumber"),
                    l["seats"].as_i64().unwrap_or_default(),
                    l["consumed"].as_i64().unwrap_or_default(),
                    l["available"].as_i64().unwrap_or_default(),
                    text("displayName")
                );
            }
        }
        LicenseCommand::SetSeats { part_number, seats, tenant } => {
            let caller = Caller::operator(existing_tenant(store.as_ref(), &tenant).await?, &tenant);
            let id = license_id(&service, &caller, &part_number).await?;
            let patch = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": "seats", "value": seats }],
            });
            let license = service.patch(&caller, License, &id, None, patch, &all).await.map_err(scim_detail)?;
            eprintln!(
                "{part_number} has {seats} seats: {} assigned, {} available",
                license.body["consumed"], license.body["available"]
            );
        }
        LicenseCommand::Remove { part_number, tenant } => {
            let caller = Caller::operator(existing_tenant(store.as_ref(), &tenant).await?, &tenant);
            let id = license_id(&service, &caller, &part_number).await?;
            service.delete(&caller, License, &id, None).await.map_err(scim_detail)?;
            eprintln!("license {part_number} removed");
        }
    }
    Ok(())
}

/// `scimd import`: the CSV through the service, the report to stdout or `--report`, the
/// summary and the progress to stderr.
async fn import_command(db: &DatabaseArgs, args: ImportArgs) -> anyhow::Result<()> {
    use std::io::Write;

    let data = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let store = open_store(db).await?;
    let tenant = existing_tenant(store.as_ref(), &args.tenant).await?;
    let service = state(store, None)?.service;
    // The import acts as the tenant's administrator at the console, never as the sync
    // connector: the users it creates are not marked as mastered on-premises, and synchronized
    // users are refused as for any API client.
    let caller = Caller::operator(tenant, &args.tenant);
    // The report file is created first, so that a path that cannot be written fails before
    // anything is imported.
    let mut out: Box<dyn Write> = match &args.report {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create the report {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut progress = progress::Reporter::new(data.len() as u64, if args.dry_run { "checked" } else { "imported" });
    let started = std::time::Instant::now();
    let result = service.import_csv(&caller, &data, args.dry_run, &mut |p| progress.update(p)).await;
    let report = match result {
        Ok(report) => {
            progress.finish();
            report
        }
        Err(e) => {
            progress.abandon();
            if let Some(path) = &args.report {
                let _ = std::fs::remove_file(path);
            }
            return Err(import_error(&args.file, e));
        }
    };
    report.write_csv(&mut out).and_then(|()| out.flush()).context("cannot write the report")?;
    eprintln!("{}", report.summary(started.elapsed()));
    Ok(())
}

/// One line for an import that could not run: the file's problem, or what to do after a
/// database failure.
fn import_error(file: &std::path::Path, e: ScimError) -> anyhow::Error {
    match e.source {
        Some(cause) if e.status >= 500 => anyhow::anyhow!(
            "the import stopped: {cause}; rows imported before it are kept, and importing the file again finishes it"
        ),
        _ => anyhow::anyhow!("{}: {}", file.display(), e.detail),
    }
}

/// The tenant called `name`, which must exist.
async fn existing_tenant(store: &dyn Store, name: &str) -> anyhow::Result<TenantId> {
    store
        .find_tenant(name)
        .await?
        .with_context(|| format!("no tenant called {name:?}; create it with `scimd tenant add {name}`"))
}

/// SCIM errors are already written for a person: the command line prints their detail alone.
fn scim_detail(e: ScimError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.detail)
}

/// The id of the tenant's License with this part number.
async fn license_id(service: &Service, caller: &Caller, part: &str) -> anyhow::Result<String> {
    let filter = format!("partNumber eq {}", serde_json::Value::String(part.to_owned()));
    let params = ListParams { filter: Some(filter), ..Default::default() };
    let list = service.list(caller, crate::scim::schema::ResourceKind::License, &params).await.map_err(scim_detail)?;
    let id = list["Resources"][0]["id"].as_str().map(str::to_owned);
    id.with_context(|| format!("tenant {:?} has no license {part:?}", caller.principal.tenant_name))
}

/// `90d`, `12h`, `30m`: a lifetime given on the command line.
fn parse_lifetime(s: &str) -> anyhow::Result<time::Duration> {
    auth::parse_lifetime(s).with_context(|| format!("{s:?} is not a lifetime such as 90d, 12h or 30m"))
}

fn parse_scopes(list: &[String]) -> anyhow::Result<Vec<Scope>> {
    list.iter()
        .map(|s| Scope::parse(s).with_context(|| format!("unknown scope {s:?}: use read, write, sync or admin")))
        .collect()
}

async fn serve(db: &DatabaseArgs, args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init(&args.log_format);
    let retention = parse_lifetime(&args.deleted_retention).context("--deleted-retention")?;
    let store = open_store(db).await?;
    bootstrap(store.as_ref(), args.bootstrap_token.as_deref()).await?;
    tokio::spawn(purge_deleted_users(store.clone(), retention));
    let app = app(state(store, args.base_url)?);
    let listener =
        TcpListener::bind(&args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(listen = %args.listen, "scimd serving SCIM at http://{}/scim/v2", args.listen);
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    tracing::info!("scimd stopped");
    Ok(())
}

/// Purges users deleted longer than `retention` ago, now and every hour.
async fn purge_deleted_users(store: Arc<dyn Store>, retention: time::Duration) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        match store.purge_deleted_before(OffsetDateTime::now_utc() - retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged users deleted longer ago than the retention period"),
            Err(e) => tracing::warn!(error = %e, "could not purge deleted users"),
        }
    }
}

/// Makes sure someone can log in: the configured bootstrap token, or a new one printed once.
async fn bootstrap(store: &dyn Store, token: Option<&str>) -> anyhow::Result<()> {
    let tenant = store.ensure_tenant(DEFAULT_TENANT).await?;
    let admin = |secret: &str| NewToken {
        name: "bootstrap".into(),
        secret_hash: hash_secret(secret),
        scopes: vec![Scope::Admin],
        expires: None,
    };
    match token {
        Some(secret) if secret.trim().is_empty() => bail!("--bootstrap-token is empty"),
        Some(secret) if store.find_token(&hash_secret(secret)).await?.is_none() => {
            store.create_token(tenant, admin(secret)).await?;
        }
        Some(_) => {}
        None if !store.has_tokens().await? => {
            let secret = auth::generate_secret();
            store.create_token(tenant, admin(&secret)).await?;
            eprintln!(
                "scimd: created an admin token for tenant \"{DEFAULT_TENANT}\" (shown only this once):\n{secret}"
            );
        }
        None => {}
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
