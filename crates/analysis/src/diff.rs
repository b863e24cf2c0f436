//! Version diff: what changed between two recorded versions of a system — fields of the recorded
//! payloads (removed, added, renamed, type changed), fields of the request schemas (removed,
//! added, type changed, newly required) and endpoints (removed or replaced) — and how to migrate
//! an old payload to the new version.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use harness_core::SystemId;
use harness_expr::{Seg, path_text};
use harness_syntax::system_file::{ChangeSaid, KnownChange};
use harness_systems::{Catalog, Migrate, SystemVersion};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Removed,
    Added,
    Renamed,
    TypeChanged,
    NewlyRequired,
    /// Still served, on its way out.
    Deprecated,
    EndpointRemoved,
    EndpointAdded,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Removed => "removed",
            ChangeKind::Added => "added",
            ChangeKind::Renamed => "renamed",
            ChangeKind::TypeChanged => "type changed",
            ChangeKind::NewlyRequired => "newly required",
            ChangeKind::Deprecated => "deprecated",
            ChangeKind::EndpointRemoved => "endpoint removed",
            ChangeKind::EndpointAdded => "endpoint added",
        }
    }

    /// Changes that can break a mapping reading the field.
    pub fn is_loss(self) -> bool {
        matches!(
            self,
            ChangeKind::Removed | ChangeKind::Renamed | ChangeKind::TypeChanged | ChangeKind::EndpointRemoved
        )
    }
}

/// One difference between the versions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FieldChange {
    /// What the field belongs to: a recorded endpoint (`webhook orders/create`), or a request schema
    /// (`request POST /services/rest/record/v1/salesOrder`).
    pub scope: String,
    pub kind: ChangeKind,
    /// `line_items[].sku` (payload root = the recorded body).
    pub path: String,
    /// For renames: the new path. For type changes: `string → number`.
    pub detail: Option<String>,
    /// Where the change was seen.
    pub source: Source,
    /// The version that made it, when the catalog knows (`2026-04`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// What to read instead, when the catalog knows (`checkout_token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instead: Option<String>,
}

impl FieldChange {
    pub fn new(
        scope: impl Into<String>,
        kind: ChangeKind,
        path: impl Into<String>,
        detail: Option<String>,
        source: Source,
    ) -> Self {
        FieldChange { scope: scope.into(), kind, path: path.into(), detail, source, since: None, instead: None }
    }

    /// Whether the change concerns payloads of `scope` (a catalog change may name a family:
    /// `webhook orders/*`).
    pub fn applies_to(&self, scope: &str) -> bool {
        self.source != Source::Schema && scope_matches(&self.scope, scope)
    }
}

