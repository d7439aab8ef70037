//! The Add user wizard: Details → Settings → Location → Licenses → Send results → Results.
//! Each step posts every value so far; Create hands the whole user to the service once.
//!
//! A refusal brings back the step holding the field it concerns, the message beside it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use crate::http::console::form::{self, Choices, Problem, UserForm};
use crate::http::console::layout::{self, csrf_field, error_page, Control};
use crate::http::console::session::{Admin, AdminForm, Outcome};
use crate::http::console::{chrome, redirect_to_outcome, show_outcome};
use crate::http::AppState;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::service::CreationOptions;

/// The steps before Results, in order: (name in the form, title).
const STEPS: &[(&str, &str)] = &[
    ("details", "Details"),
    ("settings", "Settings"),
    ("location", "Location"),
    ("licenses", "Licenses"),
    ("mail", "Send results"),
];

/// The form fields each step shows; the others travel hidden.
fn fields_of(step: &str) -> &'static [&'static str] {
    match step {
        "details" => &["user_name", "domain", "first_name", "last_name", "display_name"],
        "settings" => &["admin_role", "alternate_email"],
        "location" => &["usage_location"],
        "licenses" => &["license"],
        _ => &["mail_to"],
    }
}

/// The step that shows a field (the last one for a refusal that names none).
fn step_of(field: Option<&str>) -> usize {
    let field = match field {
        Some("licenses") => "license",
        Some(f) => f,
        None => return STEPS.len() - 1,
    };
    STEPS.iter().position(|(name, _)| fields_of(name).contains(&field)).unwrap_or(STEPS.len() - 1)
}

/// The wizard's values: the user, and where to mail the results.
struct Draft {
    user: UserForm,
    mail_to: String,
}

impl Draft {
    /// Hidden fields for every value the step `step` does not show.
    fn hidden_except(&self, step: &str) -> Markup {
        let shown = fields_of(step);
        let u = &self.user;
        let all: [(&str, Vec<String>); 10] = [
            ("user_name", vec![u.user_name.clone()]),
            ("domain", vec![u.domain.clone()]),
            ("first_name", vec![u.first_name.clone()]),
            ("last_name", vec![u.last_name.clone()]),
            ("display_name", vec![u.display_name.clone()]),
            ("admin_role", u.admin_roles.clone()),
            ("alternate_email", vec![u.alternate_email.clone()]),
            ("usage_location", vec![u.usage_location.clone()]),
            ("license", u.licenses.clone()),
            ("mail_to", vec![self.mail_to.clone()]),
        ];
        html! {
            @for (name, values) in &all {
                @if !shown.contains(name) { (layout::hidden(name, values)) }
            }
        }
    }
}

fn step_page(admin: &Admin, index: usize, draft: &Draft, choices: &Choices, problem: &Problem) -> Markup {
    let t = admin.lang;
    let (step, title) = STEPS[index];
    let last = index + 1 == STEPS.len();
    let body = html! {
        ol.steps aria-label=(t.t("Steps")) {
            @for (i, (_, name)) in STEPS.iter().enumerate() {
                li aria-current=[(i == index).then_some("step")] { (i + 1) ". " (t.t(name)) }
            }
        }
        h2 { (t.t(title)) }
        @if let Some(e) = problem.general() { p.error role="alert" { (e) } }
        form method="post" action="/admin/users/new" {
            (csrf_field(&admin.csrf))
            input type="hidden" name="step" value=(step);
            (draft.hidden_except(step))
            @match step {
                "details" => (form::details(t, &draft.user, choices, problem, false)),
                "settings" => (form::settings(t, &draft.user, choices, problem, false)),
                "location" => (form::location(t, &draft.user, choices, problem, false)),
                "licenses" => (form::licenses_fieldset(t, &draft.user, choices, problem, false)),
                _ => (layout::text(Control::new("mail_to", t.t("Email results to"), &draft.mail_to)
                        .hint(t.t("Up to five addresses, separated by commas; leave it empty to send no mail."))
                        .error(problem.at("mail_to")), "text")),
            }
            div.actions {
                @if last {
                    button type="submit" name="action" value="create" { (t.t("Create")) }
                } @else {
                    button type="submit" name="action" value="next" { (t.t("Next")) }
                }
                @if index > 0 {
                    button.secondary type="submit" name="action" value="back" { (t.t("Back")) }
                }
                a href="/admin/users" { (t.t("Cancel")) }
            }
        }
    };
    layout::page("Add user", &chrome(admin, "/admin/users/new"), body)
}

