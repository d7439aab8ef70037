//! Group membership: checking and applying member changes one statement each, and reading a
//! big group's members a chunk at a time.

use crate::scim::schema::ResourceKind;
use crate::store::backend::{Backend, Conn, Param, SqlRow};
use crate::store::resources::fetch_in;
use crate::store::sql;
use crate::store::sql_store::{corrupt, id_list, now, SqlStore};
use crate::store::{
    AuditEntry, Load, MemberChange, MemberRef, MemberView, ResourceId, Result, StoreError, Stored, TenantId,
};

/// Member ids must name live Users or Groups of the same tenant, other than the group itself;
/// all unknown ones are reported.
async fn check_members<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    group_seq: i64,
    ids: &[ResourceId],
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let own = B::fetch_optional(&mut *conn, "SELECT id FROM resources WHERE seq = ?", &[Param::Int(group_seq)]).await?;
    if let Some(own) = own {
        let own = own.text(0)?;
        if ids.iter().any(|id| id == own) {
            return Err(StoreError::SelfMember(ResourceId::new(own)));
        }
    }
    let sql = format!(
        "SELECT j.value FROM {} WHERE NOT EXISTS \
         (SELECT 1 FROM resources r WHERE r.id = j.value AND r.tenant_id = ? AND r.deleted_at IS NULL \
         AND r.kind IN ({}, {}))",
        B::DIALECT.text_list("j"),
        sql::kind_literal(ResourceKind::User),
        sql::kind_literal(ResourceKind::Group)
    );
    let list = id_list(ids)?;
    let rows = B::fetch_all(conn, &sql, &[Param::Text(&list), Param::Int(tenant.0)]).await?;
    if rows.is_empty() {
        Ok(())
    } else {
        let unknown = rows.iter().map(|r| Ok(ResourceId::new(r.text(0)?))).collect::<Result<Vec<_>>>()?;
        Err(StoreError::UnknownMembers(unknown))
    }
}

/// Applies one membership change to the group `group_seq`: one statement per change, touching
/// only the named rows.
pub(crate) async fn change_members<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    group_seq: i64,
    change: &MemberChange,
) -> Result<()> {
    let (clear, add, remove): (bool, &[MemberRef], &[ResourceId]) = match change {
        MemberChange::Replace(ids) => (true, ids, &[]),
        MemberChange::Add(ids) => (false, ids, &[]),
        MemberChange::Remove(ids) => (false, &[], ids),
    };
    if clear {
        B::execute(&mut *conn, "DELETE FROM members WHERE group_seq = ?", &[Param::Int(group_seq)]).await?;
    }
    if !add.is_empty() {
        let ids: Vec<ResourceId> = add.iter().map(|m| m.id.clone()).collect();
        check_members::<B>(conn, tenant, group_seq, &ids).await?;
        let list = serde_json::to_string(add).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // CROSS JOIN keeps SQLite from scanning the tenant's resources for each id.
        let dialect = B::DIALECT;
        let sql = format!(
            "INSERT INTO members (group_seq, member_seq, display) SELECT ?, r.seq, {} FROM {} \
             CROSS JOIN resources r WHERE r.id = {} AND r.tenant_id = ? AND r.deleted_at IS NULL \
             ON CONFLICT (group_seq, member_seq) DO UPDATE SET display = COALESCE(excluded.display, members.display)",
            dialect.json_scalar("j.value", &["display"]),
            dialect.json_list("j"),
            dialect.json_scalar("j.value", &["id"]),
        );
        B::execute(&mut *conn, &sql, &[Param::Int(group_seq), Param::Text(&list), Param::Int(tenant.0)]).await?;
    }
    if !remove.is_empty() {
        // The ids resolve through the id index first, then each row goes by primary key: the
        // cost does not grow with the size of the group.
        let sql = format!(
            "DELETE FROM members WHERE group_seq = ? AND member_seq IN \
             (SELECT r.seq FROM resources r WHERE r.tenant_id = ? AND r.id IN (SELECT j.value FROM {}))",
            B::DIALECT.text_list("j")
        );
        let list = id_list(remove)?;
        B::execute(conn, &sql, &[Param::Int(group_seq), Param::Int(tenant.0), Param::Text(&list)]).await?;
    }
    Ok(())
}

