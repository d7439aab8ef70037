//! Handlers for `/Users`, `/Groups` and `/Licenses`: extract, call one service function, render.
//!
//! One generic handler per operation; the router instantiates it per resource type.

use axum::extract::{Path, State};
use serde::Deserialize;

use crate::http::extract::{Auth, BaseUrl, IfMatch, IfNoneMatch, ScimJson, ScimQuery, ScimResponse};
use crate::http::{render, AppState};
use crate::scim::error::ScimError;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::service::{CreationOptions, ListParams};

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

/// The query of a create: the projection, and what an administrator may ask for besides.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateParams {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
    mail_results: Option<String>,
    temporary_passwords: Option<bool>,
}

pub async fn create<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    ScimQuery(p): ScimQuery<CreateParams>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let projection = Projection::parse(p.attributes.as_deref(), p.excluded_attributes.as_deref())?;
    let options = CreationOptions { mail_results: p.mail_results, temporary_passwords: p.temporary_passwords };
    let (r, report) = s.service.create_reported(&caller, E::KIND, body, &projection, &options).await?;
    let location = render::location(&base, E::KIND, r.stored.id.as_str());
    let version = r.stored.version;
    let mut rendered = s.render(&base, r, &projection);
    if let Some(report) = report {
        render::creation_results(&mut rendered, &report);
    }
    Ok(ScimResponse::created(rendered, Some(version), location))
}

pub async fn get<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    IfNoneMatch(none_match): IfNoneMatch,
    ScimQuery(p): ScimQuery<ProjectionParams>,
) -> Result<ScimResponse, ScimError> {
    let projection = p.parse()?;
    let r = s.service.get_to_send(&caller, E::KIND, &id, &projection).await?;
    Ok(match none_match {
        Some(m) if m.matches(r.stored.version) => ScimResponse::not_modified(r.stored.version),
        _ => {
            let (version, streamed) = (r.stored.version, r.members_streamed);
            let body = render::resource_to_send(s.registry, &base, r, &projection)?;
            ScimResponse::rendered(body, Some(version)).with_members(streamed, &s, caller, base, projection)
        }
    })
}

pub async fn list<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    ScimQuery(params): ScimQuery<ListParams>,
) -> Result<ScimResponse, ScimError> {
    let page = s.service.list_to_send(&caller, E::KIND, &params).await?;
    s.list_response(caller, base, page, params.projection()?)
}

/// `POST /Users/.search`: the SearchRequest message (RFC 7644 §3.4.3) in place of a query string.
pub async fn search<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let params = ListParams::from_search_request(body)?;
    let page = s.service.list_to_send(&caller, E::KIND, &params).await?;
    s.list_response(caller, base, page, params.projection()?)
}

pub async fn replace<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    IfMatch(if_match): IfMatch,
    ScimQuery(p): ScimQuery<ProjectionParams>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let projection = p.parse()?;
    let r = s.service.replace(&caller, E::KIND, &id, if_match.as_ref(), body, &projection).await?;
    let version = r.stored.version;
    Ok(ScimResponse::ok(s.render(&base, r, &projection), version))
}

/// User PATCH answers 200 with the resource; group PATCH 204 unless attributes were asked for,
/// so a membership change never renders the member list (DESIGN.md §6).
pub async fn patch<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    IfMatch(if_match): IfMatch,
    ScimQuery(p): ScimQuery<ProjectionParams>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let projection = p.parse()?;
    let quiet = E::KIND == ResourceKind::Group && projection == Projection::Default;
    let shown = if quiet { Projection::Exclude(vec![crate::scim::path::AttrPath::new("members")]) } else { projection };
    let r = s.service.patch(&caller, E::KIND, &id, if_match.as_ref(), body, &shown).await?;
    Ok(if quiet {
        ScimResponse::no_content_with_etag(r.stored.version)
    } else {
        let version = r.stored.version;
        ScimResponse::ok(s.render(&base, r, &shown), version)
    })
}

pub async fn delete<E: Endpoint>(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(if_match): IfMatch,
) -> Result<ScimResponse, ScimError> {
    s.service.delete(&caller, E::KIND, &id, if_match.as_ref()).await.map(|()| ScimResponse::no_content())
}
