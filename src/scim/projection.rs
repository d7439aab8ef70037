//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) over a rendered resource,
//! honouring each attribute's `returned` characteristic.
//!
//! Pure: works on the JSON the service assembled; also tells the service which costly parts
//! (group members) it need not load at all.

use serde_json::{Map, Value};

use crate::scim::error::{Result, ScimError};
use crate::scim::filter::{self, Filter};
use crate::scim::path::AttrPath;
use crate::scim::schema::{Attribute, Container, Registry, ResourceType, Returned};

/// One entry of `attributes=`: a path, optionally with a value filter
/// (`emails[type eq "work"]`, a Microsoft reference-suite form that returns only matching elements).
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    pub path: AttrPath,
    pub filter: Option<Filter>,
}

/// What the client asked to see.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Projection {
    #[default]
    Default,
    Include(Vec<Selector>),
    Exclude(Vec<AttrPath>),
}

impl Projection {
    /// Parses the two query parameters; giving both is refused (RFC 7644 §3.4.2.5 allows one).
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection> {
        let list =
            |s: &str| s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect::<Vec<_>>();
        match (attributes.map(list), excluded.map(list)) {
            (Some(a), Some(e)) if !a.is_empty() && !e.is_empty() => {
                Err(ScimError::invalid_value("give either attributes or excludedAttributes, not both"))
            }
            (Some(a), _) if !a.is_empty() => {
                Ok(Projection::Include(a.iter().map(|s| parse_selector(s)).collect::<Result<_>>()?))
            }
            (_, Some(e)) if !e.is_empty() => Ok(Projection::Exclude(
                e.iter().map(|s| filter::parse_attr_path(s).map_err(as_invalid_value)).collect::<Result<_>>()?,
            )),
            _ => Ok(Projection::Default),
        }
    }

    /// Whether the top-level attribute `name` (of the core schema) would appear in the output.
    pub fn wants(&self, name: &str) -> bool {
        match self {
            Projection::Default => true,
            Projection::Include(sel) => sel.iter().any(|s| s.path.name.eq_ignore_ascii_case(name)),
            Projection::Exclude(ex) => !ex.iter().any(|p| p.sub.is_none() && p.name.eq_ignore_ascii_case(name)),
        }
    }

    /// Applies the projection to a rendered resource of type `rt`.
    pub fn apply(&self, registry: &Registry, rt: &ResourceType, resource: &mut Value) {
        let Value::Object(map) = resource else { return };
        self.apply_container(registry, rt, map, None);
        for ext in &rt.extensions {
            if let Some(Value::Object(inner)) = map.get_mut(ext.as_str()) {
                self.apply_container(registry, rt, inner, Some(ext));
            }
            if matches!(map.get(ext.as_str()), Some(Value::Object(o)) if o.is_empty()) {
                map.remove(ext.as_str());
            }
        }
        // `schemas` lists the extensions actually present after projection.
        let kept: Vec<String> = rt.extensions.iter().filter(|e| map.contains_key(e.as_str())).cloned().collect();
        if let Some(Value::Array(schemas)) = map.get_mut("schemas") {
            schemas.retain(|s| {
                s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&rt.schema) || kept.iter().any(|k| k == s))
            });
        }
    }

    fn apply_container(&self, registry: &Registry, rt: &ResourceType, map: &mut Map<String, Value>, ext: Option<&str>) {
        // Entries are moved out and back in, in order, never copied.
        for (key, mut value) in std::mem::take(map) {
            if key == "schemas" || rt.extensions.contains(&key) && ext.is_none() {
                map.insert(key, value);
                continue;
            }
            let Some((container, attr)) = registry.resolve_name(rt, ext, &key) else {
                map.insert(key, value);
                continue;
            };
            let in_container =
                |p: &AttrPath| same_container(registry, rt, p, container) && p.name.eq_ignore_ascii_case(&key);
            let keep = match (attr.returned, self) {
                (Returned::Never, _) => false,
                (Returned::Always, _) => true,
                (Returned::Request, Projection::Include(sel)) => sel.iter().any(|s| in_container(&s.path)),
                (Returned::Request, _) => false,
                (Returned::Default, Projection::Default) => true,
                (Returned::Default, Projection::Include(sel)) => sel.iter().any(|s| in_container(&s.path)),
                (Returned::Default, Projection::Exclude(ex)) => !ex.iter().any(|p| in_container(p) && p.sub.is_none()),
            };
            if !keep {
                continue;
            }
            match self {
                Projection::Include(sel) => {
                    let mine: Vec<&Selector> = sel.iter().filter(|s| in_container(&s.path)).collect();
                    // A bare `emails` selects every sub-attribute; `emails.value` selects some.
                    if !mine.is_empty() && mine.iter().all(|s| s.path.sub.is_some()) {
                        let subs: Vec<&str> = mine.iter().filter_map(|s| s.path.sub.as_deref()).collect();
                        keep_subs(attr, &mut value, |name| subs.iter().any(|s| s.eq_ignore_ascii_case(name)));
                    }
                    for s in mine {
                        if let (Some(f), Value::Array(items)) = (&s.filter, &mut value) {
                            items.retain(|item| filter::matches(f, item, &filter::AllCaseInsensitive));
                        }
                    }
                }
                Projection::Exclude(ex) => {
                    let subs: Vec<&str> =
                        ex.iter().filter(|p| in_container(p)).filter_map(|p| p.sub.as_deref()).collect();
                    if !subs.is_empty() {
                        keep_subs(attr, &mut value, |name| !subs.iter().any(|s| s.eq_ignore_ascii_case(name)));
                    }
                }
                Projection::Default => keep_subs(attr, &mut value, |_| true),
            }
            map.insert(key, value);
        }
    }
}

