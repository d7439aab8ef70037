//! Checks a parsed filter against the schema registry before it reaches a database, so a
//! filter over an attribute scimd does not know is a 400 `invalidFilter`, never an empty list.

use crate::scim::error::ScimError;
use crate::scim::filter::{AttrInfo, CompValue, CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrType, Attribute, Registry, ResourceType};

/// `caseExact` from the schema, for the in-memory evaluator.
pub struct SchemaInfo<'a> {
    pub registry: &'a Registry,
    pub rt: &'a ResourceType,
}

impl AttrInfo for SchemaInfo<'_> {
    fn case_exact(&self, path: &AttrPath) -> bool {
        self.registry.resolve(self.rt, path).is_some_and(|r| r.leaf().case_exact)
    }
}

/// Every attribute the filter names must exist, and each comparison must suit its type.
pub fn check(registry: &Registry, rt: &ResourceType, filter: &Filter) -> Result<(), ScimError> {
    walk(registry, rt, filter, None)
}

fn walk(registry: &Registry, rt: &ResourceType, filter: &Filter, within: Option<&AttrPath>) -> Result<(), ScimError> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            walk(registry, rt, a, within)?;
            walk(registry, rt, b, within)
        }
        Filter::Not(inner) => walk(registry, rt, inner, within),
        Filter::Present(path) => resolve(registry, rt, path, within).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let attr = resolve(registry, rt, path, within)?;
            check_comparison(&full(path, within), attr, *op, value)
        }
        Filter::ValuePath { path, filter } => {
            let attr = resolve(registry, rt, path, within)?;
            if attr.ty != AttrType::Complex {
                return Err(ScimError::invalid_filter(format!(
                    "{path}[...] needs a complex attribute such as emails; {path} is not one"
                )));
            }
            walk(registry, rt, filter, Some(path))
        }
    }
}

/// The path as seen from the resource: inside `emails[...]`, `type` is `emails.type`.
fn full(path: &AttrPath, within: Option<&AttrPath>) -> AttrPath {
    match within {
        Some(outer) if path.sub.is_none() && path.urn.is_none() => {
            AttrPath { urn: outer.urn.clone(), name: outer.name.clone(), sub: Some(path.name.clone()) }
        }
        _ => path.clone(),
    }
}

fn resolve<'a>(
    registry: &'a Registry,
    rt: &'a ResourceType,
    path: &AttrPath,
    within: Option<&AttrPath>,
) -> Result<&'a Attribute, ScimError> {
    let full = full(path, within);
    registry.resolve(rt, &full).map(|r| r.leaf()).ok_or_else(|| {
        ScimError::invalid_filter(format!(
            "unknown attribute {full} in filter: a {} has no such attribute (see /Schemas)",
            rt.kind.name()
        ))
    })
}

fn check_comparison(path: &AttrPath, attr: &Attribute, op: CompareOp, value: &CompValue) -> Result<(), ScimError> {
    // `emails co "x"` compares the `value` sub-attribute (RFC 7644 §3.4.2.2 examples).
    let leaf = if attr.ty == AttrType::Complex { attr.sub("value") } else { Some(attr) };
    let Some(leaf) = leaf else {
        return Err(ScimError::invalid_filter(format!(
            "{path} is complex: compare one of its sub-attributes, e.g. {path}.value"
        )));
    };
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let bad = |why: &str| Err(ScimError::invalid_filter(format!("{path}: {why}")));
    match (leaf.ty, value) {
        (_, CompValue::Null) if !matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            bad("null can only be compared with eq or ne")
        }
        (AttrType::Boolean, _) if ordering || substring => bad("a boolean can only be compared with eq or ne"),
        (AttrType::Boolean, CompValue::Bool(_) | CompValue::Null) => Ok(()),
        (AttrType::Boolean, _) => bad("a boolean must be compared with true or false"),
        (AttrType::Integer | AttrType::Decimal, CompValue::Number(_) | CompValue::Null) if !substring => Ok(()),
        (AttrType::Integer | AttrType::Decimal, _) => {
            bad("a number must be compared with a number using eq, ne, gt, ge, lt or le")
        }
        (AttrType::Binary, _) if ordering => bad("binary values can only be compared with eq, ne, co, sw or ew"),
        (_, CompValue::Str(_) | CompValue::Null) => Ok(()),
        (_, _) => bad("compare this attribute with a quoted string"),
    }
}
