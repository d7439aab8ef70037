//! Renders a `ScimError` as an RFC 7644 §3.12 response, the only place errors become HTTP;
//! internal causes are logged here, once, inside the request's span, and never sent; the
//! detail ends with the request's id, which its log line also carries.
//!
//! Also the panic handler: a panic becomes a SCIM 500 like any other internal error.

use std::any::Any;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::scim::error::ScimError;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json; charset=utf-8";

tokio::task_local! {
    /// The `X-Request-Id` of the request being answered (see `with_request_id`).
    static REQUEST_ID: Option<String>;
}

/// Runs the rest of the stack with the request's `X-Request-Id` at hand, so that an error body
/// can quote it.
pub async fn with_request_id(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    REQUEST_ID.scope(id, next.run(req)).await
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        // A 4xx is the client's to fix: its line says what was refused and why. 501 is a
        // feature scimd does not offer (such as /Me), not a fault of the server.
        let scim_type = self.scim_type.map(|t| t.as_str()).unwrap_or("");
        match self.status {
            501 => tracing::info!(status = self.status, detail = %self.detail, "not implemented"),
            500.. => {
                tracing::error!(status = self.status, cause = ?self.source.as_ref().map(|s| s.to_string()), "{}", self.detail)
            }
            _ => tracing::info!(status = self.status, scim_type, detail = %self.detail, "refused"),
        }
        let mut body = super::render::error(&self);
        // The id an operator finds the request's log line by, quoted back to the client.
        if let Ok(Some(id)) = REQUEST_ID.try_with(|id| id.clone()) {
            body["detail"] = format!("{} (request id {id})", self.detail).into();
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, [(header::CONTENT_TYPE, SCIM_CONTENT_TYPE)], body.to_string()).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            let headers = response.headers_mut();
            headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"scimd\""));
            headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"scimd\""));
        }
        response
    }
}

/// Turns a handler panic into a SCIM 500; the panic message goes to the log only.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    tracing::error!(panic = %message, "handler panicked");
    ScimError::new(500, None, "internal error; the server log has the cause").into_response()
}
