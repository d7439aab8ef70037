//! Persistence: the `Store` trait every backend implements, the types that cross it, and the
//! backend-neutral `StoreError`.
//!
//! Imports `scim` for the filter AST and resource kinds; never `http` or `service`.

mod audit;
pub mod backend;
pub mod dialect;
mod domains;
mod events;
mod group_commit;
mod members;
pub mod postgres;
mod resources;
mod seats;
mod sessions;
mod settings;
mod sources;
pub mod sql;
pub mod sql_store;
pub mod sqlite;
mod tokens;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use crate::scim::filter::Checked;
use crate::scim::path::AttrPath;
pub use crate::scim::resource::{MemberRef, ResourceId};
use crate::scim::schema::ResourceKind;

/// The credentials the store keeps, as `auth` defines them.
pub use crate::auth::{NewToken, Scope, TenantId, TokenId, TokenRecord, TokenState};

/// What can go wrong in a store, independent of the database behind it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique attribute's value is taken (`attribute` as SCIM names it).
    #[error("{attribute} {value:?} is already in use")]
    Conflict { attribute: &'static str, value: String },
    /// The compare-and-swap on `version` failed; `current` is the version now stored.
    #[error("version mismatch, current version {current}")]
    VersionMismatch { current: i64 },
    /// Group members that do not exist in the tenant.
    #[error("unknown members {0:?}")]
    UnknownMembers(Vec<ResourceId>),
    /// Revoking the token would leave its tenant without an active admin token.
    #[error("token {0} is the tenant's last active admin token")]
    LastAdminToken(TokenId),
    /// A group named itself as one of its members.
    #[error("group {0} cannot be its own member")]
    SelfMember(ResourceId),
    /// A user names Licenses that do not exist in the tenant.
    #[error("unknown licenses {0:?}")]
    UnknownLicenses(Vec<String>),
    /// Every seat of the License is taken.
    #[error("no seats left on {part_number}: all {seats} are assigned")]
    NoSeats { part_number: String, seats: i64 },
    /// A License's seats may not go below the seats already assigned.
    #[error("{part_number} has {consumed} seats assigned, more than {seats}")]
    SeatsInUse { part_number: String, consumed: i64, seats: i64 },
    /// `name` may not be written while a user holds `existing` (see `NameGuard`).
    #[error("{name} may not be created while {existing} exists")]
    NameReserved { name: String, existing: String },
    /// A License still held by users cannot be deleted.
    #[error("{part_number} is assigned to {consumed} users")]
    LicenseInUse { part_number: String, consumed: i64 },
    /// The tenant still holds users and groups (deleted ones included) and removal was not forced.
    #[error("the tenant holds {users} users and {groups} groups")]
    TenantNotEmpty { users: i64, groups: i64 },
    /// A filter or sort the SQL compiler cannot express: the client's to change (400).
    #[error("{0}")]
    Unsupported(String),
    /// Stored data that cannot be read back, or a value that cannot be encoded for a
    /// statement: the server's fault (500, the cause logged), never the client's.
    #[error("{0}")]
    Corrupt(String),
    /// The write's transaction could not be committed (the disk, the database file): nothing
    /// of it was kept.
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
    /// The statement ran past the query time budget and the database cancelled it; the
    /// connection is whole and goes back to the pool.
    #[error("the statement ran past the query time budget and was cancelled")]
    Cancelled,
    #[error("database error: {0}")]
    Backend(sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            // SQLITE_INTERRUPT: the progress handler stopped a statement past its deadline.
            // 57014 query_canceled: PostgreSQL's statement_timeout did.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("9" | "57014")) => {
                CANCELLED_QUERIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                StoreError::Cancelled
            }
            _ => StoreError::Backend(e),
        }
    }
}

/// Statements this process's stores cancelled for time, counted where the database's answer
/// is classified (for `scimd_query_cancellations_total`).
static CANCELLED_QUERIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many statements were cancelled for running past the query time budget so far.
pub fn cancelled_queries() -> u64 {
    CANCELLED_QUERIES.load(std::sync::atomic::Ordering::Relaxed)
}

/// One License's seats, as the metrics listener exports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseSeats {
    pub tenant: String,
    pub part_number: String,
    pub seats: i64,
    pub consumed: i64,
}

