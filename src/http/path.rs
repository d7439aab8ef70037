//! Request paths as clients write them, made canonical before routing: endpoint names in any
//! case (`/scim/v2/users`, `/GROUPS`) and one trailing slash (`/Users/?filter=…`).
//!
//! Microsoft's SCIM reference tests and several clients send these forms. Ids are left alone;
//! responses always carry the canonical names in `location` and `$ref`.

use axum::body::Body;
use axum::http::{Request, Uri};

/// Every fixed path segment of the routes under `/scim/v2`, spelled as the routes spell them.
const SEGMENTS: &[&str] = &[
    "scim",
    "v2",
    "Users",
    "Groups",
    "Licenses",
    "Bulk",
    "Me",
    "ServiceProviderConfig",
    "serviceConfiguration",
    "Schemas",
    "ResourceTypes",
    "Admin",
    "DeletedUsers",
    "Tokens",
    "Import",
    "restore",
    ".search",
];

/// The canonical form of `path`, or `None` when it is canonical already (the common case,
/// which allocates nothing).
pub fn canonical_path(path: &str) -> Option<String> {
    let trimmed = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    let is_scim = trimmed.len() >= 8 && trimmed[..8].eq_ignore_ascii_case("/scim/v2");
    let fixed =
        |segment: &str| SEGMENTS.iter().find(|name| name.eq_ignore_ascii_case(segment) && **name != segment).copied();
    if trimmed.len() == path.len() && !(is_scim && trimmed.split('/').any(|s| fixed(s).is_some())) {
        return None;
    }
    if !is_scim {
        return Some(trimmed.to_owned());
    }
    Some(trimmed.split('/').map(|s| fixed(s).unwrap_or(s)).collect::<Vec<_>>().join("/"))
}

/// Rewrites the request's path to its canonical form, keeping the query.
pub fn canonical(mut req: Request<Body>) -> Request<Body> {
    let Some(path) = canonical_path(req.uri().path()) else { return req };
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::canonical_path;

    #[test]
    fn endpoint_names_in_any_case_and_one_trailing_slash_become_canonical() {
        for (sent, canonical) in [
            ("/scim/v2/users", Some("/scim/v2/Users")),
            ("/scim/v2/Users/", Some("/scim/v2/Users")),
            ("/scim/v2/GROUPS/", Some("/scim/v2/Groups")),
            ("/SCIM/V2/schemas", Some("/scim/v2/Schemas")),
            ("/scim/v2/serviceproviderconfig", Some("/scim/v2/ServiceProviderConfig")),
            ("/scim/v2/ServiceConfiguration", Some("/scim/v2/serviceConfiguration")),
            ("/scim/v2/users/abc-DEF/", Some("/scim/v2/Users/abc-DEF")),
            ("/scim/v2/users/.SEARCH", Some("/scim/v2/Users/.search")),
            ("/scim/v2/admin/deletedusers/x/RESTORE", Some("/scim/v2/Admin/DeletedUsers/x/restore")),
            ("/healthz/", Some("/healthz")),
            ("/readyz/", Some("/readyz")),
            ("/scim/v2/Users", None),
            ("/scim/v2/Users/abc", None),
            ("/healthz", None),
            ("/", None),
        ] {
            assert_eq!(canonical_path(sent).as_deref(), canonical, "{sent}");
        }
    }

    #[test]
    fn ids_and_two_trailing_slashes_are_left_as_sent() {
        assert_eq!(canonical_path("/scim/v2/Schemas/urn:x:users"), None);
        assert_eq!(canonical_path("/scim/v2/Users//").as_deref(), Some("/scim/v2/Users/"));
    }
}
