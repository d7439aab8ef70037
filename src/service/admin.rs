//! Administration of soft-deleted users (DESIGN.md §4 "delete and restore"): list them with
//! their deletion time, bring one back, or purge it for good. Admin scope only.

use crate::scim::error::{Result, ScimError};
use crate::service::{Caller, ListPage, ListParams, Resource, Service, MAX_PAGE};
use crate::store::{AuditEntry, Operation, ResourceId, Scope, StoreError};

impl Service {
    /// Soft-deleted users, oldest deletion first, each with its deletion time.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn deleted_users(&self, caller: &Caller, params: &ListParams) -> Result<ListPage> {
        caller.principal.require(Scope::Admin)?;
        let start = params.start_index.unwrap_or(1).max(1) as u64;
        let count = (params.count.unwrap_or(MAX_PAGE as i64).max(0) as u64).min(MAX_PAGE);
        let (total, items) = self.store.list_deleted(caller.principal.tenant, start, count).await?;
        let resources = items
            .into_iter()
            .map(|(stored, deleted)| Resource {
                stored,
                changed: false,
                members_streamed: false,
                deleted: Some(deleted),
            })
            .collect();
        Ok(ListPage { total, start_index: Some(start), resources, next_cursor: None })
    }

    /// Brings a soft-deleted user back. Group memberships were dropped at deletion and stay so.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn restore_user(&self, caller: &Caller, id: &str) -> Result<Resource> {
        caller.principal.require(Scope::Admin)?;
        let id = &ResourceId::parse("deleted User", id)?;
        let audit = AuditEntry::new(&caller.actor(), Operation::Restore, serde_json::json!({}));
        let stored = self.store.restore(caller.principal.tenant, id, &audit).await.map_err(|e| match e {
            StoreError::NotFound => ScimError::not_found("deleted User", id.as_str()),
            StoreError::Conflict { attribute, value } => ScimError::new(
                409,
                Some(crate::scim::error::ScimType::Uniqueness),
                format!("cannot restore: {attribute} \"{value}\" has been given to another user since; rename or delete that user first"),
            ),
            e => e.into(),
        })?;
        Ok(Resource { stored, changed: true, members_streamed: false, deleted: None })
    }

    /// Removes a soft-deleted user for good.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn purge_user(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.principal.require(Scope::Admin)?;
        let id = &ResourceId::parse("deleted User", id)?;
        let audit = AuditEntry::new(&caller.actor(), Operation::Purge, serde_json::json!({}));
        self.store.purge(caller.principal.tenant, id, &audit).await.map_err(|e| match e {
            StoreError::NotFound => ScimError::not_found("deleted User", id.as_str()),
            e => e.into(),
        })
    }
}
