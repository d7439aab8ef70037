//! The SQL store, generic over its database: the struct, the `Store` impl (each operation lives
//! in the module of its aggregate) and what every write shares: turns, retries, error mapping.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use crate::scim::schema::ResourceKind;
use crate::store::backend::{Backend, Conn, Deadline, Param, SqlRow};
use crate::store::group_commit::GroupCommit;
use crate::store::sql::{self, Promoted};
use crate::store::{
    audit, domains, events, members, resources, sessions, settings, sources, tokens, Actor, AuditEntry, AuditEvent,
    AuditQuery, DeadLetter, Delivery, Fingerprint, ImportSource, LicenseSeats, ListQuery, Load, MemberChange,
    MemberView, NewResource, NewSession, NewSubscription, NewToken, Page, PollStream, PoolStats, ResourceId, Result,
    SessionRecord, SourceUser, Store, StoreError, Stored, Subscription, TenantId, TenantInfo, TokenId, TokenRecord,
    Update, UserHead,
};

/// The store over database `B` (`SqliteStore`, `PgStore`).
pub struct SqlStore<B: Backend> {
    pub(crate) pool: sqlx::Pool<B::Db>,
    /// One connection of its own for readiness checks, so they answer while `pool` is busy.
    pub(crate) probe: sqlx::Pool<B::Db>,
    /// Where the database has one writer at a time (SQLite), the writers of this process
    /// queue here for their turn; `None` where row locks and constraints order them.
    pub(crate) write_lock: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Where each commit costs a flush of its own (SQLite), the API's writes share commits.
    pub(crate) group: Option<Arc<GroupCommit<B>>>,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
            probe: self.probe.clone(),
            write_lock: self.write_lock.clone(),
            group: self.group.clone(),
        }
    }
}

/// What a write's body returns: a future borrowing the connection it runs on.
pub(crate) type WriteFuture<'c, T> = std::pin::Pin<Box<dyn Future<Output = Result<T>> + Send + 'c>>;

/// A write transaction of backend `B`.
pub(crate) type WriteTx<B> = sqlx::Transaction<'static, <B as Backend>::Db>;

impl<B: Backend> SqlStore<B> {
    /// Waits for this process's turn to write, where the database wants one writer at a time:
    /// queueing here is first-come first-served, while SQLite's busy handler sleeps and
    /// retries, which turns a short queue into long tail latencies.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// Runs `body` as one write, committed before this returns: on SQLite with the other
    /// writes waiting at the time, each under a savepoint of its own (`GroupCommit`); elsewhere
    /// in a transaction of its own.
    pub(crate) async fn write<T, F>(&self, body: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Conn<B>) -> WriteFuture<'c, T> + Send + 'static,
    {
        if let Some(group) = &self.group {
            return group.run(body).await;
        }
        let _turn = self.write_turn().await;
        let mut tx = self.begin_write().await?;
        let out = body(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Starts a write transaction the way the database wants it (`Dialect::begin_write`).
    pub(crate) async fn begin_write(&self) -> Result<WriteTx<B>> {
        Ok(self.pool.begin_with(B::DIALECT.begin_write()).await?)
    }
}

/// How often a write is retried when the database reports a conflict it resolved by aborting
/// us (a deadlock, a serialization failure, a busy SQLite file).
const WRITE_ATTEMPTS: usize = 5;

/// The longest a backup copy may run: a database of millions of users copies in minutes.
const BACKUP_BUDGET: std::time::Duration = std::time::Duration::from_secs(3600);

/// Now, to the millisecond, as every timestamp is rendered: a client that filters on a
/// `meta.lastModified` it read finds the resource it read it from.
pub(crate) fn now() -> String {
    let now = OffsetDateTime::now_utc();
    sql::format_time(now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(now))
}

pub(crate) fn retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Backend(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40001" | "40P01" | "5" | "517"))
        }
        _ => false,
    }
}

