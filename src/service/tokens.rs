//! Tokens over HTTP (`/scim/v2/Admin/Tokens`): an admin lists, creates and revokes the tokens
//! of its own tenant, as `scimd token` does at the command line. Secrets are shown once.

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::auth::{generate_secret, hash_secret, parse_lifetime};
use crate::scim::error::{Result, ScimError};
use crate::scim::resource::format_datetime;
use crate::service::{Caller, Service};
use crate::store::{NewToken, Scope, StoreError, TokenRecord};

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The schema of a token as `/Admin/Tokens` shows it.
pub const TOKEN_SCHEMA: &str = "urn:scimd:api:messages:2.0:Token";

fn token_json(caller: &Caller, t: &TokenRecord) -> Value {
    json!({
        "schemas": [TOKEN_SCHEMA],
        "id": t.id.to_string(),
        "name": t.name,
        "scopes": t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "created": format_datetime(t.created),
        "expires": t.expires.map(format_datetime),
        "lastUsed": t.last_used.map(format_datetime),
        "status": t.state(OffsetDateTime::now_utc()),
        "meta": { "resourceType": "Token", "location": format!("{}/Admin/Tokens/{}", caller.base_url, t.id) },
    })
}

/// A token creation request: `name`, `scopes` and an optional `expires` lifetime.
fn parse_new_token(body: Value) -> Result<NewToken> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("send a JSON object with name, scopes and optionally expires"));
    };
    let (mut name, mut scopes, mut expires) = ("http".to_owned(), Vec::new(), None);
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
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "unknown attribute {key:?}; a token takes name, scopes and expires"
                )))
            }
        }
    }
    if scopes.is_empty() {
        return Err(ScimError::invalid_value("scopes is required: one or more of read, write, sync, admin"));
    }
    Ok(NewToken { name, secret_hash: String::new(), scopes, expires, rate_limit: None })
}

impl Service {
    /// The tenant's tokens, oldest first, never their secrets.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn tokens(&self, caller: &Caller) -> Result<Value> {
        caller.principal.require(Scope::Admin)?;
        let tokens = self.store.list_tokens(Some(caller.principal.tenant)).await?;
        let resources: Vec<Value> = tokens.iter().map(|t| token_json(caller, t)).collect();
        Ok(json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }))
    }

    /// Creates a token of the caller's tenant; the answer holds its secret, the only time it is
    /// shown. Returns the token and its location.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn create_token(&self, caller: &Caller, body: Value) -> Result<(Value, String)> {
        caller.principal.require(Scope::Admin)?;
        let mut new = parse_new_token(body)?;
        let secret = generate_secret();
        new.secret_hash = hash_secret(&secret);
        let token = self.store.create_token(caller.principal.tenant, new).await?;
        let mut body = token_json(caller, &token);
        body["secret"] = json!(secret);
        let location = format!("{}/Admin/Tokens/{}", caller.base_url, token.id);
        Ok((body, location))
    }

    /// Revokes a token of the caller's tenant; other tenants' tokens do not exist here (404).
    /// The tenant's last active admin token stays (409), or nobody could manage the tenant over
    /// HTTP any more; the command line can still revoke it.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, id = %id))]
    pub async fn revoke_token(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.principal.require(Scope::Admin)?;
        let not_found = || ScimError::not_found("Token", id);
        let token_id: i64 = id.parse().map_err(|_| not_found())?;
        self.store.revoke_tenant_token(caller.principal.tenant, token_id).await.map_err(|e| match e {
            StoreError::NotFound => not_found(),
            e => e.into(),
        })
    }
}
