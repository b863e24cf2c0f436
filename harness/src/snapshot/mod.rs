//! Snapshots: the approved canonical form of what a flow sent to each target, stored in insta's
//! file format so `cargo insta review` works on them too.
//!
//! `snapshots/<scenario id>.<system>.snap` holds a YAML header between `---` lines (`source` is the
//! scenario file) and a JSON body: one entry per request. A run that produces something else
//! writes `<…>.snap.new` beside it and never touches the approved file; accepting renames the
//! pending file over it. Every write is atomic (temp file, then rename).

pub mod canonical;

use std::fmt::Write as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::diagnostic::{Diagnostic, SourceSpan};
use crate::systems::SystemKind;

/// A snapshot file's parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub source: String,
    pub description: String,
    pub expression: String,
    /// The body as written (pretty JSON plus a final newline).
    pub body: String,
    pub json: Value,
}

impl Snapshot {
    pub fn new(source: &str, description: &str, system: SystemKind, json: Value) -> Snapshot {
        let mut body = serde_json::to_string_pretty(&EntryOrder(&json)).expect("JSON values serialise");
        body.push('\n');
        Snapshot { source: source.to_string(), description: description.to_string(), expression: system.name().to_string(), body, json }
    }

    /// The file text: insta's header, then the body.
    pub fn render(&self) -> String {
        format!(
            "---\nsource: {}\ndescription: {}\nexpression: {}\n---\n{}",
            yaml_string(&self.source),
            yaml_string(&self.description),
            yaml_string(&self.expression),
            self.body
        )
    }

    /// Parse a snapshot file; problems are located in it.
    pub fn parse(path: &Path, text: &str) -> Result<Snapshot, Diagnostic> {
        let text = text.replace("\r\n", "\n");
        let fail = |line: usize, message: &str| {
            Diagnostic::new(path, format!("malformed snapshot: {message}")).at(SourceSpan::from_line_col(&text, line, 1, 3)).help(
                "a snapshot is a YAML header between `---` lines, then the JSON body; delete the file and run with --accept to write it afresh",
            )
        };
        let mut lines = text.split_inclusive('\n');
        let first = lines.next().unwrap_or_default();
        if first.trim_end() != "---" {
            return Err(fail(1, "the first line must be `---`"));
        }
        let (mut line_no, mut header_len) = (1, first.len());
        let mut closed = false;
        for line in lines.by_ref() {
            line_no += 1;
            if line.trim_end() == "---" {
                closed = true;
                break;
            }
            header_len += line.len();
        }
        if !closed {
            return Err(fail(line_no, "the header is not closed by a `---` line"));
        }
        // The header with its opening `---` is a YAML document whose lines are the file's.
        let header: BTreeMap<String, Value> = crate::yaml::parse(path, &text[..header_len]).map_err(|d| Diagnostic {
            message: format!("malformed snapshot header: {}", d.message),
            ..d
        })?;
        let get = |key: &str| header.get(key).and_then(Value::as_str).map(str::to_string);
        let Some(source) = get("source") else {
            return Err(fail(2, "the header has no `source:` (insta needs it)"));
        };
        let body: String = lines.collect();
        let json: Value = serde_json::from_str(&body).map_err(|e| {
            let line = line_no + e.line();
            Diagnostic::new(path, format!("malformed snapshot body: {}", e.to_string().rsplit_once(" at line ").map_or(e.to_string(), |(m, _)| m.to_string())))
                .at(SourceSpan::from_line_col(&text, line, e.column().max(1), 1))
        })?;
        Ok(Snapshot { source, description: get("description").unwrap_or_default(), expression: get("expression").unwrap_or_default(), body, json })
    }
}

/// Entries read top-down like a request: line, query, headers, body, then the answer. Everything
/// below an entry's top level keeps sorted keys.
struct EntryOrder<'a>(&'a Value);

const ENTRY_KEYS: [&str; 5] = ["request", "query", "headers", "body", "response"];

