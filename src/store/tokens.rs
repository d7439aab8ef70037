//! Tenants and their API tokens: creating and finding tenants, issuing, finding, listing and
//! revoking tokens (never the last active admin token of a tenant), removing a tenant.

use time::OffsetDateTime;

use crate::store::backend::{Backend, Conn, Param, SqlRow};
use crate::store::sql;
use crate::store::sql_store::{now, touched, SqlStore};
use serde_json::json;

use crate::store::audit;
use crate::store::{
    Actor, AuditEntry, NewToken, Operation, Result, Scope, StoreError, TenantId, TenantInfo, TokenId, TokenRecord,
    TokenState,
};

// rate_limit is an INTEGER column, which PostgreSQL reads as 32 bits: widened to match the
// other integers read here.
// `t` and `n` name the tokens and tenants tables (see TOKEN_FROM).
pub(crate) const TOKEN_COLUMNS: &str = "t.id, t.tenant_id, n.name AS tenant_name, t.name, t.secret_hash, t.scopes, \
     t.created, t.expires, t.last_used, t.revoked, CAST(t.rate_limit AS BIGINT) AS rate_limit";
const TOKEN_FROM: &str = "FROM tokens t JOIN tenants n ON n.id = t.tenant_id";

pub(crate) fn token_record(row: &impl SqlRow) -> Result<TokenRecord> {
    let time = |col: &str| -> Result<Option<OffsetDateTime>> { row.opt_text(col)?.map(sql::parse_time).transpose() };
    Ok(TokenRecord {
        id: TokenId(row.int("id")?),
        tenant: TenantId(row.int("tenant_id")?),
        tenant_name: row.text("tenant_name")?.to_owned(),
        name: row.text("name")?.to_owned(),
        secret_hash: row.text("secret_hash")?.to_owned(),
        scopes: parse_scopes(row.text("scopes")?),
        created: sql::parse_time(row.text("created")?)?,
        expires: time("expires")?,
        last_used: time("last_used")?,
        revoked: time("revoked")?.is_some(),
        rate_limit: row.opt_int("rate_limit")?.and_then(|r| u32::try_from(r).ok()),
    })
}

fn parse_scopes(s: &str) -> Vec<Scope> {
    s.split(',').filter_map(Scope::parse).collect()
}

/// The tenant called `name`, created if new.
pub(crate) async fn ensure_tenant<B: Backend>(store: &SqlStore<B>, name: &str) -> Result<TenantId> {
    let mut conn = store.pool.acquire().await?;
    let created = now();
    B::execute(
        &mut conn,
        "INSERT INTO tenants (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        &[Param::Text(name), Param::Text(&created)],
    )
    .await?;
    let row = B::fetch_one(&mut conn, "SELECT id FROM tenants WHERE name = ?", &[Param::Text(name)]).await?;
    Ok(TenantId(row.int(0)?))
}

pub(crate) async fn find_tenant<B: Backend>(store: &SqlStore<B>, name: &str) -> Result<Option<TenantId>> {
    let mut conn = store.pool.acquire().await?;
    let row = B::fetch_optional(&mut conn, "SELECT id FROM tenants WHERE name = ?", &[Param::Text(name)]).await?;
    Ok(row.map(|r| r.int(0)).transpose()?.map(TenantId))
}

/// Every tenant with how many live users and groups it holds.
pub(crate) async fn list_tenants<B: Backend>(store: &SqlStore<B>) -> Result<Vec<TenantInfo>> {
    let mut conn = store.pool.acquire().await?;
    let rows = B::fetch_all(
        &mut conn,
        "SELECT n.id, n.name, n.created, \
         (SELECT count(*) FROM resources r WHERE r.tenant_id = n.id AND r.kind = 'User' AND r.deleted_at IS NULL) AS users, \
         (SELECT count(*) FROM resources r WHERE r.tenant_id = n.id AND r.kind = 'Group' AND r.deleted_at IS NULL) AS groups \
         FROM tenants n ORDER BY n.name",
        &[],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TenantInfo {
                id: TenantId(row.int("id")?),
                name: row.text("name")?.to_owned(),
                created: sql::parse_time(row.text("created")?)?,
                users: row.int("users")? as u64,
                groups: row.int("groups")? as u64,
            })
        })
        .collect()
}

/// Removes the tenant with its tokens, and its resources when `force`.
pub(crate) async fn remove_tenant<B: Backend>(store: &SqlStore<B>, tenant: TenantId, force: bool) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    // Writers of the tenant's resources wait from here to the commit (on PostgreSQL their
    // foreign-key check shares the row this locks), so nothing is created between the count
    // and the delete.
    let lock = format!("SELECT id FROM tenants WHERE id = ?{}", B::DIALECT.for_update());
    B::execute(&mut tx, &lock, &[Param::Int(tenant.0)]).await?;
    if !force {
        let row = B::fetch_one(
            &mut tx,
            "SELECT count(CASE WHEN kind = 'User' THEN 1 END) AS users, \
             count(CASE WHEN kind = 'Group' THEN 1 END) AS groups FROM resources WHERE tenant_id = ?",
            &[Param::Int(tenant.0)],
        )
        .await?;
        let (users, groups) = (row.int("users")?, row.int("groups")?);
        if users > 0 || groups > 0 {
            return Err(StoreError::TenantNotEmpty { users, groups });
        }
    }
    // Memberships and indexed values go with their resources (ON DELETE CASCADE); the counters,
    // brought to zero by the resources' deletion, are dropped after them.
    for table in ["resources", "resource_counts", "tokens"] {
        B::execute(&mut tx, &format!("DELETE FROM {table} WHERE tenant_id = ?"), &[Param::Int(tenant.0)]).await?;
    }
    let done = B::execute(&mut tx, "DELETE FROM tenants WHERE id = ?", &[Param::Int(tenant.0)]).await?;
    touched(done)?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn create_token<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    token: &NewToken,
    actor: &Actor,
) -> Result<TokenRecord> {
    let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
    let scopes = scopes.join(",");
    let created = now();
    let expires = token.expires.map(sql::format_time);
    let params = [
        Param::Int(tenant.0),
        Param::Text(&token.name),
        Param::Text(&token.secret_hash),
        Param::Text(&scopes),
        Param::Text(&created),
        Param::OptText(expires.as_deref()),
        Param::OptInt(token.rate_limit.map(i64::from)),
    ];
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    B::execute(
        &mut tx,
        "INSERT INTO tokens (tenant_id, name, secret_hash, scopes, created, expires, rate_limit) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        &params,
    )
    .await?;
    let record = find_token::<B>(&mut tx, &token.secret_hash).await?.ok_or(StoreError::NotFound)?;
    let mut changes = json!({"name": {"after": token.name}, "scopes": {"after": token.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>()}});
    if let Some(expires) = &expires {
        changes["expires"] = json!({"after": expires});
    }
    let entry = AuditEntry::new(actor, Operation::Create, changes);
    audit::record_on::<B>(&mut tx, tenant, "Token", &record.id.to_string(), &entry).await?;
    tx.commit().await?;
    Ok(record)
}

