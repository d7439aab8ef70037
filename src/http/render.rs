//! Service results → the JSON a client sees: resources with `schemas`, `meta` and `$ref`s,
//! ListResponses, Bulk results, tokens and error bodies. The one place wire JSON is written.
//!
//! Pure apart from reading the registry.

use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::scim::error::ScimError;
use crate::scim::projection::Projection;
use crate::scim::resource::{etag, format_datetime};
use crate::scim::schema::{Attribute, Registry, ResourceKind};
use crate::service::{AuditEvent, BulkOutcome, ListPage, MemberView, Resource, Stored, SubscriptionView, TokenRecord};

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
/// `groups`, and `meta` (with `deleted` for a soft-deleted user). The document must have been
/// read parsed (`Stored::doc`); `resource_to_send` takes either form.
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
    if let Some(members) = members_value(base_url, &stored) {
        out.insert("members".into(), members);
    }
    if let Some(groups) = groups_value(base_url, &stored) {
        out.insert("groups".into(), groups);
    }
    out.insert("meta".into(), serde_json::to_value(meta(base_url, &stored, r.deleted)).unwrap_or_default());
    let mut out = Value::Object(out);
    projection.apply(registry, rt, &mut out);
    if r.members_streamed && projection.wants("members") {
        out["members"] = Value::String(format!("{STREAMED_MEMBERS}{}", stored.id));
    }
    out
}

/// A resource ready to send: its JSON bytes, or a value still to be serialized.
pub enum Rendered {
    Bytes(Vec<u8>),
    Value(Value),
}

/// `resource`, for a resource read to be sent (`Service::get_to_send`). A document read as
/// text, shown with the default projection, is copied into the answer as it is stored, the
/// way `resource` would have written it, without being parsed and serialized again.
pub fn resource_to_send(
    registry: &Registry,
    base_url: &str,
    mut r: Resource,
    projection: &Projection,
) -> Result<Rendered, ScimError> {
    if let Some(text) = r.stored.doc_text.take() {
        if *projection == Projection::Default {
            if let Some(bytes) = stored_text_as_sent(registry, base_url, &r, &text) {
                return Ok(Rendered::Bytes(bytes));
            }
        }
        r.stored.doc = serde_json::from_str(&text).map_err(ScimError::internal)?;
    }
    Ok(Rendered::Value(resource(registry, base_url, r, projection)))
}

/// What `resource` writes for `r` under the default projection, with `text` as its stored
/// document, when that projection would leave the document as it is: None when it would
/// drop something (an attribute returned only on request, an empty extension, an item
/// emptied of what is never returned) or the text is not a JSON object.
fn stored_text_as_sent(registry: &Registry, base_url: &str, r: &Resource, text: &str) -> Option<Vec<u8>> {
    let stored = &r.stored;
    let rt = registry.resource_type(stored.kind);
    // Names only, the values left as text: attribute names are plain ASCII, so an escape in
    // one fails the parse and takes the slow path.
    let TopLevel(doc) = serde_json::from_str(text).ok()?;
    for (name, raw) in &doc {
        if ["schemas", "id", "meta", "members", "groups"].iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return None;
        }
        let whole = match registry.extension_of(rt, name) {
            Some(ext) => registry.schema(ext)?.attributes.iter().all(Attribute::shown_whole_by_default),
            None => registry.resolve_name(rt, None, name).is_none_or(|(_, a)| a.shown_whole_by_default()),
        };
        // `{}` anywhere: an empty extension or item, which the projection would remove. Rare,
        // and then the slow path decides.
        if !whole || raw.get().contains("{}") {
            return None;
        }
    }
    let mut schemas = vec![rt.schema.as_str()];
    schemas.extend(rt.extensions.iter().map(String::as_str).filter(|e| doc.iter().any(|(n, _)| n == e)));
    let mut out = Vec::with_capacity(text.len() + 512);
    out.push(b'{');
    field(&mut out, "schemas", &schemas);
    field(&mut out, "id", &stored.id);
    for (name, raw) in &doc {
        field(&mut out, name, raw);
    }
    if let Some(members) = members_value(base_url, stored) {
        field(&mut out, "members", &members);
    }
    if let Some(groups) = groups_value(base_url, stored) {
        field(&mut out, "groups", &groups);
    }
    field(&mut out, "meta", &meta(base_url, stored, r.deleted));
    if r.members_streamed {
        field(&mut out, "members", &format!("{STREAMED_MEMBERS}{}", stored.id));
    }
    out.push(b'}');
    Some(out)
}

