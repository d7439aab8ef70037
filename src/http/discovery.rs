//! Handlers for the discovery endpoints and for what scimd does not serve yet
//! (answered with a SCIM 501 that says so, never a silent 404).

use axum::extract::{Path, State};
use axum::http::HeaderMap;

use crate::http::extract::{base_url, Auth, ScimJson, ScimResponse};
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::service::{service_provider_config, ListParams};

pub async fn config(Auth(caller): Auth) -> ScimResponse {
    ScimResponse::json(service_provider_config(&caller.base_url))
}

pub async fn schemas(State(s): State<AppState>, Auth(caller): Auth) -> Result<ScimResponse, ScimError> {
    s.service.schemas(&caller).await.map(ScimResponse::json)
}

pub async fn schema(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    s.service.schema(&caller, &id).await.map(ScimResponse::json)
}

pub async fn resource_types(State(s): State<AppState>, Auth(caller): Auth) -> ScimResponse {
    ScimResponse::json(s.service.resource_types(&caller.base_url))
}

pub async fn resource_type(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    s.service.resource_type_doc(&caller.base_url, &id).map(ScimResponse::json)
}

/// `/Me` needs a token bound to a user, which scimd's tokens are not (RFC 7644 §3.11 allows 501).
pub async fn me(Auth(_): Auth) -> ScimError {
    ScimError::not_implemented("/Me is not supported: scimd tokens belong to a tenant, not to a user")
}

/// `POST /Bulk`: a BulkRequest, answered with a result per operation.
pub async fn bulk(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    s.service.bulk(&caller, body).await.map(ScimResponse::json)
}

/// `POST /.search`: a SearchRequest across Users and Groups.
pub async fn root_search(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let params = ListParams::from_search_request(body)?;
    let body = s.service.search_all(&caller, &params).await?;
    Ok(ScimResponse::json(body).with_members(&s.service, caller, params.projection()?))
}

pub async fn method_not_allowed() -> ScimError {
    ScimError::new(405, None, "this endpoint does not support that HTTP method")
}

pub async fn not_found(headers: HeaderMap, State(s): State<AppState>) -> ScimError {
    ScimError::new(404, None, format!("no such endpoint; the SCIM base URL is {}", base_url(&s, &headers)))
}
