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
    Cli, Command, DatabaseArgs, DomainCommand, ImportArgs, LicenseCommand, LogFormat, ServeArgs, TenantArg,
    TenantCommand, TokenCommand, UserCommand,
};
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::scim::schema::{Registry, ResourceKind};
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
    if let Some(path) = url.strip_prefix("sqlite:") {
        let file = path.trim_start_matches("//").split('?').next().unwrap_or_default();
        let store = SqliteStore::connect(url, db.max_connections, db.query_timeout())
            .await
            .map_err(|e| startup_error(e, &format!("SQLite database {file:?}")))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let store = PgStore::connect(url, db.max_connections, db.query_timeout())
            .await
            .map_err(|e| startup_error(e, &format!("PostgreSQL database {}", cli::redact_url(url))))?;
        Ok(Arc::new(store))
    } else {
        bail!("unsupported database URL {:?}: use sqlite://FILE or postgres://…", cli::redact_url(url))
    }
}

/// A start-up failure in one line that says what to do.
fn startup_error(e: StoreError, database: &str) -> anyhow::Error {
    match e {
        StoreError::Migrate(sqlx::migrate::MigrateError::VersionMissing(v)) => anyhow::anyhow!(
            "the {database} was migrated by a newer scimd (migration {v} is unknown to this binary); \
             run the newer scimd or restore a matching backup"
        ),
        e => anyhow::anyhow!("cannot open the {database}: {}", cli::redact_url(&e.to_string())),
    }
}

/// Builds the application state exactly as `serve` does, before its options are applied.
pub fn state(store: Arc<dyn Store>, base_url: Option<String>) -> anyhow::Result<AppState> {
    let registry = Registry::builtin().map_err(|e| anyhow::anyhow!("schema documents are invalid: {e}"))?.clone();
    Ok(AppState {
        service: Service::new(store.clone(), Arc::new(registry)),
        auth: Arc::new(Authenticator::new(store)),
        base_url: base_url.as_deref().map(scim_base_url),
        trust_forwarded_headers: false,
        rate: Arc::default(),
    })
}

/// `--base-url` as the SCIM base: `https://scim.example.com` and
/// `https://scim.example.com/scim/v2/` both become `https://scim.example.com/scim/v2`.
pub fn scim_base_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    if url.ends_with("/scim/v2") {
        url.to_owned()
    } else {
        format!("{url}/scim/v2")
    }
}

/// Runs the command the command line names; no command is `serve`.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(&cli.db, cli.serve).await,
        Some(Command::Serve(args)) => serve(&cli.db, args).await,
        Some(Command::Token(command)) => token_command(&cli.db, command).await,
        Some(Command::Tenant(command)) => tenant_command(&cli.db, command).await,
        Some(Command::Domain(command)) => domain_command(&cli.db, command).await,
        Some(Command::License(command)) => license_command(&cli.db, command).await,
        Some(Command::Import(args)) => import_command(&cli.db, args).await,
        Some(Command::User(command)) => user_command(&cli.db, command).await,
    }
}