/// Appends `"name":value` to the object `out` holds, after a comma unless it is the first.
fn field<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, name: &str, value: &T) {
    if out.len() > 1 {
        out.push(b',');
    }
    // Writing into a Vec fails only for a value that cannot be JSON, which none of these is.
    let _ = serde_json::to_writer(&mut *out, name);
    out.push(b':');
    let _ = serde_json::to_writer(&mut *out, value);
}

/// A JSON object's members in order, each value left as its text.
struct TopLevel<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(TopLevel(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

fn members_value(base_url: &str, stored: &Stored) -> Option<Value> {
    let members: Vec<Value> = stored.members.as_ref()?.iter().map(|m| member(base_url, m)).collect();
    (!members.is_empty()).then_some(Value::Array(members))
}

fn groups_value(base_url: &str, stored: &Stored) -> Option<Value> {
    let groups: Vec<Value> = stored
        .groups
        .as_ref()?
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
    (!groups.is_empty()).then_some(Value::Array(groups))
}

/// A resource's `meta` (RFC 7643 §3.1), with `deleted` for a soft-deleted user.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta<'a> {
    resource_type: &'a str,
    created: String,
    last_modified: String,
    location: String,
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<String>,
}

fn meta<'a>(base_url: &str, stored: &'a Stored, deleted: Option<time::OffsetDateTime>) -> Meta<'a> {
    Meta {
        resource_type: stored.kind.name(),
        created: format_datetime(stored.created),
        last_modified: format_datetime(stored.last_modified),
        location: location(base_url, stored.kind, stored.id.as_str()),
        version: etag(stored.version),
        deleted: deleted.map(format_datetime),
    }
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

