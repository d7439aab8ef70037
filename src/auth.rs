//! Credentials with no I/O: tenants, tokens and their scopes, token secrets (generated, hashed
//! as SHA-256), the `Authorization` header forms clients send, and the `Principal` a request
//! acts as.
//!
//! `service::Authenticator` checks them against the store.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use time::OffsetDateTime;

use crate::scim::error::ScimError;

/// A tenant: an organisation whose data no other tenant's tokens can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(pub i64);

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A token's key: what `scimd token list` and `/Admin/Tokens` show as its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(pub i64);

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Token scopes (DESIGN.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Read,
    Write,
    Sync,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Sync => "sync",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "sync" => Some(Scope::Sync),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// A token as the store keeps it: the secret only as a hash.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: TokenId,
    pub tenant: TenantId,
    pub tenant_name: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: Vec<Scope>,
    pub created: OffsetDateTime,
    pub expires: Option<OffsetDateTime>,
    pub last_used: Option<OffsetDateTime>,
    pub revoked: bool,
    /// Requests per second this token may make, instead of the server's `--rate-limit`.
    pub rate_limit: Option<u32>,
}

impl TokenRecord {
    /// The token's state at `now`; only an active token is accepted.
    pub fn state(&self, now: OffsetDateTime) -> TokenState {
        if self.revoked {
            TokenState::Revoked
        } else if self.expires.is_some_and(|e| e <= now) {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }
}

/// Whether a token is accepted at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

impl TokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Active => "active",
            TokenState::Expired => "expired",
            TokenState::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub secret_hash: String,
    pub scopes: Vec<Scope>,
    pub expires: Option<OffsetDateTime>,
    /// Requests per second this token may make, instead of the server's `--rate-limit`.
    pub rate_limit: Option<u32>,
}

/// Who a request acts as.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: TenantId,
    pub tenant_name: String,
    pub token_id: TokenId,
    /// The token's name, for logs (never its secret).
    pub token_name: String,
    pub scopes: Vec<Scope>,
    /// The token's own request rate, overriding the server's.
    pub rate_limit: Option<u32>,
}

impl Principal {
    /// `admin` allows everything; `sync` (the on-premises connector) reads and writes.
    pub fn allows(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|s| {
            *s == needed
                || *s == Scope::Admin
                || (*s == Scope::Sync && matches!(needed, Scope::Read | Scope::Write))
                || (*s == Scope::Write && needed == Scope::Read)
        })
    }

    /// The on-premises directory connector: what it writes is marked as synchronized, and only
    /// it may change or delete such users.
    pub fn is_sync_connector(&self) -> bool {
        self.scopes.contains(&Scope::Sync)
    }

    pub fn require(&self, needed: Scope) -> Result<(), ScimError> {
        if self.allows(needed) {
            Ok(())
        } else {
            Err(ScimError::forbidden(format!(
                "this token does not have the {} scope needed for this operation; create a token with --scope {}",
                needed.as_str(),
                needed.as_str()
            )))
        }
    }
}

/// 32 random bytes, base64url: an admin-center session id or a CSRF token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new random secret: 32 bytes, URL-safe base64, with a recognisable prefix.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("scimd_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The longest lifetime accepted: 100 years, far past any real token or retention, and far
/// from the overflow of date arithmetic.
pub const MAX_LIFETIME_DAYS: i64 = 36_500;

/// A lifetime such as `90d`, `12h` or `30m` (a token's, or the deleted-user retention), of at
/// most `MAX_LIFETIME_DAYS`.
pub fn parse_lifetime(s: &str) -> Option<time::Duration> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    let minutes = match unit {
        "d" => n.checked_mul(24 * 60)?,
        "h" => n.checked_mul(60)?,
        "m" => n,
        _ => return None,
    };
    (minutes <= MAX_LIFETIME_DAYS * 24 * 60).then(|| time::Duration::minutes(minutes))
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(secret.as_bytes());
    // Every request pays this: one pass, no formatting machinery.
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

/// The credential in an `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub enum Credential {
    /// `Bearer <token>`, or the bare token (Okta's "Header" mode).
    Token(String),
    /// HTTP Basic: the user is the tenant name, the password a token secret.
    Basic { user: String, password: String },
}

pub fn parse_authorization(header: &str) -> Option<Credential> {
    let header = header.trim();
    if header.eq_ignore_ascii_case("bearer") || header.eq_ignore_ascii_case("basic") {
        return None;
    }
    let (scheme, rest) = header.split_once(' ').unwrap_or(("", header));
    if scheme.eq_ignore_ascii_case("bearer") {
        let token = rest.trim();
        return (!token.is_empty()).then(|| Credential::Token(token.to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let creds = http_auth_basic::Credentials::from_header(format!("Basic {}", rest.trim())).ok()?;
        return Some(Credential::Basic { user: creds.user_id, password: creds.password });
    }
    (!header.is_empty() && !header.contains(' ')).then(|| Credential::Token(header.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_forms_real_clients_send() {
        assert_eq!(parse_authorization("Bearer abc"), Some(Credential::Token("abc".into())));
        assert_eq!(parse_authorization("bearer  abc "), Some(Credential::Token("abc".into())));
        assert_eq!(parse_authorization("abc"), Some(Credential::Token("abc".into())));
        assert_eq!(
            parse_authorization("Basic ZGVmYXVsdDpzM2NyZXQ="),
            Some(Credential::Basic { user: "default".into(), password: "s3cret".into() })
        );
        assert_eq!(parse_authorization("Bearer "), None);
        assert_eq!(parse_authorization("Digest x y"), None);
    }

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a, b);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_eq!(hash_secret("").len(), 64);
        // The stored form is lowercase hex of SHA-256 (FIPS 180-2's "abc" vector).
        assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn scopes_imply_what_they_should() {
        let p = |s: Vec<Scope>| Principal {
            tenant: TenantId(1),
            tenant_name: "t".into(),
            token_id: TokenId(1),
            token_name: "t".into(),
            scopes: s,
            rate_limit: None,
        };
        assert!(p(vec![Scope::Write]).allows(Scope::Read));
        assert!(!p(vec![Scope::Read]).allows(Scope::Write));
        assert!(p(vec![Scope::Sync]).allows(Scope::Write));
        assert!(!p(vec![Scope::Sync]).allows(Scope::Admin));
        assert!(p(vec![Scope::Admin]).allows(Scope::Sync));
    }
}
