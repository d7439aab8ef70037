//! Create, read, replace, patch, delete and list Users and Groups: one store transaction
//! per write, versions checked by the store, and the read-modify-write retried on a lost race.
//!
//! Every function takes the `Caller` and returns typed results (`Resource`, `ListPage`); the
//! HTTP layer renders them.

use serde::Deserialize;
use serde_json::Value;

use crate::directory;
use crate::scim::cursor;
use crate::scim::error::{Result, ScimError};
use crate::scim::filter::{self, Filter};
use crate::scim::patch::{self, MemberOp};
use crate::scim::projection::Projection;
use crate::scim::resource::{self, ETagMatch, ResourceId};
use crate::scim::schema::{ResourceKind, ResourceType};
use crate::service::{audit, Caller, Service, MAX_PAGE, MEMBERS_PER_PAGE};
use crate::store::{
    AuditEntry, ListQuery, Load, MemberChange, MemberRef, MemberView, NameGuard, NewResource, Operation, Scope,
    StoreError, Stored, Update,
};

/// How long a write without `If-Match` keeps being recomputed after losing races with other
/// writers before the client is told to retry: a write is never refused for a race it could win
/// by trying again, and a crowd on one resource cannot hold a request forever.
const WRITE_RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// The retries of one write: each loss waits a little longer, at random, so a crowd spreads out.
struct Retries {
    deadline: tokio::time::Instant,
    attempt: u32,
}

impl Retries {
    fn new() -> Retries {
        Retries { deadline: tokio::time::Instant::now() + WRITE_RETRY_BUDGET, attempt: 0 }
    }

    /// Waits before the next attempt; false once the budget is spent.
    async fn again(&mut self) -> bool {
        self.attempt += 1;
        let ceiling = u64::from(self.attempt.min(6));
        let wait = std::time::Duration::from_millis(rand::random::<u64>() % (1 << ceiling));
        if tokio::time::Instant::now() + wait >= self.deadline {
            return false;
        }
        tokio::time::sleep(wait).await;
        true
    }
}

fn still_racing() -> ScimError {
    ScimError::new(
        409,
        None,
        format!(
            "the resource kept being changed by other requests for {} seconds; retry, or send If-Match",
            WRITE_RETRY_BUDGET.as_secs()
        ),
    )
}

/// Members read and written per step when a group is too big for one page.
const MEMBER_CHUNK: u64 = 5000;

/// A page of a group's members (`Service::member_page`).
#[derive(Debug, Clone)]
pub struct MemberPage {
    /// Members the group has in all.
    pub total: u64,
    pub members: Vec<MemberView>,
    /// The position to go on from; `None` when this page was the last.
    pub next: Option<i64>,
}

/// A resource as an operation left it; the HTTP layer renders it as the caller asked.
#[derive(Debug, Clone)]
pub struct Resource {
    pub stored: Stored,
    /// False when a PUT or PATCH asked for what the resource already was: nothing was written.
    pub changed: bool,
    /// A group whose members are too many to hold at once: they were not read, and are
    /// written into the answer a chunk at a time (`Service::member_chunk`).
    pub members_streamed: bool,
    /// When a soft-deleted user was deleted.
    pub deleted: Option<time::OffsetDateTime>,
}

impl Resource {
    fn new(stored: Stored) -> Resource {
        Resource { stored, changed: true, members_streamed: false, deleted: None }
    }
}

/// One page of a list (RFC 7644 §3.4.2): index paging has a `start_index`, cursor paging a
/// `next_cursor` while more follow.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub total: u64,
    pub start_index: Option<u64>,
    pub resources: Vec<Resource>,
    pub next_cursor: Option<String>,
}

/// The list parameters of RFC 7644 §3.4.2, from a query string or a SearchRequest.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    /// RFC 9865: present (even empty) selects cursor paging.
    pub cursor: Option<String>,
}

/// The resource a write is for: its kind and id, and the resource itself when the caller has
/// just read it (the write then starts from that read).
struct Target<'a> {
    kind: ResourceKind,
    id: &'a ResourceId,
    read: Option<Stored>,
}

fn load_for(kind: ResourceKind, projection: &Projection) -> Load {
    Load {
        members: kind == ResourceKind::Group && projection.wants("members"),
        groups: kind == ResourceKind::User && projection.wants("groups"),
        doc_text: false,
    }
}

