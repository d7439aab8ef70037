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
    pub fn as_datetime(&self) -> Option<time::OffsetDateTime> {
        match self {
            CompValue::Str(s) => crate::scim::resource::parse_datetime(s),
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
    fn as_datetime_only_for_strings() {
        assert!(CompValue::Str("2011-05-13T04:42:34Z".into()).as_datetime().is_some());
        assert!(CompValue::Number(5.into()).as_datetime().is_none());
    }
}
