//! One function per SCIM operation: check the caller's scope, validate with `scim`, call the
//! store, render the result. The only place store errors become SCIM errors.
//!
//! Imports `scim`, `store` and `auth`; never `http`.

mod admin;
mod audit;
mod authenticator;
mod bulk;
mod console;
pub mod delivery;
mod discovery;
mod events;
mod import;
mod mail;
pub mod metrics;
mod operator;
mod resources;
mod source_lock;
mod sources;
mod tokens;

use std::sync::Arc;

pub use crate::store::ImportSource;
/// How long one query may run unless configured otherwise.
pub use crate::store::DEFAULT_QUERY_TIMEOUT;
/// The store's records that the service's functions hand out as they are.
pub use crate::store::{
    AuditEvent, GroupView, MemberView, Operation, Scope, Stored, TenantId, TenantInfo, TokenId, TokenRecord, TokenState,
};
pub use audit::{AuditPage, AuditParams};
pub use authenticator::{Authenticator, TOKEN_CACHE_LIFETIME};
pub use bulk::BulkOutcome;
pub use bulk::{MAX_OPERATIONS, MAX_PAYLOAD_BYTES};
pub use console::{ConsoleSession, SESSIONS_PER_TOKEN, SESSION_IDLE};
pub use events::{poll_json, PollRequest, PollResponse, SubscriptionView};
pub use import::{ImportOptions, ImportParams, Progress, SourceParams, SyncOptions, MAX_IMPORT_BYTES};
pub use mail::{
    temporary_password, CreationOptions, Mailer, Recipients, SmtpTls, SmtpUrl, DEFAULT_MAIL_FROM, MAX_RECIPIENTS,
    SMTP_URL_FORMAT,
};
pub use operator::DEFAULT_TENANT;
pub use resources::{ListPage, ListParams, MemberPage, Resource};
pub use sources::MAX_MAP_BYTES;

use crate::auth::Principal;
use crate::scim::error::ScimError;
use crate::scim::filter::FilterBudget;
use crate::scim::schema::Registry;
use crate::store::{Store, StoreError};

/// Largest page a list returns, whatever `count` asks for (advertised as `filter.maxResults`).
pub const MAX_PAGE: u64 = 1000;
/// Group members one list page renders at most: a page of groups ends early rather than pass
/// it (RFC 7644 §3.4.2.4 lets `itemsPerPage` fall short of `count`), and a single larger
/// group is served alone.
pub const MEMBERS_PER_PAGE: u64 = 10_000;
/// Largest request body accepted (advertised as `bulk.maxPayloadSize`).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A caller: the principal its credentials name.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The HTTP request's `X-Request-Id`, for the audit log.
    pub request_id: Option<String>,
    /// The client's address, for the audit log.
    pub client: Option<String>,
    /// The HR source a sync writes users as (`importSource`); set by the import alone, since
    /// SCIM clients may not set it.
    import_source: Option<crate::directory::import::SourceName>,
}

/// The token id the command line's operator acts with: no token at all.
const OPERATOR_TOKEN: crate::store::TokenId = crate::store::TokenId(0);

impl Caller {
    pub fn new(principal: Principal, request_id: Option<String>, client: Option<String>) -> Caller {
        Caller { principal, request_id, client, import_source: None }
    }

    /// The same caller writing users as a sync of `source`.
    pub(crate) fn syncing(&self, source: crate::directory::import::SourceName) -> Caller {
        Caller { import_source: Some(source), ..self.clone() }
    }

    /// The operator at the command line: an administrator of the tenant.
    pub fn operator(tenant: TenantId, tenant_name: &str) -> Caller {
        Caller {
            principal: Principal {
                tenant,
                tenant_name: tenant_name.to_owned(),
                token_id: OPERATOR_TOKEN,
                token_name: "command line".into(),
                scopes: vec![Scope::Admin],
                rate_limit: None,
            },
            request_id: None,
            client: None,
            import_source: None,
        }
    }

    /// Who the audit log says made the caller's changes.
    pub fn actor(&self) -> crate::store::Actor {
        let token = self.principal.token_id;
        crate::store::Actor {
            token_id: (token != OPERATOR_TOKEN).then_some(token),
            name: self.principal.token_name.clone(),
            request_id: self.request_id.clone(),
            client: self.client.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    /// The built-in schemas, the same the store compiles filters against.
    registry: &'static Registry,
    /// Read from the store on first use (see `cursor_key`).
    cursor_key: Arc<tokio::sync::OnceCell<Vec<u8>>>,
    /// How much work one list filter may ask of the database.
    filter_budget: FilterBudget,
    /// The SMTP server results mail goes through (`--smtp-url`), when one is configured.
    mailer: Option<Arc<mail::Mailer>>,
    /// The Prometheus series this service and the HTTP layer in front of it record.
    metrics: Arc<metrics::Metrics>,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, registry: &'static Registry, metrics: Arc<metrics::Metrics>) -> Self {
        Service {
            store,
            registry,
            cursor_key: Arc::default(),
            filter_budget: FilterBudget::default(),
            mailer: None,
            metrics,
        }
    }

    /// Where requests and rate-limit refusals are counted.
    pub fn metrics(&self) -> &Arc<metrics::Metrics> {
        &self.metrics
    }

    /// The process's series in the Prometheus text format, for an admin token of any tenant:
    /// none of them is labelled with, or counts for, one tenant.
    pub fn metrics_for(&self, caller: &Caller) -> crate::scim::error::Result<String> {
        caller.principal.require(Scope::Admin)?;
        Ok(self.metrics.render(self.store.pool_stats(), crate::store::cancelled_queries(), None))
    }

    /// Every series, the seats of every tenant's Licenses included, unauthenticated: for the
    /// metrics listener (`--metrics-listen`) alone. Without the seats if they cannot be read.
    pub async fn metrics_text(&self) -> String {
        let seats = match self.store.license_seats(metrics::MAX_LICENSE_SERIES).await {
            Ok(seats) => seats,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read license seats for the metrics");
                Vec::new()
            }
        };
        let lags = self.outbox_lags().await;
        let tenants = metrics::TenantSeries { seats: &seats, lags: &lags };
        self.metrics.render(self.store.pool_stats(), crate::store::cancelled_queries(), Some(tenants))
    }