/// Applies membership changes to a live group without comparing versions, inside the
/// caller's write.
pub(crate) async fn update_members<B: Backend>(
    tx: &mut Conn<B>,
    tenant: TenantId,
    id: &ResourceId,
    changes: &[MemberChange],
    load: Load,
    audit: &AuditEntry,
) -> Result<Stored> {
    // The row lock this UPDATE takes orders concurrent membership changes.
    let sql = format!(
        "UPDATE resources SET version = version + 1, last_modified = ? \
         WHERE tenant_id = ? AND kind = {} AND id = ? AND deleted_at IS NULL RETURNING seq",
        sql::kind_literal(ResourceKind::Group)
    );
    let modified = now();
    let row =
        B::fetch_optional(&mut *tx, &sql, &[Param::Text(&modified), Param::Int(tenant.0), Param::Text(id.as_str())])
            .await?;
    let Some(row) = row else { return Err(StoreError::NotFound) };
    let seq = row.int(0)?;
    for change in changes {
        change_members::<B>(&mut *tx, tenant, seq, change).await?;
    }
    crate::store::audit::record::<B>(&mut *tx, tenant, ResourceKind::Group, id.as_str(), audit).await?;
    let stored = fetch_in::<B>(&mut *tx, tenant, ResourceKind::Group, id, load).await?;
    Ok(stored)
}

/// How many members the live group `id` has.
pub(crate) async fn member_count<B: Backend>(store: &SqlStore<B>, tenant: TenantId, id: &ResourceId) -> Result<u64> {
    let sql = format!(
        "SELECT count(*) FROM members m JOIN resources g ON g.seq = m.group_seq \
         WHERE g.tenant_id = ? AND g.kind = {} AND g.id = ? AND g.deleted_at IS NULL",
        sql::kind_literal(ResourceKind::Group)
    );
    let mut conn = store.pool.acquire().await?;
    let n = B::fetch_one(&mut conn, &sql, &[Param::Int(tenant.0), Param::Text(id.as_str())]).await?.int(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Up to `limit` members of the live group `id` after position `after`, with their positions.
pub(crate) async fn members_after<B: Backend>(
    store: &SqlStore<B>,
    tenant: TenantId,
    id: &ResourceId,
    after: i64,
    limit: u64,
) -> Result<Vec<(i64, MemberView)>> {
    let sql = format!(
        "SELECT m.member_seq, m2.id, m2.kind, COALESCE(m.display, m2.display_name, m2.user_name) AS display \
         FROM resources g JOIN members m ON m.group_seq = g.seq JOIN resources m2 ON m2.seq = m.member_seq \
         WHERE g.tenant_id = ? AND g.kind = {} AND g.id = ? AND g.deleted_at IS NULL AND m.member_seq > ? \
         ORDER BY m.member_seq LIMIT ?",
        sql::kind_literal(ResourceKind::Group)
    );
    let params = [
        Param::Int(tenant.0),
        Param::Text(id.as_str()),
        Param::Int(after),
        Param::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
    ];
    let mut conn = store.pool.acquire().await?;
    let rows = B::fetch_all(&mut conn, &sql, &params).await?;
    rows.iter()
        .map(|r| {
            let kind = r.text("kind")?;
            let kind = ResourceKind::from_name(kind).ok_or_else(|| corrupt("kind", kind))?;
            let member = MemberView {
                id: ResourceId::new(r.text("id")?),
                kind,
                display: r.opt_text("display")?.map(str::to_owned),
            };
            Ok((r.int("member_seq")?, member))
        })
        .collect()
}
