//! Snapshots: the approved canonical form of what a flow sent to each target, stored in insta's
//! file format so `cargo insta review` works on them too.
//!
//! `snapshots/<scenario id>.<system>.snap` holds a YAML header between `---` lines (`source` is the
//! scenario file) and a JSON body: one entry per request. A run that produces something else
//! writes `<…>.snap.new` beside it and never touches the approved file; accepting renames the
//! pending file over it. Every write is atomic (temp file, then rename).

pub mod canonical;
mod diff;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harness_core::{Diagnostic, SourceSpan, SystemId};
use serde_json::Value;

pub use diff::{Change, changes, is_empty, line_diff};

/// A snapshot file's parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub source: String,
    pub description: String,
    pub expression: String,
    /// The body as written (pretty JSON plus a final newline). Only the text is kept: a plan holds
    /// every approved snapshot, and parsed they take several times their size (20,000 cases: half
    /// a gigabyte). [`json`](Self::json) parses it when a comparison needs more than the text.
    pub body: String,
}

impl Snapshot {
    pub fn new(source: &str, description: &str, system: &SystemId, json: &Value) -> Snapshot {
        let mut body = serde_json::to_string_pretty(&EntryOrder(json)).expect("JSON values serialise");
        body.push('\n');
        Snapshot {
            source: source.to_string(),
            description: description.to_string(),
            expression: system.to_string(),
            body,
        }
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .expect("a snapshot's body is JSON: it was checked when parsed, or written from a value")
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
        let text: std::borrow::Cow<str> =
            if text.contains('\r') { text.replace("\r\n", "\n").into() } else { text.into() };
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
        let mut body_start = None;
        for line in lines {
            line_no += 1;
            if line.trim_end() == "---" {
                body_start = Some(header_len + line.len());
                break;
            }
            header_len += line.len();
        }
        let Some(body_start) = body_start else {
            return Err(fail(line_no, "the header is not closed by a `---` line"));
        };
        // The header with its opening `---` is a YAML document whose lines are the file's. The
        // harness writes it as `key: "JSON string"` lines, read directly: a plan reads every
        // approved snapshot, and a YAML parser per file is most of that time.
        let header = match written_header(&text[first.len()..header_len]) {
            Some(header) => header,
            None => harness_syntax::yaml::parse(path, &text[..header_len]).map_err(|mut ds| {
                let d = ds.remove(0);
                Diagnostic { message: format!("malformed snapshot header: {}", d.message), ..d }
            })?,
        };
        let get = |key: &str| header.get(key).and_then(Value::as_str).map(str::to_string);
        let Some(source) = get("source") else {
            return Err(fail(2, "the header has no `source:` (insta needs it)"));
        };
        // Sliced, not collected, so the plan holds it at its size.
        let body = text[body_start..].to_string();
        // Checked as `json` will read it, without building the document.
        if let Err(e) = serde_json::from_str::<Readable>(&body) {
            let line = line_no + e.line();
            let message = e.to_string();
            let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
            let message = match message {
                "recursion limit exceeded" => "nested deeper than 128 levels",
                "number out of range" => "a number too large to read (beyond ±1.8e308)",
                m => m,
            };
            return Err(Diagnostic::new(path, format!("malformed snapshot body: {message}"))
                .at(SourceSpan::from_line_col(&text, line, e.column().max(1), 1)));
        }
        Ok(Snapshot {
            source,
            description: get("description").unwrap_or_default(),
            expression: get("expression").unwrap_or_default(),
            body,
        })
    }
}

/// A JSON document that reads as a [`Value`] — every number a finite float, nested no deeper than
/// serde_json reads — checked without building it (a plan checks every approved snapshot).
struct Readable;

impl<'de> serde::Deserialize<'de> for Readable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Readable)
    }
}

impl<'de> serde::de::Visitor<'de> for Readable {
    type Value = Readable;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_str<E>(self, _: &str) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_unit<E>(self) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Readable, A::Error> {
        while seq.next_element::<Readable>()?.is_some() {}
        Ok(Readable)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Readable, A::Error> {
        while map.next_entry::<serde::de::IgnoredAny, Readable>()?.is_some() {}
        Ok(Readable)
    }
}

/// A header as [`Snapshot::render`] writes it, every line `key: "JSON string"`; None for anything
/// else (insta's own headers, hand edits), which the YAML parser reads.
fn written_header(lines: &str) -> Option<BTreeMap<String, Value>> {
    let mut header = BTreeMap::new();
    for line in lines.lines() {
        let (key, value) = line.split_once(": ")?;
        let plain_key = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !plain_key || !value.starts_with('"') {
            return None;
        }
        let value: String = serde_json::from_str(value).ok()?;
        // A key twice is for the YAML parser to report.
        if header.insert(key.to_string(), Value::String(value)).is_some() {
            return None;
        }
    }
    Some(header)
}

/// Entries read top-down like a request: line, query, headers, body, then the answer. Everything
/// below an entry's top level keeps sorted keys.
struct EntryOrder<'a>(&'a Value);

