//! The arguments of every command, parsed with clap: `serve` (the default), `import`, and the
//! commands that manage tenants, tokens, domains, licenses and users. Doc comments are `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::scim::filter::FilterBudget;

/// `scimd` with no command is `scimd serve`: the serve options are flattened into the top
/// level, from the one `ServeArgs` definition the `serve` subcommand uses too.
#[derive(Debug, Parser)]
#[command(
    name = "scimd",
    version,
    about = "A SCIM 2.0 provisioning server with Office 365-style directory rules",
    long_about = "A SCIM 2.0 provisioning server with Office 365-style directory rules.\n\n\
                  With no command, scimd serves the SCIM API: `scimd` is `scimd serve`, and takes \
                  every option of `scimd serve`."
)]
pub struct Cli {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the process's arguments, exiting with the usage on an error. A serve option
    /// written before another command (`scimd --listen … token list`) is refused, not ignored.
    pub fn parse_args() -> Cli {
        use clap::{parser::ValueSource, CommandFactory, FromArgMatches};
        let matches = Cli::command().get_matches();
        if let Some((command, _)) = matches.subcommand() {
            let global = |id: &str| Cli::command().get_arguments().any(|a| a.get_id() == id && a.is_global_set());
            let misplaced = Cli::command()
                .get_arguments()
                .map(|a| a.get_id().to_string())
                .find(|id| !global(id) && matches.value_source(id) == Some(ValueSource::CommandLine));
            if let Some(id) = misplaced {
                let message =
                    format!("--{} is an option of `scimd serve`, not of `scimd {command}`", id.replace('_', "-"));
                Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message).exit();
            }
        }
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// The default database: `DATABASE_URL` when set (the generic name many platforms set), else
/// `scimd.db` in the working directory. `SCIMD_DATABASE_URL` and `--database` come first.
fn default_database() -> String {
    std::env::var("DATABASE_URL").ok().filter(|u| !u.trim().is_empty()).unwrap_or_else(|| "sqlite://scimd.db".into())
}

#[derive(Args, Clone)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://FILE (created with its tables on first start) or
    /// postgres://USER:PASSWORD@HOST:PORT/DB. Read from SCIMD_DATABASE_URL, else DATABASE_URL,
    /// else sqlite://scimd.db. A password in it is never printed.
    #[arg(
        long,
        env = "SCIMD_DATABASE_URL",
        default_value_t = default_database(),
        hide_default_value = true,
        hide_env_values = true,
        global = true,
        value_name = "URL"
    )]
    pub database: String,
    /// Largest number of open database connections of this process.
    #[arg(long, env = "SCIMD_MAX_CONNECTIONS", default_value_t = 8, global = true, value_name = "N")]
    pub max_connections: u32,
    /// Longest time in seconds one database statement may run; a query past it is cancelled
    /// and its client told so (400 tooMany). Migrations at start-up are not limited.
    #[arg(
        long,
        env = "SCIMD_QUERY_TIMEOUT",
        default_value_t = crate::service::DEFAULT_QUERY_TIMEOUT.as_secs(),
        global = true,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub query_timeout: u64,
}

impl DatabaseArgs {
    /// The database at `database` with the default query time budget.
    pub fn new(database: impl Into<String>, max_connections: u32) -> Self {
        DatabaseArgs {
            database: database.into(),
            max_connections,
            query_timeout: crate::service::DEFAULT_QUERY_TIMEOUT.as_secs(),
        }
    }

    pub fn query_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.query_timeout)
    }
}

impl std::fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database", &redact_url(&self.database))
            .field("max_connections", &self.max_connections)
            .field("query_timeout", &self.query_timeout)
            .finish()
    }
}

/// `scheme://user:password@host/…?password=…` with the passwords replaced by `***`, for
/// messages and logs. Also applied to whole messages that may quote a URL.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return redact_query(url) };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let redacted = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    };
    redact_query(&redacted)
}

