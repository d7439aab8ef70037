//! The PATCH engine (RFC 7644 §3.5.2): `add`, `replace` and `remove` over a stored document,
//! with the request shapes real clients send normalised here, in one place.
//!
//! Pure: group membership changes come back as `MemberOp`s for the store, never in the document.

use serde_json::{Map, Value};

use crate::scim::error::{Result, ScimError};
use crate::scim::filter::{self, CompValue, CompareOp, Filter, PathExpr, SchemaInfo};
use crate::scim::path::AttrPath;
use crate::scim::resource::{coerce_bool, MemberRef};
use crate::scim::schema::{AttrType, Attribute, Container, Mutability, Registry, ResourceKind, ResourceType};

pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Membership changes, applied in order by the store (members live in their own table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    Add(Vec<MemberRef>),
    Remove(Vec<String>),
    Replace(Vec<MemberRef>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patched {
    pub member_ops: Vec<MemberOp>,
    /// Whether the document or the membership changed.
    pub changed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies a PatchOp body to `doc`, all operations or none: on error `doc` is unchanged.
///
/// The caller re-validates the result (types, unknown attributes, required ones) with
/// `resource::normalize`, so this engine owns paths and merge rules only.
pub fn apply_patch(registry: &Registry, rt: &ResourceType, doc: &mut Value, body: &Value) -> Result<Patched> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("a PATCH body must be a JSON object"));
    };
    let get = |name: &str| body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let listed = get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_URN))));
    if !listed {
        return Err(ScimError::invalid_syntax(format!("a PATCH body must list the schema {PATCH_OP_URN}")));
    }
    let Some(ops) = get("Operations").and_then(Value::as_array) else {
        return Err(ScimError::invalid_syntax("a PATCH body needs an Operations array"));
    };
    let mut engine = Engine { registry, rt, doc: doc.clone(), member_ops: Vec::new() };
    for (n, op) in ops.iter().enumerate() {
        engine
            .operation(op)
            .map_err(|e| ScimError { detail: format!("operation {}: {}", n + 1, e.detail).into(), ..e })?;
    }
    let changed = engine.doc != *doc || !engine.member_ops.is_empty();
    *doc = engine.doc;
    Ok(Patched { member_ops: engine.member_ops, changed })
}

struct Engine<'a> {
    registry: &'a Registry,
    rt: &'a ResourceType,
    doc: Value,
    member_ops: Vec<MemberOp>,
}

/// Keys a client may send in a path-less value that are not attributes to change.
fn ignored_key(key: &str) -> bool {
    ["id", "schemas", "meta"].iter().any(|k| k.eq_ignore_ascii_case(key))
}

