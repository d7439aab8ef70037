//! The HTTP surface: every route and middleware layer in `router()`, so one grep finds any
//! endpoint. Handlers are thin: extract, call one service function, render.
//!
//! Imports `service`, `scim` (errors, types) and `auth`; never `store` directly.

mod admin;
pub mod console;
mod discovery;
pub mod error;
pub mod extract;
mod path;
pub mod rate;
pub mod render;
mod resources;
pub mod server;
pub mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::{header, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Level;

use crate::auth::Principal;
use crate::scim::error::ScimError;
use crate::scim::projection::Projection;
use crate::scim::schema::Registry;
use crate::service::metrics::{Metrics, CONTENT_TYPE as METRICS_CONTENT_TYPE, UNMATCHED_ROUTE};
use crate::service::{
    Authenticator, Caller, ListPage, Resource, Service, MAX_BODY_BYTES, MAX_IMPORT_BYTES, MAX_PAYLOAD_BYTES,
};
use extract::{Auth, ScimResponse};
use resources::{Endpoint, Groups, Licenses, Users};

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    /// The schemas resources are rendered and projected with (the service's own).
    pub registry: &'static Registry,
    pub auth: Arc<Authenticator>,
    /// Overrides the base URL derived from the `Host` header (behind a proxy).
    pub base_url: Option<String>,
    /// Requests per second per token and per tenant.
    pub rate: Arc<rate::RateLimiter>,
    /// Whether `X-Forwarded-Proto` / `X-Forwarded-Host` say how clients reached us; only a
    /// proxy in front may set them, so they are ignored unless the operator says so.
    pub trust_forwarded_headers: bool,
    /// Whether the listener itself speaks TLS (`--tls-cert`): URLs and cookies are then https.
    pub listener_tls: bool,
    /// The admin center's signed-in sessions (in this process's memory).
    pub console: Arc<console::Sessions>,
    /// Whether this listener serves `GET /metrics` (to admin tokens); off when a listener of
    /// its own (`--metrics-listen`) serves them.
    pub metrics_here: bool,
}

impl AppState {
    /// Takes the caller's request from its rate limits, counting a refusal.
    pub(crate) fn admit(&self, p: &Principal) -> Result<(), ScimError> {
        self.rate.check(p).inspect_err(|_| self.service.metrics().rate_limited())
    }

    /// A resource as the caller asked to see it.
    fn render(&self, base_url: &str, r: Resource, projection: &Projection) -> serde_json::Value {
        render::resource(self.registry, base_url, r, projection)
    }

    /// A list page as a ListResponse, with big groups' members streamed.
    fn list_response(
        &self,
        caller: Caller,
        base_url: String,
        page: ListPage,
        projection: Projection,
    ) -> Result<ScimResponse, ScimError> {
        let streamed = page.resources.iter().any(|r| r.members_streamed);
        let body = render::page_to_send(self.registry, &base_url, page, &projection)?;
        Ok(ScimResponse::rendered(body, None).with_members(streamed, self, caller, base_url, projection))
    }
}

/// Any method a route does not list gets a SCIM 405, not axum's empty one.
fn scim(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(discovery::method_not_allowed)
}

fn resource_routes<E: Endpoint>(router: Router<AppState>, endpoint: &str) -> Router<AppState> {
    use resources::{create, delete, get as get_one, list, patch, replace, search};
    router
        .route(&format!("/scim/v2/{endpoint}"), scim(get(list::<E>).post(create::<E>)))
        .route(&format!("/scim/v2/{endpoint}/.search"), scim(post(search::<E>)))
        .route(
            &format!("/scim/v2/{endpoint}/{{id}}"),
            scim(get(get_one::<E>).put(replace::<E>).patch(patch::<E>).delete(delete::<E>)),
        )
}

