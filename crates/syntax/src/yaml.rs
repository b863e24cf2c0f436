//! Strict YAML for every file the harness reads: YAML 1.2 booleans only (so a country code `NO`
//! stays the string "NO"), duplicate keys rejected, unknown fields rejected with a suggestion, and
//! every error located at file:line:col.
//!
//! Unknown fields are collected, not fatal: the file is read to its end and every misspelt key is
//! reported in the same run, each at its own place (found from the parser's spans, never by
//! searching the text), with the fields the format knows there as suggestions.

use std::path::Path;

use harness_core::{Diagnostic, SourceSpan, did_you_mean};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::loc::Span;

/// Most values (mappings, lists and scalars) in one file. The parser's default, 250,000, refuses
/// a valid scenario of about 2 MB with a large inline body; this admits files of tens of MB,
/// which the harness reads whole anyway. Alias bombs are held by the parser's alias and anchor
/// limits, which stay at their defaults.
const MAX_NODES: usize = 8_000_000;
/// Most parser events (about two per value).
const MAX_EVENTS: usize = 2 * MAX_NODES;

/// The parser's options for every file: YAML 1.2 booleans, errors without the parser's own
/// excerpt (the diagnostic shows one), and the limits above.
pub(crate) fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        budget: serde_saphyr::budget! { max_nodes: MAX_NODES, max_events: MAX_EVENTS },
    }
}

