//! The SCIM filter language of RFC 7644 §3.4.2.2: its AST, parser and in-memory evaluator.
//! Also owns the attribute-path grammar used by `sortBy`, `attributes` and PATCH `path`.

mod ast;
mod eval;
mod parse;

pub use ast::{CompValue, CompareOp, Filter, PathExpr};
pub use eval::{case_fold, matches, AllCaseInsensitive, AttrInfo};
pub use parse::{parse_attr_path, parse_filter, parse_value_path_or_attr, MAX_DEPTH, MAX_FILTER_LEN};
mod check;
pub use check::{check, check_cost, parse_checked, Checked, FilterBudget, SchemaInfo};
