//! What the audit log says a write changed, and reading the log back (`/Admin/AuditEvents`,
//! `scimd audit list`). The store writes each entry in the write's own transaction.

use serde_json::{json, Map, Value};

use crate::scim::error::{Result, ScimError};
use crate::scim::resource::parse_datetime;
use crate::service::{Caller, Service, MAX_PAGE};
use crate::store::{AuditEvent, AuditQuery, MemberChange, Operation, Scope, TokenId};

/// The attributes that differ between `before` and `after` (either may be absent), as
/// `{"attr": {"before": …, "after": …}}`; an extension's attributes are compared one by one,
/// under the extension's URN. Documents never hold passwords.
pub fn changes(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let before = before.and_then(Value::as_object).unwrap_or(&empty);
    let after = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    for key in before.keys().chain(after.keys().filter(|k| !before.contains_key(*k))) {
        let (b, a) = (before.get(key), after.get(key));
        if b == a {
            continue;
        }
        let is_extension = key.starts_with("urn:");
        if is_extension {
            let inner = changes(b, a);
            if inner.as_object().is_some_and(|o| !o.is_empty()) {
                out.insert(key.clone(), inner);
            }
            continue;
        }
        let mut change = Map::new();
        if let Some(b) = b {
            change.insert("before".into(), b.clone());
        }
        if let Some(a) = a {
            change.insert("after".into(), a.clone());
        }
        out.insert(key.clone(), Value::Object(change));
    }
    Value::Object(out)
}

/// Attributes a new resource is named by: their values are recorded at creation.
const IDENTIFYING: [&str; 4] = ["userName", "displayName", "externalId", "partNumber"];

/// What a create records: the identifying attributes' values, the names of all the others
/// (`"set"`), the members added and whether a password was set. The other values are in the
/// resource itself, and every later change records its own before and after, down to the
/// delete, which records everything the resource held: nothing is lost by not writing them
/// twice, and an import of many rows writes a quarter less.
pub fn creation_changes(doc: &Value, members: &[MemberChange], password_set: bool) -> Value {
    let mut out = write_changes(None, None, members, password_set);
    let (Value::Object(o), Some(doc)) = (&mut out, doc.as_object()) else { return out };
    let mut set = Vec::new();
    for (key, value) in doc {
        if IDENTIFYING.contains(&key.as_str()) {
            o.insert(key.clone(), json!({ "after": value }));
        } else if let (true, Some(ext)) = (key.starts_with("urn:"), value.as_object()) {
            set.extend(ext.keys().map(|k| format!("{key}:{k}")));
        } else {
            set.push(key.clone());
        }
    }
    if !set.is_empty() {
        o.insert("set".into(), json!(set));
    }
    out
}

/// `changes`, with what a write does to members and to the password added.
pub fn write_changes(
    before: Option<&Value>,
    after: Option<&Value>,
    members: &[MemberChange],
    password_set: bool,
) -> Value {
    let mut out = changes(before, after);
    if let Value::Object(o) = &mut out {
        if password_set {
            // Never the value: only that it changed.
            o.insert("password".into(), json!({"after": "(set)"}));
        }
        let mut added = Vec::new();
        let mut removed = Vec::new();
        let mut replaced = None;
        for m in members {
            match m {
                MemberChange::Add(refs) => added.extend(refs.iter().map(|r| r.id.clone())),
                MemberChange::Remove(ids) => removed.extend(ids.iter().cloned()),
                MemberChange::Replace(refs) => replaced = Some(refs.iter().map(|r| r.id.clone()).collect::<Vec<_>>()),
            }
        }
        let mut m = Map::new();
        if let Some(all) = replaced {
            m.insert("after".into(), json!(all));
        }
        if !added.is_empty() {
            m.insert("added".into(), json!(added));
        }
        if !removed.is_empty() {
            m.insert("removed".into(), json!(removed));
        }
        if !m.is_empty() {
            o.insert("members".into(), Value::Object(m));
        }
    }
    out
}

/// The filters of an audit log read: `resourceType`, `resourceId`, `operation`, `actor` (a
/// token id), `since`, `until` (dateTimes), `sortOrder` (`ascending`, the default, or
/// `descending` for newest first), and index paging.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditParams {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub operation: Option<String>,
    pub actor: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
}

