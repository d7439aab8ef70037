//! Users, Groups and Licenses as rows: reading one back, inserting, updating, deleting,
//! listing with filters and sorting, and the soft-deleted users (restore, purge).

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::scim::schema::ResourceKind;
use crate::store::backend::{Backend, Conn, Param, SqlRow};
use crate::store::group_commit;
use crate::store::sql::{self, Bind, Fragment, Promoted};
use crate::store::sql_store::{classify, corrupt, id_list, now, retryable, touched, SqlStore};
use crate::store::{
    audit, members, seats, Actor, AuditEntry, GroupView, ListQuery, Load, MemberChange, MemberView, NameGuard,
    NewResource, Page, ResourceId, Result, StoreError, Stored, TenantId, Update, UserHead,
};

/// The promoted columns as parameters, in the order every write lists them.
/// The columns `promoted_params` fills, in its order.
const PROMOTED_COLUMNS: [&str; 9] = [
    "user_name",
    "user_name_fold",
    "user_name_rev",
    "part_number",
    "part_number_fold",
    "external_id",
    "display_name",
    "display_name_fold",
    "seats",
];

fn promoted_params(p: &Promoted) -> [Param<'_>; 9] {
    [
        Param::OptText(p.user_name.as_deref()),
        Param::OptText(p.user_name_fold.as_deref()),
        Param::OptText(p.user_name_rev.as_deref()),
        Param::OptText(p.part_number.as_deref()),
        Param::OptText(p.part_number_fold.as_deref()),
        Param::OptText(p.external_id.as_deref()),
        Param::OptText(p.display_name.as_deref()),
        Param::OptText(p.display_name_fold.as_deref()),
        Param::OptInt(p.seats),
    ]
}

/// The columns every read selects, with the derived parts asked for. Each of a backend's
/// four lists is built once, on first use, and kept for the process: every read names one.
pub(crate) fn select_columns<B: Backend>(load: Load) -> &'static str {
    type Key = (std::any::TypeId, bool, bool);
    static BUILT: std::sync::LazyLock<std::sync::RwLock<HashMap<Key, &'static str>>> =
        std::sync::LazyLock::new(Default::default);
    let key = (std::any::TypeId::of::<B>(), load.members, load.groups);
    if let Some(columns) = BUILT.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return columns;
    }
    let mut built = BUILT.write().unwrap_or_else(|e| e.into_inner());
    built.entry(key).or_insert_with(|| columns_of::<B>("r", load).leak())
}

/// `select_columns` of the resource named `r` in the query (a `RETURNING` clause names it
/// by its table, `resources`).
fn columns_of<B: Backend>(r: &str, load: Load) -> String {
    let dialect = B::DIALECT;
    let mut cols = format!(
        "{r}.seq, {r}.id, {r}.kind, {}, {r}.version, {r}.created, {r}.last_modified, {r}.seats, {r}.consumed",
        dialect.doc_column(r)
    );
    if load.members {
        let agg = dialect.json_agg(&[
            ("id", "m2.id"),
            ("kind", "m2.kind"),
            ("display", "COALESCE(m.display, m2.display_name, m2.user_name)"),
        ]);
        cols.push_str(&format!(
            ", (SELECT {agg} FROM members m JOIN resources m2 ON m2.seq = m.member_seq \
             WHERE m.group_seq = {r}.seq) AS members_json"
        ));
    }
    if load.groups {
        let agg = dialect.json_agg(&[("id", "g.id"), ("display", "g.display_name")]);
        cols.push_str(&format!(
            ", (SELECT {agg} FROM members m JOIN resources g ON g.seq = m.group_seq \
             WHERE m.member_seq = {r}.seq) AS groups_json"
        ));
    }
    cols
}

/// A License's seat counters, which live in columns kept exact by every write, put into its
/// document.
fn with_seat_counters(kind: ResourceKind, doc: &mut Value, seats: Option<i64>, consumed: i64) {
    if let (ResourceKind::License, Some(seats), Value::Object(o)) = (kind, seats, doc) {
        o.insert("seats".into(), seats.into());
        o.insert("consumed".into(), consumed.into());
        o.insert("available".into(), (seats - consumed).into());
    }
}

/// A resource from a row selected with `select_columns(load)`.
pub(crate) fn decode(row: &impl SqlRow, load: Load) -> Result<Stored> {
    let kind_name = row.text("kind")?;
    let kind = ResourceKind::from_name(kind_name).ok_or_else(|| corrupt("kind", kind_name))?;
    let text = row.text("doc")?;
    let (doc, doc_text) = if load.doc_text && kind != ResourceKind::License {
        (Value::Null, Some(text.to_owned()))
    } else {
        let mut doc: Value = serde_json::from_str(text).map_err(|e| corrupt("document", e))?;
        with_seat_counters(kind, &mut doc, row.opt_int("seats")?, row.int("consumed")?);
        (doc, None)
    };
    // Typed rows straight from the aggregated JSON: a group of 100,000 members never becomes
    // 100,000 generic JSON objects on the way.
    #[derive(serde::Deserialize)]
    struct Related {
        id: String,
        kind: Option<String>,
        display: Option<String>,
    }
    let related =
        |col: &str| -> Result<Vec<Related>> { serde_json::from_str(row.text(col)?).map_err(|e| corrupt(col, e)) };
    let members = if load.members {
        Some(
            related("members_json")?
                .into_iter()
                .filter_map(|m| {
                    Some(MemberView {
                        kind: ResourceKind::from_name(m.kind.as_deref()?)?,
                        id: ResourceId::new(m.id),
                        display: m.display,
                    })
                })
                .collect(),
        )
    } else {
        None
    };
    let groups = if load.groups {
        Some(
            related("groups_json")?
                .into_iter()
                .map(|g| GroupView { id: ResourceId::new(g.id), display: g.display })
                .collect(),
        )
    } else {
        None
    };
    Ok(Stored {
        seq: row.int("seq")?,
        id: ResourceId::new(row.text("id")?),
        kind,
        doc,
        doc_text,
        version: row.int("version")?,
        created: sql::parse_time(row.text("created")?)?,
        last_modified: sql::parse_time(row.text("last_modified")?)?,
        members,
        groups,
    })
}

