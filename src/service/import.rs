//! CSV import (DESIGN.md §4): the bulk-add file read in chunks; each chunk's existing users found
//! in one query, new users created many to a transaction, existing ones patched one by one.
//!
//! Every row goes through the same service functions as the API's POST and PATCH, so every
//! rule applies; `--dry-run` runs the same checks and writes nothing. New users may be given
//! temporary passwords, and the report may be mailed (`service::mail`).

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::directory;
use crate::directory::import::{
    ColumnMap, CsvFile, LicenseIds, MaxDeactivate, Report, ReportRow, Row, SourceName, Status, Target,
    TemporaryPassword,
};
use crate::scim::error::{Result, ScimError};
use crate::scim::filter::case_fold as fold;
use crate::scim::projection::Projection;
use crate::scim::schema::{ResourceKind, ENTERPRISE_USER};
use crate::service::mail::temporary_password;
use crate::service::resources::initial_domain_conflict;
use crate::service::source_lock::SourceLock;
use crate::service::{Caller, Service};
use crate::store::{Fingerprint, Load, ResourceId, Scope, StoreError, Stored, UserHead};

/// Rows per chunk: one lookup query, and one transaction for the chunk's new users. Other
/// writers get their turn between chunks.
const CHUNK_ROWS: usize = 500;
/// Users an import updates at once (each user's rows still in file order): their writes share
/// commits instead of each waiting for its own.
const USERS_AT_ONCE: usize = 32;

/// Largest CSV `POST /Admin/Import` accepts: about 300,000 rows of the full template.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// How far an import has got; reported after each chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Data rows done so far.
    pub rows: u64,
    /// Bytes of the file read so far, out of `total_bytes`.
    pub bytes: u64,
    pub total_bytes: u64,
}

/// The query parameters of `POST /Admin/Import`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportParams {
    /// Check every row and report, but write nothing.
    pub dry_run: Option<bool>,
    /// Mail the report to these addresses (at most five, separated by commas).
    pub mail_results: Option<String>,
    /// Give each new user a random password, shown in the report.
    pub temporary_passwords: Option<bool>,
}

/// How an import runs, beyond its file.
#[derive(Debug, Default, Clone)]
pub struct ImportOptions {
    /// Check every row and report, but write nothing.
    pub dry_run: bool,
    /// Give each new user a random password, shown once in the report (and the mail).
    pub temporary_passwords: bool,
    /// Mail the report to these addresses, separated by commas (at most five).
    pub mail_results: Option<String>,
    /// The file's name, for the mail.
    pub source: Option<String>,
    /// The file's columns, when it is not the bulk-add template.
    pub map: Option<ColumnMap>,
    /// `--mode sync`: the file is the truth for the users of this source.
    pub sync: Option<SyncOptions>,
}

/// A sync: the file is the truth for the users its source created or last updated.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The source's name, recorded on each user the import writes (`importSource`).
    pub source: SourceName,
    /// The most users the run may deactivate; more stops it before anything is written.
    pub max_deactivate: MaxDeactivate,
}

/// The query parameters of `POST /Admin/Import` that name an HR source stored with
/// `scimd import-source add`, beyond those of `ImportParams`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceParams {
    /// `add` (the default; also `import`, the command's name) or `sync`.
    pub mode: Option<String>,
    /// The stored source whose column map reads the file (and, in a sync, whose users it holds).
    pub source: Option<String>,
    /// The valve for this run, instead of the stored source's.
    pub max_deactivate: Option<String>,
}

/// Names of deactivated users an error lists at most; a dry run's report lists them all.
const LISTED_LEAVERS: usize = 20;

/// A user of the sync's source, as it was before the run.
struct Owned {
    id: ResourceId,
    user_name: String,
    active: bool,
}

/// What became of one row updated after its chunk's creations, before it is recorded.
struct Outcome {
    index: usize,
    status: Status,
    result: Result<Known>,
    password: Option<TemporaryPassword>,
    id: Option<String>,
    /// The user's `seq` and version once the row is applied (not in a dry run).
    applied: Option<(i64, i64)>,
}

/// A row naming a manager: its place in the report, its userName and the manager cell.
struct ManagerRef {
    index: usize,
    user_name: String,
    manager: String,
}

/// A userName the import has met: the user holding it, or in a dry run the document the user
/// created for it would have had.
#[derive(Debug, Clone)]
enum Known {
    User(ResourceId),
    Planned(Value),
}