/// `pattern` with `*` standing for any text, against `scope`.
fn scope_matches(pattern: &str, scope: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == scope,
        Some((head, tail)) => {
            let Some(rest) = scope.strip_prefix(head) else { return false };
            (0..=rest.len()).filter(|i| rest.is_char_boundary(*i)).any(|i| scope_matches(tail, &rest[i..]))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// In recorded payloads of both versions.
    Recorded,
    /// In the request schemas or endpoint lists of the versions.
    Schema,
    /// In the vendor's changelog, as the catalog records it.
    Catalog,
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: `{}` {}", self.scope, self.path, self.kind.as_str())?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        if let Some(i) = &self.instead {
            write!(f, " → use `{i}`")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VersionDiff {
    pub system: Option<SystemId>,
    pub from: String,
    pub to: String,
    pub changes: Vec<FieldChange>,
    /// Recordings present at the old version only (replays migrate them).
    pub unpaired: Vec<String>,
}

impl VersionDiff {
    /// Field changes of recorded payloads that lose or move data, by path, for one scope.
    pub fn losses(&self) -> impl Iterator<Item = &FieldChange> {
        self.changes.iter().filter(|c| c.kind.is_loss())
    }

    /// The change, if any, that affects `path` (or a field above it) in recordings of `scope`.
    pub fn affecting(&self, scope: &str, path: &str) -> Option<&FieldChange> {
        self.losses().filter(|c| c.applies_to(scope)).find(|c| {
            path == c.path || path.starts_with(&format!("{}.", c.path)) || path.starts_with(&format!("{}[", c.path))
        })
    }

    /// Apply the diff to an old payload of `scope`: removed fields go, renamed ones move. A
    /// webhook recorded as another shape of its payload (`{"order": {…}}`) is changed inside.
    pub fn migrate(&self, scope: &str, body: &Value) -> Value {
        let mut whole = body.clone();
        let envelope = self.system.as_ref().and_then(|system| harness_systems::webhook_payload(system, scope, body).1);
        let out = match &envelope {
            Some(key) => &mut whole[key.as_str()],
            None => &mut whole,
        };
        for c in self.losses().filter(|c| c.applies_to(scope)) {
            let segs = parse_path(&c.path);
            match (c.kind, &c.detail) {
                (ChangeKind::Renamed, Some(new_path)) => {
                    let new_segs = parse_path(new_path);
                    move_field(out, &segs, &new_segs);
                }
                (ChangeKind::Removed, _) => remove_field(out, &segs),
                _ => {}
            }
        }
        whole
    }
}

/// `a.b[].c` → segments.
pub fn parse_path(text: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in text.split('.') {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            segs.push(Seg::Key(name.to_string()));
        }
        for _ in rest.split('[').filter(|s| s.starts_with(']')) {
            segs.push(Seg::Each);
        }
    }
    segs
}

fn remove_field(v: &mut Value, segs: &[Seg]) {
    match (segs, v) {
        ([Seg::Key(k)], Value::Object(o)) => {
            o.remove(k);
        }
        ([Seg::Key(k), rest @ ..], Value::Object(o)) => {
            if let Some(child) = o.get_mut(k) {
                remove_field(child, rest);
            }
        }
        ([Seg::Each, rest @ ..], Value::Array(items)) => items.iter_mut().for_each(|i| remove_field(i, rest)),
        _ => {}
    }
}

fn move_field(v: &mut Value, from: &[Seg], to: &[Seg]) {
    // Renames keep the parent: move within each parent object.
    let (Some(Seg::Key(old)), Some(Seg::Key(new))) = (from.last(), to.last()) else { return };
    let parent = &from[..from.len() - 1];
    fn each_parent(v: &mut Value, parent: &[Seg], f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
        match (parent, v) {
            ([], Value::Object(o)) => f(o),
            ([Seg::Key(k), rest @ ..], Value::Object(o)) => {
                if let Some(c) = o.get_mut(k) {
                    each_parent(c, rest, f);
                }
            }
            ([Seg::Each, rest @ ..], Value::Array(items)) => items.iter_mut().for_each(|i| each_parent(i, rest, f)),
            _ => {}
        }
    }
    each_parent(v, parent, &mut |o| {
        if let Some(value) = o.remove(old) {
            o.insert(new.clone(), value);
        }
    });
}

impl Migrate for VersionDiff {
    fn migrate(&self, scope: &str, body: &Value) -> Value {
        VersionDiff::migrate(self, scope, body)
    }
}

// ---------------------------------------------------------------------------------------------
// Collecting field paths

/// Every field path of a document with the JSON types seen there and a few leaf values.
#[derive(Debug, Default)]
struct Shape {
    types: BTreeMap<String, BTreeSet<&'static str>>,
    values: BTreeMap<String, Vec<Value>>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn collect(v: &Value, segs: &mut Vec<Seg>, shape: &mut Shape) {
    if !segs.is_empty() {
        let p = path_text(segs);
        shape.types.entry(p.clone()).or_default().insert(type_name(v));
        if !matches!(v, Value::Object(_) | Value::Array(_) | Value::Null) {
            let values = shape.values.entry(p).or_default();
            if values.len() < 20 {
                values.push(v.clone());
            }
        }
    }
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                segs.push(Seg::Key(k.clone()));
                collect(child, segs, shape);
                segs.pop();
            }
        }
        Value::Array(items) => {
            segs.push(Seg::Each);
            for i in items {
                collect(i, segs, shape);
            }
            segs.pop();
        }
        _ => {}
    }
}

fn parent_of(path: &str) -> &str {
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    &path[..cut]
}