/// Runs a write again while the database aborts it to resolve a conflict.
async fn retrying<T, F, Fut>(mut write: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match write().await {
            Err(e) if attempt < WRITE_ATTEMPTS && retryable(&e) => continue,
            other => return other,
        }
    }
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("stored {what} is unreadable: {e}"))
}

/// Classifies a unique violation: a User's userName and a License's partNumber are the
/// unique resource attributes.
pub(crate) fn classify(err: sqlx::Error, kind: ResourceKind, promoted: &Promoted) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        let message = db.message();
        if db.is_unique_violation() && (message.contains("user_name") || message.contains("part_number")) {
            return StoreError::Conflict {
                attribute: sql::unique_attribute(kind),
                value: promoted.unique_name().to_owned(),
            };
        }
    }
    StoreError::from(err)
}

/// `NotFound` when a statement that names one row touched none.
pub(crate) fn touched(rows: u64) -> Result<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Ids (or names) as the JSON array `Dialect::text_list` reads.
pub(crate) fn id_list<T: serde::Serialize>(ids: &[T]) -> Result<String> {
    serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Fills `doc_fold` for rows written before the column existed, a batch per transaction; a
/// no-op once every row has it.
pub(crate) async fn fold_old_documents<B: Backend>(conn: &mut Conn<B>) -> Result<()> {
    let select = format!(
        "SELECT r.seq, r.kind, {} FROM resources r WHERE r.doc_fold IS NULL LIMIT 500",
        B::DIALECT.doc_column("r")
    );
    let update = format!("UPDATE resources SET doc_fold = {} WHERE seq = ?", B::DIALECT.doc_param());
    loop {
        let rows = B::fetch_all(&mut *conn, &select, &[]).await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for row in rows {
            let kind = row.text("kind")?;
            let kind = ResourceKind::from_name(kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown resource kind {kind:?}")))?;
            let doc: Value = serde_json::from_str(row.text("doc")?).map_err(|e| corrupt("document", e))?;
            let fold = sql::folded_document(kind, &doc).to_string();
            B::execute(&mut tx, &update, &[Param::Text(&fold), Param::Int(row.int("seq")?)]).await?;
        }
        tx.commit().await?;
    }
}

#[async_trait]
impl<B: Backend> Store for SqlStore<B> {
    async fn ping(&self) -> Result<()> {
        let mut conn = self.probe.acquire().await?;
        B::execute(&mut conn, "SELECT 1", &[]).await?;
        Ok(())
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn license_seats(&self, limit: u64) -> Result<Vec<LicenseSeats>> {
        // seats and consumed are INTEGER columns, 32 bits on PostgreSQL: widened to be read alike.
        let sql =
            "SELECT n.name, r.part_number, CAST(r.seats AS BIGINT) AS seats, CAST(r.consumed AS BIGINT) AS consumed \
                   FROM resources r JOIN tenants n ON n.id = r.tenant_id \
                   WHERE r.kind = 'License' AND r.deleted_at IS NULL ORDER BY n.name, r.part_number LIMIT ?";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.pool.acquire().await?;
        let rows = B::fetch_all(&mut conn, sql, &[Param::Int(limit)]).await?;
        rows.iter()
            .map(|row| {
                Ok(LicenseSeats {
                    tenant: row.text(0)?.to_owned(),
                    part_number: row.opt_text(1)?.unwrap_or_default().to_owned(),
                    seats: row.opt_int(2)?.unwrap_or(0),
                    consumed: row.opt_int(3)?.unwrap_or(0),
                })
            })
            .collect()
    }

    async fn release_memory(&self) -> Result<()> {
        let Some(statement) = B::DIALECT.release_memory() else { return Ok(()) };
        // Only connections nobody is using: all of them held at once, so each is seen once.
        let mut idle = Vec::new();
        while let Some(conn) = self.pool.try_acquire() {
            idle.push(conn);
        }
        for conn in &mut idle {
            B::execute(conn, statement, &[]).await?;
        }
        Ok(())
    }

    async fn backup_into(&self, file: &str) -> Result<()> {
        let Some(statement) = B::DIALECT.backup_into() else {
            return Err(StoreError::Unsupported(
                "this database is copied with its own tools: use pg_dump (see the README's Backups section)".into(),
            ));
        };
        let mut conn = self.pool.acquire().await?;
        // A copy takes as long as the database is large, not as long as a client's query.
        B::watch(&mut conn, Arc::new(Deadline::after(BACKUP_BUDGET))).await?;
        B::execute(&mut conn, statement, &[Param::Text(file)]).await?;
        Ok(())
    }

    async fn insert(&self, tenant: TenantId, new: NewResource, load: Load) -> Result<Stored> {
        let new = Arc::new(new);
        retrying(|| {
            let new = new.clone();
            self.write(move |conn| Box::pin(async move { resources::insert::<B>(conn, tenant, &new, load).await }))
        })
        .await
    }

    async fn insert_many(&self, tenant: TenantId, news: &[NewResource], load: Load) -> Result<Vec<Result<Stored>>> {
        resources::insert_many(self, tenant, news, load).await
    }

    async fn fetch(&self, tenant: TenantId, kind: ResourceKind, id: &ResourceId, load: Load) -> Result<Stored> {
        let mut conn = self.pool.acquire().await?;
        resources::fetch_in::<B>(&mut conn, tenant, kind, id, load).await
    }

    async fn update(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &ResourceId,
        update: Update,
        load: Load,
    ) -> Result<Stored> {
        let (id, update) = (Arc::new(id.clone()), Arc::new(update));
        retrying(|| {
            let (id, update) = (id.clone(), update.clone());
            self.write(move |conn| {
                Box::pin(async move { resources::update::<B>(conn, tenant, kind, &id, &update, load).await })
            })
        })
        .await
    }

    async fn member_count(&self, tenant: TenantId, id: &ResourceId) -> Result<u64> {
        members::member_count(self, tenant, id).await
    }

    async fn members_after(
        &self,
        tenant: TenantId,
        id: &ResourceId,
        after: i64,
        limit: u64,
    ) -> Result<Vec<(i64, MemberView)>> {
        members::members_after(self, tenant, id, after, limit).await
    }

    async fn update_members(
        &self,
        tenant: TenantId,
        id: &ResourceId,
        changes: &[MemberChange],
        load: Load,
        audit: &AuditEntry,
    ) -> Result<Stored> {
        let (id, changes, audit) = (Arc::new(id.clone()), Arc::new(changes.to_vec()), Arc::new(audit.clone()));
        retrying(|| {
            let (id, changes, audit) = (id.clone(), changes.clone(), audit.clone());
            self.write(move |conn| {
                Box::pin(async move { members::update_members::<B>(conn, tenant, &id, &changes, load, &audit).await })
            })
        })
        .await
    }

    async fn delete(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &ResourceId,
        expected_version: Option<i64>,
        audit: &AuditEntry,
    ) -> Result<()> {
        let (id, audit) = (Arc::new(id.clone()), Arc::new(audit.clone()));
        retrying(|| {
            let (id, audit) = (id.clone(), audit.clone());
            self.write(move |conn| {
                Box::pin(async move { resources::delete::<B>(conn, tenant, kind, &id, expected_version, &audit).await })
            })
        })
        .await
    }

    async fn list(&self, tenant: TenantId, kind: ResourceKind, query: &ListQuery, load: Load) -> Result<Page> {
        resources::list(self, tenant, kind, query, load).await
    }

    async fn ensure_tenant(&self, name: &str) -> Result<TenantId> {
        tokens::ensure_tenant(self, name).await
    }

    async fn create_token(&self, tenant: TenantId, token: NewToken, actor: &Actor) -> Result<TokenRecord> {
        tokens::create_token(self, tenant, &token, actor).await
    }

    async fn find_token(&self, secret_hash: &str) -> Result<Option<TokenRecord>> {
        let mut conn = self.pool.acquire().await?;
        tokens::find_token::<B>(&mut conn, secret_hash).await
    }

    async fn has_tokens(&self) -> Result<bool> {
        tokens::has_tokens(self).await
    }

    async fn list_tokens(&self, tenant: Option<TenantId>) -> Result<Vec<TokenRecord>> {
        tokens::list_tokens(self, tenant).await
    }

    async fn revoke_token(&self, id: TokenId, actor: &Actor) -> Result<()> {
        tokens::revoke_token(self, id, actor).await
    }

    async fn revoke_tenant_token(&self, tenant: TenantId, id: TokenId, actor: &Actor) -> Result<()> {
        tokens::revoke_tenant_token(self, tenant, id, actor).await
    }

    async fn touch_token(&self, id: TokenId) -> Result<()> {
        tokens::touch_token(self, id).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantInfo>> {
        tokens::list_tenants(self).await
    }

    async fn domains(&self, tenant: TenantId) -> Result<Vec<(String, bool)>> {
        domains::domains(self, tenant).await
    }

    async fn add_domain(&self, tenant: TenantId, domain: &str, initial: bool, actor: &Actor) -> Result<()> {
        domains::add_domain(self, tenant, domain, initial, actor).await
    }

    async fn remove_domain(&self, tenant: TenantId, domain: &str, actor: &Actor) -> Result<()> {
        domains::remove_domain(self, tenant, domain, actor).await
    }

    async fn user_names_taken(&self, tenant: TenantId, names: &[String]) -> Result<Vec<String>> {
        resources::user_names_taken(self, tenant, names).await
    }

    async fn list_deleted(
        &self,
        tenant: TenantId,
        start_index: u64,
        count: u64,
    ) -> Result<(u64, Vec<(Stored, OffsetDateTime)>)> {
        resources::list_deleted(self, tenant, start_index, count).await
    }

    async fn restore(&self, tenant: TenantId, id: &ResourceId, audit: &AuditEntry) -> Result<Stored> {
        resources::restore(self, tenant, id, audit).await
    }

    async fn purge(&self, tenant: TenantId, id: &ResourceId, audit: &AuditEntry) -> Result<()> {
        resources::purge(self, tenant, id, audit).await
    }

    async fn purge_deleted_before(&self, before: OffsetDateTime, actor: &Actor) -> Result<u64> {
        resources::purge_deleted_before(self, before, actor).await
    }

    async fn audit_events(&self, tenant: TenantId, query: &AuditQuery) -> Result<(u64, Vec<AuditEvent>)> {
        audit::events(self, tenant, query).await
    }

    async fn audit_after(&self, tenant: TenantId, after: i64, limit: u64) -> Result<Vec<AuditEvent>> {
        audit::after(self, tenant, after, limit).await
    }
    async fn resource_writes_after(&self, tenant: TenantId, after: i64, cap: u64) -> Result<u64> {
        audit::resource_writes_after(self, tenant, after, cap).await
    }
    async fn create_subscription(&self, tenant: TenantId, new: NewSubscription, actor: &Actor) -> Result<Subscription> {
        events::create(self, tenant, &new, actor).await
    }
    async fn subscriptions(&self, tenant: Option<TenantId>) -> Result<Vec<Subscription>> {
        events::list(self, tenant).await
    }
    async fn subscription(&self, tenant: TenantId, id: &str) -> Result<Subscription> {
        events::get(self, tenant, id).await
    }
    async fn remove_subscription(&self, tenant: TenantId, id: &str, actor: &Actor) -> Result<()> {
        events::remove(self, tenant, id, actor).await
    }
    async fn dead_letters(&self, id: &str, limit: u64) -> Result<Vec<DeadLetter>> {
        events::dead_letters(self, id, limit).await
    }
    async fn lease_subscription(&self, id: &str, owner: &str, until: OffsetDateTime) -> Result<bool> {
        events::lease(self, id, owner, until).await
    }
    async fn record_delivery(&self, id: &str, delivery: &Delivery) -> Result<()> {
        events::record(self, id, delivery).await
    }
    async fn poll_stream(&self, tenant: TenantId, token: TokenId) -> Result<PollStream> {
        events::poll_stream(self, tenant, token).await
    }
    async fn save_poll_stream(&self, token: TokenId, stream: &PollStream) -> Result<()> {
        events::save_poll_stream(self, token, stream).await
    }
    async fn record_audit(&self, tenant: TenantId, resource_type: &str, id: &str, entry: &AuditEntry) -> Result<()> {
        audit::record_alone(self, tenant, resource_type, id, entry).await
    }

    async fn purge_audit_before(&self, before: OffsetDateTime) -> Result<u64> {
        audit::purge_before(self, before).await
    }

    async fn find_tenant(&self, name: &str) -> Result<Option<TenantId>> {
        tokens::find_tenant(self, name).await
    }

    async fn remove_tenant(&self, tenant: TenantId, force: bool) -> Result<()> {
        tokens::remove_tenant(self, tenant, force).await
    }

    async fn setting(&self, name: &str, initial: &str) -> Result<String> {
        settings::setting(self, name, initial).await
    }

    async fn try_lock(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool> {
        settings::try_lock(self, name, holder, now, until).await
    }

    async fn unlock(&self, name: &str, holder: &str) -> Result<()> {
        settings::unlock(self, name, holder).await
    }

    async fn lock_holder(&self, name: &str) -> Result<Option<(String, i64)>> {
        settings::lock_holder(self, name).await
    }

    async fn take_over_lock(&self, name: &str, from: &str, holder: &str, until: i64) -> Result<bool> {
        settings::take_over_lock(self, name, from, holder, until).await
    }

    async fn put_import_source(&self, tenant: TenantId, source: &ImportSource, actor: &Actor) -> Result<bool> {
        sources::put(self, tenant, source, actor).await
    }

    async fn import_sources(&self, tenant: TenantId) -> Result<Vec<ImportSource>> {
        sources::list(self, tenant).await
    }

    async fn import_source(&self, tenant: TenantId, name: &str) -> Result<ImportSource> {
        sources::get(self, tenant, name).await
    }

    async fn remove_import_source(&self, tenant: TenantId, name: &str, actor: &Actor) -> Result<()> {
        sources::remove(self, tenant, name, actor).await
    }

    async fn source_users(&self, tenant: TenantId, source: &str) -> Result<Vec<SourceUser>> {
        sources::source_users(self, tenant, source).await
    }

    async fn fingerprints(&self, tenant: TenantId, source: &str, seqs: &[i64]) -> Result<Vec<Fingerprint>> {
        sources::fingerprints(self, tenant, source, seqs).await
    }

    async fn record_fingerprints(&self, source: &str, prints: &[Fingerprint]) -> Result<()> {
        sources::record_fingerprints(self, source, prints).await
    }

    async fn open_session(&self, new: &NewSession, now: i64, keep: u64) -> Result<()> {
        sessions::open_session(self, new, now, keep).await
    }

    async fn session(&self, id_hash: &str, now: i64) -> Result<Option<SessionRecord>> {
        sessions::session(self, id_hash, now).await
    }

    async fn touch_session(&self, id_hash: &str, expires_at: i64) -> Result<()> {
        sessions::touch_session(self, id_hash, expires_at).await
    }

    async fn set_session_flash(&self, id_hash: &str, flash: Option<&str>) -> Result<()> {
        sessions::set_session_flash(self, id_hash, flash).await
    }

    async fn close_session(&self, id_hash: &str) -> Result<()> {
        sessions::close_session(self, id_hash).await
    }

    async fn purge_sessions(&self, now: i64) -> Result<u64> {
        sessions::purge_sessions(self, now).await
    }

    async fn users_by_name(&self, tenant: TenantId, names: &[String]) -> Result<Vec<Stored>> {
        resources::users_by_name(self, tenant, names).await
    }

    async fn user_heads(&self, tenant: TenantId, names: &[String]) -> Result<Vec<UserHead>> {
        resources::user_heads(self, tenant, names).await
    }
}
