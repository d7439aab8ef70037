//! The PATCH engine (RFC 7644 §3.5.2): path resolution and the add / replace / remove merge rules
//! over a stored document, with the request shapes Entra ID and Okta send accepted here and only here.

use serde_json::{Map, Value};

use crate::scim::error::{Result, ScimError};
use crate::scim::filter::{self, AttrInfo, CompValue, CompareOp, Filter, PathExpr};
use crate::scim::path::AttrPath;
use crate::scim::resource::{coerce_bool, MemberRef, ResourceId};
use crate::scim::schema::{AttrType, Attribute, Container, Mutability, Registry, ResourceKind, ResourceType};

/// The `schemas` value of a PATCH request body (RFC 7644 §3.5.2).
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Membership changes, applied in order by the store (members live in their own table, never in the doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    Add(Vec<MemberRef>),
    /// The ids of the members to remove.
    Remove(Vec<ResourceId>),
    Replace(Vec<MemberRef>),
}

/// The outcome of a PATCH that succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patched {
    pub member_ops: Vec<MemberOp>,
    /// Whether the document changed or a membership change is to be applied.
    pub changed: bool,
}

/// Keys of a path-less value that are not attributes to change: Okta's group rename sends the
/// group's `id` along with the new `displayName`.
const NOT_ATTRIBUTES: [&str; 3] = ["id", "schemas", "meta"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Replace => "replace",
            Op::Remove => "remove",
        }
    }
}

/// What an operation does at its target once its value has been read.
#[derive(Debug, Clone, Copy)]
enum Action<'v> {
    Add(&'v Value),
    Replace(&'v Value),
    /// `remove`, and `add` / `replace` of `null`, which RFC 7643 §2.5 equates with unassigned.
    Unassign,
}

/// Applies a PatchOp request body to `doc`, the stored document of a resource of type `rt`.
///
/// Atomic (RFC 7644 §3.5.2): the operations run on a copy, and `doc` is replaced only when all
/// of them succeed. The caller re-validates the result with `resource::normalize` and
/// `resource::check_immutable`; this engine owns paths and merge rules.
pub fn apply_patch(registry: &Registry, rt: &ResourceType, doc: &mut Value, body: &Value) -> Result<Patched> {
    let (patched, new) = patched(registry, rt, doc, body)?;
    if let Some(new) = new {
        *doc = new;
    }
    Ok(patched)
}

/// `apply_patch` leaving `current` as it is: the patched document when it differs from
/// `current`, `None` when the operations change nothing in it.
pub fn patched(
    registry: &Registry,
    rt: &ResourceType,
    current: &Value,
    body: &Value,
) -> Result<(Patched, Option<Value>)> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("a PATCH body must be a JSON object"));
    };
    let listed = member(body, "schemas").and_then(Value::as_array).is_some_and(|schemas| {
        schemas.iter().any(|s| s.as_str().is_some_and(|s| s.trim().eq_ignore_ascii_case(PATCH_OP_URN)))
    });
    if !listed {
        return Err(ScimError::invalid_syntax(format!("a PATCH body must have \"schemas\": [\"{PATCH_OP_URN}\"]")));
    }
    let ops = match member(body, "Operations") {
        Some(Value::Array(ops)) => ops,
        Some(_) => return Err(ScimError::invalid_syntax("Operations must be an array of operations")),
        None => return Err(ScimError::invalid_syntax("a PATCH body needs an \"Operations\" array")),
    };
    let Value::Object(current) = current else {
        return Err(ScimError::new(500, None, "the stored resource is not a JSON object"));
    };
    let mut engine = Engine { registry, rt, doc: current.clone(), member_ops: Vec::new() };
    for (i, op) in ops.iter().enumerate() {
        engine
            .operation(op)
            .map_err(|e| ScimError { detail: format!("operation {}: {}", i + 1, e.detail).into(), ..e })?;
    }
    let doc_changed = engine.doc != *current;
    let changed = doc_changed || !engine.member_ops.is_empty();
    let new = doc_changed.then(|| Value::Object(engine.doc));
    Ok((Patched { member_ops: engine.member_ops, changed }, new))
}

/// The member called `name`: the exact key first, then any case, since clients differ in how
/// they spell `Operations`, `op` and `value`.
fn member<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

struct Engine<'a> {
    registry: &'a Registry,
    rt: &'a ResourceType,
    doc: Map<String, Value>,
    member_ops: Vec<MemberOp>,
}