/// The live resource `id`, read on `conn` (inside a write's transaction or not).
pub(crate) async fn fetch_in<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    kind: ResourceKind,
    id: &ResourceId,
    load: Load,
) -> Result<Stored> {
    let sql = format!(
        "SELECT {} FROM resources r WHERE r.tenant_id = ? AND r.kind = {} AND r.id = ? AND r.deleted_at IS NULL",
        select_columns::<B>(load),
        sql::kind_literal(kind)
    );
    let row = B::fetch_optional(conn, &sql, &[Param::Int(tenant.0), Param::Text(id.as_str())]).await?;
    decode(&row.ok_or(StoreError::NotFound)?, load)
}

/// The verified-domain rule inside the transaction: waits for the other writers of the same
/// local part, then fails if one of the names that must come later exists.
async fn check_name_guard<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    name: &Promoted,
    guard: &NameGuard,
) -> Result<()> {
    if let Some(lock) = B::DIALECT.lock_key() {
        let key = format!("{}:{}", tenant.0, guard.key);
        B::execute(&mut *conn, lock, &[Param::Text(&key)]).await?;
    }
    if guard.absent.is_empty() {
        return Ok(());
    }
    let folded: Vec<String> = guard.absent.iter().map(|n| sql::fold(n)).collect();
    let sql = format!(
        "SELECT r.user_name FROM {} CROSS JOIN resources r WHERE r.tenant_id = ? AND r.kind = 'User' \
         AND r.deleted_at IS NULL AND r.user_name_fold = j.value",
        B::DIALECT.text_list("j")
    );
    let list = id_list(&folded)?;
    let taken = B::fetch_optional(conn, &sql, &[Param::Text(&list), Param::Int(tenant.0)]).await?;
    match taken {
        Some(row) => Err(StoreError::NameReserved {
            name: name.user_name.clone().unwrap_or_default(),
            existing: row.text(0)?.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Index rows one INSERT writes at most: 4 parameters each, well under SQLite's 32,766.
pub(crate) const VALUES_PER_STATEMENT: usize = 500;

/// Rewrites the `resource_values` rows of one resource from its document (`fresh`: a resource
/// just inserted, which has none yet). Only filters read these rows, and no write runs one, so
/// a write of a batch leaves them for its savepoint's release (`execute_unread`).
async fn index_values<B: Backend>(conn: &mut Conn<B>, seq: i64, doc: &Value, fresh: bool) -> Result<()> {
    if !fresh {
        let sql = "DELETE FROM resource_values WHERE resource_seq = ?";
        group_commit::execute_unread::<B>(&mut *conn, sql, &[Param::Int(seq)]).await?;
    }
    let mut rows = Vec::new();
    value_rows(seq, doc, &mut rows);
    insert_value_rows::<B>(conn, &rows).await
}

/// The `resource_values` rows of a resource's document: (seq, attribute, folded value,
/// reversed), added to `out`.
fn value_rows(seq: i64, doc: &Value, out: &mut Vec<(i64, String, String, String)>) {
    out.extend(sql::indexed_values(doc).into_iter().map(|(attr, value)| {
        let rev = sql::reversed(&value);
        (seq, attr, value, rev)
    }));
}

/// Inserts `resource_values` rows, many per statement: each statement is a round trip to the
/// database (or rides on the release of a batch's write, `execute_unread`).
async fn insert_value_rows<B: Backend>(conn: &mut Conn<B>, rows: &[(i64, String, String, String)]) -> Result<()> {
    for chunk in rows.chunks(VALUES_PER_STATEMENT) {
        let mut sql = String::from("INSERT INTO resource_values (resource_seq, attr, value_fold, value_rev) VALUES ");
        let mut params = Vec::with_capacity(chunk.len() * 4);
        for (i, (seq, attr, value, rev)) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(?, ?, ?, ?)" } else { ", (?, ?, ?, ?)" });
            params.extend([Param::Int(*seq), Param::Text(attr), Param::Text(value), Param::Text(rev)]);
        }
        group_commit::execute_unread::<B>(&mut *conn, &sql, &params).await?;
    }
    Ok(())
}

/// Inserts one resource with its index rows, seats and members, inside the caller's
/// transaction; the caller records it in the audit log.
async fn insert_in<B: Backend>(conn: &mut Conn<B>, tenant: TenantId, new: &NewResource, load: Load) -> Result<Stored> {
    let row = insert_row::<B>(conn, tenant, new).await?;
    index_values::<B>(conn, row.seq, &new.doc, true).await?;
    if new.kind == ResourceKind::User {
        seats::take_new_seats::<B>(conn, tenant, row.seq, &sql::license_ids(&new.doc), false).await?;
    }
    if !new.members.is_empty() {
        members::change_members::<B>(conn, tenant, row.seq, &MemberChange::Add(new.members.clone())).await?;
        if load.members {
            // The members' displays come from their own rows.
            return fetch_in::<B>(conn, tenant, new.kind, &new.id, load).await;
        }
    }
    Ok(row.stored(new, load))
}

/// A resource's own row, just inserted.
struct InsertedRow {
    seq: i64,
    created: OffsetDateTime,
    seats: Option<i64>,
}

impl InsertedRow {
    /// The resource as stored: everything is known, no need to read the row back.
    fn stored(&self, new: &NewResource, load: Load) -> Stored {
        let mut doc = new.doc.clone();
        with_seat_counters(new.kind, &mut doc, self.seats, 0);
        Stored {
            seq: self.seq,
            id: new.id.clone(),
            kind: new.kind,
            doc,
            doc_text: None,
            version: 1,
            created: self.created,
            last_modified: self.created,
            members: load.members.then(Vec::new),
            groups: load.groups.then(Vec::new),
        }
    }
}

/// Inserts a resource's own row, after its verified-domain rule (`NameGuard`).
async fn insert_row<B: Backend>(conn: &mut Conn<B>, tenant: TenantId, new: &NewResource) -> Result<InsertedRow> {
    let promoted = Promoted::of(new.kind, &new.doc);
    if let Some(guard) = &new.name_guard {
        check_name_guard::<B>(conn, tenant, &promoted, guard).await?;
    }
    let created = sql::parse_time(&now())?;
    let ts = sql::format_time(created);
    let sql = format!("{INSERT_ROW}{} RETURNING seq", row_placeholders::<B>());
    let doc = serde_json::to_string(&new.doc).unwrap_or_default();
    let params = row_params(tenant, new, &promoted, &doc, &ts);
    let row = B::fetch_one(&mut *conn, &sql, &params).await.map_err(|e| classify(e, new.kind, &promoted))?;
    let seq = row.int(0)?;
    Ok(InsertedRow { seq, created, seats: promoted.seats })
}

/// Inserts the own rows of `news`, a hundred per statement; in the order of `news`. Their
/// verified-domain rules are the caller's to check (`check_name_guard`).
async fn insert_rows<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    news: &[NewResource],
) -> Result<Vec<InsertedRow>> {
    const ROWS: usize = 100;
    let created = sql::parse_time(&now())?;
    let ts = sql::format_time(created);
    let promoted: Vec<Promoted> = news.iter().map(|n| Promoted::of(n.kind, &n.doc)).collect();
    let docs: Vec<String> = news.iter().map(|n| serde_json::to_string(&n.doc).unwrap_or_default()).collect();
    let mut seqs: HashMap<String, i64> = HashMap::with_capacity(news.len());
    let placeholders = row_placeholders::<B>();
    for (n, chunk) in news.chunks(ROWS).enumerate() {
        let mut sql = String::from(INSERT_ROW);
        let mut params = Vec::with_capacity(chunk.len() * 17);
        for (i, new) in chunk.iter().enumerate() {
            let at = n * ROWS + i;
            sql.push_str(if i == 0 { "" } else { ", " });
            sql.push_str(&placeholders);
            params.extend(row_params(tenant, new, &promoted[at], &docs[at], &ts));
        }
        sql.push_str(" RETURNING id, seq");
        for row in B::fetch_all(&mut *conn, &sql, &params).await? {
            seqs.insert(row.text(0)?.to_owned(), row.int(1)?);
        }
    }
    news.iter()
        .zip(promoted)
        .map(|(new, promoted)| match seqs.get(new.id.as_str()) {
            Some(&seq) => Ok(InsertedRow { seq, created, seats: promoted.seats }),
            None => Err(corrupt("inserted resource", new.id.as_str())),
        })
        .collect()
}

/// The columns of a resource's own row, as `row_params` binds them.
const INSERT_ROW: &str = "INSERT INTO resources (id, tenant_id, kind, user_name, user_name_fold, user_name_rev, \
     part_number, part_number_fold, external_id, display_name, display_name_fold, seats, doc, doc_fold, \
     password_hash, version, created, last_modified) VALUES ";

/// One row's placeholders after `INSERT_ROW`.
fn row_placeholders<B: Backend>() -> String {
    format!("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {0}, {0}, ?, 1, ?, ?)", B::DIALECT.doc_param())
}

/// A new resource's own row as `INSERT_ROW` binds it; `doc` is its document as text and `ts`
/// its creation time.
fn row_params<'a>(
    tenant: TenantId,
    new: &'a NewResource,
    promoted: &'a Promoted,
    doc: &'a str,
    ts: &'a str,
) -> [Param<'a>; 17] {
    let [user_name, user_name_fold, user_name_rev, part_number, part_number_fold, external_id, display_name, display_name_fold, seats] =
        promoted_params(promoted);
    [
        Param::Text(new.id.as_str()),
        Param::Int(tenant.0),
        Param::Text(new.kind.name()),
        user_name,
        user_name_fold,
        user_name_rev,
        part_number,
        part_number_fold,
        external_id,
        display_name,
        display_name_fold,
        seats,
        Param::Text(doc),
        Param::Text(&promoted.doc_fold),
        Param::OptText(new.password_hash.as_deref()),
        Param::Text(ts),
        Param::Text(ts),
    ]
}

/// Inserts a resource and its audit line, inside the caller's write (`SqlStore::write`).
pub(crate) async fn insert<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    new: &NewResource,
    load: Load,
) -> Result<Stored> {
    let stored = insert_in::<B>(conn, tenant, new, load).await?;
    audit::record::<B>(conn, tenant, new.kind, new.id.as_str(), &new.audit).await?;
    Ok(stored)
}

