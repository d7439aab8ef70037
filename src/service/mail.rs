//! Results mail: the SMTP server scimd sends through (`--smtp-url`), who may be mailed, and
//! `Service::mail_results`, the one function that builds, sends and audits a results mail.
//!
//! The import and an administrator's user creation call it after their writes; a mail that
//! fails is reported and audited, never undone into the writes it reports on.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use percent_encoding::percent_decode_str;
use serde_json::json;

use crate::directory::import::{MailReport, Report, ReportRow, Status, TemporaryPassword};
use crate::scim::error::{Result, ScimError};
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::service::{Caller, Resource, Service};
use crate::store::{AuditEntry, Operation, Scope};

/// Most addresses one results mail may go to.
pub const MAX_RECIPIENTS: usize = 5;

/// The sender when `--mail-from` is not given.
pub const DEFAULT_MAIL_FROM: &str = "scimd <scimd@localhost>";

/// The format `--smtp-url` takes, for error messages and `--help`.
pub const SMTP_URL_FORMAT: &str =
    "smtp://[USER:PASSWORD@]HOST[:PORT][?tls=starttls|none] or smtps://[USER:PASSWORD@]HOST[:PORT]";

/// How long connecting to the SMTP server and each of its answers may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Rows the mail's text lists per status; the attached report has every row.
const LISTED_ROWS: usize = 200;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on the same machine or network (`?tls=none`).
    None,
    /// STARTTLS, required: the mail is not sent if the server does not offer it (`smtp://`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// `--smtp-url`, parsed. Its `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish()
    }
}

impl SmtpUrl {
    /// Reads `smtp://[USER:PASSWORD@]HOST[:PORT][?tls=starttls|none]` (STARTTLS by default, port
    /// 587) or `smtps://[USER:PASSWORD@]HOST[:PORT]` (implicit TLS, port 465). The user and
    /// password are percent-decoded. Errors never quote the URL, which may hold the password.
    pub fn parse(text: &str) -> Result<SmtpUrl> {
        let bad = |why: String| ScimError::invalid_value(format!("--smtp-url {why}; the format is {SMTP_URL_FORMAT}"));
        let url = url::Url::parse(text.trim()).map_err(|e| bad(format!("is not a URL ({e})")))?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(bad(format!("has the scheme {other:?}, not smtp or smtps"))),
        };
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
        if host.is_empty() {
            return Err(bad("names no host".into()));
        }
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(bad("has a path or fragment after the host".into()));
        }
        let mut tls = if implicit { SmtpTls::Implicit } else { SmtpTls::StartTls };
        for (key, value) in url.query_pairs() {
            tls = match (key.as_ref(), value.as_ref(), implicit) {
                ("tls", "starttls", false) => SmtpTls::StartTls,
                ("tls", "none", false) => SmtpTls::None,
                ("tls", "implicit", _) => SmtpTls::Implicit,
                _ => {
                    return Err(bad(format!(
                        "has the parameter {key}={value}; smtp:// takes only tls=starttls or tls=none"
                    )))
                }
            };
        }
        let port = url.port().unwrap_or(if tls == SmtpTls::Implicit { 465 } else { 587 });
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("has a user or password that is not UTF-8 once percent-decoded".into()))
        };
        let credentials = match url.username() {
            "" => None,
            user => Some((decode(user)?, decode(url.password().unwrap_or_default())?)),
        };
        Ok(SmtpUrl { host, port, tls, credentials })
    }
}

/// The SMTP server and the sender of results mail.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `HOST:PORT`, for messages.
    server: String,
    /// Taken out of any error text before it is shown or recorded.
    password: Option<String>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("server", &self.server).field("from", &self.from.to_string()).finish()
    }
}

impl Mailer {
    /// A mailer for `--smtp-url` and `--mail-from` (a bare address or `Name <address>`).
    pub fn new(url: &SmtpUrl, from: &str) -> Result<Mailer> {
        let from: Mailbox = from.trim().parse().map_err(|e| {
            ScimError::invalid_value(format!(
                "--mail-from {from:?} is not an email address ({e}), such as scimd@example.com"
            ))
        })?;
        let builder = match url.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&url.host)
                .map_err(|e| ScimError::invalid_value(format!("--smtp-url: {e}")))?,
            SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&url.host)
                .map_err(|e| ScimError::invalid_value(format!("--smtp-url: {e}")))?,
        };
        let mut builder = builder.port(url.port).timeout(Some(SMTP_TIMEOUT));
        if let Some((user, password)) = &url.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            server: format!("{}:{}", url.host, url.port),
            password: url.credentials.as_ref().map(|(_, p)| p.clone()).filter(|p| !p.is_empty()),
        })
    }

    /// `HOST:PORT` of the SMTP server.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// An error as a person may read it: the SMTP server named, the password never.
    fn failure(&self, e: &dyn std::fmt::Display) -> String {
        let text = format!("the SMTP server {} did not take the mail: {e}", self.server);
        match &self.password {
            Some(p) => text.replace(p.as_str(), "***"),
            None => text,
        }
    }
}

