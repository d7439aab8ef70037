//! Tokens over HTTP (`/scim/v2/Admin/Tokens`): an admin lists, creates and revokes the tokens
//! of its own tenant, as `scimd token` does at the command line. Secrets are shown once.

use serde_json::Value;
use time::OffsetDateTime;

use crate::auth::{generate_secret, hash_secret, parse_lifetime};
use crate::scim::error::{Result, ScimError};
use crate::service::{Caller, Service};
use crate::store::{NewToken, Scope, StoreError, TokenId, TokenRecord};

/// A token creation request: `name`, `scopes`, an optional `expires` lifetime and an optional
/// `rateLimit` (requests per second, instead of the server's `--rate-limit`), as `scimd token
/// create` takes them.
fn parse_new_token(body: Value) -> Result<NewToken> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax(
            "send a JSON object with name, scopes and optionally expires and rateLimit",
        ));
    };
    let (mut name, mut scopes, mut expires, mut rate_limit) = ("http".to_owned(), Vec::new(), None, None);
    for (key, value) in body {
        match key.to_ascii_lowercase().as_str() {
            "schemas" => {}
            "name" => {
                name = value
                    .as_str()
                    .filter(|n| !n.trim().is_empty())
                    .ok_or_else(|| ScimError::invalid_value("name must be a non-empty string"))?
                    .to_owned()
            }
            "scopes" => {
                let items = value.as_array().ok_or_else(|| {
                    ScimError::invalid_syntax("scopes must be an array such as [\"read\", \"write\"]")
                })?;
                for item in items {
                    let s = item.as_str().unwrap_or_default();
                    scopes.push(Scope::parse(s).ok_or_else(|| {
                        ScimError::invalid_value(format!("unknown scope {item}: use read, write, sync or admin"))
                    })?);
                }
            }
            "expires" => {
                let text = value.as_str().unwrap_or_default();
                let lifetime = parse_lifetime(text).ok_or_else(|| {
                    ScimError::invalid_value(format!(
                        "expires {value} is not a lifetime such as \"90d\", \"12h\" or \"30m\" of at most {} days",
                        crate::auth::MAX_LIFETIME_DAYS
                    ))
                })?;
                expires = Some(OffsetDateTime::now_utc() + lifetime);
            }
            "ratelimit" => {
                let rate = value.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n >= 1);
                rate_limit = Some(rate.ok_or_else(|| {
                    ScimError::invalid_value(format!(
                        "rateLimit {value} is not a whole number of requests per second from 1 to {}",
                        u32::MAX
                    ))
                })?);
            }
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "unknown attribute {key:?}; a token takes name, scopes, expires and rateLimit"
                )))
            }
        }
    }
    if scopes.is_empty() {
        return Err(ScimError::invalid_value("scopes is required: one or more of read, write, sync, admin"));
    }
    Ok(NewToken { name, secret_hash: String::new(), scopes, expires, rate_limit })
}

impl Service {
    /// The tenant's tokens, oldest first, never their secrets.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn tokens(&self, caller: &Caller) -> Result<Vec<TokenRecord>> {
        caller.principal.require(Scope::Admin)?;
        Ok(self.store.list_tokens(Some(caller.principal.tenant)).await?)
    }

    /// Creates a token of the caller's tenant from a request body; returns it with its secret,
    /// which is shown this once and never stored.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn create_token(&self, caller: &Caller, body: Value) -> Result<(TokenRecord, String)> {
        caller.principal.require(Scope::Admin)?;
        let new = parse_new_token(body)?;
        self.issue_token(caller, new.name, new.scopes, new.expires, new.rate_limit).await
    }

    /// Issues a token of the caller's tenant: a fresh secret, stored only as its hash.
    pub async fn issue_token(
        &self,
        caller: &Caller,
        name: String,
        scopes: Vec<Scope>,
        expires: Option<OffsetDateTime>,
        rate_limit: Option<u32>,
    ) -> Result<(TokenRecord, String)> {
        caller.principal.require(Scope::Admin)?;
        let secret = generate_secret();
        let new = NewToken { name, secret_hash: hash_secret(&secret), scopes, expires, rate_limit };
        let token = self.store.create_token(caller.principal.tenant, new, &caller.actor()).await?;
        Ok((token, secret))
    }

    /// Revokes a token of the caller's tenant; other tenants' tokens do not exist here (404).
    /// The tenant's last active admin token stays (409), or nobody could manage the tenant over
    /// HTTP any more; the command line can still revoke it.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn revoke_token(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.principal.require(Scope::Admin)?;
        let not_found = || ScimError::not_found("Token", id);
        let token_id = TokenId(id.parse().map_err(|_| not_found())?);
        self.store.revoke_tenant_token(caller.principal.tenant, token_id, &caller.actor()).await.map_err(|e| match e {
            StoreError::NotFound => not_found(),
            e => e.into(),
        })
    }
}
