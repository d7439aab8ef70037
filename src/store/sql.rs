//! SQL shared by the stores: the filter → WHERE compiler, sort keys, timestamps and the
//! promoted columns, with the differences between databases behind `Dialect`.
//!
//! Values are always bound parameters; nothing a client sends is spliced into SQL text.

use serde_json::Value;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::schema::{ResourceKind, CORE_GROUP, CORE_USER};
use crate::store::{SortKey, StoreError};

/// What differs between the SQL of two databases.
pub trait Dialect {
    /// The `n`th (1-based) bind placeholder.
    fn placeholder(&self, n: usize) -> String;
    /// True when `haystack` contains `needle` (both SQL expressions), case-sensitively.
    fn contains(&self, haystack: &str, needle: &str) -> String;
}

pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn placeholder(&self, _n: usize) -> String {
        "?".to_owned()
    }
    fn contains(&self, haystack: &str, needle: &str) -> String {
        format!("instr({haystack}, {needle}) > 0")
    }
}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// SQL text with its binds in order.
#[derive(Debug, Default)]
pub struct Fragment {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl Fragment {
    fn bind(&mut self, d: &dyn Dialect, b: Bind) -> String {
        self.binds.push(b);
        d.placeholder(self.binds.len())
    }
}

/// Timestamps are stored as fixed-width UTC text so that text order is time order.
const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

pub fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(TIMESTAMP).unwrap_or_default()
}

pub fn parse_time(s: &str) -> Result<OffsetDateTime, StoreError> {
    time::PrimitiveDateTime::parse(s, TIMESTAMP)
        .map(|t| t.assume_utc())
        .map_err(|e| StoreError::Unsupported(format!("stored timestamp {s:?} is unreadable: {e}")))
}

/// Unicode case folding, used for every case-insensitive column and comparison
/// (SQLite's NOCASE folds ASCII only; `MÜLLER` must find `Müller`).
pub fn fold(s: &str) -> String {
    caseless::default_case_fold_str(s)
}

/// The columns promoted out of a document.
#[derive(Debug, Clone, Default)]
pub struct Promoted {
    pub user_name: Option<String>,
    pub user_name_fold: Option<String>,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub display_name_fold: Option<String>,
}

impl Promoted {
    pub fn of(kind: ResourceKind, doc: &Value) -> Promoted {
        let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
        let user_name = match kind {
            ResourceKind::User => text("userName"),
            ResourceKind::Group => None,
        };
        let display_name = text("displayName");
        Promoted {
            user_name_fold: user_name.as_deref().map(fold),
            user_name,
            external_id: text("externalId"),
            display_name_fold: display_name.as_deref().map(fold),
            display_name,
        }
    }
}

/// How a filterable attribute maps to a column.
struct Column {
    name: &'static str,
    folded: bool,
    time: bool,
}

fn column(kind: ResourceKind, path: &AttrPath) -> Option<Column> {
    if let Some(urn) = &path.urn {
        let core = match kind {
            ResourceKind::User => CORE_USER,
            ResourceKind::Group => CORE_GROUP,
        };
        if !urn.eq_ignore_ascii_case(core) {
            return None;
        }
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
    let col = |name, folded, time| Some(Column { name, folded, time });
    match (name.as_str(), sub.as_deref(), kind) {
        ("id", None, _) => col("id", false, false),
        ("externalid", None, _) => col("external_id", false, false),
        ("username", None, ResourceKind::User) => col("user_name_fold", true, false),
        ("displayname", None, _) => col("display_name_fold", true, false),
        ("meta", Some("created"), _) => col("created", false, true),
        ("meta", Some("lastmodified"), _) => col("last_modified", false, true),
        _ => None,
    }
}

/// The attributes this store can filter and sort on, for error details.
pub const FILTERABLE: &str = "id, externalId, userName, displayName, meta.created, meta.lastModified";

/// Compiles `filter` into a boolean SQL expression over the `resources` row `r`.
pub fn compile_filter(
    d: &dyn Dialect,
    kind: ResourceKind,
    filter: &Filter,
    out: &mut Fragment,
) -> Result<(), StoreError> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            let op = if matches!(filter, Filter::And(..)) { " AND " } else { " OR " };
            out.sql.push('(');
            compile_filter(d, kind, a, out)?;
            out.sql.push_str(op);
            compile_filter(d, kind, b, out)?;
            out.sql.push(')');
        }
        Filter::Not(inner) => {
            // NOT of a NULL comparison would be NULL; missing attributes must make `not` true.
            out.sql.push_str("NOT COALESCE((");
            compile_filter(d, kind, inner, out)?;
            out.sql.push_str("), FALSE)");
        }
        Filter::Present(path) => {
            let c = column(kind, path).ok_or_else(|| unsupported(path))?;
            out.sql.push_str(&format!("(r.{0} IS NOT NULL AND r.{0} <> '')", c.name));
        }
        Filter::Compare { path, op, value } => {
            let c = column(kind, path).ok_or_else(|| unsupported(path))?;
            let CompValue::Str(v) = value else {
                return Err(StoreError::Unsupported(format!("{path} is a string: compare it with a quoted value")));
            };
            let v = if c.time {
                let t =
                    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).map_err(|_| {
                        StoreError::Unsupported(format!("{path} needs a dateTime such as \"2024-05-13T04:42:34Z\""))
                    })?;
                format_time(t)
            } else if c.folded {
                fold(v)
            } else {
                v.clone()
            };
            let col = format!("r.{}", c.name);
            let sql = match op {
                CompareOp::Eq => format!("{col} = {}", out.bind(d, Bind::Text(v))),
                CompareOp::Ne => format!("({col} IS NULL OR {col} <> {})", out.bind(d, Bind::Text(v))),
                CompareOp::Gt => format!("{col} > {}", out.bind(d, Bind::Text(v))),
                CompareOp::Ge => format!("{col} >= {}", out.bind(d, Bind::Text(v))),
                CompareOp::Lt => format!("{col} < {}", out.bind(d, Bind::Text(v))),
                CompareOp::Le => format!("{col} <= {}", out.bind(d, Bind::Text(v))),
                CompareOp::Co => {
                    let p = out.bind(d, Bind::Text(v));
                    format!("({col} IS NOT NULL AND {})", d.contains(&col, &p))
                }
                CompareOp::Sw => {
                    let (a, b) = (out.bind(d, Bind::Text(v.clone())), out.bind(d, Bind::Text(v)));
                    format!("substr({col}, 1, length({a})) = {b}")
                }
                CompareOp::Ew => {
                    let n = v.chars().count() as i64;
                    let (a, b) = (out.bind(d, Bind::Int(n)), out.bind(d, Bind::Text(v)));
                    format!("substr({col}, length({col}) - {a} + 1) = {b}")
                }
            };
            out.sql.push_str(&sql);
        }
        Filter::ValuePath { path, .. } => return Err(unsupported(path)),
    }
    Ok(())
}

