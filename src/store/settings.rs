//! Settings shared by every process on one database (such as the cursor-signing key): the
//! first writer of a setting wins, everyone reads its value.

use crate::store::backend::{Backend, Param, SqlRow};
use crate::store::sql_store::SqlStore;
use crate::store::Result;

/// The setting `name`, set to `initial` if it has no value yet.
pub(crate) async fn setting<B: Backend>(store: &SqlStore<B>, name: &str, initial: &str) -> Result<String> {
    let mut conn = store.pool.acquire().await?;
    B::execute(
        &mut conn,
        "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        &[Param::Text(name), Param::Text(initial)],
    )
    .await?;
    let row = B::fetch_one(&mut conn, "SELECT value FROM settings WHERE name = ?", &[Param::Text(name)]).await?;
    Ok(row.text(0)?.to_owned())
}
