//! Active users (search, sort, paging, licenses, synchronized badge), Edit user (with blocked
//! sign-in and the optional details), Delete, and Deleted users with Restore: each page one or two calls of the service's own functions.
//!
//! A synchronized user's page is read-only; the service refuses its changes all the same.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use crate::directory;
use crate::http::console::chrome;
use crate::http::console::form::{self, Choices, Problem, UserForm};
use crate::http::console::layout::{self, csrf_field, error_page};
use crate::http::console::session::{Admin, AdminForm};
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::scim::projection::Projection;
use crate::scim::resource::{etag, ETagMatch};
use crate::scim::schema::ResourceKind;
use crate::service::{ListParams, Resource};

/// Users a page of Active users shows.
const PAGE: i64 = 20;

/// The Active users page's query: search text, sort column and order, first row.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    order: String,
    start: Option<i64>,
}

impl ListQuery {
    fn sort_by(&self) -> &'static str {
        match self.sort.as_str() {
            "userName" => "userName",
            _ => "displayName",
        }
    }

    fn descending(&self) -> bool {
        self.order == "descending"
    }

    fn link(&self, sort: &str, descending: bool, start: i64) -> String {
        let order = if descending { "descending" } else { "ascending" };
        let q: String = url::form_urlencoded::byte_serialize(self.q.as_bytes()).collect();
        format!("/admin/users?q={q}&sort={sort}&order={order}&start={start}")
    }
}

fn text<'a>(doc: &'a Value, key: &str) -> &'a str {
    doc.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The ids of the licenses a user holds.
fn held(doc: &Value) -> Vec<String> {
    UserForm::from_doc(doc).licenses
}

pub async fn list(State(s): State<AppState>, admin: Admin, Query(query): Query<ListQuery>) -> Response {
    let t = admin.lang;
    let search = query.q.trim();
    let filter = (!search.is_empty()).then(|| {
        let quoted = Value::String(search.to_owned()).to_string();
        format!("userName co {quoted} or displayName co {quoted}")
    });
    let start = query.start.unwrap_or(1).max(1);
    let params = ListParams {
        filter,
        start_index: Some(start),
        count: Some(PAGE),
        sort_by: Some(query.sort_by().into()),
        sort_order: Some(if query.descending() { "descending" } else { "ascending" }.into()),
        ..Default::default()
    };
    let (page, licenses) = match futures::try_join!(
        s.service.list(&admin.caller, ResourceKind::User, &params),
        form::licenses(&s, &admin.caller)
    ) {
        Ok(found) => found,
        Err(e) => return error_page(admin.lang, &e),
    };
    let names: HashMap<String, String> = licenses.into_iter().map(|l| (l.id, l.name)).collect();
    let header = |key: &str, label: &str| {
        let descending = query.sort_by() == key && !query.descending();
        let sort = match (query.sort_by() == key, query.descending()) {
            (true, false) => Some("ascending"),
            (true, true) => Some("descending"),
            (false, _) => None,
        };
        html! { th aria-sort=[sort] { a href=(query.link(key, descending, 1)) { (t.text(label)) } } }
    };
    let shown = page.resources.len() as i64;
    let body = html! {
        form method="get" action="/admin/users" role="search" {
            div.field {
                label for="q" { (t.t("Search users")) }
                input type="search" id="q" name="q" value=(search);
                " " button type="submit" { (t.t("Search")) }
            }
            input type="hidden" name="sort" value=(query.sort_by());
            input type="hidden" name="order" value=(if query.descending() { "descending" } else { "ascending" });
        }
        p { (t.count(page.total, "1 user", "{} users")) @if !search.is_empty() { (t.f(" matching “{}”", &[search])) } "." }
        form method="post" action="/admin/bulk" {
        (csrf_field(&admin.csrf))
        input type="hidden" name="stage" value="start";
        table {
            thead { tr { th { span.visually-hidden { (t.t("Select")) } } (header("displayName", "Display name")) (header("userName", "User name")) th { (t.t("Licenses")) } th { (t.t("Status")) } } }
            tbody {
                @for r in &page.resources {
                    @let doc = &r.stored.doc;
                    tr {
                        td {
                            @let check = format!("select-{}", r.stored.id);
                            input type="checkbox" id=(check) name="user" value=(r.stored.id);
                            label.visually-hidden for=(check) { (t.f("Select {}", &[text(doc, "userName")])) }
                        }
                        td { a href=(format!("/admin/users/{}", r.stored.id)) {
                            @if text(doc, "displayName").is_empty() { (text(doc, "userName")) } @else { (text(doc, "displayName")) }
                        } }
                        td { (text(doc, "userName")) }
                        td {
                            @let held = held(doc);
                            @if held.is_empty() { (t.t("Unlicensed")) }
                            @for (i, l) in held.iter().enumerate() {
                                @if i > 0 { ", " }
                                (names.get(l).map(String::as_str).unwrap_or(l))
                            }
                        }
                        td {
                            @if directory::is_synced(doc) { span.badge title=(t.t("Synchronized from the on-premises directory")) { (t.t("Synchronized")) } }
                            @if doc.get("active").and_then(Value::as_bool) == Some(false) { span.badge.blocked { (t.t("Sign-in blocked")) } }
                        }
                    }
                }
            }
        }
        @if !page.resources.is_empty() {
            div.actions { button type="submit" { (t.t("Edit selected users")) } }
        }
        }
        nav.paging aria-label="Pages" {
            @if start > 1 { a href=(query.link(query.sort_by(), query.descending(), (start - PAGE).max(1))) { (t.t("Previous page")) } }
            @if shown > 0 {
                span { (t.f("Users {}–{} of {}", &[&start.to_string(), &(start + shown - 1).to_string(), &page.total.to_string()])) }
            }
            @if start + shown <= page.total as i64 && shown > 0 {
                a href=(query.link(query.sort_by(), query.descending(), start + shown)) { (t.t("Next page")) }
            }
        }
    };
    layout::page("Active users", &chrome(&admin, "/admin/users"), body).into_response()
}

