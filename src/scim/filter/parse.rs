//! The nom parser for filters (RFC 7644 §3.4.2.2), attribute paths and PATCH paths (§3.5.2).
//! Every failure becomes a `ScimError` whose detail names what was expected and the column.

use std::borrow::Cow;

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{char, digit1, multispace0, multispace1, one_of};
use nom::combinator::{all_consuming, opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::sequence::{pair, tuple};
use nom::IResult;

use super::ast::{CompValue, CompareOp, Filter, PathExpr};
use crate::scim::error::ScimError;
use crate::scim::path::AttrPath;

/// Longest filter, in characters, that the parser will look at.
pub const MAX_FILTER_LEN: usize = 4096;

/// Deepest nesting of parentheses, `not` and value filters.
///
/// Recursion follows nesting, so this bounds stack use whatever the input length.
pub const MAX_DEPTH: usize = 32;

const OPERATORS: &str = "eq, ne, co, sw, ew, gt, ge, lt, le, pr";

/// A parse failure: where it happened (the unparsed rest of the input) and what was expected.
#[derive(Debug)]
struct PErr<'a> {
    at: &'a str,
    msg: Cow<'static, str>,
    kind: Option<ErrorKind>,
    /// The bracket that an unclosed-group error refers back to.
    opened: Option<(&'a str, char)>,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, kind: ErrorKind) -> Self {
        PErr { at: input, msg: Cow::Borrowed("unexpected input"), kind: Some(kind), opened: None }
    }

    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
}

impl PErr<'_> {
    /// `"<msg> at column <n>"`, counting characters from 1 as a person reading the filter does.
    fn render(&self, full: &str) -> String {
        let column = |at: &str| {
            let offset = full.len().saturating_sub(at.len());
            full.get(..offset).map_or(0, |s| s.chars().count()) + 1
        };
        let mut out = format!("{} at column {}", self.msg, column(self.at));
        if self.at.is_empty() {
            out.push_str(" (end of input)");
        }
        if let Some((at, open)) = self.opened {
            out.push_str(&format!(" to close the '{open}' at column {}", column(at)));
        }
        out
    }
}

type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

/// A definite error: `Failure` stops nom from backtracking into a worse message.
fn fail<'a, T>(at: &'a str, msg: impl Into<Cow<'static, str>>) -> PResult<'a, T> {
    Err(nom::Err::Failure(PErr { at, msg: msg.into(), kind: None, opened: None }))
}

/// Characters that can continue a word; a keyword followed by one of these is not a keyword.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '$')
}

/// ```abnf
/// nameChar = "-" / "_" / DIGIT / ALPHA
/// ```
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
}

/// ```abnf
/// ATTRNAME = ALPHA *(nameChar) / "$ref"
/// ```
///
/// `$ref` is not an ATTRNAME in RFC 7643 §2.1, yet RFC 7643 itself names sub-attributes
/// `$ref`, and clients filter on them.
fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => chars.all(is_name_char),
        Some('$') => s.eq_ignore_ascii_case("$ref"),
        _ => false,
    }
}

/// The one word (keyword, operator or literal) at the start of `input`; keywords are only
/// recognised as whole words so that `orders` or `andx` are never split.
///
/// ```abnf
/// word = 1*(ALPHA / DIGIT / "-" / "_" / "." / ":" / "$")
/// ```
fn word(input: &str) -> PResult<'_, &str> {
    take_while1(is_word_char)(input)
}

/// The part of `whole` already parsed when `rest` is left; both are suffixes of one input.
fn consumed<'a>(whole: &'a str, rest: &str) -> &'a str {
    whole.get(..whole.len().saturating_sub(rest.len())).unwrap_or("")
}

/// Parser state that nests: the depth so far and whether we are inside `[...]`.
#[derive(Clone, Copy)]
struct Ctx {
    depth: usize,
    in_value_filter: bool,
}

impl Ctx {
    const TOP: Ctx = Ctx { depth: 0, in_value_filter: false };

    fn deeper<'a>(self, at: &'a str) -> Result<Ctx, nom::Err<PErr<'a>>> {
        if self.depth >= MAX_DEPTH {
            return Err(nom::Err::Failure(PErr {
                at,
                msg: Cow::Owned(format!(
                    "nesting of parentheses, 'not' and value filters exceeds the limit of {MAX_DEPTH} levels"
                )),
                kind: None,
                opened: None,
            }));
        }
        Ok(Ctx { depth: self.depth + 1, ..self })
    }
}

/// ```abnf
/// attrPath = [URI ":"] ATTRNAME *1subAttr
/// subAttr  = "." ATTRNAME
/// ```
///
/// Schema URNs contain `:` and `.` themselves (`...:core:2.0:User`), so the whole run of
/// path characters is taken first and the URN is everything before its last `:`.
fn attr_path(input: &str) -> PResult<'_, AttrPath> {
    let (rest, run) = take_while(is_word_char)(input)?;
    if run.is_empty() {
        return fail(input, "expected an attribute name");
    }
    let (urn, local, local_at) = match run.rfind(':') {
        Some(colon) => {
            let urn = run.get(..colon).unwrap_or("");
            let local_at = input.get(colon + 1..).unwrap_or("");
            if urn.is_empty() {
                return fail(input, "expected a schema URN before ':'");
            }
            (Some(urn.to_owned()), run.get(colon + 1..).unwrap_or(""), local_at)
        }
        None => (None, run, input),
    };
    let mut parts = local.splitn(3, '.');
    let name = parts.next().unwrap_or("");
    let sub = parts.next();
    if parts.next().is_some() {
        let second_dot = name.len() + 1 + sub.map_or(0, str::len);
        return fail(
            local_at.get(second_dot..).unwrap_or(""),
            "an attribute path has at most one sub-attribute ('.'), but found another",
        );
    }
    if !is_attr_name(name) {
        return fail(
            local_at,
            if name.is_empty() {
                Cow::Borrowed("expected an attribute name")
            } else {
                Cow::Owned(format!(
                    "'{name}' is not an attribute name (a letter followed by letters, digits, '-' or '_')"
                ))
            },
        );
    }
    if let Some(sub) = sub {
        if !is_attr_name(sub) {
            let sub_at = local_at.get(name.len() + 1..).unwrap_or("");
            return fail(
                sub_at,
                if sub.is_empty() {
                    Cow::Borrowed("expected a sub-attribute name after '.'")
                } else {
                    Cow::Owned(format!(
                        "'{sub}' is not a sub-attribute name (a letter followed by letters, digits, '-' or '_')"
                    ))
                },
            );
        }
    }
    Ok((rest, AttrPath { urn, name: name.to_owned(), sub: sub.map(str::to_owned) }))
}

