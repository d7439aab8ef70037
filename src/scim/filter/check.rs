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

/// How much work one filter may ask of the database. A filter runs as one SQL statement, and
/// its cost grows with each term, each multi-valued or membership attribute it matches through
/// (a correlated lookup per row) and each `co`/`sw`/`ew` (a pattern match per value): a few
/// hundred such terms under the length limit hold a connection for minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterBudget {
    /// Comparisons and `pr` tests.
    pub terms: usize,
    /// Terms and value filters over multi-valued attributes (`emails`, `members`, `groups`…).
    pub joins: usize,
    /// `co`, `sw` and `ew` comparisons.
    pub patterns: usize,
}

impl Default for FilterBudget {
    /// Far above what identity providers send (one to three terms), far below what hurts.
    fn default() -> Self {
        FilterBudget { terms: 24, joins: 6, patterns: 8 }
    }
}

/// What a filter costs, counted as `FilterBudget` counts it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Cost {
    terms: usize,
    joins: usize,
    patterns: usize,
}

/// Refuses a filter that asks for more than `budget` (400 `invalidFilter` naming the limit).
/// Run after `check`, so every path resolves.
pub fn check_cost(
    registry: &Registry,
    rt: &ResourceType,
    filter: &Filter,
    budget: FilterBudget,
) -> Result<(), ScimError> {
    let mut cost = Cost::default();
    count(registry, rt, filter, false, &mut cost);
    let over = |what: &str, n: usize, limit: usize, flag: &str| {
        Err(ScimError::invalid_filter(format!(
            "the filter has {n} {what}; the limit is {limit} (the server's {flag}): split it into several requests"
        )))
    };
    if cost.terms > budget.terms {
        return over("comparisons", cost.terms, budget.terms, "--filter-max-terms");
    }
    if cost.joins > budget.joins {
        return over("terms over multi-valued attributes", cost.joins, budget.joins, "--filter-max-joins");
    }
    if cost.patterns > budget.patterns {
        return over("co/sw/ew comparisons", cost.patterns, budget.patterns, "--filter-max-patterns");
    }
    Ok(())
}

fn count(registry: &Registry, rt: &ResourceType, filter: &Filter, within: bool, cost: &mut Cost) {
    let multi_valued = |path: &AttrPath| registry.resolve(rt, path).is_some_and(|r| r.attr.multi_valued);
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            count(registry, rt, a, within, cost);
            count(registry, rt, b, within, cost);
        }
        Filter::Not(inner) => count(registry, rt, inner, within, cost),
        Filter::Present(path) => {
            cost.terms += 1;
            cost.joins += usize::from(!within && multi_valued(path));
        }
        Filter::Compare { path, op, .. } => {
            cost.terms += 1;
            cost.joins += usize::from(!within && multi_valued(path));
            cost.patterns += usize::from(matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew));
        }
        Filter::ValuePath { filter, .. } => {
            cost.joins += 1;
            count(registry, rt, filter, true, cost);
        }
    }
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
            if let CompValue::Str(s) = value {
                crate::scim::text::check_filter_value(&full(path, within).to_string(), s)?;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::ResourceKind;

    fn cost_of(kind: ResourceKind, filter: &str, budget: FilterBudget) -> Result<(), ScimError> {
        let registry = Registry::builtin().unwrap();
        let rt = registry.resource_type(kind);
        let filter = parse_filter(filter).unwrap();
        check(registry, rt, &filter).unwrap();
        check_cost(registry, rt, &filter, budget)
    }

    #[test]
    fn identity_provider_filters_are_well_within_the_default_budget() {
        for f in [
            "userName eq \"a@b.c\"",
            "externalId eq \"x\" and not (displayName pr)",
            "emails[type eq \"work\" and value ew \"@x.com\"] and active eq true",
            "emails[type eq \"work\"].value eq \"a@b.c\"",
        ] {
            cost_of(ResourceKind::User, f, FilterBudget::default()).unwrap();
        }
        cost_of(ResourceKind::Group, "id eq \"g\" and members[value eq \"u\"]", FilterBudget::default()).unwrap();
    }

    #[test]
    fn each_limit_is_counted_and_named() {
        let budget = FilterBudget { terms: 3, joins: 1, patterns: 1 };
        let e = cost_of(ResourceKind::User, "title pr or title pr or title pr or title pr", budget).unwrap_err();
        assert_eq!((e.status, e.scim_type.map(|t| t.as_str())), (400, Some("invalidFilter")));
        assert!(
            e.detail.contains("4 comparisons; the limit is 3") && e.detail.contains("--filter-max-terms"),
            "{}",
            e.detail
        );
        let e = cost_of(ResourceKind::User, "groups.display eq \"a\" or emails.value eq \"b\"", budget).unwrap_err();
        assert!(e.detail.contains("2 terms over multi-valued attributes"), "{}", e.detail);
        let e = cost_of(ResourceKind::User, "title co \"a\" or title sw \"b\"", budget).unwrap_err();
        assert!(e.detail.contains("2 co/sw/ew comparisons"), "{}", e.detail);
        // A value filter is one lookup, however many terms it holds.
        cost_of(ResourceKind::User, "emails[type eq \"work\" and value co \"x\"]", budget).unwrap();
    }

    #[test]
    fn the_filter_that_froze_the_server_is_refused() {
        let term = "groups.display co \"zz\"";
        let filter = vec![term; 140].join(" or ");
        let e = cost_of(ResourceKind::User, &filter, FilterBudget::default()).unwrap_err();
        assert_eq!(e.status, 400);
    }
}
