//! SQL shared by the stores: the filter → WHERE compiler, sort keys, timestamps and the
//! promoted columns, with the differences between databases behind `Dialect` (`dialect.rs`).
//!
//! Values are always bound parameters; nothing a client sends is spliced into SQL text.

use serde_json::Value;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::scim::filter::{Checked, CompValue, CompareOp};
use crate::scim::path::AttrPath;
use crate::scim::resource;
use crate::scim::schema::{
    AttrType, Attribute, Container, Registry, Resolved, ResourceKind, CORE_GROUP, CORE_USER, LICENSE,
};
pub use crate::store::dialect::{Dialect, PostgresDialect, SqliteDialect};
use crate::store::StoreError;

/// The options of the one-connection pool readiness checks use: a check that cannot get its
/// connection within two seconds reports the store as not ready rather than wait.
pub fn probe_pool<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new().max_connections(1).acquire_timeout(std::time::Duration::from_secs(2))
}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
    /// A NULL of the type of `Text` or of `Int`: PostgreSQL checks it against its column.
    NullText,
    NullInt,
}

/// SQL text with its binds in order.
#[derive(Debug, Default)]
pub struct Fragment {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl Fragment {
    pub fn bind(&mut self, b: Bind) -> &'static str {
        self.binds.push(b);
        "?"
    }
}

/// Timestamps are stored as fixed-width UTC text so that text order is time order.
const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

pub fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(TIMESTAMP).unwrap_or_default()
}

pub fn parse_time(s: &str) -> Result<OffsetDateTime, StoreError> {
    // Every row read has two of these: the stored form's digits by hand, the rest (and every
    // error) by the parser.
    if let Some(t) = parse_stored_form(s) {
        return Ok(t);
    }
    time::PrimitiveDateTime::parse(s, TIMESTAMP)
        .map(|t| t.assume_utc())
        .map_err(|e| StoreError::Corrupt(format!("stored timestamp {s:?} is unreadable: {e}")))
}

/// `TIMESTAMP`'s fixed-width form, `2024-01-31T12:34:56.789012Z`; None for anything else.
fn parse_stored_form(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    let marks = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (26, b'Z')];
    if b.len() != 27 || marks.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let number = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let small = |from: usize, to: usize| number(from, to).and_then(|n| u8::try_from(n).ok());
    let month = time::Month::try_from(small(5, 7)?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(number(0, 4)?).ok()?, month, small(8, 10)?).ok()?;
    let time = time::Time::from_hms_micro(small(11, 13)?, small(14, 16)?, small(17, 19)?, number(20, 26)?).ok()?;
    Some(time::PrimitiveDateTime::new(date, time).assume_utc())
}

/// Unicode case folding, used for every case-insensitive column and comparison
/// (SQLite's NOCASE folds ASCII only; `MÜLLER` must find `Müller`).
pub fn fold(s: &str) -> String {
    crate::scim::filter::case_fold(s)
}

/// `s` with its code points in reverse order: `a` ends with `b` exactly when `reversed(a)`
/// starts with `reversed(b)`, so an `ew` becomes a prefix match on an index.
pub fn reversed(s: &str) -> String {
    s.chars().rev().collect()
}

/// The least text greater than every text starting with `prefix` (in code point order, which
/// is byte order of UTF-8), if there is one: texts with the prefix are those in
/// `prefix <= t < prefix_end(prefix)`.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next code point, skipping the surrogates, which no text holds.
        let next = char::from_u32(u32::from(last) + 1).or_else(|| (last == '\u{D7FF}').then_some('\u{E000}'));
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The columns promoted out of a document.
#[derive(Debug, Clone, Default)]
pub struct Promoted {
    /// A User's userName.
    pub user_name: Option<String>,
    pub user_name_fold: Option<String>,
    /// The folded userName reversed, which `ew` searches by prefix (`reversed`).
    pub user_name_rev: Option<String>,
    /// A License's partNumber.
    pub part_number: Option<String>,
    pub part_number_fold: Option<String>,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub display_name_fold: Option<String>,
    /// A License's seats.
    pub seats: Option<i64>,
    /// The document with its case-insensitive strings folded, as JSON text: what filters and
    /// sorting read (`scim::resource::folded`).
    pub doc_fold: String,
}

