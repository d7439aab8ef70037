//! In-memory evaluation of a filter against one resource's JSON (RFC 7644 §3.4.2.2 rules).
//! The schema is consulted only for `caseExact`, through the small `AttrInfo` trait.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::ast::{CompValue, CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::resource::parse_datetime;

/// What the evaluator needs to know about attributes.
pub trait AttrInfo {
    /// Whether string comparisons on `path` are case-sensitive (RFC 7643 `caseExact`).
    ///
    /// For a comparison inside a value filter, `path` is the outer attribute (with its URN)
    /// and the inner attribute as `sub`: `emails[type eq "work"]` asks about `emails.type`.
    fn case_exact(&self, path: &AttrPath) -> bool;
}

/// Treats every attribute as `caseExact: false`, for callers without a schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllCaseInsensitive;

impl AttrInfo for AllCaseInsensitive {
    fn case_exact(&self, _path: &AttrPath) -> bool {
        false
    }
}

/// Whether `resource` satisfies `filter`.
///
/// Attribute names match JSON keys case-insensitively; multi-valued attributes match when any
/// element does; a comparison against a complex value never matches; `ne` and `not` are true
/// of absent attributes; `eq null` means "not present" and `ne null` means "present".
pub fn matches(filter: &Filter, resource: &Value, schema: &dyn AttrInfo) -> bool {
    eval(filter, resource, None, schema)
}

/// `outer` is the value-path attribute when `scope` is one of its elements; paths are then
/// relative to the element and their URN, if any, is ignored.
fn eval(filter: &Filter, scope: &Value, outer: Option<&AttrPath>, schema: &dyn AttrInfo) -> bool {
    match filter {
        Filter::And(l, r) => eval(l, scope, outer, schema) && eval(r, scope, outer, schema),
        Filter::Or(l, r) => eval(l, scope, outer, schema) || eval(r, scope, outer, schema),
        Filter::Not(inner) => !eval(inner, scope, outer, schema),
        Filter::Present(path) => values(scope, path, outer).into_iter().any(is_present),
        Filter::Compare { path, op, value } => {
            // Comparing a complex attribute compares its `value` sub-attribute
            // (`emails co "example.com"`, RFC 7644 §3.4.2.2), as the SQL compiler does.
            let found: Vec<&Value> = values(scope, path, outer)
                .into_iter()
                .filter_map(|v| if v.is_object() { v.get("value") } else { Some(v) })
                .collect();
            let case_exact = schema.case_exact(&full_path(path, outer));
            compare_any(&found, *op, value, case_exact)
        }
        Filter::ValuePath { path, filter } => {
            let Some(attr) = base(scope, path.urn.as_deref(), outer).and_then(|b| get_ci(b, &path.name)) else {
                return false;
            };
            let element_path = full_path(path, outer);
            match attr {
                Value::Array(items) => {
                    items.iter().any(|item| item.is_object() && eval(filter, item, Some(&element_path), schema))
                }
                // A single-valued complex attribute is a one-element list for this purpose.
                Value::Object(_) => eval(filter, attr, Some(&element_path), schema),
                _ => false,
            }
        }
    }
}

/// The path as the schema knows it, for `AttrInfo::case_exact`.
///
/// Only a plain name inside `[...]` can be a sub-attribute of the outer attribute; anything
/// longer is passed on as written, for the schema to reject.
fn full_path(path: &AttrPath, outer: Option<&AttrPath>) -> AttrPath {
    match outer {
        Some(outer) if path.sub.is_none() && path.urn.is_none() => {
            AttrPath { urn: outer.urn.clone(), name: outer.name.clone(), sub: Some(path.name.clone()) }
        }
        _ => path.clone(),
    }
}

/// The object that holds attributes of schema `urn`.
///
/// Extension attributes live in an object keyed by the extension URN. A core schema URN
/// names the top level, but only of resources of that schema, so a User URN matches no Group.
fn base<'v>(scope: &'v Value, urn: Option<&str>, outer: Option<&AttrPath>) -> Option<&'v Value> {
    let Some(urn) = urn.filter(|_| outer.is_none()) else {
        return Some(scope);
    };
    if let Some(ext) = get_ci(scope, urn).filter(|v| v.is_object()) {
        return Some(ext);
    }
    let is_core = urn.get(..CORE_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(CORE_PREFIX));
    if !is_core {
        return None;
    }
    match get_ci(scope, "schemas") {
        Some(Value::Array(schemas)) => {
            schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn))).then_some(scope)
        }
        _ => Some(scope),
    }
}

const CORE_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:";