/// A bare `ATTRNAME`, as in the `subAttr` after a value path's `]`.
///
/// ```abnf
/// subAttr = "." ATTRNAME
/// ```
fn sub_attr(input: &str) -> PResult<'_, String> {
    let after_dot = match char::<_, PErr>('.')(input) {
        Ok((rest, _)) => rest,
        Err(_) => return fail(input, "expected '.'"),
    };
    let (rest, name) = take_while(|c: char| is_name_char(c) || c == '$')(after_dot)?;
    if !is_attr_name(name) {
        return fail(after_dot, "expected a sub-attribute name after '.'");
    }
    Ok((rest, name.to_owned()))
}

/// ```abnf
/// compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
/// ```
///
/// Also `pr`, which takes no value; `None` stands for it.
fn compare_op(input: &str) -> PResult<'_, Option<CompareOp>> {
    let expected = || format!("expected a comparison operator ({OPERATORS})");
    let Ok((rest, w)) = word(input) else {
        return fail(input, expected());
    };
    if w.eq_ignore_ascii_case("pr") {
        return Ok((rest, None));
    }
    match CompareOp::from_keyword(w) {
        Some(op) => Ok((rest, Some(op))),
        None => fail(input, expected()),
    }
}

/// ```abnf
/// compValue = false / null / true / number / string
/// ```
///
/// `false`, `null` and `true` are case-insensitive, as ABNF literals are.
fn comp_value(input: &str) -> PResult<'_, CompValue> {
    match input.chars().next() {
        Some('"') => {
            let (rest, s) = string_lit(input)?;
            Ok((rest, CompValue::Str(s)))
        }
        Some(c) if c == '-' || c.is_ascii_digit() => {
            let (rest, n) = number(input)?;
            Ok((rest, CompValue::Number(n)))
        }
        _ => {
            let literal = alt((tag_no_case::<_, _, PErr>("false"), tag_no_case("null"), tag_no_case("true")))(input);
            if let Ok((rest, lit)) = literal {
                if !rest.starts_with(is_word_char) {
                    let value = match lit.to_ascii_lowercase().as_str() {
                        "false" => CompValue::Bool(false),
                        "true" => CompValue::Bool(true),
                        _ => CompValue::Null,
                    };
                    return Ok((rest, value));
                }
            }
            match word(input) {
                // Clients often forget the quotes; say so rather than "expected a value".
                Ok((_, w)) => fail(input, format!("string values must be quoted: write \"{w}\" instead of {w}")),
                Err(_) => fail(input, "expected a value (a quoted string, a number, true, false or null)"),
            }
        }
    }
}

/// A JSON string (RFC 8259 §7), escapes included.
///
/// ```abnf
/// string = quotation-mark *char quotation-mark
/// ```
fn string_lit(input: &str) -> PResult<'_, String> {
    let mut escaped = false;
    let mut end = None;
    for (i, c) in input.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            end = Some(i);
            break;
        }
    }
    let Some(end) = end else {
        return fail(input, "unterminated string: expected a closing '\"' for the string");
    };
    let literal = input.get(..=end).unwrap_or("");
    let rest = input.get(end + 1..).unwrap_or("");
    match serde_json::from_str::<String>(literal) {
        Ok(s) => Ok((rest, s)),
        Err(_) => fail(
            input,
            "invalid string: only JSON escapes (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) are allowed and control characters must be escaped",
        ),
    }
}

/// A JSON number (RFC 8259 §6).
///
/// ```abnf
/// number = [ minus ] int [ frac ] [ exp ]
/// ```
fn number(input: &str) -> PResult<'_, serde_json::Number> {
    let lexed = recognize(tuple((
        opt(char::<_, PErr>('-')),
        digit1,
        opt(pair(char('.'), digit1)),
        opt(tuple((one_of("eE"), opt(one_of("+-")), digit1))),
    )))(input);
    let invalid = |text: &str| format!("'{text}' is not a valid number (JSON number syntax)");
    let (rest, text) = match lexed {
        Ok(ok) => ok,
        Err(_) => {
            let (_, w) = take_while(is_word_char)(input)?;
            return fail(input, invalid(w));
        }
    };
    if rest.starts_with(is_word_char) {
        let (_, w) = take_while(is_word_char)(input)?;
        return fail(input, invalid(w));
    }
    match json_number(text) {
        Some(n) => Ok((rest, n)),
        None => fail(input, invalid(text)),
    }
}

/// The value of a lexically valid JSON number, or `None` for leading zeros and overflow.
///
/// `str::parse::<f64>` rounds correctly, which serde_json's default float parser does not
/// always do, and `Display` relies on that to round-trip.
fn json_number(text: &str) -> Option<serde_json::Number> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let int_len = unsigned.find(|c: char| !c.is_ascii_digit()).unwrap_or(unsigned.len());
    if int_len > 1 && unsigned.starts_with('0') {
        return None;
    }
    if int_len == unsigned.len() {
        if let Ok(n) = text.parse::<u64>() {
            return Some(n.into());
        }
        if let Ok(n) = text.parse::<i64>() {
            return Some(n.into());
        }
    }
    // Integers beyond 64 bits become floats, as in serde_json.
    serde_json::Number::from_f64(text.parse::<f64>().ok()?)
}

