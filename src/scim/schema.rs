//! The schema registry: the SCIM schema and resource-type documents under `schemas/`,
//! parsed once at start-up, and the lookups every other module uses (attribute characteristics).
//!
//! One source of truth: no attribute list is written in code; `/Schemas` serves these documents.

use serde::Deserialize;
use serde_json::Value;

use crate::scim::path::AttrPath;

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LICENSE: &str = "urn:scimd:schemas:core:2.0:License";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// scimd's directory extension of User (licenses, usage location, synchronization).
pub const DIRECTORY_USER: &str = "urn:scimd:schemas:extension:directory:2.0:User";

/// The documents compiled into the binary, in the order `/Schemas` lists them.
const SCHEMA_DOCUMENTS: &[&str] = &[
    include_str!("../../schemas/user.json"),
    include_str!("../../schemas/group.json"),
    include_str!("../../schemas/enterprise_user.json"),
    include_str!("../../schemas/directory_user.json"),
    include_str!("../../schemas/license.json"),
    include_str!("../../schemas/service_provider_config.json"),
    include_str!("../../schemas/resource_type.json"),
    include_str!("../../schemas/schema.json"),
];
const COMMON_DOCUMENT: &str = include_str!("../../schemas/common.json");
const RESOURCE_TYPES_DOCUMENT: &str = include_str!("../../schemas/resource_types.json");

/// The resource types scimd serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
    /// A subscription with seats (DESIGN.md §4), assigned to users by their `licenses`.
    License,
}

impl ResourceKind {
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
            ResourceKind::License => "License",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
            ResourceKind::License => "Licenses",
        }
    }

    pub const ALL: [ResourceKind; 3] = [ResourceKind::User, ResourceKind::Group, ResourceKind::License];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute definition with its RFC 7643 §2.2 characteristics.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttrType,
    pub multi_valued: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    #[serde(default = "no_uniqueness")]
    pub uniqueness: Uniqueness,
    #[serde(default)]
    pub canonical_values: Vec<String>,
    #[serde(default)]
    pub sub_attributes: Vec<Attribute>,
}

fn no_uniqueness() -> Uniqueness {
    Uniqueness::None
}

impl Attribute {
    /// The sub-attribute called `name`, compared case-insensitively (RFC 7643 §2.1).
    pub fn sub(&self, name: &str) -> Option<&Attribute> {
        find(&self.sub_attributes, name)
    }

    /// Whether a response with no `attributes` or `excludedAttributes` shows this attribute
    /// with all it holds: it is returned by default or always, and no sub-attribute of it is
    /// returned never.
    pub fn shown_whole_by_default(&self) -> bool {
        matches!(self.returned, Returned::Default | Returned::Always)
            && self.sub_attributes.iter().all(|s| s.returned != Returned::Never)
    }
}

fn find<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A schema document and its parsed attributes.
#[derive(Debug, Clone)]
pub struct Schema {
    pub id: String,
    pub attributes: Vec<Attribute>,
    /// The document as written in `schemas/`, served by `/Schemas`.
    pub document: Value,
}

impl Schema {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.attributes, name)
    }

    fn parse(text: &str) -> Result<Schema, String> {
        #[derive(Deserialize)]
        struct Doc {
            id: String,
            attributes: Vec<Attribute>,
        }
        let document: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let doc: Doc = serde_json::from_value(document.clone()).map_err(|e| e.to_string())?;
        Ok(Schema { id: doc.id, attributes: doc.attributes, document })
    }
}

/// A resource type: its core schema and the extensions it may carry.
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub kind: ResourceKind,
    pub schema: String,
    pub extensions: Vec<String>,
    pub document: Value,
}

/// Where a resolved attribute lives in a resource's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container<'a> {
    /// `id`, `externalId`, `meta`: top level, common to every resource.
    Common,
    /// The resource type's core schema: top level.
    Core,
    /// An extension: inside the object keyed by this URN.
    Extension(&'a str),
}

/// An attribute path resolved against the registry.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    pub container: Container<'a>,
    pub attr: &'a Attribute,
    pub sub: Option<&'a Attribute>,
}

impl<'a> Resolved<'a> {
    /// The definition the path ends at: the sub-attribute when there is one.
    pub fn leaf(self) -> &'a Attribute {
        self.sub.unwrap_or(self.attr)
    }
}

/// Every schema and resource type scimd knows.
#[derive(Debug, Clone)]
pub struct Registry {
    schemas: Vec<Schema>,
    common: Schema,
    resource_types: Vec<ResourceType>,
}

static BUILTIN: std::sync::OnceLock<Result<Registry, String>> = std::sync::OnceLock::new();