/// Inserts many resources in one transaction; a failing one is undone alone.
pub(crate) async fn insert_many<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    news: &[NewResource],
    load: Load,
) -> Result<Vec<Result<Stored>>> {
    let _turn = store.write_turn().await;
    // Most batches have no failing resource: they go in without savepoints, which cost two
    // statements per resource. When one fails, the batch starts again with a savepoint per
    // resource.
    let mut tx = store.begin_write().await?;
    count_inserts_later::<B>(&mut tx).await?;
    if let Some(out) = insert_batch::<B>(&mut tx, tenant, news, load).await? {
        audit::record_many::<B>(&mut tx, tenant, news.iter().map(|n| (n.kind.name(), n.id.as_str(), &n.audit))).await?;
        add_counts::<B>(&mut tx, tenant, news.iter().map(|n| n.kind)).await?;
        tx.commit().await?;
        return Ok(out);
    }
    tx.rollback().await?;
    let mut tx = store.begin_write().await?;
    count_inserts_later::<B>(&mut tx).await?;
    let mut out = Vec::with_capacity(news.len());
    for new in news {
        // A savepoint per resource: one that fails is undone alone.
        let mut one = sqlx::Connection::begin(&mut *tx).await?;
        match insert_in::<B>(&mut one, tenant, new, load).await {
            Ok(stored) => {
                one.commit().await?;
                out.push(Ok(stored));
            }
            Err(e) if retryable(&e) => return Err(e),
            Err(e) => {
                one.rollback().await?;
                out.push(Err(e));
            }
        }
    }
    let inserted =
        news.iter().zip(&out).filter(|(_, r)| r.is_ok()).map(|(n, _)| (n.kind.name(), n.id.as_str(), &n.audit));
    audit::record_many::<B>(&mut tx, tenant, inserted).await?;
    let kinds = news.iter().zip(&out).filter(|(_, r)| r.is_ok()).map(|(n, _)| n.kind);
    add_counts::<B>(&mut tx, tenant, kinds).await?;
    tx.commit().await?;
    Ok(out)
}

