//! PATCH (RFC 7644 §3.5.2): not built yet; every PATCH is answered with a clear 501.
//! The types are the engine's interface to the service.

use crate::scim::error::{Result, ScimError};
use crate::scim::schema::{Registry, ResourceType};

/// Membership changes, applied in order by the store.
pub enum MemberOp {
    Add(Vec<String>),
    Remove(Vec<String>),
    Replace(Vec<String>),
}

pub struct Patched {
    pub member_ops: Vec<MemberOp>,
    pub changed: bool,
}

pub fn apply_patch(
    _: &Registry,
    _: &ResourceType,
    _: &mut serde_json::Value,
    _: &serde_json::Value,
) -> Result<Patched> {
    Err(ScimError::not_implemented("PATCH is not built yet; send the whole resource with PUT"))
}