/// The addresses a results mail goes to: one to five, each a valid address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipients(Vec<Address>);

impl Recipients {
    /// `a@example.com,b@example.com`: commas between addresses, spaces around them ignored.
    pub fn parse(list: &str) -> Result<Recipients> {
        let given: Vec<&str> = list.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
        if given.is_empty() {
            return Err(ScimError::invalid_value(
                "the results mail names no address: give one to five, separated by commas, such as \
                 it@example.com,hr@example.com",
            ));
        }
        if given.len() > MAX_RECIPIENTS {
            return Err(ScimError::invalid_value(format!(
                "the results mail names {} addresses; it may go to at most {MAX_RECIPIENTS}: leave some out, or \
                 send it to a mailing list",
                given.len()
            )));
        }
        let mut out = Vec::with_capacity(given.len());
        for address in given {
            out.push(address.parse::<Address>().map_err(|e| {
                ScimError::invalid_value(format!(
                    "the results mail cannot go to {address:?}: it is not an email address ({e}); give addresses \
                     such as it@example.com, separated by commas"
                ))
            })?);
        }
        Ok(Recipients(out))
    }

    pub fn addresses(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

/// A strong random password for a new user: 20 characters from a CSPRNG, with at least one
/// capital, small letter, digit and symbol. It never begins with a character a spreadsheet
/// would run as a formula, and leaves out characters that are easily misread (0 O 1 l I).
pub fn temporary_password() -> TemporaryPassword {
    use rand::rngs::OsRng;
    use rand::seq::SliceRandom;
    use rand::Rng;
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"!#%*?_~";
    const LENGTH: usize = 20;
    let mut rng = OsRng;
    let pick = |rng: &mut OsRng, set: &[u8]| char::from(set[rng.gen_range(0..set.len())]);
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<char> = [UPPER, LOWER, DIGITS, SYMBOLS].iter().map(|set| pick(&mut rng, set)).collect();
    while chars.len() < LENGTH {
        chars.push(pick(&mut rng, &all));
    }
    chars.shuffle(&mut rng);
    if !chars[0].is_ascii_alphanumeric() {
        // Move a letter or digit to the front; the classes are all still there.
        if let Some(i) = chars.iter().position(char::is_ascii_alphanumeric) {
            chars.swap(0, i);
        }
    }
    TemporaryPassword(chars.into_iter().collect())
}

impl Service {
    /// The same service, sending results mail through `mailer`.
    pub fn with_mailer(self, mailer: Mailer) -> Self {
        Service { mailer: Some(Arc::new(mailer)), ..self }
    }

    /// The recipients of the results mail a caller asks for, checked before anything is
    /// written: an SMTP server must be configured, and there must be one to five valid
    /// addresses.
    pub fn mail_recipients(&self, list: Option<&str>) -> Result<Option<Recipients>> {
        let Some(list) = list else { return Ok(None) };
        if self.mailer.is_none() {
            return Err(ScimError::invalid_value(
                "no results mail can be sent: scimd has no SMTP server configured; start it with --smtp-url (or \
                 SCIMD_SMTP_URL), or leave out the results mail",
            ));
        }
        Recipients::parse(list).map(Some)
    }

    /// Mails `report` (what `what` did, such as `import of users.csv`) to `to`: a text listing
    /// the created, updated and refused rows (with the temporary passwords given), and the
    /// report as a CSV attachment. Then writes an audit line with the recipients and the
    /// outcome, never the body. A failure is returned in the outcome, not as an error: the
    /// writes it reports on stand.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, recipients = to.0.len()))]
    pub async fn mail_results(&self, caller: &Caller, to: &Recipients, what: &str, report: &Report) -> MailReport {
        let addresses = to.addresses();
        let id = uuid::Uuid::new_v4().to_string();
        let subject = subject(&caller.principal.tenant_name, what, report);
        let outcome = match &self.mailer {
            None => Err("scimd has no SMTP server configured (--smtp-url)".to_owned()),
            Some(mailer) => match results_message(mailer, to, &subject, what, caller, report) {
                Err(e) => Err(e),
                Ok(message) => mailer.transport.send(message).await.map(|_| ()).map_err(|e| mailer.failure(&e)),
            },
        };
        let mail = MailReport { to: addresses, sent: outcome.is_ok(), detail: outcome.err() };
        match &mail.detail {
            None => tracing::info!(id = %id, "results mail sent"),
            Some(detail) => tracing::warn!(id = %id, detail = %detail, "results mail not sent"),
        }
        let mut changes = json!({
            "to": mail.to,
            "subject": subject,
            "outcome": if mail.sent { "sent" } else { "failed" },
        });
        if let Some(detail) = &mail.detail {
            changes["detail"] = json!(detail);
        }
        let entry = AuditEntry::new(&caller.actor(), Operation::Mail, changes);
        if let Err(e) = self.store.record_audit(caller.principal.tenant, "Mail", &id, &entry).await {
            tracing::error!(error = %e, "the results mail's audit line could not be written");
        }
        mail
    }
}

/// What an administrator's user creation (`POST /Users?mailResults=…&temporaryPasswords=true`)
/// asks for besides the user.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    /// Mail the result to these addresses (at most five, separated by commas).
    pub mail_results: Option<String>,
    /// Give the new user a random password when the body has none, shown once in the answer.
    pub temporary_passwords: Option<bool>,
}

impl CreationOptions {
    fn asked(&self) -> bool {
        self.mail_results.is_some() || self.temporary_passwords.is_some()
    }
}

impl Service {
    /// A create that may also ask for a temporary password and a results mail: then admin
    /// scope only (403 otherwise), Users only, and the answer carries a one-row report with
    /// the password and the mail's outcome. Without either option it is `create`.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, kind = kind.name()))]
    pub async fn create_reported(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        mut body: serde_json::Value,
        projection: &Projection,
        options: &CreationOptions,
    ) -> Result<(Resource, Option<Report>)> {
        if !options.asked() {
            return Ok((self.create(caller, kind, body, projection).await?, None));
        }
        caller.principal.require(Scope::Admin)?;
        if kind != ResourceKind::User {
            return Err(ScimError::invalid_value(format!(
                "mailResults and temporaryPasswords apply to the creation of Users, not of {}s",
                kind.name()
            )));
        }
        let recipients = self.mail_recipients(options.mail_results.as_deref())?;
        let given = body.as_object().is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case("password")));
        let password = match (options.temporary_passwords.unwrap_or(false) && !given, body.as_object_mut()) {
            (true, Some(o)) => {
                let password = temporary_password();
                o.insert("password".into(), json!(password.expose()));
                Some(password)
            }
            _ => None,
        };
        let created = self.create(caller, kind, body, projection).await?;
        let user_name = created.stored.doc.get("userName").and_then(serde_json::Value::as_str).unwrap_or_default();
        let mut report = Report {
            rows: vec![ReportRow {
                row: 1,
                user_name: user_name.to_owned(),
                status: Status::Created,
                id: Some(created.stored.id.to_string()),
                detail: None,
                temporary_password: password,
            }],
            temporary_passwords: options.temporary_passwords.unwrap_or(false),
            ..Report::default()
        };
        if let Some(to) = recipients {
            report.mail = Some(self.mail_results(caller, &to, "user created by an administrator", &report).await);
        }
        Ok((created, Some(report)))
    }
}

