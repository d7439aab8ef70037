//! Service results → the JSON a client sees: resources with `schemas`, `meta` and `$ref`s,
//! ListResponses, Bulk results, tokens and error bodies. The one place wire JSON is written.
//!
//! Pure apart from reading the registry.

use serde_json::{json, Map, Value};

use crate::scim::error::ScimError;
use crate::scim::projection::Projection;
use crate::scim::resource::{etag, format_datetime};
use crate::scim::schema::{Registry, ResourceKind};
use crate::service::{AuditEvent, BulkOutcome, ListPage, MemberView, Resource, SubscriptionView, TokenRecord};

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The schema of a token as `/Admin/Tokens` shows it.
pub const TOKEN_SCHEMA: &str = "urn:scimd:api:messages:2.0:Token";

/// Stands in a rendered group for members too many to hold at once: the response writes them
/// in its place a chunk at a time (see `extract::ScimResponse::with_members`). Stored text
/// never holds U+0000, so no value a client wrote can look like it.
pub const STREAMED_MEMBERS: &str = "\u{0}scimd:streamed-members:";

pub fn location(base_url: &str, kind: ResourceKind, id: &str) -> String {
    format!("{base_url}/{}/{id}", kind.endpoint())
}

/// A resource as the projection asks: `schemas`, `id`, the document, derived `members` and
/// `groups`, and `meta` (with `deleted` for a soft-deleted user).
pub fn resource(registry: &Registry, base_url: &str, r: Resource, projection: &Projection) -> Value {
    let mut stored = r.stored;
    let rt = registry.resource_type(stored.kind);
    let mut out = Map::new();
    let mut schemas = vec![Value::String(rt.schema.clone())];
    schemas.extend(
        rt.extensions.iter().filter(|e| stored.doc.get(e.as_str()).is_some()).map(|e| Value::String(e.clone())),
    );
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(stored.id.to_string()));
    // The stored document is moved into the rendering, never copied.
    if let Value::Object(doc) = std::mem::take(&mut stored.doc) {
        out.extend(doc);
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
                    "$ref": location(base_url, ResourceKind::Group, g.id.as_str()),
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
    let mut meta = json!({
        "resourceType": stored.kind.name(),
        "created": format_datetime(stored.created),
        "lastModified": format_datetime(stored.last_modified),
        "location": location(base_url, stored.kind, stored.id.as_str()),
        "version": etag(stored.version),
    });
    if let Some(deleted) = r.deleted {
        meta["deleted"] = json!(format_datetime(deleted));
    }
    out.insert("meta".into(), meta);
    let mut out = Value::Object(out);
    projection.apply(registry, rt, &mut out);
    if r.members_streamed && projection.wants("members") {
        out["members"] = Value::String(format!("{STREAMED_MEMBERS}{}", stored.id));
    }
    out
}

/// One entry of a group's `members`.
pub fn member(base_url: &str, m: &MemberView) -> Value {
    drop_nulls(json!({
        "value": m.id,
        "$ref": location(base_url, m.kind, m.id.as_str()),
        "type": m.kind.name(),
        "display": m.display,
    }))
}

/// A chunk of a big group's members, projected as the request asked.
pub fn members(registry: &Registry, base_url: &str, chunk: &[MemberView], projection: &Projection) -> Vec<Value> {
    let members: Vec<Value> = chunk.iter().map(|m| member(base_url, m)).collect();
    let mut part = json!({ "members": members });
    projection.apply(registry, registry.resource_type(ResourceKind::Group), &mut part);
    match part.get_mut("members").map(Value::take) {
        Some(Value::Array(members)) => members,
        _ => Vec::new(),
    }
}

/// A ListResponse (RFC 7644 §3.4.2) of already rendered resources.
/// The message that carries an administrator's creation results beside the new User.
pub const CREATION_RESULTS: &str = "urn:scimd:api:messages:2.0:CreationResults";

/// Adds to a created user's body what the administrator asked for besides it, under
/// `CREATION_RESULTS`: the temporary password (shown this once) and the results mail's outcome.
pub fn creation_results(body: &mut Value, report: &crate::directory::import::Report) {
    let mut results = serde_json::Map::new();
    if let Some(p) = report.rows.first().and_then(|r| r.temporary_password.as_ref()) {
        results.insert("temporaryPassword".into(), Value::String(p.expose().to_owned()));
    }
    if let Some(mail) = &report.mail {
        results.insert("mail".into(), mail.to_json());
    }
    if let Value::Object(o) = body {
        o.insert(CREATION_RESULTS.into(), Value::Object(results));
    }
}

pub fn list_response(total: u64, start_index: Option<u64>, resources: Vec<Value>, next_cursor: Option<&str>) -> Value {
    let mut body = Map::new();
    body.insert("schemas".into(), json!([LIST_RESPONSE]));
    body.insert("totalResults".into(), json!(total));
    if let Some(start) = start_index {
        body.insert("startIndex".into(), json!(start));
    }
    body.insert("itemsPerPage".into(), json!(resources.len()));
    body.insert("Resources".into(), Value::Array(resources));
    if let Some(next) = next_cursor {
        body.insert("nextCursor".into(), json!(next));
    }
    Value::Object(body)
}

/// A page of resources as a ListResponse.
pub fn page(registry: &Registry, base_url: &str, page: ListPage, projection: &Projection) -> Value {
    let resources = page.resources.into_iter().map(|r| resource(registry, base_url, r, projection)).collect();
    list_response(page.total, page.start_index, resources, page.next_cursor.as_deref())
}

