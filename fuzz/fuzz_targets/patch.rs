//! Any JSON body applied as a PATCH to a sample user either fails with a SCIM error and
//! leaves the document unchanged, or succeeds; the engine never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::scim::patch::apply_patch;
use scimd::scim::schema::{Registry, ResourceKind};
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let registry = Registry::builtin().expect("schemas load");
    let rt = registry.resource_type(ResourceKind::User);
    let original = json!({
        "userName": "bjensen",
        "name": {"givenName": "Barbara"},
        "emails": [{"value": "b@example.com", "type": "work", "primary": true}]
    });
    let mut doc = original.clone();
    if apply_patch(registry, rt, &mut doc, &body).is_err() {
        assert_eq!(doc, original, "a failed PATCH changed the document");
    }
});