/// `scimd (contoso): import of users.csv: 3 created, 1 updated, 0 unchanged, 1 refused`.
fn subject(tenant: &str, what: &str, report: &Report) -> String {
    format!(
        "scimd ({tenant}): {what}: {} created, {} updated, {} unchanged, {} refused",
        report.count(Status::Created),
        report.count(Status::Updated),
        report.count(Status::Unchanged),
        report.count(Status::Refused),
    )
}

/// The mail: a text part listing the rows, and the report as `report.csv`.
fn results_message(
    mailer: &Mailer,
    to: &Recipients,
    subject: &str,
    what: &str,
    caller: &Caller,
    report: &Report,
) -> std::result::Result<Message, String> {
    let mut csv = Vec::new();
    report.write_csv(&mut csv).map_err(|e| format!("the report could not be written: {e}"))?;
    let mut builder = Message::builder().from(mailer.from.clone()).subject(subject);
    for address in &to.0 {
        builder = builder.to(Mailbox::new(None, address.clone()));
    }
    builder
        .multipart(
            MultiPart::mixed().singlepart(SinglePart::plain(body_text(what, caller, report))).singlepart(
                Attachment::new("report.csv".into())
                    .body(csv, ContentType::parse("text/csv").unwrap_or(ContentType::TEXT_PLAIN)),
            ),
        )
        .map_err(|e| format!("the mail could not be built: {e}"))
}