/// Parse `text` (the contents of `file`) into `T`, reporting every problem found.
pub fn parse<T: DeserializeOwned + JsonSchema>(file: &Path, text: &str) -> Result<T, Vec<Diagnostic>> {
    let options = options();
    let mut ignored: Vec<Vec<Seg>> = Vec::new();
    let result: Result<T, _> = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        serde_ignored::deserialize(de, |path| {
            let segs = segments(&path);
            // `Loc` reads its span through a private field of the parser; that is not the user's.
            if !matches!(segs.last(), Some(Seg::Key(k)) if k.starts_with("__serde_saphyr")) {
                ignored.push(segs);
            }
        })
    });
    let mut problems = Vec::new();
    let mut suggested = Vec::new();
    let tree = if ignored.is_empty() { None } else { Node::index(text) };
    // A document that is not YAML at all is reported by its syntax error, located; fields read
    // before the parser gave up cannot be located in it and would only be noise.
    if !ignored.is_empty() && (tree.is_some() || result.is_ok()) {
        let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
        for path in &ignored {
            let (d, suggestion) = unknown_field(file, text, tree.as_ref(), &schema, path);
            suggested.extend(suggestion);
            problems.push(d);
        }
    }
    match result {
        Ok(value) if problems.is_empty() => Ok(value),
        Ok(_) => Err(problems),
        Err(e) => {
            let d = to_diagnostic(file, text, &e);
            // `flwo:` for `flow:` also leaves `flow` missing; the misspelling says it all.
            let missing = d.message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`'));
            if !missing.is_some_and(|m| suggested.iter().any(|s| s == m)) {
                problems.push(d);
            }
            Err(problems)
        }
    }
}

/// Where the key at `path` (keys, and list positions as numbers) stands in `text`: for problems
/// about a key that a later stage finds (an unknown system named as a key, say). Read from the
/// parser's spans on demand, since only error paths need it.
pub fn key_span(text: &str, path: &[&str]) -> Option<Span> {
    let tree = Node::index(text)?;
    let (last, parents) = path.split_last()?;
    let mut node = &tree;
    for p in parents {
        let seg = match node {
            Node::Seq(_) => Seg::Index(p.parse().ok()?),
            _ => Seg::Key((*p).to_string()),
        };
        node = node.child(&seg)?;
    }
    node.key_span(std::slice::from_ref(&Seg::Key((*last).to_string())))
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &serde_ignored::Path<'_>) -> Vec<Seg> {
    use serde_ignored::Path;
    let mut out = Vec::new();
    let mut at = path;
    loop {
        match at {
            Path::Root => break,
            // `Loc` is read as a newtype holding `{value, …}`: its `value` is not the user's key.
            Path::Map { parent: parent @ Path::NewtypeStruct { .. }, key } if key == "value" => at = parent,
            Path::Map { parent, key } => {
                out.push(Seg::Key(key.clone()));
                at = parent;
            }
            Path::Seq { parent, index } => {
                out.push(Seg::Index(*index));
                at = parent;
            }
            Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => at = parent,
        }
    }
    out.reverse();
    out
}

/// The document's shape with where each key stands, to locate what the typed parse names by path.
#[derive(Debug)]
enum Node {
    Map(Vec<(String, Span, Node)>),
    Seq(Vec<Node>),
    Leaf,
}

impl Node {
    fn index(text: &str) -> Option<Node> {
        let raw: RawNode = serde_saphyr::from_str_with_options(text, options()).ok()?;
        Some(raw.resolve(text))
    }

    /// The span of the key at the end of `path`.
    fn key_span(&self, path: &[Seg]) -> Option<Span> {
        let (last, parents) = path.split_last()?;
        let mut node = self;
        for seg in parents {
            node = node.child(seg)?;
        }
        match (node, last) {
            (Node::Map(entries), Seg::Key(k)) => {
                entries.iter().rev().find(|(name, _, _)| name == k).map(|(_, span, _)| *span)
            }
            _ => None,
        }
    }

    fn child(&self, seg: &Seg) -> Option<&Node> {
        match (self, seg) {
            (Node::Map(entries), Seg::Key(k)) => entries.iter().find(|(name, _, _)| name == k).map(|(_, _, n)| n),
            (Node::Seq(items), Seg::Index(i)) => items.get(*i),
            _ => None,
        }
    }
}

/// What the parser gives: keys with their parser locations.
enum RawNode {
    Map(Vec<(serde_saphyr::Spanned<KeyText>, RawNode)>),
    Seq(Vec<RawNode>),
    Leaf,
}

impl RawNode {
    fn resolve(self, text: &str) -> Node {
        match self {
            RawNode::Map(entries) => Node::Map(
                entries.into_iter().map(|(k, v)| (k.value.0, Span::of(&k.referenced, text), v.resolve(text))).collect(),
            ),
            RawNode::Seq(items) => Node::Seq(items.into_iter().map(|n| n.resolve(text)).collect()),
            RawNode::Leaf => Node::Leaf,
        }
    }
}

/// A mapping key of any scalar type, as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<KeyText, E> {
                Ok(KeyText(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawNode;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(RawNode::Map(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawNode::Seq(items))
            }
            fn visit_str<E>(self, _: &str) -> Result<RawNode, E> {
                Ok(RawNode::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<RawNode, E> {
                Ok(RawNode::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<RawNode, E> {
                Ok(RawNode::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<RawNode, E> {
                Ok(RawNode::Leaf)
            }
            fn visit_bool<E>(self, _: bool) -> Result<RawNode, E> {
                Ok(RawNode::Leaf)
            }
            fn visit_unit<E>(self) -> Result<RawNode, E> {
                Ok(RawNode::Leaf)
            }
            fn visit_none<E>(self) -> Result<RawNode, E> {
                Ok(RawNode::Leaf)
            }
        }
        d.deserialize_any(V)
    }
}

/// "unknown field `x`" at the key, with the field the format most likely meant (also returned).
fn unknown_field(
    file: &Path,
    text: &str,
    tree: Option<&Node>,
    schema: &Value,
    path: &[Seg],
) -> (Diagnostic, Option<String>) {
    let Some(Seg::Key(field)) = path.last() else {
        return (Diagnostic::new(file, "unexpected value"), None);
    };
    let mut d = Diagnostic::new(file, format!("unknown field `{field}`"));
    if let Some(span) = tree.and_then(|t| t.key_span(path)) {
        d = d.at_offset(text, span.offset, span.len.max(1));
    }
    let known = fields_at(schema, &path[..path.len() - 1]);
    let near = did_you_mean(field, known.iter().map(String::as_str)).map(str::to_string);
    d = match &near {
        Some(n) => d.label(format!("did you mean `{n}`?")),
        None if !known.is_empty() => {
            d.help(format!("expected one of {}", known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")))
        }
        None => d,
    };
    (d, near)
}

/// The field names the format allows in the object at `path`, from its JSON Schema.
fn fields_at(schema: &Value, path: &[Seg]) -> Vec<String> {
    let root = schema;
    let mut at = vec![schema];
    for seg in path {
        at = at
            .into_iter()
            .flat_map(|s| branches(s, root))
            .filter_map(|s| match seg {
                // Maps keyed by a pattern (`mocks.<system>`) are read as any of their values.
                Seg::Key(k) => s
                    .get("properties")
                    .and_then(|p| p.get(k))
                    .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
                    .or_else(|| s.get("patternProperties")?.as_object()?.values().next()),
                Seg::Index(_) => s.get("items"),
            })
            .collect();
    }
    let mut names: Vec<String> = at
        .into_iter()
        .flat_map(|s| branches(s, root))
        .filter_map(|s| s.get("properties")?.as_object())
        .flat_map(|p| p.keys().cloned())
        .collect();
    names.dedup();
    names
}

/// A schema with its `$ref` followed and its `anyOf`/`oneOf`/`allOf` alternatives spread out.
fn branches<'a>(schema: &'a Value, root: &'a Value) -> Vec<&'a Value> {
    let schema = match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#")) {
        Some(pointer) => root.pointer(pointer).unwrap_or(schema),
        None => schema,
    };
    let mut out = vec![schema];
    for key in ["anyOf", "oneOf", "allOf"] {
        for alt in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            out.extend(branches(alt, root));
        }
    }
    out
}

fn to_diagnostic(file: &Path, text: &str, error: &serde_saphyr::Error) -> Diagnostic {
    let raw = error.to_string();
    let message = match original(error) {
        // The parser's own texts name its functions and types; say what is wrong with the file.
        serde_saphyr::Error::MultipleDocuments { .. } => {
            "a second YAML document starts here (after `---`): a harness file holds one document".to_string()
        }
        serde_saphyr::Error::Budget { breach, .. } => limit_words(breach),
        _ => plain_words(&strip_location(&raw)),
    };
    let mut diagnostic = Diagnostic::new(file, message.clone());
    if let Some(loc) = error.location() {
        let (line, column) = if raw.contains("found a tab") {
            tab_after(text, loc.line() as usize, loc.column() as usize)
        } else {
            (loc.line() as usize, loc.column() as usize)
        };
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

/// The error under the parser's wrappers (an alias's locations, an excerpt).
fn original(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    // Each step goes one wrapper down; wrappers are few.
    loop {
        match error {
            serde_saphyr::Error::AliasError { error: inner, .. }
            | serde_saphyr::Error::WithSnippet { error: inner, .. } => error = inner,
            _ => return error,
        }
    }
}

/// Which of the parser's limits a file went over, in a user's words.
fn limit_words(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Nodes { .. } | B::Events { .. } => format!(
            "the file holds more than {MAX_NODES} values; split it (a large body can go in a file of its own: `file:`)"
        ),
        B::Depth { depth } => format!("values nested {depth} levels deep; the harness reads at most 64 levels of YAML"),
        B::Aliases { .. }
        | B::Anchors { .. }
        | B::AliasAnchorRatio { .. }
        | B::RecordedAnchorEvents { .. }
        | B::RecordedAnchorBytes { .. }
        | B::MergeKeys { .. } => {
            "too many aliases (`*name`) or anchors (`&name`): the document would expand to far more than it says"
                .to_string()
        }
        B::ScalarBytes { .. } | B::CommentBytes { .. } | B::InputBytes { .. } => {
            "the file holds more than 64 MiB of text".to_string()
        }
        B::Documents { .. } => {
            "a second YAML document starts here (after `---`): a harness file holds one document".to_string()
        }
        _ => "the file is too large or too deeply nested to read".to_string(),
    }
}

/// The tab a scanner error is about: the scanner marks where the token it was reading began, and
/// the tab it found is the first one from there (on a later line when the token ended its line).
fn tab_after(text: &str, line: usize, column: usize) -> (usize, usize) {
    for (n, l) in text.lines().enumerate().skip(line.saturating_sub(1)) {
        let from = if n + 1 == line { column.saturating_sub(1) } else { 0 };
        if let Some(i) = l.chars().skip(from).position(|c| c == '\t') {
            return (n + 1, from + i + 1);
        }
    }
    (line, column)
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
    if message.ends_with("found a tab") {
        return "a tab: YAML indents with spaces only".into();
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
    let found: String =
        line.chars().skip(loc.column() as usize - 1).take_while(|c| !matches!(c, ',' | '}' | ']' | '#')).collect();
    Some((what, found.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, JsonSchema)]
    struct Address {
        country_code: String,
        version: String,
        #[allow(dead_code)]
        lines: Option<Vec<String>>,
        #[serde(default)]
        #[allow(dead_code)]
        parts: Vec<Part>,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    struct Part {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        count: Option<u32>,
    }

    fn one(text: &str) -> Diagnostic {
        let mut all = parse::<Address>(Path::new("a.yaml"), text).unwrap_err();
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    #[test]
    fn a_tab_is_reported_at_its_own_line() {
        let d = one("country_code: NO\nversion: v1\n\tlines: []\n");
        let span = d.span.expect("located");
        assert_eq!((span.line, span.column), (3, 1), "{}", d.message);
        assert_eq!(d.message, "a tab: YAML indents with spaces only");
    }

    #[test]
    fn country_code_no_stays_a_string_and_versions_keep_their_text() {
        let a: Address = parse(Path::new("a.yaml"), "country_code: NO\nversion: 2025.10\n").unwrap();
        assert_eq!(a.country_code, "NO");
        assert_eq!(a.version, "2025.10");
    }

    #[test]
    fn unknown_field_is_located_with_a_suggestion() {
        let d = one("country_code: GB\nversion: x\nversoin: x\n");
        assert_eq!(d.message, "unknown field `versoin`");
        assert_eq!(d.location(), "a.yaml:3:1");
        assert_eq!(d.label.as_deref(), Some("did you mean `version`?"));
    }

    #[test]
    fn every_misspelt_key_is_reported_at_its_own_place() {
        let text = "country_code: GB\nversion: x\nparts:\n  - {name: a, cont: 1}\n  - name: b\n    count: 2\n  - name: c\n    cont: 3\nlnes: []\n";
        let all = parse::<Address>(Path::new("a.yaml"), text).unwrap_err();
        let shown: Vec<(String, String, Option<String>)> =
            all.iter().map(|d| (d.message.clone(), d.location(), d.label.clone())).collect();
        assert_eq!(
            shown,
            vec![
                ("unknown field `cont`".into(), "a.yaml:4:15".into(), Some("did you mean `count`?".into())),
                ("unknown field `cont`".into(), "a.yaml:8:5".into(), Some("did you mean `count`?".into())),
                ("unknown field `lnes`".into(), "a.yaml:9:1".into(), Some("did you mean `lines`?".into())),
            ]
        );
    }

    #[test]
    fn a_misspelt_required_key_is_one_problem() {
        let d = one("country_code: GB\nversoin: x\n");
        assert_eq!(d.message, "unknown field `versoin`");
    }

    #[test]
    fn library_phrases_become_plain_words() {
        let d = one("country_code: GB\nversion: x\ncountry_code: FR\n");
        assert_eq!(d.message, "duplicate key `country_code`");
        let d = one("country_code: GB\nversion: x\nlines: {a: b}\n");
        assert!(d.message.starts_with("expected a list"), "{}", d.message);
        let d = one("");
        assert!(!d.message.contains("end of input"), "{}", d.message);
    }

    #[test]
    fn type_errors_are_located() {
        let d = one("country_code: GB\nversion: x\nlines: 3\n");
        assert_eq!(d.location(), "a.yaml:3:8");
        assert!(!d.message.starts_with("line"), "{}", d.message);
    }

    #[test]
    fn the_parsers_own_texts_never_reach_users() {
        let d = one("country_code: GB\nversion: x\n---\ncountry_code: FR\n");
        assert_eq!(
            (d.message.as_str(), d.location().as_str()),
            ("a second YAML document starts here (after `---`): a harness file holds one document", "a.yaml:4:1")
        );
        let mut bomb = String::from(
            "country_code: GB\nversion: x\nlines:\n  - &a0 [\"l\",\"l\",\"l\",\"l\",\"l\",\"l\",\"l\",\"l\",\"l\",\"l\"]\n",
        );
        for i in 1..10 {
            bomb.push_str(&format!("  - &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(",")));
        }
        let all = parse::<Address>(Path::new("a.yaml"), &bomb).unwrap_err();
        assert!(
            all.iter().all(|d| !d.message.contains("budget") && !d.message.contains('{') && d.span.is_some()),
            "{all:?}"
        );
    }

    #[test]
    fn a_large_valid_document_loads() {
        // About 2.4 MB and 400,000 values: over the parser's default budget.
        let mut text = String::from("country_code: GB\nversion: x\nparts:\n");
        for i in 0..100_000 {
            text.push_str(&format!("  - {{name: part-{i:06}, count: {}}}\n", i % 7));
        }
        assert!(text.len() > 2_200_000, "{}", text.len());
        let parsed = parse::<Address>(Path::new("a.yaml"), &text).expect("loads");
        assert_eq!(parsed.parts.len(), 100_000);
    }
}
