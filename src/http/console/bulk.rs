//! Bulk edit of the users selected on Active users: a usage location for all, then their
//! licenses kept, replaced or added to, sent as one SCIM Bulk of PATCH operations.
//!
//! Each user's PATCH stands alone, so Results lists every user changed or refused and why.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use futures::future::join_all;
use maud::{html, Markup};
use serde_json::{json, Value};

use crate::http::console::form::{Choices, Problem, UserForm};
use crate::http::console::i18n::Lang;
use crate::http::console::layout::{self, csrf_field, error_page, Control};
use crate::http::console::session::{Admin, AdminForm, Outcome};
use crate::http::console::{chrome, redirect_to_outcome, show_outcome};
use crate::http::AppState;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::scim::schema::DIRECTORY_USER;

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The results page of the last bulk edit.
const RESULTS: &str = "/admin/bulk/results";
/// Users one bulk edit takes at most (the Active users page shows fewer).
const MAX_USERS: usize = 100;

/// A selected user: its id, and its user name once read (`None`: not found).
struct Selected {
    id: String,
    user_name: Option<String>,
}

async fn selected(s: &AppState, admin: &Admin, ids: Vec<String>) -> Vec<Selected> {
    let reads = ids.iter().map(|id| s.service.get(&admin.caller, ResourceKind::User, id, &Projection::Default));
    join_all(reads)
        .await
        .into_iter()
        .zip(ids)
        .map(|(user, id)| Selected { id, user_name: user.ok().map(|u| UserForm::from_doc(&u.stored.doc).user_name) })
        .collect()
}

fn who(t: Lang, users: &[Selected]) -> Markup {
    html! {
        p { @if users.len() == 1 { (t.t("Editing 1 user:")) } @else { (t.f("Editing {} users:", &[&users.len().to_string()])) } }
        ul {
            @for u in users {
                li { (u.user_name.as_deref().unwrap_or(&u.id)) }
            }
        }
    }
}

fn users_hidden(users: &[Selected]) -> Markup {
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    layout::hidden("user", &ids)
}

fn settings_page(admin: &Admin, users: &[Selected], choices: &Choices, location: &str) -> Markup {
    let t = admin.lang;
    let countries: Vec<(String, String)> = std::iter::once((String::new(), t.t("Keep current").to_owned()))
        .chain(choices.countries.iter().map(|c| (c.clone(), c.clone())))
        .collect();
    let body = html! {
        (who(t, users))
        h2 { (t.t("Details and settings")) }
        form method="post" action="/admin/bulk" {
            (csrf_field(&admin.csrf))
            (users_hidden(users))
            input type="hidden" name="stage" value="licenses";
            (layout::select(Control::new("usage_location", t.t("Usage location"), location)
                .hint(t.t("Set for every selected user, or keep each one's own. A license needs one.")), &countries))
            div.actions { button type="submit" { (t.t("Next")) } a href="/admin/users" { (t.t("Cancel")) } }
        }
    };
    layout::page("Bulk edit", &chrome(admin, "/admin/users"), body)
}

fn licenses_page(admin: &Admin, users: &[Selected], choices: &Choices, location: &str) -> Markup {
    let t = admin.lang;
    let body = html! {
        (who(t, users))
        h2 { (t.t("Licenses")) }
        form method="post" action="/admin/bulk" {
            (csrf_field(&admin.csrf))
            (users_hidden(users))
            input type="hidden" name="stage" value="apply";
            input type="hidden" name="usage_location" value=(location);
            fieldset {
                legend { (t.t("Licenses")) }
                p.hint { (t.t("Choose the licenses to replace the current ones with, or to add to them.")) }
                @for l in &choices.licenses {
                    @let id = format!("license-{}", l.id);
                    div {
                        input type="checkbox" id=(id) name="license" value=(l.id);
                        " "
                        label for=(id) { (l.name) " (" (l.part_number) "): " (t.f("{} of {} available", &[&l.available.to_string(), &l.seats.to_string()])) }
                    }
                }
            }
            div.actions {
                button type="submit" name="action" value="keep" { (t.t("Keep current licenses")) }
                button type="submit" name="action" value="replace" { (t.t("Replace current licenses")) }
                button type="submit" name="action" value="add" { (t.t("Add to current licenses")) }
            }
        }
    };
    layout::page("Bulk edit", &chrome(admin, "/admin/users"), body)
}

