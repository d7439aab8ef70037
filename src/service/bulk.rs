//! `/Bulk` (RFC 7644 §3.7): many operations in one request, each its own transaction,
//! `bulkId` references resolved by ordering, and a result per operation.
//!
//! Each operation goes through the same service function as its single request, so every
//! rule that applies to a POST or PATCH applies inside a bulk too.

use std::collections::HashMap;

use serde_json::Value;

use crate::scim::error::{Result, ScimError};
use crate::scim::projection::Projection;
use crate::scim::resource::ETagMatch;
use crate::scim::schema::ResourceKind;
use crate::service::{Caller, Resource, Service};
use crate::store::Scope;

pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// Most operations one request may carry (advertised as `bulk.maxOperations`).
pub const MAX_OPERATIONS: usize = 1000;
/// Largest bulk request body (advertised as `bulk.maxPayloadSize`).
pub const MAX_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;

const BULK_ID_PREFIX: &str = "bulkId:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One operation as the client sent it.
struct Operation {
    /// Its place in the request; results are answered in this order.
    index: usize,
    /// Where it acts, relative to the SCIM base URL, for its result even when it fails
    /// (RFC 7644 §3.7.3 requires `location` on every result but a failed POST's).
    location: Option<String>,
    method: Option<Method>,
    raw_method: String,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
}

/// What happened to one operation of a Bulk, in the order the client sent them.
#[derive(Debug)]
pub struct BulkOutcome {
    index: usize,
    /// As the client spelled it.
    pub method: String,
    pub bulk_id: Option<String>,
    pub version: Option<i64>,
    /// Where the operation acted, relative to the SCIM base URL (`Users/{id}`).
    pub location: Option<String>,
    pub status: u16,
    pub error: Option<ScimError>,
}

type Outcome = BulkOutcome;

impl Outcome {
    fn failed(op: &Operation, error: ScimError) -> Outcome {
        super::log_internal(&error);
        Outcome {
            index: op.index,
            method: op.raw_method.clone(),
            bulk_id: op.bulk_id.clone(),
            version: None,
            location: op.location.clone(),
            status: error.status,
            error: Some(error),
        }
    }
}

fn parse_request(body: Value) -> Result<(Option<usize>, Vec<Operation>)> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("a BulkRequest must be a JSON object"));
    };
    let get = |name: &str| body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let listed =
        get("schemas").and_then(Value::as_array).is_some_and(|s| s.iter().any(|u| u.as_str() == Some(BULK_REQUEST)));
    if !listed {
        return Err(ScimError::invalid_syntax(format!("a BulkRequest must list the schema {BULK_REQUEST}")));
    }
    let fail_on_errors = match get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n as usize),
            _ => return Err(ScimError::invalid_syntax("failOnErrors must be an integer of at least 1")),
        },
    };
    let Some(ops) = get("Operations").and_then(Value::as_array) else {
        return Err(ScimError::invalid_syntax("a BulkRequest needs an Operations array"));
    };
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            413,
            None,
            format!("the request has {} operations; the maximum is {MAX_OPERATIONS} (bulk.maxOperations)", ops.len()),
        ));
    }
    let ops = ops
        .iter()
        .enumerate()
        .map(|(index, op)| {
            let field = |name: &str| {
                op.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))).map(|(_, v)| v)
            };
            let text = |name: &str| field(name).and_then(Value::as_str).map(str::to_owned);
            let raw_method = text("method").unwrap_or_default();
            let method = match raw_method.to_ascii_uppercase().as_str() {
                "POST" => Some(Method::Post),
                "PUT" => Some(Method::Put),
                "PATCH" => Some(Method::Patch),
                "DELETE" => Some(Method::Delete),
                _ => None,
            };
            let path = text("path").unwrap_or_default();
            let location = (method != Some(Method::Post)).then(|| path.trim_start_matches('/').to_owned());
            Operation {
                index,
                location,
                method,
                raw_method,
                bulk_id: text("bulkId"),
                version: text("version"),
                path,
                data: field("data").cloned(),
            }
        })
        .collect();
    Ok((fail_on_errors, ops))
}

/// Every `bulkId:x` reference in the path and data of an operation.
fn references(op: &Operation) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix(BULK_ID_PREFIX) {
                    out.push(id.to_owned());
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for segment in op.path.split('/') {
        if let Some(id) = segment.strip_prefix(BULK_ID_PREFIX) {
            out.push(id.to_owned());
        }
    }
    if let Some(d) = &op.data {
        walk(d, &mut out);
    }
    out
}

/// Replaces every `bulkId:x` with the id created for `x`.
fn substitute(v: &Value, ids: &HashMap<String, String>) -> Value {
    match v {
        Value::String(s) => match s.strip_prefix(BULK_ID_PREFIX).and_then(|b| ids.get(b)) {
            Some(id) => Value::String(id.clone()),
            None => v.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|i| substitute(i, ids)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, i)| (k.clone(), substitute(i, ids))).collect()),
        _ => v.clone(),
    }
}

