//! The admin center's page shell (head, navigation, sign-out), its form controls with their
//! labels and field errors, and the error page; every page is built from these.
//!
//! Markup only: no service calls.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::http::console::i18n::Lang;
use crate::scim::error::ScimError;

/// The stylesheet, served from the binary at `/admin/assets/console.css`.
pub const CSS: &str = include_str!("../../../assets/console.css");

/// The navigation entries: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/admin/users", "Active users"),
    ("/admin/users/new", "Add user"),
    ("/admin/deleted", "Deleted users"),
    ("/admin/groups", "Groups"),
    ("/admin/licenses", "Licenses"),
    ("/admin/tokens", "Tokens"),
    ("/admin/import", "Import"),
    ("/admin/audit", "Audit log"),
];

/// Who is signed in, for the header and the sign-out form.
pub struct Chrome<'a> {
    pub tenant: &'a str,
    pub csrf: &'a str,
    /// The navigation entry this page belongs to.
    pub current: &'a str,
    /// A one-time message from the page before.
    pub flash: Option<String>,
    pub lang: Lang,
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (lang.t("scimd admin center")) }
            link rel="stylesheet" href="/admin/assets/console.css";
        }
    }
}

/// The header's link to the other language; it comes back to `back`.
fn switch(lang: Lang, back: &str) -> Markup {
    let (other, name) = lang.other();
    let href = format!(
        "/admin/language/{}?back={}",
        other.code(),
        url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
    );
    html! { a.switch href=(href) hreflang=(other.code()) lang=(other.code()) { (name) } }
}

/// A page of a signed-in administrator; its title is translated here.
pub fn page(title: &str, chrome: &Chrome, body: Markup) -> Markup {
    let lang = chrome.lang;
    let title = lang.text(title);
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body {
                header.top {
                    span.brand { (lang.t("scimd admin center")) }
                    span.tenant { (lang.t("Tenant: ")) strong { (chrome.tenant) } }
                    (switch(lang, chrome.current))
                    form method="post" action="/admin/sign-out" {
                        (csrf_field(chrome.csrf))
                        button type="submit" { (lang.t("Sign out")) }
                    }
                }
                nav aria-label=(lang.t("Admin center")) {
                    ul {
                        @for (href, label) in NAV {
                            li {
                                @if *href == chrome.current {
                                    a href=(href) aria-current="page" { (lang.t(label)) }
                                } @else {
                                    a href=(href) { (lang.t(label)) }
                                }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(flash) = &chrome.flash {
                        p.notice role="status" { (lang.text(flash)) }
                    }
                    (body)
                }
            }
        }
    }
}

/// A page with no session (sign-in, refusals); its title is translated here.
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    let title = lang.text(title);
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body {
                header.top { span.brand { (lang.t("scimd admin center")) } (switch(lang, "/admin/sign-in")) }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// An error as a page of its own, with the service's status and detail.
pub fn error_page(lang: Lang, e: &ScimError) -> Response {
    crate::service::log_internal(e);
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = match e.status {
        401 => "Sign-in failed",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict",
        429 => "Too many requests",
        s if s >= 500 => "Something went wrong",
        _ => "Cannot do that",
    };
    let body = html! {
        p.error role="alert" { (lang.text(&e.detail)) }
        p { a href="/admin/users" { (lang.t("Back to the admin center")) } }
    };
    (status, bare(lang, title, body)).into_response()
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A field's error, announced and tied to its control by `aria-describedby`.
pub fn field_error(id: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error {
            p.field-error id=(format!("{id}-error")) role="alert" { (e) }
        }
    }
}

fn described_by(id: &str, error: Option<&str>, hint: Option<&str>) -> Option<String> {
    let mut ids = Vec::new();
    if hint.is_some() {
        ids.push(format!("{id}-hint"));
    }
    if error.is_some() {
        ids.push(format!("{id}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// What a control shows: its id (also its name), label, value, error, hint, and whether it may
/// be changed.
pub struct Control<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub value: &'a str,
    pub error: Option<&'a str>,
    pub hint: Option<&'a str>,
    pub disabled: bool,
}

impl<'a> Control<'a> {
    pub fn new(id: &'a str, label: &'a str, value: &'a str) -> Control<'a> {
        Control { id, label, value, error: None, hint: None, disabled: false }
    }

    pub fn error(self, error: Option<&'a str>) -> Self {
        Control { error, ..self }
    }

    pub fn hint(self, hint: &'a str) -> Self {
        Control { hint: Some(hint), ..self }
    }

    pub fn disabled(self, disabled: bool) -> Self {
        Control { disabled, ..self }
    }
}

/// A labelled text input.
pub fn text(c: Control, kind: &str) -> Markup {
    html! {
        div.field {
            label for=(c.id) { (c.label) }
            @if let Some(h) = c.hint { p.hint id=(format!("{}-hint", c.id)) { (h) } }
            input type=(kind) id=(c.id) name=(c.id) value=(c.value) disabled[c.disabled]
                aria-invalid=[c.error.map(|_| "true")]
                aria-describedby=[described_by(c.id, c.error, c.hint)];
            (field_error(c.id, c.error))
        }
    }
}

/// A labelled select of (value, text) options.
pub fn select(c: Control, options: &[(String, String)]) -> Markup {
    html! {
        div.field {
            label for=(c.id) { (c.label) }
            @if let Some(h) = c.hint { p.hint id=(format!("{}-hint", c.id)) { (h) } }
            select id=(c.id) name=(c.id) disabled[c.disabled]
                aria-invalid=[c.error.map(|_| "true")]
                aria-describedby=[described_by(c.id, c.error, c.hint)] {
                @for (value, text) in options {
                    option value=(value) selected[value == c.value] { (text) }
                }
            }
            (field_error(c.id, c.error))
        }
    }
}

/// Hidden fields carrying values a page does not show (the wizard's other steps).
pub fn hidden(name: &str, values: &[String]) -> Markup {
    html! {
        @for v in values { input type="hidden" name=(name) value=(v); }
    }
}