/// Inserts all of `news`: when none is a License or has members, their own rows a hundred per
/// statement, their index rows in a few more, and one guarded UPDATE per License for all its
/// new holders with their seat rows in a few more (one UPDATE per holder would make PostgreSQL
/// step over every version of the License's row the transaction made before). `None` when
/// one of them fails: the caller rolls back and inserts them one by one, to give each its own
/// answer.
async fn insert_batch<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    news: &[NewResource],
    load: Load,
) -> Result<Option<Vec<Result<Stored>>>> {
    // A License the batch creates is not there for the users before it, nor a group's member
    // created after it: such a batch goes one by one, in order.
    if news.iter().any(|n| n.kind == ResourceKind::License || !n.members.is_empty()) {
        let mut out = Vec::with_capacity(news.len());
        for new in news {
            match insert_in::<B>(conn, tenant, new, load).await {
                Ok(stored) => out.push(Ok(stored)),
                Err(e) if retryable(&e) => return Err(e),
                Err(_) => return Ok(None),
            }
        }
        return Ok(Some(out));
    }
    let rows = match insert_rows::<B>(conn, tenant, news).await {
        Ok(rows) => rows,
        Err(e) if retryable(&e) => return Err(e),
        Err(_) => return Ok(None),
    };
    // Each name's rule sees the whole batch: two names of it that exclude each other both fail
    // here, and one by one the first goes in.
    for new in news {
        if let Some(guard) = &new.name_guard {
            match check_name_guard::<B>(conn, tenant, &Promoted::of(new.kind, &new.doc), guard).await {
                Ok(()) => {}
                Err(e) if retryable(&e) => return Err(e),
                Err(_) => return Ok(None),
            }
        }
    }
    let (mut values, mut licenses) = (Vec::new(), Vec::new());
    for (new, row) in news.iter().zip(&rows) {
        value_rows(row.seq, &new.doc, &mut values);
        if new.kind == ResourceKind::User {
            licenses.push((row.seq, sql::license_ids(&new.doc)));
        }
    }
    insert_value_rows::<B>(conn, &values).await?;
    if !seats::take_new_seats_many::<B>(conn, tenant, &licenses).await? {
        return Ok(None);
    }
    Ok(Some(news.iter().zip(&rows).map(|(new, row)| Ok(row.stored(new, load))).collect()))
}