/// The PATCH operations one user gets: the location when one was chosen, and the licenses as
/// the button said (`keep`: none).
fn operations(location: &str, action: &str, licenses: &[String]) -> Vec<Value> {
    let mut ops = Vec::new();
    if !location.is_empty() {
        // `add` of a single-valued attribute replaces it (RFC 7644 §3.5.2.1).
        ops.push(json!({"op": "add", "path": format!("{DIRECTORY_USER}:usageLocation"), "value": location}));
    }
    let values: Vec<Value> = licenses.iter().map(|l| json!({"value": l})).collect();
    let path = format!("{DIRECTORY_USER}:licenses");
    match action {
        "replace" => ops.push(json!({"op": "replace", "path": path, "value": values})),
        "add" if !values.is_empty() => ops.push(json!({"op": "add", "path": path, "value": values})),
        _ => {}
    }
    ops
}

async fn apply(
    s: &AppState,
    admin: &Admin,
    users: &[Selected],
    location: &str,
    action: &str,
    licenses: &[String],
) -> Response {
    let t = admin.lang;
    let ops = operations(location, action, licenses);
    let found: Vec<&Selected> = users.iter().filter(|u| u.user_name.is_some()).collect();
    let request = json!({
        "schemas": [BULK_REQUEST],
        "Operations": found.iter().map(|u| json!({
            "method": "PATCH",
            "path": format!("/Users/{}", u.id),
            "data": {"schemas": [PATCH_OP], "Operations": ops},
        })).collect::<Vec<_>>(),
    });
    let outcomes = if found.is_empty() {
        Vec::new()
    } else {
        match s.service.bulk(&admin.caller, request).await {
            Ok(o) => o,
            Err(e) => return error_page(admin.lang, &e),
        }
    };
    let mut outcomes = outcomes.into_iter();
    let rows: Vec<(String, Result<(), String>)> = users
        .iter()
        .map(|u| match &u.user_name {
            None => (u.id.clone(), Err("no such user: it was deleted meanwhile".to_owned())),
            Some(name) => match outcomes.next() {
                Some(o) => match o.error {
                    None => (name.clone(), Ok(())),
                    Some(e) => (name.clone(), Err(Problem::of(&e).detail)),
                },
                None => (name.clone(), Err("no result came back for this user".to_owned())),
            },
        })
        .collect();
    let refused = rows.iter().filter(|(_, r)| r.is_err()).count();
    let body = html! {
        p role="status" { (t.f("{} changed, {} refused.", &[&(rows.len() - refused).to_string(), &refused.to_string()])) }
        table {
            thead { tr { th { (t.t("User name")) } th { (t.t("Result")) } } }
            tbody {
                @for (name, result) in &rows {
                    tr {
                        td { (name) }
                        @match result {
                            Ok(()) => td { (t.t("Changed")) },
                            Err(detail) => td.error { (t.t("Refused: ")) (detail) },
                        }
                    }
                }
            }
        }
        div.actions { a href="/admin/users" { (t.t("Finish")) } }
    };
    redirect_to_outcome(s, admin, Outcome { at: RESULTS, title: "Bulk edit results", current: "/admin/users", body })
}

/// The results page, which applying redirects to; once, then Active users.
pub async fn results(State(s): State<AppState>, admin: Admin) -> Response {
    show_outcome(&s, &admin, RESULTS, "/admin/users")
}

pub async fn step(State(s): State<AppState>, AdminForm { admin, fields }: AdminForm) -> Response {
    let mut ids = fields.all("user");
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| !id.is_empty() && seen.insert(id.clone()));
    if ids.is_empty() {
        super::flash(&s, &admin, admin.lang.t("Select at least one user to edit.").into()).await;
        return Redirect::to("/admin/users").into_response();
    }
    if ids.len() > MAX_USERS {
        let e = crate::scim::error::ScimError::invalid_value(format!(
            "{} users were selected; a bulk edit takes at most {MAX_USERS}",
            ids.len()
        ));
        return error_page(admin.lang, &e);
    }
    let choices = match Choices::load(&s, &admin.caller).await {
        Ok(c) => c,
        Err(e) => return error_page(admin.lang, &e),
    };
    let users = selected(&s, &admin, ids).await;
    let location = fields.get("usage_location");
    match fields.get("stage") {
        "licenses" => licenses_page(&admin, &users, &choices, location).into_response(),
        "apply" => apply(&s, &admin, &users, location, fields.get("action"), &fields.all("license")).await,
        _ => (StatusCode::OK, settings_page(&admin, &users, &choices, "")).into_response(),
    }
}