/// Users and Groups are written by provisioning clients; Licenses, the tenant's
/// subscriptions, only by its administrators.
fn write_scope(kind: ResourceKind) -> Scope {
    match kind {
        ResourceKind::User | ResourceKind::Group => Scope::Write,
        ResourceKind::License => Scope::Admin,
    }
}

fn not_found(kind: ResourceKind, id: &ResourceId) -> impl Fn(StoreError) -> ScimError + '_ {
    move |e| match e {
        StoreError::NotFound => ScimError::not_found(kind.name(), id.as_str()),
        e => e.into(),
    }
}

/// Takes `members` out of a group document: ids (with any `display` given) in order.
fn take_members(doc: &mut Value) -> Result<Option<Vec<MemberRef>>> {
    let Some(members) = doc.as_object_mut().and_then(|o| o.remove("members")) else { return Ok(None) };
    let items = members.as_array().cloned().unwrap_or_default();
    let mut refs = Vec::with_capacity(items.len());
    for m in items {
        match m.get("value").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => refs.push(MemberRef {
                id: ResourceId::new(id),
                display: m.get("display").and_then(Value::as_str).map(str::to_owned),
            }),
            _ => return Err(ScimError::invalid_value("every member needs a value: the id of a User or Group")),
        }
    }
    Ok(Some(refs))
}

/// Password hashes computed at once, process-wide: half the cores, at least one. Argon2 is
/// meant to be costly (about 25 ms of CPU each), so a Bulk of a thousand passwords queues here
/// in arrival order instead of taking every core from other clients' requests.
static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    tokio::sync::Semaphore::new((cores / 2).max(1))
});

/// Takes `password` out of a user document and hashes it; it is never stored in the document.
async fn take_password(doc: &mut Value) -> Result<Option<String>> {
    let Some(Value::String(password)) = doc.as_object_mut().and_then(|o| o.remove("password")) else {
        return Ok(None);
    };
    let _turn = HASHING.acquire().await.map_err(ScimError::internal)?;
    let hashed = tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(ScimError::internal)?
    .map_err(|e| ScimError::invalid_value(format!("password could not be hashed: {e}")))?;
    Ok(Some(hashed))
}

const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

impl ListParams {
    /// The `attributes` / `excludedAttributes` of the request.
    pub fn projection(&self) -> Result<Projection> {
        Projection::parse(self.attributes.as_deref(), self.excluded_attributes.as_deref())
    }

    /// Reads a SearchRequest body (RFC 7644 §3.4.3): the list parameters as JSON, with
    /// `attributes` and `excludedAttributes` as arrays.
    pub fn from_search_request(body: Value) -> Result<ListParams> {
        let Value::Object(body) = body else {
            return Err(ScimError::invalid_syntax("a SearchRequest must be a JSON object"));
        };
        let mut params = ListParams::default();
        let mut has_schema = false;
        for (key, value) in body {
            let text = |v: &Value| -> Result<String> {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ScimError::invalid_syntax(format!("{key} must be a string")))
            };
            let int = |v: &Value| -> Result<i64> {
                v.as_i64().ok_or_else(|| ScimError::invalid_syntax(format!("{key} must be an integer")))
            };
            let list = |v: &Value| -> Result<String> {
                match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .map(|v| v.join(","))
                        .ok_or_else(|| ScimError::invalid_syntax(format!("{key} must be an array of attribute names"))),
                    _ => Err(ScimError::invalid_syntax(format!("{key} must be an array of attribute names"))),
                }
            };
            match key.to_ascii_lowercase().as_str() {
                "schemas" => {
                    has_schema = value.as_array().is_some_and(|a| a.iter().any(|s| s.as_str() == Some(SEARCH_REQUEST)))
                }
                "filter" => params.filter = Some(text(&value)?),
                "startindex" => params.start_index = Some(int(&value)?),
                "count" => params.count = Some(int(&value)?),
                "sortby" => params.sort_by = Some(text(&value)?),
                "sortorder" => params.sort_order = Some(text(&value)?),
                "attributes" => params.attributes = Some(list(&value)?),
                "excludedattributes" => params.excluded_attributes = Some(list(&value)?),
                "cursor" => params.cursor = Some(text(&value)?),
                _ => return Err(ScimError::invalid_syntax(format!("unknown SearchRequest attribute {key:?}"))),
            }
        }
        if !has_schema {
            return Err(ScimError::invalid_syntax(format!("a SearchRequest must list the schema {SEARCH_REQUEST}")));
        }
        Ok(params)
    }
}

