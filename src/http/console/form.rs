//! The user form shared by the Add user wizard and Edit user: its fields read from a posted form
//! or a stored user, turned into the SCIM body or PATCH the service takes, and the service's
//! refusals placed next to the field they concern.
//!
//! It decides no directory rule: the service checks every value, as it does for SCIM clients.

use maud::{html, Markup};
use serde_json::{json, Map, Value};

use crate::http::console::i18n::Lang;
use crate::http::console::layout::{self, Control};
use crate::http::console::session::Fields;
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::scim::schema::ResourceKind;
use crate::scim::schema::{DIRECTORY_USER, ENTERPRISE_USER};
use crate::service::{Caller, ListParams, Resource};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What an administrator typed or chose for one user.
#[derive(Debug, Default, Clone)]
pub struct UserForm {
    pub user_name: String,
    /// The verified domain picked beside a user name typed without one.
    pub domain: String,
    pub first_name: String,
    pub last_name: String,
    pub display_name: String,
    /// The admin roles held or chosen, in order, each once: the wizard picks one or none, Edit
    /// user shows every role held.
    pub admin_roles: Vec<String>,
    /// Addresses separated by commas.
    pub alternate_email: String,
    pub usage_location: String,
    /// License ids.
    pub licenses: Vec<String>,
    /// Sign-in blocked: the user's `active` is false.
    pub blocked: bool,
    /// The seed's optional details, each empty when not set.
    pub details: Details,
}

/// The seed's optional details of a user, as the bulk-add template's columns fill them: the
/// job title, the enterprise department, the work and mobile phones, the work address.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Details {
    pub job_title: String,
    pub department: String,
    pub office_phone: String,
    pub mobile_phone: String,
    pub street_address: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
}

/// (form field, label, where it is kept): every optional detail, in the order Edit user shows them.
/// A phone is the `value` of the phone number of its type, an address part a sub-attribute of
/// the `work` address, as the import writes them.
const DETAILS: [(&str, &str, Detail); 9] = [
    ("job_title", "Job title", Detail::Plain("title")),
    ("department", "Department", Detail::Enterprise("department")),
    ("office_phone", "Office phone", Detail::Phone("work")),
    ("mobile_phone", "Mobile phone", Detail::Phone("mobile")),
    ("street_address", "Street address", Detail::Address("streetAddress")),
    ("city", "City", Detail::Address("locality")),
    ("state", "State or province", Detail::Address("region")),
    ("postal_code", "ZIP or postal code", Detail::Address("postalCode")),
    ("country", "Country or region", Detail::Address("country")),
];