/// Compare two shapes of the same endpoint.
fn compare(scope: &str, old: &Shape, new: &Shape, out: &mut Vec<FieldChange>) {
    let removed: Vec<&String> = old.types.keys().filter(|p| !new.types.contains_key(*p)).collect();
    let added: Vec<&String> = new.types.keys().filter(|p| !old.types.contains_key(*p)).collect();
    // Only the topmost of a removed or added subtree is reported.
    let top = |list: &[&String]| -> Vec<String> {
        list.iter()
            .filter(|p| {
                !list.iter().any(|q| q != *p && (p.starts_with(&format!("{q}.")) || p.starts_with(&format!("{q}["))))
            })
            .map(|p| p.to_string())
            .collect()
    };
    let (removed, added) = (top(&removed), top(&added));
    let mut renamed_new = BTreeSet::new();
    for r in &removed {
        // A rename: a new field next to the removed one holding the same values.
        let rename = added.iter().find(|a| {
            !renamed_new.contains(*a)
                && parent_of(a) == parent_of(r)
                && old.values.get(r).is_some_and(|v| !v.is_empty() && new.values.get(*a) == Some(v))
        });
        match rename {
            Some(a) => {
                renamed_new.insert(a.clone());
                out.push(FieldChange::new(scope, ChangeKind::Renamed, r.as_str(), Some(a.clone()), Source::Recorded));
            }
            None => out.push(FieldChange::new(scope, ChangeKind::Removed, r.as_str(), None, Source::Recorded)),
        }
    }
    for a in added.iter().filter(|a| !renamed_new.contains(*a)) {
        out.push(FieldChange::new(scope, ChangeKind::Added, a.as_str(), None, Source::Recorded));
    }
    for (p, old_types) in &old.types {
        if let Some(new_types) = new.types.get(p) {
            let (o, n): (BTreeSet<_>, BTreeSet<_>) =
                (old_types - &BTreeSet::from(["null"]), new_types - &BTreeSet::from(["null"]));
            if !o.is_empty() && !n.is_empty() && o != n {
                let show = |s: &BTreeSet<&str>| s.iter().copied().collect::<Vec<_>>().join("|");
                out.push(FieldChange::new(
                    scope,
                    ChangeKind::TypeChanged,
                    p.as_str(),
                    Some(format!("{} → {}", show(&o), show(&n))),
                    Source::Recorded,
                ));
            }
        }
    }
}

/// Field changes between two payloads of the same endpoint (`old` recorded, `new` as answered
/// now): removed, added, renamed and retyped fields, each reported at the top of its subtree.
pub fn payload_changes(scope: &str, old: &Value, new: &Value) -> Vec<FieldChange> {
    let (mut before, mut after) = (Shape::default(), Shape::default());
    collect(old, &mut Vec::new(), &mut before);
    collect(new, &mut Vec::new(), &mut after);
    let mut out = Vec::new();
    compare(scope, &before, &after, &mut out);
    out.sort();
    out
}

/// Recorded JSON payloads under a version folder: relative path → (endpoint, body). A recording
/// that does not say its endpoint stands for what the scenarios use it as (`scopes`), else for
/// its file.
fn recordings(
    catalog: &Catalog,
    system: &SystemVersion,
    scopes: &BTreeMap<String, String>,
) -> BTreeMap<String, (String, Value)> {
    let mut out = BTreeMap::new();
    for rel in harness_syntax::project::files_under(&system.dir)
        .into_iter()
        .filter(|f| f.ends_with(".json") && !f.starts_with("schemas/"))
    {
        if let Ok(rec) = catalog.recording(system, &rel)
            && let Some(json) = &rec.json
        {
            let scope = rec.scope().or_else(|| scopes.get(&rel).cloned()).unwrap_or_else(|| format!("file {rel}"));
            let payload = harness_systems::webhook_payload(&system.system, &scope, json).0.clone();
            out.insert(rel, (scope, payload));
        }
    }
    out
}

