//! The rules every text value meets before any store sees it, so SQLite and PostgreSQL give
//! the same answer: no control characters, identifiers of bounded size without invisible edges.
//!
//! Pure: used by resource validation (bodies, Bulk, CSV rows) and by the filter checker.

use crate::scim::error::{Result, ScimError};
use crate::scim::filter::case_fold;

/// The longest identifying or indexed value, in bytes, also after case folding (which can
/// lengthen non-ASCII text): a PostgreSQL index entry must stay under its 2,704-byte limit.
pub const MAX_INDEXED_BYTES: usize = 1024;

/// Attributes that name a resource, are looked up by identity providers and are unique or
/// indexed: no control character, no surrounding space, no invisible character.
const IDENTIFIERS: &[&str] = &["userName", "externalId", "emails.value", "partNumber"];

/// Free-text attributes kept in an index as well: bounded like identifiers.
const INDEXED: &[&str] = &["displayName"];

/// Characters that show as nothing: zero-width spaces and joiners, direction marks and
/// embeddings, the word joiner and the byte-order mark. `a@x.com` and `a@x.com` + U+200B look
/// the same to a person and must not be two users.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// C0 control characters, which no attribute stores; free text may hold tab, CR and LF.
fn is_control(c: char, free_text: bool) -> bool {
    c.is_ascii_control() && c != '\u{7F}' && !(free_text && matches!(c, '\t' | '\n' | '\r'))
}

/// Checks the string value of the attribute at `path` (such as `userName` or `emails.value`).
pub fn check_value(path: &str, s: &str) -> Result<()> {
    let identifier = IDENTIFIERS.contains(&path);
    if let Some((i, c)) = s.chars().enumerate().find(|(_, c)| is_control(*c, !identifier)) {
        return Err(ScimError::invalid_value(format!(
            "{path} holds the control character U+{:04X} at character {}; remove it",
            u32::from(c),
            i + 1
        )));
    }
    if identifier {
        if s.trim() != s {
            return Err(ScimError::invalid_value(format!("{path} {s:?} begins or ends with a space; remove it")));
        }
        if let Some(c) = s.chars().find(|c| is_invisible(*c)) {
            return Err(ScimError::invalid_value(format!(
                "{path} holds the invisible character U+{:04X}; remove it",
                u32::from(c)
            )));
        }
    }
    if identifier || INDEXED.contains(&path) {
        let folded = if s.is_ascii() { s.len() } else { case_fold(s).len() };
        if s.len().max(folded) > MAX_INDEXED_BYTES {
            return Err(ScimError::invalid_value(format!(
                "{path} is {} bytes long; the limit is {MAX_INDEXED_BYTES} bytes",
                s.len().max(folded)
            )));
        }
    }
    Ok(())
}

/// Checks a string a filter compares with: control characters never match a stored value.
pub fn check_filter_value(path: &str, s: &str) -> Result<()> {
    match s.chars().find(|c| is_control(*c, true)) {
        Some(c) => Err(ScimError::invalid_filter(format!(
            "the value compared with {path} holds the control character U+{:04X}, which no attribute stores",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_free_text_keeps_tabs_and_line_breaks() {
        for (path, value) in
            [("userName", "a\u{0}b"), ("title", "a\u{0}"), ("title", "x\u{1B}[31m"), ("userName", "a\tb")]
        {
            let e = check_value(path, value).unwrap_err();
            assert_eq!((e.status, e.scim_type.map(|t| t.as_str())), (400, Some("invalidValue")), "{path} {value:?}");
            assert!(e.detail.contains("control character"), "{}", e.detail);
        }
        check_value("title", "line one\r\nline two\tend").unwrap();
        check_value("title", "").unwrap();
        check_value("title", "emoji 😀 and RTL \u{200F} in free text").unwrap();
    }

    #[test]
    fn identifiers_have_no_surrounding_space_and_no_invisible_character() {
        assert!(check_value("userName", "a@x.com ").unwrap_err().detail.contains("begins or ends with a space"));
        assert!(check_value("emails.value", " a@x.com").is_err());
        assert!(check_value("userName", "c@x.com\u{200B}").unwrap_err().detail.contains("U+200B"));
        assert!(check_value("externalId", "\u{FEFF}id").is_err());
        assert!(check_value("userName", "\u{200F}rtl@x.com").is_err());
        check_value("userName", "josé@x.com").unwrap();
        check_value("displayName", " Ann ").unwrap();
    }

    #[test]
    fn identifying_and_indexed_values_are_bounded_also_after_folding() {
        check_value("userName", &"a".repeat(MAX_INDEXED_BYTES)).unwrap();
        let e = check_value("userName", &"a".repeat(MAX_INDEXED_BYTES + 1)).unwrap_err();
        assert!(e.detail.contains("the limit is 1024 bytes"), "{}", e.detail);
        assert!(check_value("displayName", &"d".repeat(3000)).is_err());
        assert!(check_value("partNumber", &"P".repeat(3000)).is_err());
        // 800 bytes of İ fold to 1,200 (i + U+0307): too long for the index, though the value
        // itself is within the limit.
        let dotted = "İ".repeat(400);
        assert_eq!(dotted.len(), 800);
        assert!(check_value("userName", &dotted).unwrap_err().detail.contains("1200 bytes"));
        check_value("title", &"t".repeat(3000)).unwrap();
    }

    #[test]
    fn filter_values_with_control_characters_are_invalid_filters() {
        let e = check_filter_value("userName", "a\u{0}").unwrap_err();
        assert_eq!(e.scim_type.map(|t| t.as_str()), Some("invalidFilter"));
        check_filter_value("title", "a\tb").unwrap();
    }
}