/// Where a detail is kept in the SCIM User.
#[derive(Debug, Clone, Copy)]
enum Detail {
    Plain(&'static str),
    Enterprise(&'static str),
    Phone(&'static str),
    Address(&'static str),
}

impl Detail {
    fn read(self, doc: &Value) -> String {
        let typed = |list: &str, ty: &str| {
            doc.get(list)
                .and_then(Value::as_array)
                .and_then(|items| items.iter().find(|i| i.get("type").and_then(Value::as_str) == Some(ty)))
                .cloned()
        };
        match self {
            Detail::Plain(attr) => text(doc, &[attr]),
            Detail::Enterprise(attr) => text(doc, &[ENTERPRISE_USER, attr]),
            Detail::Phone(ty) => typed("phoneNumbers", ty).map(|p| text(&p, &["value"])).unwrap_or_default(),
            Detail::Address(part) => typed("addresses", "work").map(|a| text(&a, &[part])).unwrap_or_default(),
        }
    }

    /// The paths a PATCH replaces the detail through, and removes it through when emptied.
    fn paths(self) -> (String, String) {
        match self {
            Detail::Plain(attr) => (attr.to_owned(), attr.to_owned()),
            Detail::Enterprise(attr) => (format!("{ENTERPRISE_USER}:{attr}"), format!("{ENTERPRISE_USER}:{attr}")),
            Detail::Phone(ty) => {
                (format!("phoneNumbers[type eq \"{ty}\"].value"), format!("phoneNumbers[type eq \"{ty}\"]"))
            }
            Detail::Address(part) => {
                let path = format!("addresses[type eq \"work\"].{part}");
                (path.clone(), path)
            }
        }
    }
}

impl Details {
    fn get(&self, field: &str) -> &str {
        match field {
            "job_title" => &self.job_title,
            "department" => &self.department,
            "office_phone" => &self.office_phone,
            "mobile_phone" => &self.mobile_phone,
            "street_address" => &self.street_address,
            "city" => &self.city,
            "state" => &self.state,
            "postal_code" => &self.postal_code,
            _ => &self.country,
        }
    }

    fn filled(mut value: impl FnMut(&str, Detail) -> String) -> Details {
        let [t, d, o, m, a, c, s, p, r] = DETAILS.map(|(field, _, detail)| value(field, detail));
        Details {
            job_title: t,
            department: d,
            office_phone: o,
            mobile_phone: m,
            street_address: a,
            city: c,
            state: s,
            postal_code: p,
            country: r,
        }
    }
}

fn ext(doc: &Value) -> Option<&Map<String, Value>> {
    doc.get(DIRECTORY_USER).and_then(Value::as_object)
}

fn values(doc: &Value, attr: &str) -> Vec<String> {
    ext(doc)
        .and_then(|e| e.get(attr))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|i| i.get("value").and_then(Value::as_str)).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The non-empty values of `items`, each once, in their first order.
fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|i| !i.is_empty() && seen.insert(i.clone())).collect()
}

fn text(doc: &Value, path: &[&str]) -> String {
    path.iter().try_fold(doc, |v, k| v.get(*k)).and_then(Value::as_str).unwrap_or_default().to_owned()
}

impl UserForm {
    pub fn from_fields(f: &Fields) -> UserForm {
        UserForm {
            user_name: f.get("user_name").to_owned(),
            domain: f.get("domain").to_owned(),
            first_name: f.get("first_name").to_owned(),
            last_name: f.get("last_name").to_owned(),
            display_name: f.get("display_name").to_owned(),
            admin_roles: distinct(f.all("admin_role").into_iter().map(|r| r.trim().to_owned())),
            alternate_email: f.get("alternate_email").to_owned(),
            usage_location: f.get("usage_location").to_owned(),
            licenses: f.all("license").into_iter().filter(|l| !l.is_empty()).collect(),
            blocked: f.get("block_sign_in") == "true",
            details: Details::filled(|field, _| f.get(field).to_owned()),
        }
    }

    pub fn from_doc(doc: &Value) -> UserForm {
        UserForm {
            user_name: text(doc, &["userName"]),
            domain: String::new(),
            first_name: text(doc, &["name", "givenName"]),
            last_name: text(doc, &["name", "familyName"]),
            display_name: text(doc, &["displayName"]),
            admin_roles: distinct(values(doc, "adminRoles").into_iter()),
            alternate_email: values(doc, "alternateEmails").join(", "),
            usage_location: ext(doc).and_then(|e| e.get("usageLocation")).and_then(Value::as_str).unwrap_or("").into(),
            licenses: values(doc, "licenses"),
            blocked: doc.get("active").and_then(Value::as_bool) == Some(false),
            details: Details::filled(|_, detail| detail.read(doc)),
        }
    }

    fn admin_roles_value(&self) -> Value {
        Value::Array(self.admin_roles.iter().map(|r| json!({"value": r})).collect())
    }

    /// The user name as the service gets it: with the picked domain when typed without one.
    pub fn full_user_name(&self) -> String {
        if self.domain.is_empty() || self.user_name.contains('@') {
            self.user_name.clone()
        } else {
            format!("{}@{}", self.user_name, self.domain)
        }
    }

    fn alternate_emails(&self) -> Vec<Value> {
        self.alternate_email.split(',').map(str::trim).filter(|a| !a.is_empty()).map(|a| json!({"value": a})).collect()
    }

    /// The SCIM User a creation sends.
    pub fn create_body(&self) -> Value {
        let mut user = json!({"schemas": [USER], "userName": self.full_user_name()});
        let mut name = Map::new();
        if !self.first_name.is_empty() {
            name.insert("givenName".into(), json!(self.first_name));
        }
        if !self.last_name.is_empty() {
            name.insert("familyName".into(), json!(self.last_name));
        }
        if !name.is_empty() {
            user["name"] = Value::Object(name);
        }
        if !self.display_name.is_empty() {
            user["displayName"] = json!(self.display_name);
        }
        let mut dir = Map::new();
        if !self.usage_location.is_empty() {
            dir.insert("usageLocation".into(), json!(self.usage_location));
        }
        if !self.admin_roles.is_empty() {
            dir.insert("adminRoles".into(), self.admin_roles_value());
        }
        let emails = self.alternate_emails();
        if !emails.is_empty() {
            dir.insert("alternateEmails".into(), Value::Array(emails));
        }
        if !self.licenses.is_empty() {
            let licenses: Vec<Value> = self.licenses.iter().map(|l| json!({"value": l})).collect();
            dir.insert("licenses".into(), Value::Array(licenses));
        }
        if !dir.is_empty() {
            user["schemas"] = json!([USER, DIRECTORY_USER]);
            user[DIRECTORY_USER] = Value::Object(dir);
        }
        user
    }

    /// The PATCH that takes the stored user `before` to this form: a `replace` of each value
    /// changed, a `remove` of each one emptied, nothing for the rest. Admin roles and licenses
    /// are compared as sets and replaced whole when they differ.
    pub fn patch_from(&self, before: &UserForm) -> Value {
        let mut ops = Vec::new();
        for (field, _, detail) in DETAILS {
            let (old, new) = (before.details.get(field), self.details.get(field));
            let (replace, remove) = detail.paths();
            if old != new {
                ops.push(if new.is_empty() {
                    json!({"op": "remove", "path": remove})
                } else {
                    json!({"op": "replace", "path": replace, "value": new})
                });
            }
        }
        if self.blocked != before.blocked {
            ops.push(json!({"op": "replace", "path": "active", "value": !self.blocked}));
        }
        let mut set = |path: String, old: &str, new: &str, value: Value| {
            if old != new {
                ops.push(if new.is_empty() {
                    json!({"op": "remove", "path": path})
                } else {
                    json!({"op": "replace", "path": path, "value": value})
                });
            }
        };
        let dir = |attr: &str| format!("{DIRECTORY_USER}:{attr}");
        let user_name = self.full_user_name();
        set("userName".into(), &before.user_name, &user_name, json!(user_name));
        set("name.givenName".into(), &before.first_name, &self.first_name, json!(self.first_name));
        set("name.familyName".into(), &before.last_name, &self.last_name, json!(self.last_name));
        set("displayName".into(), &before.display_name, &self.display_name, json!(self.display_name));
        set(dir("usageLocation"), &before.usage_location, &self.usage_location, json!(self.usage_location));
        let (mut old_roles, mut new_roles) = (before.admin_roles.clone(), self.admin_roles.clone());
        old_roles.sort();
        new_roles.sort();
        set(dir("adminRoles"), &old_roles.join("\n"), &new_roles.join("\n"), self.admin_roles_value());
        let normalize =
            |list: &str| list.split(',').map(str::trim).filter(|a| !a.is_empty()).collect::<Vec<_>>().join(",");
        set(
            dir("alternateEmails"),
            &normalize(&before.alternate_email),
            &normalize(&self.alternate_email),
            Value::Array(self.alternate_emails()),
        );
        let (mut old, mut new) = (before.licenses.clone(), self.licenses.clone());
        old.sort();
        new.sort();
        let licenses: Vec<Value> = self.licenses.iter().map(|l| json!({"value": l})).collect();
        set(dir("licenses"), &old.join(","), &new.join(","), Value::Array(licenses));
        json!({"schemas": [PATCH_OP], "Operations": ops})
    }
}

/// The form field a service refusal concerns, found by the attribute its detail names; `None`
/// when it concerns the whole form.
pub fn field_of(detail: &str) -> Option<&'static str> {
    let has = |s: &str| detail.contains(s);
    if has("alternateEmails") {
        Some("alternate_email")
    } else if has("adminRoles") {
        Some("admin_role")
    } else if has("usageLocation") {
        Some("usage_location")
    } else if has("license") || has("License") {
        Some("licenses")
    } else if has("userName") || has("verified domain") {
        Some("user_name")
    } else if has("results mail") {
        Some("mail_to")
    } else if has("givenName") {
        Some("first_name")
    } else if has("familyName") {
        Some("last_name")
    } else if has("displayName") {
        Some("display_name")
    } else if has("department") {
        Some("department")
    } else if has("\"work\"].") || has("addresses") {
        Some(address_field(detail))
    } else if has("phoneNumbers") {
        Some(if has("mobile") { "mobile_phone" } else { "office_phone" })
    } else if has("title") {
        Some("job_title")
    } else {
        None
    }
}

/// The address field a refusal about the work address concerns, by the part it names.
fn address_field(detail: &str) -> &'static str {
    DETAILS
        .iter()
        .find_map(|(field, _, d)| match d {
            Detail::Address(part) if detail.contains(part) => Some(*field),
            _ => None,
        })
        .unwrap_or("street_address")
}