/// An admin-center session to store: the hash of its id (never the id), the token it was
/// opened with, its CSRF token and when it ends unless used (Unix milliseconds).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: String,
    pub token: TokenId,
    pub csrf: String,
    pub expires_at: i64,
}

/// A stored admin-center session with its token as it stands now (revoked, expired or not).
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token: TokenRecord,
    pub csrf: String,
    /// A message for the session's next page.
    pub flash: Option<String>,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// The connection pool as it stands: connections open, those of them waiting for work, and
/// the most it may open. The connection reserved for readiness checks is not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// How long one statement may run unless `--query-timeout` says otherwise.
pub const DEFAULT_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A resource as stored: the document plus what the store maintains around it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The immutable position in creation order; paging cursors point after it.
    pub seq: i64,
    pub id: ResourceId,
    pub kind: ResourceKind,
    /// Client-visible attributes, without `id`, `meta`, `members`, `groups` or `password`.
    /// Null when the document was read as text (`doc_text`).
    pub doc: Value,
    /// The document as stored, unparsed, when asked for (`Load::doc_text`): a reader that
    /// writes it out whole need not parse it and serialize it again.
    pub doc_text: Option<String>,
    pub version: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// A group's members, when asked for.
    pub members: Option<Vec<MemberView>>,
    /// The groups a user is a direct member of, when asked for.
    pub groups: Option<Vec<GroupView>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub id: ResourceId,
    pub kind: ResourceKind,
    pub display: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub id: ResourceId,
    pub display: Option<String>,
}

/// Which derived parts to read with a resource. Leaving them out costs nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    pub members: bool,
    pub groups: bool,
    /// The document as its stored text (`Stored::doc_text`), not parsed. A License's is
    /// always parsed: its seat counters are added to it.
    pub doc_text: bool,
}

/// A change to a group's membership; only the named rows are touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Replace(Vec<MemberRef>),
    Add(Vec<MemberRef>),
    Remove(Vec<ResourceId>),
}

/// Who made a change, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token used; none for the command line and the server's own tasks.
    pub token_id: Option<TokenId>,
    /// The token's name, `command line`, or the task's name.
    pub name: String,
    /// The HTTP request's `X-Request-Id`, when there was one.
    pub request_id: Option<String>,
    /// The client's address, when the change came over HTTP.
    pub client: Option<String>,
}

impl Actor {
    /// The server itself (the retention purge) or a tool acting without a token.
    pub fn system(name: &str) -> Actor {
        Actor { token_id: None, name: name.to_owned(), request_id: None, client: None }
    }
}

/// What a write does, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Replace,
    Patch,
    Delete,
    Restore,
    Purge,
    /// A token revoked.
    Revoke,
    /// A results mail was sent, or failed (not a write: its outcome and recipients).
    Mail,
}

impl Operation {
    pub const ALL: [Operation; 8] = [
        Operation::Create,
        Operation::Replace,
        Operation::Patch,
        Operation::Delete,
        Operation::Restore,
        Operation::Purge,
        Operation::Revoke,
        Operation::Mail,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Replace => "replace",
            Operation::Patch => "patch",
            Operation::Delete => "delete",
            Operation::Restore => "restore",
            Operation::Purge => "purge",
            Operation::Revoke => "revoke",
            Operation::Mail => "mail",
        }
    }

    pub fn parse(s: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.as_str().eq_ignore_ascii_case(s))
    }
}

/// A write's line in the audit log, written in the write's transaction.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: Actor,
    pub operation: Operation,
    /// The attributes changed: `{"title": {"before": …, "after": …}, …}`; never a password.
    pub changes: Value,
}

impl AuditEntry {
    pub fn new(actor: &Actor, operation: Operation, changes: Value) -> AuditEntry {
        AuditEntry { actor: actor.clone(), operation, changes }
    }
}

/// One line of the audit log as read back.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub operation: Operation,
    /// `User`, `Group`, `License`, `Token` or `Domain`.
    pub resource_type: String,
    pub resource_id: String,
    pub changes: Value,
}

/// Which audit events to read: all conditions hold; oldest first unless `newest_first`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub operation: Option<Operation>,
    pub token_id: Option<TokenId>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Pages counted from the latest line back, for a reader who wants what just happened.
    pub newest_first: bool,
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
}

/// A tenant's stored HR source (`scimd import-source add`): the column map its exports are
/// read through, as the JSON given, and the valve a sync of it runs with (`10%`, `25`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSource {
    pub name: String,
    pub column_map: String,
    pub max_deactivate: String,
    /// When it was first added, and when its map was last replaced.
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

