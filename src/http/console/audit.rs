//! Audit log: the tenant's audit events, newest first, 50 to a page, filtered by time range,
//! actor (a token), resource id and operation, read with the service function that serves
//! `GET /scim/v2/Admin/AuditEvents`.
//!
//! The events come as the service recorded them: passwords are never in them.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use crate::http::console::chrome;
use crate::http::console::i18n::Lang;
use crate::http::console::layout::{self, error_page, Control};
use crate::http::console::session::Admin;
use crate::http::console::tokens::when;
use crate::http::AppState;
use crate::service::{AuditEvent, AuditPage, AuditParams, Operation};

/// Events a page shows.
const PAGE: i64 = 50;
/// A changed value longer than this is cut, with an ellipsis.
const VALUE_CHARS: usize = 160;

/// The filters as typed, and the first event shown.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    operation: String,
    start: Option<i64>,
}

/// A time as the service takes it: a browser's `datetime-local` value has no seconds, and every
/// time on this page is UTC.
fn instant(typed: &str) -> Option<String> {
    let t = typed.trim();
    match t.len() {
        0 => None,
        16 if t.as_bytes().get(10) == Some(&b'T') => Some(format!("{t}:00")),
        _ => Some(t.to_owned()),
    }
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

impl AuditQuery {
    fn start(&self) -> i64 {
        self.start.unwrap_or(1).max(1)
    }

    fn params(&self) -> AuditParams {
        AuditParams {
            since: instant(&self.since),
            until: instant(&self.until),
            actor: some(&self.actor),
            resource_id: some(&self.resource_id),
            operation: some(&self.operation),
            sort_order: Some("descending".into()),
            start_index: Some(self.start()),
            count: Some(PAGE),
            ..AuditParams::default()
        }
    }

    /// This page's filters, starting at `start`.
    fn link(&self, start: i64) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("since", &self.since)
            .append_pair("until", &self.until)
            .append_pair("actor", &self.actor)
            .append_pair("resource_id", &self.resource_id)
            .append_pair("operation", &self.operation)
            .append_pair("start", &start.to_string())
            .finish();
        format!("/admin/audit?{query}")
    }
}

/// The filter field a service refusal names (its detail starts with the parameter).
fn field_of(detail: &str) -> Option<&'static str> {
    [("since", "since"), ("until", "until"), ("actor", "actor"), ("operation", "operation")]
        .into_iter()
        .find(|(p, _)| detail.starts_with(p))
        .map(|(_, f)| f)
}

fn short(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > VALUE_CHARS {
        format!("{}…", text.chars().take(VALUE_CHARS).collect::<String>())
    } else {
        text
    }
}

/// An event's changes, a line per attribute: `before → after`, what members were added or
/// removed, or the value recorded (a mail's outcome and recipients).
fn change_lines(prefix: &str, changes: &Value, out: &mut Vec<(String, String)>) {
    let Some(map) = changes.as_object() else {
        if !changes.is_null() {
            out.push((prefix.to_owned(), short(changes)));
        }
        return;
    };
    for (key, v) in map {
        let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}:{key}") };
        let o = v.as_object();
        let has = |k: &str| o.is_some_and(|o| o.contains_key(k));
        if key.starts_with("urn:") && o.is_some() {
            change_lines(&name, v, out);
        } else if has("before") || has("after") || has("added") || has("removed") {
            let mut parts = Vec::new();
            if has("before") || has("after") {
                let side = |k: &str| v.get(k).map(short).unwrap_or_else(|| "(none)".into());
                parts.push(format!("{} → {}", side("before"), side("after")));
            }
            for k in ["added", "removed"] {
                if let Some(list) = v.get(k).and_then(Value::as_array) {
                    parts.push(format!(
                        "{k} {}",
                        short(&Value::String(list.iter().map(short).collect::<Vec<_>>().join(", ")))
                    ));
                }
            }
            out.push((name, parts.join("; ")));
        } else {
            out.push((name, short(v)));
        }
    }
}

fn lines(changes: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    change_lines("", changes, &mut out);
    out
}

fn resource(e: &AuditEvent) -> Markup {
    let href = match e.resource_type.as_str() {
        "User" => Some(format!("/admin/users/{}", e.resource_id)),
        "Group" => Some(format!("/admin/groups/{}", e.resource_id)),
        "Token" => Some("/admin/tokens".to_owned()),
        _ => None,
    };
    html! {
        (e.resource_type) " "
        @match href {
            Some(h) => a href=(h) { code { (e.resource_id) } },
            None => code { (e.resource_id) },
        }
    }
}