/// The text of the mail: what happened, by whom, and the rows by status.
fn body_text(what: &str, caller: &Caller, report: &Report) -> String {
    use std::fmt::Write;
    let mut text = format!(
        "{what} in tenant \"{}\", by {}: {} created, {} updated, {} unchanged, {} refused.\n",
        caller.principal.tenant_name,
        caller.principal.token_name,
        report.count(Status::Created),
        report.count(Status::Updated),
        report.count(Status::Unchanged),
        report.count(Status::Refused),
    );
    for (status, heading) in [(Status::Created, "Created"), (Status::Updated, "Updated"), (Status::Refused, "Refused")]
    {
        let rows: Vec<_> = report.rows.iter().filter(|r| r.status == status).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = write!(text, "\n{heading} ({}):\n", rows.len());
        for r in rows.iter().take(LISTED_ROWS) {
            let _ = write!(text, "  row {}: {}", r.row, r.user_name);
            if let Some(p) = &r.temporary_password {
                let _ = write!(text, ", temporary password {}", p.expose());
            }
            if let Some(d) = &r.detail {
                let _ = write!(text, ": {d}");
            }
            text.push('\n');
        }
        if rows.len() > LISTED_ROWS {
            let _ = writeln!(text, "  … and {} more in the attached report", rows.len() - LISTED_ROWS);
        }
    }
    if report.temporary_passwords {
        text.push_str(
            "\nEach new user's temporary password is shown here and in the report only: hand it over on a \
             channel of its own, and have the user change it.\n",
        );
    }
    text.push_str("\nThe attached report.csv has a line per row.\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_name_host_port_tls_and_credentials() {
        let u = SmtpUrl::parse("smtp://mailer:p%40ss@smtp.example.com:2525?tls=starttls").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("smtp.example.com", 2525, SmtpTls::StartTls));
        assert_eq!(u.credentials, Some(("mailer".into(), "p@ss".into())));
        assert!(!format!("{u:?}").contains("p@ss"), "Debug hides the password");
        let u = SmtpUrl::parse("smtp://relay.internal").unwrap();
        assert_eq!((u.port, u.tls, u.credentials), (587, SmtpTls::StartTls, None));
        let u = SmtpUrl::parse("smtps://u:p@smtp.example.com").unwrap();
        assert_eq!((u.port, u.tls), (465, SmtpTls::Implicit));
        let u = SmtpUrl::parse("smtp://127.0.0.1:25?tls=none").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("127.0.0.1", 25, SmtpTls::None));
    }

    #[test]
    fn a_bad_smtp_url_is_refused_with_the_format_and_without_its_password() {
        for bad in [
            "http://u:hunter2@smtp.example.com",
            "smtp://u:hunter2@smtp.example.com?tls=maybe",
            "smtps://u:hunter2@smtp.example.com?tls=none",
            "smtp://u:hunter2@smtp.example.com/path",
            "smtp://",
            "not a url hunter2",
        ] {
            let e = SmtpUrl::parse(bad).unwrap_err();
            assert!(e.detail.contains(SMTP_URL_FORMAT), "{bad}: {}", e.detail);
            assert!(!e.detail.contains("hunter2"), "{bad}: {}", e.detail);
        }
    }

    #[test]
    fn recipients_are_one_to_five_valid_addresses_and_a_bad_one_is_named() {
        let ok = Recipients::parse(" a@example.com, b@example.org ,").unwrap();
        assert_eq!(ok.addresses(), ["a@example.com", "b@example.org"]);
        let six = Recipients::parse("a@x.com,b@x.com,c@x.com,d@x.com,e@x.com,f@x.com").unwrap_err();
        assert_eq!((six.status, six.scim_type.map(|t| t.as_str())), (400, Some("invalidValue")));
        assert!(six.detail.contains("names 6 addresses") && six.detail.contains("at most 5"), "{}", six.detail);
        let bad = Recipients::parse("a@example.com,not-an-address").unwrap_err();
        assert!(bad.detail.contains("\"not-an-address\""), "{}", bad.detail);
        assert!(Recipients::parse(" , ").unwrap_err().detail.contains("names no address"));
    }

    #[test]
    fn temporary_passwords_are_long_mixed_random_and_safe_in_a_spreadsheet() {
        let passwords: Vec<String> = (0..200).map(|_| temporary_password().0).collect();
        for p in &passwords {
            assert_eq!(p.chars().count(), 20, "{p}");
            assert!(p.chars().any(|c| c.is_ascii_uppercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_lowercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_digit()), "{p}");
            assert!(p.chars().any(|c| !c.is_ascii_alphanumeric()), "{p}");
            assert!(p.starts_with(|c: char| c.is_ascii_alphanumeric()), "{p}");
        }
        let distinct: std::collections::HashSet<_> = passwords.iter().collect();
        assert_eq!(distinct.len(), passwords.len());
    }
}