/// A service refusal shown on a form: beside its field, or above the form.
#[derive(Debug, Default, Clone)]
pub struct Problem {
    pub field: Option<&'static str>,
    pub detail: String,
}

impl Problem {
    pub fn of(e: &ScimError) -> Problem {
        crate::service::log_internal(e);
        Problem { field: field_of(&e.detail), detail: e.detail.to_string() }
    }

    /// The detail when it concerns `field`.
    pub fn at(&self, field: &str) -> Option<&str> {
        (self.field == Some(field)).then_some(self.detail.as_str())
    }

    /// The detail when it concerns no field.
    pub fn general(&self) -> Option<&str> {
        self.field.is_none().then_some(self.detail.as_str()).filter(|d| !d.is_empty())
    }
}

/// A License as the forms and the Licenses page show it.
pub struct LicenseInfo {
    pub id: String,
    pub part_number: String,
    pub name: String,
    pub seats: i64,
    pub consumed: i64,
    pub available: i64,
}

/// What the forms offer to choose from: admin roles and countries from the schema, the
/// tenant's licenses with their seats and its verified domains from the service.
pub struct Choices {
    pub roles: Vec<String>,
    pub countries: Vec<String>,
    pub licenses: Vec<LicenseInfo>,
    /// (domain, whether it is the initial one)
    pub domains: Vec<(String, bool)>,
}