impl Promoted {
    pub fn of(kind: ResourceKind, doc: &Value) -> Promoted {
        let doc_fold = serde_json::to_string(&folded_document(kind, doc)).unwrap_or_default();
        Promoted { doc_fold, ..Promoted::columns(kind, doc) }
    }

    /// The promoted columns alone, `doc_fold` left empty: enough to tell which columns a write
    /// changes.
    pub fn columns(kind: ResourceKind, doc: &Value) -> Promoted {
        let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
        let user_name = (kind == ResourceKind::User).then(|| text("userName")).flatten();
        let part_number = (kind == ResourceKind::License).then(|| text("partNumber")).flatten();
        let display_name = text("displayName");
        Promoted {
            user_name_fold: user_name.as_deref().map(fold),
            user_name_rev: user_name.as_deref().map(|n| reversed(&fold(n))),
            user_name,
            part_number_fold: part_number.as_deref().map(fold),
            part_number,
            external_id: text("externalId"),
            display_name_fold: display_name.as_deref().map(fold),
            display_name,
            seats: match kind {
                ResourceKind::License => doc.get("seats").and_then(Value::as_i64),
                _ => None,
            },
            doc_fold: String::new(),
        }
    }
}

impl Promoted {
    /// The name that is unique in the tenant: a User's userName or a License's partNumber.
    pub fn unique_name(&self) -> &str {
        self.user_name.as_deref().or(self.part_number.as_deref()).unwrap_or_default()
    }
}

/// `doc` as filters and sorting read it (`scim::resource::folded`).
pub fn folded_document(kind: ResourceKind, doc: &Value) -> Value {
    match Registry::builtin() {
        Ok(registry) => crate::scim::resource::folded(registry, registry.resource_type(kind), doc),
        // The built-in schemas are checked when scimd starts; without them nothing is served.
        Err(_) => doc.clone(),
    }
}

/// The attribute whose value is unique in a tenant: a User's userName (the user_name
/// columns) or a License's partNumber (the part_number ones).
pub fn unique_attribute(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User | ResourceKind::Group => "userName",
        ResourceKind::License => "partNumber",
    }
}

