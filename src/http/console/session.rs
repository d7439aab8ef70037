//! Admin-center sessions: a random id in an HttpOnly, SameSite=Strict cookie names a session kept
//! in this process's memory, which holds the admin token it was opened with and its CSRF token.
//!
//! Every request re-authenticates the token through the service's `Authenticator`, so a revoked
//! token ends its sessions; a session unused for `IDLE` is gone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::http::console::i18n::Lang;
use crate::http::console::import::ImportJob;
use crate::http::console::layout;
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::service::{Caller, Scope};

/// A session nobody has used for this long is signed out.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// The cookie that names a session.
pub const SESSION_COOKIE: &str = "scimd_session";
/// The cookie that carries the sign-in form's CSRF token before any session exists.
pub const SIGN_IN_COOKIE: &str = "scimd_sign_in";
/// Sessions held at most; beyond it the oldest-used go first.
const MAX_SESSIONS: usize = 10_000;

struct Session {
    /// The admin token the session was opened with; kept in memory only, never written out.
    token: String,
    csrf: String,
    last_used: Instant,
    /// A message for the next page shown, once ("user deleted").
    flash: Option<String>,
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

/// Every open session of this process.
#[derive(Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes, base64url: a session id or a CSRF token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Constant-time equality of two secrets.
pub fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Sessions {
    /// Opens a session for `token`; returns its id.
    pub fn open(&self, token: String, now: Instant) -> String {
        let id = random_token();
        if let Ok(mut open) = self.open.lock() {
            open.retain(|_, s| now.saturating_duration_since(s.last_used) < IDLE);
            if open.len() >= MAX_SESSIONS {
                if let Some(oldest) = open.iter().min_by_key(|(_, s)| s.last_used).map(|(k, _)| k.clone()) {
                    open.remove(&oldest);
                }
            }
            open.insert(
                id.clone(),
                Session { token, csrf: random_token(), last_used: now, flash: None, import: None, outcome: None },
            );
        }
        id
    }

    /// The session's token and CSRF token, marking it used; `None` when unknown or idle too long.
    fn touch(&self, id: &str, now: Instant) -> Option<(String, String)> {
        let mut open = self.open.lock().ok()?;
        let session = open.get_mut(id)?;
        if now.saturating_duration_since(session.last_used) >= IDLE {
            open.remove(id);
            return None;
        }
        session.last_used = now;
        Some((session.token.clone(), session.csrf.clone()))
    }

    pub fn close(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }

    /// Leaves a message for the session's next page.
    pub fn set_flash(&self, id: &str, message: String) {
        if let Some(s) = self.open.lock().ok().as_mut().and_then(|o| o.get_mut(id)) {
            s.flash = Some(message);
        }
    }

    /// The message left for this page, once.
    pub fn take_flash(&self, id: &str) -> Option<String> {
        self.open.lock().ok().as_mut().and_then(|o| o.get_mut(id)).and_then(|s| s.flash.take())
    }

    /// Keeps `outcome` for the session's next GET of its path; it replaces any not yet shown.
    pub fn set_outcome(&self, id: &str, outcome: Outcome) {
        if let Some(s) = self.open.lock().ok().as_mut().and_then(|o| o.get_mut(id)) {
            s.outcome = Some(outcome);
        }
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
}

impl Sessions {
    /// Starts `job` as the session's import, unless one is still running there.
    pub fn start_import(&self, id: &str, job: Arc<Mutex<ImportJob>>) -> bool {
        let Some(mut open) = self.open.lock().ok() else { return false };
        let Some(session) = open.get_mut(id) else { return false };
        if session.import.as_ref().is_some_and(|j| j.lock().is_ok_and(|j| j.running())) {
            return false;
        }
        session.import = Some(job);
        true
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

/// The caller an admin token stands for, or why the admin center refuses it.
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
        let (token, csrf) = state.console.touch(&id, Instant::now()).ok_or(Refusal::SignIn)?;
        let lang = Lang::of(&parts.headers);
        match authenticate(state, parts, &token).await {
            Ok(caller) => Ok(Admin { caller, session: id, csrf, lang }),
            // The token was revoked or expired: the session ends with it.
            Err(Ok(_)) => {
                state.console.close(&id);
                Err(Refusal::SignIn)
            }
            Err(Err(e)) => Err(Refusal::Page(layout::error_page(lang, &e))),
        }
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
    fn a_session_unused_for_the_idle_time_is_gone() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let id = sessions.open("secret".into(), start);
        assert!(sessions.touch(&id, start + IDLE / 2).is_some(), "in use");
        assert!(sessions.touch(&id, start + IDLE / 2 + IDLE - Duration::from_secs(1)).is_some(), "use renews it");
        assert!(sessions.touch(&id, start + IDLE * 3).is_none(), "idle too long");
        assert!(sessions.touch(&id, start + IDLE * 3).is_none(), "and removed");
    }

    #[test]
    fn an_outcome_is_shown_once_and_only_at_its_own_path() {
        let sessions = Sessions::default();
        let id = sessions.open("secret".into(), Instant::now());
        let outcome = |at| Outcome { at, title: "Results", current: "/admin/users", body: maud::html! { "made" } };
        sessions.set_outcome(&id, outcome("/admin/tokens/created"));

        assert!(sessions.take_outcome(&id, "/admin/bulk/results").is_none(), "another path");
        let shown = sessions.take_outcome(&id, "/admin/tokens/created").expect("its own path");
        assert_eq!(shown.body.into_string(), "made");
        assert!(sessions.take_outcome(&id, "/admin/tokens/created").is_none(), "once");
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
