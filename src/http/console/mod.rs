//! The admin center at `/admin`: server-rendered pages for administrators, signed in with an
//! admin token, that call the same service functions as the SCIM API with the token's `Caller`.
//!
//! Imports `service`, `scim` and `directory` names only; no SQL and no `store`.

mod audit;
mod bulk;
mod form;
mod groups;
pub mod i18n;
pub mod import;
mod layout;
mod licenses;
pub mod session;
mod tokens;
mod users;
mod wizard;

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;

use crate::http::AppState;
use i18n::Lang;
pub use session::Sessions;
use session::{cookie, csrf_refused, random_token, same, set_cookie, Admin, AdminForm, Fields, SIGN_IN_COOKIE};

/// Every admin-center route; `http::router` mounts them beside the SCIM API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/assets/console.css", get(stylesheet))
        .route("/admin/sign-in", get(sign_in_page).post(sign_in))
        .route("/admin/sign-out", post(sign_out))
        .route("/admin/language/{lang}", get(language))
        .route("/admin/users", get(users::list))
        .route("/admin/users/new", get(wizard::start).post(wizard::step))
        .route("/admin/users/new/results", get(wizard::results))
        .route("/admin/users/{id}", get(users::edit).post(users::save))
        .route("/admin/users/{id}/delete", post(users::delete))
        .route("/admin/bulk", post(bulk::step))
        .route("/admin/bulk/results", get(bulk::results))
        .route("/admin/deleted", get(users::deleted))
        .route("/admin/deleted/{id}/restore", post(users::restore))
        .route("/admin/groups", get(groups::list).post(groups::create))
        .route("/admin/groups/{id}", get(groups::show))
        .route("/admin/groups/{id}/rename", post(groups::rename))
        .route("/admin/groups/{id}/members", post(groups::add_member))
        .route("/admin/groups/{id}/members/{member}/remove", post(groups::remove_member))
        .route("/admin/groups/{id}/delete", post(groups::delete))
        .route("/admin/licenses", get(licenses::list))
        .route("/admin/audit", get(audit::list))
        .route(
            "/admin/import",
            get(import::form).post(import::upload).layer(DefaultBodyLimit::max(import::MAX_UPLOAD_BYTES)),
        )
        .route("/admin/import/results", get(import::results))
        .route("/admin/import/report.csv", get(import::report))
        .route("/admin/tokens", get(tokens::list).post(tokens::create))
        .route("/admin/tokens/created", get(tokens::created))
        .route("/admin/tokens/{id}/revoke", get(tokens::confirm).post(tokens::revoke))
        .layer(axum::middleware::map_response(protect))
}

/// Headers on every admin-center answer: pages are never stored (a Results page shows a
/// temporary password), framed by another site, or given scripts, styles or form targets from
/// elsewhere; links leak no address.
async fn protect(mut r: Response) -> Response {
    let headers = r.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, header::HeaderValue::from_static(value));
        }
    }
    r
}

/// The chrome of a signed-in page, with the session's one-time message.
fn chrome<'a>(admin: &'a Admin, current: &'a str) -> layout::Chrome<'a> {
    layout::Chrome {
        tenant: &admin.caller.principal.tenant_name,
        csrf: &admin.csrf,
        current,
        flash: admin.flash.clone(),
        lang: admin.lang,
    }
}

/// Leaves a message for the session's next page, on whichever process serves it; the change it
/// reports is made, so a message that cannot be kept is logged rather than shown as a failure.
async fn flash(state: &AppState, admin: &Admin, message: String) {
    if let Err(e) = state.service.set_console_flash(&admin.session, &message).await {
        tracing::warn!(error = %e, "could not keep an admin-center message");
    }
}

/// Post/Redirect/Get: keeps the page a POST made and sends the browser to `outcome.at`, whose
/// GET shows it through `show_outcome`; a refresh there repeats nothing.
fn redirect_to_outcome(state: &AppState, admin: &Admin, outcome: session::Outcome) -> Response {
    let at = outcome.at;
    state.console.set_outcome(&admin.session, outcome);
    Redirect::to(at).into_response()
}