/// Where the database counts a batch's inserts cheaper at once (see `Dialect`), tells the
/// counters' trigger to leave this transaction's inserts to `add_counts`.
async fn count_inserts_later<B: Backend>(tx: &mut Conn<B>) -> Result<()> {
    if let Some((later, _)) = B::DIALECT.inserts_counted_by_writer() {
        B::execute(&mut *tx, later, &[]).await?;
    }
    Ok(())
}

/// Adds the live resources a transaction inserted after `count_inserts_later`, one statement
/// per kind, just before its commit.
async fn add_counts<B: Backend>(
    tx: &mut Conn<B>,
    tenant: TenantId,
    kinds: impl Iterator<Item = ResourceKind>,
) -> Result<()> {
    let Some((_, add)) = B::DIALECT.inserts_counted_by_writer() else {
        return Ok(());
    };
    let mut counts: Vec<(ResourceKind, i64)> = Vec::new();
    for kind in kinds {
        match counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind, 1)),
        }
    }
    for (kind, n) in counts {
        B::execute(&mut *tx, add, &[Param::Int(tenant.0), Param::Text(kind.name()), Param::Int(n)]).await?;
    }
    Ok(())
}

/// Replaces a resource's document if its version still matches, inside the caller's write.
pub(crate) async fn update<B: Backend>(
    tx: &mut Conn<B>,
    tenant: TenantId,
    kind: ResourceKind,
    id: &ResourceId,
    update: &Update,
    load: Load,
) -> Result<Stored> {
    let promoted = Promoted::of(kind, &update.doc);
    if let Some(guard) = &update.name_guard {
        check_name_guard::<B>(&mut *tx, tenant, &promoted, guard).await?;
    }
    // Only the promoted columns that change are set: the database then leaves the indexes on
    // the others alone. The row matches `previous` whenever the version check below passes.
    let before = update.previous.as_ref().map(|doc| Promoted::columns(kind, doc));
    let old = before.as_ref().map(promoted_params);
    let (mut set, mut params) = (String::new(), Vec::with_capacity(18));
    for (i, (column, param)) in PROMOTED_COLUMNS.iter().zip(promoted_params(&promoted)).enumerate() {
        if old.is_none_or(|old| old[i] != param) {
            set.push_str(column);
            set.push_str(" = ?, ");
            params.push(param);
        }
    }
    // The row comes back as a read selects it, saving a statement, unless the members it
    // lists are about to change.
    let returned = Load { members: load.members && update.members.is_empty(), ..load };
    // A License's seats may not drop below the seats assigned (checked in the statement, so a
    // seat taken meanwhile is counted).
    let sql = format!(
        "UPDATE resources SET {set}doc = {0}, doc_fold = {0}, \
         password_hash = COALESCE(?, password_hash), \
         version = version + 1, last_modified = ? \
         WHERE tenant_id = ? AND kind = {1} AND id = ? AND deleted_at IS NULL AND version = ? \
         AND (? IS NULL OR consumed <= ?) \
         RETURNING {2}",
        B::DIALECT.doc_param(),
        sql::kind_literal(kind),
        columns_of::<B>("resources", returned)
    );
    let doc = serde_json::to_string(&update.doc).unwrap_or_default();
    let modified = now();
    params.extend([
        Param::Text(&doc),
        Param::Text(&promoted.doc_fold),
        Param::OptText(update.password_hash.as_deref()),
        Param::Text(&modified),
        Param::Int(tenant.0),
        Param::Text(id.as_str()),
        Param::Int(update.expected_version),
        Param::OptInt(promoted.seats),
        Param::OptInt(promoted.seats),
    ]);
    let row = B::fetch_optional(&mut *tx, &sql, &params).await.map_err(|e| classify(e, kind, &promoted))?;
    let Some(row) = row else {
        let current = fetch_in::<B>(&mut *tx, tenant, kind, id, Load::default()).await?;
        if current.version != update.expected_version {
            return Err(StoreError::VersionMismatch { current: current.version });
        }
        return Err(StoreError::SeatsInUse {
            part_number: promoted.unique_name().to_owned(),
            consumed: current.doc.get("consumed").and_then(Value::as_i64).unwrap_or_default(),
            seats: promoted.seats.unwrap_or_default(),
        });
    };
    let stored = decode(&row, returned)?;
    let seq = stored.seq;
    let previous = update.previous.as_ref();
    if previous.is_none_or(|old| sql::indexed_values(old) != sql::indexed_values(&update.doc)) {
        index_values::<B>(&mut *tx, seq, &update.doc, false).await?;
    }
    let licenses = sql::license_ids(&update.doc);
    if kind == ResourceKind::User && previous.is_none_or(|old| sql::license_ids(old) != licenses) {
        seats::release_seats::<B>(&mut *tx, seq, &licenses).await?;
        seats::take_seats::<B>(&mut *tx, tenant, seq, &licenses, false).await?;
    }
    for change in &update.members {
        members::change_members::<B>(&mut *tx, tenant, seq, change).await?;
    }
    // Last, as the audit line holds the tenant's turn until the commit (see `audit`).
    audit::record::<B>(&mut *tx, tenant, kind, id.as_str(), &update.audit).await?;
    if returned != load {
        return fetch_in::<B>(&mut *tx, tenant, kind, id, load).await;
    }
    Ok(stored)
}