impl serde::Serialize for EntryOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Array(entries) => {
                let mut seq = ser.serialize_seq(Some(entries.len()))?;
                for e in entries {
                    seq.serialize_element(&EntryOrder(e))?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                let mut map = ser.serialize_map(Some(fields.len()))?;
                let rank = |k: &str| ENTRY_KEYS.iter().position(|x| *x == k).unwrap_or(ENTRY_KEYS.len());
                let mut keys: Vec<&String> = fields.keys().collect();
                keys.sort_by_key(|k| (rank(k), k.as_str()));
                for k in keys {
                    map.serialize_entry(k, &fields[k])?;
                }
                map.end()
            }
            other => other.serialize(ser),
        }
    }
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// `snapshots/<id>.<system>.snap`
pub fn path_for(snapshots_dir: &Path, case_id: &str, system: SystemKind) -> PathBuf {
    snapshots_dir.join(format!("{case_id}.{}.snap", system.name()))
}

pub fn pending_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

/// Read the approved snapshot at `path`, if there is one.
pub fn load(root: &Path, path: &Path) -> Result<Option<Snapshot>, Diagnostic> {
    match std::fs::read_to_string(path) {
        Ok(text) => Snapshot::parse(path, &text).map(Some).map_err(|d| d.relative_to(root)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Diagnostic::new(path, format!("cannot read snapshot: {e}")).relative_to(root)),
    }
}

/// Write `content` to `path` atomically: a temporary file in the same folder, then a rename.
pub fn write_atomic(path: &Path, content: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Make the pending snapshot next to `path` the approved one.
pub fn accept_pending(path: &Path) -> std::io::Result<()> {
    std::fs::rename(pending_path(path), path)
}

// ---------------------------------------------------------------------------------------------
// Differences

/// One field that differs between the approved and the new snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Position of the request in the snapshot (0-based).
    pub entry: usize,
    /// `POST /services/rest/record/v1/salesOrder`
    pub request: String,
    /// `body.item.items[0].item.id`; empty for a whole request added or removed.
    pub field: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl Change {
    /// A field that had a value and now has none: what silent data loss looks like.
    pub fn emptied(&self) -> bool {
        let was_filled = self.old.as_ref().is_some_and(|v| !is_empty(v));
        // An amount that drops to zero is lost data as surely as a field that goes blank.
        let zeroed = matches!((&self.old, &self.new), (Some(Value::Number(a)), Some(Value::Number(b))) if a.as_f64() != Some(0.0) && b.as_f64() == Some(0.0));
        !self.field.is_empty() && was_filled && (self.new.as_ref().is_none_or(is_empty) || zeroed)
    }

    pub fn describe(&self) -> String {
        let show = |v: &Option<Value>| v.as_ref().map_or_else(|| "(absent)".to_string(), compact);
        if self.field.is_empty() {
            return match (&self.old, &self.new) {
                (None, Some(_)) => format!("request {} added: {}", self.entry + 1, self.request),
                (Some(_), None) => format!("request {} no longer sent: {}", self.entry + 1, self.request),
                _ => format!("request {} changed: {}", self.entry + 1, self.request),
            };
        }
        format!("{} (request {}) {}: {} → {}", self.request, self.entry + 1, self.field, show(&self.old), show(&self.new))
    }
}

pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 { format!("{}…", s.chars().take(79).collect::<String>()) } else { s }
}

/// Field-level differences between two snapshot bodies (arrays of request entries).
pub fn changes(old: &Value, new: &Value) -> Vec<Change> {
    let empty = Vec::new();
    let (old, new) = (old.as_array().unwrap_or(&empty), new.as_array().unwrap_or(&empty));
    let request = |e: &Value| e.get("request").and_then(Value::as_str).unwrap_or("?").to_string();
    let mut out = Vec::new();
    for i in 0..old.len().max(new.len()) {
        match (old.get(i), new.get(i)) {
            (Some(o), Some(n)) if request(o) != request(n) => {
                out.push(Change { entry: i, request: request(o), field: String::new(), old: Some(o.clone()), new: None });
                out.push(Change { entry: i, request: request(n), field: String::new(), old: None, new: Some(n.clone()) });
            }
            (Some(o), Some(n)) => diff_value(o, n, &mut String::new(), &mut |field, a, b| {
                out.push(Change { entry: i, request: request(n), field, old: a, new: b });
            }),
            (Some(o), None) => out.push(Change { entry: i, request: request(o), field: String::new(), old: Some(o.clone()), new: None }),
            (None, Some(n)) => out.push(Change { entry: i, request: request(n), field: String::new(), old: None, new: Some(n.clone()) }),
            (None, None) => {}
        }
    }
    out
}

