//! Groups: the tenant's groups (search, paging, Create), and a group's page with its members a
//! page at a time, Rename, Add member, Remove and Delete, each one call of the service.
//!
//! A group may have 100,000 members: no page loads them whole. The list asks for groups without
//! members, a group's page reads one page of members after a position (`Service::member_page`),
//! and every change is answered without members.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::console::chrome;
use crate::http::console::layout::{self, csrf_field, error_page, Control};
use crate::http::console::session::{Admin, AdminForm};
use crate::http::console::tokens::when;
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::scim::projection::Projection;
use crate::scim::schema::{ResourceKind, CORE_GROUP};
use crate::service::ListParams;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

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
    list_with(&s, &admin, &query, StatusCode::OK, "", None).await
}

/// The list with the create form holding `name` and the service's refusal of it.
async fn list_with(
    s: &AppState,
    admin: &Admin,
    query: &ListQuery,
    status: StatusCode,
    name: &str,
    error: Option<&str>,
) -> Response {
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
        h2 { (t.t("Create a group")) }
        form method="post" action="/admin/groups" {
            (csrf_field(&admin.csrf))
            (layout::text(Control::new("display_name", t.t("Group name"), name).error(error), "text"))
            div.actions { button type="submit" { (t.t("Create group")) } }
        }
    };
    (status, layout::page("Groups", &chrome(admin, "/admin/groups"), body)).into_response()
}

/// Create: a group with the name typed and no members; its page next.
pub async fn create(State(s): State<AppState>, AdminForm { admin, fields }: AdminForm) -> Response {
    let name = fields.get("display_name");
    let body = json!({"schemas": [CORE_GROUP], "displayName": name});
    match s.service.create(&admin.caller, ResourceKind::Group, body, &without_members()).await {
        Ok(group) => {
            super::flash(&s, &admin, admin.lang.f("Created the group {}.", &[name])).await;
            Redirect::to(&format!("/admin/groups/{}", group.stored.id)).into_response()
        }
        Err(e) => {
            crate::service::log_internal(&e);
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            list_with(&s, &admin, &ListQuery::default(), status, name, Some(&e.detail)).await
        }
    }
}

/// A group page's query: the member position to go on after, and how many members came before
/// it (for "Members 51–100").
#[derive(Debug, Default, Deserialize)]
pub struct GroupQuery {
    after: Option<i64>,
    #[serde(default)]
    shown: u64,
}

/// What a group's forms show again after a refusal: the value typed, and the service's detail
/// beside the field it concerns (`display_name`, `member`) or above the forms (`None`).
#[derive(Default)]
struct Typed<'a> {
    field: Option<&'static str>,
    value: &'a str,
    detail: Option<&'a str>,
}

impl Typed<'_> {
    fn at(&self, field: &str) -> Option<&str> {
        self.detail.filter(|_| self.field == Some(field))
    }

    fn value(&self, field: &str) -> Option<&str> {
        (self.field == Some(field)).then_some(self.value)
    }
}

/// A group read or changed without its members, which may be 100,000.
fn without_members() -> Projection {
    Projection::parse(None, Some("members")).unwrap_or_default()
}

pub async fn show(
    State(s): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(query): Query<GroupQuery>,
) -> Response {
    show_with(&s, &admin, &id, &query, StatusCode::OK, &Typed::default()).await
}

