//! Admin-center sessions: a random id in an HttpOnly, SameSite=Strict cookie names a session the
//! service keeps in the store; what a session holds that must stay in this process is here.
//!
//! Every request reads the session with its token, so a revoked token ends its sessions on
//! every process. A result page that shows a secret once, and a running import, stay in the
//! memory of the process that made them (`Sessions`) and are never written to the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;

pub use crate::auth::random_token;
use crate::http::console::i18n::Lang;
use crate::http::console::import::ImportJob;
use crate::http::console::layout;
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::service::{Caller, Scope};

/// A session nobody has used for this long is signed out.
pub const IDLE: Duration = crate::service::SESSION_IDLE;
/// The cookie that names a session.
pub const SESSION_COOKIE: &str = "scimd_session";
/// The cookie that carries the sign-in form's CSRF token before any session exists.
pub const SIGN_IN_COOKIE: &str = "scimd_sign_in";
/// Sessions whose results this process holds at most; beyond it the oldest-used go first.
const MAX_SESSIONS: usize = 10_000;

/// What one session keeps in this process only.
struct Local {
    last_used: Instant,
    /// The session's last import, running or done, with its report; it goes with the session.
    import: Option<Arc<Mutex<ImportJob>>>,
    /// The page a form's POST made, for the GET it redirects to, once.
    outcome: Option<Outcome>,
}

/// A result page made by a POST (a new token's secret, the user just created, a bulk edit's
/// results), held for the one GET the POST redirects to: a refresh of that page sends nothing
/// again, and what it showed once (a secret, a temporary password) is gone.
pub struct Outcome {
    /// The path that shows it.
    pub at: &'static str,
    /// The page's English title.
    pub title: &'static str,
    /// The navigation entry it belongs to.
    pub current: &'static str,
    pub body: maud::Markup,
}

/// The results and imports of the sessions this process served, by session id.
#[derive(Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Local>>,
}