impl Service {
    fn resource_type(&self, kind: ResourceKind) -> &'static ResourceType {
        self.registry.resource_type(kind)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %caller.principal.tenant, kind = kind.name()))]
    pub async fn create(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        body: Value,
        projection: &Projection,
    ) -> Result<Resource> {
        caller.principal.require(write_scope(kind))?;
        let new = self.prepare_new(caller, kind, body, None).await?;
        let stored = self.store.insert(caller.principal.tenant, new, load_for(kind, projection)).await?;
        Ok(Resource::new(stored))
    }

    /// A validated new resource, its password hashed and its members taken out. `domains` are
    /// the tenant's verified domains when the caller has read them already.
    pub(super) async fn prepare_new(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        body: Value,
        domains: Option<&[(String, bool)]>,
    ) -> Result<NewResource> {
        let mut doc = resource::normalize(self.registry, self.resource_type(kind), body)?;
        self.directory_rules(caller, kind, &mut doc, None)?;
        let name_guard = self.domain_rule(caller, kind, &doc, None, domains).await?;
        let members = take_members(&mut doc)?.unwrap_or_default();
        let password_hash = take_password(&mut doc).await?;
        let added = if members.is_empty() { Vec::new() } else { vec![MemberChange::Add(members.clone())] };
        let changes = audit::creation_changes(&doc, &added, password_hash.is_some());
        let audit = AuditEntry::new(&caller.actor(), Operation::Create, changes);
        Ok(NewResource { id: ResourceId::generate(), kind, doc, password_hash, members, name_guard, audit })
    }

    /// The directory rules of DESIGN.md §4 on a user's new document (`current` is the stored
    /// one): `onPremisesSyncEnabled` set by who writes, `importSource` by a sync or kept, and
    /// the license, location, role and alternate-email rules.
    fn directory_rules(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        doc: &mut Value,
        current: Option<&Value>,
    ) -> Result<()> {
        match kind {
            ResourceKind::User => {
                directory::set_synced(doc, caller.principal.is_sync_connector());
                let source = caller.import_source.as_ref().map(|s| s.as_str());
                directory::set_import_source(doc, source.or_else(|| current.and_then(directory::import_source)));
                directory::check_user(self.registry, doc)
            }
            ResourceKind::Group => Ok(()),
            ResourceKind::License => directory::check_license(doc),
        }
    }

    /// The verified-domain rule on a user's new or changed userName; the tenant's domains are
    /// read from the store unless the caller passes them.
    pub(super) async fn domain_rule(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        doc: &Value,
        old: Option<&Value>,
        domains: Option<&[(String, bool)]>,
    ) -> Result<Option<NameGuard>> {
        let name = doc.get("userName").and_then(Value::as_str).unwrap_or_default();
        if kind != ResourceKind::User || old.and_then(|o| o.get("userName")).and_then(Value::as_str) == Some(name) {
            return Ok(None);
        }
        let read;
        let domains = match domains {
            Some(d) => d,
            None => {
                read = self.store.domains(caller.principal.tenant).await?;
                &read
            }
        };
        let forbidden = directory::check_domain(name, domains)?;
        if !forbidden.is_empty() {
            // Checked here to fail early (and for dry runs), and again by the store in the
            // write's transaction, where it holds against concurrent writers.
            let taken = self.store.user_names_taken(caller.principal.tenant, &forbidden).await?;
            if let Some(other) = taken.first() {
                return Err(initial_domain_conflict(name, other));
            }
        }
        Ok(match name.rsplit_once('@') {
            Some((local, _)) if !domains.is_empty() => {
                Some(NameGuard { key: crate::scim::filter::case_fold(local), absent: forbidden })
            }
            _ => None,
        })
    }

    /// 403 when a synced user would be changed by anything but the sync connector.
    fn sync_lock(&self, caller: &Caller, kind: ResourceKind, current: &Stored) -> Result<()> {
        match kind {
            ResourceKind::User => directory::check_sync_lock(&current.doc, caller.principal.is_sync_connector()),
            ResourceKind::Group | ResourceKind::License => Ok(()),
        }
    }

    /// Creates several resources in one store transaction (for /Bulk): each is validated and
    /// written on its own, so each result stands alone, but they share one commit. The tenant's
    /// verified domains are read once for the batch.
    pub async fn create_many(&self, caller: &Caller, items: Vec<(ResourceKind, Value)>) -> Vec<Result<Stored>> {
        // The tenant's domains are read once for the whole batch.
        let domains = match self.store.domains(caller.principal.tenant).await {
            Ok(d) => d,
            Err(e) => {
                let e = ScimError::from(e);
                return items.iter().map(|_| Err(e.clone())).collect();
            }
        };
        let mut prepared = Vec::with_capacity(items.len());
        for (kind, body) in items {
            prepared.push(match caller.principal.require(write_scope(kind)) {
                Ok(()) => self.prepare_new(caller, kind, body, Some(&domains)).await,
                Err(e) => Err(e),
            });
        }
        let mut news: Vec<NewResource> = Vec::with_capacity(prepared.len());
        let prepared: Vec<Result<()>> = prepared.into_iter().map(|p| p.map(|new| news.push(new))).collect();
        let tenant = caller.principal.tenant;
        let mut stored = match self.store.insert_many(tenant, &news, Load::default()).await {
            Ok(results) => results,
            // The batch as a whole failed (the database gave up on it): one at a time instead.
            Err(_) => {
                let mut results = Vec::with_capacity(news.len());
                for new in news {
                    results.push(self.store.insert(tenant, new, Load::default()).await);
                }
                results
            }
        }
        .into_iter();
        prepared
            .into_iter()
            .map(|p| {
                p?;
                match stored.next() {
                    Some(Ok(s)) => Ok(s),
                    Some(Err(e)) => Err(e.into()),
                    None => Err(ScimError::new(500, None, "internal error: a bulk result went missing")),
                }
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn get(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        projection: &Projection,
    ) -> Result<Resource> {
        self.get_loading(caller, kind, id, projection, false).await
    }

    /// `get` for a reader that writes the resource out and nothing else: a User or Group read
    /// with the default projection keeps its document as the stored text (`Stored::doc_text`).
    pub async fn get_to_send(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        projection: &Projection,
    ) -> Result<Resource> {
        self.get_loading(caller, kind, id, projection, *projection == Projection::Default).await
    }

    async fn get_loading(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        projection: &Projection,
        doc_text: bool,
    ) -> Result<Resource> {
        caller.principal.require(Scope::Read)?;
        let id = &ResourceId::parse(kind.name(), id)?;
        let tenant = caller.principal.tenant;
        let mut load = Load { doc_text, ..load_for(kind, projection) };
        // A group with more members than a page may hold is written a chunk at a time.
        let streamed = load.members && self.store.member_count(tenant, id).await? > MEMBERS_PER_PAGE;
        load.members &= !streamed;
        let stored = self.store.fetch(tenant, kind, id, load).await.map_err(not_found(kind, id))?;
        Ok(Resource { members_streamed: streamed, ..Resource::new(stored) })
    }

    /// Up to `MEMBER_CHUNK` members of group `id` after position `after`, and the position to
    /// go on from (`None`: no more).
    pub async fn member_chunk(&self, caller: &Caller, id: &str, after: i64) -> Result<(Vec<MemberView>, Option<i64>)> {
        caller.principal.require(Scope::Read)?;
        let id = &ResourceId::parse(ResourceKind::Group.name(), id)?;
        let rows = self.store.members_after(caller.principal.tenant, id, after, MEMBER_CHUNK).await?;
        let next = if rows.len() as u64 == MEMBER_CHUNK { rows.last().map(|(seq, _)| *seq) } else { None };
        Ok((rows.into_iter().map(|(_, m)| m).collect(), next))
    }

    /// One page of group `id`'s members after position `after`: at most `limit` (and never more
    /// than a chunk), with how many it has in all. A reader that shows a few at a time (the
    /// admin center) never loads a big group whole. An unknown group has no members: `get` it
    /// first for its 404.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn member_page(&self, caller: &Caller, id: &str, after: i64, limit: u64) -> Result<MemberPage> {
        caller.principal.require(Scope::Read)?;
        let id = &ResourceId::parse(ResourceKind::Group.name(), id)?;
        let tenant = caller.principal.tenant;
        let limit = limit.clamp(1, MEMBER_CHUNK);
        let total = self.store.member_count(tenant, id).await?;
        let rows = self.store.members_after(tenant, id, after, limit).await?;
        let next = if rows.len() as u64 == limit { rows.last().map(|(seq, _)| *seq) } else { None };
        Ok(MemberPage { total, members: rows.into_iter().map(|(_, m)| m).collect(), next })
    }

    /// PUT: the body replaces every client-writable attribute (RFC 7644 §3.5.1).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn replace(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&ETagMatch>,
        body: Value,
        projection: &Projection,
    ) -> Result<Resource> {
        caller.principal.require(write_scope(kind))?;
        let id = &ResourceId::parse(kind.name(), id)?;
        let rt = self.resource_type(kind);
        let mut doc = resource::normalize(self.registry, rt, body)?;
        let members = take_members(&mut doc)?;
        let password_hash = take_password(&mut doc).await?;
        self.write_loop(caller, Target { kind, id, read: None }, if_match, projection, |current| {
            self.sync_lock(caller, kind, current)?;
            let mut doc = doc.clone();
            self.directory_rules(caller, kind, &mut doc, Some(&current.doc))?;
            resource::check_immutable(self.registry, rt, &current.doc, &doc)?;
            let members = match (kind, &members) {
                (ResourceKind::Group, Some(ids)) => vec![MemberChange::Replace(ids.clone())],
                (ResourceKind::Group, None) => vec![MemberChange::Replace(Vec::new())],
                (ResourceKind::User | ResourceKind::License, _) => Vec::new(),
            };
            Ok(Some(Update {
                doc,
                previous: Some(current.doc.clone()),
                password_hash: password_hash.clone(),
                members,
                expected_version: current.version,
                name_guard: None,
                audit: AuditEntry::new(&caller.actor(), Operation::Replace, Value::Null),
            }))
        })
        .await
    }

    /// PATCH (RFC 7644 §3.5.2): applied to the current document, re-validated, written once.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn patch(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&ETagMatch>,
        body: Value,
        projection: &Projection,
    ) -> Result<Resource> {
        caller.principal.require(write_scope(kind))?;
        let id = &ResourceId::parse(kind.name(), id)?;
        self.write_loop(caller, Target { kind, id, read: None }, if_match, projection, |current| {
            self.patch_update(caller, kind, current, &body)
        })
        .await
    }

    /// PATCH of a user the caller has just read (`current`), answered without its derived
    /// parts: written from it unless another writer got there first, then as `patch` would.
    pub(super) async fn patch_read(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        current: Stored,
        body: Value,
    ) -> Result<Resource> {
        caller.principal.require(write_scope(kind))?;
        let id = current.id.clone();
        let none = Projection::Include(Vec::new());
        self.write_loop(caller, Target { kind, id: &id, read: Some(current) }, None, &none, |current| {
            self.patch_update(caller, kind, current, &body)
        })
        .await
    }

    /// The update a PATCH body makes of `current`, checked by every rule a write must pass but
    /// the verified-domain rule (which needs the store); `None` when nothing changes.
    pub(super) fn patch_update(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        current: &Stored,
        body: &Value,
    ) -> Result<Option<Update>> {
        let rt = self.resource_type(kind);
        self.sync_lock(caller, kind, current)?;
        let (patched, doc) = patch::patched(self.registry, rt, &current.doc, body)?;
        // A sync's PATCH also moves the user into its source, when it is another's.
        let claims = caller
            .import_source
            .as_ref()
            .is_some_and(|s| kind == ResourceKind::User && directory::import_source(&current.doc) != Some(s.as_str()));
        if !patched.changed && !claims {
            return Ok(None);
        }
        let doc = doc.unwrap_or_else(|| current.doc.clone());
        let mut doc = resource::normalize(self.registry, rt, doc)?;
        self.directory_rules(caller, kind, &mut doc, Some(&current.doc))?;
        resource::check_immutable(self.registry, rt, &current.doc, &doc)?;
        let members = patched
            .member_ops
            .into_iter()
            .map(|op| match op {
                MemberOp::Add(ids) => MemberChange::Add(ids),
                MemberOp::Remove(ids) => MemberChange::Remove(ids),
                MemberOp::Replace(ids) => MemberChange::Replace(ids),
            })
            .collect();
        // A `password` left in the document is hashed by the write loop before the write.
        let audit = AuditEntry::new(&caller.actor(), Operation::Patch, Value::Null);
        Ok(Some(Update {
            doc,
            previous: Some(current.doc.clone()),
            password_hash: None,
            members,
            expected_version: current.version,
            name_guard: None,
            audit,
        }))
    }

    /// Reads the current resource (the first time, the target's `read` when given), checks `If-Match`,
    /// computes the update and writes it with a version check; a lost race is recomputed unless
    /// the client pinned a version.
    async fn write_loop(
        &self,
        caller: &Caller,
        target: Target<'_>,
        if_match: Option<&ETagMatch>,
        projection: &Projection,
        mut compute: impl FnMut(&Stored) -> Result<Option<Update>>,
    ) -> Result<Resource> {
        let Target { kind, id, read: mut first } = target;
        let tenant = caller.principal.tenant;
        let load = load_for(kind, projection);
        let mut retries = Retries::new();
        loop {
            let current = match first.take() {
                Some(current) => current,
                None => self.store.fetch(tenant, kind, id, Load::default()).await.map_err(not_found(kind, id))?,
            };
            if let Some(m) = if_match {
                if !m.matches(current.version) {
                    return Err(ScimError::precondition_failed(&resource::etag(current.version)));
                }
            }
            let Some(mut update) = compute(&current)? else {
                // Nothing changes: nothing is written, so nothing is recorded either.
                let stored = if load == Load::default() {
                    current
                } else {
                    self.store.fetch(tenant, kind, id, load).await.map_err(not_found(kind, id))?
                };
                return Ok(Resource { changed: false, ..Resource::new(stored) });
            };
            // A change of members alone, without If-Match, needs no version check: it names only
            // its own member rows, so concurrent adds and removes never fail or lose one.
            if kind == ResourceKind::Group
                && if_match.is_none()
                && update.doc == current.doc
                && !update.members.is_empty()
            {
                update.audit.changes = audit::write_changes(None, None, &update.members, false);
                let stored = self
                    .store
                    .update_members(tenant, id, &update.members, load, &update.audit)
                    .await
                    .map_err(not_found(kind, id))?;
                return Ok(Resource::new(stored));
            }
            if let Some(hash) = take_password(&mut update.doc).await? {
                update.password_hash = Some(hash);
            }
            update.audit.changes = audit::write_changes(
                Some(&current.doc),
                Some(&update.doc),
                &update.members,
                update.password_hash.is_some(),
            );
            update.name_guard = self.domain_rule(caller, kind, &update.doc, Some(&current.doc), None).await?;
            match self.store.update(tenant, kind, id, update, load).await {
                Ok(stored) => return Ok(Resource::new(stored)),
                Err(StoreError::VersionMismatch { .. }) if if_match.is_none() => {
                    if !retries.again().await {
                        return Err(still_racing());
                    }
                }
                Err(e) => return Err(not_found(kind, id)(e)),
            }
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn delete(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&ETagMatch>,
    ) -> Result<()> {
        caller.principal.require(write_scope(kind))?;
        let id = &ResourceId::parse(kind.name(), id)?;
        let tenant = caller.principal.tenant;
        let mut retries = Retries::new();
        loop {
            let current = self.store.fetch(tenant, kind, id, Load::default()).await.map_err(not_found(kind, id))?;
            if let Some(m) = if_match {
                if !m.matches(current.version) {
                    return Err(ScimError::precondition_failed(&resource::etag(current.version)));
                }
            }
            self.sync_lock(caller, kind, &current)?;
            // The delete holds only if the user is still the one just checked.
            let audit = AuditEntry::new(&caller.actor(), Operation::Delete, audit::changes(Some(&current.doc), None));
            match self.store.delete(tenant, kind, id, Some(current.version), &audit).await {
                Err(StoreError::VersionMismatch { .. }) if if_match.is_none() => {
                    if !retries.again().await {
                        return Err(still_racing());
                    }
                }
                other => return other.map_err(not_found(kind, id)),
            }
        }
    }

    /// The filter, sort and page of a list request, checked against `kind`'s schema.
    fn query_for(&self, kind: ResourceKind, params: &ListParams) -> Result<ListQuery> {
        let rt = self.resource_type(kind);
        let filter = match params.filter.as_deref().map(str::trim) {
            Some(f) if !f.is_empty() => {
                let f: Filter = filter::parse_filter(f)?;
                let checked = filter::check(self.registry, rt, &f)?;
                filter::check_cost(&checked, self.filter_budget)?;
                Some(checked)
            }
            _ => None,
        };
        let sort = match params.sort_by.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => {
                let path = filter::parse_attr_path(s)
                    .map_err(|e| ScimError::invalid_value(format!("sortBy: {}", e.detail)))?;
                let attr = self.registry.resolve(rt, &path).map(|r| r.leaf()).ok_or_else(|| {
                    ScimError::invalid_value(format!(
                        "sortBy: a {} has no attribute {path} (see /Schemas)",
                        kind.name()
                    ))
                })?;
                if attr.ty == crate::scim::schema::AttrType::Complex && attr.sub("value").is_none() {
                    return Err(ScimError::invalid_value(format!(
                        "sortBy: {path} is complex; sort by one of its sub-attributes, e.g. {path}.{}",
                        attr.sub_attributes.first().map(|a| a.name.as_str()).unwrap_or("value")
                    )));
                }
                let ascending = match params.sort_order.as_deref() {
                    None => true,
                    Some(o) if o.eq_ignore_ascii_case("ascending") => true,
                    Some(o) if o.eq_ignore_ascii_case("descending") => false,
                    Some(o) => {
                        return Err(ScimError::invalid_value(format!(
                            "sortOrder {o:?} is not valid; use \"ascending\" or \"descending\""
                        )))
                    }
                };
                Some((path, ascending))
            }
            _ => None,
        };
        // RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0.
        let start_index = params.start_index.unwrap_or(1).max(1) as u64;
        let count = (params.count.unwrap_or(MAX_PAGE as i64).max(0) as u64).min(MAX_PAGE);
        Ok(ListQuery { filter, sort, start_index, count, after_seq: None, member_budget: Some(MEMBERS_PER_PAGE) })
    }

    pub async fn list(&self, caller: &Caller, kind: ResourceKind, params: &ListParams) -> Result<ListPage> {
        self.list_loading(caller, kind, params, false).await
    }

    /// `list` for a reader that writes the page out and nothing else: with the default
    /// projection, Users and Groups keep their documents as the stored text (`get_to_send`).
    pub async fn list_to_send(&self, caller: &Caller, kind: ResourceKind, params: &ListParams) -> Result<ListPage> {
        self.list_loading(caller, kind, params, true).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %caller.principal.tenant, kind = kind.name()))]
    async fn list_loading(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        params: &ListParams,
        to_send: bool,
    ) -> Result<ListPage> {
        caller.principal.require(Scope::Read)?;
        let projection = Projection::parse(params.attributes.as_deref(), params.excluded_attributes.as_deref())?;
        let load = Load { doc_text: to_send && projection == Projection::Default, ..load_for(kind, &projection) };
        if let Some(cursor) = &params.cursor {
            return self.list_by_cursor(caller, kind, params, cursor, load).await;
        }
        let query = self.query_for(kind, params)?;
        let page = self.store.list(caller.principal.tenant, kind, &query, load).await?;
        Ok(ListPage {
            total: page.total,
            start_index: Some(query.start_index),
            resources: page_resources(page.items, load),
            next_cursor: None,
        })
    }

    /// Cursor paging (RFC 9865): pages in creation order, each starting after the last
    /// resource of the one before, so resources created meanwhile never shift a page.
    async fn list_by_cursor(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        params: &ListParams,
        cursor: &str,
        load: Load,
    ) -> Result<ListPage> {
        if params.sort_by.is_some() {
            return Err(ScimError::invalid_value("cursor paging returns resources in creation order; remove sortBy"));
        }
        if params.start_index.is_some() {
            return Err(ScimError::invalid_value("use either startIndex or cursor, not both"));
        }
        let key = self.cursor_key().await?;
        // A cursor is bound to its tenant as well as its query: another tenant's token cannot
        // page with it (nothing would leak, but it is not theirs to use).
        let scope = format!("{}\n{}", caller.principal.tenant.0, params.filter.as_deref().unwrap_or("").trim());
        let digest = cursor::query_digest(Some(&scope));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut query = self.query_for(kind, params)?;
        if !cursor.trim().is_empty() {
            query.after_seq = Some(cursor::decode(&key, cursor.trim(), kind.name(), &digest, now)?.after);
        }
        let count = query.count;
        // One more than asked for tells whether a next page exists.
        query.count = count + 1;
        let mut page = self.store.list(caller.principal.tenant, kind, &query, load).await?;
        let more = page.cut || page.items.len() as u64 > count;
        page.items.truncate(count as usize);
        let next = match (more, page.items.last()) {
            (true, Some(last)) => Some(cursor::encode(
                &key,
                &cursor::Position { kind: kind.name().to_owned(), after: last.seq, query: digest, issued: now },
            )),
            _ => None,
        };
        Ok(ListPage {
            total: page.total,
            start_index: None,
            resources: page_resources(page.items, load),
            next_cursor: next,
        })
    }

    /// The key cursors are signed with, shared through the database by every process.
    async fn cursor_key(&self) -> Result<Vec<u8>> {
        let key = self
            .cursor_key
            .get_or_try_init(|| async {
                let initial = crate::auth::generate_secret();
                self.store.setting("cursor_key", &initial).await.map(String::into_bytes)
            })
            .await?;
        Ok(key.clone())
    }

    /// `POST /.search` (RFC 7644 §3.4.3): Users, then Groups, then Licenses, as one list. A filter naming an
    /// attribute one type lacks matches nothing of that type; one no type has is an error.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn search_all(&self, caller: &Caller, params: &ListParams) -> Result<ListPage> {
        caller.principal.require(Scope::Read)?;
        let projection = Projection::parse(params.attributes.as_deref(), params.excluded_attributes.as_deref())?;
        let mut queries = Vec::new();
        let mut first_error = None;
        for kind in ResourceKind::ALL {
            match self.query_for(kind, params) {
                Ok(q) => queries.push((kind, q)),
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        if queries.is_empty() {
            return Err(first_error.unwrap_or_else(|| ScimError::invalid_filter("the filter matches no resource type")));
        }
        let tenant = caller.principal.tenant;
        let (start_index, mut wanted) = queries.first().map(|(_, q)| (q.start_index, q.count)).unwrap_or((1, 0));
        // Walk the types in order: skip what lies before startIndex, then fill the page.
        let mut skip = start_index - 1;
        let mut total = 0;
        let mut resources = Vec::new();
        for (kind, mut query) in queries {
            query.count = 0;
            let n = self.store.list(tenant, kind, &query, Load::default()).await?.total;
            total += n;
            if skip >= n {
                skip -= n;
                continue;
            }
            if wanted > 0 {
                query.start_index = skip + 1;
                query.count = wanted;
                let load = load_for(kind, &projection);
                let page = self.store.list(tenant, kind, &query, load).await?;
                wanted -= page.items.len() as u64;
                let cut = page.cut;
                resources.extend(page_resources(page.items, load));
                if cut {
                    // The member budget ended the page: the client pages on from here.
                    wanted = 0;
                }
            }
            skip = 0;
        }
        Ok(ListPage { total, start_index: Some(start_index), resources, next_cursor: None })
    }
}