impl<'a> Engine<'a> {
    fn operation(&mut self, op: &Value) -> Result<()> {
        let Value::Object(op) = op else {
            return Err(ScimError::invalid_syntax("each operation must be a JSON object with op, path and value"));
        };
        // Entra ID capitalises the operation name (`Add`, `Replace`, `Remove`).
        let kind = match member(op, "op") {
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "add" => Op::Add,
                "replace" => Op::Replace,
                "remove" => Op::Remove,
                _ => return Err(ScimError::invalid_syntax(format!("unknown op \"{s}\": use add, replace or remove"))),
            },
            _ => return Err(ScimError::invalid_syntax("each operation needs an op: add, replace or remove")),
        };
        let path = match member(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.trim().is_empty() => None,
            Some(Value::String(p)) => Some(p.as_str()),
            Some(_) => return Err(ScimError::invalid_path("path must be a string")),
        };
        let value = member(op, "value");
        match (kind, path, value) {
            (Op::Remove, None, _) => {
                Err(ScimError::no_target("remove needs a path naming the attribute or values to remove"))
            }
            (Op::Remove, Some(path), value) => self.at_path(kind, path, value),
            // §3.5.2.1 and §3.5.2.3 say add and replace MUST carry a value; §3.12 files "a required
            // value was missing" under invalidValue, which tells the client more than invalidSyntax.
            (_, _, None) => Err(ScimError::invalid_value(format!("{} needs a value", kind.name()))),
            (_, None, Some(value)) => self.without_path(kind, value),
            (_, Some(path), Some(value)) => self.at_path(kind, path, Some(value)),
        }
    }

    /// RFC 7644 §3.5.2.1 / §3.5.2.3 without a path: each key of the value is applied as if it
    /// were the path. Entra ID and Okta put dotted (`name.givenName`) and URN-qualified keys here.
    fn without_path(&mut self, op: Op, value: &Value) -> Result<()> {
        let Value::Object(attrs) = value else {
            return Err(ScimError::invalid_value(format!(
                "{} without a path needs a value that is a JSON object of attributes",
                op.name()
            )));
        };
        for (key, v) in attrs {
            if NOT_ATTRIBUTES.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                continue;
            }
            self.at_path(op, key, Some(v))?;
        }
        Ok(())
    }

    fn at_path(&mut self, op: Op, path: &str, value: Option<&Value>) -> Result<()> {
        if let Some(ext) = self.registry.extension_of(self.rt, path.trim()) {
            return self.whole_extension(op, ext, value);
        }
        let expr = filter::parse_value_path_or_attr(path)?;
        self.apply(op, &expr, value)
    }

    /// A path (or path-less key) that is an extension URN: its value is an object of that
    /// extension's attributes; unassigning it unassigns every attribute a client may write.
    fn whole_extension(&mut self, op: Op, ext: &'a str, value: Option<&Value>) -> Result<()> {
        match (op, value.filter(|v| !v.is_null())) {
            (Op::Remove, Some(_)) => Err(remove_with_value(ext)),
            (_, None) => {
                let Some(schema) = self.registry.schema(ext) else { return Ok(()) };
                for attr in schema.attributes.iter().filter(|a| a.mutability != Mutability::ReadOnly) {
                    let expr = PathExpr {
                        attr: AttrPath { urn: Some(ext.to_owned()), name: attr.name.clone(), sub: None },
                        filter: None,
                        sub_after_filter: None,
                    };
                    self.apply(Op::Remove, &expr, None)?;
                }
                Ok(())
            }
            (_, Some(Value::Object(attrs))) => {
                // Clients send an extension object as they would in a body, `schemas` and all.
                for (key, v) in attrs.iter().filter(|(k, _)| !NOT_ATTRIBUTES.iter().any(|n| n.eq_ignore_ascii_case(k)))
                {
                    let expr = filter::parse_value_path_or_attr(&format!("{ext}:{key}"))?;
                    self.apply(op, &expr, Some(v))?;
                }
                Ok(())
            }
            (_, Some(_)) => Err(ScimError::invalid_value(format!("{ext} takes a JSON object of its attributes"))),
        }
    }

    fn apply(&mut self, op: Op, expr: &PathExpr, value: Option<&Value>) -> Result<()> {
        let (registry, rt) = (self.registry, self.rt);
        let base = AttrPath { urn: expr.attr.urn.clone(), name: expr.attr.name.clone(), sub: None };
        let resolved = registry.resolve(rt, &base).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "\"{base}\" is not an attribute of a {}; /Schemas lists the attributes scimd accepts",
                rt.kind.name()
            ))
        })?;
        let attr = resolved.attr;
        let sub = match expr.attr.sub.as_deref().or(expr.sub_after_filter.as_deref()) {
            None => None,
            Some(name) => Some(
                attr.sub(name)
                    .ok_or_else(|| ScimError::invalid_path(format!("{} has no sub-attribute \"{name}\"", attr.name)))?,
            ),
        };
        if rt.kind == ResourceKind::Group && resolved.container == Container::Core && attr.name == "members" {
            return self.members(op, expr, sub.is_some(), value);
        }
        // RFC 7644 §3.5.2: a client MUST NOT modify a readOnly attribute.
        if attr.mutability == Mutability::ReadOnly || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly) {
            return Err(ScimError::mutability(format!("{expr} is read-only: the server sets it")));
        }
        if let Some(f) = &expr.filter {
            check_value_filter(attr, f)?;
        }
        let action = match (op, value.filter(|v| !v.is_null())) {
            (Op::Remove, Some(_)) => return Err(remove_with_value(&expr.to_string())),
            (Op::Remove, None) | (_, None) => Action::Unassign,
            (Op::Add, Some(v)) => Action::Add(v),
            (Op::Replace, Some(v)) => Action::Replace(v),
        };
        if let Action::Unassign = action {
            check_unassign(sub.unwrap_or(attr), expr)?;
        }
        let target = Target { attr, sub, filter: expr.filter.as_ref(), path: expr };
        let create = !matches!(action, Action::Unassign);
        let Some(container) = self.container(resolved.container, create) else {
            return match &expr.filter {
                Some(_) => Err(no_match(expr)),
                None => Ok(()),
            };
        };
        let outcome = edit(container, &target, action);
        self.prune(resolved.container);
        outcome
    }

    /// The object holding the attributes of `container`; an extension's is created on write.
    fn container(&mut self, container: Container<'_>, create: bool) -> Option<&mut Map<String, Value>> {
        match container {
            Container::Core | Container::Common => Some(&mut self.doc),
            Container::Extension(urn) => {
                canonical_key(&mut self.doc, urn);
                if !self.doc.get(urn).is_some_and(Value::is_object) {
                    if !create {
                        return None;
                    }
                    self.doc.insert(urn.to_owned(), Value::Object(Map::new()));
                }
                self.doc.get_mut(urn).and_then(Value::as_object_mut)
            }
        }
    }

    /// An extension left without attributes is dropped, as `normalize` would.
    fn prune(&mut self, container: Container<'_>) {
        if let Container::Extension(urn) = container {
            if self.doc.get(urn).and_then(Value::as_object).is_some_and(Map::is_empty) {
                self.doc.shift_remove(urn);
            }
        }
    }

    /// Group membership becomes `MemberOp`s for the store and never touches the document.
    fn members(&mut self, op: Op, expr: &PathExpr, has_sub: bool, value: Option<&Value>) -> Result<()> {
        let unsupported = || {
            ScimError::invalid_path(format!(
                "\"{expr}\" is not supported: change members as a whole with the path \"members\", or \
                 remove some with members[value eq \"<id>\"] (several joined with or)"
            ))
        };
        if has_sub {
            return Err(unsupported());
        }
        let value = value.filter(|v| !v.is_null());
        let change = match (op, &expr.filter, value) {
            (Op::Remove, Some(f), _) => MemberOp::Remove(member_ids(f).ok_or_else(unsupported)?),
            (_, Some(_), _) => return Err(unsupported()),
            // Entra ID removes members by listing them in `value`: exactly those go, never the
            // others (treating this as "remove all" is the classic data-loss bug).
            (Op::Remove, None, Some(v)) => MemberOp::Remove(member_refs(v)?.into_iter().map(|m| m.id).collect()),
            // RFC 7644 §3.5.2.2: removing "members" with no value removes every member.
            (Op::Remove, None, None) => MemberOp::Replace(Vec::new()),
            (Op::Add, None, v) => MemberOp::Add(v.map(member_refs).transpose()?.unwrap_or_default()),
            // Okta empties a group with `replace` of `[]`.
            (Op::Replace, None, v) => MemberOp::Replace(v.map(member_refs).transpose()?.unwrap_or_default()),
        };
        let no_op = match &change {
            MemberOp::Add(m) => m.is_empty(),
            MemberOp::Remove(ids) => ids.is_empty(),
            MemberOp::Replace(_) => false,
        };
        if !no_op {
            self.member_ops.push(change);
        }
        Ok(())
    }
}

/// `{"value": "<id>"}` objects, as an array or one alone; `display` (or Microsoft's
/// `displayName`) is kept for the store, `type` and `$ref` are the server's to derive.
fn member_refs(value: &Value) -> Result<Vec<MemberRef>> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().filter(|m| !m.is_null()).collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .map(|m| {
            let Value::Object(m) = m else {
                return Err(ScimError::invalid_value("each member must be an object such as {\"value\": \"<id>\"}"));
            };
            let id = member(m, "value").and_then(Value::as_str).map(str::trim).filter(|id| !id.is_empty());
            let Some(id) = id else {
                return Err(ScimError::invalid_value("each member needs a value: the id of a User or Group"));
            };
            let display = member(m, "display").or_else(|| member(m, "displayName")).and_then(Value::as_str);
            Ok(MemberRef { id: ResourceId::new(id), display: display.map(str::to_owned) })
        })
        .collect()
}

/// The ids of `value eq "a" or value eq "b" ...`; `None` for any other filter.
fn member_ids(f: &Filter) -> Option<Vec<ResourceId>> {
    match f {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::Str(id) }
            if path.urn.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(vec![ResourceId::new(id.as_str())])
        }
        Filter::Or(l, r) => {
            let mut ids = member_ids(l)?;
            ids.extend(member_ids(r)?);
            Some(ids)
        }
        _ => None,
    }
}

/// Whether the attribute a path ends at may be unassigned.
fn check_unassign(leaf: &Attribute, expr: &PathExpr) -> Result<()> {
    // RFC 7644 §3.5.2.2: unassigning a required attribute is a mutability error.
    if leaf.required {
        return Err(ScimError::mutability(format!(
            "{expr} is required and cannot be removed; replace it with a new value instead"
        )));
    }
    // RFC 7644 §3.5.2: an immutable value, once set, stays.
    if leaf.mutability == Mutability::Immutable {
        return Err(ScimError::mutability(format!("{expr} is immutable and cannot be removed")));
    }
    Ok(())
}

fn remove_with_value(path: &str) -> ScimError {
    ScimError::invalid_syntax(format!(
        "remove takes no value (only members accept one, listing the members to remove); \
         to remove some values of {path} use a filter such as {path}[value eq \"...\"]"
    ))
}

fn no_match(path: &PathExpr) -> ScimError {
    ScimError::no_target(format!("{path} matches no value of the resource"))
}

/// A value filter must select values of a multi-valued complex attribute by its sub-attributes.
fn check_value_filter(attr: &Attribute, f: &Filter) -> Result<()> {
    if !attr.multi_valued || attr.ty != AttrType::Complex {
        return Err(ScimError::invalid_path(format!(
            "{}[...] selects values of a multi-valued attribute, and {} has a single value",
            attr.name, attr.name
        )));
    }
    match f {
        Filter::And(l, r) | Filter::Or(l, r) => {
            check_value_filter(attr, l)?;
            check_value_filter(attr, r)
        }
        Filter::Not(inner) => check_value_filter(attr, inner),
        Filter::Compare { path, .. } | Filter::Present(path) => {
            if path.urn.is_none() && path.sub.is_none() && attr.sub(&path.name).is_some() {
                Ok(())
            } else {
                Err(ScimError::invalid_path(format!("{} has no sub-attribute \"{path}\"", attr.name)))
            }
        }
        Filter::ValuePath { .. } => Err(ScimError::invalid_path("a value filter cannot contain another one")),
    }
}

/// `caseExact` of the sub-attributes a value filter compares, for `filter::matches` run on one element.
struct ElementInfo<'a>(&'a Attribute);

