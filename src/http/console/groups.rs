//! Groups: the tenant's groups (search by display name, paging), and a group's page with its
//! members a page at a time.
//!
//! A group may have 100,000 members: neither page loads them whole. The list asks for groups
//! without members, and a group's page reads one page of members after a position
//! (`Service::member_page`).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use crate::http::console::chrome;
use crate::http::console::layout::{self, error_page};
use crate::http::console::session::Admin;
use crate::http::console::tokens::when;
use crate::http::AppState;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::service::ListParams;

/// Groups a page of the list shows.
const PAGE: i64 = 20;
/// Members a page of a group shows.
pub const MEMBERS_PAGE: u64 = 50;

/// The Groups page's query: search text and first row.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    start: Option<i64>,
}

impl ListQuery {
    fn link(&self, start: i64) -> String {
        let q: String = url::form_urlencoded::byte_serialize(self.q.trim().as_bytes()).collect();
        format!("/admin/groups?q={q}&start={start}")
    }
}

fn display_name(doc: &Value) -> &str {
    doc.get("displayName").and_then(Value::as_str).unwrap_or("")
}

pub async fn list(State(s): State<AppState>, admin: Admin, Query(query): Query<ListQuery>) -> Response {
    let t = admin.lang;
    let search = query.q.trim();
    let filter = (!search.is_empty()).then(|| format!("displayName co {}", Value::String(search.to_owned())));
    let start = query.start.unwrap_or(1).max(1);
    let params = ListParams {
        filter,
        start_index: Some(start),
        count: Some(PAGE),
        sort_by: Some("displayName".into()),
        excluded_attributes: Some("members".into()),
        ..Default::default()
    };
    let page = match s.service.list(&admin.caller, ResourceKind::Group, &params).await {
        Ok(p) => p,
        Err(e) => return error_page(admin.lang, &e),
    };
    let shown = page.resources.len() as i64;
    let body = html! {
        form method="get" action="/admin/groups" role="search" {
            div.field {
                label for="q" { (t.t("Search groups")) }
                input type="search" id="q" name="q" value=(search);
                " " button type="submit" { (t.t("Search")) }
            }
        }
        p { (t.count(page.total, "1 group", "{} groups")) @if !search.is_empty() { (t.f(" matching “{}”", &[search])) } "." }
        @if shown > 0 {
            table {
                thead { tr { th { (t.t("Display name")) } th { (t.t("Created")) } th { (t.t("Last changed")) } } }
                tbody {
                    @for r in &page.resources {
                        tr {
                            td { a href=(format!("/admin/groups/{}", r.stored.id)) {
                                @if display_name(&r.stored.doc).is_empty() { (r.stored.id) } @else { (display_name(&r.stored.doc)) }
                            } }
                            td { (when(r.stored.created)) }
                            td { (when(r.stored.last_modified)) }
                        }
                    }
                }
            }
        }
        nav.paging aria-label="Pages" {
            @if start > 1 { a href=(query.link((start - PAGE).max(1))) { (t.t("Previous page")) } }
            @if shown > 0 { span { (t.f("Groups {}–{} of {}", &[&start.to_string(), &(start + shown - 1).to_string(), &page.total.to_string()])) } }
            @if shown > 0 && start + shown <= page.total as i64 { a href=(query.link(start + shown)) { (t.t("Next page")) } }
        }
    };
    layout::page("Groups", &chrome(&s, &admin, "/admin/groups"), body).into_response()
}

/// A group page's query: the member position to go on after, and how many members came before
/// it (for "Members 51–100").
#[derive(Debug, Default, Deserialize)]
pub struct GroupQuery {
    after: Option<i64>,
    #[serde(default)]
    shown: u64,
}

pub async fn show(
    State(s): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(query): Query<GroupQuery>,
) -> Response {
    let t = admin.lang;
    let without_members = match Projection::parse(None, Some("members")) {
        Ok(p) => p,
        Err(e) => return error_page(admin.lang, &e),
    };
    let group = match s.service.get(&admin.caller, ResourceKind::Group, &id, &without_members).await {
        Ok(g) => g,
        Err(e) => return error_page(admin.lang, &e),
    };
    let after = query.after.unwrap_or(0).max(0);
    let page = match s.service.member_page(&admin.caller, &id, after, MEMBERS_PAGE).await {
        Ok(p) => p,
        Err(e) => return error_page(admin.lang, &e),
    };
    let doc = &group.stored.doc;
    let name = if display_name(doc).is_empty() { id.clone() } else { display_name(doc).to_owned() };
    let before = if after == 0 { 0 } else { query.shown };
    let shown = page.members.len() as u64;
    let body = html! {
        dl {
            dt { (t.t("Id")) } dd { code { (group.stored.id) } }
            @if let Some(external) = doc.get("externalId").and_then(Value::as_str) { dt { (t.t("External id")) } dd { (external) } }
            dt { (t.t("Created")) } dd { (when(group.stored.created)) }
            dt { (t.t("Last changed")) } dd { (when(group.stored.last_modified)) }
        }
        h2 { (t.t("Members")) }
        p { (t.count(page.total, "1 member", "{} members")) "." }
        @if shown > 0 {
            table {
                thead { tr { th { (t.t("Name")) } th { (t.t("Type")) } } }
                tbody {
                    @for m in &page.members {
                        @let href = match m.kind {
                            ResourceKind::Group => format!("/admin/groups/{}", m.id),
                            ResourceKind::User | ResourceKind::License => format!("/admin/users/{}", m.id),
                        };
                        tr {
                            td { a href=(href) { (m.display.as_deref().unwrap_or(m.id.as_str())) } }
                            td { (m.kind.name()) }
                        }
                    }
                }
            }
        }
        nav.paging aria-label=(t.t("Member pages")) {
            @if after > 0 { a href=(format!("/admin/groups/{}", group.stored.id)) { (t.t("First page")) } }
            @if shown > 0 { span { (t.f("Members {}–{} of {}", &[&(before + 1).to_string(), &(before + shown).to_string(), &page.total.to_string()])) } }
            @if let Some(next) = page.next.filter(|_| before + shown < page.total) {
                a href=(format!("/admin/groups/{}?after={next}&shown={}", group.stored.id, before + shown)) { (t.t("Next page")) }
            }
        }
    };
    layout::page(&name, &chrome(&s, &admin, "/admin/groups"), body).into_response()
}