fn canonical(state: &AppState, attr: &str, sub: Option<&str>) -> Vec<String> {
    let a = state.registry.schema(DIRECTORY_USER).and_then(|s| s.attribute(attr));
    let a = match sub {
        Some(sub) => a.and_then(|a| a.sub(sub)),
        None => a,
    };
    a.map(|a| a.canonical_values.clone()).unwrap_or_default()
}

pub async fn licenses(state: &AppState, caller: &Caller) -> Result<Vec<LicenseInfo>, ScimError> {
    let params = ListParams { sort_by: Some("partNumber".into()), ..Default::default() };
    let page = state.service.list(caller, ResourceKind::License, &params).await?;
    Ok(page.resources.iter().map(license_info).collect())
}

fn license_info(r: &Resource) -> LicenseInfo {
    let doc = &r.stored.doc;
    let int = |k: &str| doc.get(k).and_then(Value::as_i64).unwrap_or(0);
    LicenseInfo {
        id: r.stored.id.to_string(),
        part_number: text(doc, &["partNumber"]),
        name: text(doc, &["displayName"]),
        seats: int("seats"),
        consumed: int("consumed"),
        available: int("available"),
    }
}

impl Choices {
    pub async fn load(state: &AppState, caller: &Caller) -> Result<Choices, ScimError> {
        Ok(Choices {
            roles: canonical(state, "adminRoles", Some("value")),
            countries: canonical(state, "usageLocation", None),
            licenses: licenses(state, caller).await?,
            domains: state.service.domains(caller).await?,
        })
    }

    fn role_options(&self, t: Lang) -> Vec<(String, String)> {
        std::iter::once((String::new(), t.t("No").to_owned()))
            .chain(self.roles.iter().map(|r| (r.clone(), t.f("Yes: {}", &[r]))))
            .collect()
    }

    fn country_options(&self, t: Lang) -> Vec<(String, String)> {
        std::iter::once((String::new(), t.t("Not set").to_owned()))
            .chain(self.countries.iter().map(|c| (c.clone(), c.clone())))
            .collect()
    }
}