/// The edit form of `user`, with what was typed and the problem found, when there was one.
fn edit_page(admin: &Admin, user: &Resource, form: &UserForm, choices: &Choices, problem: &Problem) -> Markup {
    let t = admin.lang;
    let synced = directory::is_synced(&user.stored.doc);
    let id = user.stored.id.to_string();
    let title = t.f("Edit {}", &[text(&user.stored.doc, "userName")]);
    let body = html! {
        @if synced {
            p.readonly role="note" {
                (t.t("This user is synchronized from the on-premises directory, which is where it must be changed: \
                 scimd refuses changes to it from anything but the directory connector. The page is read-only."))
            }
        }
        @if let Some(e) = problem.general() { p.error role="alert" { (e) } }
        form method="post" action=(format!("/admin/users/{id}")) {
            (csrf_field(&admin.csrf))
            input type="hidden" name="version" value=(user.stored.version);
            h2 { (t.t("Details")) }
            (form::details(t, form, choices, problem, synced))
            h2 { (t.t("Job and contact information")) }
            (form::optional_details(t, form, problem, synced))
            h2 { (t.t("Settings")) }
            (form::sign_in(t, form, problem, synced))
            (form::admin_roles(t, form, choices, problem, synced))
            (form::location(t, form, choices, problem, synced))
            h2 { (t.t("Licenses")) }
            (form::licenses_fieldset(t, form, choices, problem, synced))
            @if !synced { div.actions { button type="submit" { (t.t("Save")) } } }
        }
        @if !synced {
            h2 { (t.t("Delete")) }
            form method="post" action=(format!("/admin/users/{id}/delete")) {
                (csrf_field(&admin.csrf))
                p { (t.t("Deleting frees the user's licenses; the user can be restored from Deleted users.")) }
                button.danger type="submit" { (t.t("Delete")) }
            }
        }
    };
    layout::page(&title, &chrome(admin, "/admin/users"), body)
}

async fn user_and_choices(s: &AppState, admin: &Admin, id: &str) -> Result<(Resource, Choices), ScimError> {
    futures::try_join!(
        s.service.get(&admin.caller, ResourceKind::User, id, &Projection::Default),
        Choices::load(s, &admin.caller)
    )
}

pub async fn edit(State(s): State<AppState>, admin: Admin, Path(id): Path<String>) -> Response {
    match user_and_choices(&s, &admin, &id).await {
        Ok((user, choices)) => {
            let form = UserForm::from_doc(&user.stored.doc);
            edit_page(&admin, &user, &form, &choices, &Problem::default()).into_response()
        }
        Err(e) => error_page(admin.lang, &e),
    }
}