async fn token_command(db: &DatabaseArgs, command: TokenCommand) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    match command {
        TokenCommand::Create { tenant, scope, name, expires, rate_limit } => {
            let scopes = parse_scopes(&scope)?;
            let expires = expires
                .as_deref()
                .map(parse_lifetime)
                .transpose()
                .context("--expires")?
                .map(|d| OffsetDateTime::now_utc() + d);
            let tenant = existing_tenant(store.as_ref(), &tenant.tenant).await?;
            let secret = auth::generate_secret();
            store
                .create_token(tenant, NewToken { name, secret_hash: hash_secret(&secret), scopes, expires, rate_limit })
                .await?;
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
                let mut status = match (t.state(now), t.expires) {
                    ("active", Some(e)) => format!("expires {}", day(Some(e))),
                    (state, _) => state.to_owned(),
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
            match store.remove_tenant(t.id, force).await {
                Err(StoreError::TenantNotEmpty { users, groups }) => bail!(
                    "tenant {name:?} holds {users} users and {groups} groups (deleted ones included); \
                     add --force to remove them with it"
                ),
                other => other?,
            }
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
            let t = existing_tenant(store.as_ref(), &tenant.tenant).await?;
            store.add_domain(t, &domain, initial).await?;
            eprintln!(
                "{domain} is a verified domain of {:?}{}",
                tenant.tenant,
                if initial { " (initial)" } else { "" }
            );
        }
        DomainCommand::List { tenant } => {
            let t = existing_tenant(store.as_ref(), &tenant.tenant).await?;
            for (domain, initial) in store.domains(t).await? {
                println!("{domain}{}", if initial { "\tinitial" } else { "" });
            }
        }
        DomainCommand::Remove { domain, tenant } => {
            let TenantArg { tenant } = tenant;
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
        LicenseCommand::Add { part_number, seats, name, tenant: TenantArg { tenant } } => {
            let id = existing_tenant(store.as_ref(), &tenant).await?;
            let caller = Caller::operator(id, &tenant);
            let mut body = json!({ "partNumber": part_number, "seats": seats });
            if let Some(name) = name {
                body["displayName"] = json!(name);
            }
            let license = service.create(&caller, License, body, &all).await.map_err(scim_detail)?;
            println!("{}", license.body["id"].as_str().unwrap_or_default());
        }
        LicenseCommand::List { tenant: TenantArg { tenant } } => {
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
        LicenseCommand::SetSeats { part_number, seats, tenant: TenantArg { tenant } } => {
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
        LicenseCommand::Remove { part_number, tenant: TenantArg { tenant } } => {
            let caller = Caller::operator(existing_tenant(store.as_ref(), &tenant).await?, &tenant);
            let id = license_id(&service, &caller, &part_number).await?;
            service.delete(&caller, License, &id, None).await.map_err(scim_detail)?;
            eprintln!("license {part_number} removed");
        }
    }
    Ok(())
}

/// `scimd user …`: look at users, block or allow their sign-in, bring back deleted ones, all
/// through the service as the tenant's administrator.
async fn user_command(db: &DatabaseArgs, command: UserCommand) -> anyhow::Result<()> {
    use crate::scim::projection::Projection;
    use crate::scim::schema::ResourceKind::User;
    use serde_json::Value;

    let store = open_store(db).await?;
    let service = state(store.clone(), None)?.service;
    let caller = |tenant: &TenantArg| {
        let store = store.clone();
        let name = tenant.tenant.clone();
        async move { Ok::<_, anyhow::Error>(Caller::operator(existing_tenant(store.as_ref(), &name).await?, &name)) }
    };
    let all = Projection::Default;
    match command {
        UserCommand::List { filter, deleted, tenant } => {
            let caller = caller(&tenant).await?;
            // The header comes with the first page, so a refused filter prints only its error.
            let header = std::sync::Once::new();
            let print = |u: &Value| {
                header.call_once(|| {
                    println!("{:<36}  {:<32} {:<24} {:<8} synchronized", "id", "userName", "displayName", "sign-in")
                });
                let text = |k: &str| u[k].as_str().unwrap_or("-").to_owned();
                let synced = u[directory::DIRECTORY_USER]["onPremisesSyncEnabled"].as_bool().unwrap_or(false);
                let active = u["active"].as_bool().unwrap_or(true);
                println!(
                    "{:<36}  {:<32} {:<24} {:<8} {}",
                    text("id"),
                    text("userName"),
                    text("displayName"),
                    if active { "allowed" } else { "blocked" },
                    if synced { "yes" } else { "no" }
                );
            };
            if deleted {
                if filter.is_some() {
                    bail!("--filter does not apply to --deleted");
                }
                let mut start = 1;
                loop {
                    let params = ListParams { start_index: Some(start), ..Default::default() };
                    let page = service.deleted_users(&caller, &params).await.map_err(scim_detail)?;
                    let items = page["Resources"].as_array().cloned().unwrap_or_default();
                    items.iter().for_each(print);
                    start += items.len() as i64;
                    if items.is_empty() || start > page["totalResults"].as_i64().unwrap_or(0) {
                        break;
                    }
                }
            } else {
                let mut params = ListParams { filter, cursor: Some(String::new()), ..Default::default() };
                loop {
                    let page = service.list(&caller, User, &params).await.map_err(scim_detail)?;
                    page["Resources"].as_array().into_iter().flatten().for_each(print);
                    match page["nextCursor"].as_str() {
                        Some(next) => params.cursor = Some(next.to_owned()),
                        None => break,
                    }
                }
            }
            if !header.is_completed() {
                eprintln!("no users");
            }
        }
        UserCommand::Show { user, tenant } => {
            let caller = caller(&tenant).await?;
            let id = user_id(&service, &caller, &user).await?;
            let found = service.get(&caller, User, &id, &all).await.map_err(scim_detail)?;
            println!("{}", serde_json::to_string_pretty(&found.body)?);
        }
        UserCommand::Disable { user, tenant } => set_active(&service, &caller(&tenant).await?, &user, false).await?,
        UserCommand::Enable { user, tenant } => set_active(&service, &caller(&tenant).await?, &user, true).await?,
        UserCommand::Restore { id, tenant } => {
            let caller = caller(&tenant).await?;
            let user = service.restore_user(&caller, &id).await.map_err(scim_detail)?;
            let name = user.body["userName"].as_str().unwrap_or_default();
            eprintln!("user {id} ({name}) restored; its group memberships were not");
        }
    }
    Ok(())
}

/// Blocks or allows a user's sign-in (`active`), as a PATCH would.
async fn set_active(service: &Service, caller: &Caller, user: &str, active: bool) -> anyhow::Result<()> {
    use crate::scim::projection::Projection;
    let id = user_id(service, caller, user).await?;
    let patch = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": "active", "value": active }],
    });
    let user =
        service.patch(caller, ResourceKind::User, &id, None, patch, &Projection::Default).await.map_err(scim_detail)?;
    let name = user.body["userName"].as_str().unwrap_or_default();
    eprintln!("sign-in {} for {name} ({id})", if active { "allowed" } else { "blocked" });
    Ok(())
}

/// The id of the user `key` names: its id, or else its userName.
async fn user_id(service: &Service, caller: &Caller, key: &str) -> anyhow::Result<String> {
    let filter = format!("id eq {0} or userName eq {0}", serde_json::Value::String(key.to_owned()));
    let params = ListParams { filter: Some(filter), attributes: Some("id".into()), ..Default::default() };
    let list = service.list(caller, ResourceKind::User, &params).await.map_err(scim_detail)?;
    let id = list["Resources"][0]["id"].as_str().map(str::to_owned);
    id.with_context(|| format!("tenant {:?} has no user with id or userName {key:?}", caller.principal.tenant_name))
}

/// `scimd import`: the CSV through the service, the report to stdout or `--report`, the
/// summary and the progress to stderr.
async fn import_command(db: &DatabaseArgs, args: ImportArgs) -> anyhow::Result<()> {
    use std::io::Write;

    let data = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let store = open_store(db).await?;
    let tenant = existing_tenant(store.as_ref(), &args.tenant.tenant).await?;
    let service = state(store, None)?.service;
    // The import acts as the tenant's administrator at the console, never as the sync
    // connector: the users it creates are not marked as mastered on-premises, and synchronized
    // users are refused as for any API client.
    let caller = Caller::operator(tenant, &args.tenant.tenant);
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

/// The tenant called `name`, which must exist; the default tenant always does.
async fn existing_tenant(store: &dyn Store, name: &str) -> anyhow::Result<TenantId> {
    if name == DEFAULT_TENANT {
        return Ok(store.ensure_tenant(DEFAULT_TENANT).await?);
    }
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
    let list = service.list(caller, ResourceKind::License, &params).await.map_err(scim_detail)?;
    let id = list["Resources"][0]["id"].as_str().map(str::to_owned);
    id.with_context(|| format!("tenant {:?} has no license {part:?}", caller.principal.tenant_name))
}

/// `90d`, `12h`, `30m`: a lifetime given on the command line.
fn parse_lifetime(s: &str) -> anyhow::Result<time::Duration> {
    auth::parse_lifetime(s).with_context(|| {
        format!("{s:?} is not a lifetime such as 90d, 12h or 30m of at most {} days", auth::MAX_LIFETIME_DAYS)
    })
}

fn parse_scopes(list: &[String]) -> anyhow::Result<Vec<Scope>> {
    list.iter()
        .map(|s| Scope::parse(s).with_context(|| format!("unknown scope {s:?}: use read, write, sync or admin")))
        .collect()
}

/// How long in-flight requests may take to finish after SIGTERM or Ctrl-C.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn serve(db: &DatabaseArgs, args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init(args.log_format);
    let retention = parse_lifetime(&args.deleted_retention).context("--deleted-retention")?;
    let store = open_store(db).await?;
    bootstrap(store.as_ref(), args.bootstrap_token.as_deref(), args.log_format).await?;
    let listener =
        TcpListener::bind(&args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    let filter_budget = args.filter_budget();
    let limits = args.http_limits(DRAIN_TIMEOUT);
    let mut state = state(store.clone(), args.base_url)?;
    state.trust_forwarded_headers = args.trust_forwarded_headers;
    state.service = state.service.with_filter_budget(filter_budget);
    state.rate = Arc::new(http::rate::RateLimiter::new(args.rate_limit, args.tenant_rate_limit));
    let purge = move || purge_deleted_users(store.clone(), retention);
    tokio::spawn(supervise("purge of deleted users", RESTART_DELAY, purge));
    tracing::info!(listen = %args.listen, database = %cli::redact_url(&db.database), "scimd serving SCIM at http://{}/scim/v2", args.listen);
    http::server::serve(listener, app(state), limits, shutdown_signal()).await;
    tracing::info!("scimd stopped");
    Ok(())
}

/// How long a failed background task rests before it is started again.
const RESTART_DELAY: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs a background task for the life of the process: one that ends or panics is logged and
/// started again after `delay`, never silently gone.
async fn supervise<F, Fut>(name: &'static str, delay: std::time::Duration, task: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        match tokio::spawn(task()).await {
            Ok(()) => tracing::error!(task = name, "background task ended; restarting it"),
            Err(e) => tracing::error!(task = name, error = %e, "background task failed; restarting it"),
        }
        tokio::time::sleep(delay).await;
    }
}

