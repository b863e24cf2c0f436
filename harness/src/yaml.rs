//! Strict YAML for every file the harness reads: YAML 1.2 booleans only (so a country code `NO`
//! stays the string "NO"), duplicate keys rejected, unknown fields rejected with a suggestion, and
//! every error located at file:line:col.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, SourceSpan, did_you_mean};

/// Parse `text` (the contents of `file`) into `T`.
pub fn parse<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, Diagnostic> {
    let options = serde_saphyr::options! { strict_booleans: true, with_snippet: false };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| to_diagnostic(file, text, &e))
}

fn to_diagnostic(file: &Path, text: &str, error: &serde_saphyr::Error) -> Diagnostic {
    let raw = error.to_string();
    let message = plain_words(&strip_location(&raw));
    let mut diagnostic = Diagnostic::new(file, message.clone());
    if let Some(loc) = error.location() {
        let (line, column) = (loc.line() as usize, loc.column() as usize);
        diagnostic = diagnostic.at(SourceSpan::from_line_col(text, line, column, 1));
    }
    if let Some((what, found)) = friendly_type(&message, text, error) {
        diagnostic.message = format!("expected {what}, found `{found}`");
        if let Some(span) = &mut diagnostic.span {
            span.width = found.chars().count().max(1);
        }
    }
    if let Some((kind, field, expected)) = unknown_name(&message) {
        diagnostic.message = format!("unknown {kind} `{field}`");
        if let Some(span) = &mut diagnostic.span {
            span.width = field.chars().count().max(1);
        }
        match did_you_mean(field, expected.iter().map(String::as_str)) {
            Some(near) => diagnostic = diagnostic.label(format!("did you mean `{near}`?")),
            None if !expected.is_empty() => {
                let list = expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
                diagnostic = diagnostic.help(format!("expected one of {list}"));
            }
            None => {}
        }
    }
    diagnostic
}

/// serde-saphyr ends messages with " at line N, column M"; the diagnostic shows the position itself.
fn strip_location(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    match first.rfind(" at line ") {
        Some(i) if first[i..].contains(", column ") => first[..i].to_string(),
        _ => first.to_string(),
    }
}

/// The parser's and serde's phrases, in the words of someone writing a scenario.
fn plain_words(message: &str) -> String {
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(", set DuplicateKeyPolicy").next().unwrap_or(key);
        return format!("duplicate key `{key}`");
    }
    if let Some(name) = message.strip_prefix("data did not match any variant of untagged enum ") {
        return match name.trim() {
            "RecordExpect" => "expected a record outcome: `delivered`, `filtered`, `dead-lettered`, `not-processed`, or `{outcome: …, reason: …}`".into(),
            "Versions" => "expected a version, or a list of versions".into(),
            _ => "this value has none of the accepted shapes (see `harness schema`)".into(),
        };
    }
    match message {
        "expected sequence start" => "expected a list (`[a, b]`, or lines starting with `- `)".into(),
        "expected mapping start" => "expected a mapping (`key: value` lines, or `{key: value}`)".into(),
        "expected string scalar" => "expected a text value".into(),
        "unexpected end of input" => "the file ends where a value was expected (is it empty?)".into(),
        other => other.to_string(),
    }
}

/// Parse serde's "unknown field `x`, expected one of a, b, c" (or "expected a"), and the same for
/// enum variants: `("field" | "value", x, [a, b, c])`.
fn unknown_name(message: &str) -> Option<(&'static str, &str, Vec<String>)> {
    let (kind, rest) = match (message.split("unknown field `").nth(1), message.split("unknown variant `").nth(1)) {
        (Some(r), _) => ("field", r),
        (None, Some(r)) => ("value", r),
        _ => return None,
    };
    let (field, tail) = rest.split_once('`')?;
    let list = tail.split_once("expected one of ").or_else(|| tail.split_once("expected ")).map_or("", |(_, l)| l);
    let expected = list.split(", ").map(|e| e.trim_matches('`').to_string()).filter(|e| !e.is_empty()).collect();
    Some((kind, field, expected))
}

/// serde-saphyr says "invalid u64"; say what was expected and what was found instead.
fn friendly_type(message: &str, text: &str, error: &serde_saphyr::Error) -> Option<(&'static str, String)> {
    let ty = message.strip_prefix("invalid ")?;
    let what = match ty {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number of 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "bool" | "boolean" => "true or false",
        _ => return None,
    };
    let loc = error.location()?;
    let line = text.lines().nth(loc.line() as usize - 1)?;
    let found: String = line.chars().skip(loc.column() as usize - 1).take_while(|c| !matches!(c, ',' | '}' | ']' | '#')).collect();
    Some((what, found.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Address {
        country_code: String,
        version: String,
        #[allow(dead_code)]
        lines: Option<Vec<String>>,
    }

    #[test]
    fn country_code_no_stays_a_string_and_versions_keep_their_text() {
        let a: Address = parse(Path::new("a.yaml"), "country_code: NO\nversion: 2025.10\n").unwrap();
        assert_eq!(a.country_code, "NO");
        assert_eq!(a.version, "2025.10");
    }

    #[test]
    fn unknown_field_is_located_with_a_suggestion() {
        let d = parse::<Address>(Path::new("a.yaml"), "country_code: GB\nversoin: x\n").unwrap_err();
        assert_eq!(d.message, "unknown field `versoin`");
        assert_eq!(d.location(), "a.yaml:2:1");
        assert_eq!(d.label.as_deref(), Some("did you mean `version`?"));
    }

    #[test]
    fn library_phrases_become_plain_words() {
        let d = parse::<Address>(Path::new("a.yaml"), "country_code: GB\nversion: x\ncountry_code: FR\n").unwrap_err();
        assert_eq!(d.message, "duplicate key `country_code`");
        let d = parse::<Address>(Path::new("a.yaml"), "country_code: GB\nversion: x\nlines: {a: b}\n").unwrap_err();
        assert!(d.message.starts_with("expected a list"), "{}", d.message);
        let d = parse::<Address>(Path::new("a.yaml"), "").unwrap_err();
        assert!(!d.message.contains("end of input"), "{}", d.message);
    }

    #[test]
    fn type_errors_are_located() {
        let d = parse::<Address>(Path::new("a.yaml"), "country_code: GB\nversion: x\nlines: 3\n").unwrap_err();
        assert_eq!(d.location(), "a.yaml:3:8");
        assert!(!d.message.starts_with("line"), "{}", d.message);
    }
}
