//! Handlers for the discovery endpoints of RFC 7644 §4 (`/ServiceProviderConfig`, `/Schemas`,
//! `/ResourceTypes`), Bulk and root search, and what scimd does not serve yet (a SCIM 501 that
//! says so, never a silent 404).
//!
//! The configuration is truthful by construction: each `supported` flag names a feature that
//! works today.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{json, Value};

use crate::http::extract::{base_url, Auth, BaseUrl, ScimJson, ScimResponse};
use crate::http::{render, AppState};
use crate::scim::cursor::CURSOR_TIMEOUT_SECS;
use crate::scim::error::ScimError;
use crate::service::{ListParams, MAX_OPERATIONS, MAX_PAGE, MAX_PAYLOAD_BYTES};

pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true },
        "bulk": { "supported": true, "maxOperations": MAX_OPERATIONS, "maxPayloadSize": MAX_PAYLOAD_BYTES },
        "filter": { "supported": true, "maxResults": MAX_PAGE },
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": MAX_PAGE,
            "maxPageSize": MAX_PAGE,
            "cursorTimeout": CURSOR_TIMEOUT_SECS
        },
        "changePassword": { "supported": true },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A token created with `scimd token create`, sent as Authorization: Bearer <token>",
                "primary": true
            },
            {
                "type": "httpbasic",
                "name": "HTTP Basic",
                "description": "The tenant name as user and a token as password"
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        }
    })
}

fn with_location(mut doc: Value, resource_type: &str, location: String) -> Value {
    if let Value::Object(o) = &mut doc {
        o.insert("meta".into(), json!({ "resourceType": resource_type, "location": location }));
    }
    doc
}

/// Discovery documents as a ListResponse: all of them on one page.
fn all(resources: Vec<Value>) -> Value {
    render::list_response(resources.len() as u64, Some(1), resources, None)
}

fn schema_with_location(base: &str, doc: Value) -> Value {
    let id = doc.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    with_location(doc, "Schema", format!("{base}/Schemas/{id}"))
}

pub async fn config(Auth(_): Auth, BaseUrl(base): BaseUrl) -> ScimResponse {
    ScimResponse::json(service_provider_config(&base))
}

pub async fn schemas(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
) -> Result<ScimResponse, ScimError> {
    let docs = s.service.schemas(&caller).await?;
    Ok(ScimResponse::json(all(docs.into_iter().map(|d| schema_with_location(&base, d)).collect())))
}

pub async fn schema(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    let doc = s.service.schema(&caller, &id).await?;
    Ok(ScimResponse::json(schema_with_location(&base, doc)))
}

fn resource_type_doc(base: &str, rt: &crate::scim::schema::ResourceType) -> Value {
    let name = rt.kind.name();
    with_location(rt.document.clone(), "ResourceType", format!("{base}/ResourceTypes/{name}"))
}

pub async fn resource_types(State(s): State<AppState>, Auth(_): Auth, BaseUrl(base): BaseUrl) -> ScimResponse {
    ScimResponse::json(all(s.registry.resource_types().iter().map(|rt| resource_type_doc(&base, rt)).collect()))
}

pub async fn resource_type(
    State(s): State<AppState>,
    Auth(_): Auth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    let rt = s
        .registry
        .resource_types()
        .iter()
        .find(|rt| rt.kind.name().eq_ignore_ascii_case(&id))
        .ok_or_else(|| ScimError::not_found("ResourceType", &id))?;
    Ok(ScimResponse::json(resource_type_doc(&base, rt)))
}

/// `GET /scim/v2/openapi.json`: the API's OpenAPI document, without authentication (it
/// describes the API and holds no tenant's data).
pub async fn openapi(State(s): State<AppState>) -> axum::Json<Value> {
    axum::Json(crate::scim::openapi::document(s.registry))
}

/// `/Me` needs a token bound to a user, which scimd's tokens are not (RFC 7644 §3.11 allows 501).
pub async fn me(Auth(_): Auth) -> ScimError {
    ScimError::not_implemented("/Me is not supported: scimd tokens belong to a tenant, not to a user")
}

/// `POST /Bulk`: a BulkRequest, answered with a result per operation.
pub async fn bulk(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let outcomes = s.service.bulk(&caller, body).await?;
    Ok(ScimResponse::json(render::bulk(&base, &outcomes)))
}

/// `POST /.search`: a SearchRequest across Users and Groups.
pub async fn root_search(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let params = ListParams::from_search_request(body)?;
    let page = s.service.search_all(&caller, &params).await?;
    s.list_response(caller, base, page, params.projection()?)
}

pub async fn method_not_allowed() -> ScimError {
    ScimError::new(405, None, "this endpoint does not support that HTTP method")
}

pub async fn not_found(headers: HeaderMap, State(s): State<AppState>) -> ScimError {
    ScimError::new(404, None, format!("no such endpoint; the SCIM base URL is {}", base_url(&s, &headers)))
}
