//! The OpenAPI 3.1 document of the SCIM API: every route under `/scim/v2`, with resource
//! schemas generated from the registry (`schemas/*.json`), so the document cannot drift from it.
//!
//! Pure data: no I/O. `http` serves it at `/scim/v2/openapi.json` and lists the routes it has.

use serde_json::{json, Map, Value};

use crate::scim::schema::{AttrType, Attribute, Mutability, Registry, ResourceKind, DIRECTORY_USER};

/// Where the document says it lives, relative to the server's root.
pub const PATH: &str = "/scim/v2/openapi.json";

/// The attributes whose `canonicalValues` the server enforces (`directory::check_user`), the
/// only ones given an `enum`; elsewhere canonical values are suggestions (RFC 7643 §2.3.1).
const ENFORCED_CANONICAL_VALUES: &[(&str, &str, Option<&str>)] =
    &[(DIRECTORY_USER, "usageLocation", None), (DIRECTORY_USER, "adminRoles", Some("value"))];

const SCIM_JSON: &str = "application/scim+json";

/// Whether a schema describes what a client sends or what the server answers: requests carry
/// `required`, answers do not (`attributes=` may leave a required attribute out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

/// The whole document for `registry`.
pub fn document(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for kind in ResourceKind::ALL {
        resource_paths(&mut paths, kind);
    }
    discovery_paths(&mut paths);
    admin_paths(&mut paths);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "scimd",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "SCIM 2.0 (RFC 7643, RFC 7644) provisioning. The resource schemas are generated \
                from the schemas this server validates with, as GET /scim/v2/Schemas serves them.",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }, { "basic": [] }],
        "paths": paths,
        "components": components(registry),
    })
}

fn components(registry: &Registry) -> Value {
    let mut schemas = Map::new();
    for kind in ResourceKind::ALL {
        let name = kind.name();
        schemas.insert(name.into(), resource_schema(registry, kind, Direction::Response));
        schemas.insert(format!("{name}Input"), resource_schema(registry, kind, Direction::Request));
        schemas.insert(
            format!("{name}ListResponse"),
            list_response(json!({ "$ref": format!("#/components/schemas/{name}") })),
        );
    }
    let any_resource: Vec<Value> =
        ResourceKind::ALL.iter().map(|k| json!({ "$ref": format!("#/components/schemas/{}", k.name()) })).collect();
    schemas.insert("ResourceListResponse".into(), list_response(json!({ "anyOf": any_resource })));
    for (name, urn) in [
        ("ServiceProviderConfig", "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"),
        ("ResourceType", "urn:ietf:params:scim:schemas:core:2.0:ResourceType"),
        ("Schema", "urn:ietf:params:scim:schemas:core:2.0:Schema"),
    ] {
        let attributes = registry.schema(urn).map(|s| s.attributes.as_slice()).unwrap_or_default();
        let mut schema = object(attributes, Direction::Response);
        add_property(&mut schema, "schemas", json!({ "type": "array", "items": { "type": "string" } }));
        add_property(&mut schema, "meta", json!({ "type": "object" }));
        schemas.insert(name.into(), schema);
    }
    for name in ["ResourceType", "Schema"] {
        schemas.insert(
            format!("{name}ListResponse"),
            list_response(json!({ "$ref": format!("#/components/schemas/{name}") })),
        );
    }
    schemas.insert("Error".into(), error_schema());
    schemas.insert("PatchOp".into(), patch_op());
    schemas.insert("SearchRequest".into(), search_request());
    schemas.insert("BulkRequest".into(), bulk_request());
    schemas.insert("BulkResponse".into(), bulk_response());
    schemas.insert("ListResponse".into(), list_response(json!({ "type": "object" })));
    schemas.insert("Object".into(), json!({ "type": "object" }));
    json!({
        "schemas": schemas,
        "parameters": parameters(),
        "responses": error_responses(),
        "securitySchemes": {
            "bearer": { "type": "http", "scheme": "bearer", "description": "A token from `scimd token create`." },
            "basic": { "type": "http", "scheme": "basic", "description": "The tenant name as user, a token as password." },
        },
    })
}