/// Constant-time equality of two secrets.
pub fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Sessions {
    /// Runs `f` on the session's entry, made if new; entries idle for `IDLE` go first, and
    /// beyond `MAX_SESSIONS` the oldest-used.
    fn with<T>(&self, id: &str, now: Instant, f: impl FnOnce(&mut Local) -> T) -> Option<T> {
        let mut open = self.open.lock().ok()?;
        if !open.contains_key(id) {
            open.retain(|_, s| now.saturating_duration_since(s.last_used) < IDLE);
            if open.len() >= MAX_SESSIONS {
                if let Some(oldest) = open.iter().min_by_key(|(_, s)| s.last_used).map(|(k, _)| k.clone()) {
                    open.remove(&oldest);
                }
            }
        }
        let local = open.entry(id.to_owned()).or_insert(Local { last_used: now, import: None, outcome: None });
        local.last_used = now;
        Some(f(local))
    }

    /// Marks the session used, if this process holds anything of it.
    fn seen(&self, id: &str, now: Instant) {
        if let Some(local) = self.open.lock().ok().as_mut().and_then(|o| o.get_mut(id)) {
            local.last_used = now;
        }
    }

    /// Drops what this process holds of a session that ended.
    pub fn forget(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }

    /// Keeps `outcome` for the session's next GET of its path; it replaces any not yet shown.
    pub fn set_outcome(&self, id: &str, outcome: Outcome) {
        self.with(id, Instant::now(), |s| s.outcome = Some(outcome));
    }

    /// The outcome kept for the path `at`, once; one kept for another path stays.
    pub fn take_outcome(&self, id: &str, at: &str) -> Option<Outcome> {
        let mut open = self.open.lock().ok()?;
        let session = open.get_mut(id)?;
        if session.outcome.as_ref()?.at != at {
            return None;
        }
        session.outcome.take()
    }

    /// Starts `job` as the session's import, unless one is still running there.
    pub fn start_import(&self, id: &str, job: Arc<Mutex<ImportJob>>) -> bool {
        self.with(id, Instant::now(), |session| {
            if session.import.as_ref().is_some_and(|j| j.lock().is_ok_and(|j| j.running())) {
                return false;
            }
            session.import = Some(job);
            true
        })
        .unwrap_or(false)
    }

    /// The session's last import.
    pub fn import(&self, id: &str) -> Option<Arc<Mutex<ImportJob>>> {
        self.open.lock().ok()?.get(id)?.import.clone()
    }

    /// Bytes of import reports kept by every session, for the bound on all of them.
    pub fn kept_report_bytes(&self) -> usize {
        let Ok(open) = self.open.lock() else { return usize::MAX };
        open.values().filter_map(|s| s.import.as_ref()).filter_map(|j| j.lock().ok().map(|j| j.kept_bytes())).sum()
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Whether the browser reached us over TLS: scimd serves plain HTTP itself, so only a trusted
/// proxy's `X-Forwarded-Proto: https` says so.
fn over_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.listener_tls
        || state.trust_forwarded_headers
            && headers
                .get("x-forwarded-proto")
                .and_then(|h| h.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for the admin center: HttpOnly, SameSite=Strict, Path=/admin, Secure
/// under TLS; `None` as the value removes the cookie.
pub fn set_cookie(state: &AppState, headers: &HeaderMap, name: &str, value: Option<&str>) -> HeaderValue {
    let secure = if over_tls(state, headers) { "; Secure" } else { "" };
    let text = match value {
        Some(v) => format!("{name}={v}; HttpOnly; SameSite=Strict; Path=/admin{secure}"),
        None => format!("{name}=; HttpOnly; SameSite=Strict; Path=/admin; Max-Age=0{secure}"),
    };
    // Ids are base64url, which a header value always holds.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A signed-in administrator: the caller the service sees, the session's id and CSRF token.
pub struct Admin {
    pub caller: Caller,
    pub session: String,
    pub csrf: String,
    /// The message left for this page, if it is a GET.
    pub flash: Option<String>,
    /// The language of the pages shown to this request.
    pub lang: Lang,
}

/// Why a request has no signed-in administrator: sign in again, or a page saying why not.
pub enum Refusal {
    SignIn,
    Page(Response),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::SignIn => Redirect::to("/admin/sign-in").into_response(),
            Refusal::Page(r) => r,
        }
    }
}

/// The caller an admin token stands for (at sign-in), or why the admin center refuses it.
pub async fn authenticate(
    state: &AppState,
    parts: &Parts,
    token: &str,
) -> Result<Caller, Result<ScimError, ScimError>> {
    let principal = state.auth.authenticate(Some(&format!("Bearer {token}"))).await.map_err(Ok)?;
    principal.require(Scope::Admin).map_err(|_| Err(not_admin(&principal.scopes)))?;
    state.admit(&principal).map_err(Err)?;
    let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok(Caller::new(principal, request_id, crate::http::extract::client_address(state, parts)))
}

/// The refusal of a token without the admin scope.
pub fn not_admin(scopes: &[Scope]) -> ScimError {
    let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    ScimError::forbidden(format!(
        "this token has the scope{} {} and cannot open the admin center: sign in with a token that has the admin \
         scope (scimd token create --scope admin)",
        if scopes.len() == 1 { "" } else { "s" },
        scopes.join(", ")
    ))
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let id = cookie(&parts.headers, SESSION_COOKIE).ok_or(Refusal::SignIn)?;
        let lang = Lang::of(&parts.headers);
        // Only a GET shows a page that has room for the message.
        let take_flash = parts.method == Method::GET;
        let session = match state.service.console_session(&id, take_flash).await {
            Ok(Some(session)) => session,
            // Unknown, idle too long, or its token was revoked or expired.
            Ok(None) => {
                state.console.forget(&id);
                return Err(Refusal::SignIn);
            }
            Err(e) => return Err(Refusal::Page(layout::error_page(lang, &e))),
        };
        let principal = session.principal;
        principal
            .require(Scope::Admin)
            .map_err(|_| Refusal::Page(layout::error_page(lang, &not_admin(&principal.scopes))))?;
        state.admit(&principal).map_err(|e| Refusal::Page(layout::error_page(lang, &e)))?;
        state.console.seen(&id, Instant::now());
        let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let caller = Caller::new(principal, request_id, crate::http::extract::client_address(state, parts));
        Ok(Admin { caller, session: id, csrf: session.csrf, flash: session.flash, lang })
    }
}

/// A form's fields in order, repeated names kept (`application/x-www-form-urlencoded`).
#[derive(Debug, Default, Clone)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Fields {
        Fields(url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of `name`, trimmed; `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or("")
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

/// A POSTed form of a signed-in administrator whose CSRF token matched the session's; every
/// admin-center POST but the sign-in's takes one, so none can skip the check.
pub struct AdminForm {
    pub admin: Admin,
    pub fields: Fields,
}

impl FromRequest<AppState> for AdminForm {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let admin = Admin::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            Refusal::Page(layout::error_page(
                admin.lang,
                &ScimError::invalid_value("the form could not be read; send it again"),
            ))
        })?;
        let fields = Fields::parse(&bytes);
        if !same(fields.get("csrf"), &admin.csrf) {
            return Err(Refusal::Page(csrf_refused(admin.lang)));
        }
        Ok(AdminForm { admin, fields })
    }
}

/// A file sent with a multipart form.
pub struct Upload {
    pub name: String,
    pub data: Bytes,
}

/// A POSTed `multipart/form-data` form of a signed-in administrator (a file upload): its CSRF
/// field must come before any file and match the session's, so no file is read for a forged
/// form. `file` is the file field's content, or why it could not be read (too large).
pub struct AdminUpload {
    pub admin: Admin,
    pub fields: Fields,
    pub file: Result<Option<Upload>, String>,
}

impl FromRequest<AppState> for AdminUpload {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let admin = Admin::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let lang = admin.lang;
        let unreadable = || {
            Refusal::Page(layout::error_page(
                lang,
                &ScimError::invalid_value("the form could not be read; send it again"),
            ))
        };
        let mut multipart = axum::extract::Multipart::from_request(req, state).await.map_err(|_| unreadable())?;
        let mut fields = Fields::default();
        let mut file = Ok(None);
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                // Only a file can be this large; the other fields are checked below.
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    file = Err(too_large(lang));
                    break;
                }
                Err(_) => return Err(unreadable()),
            };
            let name = field.name().unwrap_or_default().to_owned();
            if let Some(file_name) = field.file_name().map(str::to_owned) {
                if !same(fields.get("csrf"), &admin.csrf) {
                    return Err(Refusal::Page(csrf_refused(lang)));
                }
                file = match field.bytes().await {
                    Ok(data) if data.len() > crate::service::MAX_IMPORT_BYTES => Err(too_large(lang)),
                    Ok(data) if data.is_empty() && file_name.is_empty() => Ok(None),
                    Ok(data) => Ok(Some(Upload { name: file_name, data })),
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large(lang)),
                    Err(_) => return Err(unreadable()),
                };
            } else {
                let value = field.text().await.map_err(|_| unreadable())?;
                fields.0.push((name, value));
            }
        }
        if !same(fields.get("csrf"), &admin.csrf) {
            return Err(Refusal::Page(csrf_refused(lang)));
        }
        Ok(AdminUpload { admin, fields, file })
    }
}

fn too_large(lang: Lang) -> String {
    let mib = (crate::service::MAX_IMPORT_BYTES / (1024 * 1024)).to_string();
    lang.f("the file is larger than {} MiB, the most an import takes: split it into smaller files", &[&mib])
}

/// The page for a form that came without the session's CSRF token: nothing was changed.
pub fn csrf_refused(lang: Lang) -> Response {
    let e = ScimError::forbidden(
        "this form did not carry the page's security token, so nothing was changed: open the page again from the \
         admin center and send it from there",
    );
    let mut r = layout::error_page(lang, &e);
    *r.status_mut() = StatusCode::FORBIDDEN;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_session_idle_for_the_idle_time_kept_here_goes_when_another_keeps_something() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let outcome =
            || Outcome { at: "/admin/tokens/created", title: "t", current: "/admin/tokens", body: maud::html! {} };
        sessions.with("idle", start, |s| s.outcome = Some(outcome()));
        sessions.with("used", start, |s| s.outcome = Some(outcome()));
        sessions.seen("used", start + IDLE / 2);

        sessions.with("new", start + IDLE + Duration::from_secs(1), |_| ());

        assert!(sessions.take_outcome("idle", "/admin/tokens/created").is_none(), "idle too long");
        assert!(sessions.take_outcome("used", "/admin/tokens/created").is_some(), "seen since");
    }

    #[test]
    fn an_outcome_is_shown_once_and_only_at_its_own_path() {
        let sessions = Sessions::default();
        let id = "session";
        let outcome = |at| Outcome { at, title: "Results", current: "/admin/users", body: maud::html! { "made" } };
        sessions.set_outcome(id, outcome("/admin/tokens/created"));

        assert!(sessions.take_outcome(id, "/admin/bulk/results").is_none(), "another path");
        let shown = sessions.take_outcome(id, "/admin/tokens/created").expect("its own path");
        assert_eq!(shown.body.into_string(), "made");
        assert!(sessions.take_outcome(id, "/admin/tokens/created").is_none(), "once");
        assert!(sessions.take_outcome("no-such-session", "/admin/tokens/created").is_none());
    }

    #[test]
    fn cookies_are_found_by_exact_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; scimd_session_x=2; scimd_session=abc"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn repeated_form_fields_are_all_kept() {
        let f = Fields::parse(b"license=a&license=b&name=%20Ann+Lee%20");
        assert_eq!(f.all("license"), ["a", "b"]);
        assert_eq!(f.get("name"), "Ann Lee");
        assert_eq!(f.get("absent"), "");
    }
}
