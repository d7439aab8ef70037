//! The discovery endpoints of RFC 7644 §4: `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`.
//!
//! Truthful by construction: each `supported` flag names a feature that works today.

use serde_json::{json, Value};

use crate::directory::DIRECTORY_USER;
use crate::scim::cursor::CURSOR_TIMEOUT_SECS;
use crate::scim::error::{Result, ScimError};
use crate::scim::schema::ResourceKind;
use crate::service::{Caller, Service, MAX_OPERATIONS, MAX_PAGE, MAX_PAYLOAD_BYTES};
use crate::store::{ListQuery, Load};

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true },
        "bulk": { "supported": true, "maxOperations": MAX_OPERATIONS, "maxPayloadSize": MAX_PAYLOAD_BYTES },
        "filter": { "supported": true, "maxResults": MAX_PAGE },
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": MAX_PAGE,
            "maxPageSize": MAX_PAGE,
            "cursorTimeout": CURSOR_TIMEOUT_SECS
        },
        "changePassword": { "supported": true },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A token created with `scimd token create`, sent as Authorization: Bearer <token>",
                "primary": true
            },
            {
                "type": "httpbasic",
                "name": "HTTP Basic",
                "description": "The tenant name as user and a token as password"
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        }
    })
}

fn with_location(mut doc: Value, resource_type: &str, location: String) -> Value {
    if let Value::Object(o) = &mut doc {
        o.insert("meta".into(), json!({ "resourceType": resource_type, "location": location }));
    }
    doc
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

impl Service {
    pub async fn schemas(&self, caller: &Caller) -> Result<Value> {
        let licenses = self.license_ids(caller).await?;
        Ok(list(self.registry.schemas().iter().map(|s| self.schema_doc(&caller.base_url, &s.id, &licenses)).collect()))
    }

    /// The document of schema `id`; the directory extension lists the tenant's License ids as
    /// the `canonicalValues` of `licenses.value`, so a client can tell which values work.
    fn schema_doc(&self, base_url: &str, id: &str, licenses: &[String]) -> Value {
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
        let mut doc = with_location(doc, "Schema", format!("{base_url}/Schemas/{id}"));
        if let Value::Object(o) = &mut doc {
            o.entry("schemas").or_insert_with(|| json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"]));
        }
        doc
    }

    pub async fn schema(&self, caller: &Caller, id: &str) -> Result<Value> {
        let schema = self.registry.schema(id).ok_or_else(|| ScimError::not_found("Schema", id))?;
        let licenses = if schema.id == DIRECTORY_USER { self.license_ids(caller).await? } else { Vec::new() };
        Ok(self.schema_doc(&caller.base_url, &schema.id, &licenses))
    }

    /// The ids of the caller's tenant's Licenses, oldest first.
    async fn license_ids(&self, caller: &Caller) -> Result<Vec<String>> {
        let query = ListQuery {
            filter: None,
            sort: None,
            start_index: 1,
            after_seq: None,
            count: MAX_PAGE,
            member_budget: None,
        };
        let page = self.store.list(caller.principal.tenant, ResourceKind::License, &query, Load::default()).await?;
        Ok(page.items.into_iter().map(|l| l.id).collect())
    }

    pub fn resource_types(&self, base_url: &str) -> Value {
        list(
            self.registry
                .resource_types()
                .iter()
                .map(|rt| {
                    let name = rt.kind.name();
                    with_location(rt.document.clone(), "ResourceType", format!("{base_url}/ResourceTypes/{name}"))
                })
                .collect(),
        )
    }

    pub fn resource_type_doc(&self, base_url: &str, id: &str) -> Result<Value> {
        let rt = self
            .registry
            .resource_types()
            .iter()
            .find(|rt| rt.kind.name().eq_ignore_ascii_case(id))
            .ok_or_else(|| ScimError::not_found("ResourceType", id))?;
        Ok(with_location(rt.document.clone(), "ResourceType", format!("{base_url}/ResourceTypes/{}", rt.kind.name())))
    }
}
