//! The OpenAPI document at `/scim/v2/openapi.json`: served without a token, a path item with
//! the right methods for every route `http::router` declares, and every `$ref` resolving.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::behaviour;

/// The router's source: the routes are read from it, so a new route without a path item fails.
const ROUTER: &str = include_str!("../../src/http/mod.rs");
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every `/scim/v2` route of `router()` with its methods, as the document spells paths.
fn routes() -> Vec<(String, BTreeSet<&'static str>)> {
    let mut out = Vec::new();
    for chunk in ROUTER.split(".route(").skip(1) {
        let chunk = chunk.split([';']).next().unwrap().split("\n}").next().unwrap();
        let path = if chunk.trim_start().starts_with("crate::scim::openapi::PATH") {
            scimd::scim::openapi::PATH.to_owned()
        } else {
            chunk.split('"').nth(1).unwrap().to_owned()
        };
        if !path.starts_with("/scim/v2") {
            continue;
        }
        let methods: BTreeSet<&str> = METHODS
            .into_iter()
            .filter(|m| {
                chunk
                    .match_indices(&format!("{m}("))
                    .any(|(i, _)| !chunk[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
            })
            .collect();
        let endpoints: &[&str] = if path.contains("{endpoint}") { &["Users", "Groups", "Licenses"] } else { &[""] };
        for endpoint in endpoints {
            out.push((path.replace("{endpoint}", endpoint).replace("{{id}}", "{id}"), methods.clone()));
        }
    }
    out
}

/// Every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

behaviour! {
    async fn openapi_document_is_served_without_a_token(app: TestApp) {
        let res = app.client.get(app.url("/openapi.json")).send().await.unwrap();

        assert_eq!(res.status(), StatusCode::OK);
        let doc: Value = res.json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["paths"]["/scim/v2/Users"]["get"]["operationId"], "listUsers");
    }

    async fn openapi_document_has_every_route_with_its_methods(app: TestApp) {
        let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        let routes = routes();

        assert!(routes.len() > 20, "routes found in src/http/mod.rs: {routes:?}");
        for (path, methods) in routes {
            let item = doc["paths"][&path].as_object().unwrap_or_else(|| panic!("no path item for {path}"));
            let documented: BTreeSet<&str> = METHODS.into_iter().filter(|m| item.contains_key(*m)).collect();
            assert_eq!(documented, methods, "methods of {path}");
        }
    }

    async fn openapi_document_refs_all_resolve(app: TestApp) {
        let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        let mut all = Vec::new();

        refs(&doc, &mut all);

        assert!(all.len() > 100);
        for r in all {
            assert!(doc.pointer(r.trim_start_matches('#')).is_some(), "{r} does not resolve");
        }
    }
}
