//! Tokens: the tenant's API tokens with their scopes, expiry, rate limit and state; Create (the
//! secret shown once, on the result page it redirects to) and Revoke after a confirmation,
//! through the service's token functions that `/scim/v2/Admin/Tokens` and `scimd token` use.
//!
//! The page never holds a secret but the one just created; the service stores only its hash.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::json;
use time::OffsetDateTime;

use crate::http::console::i18n::Lang;
use crate::http::console::layout::{self, csrf_field, error_page, Control};
use crate::http::console::session::{Admin, AdminForm, Outcome};
use crate::http::console::{chrome, redirect_to_outcome, show_outcome};
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::service::{Scope, TokenRecord};

/// The scopes a token may be given, with what each allows.
const SCOPES: [(Scope, &str); 4] = [
    (Scope::Read, "read users, groups and licenses"),
    (Scope::Write, "create, change and delete users and groups"),
    (Scope::Sync, "the on-premises directory connector: reads and writes synchronized users"),
    (Scope::Admin, "everything, including tokens, licenses and this admin center"),
];

/// A date and time as the pages show it: UTC, to the minute.
pub fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// When a token expires, or "Never".
fn expires(t: Lang, token: &TokenRecord) -> String {
    token.expires.map(when).unwrap_or_else(|| t.t("Never").into())
}

/// A token's own rate limit, or "Server default" when the server's applies.
fn rate_limit(t: Lang, token: &TokenRecord) -> String {
    token.rate_limit.map(|r| t.f("{} per second", &[&r.to_string()])).unwrap_or_else(|| t.t("Server default").into())
}

/// What was typed in the create form, and the service's refusal of it.
#[derive(Default)]
struct NewForm {
    name: String,
    scopes: Vec<String>,
    /// A lifetime such as `90d`, or empty for none.
    expires: String,
    /// Requests per second, or empty for the server's.
    rate_limit: String,
    /// (field, detail): `name`, `scopes`, `expires`, `rate_limit`, or `None` for the whole form.
    problem: Option<(Option<&'static str>, String)>,
}

impl NewForm {
    fn at(&self, field: &str) -> Option<&str> {
        self.problem.as_ref().filter(|(f, _)| *f == Some(field)).map(|(_, d)| d.as_str())
    }

    /// The body `POST /Admin/Tokens` takes. A rate limit that is not a number goes as the text
    /// typed, for the service to refuse with its own message.
    fn body(&self) -> serde_json::Value {
        let mut body = json!({"name": self.name, "scopes": self.scopes});
        if !self.expires.is_empty() {
            body["expires"] = json!(self.expires);
        }
        if !self.rate_limit.is_empty() {
            body["rateLimit"] = self.rate_limit.parse::<u64>().map_or_else(|_| json!(self.rate_limit), |n| json!(n));
        }
        body
    }
}

/// The form field a refusal of the service concerns, by the attribute its detail starts with.
fn field_of(detail: &str) -> Option<&'static str> {
    if detail.starts_with("name") {
        Some("name")
    } else if detail.starts_with("expires") {
        Some("expires")
    } else if detail.starts_with("rateLimit") {
        Some("rate_limit")
    } else if detail.contains("scope") {
        Some("scopes")
    } else {
        None
    }
}

fn list_page(admin: &Admin, tokens: &[TokenRecord], form: &NewForm, problem: Option<&str>) -> Markup {
    let t = admin.lang;
    let now = OffsetDateTime::now_utc();
    let scopes_error = form.at("scopes");
    let body = html! {
        @if let Some(e) = problem { p.error role="alert" { (e) } }
        @if let Some((None, e)) = &form.problem { p.error role="alert" { (e) } }
        p { "Tokens let programs, such as a provisioning client or the on-premises directory connector, use \
             the SCIM API of this tenant. A revoked token stops working at once." }
        table {
            thead { tr { th { (t.t("Name")) } th { (t.t("Scopes")) } th { (t.t("Created")) } th { (t.t("Last used")) } th { (t.t("Expires")) } th { (t.t("Rate limit")) } th { (t.t("State")) } th { span.visually-hidden { (t.t("Action")) } } } }
            tbody {
                @for tok in tokens {
                    @let state = tok.state(now);
                    tr {
                        td { (tok.name) }
                        td { (tok.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) }
                        td { (when(tok.created)) }
                        td { (tok.last_used.map(when).unwrap_or_else(|| t.t("Never").into())) }
                        td { (expires(t, tok)) }
                        td { (rate_limit(t, tok)) }
                        td { (t.t(state.as_str())) }
                        td {
                            @if state == crate::service::TokenState::Active {
                                a href=(format!("/admin/tokens/{}/revoke", tok.id)) aria-label=(format!("Revoke {}", tok.name)) { (t.t("Revoke")) }
                            }
                        }
                    }
                }
            }
        }
        h2 { (t.t("Create a token")) }
        form method="post" action="/admin/tokens" {
            (csrf_field(&admin.csrf))
            (layout::text(Control::new("name", t.t("Token name"), &form.name)
                .hint(t.t("Who or what will use it, such as the name of the provisioning client."))
                .error(form.at("name")), "text"))
            fieldset aria-describedby=[scopes_error.map(|_| "scopes-error")] {
                legend { (t.t("Scopes")) }
                @for (scope, what) in SCOPES {
                    @let id = format!("scope-{}", scope.as_str());
                    div {
                        input type="checkbox" id=(id) name="scope" value=(scope.as_str())
                            checked[form.scopes.iter().any(|s| s == scope.as_str())];
                        " "
                        label for=(id) { (scope.as_str()) ": " (t.t(what)) }
                    }
                }
                (layout::field_error("scopes", scopes_error))
            }
            (layout::text(Control::new("expires", t.t("Lifetime"), &form.expires)
                .hint(t.t("Such as 90d, 12h or 30m, at most 36500 days; leave it empty for a token that does not expire."))
                .error(form.at("expires")), "text"))
            (layout::text(Control::new("rate_limit", t.t("Rate limit (requests per second)"), &form.rate_limit)
                .hint(t.t("Leave it empty for the server's own limit (--rate-limit), if it has one."))
                .error(form.at("rate_limit")), "text"))
            div.actions { button type="submit" { (t.t("Create token")) } }
        }
    };
    layout::page("Tokens", &chrome(admin, "/admin/tokens"), body)
}