/// What an import carries from one chunk to the next.
struct Run<'c> {
    caller: &'c Caller,
    dry_run: bool,
    /// New users get a temporary password (never in a dry run).
    temporary_passwords: bool,
    /// The tenant's verified domains, read once.
    domains: Vec<(String, bool)>,
    /// By case-folded userName, as the store compares them.
    known: HashMap<String, Known>,
    /// A sync: the file's users become active unless it says otherwise.
    sync: bool,
}

impl Run<'_> {
    /// The SCIM User a row creates, with a temporary password when the run gives them (the
    /// file has no password column, so a new user never has one of its own).
    fn new_user(&self, row: &Row) -> (Value, Option<TemporaryPassword>) {
        let mut user = row.new_user();
        if !self.temporary_passwords {
            return (user, None);
        }
        let password = temporary_password();
        user["password"] = Value::String(password.expose().to_owned());
        (user, Some(password))
    }

    /// The row's PATCH; in a sync it also makes the user active unless the file says
    /// otherwise (a returner comes back). The source is recorded by the sync's caller.
    fn patch(&self, row: &Row) -> Value {
        let mut patch = row.patch();
        if let (true, Some(Value::Array(ops))) = (self.sync, patch.get_mut("Operations")) {
            let sets_active = ops.iter().any(|o| o["path"] == "active");
            if !sets_active {
                ops.push(serde_json::json!({"op": "replace", "path": "active", "value": true}));
            }
        }
        patch
    }

    /// The names that must not exist before `name` may be created (the initial-domain rule).
    fn forbidden(&self, name: &str) -> Vec<String> {
        directory::check_domain(name, &self.domains).unwrap_or_default()
    }

    /// Whether `name` must wait for one of the `pending` creations: a name on the initial domain
    /// is checked against the custom-domain names created before it, so it cannot share their
    /// transaction.
    fn waits_for_any(&self, name: &str, pending: &HashSet<String>) -> bool {
        !self.domains.is_empty() && self.forbidden(name).iter().any(|f| pending.contains(&fold(f)))
    }

    /// In a dry run, the initial-domain rule against the names this run would have created.
    fn planned_conflict(&self, name: &str) -> Result<()> {
        for other in self.forbidden(name) {
            if let Some(Known::Planned(_)) = self.known.get(&fold(&other)) {
                return Err(initial_domain_conflict(name, &other));
            }
        }
        Ok(())
    }
}