fn events_table(t: Lang, page: &AuditPage) -> Markup {
    html! {
        table {
            thead { tr { th { (t.t("Time")) } th { (t.t("Actor")) } th { (t.t("Operation")) } th { (t.t("Resource")) } th { (t.t("Changes")) } } }
            tbody {
                @for e in &page.events {
                    @let lines = lines(&e.changes);
                    tr {
                        td { (when(e.at)) }
                        td {
                            (e.actor.name)
                            @if let Some(tid) = e.actor.token_id { br; span.hint { (t.t("token ")) (tid) } }
                            @if let Some(c) = &e.actor.client { br; span.hint { (t.t("from ")) (c) } }
                        }
                        td { (e.operation.as_str()) }
                        td { (resource(e)) }
                        td {
                            @if lines.is_empty() { "—" }
                            @else {
                                ul.changes {
                                    @for (name, what) in &lines { li { code { (name) } ": " (what) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn list(State(s): State<AppState>, admin: Admin, Query(query): Query<AuditQuery>) -> Response {
    let t = admin.lang;
    let tokens = match s.service.tokens(&admin.caller).await {
        Ok(t) => t,
        Err(e) => return error_page(admin.lang, &e),
    };
    let (status, found, problem) = match s.service.audit_events(&admin.caller, &query.params()).await {
        Ok(page) => (StatusCode::OK, Some(page), None),
        Err(e) if e.status == 400 => (StatusCode::BAD_REQUEST, None, Some((field_of(&e.detail), e.detail.to_string()))),
        Err(e) => return error_page(admin.lang, &e),
    };
    let at = |field: &str| problem.as_ref().filter(|(f, _)| *f == Some(field)).map(|(_, d)| d.as_str());
    let actors: Vec<(String, String)> = std::iter::once((String::new(), t.t("Anyone").to_owned()))
        .chain(tokens.iter().map(|t| (t.id.to_string(), format!("{} (token {})", t.name, t.id))))
        .collect();
    let operations: Vec<(String, String)> = std::iter::once((String::new(), t.t("Any").to_owned()))
        .chain(Operation::ALL.iter().map(|o| (o.as_str().to_owned(), o.as_str().to_owned())))
        .collect();
    let start = query.start();
    let body = html! {
        form method="get" action="/admin/audit" role="search" {
            (layout::text(Control::new("since", t.t("From (UTC)"), &query.since).error(at("since")), "datetime-local"))
            (layout::text(Control::new("until", t.t("To (UTC)"), &query.until).error(at("until")), "datetime-local"))
            (layout::select(Control::new("actor", t.t("Actor"), &query.actor).error(at("actor")), &actors))
            (layout::text(Control::new("resource_id", t.t("Resource id"), &query.resource_id), "text"))
            (layout::select(Control::new("operation", t.t("Operation"), &query.operation).error(at("operation")), &operations))
            div.actions { button type="submit" { (t.t("Filter")) } a href="/admin/audit" { (t.t("Clear filters")) } }
        }
        @if let Some((None, e)) = &problem { p.error role="alert" { (e) } }
        @if let Some(page) = &found {
            @let shown = page.events.len() as i64;
            p { (t.count(page.total, "1 event", "{} events")) (t.t(", newest first.")) }
            @if shown > 0 { (events_table(t, page)) }
            nav.paging aria-label="Pages" {
                @if start > 1 { a href=(query.link((start - PAGE).max(1))) { (t.t("Newer events")) } }
                @if shown > 0 { span { (t.f("Events {}–{} of {}", &[&start.to_string(), &(start + shown - 1).to_string(), &page.total.to_string()])) } }
                @if shown > 0 && start + shown <= page.total as i64 { a href=(query.link(start + shown)) { (t.t("Older events")) } }
            }
        }
    };
    (status, layout::page("Audit log", &chrome(&admin, "/admin/audit"), body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_read_as_a_line_per_attribute() {
        let ext = "urn:scimd:schemas:extension:directory:2.0:User";
        let changes = json!({
            "displayName": {"before": "Ann", "after": "Ann Lee"},
            "password": {"after": "(set)"},
            "members": {"added": ["u1", "u2"]},
            ext: {"usageLocation": {"after": "NL"}},
            "outcome": "sent",
        });
        let lines = lines(&changes);
        let find = |k: &str| lines.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(find("displayName"), Some("Ann → Ann Lee"));
        assert_eq!(find("password"), Some("(none) → (set)"));
        assert_eq!(find("members"), Some("added u1, u2"));
        assert_eq!(find(&format!("{ext}:usageLocation")), Some("(none) → NL"));
        assert_eq!(find("outcome"), Some("sent"));
    }

    #[test]
    fn a_browsers_minute_is_sent_with_seconds() {
        assert_eq!(instant("2026-12-01T09:30").as_deref(), Some("2026-12-01T09:30:00"));
        assert_eq!(instant("2026-12-01T09:30:15Z").as_deref(), Some("2026-12-01T09:30:15Z"));
        assert_eq!(instant(" "), None);
    }
}