impl AttrInfo for ElementInfo<'_> {
    fn case_exact(&self, path: &AttrPath) -> bool {
        self.0.sub(&path.name).is_some_and(|s| s.case_exact)
    }
}

/// A resolved PATCH target.
struct Target<'t> {
    attr: &'t Attribute,
    sub: Option<&'t Attribute>,
    filter: Option<&'t Filter>,
    path: &'t PathExpr,
}

fn edit(container: &mut Map<String, Value>, t: &Target<'_>, action: Action<'_>) -> Result<()> {
    canonical_key(container, &t.attr.name);
    match (t.filter, t.sub) {
        (Some(f), _) => edit_selected(container, t, f, action),
        (None, Some(sub)) => {
            edit_sub(container, t.attr, sub, action);
            Ok(())
        }
        (None, None) => {
            edit_whole(container, t.attr, action);
            Ok(())
        }
    }
}

/// The whole attribute: §3.5.2.1 (add), §3.5.2.2 (remove), §3.5.2.3 (replace).
fn edit_whole(container: &mut Map<String, Value>, attr: &Attribute, action: Action<'_>) {
    let key = attr.name.as_str();
    match action {
        Action::Unassign => {
            container.shift_remove(key);
        }
        Action::Add(v) | Action::Replace(v) if attr.multi_valued => {
            let incoming = elements(attr, v);
            let items = match action {
                // add appends, merging into a value that is already there rather than duplicating it.
                Action::Add(_) => {
                    let mut items = match container.get(key) {
                        Some(Value::Array(items)) => items.clone(),
                        _ => Vec::new(),
                    };
                    add_values(attr, &mut items, incoming);
                    items
                }
                // replace without a filter replaces every value.
                _ => incoming.into_iter().map(strip_nulls).collect(),
            };
            set_values(container, key, items);
        }
        // A complex value: the sub-attributes given replace or add, the others stay (§3.5.2.3;
        // §3.5.2.1 reads the same for add).
        Action::Add(v) | Action::Replace(v) if attr.ty == AttrType::Complex => {
            match (container.get_mut(key), element(attr, v)) {
                (Some(Value::Object(existing)), Value::Object(new)) => {
                    merge_object(existing, new);
                    if existing.is_empty() {
                        container.shift_remove(key);
                    }
                }
                (_, Value::Object(new)) => {
                    let mut fresh = Map::new();
                    merge_object(&mut fresh, new);
                    if !fresh.is_empty() {
                        container.insert(key.to_owned(), Value::Object(fresh));
                    }
                }
                // Not an object: kept for `normalize` to refuse with the attribute's name.
                (_, other) => {
                    container.insert(key.to_owned(), other);
                }
            }
        }
        // add on a single-valued attribute replaces it (§3.5.2.1).
        Action::Add(v) | Action::Replace(v) => {
            container.insert(key.to_owned(), scalar(attr, v));
        }
    }
}

/// `name.givenName` on a single complex attribute, or `emails.type` on every value of a
/// multi-valued one (the RFC names no filter-less meaning for the latter; all values is the
/// reading that matches `remove`'s "sub-attributes ... SHALL be considered unassigned").
fn edit_sub(container: &mut Map<String, Value>, attr: &Attribute, sub: &Attribute, action: Action<'_>) {
    let key = attr.name.as_str();
    match action {
        Action::Unassign => match container.get_mut(key) {
            Some(Value::Object(o)) => {
                remove_key(o, &sub.name);
                if o.is_empty() {
                    container.shift_remove(key);
                }
            }
            Some(Value::Array(items)) => {
                for o in items.iter_mut().filter_map(Value::as_object_mut) {
                    remove_key(o, &sub.name);
                }
                let items = std::mem::take(items);
                set_values(container, key, items);
            }
            _ => {}
        },
        Action::Add(v) | Action::Replace(v) => {
            let v = scalar(sub, v);
            match container.get_mut(key) {
                Some(Value::Object(o)) if !attr.multi_valued => set_key(o, &sub.name, v),
                Some(Value::Array(items)) if attr.multi_valued && !items.is_empty() => {
                    for o in items.iter_mut().filter_map(Value::as_object_mut) {
                        set_key(o, &sub.name, v.clone());
                    }
                }
                _ => {
                    let o = Value::Object(Map::from_iter([(sub.name.clone(), v)]));
                    container.insert(key.to_owned(), if attr.multi_valued { Value::Array(vec![o]) } else { o });
                }
            }
        }
    }
}

/// Values selected by a value filter (`emails[type eq "work"]`, optionally `.value`).
fn edit_selected(container: &mut Map<String, Value>, t: &Target<'_>, f: &Filter, action: Action<'_>) -> Result<()> {
    let attr = t.attr;
    let key = attr.name.as_str();
    let mut items = match container.get(key) {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    let info = ElementInfo(attr);
    let hits: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_object() && filter::matches(f, e, &info))
        .map(|(i, _)| i)
        .collect();
    if hits.is_empty() {
        // RFC 7644 §3.5.2.3 (and §3.12 for every op): a filter matching nothing is noTarget.
        let (Action::Add(v) | Action::Replace(v)) = action else { return Err(no_match(t.path)) };
        // Entra ID sets `emails[type eq "work"].value` on a user with no work email and expects
        // the email to be created; the filter's equalities become the new value's sub-attributes.
        let Some(mut created) = equalities(attr, f) else { return Err(no_match(t.path)) };
        match t.sub {
            Some(sub) => set_key(&mut created, &sub.name, scalar(sub, v)),
            None => match element(attr, v) {
                Value::Object(new) => merge_object(&mut created, new),
                _ => return Err(whole_value_needs_object(t.path)),
            },
        }
        items.push(Value::Object(created));
        let last = items.len() - 1;
        clear_other_primaries(&mut items, &[last]);
        set_values(container, key, items);
        return Ok(());
    }
    match (action, t.sub) {
        (Action::Unassign, Some(sub)) => {
            for i in &hits {
                if let Some(o) = items.get_mut(*i).and_then(Value::as_object_mut) {
                    remove_key(o, &sub.name);
                }
            }
        }
        // §3.5.2.2: the matching values are removed.
        (Action::Unassign, None) => {
            let mut i = 0;
            items.retain(|_| {
                i += 1;
                !hits.contains(&(i - 1))
            });
        }
        // §3.5.2.3: the sub-attribute of every matching value is replaced.
        (Action::Add(v) | Action::Replace(v), Some(sub)) => {
            let v = scalar(sub, v);
            for i in &hits {
                if let Some(o) = items.get_mut(*i).and_then(Value::as_object_mut) {
                    set_key(o, &sub.name, v.clone());
                }
            }
            clear_other_primaries(&mut items, &hits);
        }
        (Action::Add(v) | Action::Replace(v), None) => {
            let Value::Object(new) = element(attr, v) else { return Err(whole_value_needs_object(t.path)) };
            for i in &hits {
                if let Some(slot) = items.get_mut(*i) {
                    match (action, slot.as_object_mut()) {
                        // add has no filtered form in the RFC; merging is the reading that loses nothing.
                        (Action::Add(_), Some(o)) => merge_object(o, new.clone()),
                        // §3.5.2.3: "all matching record values SHALL be replaced".
                        _ => *slot = strip_nulls(Value::Object(new.clone())),
                    }
                }
            }
            clear_other_primaries(&mut items, &hits);
        }
    }
    set_values(container, key, items);
    Ok(())
}

fn whole_value_needs_object(path: &PathExpr) -> ScimError {
    ScimError::invalid_value(format!("{path} selects whole values, so its value must be a JSON object"))
}

/// The sub-attributes a conjunction of `eq` comparisons pins down; `None` for any other filter.
fn equalities(attr: &Attribute, f: &Filter) -> Option<Map<String, Value>> {
    fn walk(attr: &Attribute, f: &Filter, out: &mut Map<String, Value>) -> Option<()> {
        match f {
            Filter::And(l, r) => {
                walk(attr, l, out)?;
                walk(attr, r, out)
            }
            Filter::Compare { path, op: CompareOp::Eq, value } if path.urn.is_none() && path.sub.is_none() => {
                let sub = attr.sub(&path.name)?;
                let v = match value {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Number(n) => Value::Number(n.clone()),
                    CompValue::Null => return None,
                };
                match out.get(&sub.name) {
                    Some(prev) if *prev != v => None,
                    _ => {
                        out.insert(sub.name.clone(), v);
                        Some(())
                    }
                }
            }
            _ => None,
        }
    }
    let mut out = Map::new();
    walk(attr, f, &mut out)?;
    Some(out)
}

