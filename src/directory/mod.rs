//! The tenant's directory rules (the Office 365 admin-center model of DESIGN.md §4) as pure
//! checks over a user's document; the service applies them on every path that writes a user.
//!
//! No I/O: what needs the database (seats, names taken) is enforced by the store.

pub mod import;

use serde_json::{Map, Value};

use crate::scim::error::ScimError;
use crate::scim::schema::Registry;

pub use crate::scim::schema::DIRECTORY_USER;
/// The admin center accepts at most five alternate email addresses.
pub const MAX_ALTERNATE_EMAILS: usize = 5;

const SYNCED: &str = "onPremisesSyncEnabled";
const IMPORT_SOURCE: &str = "importSource";

fn extension(doc: &Value) -> Option<&Map<String, Value>> {
    doc.get(DIRECTORY_USER).and_then(Value::as_object)
}

fn values<'a>(ext: Option<&'a Map<String, Value>>, attr: &str) -> Vec<&'a str> {
    ext.and_then(|e| e.get(attr))
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|i| i.get("value").and_then(Value::as_str)).collect())
        .unwrap_or_default()
}

fn canonical_values<'a>(registry: &'a Registry, attr: &str) -> Vec<&'a str> {
    let Some(a) = registry.schema(DIRECTORY_USER).and_then(|s| s.attribute(attr)) else { return Vec::new() };
    let values = if a.canonical_values.is_empty() {
        a.sub("value").map(|s| &s.canonical_values)
    } else {
        Some(&a.canonical_values)
    };
    values.map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default()
}

/// A plausible address: one `@`, something before it, a dotted domain after it, no spaces.
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Checks the directory rules of a user's document and writes catalogue values in their
/// canonical spelling (`us` → `US`, `global administrator` → `Global administrator`).
pub fn check_user(registry: &Registry, doc: &mut Value) -> Result<(), ScimError> {
    let ext = extension(doc);
    let location = ext.and_then(|e| e.get("usageLocation")).and_then(Value::as_str).map(str::to_owned);
    let countries = canonical_values(registry, "usageLocation");
    let location = match location {
        Some(l) => match countries.iter().find(|c| c.eq_ignore_ascii_case(&l)) {
            Some(c) => Some(*c),
            None => {
                return Err(ScimError::invalid_value(format!(
                    "usageLocation {l:?} is not an ISO 3166-1 alpha-2 country code such as \"US\", \"NL\" or \"DE\""
                )))
            }
        },
        None => None,
    };
    let licenses = values(ext, "licenses");
    if !licenses.is_empty() && location.is_none() {
        return Err(ScimError::invalid_value(
            "usageLocation must be set before a license is assigned: send it in the same request or set it first",
        ));
    }
    let emails = values(ext, "alternateEmails");
    if emails.len() > MAX_ALTERNATE_EMAILS {
        return Err(ScimError::invalid_value(format!(
            "at most {MAX_ALTERNATE_EMAILS} alternateEmails are allowed; {} were given",
            emails.len()
        )));
    }
    if let Some(bad) = emails.iter().find(|e| !is_email(e)) {
        return Err(ScimError::invalid_value(format!("alternateEmails: {bad:?} is not an email address")));
    }
    let catalogue = canonical_values(registry, "adminRoles");
    let mut roles = Vec::new();
    for role in values(ext, "adminRoles") {
        match catalogue.iter().find(|c| c.eq_ignore_ascii_case(role)) {
            Some(c) => roles.push(*c),
            None => {
                return Err(ScimError::invalid_value(format!(
                    "adminRoles: {role:?} is not an admin role; the roles are: {}",
                    catalogue.join(", ")
                )))
            }
        }
    }
    if !roles.is_empty() && emails.is_empty() {
        return Err(ScimError::invalid_value(
            "an admin role needs at least one alternateEmails address, where the admin can be reached if the account is locked out",
        ));
    }
    // Write back the canonical spellings, and each license once (a seat is per user).
    if let Some(ext) = doc.get_mut(DIRECTORY_USER).and_then(Value::as_object_mut) {
        if let Some(Value::Array(items)) = ext.get_mut("licenses") {
            let mut seen = Vec::new();
            items.retain(|l| match l.get("value").and_then(Value::as_str) {
                Some(v) if seen.contains(&v.to_owned()) => false,
                Some(v) => {
                    seen.push(v.to_owned());
                    true
                }
                None => true,
            });
        }
        if let Some(l) = location {
            ext.insert("usageLocation".into(), Value::String(l.to_owned()));
        }
        if let Some(Value::Array(items)) = ext.get_mut("adminRoles") {
            for (item, role) in items.iter_mut().zip(roles) {
                if let Some(o) = item.as_object_mut() {
                    o.insert("value".into(), Value::String(role.to_owned()));
                }
            }
        }
    }
    Ok(())
}