/// A resource as JSON Schema: the common attributes, the core schema's, and each extension as
/// an object under its URN.
fn resource_schema(registry: &Registry, kind: ResourceKind, dir: Direction) -> Value {
    let rt = registry.resource_type(kind);
    let core = registry.schema(&rt.schema).map(|s| s.attributes.as_slice()).unwrap_or_default();
    let mut schema = object(core, dir);
    let common = object(&registry.common().attributes, dir);
    for (name, property) in common["properties"].as_object().into_iter().flatten() {
        add_property(&mut schema, name, property.clone());
    }
    let uris: Vec<&str> = std::iter::once(rt.schema.as_str()).chain(rt.extensions.iter().map(String::as_str)).collect();
    add_property(&mut schema, "schemas", json!({ "type": "array", "items": { "type": "string", "enum": uris } }));
    for urn in &rt.extensions {
        let attributes = registry.schema(urn).map(|s| s.attributes.as_slice()).unwrap_or_default();
        let mut ext = object(attributes, dir);
        for (attr, sub) in enforced(urn) {
            if let Some(values) = canonical_values(attributes, attr, sub) {
                let target = match sub {
                    Some(sub) => &mut ext["properties"][attr]["items"]["properties"][sub],
                    None => &mut ext["properties"][attr],
                };
                target["enum"] = values;
            }
        }
        add_property(&mut schema, urn, ext);
    }
    if dir == Direction::Request {
        if let Some(required) = schema["required"].as_array_mut() {
            required.push("schemas".into());
        }
    }
    schema
}

fn enforced(urn: &str) -> impl Iterator<Item = (&'static str, Option<&'static str>)> + '_ {
    ENFORCED_CANONICAL_VALUES.iter().filter(move |(u, _, _)| u.eq_ignore_ascii_case(urn)).map(|(_, a, s)| (*a, *s))
}

fn canonical_values(attributes: &[Attribute], attr: &str, sub: Option<&str>) -> Option<Value> {
    let a = attributes.iter().find(|a| a.name == attr)?;
    let a = match sub {
        Some(s) => a.sub(s)?,
        None => a,
    };
    (!a.canonical_values.is_empty()).then(|| json!(a.canonical_values))
}

/// The attributes as the properties of one object.
fn object(attributes: &[Attribute], dir: Direction) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for a in attributes {
        properties.insert(a.name.clone(), attribute(a, dir));
        if a.required && dir == Direction::Request && a.mutability != Mutability::ReadOnly {
            required.push(Value::from(a.name.clone()));
        }
    }
    json!({ "type": "object", "properties": properties, "required": required })
}

fn add_property(schema: &mut Value, name: &str, property: Value) {
    if let Some(p) = schema["properties"].as_object_mut() {
        p.insert(name.into(), property);
    }
}

/// One attribute's JSON Schema (RFC 7643 §2.3 data types, §2.4 multi-valued, §7 mutability).
fn attribute(a: &Attribute, dir: Direction) -> Value {
    let mut single = match a.ty {
        AttrType::String | AttrType::Reference => json!({ "type": "string" }),
        AttrType::Boolean => json!({ "type": "boolean" }),
        AttrType::Decimal => json!({ "type": "number" }),
        AttrType::Integer => json!({ "type": "integer" }),
        AttrType::DateTime => json!({ "type": "string", "format": "date-time" }),
        AttrType::Binary => json!({ "type": "string", "contentEncoding": "base64" }),
        AttrType::Complex => object(&a.sub_attributes, dir),
    };
    let mut schema = if a.multi_valued { json!({ "type": "array", "items": single.take() }) } else { single };
    match a.mutability {
        Mutability::ReadOnly => schema["readOnly"] = true.into(),
        Mutability::WriteOnly => schema["writeOnly"] = true.into(),
        Mutability::ReadWrite | Mutability::Immutable => {}
    }
    schema
}

fn list_response(item: Value) -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "totalResults", "Resources"],
        "properties": {
            "schemas": { "type": "array", "items": { "type": "string" } },
            "totalResults": { "type": "integer", "minimum": 0 },
            "startIndex": { "type": "integer", "minimum": 1 },
            "itemsPerPage": { "type": "integer", "minimum": 0 },
            "nextCursor": { "type": "string" },
            "Resources": { "type": "array", "items": item },
        },
    })
}

/// RFC 7644 §3.12: `status` is the HTTP status as a string.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "status", "detail"],
        "properties": {
            "schemas": { "type": "array", "items": { "const": "urn:ietf:params:scim:api:messages:2.0:Error" } },
            "status": { "type": "string", "pattern": "^[1-5][0-9][0-9]$" },
            "scimType": { "type": "string" },
            "detail": { "type": "string" },
        },
    })
}

