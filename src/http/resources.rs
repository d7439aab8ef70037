//! Handlers for `/Users`, `/Groups` and `/Licenses`: extract, call one service function, render.
//!
//! One generic handler per operation; the router instantiates it per resource type.

use axum::extract::{Path, State};
use serde::Deserialize;

use crate::http::extract::{Auth, IfMatch, IfNoneMatch, ScimJson, ScimQuery, ScimResponse};
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::service::ListParams;

/// A resource type's endpoint, chosen in the router.
pub trait Endpoint: Send + Sync + 'static {
    const KIND: ResourceKind;
}

pub struct Users;
impl Endpoint for Users {
    const KIND: ResourceKind = ResourceKind::User;
}

pub struct Groups;
impl Endpoint for Groups {
    const KIND: ResourceKind = ResourceKind::Group;
}

pub struct Licenses;
impl Endpoint for Licenses {
    const KIND: ResourceKind = ResourceKind::License;
}

/// `attributes` / `excludedAttributes` on single-resource requests.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionParams {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ProjectionParams {
    fn parse(&self) -> Result<Projection, ScimError> {
        Projection::parse(self.attributes.as_deref(), self.excluded_attributes.as_deref())
    }
}

pub async fn create<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ScimQuery(p): ScimQuery<ProjectionParams>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    s.service.create(&caller, E::KIND, body, &p.parse()?).await.map(ScimResponse::created)
}

pub async fn get<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfNoneMatch(none_match): IfNoneMatch,
    ScimQuery(p): ScimQuery<ProjectionParams>,
) -> Result<ScimResponse, ScimError> {
    let projection = p.parse()?;
    let r = s.service.get(&caller, E::KIND, &id, &projection).await?;
    Ok(match none_match {
        Some(m) if m.matches(r.version) => ScimResponse::not_modified(r),
        _ => ScimResponse::ok(r).with_members(&s.service, caller, projection),
    })
}

pub async fn list<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ScimQuery(params): ScimQuery<ListParams>,
) -> Result<ScimResponse, ScimError> {
    let body = s.service.list(&caller, E::KIND, &params).await?;
    Ok(ScimResponse::json(body).with_members(&s.service, caller, params.projection()?))
}

/// `POST /Users/.search`: the SearchRequest message (RFC 7644 §3.4.3) in place of a query string.
pub async fn search<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let params = ListParams::from_search_request(body)?;
    let body = s.service.list(&caller, E::KIND, &params).await?;
    Ok(ScimResponse::json(body).with_members(&s.service, caller, params.projection()?))
}

pub async fn replace<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(if_match): IfMatch,
    ScimQuery(p): ScimQuery<ProjectionParams>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    s.service.replace(&caller, E::KIND, &id, if_match.as_ref(), body, &p.parse()?).await.map(ScimResponse::ok)
}

/// User PATCH answers 200 with the resource; group PATCH 204 unless attributes were asked for,
/// so a membership change never renders the member list (DESIGN.md §6).
pub async fn patch<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(if_match): IfMatch,
    ScimQuery(p): ScimQuery<ProjectionParams>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let projection = p.parse()?;
    let quiet = E::KIND == ResourceKind::Group && projection == Projection::Default;
    let shown = if quiet { Projection::Exclude(vec![crate::scim::path::AttrPath::new("members")]) } else { projection };
    let r = s.service.patch(&caller, E::KIND, &id, if_match.as_ref(), body, &shown).await?;
    Ok(if quiet { ScimResponse::no_content_with_etag(r) } else { ScimResponse::ok(r) })
}

pub async fn delete<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(if_match): IfMatch,
) -> Result<ScimResponse, ScimError> {
    s.service.delete(&caller, E::KIND, &id, if_match.as_ref()).await.map(|()| ScimResponse::no_content())
}