/// ```abnf
/// FILTER = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
/// logExp = FILTER SP ("and" / "or") SP FILTER
/// ```
///
/// The RFC's `logExp` is ambiguous; precedence (`not`, then `and`, then `or`) and left
/// associativity come from the prose of §3.4.2.2, so this is the `or` level.
fn or_expr(input: &str, ctx: Ctx) -> PResult<'_, Filter> {
    let (mut rest, mut acc) = and_expr(input, ctx)?;
    while let Some(after) = logical_keyword(input, rest, "or") {
        let (r, rhs) = and_expr(after, ctx)?;
        acc = Filter::Or(Box::new(acc), Box::new(rhs));
        rest = r;
    }
    Ok((rest, acc))
}

/// The `and` level of `logExp`:
///
/// ```abnf
/// logExp = FILTER SP "and" SP FILTER
/// ```
fn and_expr(input: &str, ctx: Ctx) -> PResult<'_, Filter> {
    let (mut rest, mut acc) = unary(input, ctx)?;
    while let Some(after) = logical_keyword(input, rest, "and") {
        let (r, rhs) = unary(after, ctx)?;
        acc = Filter::And(Box::new(acc), Box::new(rhs));
        rest = r;
    }
    Ok((rest, acc))
}

/// `SP keyword SP`, returning the input after it if `rest` starts with it.
///
/// ```abnf
/// SP ("and" / "or") SP
/// ```
///
/// The space before may be left out after `)`, `]` or `"`, and the one after before `(`:
/// those already end or start a token. `andx` or `orders` is a word, not a keyword.
fn logical_keyword<'a>(start: &'a str, rest: &'a str, keyword: &str) -> Option<&'a str> {
    let (after_ws, ws) = multispace0::<_, PErr>(rest).ok()?;
    let previous = consumed(start, rest).chars().next_back();
    if ws.is_empty() && !matches!(previous, Some(')' | ']' | '"')) {
        return None;
    }
    let (after_kw, w) = word(after_ws).ok()?;
    if !w.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let (after, _) = multispace0::<_, PErr>(after_kw).ok()?;
    Some(after)
}

/// One operand of `and`: a parenthesised filter, a negation, a comparison or a value path.
///
/// ```abnf
/// FILTER =/ "(" FILTER ")" / "not" "(" FILTER ")" / attrExp / valuePath
/// ```
fn unary(input: &str, ctx: Ctx) -> PResult<'_, Filter> {
    if input.starts_with('(') {
        return parenthesised(input, ctx);
    }
    if let Ok((after_not, w)) = word(input) {
        if w.eq_ignore_ascii_case("not") && is_not_operator(after_not) {
            let inner_ctx = ctx.deeper(input)?;
            let (at_paren, _) = multispace0(after_not)?;
            if !at_paren.starts_with('(') {
                return fail(at_paren, "expected '(' after 'not'");
            }
            // `not (` is one level: the parentheses are part of the negation's syntax.
            let (rest, inner) = group(at_paren, ')', inner_ctx)?;
            return Ok((rest, Filter::Not(Box::new(inner))));
        }
    }
    match input.chars().next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => attr_exp(input, ctx),
        _ => fail(input, "expected an attribute name, 'not' or '('"),
    }
}

/// Whether the `not` just read is the operator rather than an attribute called `not`.
fn is_not_operator(after_not: &str) -> bool {
    let Ok((rest, ws)) = multispace0::<_, PErr>(after_not) else {
        return false;
    };
    if rest.starts_with('(') || rest.is_empty() {
        return true;
    }
    if ws.is_empty() {
        return !rest.starts_with('[');
    }
    // `not eq "x"` and `not pr` compare an attribute named `not`.
    compare_op(rest).is_err()
}

/// ```abnf
/// "(" FILTER ")"
/// ```
fn parenthesised(input: &str, ctx: Ctx) -> PResult<'_, Filter> {
    let inner_ctx = ctx.deeper(input)?;
    group(input, ')', inner_ctx)
}

/// An opening bracket at `input`, a filter, then `close`; the nesting check is the caller's.
///
/// ```abnf
/// "(" FILTER ")" / "[" valFilter "]"
/// ```
fn group(input: &str, close: char, ctx: Ctx) -> PResult<'_, Filter> {
    let (after_open, open) = one_of("([")(input)?;
    let (start, _) = multispace0(after_open)?;
    let (rest, inner) = or_expr(start, ctx)?;
    let (rest, _) = multispace0(rest)?;
    match char::<_, PErr>(close)(rest) {
        Ok((rest, _)) => Ok((rest, inner)),
        Err(_) => Err(nom::Err::Failure(PErr {
            at: rest,
            msg: Cow::Owned(format!("expected 'and', 'or' or '{close}'")),
            kind: None,
            opened: Some((input, open)),
        })),
    }
}

/// ```abnf
/// attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
/// valuePath = attrPath "[" valFilter "]"
/// valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
/// ```
///
/// Plus Entra ID's `valuePath subAttr SP compareOp SP compValue`, folded into the bracket.
fn attr_exp(input: &str, ctx: Ctx) -> PResult<'_, Filter> {
    let (rest, path) = attr_path(input)?;
    if !rest.starts_with('[') {
        return comparison(rest, path);
    }
    let (rest, inner) = value_filter(input, rest, &path, ctx)?;
    if !rest.starts_with('.') {
        return Ok((rest, Filter::ValuePath { path, filter: Box::new(inner) }));
    }
    // Entra ID: `emails[type eq "work"].value eq "x"` ≡ `emails[type eq "work" and value eq "x"]`.
    let (rest, sub) = sub_attr(rest)?;
    let (rest, extra) = comparison(rest, AttrPath::new(sub))?;
    Ok((rest, Filter::ValuePath { path, filter: Box::new(Filter::And(Box::new(inner), Box::new(extra))) }))
}

