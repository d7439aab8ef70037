//! The operator's work on tenants, tokens and verified domains, and the lookups the command
//! line needs (a license by part number, a user by id or name); shared with `/Admin`.
//!
//! Functions without a `Caller` act across tenants: only the command line reaches them.

use time::OffsetDateTime;

use crate::auth::{generate_secret, hash_secret};
use crate::scim::error::{Result, ScimError};
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::service::{Caller, ListParams, Resource, Service};
use crate::store::{Actor, NewToken, ResourceId, Scope, StoreError, TenantId, TenantInfo, TokenId, TokenRecord};

/// The tenant bootstrap tokens and commands use when none is named; it always exists.
pub const DEFAULT_TENANT: &str = "default";

impl Service {
    /// The tenant called `name`, which must exist; the default tenant always does.
    pub async fn tenant(&self, name: &str) -> Result<TenantId> {
        if name == DEFAULT_TENANT {
            return Ok(self.store.ensure_tenant(DEFAULT_TENANT).await?);
        }
        self.store.find_tenant(name).await?.ok_or_else(|| {
            ScimError::new(404, None, format!("no tenant called {name:?}; create it with `scimd tenant add {name}`"))
        })
    }

    pub async fn add_tenant(&self, name: &str) -> Result<TenantId> {
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err(ScimError::invalid_value(format!("{name:?} is not a tenant name")));
        }
        if self.store.find_tenant(name).await?.is_some() {
            return Err(ScimError::new(409, None, format!("tenant {name:?} already exists")));
        }
        Ok(self.store.ensure_tenant(name).await?)
    }

    /// Every tenant with how many users and groups it holds.
    pub async fn tenants(&self) -> Result<Vec<TenantInfo>> {
        Ok(self.store.list_tenants().await?)
    }

    /// Removes a tenant with its tokens; with its users and groups only when `force`, else one
    /// that holds any is refused (409), counted in the removing transaction.
    pub async fn remove_tenant(&self, name: &str, force: bool) -> Result<()> {
        let tenant = self.store.find_tenant(name).await?.ok_or_else(|| {
            ScimError::new(404, None, format!("no tenant called {name:?}; `scimd tenant list` shows them"))
        })?;
        self.store.remove_tenant(tenant, force).await.map_err(|e| match e {
            StoreError::TenantNotEmpty { users, groups } => ScimError::new(
                409,
                None,
                format!(
                    "tenant {name:?} holds {users} users and {groups} groups (deleted ones included); \
                     add --force to remove them with it"
                ),
            ),
            e => e.into(),
        })
    }

    /// The tokens of one tenant, or of all, oldest first, never their secrets.
    pub async fn all_tokens(&self, tenant: Option<TenantId>) -> Result<Vec<TokenRecord>> {
        Ok(self.store.list_tokens(tenant).await?)
    }

    /// Revokes any token, the last admin token of its tenant included.
    pub async fn revoke_any_token(&self, id: TokenId) -> Result<()> {
        self.store.revoke_token(id, &Actor::system("command line")).await.map_err(|e| match e {
            StoreError::NotFound => {
                ScimError::new(404, None, format!("no token with id {id}; `scimd token list` shows them"))
            }
            e => e.into(),
        })
    }

    /// Makes sure someone can sign in: the given bootstrap secret becomes an admin token of the
    /// default tenant, or, with none given and no token at all, a new one is made and returned.
    /// A bootstrap secret whose token was revoked is refused: a restart must not bring back a
    /// token an administrator took away.
    pub async fn bootstrap(&self, secret: Option<&str>) -> Result<Option<String>> {
        let tenant = self.store.ensure_tenant(DEFAULT_TENANT).await?;
        let admin = |secret: &str| NewToken {
            name: "bootstrap".into(),
            secret_hash: hash_secret(secret),
            scopes: vec![Scope::Admin],
            expires: None,
            rate_limit: None,
        };
        match secret {
            Some(secret) if secret.trim().is_empty() => Err(ScimError::invalid_value("--bootstrap-token is empty")),
            Some(secret) => match self.store.find_token(&hash_secret(secret)).await? {
                None => {
                    self.store.create_token(tenant, admin(secret), &Actor::system("bootstrap")).await?;
                    Ok(None)
                }
                Some(t) if t.revoked => Err(ScimError::new(
                    409,
                    None,
                    format!(
                        "the bootstrap token (id {}, {:?}) has been revoked; start without --bootstrap-token / \
                         SCIMD_BOOTSTRAP_TOKEN, or with a new secret",
                        t.id, t.name
                    ),
                )),
                Some(_) => Ok(None),
            },
            None if !self.store.has_tokens().await? => {
                let secret = generate_secret();
                self.store.create_token(tenant, admin(&secret), &Actor::system("bootstrap")).await?;
                Ok(Some(secret))
            }
            None => Ok(None),
        }
    }

    /// Removes, in every tenant, users deleted before `before`; returns how many.
    pub async fn purge_deleted_before(&self, before: OffsetDateTime) -> Result<u64> {
        Ok(self.store.purge_deleted_before(before, &crate::store::Actor::system("retention")).await?)
    }

    /// Copies the whole database, every tenant, to `file` while the server goes on serving.
    /// The copy is written beside it first and renamed when whole, so a file by that name is
    /// always a complete backup; an existing file is never overwritten.
    pub async fn backup(&self, file: &std::path::Path) -> Result<()> {
        let refuse = |why: String| Err(ScimError::invalid_value(why));
        if file.exists() {
            return refuse(format!(
                "{} already exists; a backup never overwrites a file: name a new one",
                file.display()
            ));
        }
        let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
            return refuse(format!("{} is not a file name", file.display()));
        };
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
            return refuse(format!("the directory {} does not exist", dir.display()));
        }
        let partial = file.with_file_name(format!(".{name}.partial"));
        let Some(partial_text) = partial.to_str() else {
            return refuse(format!("{} is not a UTF-8 path", file.display()));
        };
        // A copy left by a backup that was killed midway is never the start of another.
        let _ = std::fs::remove_file(&partial);
        let copied = self.store.backup_into(partial_text).await;
        let renamed = copied.map_err(|e| match e {
            StoreError::Unsupported(why) => ScimError::invalid_value(why),
            e => ScimError::new(500, None, format!("the backup to {} failed: {e}", file.display())),
        });
        // SQLite does not flush the copy it writes: flush it, then its name, so that a backup
        // said to be made survives a power cut.
        let renamed = renamed.and_then(|()| {
            let durable = std::fs::File::open(&partial)
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::rename(&partial, file))
                .and_then(|()| match file.parent().filter(|p| !p.as_os_str().is_empty()) {
                    Some(dir) => std::fs::File::open(dir).and_then(|d| d.sync_all()),
                    None => std::fs::File::open(".").and_then(|d| d.sync_all()),
                });
            durable.map_err(|e| ScimError::new(500, None, format!("cannot write the backup {}: {e}", file.display())))
        });
        if renamed.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        renamed
    }

    /// The tenant's verified domains, and whether each is the initial one.
    pub async fn domains(&self, caller: &Caller) -> Result<Vec<(String, bool)>> {
        caller.principal.require(Scope::Admin)?;
        Ok(self.store.domains(caller.principal.tenant).await?)
    }

    pub async fn add_domain(&self, caller: &Caller, domain: &str, initial: bool) -> Result<()> {
        caller.principal.require(Scope::Admin)?;
        if !domain.contains('.') || domain.contains('@') || domain.contains(char::is_whitespace) {
            return Err(ScimError::invalid_value(format!("{domain:?} is not a domain name such as contoso.com")));
        }
        Ok(self.store.add_domain(caller.principal.tenant, domain, initial, &caller.actor()).await?)
    }

    pub async fn remove_domain(&self, caller: &Caller, domain: &str) -> Result<()> {
        caller.principal.require(Scope::Admin)?;
        self.store.remove_domain(caller.principal.tenant, domain, &caller.actor()).await.map_err(|e| match e {
            StoreError::NotFound => ScimError::new(
                404,
                None,
                format!("{domain} is not a verified domain of {:?}", caller.principal.tenant_name),
            ),
            e => e.into(),
        })
    }

    /// The License with this part number.
    pub async fn license_by_part_number(&self, caller: &Caller, part: &str) -> Result<Resource> {
        let filter = format!("partNumber eq {}", serde_json::Value::String(part.to_owned()));
        self.only(caller, ResourceKind::License, filter).await?.ok_or_else(|| {
            ScimError::new(404, None, format!("tenant {:?} has no license {part:?}", caller.principal.tenant_name))
        })
    }

    /// The user `key` names: its id, or else its userName.
    pub async fn user_by_id_or_name(&self, caller: &Caller, key: &str) -> Result<Resource> {
        let filter = format!("id eq {0} or userName eq {0}", serde_json::Value::String(key.to_owned()));
        self.only(caller, ResourceKind::User, filter).await?.ok_or_else(|| {
            ScimError::new(
                404,
                None,
                format!("tenant {:?} has no user with id or userName {key:?}", caller.principal.tenant_name),
            )
        })
    }

    pub(super) async fn only(&self, caller: &Caller, kind: ResourceKind, filter: String) -> Result<Option<Resource>> {
        let params = ListParams { filter: Some(filter), count: Some(1), ..Default::default() };
        Ok(self.list(caller, kind, &params).await?.resources.into_iter().next())
    }

    /// Blocks (`false`) or allows (`true`) a user's sign-in, as a PATCH of `active` would.
    pub async fn set_active(&self, caller: &Caller, id: &ResourceId, active: bool) -> Result<Resource> {
        let patch = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "path": "active", "value": active }],
        });
        self.patch(caller, ResourceKind::User, id.as_str(), None, patch, &Projection::Default).await
    }

    /// Sets a License's number of seats, as a PATCH of `seats` would.
    pub async fn set_seats(&self, caller: &Caller, id: &ResourceId, seats: i64) -> Result<Resource> {
        let patch = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "path": "seats", "value": seats }],
        });
        self.patch(caller, ResourceKind::License, id.as_str(), None, patch, &Projection::Default).await
    }
}