/// Deletes a resource if its version still matches, inside the caller's write.
pub(crate) async fn delete<B: Backend>(
    tx: &mut Conn<B>,
    tenant: TenantId,
    kind: ResourceKind,
    id: &ResourceId,
    expected_version: Option<i64>,
    audit: &AuditEntry,
) -> Result<()> {
    // Soft-deleted users stay restorable but hold no name and no memberships; groups are
    // removed with their member rows.
    let row = match kind {
        ResourceKind::User => {
            let sql = "UPDATE resources SET deleted_at = ?, version = version + 1 WHERE tenant_id = ? \
                       AND kind = 'User' AND id = ? AND deleted_at IS NULL AND (? IS NULL OR version = ?) \
                       RETURNING seq";
            let deleted = now();
            let params = [
                Param::Text(&deleted),
                Param::Int(tenant.0),
                Param::Text(id.as_str()),
                Param::OptInt(expected_version),
                Param::OptInt(expected_version),
            ];
            B::fetch_optional(&mut *tx, sql, &params).await?
        }
        // A License goes only once no user holds a seat of it.
        ResourceKind::Group | ResourceKind::License => {
            let sql = format!(
                "DELETE FROM resources WHERE tenant_id = ? AND kind = {} AND id = ? \
                 AND deleted_at IS NULL AND (? IS NULL OR version = ?) AND consumed = 0 RETURNING seq",
                sql::kind_literal(kind)
            );
            let params = [
                Param::Int(tenant.0),
                Param::Text(id.as_str()),
                Param::OptInt(expected_version),
                Param::OptInt(expected_version),
            ];
            B::fetch_optional(&mut *tx, &sql, &params).await?
        }
    };
    let Some(row) = row else {
        let current = fetch_in::<B>(&mut *tx, tenant, kind, id, Load::default()).await?;
        let consumed = current.doc.get("consumed").and_then(Value::as_i64).unwrap_or_default();
        if kind == ResourceKind::License && consumed > 0 && expected_version.is_none_or(|v| v == current.version) {
            return Err(StoreError::LicenseInUse {
                part_number: current.doc.get("partNumber").and_then(Value::as_str).unwrap_or_default().to_owned(),
                consumed,
            });
        }
        return Err(StoreError::VersionMismatch { current: current.version });
    };
    let seq = row.int(0)?;
    if kind == ResourceKind::User {
        seats::release_seats::<B>(&mut *tx, seq, &[]).await?;
    }
    B::execute(
        &mut *tx,
        "DELETE FROM members WHERE member_seq = ? OR group_seq = ?",
        &[Param::Int(seq), Param::Int(seq)],
    )
    .await?;
    audit::record::<B>(&mut *tx, tenant, kind, id.as_str(), audit).await?;
    Ok(())
}

/// The statement reading how many resources of `kind` the tenant (the one parameter) holds in
/// `state` (`live` or `deleted`), from the counters the triggers keep (`resource_counts`).
fn counted(state: &str, kind: ResourceKind) -> String {
    format!(
        "SELECT CAST(COALESCE(sum(c.{state}), 0) AS BIGINT) AS n FROM resource_counts c \
         WHERE c.tenant_id = ? AND c.kind = {}",
        sql::kind_literal(kind)
    )
}