/// The `"[" valFilter "]"` after `path`; `path_start` is where `path` began.
///
/// ```abnf
/// valuePath = attrPath "[" valFilter "]"
/// ```
fn value_filter<'a>(path_start: &'a str, bracket: &'a str, path: &AttrPath, ctx: Ctx) -> PResult<'a, Filter> {
    if path.sub.is_some() {
        return fail(bracket, "a value filter '[...]' must follow a multi-valued attribute, not a sub-attribute");
    }
    if ctx.in_value_filter {
        return fail(path_start, "value filters cannot be nested inside '[...]'");
    }
    let inner_ctx = Ctx { in_value_filter: true, ..ctx.deeper(bracket)? };
    group(bracket, ']', inner_ctx)
}

/// What follows an `attrPath` in `attrExp`.
///
/// ```abnf
/// attrExp = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
/// ```
fn comparison(input: &str, path: AttrPath) -> PResult<'_, Filter> {
    let Ok((at_op, _)) = multispace1::<_, PErr>(input) else {
        return fail(input, format!("expected a comparison operator ({OPERATORS})"));
    };
    let (rest, op) = compare_op(at_op)?;
    let Some(op) = op else {
        return Ok((rest, Filter::Present(path)));
    };
    let (at_value, _) = multispace0(rest)?;
    let (rest, value) = comp_value(at_value)?;
    Ok((rest, Filter::Compare { path, op, value }))
}

/// Stops long inputs before any parsing, so their cost is a length check.
fn check_len(input: &str, what: &str) -> Result<(), String> {
    let n = input.chars().count();
    if n > MAX_FILTER_LEN {
        return Err(format!("the {what} is {n} characters long; the limit is {MAX_FILTER_LEN}"));
    }
    Ok(())
}

/// The whole filter with optional surrounding whitespace; no length check.
///
/// ```abnf
/// FILTER = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
/// ```
fn filter_unbounded(input: &str) -> Result<Filter, String> {
    let parsed = all_consuming(|i| {
        let (i, _) = multispace0(i)?;
        let (i, f) = or_expr(i, Ctx::TOP)?;
        let (i, _) = multispace0(i)?;
        Ok((i, f))
    })(input);
    match parsed {
        Ok((_, f)) => Ok(f),
        Err(nom::Err::Error(mut e) | nom::Err::Failure(mut e)) => {
            if e.kind == Some(ErrorKind::Eof) {
                e.msg = if e.at.starts_with(')') {
                    Cow::Borrowed("unexpected ')' without a matching '('")
                } else {
                    Cow::Borrowed("expected 'and', 'or' or the end of the filter")
                };
            }
            Err(e.render(input))
        }
        Err(nom::Err::Incomplete(_)) => Err("incomplete filter".to_owned()),
    }
}

/// Parses a `filter` query parameter or `filter` member of a search request.
///
/// ```abnf
/// FILTER = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
/// ```
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    check_len(input, "filter").map_err(ScimError::invalid_filter)?;
    filter_unbounded(input).map_err(ScimError::invalid_filter)
}

impl std::str::FromStr for Filter {
    type Err = ScimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_filter(s)
    }
}

/// Parses one attribute path, as in `sortBy` or an `attributes` / `excludedAttributes` entry.
///
/// Surrounding whitespace is ignored. Errors are `invalidValue`, the query parameter being
/// the offending value.
///
/// ```abnf
/// attrPath = [URI ":"] ATTRNAME *1subAttr
/// ```
pub fn parse_attr_path(input: &str) -> Result<AttrPath, ScimError> {
    let invalid = |detail: String| ScimError::invalid_value(format!("invalid attribute path: {detail}"));
    check_len(input, "attribute path").map_err(invalid)?;
    let parsed = all_consuming(|i| {
        let (i, _) = multispace0(i)?;
        let (i, p) = attr_path(i)?;
        let (i, _) = multispace0(i)?;
        Ok((i, p))
    })(input);
    match parsed {
        Ok((_, p)) => Ok(p),
        Err(nom::Err::Error(mut e) | nom::Err::Failure(mut e)) => {
            if e.kind == Some(ErrorKind::Eof) {
                e.msg = Cow::Borrowed("unexpected character after the attribute path");
            }
            Err(invalid(e.render(input)))
        }
        Err(nom::Err::Incomplete(_)) => Err(invalid("incomplete".to_owned())),
    }
}

/// Parses a PATCH operation's `path` (RFC 7644 §3.5.2); errors are `invalidPath`.
///
/// ```abnf
/// PATH = attrPath / valuePath [subAttr]
/// ```
pub fn parse_value_path_or_attr(input: &str) -> Result<PathExpr, ScimError> {
    let invalid = |detail: String| ScimError::invalid_path(format!("invalid path: {detail}"));
    check_len(input, "path").map_err(invalid)?;
    let parsed = all_consuming(|i| {
        let (i, _) = multispace0(i)?;
        let (rest, attr) = attr_path(i)?;
        let (rest, filter, sub_after_filter) = if rest.starts_with('[') {
            let (rest, f) = value_filter(i, rest, &attr, Ctx::TOP)?;
            let (rest, sub) = opt(sub_attr_if_dot)(rest)?;
            (rest, Some(f), sub)
        } else {
            (rest, None, None)
        };
        let (rest, _) = multispace0(rest)?;
        Ok((rest, PathExpr { attr, filter, sub_after_filter }))
    })(input);
    match parsed {
        Ok((_, p)) => Ok(p),
        Err(nom::Err::Error(mut e) | nom::Err::Failure(mut e)) => {
            if e.kind == Some(ErrorKind::Eof) {
                e.msg = Cow::Borrowed("unexpected character after the path");
            }
            Err(invalid(e.render(input)))
        }
        Err(nom::Err::Incomplete(_)) => Err(invalid("incomplete".to_owned())),
    }
}