/// Checks a License's document: a part number with no spaces, and a number of seats that
/// is not negative. That seats never go below the seats assigned is the store's to enforce.
pub fn check_license(doc: &Value) -> Result<(), ScimError> {
    let part = doc.get("partNumber").and_then(Value::as_str).unwrap_or_default();
    if part.trim().is_empty() || part.chars().any(char::is_whitespace) {
        return Err(ScimError::invalid_value(format!(
            "partNumber {part:?} is not a part number: use the SKU's name without spaces, such as ENTERPRISEPACK"
        )));
    }
    match doc.get("seats").and_then(Value::as_i64) {
        Some(n) if n >= 0 => Ok(()),
        _ => Err(ScimError::invalid_value(format!(
            "seats must be a whole number of 0 or more; {} was given",
            doc.get("seats").map(Value::to_string).unwrap_or_else(|| "nothing".into())
        ))),
    }
}

/// The verified-domain rule. With domains configured, `user_name` must be an address in one
/// of them. On the initial domain a name may not follow the same local part on a custom domain
/// (geoff@contoso.onmicrosoft.com, then geoff@contoso.com is fine; not the reverse): the names
/// returned are those that must not already exist.
pub fn check_domain(user_name: &str, domains: &[(String, bool)]) -> Result<Vec<String>, ScimError> {
    if domains.is_empty() {
        return Ok(Vec::new());
    }
    let listed = || domains.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>().join(", ");
    let Some((local, domain)) = user_name.rsplit_once('@').filter(|(l, _)| !l.is_empty()) else {
        return Err(ScimError::invalid_value(format!(
            "userName must be an address in one of this tenant's verified domains ({})",
            listed()
        )));
    };
    let domain = domain.to_ascii_lowercase();
    let Some((_, initial)) = domains.iter().find(|(d, _)| *d == domain) else {
        return Err(ScimError::invalid_value(format!(
            "userName {user_name:?} is not in a verified domain of this tenant; use one of: {}",
            listed()
        )));
    };
    if !initial {
        return Ok(Vec::new());
    }
    Ok(domains.iter().filter(|(_, i)| !i).map(|(d, _)| format!("{local}@{d}")).collect())
}

/// Whether an on-premises directory masters this user.
pub fn is_synced(doc: &Value) -> bool {
    extension(doc).and_then(|e| e.get(SYNCED)).and_then(Value::as_bool).unwrap_or(false)
}

/// Sets `onPremisesSyncEnabled`, which clients cannot send (it is read-only), on a new document:
/// true when the sync connector writes, else whatever the stored user had.
pub fn set_synced(doc: &mut Value, synced: bool) {
    let Value::Object(map) = doc else { return };
    let ext = map.entry(DIRECTORY_USER).or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(ext) = ext {
        if synced {
            ext.insert(SYNCED.into(), Value::Bool(true));
        } else {
            ext.remove(SYNCED);
        }
    }
    if map.get(DIRECTORY_USER).and_then(Value::as_object).is_some_and(Map::is_empty) {
        map.remove(DIRECTORY_USER);
    }
}

/// The HR source that owns the user (`importSource`), if any.
pub fn import_source(doc: &Value) -> Option<&str> {
    extension(doc).and_then(|e| e.get(IMPORT_SOURCE)).and_then(Value::as_str)
}

/// Sets `importSource`, which clients cannot send (it is read-only), on a user's new document:
/// the source a sync writes as, else the one the stored user had, so that no SCIM request can
/// move a user into a source or out of one.
pub fn set_import_source(doc: &mut Value, source: Option<&str>) {
    let Value::Object(map) = doc else { return };
    match source {
        Some(source) => {
            let ext = map.entry(DIRECTORY_USER).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(ext) = ext {
                ext.insert(IMPORT_SOURCE.into(), Value::String(source.to_owned()));
            }
            if let Some(Value::Array(schemas)) = map.get_mut("schemas") {
                if !schemas.iter().any(|s| s == DIRECTORY_USER) {
                    schemas.push(Value::from(DIRECTORY_USER));
                }
            }
        }
        None => {
            if let Some(Value::Object(ext)) = map.get_mut(DIRECTORY_USER) {
                ext.remove(IMPORT_SOURCE);
            }
            if map.get(DIRECTORY_USER).and_then(Value::as_object).is_some_and(Map::is_empty) {
                map.remove(DIRECTORY_USER);
            }
        }
    }
}