/// The License ids a user's document names in `licenses`, each once and sorted, so that
/// writers take seats in one order and cannot deadlock each other.
pub fn license_ids(doc: &Value) -> Vec<String> {
    let mut ids: Vec<String> = doc
        .get(crate::scim::schema::DIRECTORY_USER)
        .and_then(|e| e.get("licenses"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l.get("value").and_then(Value::as_str).map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Removes the licenses with these ids from a user's document.
pub fn drop_licenses(doc: &mut Value, ids: &[String]) {
    let licenses = doc
        .get_mut(crate::scim::schema::DIRECTORY_USER)
        .and_then(|e| e.get_mut("licenses"))
        .and_then(Value::as_array_mut);
    if let Some(items) = licenses {
        items.retain(|l| !l.get("value").and_then(Value::as_str).is_some_and(|v| ids.iter().any(|i| i == v)));
    }
}

/// The seat counters of a License, which live in columns rather than in the document.
fn license_column(kind: ResourceKind, path: &AttrPath) -> Option<&'static str> {
    if kind != ResourceKind::License || path.sub.is_some() {
        return None;
    }
    if path.urn.as_deref().is_some_and(|u| !u.eq_ignore_ascii_case(LICENSE)) {
        return None;
    }
    match path.name.to_ascii_lowercase().as_str() {
        "seats" => Some("r.seats"),
        "consumed" => Some("r.consumed"),
        "available" => Some("(r.seats - r.consumed)"),
        _ => None,
    }
}

/// Multi-valued sub-attributes kept, folded (and reversed), in `resource_values` for index
/// lookups by `eq` (and `ew`).
pub const INDEXED_VALUES: &[(&str, &str)] = &[("emails", "value")];

/// The rows of `resource_values` a document needs: `(attr, folded value)`.
pub fn indexed_values(doc: &Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for (attr, sub) in INDEXED_VALUES {
        for item in doc.get(*attr).and_then(Value::as_array).into_iter().flatten() {
            if let Some(v) = item.get(*sub).and_then(Value::as_str) {
                rows.push((format!("{attr}.{sub}"), fold(v)));
            }
        }
    }
    rows
}

/// A promoted column standing in for an attribute.
struct Column {
    name: &'static str,
    folded: bool,
    time: bool,
    /// The column holding the folded value reversed, which answers `ew`.
    reversed: Option<&'static str>,
}

/// The promoted column for `path`, if there is one (`userName` only on Users).
fn column(kind: ResourceKind, path: &AttrPath) -> Option<Column> {
    if let Some(urn) = &path.urn {
        let core = match kind {
            ResourceKind::User => CORE_USER,
            ResourceKind::Group => CORE_GROUP,
            ResourceKind::License => LICENSE,
        };
        if !urn.eq_ignore_ascii_case(core) {
            return None;
        }
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
    let col = |name, folded, time| Some(Column { name, folded, time, reversed: None });
    match (name.as_str(), sub.as_deref(), kind) {
        ("id", None, _) => col("id", false, false),
        ("externalid", None, _) => col("external_id", false, false),
        ("username", None, ResourceKind::User) => {
            Some(Column { name: "user_name_fold", folded: true, time: false, reversed: Some("user_name_rev") })
        }
        ("partnumber", None, ResourceKind::License) => col("part_number_fold", true, false),
        ("displayname", None, _) => col("display_name_fold", true, false),
        ("meta", Some("created"), _) => col("created", false, true),
        ("meta", Some("lastmodified"), _) => col("last_modified", false, true),
        _ => None,
    }
}

/// The document filters and sorting read: case-insensitive strings already folded.
const FOLDED: &str = "r.doc_fold";

/// Compiles `filter` into a boolean SQL expression over the `resources` row `r`.
///
/// Promoted attributes compare their indexed columns; everything else reads the JSON
/// document, with multi-valued attributes and value paths as correlated `EXISTS` over the
/// array (or over the membership table for `members` and `groups`).
/// Every path comes resolved from `scim::filter::check`; nothing is looked up again here.
pub fn compile_filter(
    d: &dyn Dialect,
    kind: ResourceKind,
    filter: &Checked<'_>,
    out: &mut Fragment,
) -> Result<(), StoreError> {
    let mut c = Compiler { d, kind, out, aliases: 0 };
    c.filter(filter, None)
}

/// Inside a value path: leaves read one element (`alias`) of the multi-valued `attr`.
struct Element<'a> {
    alias: &'a str,
    attr: &'a Attribute,
}

struct Compiler<'a> {
    d: &'a dyn Dialect,
    kind: ResourceKind,
    out: &'a mut Fragment,
    aliases: usize,
}

impl Compiler<'_> {
    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("e{}", self.aliases)
    }

    fn filter(&mut self, filter: &Checked<'_>, scope: Option<&Element<'_>>) -> Result<(), StoreError> {
        match filter {
            Checked::And(a, b) | Checked::Or(a, b) => {
                let op = if matches!(filter, Checked::And(..)) { " AND " } else { " OR " };
                self.out.sql.push('(');
                self.filter(a, scope)?;
                self.out.sql.push_str(op);
                self.filter(b, scope)?;
                self.out.sql.push(')');
            }
            Checked::Not(inner) => {
                // NOT of a NULL comparison would be NULL; a missing attribute must make `not` true.
                self.out.sql.push_str("NOT COALESCE((");
                self.filter(inner, scope)?;
                self.out.sql.push_str("), FALSE)");
            }
            Checked::Present { path, at } => self.leaf(path, *at, None, scope)?,
            Checked::Compare { path, at, op, value } => self.leaf(path, *at, Some((*op, value)), scope)?,
            Checked::ValuePath { at, filter, .. } => self.value_path(*at, filter)?,
        }
        Ok(())
    }

    /// `attr[filter]`: some element of the multi-valued attribute satisfies `filter`.
    fn value_path(&mut self, resolved: Resolved<'_>, inner: &Checked<'_>) -> Result<(), StoreError> {
        let attr = resolved.attr;
        if let Some(sql) = self.membership(attr, None)? {
            // `members[value eq "x"]`: the inner filter over the joined member row.
            self.out.sql.push_str(&sql.open);
            self.membership_filter(inner)?;
            self.out.sql.push(')');
            return Ok(());
        }
        let keys = json_keys(&resolved);
        if attr.multi_valued {
            // An indexed `value eq` (or else `value ew`) among the conjuncts narrows the rows by
            // index first.
            self.out.sql.push('(');
            let mut lookups = indexable(inner);
            lookups.retain(|(sub, _, _)| is_indexed(resolved.container, attr, sub));
            if let Some((sub, op, value)) = lookups.iter().min_by_key(|(_, op, _)| *op != CompareOp::Eq) {
                self.indexed_lookup(attr, sub, *op, value);
                self.out.sql.push_str(" AND ");
            }
            let alias = self.alias();
            self.out
                .sql
                .push_str(&format!("EXISTS (SELECT 1 FROM {} WHERE ", self.d.json_elements(FOLDED, &keys, &alias)));
            self.filter(inner, Some(&Element { alias: &alias, attr }))?;
            self.out.sql.push_str("))");
        } else {
            // A single-valued complex attribute: its sub-attributes, read from the row (the
            // inner terms' paths already name them in full, as `name.givenName`).
            self.filter(inner, None)?;
        }
        Ok(())
    }

    /// One term: `path` as seen from the resource, `resolved` where the schema defines it.
    fn leaf(
        &mut self,
        path: &AttrPath,
        resolved: Resolved<'_>,
        cmp: Option<(CompareOp, &CompValue)>,
        scope: Option<&Element<'_>>,
    ) -> Result<(), StoreError> {
        if let Some(Element { alias, attr }) = scope {
            // Inside a value path the terms are sub-attributes of the element.
            let sub = resolved.sub.filter(|_| std::ptr::eq(resolved.attr, *attr)).ok_or_else(|| unknown(path))?;
            let expr = self.d.json_scalar(&format!("{alias}.value"), &[sub.name.as_str()]);
            return self.compare(&expr, sub, cmp);
        }
        if let Some(col) = column(self.kind, path) {
            return self.column_compare(&col, path, cmp);
        }
        if let Some(expr) = license_column(self.kind, path) {
            let attr = resolved.attr;
            return match cmp {
                // Integer columns: `pr` is not-null (an integer never equals '').
                None => {
                    self.out.sql.push_str(&format!("{expr} IS NOT NULL"));
                    Ok(())
                }
                Some(_) => self.compare(expr, attr, cmp),
            };
        }
        let attr = resolved.attr;
        if resolved.sub.is_none() && attr.ty == AttrType::Complex && cmp.is_none() {
            // `name pr` / `emails pr`: any value at all.
            return self.present_container(&resolved);
        }
        // `emails co "x"` compares the `value` sub-attribute (RFC 7644 §3.4.2.2 examples).
        let sub = match resolved.sub {
            Some(s) => Some(s),
            None if attr.ty == AttrType::Complex => Some(attr.sub("value").ok_or_else(|| unknown(path))?),
            None => None,
        };
        if let Some(m) = self.membership(attr, sub)? {
            let (negate, cmp) = match cmp {
                Some((CompareOp::Ne, v)) => (true, Some((CompareOp::Eq, v))),
                other => (false, other),
            };
            if negate {
                self.out.sql.push_str("NOT ");
            }
            self.out.sql.push_str(&m.open);
            let leaf = sub.unwrap_or(attr);
            self.compare(&m.column, leaf, cmp)?;
            self.out.sql.push(')');
            return Ok(());
        }
        let mut keys = json_keys(&Resolved { sub: None, ..resolved });
        if let (Some(s), Some((op @ (CompareOp::Eq | CompareOp::Ew), CompValue::Str(v)))) = (sub, cmp) {
            if is_indexed(resolved.container, attr, s) {
                self.indexed_lookup(attr, s, op, v);
                return Ok(());
            }
        }
        if attr.multi_valued {
            // `ne` is the negation of `eq`: no element equals (the in-memory evaluator agrees).
            let (negate, cmp) = match cmp {
                Some((CompareOp::Ne, v)) => (true, Some((CompareOp::Eq, v))),
                other => (false, other),
            };
            if negate {
                self.out.sql.push_str("NOT ");
            }
            let alias = self.alias();
            let element = format!("{alias}.value");
            let (expr, leaf) = match sub {
                Some(s) => (self.d.json_scalar(&element, &[s.name.as_str()]), s),
                None => (self.d.json_element_scalar(&element), attr),
            };
            self.out
                .sql
                .push_str(&format!("EXISTS (SELECT 1 FROM {} WHERE ", self.d.json_elements(FOLDED, &keys, &alias)));
            self.compare(&expr, leaf, cmp)?;
            self.out.sql.push(')');
            return Ok(());
        }
        if let Some(s) = sub {
            keys.push(s.name.clone());
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let expr = self.d.json_scalar(FOLDED, &keys);
        self.compare(&expr, sub.unwrap_or(attr), cmp)
    }

    /// `r.seq IN (…)` over `resource_values` for an `eq` or `ew`, answered from its indexes.
    fn indexed_lookup(&mut self, attr: &Attribute, sub: &Attribute, op: CompareOp, value: &str) {
        self.out.sql.push_str(&format!(
            "r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.attr = '{}.{}' AND ",
            attr.name, sub.name
        ));
        if op == CompareOp::Ew {
            self.suffix("v.value_rev", &fold(value));
        } else {
            let p = self.out.bind(Bind::Text(fold(value)));
            self.out.sql.push_str(&format!("v.value_fold = {p}"));
        }
        self.out.sql.push(')');
    }

    /// `ew folded`, over `column` holding the reversed folded text: a range of its index.
    fn suffix(&mut self, column: &str, folded: &str) {
        let start = reversed(folded);
        let end = prefix_end(&start);
        let p = self.out.bind(Bind::Text(start));
        match end {
            Some(end) => {
                let q = self.out.bind(Bind::Text(end));
                self.out.sql.push_str(&format!("({column} >= {p} AND {column} < {q})"));
            }
            None => self.out.sql.push_str(&format!("{column} >= {p}")),
        }
    }

    fn present_container(&mut self, resolved: &Resolved<'_>) -> Result<(), StoreError> {
        if let Some(m) = self.membership(resolved.attr, None)? {
            self.out.sql.push_str(&m.open);
            self.out.sql.push_str("TRUE)");
            return Ok(());
        }
        let keys = json_keys(resolved);
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.out.sql.push_str(&self.d.json_present(FOLDED, &keys));
        Ok(())
    }

    /// `members` of a Group and `groups` of a User live in the membership table.
    fn membership(&self, attr: &Attribute, sub: Option<&Attribute>) -> Result<Option<Membership>, StoreError> {
        let (open, prefix) = match (self.kind, attr.name.as_str()) {
            (ResourceKind::Group, "members") => {
                ("EXISTS (SELECT 1 FROM members m JOIN resources x ON x.seq = m.member_seq WHERE m.group_seq = r.seq AND ", "x")
            }
            (ResourceKind::User, "groups") => {
                ("EXISTS (SELECT 1 FROM members m JOIN resources x ON x.seq = m.group_seq WHERE m.member_seq = r.seq AND ", "x")
            }
            _ => return Ok(None),
        };
        // All three are case-insensitive (the schemas say so): each column is read folded.
        // Ids are generated in lower case, so an id is its own folded form.
        let column = match sub.map(|s| s.name.as_str()) {
            None | Some("value") => format!("{prefix}.id"),
            Some("display") => format!("COALESCE({prefix}.display_name_fold, {prefix}.user_name_fold)"),
            Some("type") => format!("lower({prefix}.kind)"),
            Some(other) => {
                return Err(StoreError::Unsupported(format!(
                    "filtering on {}.{other} is not supported; use {}.value",
                    attr.name, attr.name
                )))
            }
        };
        Ok(Some(Membership { open: open.to_owned(), column }))
    }

    fn membership_filter(&mut self, inner: &Checked<'_>) -> Result<(), StoreError> {
        match inner {
            Checked::And(a, b) | Checked::Or(a, b) => {
                let op = if matches!(inner, Checked::And(..)) { " AND " } else { " OR " };
                self.out.sql.push('(');
                self.membership_filter(a)?;
                self.out.sql.push_str(op);
                self.membership_filter(b)?;
                self.out.sql.push(')');
                Ok(())
            }
            Checked::Not(f) => {
                self.out.sql.push_str("NOT COALESCE((");
                self.membership_filter(f)?;
                self.out.sql.push_str("), FALSE)");
                Ok(())
            }
            Checked::Compare { path, at, op, value } => {
                let sub = at.sub.ok_or_else(|| unknown(path))?;
                let col = self.membership(at.attr, Some(sub))?.map(|x| x.column).unwrap_or_default();
                self.compare(&col, sub, Some((*op, value)))
            }
            Checked::Present { .. } => {
                self.out.sql.push_str("TRUE");
                Ok(())
            }
            Checked::ValuePath { path, .. } => Err(unknown(path)),
        }
    }

    fn column_compare(
        &mut self,
        c: &Column,
        path: &AttrPath,
        cmp: Option<(CompareOp, &CompValue)>,
    ) -> Result<(), StoreError> {
        let col = format!("r.{}", c.name);
        let Some((op, value)) = cmp else {
            self.out.sql.push_str(&format!("({col} IS NOT NULL AND {col} <> '')"));
            return Ok(());
        };
        let v = match value {
            CompValue::Null => {
                return self.null_compare(&col, op);
            }
            CompValue::Str(v) => v,
            _ => return Err(StoreError::Unsupported(format!("{path} is a string: compare it with a quoted value"))),
        };
        let v = if c.time {
            let t = resource::parse_datetime(v).ok_or_else(|| {
                StoreError::Unsupported(format!("{path} needs a dateTime such as \"2024-05-13T04:42:34Z\""))
            })?;
            format_time(t)
        } else if c.folded {
            fold(v)
        } else {
            v.clone()
        };
        if let (CompareOp::Ew, Some(rev)) = (op, c.reversed) {
            self.suffix(&format!("r.{rev}"), &v);
            return Ok(());
        }
        // Folded columns already hold folded text, so an exact comparison is the right one.
        self.string_compare(&col, op, v)
    }

    fn null_compare(&mut self, expr: &str, op: CompareOp) -> Result<(), StoreError> {
        let sql = match op {
            CompareOp::Eq => format!("{expr} IS NULL"),
            CompareOp::Ne => format!("{expr} IS NOT NULL"),
            _ => return Err(StoreError::Unsupported("null can only be compared with eq or ne".into())),
        };
        self.out.sql.push_str(&sql);
        Ok(())
    }

    /// A comparison of the SQL expression `expr`, whose values are of `attr`'s type.
    fn compare(
        &mut self,
        expr: &str,
        attr: &Attribute,
        cmp: Option<(CompareOp, &CompValue)>,
    ) -> Result<(), StoreError> {
        let Some((op, value)) = cmp else {
            self.out.sql.push_str(&format!("({expr} IS NOT NULL AND {expr} <> '')"));
            return Ok(());
        };
        match (attr.ty, value) {
            (_, CompValue::Null) => self.null_compare(expr, op),
            (AttrType::Boolean, CompValue::Bool(b)) => {
                let p = self.out.bind(Bind::Bool(*b));
                let e = self.d.json_bool(expr);
                let sql = match op {
                    CompareOp::Eq => format!("{e} = {p}"),
                    CompareOp::Ne => format!("({e} IS NULL OR {e} <> {p})"),
                    _ => return Err(StoreError::Unsupported(format!("{} is a boolean: use eq or ne", attr.name))),
                };
                self.out.sql.push_str(&sql);
                Ok(())
            }
            (AttrType::Integer | AttrType::Decimal, CompValue::Number(n)) => {
                let b = match n.as_i64() {
                    Some(i) => Bind::Int(i),
                    None => Bind::Real(n.as_f64().unwrap_or(0.0)),
                };
                let p = self.out.bind(b);
                let e = self.d.json_number(expr);
                let sql = match op {
                    CompareOp::Eq => format!("{e} = {p}"),
                    CompareOp::Ne => format!("({e} IS NULL OR {e} <> {p})"),
                    CompareOp::Gt => format!("{e} > {p}"),
                    CompareOp::Ge => format!("{e} >= {p}"),
                    CompareOp::Lt => format!("{e} < {p}"),
                    CompareOp::Le => format!("{e} <= {p}"),
                    _ => {
                        return Err(StoreError::Unsupported(format!(
                            "{} is a number: co, sw and ew do not apply",
                            attr.name
                        )))
                    }
                };
                self.out.sql.push_str(&sql);
                Ok(())
            }
            (AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime, CompValue::Str(v)) => {
                // `expr` reads folded text when the attribute folds; the value is folded to match.
                let v = if resource::folds(attr) { fold(v) } else { v.clone() };
                self.string_compare(expr, op, v)
            }
            _ => {
                Err(StoreError::Unsupported(format!("{}: the value's type does not match the attribute's", attr.name)))
            }
        }
    }

    fn string_compare(&mut self, expr: &str, op: CompareOp, v: String) -> Result<(), StoreError> {
        let sql = self.d.compare_text(expr, op, &v, self.out);
        self.out.sql.push_str(&sql);
        Ok(())
    }
}