impl Engine<'_> {
    fn operation(&mut self, op: &Value) -> Result<()> {
        let Value::Object(op) = op else {
            return Err(ScimError::invalid_syntax("each operation must be a JSON object"));
        };
        let field = |name: &str| op.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        // Operation names in any case: Entra ID sends `Add`, `Replace`, `Remove`.
        let kind = match field("op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            other => {
                return Err(ScimError::invalid_syntax(format!(
                    "op {:?} is not one of add, replace, remove",
                    other.unwrap_or("")
                )))
            }
        };
        let value = field("value").filter(|v| !v.is_null());
        let path = field("path").and_then(Value::as_str).map(str::trim).filter(|p| !p.is_empty());
        match (kind, path, value) {
            (Op::Remove, None, _) => Err(ScimError::no_target("remove needs a path naming what to remove")),
            // `replace` with an explicit null value unassigns the attribute at the path.
            (Op::Replace, Some(path), None) if field("value").is_some() => self.at_path(kind, path, &Value::Null),
            (Op::Add | Op::Replace, _, None) => Err(ScimError::invalid_value("add and replace need a value")),
            (_, None, Some(value)) => self.pathless(kind, value),
            (_, Some(path), value) => self.at_path(kind, path, value.unwrap_or(&Value::Null)),
        }
    }

    /// A path-less add/replace: each key of the value is an attribute, possibly dotted
    /// (`name.givenName`) or URN-qualified, or an extension URN with an object of attributes.
    fn pathless(&mut self, kind: Op, value: &Value) -> Result<()> {
        let Value::Object(map) = value else {
            return Err(ScimError::invalid_value("without a path, the value must be an object of attributes"));
        };
        for (key, v) in map {
            if ignored_key(key) {
                continue;
            }
            if let Some(ext) = self.registry.extension_of(self.rt, key) {
                let Value::Object(inner) = v else {
                    return Err(ScimError::invalid_value(format!("{ext} must be an object of extension attributes")));
                };
                for (k, v) in inner.iter().filter(|(k, _)| !ignored_key(k)) {
                    let expr = PathExpr {
                        attr: AttrPath { urn: Some(ext.to_owned()), name: k.clone(), sub: None },
                        filter: None,
                        sub_after_filter: None,
                    };
                    self.apply(kind, &expr, v)?;
                }
                continue;
            }
            self.at_path(kind, key, v)?;
        }
        Ok(())
    }

    fn at_path(&mut self, kind: Op, path: &str, value: &Value) -> Result<()> {
        // A whole extension as the path: its attributes at once, or all of them removed.
        if let Some(ext) = self.registry.extension_of(self.rt, path) {
            return match kind {
                Op::Remove => {
                    if let Value::Object(doc) = &mut self.doc {
                        doc.remove(ext);
                    }
                    Ok(())
                }
                _ => self.pathless(kind, &Value::Object(Map::from_iter([(ext.to_owned(), value.clone())]))),
            };
        }
        let expr = filter::parse_value_path_or_attr(path)?;
        self.apply(kind, &expr, value)
    }

    fn apply(&mut self, kind: Op, expr: &PathExpr, value: &Value) -> Result<()> {
        let base = AttrPath { urn: expr.attr.urn.clone(), name: expr.attr.name.clone(), sub: None };
        let resolved = self.registry.resolve(self.rt, &base).ok_or_else(|| {
            ScimError::invalid_path(format!("a {} has no attribute {base} (see /Schemas)", self.rt.kind.name()))
        })?;
        let attr = resolved.attr;
        let sub_name = expr.attr.sub.as_deref().or(expr.sub_after_filter.as_deref());
        let sub = match sub_name {
            Some(s) => Some(
                attr.sub(s)
                    .ok_or_else(|| ScimError::invalid_path(format!("{} has no sub-attribute {s}", attr.name)))?,
            ),
            None => None,
        };
        if self.rt.kind == ResourceKind::Group && attr.name == "members" {
            return self.members(kind, expr, sub, value);
        }
        let leaf = sub.unwrap_or(attr);
        if attr.mutability == Mutability::ReadOnly || leaf.mutability == Mutability::ReadOnly {
            return Err(ScimError::mutability(format!("{} is read-only and cannot be changed", expr.attr)));
        }
        let (registry, rt) = (self.registry, self.rt);
        let container = self.container(resolved.container, kind != Op::Remove);
        let Some(container) = container else { return Ok(()) };
        match &expr.filter {
            None => change(container, kind, attr, sub, value),
            Some(f) => {
                let info = SchemaInfo { registry, rt };
                filtered(container, kind, attr, sub, f, value, &info, &expr.attr)
            }
        }
    }

    /// The object holding the container's attributes; an extension object is created on write.
    fn container(&mut self, container: Container<'_>, create: bool) -> Option<&mut Map<String, Value>> {
        let Value::Object(doc) = &mut self.doc else { return None };
        match container {
            Container::Core | Container::Common => Some(doc),
            Container::Extension(urn) => {
                if !doc.contains_key(urn) {
                    if !create {
                        return None;
                    }
                    doc.insert(urn.to_owned(), Value::Object(Map::new()));
                }
                doc.get_mut(urn).and_then(Value::as_object_mut)
            }
        }
    }

    /// Group membership: turned into `MemberOp`s, never applied to the document.
    fn members(&mut self, kind: Op, expr: &PathExpr, sub: Option<&Attribute>, value: &Value) -> Result<()> {
        let only_value_filters = || {
            ScimError::invalid_path(
                "members can be addressed as members or members[value eq \"<id>\"] (also joined with or)",
            )
        };
        if sub.is_some() {
            return Err(only_value_filters());
        }
        let members = |value: &Value| -> Result<Vec<MemberRef>> {
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                Value::Null => Vec::new(),
                other => vec![other],
            };
            items
                .into_iter()
                .map(|m| {
                    let field = |name: &str| {
                        m.as_object()
                            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                            .and_then(|(_, v)| v.as_str())
                            .map(str::to_owned)
                    };
                    let id = field("value").ok_or_else(|| {
                        ScimError::invalid_value("every member needs a value: the id of a User or Group")
                    })?;
                    Ok(MemberRef { id, display: field("display").or_else(|| field("displayName")) })
                })
                .collect()
        };
        let ids = |value: &Value| -> Result<Vec<String>> { Ok(members(value)?.into_iter().map(|m| m.id).collect()) };
        let op = match (kind, &expr.filter) {
            (Op::Add, None) => MemberOp::Add(members(value)?),
            (Op::Replace, None) => MemberOp::Replace(members(value)?),
            // Entra ID removes members with a value list; it must remove exactly those.
            (Op::Remove, None) if !value.is_null() => MemberOp::Remove(ids(value)?),
            (Op::Remove, None) => MemberOp::Replace(Vec::new()),
            (Op::Remove, Some(f)) => MemberOp::Remove(member_ids(f).ok_or_else(only_value_filters)?),
            (_, Some(_)) => return Err(only_value_filters()),
        };
        self.member_ops.push(op);
        Ok(())
    }
}

