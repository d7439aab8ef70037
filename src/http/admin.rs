//! Handlers for `/scim/v2/Admin/DeletedUsers`: list, restore and purge soft-deleted users.

use axum::extract::{Path, State};

use crate::http::extract::{Auth, ScimQuery, ScimResponse};
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::service::ListParams;

pub async fn deleted_users(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ScimQuery(params): ScimQuery<ListParams>,
) -> Result<ScimResponse, ScimError> {
    s.service.deleted_users(&caller, &params).await.map(ScimResponse::json)
}

pub async fn restore(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    s.service.restore_user(&caller, &id).await.map(ScimResponse::ok)
}

pub async fn purge(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    s.service.purge_user(&caller, &id).await.map(|()| ScimResponse::no_content())
}
