//! Verifies a request's credentials against the store: the `Authorization` header's secret,
//! hashed and looked up, with a short-lived cache that keeps the hot path off the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::auth::{hash_secret, parse_authorization, Credential, Principal};
use crate::scim::error::ScimError;
use crate::store::{Store, TokenRecord, TokenState};

/// How long a verified token is trusted without asking the store again, unless configured:
/// a revoked token stops working within this time.
pub const TOKEN_CACHE_LIFETIME: Duration = Duration::from_secs(2);

/// Verifies credentials against the store.
pub struct Authenticator {
    store: Arc<dyn Store>,
    cache: Mutex<HashMap<String, (Instant, TokenRecord)>>,
    lifetime: Duration,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Authenticator { store, cache: Mutex::new(HashMap::new()), lifetime: TOKEN_CACHE_LIFETIME }
    }

    /// The same authenticator trusting a verified token for `lifetime` (zero: never cached).
    pub fn with_cache_lifetime(self, lifetime: Duration) -> Self {
        Authenticator { lifetime, ..self }
    }

    pub async fn authenticate(&self, header: Option<&str>) -> Result<Principal, ScimError> {
        let missing = || ScimError::unauthorized("authentication required: send Authorization: Bearer <token>");
        let credential = parse_authorization(header.ok_or_else(missing)?).ok_or_else(missing)?;
        let (secret, basic_user) = match credential {
            Credential::Token(t) => (t, None),
            Credential::Basic { user, password } => (password, Some(user)),
        };
        let hash = hash_secret(&secret);
        let record = self.lookup(&hash).await?;
        let invalid = || ScimError::unauthorized("the token is not valid: it is unknown, revoked or expired");
        let Some(record) = record else { return Err(invalid()) };
        // The lookup was by hash; compare again in constant time so no timing tells how much matched.
        if !bool::from(record.secret_hash.as_bytes().ct_eq(hash.as_bytes()))
            || record.state(OffsetDateTime::now_utc()) != TokenState::Active
        {
            return Err(invalid());
        }
        if let Some(user) = basic_user {
            if !bool::from(user.as_bytes().ct_eq(record.tenant_name.as_bytes())) {
                return Err(invalid());
            }
        }
        Ok(principal(record))
    }

    async fn lookup(&self, hash: &str) -> Result<Option<TokenRecord>, ScimError> {
        if let Ok(cache) = self.cache.lock() {
            if let Some((at, rec)) = cache.get(hash) {
                if at.elapsed() < self.lifetime {
                    return Ok(Some(rec.clone()));
                }
            }
        }
        let record = self.store.find_token(hash).await.map_err(ScimError::internal)?;
        if let Some(rec) = &record {
            // At most once per cache period per token, off the request's path.
            let (store, id) = (self.store.clone(), rec.id);
            tokio::spawn(async move {
                if let Err(e) = store.touch_token(id).await {
                    tracing::warn!(error = %e, "could not record a token's last use");
                }
            });
        }
        if let (Some(rec), Ok(mut cache)) = (&record, self.cache.lock()) {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(hash.to_owned(), (Instant::now(), rec.clone()));
        }
        Ok(record)
    }
}

/// The principal a verified token stands for.
pub(crate) fn principal(record: TokenRecord) -> Principal {
    Principal {
        tenant: record.tenant,
        tenant_name: record.tenant_name,
        token_id: record.id,
        token_name: record.name,
        scopes: record.scopes,
        rate_limit: record.rate_limit,
    }
}