/// An exact key match first: it is the common case and keeps `a` and `A` apart if both exist.
fn get_ci<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    let obj: &Map<String, Value> = value.as_object()?;
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Every value `path` reaches, with arrays flattened so multi-valued attributes match on any.
fn values<'v>(scope: &'v Value, path: &AttrPath, outer: Option<&AttrPath>) -> Vec<&'v Value> {
    let mut out = Vec::new();
    let Some(attr) = base(scope, path.urn.as_deref(), outer).and_then(|b| get_ci(b, &path.name)) else {
        return out;
    };
    match &path.sub {
        None => push_flat(attr, &mut out),
        Some(sub) => match attr {
            Value::Array(items) => {
                for item in items {
                    if let Some(v) = get_ci(item, sub) {
                        push_flat(v, &mut out);
                    }
                }
            }
            _ => {
                if let Some(v) = get_ci(attr, sub) {
                    push_flat(v, &mut out);
                }
            }
        },
    }
    out
}

fn push_flat<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Array(items) => out.extend(items),
        other => out.push(other),
    }
}

/// RFC 7644 `pr`: has a non-empty value. RFC 7643 §2.5 treats null and empty as unassigned.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(map) => map.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare_any(found: &[&Value], op: CompareOp, expected: &CompValue, case_exact: bool) -> bool {
    if let CompValue::Null = expected {
        let present = found.iter().any(|v| is_present(v));
        return match op {
            CompareOp::Eq => !present,
            CompareOp::Ne => present,
            _ => false,
        };
    }
    match op {
        // `ne` is the negation of `eq`, so it holds for absent attributes and for a
        // multi-valued attribute only when no element is equal.
        CompareOp::Ne => !found.iter().any(|v| equal(v, expected, case_exact)),
        _ => found.iter().any(|v| compare_one(v, op, expected, case_exact)),
    }
}

fn compare_one(actual: &Value, op: CompareOp, expected: &CompValue, case_exact: bool) -> bool {
    match op {
        CompareOp::Eq => equal(actual, expected, case_exact),
        CompareOp::Ne => !equal(actual, expected, case_exact),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            let (Value::String(a), CompValue::Str(e)) = (actual, expected) else {
                return false;
            };
            let (a, e) = (fold(a, case_exact), fold(e, case_exact));
            match op {
                CompareOp::Co => a.contains(e.as_ref()),
                CompareOp::Sw => a.starts_with(e.as_ref()),
                _ => a.ends_with(e.as_ref()),
            }
        }
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            let Some(ord) = order(actual, expected, case_exact) else {
                return false;
            };
            match op {
                CompareOp::Gt => ord == Ordering::Greater,
                CompareOp::Ge => ord != Ordering::Less,
                CompareOp::Lt => ord == Ordering::Less,
                _ => ord != Ordering::Greater,
            }
        }
    }
}

fn equal(actual: &Value, expected: &CompValue, case_exact: bool) -> bool {
    match (actual, expected) {
        (Value::Bool(a), CompValue::Bool(e)) => a == e,
        (Value::Number(_), CompValue::Number(_)) | (Value::String(_), CompValue::Str(_)) => {
            order(actual, expected, case_exact) == Some(Ordering::Equal)
        }
        _ => false,
    }
}

/// Ordering of two values of the same kind; `None` when they cannot be compared.
///
/// Two strings that both read as dateTimes compare chronologically (RFC 7644 §3.4.2.2), so
/// `2011-05-13T04:42:34Z` equals `2011-05-13T06:42:34+02:00`; other strings compare by code
/// point after case folding unless `caseExact`.
fn order(actual: &Value, expected: &CompValue, case_exact: bool) -> Option<Ordering> {
    match (actual, expected) {
        (Value::String(a), CompValue::Str(e)) => {
            if let (Some(ta), Some(te)) = (parse_datetime(a), parse_datetime(e)) {
                return Some(ta.cmp(&te));
            }
            Some(fold(a, case_exact).cmp(&fold(e, case_exact)))
        }
        (Value::Number(a), CompValue::Number(e)) => {
            let int = |n: &serde_json::Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
            match (int(a), int(e)) {
                (Some(a), Some(e)) => Some(a.cmp(&e)),
                _ => a.as_f64()?.partial_cmp(&e.as_f64()?),
            }
        }
        _ => None,
    }
}

fn fold(s: &str, case_exact: bool) -> Cow<'_, str> {
    if case_exact {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(case_fold(s))
    }
}