/// The Details controls: names, and the user name with a domain picker when the tenant has
/// verified domains.
pub fn details(t: Lang, form: &UserForm, choices: &Choices, problem: &Problem, locked: bool) -> Markup {
    let initial = choices.domains.iter().find(|(_, i)| *i).map(|(d, _)| d.as_str());
    let initial_hint = initial.map(|d| {
        t.f(
            "A name on the initial domain {} must be created before the same name on another domain, not after it.",
            &[d],
        )
    });
    let (local, domain) = match form.user_name.rsplit_once('@') {
        Some((l, d)) if form.domain.is_empty() => (l.to_owned(), d.to_owned()),
        _ => (form.user_name.clone(), form.domain.clone()),
    };
    let mut picked = Control::new("user_name", t.t("User name"), &local).error(problem.at("user_name"));
    if let Some(h) = &initial_hint {
        picked = picked.hint(h);
    }
    let domains: Vec<(String, String)> = choices.domains.iter().map(|(d, _)| (d.clone(), format!("@{d}"))).collect();
    // A name outside every verified domain (given before they were configured) is shown whole.
    let plain = choices.domains.is_empty()
        || locked
        || (!domain.is_empty() && !choices.domains.iter().any(|(d, _)| d.eq_ignore_ascii_case(&domain)));
    html! {
        (layout::text(Control::new("first_name", t.t("First name"), &form.first_name).error(problem.at("first_name")).disabled(locked), "text"))
        (layout::text(Control::new("last_name", t.t("Last name"), &form.last_name).error(problem.at("last_name")).disabled(locked), "text"))
        (layout::text(Control::new("display_name", t.t("Display name"), &form.display_name).error(problem.at("display_name")).disabled(locked), "text"))
        @if plain {
            (layout::text(Control::new("user_name", t.t("User name"), &form.user_name).error(problem.at("user_name")).disabled(locked), "text"))
        } @else {
            (layout::text(picked, "text"))
            (layout::select(Control::new("domain", t.t("Domain"), &domain), &domains))
        }
    }
}

/// The wizard's Settings controls: one admin role or none, and the alternate email it needs.
pub fn settings(t: Lang, form: &UserForm, choices: &Choices, problem: &Problem, locked: bool) -> Markup {
    let first = form.admin_roles.first().map(String::as_str).unwrap_or("");
    html! {
        (layout::select(Control::new("admin_role", t.t("Admin role"), first).error(problem.at("admin_role")).disabled(locked), &choices.role_options(t)))
        (alternate_email(t, form, problem, locked))
    }
}

/// Edit user's Settings controls: a checkbox for each admin role of the catalogue and each other
/// role the user holds, so that every role held is shown and none is dropped unseen, and the
/// alternate email.
pub fn admin_roles(t: Lang, form: &UserForm, choices: &Choices, problem: &Problem, locked: bool) -> Markup {
    let error = problem.at("admin_role");
    let others = form.admin_roles.iter().filter(|r| !choices.roles.contains(r));
    let roles: Vec<&String> = choices.roles.iter().chain(others).collect();
    html! {
        fieldset aria-describedby=[error.map(|_| "admin_role-error")] {
            legend { (t.t("Admin roles")) }
            @for (i, role) in roles.iter().enumerate() {
                @let id = format!("admin-role-{i}");
                div {
                    input type="checkbox" id=(id) name="admin_role" value=(role)
                        checked[form.admin_roles.contains(role)] disabled[locked];
                    " "
                    label for=(id) { (role) }
                }
            }
            (layout::field_error("admin_role", error))
        }
        (alternate_email(t, form, problem, locked))
    }
}

fn alternate_email(t: Lang, form: &UserForm, problem: &Problem, locked: bool) -> Markup {
    layout::text(
        Control::new("alternate_email", t.t("Alternate email address"), &form.alternate_email)
            .hint(
                t.t("Required with an admin role: where the administrator can be reached if locked out. Up to five, \
                 separated by commas."),
            )
            .error(problem.at("alternate_email"))
            .disabled(locked),
        "text",
    )
}

/// Edit user's sign-in control: a checkbox that blocks sign-in (sets `active` to false).
pub fn sign_in(t: Lang, form: &UserForm, problem: &Problem, locked: bool) -> Markup {
    let error = problem.at("block_sign_in");
    html! {
        div.field.check {
            input type="checkbox" id="block_sign_in" name="block_sign_in" value="true" checked[form.blocked]
                disabled[locked] aria-describedby=(if error.is_some() { "block_sign_in-hint block_sign_in-error" } else { "block_sign_in-hint" });
            " "
            label for="block_sign_in" { (t.t("Block sign-in")) }
            p.hint id="block_sign_in-hint" { (t.t("The user keeps its licenses and groups but cannot sign in, as with scimd user disable.")) }
            (layout::field_error("block_sign_in", error))
        }
    }
}

/// Edit user's optional details: job title, department, phones, work address.
pub fn optional_details(t: Lang, form: &UserForm, problem: &Problem, locked: bool) -> Markup {
    html! {
        @for (field, label, _) in DETAILS {
            @let kind = if field.ends_with("_phone") { "tel" } else { "text" };
            (layout::text(Control::new(field, t.t(label), form.details.get(field)).error(problem.at(field)).disabled(locked), kind))
        }
    }
}