/// Records a token's revocation in its tenant's audit log.
async fn record_revocation<B: Backend>(conn: &mut Conn<B>, tenant: TenantId, id: TokenId, actor: &Actor) -> Result<()> {
    let entry = AuditEntry::new(actor, Operation::Revoke, json!({"status": {"after": "revoked"}}));
    audit::record_on::<B>(conn, tenant, "Token", &id.to_string(), &entry).await
}

pub(crate) async fn find_token<B: Backend>(conn: &mut Conn<B>, secret_hash: &str) -> Result<Option<TokenRecord>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} {TOKEN_FROM} WHERE t.secret_hash = ?");
    let row = B::fetch_optional(conn, &sql, &[Param::Text(secret_hash)]).await?;
    row.as_ref().map(token_record).transpose()
}

pub(crate) async fn has_tokens<B: Backend>(store: &SqlStore<B>) -> Result<bool> {
    let mut conn = store.pool.acquire().await?;
    let n = B::fetch_one(&mut conn, "SELECT count(*) FROM tokens WHERE revoked IS NULL", &[]).await?.int(0)?;
    Ok(n > 0)
}

pub(crate) async fn list_tokens<B: Backend>(store: &SqlStore<B>, tenant: Option<TenantId>) -> Result<Vec<TokenRecord>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} {TOKEN_FROM} WHERE (? IS NULL OR t.tenant_id = ?) ORDER BY t.id");
    let t = tenant.map(|t| t.0);
    let mut conn = store.pool.acquire().await?;
    let rows = B::fetch_all(&mut conn, &sql, &[Param::OptInt(t), Param::OptInt(t)]).await?;
    rows.iter().map(token_record).collect()
}

pub(crate) async fn revoke_token<B: Backend>(store: &SqlStore<B>, id: TokenId, actor: &Actor) -> Result<()> {
    let revoked = now();
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    let row = B::fetch_optional(
        &mut tx,
        "UPDATE tokens SET revoked = COALESCE(revoked, ?) WHERE id = ? RETURNING tenant_id",
        &[Param::Text(&revoked), Param::Int(id.0)],
    )
    .await?;
    let Some(row) = row else { return Err(StoreError::NotFound) };
    record_revocation::<B>(&mut tx, TenantId(row.int(0)?), id, actor).await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes a token of `tenant` unless it is the tenant's last active admin token.
pub(crate) async fn revoke_tenant_token<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    id: TokenId,
    actor: &Actor,
) -> Result<()> {
    let _turn = store.write_turn().await;
    let mut tx = store.begin_write().await?;
    if let Some(lock) = B::DIALECT.lock_key() {
        let key = format!("tokens:{}", tenant.0);
        B::execute(&mut tx, lock, &[Param::Text(&key)]).await?;
    }
    let sql = format!("SELECT {TOKEN_COLUMNS} {TOKEN_FROM} WHERE t.tenant_id = ?");
    let rows = B::fetch_all(&mut tx, &sql, &[Param::Int(tenant.0)]).await?;
    let tokens = rows.iter().map(token_record).collect::<Result<Vec<_>>>()?;
    let Some(target) = tokens.iter().find(|t| t.id == id) else { return Err(StoreError::NotFound) };
    let at = OffsetDateTime::now_utc();
    let active_admin = |t: &TokenRecord| t.state(at) == TokenState::Active && t.scopes.contains(&Scope::Admin);
    if active_admin(target) && !tokens.iter().any(|t| t.id != id && active_admin(t)) {
        return Err(StoreError::LastAdminToken(id));
    }
    let revoked = now();
    B::execute(
        &mut tx,
        "UPDATE tokens SET revoked = COALESCE(revoked, ?) WHERE id = ?",
        &[Param::Text(&revoked), Param::Int(id.0)],
    )
    .await?;
    record_revocation::<B>(&mut tx, tenant, id, actor).await?;
    tx.commit().await?;
    Ok(())
}

/// Records that the token was just used.
pub(crate) async fn touch_token<B: Backend>(store: &SqlStore<B>, id: TokenId) -> Result<()> {
    let used = now();
    let mut conn = store.pool.acquire().await?;
    B::execute(&mut conn, "UPDATE tokens SET last_used = ? WHERE id = ?", &[Param::Text(&used), Param::Int(id.0)])
        .await?;
    Ok(())
}