/// Purges users deleted longer than `retention` ago, now and every hour.
async fn purge_deleted_users(store: Arc<dyn Store>, retention: time::Duration) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let Some(before) = OffsetDateTime::now_utc().checked_sub(retention) else {
            tracing::warn!("the retention period reaches before year 1; nothing is old enough to purge");
            continue;
        };
        match store.purge_deleted_before(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged users deleted longer ago than the retention period"),
            Err(e) => tracing::warn!(error = %e, "could not purge deleted users"),
        }
    }
}

/// Makes sure someone can log in: the configured bootstrap token, or a new one printed once.
/// A bootstrap secret whose token was revoked stops the start: a restart must not bring back a
/// token an administrator took away.
async fn bootstrap(store: &dyn Store, token: Option<&str>, log_format: LogFormat) -> anyhow::Result<()> {
    let tenant = store.ensure_tenant(DEFAULT_TENANT).await?;
    let admin = |secret: &str| NewToken {
        name: "bootstrap".into(),
        secret_hash: hash_secret(secret),
        scopes: vec![Scope::Admin],
        expires: None,
        rate_limit: None,
    };
    match token {
        Some(secret) if secret.trim().is_empty() => bail!("--bootstrap-token is empty"),
        Some(secret) => match store.find_token(&hash_secret(secret)).await? {
            None => {
                store.create_token(tenant, admin(secret)).await?;
            }
            Some(t) if t.revoked => bail!(
                "the bootstrap token (id {}, {:?}) has been revoked; start without --bootstrap-token / \
                 SCIMD_BOOTSTRAP_TOKEN, or with a new secret",
                t.id,
                t.name
            ),
            Some(_) => {}
        },
        None if !store.has_tokens().await? => {
            let secret = auth::generate_secret();
            store.create_token(tenant, admin(&secret)).await?;
            announce_token(&secret, log_format);
        }
        None => {}
    }
    Ok(())
}