async fn list_with(s: &AppState, admin: &Admin, status: StatusCode, form: &NewForm, problem: Option<&str>) -> Response {
    match s.service.tokens(&admin.caller).await {
        Ok(tokens) => (status, list_page(admin, &tokens, form, problem)).into_response(),
        Err(e) => error_page(admin.lang, &e),
    }
}

pub async fn list(State(s): State<AppState>, admin: Admin) -> Response {
    list_with(&s, &admin, StatusCode::OK, &NewForm::default(), None).await
}

/// The page that shows a new token's secret, once.
const CREATED: &str = "/admin/tokens/created";

/// Create: the service checks the name and scopes as it does for `POST /Admin/Tokens`; the
/// secret is on the page this redirects to, shown once.
pub async fn create(State(s): State<AppState>, AdminForm { admin, fields }: AdminForm) -> Response {
    let t = admin.lang;
    let form = NewForm {
        name: fields.get("name").to_owned(),
        scopes: fields.all("scope"),
        expires: fields.get("expires").to_owned(),
        rate_limit: fields.get("rate_limit").to_owned(),
        problem: None,
    };
    match s.service.create_token(&admin.caller, form.body()).await {
        Ok((token, secret)) => {
            let body = html! {
                p.notice role="status" { (t.f("Created the token {} with the scopes {}.", &[&token.name,
                    &token.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")])) }
                dl {
                    dt { (t.t("Expires")) } dd { (expires(t, &token)) }
                    dt { (t.t("Rate limit")) } dd { (rate_limit(t, &token)) }
                }
                div.field {
                    label for="secret" { (t.t("Secret")) }
                    p.hint id="secret-hint" { strong { (t.t("Copy it now: it will not be shown again.")) } (t.t(" scimd keeps only a \
                        hash of it, so a lost secret cannot be recovered; revoke the token and create another.")) }
                    input.secret type="text" id="secret" name="secret" value=(secret) readonly aria-describedby="secret-hint";
                }
                p { (t.t("Programs send it as ")) code { "Authorization: Bearer …" } (t.t(" to /scim/v2.")) }
                p { a href="/admin/tokens" { (t.t("Back to the tokens")) } }
            };
            let outcome = Outcome { at: CREATED, title: "Token created", current: "/admin/tokens", body };
            redirect_to_outcome(&s, &admin, outcome)
        }
        Err(e) => {
            crate::service::log_internal(&e);
            let field = field_of(&e.detail);
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            let form = NewForm { problem: Some((field, e.detail.to_string())), ..form };
            list_with(&s, &admin, status, &form, None).await
        }
    }
}

/// The new token's page; a refresh of it finds the secret gone and shows the tokens.
pub async fn created(State(s): State<AppState>, admin: Admin) -> Response {
    show_outcome(&s, &admin, CREATED, "/admin/tokens")
}

/// The token `id` of the tenant, or its 404.
async fn find(s: &AppState, admin: &Admin, id: &str) -> Result<TokenRecord, ScimError> {
    let tokens = s.service.tokens(&admin.caller).await?;
    tokens.into_iter().find(|t| t.id.to_string() == id).ok_or_else(|| ScimError::not_found("Token", id))
}

/// Revoke's confirmation: what the token is and what revoking it does.
pub async fn confirm(State(s): State<AppState>, admin: Admin, Path(id): Path<String>) -> Response {
    let t = admin.lang;
    let token = match find(&s, &admin, &id).await {
        Ok(t) => t,
        Err(e) => return error_page(admin.lang, &e),
    };
    let own = token.id == admin.caller.principal.token_id;
    let body = html! {
        p { (t.f("Revoke the token {} (scopes {})? Every program using it is refused from then on; this cannot be undone.",
            &[&token.name, &token.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")])) }
        @if own {
            p.readonly role="note" { (t.t("This is the token you signed in with: revoking it signs you out.")) }
        }
        form method="post" action=(format!("/admin/tokens/{}/revoke", token.id)) {
            (csrf_field(&admin.csrf))
            div.actions {
                button.danger type="submit" { (t.t("Revoke")) }
                a href="/admin/tokens" { (t.t("Cancel")) }
            }
        }
    };
    layout::page(&t.f("Revoke {}", &[&token.name]), &chrome(&admin, "/admin/tokens"), body).into_response()
}

pub async fn revoke(State(s): State<AppState>, Path(id): Path<String>, AdminForm { admin, .. }: AdminForm) -> Response {
    let token = match find(&s, &admin, &id).await {
        Ok(t) => t,
        Err(e) => return error_page(admin.lang, &e),
    };
    match s.service.revoke_token(&admin.caller, &id).await {
        Ok(()) => {
            super::flash(&s, &admin, admin.lang.f("Revoked the token {}.", &[&token.name])).await;
            Redirect::to("/admin/tokens").into_response()
        }
        Err(e) => {
            crate::service::log_internal(&e);
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            list_with(&s, &admin, status, &NewForm::default(), Some(&e.detail)).await
        }
    }
}