/// Diff two versions of a system. `scopes` says what the old version's recordings stand for where
/// they do not say themselves (see `Plan::recording_scopes`); a recording pairs with the one at the
/// same path in the new version.
pub fn diff(
    catalog: &Catalog,
    old: &SystemVersion,
    new: &SystemVersion,
    scopes: &BTreeMap<String, String>,
) -> VersionDiff {
    let mut changes = Vec::new();
    let (old_recs, new_recs) = (recordings(catalog, old, scopes), recordings(catalog, new, scopes));
    // Shapes per endpoint, from the recordings present at both versions.
    let mut shapes: BTreeMap<String, (Shape, Shape)> = BTreeMap::new();
    let mut unpaired = Vec::new();
    for (rel, (scope, body)) in &old_recs {
        match new_recs.get(rel) {
            Some((_, new_body)) => {
                let entry = shapes.entry(scope.clone()).or_default();
                collect(body, &mut Vec::new(), &mut entry.0);
                collect(new_body, &mut Vec::new(), &mut entry.1);
            }
            None => unpaired.push(rel.clone()),
        }
    }
    // Webhooks the vendor's own schemas describe at both versions: those changes are known
    // whatever the project recorded, and stand for the recorded ones.
    let webhooks: BTreeSet<&str> = old_recs
        .values()
        .map(|(s, _)| s.as_str())
        .chain(scopes.values().map(String::as_str))
        .filter(|s| s.starts_with("webhook "))
        .collect();
    let mut vendor = Vec::new();
    for scope in webhooks {
        vendor.extend(vendor_schema_changes(&old.system, scope, &old.version, &new.version).into_iter().flatten());
    }
    for (scope, (o, n)) in &shapes {
        compare(scope, o, n, &mut changes);
    }
    changes.retain(|c| !vendor.iter().any(|v| v.scope == c.scope && v.kind == c.kind && v.path == c.path));
    changes.append(&mut vendor);
    // Request schemas of endpoints both versions declare.
    for e_old in &old.endpoints {
        let path_new = e_old.path.replace(&old.version, &new.version);
        let scope = format!("request {} {}", e_old.method, e_old.path.replace(&old.version, "{version}"));
        match new.endpoints.iter().find(|e| e.method == e_old.method && e.path == path_new) {
            None => changes.push(FieldChange::new(
                scope.clone(),
                ChangeKind::EndpointRemoved,
                "",
                Some(format!("not declared at {}", new.version)),
                Source::Schema,
            )),
            Some(e_new) => {
                if e_old.removed.is_none()
                    && let Some(replacement) = &e_new.removed
                {
                    changes.push(FieldChange::new(
                        scope.clone(),
                        ChangeKind::EndpointRemoved,
                        "",
                        Some(replacement.clone()),
                        Source::Schema,
                    ));
                }
                if let (Some(a), Some(b)) = (&e_old.request_schema, &e_new.request_schema) {
                    schema_changes(&scope, &a.json, &b.json, &mut changes);
                }
            }
        }
    }
    for e_new in new.endpoints.iter().filter(|e| e.removed.is_none()) {
        let path_old = e_new.path.replace(&new.version, &old.version);
        if !old.endpoints.iter().any(|e| e.method == e_new.method && e.path == path_old) {
            let scope = format!("request {} {}", e_new.method, e_new.path.replace(&new.version, "{version}"));
            changes.push(FieldChange::new(scope, ChangeKind::EndpointAdded, "", None, Source::Schema));
        }
    }
    for version in catalog.versions(&old.system).into_iter().filter(|v| *v > old.version && *v <= new.version) {
        if let Ok(at) = catalog.system(&old.system, &version) {
            for known in &at.changes {
                documented(known, &version, &mut changes);
            }
        }
    }
    changes.sort();
    changes.dedup();
    VersionDiff {
        system: Some(old.system.clone()),
        from: old.version.clone(),
        to: new.version.clone(),
        changes,
        unpaired,
    }
}

/// The webhook fields of `scope` (`webhook orders/create`) at `version`, as a shape.
fn vendor_shape(system: &SystemId, topic: &str, version: &str) -> Option<Shape> {
    let fields = Catalog::webhook_fields(system, topic, version)?;
    let mut shape = Shape::default();
    for (path, field) in fields {
        shape.types.insert(
            path.to_string(),
            field
                .types
                .split('|')
                .map(|t| if t == "integer" { "number" } else { t })
                .collect::<BTreeSet<&str>>()
                .into_iter()
                .map(static_type)
                .collect(),
        );
    }
    Some(shape)
}

/// JSON type names as `type_name` spells them, for comparing shapes.
fn static_type(t: &str) -> &'static str {
    ["null", "boolean", "number", "string", "array", "object"].into_iter().find(|k| *k == t).unwrap_or("any")
}

/// Changes to webhook `scope` between `from` and `to` derived from the vendor's schemas, each
/// with the version that made it; None when the schemas do not describe the topic at both.
pub fn vendor_schema_changes(system: &SystemId, scope: &str, from: &str, to: &str) -> Option<Vec<FieldChange>> {
    let topic = scope.strip_prefix("webhook ")?;
    // Before the schemas begin, the catalog's changelog speaks (see `catalog_knowledge`).
    let (versions, _) = Catalog::webhook_schemas(system)?;
    let from = versions.first().filter(|first| from < **first).map_or(from, |first| *first);
    let (old, new) = (vendor_shape(system, topic, from)?, vendor_shape(system, topic, to)?);
    let mut out = Vec::new();
    compare(scope, &old, &new, &mut out);
    let steps: Vec<(&str, Shape)> = versions
        .iter()
        .filter(|v| **v > from && **v <= to)
        .filter_map(|v| Some((*v, vendor_shape(system, topic, v)?)))
        .collect();
    for c in &mut out {
        c.source = Source::Catalog;
        // The first version at which the field is as it is at `to`.
        let now = new.types.get(&c.path);
        c.since = steps.iter().find(|(_, at)| at.types.get(&c.path) == now).map(|(v, _)| v.to_string());
    }
    Some(out)
}