/// `password=…` (a libpq-style URL parameter) with its value replaced by `***`.
fn redact_query(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("password=") {
        let (before, after) = rest.split_at(at + "password=".len());
        out.push_str(before);
        let end = after.find(['&', ' ', '#', '"', '\'']).unwrap_or(after.len());
        out.push_str("***");
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The tenant a command acts on.
#[derive(Debug, Args, Clone)]
pub struct TenantArg {
    /// The tenant to act on; it must exist (`scimd tenant add NAME` creates one).
    #[arg(long, default_value = crate::service::DEFAULT_TENANT, value_name = "NAME")]
    pub tenant: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the SCIM API (the default when no command is given).
    Serve(ServeArgs),
    /// Manage bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage tenants: organisations whose data no other tenant's tokens can see.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage users outside the SCIM API.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage a tenant's licenses: subscriptions with a number of seats, assigned to users.
    #[command(subcommand)]
    License(LicenseCommand),
    /// Manage a tenant's verified domains; with any configured, every userName must be in one.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Push SCIM events (RFC 9967 SETs, signed HS256) to applications' endpoints (RFC 8935).
    #[command(subcommand)]
    Subscription(SubscriptionCommand),
    /// Read the audit log: who changed what, when.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Import users from an Office 365 "bulk add users" CSV file.
    ///
    /// The columns are those of the admin center's template: User Name, First Name, Last Name,
    /// Display Name, Job Title, Department, Office Number, Office Phone, Mobile Phone, Fax,
    /// Address, City, State or Province, ZIP or Postal Code, Country or Region, and the newer
    /// template's Alternate email address. Headers match in any case; only User Name is
    /// required; the others may be left out or come in any order; an empty cell means "not
    /// given". A file with a column not in this list is refused as a whole.
    ///
    /// Every row passes the checks of a POST or PATCH over the API. A row whose User Name a
    /// user of the tenant already has (in any case) updates that user: the row's non-empty
    /// cells replace those attributes and everything else is kept, so importing the same file
    /// again is safe. A user synchronized from an on-premises directory is refused.
    ///
    /// The report has a CSV line per data row: row (the line of the file the row starts on;
    /// the header is line 1), userName, status (created, updated or refused), id, and detail
    /// (why a row was refused). It goes to stdout, or to --report. A summary line and the
    /// progress go to stderr: a bar on a terminal, otherwise a line every 10,000 rows.
    ///
    /// Exit status: 0 when the file was read, even if some rows were refused (the report says
    /// which and why); 1 with one line on stderr when the file cannot be read or imported at
    /// all (no User Name column, an unknown column), when the tenant does not exist, or when
    /// the database fails; also, before anything is imported, when --mail-results names more
    /// than five addresses or one that is not an address, or no --smtp-url is given. A file
    /// refused as a whole writes nothing; after a database failure, run the import again: rows
    /// already imported are then updated, not duplicated. A results mail that fails does not
    /// change the exit status: stderr says so.
    ///
    /// With --map the file is an HR export read through a column map; with --mode sync
    /// --source NAME the file is the truth for that source's users: those it no longer lists
    /// are deactivated (at most --max-deactivate of them, or nothing is written), those it
    /// lists again are reactivated. A sync exits 3 when some rows were refused, and 1 when
    /// another sync of the same source is running (the lock of one killed on this machine is
    /// taken over at once). `scimd import-source add` stores a source's map and valve for
    /// syncs over HTTP.
    Import(ImportArgs),
    /// Store a tenant's HR sources: the column map each one's exports are read through and the
    /// valve its syncs run with, so that `POST /scim/v2/Admin/Import?mode=sync&source=NAME`
    /// takes the file alone.
    #[command(subcommand)]
    ImportSource(ImportSourceCommand),
    /// Copy a SQLite database to FILE while scimd serves it: every tenant, consistent as of
    /// the moment the copy starts (writes go on meanwhile).
    ///
    /// The copy is an ordinary SQLite database: to restore, stop scimd, put FILE in place of
    /// the database file (removing its -wal and -shm files), and start scimd on it. FILE must
    /// not exist; it appears only once it is whole. A PostgreSQL database is copied with
    /// pg_dump instead (see the README); this command refuses it.
    Backup(BackupArgs),
}

#[derive(Debug, Args, Clone)]
pub struct BackupArgs {
    /// Where the copy goes: a new file, in a directory that exists.
    pub file: PathBuf,
}

/// What `scimd import` does with the users the file does not list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportMode {
    /// Leave them as they are.
    #[default]
    Import,
    /// Deactivate those of --source.
    Sync,
}

#[derive(Debug, Args, Clone)]
pub struct ImportArgs {
    /// The CSV file, saved as UTF-8 (with or without a byte-order mark); commas or, as Excel
    /// writes in some locales, semicolons between cells.
    pub file: PathBuf,
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Check every row and write the report, but change nothing in the database.
    #[arg(long)]
    pub dry_run: bool,
    /// Read the file through this column map (JSON): which header fills which SCIM
    /// attribute, and which headers to ignore, for an HR export that is not the bulk-add
    /// template. See examples/hr-map.json.
    #[arg(long, value_name = "MAP.json")]
    pub map: Option<PathBuf>,
    /// `import` (the default) creates and updates the users the file lists. `sync` also makes
    /// the file the truth for the users of --source: those it no longer lists are deactivated
    /// (never deleted), those it lists again are reactivated; users of other sources and those
    /// created over SCIM are never touched. A sync exits 3 when some rows were refused.
    #[arg(long, value_enum, default_value_t = ImportMode::Import, requires_if("sync", "source"))]
    pub mode: ImportMode,
    /// The sync's source: a name for the HR system (such as `workday`; letters, digits, '.',
    /// '-' and '_'), recorded on each user the sync creates or updates. Without --map, a
    /// source stored with `scimd import-source add` reads the file through its map.
    #[arg(long, value_name = "NAME")]
    pub source: Option<crate::directory::import::SourceName>,
    /// The most users a sync may deactivate: a number, or a percentage of the source's active
    /// users. A run that would deactivate more stops before writing anything and lists them.
    /// By default the stored source's (see --source), else 10%.
    #[arg(long, value_name = "N|N%")]
    pub max_deactivate: Option<crate::directory::import::MaxDeactivate>,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Mail the results (the rows created, updated and refused, and the report as a CSV
    /// attachment) to these addresses, at most five, separated by commas. Needs --smtp-url. A
    /// mail that fails leaves the import done and says so on stderr.
    #[arg(long, value_name = "ADDRESSES")]
    pub mail_results: Option<String>,
    /// Give each new user a random 20-character password, shown once: in the report's
    /// temporaryPassword column and in the results mail. Updated users keep theirs.
    #[arg(long)]
    pub temporary_passwords: bool,
    #[command(flatten)]
    pub mail: MailArgs,
}

/// The SMTP server results mail goes through, and its sender.
#[derive(Args, Clone)]
pub struct MailArgs {
    /// SMTP server for results mail: smtp://[USER:PASSWORD@]HOST[:PORT][?tls=starttls|none]
    /// (STARTTLS required, port 587 unless given; tls=none only for a relay on this machine or
    /// network) or smtps://[USER:PASSWORD@]HOST[:PORT] (implicit TLS, port 465). Percent-encode
    /// `@`, `:`, `/` and `%` in the user and password. The password is never printed.
    #[arg(long, env = "SCIMD_SMTP_URL", hide_env_values = true, value_name = "URL")]
    pub smtp_url: Option<String>,
    /// Sender of results mail: an address, or `Name <address>`; one the SMTP server accepts.
    #[arg(long, env = "SCIMD_MAIL_FROM", default_value = crate::service::DEFAULT_MAIL_FROM, value_name = "ADDRESS")]
    pub mail_from: String,
}

impl MailArgs {
    /// The mailer the options configure; none without --smtp-url.
    pub fn mailer(&self) -> anyhow::Result<Option<crate::service::Mailer>> {
        let Some(url) = self.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) else { return Ok(None) };
        let url = crate::service::SmtpUrl::parse(url).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        let mailer = crate::service::Mailer::new(&url, &self.mail_from).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        Ok(Some(mailer))
    }
}

impl std::fmt::Debug for MailArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailArgs")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .finish()
    }
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List a tenant's audit events, oldest first: time, actor, operation, resource, changes.
    List {
        /// Only the events of this resource id.
        #[arg(long, value_name = "ID")]
        resource_id: Option<String>,
        /// Only this operation: create, replace, patch, delete, restore, purge, revoke or mail.
        #[arg(long)]
        operation: Option<String>,
        /// Only events at or after this time, such as 2026-12-01T00:00:00Z.
        #[arg(long, value_name = "DATETIME")]
        since: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportSourceCommand {
    /// Store a source, or replace the map and valve of the one of that name (it says which).
    /// A map that does not read as one (see `scimd import --map`) is refused.
    Add {
        /// The source's name, such as workday: 1 to 64 letters, digits, '.', '-' or '_'. It is
        /// recorded on each user a sync of it creates or updates (importSource).
        name: String,
        /// The column map (JSON) the source's exports are read through; see examples/hr-map.json.
        #[arg(long, value_name = "MAP.json")]
        map: PathBuf,
        /// The most users a sync of the source may deactivate: a number, or a percentage of its
        /// active users. `maxDeactivate=` overrides it for one run over HTTP.
        #[arg(long, value_name = "N|N%", default_value = "10%")]
        max_deactivate: crate::directory::import::MaxDeactivate,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// List the tenant's sources: name, valve, when each was added and last replaced.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Remove a source: `POST /scim/v2/Admin/Import?source=NAME` no longer finds it. Its users
    /// keep their importSource.
    Remove {
        /// The source's name, as `scimd import-source list` shows it.
        name: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a verified domain.
    Add {
        /// The domain name, such as contoso.com.
        domain: String,
        #[command(flatten)]
        tenant: TenantArg,
        /// This is the tenant's initial domain (such as contoso.onmicrosoft.com).
        #[arg(long)]
        initial: bool,
    },
    /// List the tenant's verified domains.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Remove a verified domain.
    Remove {
        /// The domain name, as `scimd domain list` shows it.
        domain: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// Add a license; prints its id, which users' `licenses` name.
    Add {
        /// The SKU's part number, such as ENTERPRISEPACK (unique in the tenant).
        part_number: String,
        /// How many users may hold it at once.
        #[arg(long, allow_negative_numbers = true)]
        seats: i64,
        /// The name shown to administrators, such as "Office 365 E3".
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// List the tenant's licenses with their seats: total, assigned and available.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Change a license's number of seats; never below the seats assigned.
    SetSeats {
        /// The license's part number, as `scimd license list` shows it.
        part_number: String,
        /// The new number of seats.
        #[arg(allow_negative_numbers = true)]
        seats: i64,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Remove a license no user holds.
    Remove {
        /// The license's part number, as `scimd license list` shows it.
        part_number: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List the tenant's users: id, userName, display name, whether sign-in is allowed, and
    /// whether the user is synchronized from an on-premises directory.
    List {
        /// Only the users this SCIM filter selects, such as 'userName sw "geoff"'.
        #[arg(long)]
        filter: Option<String>,
        /// List deleted users (restorable with `scimd user restore`) instead.
        #[arg(long)]
        deleted: bool,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Print one user as the SCIM API returns it.
    Show {
        /// The user's id or userName.
        user: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Block sign-in: set `active` to false.
    Disable {
        /// The user's id or userName.
        user: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Allow sign-in again: set `active` to true.
    Enable {
        /// The user's id or userName.
        user: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Bring back a deleted user (its group memberships are not restored).
    Restore {
        /// The deleted user's id, as `scimd user list --deleted` shows it.
        id: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Add {
        /// The tenant's name (also the user name for HTTP Basic).
        name: String,
    },
    /// List tenants with how many users and groups each holds.
    List,
    /// Remove a tenant with all its tokens, users and groups.
    Remove {
        /// The tenant's name.
        name: String,
        /// Remove it even though it still holds users or groups.
        #[arg(long)]
        force: bool,
    },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event (coloured only on a terminal, and never with NO_COLOR set).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCIMD_LISTEN", default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: String,
    /// Make sure an admin token with this secret exists for the default tenant (created on
    /// first start; a revoked one stops the start).
    #[arg(long, env = "SCIMD_BOOTSTRAP_TOKEN", hide_env_values = true, value_name = "SECRET")]
    pub bootstrap_token: Option<String>,
    /// Public URL of the SCIM API as clients reach it, used in `location` and `$ref`, such as
    /// https://scim.example.com/scim/v2 (`/scim/v2` is added when missing). By default it is
    /// built from the listener's scheme and the request's Host header.
    #[arg(long, env = "SCIMD_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first). Needs
    /// --tls-key. SIGHUP reads both files again (after a renewal) without a restart.
    #[arg(long, env = "SCIMD_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "SCIMD_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Build `location` from the X-Forwarded-Proto and X-Forwarded-Host headers. Set it only
    /// behind a proxy that sets them, since any client can send them.
    #[arg(long, env = "SCIMD_TRUST_FORWARDED_HEADERS")]
    pub trust_forwarded_headers: bool,
    /// How long deleted users stay restorable before they are purged, such as 30d or 12h (at
    /// most 100 years).
    #[arg(long, env = "SCIMD_DELETED_RETENTION", default_value = "30d", value_name = "LIFETIME")]
    pub deleted_retention: String,
    /// How long the audit log keeps an event before it is purged, such as 400d (at most 100
    /// years).
    #[arg(long, env = "SCIMD_AUDIT_RETENTION", default_value = "400d", value_name = "LIFETIME")]
    pub audit_retention: String,
    /// Log format.
    #[arg(long, env = "SCIMD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Most comparisons (and `pr` tests) one filter may hold.
    #[arg(long, env = "SCIMD_FILTER_MAX_TERMS", default_value_t = FilterBudget::default().terms, value_name = "N")]
    pub filter_max_terms: usize,
    /// Most terms over multi-valued attributes (emails, members, groups…) one filter may hold;
    /// each is a lookup per candidate row.
    #[arg(long, env = "SCIMD_FILTER_MAX_JOINS", default_value_t = FilterBudget::default().joins, value_name = "N")]
    pub filter_max_joins: usize,
    /// Most co, sw and ew comparisons one filter may hold; each is a pattern match per value.
    #[arg(
        long,
        env = "SCIMD_FILTER_MAX_PATTERNS",
        default_value_t = FilterBudget::default().patterns,
        value_name = "N"
    )]
    pub filter_max_patterns: usize,
    /// Seconds a client has to send a request's headers; an idle keep-alive connection is
    /// closed after as long.
    #[arg(long, env = "SCIMD_HTTP_HEADER_TIMEOUT", default_value_t = 10, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_header_timeout: u64,
    /// Seconds a client has to send a request's body.
    #[arg(long, env = "SCIMD_HTTP_BODY_TIMEOUT", default_value_t = 60, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_body_timeout: u64,
    /// Client connections served at once; more wait in the listen queue until one closes.
    #[arg(long, env = "SCIMD_HTTP_MAX_CONNECTIONS", default_value_t = 1024, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub http_max_connections: u64,
    /// Requests per second each token may make (bursts of one second's worth); over it, 429
    /// with Retry-After. A token's own `--rate-limit` (scimd token create) wins. Off when unset.
    #[arg(long, env = "SCIMD_RATE_LIMIT", value_name = "PER_SECOND")]
    pub rate_limit: Option<u32>,
    /// Requests per second all tokens of one tenant may make together. Off when unset.
    #[arg(long, env = "SCIMD_TENANT_RATE_LIMIT", value_name = "PER_SECOND")]
    pub tenant_rate_limit: Option<u32>,
    /// Serve GET /metrics (Prometheus) on this address of its own, with no authentication;
    /// bind it to a private address. The SCIM listener then answers 404 for /metrics. Without
    /// it, /metrics is on the SCIM listener for admin tokens.
    #[arg(long, env = "SCIMD_METRICS_LISTEN", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<String>,
    #[command(flatten)]
    pub mail: MailArgs,
}

impl ServeArgs {
    /// The HTTP limits the options set; `drain` is how long shutdown waits for requests.
    pub fn http_limits(&self, drain: std::time::Duration) -> crate::http::server::Limits {
        crate::http::server::Limits {
            header_timeout: std::time::Duration::from_secs(self.http_header_timeout),
            body_timeout: std::time::Duration::from_secs(self.http_body_timeout),
            max_connections: usize::try_from(self.http_max_connections).unwrap_or(usize::MAX),
            drain,
        }
    }

    /// The filter budget the options set.
    pub fn filter_budget(&self) -> FilterBudget {
        FilterBudget { terms: self.filter_max_terms, joins: self.filter_max_joins, patterns: self.filter_max_patterns }
    }
}

#[derive(Debug, Subcommand)]
pub enum SubscriptionCommand {
    /// Add a subscription: events committed from now on are POSTed to the endpoint. Prints the
    /// subscription's id, and the secret the events are signed with when it was generated.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        /// The http:// or https:// URL that receives the events.
        #[arg(long, value_name = "URL")]
        endpoint: String,
        /// Comma-separated event types: create, put, patch, delete, activate, deactivate (or
        /// their URIs); all when left out.
        #[arg(long, value_delimiter = ',', value_name = "TYPES")]
        events: Vec<String>,
        /// The HS256 key (32 to 512 bytes) to sign events with; generated and printed when left
        /// out.
        #[arg(long, env = "SCIMD_SUBSCRIPTION_SECRET", hide_env_values = true, value_name = "SECRET")]
        secret: Option<String>,
    },
    /// List the tenant's subscriptions with how their delivery goes.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Remove a subscription; its undelivered events are no longer sent.
    Remove {
        #[command(flatten)]
        tenant: TenantArg,
        /// The subscription's id, as `add` printed it and `list` shows it.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret once, alone on stdout.
    Create {
        #[command(flatten)]
        tenant: TenantArg,
        /// Comma-separated scopes: read, write, sync, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<String>,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Lifetime, such as 90d, 12h or 30m (at most 100 years); none means it never expires.
        #[arg(long, value_name = "LIFETIME")]
        expires: Option<String>,
        /// Requests per second this token may make, instead of the server's --rate-limit.
        #[arg(long, value_name = "PER_SECOND", value_parser = clap::value_parser!(u32).range(1..))]
        rate_limit: Option<u32>,
    },
    /// List tokens (never their secrets).
    List {
        /// Only this tenant's tokens.
        #[arg(long, value_name = "NAME")]
        tenant: Option<String>,
    },
    /// Revoke a token by the id `token list` shows; it stops working within two seconds.
    Revoke {
        /// The token's id, as `scimd token list` shows it.
        id: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::{redact_url, Cli};

    #[test]
    fn every_command_and_argument_has_help_text() {
        fn walk(command: &clap::Command, path: &str) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" {
                    assert!(arg.get_help().is_some() || arg.get_long_help().is_some(), "{path} {id} has no help");
                }
            }
            for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
                let path = format!("{path} {}", sub.get_name());
                assert!(sub.get_about().is_some(), "{path} has no help");
                walk(sub, &path);
            }
        }
        walk(&<Cli as clap::CommandFactory>::command(), "scimd");
    }

    #[test]
    fn passwords_in_database_urls_are_redacted() {
        for (url, shown) in [
            ("postgres://scimd:s3cret@db:5432/scimd", "postgres://scimd:***@db:5432/scimd"),
            ("postgres://scimd:p@ss@db/scimd", "postgres://scimd:***@db/scimd"),
            ("postgres://scimd@db/scimd", "postgres://scimd@db/scimd"),
            ("postgres://db/scimd?password=s3cret&sslmode=require", "postgres://db/scimd?password=***&sslmode=require"),
            ("sqlite://scimd.db", "sqlite://scimd.db"),
            ("see postgres://u:pw@h/d: refused", "see postgres://u:***@h/d: refused"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