/// `page`, for a page read to be sent (`Service::list_to_send`): each resource as
/// `resource_to_send` writes it, inside the ListResponse `list_response` would write.
pub fn page_to_send(
    registry: &Registry,
    base_url: &str,
    page: ListPage,
    projection: &Projection,
) -> Result<Rendered, ScimError> {
    let items = page.resources.len();
    let mut out = Vec::with_capacity(256 + items * 1024);
    out.push(b'{');
    field(&mut out, "schemas", &[LIST_RESPONSE]);
    field(&mut out, "totalResults", &page.total);
    if let Some(start) = page.start_index {
        field(&mut out, "startIndex", &start);
    }
    field(&mut out, "itemsPerPage", &items);
    out.extend_from_slice(b",\"Resources\":[");
    for (i, r) in page.resources.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match resource_to_send(registry, base_url, r, projection)? {
            Rendered::Bytes(bytes) => out.extend_from_slice(&bytes),
            Rendered::Value(value) => {
                let _ = serde_json::to_writer(&mut out, &value);
            }
        }
    }
    out.push(b']');
    if let Some(next) = &page.next_cursor {
        field(&mut out, "nextCursor", next);
    }
    out.push(b'}');
    Ok(Rendered::Bytes(out))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::resource::ResourceId;
    use crate::service::GroupView;

    fn resource_of(kind: ResourceKind, doc: &str, streamed: bool) -> Resource {
        let at = time::macros::datetime!(2026-12-03 10:00:00.123 UTC);
        let stored = Stored {
            seq: 7,
            id: ResourceId::new("0193a0c4-0000-7000-8000-000000000001"),
            kind,
            doc: Value::Null,
            doc_text: Some(doc.to_owned()),
            version: 3,
            created: at,
            last_modified: at,
            members: (kind == ResourceKind::Group && !streamed).then(|| {
                vec![MemberView { id: ResourceId::new("m-1"), kind: ResourceKind::User, display: Some("Ann".into()) }]
            }),
            groups: (kind == ResourceKind::User)
                .then(|| vec![GroupView { id: ResourceId::new("g-1"), display: Some("Staff".into()) }]),
        };
        Resource { stored, changed: true, members_streamed: streamed, deleted: None }
    }

    /// What `resource` writes for the same resource with its document parsed.
    fn parsed(mut r: Resource, projection: &Projection) -> Value {
        r.stored.doc = serde_json::from_str(&r.stored.doc_text.take().unwrap()).unwrap();
        resource(Registry::builtin().unwrap(), "https://x/scim/v2", r, projection)
    }

    fn sent(r: Resource, projection: &Projection) -> Rendered {
        resource_to_send(Registry::builtin().unwrap(), "https://x/scim/v2", r, projection).unwrap()
    }

    #[test]
    fn a_document_sent_as_stored_reads_as_the_parsed_rendering() {
        let docs = [
            (
                ResourceKind::User,
                r#"{"userName":"ann@example.com","name":{"givenName":"Ann","familyName":"Ö \"q\""},"emails":[{"value":"ann@example.com","type":"work","primary":true}],"active":true,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7","manager":{"value":"x"}},"x-unknown":[1,2.5,null]}"#,
            ),
            // PostgreSQL's jsonb writes its text with spaces and its own key order.
            (ResourceKind::User, r#"{"title": "Boss", "userName": "bo", "externalId": "e-1"}"#),
            (ResourceKind::Group, r#"{"displayName":"Staff","externalId":"g"}"#),
        ];
        for (kind, doc) in docs {
            let Rendered::Bytes(bytes) = sent(resource_of(kind, doc, false), &Projection::Default) else {
                panic!("{doc} was parsed");
            };
            let written: Value = serde_json::from_slice(&bytes).unwrap();
            let expected = parsed(resource_of(kind, doc, false), &Projection::Default);
            assert_eq!(written, expected);
            // The same members in the same order, not only the same object.
            let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(&written), keys(&expected), "{doc}");
        }
    }

    #[test]
    fn a_document_the_projection_would_change_is_parsed_and_projected() {
        let docs = [
            // An empty extension goes, and leaves `schemas`.
            r#"{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{}}"#,
            // A password is never shown, should one ever be stored in a document.
            r#"{"userName":"a","password":"secret"}"#,
            r#"{"userName":"a","emails":[{}]}"#,
        ];
        for doc in docs {
            let Rendered::Value(v) = sent(resource_of(ResourceKind::User, doc, false), &Projection::Default) else {
                panic!("{doc} was sent as stored");
            };
            assert_eq!(v, parsed(resource_of(ResourceKind::User, doc, false), &Projection::Default));
            assert!(
                v.get("password").is_none()
                    && v.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").is_none()
            );
        }
        let projection = Projection::parse(Some("userName"), None).unwrap();
        let doc = r#"{"userName":"a","title":"t"}"#;
        let Rendered::Value(v) = sent(resource_of(ResourceKind::User, doc, false), &projection) else {
            panic!("attributes=userName was sent whole");
        };
        assert!(v.get("title").is_none(), "{v}");
    }

    #[test]
    fn a_streamed_group_sent_as_stored_keeps_the_members_stand_in_last() {
        let doc = r#"{"displayName":"Everyone"}"#;
        let Rendered::Bytes(bytes) = sent(resource_of(ResourceKind::Group, doc, true), &Projection::Default) else {
            panic!("parsed");
        };
        let written: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(written, parsed(resource_of(ResourceKind::Group, doc, true), &Projection::Default));
        assert_eq!(written.as_object().unwrap().keys().next_back().unwrap(), "members");
    }

    #[test]
    fn a_page_sent_as_stored_reads_as_the_parsed_page() {
        let docs = [r#"{"userName":"a","title":"t"}"#, r#"{"userName":"b","emails":[{}]}"#];
        let list = |parse: bool| ListPage {
            total: 9,
            start_index: Some(3),
            resources: docs
                .iter()
                .map(|d| {
                    let mut r = resource_of(ResourceKind::User, d, false);
                    if parse {
                        r.stored.doc = serde_json::from_str(&r.stored.doc_text.take().unwrap()).unwrap();
                    }
                    r
                })
                .collect(),
            next_cursor: Some("c-1".into()),
        };
        let registry = Registry::builtin().unwrap();
        let Rendered::Bytes(bytes) =
            page_to_send(registry, "https://x/scim/v2", list(false), &Projection::Default).unwrap()
        else {
            panic!("a page is written as bytes");
        };
        let written: Value = serde_json::from_slice(&bytes).unwrap();
        let expected = page(registry, "https://x/scim/v2", list(true), &Projection::Default);
        assert_eq!(written, expected);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&written), keys(&expected));
    }
}