/// Whether the catalog knows how webhook `scope` changed between `from` and `to` without any
/// recording: the vendor's schemas describe the topic at both versions — or at `to` and at their
/// first version, when `from` predates them and the catalog's changelog documents changes to the
/// topic in the versions between.
pub fn catalog_knowledge(catalog: &Catalog, system: &SystemId, scope: &str, from: &str, to: &str) -> bool {
    let Some(topic) = scope.strip_prefix("webhook ") else { return false };
    let Some(first) = Catalog::webhook_schemas(system).and_then(|(versions, _)| versions.first().copied()) else {
        return false;
    };
    if Catalog::webhook_fields(system, topic, to).is_none() {
        return false;
    }
    if from >= first {
        return Catalog::webhook_fields(system, topic, from).is_some();
    }
    Catalog::webhook_fields(system, topic, first).is_some()
        && catalog
            .versions(system)
            .iter()
            .filter(|v| v.as_str() > from && v.as_str() <= first)
            .filter_map(|v| catalog.system(system, v).ok())
            .any(|at| at.changes.iter().any(|c| scope_matches(&c.scope, scope)))
}

/// A change the catalog documents for `version`. When the recordings show it too, the recorded
/// change gains what the catalog knows (the version, what to use instead) and stands alone.
fn documented(known: &KnownChange, version: &str, changes: &mut Vec<FieldChange>) {
    // The catalog refuses a change that does not say exactly one thing.
    let Some(said) = known.what() else { return };
    let (kind, path, detail) = match said {
        ChangeSaid::Removed(path) => (ChangeKind::Removed, path.value.clone(), None),
        ChangeSaid::Renamed(r) => (ChangeKind::Renamed, r.from.value.clone(), Some(r.to.value.clone())),
        ChangeSaid::Required(path) => (ChangeKind::NewlyRequired, path.value.clone(), None),
        ChangeSaid::Deprecated(path) => (ChangeKind::Deprecated, path.value.clone(), None),
    };
    let mut seen = false;
    for c in changes.iter_mut().filter(|c| {
        c.source != Source::Schema && c.kind == kind && c.path == path && scope_matches(&known.scope, &c.scope)
    }) {
        c.since.get_or_insert_with(|| version.to_string());
        c.instead.clone_from(&known.instead);
        seen = true;
    }
    if !seen {
        let mut c = FieldChange::new(known.scope.value.as_str(), kind, path, detail, Source::Catalog);
        c.since = Some(version.to_string());
        c.instead.clone_from(&known.instead);
        changes.push(c);
    }
}

/// Property paths of a JSON Schema with their declared types and whether each is required.
fn schema_fields(
    schema: &Value,
    root: &Value,
    segs: &mut Vec<Seg>,
    out: &mut BTreeMap<String, (String, bool)>,
    depth: usize,
) {
    if depth > 12 {
        return;
    }
    let schema = resolve(schema, root);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        let required: BTreeSet<&str> =
            schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        for (k, sub) in props {
            segs.push(Seg::Key(k.clone()));
            let sub_resolved = resolve(sub, root);
            let ty = sub_resolved.get("type").map_or_else(|| "any".to_string(), |t| t.to_string().replace('"', ""));
            out.insert(path_text(segs), (ty, required.contains(k.as_str())));
            schema_fields(sub_resolved, root, segs, out, depth + 1);
            segs.pop();
        }
    }
    if let Some(items) = schema.get("items") {
        segs.push(Seg::Each);
        schema_fields(items, root, segs, out, depth + 1);
        segs.pop();
    }
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/")) {
        Some(pointer) => root.pointer(&format!("/{pointer}")).unwrap_or(schema),
        None => schema,
    }
}

