//! Paging cursors (RFC 9865): opaque to clients, tamper-evident (HMAC-SHA-256 with a key the
//! processes sharing a database share), bound to the query they page through, and expiring.
//!
//! Pure: the caller supplies the key and the clock.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::scim::error::{ScimError, ScimType};

/// How long a cursor stays valid, in seconds (advertised as `cursorTimeout`).
pub const CURSOR_TIMEOUT_SECS: i64 = 3600;

/// What a cursor remembers: where the previous page ended, and which query it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The resource type's name.
    #[serde(rename = "k")]
    pub kind: String,
    /// The creation-order position of the last resource returned.
    #[serde(rename = "a")]
    pub after: i64,
    /// A digest of the filter, so a cursor cannot be replayed against another query.
    #[serde(rename = "q")]
    pub query: String,
    /// Issue time, seconds since the Unix epoch.
    #[serde(rename = "t")]
    pub issued: i64,
}

/// The digest of a query's filter that a cursor is bound to.
pub fn query_digest(filter: Option<&str>) -> String {
    let digest = Sha256::digest(filter.unwrap_or("").trim().as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..12])
}

fn mac(key: &[u8], payload: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(payload.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

pub fn encode(key: &[u8], position: &Position) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default());
    let tag = URL_SAFE_NO_PAD.encode(mac(key, &payload));
    format!("{payload}.{tag}")
}

fn invalid() -> ScimError {
    ScimError::new(
        400,
        Some(ScimType::InvalidCursor),
        "the cursor is not valid for this query: start again with cursor= (empty) and the same filter",
    )
}

/// Reads a cursor this server issued for `kind` and `query`, at time `now`.
pub fn decode(key: &[u8], cursor: &str, kind: &str, query: &str, now: i64) -> Result<Position, ScimError> {
    let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    let mut m = Hmac::<Sha256>::new_from_slice(key).map_err(|_| invalid())?;
    m.update(payload.as_bytes());
    m.verify_slice(&tag).map_err(|_| invalid())?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let position: Position = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if position.kind != kind || position.query != query {
        return Err(invalid());
    }
    if now - position.issued > CURSOR_TIMEOUT_SECS {
        return Err(ScimError::new(
            400,
            Some(ScimType::ExpiredCursor),
            format!("the cursor is older than {CURSOR_TIMEOUT_SECS} seconds; start again with cursor= (empty)"),
        ));
    }
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos() -> Position {
        Position { kind: "User".into(), after: 42, query: query_digest(Some("userName sw \"a\"")), issued: 1000 }
    }

    #[test]
    fn a_cursor_round_trips_for_its_own_query() {
        let c = encode(b"key", &pos());
        assert_eq!(decode(b"key", &c, "User", &pos().query, 1001).unwrap(), pos());
    }

    #[test]
    fn tampered_foreign_or_misapplied_cursors_are_invalid() {
        let c = encode(b"key", &pos());
        let other = Position { after: 43, ..pos() };
        let forged = format!("{}.{}", encode(b"key", &other).split_once('.').unwrap().0, c.split_once('.').unwrap().1);
        for (key, cursor, kind, query) in [
            (&b"key"[..], forged.as_str(), "User", pos().query),
            (b"other", c.as_str(), "User", pos().query),
            (b"key", c.as_str(), "Group", pos().query),
            (b"key", c.as_str(), "User", query_digest(None)),
            (b"key", "garbage", "User", pos().query),
        ] {
            let err = decode(key, cursor, kind, &query, 1001).unwrap_err();
            assert_eq!(err.scim_type, Some(ScimType::InvalidCursor));
        }
    }

    #[test]
    fn old_cursors_expire() {
        let c = encode(b"key", &pos());
        let err = decode(b"key", &c, "User", &pos().query, 1000 + CURSOR_TIMEOUT_SECS + 1).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::ExpiredCursor));
    }
}
