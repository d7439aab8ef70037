//! SCIM events (RFC 9967): what a committed write becomes as a Security Event Token (RFC 8417),
//! built from the write's audit line, and the HS256 signature push delivery puts on it.
//!
//! Pure: the store keeps the audit lines, the service reads them and delivers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::scim::schema::ResourceKind;

pub const CREATE: &str = "urn:ietf:params:SCIM:event:prov:create:notice";
pub const PUT: &str = "urn:ietf:params:SCIM:event:prov:put:notice";
pub const PATCH: &str = "urn:ietf:params:SCIM:event:prov:patch:notice";
pub const DELETE: &str = "urn:ietf:params:SCIM:event:prov:delete";
pub const ACTIVATE: &str = "urn:ietf:params:SCIM:event:prov:activate";
pub const DEACTIVATE: &str = "urn:ietf:params:SCIM:event:prov:deactivate";

/// Every event type scimd sends; a subscription names a subset of these.
pub const ALL: [&str; 6] = [CREATE, PUT, PATCH, DELETE, ACTIVATE, DEACTIVATE];

/// The event type a subscription names: its URI, or the short name `create`, `put`, `patch`,
/// `delete`, `activate` or `deactivate`, in any case.
pub fn event_type(name: &str) -> Option<&'static str> {
    ALL.into_iter().find(|uri| uri.eq_ignore_ascii_case(name) || short_name(uri).eq_ignore_ascii_case(name))
}

/// `create` for `…:prov:create:notice`, `delete` for `…:prov:delete`.
fn short_name(uri: &str) -> &str {
    let rest = uri.trim_start_matches("urn:ietf:params:SCIM:event:prov:");
    rest.split(':').next().unwrap_or(rest)
}

/// The kind of write an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// A create, or a soft-deleted user restored: the resource appears.
    Create,
    Put,
    Patch,
    Delete,
}

/// The event a committed write raises, as read back from its audit line.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Where the write stands in the tenant's commit order; the `jti` is made from it.
    pub seq: i64,
    /// When the write committed, in seconds since the epoch, and its milliseconds.
    pub at_millis: i64,
    pub kind: ResourceKind,
    pub id: &'a str,
    pub write: Write,
    /// The audit line's changes: `{"attr": {"before": …, "after": …}}`, and for a create the
    /// identifying values and `"set"`, the names of the others.
    pub changes: &'a Value,
}

impl Event<'_> {
    /// Unique and stable: the same write always has the same `jti`, however often it is sent.
    /// The position comes first so that an acknowledgement finds the event again.
    pub fn jti(&self) -> String {
        jti(self.seq, self.at_millis)
    }

    /// The event types this write raises: its kind, and `activate` or `deactivate` when
    /// `active` went from one to the other.
    pub fn types(&self) -> Vec<&'static str> {
        let mut out = vec![match self.write {
            Write::Create => CREATE,
            Write::Put => PUT,
            Write::Patch => PATCH,
            Write::Delete => DELETE,
        }];
        if let Write::Put | Write::Patch = self.write {
            // An `active` not set before counts as true (RFC 7643 leaves it to the provider).
            let active = &self.changes["active"];
            match (active.get("before"), active.get("after")) {
                (Some(Value::Bool(false)), Some(Value::Bool(true))) => out.push(ACTIVATE),
                (Some(Value::Bool(true)) | None, Some(Value::Bool(false))) => out.push(DEACTIVATE),
                _ => {}
            }
        }
        out
    }

    /// The attributes the write set or changed, by their SCIM names (`emails`,
    /// `urn:…:enterprise:2.0:User:manager`); never their values.
    pub fn attributes(&self) -> Vec<String> {
        let Some(changes) = self.changes.as_object() else { return Vec::new() };
        let mut out = Vec::new();
        for (key, value) in changes {
            if key == "set" {
                out.extend(value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned));
            } else if let (true, Some(ext)) = (key.starts_with("urn:"), value.as_object()) {
                out.extend(ext.keys().map(|k| format!("{key}:{k}")));
            } else {
                out.push(key.clone());
            }
        }
        out
    }

    /// The SET's claims (RFC 8417 §2.2): `iss` names scimd, `aud` the receiver when known; the
    /// subject is the resource (RFC 9967 `sub_id` in the `scim` format), each event carries
    /// the attributes changed and, for a delete, nothing else.
    pub fn claims(&self, iss: &str, aud: Option<&str>, wanted: &dyn Fn(&str) -> bool) -> Value {
        let attributes = self.attributes();
        let mut events = Map::new();
        for t in self.types().into_iter().filter(|t| wanted(t)) {
            let body = match t {
                CREATE | PUT | PATCH => json!({ "attributes": attributes }),
                _ => json!({}),
            };
            events.insert(t.to_owned(), body);
        }
        let mut sub_id = json!({ "format": "scim", "uri": format!("/{}/{}", self.kind.endpoint(), self.id) });
        if let Some(external) = self.changes["externalId"].get("after").or(self.changes["externalId"].get("before")) {
            sub_id["externalId"] = external.clone();
        }
        let mut claims = json!({
            "jti": self.jti(),
            "iss": iss,
            "iat": self.at_millis.div_euclid(1000),
            "sub_id": sub_id,
            "events": events,
        });
        if let Some(aud) = aud {
            claims["aud"] = json!(aud);
        }
        claims
    }
}

