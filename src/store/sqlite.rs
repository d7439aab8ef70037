//! The embedded store: SQLite in WAL mode with a busy timeout; every write is one
//! `BEGIN IMMEDIATE` transaction so writers queue for the lock instead of failing midway.
//!
//! SQL shapes that both databases share live in `store::sql`; this file binds and runs them.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqliteConnection, SqlitePool};
use time::OffsetDateTime;

use crate::scim::schema::ResourceKind;
use crate::store::sql::{self, Bind, Fragment, Promoted, SqliteDialect};
use crate::store::{
    GroupView, ListQuery, Load, MemberChange, MemberView, NewResource, NewToken, Page, Result, Scope, Store,
    StoreError, Stored, TenantId, TokenRecord, Update,
};

/// How long a statement waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and runs the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a write acknowledged to a client survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .collation(sql::FOLD_COLLATION, |a, b| sql::fold(a).cmp(&sql::fold(b)))
            .with_regexp();
        let pool = SqlitePoolOptions::new().max_connections(max_connections.max(1)).connect_with(options).await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The columns every read selects, with the derived parts asked for.
fn select_columns(load: Load) -> String {
    let mut cols = String::from("r.seq, r.id, r.kind, r.doc, r.version, r.created, r.last_modified");
    if load.members {
        cols.push_str(
            ", (SELECT json_group_array(json_object('id', m2.id, 'kind', m2.kind, \
             'display', COALESCE(m2.display_name, m2.user_name))) \
             FROM members m JOIN resources m2 ON m2.seq = m.member_seq WHERE m.group_seq = r.seq) AS members_json",
        );
    }
    if load.groups {
        cols.push_str(
            ", (SELECT json_group_array(json_object('id', g.id, 'display', g.display_name)) \
             FROM members m JOIN resources g ON g.seq = m.group_seq WHERE m.member_seq = r.seq) AS groups_json",
        );
    }
    cols
}