    /// Whether the store answers, through the connection it keeps for this check.
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Gives back memory the store caches for connections nobody is using.
    pub async fn release_memory(&self) -> Result<(), StoreError> {
        self.store.release_memory().await
    }

    /// The same service with another filter budget (`--filter-max-terms` and its siblings).
    pub fn with_filter_budget(self, filter_budget: FilterBudget) -> Self {
        Service { filter_budget, ..self }
    }
}

/// Logs a server error that goes into a Bulk result or an import report rather than an HTTP
/// answer of its own (`http::error` logs those), so "the server log has the cause" holds.
pub(crate) fn log_internal(e: &ScimError) {
    if e.status >= 500 && e.status != 501 {
        tracing::error!(status = e.status, cause = ?e.source.as_ref().map(|s| s.to_string()), "{}", e.detail);
    }
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ScimError::new(404, None, "resource not found"),
            StoreError::Conflict { attribute, value } => ScimError::uniqueness(attribute, &value),
            StoreError::VersionMismatch { current } => {
                ScimError::precondition_failed(&crate::scim::resource::etag(current))
            }
            StoreError::UnknownMembers(ids) => ScimError::invalid_value(format!(
                "unknown member id{} {}: every member must be an existing User or Group of this tenant",
                if ids.len() == 1 { "" } else { "s" },
                ids.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(", ")
            )),
            // 409: the request is sound and succeeds once another admin token exists.
            StoreError::LastAdminToken(id) => ScimError::new(
                409,
                None,
                format!(
                    "token {id} is this tenant's last active admin token: revoking it would lock the tenant out; \
                     create another admin token first (POST /Admin/Tokens with scopes [\"admin\"])"
                ),
            ),
            StoreError::SelfMember(id) => ScimError::invalid_value(format!(
                "a group cannot be a member of itself: remove \"{id}\" from its members"
            )),
            StoreError::UnknownLicenses(ids) => ScimError::invalid_value(format!(
                "licenses: no License with id {} in this tenant; the tenant's licenses are listed at /Licenses",
                ids.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(", ")
            )),
            // 409: the request is sound and succeeds once the tenant's state changes.
            StoreError::NoSeats { part_number, seats } => ScimError::new(
                409,
                None,
                format!(
                    "no seats left on license \"{part_number}\": all {seats} seats are assigned; remove the license \
                     from another user, or raise its seats (scimd license set-seats)"
                ),
            ),
            StoreError::SeatsInUse { part_number, consumed, seats } => ScimError::new(
                409,
                None,
                format!(
                    "license \"{part_number}\" cannot have {seats} seats: {consumed} are assigned; remove it from \
                     users first"
                ),
            ),
            StoreError::NameReserved { name, existing } => resources::initial_domain_conflict(&name, &existing),
            StoreError::LicenseInUse { part_number, consumed } => ScimError::new(
                409,
                None,
                format!(
                    "license \"{part_number}\" is assigned to {consumed} user{}; remove it from them before deleting it",
                    if consumed == 1 { "" } else { "s" }
                ),
            ),
            StoreError::TenantNotEmpty { users, groups } => ScimError::new(
                409,
                None,
                format!("the tenant holds {users} users and {groups} groups; remove them first, or force the removal"),
            ),
            StoreError::Unsupported(detail) => ScimError::invalid_filter(detail),
            // tooMany: RFC 7644's word for a query more costly than the server will process.
            StoreError::Cancelled => ScimError::too_many(
                "the query ran past the server's time budget (--query-timeout) and was cancelled; narrow the \
                 filter, ask for a smaller count, or leave out members (excludedAttributes=members)",
            ),
            e @ (StoreError::Corrupt(_) | StoreError::NotCommitted(_)) => ScimError::internal(e),
            e @ StoreError::Backend(_) => ScimError::internal(e),
            e @ StoreError::Migrate(_) => ScimError::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_stored_data_is_the_servers_fault_and_a_query_the_compiler_cannot_express_the_clients() {
        let corrupt = ScimError::from(StoreError::Corrupt("stored timestamp \"x\" is unreadable".into()));
        assert_eq!((corrupt.status, corrupt.scim_type), (500, None));
        assert!(!corrupt.detail.contains("timestamp"), "the cause goes to the log only: {}", corrupt.detail);
        assert!(corrupt.source.is_some());
        let unsupported = ScimError::from(StoreError::Unsupported("filtering on x is not supported".into()));
        assert_eq!((unsupported.status, unsupported.scim_type.map(|t| t.as_str())), (400, Some("invalidFilter")));
    }

    #[test]
    fn a_query_cancelled_for_time_is_400_too_many_naming_the_budget() {
        let err = ScimError::from(StoreError::Cancelled);
        assert_eq!((err.status, err.scim_type.map(|t| t.as_str())), (400, Some("tooMany")));
        assert!(err.detail.contains("--query-timeout"), "{}", err.detail);
    }
}
