//! License seats: which users hold a seat of which License (`user_licenses`), kept exact in the
//! License's `consumed` column by the same transaction that writes the user.

use std::collections::BTreeMap;

use crate::store::backend::{Backend, Conn, Param, SqlRow};
use crate::store::resources::VALUES_PER_STATEMENT;
use crate::store::sql_store::id_list;
use crate::store::{Result, StoreError, TenantId};

/// Gives back the seats the user holds on licenses other than `keep`.
pub(crate) async fn release_seats<B: Backend>(conn: &mut Conn<B>, user_seq: i64, keep: &[String]) -> Result<()> {
    let sql = format!(
        "DELETE FROM user_licenses WHERE user_seq = ? AND license_seq NOT IN \
         (SELECT r.seq FROM {} CROSS JOIN resources r WHERE r.id = j.value) RETURNING license_seq",
        B::DIALECT.text_list("j")
    );
    let keep = id_list(keep)?;
    let released = B::fetch_all(&mut *conn, &sql, &[Param::Int(user_seq), Param::Text(&keep)]).await?;
    for row in released {
        let seq = row.int(0)?;
        B::execute(&mut *conn, "UPDATE resources SET consumed = consumed - 1 WHERE seq = ?", &[Param::Int(seq)])
            .await?;
    }
    Ok(())
}

/// Takes a seat on each License in `ids` the user does not hold yet. The guarded UPDATE is the
/// seat check: of two writers racing for the last seat, the database lets one through and the
/// other finds `consumed < seats` false.
/// Returns the ids that name no License of the tenant, when `unknown_ok`.
pub(crate) async fn take_seats<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    user_seq: i64,
    ids: &[String],
    unknown_ok: bool,
) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let held = B::fetch_all(
        &mut *conn,
        "SELECT r.id FROM user_licenses u JOIN resources r ON r.seq = u.license_seq WHERE u.user_seq = ?",
        &[Param::Int(user_seq)],
    )
    .await?;
    let held = held.iter().map(|r| r.text(0)).collect::<sqlx::Result<Vec<&str>>>()?;
    let new: Vec<String> = ids.iter().filter(|id| !held.contains(&id.as_str())).cloned().collect();
    take_new_seats::<B>(conn, tenant, user_seq, &new, unknown_ok).await
}

/// `take_new_seats` for many users just inserted, `(user seq, license ids)`: one guarded UPDATE
/// per License for all its new holders, and their `user_licenses` rows a few statements in
/// all. False, with some seats taken, when a License has too few seats left for them all or
/// is none of the tenant's: the caller rolls back and takes them user by user, to tell which.
pub(crate) async fn take_new_seats_many<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    users: &[(i64, Vec<String>)],
) -> Result<bool> {
    let mut holders: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (user, ids) in users {
        for id in ids {
            holders.entry(id.as_str()).or_default().push(*user);
        }
    }
    let mut rows = Vec::new();
    for (id, users) in &holders {
        let n = i64::try_from(users.len()).unwrap_or(i64::MAX);
        let taken = B::fetch_optional(
            &mut *conn,
            "UPDATE resources SET consumed = consumed + ? WHERE tenant_id = ? AND kind = 'License' \
             AND id = ? AND deleted_at IS NULL AND consumed + ? <= seats RETURNING seq",
            &[Param::Int(n), Param::Int(tenant.0), Param::Text(id), Param::Int(n)],
        )
        .await?;
        let Some(row) = taken else { return Ok(false) };
        let license = row.int(0)?;
        rows.extend(users.iter().map(|&user| (user, license)));
    }
    for chunk in rows.chunks(VALUES_PER_STATEMENT) {
        let mut sql = String::from("INSERT INTO user_licenses (user_seq, license_seq) VALUES ");
        let mut params = Vec::with_capacity(chunk.len() * 2);
        for (i, (user, license)) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(?, ?)" } else { ", (?, ?)" });
            params.extend([Param::Int(*user), Param::Int(*license)]);
        }
        B::execute(&mut *conn, &sql, &params).await?;
    }
    Ok(true)
}

/// `take_seats` for a user who holds no seat yet (one just inserted): nothing to read first.
pub(crate) async fn take_new_seats<B: Backend>(
    conn: &mut Conn<B>,
    tenant: TenantId,
    user_seq: i64,
    ids: &[String],
    unknown_ok: bool,
) -> Result<Vec<String>> {
    let mut unknown = Vec::new();
    for id in ids {
        let taken = B::fetch_optional(
            &mut *conn,
            "UPDATE resources SET consumed = consumed + 1 WHERE tenant_id = ? AND kind = 'License' \
             AND id = ? AND deleted_at IS NULL AND consumed < seats RETURNING seq",
            &[Param::Int(tenant.0), Param::Text(id)],
        )
        .await?;
        if let Some(row) = taken {
            let license_seq = row.int(0)?;
            B::execute(
                &mut *conn,
                "INSERT INTO user_licenses (user_seq, license_seq) VALUES (?, ?)",
                &[Param::Int(user_seq), Param::Int(license_seq)],
            )
            .await?;
            continue;
        }
        let license = B::fetch_optional(
            &mut *conn,
            "SELECT part_number, seats FROM resources WHERE tenant_id = ? AND kind = 'License' AND id = ? \
             AND deleted_at IS NULL",
            &[Param::Int(tenant.0), Param::Text(id)],
        )
        .await?;
        match license {
            Some(row) => {
                return Err(StoreError::NoSeats {
                    part_number: row.opt_text("part_number")?.unwrap_or_default().to_owned(),
                    seats: row.opt_int("seats")?.unwrap_or_default(),
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
