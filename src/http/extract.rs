//! Extractors that turn a request into checked inputs, answering bad input with SCIM errors:
//! the JSON body (both media types, size limit), the caller, query strings and ETag headers.
//!
//! Also `ScimResponse`, the one response shape every resource handler returns.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::http::error::SCIM_CONTENT_TYPE;
use crate::http::render::{self, Rendered, STREAMED_MEMBERS};
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::scim::projection::Projection;
use crate::scim::resource::{etag, ETagMatch};
use crate::service::{Caller, MAX_BODY_BYTES, MAX_IMPORT_BYTES, MAX_PAYLOAD_BYTES};

/// A JSON request body sent as `application/scim+json` or `application/json`.
pub struct ScimJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.headers().contains_key(header::CONTENT_TYPE) {
            let essence = media_type(&req);
            if essence != "application/scim+json" && essence != "application/json" {
                return Err(ScimError::new(
                    415,
                    None,
                    format!("unsupported Content-Type {essence:?}; send application/scim+json or application/json"),
                ));
            }
        }
        let bytes = read_body(req, state, || {
            format!(
                "the request body is too large: the maximum is {MAX_BODY_BYTES} bytes, \
                 {MAX_PAYLOAD_BYTES} for /Bulk (bulk.maxPayloadSize)"
            )
        })
        .await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ScimError::invalid_syntax("the request body is empty; send a JSON object"));
        }
        serde_json::from_slice(&bytes)
            .map(ScimJson)
            .map_err(|e| ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}")))
    }
}

/// The request's media type, lower-case and without parameters (`""` when none is sent).
fn media_type(req: &Request) -> String {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|ct| ct.to_str().ok()).unwrap_or("");
    ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// The whole body, within the route's size limit; `too_large` says what the limit is.
async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
    too_large: impl FnOnce() -> String,
) -> Result<Bytes, ScimError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ScimError::new(413, None, too_large())
        } else {
            ScimError::invalid_syntax(format!("the request body could not be read: {rejection}"))
        }
    })
}

/// A CSV request body, sent as `text/csv` (any charset parameter is ignored; the file is read
/// as UTF-8). The route sets the size limit.
pub struct CsvBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let essence = media_type(&req);
        if essence != "text/csv" {
            return Err(ScimError::new(
                415,
                None,
                format!("unsupported Content-Type {essence:?}; send the file as text/csv"),
            ));
        }
        let bytes = read_body(req, state, || {
            format!(
                "the file is too large: the maximum is {MAX_IMPORT_BYTES} bytes; \
                 split it, or import it with `scimd import`"
            )
        })
        .await?;
        Ok(CsvBody(bytes))
    }
}

/// Whether the client asked for CSV (`Accept: text/csv`) rather than JSON.
pub struct AcceptsCsv(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for AcceptsCsv {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let accept = parts.headers.get(header::ACCEPT).and_then(|h| h.to_str().ok()).unwrap_or("");
        let csv = accept.split(',').any(|m| m.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("text/csv"));
        Ok(AcceptsCsv(csv))
    }
}

/// Query parameters, with malformed ones answered as SCIM errors.
pub struct ScimQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ScimQuery<T> {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(t)| ScimQuery(t))
            .map_err(|e| ScimError::invalid_value(format!("invalid query parameters: {}", e.body_text())))
    }
}

/// The authenticated caller.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
        let principal = state.auth.authenticate(header).await?;
        let span = tracing::Span::current();
        span.record("tenant", principal.tenant_name.as_str());
        span.record("token_id", principal.token_id.0);
        span.record("token", principal.token_name.as_str());
        state.admit(&principal)?;
        let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Auth(Caller::new(principal, request_id, client_address(state, parts))))
    }
}

/// The absolute SCIM base URL (`http://host/scim/v2`) locations and `$ref`s are built from.
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(BaseUrl(base_url(state, &parts.headers)))
    }
}

/// The client's address: the first `X-Forwarded-For` entry when the proxy in front is trusted
/// to set it, else the peer of the connection.
pub(crate) fn client_address(state: &AppState, parts: &Parts) -> Option<String> {
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .filter(|_| state.trust_forwarded_headers)
        .and_then(|h| h.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned());
    let peer =
        || parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
    forwarded.filter(|f| !f.is_empty()).or_else(peer)
}

/// `--base-url` when configured, else `http(s)://<Host>/scim/v2` as the client addressed us; the
/// `X-Forwarded-*` headers only with `--trust-forwarded-headers`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(base) = &state.base_url {
        return base.clone();
    }
    let header = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    // A proxy that appends to the headers sends a list; the first entry is the client's.
    let forwarded = |name: &str| {
        header(name).filter(|_| state.trust_forwarded_headers).and_then(|v| v.split(',').next()).map(str::trim)
    };
    let host = forwarded("x-forwarded-host").or_else(|| header("host")).unwrap_or("localhost");
    let proto = forwarded("x-forwarded-proto").unwrap_or(if state.listener_tls { "https" } else { "http" });
    format!("{proto}://{host}/scim/v2")
}

