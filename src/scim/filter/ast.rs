//! The filter AST, the PATCH path expression and their canonical string forms.
//! Also the std-only dateTime reader used to compare `xsd:dateTime` values chronologically.

use std::fmt;

use crate::scim::path::AttrPath;

/// A parsed SCIM filter (RFC 7644 §3.4.2.2).
///
/// Parentheses leave no trace: `(a pr)` and `a pr` are the same value, which keeps
/// equality structural and lets `Display` choose where parentheses go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `attrPath compareOp compValue`.
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    /// `attrPath pr`.
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `not ( filter )`.
    Not(Box<Filter>),
    /// `attrPath "[" valFilter "]"`.
    ///
    /// `path` names the multi-valued attribute (its `sub` is always `None`); the paths inside
    /// `filter` are relative to one element, so `emails[type eq "work"]` holds `type`, not
    /// `emails.type`.
    ///
    /// Entra ID sends the non-RFC form `emails[type eq "work"].value eq "x"`. It means "some
    /// element is a work address whose value is x", which is exactly what the RFC form
    /// `emails[type eq "work" and value eq "x"]` means, so the parser moves the trailing
    /// comparison inside the bracket as an extra right-hand conjunct rather than growing the
    /// AST a variant that every consumer would have to handle.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// The comparison operators of RFC 7644 §3.4.2.2, Table 3 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The operator keyword in its canonical lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Operator keywords are case-insensitive (`Eq` appears in the RFC's own examples).
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        CompareOp::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `compValue = false / null / true / number / string`.
///
/// dateTime and binary values travel as strings; only the schema knows which they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(String),
}

impl CompValue {
    /// The instant this value names, when it is a string in `xsd:dateTime` form.
    pub fn as_datetime(&self) -> Option<Timestamp> {
        match self {
            CompValue::Str(s) => parse_datetime(s),
            _ => None,
        }
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Str(s) => write_json_string(f, s),
        }
    }
}

/// Writes `s` as a JSON string literal, which is what the filter grammar's `string` is.
fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// Binding strength of the context a sub-filter is printed in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Atom,
}

impl Filter {
    fn fmt_prec(&self, f: &mut fmt::Formatter<'_>, ctx: Prec) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Not(inner) => {
                f.write_str("not (")?;
                inner.fmt_prec(f, Prec::Or)?;
                f.write_str(")")
            }
            Filter::ValuePath { path, filter } => {
                write!(f, "{path}[")?;
                filter.fmt_prec(f, Prec::Or)?;
                f.write_str("]")
            }
            // The parser is left-associative, so a right operand of the same operator
            // needs parentheses to come back as the same tree.
            Filter::And(l, r) => {
                let paren = ctx > Prec::And;
                if paren {
                    f.write_str("(")?;
                }
                l.fmt_prec(f, Prec::And)?;
                f.write_str(" and ")?;
                r.fmt_prec(f, Prec::Atom)?;
                if paren {
                    f.write_str(")")?;
                }
                Ok(())
            }
            Filter::Or(l, r) => {
                let paren = ctx > Prec::Or;
                if paren {
                    f.write_str("(")?;
                }
                l.fmt_prec(f, Prec::Or)?;
                f.write_str(" or ")?;
                r.fmt_prec(f, Prec::And)?;
                if paren {
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}

/// The canonical form: lower-case keywords, single spaces, JSON-escaped strings and only the
/// parentheses needed to parse back to an equal AST.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_prec(f, Prec::Or)
    }
}

/// A PATCH `path` (RFC 7644 §3.5.2): `attrPath / valuePath [subAttr]`.
///
/// `emails[type eq "work"].value` is `attr = emails`, `filter = Some(type eq "work")`,
/// `sub_after_filter = Some("value")`; `name.familyName` is `attr = name.familyName` alone.
/// When `filter` is set, `attr.sub` is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathExpr {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub_after_filter: Option<String>,
}

impl fmt::Display for PathExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_after_filter {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// An instant as seconds and nanoseconds since 1970-01-01T00:00:00Z.
///
/// Field order makes the derived `Ord` chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

/// Reads an `xsd:dateTime` (RFC 7643 §2.3.5), e.g. `2011-05-13T04:42:34Z`.
///
/// Accepts fractional seconds and `Z` / `±hh:mm` offsets; a value without an offset is taken
/// as UTC, as xsd leaves it unspecified and SCIM servers emit UTC. Returns `None` for
/// anything else so callers can fall back to string comparison.
pub fn parse_datetime(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(digits.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, expected: &[u8]| b.get(at).is_some_and(|c| expected.contains(c));

    let year = num(0, 4)?;
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    let hour = num(11, 2)?;
    let minute = num(14, 2)?;
    let second = num(17, 2)?;
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }

    let mut i = 19;
    let mut nanos: u32 = 0;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = b.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        // Precision beyond nanoseconds cannot change an ordering we can represent.
        for pos in 0..9 {
            let d = frac.get(pos).map_or(0, |d| u32::from(d - b'0'));
            nanos = nanos * 10 + d;
        }
    }