pub async fn start(State(s): State<AppState>, admin: Admin) -> Response {
    let choices = match Choices::load(&s, &admin.caller).await {
        Ok(c) => c,
        Err(e) => return error_page(admin.lang, &e),
    };
    let draft = Draft { user: UserForm::default(), mail_to: String::new() };
    step_page(&admin, 0, &draft, &choices, &Problem::default()).into_response()
}

pub async fn step(State(s): State<AppState>, AdminForm { admin, fields }: AdminForm) -> Response {
    let choices = match Choices::load(&s, &admin.caller).await {
        Ok(c) => c,
        Err(e) => return error_page(admin.lang, &e),
    };
    let draft = Draft { user: UserForm::from_fields(&fields), mail_to: fields.get("mail_to").to_owned() };
    let current = STEPS.iter().position(|(name, _)| *name == fields.get("step")).unwrap_or(0);
    match fields.get("action") {
        "back" => step_page(&admin, current.saturating_sub(1), &draft, &choices, &Problem::default()).into_response(),
        "create" => create(&s, &admin, &draft, &choices).await,
        _ => {
            let next = (current + 1).min(STEPS.len() - 1);
            step_page(&admin, next, &draft, &choices, &Problem::default()).into_response()
        }
    }
}

/// The Results page, which Create redirects to.
const RESULTS: &str = "/admin/users/new/results";

/// Results, once: a refresh of it (the user exists, its password was shown) opens a new wizard.
pub async fn results(State(s): State<AppState>, admin: Admin) -> Response {
    show_outcome(&s, &admin, RESULTS, "/admin/users/new")
}

/// Create: the user through the service's administrator creation, with a temporary password
/// and the results mail when addresses were given; Results (after a redirect, so a refresh
/// creates nothing), or the step to correct.
async fn create(s: &AppState, admin: &Admin, draft: &Draft, choices: &Choices) -> Response {
    let t = admin.lang;
    let options = CreationOptions {
        mail_results: (!draft.mail_to.is_empty()).then(|| draft.mail_to.clone()),
        temporary_passwords: Some(true),
    };
    let body = draft.user.create_body();
    match s.service.create_reported(&admin.caller, ResourceKind::User, body, &Projection::Default, &options).await {
        Ok((created, report)) => {
            let doc = &created.stored.doc;
            let created_form = UserForm::from_doc(doc);
            let row = report.as_ref().and_then(|r| r.rows.first());
            let password = row.and_then(|r| r.temporary_password.as_ref());
            let mail = report.as_ref().and_then(|r| r.mail.as_ref());
            let names: Vec<&str> = choices
                .licenses
                .iter()
                .filter(|l| created_form.licenses.contains(&l.id))
                .map(|l| l.name.as_str())
                .collect();
            let body = html! {
                p.notice role="status" { (t.t("The user was created.")) }
                dl {
                    dt { (t.t("User name")) } dd { (created_form.user_name) }
                    dt { (t.t("Display name")) } dd { (created_form.display_name) }
                    dt { (t.t("Admin role")) } dd { @if created_form.admin_roles.is_empty() { (t.t("None")) } @else { (created_form.admin_roles.join(", ")) } }
                    dt { (t.t("Licenses")) } dd { @if names.is_empty() { (t.t("None")) } @else { (names.join(", ")) } }
                    @if let Some(p) = password {
                        dt { (t.t("Temporary password")) }
                        dd { span.secret data-testid="temporary-password" { (p.expose()) }
                             p.hint { (t.t("Shown this once: give it to the user now. scimd keeps only its hash.")) } }
                    }
                }
                @if let Some(m) = mail { p role="status" { (m.line()) } }
                div.actions {
                    a href=(format!("/admin/users/{}", created.stored.id)) { (t.t("Open the user")) }
                    a href="/admin/users/new" { (t.t("Create another user")) }
                    a href="/admin/users" { (t.t("Finish")) }
                }
            };
            redirect_to_outcome(s, admin, Outcome { at: RESULTS, title: "Results", current: "/admin/users/new", body })
        }
        Err(e) => {
            let problem = Problem::of(&e);
            let index = step_of(problem.field);
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            // A refusal that names no field is shown on the step it was sent from.
            (status, step_page(admin, index, draft, choices, &problem)).into_response()
        }
    }
}