async fn show_with(
    s: &AppState,
    admin: &Admin,
    id: &str,
    query: &GroupQuery,
    status: StatusCode,
    typed: &Typed<'_>,
) -> Response {
    let t = admin.lang;
    let group = match s.service.get(&admin.caller, ResourceKind::Group, id, &without_members()).await {
        Ok(g) => g,
        Err(e) => return error_page(admin.lang, &e),
    };
    let after = query.after.unwrap_or(0).max(0);
    let page = match s.service.member_page(&admin.caller, id, after, MEMBERS_PAGE).await {
        Ok(p) => p,
        Err(e) => return error_page(admin.lang, &e),
    };
    let doc = &group.stored.doc;
    let name = if display_name(doc).is_empty() { id.to_owned() } else { display_name(doc).to_owned() };
    let gid = group.stored.id.to_string();
    let before = if after == 0 { 0 } else { query.shown };
    let shown = page.members.len() as u64;
    let body = html! {
        @if typed.field.is_none() { @if let Some(e) = typed.detail { p.error role="alert" { (e) } } }
        dl {
            dt { (t.t("Id")) } dd { code { (group.stored.id) } }
            @if let Some(external) = doc.get("externalId").and_then(Value::as_str) { dt { (t.t("External id")) } dd { (external) } }
            dt { (t.t("Created")) } dd { (when(group.stored.created)) }
            dt { (t.t("Last changed")) } dd { (when(group.stored.last_modified)) }
        }
        form method="post" action=(format!("/admin/groups/{gid}/rename")) {
            (csrf_field(&admin.csrf))
            input type="hidden" name="version" value=(group.stored.version);
            (layout::text(Control::new("display_name", t.t("Group name"), typed.value("display_name").unwrap_or(display_name(doc)))
                .error(typed.at("display_name")), "text"))
            div.actions { button type="submit" { (t.t("Rename")) } }
        }
        h2 { (t.t("Members")) }
        p { (t.count(page.total, "1 member", "{} members")) "." }
        form method="post" action=(format!("/admin/groups/{gid}/members")) {
            (csrf_field(&admin.csrf))
            (layout::text(Control::new("member", t.t("User name to add"), typed.value("member").unwrap_or(""))
                .hint(t.t("The full user name, such as ann@contoso.com."))
                .error(typed.at("member")), "text"))
            div.actions { button type="submit" { (t.t("Add member")) } }
        }
        @if shown > 0 {
            table {
                thead { tr { th { (t.t("Name")) } th { (t.t("Type")) } th { span.visually-hidden { (t.t("Action")) } } } }
                tbody {
                    @for m in &page.members {
                        @let href = match m.kind {
                            ResourceKind::Group => format!("/admin/groups/{}", m.id),
                            ResourceKind::User | ResourceKind::License => format!("/admin/users/{}", m.id),
                        };
                        @let shown_name = m.display.as_deref().unwrap_or(m.id.as_str());
                        tr {
                            td { a href=(href) { (shown_name) } }
                            td { (m.kind.name()) }
                            td {
                                form.inline method="post" action=(format!("/admin/groups/{gid}/members/{}/remove", m.id)) {
                                    (csrf_field(&admin.csrf))
                                    button type="submit" aria-label=(t.f("Remove {} from the group", &[shown_name])) { (t.t("Remove")) }
                                }
                            }
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
        h2 { (t.t("Delete")) }
        form method="post" action=(format!("/admin/groups/{gid}/delete")) {
            (csrf_field(&admin.csrf))
            p { (t.t("Deleting a group removes it from its members; the users themselves stay.")) }
            button.danger type="submit" { (t.t("Delete group")) }
        }
    };
    (status, layout::page(&name, &chrome(admin, "/admin/groups"), body)).into_response()
}

/// A change of the group `id` done: back to its page with `message`; refused: the page again
/// with the service's detail beside `typed`'s field.
async fn changed(
    s: &AppState,
    admin: &Admin,
    id: &str,
    result: Result<String, ScimError>,
    typed: Typed<'_>,
) -> Response {
    match result {
        Ok(message) => {
            super::flash(s, admin, message).await;
            Redirect::to(&format!("/admin/groups/{id}")).into_response()
        }
        Err(e) => {
            crate::service::log_internal(&e);
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            let typed = Typed { detail: Some(&e.detail), ..typed };
            show_with(s, admin, id, &GroupQuery::default(), status, &typed).await
        }
    }
}

/// One PATCH of the group, answered without its members.
async fn patch(s: &AppState, admin: &Admin, id: &str, version: Option<&str>, ops: Value) -> Result<(), ScimError> {
    let if_match = version
        .and_then(|v| v.parse::<i64>().ok())
        .map(|v| crate::scim::resource::ETagMatch::parse(&crate::scim::resource::etag(v)));
    let body = json!({"schemas": [PATCH_OP], "Operations": ops});
    s.service.patch(&admin.caller, ResourceKind::Group, id, if_match.as_ref(), body, &without_members()).await?;
    Ok(())
}

/// Rename: a `replace` of `displayName` on the version the page was opened on.
pub async fn rename(
    State(s): State<AppState>,
    Path(id): Path<String>,
    AdminForm { admin, fields }: AdminForm,
) -> Response {
    let name = fields.get("display_name");
    let ops = json!([{"op": "replace", "path": "displayName", "value": name}]);
    let result = patch(&s, &admin, &id, Some(fields.get("version")), ops)
        .await
        .map(|()| admin.lang.f("Renamed the group to {}.", &[name]));
    changed(&s, &admin, &id, result, Typed { field: Some("display_name"), value: name, detail: None }).await
}

/// Add member: the user with this user name (exactly, as `userName eq` finds it), added by an
/// `add` of `members`.
pub async fn add_member(
    State(s): State<AppState>,
    Path(id): Path<String>,
    AdminForm { admin, fields }: AdminForm,
) -> Response {
    let user_name = fields.get("member");
    let result = async {
        if user_name.is_empty() {
            return Err(ScimError::invalid_value("enter the user name of the user to add"));
        }
        let params = ListParams {
            filter: Some(format!("userName eq {}", Value::String(user_name.to_owned()))),
            count: Some(1),
            attributes: Some("userName".into()),
            ..Default::default()
        };
        let found = s.service.list(&admin.caller, ResourceKind::User, &params).await?;
        let user = found.resources.first().ok_or_else(|| {
            ScimError::invalid_value(format!("no user has the user name {user_name}: check it on Active users"))
        })?;
        let ops = json!([{"op": "add", "path": "members", "value": [{"value": user.stored.id.to_string()}]}]);
        patch(&s, &admin, &id, None, ops).await?;
        Ok(admin.lang.f("Added {} to the group.", &[user_name]))
    }
    .await;
    changed(&s, &admin, &id, result, Typed { field: Some("member"), value: user_name, detail: None }).await
}

/// Remove: a `remove` of the member by its value, as Okta sends it.
pub async fn remove_member(
    State(s): State<AppState>,
    Path((id, member)): Path<(String, String)>,
    AdminForm { admin, .. }: AdminForm,
) -> Response {
    let path = format!("members[value eq {}]", Value::String(member.clone()));
    let result = patch(&s, &admin, &id, None, json!([{"op": "remove", "path": path}]))
        .await
        .map(|()| admin.lang.t("Removed the member from the group.").to_owned());
    changed(&s, &admin, &id, result, Typed::default()).await
}

/// Delete: the group goes; its members stay.
pub async fn delete(State(s): State<AppState>, Path(id): Path<String>, AdminForm { admin, .. }: AdminForm) -> Response {
    let group = match s.service.get(&admin.caller, ResourceKind::Group, &id, &without_members()).await {
        Ok(g) => g,
        Err(e) => return error_page(admin.lang, &e),
    };
    match s.service.delete(&admin.caller, ResourceKind::Group, &id, None).await {
        Ok(()) => {
            let name = display_name(&group.stored.doc);
            super::flash(&s, &admin, admin.lang.f("Deleted the group {}.", &[name])).await;
            Redirect::to("/admin/groups").into_response()
        }
        Err(e) => changed(&s, &admin, &id, Err(e), Typed::default()).await,
    }
}