/// Appends `incoming` to `items`; a value already there (same `value`, and same `type` when one
/// is given) is merged into instead of duplicated (§3.5.2.1: "no changes SHOULD be made").
fn add_values(attr: &Attribute, items: &mut Vec<Value>, incoming: Vec<Value>) {
    let mut touched = Vec::new();
    for new in incoming {
        match items.iter().position(|e| same_value(attr, e, &new)) {
            Some(i) => {
                if let (Some(Value::Object(existing)), Value::Object(new)) = (items.get_mut(i), new) {
                    merge_object(existing, new);
                }
                touched.push(i);
            }
            None => {
                items.push(strip_nulls(new));
                touched.push(items.len() - 1);
            }
        }
    }
    clear_other_primaries(items, &touched);
}

fn same_value(attr: &Attribute, existing: &Value, new: &Value) -> bool {
    if existing == new {
        return true;
    }
    let (Some(e), Some(n)) = (existing.as_object(), new.as_object()) else { return false };
    let (Some(ev), Some(nv)) = (e.get("value"), n.get("value").filter(|v| !v.is_null())) else { return false };
    let case_exact = attr.sub("value").is_some_and(|s| s.case_exact);
    if !loosely_equal(ev, nv, case_exact) {
        return false;
    }
    match n.get("type").filter(|t| !t.is_null()) {
        None => true,
        Some(nt) => e.get("type").is_some_and(|et| loosely_equal(et, nt, false)),
    }
}

fn loosely_equal(a: &Value, b: &Value, case_exact: bool) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) if !case_exact => a.to_lowercase() == b.to_lowercase(),
        _ => a == b,
    }
}

/// RFC 7644 §3.5.2: setting one value's `primary` to true sets it to false on the others.
fn clear_other_primaries(items: &mut [Value], touched: &[usize]) {
    let new_primary =
        touched.iter().any(|i| items.get(*i).is_some_and(|v| is_true(v.get("primary").unwrap_or(&Value::Null))));
    if !new_primary {
        return;
    }
    for (i, item) in items.iter_mut().enumerate() {
        if touched.contains(&i) {
            continue;
        }
        if let Some(o) = item.as_object_mut() {
            if o.get("primary").is_some_and(is_true) {
                o.insert("primary".to_owned(), Value::Bool(false));
            }
        }
    }
}

/// `true`, or Entra ID's `"True"`.
fn is_true(v: &Value) -> bool {
    coerce_bool(v) == Some(true)
}

/// A single value for `attr`. Booleans sent as strings become booleans here already, so that a
/// `"False"` for a stored `false` is no change; `normalize` accepts the same spellings.
fn scalar(attr: &Attribute, v: &Value) -> Value {
    match (attr.ty, coerce_bool(v)) {
        (AttrType::Boolean, Some(b)) => Value::Bool(b),
        _ => v.clone(),
    }
}

/// One value of `attr` with canonical sub-attribute names. A complex attribute sent as a bare
/// value means its `value` sub-attribute: Entra ID sends a manager as the manager's id.
fn element(attr: &Attribute, v: &Value) -> Value {
    if attr.ty != AttrType::Complex {
        return scalar(attr, v);
    }
    match v {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                match attr.sub(k) {
                    // RFC 7643 §2.2: readOnly values a client sends are ignored.
                    Some(s) if s.mutability == Mutability::ReadOnly => {}
                    Some(s) => {
                        out.insert(s.name.clone(), scalar(s, v));
                    }
                    // Kept as sent for `normalize` to report as unknown.
                    None => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(out)
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) => match attr.sub("value") {
            Some(s) => Value::Object(Map::from_iter([(s.name.clone(), scalar(s, v))])),
            None => v.clone(),
        },
        _ => v.clone(),
    }
}

/// The values of a multi-valued attribute: an array, or one value alone.
fn elements(attr: &Attribute, v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.iter().filter(|v| !v.is_null()).map(|v| element(attr, v)).collect(),
        other => vec![element(attr, other)],
    }
}

