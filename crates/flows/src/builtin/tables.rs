//! Cross-reference tables of a built-in flow (`tables:`): CSV with `key,value` columns (a header
//! row first) or a YAML mapping, behind jq's `xref("name")`.

use std::collections::BTreeMap;

use harness_core::{Diagnostic, SourceSpan};
use serde_json::Value;

use crate::source::FlowSource;

/// Every table the flow names, as one object `{name: {key: value}}`; problems go to `errors`.
pub(super) fn load(source: &FlowSource<'_>, errors: &mut Vec<Diagnostic>) -> Value {
    let (project, root) = (source.project, &source.project.root);
    let mut out = serde_json::Map::new();
    for (name, rel) in &source.spec.tables {
        let path = match project.contained(&project.flows_dir(), &rel.value) {
            Ok(p) => p,
            Err(m) => {
                errors.push(source.error(rel, format!("cross-reference table `{name}`: {m}")));
                continue;
            }
        };
        let Ok(content) = std::fs::read_to_string(&path) else {
            errors.push(
                source
                    .error(rel, format!("cross-reference table `{name}`: cannot read {}", project.display_path(&path))),
            );
            continue;
        };
        let table = if rel.ends_with(".csv") {
            table_from_csv(&content).map_err(|(line, m)| {
                vec![Diagnostic::new(&path, m).at(SourceSpan::from_line_col(&content, line, 1, 1)).relative_to(root)]
            })
        } else {
            harness_syntax::yaml::parse::<BTreeMap<String, Value>>(&path, &content)
                .map(|m| Value::Object(m.into_iter().collect()))
                .map_err(|ds| ds.into_iter().map(|d| d.relative_to(root)).collect())
        };
        match table {
            Ok(t) => {
                out.insert(name.clone(), t);
            }
            Err(mut ds) => errors.append(&mut ds),
        }
    }
    Value::Object(out)
}

fn table_from_csv(content: &str) -> Result<Value, (usize, String)> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(content.as_bytes());
    let mut map = serde_json::Map::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| (line, format!("invalid CSV: {e}")))?;
        if record.len() != 2 {
            return Err((
                line,
                format!("a cross-reference row has two columns (key,value), this one has {}", record.len()),
            ));
        }
        let key = record[0].to_string();
        if map.contains_key(&key) {
            return Err((line, format!("duplicate key `{key}` in cross-reference table")));
        }
        map.insert(key, Value::String(record[1].to_string()));
    }
    Ok(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_tables_reject_duplicates() {
        assert_eq!(table_from_csv("sku,item\nA,1\nB,2\n").unwrap(), json!({"A": "1", "B": "2"}));
        assert_eq!(table_from_csv("sku,item\nA,1\nA,2\n").unwrap_err().0, 3);
    }
}