impl Service {
    /// Imports a bulk-add CSV into the caller's tenant (write scope). A file that cannot be
    /// imported at all (no `User Name` column, an unknown column), or a results mail that
    /// cannot be sent (no SMTP server, a bad or sixth address), is an error and nothing is
    /// written; otherwise each row is created, updated or refused on its own and reported, and
    /// the report mailed when asked. `progress` is called after each chunk of rows.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, dry_run = options.dry_run))]
    pub async fn import_csv(
        &self,
        caller: &Caller,
        data: &[u8],
        options: &ImportOptions,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Report> {
        caller.principal.require(Scope::Write)?;
        let recipients = self.mail_recipients(options.mail_results.as_deref())?;
        // A sync writes its users as its source, which no SCIM client can.
        let syncing;
        let caller = match &options.sync {
            Some(sync) => {
                syncing = caller.syncing(sync.source.clone());
                &syncing
            }
            None => caller,
        };
        // Two runs of one source would each see the other's users as leavers: a sync that
        // writes holds the source's lock throughout (a dry run writes nothing and needs none).
        let lock = match &options.sync {
            Some(sync) if !options.dry_run => Some(self.lock_source(caller, &sync.source).await?),
            _ => None,
        };
        let report = self.import_file(caller, data, options, lock.as_ref(), progress).await;
        if let Some(lock) = lock {
            self.unlock_source(lock).await;
        }
        let mut report = report?;
        if !options.dry_run {
            for status in Status::ALL {
                self.metrics.import_rows(status.as_str(), report.count(status) as u64);
            }
        }
        if let Some(to) = recipients {
            let what = match &options.source {
                Some(file) => format!("import of {file}"),
                None => "import over HTTP".to_owned(),
            };
            let what = if options.dry_run { format!("dry run of the {what}, nothing written") } else { what };
            report.mail = Some(self.mail_results(caller, &to, &what, &report).await);
        }
        Ok(report)
    }

    /// The import itself, under the source's lock when a sync holds one.
    async fn import_file(
        &self,
        caller: &Caller,
        data: &[u8],
        options: &ImportOptions,
        lock: Option<&SourceLock>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Report> {
        let mut file = CsvFile::open_with(data, options.map.as_ref())?;
        let licenses = match file.columns().contains(&Some(Target::Licenses)) {
            true => self.license_parts(caller).await?,
            false => LicenseIds::new(),
        };
        let domains = self.store.domains(caller.principal.tenant).await?;
        let dry_run = options.dry_run;
        let temporary_passwords = options.temporary_passwords && !dry_run;
        let sync = options.sync.is_some();
        let mut run = Run { caller, dry_run, temporary_passwords, domains, known: HashMap::new(), sync };
        let mut report = Report { dry_run, temporary_passwords, sync, ..Report::default() };
        // A sync's plan of who leaves, checked against the valve before anything is written.
        let (leavers, returners) = match &options.sync {
            Some(sync) => self.sync_plan(caller, sync, data, options.map.as_ref()).await?,
            None => (Vec::new(), HashSet::new()),
        };
        // Managers are set once every row has its user, so a row may name a manager whose own
        // row comes later in the file.
        let (mut managers, mut employees) = (Vec::new(), HashMap::new());
        loop {
            let mut chunk: Vec<Row> = file.by_ref().take(CHUNK_ROWS).collect();
            if chunk.is_empty() {
                break;
            }
            for (i, row) in chunk.iter_mut().enumerate() {
                row.resolve_licenses(&licenses);
                if row.problem.is_some() {
                    continue;
                }
                if let Some(number) = row.employee_number() {
                    employees.entry(number.to_owned()).or_insert_with(|| row.user_name.clone());
                }
                if let Some(manager) = row.manager().map(str::to_owned) {
                    // A manager the run already knows is set by the row's own write.
                    let key = fold(employees.get(&manager).unwrap_or(&manager));
                    if let Some(Known::User(id)) = run.known.get(&key) {
                        row.resolve_manager(id.to_string());
                        continue;
                    }
                    let (index, user_name) = (report.rows.len() + i, row.user_name.clone());
                    managers.push(ManagerRef { index, user_name, manager });
                }
            }
            let rows = self.import_chunk(&mut run, chunk).await?;
            report.rows.extend(rows);
            if let Some(lock) = lock {
                if !self.extend_lock(lock).await? {
                    return Err(ScimError::new(409, None, "the sync lost its lock to another run; run it again"));
                }
            }
            progress(Progress { rows: report.rows.len() as u64, bytes: file.bytes_read(), total_bytes: file.size() });
        }
        for row in &mut report.rows {
            if row.status == Status::Updated && row.id.as_ref().is_some_and(|id| returners.contains(id)) {
                row.status = Status::Reactivated;
            }
        }
        let deactivated: Vec<ReportRow> =
            futures::stream::iter(leavers).map(|l| self.deactivate(&run, l)).buffered(USERS_AT_ONCE).collect().await;
        report.rows.extend(deactivated);
        // Managers, many users at once: a user named on several rows gets the last row's.
        let mut last: HashMap<String, usize> = HashMap::new();
        for (n, m) in managers.iter().enumerate() {
            last.insert(fold(&m.user_name), n);
        }
        let managers: Vec<ManagerRef> = managers
            .into_iter()
            .enumerate()
            .filter(|(n, m)| last.get(&fold(&m.user_name)) == Some(n))
            .map(|(_, m)| m)
            .filter(|m| report.rows.get(m.index).is_some_and(|r| r.status != Status::Refused))
            .collect();
        let (run, rows, employees) = (&run, &report.rows, &employees);
        let results: Vec<(usize, Result<bool>)> = futures::stream::iter(managers)
            .map(|m: ManagerRef| async move {
                let key = employees.get(&m.manager).unwrap_or(&m.manager);
                let unchanged = rows[m.index].status == Status::Unchanged;
                (m.index, self.set_manager(run, &m.user_name, key).await.map(|changed| changed && unchanged))
            })
            .buffer_unordered(USERS_AT_ONCE)
            .collect()
            .await;
        for (index, result) in results {
            let out = &mut report.rows[index];
            match result {
                Ok(true) => out.status = Status::Updated,
                Ok(false) => {}
                Err(e) => {
                    super::log_internal(&e);
                    out.status = Status::Refused;
                    out.detail = Some(e.detail.into_owned());
                }
            }
        }
        tracing::info!(
            rows = report.rows.len(),
            created = report.count(Status::Created),
            updated = report.count(Status::Updated),
            unchanged = report.count(Status::Unchanged),
            refused = report.count(Status::Refused),
            "CSV import done"
        );
        Ok(report)
    }

    /// `POST /Admin/Import`: the import over HTTP, for admin tokens only; through a stored
    /// source's column map when `source` names one, and as a sync of it with `mode=sync`.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn admin_import(
        &self,
        caller: &Caller,
        data: &[u8],
        params: &ImportParams,
        source: &SourceParams,
    ) -> Result<Report> {
        caller.principal.require(Scope::Admin)?;
        let (map, sync) = self.stored_source_options(caller, source).await?;
        self.admin_run(caller, data, params, map, sync, &mut |_| {}).await
    }

    /// The admin import of a bulk-add file, with `progress` called after each chunk (the admin
    /// center's progress page).
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn admin_import_with_progress(
        &self,
        caller: &Caller,
        data: &[u8],
        params: &ImportParams,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Report> {
        self.admin_run(caller, data, params, None, None, progress).await
    }

    /// The import over HTTP as the tenant's administrator, through `map` and as `sync` when given.
    async fn admin_run(
        &self,
        caller: &Caller,
        data: &[u8],
        params: &ImportParams,
        map: Option<ColumnMap>,
        sync: Option<SyncOptions>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Report> {
        caller.principal.require(Scope::Admin)?;
        // The import acts as the tenant's administrator, never as the directory connector, even
        // for a token that holds the sync scope too: its users are not marked synchronized, and
        // synchronized users are refused as for any other client.
        let mut principal = caller.principal.clone();
        principal.scopes = vec![Scope::Admin];
        let caller = Caller { principal, ..caller.clone() };
        let options = ImportOptions {
            dry_run: params.dry_run.unwrap_or(false),
            temporary_passwords: params.temporary_passwords.unwrap_or(false),
            mail_results: params.mail_results.clone(),
            source: None,
            map,
            sync,
        };
        self.import_csv(&caller, data, &options, progress).await
    }

    /// One chunk: the first row of each new name is created with the chunk's other new users
    /// in one transaction; then, in file order, every other row updates the user its name
    /// has by then (or creates it, when the first attempt was refused).
    async fn import_chunk(&self, run: &mut Run<'_>, chunk: Vec<Row>) -> Result<Vec<ReportRow>> {
        let mut out: Vec<ReportRow> = chunk
            .iter()
            .map(|r| ReportRow {
                row: r.line,
                user_name: r.user_name.clone(),
                status: Status::Refused,
                id: None,
                detail: r.problem.clone(),
                temporary_password: None,
            })
            .collect();
        let mut unknown: Vec<String> = chunk
            .iter()
            .filter(|r| r.problem.is_none() && !run.known.contains_key(&fold(&r.user_name)))
            .map(|r| r.user_name.clone())
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        // The chunk's existing users, read whole: their rows are compared with them at once. A
        // sync first reads only who they are, and reads in full the users whose rows are not
        // what it last applied to them.
        let mut read: HashMap<String, Stored> = HashMap::new();
        let mut prints = HashMap::new();
        if let (false, Some(source)) = (unknown.is_empty(), sync_source(run).cloned()) {
            let heads = self.store.user_heads(run.caller.principal.tenant, &unknown).await?;
            for head in &heads {
                run.known.insert(fold(&head.user_name), Known::User(head.id.clone()));
            }
            prints = self.unchanged_since_last_sync(run, &source, &chunk, &heads).await?;
            let skipped: HashSet<String> =
                prints.iter().filter(|(_, hash)| hash.is_none()).map(|(&i, _)| fold(&chunk[i].user_name)).collect();
            unknown = heads.into_iter().map(|h| h.user_name).filter(|n| !skipped.contains(&fold(n))).collect();
        }
        if !unknown.is_empty() {
            for user in self.store.users_by_name(run.caller.principal.tenant, &unknown).await? {
                let key = fold(user.doc.get("userName").and_then(Value::as_str).unwrap_or_default());
                run.known.insert(key.clone(), Known::User(user.id.clone()));
                read.insert(key, user);
            }
        }

        let (mut batch, mut later, mut pending) = (Vec::new(), Vec::new(), HashSet::new());
        for (i, row) in chunk.iter().enumerate().filter(|(_, r)| r.problem.is_none()) {
            let key = fold(&row.user_name);
            if run.known.contains_key(&key) || pending.contains(&key) || run.waits_for_any(&row.user_name, &pending) {
                later.push(i);
            } else {
                pending.insert(key);
                batch.push(i);
            }
        }

        let mut passwords: Vec<Option<TemporaryPassword>> = Vec::with_capacity(batch.len());
        let mut applied: Vec<(usize, (i64, i64))> = Vec::new();
        let results = if run.dry_run {
            let mut results = Vec::with_capacity(batch.len());
            for &i in &batch {
                results.push(self.check_new(run, &chunk[i]).await);
                passwords.push(None);
            }
            results
        } else {
            let items = batch
                .iter()
                .map(|&i| {
                    let (user, password) = run.new_user(&chunk[i]);
                    passwords.push(password);
                    (ResourceKind::User, user)
                })
                .collect();
            self.create_many(run.caller, items)
                .await
                .into_iter()
                .zip(&batch)
                .map(|(r, &i)| {
                    r.map(|stored| {
                        applied.push((i, (stored.seq, stored.version)));
                        Known::User(stored.id)
                    })
                })
                .collect()
        };
        for ((&i, result), password) in batch.iter().zip(results).zip(passwords) {
            record(run, &chunk[i], Status::Created, result, password, &mut out[i]);
        }

        // A sync's rows that match what it last applied to their users change nothing.
        let mut skipped: Vec<usize> = Vec::new();
        // The other rows, many users at once; each user's rows one after another in file order.
        let mut by_user: Vec<(Vec<usize>, Option<Stored>)> = Vec::new();
        let mut group_of: HashMap<String, usize> = HashMap::new();
        for i in later {
            let key = fold(&chunk[i].user_name);
            if !group_of.contains_key(&key) && prints.get(&i).is_some_and(|p| p.is_none()) {
                skipped.push(i);
                continue;
            }
            let g = *group_of.entry(key.clone()).or_insert_with(|| {
                by_user.push((Vec::new(), read.remove(&key)));
                by_user.len() - 1
            });
            by_user[g].0.push(i);
        }
        let shared: &Run<'_> = run;
        let outcomes: Vec<Vec<Outcome>> = futures::stream::iter(by_user)
            .map(|(rows, current)| self.later_rows(shared, &chunk, rows, current))
            .buffer_unordered(USERS_AT_ONCE)
            .collect()
            .await;
        let mut outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
        outcomes.sort_by_key(|o| o.index);
        for &i in &skipped {
            let Some(Known::User(id)) = run.known.get(&fold(&chunk[i].user_name)).cloned() else { continue };
            out[i].id = Some(id.to_string());
            record(run, &chunk[i], Status::Unchanged, Ok(Known::User(id)), None, &mut out[i]);
        }
        for o in outcomes {
            if let Some(id) = o.id {
                out[o.index].id = Some(id);
            }
            if let (Some(seq_version), Ok(_)) = (o.applied, &o.result) {
                applied.push((o.index, seq_version));
            }
            record(run, &chunk[o.index], o.status, o.result, o.password, &mut out[o.index]);
        }
        self.record_fingerprints(run, &chunk, applied, &prints).await;
        Ok(out)
    }

    /// For a sync, the first row of each of these existing users in the chunk: `None` when it
    /// matches what a sync of `source` last applied to the user, else the row's fingerprint.
    async fn unchanged_since_last_sync(
        &self,
        run: &Run<'_>,
        source: &SourceName,
        chunk: &[Row],
        heads: &[UserHead],
    ) -> Result<HashMap<usize, Option<String>>> {
        if heads.is_empty() {
            return Ok(HashMap::new());
        }
        let tenant = run.caller.principal.tenant;
        let seqs: Vec<i64> = heads.iter().map(|h| h.seq).collect();
        let prints: HashMap<i64, Fingerprint> =
            self.store.fingerprints(tenant, source.as_str(), &seqs).await?.into_iter().map(|p| (p.seq, p)).collect();
        let mut users: HashMap<String, &UserHead> = heads.iter().map(|h| (fold(&h.user_name), h)).collect();
        let mut out = HashMap::new();
        for (i, row) in chunk.iter().enumerate().filter(|(_, r)| r.problem.is_none()) {
            // Only a user's first row: the users met are taken out of `users`.
            let Some(user) = users.remove(&fold(&row.user_name)) else { continue };
            let hash = row.fingerprint();
            let same = prints.get(&user.seq).is_some_and(|p| p.version == user.version && p.row_hash == hash);
            out.insert(i, (!same).then_some(hash));
        }
        Ok(out)
    }

    /// Records, for a sync that writes, what each row applied to its user: the row's
    /// fingerprint and the user's version after it. A failure costs the next sync time, not
    /// correctness, so it is logged and the run goes on.
    /// `hashes` are those `unchanged_since_last_sync` computed.
    async fn record_fingerprints(
        &self,
        run: &Run<'_>,
        chunk: &[Row],
        applied: Vec<(usize, (i64, i64))>,
        hashes: &HashMap<usize, Option<String>>,
    ) {
        let Some(source) = sync_source(run).filter(|_| !run.dry_run) else {
            return;
        };
        // A user's last row in the chunk is what the user now holds.
        let mut last: HashMap<i64, Fingerprint> = HashMap::new();
        let mut applied = applied;
        applied.sort_by_key(|(i, _)| *i);
        for (i, (seq, version)) in applied {
            let row_hash = hashes.get(&i).cloned().flatten().unwrap_or_else(|| chunk[i].fingerprint());
            last.insert(seq, Fingerprint { seq, row_hash, version });
        }
        let prints: Vec<Fingerprint> = last.into_values().collect();
        if let Err(e) = self.store.record_fingerprints(source.as_str(), &prints).await {
            tracing::warn!(error = %e, "could not record what the sync applied; its next run compares every row in full");
        }
    }

    /// One user's rows after the chunk's creations, in file order: each updates the user the
    /// name has by then (or creates it, when the first attempt was refused). `current` is the
    /// user as the chunk read it, for the first row.
    async fn later_rows(
        &self,
        run: &Run<'_>,
        chunk: &[Row],
        rows: Vec<usize>,
        mut current: Option<Stored>,
    ) -> Vec<Outcome> {
        let mut known = rows.first().and_then(|&i| run.known.get(&fold(&chunk[i].user_name)).cloned());
        let mut outcomes = Vec::with_capacity(rows.len());
        for index in rows {
            let row = &chunk[index];
            let (mut password, mut id, mut applied) = (None, None, None);
            let (status, result) = match known.clone() {
                Some(Known::User(user)) => {
                    id = Some(user.to_string());
                    match self.update_row(run, row, user, current.take()).await {
                        Ok((known, changed, after)) => {
                            applied = after;
                            (if changed { Status::Updated } else { Status::Unchanged }, Ok(known))
                        }
                        Err(e) => (Status::Updated, Err(e)),
                    }
                }
                Some(Known::Planned(doc)) => match self.check_planned_update(run, row, doc) {
                    Ok((known, true)) => (Status::Updated, Ok(known)),
                    Ok((known, false)) => (Status::Unchanged, Ok(known)),
                    Err(e) => (Status::Updated, Err(e)),
                },
                None if run.dry_run => (Status::Created, self.check_new(run, row).await),
                None => {
                    let none = Projection::Include(Vec::new());
                    let (user, given) = run.new_user(row);
                    password = given;
                    let created = self.create(run.caller, ResourceKind::User, user, &none).await;
                    let created = created.map(|r| {
                        applied = Some((r.stored.seq, r.stored.version));
                        Known::User(r.stored.id)
                    });
                    (Status::Created, created)
                }
            };
            if let Ok(k) = &result {
                known = Some(k.clone());
            }
            outcomes.push(Outcome { index, status, result, password, id, applied });
        }
        outcomes
    }

    /// Who a sync deactivates (the source's active users the file does not list) and
    /// reactivates (the ids of its inactive users the file lists). More leavers than the valve
    /// allows refuses the run, naming them, before anything is written.
    async fn sync_plan(
        &self,
        caller: &Caller,
        sync: &SyncOptions,
        data: &[u8],
        map: Option<&ColumnMap>,
    ) -> Result<(Vec<Owned>, HashSet<String>)> {
        // Every name the file gives counts, even on a refused row: a row with a bad cell is
        // not a leaver.
        let listed: HashSet<String> =
            CsvFile::open_with(data, map)?.filter(|r| !r.user_name.is_empty()).map(|r| fold(&r.user_name)).collect();
        // Who the source holds, without reading their documents: one pass over the tenant.
        let tenant = caller.principal.tenant;
        let mut owned: Vec<Owned> = (self.store.source_users(tenant, sync.source.as_str()).await?)
            .into_iter()
            .map(|u| Owned { id: u.id, user_name: u.user_name, active: u.active })
            .collect();
        owned.sort_by_cached_key(|o| fold(&o.user_name));
        let active = owned.iter().filter(|o| o.active).count();
        let returners = owned.iter().filter(|o| !o.active && listed.contains(&fold(&o.user_name)));
        let returners = returners.map(|o| o.id.to_string()).collect();
        let leavers: Vec<Owned> =
            owned.into_iter().filter(|o| o.active && !listed.contains(&fold(&o.user_name))).collect();
        let limit = sync.max_deactivate.limit(active);
        if leavers.len() > limit {
            // 409: the file is sound, but it conflicts with the directory's state by more than the
            // valve lets through; a higher valve (or a corrected file) makes the same run pass.
            let names: Vec<&str> = leavers.iter().take(LISTED_LEAVERS).map(|o| o.user_name.as_str()).collect();
            let more = match leavers.len().saturating_sub(LISTED_LEAVERS) {
                0 => String::new(),
                n => format!(" and {n} more (a dry run lists them all)"),
            };
            return Err(ScimError::new(
                409,
                None,
                format!(
                    "the file would deactivate {} of the {active} active users of source \"{}\", more than \
                     --max-deactivate {} allows ({limit}); nothing was written; check the file, or if they did \
                     leave raise --max-deactivate (maxDeactivate= over HTTP) for this run: {}{more}",
                    leavers.len(),
                    sync.source,
                    sync.max_deactivate,
                    names.join(", ")
                ),
            ));
        }
        Ok((leavers, returners))
    }

    /// A sync's leaver: `active` set to false (never deleted), as a PATCH would, so a user
    /// synchronized from on-premises is refused as for any client.
    async fn deactivate(&self, run: &Run<'_>, leaver: Owned) -> ReportRow {
        let mut out = ReportRow {
            row: 0,
            user_name: leaver.user_name,
            status: Status::Deactivated,
            id: Some(leaver.id.to_string()),
            detail: None,
            temporary_password: None,
        };
        if run.dry_run {
            return out;
        }
        let patch = serde_json::json!({
            "schemas": [crate::scim::patch::PATCH_OP_URN],
            "Operations": [{"op": "replace", "path": "active", "value": false}],
        });
        let none = Projection::Include(Vec::new());
        if let Err(e) = self.patch(run.caller, ResourceKind::User, leaver.id.as_str(), None, patch, &none).await {
            super::log_internal(&e);
            out.status = Status::Refused;
            out.detail = Some(e.detail.into_owned());
        }
        out
    }

    /// The tenant's License ids by part number, for the `licenses` column.
    async fn license_parts(&self, caller: &Caller) -> Result<LicenseIds> {
        Ok(self
            .licenses(caller)
            .await?
            .into_iter()
            .filter_map(|l| {
                let part = l.doc.get("partNumber")?.as_str()?.to_ascii_uppercase();
                Some((part, l.id.into_string()))
            })
            .collect())
    }

    /// Points the user `user_name` at its manager: `key` is the manager's userName (an employee
    /// number of the file is already turned into one), a userName the tenant has, or an
    /// employee number the tenant has. Says whether the user changed.
    async fn set_manager(&self, run: &Run<'_>, user_name: &str, key: &str) -> Result<bool> {
        let manager = match run.known.get(&fold(key)) {
            Some(known) => Some(known.clone()),
            None => {
                let key = Value::String(key.to_owned());
                let filter = format!("userName eq {key} or {ENTERPRISE_USER}:employeeNumber eq {key}");
                self.only(run.caller, ResourceKind::User, filter).await?.map(|r| Known::User(r.stored.id))
            }
        };
        let Some(manager) = manager else {
            return Err(ScimError::invalid_value(format!(
                "the manager {key:?} is neither an employee number or userName of the file nor a user of the tenant"
            )));
        };
        let (Some(Known::User(id)), Known::User(manager)) = (run.known.get(&fold(user_name)), manager) else {
            // A dry run's new user, or its manager: nothing to compare with yet.
            return Ok(false);
        };
        let patch = serde_json::json!({
            "schemas": [crate::scim::patch::PATCH_OP_URN],
            "Operations": [{"op": "replace", "path": format!("{ENTERPRISE_USER}:manager"), "value": {"value": manager}}],
        });
        let changed = if run.dry_run {
            let tenant = run.caller.principal.tenant;
            let current = self.store.fetch(tenant, ResourceKind::User, id, Load::default()).await?;
            self.patch_update(run.caller, ResourceKind::User, &current, &patch)?.is_some()
        } else {
            let none = Projection::Include(Vec::new());
            self.patch(run.caller, ResourceKind::User, id.as_str(), None, patch, &none).await?.changed
        };
        Ok(changed)
    }

    /// A dry run's creation: every check `create` makes, and what the user would look like.
    async fn check_new(&self, run: &Run<'_>, row: &Row) -> Result<Known> {
        let new = self.prepare_new(run.caller, ResourceKind::User, row.new_user(), Some(&run.domains)).await?;
        run.planned_conflict(&row.user_name)?;
        Ok(Known::Planned(new.doc))
    }

    /// The row's PATCH of an existing user, or in a dry run every check that PATCH makes; and
    /// whether it changes the user.
    async fn update_row(
        &self,
        run: &Run<'_>,
        row: &Row,
        id: ResourceId,
        read: Option<Stored>,
    ) -> Result<(Known, bool, Option<(i64, i64)>)> {
        if !run.dry_run {
            let patched = match read {
                Some(current) => self.patch_read(run.caller, ResourceKind::User, current, run.patch(row)).await?,
                None => {
                    let none = Projection::Include(Vec::new());
                    self.patch(run.caller, ResourceKind::User, id.as_str(), None, run.patch(row), &none).await?
                }
            };
            let applied = (patched.stored.seq, patched.stored.version);
            return Ok((Known::User(id), patched.changed, Some(applied)));
        }
        let tenant = run.caller.principal.tenant;
        let current = match read {
            Some(current) => current,
            None => self.store.fetch(tenant, ResourceKind::User, &id, Load::default()).await.map_err(|e| match e {
                StoreError::NotFound => ScimError::not_found("User", id.as_str()),
                e => e.into(),
            })?,
        };
        let update = self.patch_update(run.caller, ResourceKind::User, &current, &run.patch(row))?;
        if let Some(update) = &update {
            self.domain_rule(run.caller, ResourceKind::User, &update.doc, Some(&current.doc), Some(&run.domains))
                .await?;
        }
        Ok((Known::User(id), update.is_some(), None))
    }

    /// A dry run's update of a user an earlier row would have created, and whether it changes
    /// that user.
    fn check_planned_update(&self, run: &Run<'_>, row: &Row, doc: Value) -> Result<(Known, bool)> {
        let now = OffsetDateTime::now_utc();
        let planned = Stored {
            seq: 0,
            id: ResourceId::new(""),
            kind: ResourceKind::User,
            doc,
            doc_text: None,
            version: 1,
            created: now,
            last_modified: now,
            members: None,
            groups: None,
        };
        Ok(match self.patch_update(run.caller, ResourceKind::User, &planned, &run.patch(row))? {
            Some(update) => (Known::Planned(update.doc), true),
            None => (Known::Planned(planned.doc), false),
        })
    }
}

/// The source a sync run records on its users; `None` for a plain import.
fn sync_source<'r>(run: &'r Run<'_>) -> Option<&'r SourceName> {
    run.caller.import_source.as_ref().filter(|_| run.sync)
}

/// Fills in a row's report line, with the temporary password its new user was given, and
/// remembers the user its name now has.
fn record(
    run: &mut Run<'_>,
    row: &Row,
    status: Status,
    result: Result<Known>,
    password: Option<TemporaryPassword>,
    out: &mut ReportRow,
) {
    match result {
        Ok(known) => {
            out.status = status;
            out.temporary_password = password;
            if let Known::User(id) = &known {
                out.id = Some(id.to_string());
            }
            run.known.insert(fold(&row.user_name), known);
        }
        Err(e) => {
            super::log_internal(&e);
            out.status = Status::Refused;
            out.detail = Some(e.detail.into_owned());
        }
    }
}