/// What a sync of an HR source last applied to a user: the hash of the row and the user's
/// version right after. While the version is unchanged and the row hashes the same, applying
/// the row again changes nothing, and a sync can say so without computing its PATCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The user's `Stored::seq`.
    pub seq: i64,
    pub row_hash: String,
    pub version: i64,
}

/// A live user's identity and version, read without its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserHead {
    pub seq: i64,
    pub id: ResourceId,
    pub user_name: String,
    pub version: i64,
}

/// A live user whose `importSource` is a given source: who, and whether active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUser {
    pub id: ResourceId,
    pub user_name: String,
    pub active: bool,
}

/// A push subscription (RFC 8935) as the store keeps it, with how far its delivery got.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub tenant: TenantId,
    /// Where each event is POSTed.
    pub endpoint: String,
    /// The event type URIs wanted; empty means all.
    pub event_types: Vec<String>,
    /// The HS256 key events are signed with; never listed, shown once at creation.
    pub secret: String,
    pub created: OffsetDateTime,
    /// The audit position of the last event delivered or given up on.
    pub cursor: i64,
    /// Failed attempts at the event after `cursor`, and when the next one is due.
    pub attempts: i64,
    pub retry_at: Option<OffsetDateTime>,
    pub delivered: i64,
    pub last_delivery: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub last_error_at: Option<OffsetDateTime>,
    /// Events given up on.
    pub dead_letters: i64,
}

/// A new subscription; it receives the events committed after it.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub id: String,
    pub endpoint: String,
    pub event_types: Vec<String>,
    pub secret: String,
}

/// An event a subscription gave up on, and why.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub seq: i64,
    pub jti: String,
    pub error: String,
    pub at: OffsetDateTime,
}

/// What one delivery attempt came to, as the subscription records it.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// Events up to `cursor` are done: `count` of them were accepted.
    Delivered { cursor: i64, count: i64 },
    /// The event after the cursor failed; try again at `retry_at`.
    Failed { error: String, attempts: i64, retry_at: OffsetDateTime },
    /// The event at `seq` is given up on; the cursor moves past it.
    GivenUp { seq: i64, jti: String, error: String },
}

/// A token's poll stream (RFC 8936): events after `cursor` are pending unless in `acked`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollStream {
    pub cursor: i64,
    pub acked: Vec<i64>,
}

/// A new resource. The store derives its promoted columns from `doc`.
#[derive(Debug, Clone)]
pub struct NewResource {
    pub id: ResourceId,
    pub kind: ResourceKind,
    pub doc: Value,
    pub password_hash: Option<String>,
    pub members: Vec<MemberRef>,
    pub name_guard: Option<NameGuard>,
    /// Recorded in the audit log in the insert's transaction.
    pub audit: AuditEntry,
}

/// The verified-domain rule's check on a user's name, made in the write's transaction:
/// writers of names with the same `key` (the local part) take turns, and the write fails with
/// `NameReserved` if a live user holds one of the `absent` names by then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameGuard {
    pub key: String,
    pub absent: Vec<String>,
}

/// A replacement document for an existing resource, written only if its version is still
/// `expected_version` (the version the change was computed from).
#[derive(Debug, Clone)]
pub struct Update {
    pub doc: Value,
    /// The stored document the update was computed from (the one at `expected_version`), when
    /// known: the write then touches only the columns, index rows and seats that change.
    pub previous: Option<Value>,
    /// `None` keeps the stored hash.
    pub password_hash: Option<String>,
    /// Applied in order after the document is written.
    pub members: Vec<MemberChange>,
    pub expected_version: i64,
    pub name_guard: Option<NameGuard>,
    /// Recorded in the audit log in the update's transaction.
    pub audit: AuditEntry,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Checked against the built-in schemas (`scim::filter::check`), each path resolved.
    pub filter: Option<Checked<'static>>,
    /// `sortBy` and whether ascending.
    pub sort: Option<(AttrPath, bool)>,
    /// 1-based, as in RFC 7644 §3.4.2.4.
    pub start_index: u64,
    /// Cursor paging (RFC 9865): only resources created after this position.
    pub after_seq: Option<i64>,
    pub count: u64,
    /// With members loaded: the page ends early, before the group whose members would take
    /// the page past this many. A first group larger than that is served alone, without its
    /// members (`members` stays `None`), for the caller to read with `members_after`.
    pub member_budget: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub total: u64,
    pub items: Vec<Stored>,
    /// The member budget ended the page before `count`: more matches follow it.
    pub cut: bool,
}