fn unsupported(path: &AttrPath) -> StoreError {
    StoreError::Unsupported(format!("filtering on {path} is not supported yet; filterable attributes: {FILTERABLE}"))
}

/// The sort key for `sortBy`, if the store can order by it.
pub fn sort_key(kind: ResourceKind, path: &AttrPath) -> Option<SortKey> {
    let c = column(kind, path)?;
    Some(match c.name {
        "id" => SortKey::Id,
        "external_id" => SortKey::ExternalId,
        "user_name_fold" => SortKey::UserName,
        "display_name_fold" => SortKey::DisplayName,
        "created" => SortKey::Created,
        _ => SortKey::LastModified,
    })
}

pub fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::Id => "r.id",
        SortKey::ExternalId => "r.external_id",
        SortKey::UserName => "r.user_name_fold",
        SortKey::DisplayName => "r.display_name_fold",
        SortKey::Created => "r.created",
        SortKey::LastModified => "r.last_modified",
    }
}

pub fn kind_literal(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "'User'",
        ResourceKind::Group => "'Group'",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;

    fn sql(f: &str) -> Fragment {
        let mut out = Fragment::default();
        compile_filter(&SqliteDialect, ResourceKind::User, &parse_filter(f).unwrap(), &mut out).unwrap();
        out
    }

    #[test]
    fn user_name_eq_compares_the_folded_column_with_a_bound_value() {
        let f = sql("userName eq \"MÜLLER\"");
        assert_eq!(f.sql, "r.user_name_fold = ?");
        assert_eq!(f.binds, vec![Bind::Text("müller".into())]);
    }

    #[test]
    fn boolean_structure_is_kept_and_not_treats_missing_as_false() {
        let f = sql("not (externalId eq \"a\") and (displayName pr or id eq \"x\")");
        assert_eq!(
            f.sql,
            "(NOT COALESCE((r.external_id = ?), FALSE) AND ((r.display_name_fold IS NOT NULL AND r.display_name_fold <> '') OR r.id = ?))"
        );
    }

    #[test]
    fn unknown_columns_are_reported_not_ignored() {
        let mut out = Fragment::default();
        let err =
            compile_filter(&SqliteDialect, ResourceKind::Group, &parse_filter("userName eq \"a\"").unwrap(), &mut out);
        assert!(matches!(err, Err(StoreError::Unsupported(_))));
    }

    #[test]
    fn timestamps_sort_as_text() {
        let a = format_time(time::macros::datetime!(2024-01-02 03:04:05.5 UTC));
        let b = format_time(time::macros::datetime!(2024-01-02 03:04:05 UTC));
        assert_eq!(a, "2024-01-02T03:04:05.500000Z");
        assert!(b < a);
        assert_eq!(parse_time(&a).unwrap(), time::macros::datetime!(2024-01-02 03:04:05.5 UTC));
    }
}
