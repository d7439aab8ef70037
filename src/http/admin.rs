//! Handlers for `/scim/v2/Admin/…`: list, restore and purge soft-deleted users, list, create
//! and revoke tokens, import the bulk-add CSV, manage event subscriptions and poll events.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::extract::{AcceptsCsv, Auth, BaseUrl, CsvBody, ScimJson, ScimQuery, ScimResponse};
use crate::http::{render, AppState};
use crate::scim::error::ScimError;
use crate::scim::projection::Projection;
use crate::service::{poll_json, AuditParams, ImportParams, ListParams, PollRequest, SourceParams};

pub async fn deleted_users(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    ScimQuery(params): ScimQuery<ListParams>,
) -> Result<ScimResponse, ScimError> {
    let page = s.service.deleted_users(&caller, &params).await?;
    Ok(ScimResponse::json(render::page(s.registry, &base, page, &Projection::Default)))
}

pub async fn restore(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    let r = s.service.restore_user(&caller, &id).await?;
    let version = r.stored.version;
    Ok(ScimResponse::ok(s.render(&base, r, &Projection::Default), version))
}

pub async fn purge(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    s.service.purge_user(&caller, &id).await.map(|()| ScimResponse::no_content())
}

/// `POST /Admin/Import`: the report as JSON, or as the CLI's CSV when the client accepts text/csv;
/// then the results mail's outcome, if one was asked for, is the `Results-Mail` header.
/// `source=NAME` reads the file through a stored source's map, `mode=sync` syncs that source.
pub async fn import(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ScimQuery(params): ScimQuery<ImportParams>,
    ScimQuery(source): ScimQuery<SourceParams>,
    AcceptsCsv(csv): AcceptsCsv,
    CsvBody(body): CsvBody,
) -> Result<Response, ScimError> {
    let report = s.service.admin_import(&caller, &body, &params, &source).await?;
    if !csv {
        return Ok(ScimResponse::json(report.to_json()).into_response());
    }
    let mut out = Vec::new();
    report.write_csv(&mut out).map_err(ScimError::internal)?;
    let mut response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response();
    if let Some(mail) = &report.mail {
        // A header holds visible ASCII only: anything else in an SMTP server's answer becomes '?'.
        let line: String =
            mail.line().chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect();
        if let Ok(value) = header::HeaderValue::from_str(&line) {
            response.headers_mut().insert("results-mail", value);
        }
    }
    Ok(response)
}

/// `GET /Admin/AuditEvents`: the tenant's audit log, oldest first, filtered and paged.
pub async fn audit_events(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    ScimQuery(params): ScimQuery<AuditParams>,
) -> Result<ScimResponse, ScimError> {
    let page = s.service.audit_events(&caller, &params).await?;
    let events = page.events.iter().map(|e| render::audit_event(&base, e)).collect();
    Ok(ScimResponse::json(render::list_response(page.total, Some(page.start_index), events, None)))
}

pub async fn tokens(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
) -> Result<ScimResponse, ScimError> {
    let tokens = s.service.tokens(&caller).await?;
    let resources: Vec<_> = tokens.iter().map(|t| render::token(&base, t, None)).collect();
    Ok(ScimResponse::json(render::list_response(resources.len() as u64, Some(1), resources, None)))
}

pub async fn create_token(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let (token, secret) = s.service.create_token(&caller, body).await?;
    Ok(ScimResponse::created(render::token(&base, &token, Some(&secret)), None, render::token_location(&base, &token)))
}

pub async fn subscriptions(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
) -> Result<ScimResponse, ScimError> {
    let views = s.service.subscriptions(&caller).await?;
    let resources: Vec<_> = views.iter().map(|v| render::subscription(&base, v)).collect();
    Ok(ScimResponse::json(render::list_response(resources.len() as u64, Some(1), resources, None)))
}

pub async fn subscription(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    let view = s.service.subscription(&caller, &id).await?;
    Ok(ScimResponse::json(render::subscription(&base, &view)))
}

pub async fn create_subscription(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimError> {
    let view = s.service.create_subscription(&caller, body).await?;
    let location = format!("{base}/Admin/Subscriptions/{}", view.subscription.id);
    Ok(ScimResponse::created(render::subscription(&base, &view), None, location))
}

pub async fn remove_subscription(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    s.service.remove_subscription(&caller, &id).await.map(|()| ScimResponse::no_content())
}

/// `POST /Events` (RFC 8936): acknowledges, then returns the caller's pending SETs as JSON.
pub async fn poll(
    State(s): State<AppState>,
    Auth(caller): Auth,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let request = PollRequest::parse(body)?;
    let response = s.service.poll(&caller, &base, &request).await?;
    Ok(axum::Json(poll_json(response)).into_response())
}

pub async fn revoke_token(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimError> {
    s.service.revoke_token(&caller, &id).await.map(|()| ScimResponse::no_content())
}
