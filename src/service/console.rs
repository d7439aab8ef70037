//! Admin-center sessions in the store, so every process behind a load balancer knows them and
//! a restart keeps them: opened for a verified admin token, found by the hash of their id.

use std::time::Duration;

use time::OffsetDateTime;

use crate::auth::{hash_secret, random_token, Principal};
use crate::scim::error::Result;
use crate::service::authenticator::principal;
use crate::service::Service;
use crate::store::{NewSession, TokenState};

/// A session nobody has used for this long is signed out.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// A session's expiry is moved on by a request at most this often, not written on every one.
const RENEW_AFTER: Duration = Duration::from_secs(60);
/// Sessions one token keeps at most; beyond it, the ones that would expire first go.
pub const SESSIONS_PER_TOKEN: u64 = 100;

/// A session that a request's cookie names, as it stands after the request has used it.
pub struct ConsoleSession {
    pub principal: Principal,
    pub csrf: String,
    /// The message left for this page, taken when asked for: no other page shows it.
    pub flash: Option<String>,
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Service {
    /// Opens a session for a principal whose token was just verified; returns its id, which
    /// only the browser keeps: the store holds its hash.
    #[tracing::instrument(skip_all, fields(token = %principal.token_id))]
    pub async fn open_console_session(&self, principal: &Principal) -> Result<String> {
        let id = random_token();
        let now = now_ms();
        let new = NewSession {
            id_hash: hash_secret(&id),
            token: principal.token_id,
            csrf: random_token(),
            expires_at: now.saturating_add(millis(SESSION_IDLE)),
        };
        self.store.open_session(&new, now, SESSIONS_PER_TOKEN).await?;
        Ok(id)
    }

    /// The session `id` names, unless it is unknown, idle too long, or its token no longer
    /// works (then it ends); `take_flash` takes its message for the page being shown.
    #[tracing::instrument(skip_all)]
    pub async fn console_session(&self, id: &str, take_flash: bool) -> Result<Option<ConsoleSession>> {
        let hash = hash_secret(id);
        let now = now_ms();
        let Some(session) = self.store.session(&hash, now).await? else { return Ok(None) };
        if session.token.state(OffsetDateTime::now_utc()) != TokenState::Active {
            self.store.close_session(&hash).await?;
            return Ok(None);
        }
        let renewed = now.saturating_add(millis(SESSION_IDLE));
        if renewed - session.expires_at >= millis(RENEW_AFTER) {
            self.store.touch_session(&hash, renewed).await?;
            self.store.touch_token(session.token.id).await?;
        }
        let flash = match session.flash {
            Some(flash) if take_flash => {
                self.store.set_session_flash(&hash, None).await?;
                Some(flash)
            }
            _ => None,
        };
        Ok(Some(ConsoleSession { principal: principal(session.token), csrf: session.csrf, flash }))
    }

    /// Leaves a message for the session's next page.
    #[tracing::instrument(skip_all)]
    pub async fn set_console_flash(&self, id: &str, message: &str) -> Result<()> {
        Ok(self.store.set_session_flash(&hash_secret(id), Some(message)).await?)
    }

    /// Ends the session `id` on every process.
    #[tracing::instrument(skip_all)]
    pub async fn close_console_session(&self, id: &str) -> Result<()> {
        Ok(self.store.close_session(&hash_secret(id)).await?)
    }

    /// Removes the sessions idle too long; returns how many.
    pub async fn purge_console_sessions(&self) -> Result<u64> {
        Ok(self.store.purge_sessions(now_ms()).await?)
    }
}