/// The Location control.
pub fn location(t: Lang, form: &UserForm, choices: &Choices, problem: &Problem, locked: bool) -> Markup {
    html! {
        (layout::select(Control::new("usage_location", t.t("Usage location"), &form.usage_location)
            .hint(t.t("Where the user works; it must be set before a license is assigned."))
            .error(problem.at("usage_location")).disabled(locked), &choices.country_options(t)))
    }
}

/// The Licenses controls: one checkbox per License with its seats available. A license with
/// no seat left cannot be chosen unless the user holds it already.
pub fn licenses_fieldset(t: Lang, form: &UserForm, choices: &Choices, problem: &Problem, locked: bool) -> Markup {
    let error = problem.at("licenses");
    let none_left = choices.licenses.iter().all(|l| l.available <= 0 && !form.licenses.contains(&l.id));
    html! {
        fieldset aria-describedby=[error.map(|_| "licenses-error")] {
            legend id="licenses-label" { (t.t("Licenses")) }
            @if choices.licenses.is_empty() {
                p { (t.t("This tenant has no licenses yet.")) }
            }
            @if none_left && !choices.licenses.is_empty() {
                p.readonly role="status" {
                    (t.t("No licenses are available. Remove licenses from users who no longer need them, or delete user \
                     accounts that are no longer needed, to free licenses; or go on without a license."))
                    " " a href="/admin/licenses" { (t.t("See the licenses")) }
                }
            }
            @for l in &choices.licenses {
                @let held = form.licenses.contains(&l.id);
                @let id = format!("license-{}", l.id);
                div {
                    input type="checkbox" id=(id) name="license" value=(l.id) checked[held]
                        disabled[locked || (!held && l.available <= 0)];
                    " "
                    label for=(id) { (l.name) " (" (l.part_number) "): " (t.f("{} of {} available", &[&l.available.to_string(), &l.seats.to_string()])) }
                }
            }
            (layout::field_error("licenses", error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(patch: &Value) -> Vec<(String, String)> {
        patch["Operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["op"].as_str().unwrap().to_owned(), o["path"].as_str().unwrap().to_owned()))
            .collect()
    }

    #[test]
    fn admin_roles_in_another_order_change_nothing_and_a_changed_set_is_replaced_whole() {
        let doc = json!({"userName": "a@b.c", DIRECTORY_USER: {"adminRoles": [{"value": "Global administrator"}, {"value": "Billing administrator"}]}});
        let before = UserForm::from_doc(&doc);
        let same = Fields::parse(b"user_name=a%40b.c&admin_role=Billing+administrator&admin_role=Global+administrator");
        let fewer =
            Fields::parse(b"user_name=a%40b.c&admin_role=Billing+administrator&admin_role=Billing+administrator");
        let none = Fields::parse(b"user_name=a%40b.c");

        assert!(ops(&UserForm::from_fields(&same).patch_from(&before)).is_empty());
        let patch = UserForm::from_fields(&fewer).patch_from(&before);
        assert_eq!(patch["Operations"][0]["value"], json!([{"value": "Billing administrator"}]), "each role once");
        let roles = format!("{DIRECTORY_USER}:adminRoles");
        assert_eq!(ops(&UserForm::from_fields(&none).patch_from(&before)), [("remove".to_owned(), roles)]);
    }

    #[test]
    fn details_are_replaced_where_the_import_puts_them_and_removed_when_emptied() {
        let doc = json!({"userName": "a@b.c", "phoneNumbers": [{"type": "mobile", "value": "06"}, {"type": "home", "value": "010"}],
            "addresses": [{"type": "work", "locality": "Ede"}]});
        let before = UserForm::from_doc(&doc);
        let typed = Fields::parse(b"user_name=a%40b.c&office_phone=030&city=Ede&job_title=Lead&block_sign_in=true");

        let patch = UserForm::from_fields(&typed).patch_from(&before);

        assert_eq!(before.details.mobile_phone, "06", "the mobile phone is read by its type");
        assert_eq!(
            ops(&patch),
            [
                ("replace".to_owned(), "title".to_owned()),
                ("replace".to_owned(), "phoneNumbers[type eq \"work\"].value".to_owned()),
                ("remove".to_owned(), "phoneNumbers[type eq \"mobile\"]".to_owned()),
                ("replace".to_owned(), "active".to_owned()),
            ],
            "the home phone and the unchanged city are left alone"
        );
        assert_eq!(patch["Operations"][3]["value"], false);
    }
}