/// One page of the live resources of `kind` matching the query.
pub(crate) async fn list<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    kind: ResourceKind,
    query: &ListQuery,
    load: Load,
) -> Result<Page> {
    let mut filter = Fragment::default();
    if let Some(f) = &query.filter {
        filter.sql.push_str(" AND ");
        sql::compile_filter(B::DIALECT, kind, f, &mut filter)?;
    }
    let base = format!(
        "FROM resources r WHERE r.tenant_id = ? AND r.kind = {} AND r.deleted_at IS NULL{}",
        sql::kind_literal(kind),
        filter.sql
    );
    let page_base = match query.after_seq {
        Some(after) => format!("{base} AND r.seq > {after}"),
        None => base.clone(),
    };
    // The tenant, the filter's values, then the page's LIMIT and OFFSET.
    let mut params = Vec::with_capacity(filter.binds.len() + 3);
    params.push(Param::Int(tenant.0));
    params.extend(filter.binds.iter().map(Bind::param));
    let count_params = params.len();
    let mut conn = store.pool.acquire().await?;
    let count_sql = match query.filter {
        None => counted("live", kind),
        Some(_) => format!("SELECT count(*) AS n {base}"),
    };
    if query.count == 0 {
        let total = B::fetch_one(&mut conn, &count_sql, &params).await?.int("n")?;
        return Ok(Page { total: total as u64, items: Vec::new(), cut: false });
    }
    // r.seq, immutable, breaks ties: pages never repeat or skip a resource.
    let order = match &query.sort {
        Some((path, true)) => format!("{} ASC NULLS LAST, r.seq", sql::sort_expr(B::DIALECT, kind, path)?),
        Some((path, false)) => format!("{} DESC NULLS FIRST, r.seq", sql::sort_expr(B::DIALECT, kind, path)?),
        None => "r.seq".to_owned(),
    };
    let budget = query.member_budget.filter(|_| load.members);
    // With a member budget the page is chosen by member counts first, and only the groups that
    // fit have their members read.
    let columns = match budget {
        Some(_) => format!(
            "{}, (SELECT count(*) FROM members m WHERE m.group_seq = r.seq) AS member_count",
            select_columns::<B>(Load { members: false, ..load })
        ),
        None => select_columns::<B>(load).to_owned(),
    };
    // Rows an OFFSET skips are still produced: PostgreSQL projects each one (its document as
    // text, its groups) before dropping it. Past the first page, the page's rows are chosen by
    // their sequence numbers alone, and only they are read whole.
    let page_sql = if query.start_index > 1 {
        format!(
            "SELECT {columns} FROM resources r WHERE r.seq IN \
             (SELECT r.seq {page_base} ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}"
        )
    } else {
        format!("SELECT {columns} {page_base} ORDER BY {order} LIMIT ? OFFSET ?")
    };
    params.push(Param::Int(query.count as i64));
    params.push(Param::Int(query.start_index.saturating_sub(1) as i64));
    let rows = B::fetch_all(&mut conn, &page_sql, &params).await?;
    let (items, cut) = match budget {
        None => (rows.iter().map(|r| decode(r, load)).collect::<Result<Vec<_>>>()?, false),
        Some(budget) => {
            let mut rendered = 0u64;
            let mut fit = 0;
            for row in &rows {
                let n = u64::try_from(row.int("member_count")?).unwrap_or(0);
                if fit > 0 && rendered + n > budget {
                    break;
                }
                rendered += n;
                fit += 1;
            }
            let without_members = Load { members: false, ..load };
            let mut items = rows[..fit].iter().map(|r| decode(r, without_members)).collect::<Result<Vec<_>>>()?;
            // A first group alone past the budget is left to be streamed: its members stay
            // `None`, and the caller reads them a chunk at a time.
            if !items.is_empty() && rendered <= budget {
                let members_only = Load { members: true, groups: false, doc_text: false };
                let seqs: Vec<String> = items.iter().map(|i| i.seq.to_string()).collect();
                // The sequence numbers come from the database: integers, safe inline.
                let members_sql = format!(
                    "SELECT {} FROM resources r WHERE r.seq IN ({})",
                    select_columns::<B>(members_only),
                    seqs.join(", ")
                );
                let loaded = B::fetch_all(&mut conn, &members_sql, &[]).await?;
                let mut by_seq: HashMap<i64, Vec<MemberView>> = loaded
                    .iter()
                    .map(|r| decode(r, members_only).map(|s| (s.seq, s.members.unwrap_or_default())))
                    .collect::<Result<_>>()?;
                for item in &mut items {
                    item.members = Some(by_seq.remove(&item.seq).unwrap_or_default());
                }
            }
            (items, fit < rows.len())
        }
    };
    // A first page with room to spare holds every match: no need to count them (the common
    // case of an identity provider's `userName eq` lookup).
    let complete = !cut && query.start_index <= 1 && query.after_seq.is_none() && (items.len() as u64) < query.count;
    let total = if complete {
        items.len() as u64
    } else {
        B::fetch_one(&mut conn, &count_sql, &params[..count_params]).await?.int("n")? as u64
    };
    Ok(Page { total, items, cut })
}

/// Soft-deleted users, oldest deletion first, with when each was deleted.
pub(crate) async fn list_deleted<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    start_index: u64,
    count: u64,
) -> Result<(u64, Vec<(Stored, OffsetDateTime)>)> {
    let base = "FROM resources r WHERE r.tenant_id = ? AND r.kind = 'User' AND r.deleted_at IS NOT NULL";
    let mut conn = store.pool.acquire().await?;
    let total =
        B::fetch_one(&mut conn, &counted("deleted", ResourceKind::User), &[Param::Int(tenant.0)]).await?.int("n")?;
    let sql = format!(
        "SELECT {}, r.deleted_at {base} ORDER BY r.deleted_at, r.seq LIMIT ? OFFSET ?",
        select_columns::<B>(Load::default())
    );
    let params = [Param::Int(tenant.0), Param::Int(count as i64), Param::Int(start_index.saturating_sub(1) as i64)];
    let rows = B::fetch_all(&mut conn, &sql, &params).await?;
    let items = rows
        .iter()
        .map(|row| Ok((decode(row, Load::default())?, sql::parse_time(row.text("deleted_at")?)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok((total as u64, items))
}

/// Brings a soft-deleted user back, taking its seats again.
pub(crate) async fn restore<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    id: &ResourceId,
    audit: &AuditEntry,
) -> Result<Stored> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let sql = format!(
        "SELECT seq, user_name, {} FROM resources r WHERE tenant_id = ? AND kind = 'User' AND id = ? \
         AND deleted_at IS NOT NULL",
        B::DIALECT.doc_column("r")
    );
    let row = B::fetch_optional(&mut tx, &sql, &[Param::Int(tenant.0), Param::Text(id.as_str())])
        .await?
        .ok_or(StoreError::NotFound)?;
    let promoted = Promoted { user_name: row.opt_text("user_name")?.map(str::to_owned), ..Promoted::default() };
    let seq = row.int("seq")?;
    // The unique index re-checks the name: it may have been taken meanwhile. The row must still
    // be deleted when this statement gets it: a restore or purge that ran meanwhile (in another
    // process) leaves nothing to restore, so a second restore is a 404, never a second set of
    // seats or a dangling reference.
    let restored_at = now();
    let restored = B::execute(
        &mut tx,
        "UPDATE resources SET deleted_at = NULL, version = version + 1, last_modified = ? \
         WHERE tenant_id = ? AND kind = 'User' AND id = ? AND deleted_at IS NOT NULL",
        &[Param::Text(&restored_at), Param::Int(tenant.0), Param::Text(id.as_str())],
    )
    .await
    .map_err(|e| classify(e, ResourceKind::User, &promoted))?;
    touched(restored)?;
    // Seats are taken again; licenses deleted meanwhile are dropped from the user.
    let mut doc: Value = serde_json::from_str(row.text("doc")?).map_err(|e| corrupt("document", e))?;
    let gone = seats::take_seats::<B>(&mut tx, tenant, seq, &sql::license_ids(&doc), true).await?;
    if !gone.is_empty() {
        sql::drop_licenses(&mut doc, &gone);
        let fold = sql::folded_document(ResourceKind::User, &doc).to_string();
        let doc = doc.to_string();
        let sql = format!("UPDATE resources SET doc = {0}, doc_fold = {0} WHERE seq = ?", B::DIALECT.doc_param());
        B::execute(&mut tx, &sql, &[Param::Text(&doc), Param::Text(&fold), Param::Int(seq)]).await?;
    }
    audit::record::<B>(&mut tx, tenant, ResourceKind::User, id.as_str(), audit).await?;
    let stored = fetch_in::<B>(&mut tx, tenant, ResourceKind::User, id, Load::default()).await?;
    tx.commit().await?;
    Ok(stored)
}

/// Removes a soft-deleted user for good.
pub(crate) async fn purge<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    id: &ResourceId,
    audit: &AuditEntry,
) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let done = B::execute(
        &mut tx,
        "DELETE FROM resources WHERE tenant_id = ? AND kind = 'User' AND id = ? AND deleted_at IS NOT NULL",
        &[Param::Int(tenant.0), Param::Text(id.as_str())],
    )
    .await?;
    touched(done)?;
    audit::record::<B>(&mut tx, tenant, ResourceKind::User, id.as_str(), audit).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes, in every tenant, users deleted before `before`, each recorded as purged by `actor`.
