//! Attribute paths (`[urn:]name[.sub]`) shared by filters, PATCH paths and projection.
//!
//! Pure data: resolving a path against the schema registry happens in `schema`.

use std::fmt;

/// An attribute path as written by a client: RFC 7644 §3.10 `attrPath`.
///
/// `urn` is the schema URN prefix when one was given (without the trailing `:`),
/// `name` the attribute name and `sub` the sub-attribute name. Names keep the case the
/// client used; comparisons against the schema are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath { urn: None, name: name.into(), sub: None }
    }

    pub fn with_sub(name: impl Into<String>, sub: impl Into<String>) -> Self {
        AttrPath { urn: None, name: name.into(), sub: Some(sub.into()) }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}
