//! Administration of soft-deleted users (DESIGN.md §4 "delete and restore"): list them with
//! their deletion time, bring one back, or purge it for good. Admin scope only.

use serde_json::{json, Value};

use crate::scim::error::{Result, ScimError};
use crate::scim::projection::Projection;
use crate::scim::resource::format_datetime;
use crate::scim::schema::ResourceKind;
use crate::service::{render, Caller, ListParams, Rendered, Service, MAX_PAGE};
use crate::store::{Scope, StoreError};

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

impl Service {
    /// Soft-deleted users, oldest deletion first; `meta.deleted` says when.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn deleted_users(&self, caller: &Caller, params: &ListParams) -> Result<Value> {
        caller.principal.require(Scope::Admin)?;
        let start = params.start_index.unwrap_or(1).max(1) as u64;
        let count = (params.count.unwrap_or(MAX_PAGE as i64).max(0) as u64).min(MAX_PAGE);
        let (total, items) = self.store.list_deleted(caller.principal.tenant, start, count).await?;
        let resources: Vec<Value> = items
            .iter()
            .map(|(stored, deleted)| {
                let mut r = render::resource(&self.registry, &caller.base_url, stored, &Projection::Default);
                r["meta"]["deleted"] = json!(format_datetime(*deleted));
                r
            })
            .collect();
        Ok(json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }))
    }

    /// Brings a soft-deleted user back. Group memberships were dropped at deletion and stay so.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn restore_user(&self, caller: &Caller, id: &str) -> Result<Rendered> {
        caller.principal.require(Scope::Admin)?;
        super::resources::plausible_id("deleted User", id)?;
        let stored = self.store.restore(caller.principal.tenant, id).await.map_err(|e| match e {
            StoreError::NotFound => ScimError::not_found("deleted User", id),
            StoreError::Conflict { attribute, value } => ScimError::new(
                409,
                Some(crate::scim::error::ScimType::Uniqueness),
                format!("cannot restore: {attribute} \"{value}\" has been given to another user since; rename or delete that user first"),
            ),
            e => e.into(),
        })?;
        Ok(Rendered {
            changed: true,
            body: render::resource(&self.registry, &caller.base_url, &stored, &Projection::Default),
            version: stored.version,
            location: render::location(&caller.base_url, ResourceKind::User, &stored.id),
        })
    }

    /// Removes a soft-deleted user for good.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn purge_user(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.principal.require(Scope::Admin)?;
        super::resources::plausible_id("deleted User", id)?;
        self.store.purge(caller.principal.tenant, id).await.map_err(|e| match e {
            StoreError::NotFound => ScimError::not_found("deleted User", id),
            e => e.into(),
        })
    }
}