impl Registry {
    /// The registry of the compiled-in documents, built once.
    pub fn builtin() -> Result<&'static Registry, String> {
        BUILTIN.get_or_init(Registry::load).as_ref().map_err(Clone::clone)
    }

    /// Builds the registry from the documents compiled in from `schemas/`.
    pub fn load() -> Result<Registry, String> {
        let schemas = SCHEMA_DOCUMENTS.iter().map(|t| Schema::parse(t)).collect::<Result<Vec<_>, _>>()?;
        let common = Schema::parse(COMMON_DOCUMENT)?;
        let docs: Vec<Value> = serde_json::from_str(RESOURCE_TYPES_DOCUMENT).map_err(|e| e.to_string())?;
        let mut resource_types = Vec::new();
        for document in docs {
            let field = |k: &str| document.get(k).and_then(Value::as_str).map(str::to_owned);
            let name = field("name").ok_or("resource type without name")?;
            let kind = ResourceKind::from_name(&name).ok_or_else(|| format!("unknown resource type {name}"))?;
            let schema = field("schema").ok_or("resource type without schema")?;
            let extensions = document
                .get("schemaExtensions")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|e| e.get("schema")?.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            resource_types.push(ResourceType { kind, schema, extensions, document });
        }
        for kind in ResourceKind::ALL {
            if !resource_types.iter().any(|rt| rt.kind == kind) {
                return Err(format!("resource_types.json does not define {}", kind.name()));
            }
        }
        let registry = Registry { schemas, common, resource_types };
        for rt in &registry.resource_types {
            for urn in std::iter::once(&rt.schema).chain(&rt.extensions) {
                if registry.schema(urn).is_none() {
                    return Err(format!("resource type {} names unknown schema {urn}", rt.kind.name()));
                }
            }
        }
        Ok(registry)
    }

    /// The schemas served by `/Schemas`.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    pub fn resource_types(&self) -> &[ResourceType] {
        &self.resource_types
    }

    pub fn resource_type(&self, kind: ResourceKind) -> &ResourceType {
        // `load` refuses a registry without every kind, so the fallback is never taken.
        self.resource_types.iter().find(|rt| rt.kind == kind).unwrap_or(&self.resource_types[0])
    }

    /// The common attributes (`id`, `externalId`, `meta`).
    pub fn common(&self) -> &Schema {
        &self.common
    }

    /// The schema of the resource type's core, or of one of its extensions, by URN.
    pub fn container_schema<'a>(&'a self, rt: &ResourceType, container: Container<'_>) -> Option<&'a Schema> {
        match container {
            Container::Common => Some(&self.common),
            Container::Core => self.schema(&rt.schema),
            Container::Extension(urn) => self.schema(urn),
        }
    }

    /// The extension URN of `rt` equal (case-insensitively) to `urn`, as the registry spells it.
    pub fn extension_of<'a>(&self, rt: &'a ResourceType, urn: &str) -> Option<&'a str> {
        rt.extensions.iter().find(|e| e.eq_ignore_ascii_case(urn)).map(String::as_str)
    }

    /// Resolves `path` for resources of type `rt`: common attributes first, then the core
    /// schema; a URN prefix selects the core schema or an extension explicitly.
    pub fn resolve<'a>(&'a self, rt: &'a ResourceType, path: &AttrPath) -> Option<Resolved<'a>> {
        let (container, attr) = self.resolve_name(rt, path.urn.as_deref(), &path.name)?;
        let sub = match &path.sub {
            Some(s) => Some(attr.sub(s)?),
            None => None,
        };
        Some(Resolved { container, attr, sub })
    }

    /// The top-level attribute `name`, in the schema `urn` names or else common or core.
    pub fn resolve_name<'a>(
        &'a self,
        rt: &'a ResourceType,
        urn: Option<&str>,
        name: &str,
    ) -> Option<(Container<'a>, &'a Attribute)> {
        match urn {
            Some(urn) if urn.eq_ignore_ascii_case(&rt.schema) => self.core_or_common(rt, name),
            Some(urn) => {
                let ext = self.extension_of(rt, urn)?;
                Some((Container::Extension(ext), self.schema(ext)?.attribute(name)?))
            }
            None => self.core_or_common(rt, name),
        }
    }

    fn core_or_common<'a>(&'a self, rt: &ResourceType, name: &str) -> Option<(Container<'a>, &'a Attribute)> {
        if let Some(a) = self.common.attribute(name) {
            return Some((Container::Common, a));
        }
        Some((Container::Core, self.schema(&rt.schema)?.attribute(name)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_loads_every_document_and_resource_type() {
        let r = Registry::load().unwrap();
        assert!(r.schema(CORE_USER).is_some());
        assert!(r.schema(CORE_GROUP).is_some());
        assert!(r.schema(ENTERPRISE_USER).is_some());
        assert_eq!(r.resource_type(ResourceKind::Group).kind, ResourceKind::Group);
    }

    #[test]
    fn resolve_is_case_insensitive_and_honours_urn_prefixes() {
        let r = Registry::load().unwrap();
        let rt = r.resource_type(ResourceKind::User);
        let p = AttrPath { urn: None, name: "USERNAME".into(), sub: None };
        assert_eq!(r.resolve(rt, &p).unwrap().attr.name, "userName");
        let p = AttrPath { urn: Some(ENTERPRISE_USER.into()), name: "manager".into(), sub: Some("value".into()) };
        let res = r.resolve(rt, &p).unwrap();
        assert_eq!(res.container, Container::Extension(ENTERPRISE_USER));
        assert_eq!(res.leaf().name, "value");
        let p = AttrPath { urn: Some(CORE_USER.into()), name: "name".into(), sub: Some("familyName".into()) };
        assert_eq!(r.resolve(rt, &p).unwrap().container, Container::Core);
        assert!(r.resolve(rt, &AttrPath::new("nope")).is_none());
        assert_eq!(r.resolve(rt, &AttrPath::new("externalId")).unwrap().container, Container::Common);
    }
}