/// `value eq "a" or value eq "b"` → `["a", "b"]`.
fn member_ids(f: &Filter) -> Option<Vec<String>> {
    match f {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::Str(v) }
            if path.sub.is_none() && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(vec![v.clone()])
        }
        Filter::Or(a, b) => {
            let mut ids = member_ids(a)?;
            ids.extend(member_ids(b)?);
            Some(ids)
        }
        _ => None,
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary").and_then(coerce_bool).unwrap_or(false)
}

/// RFC 7643 §2.4: at most one value is primary; the one just set wins.
fn clear_other_primaries(items: &mut [Value], keep: &[usize]) {
    for (i, item) in items.iter_mut().enumerate() {
        if !keep.contains(&i) {
            if let Some(o) = item.as_object_mut() {
                if o.get("primary").and_then(coerce_bool) == Some(true) {
                    o.insert("primary".into(), Value::Bool(false));
                }
            }
        }
    }
}

/// A complex attribute sent as a bare value: Entra ID sends a manager as its id string.
fn as_element(attr: &Attribute, value: &Value) -> Value {
    if attr.ty == AttrType::Complex && !value.is_object() && attr.sub("value").is_some() {
        Value::Object(Map::from_iter([("value".to_owned(), value.clone())]))
    } else {
        value.clone()
    }
}