/// The outcomes so far, and what they make known to later operations.
#[derive(Default)]
struct Record {
    outcomes: Vec<Outcome>,
    /// Ids created during a pass; references see them from the next pass on.
    created: HashMap<String, String>,
    failed_ids: Vec<String>,
    errors: usize,
}

impl Record {
    fn push(&mut self, op: &Operation, outcome: Outcome) {
        if outcome.error.is_some() {
            self.errors += 1;
            if let Some(b) = &op.bulk_id {
                self.failed_ids.push(b.clone());
            }
        } else if let (Some(b), Some(loc), Some(Method::Post)) = (&op.bulk_id, &outcome.location, op.method) {
            self.created.insert(b.clone(), loc.rsplit('/').next().unwrap_or_default().to_owned());
        }
        self.outcomes.push(outcome);
    }
}

/// Where a resource lives, relative to the SCIM base URL.
fn relative_location(kind: ResourceKind, id: &str) -> String {
    format!("{}/{id}", kind.endpoint())
}

/// `/Users`, `/Groups/{id}`, `/Licenses` … → the resource type and the id, if any.
fn parse_path(path: &str) -> Result<(ResourceKind, Option<String>)> {
    let bad = || {
        ScimError::invalid_value(format!(
            "path {path:?} must be /Users, /Groups or /Licenses, optionally followed by /{{id}}"
        ))
    };
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let endpoint = parts.next().unwrap_or("");
    let kind = ResourceKind::ALL.into_iter().find(|k| k.endpoint() == endpoint).ok_or_else(bad)?;
    let id = parts.next().map(str::to_owned).filter(|s| !s.is_empty());
    if id.as_deref().is_some_and(|i| i.contains('/')) {
        return Err(bad());
    }
    Ok((kind, id))
}