/// The page kept for `at`, once; later (a refresh, a bookmark) the browser goes to `otherwise`.
fn show_outcome(state: &AppState, admin: &Admin, at: &str, otherwise: &str) -> Response {
    match state.console.take_outcome(&admin.session, at) {
        Some(o) => layout::page(o.title, &chrome(admin, o.current), o.body).into_response(),
        None => Redirect::to(otherwise).into_response(),
    }
}

async fn home(_admin: Admin) -> Redirect {
    Redirect::to("/admin/users")
}

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], layout::CSS)
        .into_response()
}

fn sign_in_form(lang: Lang, csrf: &str, error: Option<&str>) -> maud::Markup {
    layout::bare(
        lang,
        "Sign in",
        html! {
            p { (lang.t("Sign in with a token that has the admin scope, such as one made by "))
                code { "scimd token create --scope admin" } "." }
            form method="post" action="/admin/sign-in" {
                (layout::csrf_field(csrf))
                (layout::text(layout::Control::new("token", lang.t("Admin token"), "").error(error), "password"))
                div.actions { button type="submit" { (lang.t("Sign in")) } }
            }
        },
    )
}

/// The header's language switch: remembers the choice in a cookie and goes back to the page
/// it came from (a path of the admin center only, so the link cannot send anyone elsewhere).
async fn language(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    req: Request,
) -> Response {
    let Some(lang) = Lang::from_code(&code) else {
        return layout::error_page(
            Lang::of(req.headers()),
            &crate::scim::error::ScimError::not_found("Language", &code),
        );
    };
    let back = q.get("back").map(String::as_str).unwrap_or("/admin");
    let local = back.starts_with("/admin") && !back.contains("//") && !back.contains('\\') && !back.contains("..");
    let mut r = Redirect::to(if local { back } else { "/admin" }).into_response();
    r.headers_mut().insert(header::SET_COOKIE, set_cookie(&s, req.headers(), i18n::LANG_COOKIE, Some(lang.code())));
    r
}

/// The sign-in page; its form's CSRF token also goes into a cookie of its own, since no
/// session exists yet, and the two must match when it is sent.
async fn sign_in_page(State(s): State<AppState>, req: Request) -> Response {
    let csrf = random_token();
    let cookie = set_cookie(&s, req.headers(), SIGN_IN_COOKIE, Some(&csrf));
    ([(header::SET_COOKIE, cookie)], sign_in_form(Lang::of(req.headers()), &csrf, None)).into_response()
}

async fn sign_in(State(s): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let lang = Lang::of(&parts.headers);
    let Ok(bytes) = axum::body::to_bytes(body, crate::service::MAX_BODY_BYTES).await else {
        return csrf_refused(lang);
    };
    let fields = Fields::parse(&bytes);
    let expected = cookie(&parts.headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(fields.get("csrf"), &expected) {
        return csrf_refused(lang);
    }
    let token = fields.get("token");
    match session::authenticate(&s, &parts, token).await {
        Ok(caller) => {
            let id = match s.service.open_console_session(&caller.principal).await {
                Ok(id) => id,
                Err(e) => return layout::error_page(lang, &e),
            };
            let mut r = Redirect::to("/admin/users").into_response();
            let headers = r.headers_mut();
            headers.append(header::SET_COOKIE, set_cookie(&s, &parts.headers, session::SESSION_COOKIE, Some(&id)));
            headers.append(header::SET_COOKIE, set_cookie(&s, &parts.headers, SIGN_IN_COOKIE, None));
            r
        }
        Err(Ok(e)) => {
            let detail = if token.is_empty() { lang.t("Enter an admin token.") } else { &e.detail };
            (StatusCode::UNAUTHORIZED, sign_in_form(lang, &expected, Some(detail))).into_response()
        }
        Err(Err(e)) => layout::error_page(lang, &e),
    }
}

async fn sign_out(State(s): State<AppState>, form: AdminForm) -> Response {
    if let Err(e) = s.service.close_console_session(&form.admin.session).await {
        return layout::error_page(form.admin.lang, &e);
    }
    s.console.forget(&form.admin.session);
    let mut r = Redirect::to("/admin/sign-in").into_response();
    // The cookie's attributes, Secure included, only matter when setting it; removal needs none.
    let value = "scimd_session=; HttpOnly; SameSite=Strict; Path=/admin; Max-Age=0";
    r.headers_mut().insert(header::SET_COOKIE, header::HeaderValue::from_static(value));
    r
}