/// The first start's admin token, once on stderr: a plain message for a person, or one JSON
/// line that a log collector keeps whole.
fn announce_token(secret: &str, log_format: LogFormat) {
    let message = format!("created an admin token for tenant \"{DEFAULT_TENANT}\" (shown only this once)");
    match log_format {
        LogFormat::Text => eprintln!("scimd: {message}:\n{secret}"),
        LogFormat::Json => eprintln!(
            "{}",
            serde_json::json!({
                "timestamp": crate::scim::resource::format_datetime(OffsetDateTime::now_utc()),
                "level": "WARN",
                "fields": { "message": message, "tenant": DEFAULT_TENANT, "token": secret },
                "target": "scimd",
            })
        ),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!(signal = "SIGINT", "stopping: no new connections; finishing requests in flight");
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
                tracing::info!(signal = "SIGTERM", "stopping: no new connections; finishing requests in flight");
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_background_task_that_panics_is_started_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let task = move || {
            let runs = counted.clone();
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("first run fails");
                }
                std::future::pending::<()>().await
            }
        };
        let supervisor = tokio::spawn(super::supervise("test", Duration::from_millis(10), task));
        for _ in 0..200 {
            if runs.load(Ordering::SeqCst) >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        supervisor.abort();
        assert_eq!(runs.load(Ordering::SeqCst), 2, "restarted once after the panic, and running since");
    }

    #[test]
    fn base_urls_get_the_scim_prefix_once() {
        for (given, base) in [
            ("https://scim.example.com", "https://scim.example.com/scim/v2"),
            ("https://scim.example.com/", "https://scim.example.com/scim/v2"),
            ("https://scim.example.com/scim/v2", "https://scim.example.com/scim/v2"),
            ("https://scim.example.com/scim/v2/", "https://scim.example.com/scim/v2"),
            ("https://example.com/idp", "https://example.com/idp/scim/v2"),
        ] {
            assert_eq!(super::scim_base_url(given), base);
        }
    }
}