fn patch_op() -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "Operations"],
        "properties": {
            "schemas": { "type": "array", "items": { "const": "urn:ietf:params:scim:api:messages:2.0:PatchOp" } },
            "Operations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["op"],
                    "properties": {
                        "op": { "type": "string", "description": "add, replace or remove, in any case" },
                        "path": { "type": "string" },
                        "value": {},
                    },
                },
            },
        },
    })
}

fn search_request() -> Value {
    json!({
        "type": "object",
        "properties": {
            "schemas": { "type": "array", "items": { "const": "urn:ietf:params:scim:api:messages:2.0:SearchRequest" } },
            "attributes": { "type": "array", "items": { "type": "string" } },
            "excludedAttributes": { "type": "array", "items": { "type": "string" } },
            "filter": { "type": "string" },
            "sortBy": { "type": "string" },
            "sortOrder": { "type": "string", "enum": ["ascending", "descending"] },
            "startIndex": { "type": "integer" },
            "count": { "type": "integer" },
            "cursor": { "type": "string" },
        },
    })
}

fn bulk_request() -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "Operations"],
        "properties": {
            "schemas": { "type": "array", "items": { "const": "urn:ietf:params:scim:api:messages:2.0:BulkRequest" } },
            "failOnErrors": { "type": "integer" },
            "Operations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["method", "path"],
                    "properties": {
                        "method": { "type": "string", "enum": ["POST", "PUT", "PATCH", "DELETE"] },
                        "bulkId": { "type": "string" },
                        "version": { "type": "string" },
                        "path": { "type": "string" },
                        "data": { "type": "object" },
                    },
                },
            },
        },
    })
}

fn bulk_response() -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "Operations"],
        "properties": {
            "schemas": { "type": "array", "items": { "const": "urn:ietf:params:scim:api:messages:2.0:BulkResponse" } },
            "Operations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["method", "status"],
                    "properties": {
                        "method": { "type": "string" },
                        "bulkId": { "type": "string" },
                        "version": { "type": "string" },
                        "location": { "type": "string" },
                        "status": { "type": "string" },
                        "response": { "$ref": "#/components/schemas/Error" },
                    },
                },
            },
        },
    })
}

