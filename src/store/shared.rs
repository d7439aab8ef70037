//! The one implementation of `Store` over SQL, expanded once per database by `sql_store!`.
//! Every query is written here once; what the databases spell differently comes from `Dialect`.
//!
//! A macro rather than generic functions: sqlx's per-database types would otherwise need a
//! where-clause of a dozen bounds on every function, and the logic is identical.

/// Implements `Store` for `$store` (a struct with `pool: sqlx::Pool<$db>`), using `$dialect`.
#[macro_export]
#[doc(hidden)]
macro_rules! sql_store {
    ($store:ident, $db:ty, $dialect:expr) => {
        mod generated {
            use async_trait::async_trait;
            use serde_json::Value;
            use sqlx::Row;
            use time::OffsetDateTime;

            use super::$store;
            use $crate::scim::schema::ResourceKind;
            use $crate::store::sql::{self, Bind, Dialect, Fragment, Promoted};
            use $crate::store::{
                GroupView, ListQuery, Load, MemberChange, MemberRef, NameGuard, TenantInfo, MemberView, NewResource, NewToken, Page, Result, Scope,
                Store, StoreError, Stored, TenantId, TokenRecord, TokenState, Update,
            };

            type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;
            type Query<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>;

            /// How often a write is retried when the database reports a conflict it resolved by
            /// aborting us (a deadlock, a serialization failure, a busy SQLite file).
            const WRITE_ATTEMPTS: usize = 5;

            fn d() -> &'static dyn Dialect {
                &$dialect
            }

            fn q(sql: &str) -> String {
                d().numbered(sql).into_owned()
            }

            /// Now, to the millisecond, as every timestamp is rendered: a client that filters on
            /// a `meta.lastModified` it read finds the resource it read it from.
            fn now() -> String {
                let now = OffsetDateTime::now_utc();
                sql::format_time(now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(now))
            }

            fn retryable(e: &StoreError) -> bool {
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
                Fut: std::future::Future<Output = Result<T>>,
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

            /// Fills `doc_fold` for rows written before the column existed, a batch per
            /// transaction; a no-op once every row has it.
            pub(super) async fn fold_old_documents(conn: &mut Conn) -> Result<()> {
                let select = format!("SELECT r.seq, r.kind, {} FROM resources r WHERE r.doc_fold IS NULL LIMIT 500", d().doc_column());
                let update = q(&format!("UPDATE resources SET doc_fold = {} WHERE seq = ?", d().doc_param()));
                loop {
                    let rows = sqlx::query(&select).fetch_all(&mut *conn).await?;
                    if rows.is_empty() {
                        return Ok(());
                    }
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    for row in rows {
                        let kind: String = row.try_get("kind")?;
                        let kind = ResourceKind::from_name(&kind).ok_or_else(|| StoreError::Corrupt(format!("unknown resource kind {kind:?}")))?;
                        let doc: Value = serde_json::from_str(&row.try_get::<String, _>("doc")?).map_err(|e| corrupt("document", e))?;
                        let seq: i64 = row.try_get("seq")?;
                        sqlx::query(&update).bind(sql::folded_document(kind, &doc).to_string()).bind(seq).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                }
            }

            type Scalar<'q, O> = sqlx::query::QueryScalar<'q, $db, O, <$db as sqlx::Database>::Arguments<'q>>;

            /// Binds the promoted columns, in the order every write lists them.
            fn bind_promoted<'q, O>(query: Scalar<'q, O>, p: &'q Promoted) -> Scalar<'q, O> {
                query
                    .bind(&p.user_name)
                    .bind(&p.user_name_fold)
                    .bind(&p.external_id)
                    .bind(&p.display_name)
                    .bind(&p.display_name_fold)
                    .bind(p.seats)
            }

            fn bind_all<'q>(mut query: Query<'q>, binds: &'q [Bind]) -> Query<'q> {
                for b in binds {
                    query = match b {
                        Bind::Text(s) => query.bind(s.as_str()),
                        Bind::Int(i) => query.bind(*i),
                        Bind::Real(f) => query.bind(*f),
                        Bind::Bool(v) => query.bind(*v),
                    };
                }
                query
            }

            /// The columns every read selects, with the derived parts asked for.
            fn select_columns(load: Load) -> String {
                let mut cols = format!(
                    "r.seq, r.id, r.kind, {}, r.version, r.created, r.last_modified, r.seats, r.consumed",
                    d().doc_column()
                );
                if load.members {
                    let agg = d().json_agg(&[
                        ("id", "m2.id"),
                        ("kind", "m2.kind"),
                        ("display", "COALESCE(m.display, m2.display_name, m2.user_name)"),
                    ]);
                    cols.push_str(&format!(
                        ", (SELECT {agg} FROM members m JOIN resources m2 ON m2.seq = m.member_seq \
                         WHERE m.group_seq = r.seq) AS members_json"
                    ));
                }
                if load.groups {
                    let agg = d().json_agg(&[("id", "g.id"), ("display", "g.display_name")]);
                    cols.push_str(&format!(
                        ", (SELECT {agg} FROM members m JOIN resources g ON g.seq = m.group_seq \
                         WHERE m.member_seq = r.seq) AS groups_json"
                    ));
                }
                cols
            }

            fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
                StoreError::Corrupt(format!("stored {what} is unreadable: {e}"))
            }

            /// A License's seat counters, which live in columns kept exact by every write, put
            /// into its document.
            fn with_seat_counters(kind: ResourceKind, doc: &mut Value, seats: Option<i64>, consumed: i64) {
                if let (ResourceKind::License, Some(seats), Value::Object(o)) = (kind, seats, doc) {
                    o.insert("seats".into(), seats.into());
                    o.insert("consumed".into(), consumed.into());
                    o.insert("available".into(), (seats - consumed).into());
                }
            }

            fn decode(row: &DbRow, load: Load) -> Result<Stored> {
                let kind_name: String = row.try_get("kind")?;
                let kind = ResourceKind::from_name(&kind_name).ok_or_else(|| corrupt("kind", &kind_name))?;
                let doc: String = row.try_get("doc")?;
                let mut doc: Value = serde_json::from_str(&doc).map_err(|e| corrupt("document", e))?;
                with_seat_counters(kind, &mut doc, row.try_get("seats")?, row.try_get("consumed")?);
                // Typed rows straight from the aggregated JSON: a group of 100,000 members
                // never becomes 100,000 generic JSON objects on the way.
                #[derive(serde::Deserialize)]
                struct Row {
                    id: String,
                    kind: Option<String>,
                    display: Option<String>,
                }
                let rows = |col: &str| -> Result<Vec<Row>> {
                    let raw: String = row.try_get(col)?;
                    serde_json::from_str(&raw).map_err(|e| corrupt(col, e))
                };
                let members = if load.members {
                    Some(
                        rows("members_json")?
                            .into_iter()
                            .filter_map(|m| {
                                Some(MemberView { kind: ResourceKind::from_name(m.kind.as_deref()?)?, id: m.id, display: m.display })
                            })
                            .collect(),
                    )
                } else {
                    None
                };
                let groups = if load.groups {
                    Some(rows("groups_json")?.into_iter().map(|g| GroupView { id: g.id, display: g.display }).collect())
                } else {
                    None
                };
                Ok(Stored {
                    seq: row.try_get("seq")?,
                    id: row.try_get("id")?,
                    kind,
                    doc,
                    version: row.try_get("version")?,
                    created: sql::parse_time(&row.try_get::<String, _>("created")?)?,
                    last_modified: sql::parse_time(&row.try_get::<String, _>("last_modified")?)?,
                    members,
                    groups,
                })
            }

            /// Classifies a unique violation: the name in the user_name columns (a User's
            /// userName, a License's partNumber) is the one unique resource attribute.
            fn classify(err: sqlx::Error, kind: ResourceKind, promoted: &Promoted) -> StoreError {
                if let sqlx::Error::Database(db) = &err {
                    let message = db.message();
                    if db.is_unique_violation() && (message.contains("user_name") || message.contains("part_number")) {
                        return StoreError::Conflict {
                            attribute: sql::unique_attribute(kind),
                            value: promoted.user_name.clone().unwrap_or_default(),
                        };
                    }
                }
                StoreError::from(err)
            }

            /// The verified-domain rule inside the transaction: waits for the other writers of
            /// the same local part, then fails if one of the names that must come later exists.
            async fn check_name_guard(conn: &mut Conn, tenant: TenantId, name: &Promoted, guard: &NameGuard) -> Result<()> {
                if let Some(lock) = d().lock_key() {
                    sqlx::query(&q(lock)).bind(format!("{}:{}", tenant.0, guard.key)).execute(&mut *conn).await?;
                }
                if guard.absent.is_empty() {
                    return Ok(());
                }
                let folded: Vec<String> = guard.absent.iter().map(|n| sql::fold(n)).collect();
                let sql = q(&format!(
                    "SELECT r.user_name FROM {} CROSS JOIN resources r WHERE r.tenant_id = ? AND r.kind = 'User' \
                     AND r.deleted_at IS NULL AND r.user_name_fold = j.value",
                    d().text_list("j")
                ));
                let taken: Option<String> =
                    sqlx::query_scalar(&sql).bind(id_list(&folded)?).bind(tenant.0).fetch_optional(&mut *conn).await?;
                match taken {
                    Some(existing) => Err(StoreError::NameReserved { name: name.user_name.clone().unwrap_or_default(), existing }),
                    None => Ok(()),
                }
            }

            /// Gives back the seats the user holds on licenses other than `keep`.
            async fn release_seats(conn: &mut Conn, user_seq: i64, keep: &[String]) -> Result<()> {
                let sql = q(&format!(
                    "DELETE FROM user_licenses WHERE user_seq = ? AND license_seq NOT IN \
                     (SELECT r.seq FROM {} CROSS JOIN resources r WHERE r.id = j.value) RETURNING license_seq",
                    d().text_list("j")
                ));
                let released: Vec<i64> =
                    sqlx::query_scalar(&sql).bind(user_seq).bind(id_list(keep)?).fetch_all(&mut *conn).await?;
                for seq in released {
                    sqlx::query(&q("UPDATE resources SET consumed = consumed - 1 WHERE seq = ?"))
                        .bind(seq)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            /// Takes a seat on each License in `ids` the user does not hold yet. The guarded
            /// UPDATE is the seat check: of two writers racing for the last seat, the database
            /// lets one through and the other finds `consumed < seats` false.
            /// Returns the ids that name no License of the tenant, when `unknown_ok`.
            async fn take_seats(
                conn: &mut Conn,
                tenant: TenantId,
                user_seq: i64,
                ids: &[String],
                unknown_ok: bool,
            ) -> Result<Vec<String>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let held: Vec<String> = sqlx::query_scalar(&q(
                    "SELECT r.id FROM user_licenses u JOIN resources r ON r.seq = u.license_seq WHERE u.user_seq = ?",
                ))
                .bind(user_seq)
                .fetch_all(&mut *conn)
                .await?;
                let mut unknown = Vec::new();
                for id in ids.iter().filter(|id| !held.contains(id)) {
                    let taken: Option<i64> = sqlx::query_scalar(&q(
                        "UPDATE resources SET consumed = consumed + 1 WHERE tenant_id = ? AND kind = 'License' \
                         AND id = ? AND deleted_at IS NULL AND consumed < seats RETURNING seq",
                    ))
                    .bind(tenant.0)
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    if let Some(license_seq) = taken {
                        sqlx::query(&q("INSERT INTO user_licenses (user_seq, license_seq) VALUES (?, ?)"))
                            .bind(user_seq)
                            .bind(license_seq)
                            .execute(&mut *conn)
                            .await?;
                        continue;
                    }
                    let license = sqlx::query(&q(
                        "SELECT user_name, seats FROM resources WHERE tenant_id = ? AND kind = 'License' AND id = ? \
                         AND deleted_at IS NULL",
                    ))
                    .bind(tenant.0)
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    match license {
                        Some(row) => {
                            return Err(StoreError::NoSeats {
                                part_number: row.try_get::<Option<String>, _>("user_name")?.unwrap_or_default(),
                                seats: row.try_get::<Option<i64>, _>("seats")?.unwrap_or_default(),
                            })
                        }
                        None => unknown.push(id.clone()),
                    }
                }
                if unknown.is_empty() || unknown_ok {
                    Ok(unknown)
                } else {
                    Err(StoreError::UnknownLicenses(unknown))
                }
            }

            async fn fetch_in(conn: &mut Conn, tenant: TenantId, kind: ResourceKind, id: &str, load: Load) -> Result<Stored> {
                let sql = q(&format!(
                    "SELECT {} FROM resources r WHERE r.tenant_id = ? AND r.kind = {} AND r.id = ? AND r.deleted_at IS NULL",
                    select_columns(load),
                    sql::kind_literal(kind)
                ));
                let row = sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(&mut *conn).await?;
                decode(&row.ok_or(StoreError::NotFound)?, load)
            }

            fn id_list(ids: &[String]) -> Result<String> {
                serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))
            }

            /// Member ids must name live Users or Groups of the same tenant, other than the group
            /// itself; all unknown ones are reported.
            async fn check_members(conn: &mut Conn, tenant: TenantId, group_seq: i64, ids: &[String]) -> Result<()> {
                if ids.is_empty() {
                    return Ok(());
                }
                let own = sqlx::query_scalar::<_, String>(&q("SELECT id FROM resources WHERE seq = ?"))
                    .bind(group_seq)
                    .fetch_optional(&mut *conn)
                    .await?;
                if let Some(own) = own.filter(|own| ids.contains(own)) {
                    return Err(StoreError::SelfMember(own));
                }
                let sql = q(&format!(
                    "SELECT j.value FROM {} WHERE NOT EXISTS \
                     (SELECT 1 FROM resources r WHERE r.id = j.value AND r.tenant_id = ? AND r.deleted_at IS NULL \
                     AND r.kind IN ({}, {}))",
                    d().text_list("j"),
                    sql::kind_literal(ResourceKind::User),
                    sql::kind_literal(ResourceKind::Group)
                ));
                let unknown: Vec<String> =
                    sqlx::query_scalar(&sql).bind(id_list(ids)?).bind(tenant.0).fetch_all(&mut *conn).await?;
                if unknown.is_empty() {
                    Ok(())
                } else {
                    Err(StoreError::UnknownMembers(unknown))
                }
            }

            /// Applies one membership change to the group `group_seq`: one statement per change,
            /// touching only the named rows.
            async fn change_members(conn: &mut Conn, tenant: TenantId, group_seq: i64, change: &MemberChange) -> Result<()> {
                let (clear, add, remove): (bool, &[MemberRef], &[String]) = match change {
                    MemberChange::Replace(ids) => (true, ids, &[]),
                    MemberChange::Add(ids) => (false, ids, &[]),
                    MemberChange::Remove(ids) => (false, &[], ids),
                };
                if clear {
                    sqlx::query(&q("DELETE FROM members WHERE group_seq = ?")).bind(group_seq).execute(&mut *conn).await?;
                }
                if !add.is_empty() {
                    let ids: Vec<String> = add.iter().map(|m| m.id.clone()).collect();
                    check_members(conn, tenant, group_seq, &ids).await?;
                    let list = serde_json::to_string(add).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    // CROSS JOIN keeps SQLite from scanning the tenant's resources for each id.
                    let sql = q(&format!(
                        "INSERT INTO members (group_seq, member_seq, display) SELECT ?, r.seq, {} FROM {} \
                         CROSS JOIN resources r WHERE r.id = {} AND r.tenant_id = ? AND r.deleted_at IS NULL \
                         ON CONFLICT (group_seq, member_seq) DO UPDATE SET display = COALESCE(excluded.display, members.display)",
                        d().json_scalar("j.value", &["display"]),
                        d().json_list("j"),
                        d().json_scalar("j.value", &["id"]),
                    ));
                    sqlx::query(&sql).bind(group_seq).bind(list).bind(tenant.0).execute(&mut *conn).await?;
                }
                if !remove.is_empty() {
                    // The ids resolve through the id index first, then each row goes by primary key:
                    // the cost does not grow with the size of the group.
                    let sql = q(&format!(
                        "DELETE FROM members WHERE group_seq = ? AND member_seq IN \
                         (SELECT r.seq FROM resources r WHERE r.tenant_id = ? AND r.id IN (SELECT j.value FROM {}))",
                        d().text_list("j")
                    ));
                    sqlx::query(&sql).bind(group_seq).bind(tenant.0).bind(id_list(remove)?).execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Rewrites the `resource_values` rows of one resource from its document (`fresh`: a
            /// resource just inserted, which has none yet).
            async fn index_values(conn: &mut Conn, seq: i64, doc: &Value, fresh: bool) -> Result<()> {
                if !fresh {
                    sqlx::query(&q("DELETE FROM resource_values WHERE resource_seq = ?")).bind(seq).execute(&mut *conn).await?;
                }
                for (attr, value) in sql::indexed_values(doc) {
                    sqlx::query(&q("INSERT INTO resource_values (resource_seq, attr, value_fold) VALUES (?, ?, ?)"))
                        .bind(seq)
                        .bind(attr)
                        .bind(value)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            async fn insert_in(conn: &mut Conn, tenant: TenantId, new: &NewResource, load: Load) -> Result<Stored> {
                let promoted = Promoted::of(new.kind, &new.doc);
                if let Some(guard) = &new.name_guard {
                    check_name_guard(conn, tenant, &promoted, guard).await?;
                }
                let created = sql::parse_time(&now())?;
                let ts = sql::format_time(created);
                let sql = q(&format!(
                    "INSERT INTO resources (id, tenant_id, kind, user_name, user_name_fold, external_id, display_name, \
                     display_name_fold, seats, doc, doc_fold, password_hash, version, created, last_modified) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, {0}, {0}, ?, 1, ?, ?) RETURNING seq",
                    d().doc_param()
                ));
                let seq = sqlx::query_scalar(&sql)
                    .bind(&new.id)
                    .bind(tenant.0)
                    .bind(new.kind.name());
                let seq: i64 = bind_promoted(seq, &promoted)
                    .bind(new.doc.to_string())
                    .bind(&promoted.doc_fold)
                    .bind(&new.password_hash)
                    .bind(&ts)
                    .bind(&ts)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| classify(e, new.kind, &promoted))?;
                index_values(conn, seq, &new.doc, true).await?;
                if new.kind == ResourceKind::User {
                    take_seats(conn, tenant, seq, &sql::license_ids(&new.doc), false).await?;
                }
                if !new.members.is_empty() {
                    change_members(conn, tenant, seq, &MemberChange::Add(new.members.clone())).await?;
                    if load.members {
                        // The members' displays come from their own rows.
                        return fetch_in(conn, tenant, new.kind, &new.id, load).await;
                    }
                }
                // Everything else is known: no need to read the row back.
                let mut doc = new.doc.clone();
                with_seat_counters(new.kind, &mut doc, promoted.seats, 0);
                Ok(Stored {
                    seq,
                    id: new.id.clone(),
                    kind: new.kind,
                    doc,
                    version: 1,
                    created,
                    last_modified: created,
                    members: load.members.then(Vec::new),
                    groups: load.groups.then(Vec::new),
                })
            }

            const TOKEN_SELECT: &str = "SELECT t.id, t.tenant_id, n.name AS tenant_name, t.name, t.secret_hash, t.scopes, \
                 t.created, t.expires, t.last_used, t.revoked, t.rate_limit FROM tokens t JOIN tenants n ON n.id = t.tenant_id";

            fn token_record(row: &DbRow) -> Result<TokenRecord> {
                let time = |col: &str| -> Result<Option<OffsetDateTime>> {
                    let v: Option<String> = row.try_get(col)?;
                    v.as_deref().map(sql::parse_time).transpose()
                };
                Ok(TokenRecord {
                    id: row.try_get("id")?,
                    tenant: TenantId(row.try_get("tenant_id")?),
                    tenant_name: row.try_get("tenant_name")?,
                    name: row.try_get("name")?,
                    secret_hash: row.try_get("secret_hash")?,
                    scopes: parse_scopes(&row.try_get::<String, _>("scopes")?),
                    created: sql::parse_time(&row.try_get::<String, _>("created")?)?,
                    expires: time("expires")?,
                    last_used: time("last_used")?,
                    revoked: time("revoked")?.is_some(),
                    rate_limit: row.try_get::<Option<i64>, _>("rate_limit")?.and_then(|r| u32::try_from(r).ok()),
                })
            }

            /// `NotFound` when a statement that names one row touched none.
            fn touched(rows: u64) -> Result<()> {
                if rows == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            }

            fn parse_scopes(s: &str) -> Vec<Scope> {
                s.split(',').filter_map(Scope::parse).collect()
            }

            impl $store {
                /// Waits for this process's turn to write, where the database wants one writer at
                /// a time: queueing here is first-come first-served, while SQLite's busy handler
                /// sleeps and retries, which turns a short queue into long tail latencies.
                async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
                    match &self.write_lock {
                        Some(lock) => Some(lock.lock().await),
                        None => None,
                    }
                }

                async fn insert_once(&self, tenant: TenantId, new: &NewResource, load: Load) -> Result<Stored> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.pool.begin_with(d().begin_write()).await?;
                    let stored = insert_in(&mut tx, tenant, new, load).await?;
                    tx.commit().await?;
                    Ok(stored)
                }

                async fn update_members_once(
                    &self,
                    tenant: TenantId,
                    id: &str,
                    changes: &[MemberChange],
                    load: Load,
                ) -> Result<Stored> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.pool.begin_with(d().begin_write()).await?;
                    // The row lock this UPDATE takes orders concurrent membership changes.
                    let sql = q(&format!(
                        "UPDATE resources SET version = version + 1, last_modified = ? \
                         WHERE tenant_id = ? AND kind = {} AND id = ? AND deleted_at IS NULL RETURNING seq",
                        sql::kind_literal(ResourceKind::Group)
                    ));
                    let seq: Option<i64> =
                        sqlx::query_scalar(&sql).bind(now()).bind(tenant.0).bind(id).fetch_optional(&mut *tx).await?;
                    let Some(seq) = seq else { return Err(StoreError::NotFound) };
                    for change in changes {
                        change_members(&mut tx, tenant, seq, change).await?;
                    }
                    let stored = fetch_in(&mut tx, tenant, ResourceKind::Group, id, load).await?;
                    tx.commit().await?;
                    Ok(stored)
                }

                async fn update_once(
                    &self,
                    tenant: TenantId,
                    kind: ResourceKind,
                    id: &str,
                    update: &Update,
                    load: Load,
                ) -> Result<Stored> {
                    let promoted = Promoted::of(kind, &update.doc);
                    let _turn = self.write_turn().await;
                    let mut tx = self.pool.begin_with(d().begin_write()).await?;
                    if let Some(guard) = &update.name_guard {
                        check_name_guard(&mut tx, tenant, &promoted, guard).await?;
                    }
                    // A License's seats may not drop below the seats assigned (checked in the
                    // statement, so a seat taken meanwhile is counted).
                    let sql = q(&format!(
                        "UPDATE resources SET user_name = ?, user_name_fold = ?, external_id = ?, display_name = ?, \
                         display_name_fold = ?, seats = ?, doc = {0}, doc_fold = {0}, \
                         password_hash = COALESCE(?, password_hash), \
                         version = version + 1, last_modified = ? \
                         WHERE tenant_id = ? AND kind = {1} AND id = ? AND deleted_at IS NULL AND version = ? \
                         AND (? IS NULL OR consumed <= ?) \
                         RETURNING seq",
                        d().doc_param(),
                        sql::kind_literal(kind)
                    ));
                    let seq: Option<i64> = bind_promoted(sqlx::query_scalar(&sql), &promoted)
                        .bind(update.doc.to_string())
                        .bind(&promoted.doc_fold)
                        .bind(&update.password_hash)
                        .bind(now())
                        .bind(tenant.0)
                        .bind(id)
                        .bind(update.expected_version)
                        .bind(promoted.seats)
                        .bind(promoted.seats)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(|e| classify(e, kind, &promoted))?;
                    let Some(seq) = seq else {
                        let current = fetch_in(&mut tx, tenant, kind, id, Load::default()).await?;
                        if current.version != update.expected_version {
                            return Err(StoreError::VersionMismatch { current: current.version });
                        }
                        return Err(StoreError::SeatsInUse {
                            part_number: promoted.user_name.clone().unwrap_or_default(),
                            consumed: current.doc.get("consumed").and_then(Value::as_i64).unwrap_or_default(),
                            seats: promoted.seats.unwrap_or_default(),
                        });
                    };
                    index_values(&mut tx, seq, &update.doc, false).await?;
                    if kind == ResourceKind::User {
                        let licenses = sql::license_ids(&update.doc);
                        release_seats(&mut tx, seq, &licenses).await?;
                        take_seats(&mut tx, tenant, seq, &licenses, false).await?;
                    }
                    for change in &update.members {
                        change_members(&mut tx, tenant, seq, change).await?;
                    }
                    let stored = fetch_in(&mut tx, tenant, kind, id, load).await?;
                    tx.commit().await?;
                    Ok(stored)
                }

                async fn delete_once(
                    &self,
                    tenant: TenantId,
                    kind: ResourceKind,
                    id: &str,
                    expected_version: Option<i64>,
                ) -> Result<()> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.pool.begin_with(d().begin_write()).await?;
                    // Soft-deleted users stay restorable but hold no name and no memberships;
                    // groups are removed with their member rows.
                    let seq: Option<i64> = match kind {
                        ResourceKind::User => {
                            let sql = q("UPDATE resources SET deleted_at = ?, version = version + 1 WHERE tenant_id = ? \
                                 AND kind = 'User' AND id = ? AND deleted_at IS NULL AND (? IS NULL OR version = ?) \
                                 RETURNING seq");
                            sqlx::query_scalar(&sql).bind(now())
                                .bind(tenant.0)
                                .bind(id)
                                .bind(expected_version)
                                .bind(expected_version)
                                .fetch_optional(&mut *tx)
                                .await?
                        }
                        // A License goes only once no user holds a seat of it.
                        ResourceKind::Group | ResourceKind::License => {
                            let sql = q(&format!(
                                "DELETE FROM resources WHERE tenant_id = ? AND kind = {} AND id = ? \
                                 AND deleted_at IS NULL AND (? IS NULL OR version = ?) AND consumed = 0 RETURNING seq",
                                sql::kind_literal(kind)
                            ));
                            sqlx::query_scalar(&sql)
                                .bind(tenant.0)
                                .bind(id)
                                .bind(expected_version)
                                .bind(expected_version)
                                .fetch_optional(&mut *tx)
                                .await?
                        }
                    };
                    let Some(seq) = seq else {
                        let current = fetch_in(&mut tx, tenant, kind, id, Load::default()).await?;
                        let consumed = current.doc.get("consumed").and_then(Value::as_i64).unwrap_or_default();
                        if kind == ResourceKind::License && consumed > 0 && expected_version.is_none_or(|v| v == current.version) {
                            return Err(StoreError::LicenseInUse {
                                part_number: current.doc.get("partNumber").and_then(Value::as_str).unwrap_or_default().to_owned(),
                                consumed,
                            });
                        }
                        return Err(StoreError::VersionMismatch { current: current.version });
                    };
                    if kind == ResourceKind::User {
                        release_seats(&mut tx, seq, &[]).await?;
                    }
                    sqlx::query(&q("DELETE FROM members WHERE member_seq = ? OR group_seq = ?"))
                        .bind(seq)
                        .bind(seq)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }
            }

            #[async_trait]
            impl Store for $store {
                async fn ping(&self) -> Result<()> {
                    sqlx::query("SELECT 1").execute(&self.probe).await?;
                    Ok(())
                }

                async fn insert(&self, tenant: TenantId, new: NewResource, load: Load) -> Result<Stored> {
                    retrying(|| self.insert_once(tenant, &new, load)).await
                }

                async fn insert_many(&self, tenant: TenantId, news: Vec<NewResource>, load: Load) -> Result<Vec<Result<Stored>>> {
                    let _turn = self.write_turn().await;
                    // Most batches have no failing resource: they go in without savepoints, which
                    // cost two statements per resource. When one fails, the batch starts again
                    // with a savepoint per resource.
                    let mut tx = self.pool.begin_with(d().begin_write()).await?;
                    let mut out = Vec::with_capacity(news.len());
                    for new in &news {
                        match insert_in(&mut tx, tenant, new, load).await {
                            Ok(stored) => out.push(Ok(stored)),
                            Err(e) if retryable(&e) => return Err(e),
                            Err(_) => break,
                        }
                    }
                    if out.len() == news.len() {
                        tx.commit().await?;
                        return Ok(out);
                    }
                    tx.rollback().await?;
                    let mut tx = self.pool.begin_with(d().begin_write()).await?;
                    let mut out = Vec::with_capacity(news.len());
                    for new in &news {
                        // A savepoint per resource: one that fails is undone alone.
                        let mut one = sqlx::Connection::begin(&mut *tx).await?;
                        match insert_in(&mut one, tenant, new, load).await {
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
                    tx.commit().await?;
                    Ok(out)
                }

                async fn fetch(&self, tenant: TenantId, kind: ResourceKind, id: &str, load: Load) -> Result<Stored> {
                    let mut conn = self.pool.acquire().await?;
                    fetch_in(&mut conn, tenant, kind, id, load).await
                }

                async fn update(
                    &self,
                    tenant: TenantId,
                    kind: ResourceKind,
                    id: &str,
                    update: Update,
                    load: Load,
                ) -> Result<Stored> {
                    retrying(|| self.update_once(tenant, kind, id, &update, load)).await
                }

                async fn delete(
                    &self,
                    tenant: TenantId,
                    kind: ResourceKind,
                    id: &str,
                    expected_version: Option<i64>,
                ) -> Result<()> {
                    retrying(|| self.delete_once(tenant, kind, id, expected_version)).await
                }

                async fn member_count(&self, tenant: TenantId, id: &str) -> Result<u64> {
                    let sql = q(&format!(
                        "SELECT count(*) FROM members m JOIN resources g ON g.seq = m.group_seq \
                         WHERE g.tenant_id = ? AND g.kind = {} AND g.id = ? AND g.deleted_at IS NULL",
                        sql::kind_literal(ResourceKind::Group)
                    ));
                    let n: i64 = sqlx::query_scalar(&sql).bind(tenant.0).bind(id).fetch_one(&self.pool).await?;
                    Ok(u64::try_from(n).unwrap_or(0))
                }

                async fn members_after(
                    &self,
                    tenant: TenantId,
                    id: &str,
                    after: i64,
                    limit: u64,
                ) -> Result<Vec<(i64, MemberView)>> {
                    let sql = q(&format!(
                        "SELECT m.member_seq, m2.id, m2.kind, COALESCE(m.display, m2.display_name, m2.user_name) AS display \
                         FROM resources g JOIN members m ON m.group_seq = g.seq JOIN resources m2 ON m2.seq = m.member_seq \
                         WHERE g.tenant_id = ? AND g.kind = {} AND g.id = ? AND g.deleted_at IS NULL AND m.member_seq > ? \
                         ORDER BY m.member_seq LIMIT ?",
                        sql::kind_literal(ResourceKind::Group)
                    ));
                    let rows = sqlx::query(&sql)
                        .bind(tenant.0)
                        .bind(id)
                        .bind(after)
                        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| {
                            let kind: String = r.try_get("kind")?;
                            let kind = ResourceKind::from_name(&kind).ok_or_else(|| corrupt("kind", &kind))?;
                            Ok((r.try_get("member_seq")?, MemberView { id: r.try_get("id")?, kind, display: r.try_get("display")? }))
                        })
                        .collect()
                }

                async fn update_members(
                    &self,
                    tenant: TenantId,
                    id: &str,
                    changes: &[MemberChange],
                    load: Load,
                ) -> Result<Stored> {
                    retrying(|| self.update_members_once(tenant, id, changes, load)).await
                }

                async fn list(&self, tenant: TenantId, kind: ResourceKind, query: &ListQuery, load: Load) -> Result<Page> {
                    let mut filter = Fragment::default();
                    if let Some(f) = &query.filter {
                        filter.sql.push_str(" AND ");
                        sql::compile_filter(d(), kind, f, &mut filter)?;
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
                    let mut conn = self.pool.acquire().await?;
                    let count_sql = q(&format!("SELECT count(*) AS n {base}"));
                    if query.count == 0 {
                        let total: i64 = bind_all(sqlx::query(&count_sql).bind(tenant.0), &filter.binds)
                            .fetch_one(&mut *conn)
                            .await?
                            .try_get("n")?;
                        return Ok(Page { total: total as u64, items: Vec::new(), cut: false });
                    }
                    // r.seq, immutable, breaks ties: pages never repeat or skip a resource.
                    let order = match &query.sort {
                        Some((path, true)) => format!("{} ASC NULLS LAST, r.seq", sql::sort_expr(d(), kind, path)?),
                        Some((path, false)) => format!("{} DESC NULLS FIRST, r.seq", sql::sort_expr(d(), kind, path)?),
                        None => "r.seq".to_owned(),
                    };
                    let budget = query.member_budget.filter(|_| load.members);
                    // With a member budget the page is chosen by member counts first, and only
                    // the groups that fit have their members read.
                    let columns = match budget {
                        Some(_) => format!(
                            "{}, (SELECT count(*) FROM members m WHERE m.group_seq = r.seq) AS member_count",
                            select_columns(Load { members: false, ..load })
                        ),
                        None => select_columns(load),
                    };
                    let page_sql = q(&format!("SELECT {columns} {page_base} ORDER BY {order} LIMIT ? OFFSET ?"));
                    let rows = bind_all(sqlx::query(&page_sql).bind(tenant.0), &filter.binds)
                        .bind(query.count as i64)
                        .bind(query.start_index.saturating_sub(1) as i64)
                        .fetch_all(&mut *conn)
                        .await?;
                    let (items, cut) = match budget {
                        None => (rows.iter().map(|r| decode(r, load)).collect::<Result<Vec<_>>>()?, false),
                        Some(budget) => {
                            let mut rendered = 0u64;
                            let mut fit = 0;
                            for row in &rows {
                                let n = u64::try_from(row.try_get::<i64, _>("member_count")?).unwrap_or(0);
                                if fit > 0 && rendered + n > budget {
                                    break;
                                }
                                rendered += n;
                                fit += 1;
                            }
                            let mut items = rows[..fit].iter().map(|r| decode(r, Load { members: false, ..load })).collect::<Result<Vec<_>>>()?;
                            let seqs: Vec<String> = items.iter().map(|i| i.seq.to_string()).collect();
                            // A first group alone past the budget is left to be streamed: its
                            // members stay `None`, and the caller reads them a chunk at a time.
                            if !seqs.is_empty() && rendered <= budget {
                                // The sequence numbers come from the database: integers, safe inline.
                                let members_sql = format!(
                                    "SELECT {} FROM resources r WHERE r.seq IN ({})",
                                    select_columns(Load { members: true, groups: false }),
                                    seqs.join(", ")
                                );
                                let loaded = sqlx::query(&members_sql).fetch_all(&mut *conn).await?;
                                let mut by_seq: std::collections::HashMap<i64, Vec<MemberView>> = loaded
                                    .iter()
                                    .map(|r| decode(r, Load { members: true, groups: false }).map(|s| (s.seq, s.members.unwrap_or_default())))
                                    .collect::<Result<_>>()?;
                                for item in &mut items {
                                    item.members = Some(by_seq.remove(&item.seq).unwrap_or_default());
                                }
                            }
                            (items, fit < rows.len())
                        }
                    };
                    // A first page with room to spare holds every match: no need to count them
                    // (the common case of an identity provider's `userName eq` lookup).
                    let complete =
                        !cut && query.start_index <= 1 && query.after_seq.is_none() && (items.len() as u64) < query.count;
                    let total = if complete {
                        items.len() as u64
                    } else {
                        let n: i64 = bind_all(sqlx::query(&count_sql).bind(tenant.0), &filter.binds)
                            .fetch_one(&mut *conn)
                            .await?
                            .try_get("n")?;
                        n as u64
                    };
                    Ok(Page { total, items, cut })
                }

                async fn ensure_tenant(&self, name: &str) -> Result<TenantId> {
                    sqlx::query(&q("INSERT INTO tenants (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"))
                        .bind(name)
                        .bind(now())
                        .execute(&self.pool)
                        .await?;
                    let id: i64 =
                        sqlx::query_scalar(&q("SELECT id FROM tenants WHERE name = ?")).bind(name).fetch_one(&self.pool).await?;
                    Ok(TenantId(id))
                }

                async fn create_token(&self, tenant: TenantId, token: NewToken) -> Result<TokenRecord> {
                    let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
                    sqlx::query(&q(
                        "INSERT INTO tokens (tenant_id, name, secret_hash, scopes, created, expires, rate_limit) \
                         VALUES (?, ?, ?, ?, ?, ?, ?)",
                    ))
                    .bind(tenant.0)
                    .bind(&token.name)
                    .bind(&token.secret_hash)
                    .bind(scopes.join(","))
                    .bind(now())
                    .bind(token.expires.map(sql::format_time))
                    .bind(token.rate_limit.map(i64::from))
                    .execute(&self.pool)
                    .await?;
                    self.find_token(&token.secret_hash).await?.ok_or(StoreError::NotFound)
                }

                async fn find_token(&self, secret_hash: &str) -> Result<Option<TokenRecord>> {
                    let sql = q(&format!("{TOKEN_SELECT} WHERE t.secret_hash = ?"));
                    let row = sqlx::query(&sql).bind(secret_hash).fetch_optional(&self.pool).await?;
                    row.as_ref().map(token_record).transpose()
                }

                async fn list_tokens(&self, tenant: Option<TenantId>) -> Result<Vec<TokenRecord>> {
                    let sql = q(&format!("{TOKEN_SELECT} WHERE (? IS NULL OR t.tenant_id = ?) ORDER BY t.id"));
                    let t = tenant.map(|t| t.0);
                    let rows = sqlx::query(&sql).bind(t).bind(t).fetch_all(&self.pool).await?;
                    rows.iter().map(token_record).collect()
                }

                async fn revoke_token(&self, id: i64) -> Result<()> {
                    let done = sqlx::query(&q("UPDATE tokens SET revoked = COALESCE(revoked, ?) WHERE id = ?"))
                        .bind(now())
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    touched(done.rows_affected())
                }

                async fn revoke_tenant_token(&self, tenant: TenantId, id: i64) -> Result<()> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.pool.begin_with(d().begin_write()).await?;
                    if let Some(lock) = d().lock_key() {
                        sqlx::query(&q(lock)).bind(format!("tokens:{}", tenant.0)).execute(&mut *tx).await?;
                    }
                    let sql = q(&format!("{TOKEN_SELECT} WHERE t.tenant_id = ?"));
                    let rows = sqlx::query(&sql).bind(tenant.0).fetch_all(&mut *tx).await?;
                    let tokens = rows.iter().map(token_record).collect::<Result<Vec<_>>>()?;
                    let Some(target) = tokens.iter().find(|t| t.id == id) else { return Err(StoreError::NotFound) };
                    let at = OffsetDateTime::now_utc();
                    let active_admin = |t: &TokenRecord| t.state(at) == TokenState::Active && t.scopes.contains(&Scope::Admin);
                    if active_admin(target) && !tokens.iter().any(|t| t.id != id && active_admin(t)) {
                        return Err(StoreError::LastAdminToken(id));
                    }
                    sqlx::query(&q("UPDATE tokens SET revoked = COALESCE(revoked, ?) WHERE id = ?"))
                        .bind(now())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn touch_token(&self, id: i64) -> Result<()> {
                    sqlx::query(&q("UPDATE tokens SET last_used = ? WHERE id = ?")).bind(now()).bind(id).execute(&self.pool).await?;
                    Ok(())
                }

                async fn list_deleted(
                    &self,
                    tenant: TenantId,
                    start_index: u64,
                    count: u64,
                ) -> Result<(u64, Vec<(Stored, OffsetDateTime)>)> {
                    let base = "FROM resources r WHERE r.tenant_id = ? AND r.kind = 'User' AND r.deleted_at IS NOT NULL";
                    let total: i64 = sqlx::query_scalar(&q(&format!("SELECT count(*) {base}")))
                        .bind(tenant.0)
                        .fetch_one(&self.pool)
                        .await?;
                    let sql = q(&format!(
                        "SELECT {}, r.deleted_at {base} ORDER BY r.deleted_at, r.seq LIMIT ? OFFSET ?",
                        select_columns(Load::default())
                    ));
                    let rows = sqlx::query(&sql)
                        .bind(tenant.0)
                        .bind(count as i64)
                        .bind(start_index.saturating_sub(1) as i64)
                        .fetch_all(&self.pool)
                        .await?;
                    let items = rows
                        .iter()
                        .map(|row| Ok((decode(row, Load::default())?, sql::parse_time(&row.try_get::<String, _>("deleted_at")?)?)))
                        .collect::<Result<Vec<_>>>()?;
                    Ok((total as u64, items))
                }

                async fn restore(&self, tenant: TenantId, id: &str) -> Result<Stored> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.pool.begin_with(d().begin_write()).await?;
                    let row = sqlx::query(&q(&format!(
                        "SELECT seq, user_name, {} FROM resources r WHERE tenant_id = ? AND kind = 'User' AND id = ? \
                         AND deleted_at IS NOT NULL",
                        d().doc_column()
                    )))
                    .bind(tenant.0)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let promoted = Promoted { user_name: row.try_get("user_name")?, ..Promoted::default() };
                    let seq: i64 = row.try_get("seq")?;
                    // The unique index re-checks the name: it may have been taken meanwhile. The row
                    // must still be deleted when this statement gets it: a restore or purge that ran
                    // meanwhile (in another process) leaves nothing to restore, so a second restore
                    // is a 404, never a second set of seats or a dangling reference.
                    let restored = sqlx::query(&q(
                        "UPDATE resources SET deleted_at = NULL, version = version + 1, last_modified = ? \
                         WHERE tenant_id = ? AND kind = 'User' AND id = ? AND deleted_at IS NOT NULL",
                    ))
                    .bind(now())
                    .bind(tenant.0)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| classify(e, ResourceKind::User, &promoted))?;
                    touched(restored.rows_affected())?;
                    // Seats are taken again; licenses deleted meanwhile are dropped from the user.
                    let mut doc: Value =
                        serde_json::from_str(&row.try_get::<String, _>("doc")?).map_err(|e| corrupt("document", e))?;
                    let gone = take_seats(&mut tx, tenant, seq, &sql::license_ids(&doc), true).await?;
                    if !gone.is_empty() {
                        sql::drop_licenses(&mut doc, &gone);
                        let fold = sql::folded_document(ResourceKind::User, &doc).to_string();
                        sqlx::query(&q(&format!("UPDATE resources SET doc = {0}, doc_fold = {0} WHERE seq = ?", d().doc_param())))
                            .bind(doc.to_string())
                            .bind(fold)
                            .bind(seq)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let stored = fetch_in(&mut tx, tenant, ResourceKind::User, id, Load::default()).await?;
                    tx.commit().await?;
                    Ok(stored)
                }

                async fn purge(&self, tenant: TenantId, id: &str) -> Result<()> {
                    let _turn = self.write_turn().await;
                    let done = sqlx::query(&q(
                        "DELETE FROM resources WHERE tenant_id = ? AND kind = 'User' AND id = ? AND deleted_at IS NOT NULL",
                    ))
                    .bind(tenant.0)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    touched(done.rows_affected())
                }

                async fn purge_deleted_before(&self, before: OffsetDateTime) -> Result<u64> {
                    let _turn = self.write_turn().await;
                    let done = sqlx::query(&q("DELETE FROM resources WHERE deleted_at IS NOT NULL AND deleted_at < ?"))
                        .bind(sql::format_time(before))
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }

                async fn domains(&self, tenant: TenantId) -> Result<Vec<(String, bool)>> {
                    let rows = sqlx::query(&q("SELECT domain, initial FROM tenant_domains WHERE tenant_id = ? ORDER BY domain"))
                        .bind(tenant.0)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(|r| Ok((r.try_get("domain")?, r.try_get::<i64, _>("initial")? != 0))).collect()
                }

                async fn add_domain(&self, tenant: TenantId, domain: &str, initial: bool) -> Result<()> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.pool.begin_with(d().begin_write()).await?;
                    if initial {
                        sqlx::query(&q("UPDATE tenant_domains SET initial = 0 WHERE tenant_id = ?")).bind(tenant.0).execute(&mut *tx).await?;
                    }
                    sqlx::query(&q(
                        "INSERT INTO tenant_domains (tenant_id, domain, initial) VALUES (?, ?, ?) \
                         ON CONFLICT (tenant_id, domain) DO UPDATE SET initial = excluded.initial",
                    ))
                    .bind(tenant.0)
                    .bind(domain.to_ascii_lowercase())
                    .bind(i64::from(initial))
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn remove_domain(&self, tenant: TenantId, domain: &str) -> Result<()> {
                    let done = sqlx::query(&q("DELETE FROM tenant_domains WHERE tenant_id = ? AND domain = ?"))
                        .bind(tenant.0)
                        .bind(domain.to_ascii_lowercase())
                        .execute(&self.pool)
                        .await?;
                    touched(done.rows_affected())
                }

                async fn user_names_taken(&self, tenant: TenantId, names: &[String]) -> Result<Vec<String>> {
                    let folded: Vec<String> = names.iter().map(|n| sql::fold(n)).collect();
                    let sql = q(&format!(
                        "SELECT r.user_name FROM {} CROSS JOIN resources r WHERE r.tenant_id = ? AND r.kind = 'User' \
                         AND r.deleted_at IS NULL AND r.user_name_fold = j.value",
                        d().text_list("j")
                    ));
                    Ok(sqlx::query_scalar(&sql).bind(id_list(&folded)?).bind(tenant.0).fetch_all(&self.pool).await?)
                }

                async fn list_tenants(&self) -> Result<Vec<TenantInfo>> {
                    let rows = sqlx::query(
                        "SELECT n.id, n.name, n.created, \
                         (SELECT count(*) FROM resources r WHERE r.tenant_id = n.id AND r.kind = 'User' AND r.deleted_at IS NULL) AS users, \
                         (SELECT count(*) FROM resources r WHERE r.tenant_id = n.id AND r.kind = 'Group' AND r.deleted_at IS NULL) AS groups \
                         FROM tenants n ORDER BY n.name",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(TenantInfo {
                                id: TenantId(row.try_get("id")?),
                                name: row.try_get("name")?,
                                created: sql::parse_time(&row.try_get::<String, _>("created")?)?,
                                users: row.try_get::<i64, _>("users")? as u64,
                                groups: row.try_get::<i64, _>("groups")? as u64,
                            })
                        })
                        .collect()
                }

                async fn find_tenant(&self, name: &str) -> Result<Option<TenantId>> {
                    let id: Option<i64> =
                        sqlx::query_scalar(&q("SELECT id FROM tenants WHERE name = ?")).bind(name).fetch_optional(&self.pool).await?;
                    Ok(id.map(TenantId))
                }

                async fn remove_tenant(&self, tenant: TenantId, force: bool) -> Result<()> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.pool.begin_with(d().begin_write()).await?;
                    // Writers of the tenant's resources wait from here to the commit (on
                    // PostgreSQL their foreign-key check shares the row this locks), so nothing
                    // is created between the count and the delete.
                    sqlx::query(&q(&format!("SELECT id FROM tenants WHERE id = ?{}", d().for_update())))
                        .bind(tenant.0)
                        .execute(&mut *tx)
                        .await?;
                    if !force {
                        let row = sqlx::query(&q(
                            "SELECT count(CASE WHEN kind = 'User' THEN 1 END) AS users, \
                             count(CASE WHEN kind = 'Group' THEN 1 END) AS groups FROM resources WHERE tenant_id = ?",
                        ))
                        .bind(tenant.0)
                        .fetch_one(&mut *tx)
                        .await?;
                        let (users, groups): (i64, i64) = (row.try_get("users")?, row.try_get("groups")?);
                        if users > 0 || groups > 0 {
                            return Err(StoreError::TenantNotEmpty { users, groups });
                        }
                    }
                    // Memberships and indexed values go with their resources (ON DELETE CASCADE).
                    for table in ["resources", "tokens"] {
                        sqlx::query(&q(&format!("DELETE FROM {table} WHERE tenant_id = ?"))).bind(tenant.0).execute(&mut *tx).await?;
                    }
                    let done = sqlx::query(&q("DELETE FROM tenants WHERE id = ?")).bind(tenant.0).execute(&mut *tx).await?;
                    touched(done.rows_affected())?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn setting(&self, name: &str, initial: &str) -> Result<String> {
                    sqlx::query(&q("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"))
                        .bind(name)
                        .bind(initial)
                        .execute(&self.pool)
                        .await?;
                    Ok(sqlx::query_scalar(&q("SELECT value FROM settings WHERE name = ?")).bind(name).fetch_one(&self.pool).await?)
                }

                async fn has_tokens(&self) -> Result<bool> {
                    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens WHERE revoked IS NULL")
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(n > 0)
                }

                async fn user_ids_by_name(&self, tenant: TenantId, names: &[String]) -> Result<Vec<(String, String)>> {
                    let folded: Vec<String> = names.iter().map(|n| sql::fold(n)).collect();
                    let sql = q(&format!(
                        "SELECT r.user_name, r.id FROM {} CROSS JOIN resources r WHERE r.tenant_id = ? AND r.kind = 'User' \
                         AND r.deleted_at IS NULL AND r.user_name_fold = j.value",
                        d().text_list("j")
                    ));
                    let rows = sqlx::query(&sql).bind(id_list(&folded)?).bind(tenant.0).fetch_all(&self.pool).await?;
                    rows.iter().map(|r| Ok((r.try_get("user_name")?, r.try_get("id")?))).collect()
                }
            }
        }
    };
}
