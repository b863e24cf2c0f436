//! Differences between an approved snapshot and a new one: field by field (what reports name and
//! explain) and line by line (what a reviewer reads).

use std::fmt::Write as _;

use serde_json::Value;

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
        format!(
            "{} (request {}) {}: {} → {}",
            self.request,
            self.entry + 1,
            self.field,
            show(&self.old),
            show(&self.new)
        )
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
                out.push(Change {
                    entry: i,
                    request: request(o),
                    field: String::new(),
                    old: Some(o.clone()),
                    new: None,
                });
                out.push(Change {
                    entry: i,
                    request: request(n),
                    field: String::new(),
                    old: None,
                    new: Some(n.clone()),
                });
            }
            (Some(o), Some(n)) => diff_value(o, n, &mut String::new(), &mut |field, a, b| {
                out.push(Change { entry: i, request: request(n), field, old: a, new: b });
            }),
            (Some(o), None) => out.push(Change {
                entry: i,
                request: request(o),
                field: String::new(),
                old: Some(o.clone()),
                new: None,
            }),
            (None, Some(n)) => out.push(Change {
                entry: i,
                request: request(n),
                field: String::new(),
                old: None,
                new: Some(n.clone()),
            }),
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
    fn field_changes_and_emptied_fields() {
        let old =
            json!([{"request": "POST /so", "body": {"entity": {"id": "7"}, "item": {"items": [{"item": "501"}]}}}]);
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
