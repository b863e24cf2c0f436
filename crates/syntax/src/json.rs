//! JSON files (recordings, JSON Schemas), read strictly: syntax errors, shape errors and duplicate
//! keys — which JSON parsers usually resolve silently by keeping the last — located at
//! line:column.

use std::path::Path;

use std::collections::BTreeMap;

use harness_core::{Diagnostic, SourceSpan};
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::Span;

/// Parse `text` as `T`; `what` names the kind of file in messages ("recording", "JSON Schema").
pub fn parse<T: DeserializeOwned>(root: &Path, path: &Path, text: &str, what: &str) -> Result<T, Diagnostic> {
    // Read twice: once for duplicate keys, which typed parsing would resolve silently; once typed,
    // so shape errors keep their line and column.
    parse_value(root, path, text)?;
    serde_json::from_str(text).map_err(|e| located(root, path, text, &e, |m| format!("not a valid {what}: {m}")))
}

/// Parse `text` as any JSON value, refusing duplicate keys.
pub fn parse_value(root: &Path, path: &Path, text: &str) -> Result<Value, Diagnostic> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = NoDuplicates.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    value.map_err(|e| {
        located(root, path, text, &e, |m| match m.strip_prefix("duplicate key ") {
            Some(key) => format!("duplicate key {key} (JSON readers disagree on which one counts)"),
            None => format!("invalid JSON: {m}"),
        })
    })
}

fn located(
    root: &Path,
    path: &Path,
    text: &str,
    e: &serde_json::Error,
    headline: impl Fn(&str) -> String,
) -> Diagnostic {
    let message = e.to_string();
    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m).to_string();
    let mut d = Diagnostic::new(path, headline(&message));
    if e.line() > 0 {
        d = d.at(SourceSpan::from_line_col(text, e.line(), e.column().max(1), 1));
    }
    d.relative_to(root)
}

/// Where the keys and values of a JSON text stand, by JSON pointer (`/recording/version`), for
/// messages about a document already parsed: JSON parsers locate only their own errors.
#[derive(Debug, Default)]
pub struct Spans {
    values: BTreeMap<String, Span>,
    keys: BTreeMap<String, Span>,
}

impl Spans {
    /// Index `text`, which must be valid JSON (parse it first); indexing stops at anything else.
    pub fn of(text: &str) -> Spans {
        let mut index = Indexer { text: text.as_bytes(), source: text, at: 0, spans: Spans::default() };
        index.value(String::new());
        index.spans
    }

    /// The span of the value at `pointer` (`""` is the whole document).
    pub fn value(&self, pointer: &str) -> Option<Span> {
        self.values.get(pointer).copied()
    }

    /// The span of the key (quotes included) naming the value at `pointer`.
    pub fn key(&self, pointer: &str) -> Option<Span> {
        self.keys.get(pointer).copied()
    }

    /// The pointers of every object member, in order.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

struct Indexer<'t> {
    text: &'t [u8],
    source: &'t str,
    at: usize,
    spans: Spans,
}

impl Indexer<'_> {
    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn value(&mut self, pointer: String) -> Option<()> {
        self.skip_space();
        let start = self.at;
        match self.peek()? {
            b'{' => {
                self.at += 1;
                loop {
                    self.skip_space();
                    match self.peek()? {
                        b'}' => break,
                        b',' => self.at += 1,
                        b'"' => {
                            let key_start = self.at;
                            let key = self.string()?;
                            let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                            self.spans.keys.insert(child.clone(), Span { offset: key_start, len: self.at - key_start });
                            self.skip_space();
                            (self.peek()? == b':').then_some(())?;
                            self.at += 1;
                            self.value(child)?;
                        }
                        _ => return None,
                    }
                }
                self.at += 1;
            }
            b'[' => {
                self.at += 1;
                let mut index = 0;
                loop {
                    self.skip_space();
                    match self.peek()? {
                        b']' => break,
                        b',' => self.at += 1,
                        _ => {
                            self.value(format!("{pointer}/{index}"))?;
                            index += 1;
                        }
                    }
                }
                self.at += 1;
            }
            b'"' => {
                self.string()?;
            }
            _ => {
                while self.peek().is_some_and(|b| !matches!(b, b',' | b']' | b'}') && !b.is_ascii_whitespace()) {
                    self.at += 1;
                }
            }
        }
        self.spans.values.insert(pointer, Span { offset: start, len: self.at - start });
        Some(())
    }

    /// A string token, decoded; `at` moves past its closing quote.
    fn string(&mut self) -> Option<String> {
        let start = self.at;
        self.at += 1;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => break,
                _ => self.at += 1,
            }
        }
        self.at += 1;
        serde_json::from_str(self.source.get(start..self.at)?).ok()
    }
}

/// A JSON value whose objects may not repeat a key.
struct NoDuplicates;

impl<'de> DeserializeSeed<'de> for NoDuplicates {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NoDuplicates {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(NoDuplicates)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
            }
            let value = map.next_value_seed(NoDuplicates)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_located() {
        let text = "{\n  \"id\": 1,\n  \"line_items\": [{\"sku\": \"A\", \"sku\": \"B\"}]\n}\n";
        let d = parse_value(Path::new(""), Path::new("r.json"), text).unwrap_err();
        assert!(d.message.starts_with("duplicate key `sku`"), "{}", d.message);
        assert_eq!(d.location(), "r.json:3:35");
    }

    #[test]
    fn spans_locate_keys_and_values_by_pointer() {
        let text = "{\"recording\": {\"version\": \"2025-01\"}, \"a/b\": [1, {\"x\": true}], \"esc\\\"\": null}";
        let spans = Spans::of(text);
        let at = |s: Option<Span>| s.map(|s| &text[s.offset..s.offset + s.len]);
        assert_eq!(at(spans.key("/recording/version")), Some("\"version\""));
        assert_eq!(at(spans.value("/recording/version")), Some("\"2025-01\""));
        assert_eq!(at(spans.value("/a~1b/1/x")), Some("true"));
        assert_eq!(at(spans.value("/a~1b")), Some("[1, {\"x\": true}]"));
        assert_eq!(at(spans.value("/esc\"")), Some("null"));
        assert_eq!(spans.value("/missing"), None);
    }

    #[test]
    fn syntax_errors_are_located() {
        let d = parse_value(Path::new(""), Path::new("r.json"), "{\"a\": }").unwrap_err();
        assert!(d.message.starts_with("invalid JSON"), "{}", d.message);
        assert_eq!(d.location(), "r.json:1:7");
    }
}