/// 403 for a change to a synced user by anything but the sync connector.
pub fn check_sync_lock(current: &Value, by_sync_connector: bool) -> Result<(), ScimError> {
    if is_synced(current) && !by_sync_connector {
        return Err(ScimError::forbidden(
            "this user is synchronized from an on-premises directory: change or delete it there; \
             the directory sync connector will bring the change here",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(ext: Value) -> Result<Value, ScimError> {
        let r = Registry::load().unwrap();
        let mut doc = json!({"userName": "u", DIRECTORY_USER: ext});
        check_user(&r, &mut doc).map(|()| doc[DIRECTORY_USER].clone())
    }

    #[test]
    fn a_license_needs_a_usage_location() {
        let e = check(json!({"licenses": [{"value": "sku"}]})).unwrap_err();
        assert!(e.detail.contains("usageLocation must be set"));
        assert!(check(json!({"usageLocation": "nl", "licenses": [{"value": "sku"}]})).is_ok());
    }

    #[test]
    fn a_license_is_listed_once() {
        let ext = check(json!({"usageLocation": "NL", "licenses": [{"value": "a"}, {"value": "b"}, {"value": "a"}]}))
            .unwrap();
        assert_eq!(ext["licenses"], json!([{"value": "a"}, {"value": "b"}]));
    }

    #[test]
    fn a_license_has_a_part_number_and_seats_not_below_zero() {
        assert!(check_license(&json!({"partNumber": "ENTERPRISEPACK", "seats": 0})).is_ok());
        assert!(check_license(&json!({"partNumber": "E 3", "seats": 1}))
            .unwrap_err()
            .detail
            .contains("without spaces"));
        assert!(check_license(&json!({"partNumber": "E3", "seats": -1})).unwrap_err().detail.contains("0 or more"));
        assert!(check_license(&json!({"partNumber": "E3", "seats": 1.5})).is_err());
    }

    #[test]
    fn usage_location_is_an_iso_code_written_in_capitals() {
        assert_eq!(check(json!({"usageLocation": "nl"})).unwrap()["usageLocation"], "NL");
        assert!(check(json!({"usageLocation": "Netherlands"})).is_err());
    }

    #[test]
    fn admin_roles_come_from_the_catalogue_and_need_an_alternate_email() {
        let e = check(json!({"adminRoles": [{"value": "Global administrator"}]})).unwrap_err();
        assert!(e.detail.contains("at least one alternateEmails"));
        let ok = check(json!({"alternateEmails": [{"value": "me@home.example"}], "adminRoles": [{"value": "billing ADMINISTRATOR"}]}))
            .unwrap();
        assert_eq!(ok["adminRoles"][0]["value"], "Billing administrator");
        let e = check(json!({"alternateEmails": [{"value": "me@home.example"}], "adminRoles": [{"value": "Emperor"}]}))
            .unwrap_err();
        assert!(e.detail.contains("not an admin role"));
    }

    #[test]
    fn at_most_five_alternate_emails_each_an_address() {
        let six: Vec<Value> = (0..6).map(|i| json!({"value": format!("a{i}@x.example")})).collect();
        assert!(check(json!({"alternateEmails": six})).unwrap_err().detail.contains("at most 5"));
        assert!(check(json!({"alternateEmails": [{"value": "not an address"}]})).is_err());
    }

    #[test]
    fn user_names_must_be_in_a_verified_domain_and_the_initial_domain_comes_first() {
        let domains = vec![("contoso.com".to_owned(), false), ("contoso.onmicrosoft.com".to_owned(), true)];
        assert!(check_domain("anyone@anywhere", &[]).unwrap().is_empty());
        assert!(check_domain("geoff@fabrikam.com", &domains).unwrap_err().detail.contains("contoso.com"));
        assert!(check_domain("geoff", &domains).is_err());
        assert!(check_domain("Geoff@Contoso.com", &domains).unwrap().is_empty());
        assert_eq!(check_domain("geoff@contoso.onmicrosoft.com", &domains).unwrap(), ["geoff@contoso.com"]);
    }

    #[test]
    fn only_the_sync_connector_changes_a_synced_user() {
        let mut doc = json!({"userName": "u"});
        set_synced(&mut doc, true);
        assert!(is_synced(&doc));
        assert_eq!(check_sync_lock(&doc, false).unwrap_err().status, 403);
        assert!(check_sync_lock(&doc, true).is_ok());
        set_synced(&mut doc, false);
        assert_eq!(doc, json!({"userName": "u"}));
    }
}