fn decode(row: &SqliteRow, load: Load) -> Result<Stored> {
    let kind_name: String = row.try_get("kind")?;
    let kind = ResourceKind::from_name(&kind_name)
        .ok_or_else(|| StoreError::Unsupported(format!("stored resource of unknown kind {kind_name}")))?;
    let doc: String = row.try_get("doc")?;
    let doc: Value =
        serde_json::from_str(&doc).map_err(|e| StoreError::Unsupported(format!("stored document unreadable: {e}")))?;
    let members = if load.members {
        let raw: String = row.try_get("members_json")?;
        Some(parse_members(&raw)?)
    } else {
        None
    };
    let groups = if load.groups {
        let raw: String = row.try_get("groups_json")?;
        Some(parse_groups(&raw)?)
    } else {
        None
    };
    Ok(Stored {
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

fn parse_members(raw: &str) -> Result<Vec<MemberView>> {
    let items: Vec<Value> = serde_json::from_str(raw).map_err(|e| StoreError::Unsupported(e.to_string()))?;
    Ok(items
        .iter()
        .filter_map(|m| {
            Some(MemberView {
                id: m.get("id")?.as_str()?.to_owned(),
                kind: ResourceKind::from_name(m.get("kind")?.as_str()?)?,
                display: m.get("display").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect())
}

fn parse_groups(raw: &str) -> Result<Vec<GroupView>> {
    let items: Vec<Value> = serde_json::from_str(raw).map_err(|e| StoreError::Unsupported(e.to_string()))?;
    Ok(items
        .iter()
        .filter_map(|g| {
            Some(GroupView {
                id: g.get("id")?.as_str()?.to_owned(),
                display: g.get("display").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect())
}

/// Classifies a unique violation: userName is the one unique resource attribute.
fn classify(err: sqlx::Error, promoted: &Promoted) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.is_unique_violation() && db.message().contains("user_name_fold") {
            return StoreError::Conflict {
                attribute: "userName",
                value: promoted.user_name.clone().unwrap_or_default(),
            };
        }
    }
    StoreError::Backend(err)
}

async fn fetch_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    kind: ResourceKind,
    id: &str,
    load: Load,
) -> Result<Stored> {
    let q = format!(
        "SELECT {} FROM resources r WHERE r.tenant_id = ? AND r.kind = {} AND r.id = ? AND r.deleted_at IS NULL",
        select_columns(load),
        sql::kind_literal(kind)
    );
    let row = sqlx::query(&q).bind(tenant.0).bind(id).fetch_optional(&mut *conn).await?;
    decode(&row.ok_or(StoreError::NotFound)?, load)
}

/// Member ids must name live resources of the same tenant; all unknown ones are reported.
async fn check_members(conn: &mut SqliteConnection, tenant: TenantId, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = serde_json::to_string(ids).map_err(|e| StoreError::Unsupported(e.to_string()))?;
    let unknown: Vec<String> = sqlx::query_scalar(
        "SELECT j.value FROM json_each(?) j WHERE NOT EXISTS \
         (SELECT 1 FROM resources r WHERE r.id = j.value AND r.tenant_id = ? AND r.deleted_at IS NULL)",
    )
    .bind(&list)
    .bind(tenant.0)
    .fetch_all(&mut *conn)
    .await?;
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(StoreError::UnknownMembers(unknown))
    }
}

/// Applies a membership change to the group `group_seq`: one statement per change.
async fn change_members(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    group_seq: i64,
    change: &MemberChange,
) -> Result<()> {
    let (clear, add, remove): (bool, &[String], &[String]) = match change {
        MemberChange::Replace(ids) => (true, ids, &[]),
        MemberChange::Add(ids) => (false, ids, &[]),
        MemberChange::Remove(ids) => (false, &[], ids),
    };
    if clear {
        sqlx::query("DELETE FROM members WHERE group_seq = ?").bind(group_seq).execute(&mut *conn).await?;
    }
    if !add.is_empty() {
        check_members(conn, tenant, add).await?;
        let list = serde_json::to_string(add).map_err(|e| StoreError::Unsupported(e.to_string()))?;
        sqlx::query(
            "INSERT OR IGNORE INTO members (group_seq, member_seq) SELECT ?, r.seq FROM json_each(?) j \
             JOIN resources r ON r.id = j.value AND r.tenant_id = ? AND r.deleted_at IS NULL",
        )
        .bind(group_seq)
        .bind(&list)
        .bind(tenant.0)
        .execute(&mut *conn)
        .await?;
    }
    if !remove.is_empty() {
        let list = serde_json::to_string(remove).map_err(|e| StoreError::Unsupported(e.to_string()))?;
        sqlx::query(
            "DELETE FROM members WHERE group_seq = ? AND member_seq IN \
             (SELECT r.seq FROM json_each(?) j JOIN resources r ON r.id = j.value AND r.tenant_id = ?)",
        )
        .bind(group_seq)
        .bind(&list)
        .bind(tenant.0)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
            Bind::Real(f) => q.bind(*f),
            Bind::Bool(b) => q.bind(*b),
        };
    }
    q
}

fn parse_scopes(s: &str) -> Vec<Scope> {
    s.split(',').filter_map(Scope::parse).collect()
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert(&self, tenant: TenantId, new: NewResource, load: Load) -> Result<Stored> {
        let promoted = Promoted::of(new.kind, &new.doc);
        let ts = sql::format_time(now());
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO resources (id, tenant_id, kind, user_name, user_name_fold, external_id, display_name, \
             display_name_fold, doc, password_hash, version, created, last_modified) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING seq",
        )
        .bind(&new.id)
        .bind(tenant.0)
        .bind(new.kind.name())
        .bind(&promoted.user_name)
        .bind(&promoted.user_name_fold)
        .bind(&promoted.external_id)
        .bind(&promoted.display_name)
        .bind(&promoted.display_name_fold)
        .bind(new.doc.to_string())
        .bind(&new.password_hash)
        .bind(&ts)
        .bind(&ts)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| classify(e, &promoted))?;
        change_members(&mut tx, tenant, seq, &MemberChange::Add(new.members)).await?;
        let stored = fetch_in(&mut tx, tenant, new.kind, &new.id, load).await?;
        tx.commit().await?;
        Ok(stored)
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
        let promoted = Promoted::of(kind, &update.doc);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let q = format!(
            "UPDATE resources SET user_name = ?, user_name_fold = ?, external_id = ?, display_name = ?, \
             display_name_fold = ?, doc = ?, password_hash = COALESCE(?, password_hash), version = version + 1, \
             last_modified = ? WHERE tenant_id = ? AND kind = {} AND id = ? AND deleted_at IS NULL AND version = ? \
             RETURNING seq",
            sql::kind_literal(kind)
        );
        let seq: Option<i64> = sqlx::query_scalar(&q)
            .bind(&promoted.user_name)
            .bind(&promoted.user_name_fold)
            .bind(&promoted.external_id)
            .bind(&promoted.display_name)
            .bind(&promoted.display_name_fold)
            .bind(update.doc.to_string())
            .bind(&update.password_hash)
            .bind(sql::format_time(now()))
            .bind(tenant.0)
            .bind(id)
            .bind(update.expected_version)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| classify(e, &promoted))?;
        let Some(seq) = seq else {
            let current = fetch_in(&mut tx, tenant, kind, id, Load::default()).await?;
            return Err(StoreError::VersionMismatch { current: current.version });
        };
        for change in &update.members {
            change_members(&mut tx, tenant, seq, change).await?;
        }
        let stored = fetch_in(&mut tx, tenant, kind, id, load).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn delete(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let current = fetch_in(&mut tx, tenant, kind, id, Load::default()).await?;
        if let Some(v) = expected_version {
            if v != current.version {
                return Err(StoreError::VersionMismatch { current: current.version });
            }
        }
        let seq: i64 = match kind {
            // Users are soft-deleted: restorable, but holding no name and no memberships.
            ResourceKind::User => {
                sqlx::query_scalar(
                    "UPDATE resources SET deleted_at = ?, version = version + 1 \
                     WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL RETURNING seq",
                )
                .bind(sql::format_time(now()))
                .bind(tenant.0)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
            }
            ResourceKind::Group => {
                sqlx::query_scalar("DELETE FROM resources WHERE tenant_id = ? AND id = ? RETURNING seq")
                    .bind(tenant.0)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
            }
        };
        sqlx::query("DELETE FROM members WHERE member_seq = ? OR group_seq = ?")
            .bind(seq)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list(&self, tenant: TenantId, kind: ResourceKind, query: &ListQuery, load: Load) -> Result<Page> {
        let mut filter = Fragment::default();
        if let Some(f) = &query.filter {
            filter.sql.push_str(" AND ");
            sql::compile_filter(&SqliteDialect, kind, f, &mut filter)?;
        }
        let base = format!(
            "FROM resources r WHERE r.tenant_id = ? AND r.kind = {} AND r.deleted_at IS NULL{}",
            sql::kind_literal(kind),
            filter.sql
        );
        let mut conn = self.pool.acquire().await?;
        let count_sql = format!("SELECT count(*) {base}");
        let total: i64 =
            bind_all(sqlx::query(&count_sql).bind(tenant.0), &filter.binds).fetch_one(&mut *conn).await?.try_get(0)?;
        if query.count == 0 {
            return Ok(Page { total: total as u64, items: Vec::new() });
        }
        let order = match query.sort {
            Some((key, ascending)) => {
                format!(
                    "{} {}, r.seq",
                    sql::sort_column(key),
                    if ascending { "ASC NULLS LAST" } else { "DESC NULLS FIRST" }
                )
            }
            None => "r.seq".to_owned(),
        };
        let page_sql = format!("SELECT {} {base} ORDER BY {order} LIMIT ? OFFSET ?", select_columns(load));
        let rows = bind_all(sqlx::query(&page_sql).bind(tenant.0), &filter.binds)
            .bind(query.count as i64)
            .bind(query.start_index.saturating_sub(1) as i64)
            .fetch_all(&mut *conn)
            .await?;
        let items = rows.iter().map(|r| decode(r, load)).collect::<Result<Vec<_>>>()?;
        Ok(Page { total: total as u64, items })
    }

    async fn ensure_tenant(&self, name: &str) -> Result<TenantId> {
        sqlx::query("INSERT INTO tenants (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(sql::format_time(now()))
            .execute(&self.pool)
            .await?;
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM tenants WHERE name = ?").bind(name).fetch_one(&self.pool).await?;
        Ok(TenantId(id))
    }

    async fn create_token(&self, tenant: TenantId, token: NewToken) -> Result<TokenRecord> {
        let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
        sqlx::query(
            "INSERT INTO tokens (tenant_id, name, secret_hash, scopes, created, expires) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(tenant.0)
        .bind(&token.name)
        .bind(&token.secret_hash)
        .bind(scopes.join(","))
        .bind(sql::format_time(now()))
        .bind(token.expires.map(sql::format_time))
        .execute(&self.pool)
        .await?;
        self.find_token(&token.secret_hash).await?.ok_or(StoreError::NotFound)
    }

    async fn find_token(&self, secret_hash: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT t.id, t.tenant_id, n.name AS tenant_name, t.name, t.secret_hash, t.scopes, t.expires, t.revoked \
             FROM tokens t JOIN tenants n ON n.id = t.tenant_id WHERE t.secret_hash = ?",
        )
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires: Option<String> = row.try_get("expires")?;
        let revoked: Option<String> = row.try_get("revoked")?;
        Ok(Some(TokenRecord {
            id: row.try_get("id")?,
            tenant: TenantId(row.try_get("tenant_id")?),
            tenant_name: row.try_get("tenant_name")?,
            name: row.try_get("name")?,
            secret_hash: row.try_get("secret_hash")?,
            scopes: parse_scopes(&row.try_get::<String, _>("scopes")?),
            expires: expires.as_deref().map(sql::parse_time).transpose()?,
            revoked: revoked.is_some(),
        }))
    }

    async fn has_tokens(&self) -> Result<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM tokens WHERE revoked IS NULL").fetch_one(&self.pool).await?;
        Ok(n > 0)
    }
}