    let offset = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let hh = num(i + 1, 2)?;
            let mm = num(i + 4, 2)?;
            if !sep(i + 3, b":") || hh > 23 || mm > 59 {
                return None;
            }
            i += 6;
            let magnitude = hh * 3600 + mm * 60;
            if *sign == b'-' {
                -magnitude
            } else {
                magnitude
            }
        }
        Some(_) => return None,
    };
    if i != b.len() {
        return None;
    }

    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_len = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    // Second 60 is a leap second; it sorts after :59 of the same minute, which is enough.
    if day < 1 || day > month_len || hour > 23 || minute > 59 || second > 60 {
        return None;
    }

    let days = days_from_civil(year, month, day);
    Some(Timestamp { secs: days * 86_400 + hour * 3600 + minute * 60 + second - offset, nanos })
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(name: &str, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare { path: AttrPath::new(name), op, value }
    }

    fn pr(name: &str) -> Filter {
        Filter::Present(AttrPath::new(name))
    }

    #[test]
    fn display_parenthesises_only_where_needed() {
        let a = || Box::new(pr("a"));
        let b = || Box::new(pr("b"));
        let c = || Box::new(pr("c"));
        let left_and = Filter::And(Box::new(Filter::And(a(), b())), c());
        assert_eq!(left_and.to_string(), "a pr and b pr and c pr");
        let right_and = Filter::And(a(), Box::new(Filter::And(b(), c())));
        assert_eq!(right_and.to_string(), "a pr and (b pr and c pr)");
        let or_in_and = Filter::And(Box::new(Filter::Or(a(), b())), c());
        assert_eq!(or_in_and.to_string(), "(a pr or b pr) and c pr");
        let and_in_or = Filter::Or(a(), Box::new(Filter::And(b(), c())));
        assert_eq!(and_in_or.to_string(), "a pr or b pr and c pr");
        let not = Filter::Not(Box::new(Filter::Or(a(), b())));
        assert_eq!(not.to_string(), "not (a pr or b pr)");
    }

    #[test]
    fn display_escapes_strings_as_json() {
        let f = cmp("title", CompareOp::Eq, CompValue::Str("a\"b\\c\nd\u{1}é".into()));
        assert_eq!(f.to_string(), r#"title eq "a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn display_values_and_paths() {
        let f = Filter::ValuePath {
            path: AttrPath {
                urn: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                name: "emails".into(),
                sub: None,
            },
            filter: Box::new(Filter::And(
                Box::new(cmp("primary", CompareOp::Eq, CompValue::Bool(true))),
                Box::new(cmp("x", CompareOp::Ne, CompValue::Null)),
            )),
        };
        assert_eq!(f.to_string(), "urn:ietf:params:scim:schemas:core:2.0:User:emails[primary eq true and x ne null]");
        let n = cmp("n", CompareOp::Ge, CompValue::Number((-12).into()));
        assert_eq!(n.to_string(), "n ge -12");
    }

    #[test]
    fn path_expr_display() {
        let p = PathExpr {
            attr: AttrPath::new("emails"),
            filter: Some(cmp("type", CompareOp::Eq, CompValue::Str("work".into()))),
            sub_after_filter: Some("value".into()),
        };
        assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);
    }

    #[test]
    fn compare_op_keywords_are_case_insensitive() {
        assert_eq!(CompareOp::from_keyword("Eq"), Some(CompareOp::Eq));
        assert_eq!(CompareOp::from_keyword("LE"), Some(CompareOp::Le));
        assert_eq!(CompareOp::from_keyword("pr"), None);
        assert_eq!(CompareOp::from_keyword("eqx"), None);
    }

    #[test]
    fn datetimes_parse_to_instants() {
        let t = parse_datetime("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(t, Timestamp { secs: 0, nanos: 0 });
        let t = parse_datetime("2011-05-13T04:42:34Z").unwrap();
        assert_eq!(t.secs, 1_305_261_754);
        let offset = parse_datetime("2011-05-13T06:42:34.5+02:00").unwrap();
        assert_eq!(offset, Timestamp { secs: 1_305_261_754, nanos: 500_000_000 });
        let no_zone = parse_datetime("2011-05-13T04:42:34").unwrap();
        assert_eq!(no_zone.secs, 1_305_261_754);
        assert!(parse_datetime("2000-02-29T00:00:00Z").unwrap() < parse_datetime("2000-03-01T00:00:00Z").unwrap());
        assert!(parse_datetime("1969-12-31T23:59:59Z").unwrap().secs == -1);
    }

    #[test]
    fn non_datetimes_are_rejected() {
        for s in [
            "",
            "2011-05-13",
            "2011-05-13T04:42",
            "2011-13-01T00:00:00Z",
            "2011-02-29T00:00:00Z",
            "2011-05-13T24:00:00Z",
            "2011-05-13T04:42:34.Z",
            "2011-05-13T04:42:34Zjunk",
            "2011-05-13T04:42:34+0200",
            "bjensen",
            "２011-05-13T04:42:34Z",
        ] {
            assert_eq!(parse_datetime(s), None, "{s}");
        }
    }

    #[test]
    fn as_datetime_only_for_strings() {
        assert!(CompValue::Str("2011-05-13T04:42:34Z".into()).as_datetime().is_some());
        assert!(CompValue::Number(5.into()).as_datetime().is_none());
    }
}
