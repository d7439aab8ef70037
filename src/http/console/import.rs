//! Import: a bulk-add CSV uploaded from the browser and imported by the service's admin import
//! (the function behind `POST /scim/v2/Admin/Import`, with its size limit and its rules), then a
//! results page with the counts, the refused rows and the report CSV to download. A dry run
//! checks every row the same way and writes nothing, and its results say what would be done.
//!
//! The import runs in a task of its own, so a large file shows its progress: the upload answers
//! with a page that reloads itself (no script) until the import is done. The job and its report
//! are kept in the session: they go when it ends, and `MAX_REPORT_BYTES` bounds what is kept.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use crate::directory::import::{Report, ReportRow, Status};
use crate::http::console::chrome;
use crate::http::console::layout::{self, csrf_field, Control};
use crate::http::console::session::{Admin, AdminUpload};
use crate::http::AppState;
use crate::scim::error::{ScimError, ScimType};
use crate::service::{ImportParams, Progress};

/// The largest upload: the import's own limit, and room for the form's other fields.
pub const MAX_UPLOAD_BYTES: usize = crate::service::MAX_IMPORT_BYTES + 64 * 1024;
/// The largest report CSV a session keeps for download.
const MAX_REPORT_BYTES: usize = 16 * 1024 * 1024;
/// The most all sessions' reports together may hold.
const MAX_KEPT_REPORT_BYTES: usize = 128 * 1024 * 1024;
/// Refused rows listed on the results page; the report has them all.
const MAX_REFUSED_SHOWN: usize = 500;

/// What an import has done, for its progress and results pages.
pub struct ImportJob {
    pub file_name: String,
    /// Checked only: nothing written.
    pub dry_run: bool,
    pub temporary_passwords: bool,
    pub mail_to: String,
    pub progress: Progress,
    pub outcome: Option<Result<Done, ScimError>>,
}

/// A finished import: its counts, the first refused rows, the report CSV when kept.
pub struct Done {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub refused: usize,
    pub refused_rows: Vec<ReportRow>,
    pub report: Option<Vec<u8>>,
    pub mail: Option<String>,
}

impl ImportJob {
    pub fn running(&self) -> bool {
        self.outcome.is_none()
    }

    /// Bytes of report this job holds.
    pub fn kept_bytes(&self) -> usize {
        match &self.outcome {
            Some(Ok(done)) => done.report.as_ref().map_or(0, Vec::len),
            _ => 0,
        }
    }
}

/// What the form shows again: its values and the refusal, beside the field it concerns.
#[derive(Default)]
struct FormState<'a> {
    dry_run: bool,
    temporary_passwords: bool,
    mail_to: &'a str,
    file_error: Option<&'a str>,
    mail_error: Option<&'a str>,
}

fn form_page(admin: &Admin, f: &FormState) -> Markup {
    let t = admin.lang;
    let mib = (crate::service::MAX_IMPORT_BYTES / (1024 * 1024)).to_string();
    let body = html! {
        p { (t.t("Add or update many users at once from a CSV file in the Office 365 bulk-add template: a "))
            code { "User Name" } (t.t(" column, and any of the template's other columns. A row whose user name \
            exists updates that user; every other row creates one. Each row is checked by the same rules \
            as a user added by hand, and refused on its own.")) }
        form method="post" action="/admin/import" enctype="multipart/form-data" {
            (csrf_field(&admin.csrf))
            div.field {
                label for="file" { (t.t("CSV file")) }
                p.hint id="file-hint" { (t.f("At most {} MiB.", &[&mib])) }
                input type="file" id="file" name="file" accept=".csv,text/csv" required
                    aria-invalid=[f.file_error.map(|_| "true")]
                    aria-describedby=(if f.file_error.is_some() { "file-hint file-error" } else { "file-hint" });
                (layout::field_error("file", f.file_error))
            }
            div.field.check {
                input type="checkbox" id="dry_run" name="dry_run" value="true" checked[f.dry_run]
                    aria-describedby="dry_run-hint";
                " "
                label for="dry_run" { (t.t("Dry run")) }
                p.hint id="dry_run-hint" { (t.t("Check every row and show the report, but create and change nothing.")) }
            }
            div.field.check {
                input type="checkbox" id="temporary_passwords" name="temporary_passwords" value="true"
                    checked[f.temporary_passwords];
                " "
                label for="temporary_passwords" { (t.t("Give new users a temporary password")) }
                p.hint { (t.t("The passwords are in the report, shown once.")) }
            }
            (layout::text(Control::new("mail_to", t.t("Email results to"), f.mail_to)
                .hint(t.t("Up to five addresses, separated by commas; leave it empty to send no mail."))
                .error(f.mail_error), "text"))
            div.actions { button type="submit" { (t.t("Import")) } }
        }
    };
    layout::page("Import users", &chrome(admin, "/admin/import"), body)
}