/// A tenant and how much it holds.
#[derive(Debug, Clone)]
pub struct TenantInfo {
    pub id: TenantId,
    pub name: String,
    pub created: OffsetDateTime,
    pub users: u64,
    pub groups: u64,
}

/// Everything scimd keeps. Every write is one transaction; versions and uniqueness are
/// enforced by the database so several processes can share it.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers once the database does, through a connection reserved for it: a pool busy
    /// with other requests does not make the store look down.
    async fn ping(&self) -> Result<()>;
    /// Makes the connections nobody is using give back the memory they cache (SQLite's page
    /// cache), so that memory taken by a burst does not stay; a no-op where nothing is cached.
    async fn release_memory(&self) -> Result<()>;
    /// The connection pool's counts now, read from memory without a query.
    fn pool_stats(&self) -> PoolStats;
    /// The seats of every live License of every tenant, by tenant name and part number, at
    /// most `limit` of them (for the metrics listener).
    async fn license_seats(&self, limit: u64) -> Result<Vec<LicenseSeats>>;
    /// Writes a consistent copy of the whole database to `file`, which must not exist, while
    /// others go on reading and writing. `Unsupported` where the database's own tools do it.
    async fn backup_into(&self, file: &str) -> Result<()>;

    async fn insert(&self, tenant: TenantId, new: NewResource, load: Load) -> Result<Stored>;
    /// Inserts many resources in one transaction, each under a savepoint of its own: a failing
    /// one is undone alone and reported in its place, the others are kept.
    async fn insert_many(&self, tenant: TenantId, news: &[NewResource], load: Load) -> Result<Vec<Result<Stored>>>;
    async fn fetch(&self, tenant: TenantId, kind: ResourceKind, id: &ResourceId, load: Load) -> Result<Stored>;
    async fn update(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &ResourceId,
        update: Update,
        load: Load,
    ) -> Result<Stored>;
    /// How many members the live group `id` has.
    async fn member_count(&self, tenant: TenantId, id: &ResourceId) -> Result<u64>;
    /// Up to `limit` members of the live group `id` whose position comes after `after`, in a
    /// stable order, with their positions: a big group read a chunk at a time.
    async fn members_after(
        &self,
        tenant: TenantId,
        id: &ResourceId,
        after: i64,
        limit: u64,
    ) -> Result<Vec<(i64, MemberView)>>;
    /// Applies membership changes to a live group without comparing versions: an add or a
    /// remove touches only the rows it names, so concurrent ones never conflict and none is
    /// lost. The group's version still goes up by one.
    async fn update_members(
        &self,
        tenant: TenantId,
        id: &ResourceId,
        changes: &[MemberChange],
        load: Load,
        audit: &AuditEntry,
    ) -> Result<Stored>;
    /// Deletes (users: soft delete, releasing the name, memberships and seats) if the version
    /// matches; a License only when no user holds it.
    async fn delete(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &ResourceId,
        expected_version: Option<i64>,
        audit: &AuditEntry,
    ) -> Result<()>;
    async fn list(&self, tenant: TenantId, kind: ResourceKind, query: &ListQuery, load: Load) -> Result<Page>;

    /// The tenant called `name`, created if new.
    async fn ensure_tenant(&self, name: &str) -> Result<TenantId>;
    /// Creates a token, recorded in the tenant's audit log as created by `actor`.
    async fn create_token(&self, tenant: TenantId, token: NewToken, actor: &Actor) -> Result<TokenRecord>;
    async fn find_token(&self, secret_hash: &str) -> Result<Option<TokenRecord>>;
    async fn has_tokens(&self) -> Result<bool>;
    /// Every token (of one tenant, when given); secrets are never kept, so never listed.
    async fn list_tokens(&self, tenant: Option<TenantId>) -> Result<Vec<TokenRecord>>;
    /// Marks the token revoked; `NotFound` when there is no such token.
    async fn revoke_token(&self, id: TokenId, actor: &Actor) -> Result<()>;
    /// Revokes a token of `tenant` unless it is the tenant's last active admin token
    /// (`LastAdminToken`), checked and written in one transaction that revocations of the
    /// same tenant take turns for; `NotFound` when the tenant has no such token.
    async fn revoke_tenant_token(&self, tenant: TenantId, id: TokenId, actor: &Actor) -> Result<()>;
    /// Records that the token was just used.
    async fn touch_token(&self, id: TokenId) -> Result<()>;

    async fn list_tenants(&self) -> Result<Vec<TenantInfo>>;

    /// The tenant's verified domains, lower-case, and whether each is the initial one.
    async fn domains(&self, tenant: TenantId) -> Result<Vec<(String, bool)>>;
    /// Adds (or re-marks) a verified domain; at most one domain of a tenant is initial.
    async fn add_domain(&self, tenant: TenantId, domain: &str, initial: bool, actor: &Actor) -> Result<()>;
    async fn remove_domain(&self, tenant: TenantId, domain: &str, actor: &Actor) -> Result<()>;
    /// Which of these userNames a live user of the tenant holds (compared case-folded).
    async fn user_names_taken(&self, tenant: TenantId, names: &[String]) -> Result<Vec<String>>;

    /// Soft-deleted users, oldest deletion first, with when each was deleted.
    async fn list_deleted(
        &self,
        tenant: TenantId,
        start_index: u64,
        count: u64,
    ) -> Result<(u64, Vec<(Stored, OffsetDateTime)>)>;
    /// Brings a soft-deleted user back, taking seats again for its licenses (those deleted
    /// meanwhile are dropped from it); `Conflict` when its userName was taken meanwhile,
    /// `NoSeats` when a license has no seat left.
    async fn restore(&self, tenant: TenantId, id: &ResourceId, audit: &AuditEntry) -> Result<Stored>;
    /// Removes a soft-deleted user for good.
    async fn purge(&self, tenant: TenantId, id: &ResourceId, audit: &AuditEntry) -> Result<()>;
    /// Removes, in every tenant, users deleted before `before`; returns how many. Each is
    /// recorded in the audit log as purged by `actor`.
    async fn purge_deleted_before(&self, before: OffsetDateTime, actor: &Actor) -> Result<u64>;

    /// Up to `limit` lines of the tenant's audit log after position `after`, in position order:
    /// what SCIM events are made of. A line drawn before the read and committed after it is
    /// waited for, never skipped: a reader that moves its cursor to the last line read misses
    /// nothing.
    async fn audit_after(&self, tenant: TenantId, after: i64, limit: u64) -> Result<Vec<AuditEvent>>;
    /// How many of the tenant's resource writes come after position `after`, counting at most
    /// `cap` of them.
    async fn resource_writes_after(&self, tenant: TenantId, after: i64, cap: u64) -> Result<u64>;

    /// Creates a subscription that receives the events committed after it.
    async fn create_subscription(&self, tenant: TenantId, new: NewSubscription, actor: &Actor) -> Result<Subscription>;
    /// Every subscription (of one tenant, when given).
    async fn subscriptions(&self, tenant: Option<TenantId>) -> Result<Vec<Subscription>>;
    async fn subscription(&self, tenant: TenantId, id: &str) -> Result<Subscription>;
    async fn remove_subscription(&self, tenant: TenantId, id: &str, actor: &Actor) -> Result<()>;
    /// The subscription's latest dead letters, newest first.
    async fn dead_letters(&self, id: &str, limit: u64) -> Result<Vec<DeadLetter>>;
    /// Takes (or keeps) the subscription's delivery for the process `owner` until `until`,
    /// unless another process holds it.
    async fn lease_subscription(&self, id: &str, owner: &str, until: OffsetDateTime) -> Result<bool>;
    async fn record_delivery(&self, id: &str, delivery: &Delivery) -> Result<()>;
    /// The token's poll stream, started at the token's creation when it first polls.
    async fn poll_stream(&self, tenant: TenantId, token: TokenId) -> Result<PollStream>;
    async fn save_poll_stream(&self, token: TokenId, stream: &PollStream) -> Result<()>;

    /// The tenant's audit events that `query` selects, oldest first, and how many there are.
    async fn audit_events(&self, tenant: TenantId, query: &AuditQuery) -> Result<(u64, Vec<AuditEvent>)>;
    /// Records an audit line that no write carries (a results mail), in a transaction of its own.
    async fn record_audit(&self, tenant: TenantId, resource_type: &str, id: &str, entry: &AuditEntry) -> Result<()>;
    /// Removes, in every tenant, audit events older than `before`; returns how many.
    async fn purge_audit_before(&self, before: OffsetDateTime) -> Result<u64>;
    async fn find_tenant(&self, name: &str) -> Result<Option<TenantId>>;
    /// Removes the tenant with all its tokens, and with its resources only when `force`:
    /// otherwise a tenant holding any (counted in the same transaction) is `TenantNotEmpty`.
    async fn remove_tenant(&self, tenant: TenantId, force: bool) -> Result<()>;

    /// The shared setting `name`, set to `initial` if it has no value yet (first writer wins).
    async fn setting(&self, name: &str, initial: &str) -> Result<String>;

    /// Takes the lock `name` for `holder` until `until`, or extends it when `holder` has it
    /// (times in Unix milliseconds): false while another holder's lock lasts past `now`.
    async fn try_lock(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool>;
    /// Frees the lock `name` if `holder` still has it.
    async fn unlock(&self, name: &str, holder: &str) -> Result<()>;
    /// Who holds the lock `name` and until when (Unix milliseconds), expired or not.
    async fn lock_holder(&self, name: &str) -> Result<Option<(String, i64)>>;
    /// Hands the lock `name` from `from` to `holder` until `until`: false when `from` no
    /// longer has it.
    async fn take_over_lock(&self, name: &str, from: &str, holder: &str, until: i64) -> Result<bool>;

    /// Adds the tenant's HR source `source.name` (its times are the store's to set), or replaces
    /// the map and valve of the one of that name: true when it replaced one.
    async fn put_import_source(&self, tenant: TenantId, source: &ImportSource, actor: &Actor) -> Result<bool>;
    /// The tenant's HR sources by name.
    async fn import_sources(&self, tenant: TenantId) -> Result<Vec<ImportSource>>;
    /// The tenant's HR source `name`; `NotFound` when it has none of that name.
    async fn import_source(&self, tenant: TenantId, name: &str) -> Result<ImportSource>;
    /// Removes the tenant's HR source `name`; `NotFound` when it has none of that name.
    async fn remove_import_source(&self, tenant: TenantId, name: &str, actor: &Actor) -> Result<()>;
    /// The tenant's live users whose `importSource` is `source`, without their documents.
    async fn source_users(&self, tenant: TenantId, source: &str) -> Result<Vec<SourceUser>>;
    /// The fingerprints syncs of `source` left on these users of the tenant (by `Stored::seq`).
    async fn fingerprints(&self, tenant: TenantId, source: &str, seqs: &[i64]) -> Result<Vec<Fingerprint>>;
    /// Records what a sync of `source` applied to these users, replacing their earlier
    /// fingerprints (of any source).
    async fn record_fingerprints(&self, source: &str, prints: &[Fingerprint]) -> Result<()>;

    /// Stores an admin-center session; of its token's sessions, those expired at `now` (Unix
    /// milliseconds) and all but the `keep` that expire last are removed.
    async fn open_session(&self, new: &NewSession, now: i64, keep: u64) -> Result<()>;
    /// The session whose id hashes to `id_hash`, with its token, in one indexed read; one
    /// expired at `now` is removed and not returned.
    async fn session(&self, id_hash: &str, now: i64) -> Result<Option<SessionRecord>>;
    /// Moves the session's expiry to `expires_at`.
    async fn touch_session(&self, id_hash: &str, expires_at: i64) -> Result<()>;
    /// Sets, or with `None` clears, the message for the session's next page.
    async fn set_session_flash(&self, id_hash: &str, flash: Option<&str>) -> Result<()>;
    async fn close_session(&self, id_hash: &str) -> Result<()>;
    /// Removes every session expired at `now`; returns how many.
    async fn purge_sessions(&self, now: i64) -> Result<u64>;

    /// The live users of the tenant holding these userNames (compared case-folded), as `fetch`
    /// reads them without derived parts, in one query: an import reads a chunk's users at once.
    async fn users_by_name(&self, tenant: TenantId, names: &[String]) -> Result<Vec<Stored>>;
    /// `users_by_name` without the documents: who they are and their versions.
    async fn user_heads(&self, tenant: TenantId, names: &[String]) -> Result<Vec<UserHead>>;
}