/// Sets the sub-attributes of `new` in `existing`; a `null` unassigns one (RFC 7643 §2.5).
fn merge_object(existing: &mut Map<String, Value>, new: Map<String, Value>) {
    for (k, v) in new {
        if v.is_null() {
            remove_key(existing, &k);
        } else {
            set_key(existing, &k, v);
        }
    }
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(o.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

/// Stores a multi-valued attribute; with no values left it is unassigned (§3.5.2.2). Values
/// emptied by removing their last sub-attribute go too.
fn set_values(container: &mut Map<String, Value>, key: &str, mut items: Vec<Value>) {
    items.retain(|v| !v.as_object().is_some_and(Map::is_empty));
    if items.is_empty() {
        container.shift_remove(key);
    } else {
        container.insert(key.to_owned(), Value::Array(items));
    }
}

/// Renames a key matching `name` in another case to `name`, in place.
fn canonical_key(map: &mut Map<String, Value>, name: &str) {
    if map.contains_key(name) {
        return;
    }
    let Some(old) = map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned() else { return };
    let entries = std::mem::take(map);
    *map = entries.into_iter().map(|(k, v)| if k == old { (name.to_owned(), v) } else { (k, v) }).collect();
}

fn set_key(map: &mut Map<String, Value>, name: &str, v: Value) {
    canonical_key(map, name);
    map.insert(name.to_owned(), v);
}

fn remove_key(map: &mut Map<String, Value>, name: &str) {
    canonical_key(map, name);
    map.shift_remove(name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::resource::normalize;
    use crate::scim::schema::ENTERPRISE_USER;
    use serde_json::json;

    /// A multi-valued attribute with a required, caseExact `value`, which the core schemas lack.
    fn licenses() -> Attribute {
        serde_json::from_value(json!({
            "name": "licenses", "type": "complex", "multiValued": true, "mutability": "readWrite",
            "returned": "default",
            "subAttributes": [
                {"name": "value", "type": "string", "multiValued": false, "required": true, "caseExact": true,
                    "mutability": "readWrite", "returned": "default"},
                {"name": "display", "type": "string", "multiValued": false, "mutability": "readWrite",
                    "returned": "default"}
            ]
        }))
        .unwrap()
    }

    fn registry() -> &'static Registry {
        Registry::builtin().unwrap()
    }

    fn run(kind: ResourceKind, doc: &mut Value, body: &Value) -> Result<Patched> {
        let r = registry();
        apply_patch(r, r.resource_type(kind), doc, body)
    }

    fn body(ops: Value) -> Value {
        json!({"schemas": [PATCH_OP_URN], "Operations": ops})
    }

    /// Applies `ops` to a User document and returns the new document and the outcome.
    fn user(doc: Value, ops: Value) -> (Value, Patched) {
        let mut doc = doc;
        let patched = run(ResourceKind::User, &mut doc, &body(ops)).unwrap();
        (doc, patched)
    }

    fn group(doc: Value, ops: Value) -> (Value, Patched) {
        let mut doc = doc;
        let patched = run(ResourceKind::Group, &mut doc, &body(ops)).unwrap();
        (doc, patched)
    }

    /// The error of a User PATCH, after checking it left the document as it was.
    fn user_err(doc: Value, ops: Value) -> ScimError {
        user_err_body(doc, body(ops))
    }

    fn user_err_body(doc: Value, body: Value) -> ScimError {
        let mut patched = doc.clone();
        let err = run(ResourceKind::User, &mut patched, &body).unwrap_err();
        assert_eq!(patched, doc, "a failed PATCH must leave the document unchanged");
        assert_eq!(err.status, 400);
        err
    }

    fn group_err(doc: Value, ops: Value) -> ScimError {
        let mut patched = doc.clone();
        let err = run(ResourceKind::Group, &mut patched, &body(ops)).unwrap_err();
        assert_eq!(patched, doc);
        assert_eq!(err.status, 400);
        err
    }

    fn bjensen() -> Value {
        json!({
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "nickName": "Babs",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "addresses": [
                {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"},
                {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}
            ]
        })
    }

    fn ids(ids: &[&str]) -> Vec<MemberRef> {
        ids.iter().map(|id| MemberRef::id((*id).into())).collect()
    }

    // --- the request envelope ---

    #[test]
    fn body_must_be_an_object() {
        let err = user_err_body(bjensen(), json!([]));
        assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn schemas_must_list_the_patch_op_urn() {
        let missing = user_err_body(bjensen(), json!({"Operations": []}));
        assert_eq!(missing.scim_type, Some(ScimType::InvalidSyntax));
        assert!(missing.detail.contains(PATCH_OP_URN), "{}", missing.detail);
        let wrong = user_err_body(
            bjensen(),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": []}),
        );
        assert_eq!(wrong.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn operations_is_required_and_matched_in_any_case() {
        let err = user_err_body(bjensen(), json!({"schemas": [PATCH_OP_URN]}));
        assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
        assert!(err.detail.contains("Operations"));
        let mut doc = bjensen();
        let lower =
            json!({"schemas": [PATCH_OP_URN], "operations": [{"op": "replace", "path": "nickName", "value": "B"}]});
        run(ResourceKind::User, &mut doc, &lower).unwrap();
        assert_eq!(doc["nickName"], "B");
    }

    #[test]
    fn empty_operations_change_nothing() {
        let (doc, patched) = user(bjensen(), json!([]));
        assert_eq!(doc, bjensen());
        assert_eq!(patched, Patched { member_ops: vec![], changed: false });
    }

    #[test]
    fn op_names_are_case_insensitive() {
        let (doc, _) = user(
            bjensen(),
            json!([
                {"op": "Add", "path": "title", "value": "Tour Guide"},
                {"op": "REPLACE", "path": "nickName", "value": "B"},
                {"op": "Remove", "path": "name.familyName"}
            ]),
        );
        assert_eq!(doc["title"], "Tour Guide");
        assert_eq!(doc["nickName"], "B");
        assert_eq!(doc["name"], json!({"givenName": "Barbara"}));
    }

    #[test]
    fn unknown_op_is_named() {
        let err = user_err(bjensen(), json!([{"op": "move", "path": "nickName", "value": "x"}]));
        assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
        assert!(err.detail.contains("\"move\""), "{}", err.detail);
        let err = user_err(bjensen(), json!([{"path": "nickName", "value": "x"}]));
        assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn add_and_replace_need_a_value() {
        for op in ["add", "replace"] {
            let err = user_err(bjensen(), json!([{"op": op, "path": "nickName"}]));
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{op}");
        }
    }

    #[test]
    fn remove_without_path_is_no_target() {
        let err = user_err(bjensen(), json!([{"op": "remove"}]));
        assert_eq!(err.scim_type, Some(ScimType::NoTarget));
    }

    #[test]
    fn malformed_path_is_invalid_path() {
        for path in ["emails[type eq", "name..givenName", "emails[type eq \"work\"]]"] {
            let err = user_err(bjensen(), json!([{"op": "replace", "path": path, "value": "x"}]));
            assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{path}");
        }
        let err = user_err(bjensen(), json!([{"op": "replace", "path": 5, "value": "x"}]));
        assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
    }

    #[test]
    fn unknown_attributes_are_invalid_paths_that_name_them() {
        for path in
            ["shoeSize", "name.nickname", "emails[kind eq \"work\"]", "emails[type eq \"work\"].label", "members"]
        {
            let err = user_err(bjensen(), json!([{"op": "replace", "path": path, "value": "x"}]));
            assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{path}");
        }
        let err = user_err(bjensen(), json!([{"op": "add", "path": "shoeSize", "value": 9}]));
        assert!(err.detail.contains("shoeSize"), "{}", err.detail);
        let err = user_err(bjensen(), json!([{"op": "add", "path": "urn:example:nope:costCenter", "value": "x"}]));
        assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
    }

    #[test]
    fn read_only_attributes_are_a_mutability_error() {
        for path in [
            "id",
            "meta",
            "meta.lastModified",
            "groups",
            "groups[value eq \"g1\"]",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
        ] {
            for op in ["add", "replace", "remove"] {
                let value = if op == "remove" { Value::Null } else { json!("x") };
                let err = user_err(bjensen(), json!([{"op": op, "path": path, "value": value}]));
                assert_eq!(err.scim_type, Some(ScimType::Mutability), "{op} {path}");
            }
        }
    }

    #[test]
    fn removing_a_required_attribute_is_a_mutability_error() {
        // RFC 7644 §3.5.2.2: unassigning a required attribute answers scimType mutability.
        let err = user_err(bjensen(), json!([{"op": "remove", "path": "userName"}]));
        assert_eq!(err.scim_type, Some(ScimType::Mutability));
        let err = user_err(bjensen(), json!([{"op": "replace", "path": "userName", "value": null}]));
        assert_eq!(err.scim_type, Some(ScimType::Mutability));
        let err = group_err(json!({"displayName": "Admins"}), json!([{"op": "remove", "path": "displayName"}]));
        assert_eq!(err.scim_type, Some(ScimType::Mutability));
        let licenses = licenses();
        let expr = filter::parse_value_path_or_attr("licenses[value eq \"E5\"].value").unwrap();
        let err = check_unassign(licenses.sub("value").unwrap(), &expr).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::Mutability));
        assert!(check_unassign(licenses.sub("display").unwrap(), &expr).is_ok());
    }

    #[test]
    fn a_failing_operation_undoes_the_earlier_ones() {
        let err = user_err(
            bjensen(),
            json!([
                {"op": "replace", "path": "nickName", "value": "Changed"},
                {"op": "remove", "path": "emails"},
                {"op": "replace", "path": "shoeSize", "value": 9}
            ]),
        );
        assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
        assert!(err.detail.starts_with("operation 3:"), "{}", err.detail);
    }

    #[test]
    fn a_failing_member_operation_drops_the_earlier_member_ops_too() {
        let mut doc = json!({"displayName": "G"});
        let ops = body(json!([
            {"op": "add", "path": "members", "value": [{"value": "u1"}]},
            {"op": "add", "path": "members", "value": [{"display": "no id"}]}
        ]));
        let err = run(ResourceKind::Group, &mut doc, &ops).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        assert_eq!(doc, json!({"displayName": "G"}));
    }

    // --- RFC 7644 §3.5.2.1 add ---

    #[test]
    fn rfc_add_member_to_group() {
        let (doc, patched) = group(
            json!({"displayName": "Tour Guides"}),
            json!([{
                "op": "add",
                "path": "members",
                "value": [{
                    "display": "Babs Jensen",
                    "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                    "value": "2819c223-7f76-453a-919d-413861904646"
                }]
            }]),
        );
        assert_eq!(doc, json!({"displayName": "Tour Guides"}), "members never enter the document");
        let babs = MemberRef { id: "2819c223-7f76-453a-919d-413861904646".into(), display: Some("Babs Jensen".into()) };
        assert_eq!(patched, Patched { member_ops: vec![MemberOp::Add(vec![babs])], changed: true });
    }

    #[test]
    fn rfc_add_without_path_appends_an_email_and_sets_nickname() {
        let (doc, patched) = user(
            json!({"userName": "bjensen", "emails": [{"value": "bjensen@example.com", "type": "work"}]}),
            json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}}]),
        );
        assert!(patched.changed);
        assert_eq!(
            doc["emails"],
            json!([{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}])
        );
        assert_eq!(doc["nickName"], "Babs");
        assert!(doc.get("nickname").is_none(), "keys take the schema's spelling");
    }

    #[test]
    fn add_on_a_single_valued_attribute_replaces_it() {
        let (doc, _) = user(bjensen(), json!([{"op": "add", "path": "nickName", "value": "Barb"}]));
        assert_eq!(doc["nickName"], "Barb");
    }

    #[test]
    fn add_to_a_complex_attribute_merges_sub_attributes() {
        let (doc, _) = user(bjensen(), json!([{"op": "add", "path": "name", "value": {"middleName": "Jane"}}]));
        assert_eq!(doc["name"], json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"}));
    }

    #[test]
    fn add_of_a_value_already_present_changes_nothing() {
        let (doc, patched) = user(
            bjensen(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home"}]}]),
        );
        assert_eq!(doc, bjensen());
        assert!(!patched.changed);
    }

    #[test]
    fn add_of_a_known_value_merges_into_it_instead_of_duplicating() {
        let (doc, _) = user(
            bjensen(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "BABS@jensen.org", "display": "Babs at home"}]}]),
        );
        assert_eq!(doc["emails"].as_array().unwrap().len(), 2);
        assert_eq!(doc["emails"][1], json!({"value": "BABS@jensen.org", "type": "home", "display": "Babs at home"}));
        // Same address, other type: a different value.
        let (doc, _) = user(
            bjensen(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "other"}]}]),
        );
        assert_eq!(doc["emails"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn adding_a_primary_value_clears_primary_on_the_others() {
        let (doc, _) = user(
            bjensen(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "other", "primary": "True"}]}]),
        );
        assert_eq!(doc["emails"][0]["primary"], false);
        assert_eq!(doc["emails"][2], json!({"value": "new@example.com", "type": "other", "primary": true}));
    }

    #[test]
    fn add_creates_missing_attributes_and_extension_objects() {
        let (doc, _) = user(
            json!({"userName": "a"}),
            json!([
                {"op": "add", "path": "name.givenName", "value": "Ann"},
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "value": "4130"},
                {"op": "add", "path": "phoneNumbers", "value": {"value": "555-0100", "type": "work"}}
            ]),
        );
        assert_eq!(
            doc,
            json!({"userName": "a", "name": {"givenName": "Ann"}, ENTERPRISE_USER: {"costCenter": "4130"},
                "phoneNumbers": [{"value": "555-0100", "type": "work"}]})
        );
    }

    // --- RFC 7644 §3.5.2.2 remove ---

    #[test]
    fn rfc_remove_one_member() {
        let (_, patched) = group(
            json!({"displayName": "G"}),
            json!([{"op": "remove", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}]),
        );
        assert_eq!(patched.member_ops, vec![MemberOp::Remove(vec!["2819c223-7f76-453a-919d-413861904646".into()])]);
        assert!(patched.changed);
    }

    #[test]
    fn rfc_remove_all_members() {
        let (_, patched) = group(json!({"displayName": "G"}), json!([{"op": "remove", "path": "members"}]));
        assert_eq!(patched.member_ops, vec![MemberOp::Replace(vec![])]);
    }

    #[test]
    fn rfc_remove_emails_matching_a_complex_filter() {
        let doc = json!({"userName": "j", "emails": [
            {"value": "john@example.com", "type": "work"},
            {"value": "john@example2.com", "type": "work"},
            {"value": "john@example.org", "type": "home"}
        ]});
        let (doc, _) =
            user(doc, json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]));
        assert_eq!(
            doc["emails"],
            json!([{"value": "john@example2.com", "type": "work"}, {"value": "john@example.org", "type": "home"}])
        );
    }

    #[test]
    fn rfc_remove_one_member_and_add_another() {
        let (_, patched) = group(
            json!({"displayName": "G"}),
            json!([
                {"op": "remove", "path": "members[value eq\"2819c223-7f76-453a-919d-413861904646\"]"},
                {"op": "add", "path": "members", "value": [{
                    "display": "James Smith",
                    "$ref": "https://example.com/v2/Users/08e1d05d-121c-4561-8b96-473d93df9210",
                    "value": "08e1d05d-121c-4561-8b96-473d93df9210"
                }]}
            ]),
        );
        assert_eq!(
            patched.member_ops,
            vec![
                MemberOp::Remove(vec!["2819c223-7f76-453a-919d-413861904646".into()]),
                MemberOp::Add(vec![MemberRef {
                    id: "08e1d05d-121c-4561-8b96-473d93df9210".into(),
                    display: Some("James Smith".into())
                }]),
            ]
        );
    }

    #[test]
    fn rfc_replace_members_by_removing_all_then_adding() {
        let (_, patched) = group(
            json!({"displayName": "G"}),
            json!([
                {"op": "remove", "path": "members"},
                {"op": "add", "path": "members", "value": [
                    {"display": "Babs Jensen", "value": "2819c223-7f76-453a-919d-413861904646"},
                    {"display": "James Smith", "value": "08e1d05d-121c-4561-8b96-473d93df9210"}
                ]}
            ]),
        );
        assert_eq!(patched.member_ops.len(), 2);
        assert_eq!(patched.member_ops[0], MemberOp::Replace(vec![]));
        let MemberOp::Add(added) = &patched.member_ops[1] else { panic!("{:?}", patched.member_ops) };
        assert_eq!(
            added.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ["2819c223-7f76-453a-919d-413861904646", "08e1d05d-121c-4561-8b96-473d93df9210"]
        );
    }

    #[test]
    fn remove_unassigns_attributes_and_sub_attributes() {
        let (doc, _) = user(
            bjensen(),
            json!([
                {"op": "remove", "path": "nickName"},
                {"op": "remove", "path": "name.givenName"},
                {"op": "remove", "path": "addresses"}
            ]),
        );
        assert!(doc.get("nickName").is_none());
        assert!(doc.get("addresses").is_none());
        assert_eq!(doc["name"], json!({"familyName": "Jensen"}));
        let (doc, _) = user(doc, json!([{"op": "remove", "path": "name.familyName"}]));
        assert!(doc.get("name").is_none(), "a complex attribute with no sub-attributes left is unassigned");
    }

    #[test]
    fn removing_every_matching_value_unassigns_the_attribute() {
        let (doc, _) = user(bjensen(), json!([{"op": "remove", "path": "emails[value co \"@\"]"}]));
        assert!(doc.get("emails").is_none());
    }

    #[test]
    fn remove_of_a_sub_attribute_of_matching_values() {
        let (doc, _) = user(bjensen(), json!([{"op": "remove", "path": "addresses[type eq \"work\"].locality"}]));
        assert_eq!(doc["addresses"][0], json!({"type": "work", "streetAddress": "100 Universal City Plaza"}));
        assert_eq!(doc["addresses"][1]["locality"], "Hollywood");
    }

    #[test]
    fn remove_of_an_absent_attribute_is_no_change() {
        let (doc, patched) = user(
            bjensen(),
            json!([{"op": "remove", "path": "title"}, {"op": "remove", "path": format!("{ENTERPRISE_USER}:manager")}]),
        );
        assert_eq!(doc, bjensen());
        assert!(!patched.changed);
    }

    #[test]
    fn remove_with_a_filter_matching_nothing_is_no_target() {
        let err = user_err(bjensen(), json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]));
        assert_eq!(err.scim_type, Some(ScimType::NoTarget));
        let err = user_err(json!({"userName": "a"}), json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]));
        assert_eq!(err.scim_type, Some(ScimType::NoTarget));
    }

    #[test]
    fn remove_with_a_value_is_refused_outside_members() {
        let err =
            user_err(bjensen(), json!([{"op": "remove", "path": "emails", "value": [{"value": "babs@jensen.org"}]}]));
        assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
        let (doc, _) = user(bjensen(), json!([{"op": "remove", "path": "nickName", "value": null}]));
        assert!(doc.get("nickName").is_none(), "an explicit null value is no value");
    }

    #[test]
    fn removing_the_last_extension_attribute_drops_the_extension() {
        let doc = json!({"userName": "a", ENTERPRISE_USER: {"department": "Tour Operations"}});
        let (doc, _) = user(doc, json!([{"op": "remove", "path": format!("{ENTERPRISE_USER}:department")}]));
        assert_eq!(doc, json!({"userName": "a"}));
    }

    // --- RFC 7644 §3.5.2.3 replace ---

    #[test]
    fn rfc_replace_all_members() {
        let (doc, patched) = group(
            json!({"displayName": "G"}),
            json!([{"op": "replace", "path": "members", "value": [
                {"display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223", "value": "2819c223"},
                {"display": "James Smith", "$ref": "https://example.com/v2/Users/08e1d05d", "value": "08e1d05d"}
            ]}]),
        );
        assert_eq!(doc, json!({"displayName": "G"}));
        assert_eq!(
            patched.member_ops,
            vec![MemberOp::Replace(vec![
                MemberRef { id: "2819c223".into(), display: Some("Babs Jensen".into()) },
                MemberRef { id: "08e1d05d".into(), display: Some("James Smith".into()) },
            ])]
        );
    }

    #[test]
    fn rfc_replace_the_work_address() {
        let new = json!({
            "type": "work",
            "streetAddress": "911 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "US",
            "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
            "primary": true
        });
        let (doc, _) = user(bjensen(), json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": new}]));
        assert_eq!(doc["addresses"][0], new);
        assert_eq!(doc["addresses"][1]["type"], "home");
    }

    #[test]
    fn rfc_replace_the_street_address_of_the_work_address() {
        let (doc, _) = user(
            bjensen(),
            json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
        );
        assert_eq!(
            doc["addresses"][0],
            json!({"type": "work", "streetAddress": "1010 Broadway Ave", "locality": "Hollywood"})
        );
        assert_eq!(doc["addresses"][1]["streetAddress"], "456 Hollywood Blvd");
    }

    #[test]
    fn rfc_replace_without_path_replaces_emails_and_nickname() {
        let (doc, _) = user(
            bjensen(),
            json!([{"op": "replace", "value": {
                "emails": [
                    {"value": "bjensen@example.com", "type": "work", "primary": true},
                    {"value": "babs@jensen.org", "type": "home"}
                ],
                "nickname": "Babs"
            }}]),
        );
        assert_eq!(doc, bjensen());
        let (doc, _) = user(
            bjensen(),
            json!([{"op": "replace", "value": {"emails": [{"value": "only@example.com", "type": "work"}], "nickname": "B"}}]),
        );
        assert_eq!(doc["emails"], json!([{"value": "only@example.com", "type": "work"}]));
        assert_eq!(doc["nickName"], "B");
    }

    #[test]
    fn replace_of_a_complex_attribute_leaves_unlisted_sub_attributes() {
        let (doc, _) = user(bjensen(), json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]));
        assert_eq!(doc["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
    }

    #[test]
    fn replace_of_an_absent_attribute_adds_it() {
        let (doc, _) = user(json!({"userName": "a"}), json!([{"op": "replace", "path": "title", "value": "Boss"}]));
        assert_eq!(doc["title"], "Boss");
    }

    #[test]
    fn replace_of_a_multi_valued_attribute_replaces_every_value() {
        let (doc, _) = user(bjensen(), json!([{"op": "replace", "path": "emails", "value": [{"value": "x@y.com"}]}]));
        assert_eq!(doc["emails"], json!([{"value": "x@y.com"}]));
        let (doc, _) = user(bjensen(), json!([{"op": "replace", "path": "emails", "value": []}]));
        assert!(doc.get("emails").is_none());
    }

    #[test]
    fn replace_with_a_filter_matching_nothing_is_no_target() {
        let err = user_err(
            bjensen(),
            json!([{"op": "replace", "path": "emails[value ew \"example.net\"].type", "value": "other"}]),
        );
        assert_eq!(err.scim_type, Some(ScimType::NoTarget));
        let err = user_err(
            bjensen(),
            json!([{"op": "add", "path": "emails[type eq \"other\" or type eq \"x\"]", "value": {"value": "a"}}]),
        );
        assert_eq!(err.scim_type, Some(ScimType::NoTarget), "only a conjunction of eq can build a value");
    }

    #[test]
    fn replace_of_primary_through_a_filter_clears_the_other_primaries() {
        let (doc, _) =
            user(bjensen(), json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]));
        assert_eq!(doc["emails"][0]["primary"], false);
        assert_eq!(doc["emails"][1]["primary"], true);
    }

    #[test]
    fn replace_with_null_unassigns() {
        let (doc, _) = user(bjensen(), json!([{"op": "replace", "path": "nickName", "value": null}]));
        assert!(doc.get("nickName").is_none());
        let (doc, _) = user(bjensen(), json!([{"op": "replace", "path": "name", "value": {"givenName": null}}]));
        assert_eq!(doc["name"], json!({"familyName": "Jensen"}));
    }

    #[test]
    fn filters_apply_only_to_multi_valued_attributes() {
        let err =
            user_err(bjensen(), json!([{"op": "replace", "path": "name[givenName eq \"Barbara\"]", "value": {}}]));
        assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
    }

    #[test]
    fn filters_honour_case_exact() {
        // emails.type is caseExact false; the licenses.value below is caseExact true.
        let (doc, _) = user(bjensen(), json!([{"op": "remove", "path": "emails[type eq \"HOME\"]"}]));
        assert_eq!(doc["emails"].as_array().unwrap().len(), 1);
        let licenses = licenses();
        let remove = |path: &str| {
            let expr = filter::parse_value_path_or_attr(path).unwrap();
            let t = Target { attr: &licenses, sub: None, filter: expr.filter.as_ref(), path: &expr };
            let mut container = Map::from_iter([("licenses".to_owned(), json!([{"value": "E5"}]))]);
            edit(&mut container, &t, Action::Unassign).map(|()| container)
        };
        let err = remove("licenses[value eq \"e5\"]").unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::NoTarget));
        assert_eq!(remove("licenses[value eq \"E5\"]").unwrap(), Map::new());
    }

    // --- names in any case, URN-qualified paths ---

    #[test]
    fn names_in_paths_and_values_take_the_schema_spelling() {
        let (doc, _) = user(
            json!({"userName": "a", "name": {"givenName": "Ann"}}),
            json!([
                {"op": "replace", "path": "NAME.GIVENNAME", "value": "Anne"},
                {"op": "add", "path": "Name", "value": {"FamilyName": "Lee"}},
                {"op": "add", "path": "EMAILS", "value": [{"Value": "a@b.c", "TYPE": "work", "Primary": "true"}]},
                {"op": "replace", "path": "Emails[TYPE eq \"work\"].VALUE", "value": "c@d.e"}
            ]),
        );
        assert_eq!(
            doc,
            json!({"userName": "a", "name": {"givenName": "Anne", "familyName": "Lee"},
                "emails": [{"value": "c@d.e", "type": "work", "primary": true}]})
        );
    }

    #[test]
    fn urn_qualified_paths_reach_the_core_and_the_extensions() {
        let (doc, _) = user(
            json!({"userName": "a"}),
            json!([
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName", "value": "b"},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "value": "Lee"},
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "m1"}},
                {"op": "add", "path": "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Department", "value": "Ops"}
            ]),
        );
        assert_eq!(
            doc,
            json!({"userName": "b", "name": {"familyName": "Lee"},
                ENTERPRISE_USER: {"manager": {"value": "m1"}, "department": "Ops"}})
        );
    }

    #[test]
    fn an_extension_urn_as_path_takes_an_object_of_its_attributes() {
        let doc = json!({"userName": "a", ENTERPRISE_USER: {"department": "Ops", "costCenter": "1"}});
        let (doc, _) = user(
            doc,
            json!([{"op": "replace", "path": ENTERPRISE_USER, "value": {"department": "Sales", "division": "EU"}}]),
        );
        assert_eq!(doc[ENTERPRISE_USER], json!({"department": "Sales", "costCenter": "1", "division": "EU"}));
        let (doc, _) = user(doc, json!([{"op": "remove", "path": ENTERPRISE_USER}]));
        assert_eq!(doc, json!({"userName": "a"}));
    }

    // --- path-less add / replace ---

    #[test]
    fn entra_path_less_replace_with_dotted_and_urn_keys() {
        let (doc, patched) = user(
            json!({"userName": "a", "name": {"familyName": "Lee"}}),
            json!([{"op": "replace", "value": {
                "displayName": "x",
                "name.givenName": "y",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "z"
            }}]),
        );
        assert!(patched.changed);
        assert_eq!(
            doc,
            json!({"userName": "a", "name": {"familyName": "Lee", "givenName": "y"}, "displayName": "x",
                ENTERPRISE_USER: {"department": "z"}})
        );
    }

    #[test]
    fn path_less_value_may_carry_an_extension_object() {
        let (doc, _) = user(
            json!({"userName": "a"}),
            json!([{"op": "add", "value": {ENTERPRISE_USER: {"employeeNumber": "42", "manager": "m1"}}}]),
        );
        assert_eq!(doc[ENTERPRISE_USER], json!({"employeeNumber": "42", "manager": {"value": "m1"}}));
    }

    #[test]
    fn okta_group_rename_ignores_the_id() {
        let (doc, patched) = group(
            json!({"displayName": "Old"}),
            json!([{"op": "replace", "value": {"id": "g1", "displayName": "New"}}]),
        );
        assert_eq!(doc, json!({"displayName": "New"}));
        assert!(patched.changed && patched.member_ops.is_empty());
    }

    #[test]
    fn path_less_value_must_be_an_object() {
        let err = user_err(bjensen(), json!([{"op": "replace", "value": "x"}]));
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn path_less_keys_are_checked_like_paths() {
        let err = user_err(bjensen(), json!([{"op": "replace", "value": {"shoeSize": 9}}]));
        assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
        let err = user_err(bjensen(), json!([{"op": "replace", "value": {"groups": []}}]));
        assert_eq!(err.scim_type, Some(ScimType::Mutability));
    }

    // --- client request shapes ---

    #[test]
    fn entra_active_as_a_string() {
        let (doc, patched) = user(bjensen(), json!([{"op": "Replace", "path": "active", "value": "False"}]));
        assert_eq!(doc["active"], false);
        assert!(patched.changed);
        let (again, patched) = user(doc.clone(), json!([{"op": "Replace", "path": "active", "value": "False"}]));
        assert_eq!(again, doc);
        assert!(!patched.changed, "setting the current value is no change");
    }

    #[test]
    fn entra_full_request_passes_normalize() {
        let mut doc = bjensen();
        let request = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
        let patched = run(ResourceKind::User, &mut doc, &request).unwrap();
        assert!(patched.changed);
        let r = registry();
        let doc = normalize(r, r.resource_type(ResourceKind::User), doc).unwrap();
        assert_eq!(doc["active"], false);
    }

    #[test]
    fn entra_add_work_email_creates_it_when_missing() {
        let (doc, _) = user(
            json!({"userName": "a"}),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y.com"}]),
        );
        assert_eq!(doc["emails"], json!([{"type": "work", "value": "x@y.com"}]));
    }

    #[test]
    fn entra_add_work_email_updates_the_existing_one() {
        let (doc, _) =
            user(bjensen(), json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y.com"}]));
        assert_eq!(doc["emails"][0], json!({"value": "x@y.com", "type": "work", "primary": true}));
        assert_eq!(doc["emails"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn entra_replace_of_missing_work_phone_and_address_creates_them() {
        let (doc, _) = user(
            json!({"userName": "a", "phoneNumbers": [{"type": "mobile", "value": "1"}]}),
            json!([
                {"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "555-0100"},
                {"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
                {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"}
            ]),
        );
        assert_eq!(
            doc["phoneNumbers"],
            json!([{"type": "mobile", "value": "1"}, {"type": "work", "value": "555-0100"}])
        );
        assert_eq!(
            doc["addresses"],
            json!([{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"}])
        );
    }

    #[test]
    fn filter_equalities_and_the_value_build_a_missing_element() {
        let (doc, _) = user(
            json!({"userName": "a"}),
            json!([{"op": "replace", "path": "emails[type eq \"work\" and primary eq true]", "value": {"value": "w@x.y"}}]),
        );
        assert_eq!(doc["emails"], json!([{"type": "work", "primary": true, "value": "w@x.y"}]));
    }

    #[test]
    fn entra_manager_as_a_plain_id_or_an_object() {
        let path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";
        let (plain, _) = user(json!({"userName": "a"}), json!([{"op": "Replace", "path": path, "value": "mgr-id"}]));
        assert_eq!(plain[ENTERPRISE_USER]["manager"], json!({"value": "mgr-id"}));
        let (object, _) =
            user(json!({"userName": "a"}), json!([{"op": "Replace", "path": path, "value": {"value": "mgr-id"}}]));
        assert_eq!(object, plain);
        let (changed, _) = user(plain, json!([{"op": "Replace", "path": path, "value": "other"}]));
        assert_eq!(changed[ENTERPRISE_USER]["manager"], json!({"value": "other"}));
    }

    #[test]
    fn entra_remove_members_with_a_value_removes_exactly_those() {
        let (doc, patched) = group(
            json!({"displayName": "G"}),
            json!([{"op": "Remove", "path": "members", "value": [{"value": "id1"}]}]),
        );
        assert_eq!(doc, json!({"displayName": "G"}));
        assert_eq!(patched.member_ops, vec![MemberOp::Remove(vec!["id1".into()])]);
    }

    #[test]
    fn entra_add_members() {
        let (_, patched) = group(
            json!({"displayName": "G"}),
            json!([{"op": "Add", "path": "members", "value": [{"value": "id1"}, {"value": "id2"}]}]),
        );
        assert_eq!(patched.member_ops, vec![MemberOp::Add(ids(&["id1", "id2"]))]);
    }

    #[test]
    fn okta_replace_members_with_nothing() {
        let (_, patched) =
            group(json!({"displayName": "G"}), json!([{"op": "replace", "path": "members", "value": []}]));
        assert_eq!(patched.member_ops, vec![MemberOp::Replace(vec![])]);
        assert!(patched.changed);
    }

    #[test]
    fn okta_remove_one_member_by_filter() {
        let (_, patched) =
            group(json!({"displayName": "G"}), json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]));
        assert_eq!(patched.member_ops, vec![MemberOp::Remove(vec!["u1".into()])]);
    }

    #[test]
    fn member_filters_may_be_joined_with_or() {
        let (_, patched) = group(
            json!({"displayName": "G"}),
            json!([{"op": "remove", "path": "members[value eq \"u1\" or value eq \"u2\" or VALUE Eq \"u3\"]"}]),
        );
        assert_eq!(patched.member_ops, vec![MemberOp::Remove(vec!["u1".into(), "u2".into(), "u3".into()])]);
    }

    #[test]
    fn path_less_members_are_member_ops() {
        let (doc, patched) = group(
            json!({"displayName": "G"}),
            json!([
                {"op": "add", "value": {"members": [{"value": "u1", "displayName": "Ann"}]}},
                {"op": "replace", "value": {"displayName": "H", "members": [{"value": "u2"}]}}
            ]),
        );
        assert_eq!(doc, json!({"displayName": "H"}));
        assert_eq!(
            patched.member_ops,
            vec![
                MemberOp::Add(vec![MemberRef { id: "u1".into(), display: Some("Ann".into()) }]),
                MemberOp::Replace(ids(&["u2"]))
            ]
        );
    }

    #[test]
    fn member_paths_other_than_value_filters_are_invalid() {
        for (op, path) in [
            ("remove", "members[display eq \"x\"]"),
            ("remove", "members[value ne \"x\"]"),
            ("remove", "members[value eq \"x\" and type eq \"User\"]"),
            ("replace", "members.display"),
            ("replace", "members[value eq \"x\"].display"),
            ("add", "members[value eq \"x\"]"),
        ] {
            let err = group_err(json!({"displayName": "G"}), json!([{"op": op, "path": path, "value": "x"}]));
            assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{op} {path}");
            assert!(err.detail.contains("members[value eq"), "{}", err.detail);
        }
    }

    #[test]
    fn members_need_a_value() {
        for value in [json!([{"display": "x"}]), json!([{"value": 5}]), json!(["u1"]), json!([{"value": ""}])] {
            let err = group_err(json!({"displayName": "G"}), json!([{"op": "add", "path": "members", "value": value}]));
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{value}");
        }
    }

    #[test]
    fn empty_member_additions_and_removals_change_nothing() {
        let (_, patched) = group(
            json!({"displayName": "G"}),
            json!([{"op": "add", "path": "members", "value": []}, {"op": "remove", "path": "members", "value": []}]),
        );
        assert_eq!(patched, Patched { member_ops: vec![], changed: false });
    }

    #[test]
    fn setting_the_current_values_is_no_change() {
        let (doc, patched) = user(
            bjensen(),
            json!([
                {"op": "replace", "path": "nickName", "value": "Babs"},
                {"op": "replace", "path": "name", "value": {"givenName": "Barbara"}},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "bjensen@example.com"},
                {"op": "add", "path": "active", "value": "true"}
            ]),
        );
        assert_eq!(doc, bjensen());
        assert!(!patched.changed);
    }

    #[test]
    fn common_attributes_live_at_the_top_level() {
        let (doc, _) = user(json!({"userName": "a"}), json!([{"op": "add", "path": "EXTERNALID", "value": "e-1"}]));
        assert_eq!(doc, json!({"userName": "a", "externalId": "e-1"}));
        let (doc, _) = user(doc, json!([{"op": "remove", "path": "externalId"}]));
        assert_eq!(doc, json!({"userName": "a"}));
    }

    #[test]
    fn operations_must_be_an_array_of_objects() {
        let err = user_err_body(bjensen(), json!({"schemas": [PATCH_OP_URN], "Operations": {"op": "add"}}));
        assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
        let err = user_err(bjensen(), json!(["add"]));
        assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn read_only_sub_attributes_in_values_are_ignored() {
        let path = format!("{ENTERPRISE_USER}:manager");
        let (doc, _) = user(
            json!({"userName": "a"}),
            json!([{"op": "add", "path": path, "value": {"value": "m", "displayName": "Boss"}}]),
        );
        assert_eq!(doc[ENTERPRISE_USER]["manager"], json!({"value": "m"}));
    }

    #[test]
    fn an_extension_object_sent_with_its_schemas_key_applies_its_attributes() {
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let (doc, _) =
            user(bjensen(), json!([{"op": "add", "path": ent, "value": {"schemas": [ent], "department": "Tours"}}]));
        assert_eq!(doc[ent], json!({"department": "Tours"}));
    }
}