pub async fn form(admin: Admin) -> Response {
    form_page(&admin, &FormState::default()).into_response()
}

/// The upload: a file refused as a whole comes back beside its field; otherwise the import
/// starts and the browser is sent to its progress page.
pub async fn upload(State(s): State<AppState>, AdminUpload { admin, fields, file }: AdminUpload) -> Response {
    let dry_run = fields.get("dry_run") == "true";
    let temporary_passwords = fields.get("temporary_passwords") == "true";
    let mail_to = fields.get("mail_to").to_owned();
    let refused = |file_error: Option<&str>, mail_error: Option<&str>| {
        let f = FormState { dry_run, temporary_passwords, mail_to: &mail_to, file_error, mail_error };
        (StatusCode::BAD_REQUEST, form_page(&admin, &f)).into_response()
    };
    let file = match file {
        Ok(Some(f)) => f,
        Ok(None) => return refused(Some(admin.lang.t("Choose a CSV file to import.")), None),
        Err(e) => return refused(Some(&e), None),
    };
    let params = ImportParams {
        dry_run: Some(dry_run),
        mail_results: (!mail_to.is_empty()).then(|| mail_to.clone()),
        temporary_passwords: Some(temporary_passwords),
    };
    let job = Arc::new(Mutex::new(ImportJob {
        file_name: file.name.clone(),
        dry_run,
        temporary_passwords,
        mail_to: mail_to.clone(),
        progress: Progress { rows: 0, bytes: 0, total_bytes: file.data.len() as u64 },
        outcome: None,
    }));
    if !s.console.start_import(&admin.session, job.clone()) {
        super::flash(&s, &admin, admin.lang.t("An import is still running; wait for it to finish.").into()).await;
        return Redirect::to("/admin/import/results").into_response();
    }
    let state = s.clone();
    let caller = admin.caller.clone();
    tokio::spawn(async move {
        let shown = job.clone();
        let mut progress = move |p: Progress| {
            if let Ok(mut j) = shown.lock() {
                j.progress = p;
            }
        };
        let outcome =
            state.service.admin_import_with_progress(&caller, &file.data, &params, &mut progress).await.map(|report| {
                let room = MAX_KEPT_REPORT_BYTES.saturating_sub(state.console.kept_report_bytes());
                done(&report, room.min(MAX_REPORT_BYTES))
            });
        if let Ok(mut j) = job.lock() {
            j.outcome = Some(outcome);
        }
    });
    Redirect::to("/admin/import/results").into_response()
}

/// The report's counts and refused rows, and its CSV when it fits in `room`.
fn done(report: &Report, room: usize) -> Done {
    let mut csv = Vec::new();
    let report_csv = match report.write_csv(&mut csv) {
        Ok(()) if csv.len() <= room => Some(csv),
        _ => None,
    };
    Done {
        created: report.count(Status::Created),
        updated: report.count(Status::Updated),
        unchanged: report.count(Status::Unchanged),
        refused: report.count(Status::Refused),
        refused_rows: report
            .rows
            .iter()
            .filter(|r| r.status == Status::Refused)
            .take(MAX_REFUSED_SHOWN)
            .cloned()
            .collect(),
        report: report_csv,
        mail: report.mail.as_ref().map(|m| m.line()),
    }
}

/// Progress while the import runs (the page reloads itself each second), then its results; a
/// file refused as a whole goes back to the form with the reason beside the field.
pub async fn results(State(s): State<AppState>, admin: Admin) -> Response {
    let Some(job) = s.console.import(&admin.session) else {
        return Redirect::to("/admin/import").into_response();
    };
    let Ok(job) = job.lock() else {
        return layout::error_page(
            admin.lang,
            &ScimError::internal(std::io::Error::other("the import's state lock is poisoned")),
        );
    };
    match &job.outcome {
        // The header as well as the page's meta element, so the page reloads either way.
        None => ([(header::REFRESH, "1")], progress_page(&admin, &job)).into_response(),
        Some(Err(e)) => {
            crate::service::log_internal(e);
            // Mail refusals (no SMTP server, a bad or sixth address) concern the addresses;
            // everything else the file (a missing User Name column, an unknown column).
            let mail = e.scim_type != Some(ScimType::InvalidSyntax) && e.detail.contains("mail");
            let f = FormState {
                dry_run: job.dry_run,
                temporary_passwords: job.temporary_passwords,
                mail_to: &job.mail_to,
                file_error: (!mail).then_some(&*e.detail),
                mail_error: mail.then_some(&*e.detail),
            };
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, form_page(&admin, &f)).into_response()
        }
        Some(Ok(done)) => results_page(&admin, &job, done).into_response(),
    }
}