fn schema_changes(scope: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    schema_fields(old, old, &mut Vec::new(), &mut a, 0);
    schema_fields(new, new, &mut Vec::new(), &mut b, 0);
    let change = |kind, path: &String, detail: Option<String>| {
        FieldChange::new(scope, kind, path.as_str(), detail, Source::Schema)
    };
    for (p, (ty, req)) in &a {
        match b.get(p) {
            None if !a.keys().any(|q| {
                q != p && !b.contains_key(q) && (p.starts_with(&format!("{q}.")) || p.starts_with(&format!("{q}[")))
            }) =>
            {
                out.push(change(ChangeKind::Removed, p, None));
            }
            None => {}
            Some((ty2, req2)) => {
                if ty != ty2 {
                    out.push(change(ChangeKind::TypeChanged, p, Some(format!("{ty} → {ty2}"))));
                }
                if *req2 && !req {
                    out.push(change(ChangeKind::NewlyRequired, p, None));
                }
            }
        }
    }
    for p in b.keys().filter(|p| !a.contains_key(*p)) {
        if !b.keys().any(|q| {
            q != p && !a.contains_key(q) && (p.starts_with(&format!("{q}.")) || p.starts_with(&format!("{q}[")))
        }) {
            let required = b[p].1;
            out.push(change(if required { ChangeKind::NewlyRequired } else { ChangeKind::Added }, p, None));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_scopes_name_families() {
        assert!(scope_matches("webhook orders/*", "webhook orders/create"));
        assert!(scope_matches("webhook orders/create", "webhook orders/create"));
        assert!(!scope_matches("webhook orders/*", "webhook refunds/create"));
        assert!(scope_matches("GET /admin/api/{version}/*.json", "GET /admin/api/{version}/orders.json"));
        assert!(!scope_matches("webhook orders/create", "webhook orders/created"));
    }
    use serde_json::json;

    fn shape(v: &Value) -> Shape {
        let mut s = Shape::default();
        collect(v, &mut Vec::new(), &mut s);
        s
    }

    #[test]
    fn removed_added_renamed_and_retyped_fields() {
        let old = json!({"gateway": "bogus", "total": "10.00", "line_items": [{"sku": "A", "qty": 1}], "customer": {"orders_count": 3}});
        let new =
            json!({"total": 10.0, "line_items": [{"sku_code": "A", "qty": 1}], "po_number": null, "customer": {}});
        let mut out = Vec::new();
        compare("webhook orders/create", &shape(&old), &shape(&new), &mut out);
        let shown: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "webhook orders/create: `customer.orders_count` removed",
                "webhook orders/create: `gateway` removed",
                "webhook orders/create: `line_items[].sku` renamed (line_items[].sku_code)",
                "webhook orders/create: `po_number` added",
                "webhook orders/create: `total` type changed (string → number)",
            ]
        );
    }

    #[test]
    fn migration_removes_and_renames() {
        let d = VersionDiff {
            system: None,
            from: "a".into(),
            to: "b".into(),
            changes: vec![
                FieldChange::new("s", ChangeKind::Removed, "gateway", None, Source::Recorded),
                FieldChange::new(
                    "s",
                    ChangeKind::Renamed,
                    "line_items[].sku",
                    Some("line_items[].sku_code".into()),
                    Source::Recorded,
                ),
            ],
            unpaired: vec![],
        };
        let migrated = d.migrate("s", &json!({"gateway": "x", "id": 1, "line_items": [{"sku": "A"}, {"sku": "B"}]}));
        assert_eq!(migrated, json!({"id": 1, "line_items": [{"sku_code": "A"}, {"sku_code": "B"}]}));
    }

    #[test]
    fn schema_fields_removed_and_newly_required() {
        let old = json!({"type": "object", "properties": {"memo": {"type": "string"}, "entity": {"$ref": "#/$defs/ref"}}, "$defs": {"ref": {"type": "object", "properties": {"id": {"type": "string"}}}}});
        let new = json!({"type": "object", "required": ["entity", "subsidiary"], "properties": {"entity": {"$ref": "#/$defs/ref"}, "subsidiary": {"type": "object"}}, "$defs": {"ref": {"type": "object", "properties": {"id": {"type": "string"}}}}});
        let mut out = Vec::new();
        schema_changes("request POST /x", &old, &new, &mut out);
        out.sort();
        let shown: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "request POST /x: `memo` removed",
                "request POST /x: `entity` newly required",
                "request POST /x: `subsidiary` newly required"
            ]
        );
    }
}