/// Unicode default case folding of canonically equivalent text, the one meaning of
/// "case-insensitive" in scimd: the store folds promoted columns and compares with it too, so
/// `MÜLLER` finds `Müller`, and `José` in either normal form is one `userName`.
pub fn case_fold(s: &str) -> String {
    if s.is_ascii() {
        // ASCII is its own normal form; its full case folding is lower-casing.
        return s.to_ascii_lowercase();
    }
    use unicode_normalization::UnicodeNormalization;
    // Canonical caseless matching (Unicode §3.13): decompose, fold, then compose, so that a
    // precomposed é and e + U+0301 fold to the same text.
    let decomposed: String = s.nfd().collect();
    caseless::default_case_fold_str(&decomposed).nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "userName": "Bjensen@example.com",
            "name": { "familyName": "O'Malley", "givenName": "Barbara" },
            "title": "Tour Guide",
            "userType": "Employee",
            "nickName": "",
            "locale": null,
            "active": true,
            "loginCount": 42,
            "score": 2.5,
            "emails": [
                { "value": "bjensen@example.com", "type": "work", "primary": true },
                { "value": "babs@jensen.org", "type": "home" }
            ],
            "ims": [ { "value": "someaimhandle", "type": "aim" } ],
            "phoneNumbers": [],
            "tags": ["Blue", "green"],
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z"
            },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d" }
            }
        })
    }

    struct ExactIds;

    impl AttrInfo for ExactIds {
        fn case_exact(&self, path: &AttrPath) -> bool {
            path.name.eq_ignore_ascii_case("id")
                || (path.name.eq_ignore_ascii_case("emails")
                    && path.sub.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("type")))
        }
    }

    fn check(resource: &Value, schema: &dyn AttrInfo, cases: &[(&str, bool)]) {
        for (input, expected) in cases {
            let f = parse_filter(input).unwrap();
            assert_eq!(matches(&f, resource, schema), *expected, "{input}");
        }
    }

    #[test]
    fn rfc_7644_examples() {
        check(
            &user(),
            &AllCaseInsensitive,
            &[
                (r#"userName Eq "john""#, false),
                (r#"userName Eq "bjensen@EXAMPLE.com""#, true),
                (r#"name.familyName co "O'Malley""#, true),
                (r#"userName sw "J""#, false),
                (r#"userName sw "b""#, true),
                (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#, false),
                (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "BJ""#, true),
                ("title pr", true),
                (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
                (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
                (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
                (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
                (r#"title pr and userType eq "Employee""#, true),
                (r#"title pr or userType eq "Intern""#, true),
                (r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, true),
                // A complex attribute compared directly means its `value` sub-attribute.
                (r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, true),
                (r#"userType eq "Employee" and (emails co "example.com" or emails.value co "jensen.org")"#, true),
                (r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#, false),
                (r#"userType ne "Intern" and not (emails co "example.com" or emails.value co "example.org")"#, false),
                (r#"userType ne "Intern" and not (emails co "example.net" or emails.value co "example.org")"#, true),
                (r#"userType eq "Employee" and (emails.type eq "work")"#, true),
                (r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, true),
                (r#"userType eq "Employee" and emails[type eq "home" and value co "@example.com"]"#, false),
                (
                    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                    true,
                ),
                (
                    r#"emails[type eq "home" and value co "@example.com"] or ims[type eq "aim" and value co "handle"]"#,
                    true,
                ),
            ],
        );
    }

    #[test]
    fn entra_forms() {
        check(
            &user(),
            &AllCaseInsensitive,
            &[
                (r#"emails[type eq "work"].value eq "bjensen@example.com""#, true),
                // Both conditions must hold for the same element.
                (r#"emails[type eq "work"].value eq "babs@jensen.org""#, false),
                (r#"id eq "2819c223-7f76-453a-919d-413861904646" and emails[value eq "babs@jensen.org"]"#, true),
            ],
        );
        let group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "x",
            "displayName": "Tour Guides",
            "members": [{ "value": "y", "$ref": "../Users/y" }, { "value": "z" }]
        });
        check(
            &group,
            &AllCaseInsensitive,
            &[
                (r#"id eq "x" and members[value eq "y"]"#, true),
                (r#"id eq "x" and members[value eq "q"]"#, false),
                (r#"members[$ref pr]"#, true),
                (r#"members.$ref ew "/y""#, true),
                (r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName sw "tour""#, true),
                (r#"urn:ietf:params:scim:schemas:core:2.0:User:displayName pr"#, false),
            ],
        );
    }

    #[test]
    fn presence() {
        check(
            &user(),
            &AllCaseInsensitive,
            &[
                ("nickName pr", false),
                ("locale pr", false),
                ("missing pr", false),
                ("phoneNumbers pr", false),
                ("emails pr", true),
                ("name pr", true),
                ("active pr", true),
                ("emails.primary pr", true),
                ("ims.primary pr", false),
                ("not (locale pr)", true),
                ("locale eq null", true),
                ("title eq null", false),
                ("title ne null", true),
                ("missing eq null", true),
                ("missing ne null", false),
            ],
        );
    }

    #[test]
    fn comparisons_by_type() {
        check(
            &user(),
            &AllCaseInsensitive,
            &[
                ("active eq true", true),
                ("active ne true", false),
                ("active eq TRUE", true),
                ("active gt false", false),
                ("active eq \"true\"", false),
                ("loginCount eq 42", true),
                ("loginCount eq 42.0", true),
                ("loginCount gt 41.5", true),
                ("loginCount le -1", false),
                ("loginCount eq \"42\"", false),
                ("score lt 3", true),
                ("score ge 2.5e0", true),
                ("score co \"2\"", false),
                ("title gt \"tour\"", true),
                ("title lt \"TOUR GUIDE\"", false),
                ("title le \"TOUR GUIDE\"", true),
                ("title ew \"GUIDE\"", true),
                ("tags eq \"GREEN\"", true),
                ("tags ne \"blue\"", false),
                ("tags ne \"red\"", true),
                ("name eq \"Barbara\"", false),
                ("emails eq \"bjensen@example.com\"", true),
                ("missing ne \"x\"", true),
                ("missing eq \"x\"", false),
                ("not (missing eq \"x\")", true),
                ("missing gt 1", false),
                // Chronological, not lexicographic: same instant in another offset.
                ("meta.lastModified eq \"2011-05-13T06:42:34+02:00\"", true),
                ("meta.created lt \"2010-01-23T04:56:22.001Z\"", true),
                ("meta.created gt \"2010-01-23T05:00:00+01:00\"", true),
            ],
        );
    }

    #[test]
    fn names_and_urns_are_case_insensitive() {
        check(
            &user(),
            &AllCaseInsensitive,
            &[
                (r#"USERNAME eq "bjensen@example.com""#, true),
                (r#"Name.FamilyName eq "o'malley""#, true),
                (r#"EMAILS[TYPE eq "WORK"]"#, true),
                (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#, true),
                (r#"URN:IETF:params:scim:schemas:extension:enterprise:2.0:user:manager.value sw "26118915""#, true),
                (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName pr"#, false),
                (r#"urn:example:other:userName pr"#, false),
                (r#"employeeNumber pr"#, false),
                (r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#, true),
            ],
        );
    }

    #[test]
    fn case_exact_comes_from_the_schema() {
        let user = user();
        check(
            &user,
            &ExactIds,
            &[
                (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false),
                (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true),
                (r#"userName eq "BJENSEN@example.com""#, true),
                (r#"emails[type eq "Work"]"#, false),
                (r#"emails[type eq "work"]"#, true),
                (r#"emails.type eq "WORK""#, false),
                (r#"emails[value eq "BJENSEN@example.com"]"#, true),
            ],
        );
    }

    #[test]
    fn value_filter_paths_are_reported_in_full() {
        struct Record(std::cell::RefCell<Vec<String>>);
        impl AttrInfo for Record {
            fn case_exact(&self, path: &AttrPath) -> bool {
                self.0.borrow_mut().push(path.to_string());
                false
            }
        }
        let record = Record(Default::default());
        let f = parse_filter(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"] and name.givenName eq "x""#,
        )
        .unwrap();
        matches(&f, &user(), &record);
        assert_eq!(
            record.0.into_inner(),
            vec!["urn:ietf:params:scim:schemas:core:2.0:User:emails.type".to_owned(), "name.givenName".to_owned(),]
        );
    }

    #[test]
    fn unicode_case_folding() {
        let r = json!({ "displayName": "Åsa Ölund", "city": "İstanbul" });
        check(
            &r,
            &AllCaseInsensitive,
            &[
                (r#"displayName eq "åsa ölund""#, true),
                (r#"displayName sw "ÅSA""#, true),
                (r#"city co "stanbul""#, true),
            ],
        );
    }

    #[test]
    fn non_object_resources_match_nothing_but_negations() {
        let f = parse_filter("a pr").unwrap();
        assert!(!matches(&f, &json!([1, 2]), &AllCaseInsensitive));
        let f = parse_filter(r#"a ne "x""#).unwrap();
        assert!(matches(&f, &json!(null), &AllCaseInsensitive));
    }
}