/// The whole application; `run` serves it and tests drive it through a real listener.
pub fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/healthz", get(live))
        .route("/readyz", get(ready))
        .route("/scim/v2/ServiceProviderConfig", scim(get(discovery::config)))
        // Microsoft's reference test collection asks for this name.
        .route("/scim/v2/serviceConfiguration", scim(get(discovery::config)))
        .route(crate::scim::openapi::PATH, scim(get(discovery::openapi)))
        .route("/scim/v2/Schemas", scim(get(discovery::schemas)))
        .route("/scim/v2/Schemas/{id}", scim(get(discovery::schema)))
        .route("/scim/v2/ResourceTypes", scim(get(discovery::resource_types)))
        .route("/scim/v2/ResourceTypes/{id}", scim(get(discovery::resource_type)))
        .route(
            "/scim/v2/Me",
            scim(get(discovery::me).post(discovery::me).put(discovery::me).patch(discovery::me).delete(discovery::me)),
        )
        .route("/scim/v2/Bulk", scim(post(discovery::bulk)).layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES)))
        .route("/scim/v2/.search", scim(post(discovery::root_search)))
        .route("/scim/v2/Admin/DeletedUsers", scim(get(admin::deleted_users)))
        .route("/scim/v2/Admin/DeletedUsers/{id}", scim(axum::routing::delete(admin::purge)))
        .route("/scim/v2/Admin/DeletedUsers/{id}/restore", scim(post(admin::restore)))
        .route("/scim/v2/Admin/AuditEvents", scim(get(admin::audit_events)))
        .route("/scim/v2/Admin/Tokens", scim(get(admin::tokens).post(admin::create_token)))
        .route("/scim/v2/Admin/Tokens/{id}", scim(axum::routing::delete(admin::revoke_token)))
        .route("/scim/v2/Admin/Subscriptions", scim(get(admin::subscriptions).post(admin::create_subscription)))
        .route("/scim/v2/Admin/Subscriptions/{id}", scim(get(admin::subscription).delete(admin::remove_subscription)))
        .route("/scim/v2/Events", scim(post(admin::poll)))
        .route("/scim/v2/Admin/Import", scim(post(admin::import)).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)));
    let router = resource_routes::<Users>(router, "Users");
    let router = resource_routes::<Groups>(router, "Groups");
    let router = resource_routes::<Licenses>(router, "Licenses");
    let router = if state.metrics_here { router.route("/metrics", get(metrics_for_admins)) } else { router };
    // The admin center's pages (`/admin/…`), listed in `console::routes`.
    let routes = router
        .merge(console::routes())
        .fallback(discovery::not_found)
        // One layer of the whole stack, outermost first: each `Router::layer` boxes every route
        // once more, and a request clones its route's boxes, one by one (28 a request with a
        // layer call each).
        .layer(
            tower::ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(state.service.metrics().clone(), count_request))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::middleware::from_fn(error::with_request_id))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let request_id =
                                req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                            tracing::info_span!(
                                "request",
                                method = %req.method(),
                                path = %req.uri().path(),
                                request_id = %request_id,
                                tenant = tracing::field::Empty,
                                token_id = tracing::field::Empty,
                                token = tracing::field::Empty,
                            )
                        })
                        .on_request(())
                        .on_response(|res: &axum::http::Response<_>, latency: Duration, _span: &tracing::Span| {
                            tracing::event!(
                                Level::INFO,
                                status = res.status().as_u16(),
                                latency_us = latency.as_micros() as u64,
                                "response"
                            );
                        })
                        .on_failure(()),
                )
                .layer(CatchPanicLayer::custom(error::panic_response))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .with_state(state);
    // Paths are made canonical before routing, which a layer on the routes would run after.
    Router::new().fallback_service(tower::ServiceExt::map_request(routes, path::canonical))
}

/// The dedicated metrics listener (`--metrics-listen`): `GET /metrics` with no authentication,
/// since operators bind it to a private address, and so with every tenant's seats; anything
/// else is 404.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics)).fallback(discovery::not_found).with_state(state)
}

/// Counts and times each answered request under its route template (bounded, unlike paths).
async fn count_request(State(metrics): State<Arc<Metrics>>, req: axum::extract::Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let res = next.run(req).await;
    let route = route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    metrics.http_request(method.as_str(), route, res.status().as_str(), started.elapsed());
    res
}

/// `GET /metrics` on the SCIM listener: admin tokens only, so clients of the API do not read
/// how the server is used.
async fn metrics_for_admins(State(s): State<AppState>, Auth(caller): Auth) -> Result<Response, ScimError> {
    let text = s.service.metrics_for(&caller)?;
    Ok(([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response())
}

/// `GET /metrics` on the dedicated listener.
async fn metrics(State(s): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], s.service.metrics_text().await).into_response()
}

/// Liveness: 200 from the process itself, whatever the database is doing; no authentication.
async fn live() -> &'static str {
    "ok"
}

/// Readiness: 200 once the store answers through the connection reserved for this check, so
/// a pool busy with slow requests does not take the process out of rotation; no authentication.
async fn ready(State(s): State<AppState>) -> impl IntoResponse {
    match s.service.ready().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}
