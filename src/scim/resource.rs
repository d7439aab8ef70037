//! Resource bodies against the registry: turning what a client sent into the stored
//! document (canonical names, checked types, read-only attributes dropped), and back.
//!
//! Pure: the service calls this before it touches the store.

use serde_json::{Map, Value};

use crate::scim::error::{Result, ScimError};
use crate::scim::schema::{AttrType, Attribute, Container, Mutability, Registry, ResourceType};

/// The JSON name of the `schemas` attribute every resource carries.
const SCHEMAS: &str = "schemas";

/// The longest string value of any attribute, so that what is stored and returned on every
/// read stays small whatever path wrote it (a request body, a Bulk, a CSV import's cell).
pub const MAX_STRING_BYTES: usize = 64 * 1024;

/// Turns a request body into the stored document of a resource of type `rt`.
///
/// Attribute names are matched case-insensitively and rewritten as the schema spells them;
/// `id`, `meta` and other read-only attributes are ignored (RFC 7643 §2.2); unknown attributes
/// are refused all at once with their names, and `null` or `[]` mean "unassigned".
pub fn normalize(registry: &Registry, rt: &ResourceType, body: Value) -> Result<Value> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("the request body must be a JSON object"));
    };
    let mut cx = Context::default();
    let mut doc = Map::new();
    for (key, value) in body {
        if key.eq_ignore_ascii_case(SCHEMAS) {
            check_schemas(registry, rt, &value)?;
        } else if let Some(urn) = registry.extension_of(rt, &key) {
            let Some(schema) = registry.schema(urn) else { continue };
            match value {
                Value::Null => {}
                Value::Object(ext) => {
                    let ext = cx.object(&schema.attributes, ext, urn)?;
                    if !ext.is_empty() {
                        doc.insert(urn.to_owned(), Value::Object(ext));
                    }
                }
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "{urn} must be a JSON object of extension attributes"
                    )))
                }
            }
        } else if let Some(attr) = registry
            .common()
            .attribute(&key)
            .or_else(|| registry.container_schema(rt, Container::Core).and_then(|s| s.attribute(&key)))
        {
            cx.attribute(&mut doc, attr, value, "")?;
        } else {
            cx.unknown.push(key);
        }
    }
    if !cx.unknown.is_empty() {
        return Err(ScimError::invalid_syntax(format!(
            "unknown attribute{} {} for a {}; /Schemas lists the attributes scimd accepts",
            if cx.unknown.len() == 1 { "" } else { "s" },
            cx.unknown.iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>().join(", "),
            rt.kind.name(),
        )));
    }
    check_required(registry, rt, &doc)?;
    Ok(Value::Object(doc))
}

/// The document as filters and sorting see it: every string of a `caseExact: false`
/// attribute case-folded (`case_fold`), everything else as stored. The store keeps it beside
/// the document and compares it byte-wise, so "case-insensitive" means the same on every
/// database and in `filter::matches`.
pub fn folded(registry: &Registry, rt: &ResourceType, doc: &Value) -> Value {
    let Value::Object(map) = doc else { return doc.clone() };
    let core = registry.container_schema(rt, Container::Core);
    let out = map
        .iter()
        .map(|(key, value)| {
            let attrs = match registry.extension_of(rt, key) {
                Some(urn) => {
                    let ext = registry.schema(urn).map(|s| s.attributes.as_slice()).unwrap_or_default();
                    return (key.clone(), fold_object(ext, value));
                }
                None => registry.common().attribute(key).or_else(|| core.and_then(|s| s.attribute(key))),
            };
            (key.clone(), attrs.map_or_else(|| value.clone(), |a| fold_value(a, value)))
        })
        .collect();
    Value::Object(out)
}

fn fold_object(attrs: &[Attribute], value: &Value) -> Value {
    let Value::Object(map) = value else { return value.clone() };
    let out = map
        .iter()
        .map(|(key, v)| {
            let attr = attrs.iter().find(|a| a.name == *key);
            (key.clone(), attr.map_or_else(|| v.clone(), |a| fold_value(a, v)))
        })
        .collect();
    Value::Object(out)
}

/// True when `attr`'s strings are compared case-insensitively, and so kept folded by `folded`.
pub fn folds(attr: &Attribute) -> bool {
    matches!(attr.ty, AttrType::String | AttrType::Reference) && !attr.case_exact
}