/// The body of an error (RFC 7644 §3.12).
pub fn error(e: &ScimError) -> Value {
    let mut body = json!({"schemas": [ERROR], "status": e.status.to_string(), "detail": e.detail});
    if let Some(t) = e.scim_type {
        body["scimType"] = json!(t.as_str());
    }
    body
}

/// A BulkResponse (RFC 7644 §3.7.3): a result per operation, in the order they were sent.
pub fn bulk(base_url: &str, outcomes: &[BulkOutcome]) -> Value {
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            let mut r = Map::new();
            r.insert("method".into(), json!(o.method));
            if let Some(b) = &o.bulk_id {
                r.insert("bulkId".into(), json!(b));
            }
            if let Some(v) = o.version {
                r.insert("version".into(), json!(etag(v)));
            }
            if let Some(l) = &o.location {
                r.insert("location".into(), json!(format!("{base_url}/{l}")));
            }
            r.insert("status".into(), json!(o.status.to_string()));
            if let Some(e) = &o.error {
                r.insert("response".into(), error(e));
            }
            Value::Object(r)
        })
        .collect();
    json!({ "schemas": [BULK_RESPONSE], "Operations": results })
}

/// The schema of an audit event as `/Admin/AuditEvents` shows it.
pub const AUDIT_EVENT_SCHEMA: &str = "urn:scimd:api:messages:2.0:AuditEvent";

/// One line of the audit log.
pub fn audit_event(base_url: &str, e: &AuditEvent) -> Value {
    json!({
        "schemas": [AUDIT_EVENT_SCHEMA],
        "id": e.seq.to_string(),
        "time": format_datetime(e.at),
        "actor": {
            "tokenId": e.actor.token_id.map(|t| t.to_string()),
            "name": e.actor.name,
            "requestId": e.actor.request_id,
            "client": e.actor.client,
        },
        "operation": e.operation.as_str(),
        "resourceType": e.resource_type,
        "resourceId": e.resource_id,
        "location": audit_location(base_url, e),
        "changes": e.changes,
    })
}

/// Where the audited thing lives over HTTP, when it does.
fn audit_location(base_url: &str, e: &AuditEvent) -> Option<String> {
    match ResourceKind::from_name(&e.resource_type) {
        Some(kind) => Some(location(base_url, kind, &e.resource_id)),
        None if e.resource_type == "Token" => Some(format!("{base_url}/Admin/Tokens/{}", e.resource_id)),
        None if e.resource_type == "Subscription" => Some(format!("{base_url}/Admin/Subscriptions/{}", e.resource_id)),
        None => None,
    }
}

/// The schema of a push subscription as `/Admin/Subscriptions` shows it.
pub const SUBSCRIPTION_SCHEMA: &str = "urn:scimd:api:messages:2.0:Subscription";

/// A subscription with how its delivery goes; its secret only in the answer that generated it.
pub fn subscription(base_url: &str, view: &SubscriptionView) -> Value {
    let s = &view.subscription;
    let location = format!("{base_url}/Admin/Subscriptions/{}", s.id);
    let mut body = json!({
        "schemas": [SUBSCRIPTION_SCHEMA],
        "id": s.id,
        "endpoint": s.endpoint,
        "events": if s.event_types.is_empty() { crate::scim::events::ALL.to_vec() } else { s.event_types.iter().map(String::as_str).collect() },
        "created": format_datetime(s.created),
        "delivery": drop_nulls(json!({
            "delivered": s.delivered,
            "lag": view.lag,
            "lastDelivery": s.last_delivery.map(format_datetime),
            "failedAttempts": s.attempts,
            "nextAttempt": s.retry_at.map(format_datetime),
            "lastError": s.last_error,
            "lastErrorTime": s.last_error_at.map(format_datetime),
            "deadLetters": s.dead_letters,
        })),
        "meta": { "resourceType": "Subscription", "location": location },
    });
    if !view.dead_letters.is_empty() {
        body["deadLetters"] = view
            .dead_letters
            .iter()
            .map(|d| json!({"jti": d.jti, "auditId": d.seq.to_string(), "error": d.error, "time": format_datetime(d.at)}))
            .collect();
    }
    if let Some(secret) = &view.secret {
        body["secret"] = json!(secret);
    }
    body
}

pub fn token_location(base_url: &str, t: &TokenRecord) -> String {
    format!("{base_url}/Admin/Tokens/{}", t.id)
}

/// A token as `/Admin/Tokens` shows it; never its secret, but for the one answer that creates it.
pub fn token(base_url: &str, t: &TokenRecord, secret: Option<&str>) -> Value {
    let mut body = json!({
        "schemas": [TOKEN_SCHEMA],
        "id": t.id.to_string(),
        "name": t.name,
        "scopes": t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "created": format_datetime(t.created),
        "expires": t.expires.map(format_datetime),
        "lastUsed": t.last_used.map(format_datetime),
        "rateLimit": t.rate_limit,
        "status": t.state(time::OffsetDateTime::now_utc()).as_str(),
        "meta": { "resourceType": "Token", "location": token_location(base_url, t) },
    });
    if let Some(secret) = secret {
        body["secret"] = json!(secret);
    }
    body
}

fn drop_nulls(mut v: Value) -> Value {
    if let Value::Object(o) = &mut v {
        o.retain(|_, v| !v.is_null());
    }
    v
}