fn diff_value(a: &Value, b: &Value, path: &mut String, emit: &mut dyn FnMut(String, Option<Value>, Option<Value>)) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => diff_value(p, q, path, emit),
                    (p, q) => emit(path.clone(), p.cloned(), q.cloned()),
                }
                path.truncate(len);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(p), Some(q)) => diff_value(p, q, path, emit),
                    (p, q) => emit(path.clone(), p.cloned(), q.cloned()),
                }
                path.truncate(len);
            }
        }
        _ if a != b => emit(path.clone(), Some(a.clone()), Some(b.clone())),
        _ => {}
    }
}

/// A unified line diff of two snapshot bodies, coloured when asked.
pub fn line_diff(old: &str, new: &str, color: bool) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = String::new();
    for group in diff.grouped_ops(3) {
        let first = &group[0];
        let _ = writeln!(out, "@@ -{} +{} @@", first.old_range().start + 1, first.new_range().start + 1);
        for op in group {
            for change in diff.iter_changes(&op) {
                let (sign, code) = match change.tag() {
                    similar::ChangeTag::Delete => ('-', "31"),
                    similar::ChangeTag::Insert => ('+', "32"),
                    similar::ChangeTag::Equal => (' ', ""),
                };
                let line = change.value().trim_end_matches('\n');
                if color && !code.is_empty() {
                    let _ = writeln!(out, "\x1b[{code}m{sign}{line}\x1b[0m");
                } else {
                    let _ = writeln!(out, "{sign}{line}");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn files_round_trip_in_insta_format() {
        let s = Snapshot::new("scenarios/a/b.yaml", "what flow x sent to netsuite@2025.1", SystemKind::Netsuite, json!([{"request": "POST /x", "body": {"name": "Zoë"}}]));
        let text = s.render();
        assert!(text.starts_with("---\nsource: \"scenarios/a/b.yaml\"\n"), "{text}");
        assert!(text.contains("\"name\": \"Zoë\""));
        assert_eq!(Snapshot::parse(Path::new("b.snap"), &text).unwrap(), s);
    }

    #[test]
    fn malformed_files_are_located() {
        let d = Snapshot::parse(Path::new("x.snap"), "---\nsource: a\n---\n[\n  {\"request\": }\n]\n").unwrap_err();
        assert_eq!(d.location(), "x.snap:5:15");
        let d = Snapshot::parse(Path::new("x.snap"), "[]\n").unwrap_err();
        assert_eq!(d.location(), "x.snap:1:1");
        let d = Snapshot::parse(Path::new("x.snap"), "---\nsource: a\n").unwrap_err();
        assert!(d.message.contains("not closed"), "{}", d.message);
        let d = Snapshot::parse(Path::new("x.snap"), "---\nsource: a\n[]\n").unwrap_err();
        assert_eq!(d.location(), "x.snap:3:1");
    }

    #[test]
    fn field_changes_and_emptied_fields() {
        let old = json!([{"request": "POST /so", "body": {"entity": {"id": "7"}, "item": {"items": [{"item": "501"}]}}}]);
        let new = json!([{"request": "POST /so", "body": {"entity": {"id": "7"}, "item": {"items": [{"item": null}]}}}, {"request": "POST /c"}]);
        let c = changes(&old, &new);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].field, "body.item.items[0].item");
        assert!(c[0].emptied());
        assert_eq!(c[0].describe(), "POST /so (request 1) body.item.items[0].item: \"501\" → null");
        assert_eq!(c[1].describe(), "request 2 added: POST /c");
    }

    #[test]
    fn line_diffs_mark_changes() {
        let d = line_diff("a\nb\nc\n", "a\nB\nc\n", false);
        assert!(d.contains("-b\n+B\n"), "{d}");
        assert!(line_diff("a\n", "a\n", false).is_empty());
    }
}
