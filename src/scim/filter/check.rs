//! Checks a parsed filter against the schema registry before it reaches a database, so a
//! filter over an attribute scimd does not know is a 400 `invalidFilter`, never an empty list.
//! The check resolves every path once; the store compiles the `Checked` filter it returns.

use crate::scim::error::ScimError;
use crate::scim::filter::{AttrInfo, CompValue, CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrType, Attribute, Registry, Resolved, ResourceKind, ResourceType};

/// A filter whose every attribute was found in the schema, with where it was found: the
/// boolean structure of the parsed `Filter`, and at each term the path as seen from the
/// resource (inside `emails[...]`, `type` is `emails.type`) and its resolution.
#[derive(Debug, Clone)]
pub enum Checked<'r> {
    And(Box<Checked<'r>>, Box<Checked<'r>>),
    Or(Box<Checked<'r>>, Box<Checked<'r>>),
    Not(Box<Checked<'r>>),
    Present {
        path: AttrPath,
        at: Resolved<'r>,
    },
    Compare {
        path: AttrPath,
        at: Resolved<'r>,
        op: CompareOp,
        value: CompValue,
    },
    /// `path[filter]` on a complex attribute; the inner terms' paths include `path`.
    ValuePath {
        path: AttrPath,
        at: Resolved<'r>,
        filter: Box<Checked<'r>>,
    },
}

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
pub fn check<'r>(registry: &'r Registry, rt: &'r ResourceType, filter: &Filter) -> Result<Checked<'r>, ScimError> {
    walk(registry, rt, filter, None)
}

/// Parses `text` and checks it against the built-in schemas of `kind`'s resource type.
pub fn parse_checked(kind: ResourceKind, text: &str) -> Result<Checked<'static>, ScimError> {
    let registry = Registry::builtin().map_err(|e| ScimError::new(500, None, e))?;
    check(registry, registry.resource_type(kind), &crate::scim::filter::parse_filter(text)?)
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
pub fn check_cost(filter: &Checked<'_>, budget: FilterBudget) -> Result<(), ScimError> {
    let mut cost = Cost::default();
    count(filter, false, &mut cost);
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

fn count(filter: &Checked<'_>, within: bool, cost: &mut Cost) {
    match filter {
        Checked::And(a, b) | Checked::Or(a, b) => {
            count(a, within, cost);
            count(b, within, cost);
        }
        Checked::Not(inner) => count(inner, within, cost),
        Checked::Present { at, .. } => {
            cost.terms += 1;
            cost.joins += usize::from(!within && at.attr.multi_valued);
        }
        Checked::Compare { at, op, .. } => {
            cost.terms += 1;
            cost.joins += usize::from(!within && at.attr.multi_valued);
            cost.patterns += usize::from(matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew));
        }
        Checked::ValuePath { filter, .. } => {
            cost.joins += 1;
            count(filter, true, cost);
        }
    }
}

fn walk<'r>(
    registry: &'r Registry,
    rt: &'r ResourceType,
    filter: &Filter,
    within: Option<&AttrPath>,
) -> Result<Checked<'r>, ScimError> {
    let both = |a: &Filter, b: &Filter| -> Result<_, ScimError> {
        Ok((Box::new(walk(registry, rt, a, within)?), Box::new(walk(registry, rt, b, within)?)))
    };
    Ok(match filter {
        Filter::And(a, b) => {
            let (a, b) = both(a, b)?;
            Checked::And(a, b)
        }
        Filter::Or(a, b) => {
            let (a, b) = both(a, b)?;
            Checked::Or(a, b)
        }
        Filter::Not(inner) => Checked::Not(Box::new(walk(registry, rt, inner, within)?)),
        Filter::Present(path) => {
            let (path, at) = resolve(registry, rt, path, within)?;
            Checked::Present { path, at }
        }
        Filter::Compare { path, op, value } => {
            let (path, at) = resolve(registry, rt, path, within)?;
            if let CompValue::Str(s) = value {
                crate::scim::text::check_filter_value(&path.to_string(), s)?;
            }
            check_comparison(&path, at.leaf(), *op, value)?;
            Checked::Compare { path, at, op: *op, value: value.clone() }
        }
        Filter::ValuePath { path, filter } => {
            let (full_path, at) = resolve(registry, rt, path, within)?;
            if at.leaf().ty != AttrType::Complex {
                return Err(ScimError::invalid_filter(format!(
                    "{path}[...] needs a complex attribute such as emails; {path} is not one"
                )));
            }
            let inner = walk(registry, rt, filter, Some(path))?;
            Checked::ValuePath { path: full_path, at, filter: Box::new(inner) }
        }
    })
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

/// The path as seen from the resource, and where the schema defines it.
fn resolve<'r>(
    registry: &'r Registry,
    rt: &'r ResourceType,
    path: &AttrPath,
    within: Option<&AttrPath>,
) -> Result<(AttrPath, Resolved<'r>), ScimError> {
    let full = full(path, within);
    match registry.resolve(rt, &full) {
        Some(at) => Ok((full, at)),
        None => Err(ScimError::invalid_filter(format!(
            "unknown attribute {full} in filter: a {} has no such attribute (see /Schemas)",
            rt.kind.name()
        ))),
    }
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

    fn cost_of(kind: ResourceKind, filter: &str, budget: FilterBudget) -> Result<(), ScimError> {
        let registry = Registry::builtin().unwrap();
        let rt = registry.resource_type(kind);
        let filter = parse_filter(filter).unwrap();
        check_cost(&check(registry, rt, &filter).unwrap(), budget)
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