impl AuditParams {
    fn query(&self) -> Result<AuditQuery> {
        let time = |name: &str, v: &Option<String>| -> Result<_> {
            v.as_deref()
                .map(|s| {
                    parse_datetime(s).ok_or_else(|| {
                        ScimError::invalid_value(format!("{name} {s:?} is not a dateTime such as 2026-12-01T00:00:00Z"))
                    })
                })
                .transpose()
        };
        let operation = match self.operation.as_deref() {
            None => None,
            Some(o) => Some(Operation::parse(o).ok_or_else(|| {
                let all: Vec<&str> = Operation::ALL.iter().map(|o| o.as_str()).collect();
                ScimError::invalid_value(format!("operation {o:?} is not one of {}", all.join(", ")))
            })?),
        };
        let token_id = match self.actor.as_deref() {
            None => None,
            Some(a) => Some(TokenId(a.parse().map_err(|_| {
                ScimError::invalid_value(format!("actor {a:?} is not a token id (see /Admin/Tokens)"))
            })?)),
        };
        let resource_type = match self.resource_type.as_deref() {
            None => None,
            Some(t) => Some(
                ["User", "Group", "License", "Token", "Domain", "Subscription", "Mail"]
                    .into_iter()
                    .find(|k| k.eq_ignore_ascii_case(t))
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!(
                            "resourceType {t:?} is not one of User, Group, License, Token, Domain, Subscription, Mail"
                        ))
                    })?
                    .to_owned(),
            ),
        };
        let newest_first = match self.sort_order.as_deref() {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder {o:?} is not ascending (oldest first) or descending (newest first)"
                )))
            }
        };
        Ok(AuditQuery {
            resource_type,
            resource_id: self.resource_id.clone(),
            operation,
            token_id,
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            newest_first,
            start_index: self.start_index.unwrap_or(1).max(1) as u64,
            count: (self.count.unwrap_or(MAX_PAGE as i64).max(0) as u64).min(MAX_PAGE),
        })
    }
}

/// One page of the audit log.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub total: u64,
    pub start_index: u64,
    pub events: Vec<AuditEvent>,
}

impl Service {
    /// The caller's tenant's audit events, oldest first unless asked otherwise (admin scope).
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn audit_events(&self, caller: &Caller, params: &AuditParams) -> Result<AuditPage> {
        caller.principal.require(Scope::Admin)?;
        let query = params.query()?;
        let (total, events) = self.store.audit_events(caller.principal.tenant, &query).await?;
        Ok(AuditPage { total, start_index: query.start_index, events })
    }

    /// Removes, in every tenant, audit events older than `before`; returns how many.
    pub async fn purge_audit_before(&self, before: time::OffsetDateTime) -> Result<u64> {
        Ok(self.store.purge_audit_before(before).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_each_attribute_that_differs_and_extensions_one_by_one() {
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let before = json!({"userName": "a", "title": "Boss", ext: {"department": "Ops", "costCenter": "1"}});
        let after = json!({"userName": "a", "displayName": "A", ext: {"department": "Sales", "costCenter": "1"}});
        assert_eq!(
            changes(Some(&before), Some(&after)),
            json!({
                "title": {"before": "Boss"},
                ext: {"department": {"before": "Ops", "after": "Sales"}},
                "displayName": {"after": "A"},
            })
        );
        assert_eq!(changes(None, Some(&json!({"userName": "a"}))), json!({"userName": {"after": "a"}}));
        assert_eq!(changes(Some(&before), Some(&before)), json!({}));
    }

    #[test]
    fn a_password_is_recorded_as_set_never_by_value() {
        let c = write_changes(None, Some(&json!({"userName": "a"})), &[], true);
        assert_eq!(c["password"], json!({"after": "(set)"}));
        assert!(!c.to_string().contains("secret"));
    }

    #[test]
    fn a_create_records_its_names_values_and_the_other_attributes_it_set() {
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let doc = json!({"userName": "a", "title": "Boss", ext: {"department": "Ops"}});
        assert_eq!(
            creation_changes(&doc, &[], false),
            json!({"userName": {"after": "a"}, "set": ["title", format!("{ext}:department")]})
        );
    }
}
