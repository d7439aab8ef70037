//! scimd: a SCIM 2.0 service provider (RFC 7643, RFC 7644) over SQLite or PostgreSQL.
//!
//! Layers, arrows pointing one way: `http` → `service` → {`scim`, `directory`, `store`}.
//! `scim` is the protocol (schemas, filters, PATCH, projection) with no I/O; `store` keeps
//! resources in a database; `service` has one function per SCIM operation; `http` is axum.

pub mod auth;
pub mod cli;
pub mod directory;
pub mod http;
mod memory;
mod progress;
pub mod scim;
pub mod service;
pub mod store;
pub mod telemetry;

use std::sync::Arc;

use anyhow::bail;

use crate::cli::DatabaseArgs;
use crate::http::AppState;
use crate::scim::schema::Registry;
use crate::service::metrics::Metrics;
use crate::service::{Authenticator, Service};
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};

pub use crate::cli::run;
pub use crate::http::router as app;
pub use crate::service::DEFAULT_TENANT;

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
    // One registry for the whole process: the store compiles filters against the same one.
    let registry = Registry::builtin().map_err(|e| anyhow::anyhow!("schema documents are invalid: {e}"))?;
    let metrics = Metrics::new().map_err(|e| anyhow::anyhow!("the metrics cannot be registered: {e}"))?;
    Ok(AppState {
        service: Service::new(store.clone(), registry, Arc::new(metrics)),
        registry,
        auth: Arc::new(Authenticator::new(store)),
        base_url: base_url.as_deref().map(scim_base_url),
        trust_forwarded_headers: false,
        listener_tls: false,
        rate: Arc::default(),
        console: Arc::default(),
        metrics_here: true,
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

#[cfg(test)]
mod tests {
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