/// `subAttr` when the input starts with `.`, a recoverable error otherwise (for `opt`).
///
/// ```abnf
/// subAttr = "." ATTRNAME
/// ```
fn sub_attr_if_dot(input: &str) -> PResult<'_, String> {
    let (_, _) = tag(".")(input)?;
    sub_attr(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use proptest::prelude::*;

    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    fn attr(name: &str) -> AttrPath {
        AttrPath::new(name)
    }

    fn sub(name: &str, sub: &str) -> AttrPath {
        AttrPath::with_sub(name, sub)
    }

    fn s(v: &str) -> CompValue {
        CompValue::Str(v.to_owned())
    }

    fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare { path, op, value }
    }

    fn and(l: Filter, r: Filter) -> Filter {
        Filter::And(Box::new(l), Box::new(r))
    }

    fn or(l: Filter, r: Filter) -> Filter {
        Filter::Or(Box::new(l), Box::new(r))
    }

    fn not(f: Filter) -> Filter {
        Filter::Not(Box::new(f))
    }

    fn vp(path: AttrPath, f: Filter) -> Filter {
        Filter::ValuePath { path, filter: Box::new(f) }
    }

    fn parse(input: &str) -> Filter {
        match parse_filter(input) {
            Ok(f) => f,
            Err(e) => panic!("{input:?} failed: {e}"),
        }
    }

    fn err(input: &str) -> String {
        match parse_filter(input) {
            Ok(f) => panic!("{input:?} parsed as {f:?}"),
            Err(e) => {
                assert_eq!(e.status, 400);
                assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
                e.detail.into_owned()
            }
        }
    }

    fn rfc_examples() -> Vec<(&'static str, Filter)> {
        use CompareOp::*;
        let ts = || s("2011-05-13T04:42:34Z");
        let last_modified = || sub("meta", "lastModified");
        let emails_or =
            || or(cmp(attr("emails"), Co, s("example.com")), cmp(sub("emails", "value"), Co, s("example.org")));
        vec![
            (r#"userName Eq "john""#, cmp(attr("userName"), Eq, s("john"))),
            (r#"name.familyName co "O'Malley""#, cmp(sub("name", "familyName"), Co, s("O'Malley"))),
            (r#"userName sw "J""#, cmp(attr("userName"), Sw, s("J"))),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
                cmp(AttrPath { urn: Some(USER.into()), name: "userName".into(), sub: None }, Sw, s("J")),
            ),
            ("title pr", Filter::Present(attr("title"))),
            (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, cmp(last_modified(), Gt, ts())),
            (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, cmp(last_modified(), Ge, ts())),
            (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, cmp(last_modified(), Lt, ts())),
            (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, cmp(last_modified(), Le, ts())),
            (
                r#"title pr and userType eq "Employee""#,
                and(Filter::Present(attr("title")), cmp(attr("userType"), Eq, s("Employee"))),
            ),
            (
                r#"title pr or userType eq "Intern""#,
                or(Filter::Present(attr("title")), cmp(attr("userType"), Eq, s("Intern"))),
            ),
            (
                r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
                cmp(attr("schemas"), Eq, s("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")),
            ),
            (
                r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
                and(cmp(attr("userType"), Eq, s("Employee")), emails_or()),
            ),
            (
                r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
                and(cmp(attr("userType"), Ne, s("Employee")), not(emails_or())),
            ),
            (
                r#"userType eq "Employee" and (emails.type eq "work")"#,
                and(cmp(attr("userType"), Eq, s("Employee")), cmp(sub("emails", "type"), Eq, s("work"))),
            ),
            (
                r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
                and(
                    cmp(attr("userType"), Eq, s("Employee")),
                    vp(
                        attr("emails"),
                        and(cmp(attr("type"), Eq, s("work")), cmp(attr("value"), Co, s("@example.com"))),
                    ),
                ),
            ),
            (
                r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                or(
                    vp(
                        attr("emails"),
                        and(cmp(attr("type"), Eq, s("work")), cmp(attr("value"), Co, s("@example.com"))),
                    ),
                    vp(attr("ims"), and(cmp(attr("type"), Eq, s("xmpp")), cmp(attr("value"), Co, s("@foo.com")))),
                ),
            ),
        ]
    }

    #[test]
    fn rfc_7644_examples_parse() {
        for (input, expected) in rfc_examples() {
            assert_eq!(parse(input), expected, "{input}");
            // The canonical form is stable and means the same thing.
            assert_eq!(parse(&expected.to_string()), expected, "{input}");
        }
    }

    #[test]
    fn from_str_is_parse_filter() {
        let f: Filter = r#"userName eq "a""#.parse().unwrap();
        assert_eq!(f, cmp(attr("userName"), CompareOp::Eq, s("a")));
        assert!("userName".parse::<Filter>().is_err());
    }

    #[test]
    fn extension_urn_is_everything_before_the_last_colon() {
        let f = parse(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26""#);
        assert_eq!(
            f,
            cmp(
                AttrPath {
                    urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                    name: "manager".into(),
                    sub: Some("value".into()),
                },
                CompareOp::Eq,
                s("26"),
            )
        );
        let f = parse("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName pr");
        assert_eq!(
            f,
            Filter::Present(AttrPath { urn: Some(USER.into()), name: "name".into(), sub: Some("familyName".into()) })
        );
    }

    #[test]
    fn precedence_and_associativity() {
        let (a, b, c, d) = (
            || Filter::Present(attr("a")),
            || Filter::Present(attr("b")),
            || Filter::Present(attr("c")),
            || Filter::Present(attr("d")),
        );
        assert_eq!(parse("a pr or b pr and c pr or d pr"), or(or(a(), and(b(), c())), d()));
        assert_eq!(parse("a pr and b pr and c pr"), and(and(a(), b()), c()));
        assert_eq!(parse("a pr or b pr or c pr"), or(or(a(), b()), c()));
        assert_eq!(parse("not (a pr) and b pr or not (c pr or d pr)"), or(and(not(a()), b()), not(or(c(), d()))));
        assert_eq!(parse("(a pr or b pr) and c pr"), and(or(a(), b()), c()));
        assert_eq!(parse("((a pr))"), a());
    }

    #[test]
    fn keywords_are_case_insensitive_and_whitespace_is_lenient() {
        let expected = and(
            not(Filter::Present(attr("a"))),
            or(cmp(attr("b"), CompareOp::Eq, CompValue::Bool(true)), cmp(attr("c"), CompareOp::Ne, CompValue::Null)),
        );
        assert_eq!(parse("NOT (a PR) AND (b EQ TRUE Or c nE Null)"), expected);
        assert_eq!(parse("  not(a pr)   and\t( b eq true  or  c ne null )  "), expected);
        assert_eq!(parse("not(a pr)and(b eq true or c ne null)"), expected);
    }

    #[test]
    fn attribute_names_that_look_like_keywords() {
        use CompareOp::*;
        assert_eq!(
            parse(r#"orders eq "x" or andy pr"#),
            or(cmp(attr("orders"), Eq, s("x")), Filter::Present(attr("andy")))
        );
        assert_eq!(parse("not pr"), Filter::Present(attr("not")));
        assert_eq!(parse(r#"not eq "x""#), cmp(attr("not"), Eq, s("x")));
        assert_eq!(parse("notes pr"), Filter::Present(attr("notes")));
        assert_eq!(parse("and pr and or pr"), and(Filter::Present(attr("and")), Filter::Present(attr("or"))));
        assert_eq!(parse("members.$ref pr"), Filter::Present(sub("members", "$ref")));
    }

    #[test]
    fn values() {
        use CompareOp::*;
        let num = |n: serde_json::Number| CompValue::Number(n);
        assert_eq!(parse("a eq 42"), cmp(attr("a"), Eq, num(42.into())));
        assert_eq!(parse("a eq -7"), cmp(attr("a"), Eq, num((-7).into())));
        assert_eq!(parse("a lt 1.5e3"), cmp(attr("a"), Lt, num(serde_json::Number::from_f64(1500.0).unwrap())));
        assert_eq!(parse("a gt -0.25"), cmp(attr("a"), Gt, num(serde_json::Number::from_f64(-0.25).unwrap())));
        // Floats must come back bit for bit, or Display would not round-trip.
        let x = 6.692623205909689e200_f64;
        assert_eq!(
            parse(&format!("a eq {}", serde_json::Number::from_f64(x).unwrap())),
            cmp(attr("a"), Eq, num(serde_json::Number::from_f64(x).unwrap()))
        );
        assert_eq!(
            parse("a eq 18446744073709551616"),
            cmp(attr("a"), Eq, num(serde_json::Number::from_f64(18446744073709551616.0).unwrap()))
        );
        assert_eq!(parse("a eq false"), cmp(attr("a"), Eq, CompValue::Bool(false)));
        assert_eq!(parse("a eq null"), cmp(attr("a"), Eq, CompValue::Null));
        assert_eq!(parse(r#"a eq "q\"uo\\te \u00e9\n""#), cmp(attr("a"), Eq, s("q\"uo\\te é\n")));
        assert_eq!(parse(r#"a eq """#), cmp(attr("a"), Eq, s("")));
        assert_eq!(parse(r#"a eq "a]b)c""#), cmp(attr("a"), Eq, s("a]b)c")));
    }

    #[test]
    fn value_filters() {
        use CompareOp::*;
        assert_eq!(
            parse(r#"emails[not (type eq "work") and (primary eq true or value.x pr)]"#),
            vp(
                attr("emails"),
                and(
                    not(cmp(attr("type"), Eq, s("work"))),
                    or(cmp(attr("primary"), Eq, CompValue::Bool(true)), Filter::Present(sub("value", "x")))
                )
            )
        );
        assert_eq!(
            parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[ type eq "work" ]"#),
            vp(AttrPath { urn: Some(USER.into()), name: "emails".into(), sub: None }, cmp(attr("type"), Eq, s("work")))
        );
    }

    #[test]
    fn entra_forms() {
        use CompareOp::*;
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "a@b.c""#),
            vp(attr("emails"), and(cmp(attr("type"), Eq, s("work")), cmp(attr("value"), Eq, s("a@b.c"))))
        );
        assert_eq!(
            parse(r#"id eq "x" and members[value eq "y"]"#),
            and(cmp(attr("id"), Eq, s("x")), vp(attr("members"), cmp(attr("value"), Eq, s("y"))))
        );
        assert_eq!(
            parse(r#"emails[type eq "a" or type eq "b"].value pr and id pr"#),
            and(
                vp(
                    attr("emails"),
                    and(
                        or(cmp(attr("type"), Eq, s("a")), cmp(attr("type"), Eq, s("b"))),
                        Filter::Present(attr("value"))
                    )
                ),
                Filter::Present(attr("id"))
            )
        );
        let f = parse(r#"emails[type eq "work"].value eq "a@b.c""#);
        assert_eq!(f.to_string(), r#"emails[type eq "work" and value eq "a@b.c"]"#);
    }

    #[test]
    fn known_answer_errors() {
        let cases: &[(&str, &str)] = &[
            (
                r#"userName xx "a""#,
                "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) at column 10",
            ),
            (
                "userName eq bjensen",
                "string values must be quoted: write \"bjensen\" instead of bjensen at column 13",
            ),
            (
                r#"userName eq "a" andx"#,
                "expected 'and', 'or' or the end of the filter at column 17",
            ),
            (
                r#"userName eq "a" and"#,
                "expected an attribute name, 'not' or '(' at column 20 (end of input)",
            ),
            (
                "userName",
                "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) at column 9 (end of input)",
            ),
            (
                "userName eq",
                "expected a value (a quoted string, a number, true, false or null) at column 12 (end of input)",
            ),
            ("", "expected an attribute name, 'not' or '(' at column 1 (end of input)"),
            (
                "(a pr",
                "expected 'and', 'or' or ')' at column 6 (end of input) to close the '(' at column 1",
            ),
            (
                r#"emails[type eq "work""#,
                "expected 'and', 'or' or ']' at column 22 (end of input) to close the '[' at column 7",
            ),
            ("a pr)", "unexpected ')' without a matching '(' at column 5"),
            (
                r#"a eq "abc"#,
                "unterminated string: expected a closing '\"' for the string at column 6",
            ),
            ("not a pr", "expected '(' after 'not' at column 5"),
            (
                "a.b.c pr",
                "an attribute path has at most one sub-attribute ('.'), but found another at column 4",
            ),
            (
                "1abc pr",
                "expected an attribute name, 'not' or '(' at column 1",
            ),
            (
                "a eq 01",
                "'01' is not a valid number (JSON number syntax) at column 6",
            ),
            (
                "a eq 12abc",
                "'12abc' is not a valid number (JSON number syntax) at column 6",
            ),
            (
                "a eq 1e999",
                "'1e999' is not a valid number (JSON number syntax) at column 6",
            ),
            (
                r#"emails[members[value eq "x"]]"#,
                "value filters cannot be nested inside '[...]' at column 8",
            ),
            (
                r#"name.givenName[value eq "x"]"#,
                "a value filter '[...]' must follow a multi-valued attribute, not a sub-attribute at column 15",
            ),
            (
                r#"a eq "\x""#,
                "invalid string: only JSON escapes (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) are allowed and control characters must be escaped at column 6",
            ),
            (
                r#"é eq "x""#,
                "expected an attribute name, 'not' or '(' at column 1",
            ),
            (
                r#"a eq "é" xx"#,
                "expected 'and', 'or' or the end of the filter at column 10",
            ),
            (
                r#"emails[type eq "work"].value"#,
                "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) at column 29 (end of input)",
            ),
            (
                "urn:foo: pr",
                "expected an attribute name at column 9",
            ),
            (
                "a-b_c.d$ pr",
                "'d$' is not a sub-attribute name (a letter followed by letters, digits, '-' or '_') at column 7",
            ),
        ];
        for (input, detail) in cases {
            assert_eq!(err(input), *detail, "{input}");
        }
    }

    #[test]
    fn length_limit() {
        let ok = format!("a eq \"{}\"", "x".repeat(MAX_FILTER_LEN - 7));
        assert_eq!(ok.chars().count(), MAX_FILTER_LEN);
        assert!(parse_filter(&ok).is_ok());
        let long = format!("a eq \"{}\"", "x".repeat(MAX_FILTER_LEN - 6));
        assert_eq!(err(&long), "the filter is 4097 characters long; the limit is 4096");
        // Characters, not bytes.
        let wide = format!("a eq \"{}\"", "é".repeat(MAX_FILTER_LEN - 7));
        assert!(parse_filter(&wide).is_ok());
    }

    #[test]
    fn depth_limit() {
        let nested = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
        assert!(parse_filter(&nested(MAX_DEPTH)).is_ok());
        let detail = err(&nested(MAX_DEPTH + 1));
        assert!(detail.contains("exceeds the limit of 32 levels"), "{detail}");
        assert!(detail.ends_with("at column 33"), "{detail}");

        let nots = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
        assert!(parse_filter(&nots(MAX_DEPTH)).is_ok());
        assert!(err(&nots(MAX_DEPTH + 1)).contains("limit"));

        let deep_value = format!("{}emails[type pr]{}", "(".repeat(MAX_DEPTH - 1), ")".repeat(MAX_DEPTH - 1));
        assert!(parse_filter(&deep_value).is_ok());
        let too_deep_value = format!("{}emails[type pr]{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(err(&too_deep_value).contains("limit"));
    }

    #[test]
    fn ten_thousand_parens_do_not_overflow() {
        let input = "(".repeat(10_000);
        assert!(err(&input).contains("limit is 4096"));
        // Past the length check too: the depth limit alone must stop the recursion.
        let detail = filter_unbounded(&format!("{input}a pr{}", ")".repeat(10_000))).unwrap_err();
        assert!(detail.contains("exceeds the limit of 32 levels"), "{detail}");
        let detail = filter_unbounded(&"not (".repeat(10_000)).unwrap_err();
        assert!(detail.contains("exceeds the limit of 32 levels"), "{detail}");
    }

    #[test]
    fn attr_paths() {
        assert_eq!(parse_attr_path("userName").unwrap(), attr("userName"));
        assert_eq!(parse_attr_path(" name.familyName ").unwrap(), sub("name", "familyName"));
        assert_eq!(
            parse_attr_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber").unwrap(),
            AttrPath {
                urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                name: "employeeNumber".into(),
                sub: None
            }
        );
        let e = parse_attr_path("name familyName").unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert_eq!(e.detail, "invalid attribute path: unexpected character after the attribute path at column 6");
        let e = parse_attr_path("").unwrap_err();
        assert_eq!(e.detail, "invalid attribute path: expected an attribute name at column 1 (end of input)");
        assert!(parse_attr_path("emails[type pr]").is_err());
    }

    #[test]
    fn patch_paths() {
        let p = |input: &str| parse_value_path_or_attr(input).unwrap();
        assert_eq!(
            p(r#"members[value eq "2819c223"]"#),
            PathExpr {
                attr: attr("members"),
                filter: Some(cmp(attr("value"), CompareOp::Eq, s("2819c223"))),
                sub_after_filter: None
            }
        );
        assert_eq!(
            p(r#"emails[type eq "work"].value"#),
            PathExpr {
                attr: attr("emails"),
                filter: Some(cmp(attr("type"), CompareOp::Eq, s("work"))),
                sub_after_filter: Some("value".into())
            }
        );
        assert_eq!(
            p("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
            PathExpr {
                attr: AttrPath {
                    urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                    name: "manager".into(),
                    sub: None
                },
                filter: None,
                sub_after_filter: None
            }
        );
        assert_eq!(
            p("name.familyName"),
            PathExpr { attr: sub("name", "familyName"), filter: None, sub_after_filter: None }
        );
        assert_eq!(
            p(r#"addresses[type eq "work" and not (primary eq false)].streetAddress"#).to_string(),
            r#"addresses[type eq "work" and not (primary eq false)].streetAddress"#
        );

        let cases: &[(&str, &str)] = &[
            (r#"emails[type eq "work"]value"#, "invalid path: unexpected character after the path at column 23"),
            (
                r#"emails[type eq "work"]."#,
                "invalid path: expected a sub-attribute name after '.' at column 24 (end of input)",
            ),
            (
                r#"emails[type eq work]"#,
                "invalid path: string values must be quoted: write \"work\" instead of work at column 16",
            ),
            (
                r#"emails[type eq "work""#,
                "invalid path: expected 'and', 'or' or ']' at column 22 (end of input) to close the '[' at column 7",
            ),
            ("", "invalid path: expected an attribute name at column 1 (end of input)"),
            (r#"emails[type eq "work"] and id pr"#, "invalid path: unexpected character after the path at column 24"),
        ];
        for (input, detail) in cases {
            let e = parse_value_path_or_attr(input).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{input}");
            assert_eq!(e.detail, *detail, "{input}");
        }
    }

    fn arb_name() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
            1 => Just("$ref".to_owned()),
            1 => prop::sample::select(vec!["not", "and", "or", "pr", "eq", "true", "null", "NOT"])
                .prop_map(str::to_owned),
        ]
    }

    fn arb_urn() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            6 => Just(None),
            1 => Just(Some(USER.to_owned())),
            1 => Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned())),
            1 => "urn(:[a-zA-Z0-9._-]{1,6}){1,4}".prop_map(Some),
        ]
    }

    fn arb_path(with_urn: bool) -> impl Strategy<Value = AttrPath> {
        let urn = if with_urn { arb_urn().boxed() } else { Just(None).boxed() };
        (urn, arb_name(), prop::option::of(arb_name())).prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
    }

    fn arb_value() -> impl Strategy<Value = CompValue> {
        prop_oneof![
            Just(CompValue::Null),
            any::<bool>().prop_map(CompValue::Bool),
            any::<i64>().prop_map(|n| CompValue::Number(n.into())),
            any::<u64>().prop_map(|n| CompValue::Number(n.into())),
            any::<f64>().prop_filter_map("finite", serde_json::Number::from_f64).prop_map(CompValue::Number),
            any::<String>().prop_map(CompValue::Str),
        ]
    }

    fn arb_leaf(with_urn: bool) -> impl Strategy<Value = Filter> {
        prop_oneof![
            arb_path(with_urn).prop_map(Filter::Present),
            (arb_path(with_urn), prop::sample::select(CompareOp::ALL.to_vec()), arb_value())
                .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        ]
    }

    /// Logical combinations of `leaf`, a few levels deep.
    fn arb_tree(leaf: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
        leaf.prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
                (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
                inner.prop_map(|f| Filter::Not(Box::new(f))),
            ]
        })
        .boxed()
    }

    fn arb_filter() -> BoxedStrategy<Filter> {
        let value_path = (arb_urn(), arb_name(), arb_tree(arb_leaf(false).boxed())).prop_map(|(urn, name, f)| {
            Filter::ValuePath { path: AttrPath { urn, name, sub: None }, filter: Box::new(f) }
        });
        let leaf = prop_oneof![3 => arb_leaf(true), 1 => value_path].boxed();
        arb_tree(leaf)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn display_round_trips(f in arb_filter()) {
            let text = f.to_string();
            prop_assume!(text.chars().count() <= MAX_FILTER_LEN);
            prop_assert_eq!(parse_filter(&text).map_err(|e| e.detail.into_owned()), Ok(f), "{}", text);
        }

        #[test]
        fn parser_never_panics(input in any::<String>()) {
            let _ = parse_filter(&input);
            let _ = parse_attr_path(&input);
            let _ = parse_value_path_or_attr(&input);
        }

        #[test]
        fn parser_never_panics_on_filter_like_input(
            input in r#"[a-z(\[\]) ."\\:$0-9eE+-]{0,80}"#,
        ) {
            let _ = parse_filter(&input);
            let _ = parse_value_path_or_attr(&input);
        }

        #[test]
        fn mutated_filters_never_panic(f in arb_filter(), cut in any::<prop::sample::Index>(), junk in any::<char>()) {
            let text = f.to_string();
            let chars: Vec<char> = text.chars().collect();
            let at = cut.index(chars.len() + 1);
            let mut mutated: String = chars[..at].iter().collect();
            mutated.push(junk);
            mutated.extend(&chars[at..]);
            let _ = parse_filter(&mutated);
            let truncated: String = chars[..at].iter().collect();
            let _ = parse_filter(&truncated);
        }
    }
}