pub(crate) async fn purge_deleted_before<B: Backend>(
    store: &SqlStore<B>,
    before: OffsetDateTime,
    actor: &Actor,
) -> Result<u64> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let before = sql::format_time(before);
    audit::record_purges::<B>(&mut tx, &before, actor).await?;
    let sql = "DELETE FROM resources WHERE deleted_at IS NOT NULL AND deleted_at < ?";
    let purged = B::execute(&mut tx, sql, &[Param::Text(&before)]).await?;
    tx.commit().await?;
    Ok(purged)
}

/// The live users holding any of these userNames (compared case-folded), selecting `columns`.
async fn users_named<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    names: &[String],
    columns: &str,
) -> Result<Vec<B::Row>> {
    let folded: Vec<String> = names.iter().map(|n| sql::fold(n)).collect();
    let sql = format!(
        "SELECT {columns} FROM {} CROSS JOIN resources r WHERE r.tenant_id = ? AND r.kind = 'User' \
         AND r.deleted_at IS NULL AND r.user_name_fold = j.value",
        B::DIALECT.text_list("j")
    );
    let list = id_list(&folded)?;
    let mut conn = store.pool.acquire().await?;
    Ok(B::fetch_all(&mut conn, &sql, &[Param::Text(&list), Param::Int(tenant.0)]).await?)
}

/// The live users holding these userNames, without derived parts.
pub(crate) async fn users_by_name<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    names: &[String],
) -> Result<Vec<Stored>> {
    let rows = users_named(store, tenant, names, select_columns::<B>(Load::default())).await?;
    rows.iter().map(|r| decode(r, Load::default())).collect()
}

/// The live users holding these userNames: seq, id, userName and version, no document.
pub(crate) async fn user_heads<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    names: &[String],
) -> Result<Vec<UserHead>> {
    let rows = users_named(store, tenant, names, "r.seq, r.id, r.user_name, r.version").await?;
    rows.iter()
        .map(|r| {
            Ok(UserHead { seq: r.int(0)?, id: r.text(1)?.into(), user_name: r.text(2)?.to_owned(), version: r.int(3)? })
        })
        .collect()
}

/// Which of these userNames a live user of the tenant holds.
pub(crate) async fn user_names_taken<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    names: &[String],
) -> Result<Vec<String>> {
    let rows = users_named(store, tenant, names, "r.user_name").await?;
    rows.iter().map(|r| Ok(r.text(0)?.to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_load_gets_its_own_kept_column_list_on_each_backend() {
        fn each<B: Backend>() {
            let loads = [(false, false), (true, false), (false, true), (true, true)].map(|(members, groups)| Load {
                members,
                groups,
                doc_text: false,
            });
            for _ in 0..2 {
                for load in loads {
                    assert_eq!(select_columns::<B>(load), columns_of::<B>("r", load), "{load:?}");
                    let as_text = Load { doc_text: true, ..load };
                    assert!(std::ptr::eq(select_columns::<B>(load), select_columns::<B>(as_text)));
                }
            }
        }
        each::<sqlx::Sqlite>();
        each::<sqlx::Postgres>();
    }
}