/// Save: the changes as one PATCH of the version the form was opened on, so a change someone
/// else made meanwhile is not overwritten.
pub async fn save(
    State(s): State<AppState>,
    Path(id): Path<String>,
    AdminForm { admin, fields }: AdminForm,
) -> Response {
    let (user, choices) = match user_and_choices(&s, &admin, &id).await {
        Ok(found) => found,
        Err(e) => return error_page(admin.lang, &e),
    };
    let typed = UserForm::from_fields(&fields);
    let patch = typed.patch_from(&UserForm::from_doc(&user.stored.doc));
    let if_match = fields.get("version").parse::<i64>().ok().map(|v| ETagMatch::parse(&etag(v)));
    match s.service.patch(&admin.caller, ResourceKind::User, &id, if_match.as_ref(), patch, &Projection::Default).await
    {
        Ok(saved) => {
            super::flash(&s, &admin, admin.lang.f("Saved {}.", &[text(&saved.stored.doc, "userName")])).await;
            Redirect::to(&format!("/admin/users/{id}")).into_response()
        }
        Err(e) => {
            let mut problem = Problem::of(&e);
            if e.status == 412 {
                problem.detail = admin
                    .lang
                    .t("Someone else changed this user after you opened the page: open it again to see the changes, \
                        then make yours.")
                    .into();
            }
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, edit_page(&admin, &user, &typed, &choices, &problem)).into_response()
        }
    }
}

pub async fn delete(State(s): State<AppState>, Path(id): Path<String>, AdminForm { admin, .. }: AdminForm) -> Response {
    let user = match s.service.get(&admin.caller, ResourceKind::User, &id, &Projection::Default).await {
        Ok(u) => u,
        Err(e) => return error_page(admin.lang, &e),
    };
    match s.service.delete(&admin.caller, ResourceKind::User, &id, None).await {
        Ok(()) => {
            let name = text(&user.stored.doc, "userName");
            super::flash(&s, &admin, admin.lang.f("Deleted {}; it can be restored from Deleted users.", &[name])).await;
            Redirect::to("/admin/users").into_response()
        }
        Err(e) => match Choices::load(&s, &admin.caller).await {
            Ok(choices) => {
                let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
                let form = UserForm::from_doc(&user.stored.doc);
                let problem = Problem { field: None, detail: e.detail.to_string() };
                (status, edit_page(&admin, &user, &form, &choices, &problem)).into_response()
            }
            Err(_) => error_page(admin.lang, &e),
        },
    }
}

fn deleted_page(admin: &Admin, users: &[Resource], total: u64, problem: Option<&str>) -> Markup {
    let t = admin.lang;
    let body = html! {
        @if let Some(e) = problem { p.error role="alert" { (e) } }
        p { (t.f("{} deleted users. A restored user takes its licenses again, if seats are left.", &[&total.to_string()])) }
        table {
            thead { tr { th { (t.t("User name")) } th { (t.t("Display name")) } th { (t.t("Deleted")) } th { span.visually-hidden { (t.t("Action")) } } } }
            tbody {
                @for r in users {
                    @let name = text(&r.stored.doc, "userName");
                    tr {
                        td { (name) }
                        td { (text(&r.stored.doc, "displayName")) }
                        td { (r.deleted.and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()) }
                        td {
                            form.inline method="post" action=(format!("/admin/deleted/{}/restore", r.stored.id)) {
                                (csrf_field(&admin.csrf))
                                button type="submit" aria-label=(t.f("Restore {}", &[name])) { (t.t("Restore")) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page("Deleted users", &chrome(admin, "/admin/deleted"), body)
}

async fn deleted_with(s: &AppState, admin: &Admin, status: StatusCode, problem: Option<&str>) -> Response {
    let params = ListParams { count: Some(1000), ..Default::default() };
    match s.service.deleted_users(&admin.caller, &params).await {
        Ok(page) => (status, deleted_page(admin, &page.resources, page.total, problem)).into_response(),
        Err(e) => error_page(admin.lang, &e),
    }
}

pub async fn deleted(State(s): State<AppState>, admin: Admin) -> Response {
    deleted_with(&s, &admin, StatusCode::OK, None).await
}

pub async fn restore(
    State(s): State<AppState>,
    Path(id): Path<String>,
    AdminForm { admin, .. }: AdminForm,
) -> Response {
    match s.service.restore_user(&admin.caller, &id).await {
        Ok(user) => {
            super::flash(&s, &admin, admin.lang.f("Restored {}.", &[text(&user.stored.doc, "userName")])).await;
            Redirect::to("/admin/deleted").into_response()
        }
        Err(e) => {
            crate::service::log_internal(&e);
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            deleted_with(&s, &admin, status, Some(&e.detail)).await
        }
    }
}