struct Membership {
    /// `EXISTS (SELECT 1 FROM members … AND ` — closed by the caller.
    open: String,
    /// The column of the joined row the sub-attribute reads.
    column: String,
}

fn is_indexed(container: Container<'_>, attr: &Attribute, sub: &Attribute) -> bool {
    container == Container::Core
        && !sub.case_exact
        && INDEXED_VALUES.iter().any(|(a, s)| *a == attr.name && *s == sub.name)
}

/// The `sub eq "value"` and `sub ew "value"` comparisons that must all hold for `f` to hold
/// (its top-level conjuncts).
fn indexable<'f>(f: &'f Checked<'_>) -> Vec<(&'f Attribute, CompareOp, &'f str)> {
    match f {
        Checked::And(a, b) => {
            let mut v = indexable(a);
            v.extend(indexable(b));
            v
        }
        Checked::Compare { at, op: op @ (CompareOp::Eq | CompareOp::Ew), value: CompValue::Str(v), .. } => {
            at.sub.map(|sub| vec![(sub, *op, v.as_str())]).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// The JSON keys leading to a resolved attribute (extension URN first), as the schema spells them.
fn json_keys(resolved: &Resolved<'_>) -> Vec<String> {
    let mut keys = Vec::new();
    if let Container::Extension(urn) = resolved.container {
        keys.push(urn.to_owned());
    }
    keys.push(resolved.attr.name.clone());
    if let Some(s) = resolved.sub {
        keys.push(s.name.clone());
    }
    keys
}

fn unknown(path: &AttrPath) -> StoreError {
    StoreError::Unsupported(format!("filtering on {path} is not supported"))
}

/// The SQL expression a list is ordered by for `sortBy=path` (RFC 7644 §3.4.2.3): the
/// attribute's value, folded when it is case-insensitive; for a multi-valued attribute the
/// primary value, else the first.
pub fn sort_expr(d: &dyn Dialect, kind: ResourceKind, path: &AttrPath) -> Result<String, StoreError> {
    if let Some(c) = column(kind, path) {
        return Ok(d.text_order(&format!("r.{}", c.name)));
    }
    if let Some(expr) = license_column(kind, path) {
        return Ok(expr.to_owned());
    }
    let registry = Registry::builtin().map_err(StoreError::Corrupt)?;
    let rt = registry.resource_type(kind);
    let resolved = registry.resolve(rt, path).ok_or_else(|| unknown(path))?;
    let attr = resolved.attr;
    let leaf = match resolved.sub {
        Some(s) => s,
        None if attr.ty == AttrType::Complex => attr.sub("value").ok_or_else(|| unknown(path))?,
        None => attr,
    };
    if matches!(leaf.ty, AttrType::Complex) {
        return Err(unknown(path));
    }
    let mut keys = json_keys(&Resolved { sub: None, ..resolved });
    let expr = if attr.multi_valued {
        let value_key = (attr.ty == AttrType::Complex).then_some(leaf.name.as_str());
        let element = |base: &str| match value_key {
            Some(k) => d.json_scalar(base, &[k]),
            None => d.json_element_scalar(base),
        };
        let primary = if attr.sub("primary").is_some() {
            let flag = d.json_bool(&d.json_scalar("s.value", &["primary"]));
            format!(
                "(SELECT {} FROM {} WHERE {flag} = TRUE LIMIT 1), ",
                element("s.value"),
                d.json_elements(FOLDED, &keys, "s")
            )
        } else {
            String::new()
        };
        keys.push(FIRST_ELEMENT.to_owned());
        if let Some(k) = value_key {
            keys.push(k.to_owned());
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let first = d.json_scalar(FOLDED, &keys);
        // SQLite's COALESCE takes two arguments at least (PostgreSQL's one).
        if primary.is_empty() {
            first
        } else {
            format!("COALESCE({primary}{first})")
        }
    } else {
        if let Some(s) = resolved.sub {
            keys.push(s.name.clone());
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        d.json_scalar(FOLDED, &keys)
    };
    Ok(match leaf.ty {
        // Case-insensitive strings are read folded: code point order of the folded text.
        AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary => d.text_order(&expr),
        AttrType::Integer | AttrType::Decimal => d.json_number(&expr),
        _ => expr,
    })
}

/// A JSON path step meaning "the first element of the array".
pub(crate) const FIRST_ELEMENT: &str = "#0";

pub fn kind_literal(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "'User'",
        ResourceKind::Group => "'Group'",
        ResourceKind::License => "'License'",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::{check, parse_filter};

    #[test]
    fn stored_timestamps_read_by_hand_are_what_the_parser_reads() {
        let parser = |s: &str| time::PrimitiveDateTime::parse(s, TIMESTAMP).map(|t| t.assume_utc()).ok();
        let times = [
            "2024-01-31T12:34:56.789012Z",
            "2024-02-29T00:00:00.000000Z",
            "1999-12-31T23:59:59.999999Z",
            "0001-01-01T00:00:00.000001Z",
        ];
        for s in times {
            let by_hand = parse_stored_form(s);
            assert!(by_hand.is_some(), "{s}");
            assert_eq!(by_hand, parser(s), "{s}");
            assert_eq!(format_time(parse_time(s).unwrap()), s);
        }
        // Not a date, not the stored form, not digits: left to the parser, which refuses them.
        for s in ["2023-02-29T00:00:00.000000Z", "2024-01-31 12:34:56.789012Z", "2024-01-31T12:34:5x.789012Z", ""] {
            assert_eq!(parse_stored_form(s), None, "{s}");
            assert!(matches!(parse_time(s), Err(StoreError::Corrupt(_))), "{s}");
        }
    }

    fn sql(f: &str) -> Fragment {
        let registry = Registry::builtin().unwrap();
        let checked = check(registry, registry.resource_type(ResourceKind::User), &parse_filter(f).unwrap()).unwrap();
        let mut out = Fragment::default();
        compile_filter(&SqliteDialect, ResourceKind::User, &checked, &mut out).unwrap();
        out
    }

    #[test]
    fn user_name_eq_compares_the_folded_column_with_a_bound_value() {
        let f = sql("userName eq \"MÜLLER\"");
        assert_eq!(f.sql, "r.user_name_fold = ?");
        assert_eq!(f.binds, vec![Bind::Text("müller".into())]);
    }

    #[test]
    fn ew_is_a_range_of_the_reversed_folded_text() {
        let f = sql("userName ew \"@Example.COM\"");
        assert_eq!(f.sql, "(r.user_name_rev >= ? AND r.user_name_rev < ?)");
        assert_eq!(f.binds, vec![Bind::Text("moc.elpmaxe@".into()), Bind::Text("moc.elpmaxeA".into())]);
        let f = sql("emails.value ew \"%_\"");
        assert!(f.sql.contains("(v.value_rev >= ? AND v.value_rev < ?)"), "{}", f.sql);
        assert_eq!(f.binds, vec![Bind::Text("_%".into()), Bind::Text("_&".into())]);
    }

    #[test]
    fn a_prefix_ends_at_its_last_code_point_plus_one() {
        assert_eq!(prefix_end("ab"), Some("ac".into()));
        assert_eq!(prefix_end("a\u{D7FF}"), Some("a\u{E000}".into()));
        assert_eq!(prefix_end("a\u{10FFFF}"), Some("b".into()));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        assert_eq!(prefix_end(""), None);
        assert_eq!(reversed("straße"), "eßarts");
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
    fn a_value_filter_on_one_attribute_cannot_name_another_ones_sub_attribute() {
        // `emails[name.givenName eq "x"]` resolves to name.givenName, which no element holds.
        let registry = Registry::builtin().unwrap();
        let f = parse_filter("emails[name.givenName eq \"x\"]").unwrap();
        let checked = check(registry, registry.resource_type(ResourceKind::User), &f).unwrap();
        let mut out = Fragment::default();
        let err = compile_filter(&SqliteDialect, ResourceKind::User, &checked, &mut out);
        assert!(matches!(err, Err(StoreError::Unsupported(_))), "{err:?}");
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