/// add / replace / remove of an attribute (or of one sub-attribute everywhere) without a filter.
fn change(
    container: &mut Map<String, Value>,
    kind: Op,
    attr: &Attribute,
    sub: Option<&Attribute>,
    value: &Value,
) -> Result<()> {
    let key = attr.name.clone();
    if let Some(sub) = sub {
        let apply = |o: &mut Map<String, Value>| match kind {
            Op::Remove => {
                o.remove(&sub.name);
            }
            _ => {
                o.insert(sub.name.clone(), value.clone());
            }
        };
        match container.get_mut(&key) {
            Some(Value::Array(items)) => items.iter_mut().filter_map(Value::as_object_mut).for_each(apply),
            Some(Value::Object(o)) => apply(o),
            _ if kind == Op::Remove => {}
            _ => {
                let mut o = Map::new();
                apply(&mut o);
                let v = if attr.multi_valued { Value::Array(vec![Value::Object(o)]) } else { Value::Object(o) };
                container.insert(key.clone(), v);
            }
        }
        prune(container, &key);
        return Ok(());
    }
    match kind {
        Op::Remove => {
            container.remove(&key);
        }
        _ if attr.multi_valued => {
            let incoming: Vec<Value> = match value {
                Value::Array(items) => items.iter().map(|v| as_element(attr, v)).collect(),
                other => vec![as_element(attr, other)],
            };
            let mut items = match (kind, container.remove(&key)) {
                (Op::Add, Some(Value::Array(existing))) => existing,
                _ => Vec::new(),
            };
            let mut touched = Vec::new();
            for v in incoming {
                // add: a value already present is merged into, never duplicated (RFC 7644 §3.5.2.1).
                let same = items.iter().position(|e| {
                    e == &v
                        || (v.get("value").is_some()
                            && e.get("value") == v.get("value")
                            && (v.get("type").is_none() || e.get("type") == v.get("type")))
                });
                match (same, &v) {
                    (Some(i), Value::Object(new)) => {
                        if let Some(o) = items[i].as_object_mut() {
                            o.extend(new.clone());
                        }
                        touched.push(i);
                    }
                    (Some(i), _) => touched.push(i),
                    (None, _) => {
                        items.push(v);
                        touched.push(items.len() - 1);
                    }
                }
            }
            if touched.iter().any(|&i| is_primary(&items[i])) {
                let primaries: Vec<usize> = touched.iter().copied().filter(|&i| is_primary(&items[i])).collect();
                clear_other_primaries(&mut items, &primaries);
            }
            container.insert(key.clone(), Value::Array(items));
        }
        _ if attr.ty == AttrType::Complex => {
            // A complex value's listed sub-attributes replace or add; the others stay (§3.5.2.3).
            let v = as_element(attr, value);
            match (container.get_mut(&key), v) {
                (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
                (_, v) => {
                    container.insert(key.clone(), v);
                }
            }
        }
        _ => {
            // add on a single-valued attribute replaces it (RFC 7644 §3.5.2.1).
            container.insert(key.clone(), value.clone());
        }
    }
    prune(container, &key);
    Ok(())
}

/// add / replace / remove through a value filter on a multi-valued attribute.
#[allow(clippy::too_many_arguments)]
fn filtered(
    container: &mut Map<String, Value>,
    kind: Op,
    attr: &Attribute,
    sub: Option<&Attribute>,
    f: &Filter,
    value: &Value,
    info: &SchemaInfo<'_>,
    path: &AttrPath,
) -> Result<()> {
    let key = attr.name.clone();
    let mut items = match container.remove(&key) {
        Some(Value::Array(items)) => items,
        Some(Value::Object(o)) if !attr.multi_valued => vec![Value::Object(o)],
        Some(other) => {
            container.insert(key.clone(), other);
            return Err(ScimError::invalid_path(format!("{path} is not multi-valued: a filter does not apply")));
        }
        None => Vec::new(),
    };
    let hits: Vec<usize> =
        items.iter().enumerate().filter(|(_, e)| filter::matches(f, e, info)).map(|(i, _)| i).collect();
    let result = if hits.is_empty() {
        match (kind, equalities(f)) {
            // Entra ID replaces emails[type eq "work"].value on a user with no work email:
            // the element is created from the filter's equalities.
            (Op::Add | Op::Replace, Some(mut element)) => {
                match sub {
                    Some(s) => {
                        element.insert(s.name.clone(), value.clone());
                    }
                    None => match value {
                        Value::Object(o) => element.extend(o.clone()),
                        _ => {
                            return restore(
                                container,
                                key,
                                items,
                                ScimError::invalid_value(format!("{path} needs an object value")),
                            )
                        }
                    },
                }
                items.push(Value::Object(element));
                let last = items.len() - 1;
                if is_primary(&items[last]) {
                    clear_other_primaries(&mut items, &[last]);
                }
                Ok(())
            }
            _ => Err(ScimError::no_target(format!("no value of {} matches {path}", attr.name))),
        }
    } else {
        match (kind, sub) {
            (Op::Remove, None) => {
                let mut i = 0;
                items.retain(|_| {
                    i += 1;
                    !hits.contains(&(i - 1))
                });
                Ok(())
            }
            (Op::Remove, Some(s)) => {
                for &i in &hits {
                    if let Some(o) = items[i].as_object_mut() {
                        o.remove(&s.name);
                    }
                }
                Ok(())
            }
            (_, Some(s)) => {
                for &i in &hits {
                    if let Some(o) = items[i].as_object_mut() {
                        o.insert(s.name.clone(), value.clone());
                    }
                }
                if s.name == "primary" && coerce_bool(value) == Some(true) {
                    clear_other_primaries(&mut items, &hits);
                }
                Ok(())
            }
            (_, None) => match value {
                Value::Object(new) => {
                    for &i in &hits {
                        match kind {
                            Op::Replace => items[i] = Value::Object(new.clone()),
                            _ => {
                                if let Some(o) = items[i].as_object_mut() {
                                    o.extend(new.clone());
                                }
                            }
                        }
                    }
                    if is_primary(value) {
                        clear_other_primaries(&mut items, &hits);
                    }
                    Ok(())
                }
                _ => Err(ScimError::invalid_value(format!("{path} needs an object value"))),
            },
        }
    };
    match result {
        Ok(()) => {
            if !items.is_empty() {
                container.insert(key.clone(), Value::Array(items));
            }
            prune(container, &key);
            Ok(())
        }
        Err(e) => restore(container, key, items, e),
    }
}

fn restore(container: &mut Map<String, Value>, key: String, items: Vec<Value>, e: ScimError) -> Result<()> {
    if !items.is_empty() {
        container.insert(key, Value::Array(items));
    }
    Err(e)
}

/// `type eq "work" and primary eq true` → `{type: "work", primary: true}`; `None` for anything
/// that is not a conjunction of equalities.
fn equalities(f: &Filter) -> Option<Map<String, Value>> {
    match f {
        Filter::Compare { path, op: CompareOp::Eq, value } if path.sub.is_none() => {
            let v = match value {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            Some(Map::from_iter([(path.name.clone(), v)]))
        }
        Filter::And(a, b) => {
            let mut m = equalities(a)?;
            m.extend(equalities(b)?);
            Some(m)
        }
        _ => None,
    }
}

/// Unassigned is absent (RFC 7643 §2.5): drop empty objects and arrays left behind.
fn prune(container: &mut Map<String, Value>, key: &str) {
    let empty = match container.get_mut(key) {
        Some(Value::Array(items)) => {
            items.retain(|i| !matches!(i, Value::Object(o) if o.is_empty()));
            items.is_empty()
        }
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::Null) => true,
        _ => false,
    };
    if empty {
        container.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn patch(kind: ResourceKind, doc: Value, ops: Value) -> Result<(Value, Patched)> {
        let r = Registry::load().unwrap();
        let rt = r.resource_type(kind).clone();
        let mut doc = doc;
        let before = doc.clone();
        let out = apply_patch(&r, &rt, &mut doc, &json!({"schemas": [PATCH_OP_URN], "Operations": ops}));
        if out.is_err() {
            assert_eq!(doc, before, "a failed PATCH must leave the document unchanged");
        }
        out.map(|p| (doc, p))
    }

    fn user(ops: Value) -> Result<Value> {
        let doc = json!({"userName": "bjensen", "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@work.com", "type": "work", "primary": true}, {"value": "b@home.org", "type": "home"}]});
        patch(ResourceKind::User, doc, ops).map(|(d, _)| d)
    }

    fn err(ops: Value) -> ScimType {
        user(ops).unwrap_err().scim_type.unwrap()
    }

    // RFC 7644 §3.5.2.1: add
    #[test]
    fn add_sets_a_single_valued_attribute_and_replaces_an_existing_one() {
        assert_eq!(user(json!([{"op": "add", "path": "title", "value": "Guide"}])).unwrap()["title"], "Guide");
        assert_eq!(user(json!([{"op": "add", "path": "userName", "value": "b2"}])).unwrap()["userName"], "b2");
    }

    #[test]
    fn add_to_a_multi_valued_attribute_appends_without_duplicates() {
        let d = user(json!([{"op": "add", "path": "emails", "value": [{"value": "b@x.com", "type": "other"}, {"value": "b@home.org", "type": "home"}]}])).unwrap();
        assert_eq!(d["emails"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn add_of_a_new_primary_clears_the_old_one() {
        let d = user(
            json!([{"op": "add", "path": "emails", "value": [{"value": "n@x.com", "type": "other", "primary": true}]}]),
        )
        .unwrap();
        let primaries: Vec<&Value> = d["emails"].as_array().unwrap().iter().filter(|e| e["primary"] == true).collect();
        assert_eq!(primaries.len(), 1);
        assert_eq!(primaries[0]["value"], "n@x.com");
    }

    #[test]
    fn add_to_a_complex_attribute_merges_sub_attributes() {
        let d = user(json!([{"op": "add", "path": "name", "value": {"middleName": "Q"}}])).unwrap();
        assert_eq!(d["name"], json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "Q"}));
    }

    #[test]
    fn add_without_a_path_takes_attributes_dotted_and_urn_qualified() {
        let d = user(json!([{"op": "add", "value": {"title": "T", "name.middleName": "M", format!("{ENT}:department"): "D", ENT: {"costCenter": "C"}}}])).unwrap();
        assert_eq!(d["title"], "T");
        assert_eq!(d["name"]["middleName"], "M");
        assert_eq!(d[ENT], json!({"department": "D", "costCenter": "C"}));
    }

    #[test]
    fn add_needs_a_value() {
        assert_eq!(err(json!([{"op": "add", "path": "title"}])), ScimType::InvalidValue);
    }

    // RFC 7644 §3.5.2.2: remove
    #[test]
    fn remove_without_a_path_is_no_target() {
        assert_eq!(err(json!([{"op": "remove"}])), ScimType::NoTarget);
    }

    #[test]
    fn remove_deletes_attributes_sub_attributes_and_matching_values() {
        let d = user(json!([{"op": "remove", "path": "name.givenName"}])).unwrap();
        assert_eq!(d["name"], json!({"familyName": "Jensen"}));
        let d = user(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).unwrap();
        assert_eq!(d["emails"], json!([{"value": "b@work.com", "type": "work", "primary": true}]));
        let d = user(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}])).unwrap();
        assert!(d["emails"][0].get("primary").is_none());
        let d = user(json!([{"op": "remove", "path": "emails"}])).unwrap();
        assert!(d.get("emails").is_none());
    }

    #[test]
    fn remove_through_a_filter_that_matches_nothing_is_no_target() {
        assert_eq!(err(json!([{"op": "remove", "path": "emails[type eq \"pager\"]"}])), ScimType::NoTarget);
    }

    #[test]
    fn removing_the_last_value_leaves_the_attribute_absent() {
        let d = user(json!([{"op": "remove", "path": "emails[type eq \"work\"]"}, {"op": "remove", "path": "emails[type eq \"home\"]"}])).unwrap();
        assert!(d.get("emails").is_none());
    }

    // RFC 7644 §3.5.2.3: replace
    #[test]
    fn replace_of_a_multi_valued_attribute_replaces_all_values() {
        let d = user(json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.com"}]}])).unwrap();
        assert_eq!(d["emails"], json!([{"value": "only@x.com"}]));
    }

    #[test]
    fn replace_of_a_complex_attribute_keeps_unlisted_sub_attributes() {
        let d = user(json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}])).unwrap();
        assert_eq!(d["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
    }

    #[test]
    fn replace_through_a_filter_changes_only_matching_values() {
        let d = user(json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "new@home.org"}]))
            .unwrap();
        assert_eq!(d["emails"][1]["value"], "new@home.org");
        assert_eq!(d["emails"][0]["value"], "b@work.com");
        let d = user(json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h@h.org", "type": "home"}}])).unwrap();
        assert_eq!(d["emails"][1], json!({"value": "h@h.org", "type": "home"}));
    }

    #[test]
    fn replace_of_primary_through_a_filter_moves_primary() {
        let d = user(json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}])).unwrap();
        assert_eq!(d["emails"][0]["primary"], false);
        assert_eq!(d["emails"][1]["primary"], true);
    }

    #[test]
    fn replace_through_a_filter_that_matches_nothing_creates_the_value_like_entra_expects() {
        let d = user(json!([{"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555"}]))
            .unwrap();
        assert_eq!(d["phoneNumbers"], json!([{"type": "work", "value": "+1 555"}]));
        assert_eq!(
            err(json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "x"}])),
            ScimType::NoTarget
        );
    }

    // Errors and atomicity
    #[test]
    fn unknown_paths_are_invalid_path_and_read_only_ones_mutability() {
        assert_eq!(err(json!([{"op": "replace", "path": "shoeSize", "value": 1}])), ScimType::InvalidPath);
        assert_eq!(err(json!([{"op": "replace", "path": "name.nickname", "value": 1}])), ScimType::InvalidPath);
        assert_eq!(err(json!([{"op": "replace", "path": "emails[type eq", "value": 1}])), ScimType::InvalidPath);
        assert_eq!(err(json!([{"op": "replace", "path": "id", "value": "x"}])), ScimType::Mutability);
        assert_eq!(err(json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])), ScimType::Mutability);
        assert_eq!(
            err(json!([{"op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "x"}])),
            ScimType::Mutability
        );
    }

    #[test]
    fn a_failing_operation_undoes_the_ones_before_it() {
        assert!(
            user(json!([{"op": "replace", "path": "title", "value": "x"}, {"op": "move", "path": "title"}])).is_err()
        );
    }

    #[test]
    fn an_empty_operations_array_changes_nothing() {
        let (_, p) = patch(ResourceKind::User, json!({"userName": "a"}), json!([])).unwrap();
        assert!(!p.changed);
        let (_, p) = patch(
            ResourceKind::User,
            json!({"userName": "a"}),
            json!([{"op": "replace", "path": "userName", "value": "a"}]),
        )
        .unwrap();
        assert!(!p.changed, "setting the current value is no change");
    }

    #[test]
    fn operation_names_and_paths_in_any_case() {
        let d = user(json!([{"op": "REPLACE", "path": "NAME.GIVENNAME", "value": "B"}])).unwrap();
        assert_eq!(d["name"]["givenName"], "B");
    }

    #[test]
    fn entra_manager_as_a_plain_string_becomes_a_manager_object() {
        let d = user(json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": "m-1"}])).unwrap();
        assert_eq!(d[ENT]["manager"], json!({"value": "m-1"}));
        let d = user(json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": {"value": "m-2"}}])).unwrap();
        assert_eq!(d[ENT]["manager"], json!({"value": "m-2"}));
    }

    #[test]
    fn a_whole_extension_can_be_removed_by_its_urn() {
        let d = user(
            json!([{"op": "add", "path": format!("{ENT}:department"), "value": "D"}, {"op": "remove", "path": ENT}]),
        )
        .unwrap();
        assert!(d.get(ENT).is_none());
    }

    // Group membership
    fn group(ops: Value) -> Result<Vec<MemberOp>> {
        patch(ResourceKind::Group, json!({"displayName": "G"}), ops).map(|(_, p)| p.member_ops)
    }

    #[test]
    fn member_changes_become_member_ops_in_order() {
        let ops = group(json!([
            {"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "a"}]},
            {"op": "remove", "path": "members[value eq \"b\" or value eq \"c\"]"},
            {"op": "replace", "path": "members", "value": []},
            {"op": "replace", "value": {"id": "g", "displayName": "H", "members": [{"value": "d"}]}},
            {"op": "remove", "path": "members"},
        ]))
        .unwrap();
        assert_eq!(
            ops,
            vec![
                MemberOp::Add(vec![MemberRef::id("a"), MemberRef::id("b")]),
                MemberOp::Remove(vec!["a".into()]),
                MemberOp::Remove(vec!["b".into(), "c".into()]),
                MemberOp::Replace(vec![]),
                MemberOp::Replace(vec![MemberRef::id("d")]),
                MemberOp::Replace(vec![]),
            ]
        );
    }

    #[test]
    fn member_filters_other_than_value_eq_are_invalid_path() {
        let e = group(json!([{"op": "remove", "path": "members[display eq \"x\"]"}])).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        let e = group(json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}])).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn the_body_must_be_a_patch_op() {
        let r = Registry::load().unwrap();
        let rt = r.resource_type(ResourceKind::User).clone();
        let e = apply_patch(&r, &rt, &mut json!({}), &json!({"Operations": []})).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    }
}