impl Service {
    /// Runs a BulkRequest. Errors of the request as a whole are returned; errors of single
    /// operations are reported in the response, and the other operations proceed.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn bulk(&self, caller: &Caller, body: Value) -> Result<Vec<BulkOutcome>> {
        caller.principal.require(Scope::Write)?;
        let (fail_on_errors, ops) = parse_request(body)?;
        // A bulkId names one operation; a second one would make references ambiguous.
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = ops.iter().filter_map(|op| op.bulk_id.as_deref()).find(|b| !seen.insert(*b)) {
            return Err(ScimError::invalid_value(format!(
                "bulkId \"{dup}\" is declared by more than one operation; give each operation its own"
            )));
        }
        let declared: HashMap<String, usize> =
            ops.iter().enumerate().filter_map(|(i, op)| op.bulk_id.clone().map(|b| (b, i))).collect();
        let mut created: HashMap<String, String> = HashMap::new();
        let mut record = Record::default();
        let mut pending: Vec<usize> = (0..ops.len()).collect();
        'passes: while !pending.is_empty() {
            let mut progressed = false;
            let mut still = Vec::new();
            // Consecutive runnable POSTs share one transaction (each under its own savepoint);
            // with failOnErrors every operation runs alone so processing can stop exactly.
            let mut batch: Vec<usize> = Vec::new();
            for i in pending {
                let op = &ops[i];
                if fail_on_errors.is_some_and(|limit| record.errors >= limit) {
                    break 'passes;
                }
                let refs = references(op);
                let ready = if let Some(unknown) = refs.iter().find(|r| !declared.contains_key(*r)) {
                    Err(ScimError::invalid_value(format!(
                        "bulkId:{unknown} is not declared by any operation of this request"
                    )))
                } else if let Some(failed) = refs.iter().find(|r| record.failed_ids.contains(r)) {
                    Err(ScimError::new(409, None, format!("bulkId:{failed} refers to an operation that failed")))
                } else {
                    Ok(refs.iter().all(|r| created.contains_key(r)))
                };
                let outcome = match ready {
                    Err(e) => Outcome::failed(op, e),
                    Ok(false) => {
                        still.push(i);
                        continue;
                    }
                    Ok(true) if op.method == Some(Method::Post) && op.bulk_id.is_some() && fail_on_errors.is_none() => {
                        batch.push(i);
                        progressed = true;
                        continue;
                    }
                    Ok(true) => {
                        self.flush(caller, &ops, &mut batch, &created, &mut record).await;
                        self.bulk_operation(caller, op, &created).await
                    }
                };
                progressed = true;
                record.push(op, outcome);
            }
            self.flush(caller, &ops, &mut batch, &created, &mut record).await;
            created.extend(record.created.drain());
            if !progressed {
                // What is left waits on itself: a circular reference (RFC 7644 §3.7.1).
                for i in still {
                    if fail_on_errors.is_some_and(|limit| record.errors >= limit) {
                        break;
                    }
                    let op = &ops[i];
                    record.errors += 1;
                    record.outcomes.push(Outcome::failed(
                        op,
                        ScimError::new(
                            409,
                            None,
                            "circular bulkId reference: these operations wait on each other; split them",
                        ),
                    ));
                }
                break;
            }
            pending = still;
        }
        // Operations ran in dependency order; they are answered in the order they were sent.
        let mut outcomes = record.outcomes;
        outcomes.sort_by_key(|o| o.index);
        Ok(outcomes)
    }

    /// Runs the batched POSTs in one store transaction and records their outcomes in order.
    async fn flush(
        &self,
        caller: &Caller,
        ops: &[Operation],
        batch: &mut Vec<usize>,
        created: &HashMap<String, String>,
        record: &mut Record,
    ) {
        if batch.is_empty() {
            return;
        }
        let mut items = Vec::with_capacity(batch.len());
        let mut runnable = Vec::with_capacity(batch.len());
        for &i in batch.iter() {
            let op = &ops[i];
            match parse_path(&op.path) {
                Ok((kind, None)) => match &op.data {
                    Some(d) => {
                        items.push((kind, substitute(d, created)));
                        runnable.push(i);
                    }
                    None => record.push(op, Outcome::failed(op, ScimError::invalid_syntax("POST needs data"))),
                },
                Ok((_, Some(_))) => record.push(
                    op,
                    Outcome::failed(op, ScimError::invalid_value("POST takes a resource type path such as /Users")),
                ),
                Err(e) => record.push(op, Outcome::failed(op, e)),
            }
        }
        let results = self.create_many(caller, items).await;
        for (i, result) in runnable.into_iter().zip(results) {
            let op = &ops[i];
            let outcome = match result {
                Ok(stored) => Outcome {
                    index: op.index,
                    method: op.raw_method.clone(),
                    bulk_id: op.bulk_id.clone(),
                    version: Some(stored.version),
                    location: Some(relative_location(stored.kind, stored.id.as_str())),
                    status: 201,
                    error: None,
                },
                Err(e) => Outcome::failed(op, e),
            };
            record.push(op, outcome);
        }
        batch.clear();
    }

    async fn bulk_operation(&self, caller: &Caller, op: &Operation, created: &HashMap<String, String>) -> Outcome {
        let result = self.run_operation(caller, op, created).await;
        match result {
            Ok((status, version, location)) => Outcome {
                index: op.index,
                method: op.raw_method.clone(),
                bulk_id: op.bulk_id.clone(),
                version,
                location: Some(location),
                status,
                error: None,
            },
            Err(e) => Outcome::failed(op, e),
        }
    }

    async fn run_operation(
        &self,
        caller: &Caller,
        op: &Operation,
        created: &HashMap<String, String>,
    ) -> Result<(u16, Option<i64>, String)> {
        let method = op.method.ok_or_else(|| {
            ScimError::invalid_value(format!("method {:?} is not one of POST, PUT, PATCH, DELETE", op.raw_method))
        })?;
        let path = match substitute(&Value::String(op.path.clone()), created) {
            Value::String(p) => p,
            _ => op.path.clone(),
        };
        let path = path
            .split('/')
            .map(|seg| seg.strip_prefix(BULK_ID_PREFIX).and_then(|b| created.get(b)).map(String::as_str).unwrap_or(seg))
            .collect::<Vec<_>>()
            .join("/");
        let (kind, id) = parse_path(&path)?;
        let data = op.data.as_ref().map(|d| substitute(d, created));
        let need_data =
            || data.clone().ok_or_else(|| ScimError::invalid_syntax(format!("{} needs data", method.as_str())));
        let if_match = op.version.as_deref().map(ETagMatch::parse);
        // The response carries no resource bodies, so none need rendering beyond the basics.
        let projection = Projection::Include(Vec::new());
        let done = |status: u16, r: Resource| {
            Ok((status, Some(r.stored.version), relative_location(r.stored.kind, r.stored.id.as_str())))
        };
        match (method, id) {
            (Method::Post, None) => {
                if op.bulk_id.is_none() {
                    return Err(ScimError::invalid_syntax("a POST operation needs a bulkId"));
                }
                done(201, self.create(caller, kind, need_data()?, &projection).await?)
            }
            (Method::Put, Some(id)) => {
                done(200, self.replace(caller, kind, &id, if_match.as_ref(), need_data()?, &projection).await?)
            }
            (Method::Patch, Some(id)) => {
                done(200, self.patch(caller, kind, &id, if_match.as_ref(), need_data()?, &projection).await?)
            }
            (Method::Delete, Some(id)) => {
                self.delete(caller, kind, &id, if_match.as_ref()).await?;
                Ok((204, None, relative_location(kind, &id)))
            }
            (Method::Post, Some(_)) => Err(ScimError::invalid_value("POST takes a resource type path such as /Users")),
            (_, None) => Err(ScimError::invalid_value(format!(
                "{} needs a path with an id, such as /Users/{{id}}",
                method.as_str()
            ))),
        }
    }
}
