//! Stored resources → the JSON a client sees: `schemas`, `id`, the document, derived
//! `members`/`groups`, and `meta`, then the caller's projection.
//!
//! Pure apart from reading the registry; kept apart so every operation renders the same way.

use serde_json::{json, Map, Value};

use crate::scim::projection::Projection;
use crate::scim::resource::{etag, format_datetime};
use crate::scim::schema::{Registry, ResourceKind};
use crate::store::{MemberView, Stored};

pub fn location(base_url: &str, kind: ResourceKind, id: &str) -> String {
    format!("{base_url}/{}/{id}", kind.endpoint())
}

pub fn resource(registry: &Registry, base_url: &str, stored: &Stored, projection: &Projection) -> Value {
    let rt = registry.resource_type(stored.kind);
    let mut out = Map::new();
    let mut schemas = vec![Value::String(rt.schema.clone())];
    schemas.extend(
        rt.extensions.iter().filter(|e| stored.doc.get(e.as_str()).is_some()).map(|e| Value::String(e.clone())),
    );
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(stored.id.clone()));
    if let Value::Object(doc) = &stored.doc {
        for (k, v) in doc {
            out.insert(k.clone(), v.clone());
        }
    }
    if let Some(members) = &stored.members {
        let members: Vec<Value> = members.iter().map(|m| member(base_url, m)).collect();
        if !members.is_empty() {
            out.insert("members".into(), Value::Array(members));
        }
    }
    if let Some(groups) = &stored.groups {
        let groups: Vec<Value> = groups
            .iter()
            .map(|g| {
                json!({
                    "value": g.id,
                    "$ref": location(base_url, ResourceKind::Group, &g.id),
                    "display": g.display,
                    "type": "direct",
                })
            })
            .map(drop_nulls)
            .collect();
        if !groups.is_empty() {
            out.insert("groups".into(), Value::Array(groups));
        }
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": stored.kind.name(),
            "created": format_datetime(stored.created),
            "lastModified": format_datetime(stored.last_modified),
            "location": location(base_url, stored.kind, &stored.id),
            "version": etag(stored.version),
        }),
    );
    let mut out = Value::Object(out);
    projection.apply(registry, rt, &mut out);
    out
}

/// One entry of a group's `members`.
pub fn member(base_url: &str, m: &MemberView) -> Value {
    drop_nulls(json!({
        "value": m.id,
        "$ref": location(base_url, m.kind, &m.id),
        "type": m.kind.name(),
        "display": m.display,
    }))
}

/// Stands in a rendered group for members too many to hold at once: the HTTP layer writes
/// them in its place a chunk at a time (see `Service::member_chunk`). Stored text never holds
/// U+0000, so no value a client wrote can look like it.
pub const STREAMED_MEMBERS: &str = "\u{0}scimd:streamed-members:";

/// The stand-in for the members of group `id`.
pub fn streamed_members(id: &str) -> Value {
    Value::String(format!("{STREAMED_MEMBERS}{id}"))
}

fn drop_nulls(mut v: Value) -> Value {
    if let Value::Object(o) = &mut v {
        o.retain(|_, v| !v.is_null());
    }
    v
}
