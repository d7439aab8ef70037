//! The one SCIM error type (RFC 7644 §3.12) and its `scimType` keywords.
//!
//! Every layer below `http` ends in a `ScimError`; `http::error` renders it. No I/O here.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Result alias used by the protocol and service layers.
pub type Result<T, E = ScimError> = std::result::Result<T, E>;

/// The `scimType` keywords of RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScimType {
    /// The filter syntax was invalid, or the filter names something that cannot be filtered.
    InvalidFilter,
    /// The filter yields more results than the server is willing to compute.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The attempted modification is not compatible with the target's mutability.
    Mutability,
    /// The request body structure was invalid or did not conform to the schema.
    InvalidSyntax,
    /// The PATCH `path` attribute was invalid or malformed.
    InvalidPath,
    /// The PATCH path did not yield an attribute or value that could be operated on.
    NoTarget,
    /// A required value was missing, or the value given was not compatible.
    InvalidValue,
    /// The SCIM protocol version is not supported.
    InvalidVers,
    /// The request would return sensitive information in a URI.
    Sensitive,
    /// A paging cursor that was not issued by this server, or not for this query (RFC 9865).
    InvalidCursor,
    /// A paging cursor older than the advertised `cursorTimeout` (RFC 9865).
    ExpiredCursor,
}

impl ScimType {
    /// The keyword as it appears in an error body.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
        }
    }
}

/// A SCIM error: an HTTP status, an optional `scimType` and a detail a person can act on.
///
/// `source` carries an internal cause for the log; it is never rendered to the client.
#[derive(Clone)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: Cow<'static, str>,
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    /// Seconds after which the request may succeed (`Retry-After`), for 429.
    pub retry_after: Option<u64>,
}

impl fmt::Debug for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimError")
            .field("status", &self.status)
            .field("scim_type", &self.scim_type)
            .field("detail", &self.detail)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {}: {}", self.status, t.as_str(), self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for ScimError {}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<Cow<'static, str>>) -> Self {
        ScimError { status, scim_type, detail: detail.into(), source: None, retry_after: None }
    }

    /// 429: the client sent more requests than it may; it may try again after `retry_after`
    /// seconds. RFC 7644 defines no `scimType` for it.
    pub fn too_many_requests(detail: impl Into<Cow<'static, str>>, retry_after: u64) -> Self {
        ScimError { retry_after: Some(retry_after), ..Self::new(429, None, detail) }
    }

    /// Attach an internal cause, logged once and never shown to the client.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    pub fn invalid_filter(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, Some(ScimType::InvalidFilter), detail)
    }

    pub fn invalid_syntax(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, Some(ScimType::InvalidSyntax), detail)
    }

    pub fn invalid_value(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, Some(ScimType::InvalidValue), detail)
    }

    pub fn invalid_path(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, Some(ScimType::InvalidPath), detail)
    }

    pub fn no_target(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, Some(ScimType::NoTarget), detail)
    }

    pub fn too_many(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, Some(ScimType::TooMany), detail)
    }

    /// 400 `mutability`: the client tried to change an attribute it may not change.
    pub fn mutability(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, Some(ScimType::Mutability), detail)
    }

    /// 409 `uniqueness`: `attr "value" is already in use`.
    pub fn uniqueness(attr: &str, value: &str) -> Self {
        Self::new(
            409,
            Some(ScimType::Uniqueness),
            format!("{attr} \"{value}\" is already in use; choose another value or update the existing resource"),
        )
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(404, None, format!("{kind} {id} not found"))
    }

    pub fn precondition_failed(current: &str) -> Self {
        Self::new(
            412,
            None,
            format!("the resource has changed: its current version is {current}; fetch it again and retry with that If-Match"),
        )
    }

    pub fn unauthorized(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(401, None, detail)
    }

    pub fn forbidden(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(403, None, detail)
    }

    pub fn not_implemented(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(501, None, detail)
    }

    /// 500 with a fixed detail; the cause goes to the log only.
    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::new(500, None, "internal error; the server log has the cause").with_source(source)
    }
}