fn fold_value(attr: &Attribute, value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| fold_value(attr, v)).collect()),
        Value::String(s) if folds(attr) => Value::String(crate::scim::filter::case_fold(s)),
        Value::Object(_) if attr.ty == AttrType::Complex => fold_object(&attr.sub_attributes, value),
        _ => value.clone(),
    }
}

/// Refuses a change to an `immutable` attribute that already has a value (RFC 7643 §2.2).
pub fn check_immutable(registry: &Registry, rt: &ResourceType, old: &Value, new: &Value) -> Result<()> {
    let containers = std::iter::once((Container::Core, None))
        .chain(rt.extensions.iter().map(|e| (Container::Extension(e), Some(e.as_str()))));
    for (container, key) in containers {
        let Some(schema) = registry.container_schema(rt, container) else { continue };
        let (old, new) = match key {
            None => (Some(old), Some(new)),
            Some(k) => (old.get(k), new.get(k)),
        };
        for attr in schema.attributes.iter().filter(|a| a.mutability == Mutability::Immutable) {
            let before = old.and_then(|o| o.get(&attr.name));
            let after = new.and_then(|n| n.get(&attr.name));
            if let (Some(b), Some(a)) = (before, after) {
                if a != b {
                    return Err(ScimError::mutability(format!(
                        "{} is immutable: it was set when the resource was created and cannot change",
                        attr.name
                    )));
                }
            }
        }
    }
    Ok(())
}

