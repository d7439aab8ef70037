//! The command line: `serve` (the default), `import`, and the commands that manage tenants,
//! tokens, domains, licenses and users. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "scimd", version, about = "A SCIM 2.0 provisioning server with Office 365-style directory rules")]
pub struct Cli {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://FILE (created on first start) or postgres://…
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://scimd.db", global = true)]
    pub database: String,
    /// Largest number of open database connections.
    #[arg(long, env = "SCIMD_MAX_CONNECTIONS", default_value_t = 8, global = true)]
    pub max_connections: u32,
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
    /// the database fails. A file refused as a whole writes nothing; after a database failure,
    /// run the import again: rows already imported are then updated, not duplicated.
    Import(ImportArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ImportArgs {
    /// The CSV file, saved as UTF-8 (with or without a byte-order mark).
    pub file: PathBuf,
    /// The tenant to import into; it must exist (see `scimd tenant add`).
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// Check every row and write the report, but change nothing in the database.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a verified domain.
    Add {
        domain: String,
        #[arg(long, default_value = "default")]
        tenant: String,
        /// This is the tenant's initial domain (such as contoso.onmicrosoft.com).
        #[arg(long)]
        initial: bool,
    },
    /// List the tenant's verified domains.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Remove a verified domain.
    Remove {
        domain: String,
        #[arg(long, default_value = "default")]
        tenant: String,
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
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// List the tenant's licenses with their seats: total, assigned and available.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Change a license's number of seats; never below the seats assigned.
    SetSeats {
        part_number: String,
        #[arg(allow_negative_numbers = true)]
        seats: i64,
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Remove a license no user holds.
    Remove {
        part_number: String,
        #[arg(long, default_value = "default")]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Bring back a deleted user (its group memberships are not restored).
    Restore {
        /// The user's id.
        id: String,
        /// The tenant the user belongs to.
        #[arg(long, default_value = "default")]
        tenant: String,
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
        name: String,
        /// Remove it even though it still holds users or groups.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCIMD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Ensure an admin token with this secret exists for the default tenant.
    #[arg(long, env = "SCIMD_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub bootstrap_token: Option<String>,
    /// Public base URL of the SCIM API (e.g. https://scim.example.com/scim/v2), used in
    /// `location` and `$ref`; by default it is built from the request's Host header.
    #[arg(long, env = "SCIMD_BASE_URL")]
    pub base_url: Option<String>,
    /// How long deleted users stay restorable before they are purged, such as 30d or 12h.
    #[arg(long, env = "SCIMD_DELETED_RETENTION", default_value = "30d")]
    pub deleted_retention: String,
    /// Log format: text or json.
    #[arg(long, env = "SCIMD_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret once, alone on stdout.
    Create {
        /// Tenant the token belongs to (created if new).
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Comma-separated scopes: read, write, sync, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<String>,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Lifetime, such as 90d, 12h or 30m; none means it never expires.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        /// Only this tenant's tokens.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a token by the id `token list` shows; it stops working within two seconds.
    Revoke { id: i64 },
}