/// Query parameters (RFC 7644 §3.4.2, RFC 9865 cursors) and the ETag headers (§3.14).
fn parameters() -> Value {
    let query = |name: &str, schema: Value, description: &str| json!({ "name": name, "in": "query", "required": false, "schema": schema, "description": description });
    let string = || json!({ "type": "string" });
    let header = |name: &str, description: &str| json!({ "name": name, "in": "header", "required": false, "schema": { "type": "string" }, "description": description });
    json!({
        "id": { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
        "filter": query("filter", string(), "A SCIM filter (RFC 7644 §3.4.2.2), such as userName eq \"bjensen\""),
        "startIndex": query("startIndex", json!({ "type": "integer" }), "1-based index of the first result"),
        "count": query("count", json!({ "type": "integer" }), "The page size"),
        "sortBy": query("sortBy", string(), "The attribute to sort by"),
        "sortOrder": query("sortOrder", json!({ "type": "string", "enum": ["ascending", "descending"] }), "The sort order"),
        "attributes": query("attributes", string(), "Comma-separated attributes to return"),
        "excludedAttributes": query("excludedAttributes", string(), "Comma-separated attributes to leave out"),
        "cursor": query("cursor", string(), "Cursor paging (RFC 9865): empty for the first page, then nextCursor"),
        "mailResults": query("mailResults", string(), "An address to mail the creation's results to (admin tokens)"),
        "temporaryPasswords": query("temporaryPasswords", json!({ "type": "boolean" }), "Give users without a password a temporary one"),
        "dryRun": query("dryRun", json!({ "type": "boolean" }), "Check the file without writing"),
        "mode": query("mode", json!({ "type": "string", "enum": ["add", "sync"] }), "add (the default) creates and updates the file's users; sync also deactivates the source's users the file no longer lists"),
        "source": query("source", string(), "A source stored with scimd import-source add: its column map reads the file"),
        "maxDeactivate": query("maxDeactivate", string(), "A sync's valve for this run, N or N%, instead of the stored source's"),
        "If-Match": header("If-Match", "Only if the resource's version is this ETag (412 otherwise)"),
        "If-None-Match": header("If-None-Match", "304 if the resource's version is this ETag"),
    })
}

/// The errors every operation may answer with; each has the SCIM Error body.
const ERROR_STATUSES: &[(&str, &str)] = &[
    ("400", "The request is invalid; scimType and detail say why"),
    ("401", "No valid token"),
    ("403", "The token's scopes do not allow this"),
    ("404", "No such resource"),
    ("405", "The endpoint does not support this method"),
    ("409", "A unique attribute's value is taken"),
    ("412", "If-Match names an older version"),
    ("413", "The request body is too large"),
    ("415", "Unsupported Content-Type"),
    ("429", "Too many requests; Retry-After says when to retry"),
    ("500", "Internal error; the cause is in the server log"),
    ("501", "Not implemented"),
];

fn error_responses() -> Value {
    let error = json!({ SCIM_JSON: { "schema": { "$ref": "#/components/schemas/Error" } } });
    let mut out = Map::new();
    for (status, description) in ERROR_STATUSES {
        out.insert(format!("Error{status}"), json!({ "description": description, "content": error }));
    }
    Value::Object(out)
}

fn with_errors(mut responses: Value) -> Value {
    if let Some(r) = responses.as_object_mut() {
        for (status, _) in ERROR_STATUSES {
            r.insert((*status).into(), json!({ "$ref": format!("#/components/responses/Error{status}") }));
        }
    }
    responses
}

fn parameter(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn body(schema: &str) -> Value {
    let s = json!({ "schema": { "$ref": format!("#/components/schemas/{schema}") } });
    json!({ "required": true, "content": { SCIM_JSON: s, "application/json": s } })
}

fn ok(status: &str, description: &str, schema: &str) -> Value {
    let content = json!({ SCIM_JSON: { "schema": { "$ref": format!("#/components/schemas/{schema}") } } });
    json!({ status: { "description": description, "content": content, "headers": etag_header() } })
}

fn etag_header() -> Value {
    json!({ "ETag": { "description": "The resource's version (a weak ETag)", "schema": { "type": "string" } } })
}

fn operation(id: &str, summary: &str, parameters: &[&str], request: Option<Value>, responses: Value) -> Value {
    let mut op = json!({
        "operationId": id,
        "summary": summary,
        "parameters": parameters.iter().map(|p| parameter(p)).collect::<Vec<_>>(),
        "responses": with_errors(responses),
    });
    if let Some(r) = request {
        op["requestBody"] = r;
    }
    op
}

fn merge(a: Value, b: Value) -> Value {
    let mut out = a;
    if let (Some(o), Value::Object(b)) = (out.as_object_mut(), b) {
        o.extend(b);
    }
    out
}

const LIST_PARAMETERS: &[&str] =
    &["filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes", "cursor"];

fn resource_paths(paths: &mut Map<String, Value>, kind: ResourceKind) {
    let (name, endpoint) = (kind.name(), kind.endpoint());
    let input = format!("{name}Input");
    let list = format!("{name}ListResponse");
    let patched = if kind == ResourceKind::Group {
        merge(
            ok("200", "The patched group, when attributes were asked for", name),
            json!({ "204": { "description": "Patched; the ETag header has the new version", "headers": etag_header() } }),
        )
    } else {
        ok("200", "The patched resource", name)
    };
    // The created resource's id leads to its other operations (for clients and fuzzers alike).
    let mut created = ok("201", "Created; Location has its URL", name);
    created["201"]["links"] = ["get", "replace", "patch", "delete"]
        .iter()
        .map(|op| {
            (
                format!("{op}{name}"),
                json!({ "operationId": format!("{op}{name}"), "parameters": { "id": "$response.body#/id" } }),
            )
        })
        .collect::<Map<_, _>>()
        .into();
    paths.insert(
        format!("/scim/v2/{endpoint}"),
        json!({
            "get": operation(&format!("list{endpoint}"), &format!("List, filter, sort and page {endpoint}"), LIST_PARAMETERS, None, ok("200", "A page", &list)),
            "post": operation(&format!("create{name}"), &format!("Create a {name}"),
                &["attributes", "excludedAttributes", "mailResults", "temporaryPasswords"], Some(body(&input)),
                created),
        }),
    );
    paths.insert(
        format!("/scim/v2/{endpoint}/.search"),
        json!({ "post": operation(&format!("search{endpoint}"), &format!("Search {endpoint} with a SearchRequest"), &[], Some(body("SearchRequest")), ok("200", "A page", &list)) }),
    );
    let projection = ["attributes", "excludedAttributes"];
    paths.insert(
        format!("/scim/v2/{endpoint}/{{id}}"),
        json!({
            "parameters": [parameter("id")],
            "get": operation(&format!("get{name}"), &format!("Read a {name}"), &["attributes", "excludedAttributes", "If-None-Match"], None,
                merge(ok("200", "The resource", name), json!({ "304": { "description": "Not modified since If-None-Match", "headers": etag_header() } }))),
            "put": operation(&format!("replace{name}"), &format!("Replace a {name}"), &[projection[0], projection[1], "If-Match"], Some(body(&input)),
                ok("200", "The replaced resource", name)),
            "patch": operation(&format!("patch{name}"), &format!("Patch a {name} (RFC 7644 §3.5.2)"), &[projection[0], projection[1], "If-Match"], Some(body("PatchOp")), patched),
            "delete": operation(&format!("delete{name}"), &format!("Delete a {name}"), &["If-Match"], None, json!({ "204": { "description": "Deleted" } })),
        }),
    );
}

fn discovery_paths(paths: &mut Map<String, Value>) {
    let config = operation(
        "getServiceProviderConfig",
        "The service provider's configuration",
        &[],
        None,
        ok("200", "The configuration", "ServiceProviderConfig"),
    );
    paths.insert("/scim/v2/ServiceProviderConfig".into(), json!({ "get": config }));
    let mut alias = config.clone();
    alias["operationId"] = "getServiceConfiguration".into();
    alias["summary"] = "The same, by the name Microsoft's test collection uses".into();
    paths.insert("/scim/v2/serviceConfiguration".into(), json!({ "get": alias }));
    paths.insert("/scim/v2/Schemas".into(), json!({ "get": operation("listSchemas", "Every schema", &[], None, ok("200", "The schemas", "SchemaListResponse")) }));
    paths.insert(
        "/scim/v2/Schemas/{id}".into(),
        json!({ "parameters": [parameter("id")], "get": operation("getSchema", "One schema by URN", &[], None, ok("200", "The schema", "Schema")) }),
    );
    paths.insert(
        "/scim/v2/ResourceTypes".into(),
        json!({ "get": operation("listResourceTypes", "Every resource type", &[], None, ok("200", "The resource types", "ResourceTypeListResponse")) }),
    );
    paths.insert(
        "/scim/v2/ResourceTypes/{id}".into(),
        json!({ "parameters": [parameter("id")], "get": operation("getResourceType", "One resource type by name", &[], None, ok("200", "The resource type", "ResourceType")) }),
    );
    let me = |method: &str| {
        operation(
            &format!("{method}Me"),
            "Not supported: tokens belong to a tenant, not a user (501)",
            &[],
            None,
            json!({}),
        )
    };
    paths.insert(
        "/scim/v2/Me".into(),
        json!({ "get": me("get"), "post": me("post"), "put": me("put"), "patch": me("patch"), "delete": me("delete") }),
    );
    paths.insert("/scim/v2/Bulk".into(), json!({ "post": operation("bulk", "A BulkRequest", &[], Some(body("BulkRequest")), ok("200", "A result per operation", "BulkResponse")) }));
    paths.insert(
        "/scim/v2/.search".into(),
        json!({ "post": operation("searchAll", "Search Users, then Groups, then Licenses", &[], Some(body("SearchRequest")), ok("200", "A page", "ResourceListResponse")) }),
    );
    paths.insert(
        PATH.into(),
        json!({ "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "security": [],
            "responses": { "200": { "description": "The OpenAPI document", "content": { "application/json": { "schema": { "type": "object" } } } } },
        } }),
    );
}

fn admin_paths(paths: &mut Map<String, Value>) {
    let object = |status: &str, description: &str| ok(status, description, "Object");
    let list = || ok("200", "A page", "ListResponse");
    let no_content = || json!({ "204": { "description": "Done" } });
    paths.insert(
        "/scim/v2/Admin/DeletedUsers".into(),
        json!({ "get": operation("listDeletedUsers", "Soft-deleted users (admin)", LIST_PARAMETERS, None, ok("200", "A page", "UserListResponse")) }),
    );
    paths.insert(
        "/scim/v2/Admin/DeletedUsers/{id}".into(),
        json!({ "parameters": [parameter("id")], "delete": operation("purgeUser", "Purge a soft-deleted user (admin)", &[], None, no_content()) }),
    );
    paths.insert(
        "/scim/v2/Admin/DeletedUsers/{id}/restore".into(),
        json!({ "parameters": [parameter("id")], "post": operation("restoreUser", "Restore a soft-deleted user (admin)", &[], None, ok("200", "The restored user", "User")) }),
    );
    let audit: Vec<Value> =
        ["resourceType", "resourceId", "operation", "actor", "since", "until", "sortOrder", "startIndex", "count"]
            .iter()
            .map(|name| {
                let ty = if matches!(*name, "startIndex" | "count") { "integer" } else { "string" };
                json!({ "name": name, "in": "query", "required": false, "schema": { "type": ty } })
            })
            .collect();
    let mut audit_op = operation("listAuditEvents", "The tenant's audit log (admin)", &[], None, list());
    audit_op["parameters"] = audit.into();
    paths.insert("/scim/v2/Admin/AuditEvents".into(), json!({ "get": audit_op }));
    paths.insert(
        "/scim/v2/Admin/Tokens".into(),
        json!({
            "get": operation("listTokens", "The tenant's tokens (admin)", &[], None, list()),
            "post": operation("createToken", "Create a token; the answer holds its secret once (admin)", &[], Some(body("Object")), object("201", "The token")),
        }),
    );
    paths.insert(
        "/scim/v2/Admin/Tokens/{id}".into(),
        json!({ "parameters": [parameter("id")], "delete": operation("revokeToken", "Revoke a token (admin)", &[], None, no_content()) }),
    );
    paths.insert(
        "/scim/v2/Admin/Subscriptions".into(),
        json!({
            "get": operation("listSubscriptions", "Event subscriptions (admin)", &[], None, list()),
            "post": operation("createSubscription", "Subscribe an endpoint to events (admin)", &[], Some(body("Object")), object("201", "The subscription")),
        }),
    );
    paths.insert(
        "/scim/v2/Admin/Subscriptions/{id}".into(),
        json!({
            "parameters": [parameter("id")],
            "get": operation("getSubscription", "One subscription (admin)", &[], None, object("200", "The subscription")),
            "delete": operation("removeSubscription", "Remove a subscription (admin)", &[], None, no_content()),
        }),
    );
    paths.insert(
        "/scim/v2/Events".into(),
        json!({ "post": operation("pollEvents", "Poll security events (RFC 8936)", &[], Some(body("Object")), object("200", "Events")) }),
    );
    let csv = json!({ "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } });
    let report = json!({ "200": { "description": "The report, as JSON or (Accept: text/csv) as CSV", "content": {
        SCIM_JSON: { "schema": { "$ref": "#/components/schemas/Object" } },
        "text/csv": { "schema": { "type": "string" } },
    } } });
    paths.insert(
        "/scim/v2/Admin/Import".into(),
        json!({ "post": operation("importCsv", "Import a bulk-add CSV, or sync an HR export of a stored source (admin)", &["dryRun", "mailResults", "temporaryPasswords", "mode", "source", "maxDeactivate"], Some(csv), report) }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `v`, wherever it is.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_ref_resolves_within_the_document() {
        let doc = document(Registry::builtin().unwrap());
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let pointer = r.strip_prefix('#').unwrap();
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    #[test]
    fn resource_schemas_follow_the_registry() {
        let doc = document(Registry::builtin().unwrap());
        let user = &doc["components"]["schemas"]["User"]["properties"];
        assert_eq!(user["emails"]["type"], "array");
        assert_eq!(user["emails"]["items"]["properties"]["primary"]["type"], "boolean");
        assert_eq!(user["id"]["readOnly"], true);
        assert_eq!(user["password"]["writeOnly"], true);
        assert_eq!(user["meta"]["properties"]["created"]["format"], "date-time");
        let ext = &user[DIRECTORY_USER]["properties"];
        assert!(ext["usageLocation"]["enum"].as_array().unwrap().iter().any(|c| c == "US"));
        assert!(ext["adminRoles"]["items"]["properties"]["value"]["enum"].is_array());
        // Canonical values the server does not enforce stay suggestions.
        assert!(user["emails"]["items"]["properties"]["type"].get("enum").is_none());
        let input = &doc["components"]["schemas"]["UserInput"];
        assert!(input["required"].as_array().unwrap().contains(&json!("userName")));
        assert!(doc["components"]["schemas"]["User"]["required"].as_array().unwrap().is_empty());
    }
}