/// A page's resources; a group whose members were to be loaded but were left to be streamed
/// (the store leaves them `None`) is marked so.
fn page_resources(items: Vec<Stored>, load: Load) -> Vec<Resource> {
    items
        .into_iter()
        .map(|s| {
            let members_streamed = load.members && s.kind == ResourceKind::Group && s.members.is_none();
            Resource { members_streamed, ..Resource::new(s) }
        })
        .collect()
}

/// 409 for a name on the initial domain whose local part `other` already holds on a custom domain.
pub(super) fn initial_domain_conflict(name: &str, other: &str) -> ScimError {
    ScimError::new(
        409,
        Some(crate::scim::error::ScimType::Uniqueness),
        format!(
            "userName \"{name}\" is on the initial domain, and \"{other}\" already exists on a custom domain: \
             a name on the initial domain must be created first"
        ),
    )
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHash, PasswordVerifier};
    use serde_json::json;

    #[tokio::test]
    async fn a_temporary_password_is_hashed_like_a_password_given_over_scim_and_verifies() {
        let password = crate::service::temporary_password();
        let mut doc = json!({"userName": "a@example.com", "password": password.expose()});

        let hash = super::take_password(&mut doc).await.unwrap().unwrap();

        assert!(doc.get("password").is_none(), "the document never keeps it");
        assert!(!hash.contains(password.expose()));
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(argon2::Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok());
        assert!(argon2::Argon2::default().verify_password(b"another password", &parsed).is_err());
    }
}