/// The body with a group's stand-in replaced by its members, read and written a chunk at a time
/// through a small channel, so a slow client holds back the reading and no response holds a
/// whole big group; `Err` gives the text back when it has no stand-in.
fn streamed_body(text: String, source: MemberSource) -> Result<Body, String> {
    // The stand-in's JSON text as `serde_json` writes it, less the closing quote.
    let stand_in = Value::String(STREAMED_MEMBERS.to_owned()).to_string();
    let stand_in = stand_in.trim_end_matches('"');
    let Some(start) = text.find(stand_in) else { return Err(text) };
    let id_start = start + stand_in.len();
    let Some(id_len) = text[id_start..].find('"') else { return Err(text) };
    let id = text[id_start..id_start + id_len].to_owned();
    let suffix = text[id_start + id_len + 1..].to_owned();
    let mut prefix = text;
    prefix.truncate(start);
    prefix.push('[');
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<String, std::io::Error>>(2);
    tokio::spawn(async move {
        use futures::SinkExt;
        if tx.send(Ok(prefix)).await.is_err() {
            return;
        }
        let (mut after, mut first) = (0, true);
        loop {
            match source.state.service.member_chunk(&source.caller, &id, after).await {
                Ok((members, next)) => {
                    let members =
                        render::members(source.state.registry, &source.base_url, &members, &source.projection);
                    let mut chunk = String::new();
                    for m in members {
                        if !std::mem::take(&mut first) {
                            chunk.push(',');
                        }
                        chunk.push_str(&m.to_string());
                    }
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                    match next {
                        Some(n) => after = n,
                        None => break,
                    }
                }
                Err(e) => {
                    // The status is sent already: the client sees the body end early.
                    tracing::error!(group = %id, detail = %e.detail, "reading a big group's members failed midway");
                    let _ = tx.send(Err(std::io::Error::other(e.detail.into_owned()))).await;
                    return;
                }
            }
        }
        let _ = tx.send(Ok(format!("]{suffix}"))).await;
    });
    Ok(Body::from_stream(rx))
}

/// `If-Match`, when sent.
pub struct IfMatch(pub Option<ETagMatch>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(IfMatch(etag_header(&parts.headers, header::IF_MATCH)))
    }
}

/// `If-None-Match`, when sent.
pub struct IfNoneMatch(pub Option<ETagMatch>);

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(IfNoneMatch(etag_header(&parts.headers, header::IF_NONE_MATCH)))
    }
}

fn etag_header(headers: &HeaderMap, name: header::HeaderName) -> Option<ETagMatch> {
    headers.get(name).and_then(|h| h.to_str().ok()).map(ETagMatch::parse)
}

/// A SCIM response: status, optional JSON body, `ETag` and `Location`.
pub struct ScimResponse {
    status: StatusCode,
    body: Option<Rendered>,
    etag: Option<String>,
    location: Option<String>,
    /// Reads the members of a group too big to render at once, while the body is written.
    members: Option<MemberSource>,
}

/// What a response needs to write a big group's members a chunk at a time.
pub struct MemberSource {
    state: AppState,
    caller: Caller,
    base_url: String,
    projection: Projection,
}

impl ScimResponse {
    fn new(status: StatusCode, body: Option<Value>, version: Option<i64>, location: Option<String>) -> Self {
        ScimResponse { status, body: body.map(Rendered::Value), etag: version.map(etag), location, members: None }
    }

    /// 200 with what `render` wrote to be sent, and its version when it is one resource.
    pub fn rendered(body: Rendered, version: Option<i64>) -> Self {
        ScimResponse {
            status: StatusCode::OK,
            body: Some(body),
            etag: version.map(etag),
            location: None,
            members: None,
        }
    }

    /// 200 with a resource and its version.
    pub fn ok(body: Value, version: i64) -> Self {
        Self::new(StatusCode::OK, Some(body), Some(version), None)
    }

    /// 201 with what was created, its version (when it has one) and where it lives.
    pub fn created(body: Value, version: Option<i64>, location: String) -> Self {
        Self::new(StatusCode::CREATED, Some(body), version, Some(location))
    }

    pub fn json(body: Value) -> Self {
        Self::new(StatusCode::OK, Some(body), None, None)
    }

    pub fn no_content() -> Self {
        Self::new(StatusCode::NO_CONTENT, None, None, None)
    }

    /// 204 that still tells the client the new version.
    pub fn no_content_with_etag(version: i64) -> Self {
        Self::new(StatusCode::NO_CONTENT, None, Some(version), None)
    }

    /// 304 for a GET whose `If-None-Match` names the current version.
    pub fn not_modified(version: i64) -> Self {
        Self::new(StatusCode::NOT_MODIFIED, None, Some(version), None)
    }

    /// Lets the response write, in place of a group's stand-in, its members a chunk at a time,
    /// when `streamed` says the body holds one; other bodies are written as they are.
    pub fn with_members(
        mut self,
        streamed: bool,
        state: &AppState,
        caller: Caller,
        base_url: String,
        projection: Projection,
    ) -> Self {
        if streamed {
            self.members = Some(MemberSource { state: state.clone(), caller, base_url, projection });
        }
        self
    }
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        let mut response = match (self.body, self.members) {
            (Some(body), Some(source)) => {
                let text = match body {
                    Rendered::Value(v) => v.to_string(),
                    // Bytes written from JSON text and serialized values: UTF-8 throughout.
                    Rendered::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                };
                match streamed_body(text, source) {
                    Ok(stream) => (self.status, [(header::CONTENT_TYPE, SCIM_CONTENT_TYPE)], stream).into_response(),
                    Err(text) => (self.status, [(header::CONTENT_TYPE, SCIM_CONTENT_TYPE)], text).into_response(),
                }
            }
            (Some(body), None) => {
                let bytes = match body {
                    // Straight into bytes: `to_string` would go through the formatting machinery.
                    Rendered::Value(v) => serde_json::to_vec(&v).unwrap_or_default(),
                    Rendered::Bytes(b) => b,
                };
                (self.status, [(header::CONTENT_TYPE, SCIM_CONTENT_TYPE)], bytes).into_response()
            }
            (None, _) => self.status.into_response(),
        };
        let headers = response.headers_mut();
        for (name, value) in [(header::ETAG, self.etag), (header::LOCATION, self.location)] {
            if let Some(v) = value.and_then(|v| v.parse().ok()) {
                headers.insert(name, v);
            }
        }
        response
    }
}
