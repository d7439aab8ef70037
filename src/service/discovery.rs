//! The schema documents of RFC 7643 §7 as a tenant sees them: the directory extension lists
//! the tenant's License ids as the values `licenses.value` takes. The HTTP layer serves them.

use serde_json::{json, Value};

use crate::directory::DIRECTORY_USER;
use crate::scim::error::{Result, ScimError};
use crate::scim::schema::ResourceKind;
use crate::service::{Caller, Service, MAX_PAGE};
use crate::store::{ListQuery, Load};

impl Service {
    /// Every schema document, in the registry's order.
    pub async fn schemas(&self, caller: &Caller) -> Result<Vec<Value>> {
        let licenses = self.license_ids(caller).await?;
        Ok(self.registry.schemas().iter().map(|s| self.schema_doc(&s.id, &licenses)).collect())
    }

    /// The document of schema `id`; the directory extension lists the tenant's License ids as
    /// the `canonicalValues` of `licenses.value`, so a client can tell which values work.
    fn schema_doc(&self, id: &str, licenses: &[String]) -> Value {
        let mut doc = self.registry.schema(id).map(|s| s.document.clone()).unwrap_or(Value::Null);
        if id == DIRECTORY_USER {
            let value = doc
                .get_mut("attributes")
                .and_then(Value::as_array_mut)
                .and_then(|a| a.iter_mut().find(|a| a["name"] == "licenses"))
                .and_then(|a| a.get_mut("subAttributes"))
                .and_then(Value::as_array_mut)
                .and_then(|subs| subs.iter_mut().find(|s| s["name"] == "value"));
            if let Some(Value::Object(value)) = value {
                value.insert("canonicalValues".into(), json!(licenses));
            }
        }
        if let Value::Object(o) = &mut doc {
            o.entry("schemas").or_insert_with(|| json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"]));
        }
        doc
    }

    pub async fn schema(&self, caller: &Caller, id: &str) -> Result<Value> {
        let schema = self.registry.schema(id).ok_or_else(|| ScimError::not_found("Schema", id))?;
        let licenses = if schema.id == DIRECTORY_USER { self.license_ids(caller).await? } else { Vec::new() };
        Ok(self.schema_doc(&schema.id, &licenses))
    }

    /// The ids of the caller's tenant's Licenses, oldest first.
    async fn license_ids(&self, caller: &Caller) -> Result<Vec<String>> {
        Ok(self.licenses(caller).await?.into_iter().map(|l| l.id.into_string()).collect())
    }

    /// The caller's tenant's Licenses (the first `MAX_PAGE`), oldest first.
    pub(crate) async fn licenses(&self, caller: &Caller) -> Result<Vec<crate::store::Stored>> {
        let query = ListQuery {
            filter: None,
            sort: None,
            start_index: 1,
            after_seq: None,
            count: MAX_PAGE,
            member_budget: None,
        };
        Ok(self.store.list(caller.principal.tenant, ResourceKind::License, &query, Load::default()).await?.items)
    }
}