fn progress_page(admin: &Admin, job: &ImportJob) -> Markup {
    let t = admin.lang;
    let p = job.progress;
    let (rows, bytes, total) = (p.rows.to_string(), p.bytes.to_string(), p.total_bytes.to_string());
    let body = html! {
        meta http-equiv="refresh" content="1";
        p role="status" { (t.f("Importing {}… {} rows done so far.", &[&job.file_name, &rows])) }
        label for="progress" { (t.t("Progress")) }
        progress id="progress" max=(p.total_bytes.max(1)) value=(p.bytes) { (t.f("{} of {} bytes", &[&bytes, &total])) }
        p.hint { (t.t("This page updates itself every second; the import goes on if you leave it.")) }
    };
    layout::page("Importing…", &chrome(admin, "/admin/import"), body)
}

fn results_page(admin: &Admin, job: &ImportJob, done: &Done) -> Markup {
    let t = admin.lang;
    let shown = done.refused_rows.len().to_string();
    let body = html! {
        @if job.dry_run {
            p.notice role="status" { (t.f("Checked {}: a dry run, so nothing was created or changed. The counts say what an import would do.", &[&job.file_name])) }
        } @else {
            p.notice role="status" { (t.f("Imported {}.", &[&job.file_name])) }
        }
        dl {
            dt { (t.t("Created")) } dd data-testid="created" { (done.created) }
            dt { (t.t("Updated")) } dd data-testid="updated" { (done.updated) }
            dt { (t.t("Unchanged")) } dd data-testid="unchanged" { (done.unchanged) }
            dt { (t.t("Refused")) } dd data-testid="refused" { (done.refused) }
        }
        @if let Some(m) = &done.mail { p role="status" { (m) } }
        @if done.report.is_some() {
            p { a href="/admin/import/report.csv" download="import-report.csv" { (t.t("Download the report (CSV)")) } }
            p.hint {
                @if job.temporary_passwords && !job.dry_run {
                    (t.t("A line for each row: what was done, the user's id, why a row was refused, and each new \
                          user's temporary password. It is kept until you sign out, or for 30 minutes unused."))
                } @else {
                    (t.t("A line for each row: what was done, the user's id, why a row was refused. It is kept \
                          until you sign out, or for 30 minutes unused."))
                }
            }
        } @else {
            p.error role="alert" { (t.t("The report is too large to keep here; import the file with scimd import or \
                POST /scim/v2/Admin/Import to get it.")) }
        }
        @if !done.refused_rows.is_empty() {
            h2 { (t.t("Refused rows")) }
            table {
                thead { tr { th { (t.t("Row")) } th { (t.t("User name")) } th { (t.t("Why")) } } }
                tbody {
                    @for r in &done.refused_rows {
                        tr { td { (r.row) } td { (r.user_name) } td { (r.detail.as_deref().unwrap_or("")) } }
                    }
                }
            }
            @if done.refused > done.refused_rows.len() {
                p.hint { (t.f("The first {} refused rows; the report has them all.", &[&shown])) }
            }
        }
        div.actions {
            a href="/admin/import" { (t.t("Import another file")) }
            a href="/admin/users" { (t.t("Finish")) }
        }
    };
    let title = if job.dry_run { "Dry run results" } else { "Import results" };
    layout::page(title, &chrome(admin, "/admin/import"), body)
}

/// The last import's report, as the CLI writes it.
pub async fn report(State(s): State<AppState>, admin: Admin) -> Response {
    let csv = s.console.import(&admin.session).and_then(|job| {
        let job = job.lock().ok()?;
        match &job.outcome {
            Some(Ok(done)) => done.report.clone(),
            _ => None,
        }
    });
    match csv {
        Some(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"import-report.csv\""),
            ],
            csv,
        )
            .into_response(),
        None => layout::error_page(admin.lang, &ScimError::not_found("Import report", "last")),
    }
}