/// The `jti` of the write at `seq` committed at `at_millis`: positions are never reused while
/// the write is kept, and the time tells apart a position reused after the log was emptied.
pub fn jti(seq: i64, at_millis: i64) -> String {
    format!("{seq}-{at_millis}")
}

/// The position a `jti` made by `jti` stands for, or `None` for text scimd did not make.
pub fn seq_of(jti: &str) -> Option<i64> {
    let (seq, millis) = jti.split_once('-')?;
    millis.parse::<i64>().ok()?;
    seq.parse().ok().filter(|s| *s > 0)
}

/// The claims as a compact JWS signed with HMAC-SHA-256 (RFC 7515, `typ` as RFC 8417 §2.3
/// advises).
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"secevent+jwt","alg":"HS256"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let signature = hs256(secret, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The claims of a compact JWS when its HS256 signature is `secret`'s, else `None`.
pub fn verify_hs256(token: &str, secret: &[u8]) -> Option<Value> {
    let (input, signature) = token.rsplit_once('.')?;
    let (header, payload) = input.split_once('.')?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header["alg"] != "HS256" {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(input.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

fn hs256(secret: &[u8], input: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// The claims of an unsigned SET (`alg: none`, RFC 8417 §2.3), as poll delivery returns
/// them to a receiver that authenticated with its own token over TLS (RFC 8936 §2.4 leaves
/// signing to the transmitter).
pub fn unsecured(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"secevent+jwt","alg":"none"}"#);
    format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(write: Write, changes: &Value) -> Event<'_> {
        Event { seq: 42, at_millis: 1_764_547_200_123, kind: ResourceKind::User, id: "u1", write, changes }
    }

    #[test]
    fn a_patch_names_the_attributes_it_changed_and_never_their_values() {
        let changes = json!({
            "title": {"before": "a", "after": "b"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"after": {"value": "m"}}},
            "password": {"after": "(set)"},
        });
        let e = event(Write::Patch, &changes);
        let claims = e.claims("https://scim.example.com/scim/v2", Some("https://rp.example.com"), &|_| true);
        assert_eq!(claims["jti"], "42-1764547200123");
        assert_eq!(claims["iat"], 1_764_547_200);
        assert_eq!(claims["aud"], "https://rp.example.com");
        assert_eq!(claims["sub_id"], json!({"format": "scim", "uri": "/Users/u1"}));
        assert_eq!(
            claims["events"][PATCH]["attributes"],
            json!(["title", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "password"])
        );
        assert!(!claims.to_string().contains("\"b\""), "no values: {claims}");
    }

    #[test]
    fn active_changes_add_activate_or_deactivate() {
        let off = json!({"active": {"before": true, "after": false}});
        assert_eq!(event(Write::Patch, &off).types(), [PATCH, DEACTIVATE]);
        let on = json!({"active": {"before": false, "after": true}});
        assert_eq!(event(Write::Put, &on).types(), [PUT, ACTIVATE]);
        let first_set_off = json!({"active": {"after": false}});
        assert_eq!(event(Write::Patch, &first_set_off).types(), [PATCH, DEACTIVATE]);
        let created = json!({"userName": {"after": "a"}, "set": ["active"]});
        assert_eq!(event(Write::Create, &created).types(), [CREATE]);
        let deleted = json!({"active": {"before": true}});
        assert_eq!(event(Write::Delete, &deleted).types(), [DELETE]);
        let filtered = event(Write::Patch, &off).claims("i", None, &|t| t == DEACTIVATE);
        assert_eq!(filtered["events"], json!({ DEACTIVATE: {} }));
    }

    #[test]
    fn a_create_lists_what_it_set_and_names_the_external_id() {
        let changes = json!({"userName": {"after": "ann"}, "externalId": {"after": "E1"}, "set": ["name", "emails"]});
        let claims = event(Write::Create, &changes).claims("i", None, &|_| true);
        assert_eq!(claims["events"][CREATE]["attributes"], json!(["userName", "externalId", "name", "emails"]));
        assert_eq!(claims["sub_id"]["externalId"], "E1");
        assert!(claims.get("aud").is_none());
    }

    #[test]
    fn event_types_go_by_uri_or_short_name() {
        assert_eq!(event_type("create"), Some(CREATE));
        assert_eq!(event_type("DEACTIVATE"), Some(DEACTIVATE));
        assert_eq!(event_type(PATCH), Some(PATCH));
        assert_eq!(event_type("urn:ietf:params:scim:event:prov:delete"), Some(DELETE));
        assert_eq!(event_type("notice"), None);
    }

    #[test]
    fn jti_gives_its_position_back() {
        assert_eq!(seq_of(&jti(7, 1_764_547_200_123)), Some(7));
        for bad in ["", "7", "x-1", "7-x", "-1-2", "0-1"] {
            assert_eq!(seq_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn signatures_verify_with_the_secret_only() {
        let claims = json!({"jti": "1-2", "events": {}});
        let token = sign_hs256(&claims, b"0123456789abcdef0123456789abcdef");
        assert_eq!(verify_hs256(&token, b"0123456789abcdef0123456789abcdef"), Some(claims.clone()));
        assert_eq!(verify_hs256(&token, b"another secret of the same length!"), None);
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap_or(0) + 2, 'A');
        assert_eq!(verify_hs256(&tampered, b"0123456789abcdef0123456789abcdef"), None);
        assert_eq!(verify_hs256(&unsecured(&claims), b"0123456789abcdef0123456789abcdef"), None);
    }
}