fn same_container(registry: &Registry, rt: &ResourceType, p: &AttrPath, container: Container<'_>) -> bool {
    registry.resolve(rt, &AttrPath { urn: p.urn.clone(), name: p.name.clone(), sub: None }).map(|r| r.container)
        == Some(container)
}

/// Keeps the sub-attributes `want` selects, plus those returned always; drops `returned: never`.
fn keep_subs(attr: &Attribute, value: &mut Value, want: impl Fn(&str) -> bool) {
    if attr.sub_attributes.is_empty() {
        return;
    }
    let filter_obj = |obj: &mut Map<String, Value>| {
        obj.retain(|k, _| match attr.sub(k) {
            Some(sub) => match sub.returned {
                Returned::Never => false,
                Returned::Always => true,
                Returned::Request | Returned::Default => want(&sub.name),
            },
            None => want(k),
        });
    };
    match value {
        Value::Object(o) => filter_obj(o),
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::Object(o) = item {
                    filter_obj(o);
                }
            }
            items.retain(|i| !matches!(i, Value::Object(o) if o.is_empty()));
        }
        _ => {}
    }
}

fn parse_selector(s: &str) -> Result<Selector> {
    let expr = filter::parse_value_path_or_attr(s).map_err(as_invalid_value)?;
    let mut path = expr.attr;
    if path.sub.is_none() {
        path.sub = expr.sub_after_filter;
    }
    Ok(Selector { path, filter: expr.filter })
}

fn as_invalid_value(e: ScimError) -> ScimError {
    ScimError::invalid_value(format!("attributes/excludedAttributes: {}", e.detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ResourceKind;
    use serde_json::json;

    fn run(attrs: Option<&str>, excluded: Option<&str>, mut v: Value) -> Value {
        let r = Registry::load().unwrap();
        let rt = r.resource_type(ResourceKind::User).clone();
        Projection::parse(attrs, excluded).unwrap().apply(&r, &rt, &mut v);
        v
    }

    fn sample() -> Value {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "b",
               "password": "x", "name": {"givenName": "B", "familyName": "J"},
               "emails": [{"value": "w@x", "type": "work"}, {"value": "h@x", "type": "home"}],
               "meta": {"resourceType": "User"}})
    }

    #[test]
    fn default_never_returns_password() {
        let v = run(None, None, sample());
        assert!(v.get("password").is_none());
        assert_eq!(v["userName"], "b");
    }

    #[test]
    fn attributes_keep_always_returned_and_selected_sub_attributes() {
        let v = run(Some("name.givenName"), None, sample());
        assert_eq!(
            v,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "name": {"givenName": "B"}})
        );
    }

    #[test]
    fn excluded_attributes_remove_whole_and_sub_attributes_but_never_id() {
        let v = run(None, Some("emails,name.familyName,id"), sample());
        assert!(v.get("emails").is_none());
        assert_eq!(v["name"], json!({"givenName": "B"}));
        assert_eq!(v["id"], "1");
    }

    #[test]
    fn attributes_with_a_value_filter_return_only_matching_elements() {
        let v = run(Some("emails[type eq \"work\"]"), None, sample());
        assert_eq!(v["emails"], json!([{"value": "w@x", "type": "work"}]));
    }

    #[test]
    fn both_parameters_at_once_are_refused() {
        assert!(Projection::parse(Some("userName"), Some("emails")).is_err());
    }
}