const ENTRY_KEYS: [&str; 6] = ["request", "query", "headers", "body", "response", "response_headers"];

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
pub fn path_for(snapshots_dir: &Path, case_id: &str, system: &SystemId) -> PathBuf {
    // The id's `/` make folders; a `.` or `..` segment (a crafted version string in the id) is
    // escaped and an empty one dropped, so a snapshot is never written outside `snapshots/`.
    let mut path = snapshots_dir.to_path_buf();
    for segment in format!("{case_id}.{system}.snap").split('/') {
        match segment {
            "" => {}
            "." | ".." => path.push(segment.replace('.', "%2E")),
            s => path.push(s),
        }
    }
    path
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn snapshot_paths_stay_under_snapshots() {
        let dir = Path::new("/p/snapshots");
        let ns = SystemId::new("netsuite").unwrap();
        assert_eq!(path_for(dir, "orders/simple", &ns), Path::new("/p/snapshots/orders/simple.netsuite.snap"));
        for crafted in ["orders/x@netsuite-../../../../etc/y", "/etc/y", "a/./../b"] {
            let p = path_for(dir, crafted, &ns);
            assert!(
                p.starts_with(dir)
                    && !p
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir | std::path::Component::CurDir)),
                "{crafted} → {}",
                p.display()
            );
        }
    }
}

pub fn pending_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

/// Read the approved snapshot at `path`, if there is one. A path that leads outside the project
/// (the file or its folder a symlink to elsewhere) is refused: nothing is read from there, and
/// since every case's snapshots are loaded before anything runs, nothing is written there either.
pub fn load(root: &Path, path: &Path) -> Result<Option<Snapshot>, Diagnostic> {
    if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        // Not there; where it would be written must be inside the project too.
        harness_syntax::project::inside(root, path)
            .map_err(|m| Diagnostic::new(path, m.to_string()).relative_to(root))?;
        return Ok(None);
    }
    let text = harness_syntax::project::read_text(root, path)?;
    Snapshot::parse(path, &text).map(Some).map_err(|d| d.relative_to(root))
}

/// Write `content` to `path` atomically (see [`harness_core::files`]).
pub fn write_atomic(path: &Path, content: &str) -> std::io::Result<()> {
    harness_core::files::write_atomic(path, content.as_bytes())
}

/// Make the pending snapshot next to `path` the approved one.
pub fn accept_pending(path: &Path) -> std::io::Result<()> {
    std::fs::rename(pending_path(path), path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn files_round_trip_in_insta_format() {
        let s = Snapshot::new(
            "scenarios/a/b.yaml",
            "what flow x sent to netsuite@2025.1",
            &SystemId::new("netsuite").unwrap(),
            &json!([{"request": "POST /x", "body": {"name": "Zoë"}}]),
        );
        let text = s.render();
        assert!(text.starts_with("---\nsource: \"scenarios/a/b.yaml\"\n"), "{text}");
        assert!(text.contains("\"name\": \"Zoë\""));
        assert_eq!(Snapshot::parse(Path::new("b.snap"), &text).unwrap(), s);
    }

    /// The direct reading of a written header and the YAML parser agree; anything else goes to
    /// the parser.
    #[test]
    fn written_headers_read_as_yaml_reads_them() {
        let tricky = [
            "plain",
            "quote \" and \\ backslash",
            "colon: in it",
            "tab\tand\nnewline",
            "Zoë 🚚 \u{2028}",
            "#not a comment",
            "",
        ];
        for value in tricky {
            let s = Snapshot::new(value, value, &SystemId::new("netsuite").unwrap(), &json!([]));
            let text = s.render();
            let header_end = text.find("\n---\n").unwrap() + 1;
            let by_yaml: BTreeMap<String, Value> =
                harness_syntax::yaml::parse(Path::new("x.snap"), &text[..header_end]).unwrap();
            assert_eq!(written_header(&text[4..header_end]), Some(by_yaml), "{value:?}");
            assert_eq!(Snapshot::parse(Path::new("x.snap"), &text).unwrap(), s);
        }
        for other in [
            "source: a\n",
            "source: \"a\"\nsource: \"b\"\n",
            "info:\n  x: \"1\"\n",
            "assertion_line: 12\n",
            "a b: \"c\"\n",
        ] {
            assert_eq!(written_header(other), None, "{other:?}");
        }
        let insta = Snapshot::parse(
            Path::new("x.snap"),
            "---\nsource: tests/a.rs\nassertion_line: 3\nexpression: x\n---\n[]\n",
        )
        .unwrap();
        assert_eq!((insta.source.as_str(), insta.expression.as_str()), ("tests/a.rs", "x"));
        let twice = Snapshot::parse(Path::new("x.snap"), "---\nsource: \"a\"\nsource: \"b\"\n---\n[]\n");
        assert!(twice.is_err(), "{twice:?}");
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
        let d = Snapshot::parse(Path::new("x.snap"), "---\nsource: a\n---\n[1e400]\n").unwrap_err();
        assert_eq!(
            (d.location().as_str(), d.message.as_str()),
            ("x.snap:4:6", "malformed snapshot body: a number too large to read (beyond ±1.8e308)")
        );
        let deep = format!("---\nsource: a\n---\n{}{}\n", "[".repeat(200), "]".repeat(200));
        let d = Snapshot::parse(Path::new("x.snap"), &deep).unwrap_err();
        assert_eq!(
            (d.location().as_str(), d.message.as_str()),
            ("x.snap:4:128", "malformed snapshot body: nested deeper than 128 levels")
        );
    }
}