fn check_schemas(registry: &Registry, rt: &ResourceType, value: &Value) -> Result<()> {
    let Some(list) = value.as_array() else {
        return Err(ScimError::invalid_syntax("schemas must be an array of schema URNs"));
    };
    for urn in list {
        let Some(urn) = urn.as_str() else {
            return Err(ScimError::invalid_syntax("schemas must be an array of schema URNs"));
        };
        if !urn.eq_ignore_ascii_case(&rt.schema) && registry.extension_of(rt, urn).is_none() {
            let mut allowed = vec![rt.schema.as_str()];
            allowed.extend(rt.extensions.iter().map(String::as_str));
            return Err(ScimError::invalid_syntax(format!(
                "schemas: \"{urn}\" is not a schema of a {}; allowed: {}",
                rt.kind.name(),
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

fn check_required(registry: &Registry, rt: &ResourceType, doc: &Map<String, Value>) -> Result<()> {
    let Some(core) = registry.container_schema(rt, Container::Core) else { return Ok(()) };
    for attr in core.attributes.iter().filter(|a| a.required && a.mutability != Mutability::ReadOnly) {
        let present = match doc.get(&attr.name) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
        };
        if !present {
            return Err(ScimError::invalid_value(format!("{} is required for a {}", attr.name, rt.kind.name())));
        }
    }
    Ok(())
}

/// Collects unknown attribute names across the walk so they are reported together.
#[derive(Default)]
struct Context {
    unknown: Vec<String>,
}

impl Context {
    fn object(&mut self, attrs: &[Attribute], body: Map<String, Value>, prefix: &str) -> Result<Map<String, Value>> {
        let mut out = Map::new();
        for (key, value) in body {
            // Microsoft's reference tests name a member's display `displayName`.
            let key =
                if prefix == "members" && key.eq_ignore_ascii_case("displayName") { "display".to_owned() } else { key };
            match attrs.iter().find(|a| a.name.eq_ignore_ascii_case(&key)) {
                Some(attr) => self.attribute(&mut out, attr, value, prefix)?,
                None => self.unknown.push(join(prefix, &key)),
            }
        }
        Ok(out)
    }

    /// Checks one attribute's value and stores it under its canonical name.
    fn attribute(&mut self, out: &mut Map<String, Value>, attr: &Attribute, value: Value, prefix: &str) -> Result<()> {
        if attr.mutability == Mutability::ReadOnly {
            return Ok(());
        }
        let path = join(prefix, &attr.name);
        let value = if attr.multi_valued {
            let items = match value {
                Value::Null => Vec::new(),
                Value::Array(items) => items,
                _ => return Err(ScimError::invalid_syntax(format!("{path} is multi-valued: send a JSON array"))),
            };
            let mut checked = Vec::with_capacity(items.len());
            for item in items {
                if let Some(v) = self.single(attr, item, &path)? {
                    checked.push(v);
                }
            }
            let primaries = checked.iter().filter(|v| v.get("primary") == Some(&Value::Bool(true))).count();
            if primaries > 1 {
                return Err(ScimError::invalid_value(format!("at most one {path} value may be primary")));
            }
            (!checked.is_empty()).then_some(Value::Array(checked))
        } else {
            self.single(attr, value, &path)?
        };
        if let Some(v) = value {
            out.insert(attr.name.clone(), v);
        }
        Ok(())
    }

    /// One value of `attr`; `None` for null (unassigned).
    fn single(&mut self, attr: &Attribute, value: Value, path: &str) -> Result<Option<Value>> {
        if value.is_null() {
            return Ok(None);
        }
        let wrong = |what: &str| ScimError::invalid_syntax(format!("{path} must be {what}"));
        let v = match attr.ty {
            AttrType::String | AttrType::Reference | AttrType::Binary => match value {
                Value::String(s) if s.len() > MAX_STRING_BYTES => {
                    return Err(ScimError::invalid_value(format!(
                        "{path} is {} bytes long; the limit is {MAX_STRING_BYTES} bytes",
                        s.len()
                    )))
                }
                Value::String(s) => {
                    crate::scim::text::check_value(path, &s)?;
                    Value::String(s)
                }
                _ => return Err(wrong("a string")),
            },
            AttrType::Boolean => Value::Bool(coerce_bool(&value).ok_or_else(|| wrong("a boolean (true or false)"))?),
            AttrType::Integer => match &value {
                Value::Number(n) if n.is_i64() || n.is_u64() => value,
                _ => return Err(wrong("an integer")),
            },
            AttrType::Decimal => match value {
                Value::Number(_) => value,
                _ => return Err(wrong("a number")),
            },
            AttrType::DateTime => match &value {
                Value::String(s) if is_datetime(s) => value,
                _ => return Err(wrong("a dateTime such as \"2024-05-13T04:42:34Z\"")),
            },
            AttrType::Complex => match value {
                Value::Object(o) => {
                    let o = self.object(&attr.sub_attributes, o, path)?;
                    if o.is_empty() {
                        return Ok(None);
                    }
                    Value::Object(o)
                }
                _ => return Err(wrong("a JSON object")),
            },
        };
        Ok(Some(v))
    }
}

/// Booleans as real clients send them: `true`, or the strings `"True"`/`"false"` (Entra ID).
pub fn coerce_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// RFC 7643 §2.3.5: an xsd:dateTime.
pub fn is_datetime(s: &str) -> bool {
    parse_datetime(s).is_some()
}

/// Reads an `xsd:dateTime` (RFC 7643 §2.3.5), scimd's one reader of them (bodies, filters,
/// the store's timestamp columns): RFC 3339 (`2011-05-13T04:42:34Z`, fractions of a second,
/// `±hh:mm` offsets), and a value without an offset, which xsd leaves open and scimd takes
/// as UTC, as SCIM servers emit UTC.
pub fn parse_datetime(s: &str) -> Option<time::OffsetDateTime> {
    const LOCAL: &[time::format_description::FormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    time::PrimitiveDateTime::parse(s, LOCAL).ok().map(time::PrimitiveDateTime::assume_utc)
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A resource's `id`. scimd makes them (UUIDs); a client's text naming one becomes an id
/// only through `parse`, so an id cannot be confused with a name, a tenant or a token.
///
/// The kind travels beside it (`ResourceKind`): ids are unique across kinds, and the store
/// reads and writes every kind by the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ResourceId(String);

impl ResourceId {
    /// A new id for a resource being created: a UUID of version 7, whose leading bits are
    /// the time, so ids made one after another sort one after another and a create adds to
    /// the end of the id indexes instead of at a random page. Clients still treat them as
    /// opaque (RFC 7643 section 3.1); the time they carry is `meta.created`'s, already public.
    pub fn generate() -> ResourceId {
        ResourceId(uuid::Uuid::now_v7().to_string())
    }

    /// The id a client named in a URL or a body. Text with a control character names no
    /// resource (scimd never made such an id): `NotFound` before any store sees it, where
    /// PostgreSQL would refuse the text itself.
    pub fn parse(kind: &str, text: &str) -> Result<ResourceId> {
        if text.chars().any(|c| c.is_control()) {
            return Err(ScimError::not_found(kind, &text.escape_debug().to_string()));
        }
        Ok(ResourceId(text.to_owned()))
    }

    /// An id as stored, or as a client wrote it in a body (a group's members): it may name
    /// no resource, which the store reports.
    pub fn new(text: impl Into<String>) -> ResourceId {
        ResourceId(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ResourceId {
    fn from(text: &str) -> ResourceId {
        ResourceId::new(text)
    }
}

impl From<String> for ResourceId {
    fn from(text: String) -> ResourceId {
        ResourceId(text)
    }
}

impl PartialEq<str> for ResourceId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ResourceId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A group member as a client names it: the member's id, and the `display` it gave, if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberRef {
    pub id: ResourceId,
    pub display: Option<String>,
}

impl MemberRef {
    pub fn id(id: ResourceId) -> Self {
        MemberRef { id, display: None }
    }
}

/// A timestamp as SCIM renders it (RFC 3339, UTC, millisecond precision).
pub fn format_datetime(t: time::OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::FormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let t = t.to_offset(time::UtcOffset::UTC);
    if !(0..=9999).contains(&t.year()) {
        return t.format(FORMAT).unwrap_or_default();
    }
    // Every rendered resource has two of these: digits by hand rather than the formatter.
    let mut out = String::with_capacity(24);
    let parts = [
        (t.year() as u32, 4, '-'),
        (u32::from(u8::from(t.month())), 2, '-'),
        (u32::from(t.day()), 2, 'T'),
        (u32::from(t.hour()), 2, ':'),
        (u32::from(t.minute()), 2, ':'),
        (u32::from(t.second()), 2, '.'),
        (u32::from(t.millisecond()), 3, 'Z'),
    ];
    for (n, width, then) in parts {
        for place in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(place) % 10) as u8));
        }
        out.push(then);
    }
    out
}

/// The weak entity tag of a version (`meta.version` and the `ETag` header).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// An `If-Match` or `If-None-Match` header: `*`, or a list of entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ETagMatch {
    Any,
    Tags(Vec<String>),
}

impl ETagMatch {
    pub fn parse(header: &str) -> ETagMatch {
        if header.trim() == "*" {
            return ETagMatch::Any;
        }
        ETagMatch::Tags(header.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect())
    }

    /// Weak comparison (RFC 9110 §8.8.3.2): `W/"3"` and `"3"` both name version 3.
    pub fn matches(&self, version: i64) -> bool {
        match self {
            ETagMatch::Any => true,
            ETagMatch::Tags(tags) => tags.iter().any(|t| {
                let t = t.strip_prefix("W/").unwrap_or(t);
                t.trim_matches('"') == version.to_string()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ResourceKind, ENTERPRISE_USER};
    use serde_json::json;

    #[test]
    fn timestamps_render_as_rfc3339_utc_with_milliseconds() {
        use time::macros::datetime;
        let cases = [
            (datetime!(2026-12-02 05:07:09.004 UTC), "2026-12-02T05:07:09.004Z"),
            (datetime!(1999-01-31 23:59:59.999 +02:00), "1999-01-31T21:59:59.999Z"),
            (datetime!(0001-01-01 00:00:00 UTC), "0001-01-01T00:00:00.000Z"),
            (datetime!(2026-06-30 12:00:00.123456 UTC), "2026-06-30T12:00:00.123Z"),
        ];
        for (t, want) in cases {
            assert_eq!(format_datetime(t), want);
        }
    }

    fn user(body: Value) -> Result<Value> {
        let r = Registry::load().unwrap();
        let rt = r.resource_type(ResourceKind::User).clone();
        normalize(&r, &rt, body)
    }

    #[test]
    fn an_id_with_a_control_character_names_nothing() {
        let e = ResourceId::parse("User", "a\u{0}b").unwrap_err();
        assert_eq!(e.status, 404);
        assert!(e.detail.contains("a\\0b"), "{}", e.detail);
        let id = ResourceId::parse("User", "2819c223-7f76-453a-919d-413861904646").unwrap();
        assert_eq!(id.as_str(), "2819c223-7f76-453a-919d-413861904646");
        assert_eq!(serde_json::to_value(&id).unwrap(), json!("2819c223-7f76-453a-919d-413861904646"));
        assert_ne!(ResourceId::generate(), ResourceId::generate());
    }

    #[test]
    fn ids_made_one_after_another_sort_in_that_order() {
        let ids: Vec<ResourceId> = (0..1000).map(|_| ResourceId::generate()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids out of order");
        let uuid = uuid::Uuid::parse_str(ids[0].as_str()).unwrap();
        assert_eq!(uuid.get_version_num(), 7);
    }

    #[test]
    fn names_in_any_case_become_canonical_and_read_only_is_dropped() {
        let doc = user(json!({"USERNAME": "bjensen", "id": "x", "meta": {}, "groups": [],
            "Name": {"GivenName": "Barbara"}, "active": "True"}))
        .unwrap();
        assert_eq!(doc, json!({"userName": "bjensen", "name": {"givenName": "Barbara"}, "active": true}));
    }

    #[test]
    fn unknown_attributes_are_named_together() {
        let err = user(json!({"userName": "a", "shoeSize": 3, "name": {"nick": "x"}})).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.detail.contains("\"shoeSize\", \"name.nick\""), "{}", err.detail);
    }

    #[test]
    fn wrong_types_and_missing_required_are_refused() {
        assert!(user(json!({"userName": 5})).unwrap_err().detail.contains("userName must be a string"));
        assert!(user(json!({"userName": "a", "emails": {"value": "x"}})).unwrap_err().detail.contains("multi-valued"));
        assert!(user(json!({"displayName": "a"})).unwrap_err().detail.contains("userName is required"));
        let two_primaries =
            json!({"userName": "a", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": "True"}]});
        assert!(user(two_primaries).unwrap_err().detail.contains("primary"));
    }

    #[test]
    fn extension_objects_are_validated_under_their_urn() {
        let doc =
            user(json!({"userName": "a", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
            ENTERPRISE_USER: {"EmployeeNumber": "42", "manager": {"value": "m1", "displayName": "ignored"}}}))
            .unwrap();
        assert_eq!(doc[ENTERPRISE_USER], json!({"employeeNumber": "42", "manager": {"value": "m1"}}));
    }

    #[test]
    fn etags_compare_weakly() {
        assert_eq!(etag(3), "W/\"3\"");
        assert!(ETagMatch::parse("W/\"3\"").matches(3));
        assert!(ETagMatch::parse("\"2\", \"3\"").matches(3));
        assert!(!ETagMatch::parse("W/\"4\"").matches(3));
        assert!(ETagMatch::parse("*").matches(9));
    }

    #[test]
    fn schemas_outside_the_resource_type_are_refused() {
        let err =
            user(json!({"userName": "a", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]})).unwrap_err();
        assert!(err.detail.contains("not a schema of a User"));
    }

    #[test]
    fn folded_documents_fold_case_insensitive_strings_only() {
        let r = Registry::builtin().unwrap();
        let rt = r.resource_type(ResourceKind::User);
        let doc = json!({
            "userName": "STRASSE", "title": "Straße", "externalId": "AbC", "active": true,
            "name": {"givenName": "ΣΊΣΥΦΟΣ"},
            "emails": [{"value": "A@X.COM", "type": "Work", "primary": true}],
            ENTERPRISE_USER: {"department": "Tour Operations", "employeeNumber": "E1"},
        });
        let f = folded(r, rt, &doc);
        assert_eq!(f["userName"], "strasse");
        assert_eq!(f["title"], "strasse");
        // externalId is caseExact: kept as sent.
        assert_eq!(f["externalId"], "AbC");
        assert_eq!(f["active"], true);
        assert_eq!(f["name"]["givenName"], "σίσυφοσ");
        assert_eq!(f["emails"][0], json!({"value": "a@x.com", "type": "work", "primary": true}));
        assert_eq!(f[ENTERPRISE_USER]["department"], "tour operations");
    }

    #[test]
    fn datetimes_parse_to_instants() {
        use time::macros::datetime;
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z").unwrap().unix_timestamp(), 0);
        assert_eq!(parse_datetime("2011-05-13T04:42:34Z").unwrap().unix_timestamp(), 1_305_261_754);
        assert_eq!(parse_datetime("2011-05-13T06:42:34.5+02:00").unwrap(), datetime!(2011-05-13 04:42:34.5 UTC));
        assert_eq!(parse_datetime("2011-05-13T04:42:34").unwrap().unix_timestamp(), 1_305_261_754);
        assert!(parse_datetime("2000-02-29T00:00:00Z").unwrap() < parse_datetime("2000-03-01T00:00:00Z").unwrap());
        assert_eq!(parse_datetime("1969-12-31T23:59:59Z").unwrap().unix_timestamp(), -1);
    }

    #[test]
    fn non_datetimes_are_rejected() {
        for s in [
            "",
            "2011-05-13",
            "2011-05-13T04:42",
            "2011-13-01T00:00:00Z",
            "2011-02-29T00:00:00Z",
            "2011-05-13T24:00:00Z",
            "2011-05-13T04:42:34.Z",
            "2011-05-13T04:42:34Zjunk",
            "2011-05-13T04:42:34+0200",
            "bjensen",
            "２011-05-13T04:42:34Z",
        ] {
            assert_eq!(parse_datetime(s), None, "{s}");
        }
    }
}
