//! Field lineage: for every target field of every flow, the source fields it depends on — read
//! from the mapping where the flow is built in, and found by ablation (take one source field away,
//! run again, see which target fields change) for any flow, external programs included.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::diff::{ChangeKind, FieldChange, Source, VersionDiff};
use harness_core::{Error, Style, SystemId};
use harness_engine::events::{AnalysisResult, Suite, SuiteCase, SuiteVerdict};
use harness_engine::plan::{self, Case};
use harness_engine::runner;
use harness_expr::{Seg, path_text, template_field};
use harness_syntax::Project;

use crate::ablation::{self, Variant};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// Read from the flow's mapping.
    Mapping,
    /// Seen to change the field when removed or altered.
    Ablation,
    /// The field's value, made unique, was found in the target field.
    Tracing,
}

/// A target field and where its value comes from.
#[derive(Debug, Clone, Serialize)]
pub struct TargetField {
    pub system: SystemId,
    /// `body.item.items[].item`
    pub field: String,
    /// Source fields: `(source system, payload path, how it was found)`. Paths rooted at a
    /// variable bound by an earlier step read `$name…`.
    pub sources: BTreeSet<(SystemId, String, Evidence)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlowLineage {
    pub flow: String,
    /// Scenario cases traced (and ablated): the first that pass with the flow delivering.
    pub ablated: Vec<String>,
    /// Scenario cases not traced, and why.
    pub skipped: Vec<Skipped>,
    pub fields: Vec<TargetField>,
}

impl FlowLineage {
    /// Source paths this flow reads (by either evidence).
    pub fn reads(&self) -> BTreeSet<(SystemId, String)> {
        self.fields.iter().flat_map(|f| f.sources.iter().map(|(s, p, _)| (s.clone(), p.clone()))).collect()
    }
}

/// A scenario case lineage does not trace.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub scenario: String,
    /// `expects the flow to fail`, `does not pass`, `sends nothing to its targets`.
    pub why: String,
}

/// The lineage of every flow asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Lineage {
    pub flows: Vec<FlowLineage>,
}

pub struct LineageOptions {
    /// Only these flows (all when empty).
    pub flows: Vec<String>,
    /// Also remove and alter every source field in turn (one run each: thorough but slow).
    /// Value tracing (a run per scenario, more where values must stay as they are) is always done.
    pub ablate: bool,
    /// Passing scenario cases per flow to trace (and ablate) on.
    pub cases_per_flow: usize,
    pub jobs: usize,
}

pub fn compute(project: &Project, options: &LineageOptions) -> Result<Lineage, Error> {
    let plan = plan::build(project, &[])?;
    let mut by_flow: BTreeMap<String, Vec<Arc<Case>>> = BTreeMap::new();
    for c in &plan.cases {
        if options.flows.is_empty() || options.flows.contains(&c.flow.name) {
            by_flow.entry(c.flow.name.clone()).or_default().push(c.clone());
        }
    }
    let mut out = Vec::new();
    let mut candidates: Vec<Arc<Case>> = Vec::new();
    let mut skipped: BTreeMap<String, Vec<Skipped>> = BTreeMap::new();
    for (name, cases) in &by_flow {
        let flow = &cases[0].flow;
        // (target system, field) → {(source system, field, how it is known)}
        type Sources = BTreeSet<(SystemId, String, Evidence)>;
        let mut fields: BTreeMap<(SystemId, String), Sources> = BTreeMap::new();
        {
            let base = flow.trigger.split.base_path().unwrap_or_default();
            for (_step, system, l) in flow.lineage() {
                let entry = fields.entry((system.clone(), l.target.clone())).or_default();
                for read in &l.reads {
                    let source = match read.var.as_deref() {
                        None | Some("record") => {
                            path_text(&base.iter().cloned().chain(read.segs.iter().cloned()).collect::<Vec<Seg>>())
                        }
                        Some(var) => {
                            format!("${var}{}{}", if read.segs.is_empty() { "" } else { "." }, path_text(&read.segs))
                        }
                    };
                    let system = match read.var.as_deref() {
                        None | Some("record") => flow.trigger.system.clone(),
                        Some(var) => flow.driver.bound_system(var).unwrap_or_else(|| system.clone()),
                    };
                    entry.insert((system, source, Evidence::Mapping));
                }
            }
        }
        for c in cases.iter().filter(|c| c.trigger.json.is_some()) {
            if c.expect.spec.expects_delivery() {
                candidates.push(c.clone());
            } else {
                skipped
                    .entry(name.clone())
                    .or_default()
                    .push(Skipped { scenario: c.id.clone(), why: "expects the flow to fail".into() });
            }
        }
        out.push((name.clone(), flow.trigger.system.clone(), fields));
    }

    // Only scenarios where the flow delivers are traced: one that passes because the flow refuses
    // its input (a bad signature) feeds nothing, and would make every field look unread.
    let runs = runner::evaluate(project, &plan, &candidates, options.jobs, false)?;
    let mut baseline: Vec<runner::Evaluated> = Vec::new();
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    for e in runs {
        let why = if !(e.execution.run.succeeded() && e.verdict.passed_except_snapshots()) {
            Some("does not pass")
        } else if !e.execution.exchanges.iter().any(|x| e.case.flow.targets.contains(&x.system)) {
            Some("sends nothing to its targets")
        } else {
            None
        };
        let flow = e.case.flow.name.clone();
        match why {
            Some(why) => {
                skipped.entry(flow).or_default().push(Skipped { scenario: e.case.id.clone(), why: why.into() })
            }
            None => {
                let n = taken.entry(flow).or_default();
                if *n < options.cases_per_flow {
                    *n += 1;
                    baseline.push(e);
                }
            }
        }
    }

    // Value tracing: a run with every source value made unique; each unique value found in a
    // target field names its source. A run that fails (a value the flow looks up, parses or
    // validates) is halved until the fields that must stay as they are are found. A flow's first
    // scenario is traced first, and its other scenarios keep those fields as they are from the
    // start: one run each where they agree.
    let mut first: BTreeSet<&str> = BTreeSet::new();
    let (lead, rest): (Vec<usize>, Vec<usize>) =
        (0..baseline.len()).partition(|&i| first.insert(baseline[i].case.flow.name.as_str()));
    let mut fixed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for phase in [lead, rest] {
        let mut pending: Vec<(usize, Vec<String>)> = Vec::new();
        for i in phase {
            let keep = fixed.get(&baseline[i].case.flow.name);
            let leaves: Vec<String> = leaf_paths(baseline[i].case.trigger.json.as_deref().unwrap_or(&Value::Null))
                .into_iter()
                .filter(|l| keep.is_none_or(|k| !k.contains(l)))
                .collect();
            if !leaves.is_empty() {
                pending.push((i, leaves));
            }
        }
        while !pending.is_empty() {
            let mut variants = Vec::new();
            for (base, group) in pending.drain(..) {
                let mut tokens = Tokens::default();
                let only: BTreeSet<&str> = group.iter().map(String::as_str).collect();
                if let Some(payload) = baseline[base].case.trigger.json.as_ref().map(|p| tokens.taint(p, &only)) {
                    variants.push(Variant { base, label: (group, tokens), payload });
                }
            }
            for a in ablation::run(project, &plan, &baseline, variants, options.jobs, false)? {
                let (group, tokens) = a.label;
                let flow = &baseline[a.base].case.flow.name;
                let Some((_, source_system, fields)) = out.iter_mut().find(|(n, _, _)| n == flow) else { continue };
                if a.run.execution.run.succeeded() {
                    for snap in &a.run.verdict.snapshots {
                        for (field, source) in tokens.find(&snap.produced.json()) {
                            fields.entry((snap.system.clone(), field)).or_default().insert((
                                source_system.clone(),
                                source,
                                Evidence::Tracing,
                            ));
                        }
                    }
                } else if group.len() > 1 {
                    let (x, y) = group.split_at(group.len() / 2);
                    pending.push((a.base, x.to_vec()));
                    pending.push((a.base, y.to_vec()));
                } else {
                    let target = baseline[a.base]
                        .case
                        .snapshots
                        .first()
                        .map_or_else(|| source_system.clone(), |s| s.system.clone());
                    fields.entry((target, "(the run succeeds)".into())).or_default().insert((
                        source_system.clone(),
                        group[0].clone(),
                        Evidence::Tracing,
                    ));
                    fixed.entry(flow.clone()).or_default().insert(group[0].clone());
                }
            }
        }
    }
    // Ablation (--ablate): every leaf removed, then altered, one run each. Removal finds what a
    // field is needed for (a program may stop without it); alteration which fields carry it.
    let mut variants = Vec::new();
    for (base, b) in baseline.iter().enumerate().filter(|_| options.ablate) {
        let payload = b.case.trigger.json.as_deref().cloned().unwrap_or(Value::Null);
        for path in leaf_paths(&payload) {
            let single = VersionDiff {
                changes: vec![FieldChange::new("ablation", ChangeKind::Removed, path.as_str(), None, Source::Recorded)],
                ..VersionDiff::default()
            };
            let segs = crate::diff::parse_path(&path);
            variants.push(Variant { base, label: path.clone(), payload: single.migrate("ablation", &payload) });
            variants.push(Variant { base, label: path.clone(), payload: altered(&payload, &segs) });
        }
    }
    let mut ablated_ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in &baseline {
        ablated_ids.entry(b.case.flow.name.clone()).or_default().push(b.case.id.clone());
    }
    for a in ablation::run(project, &plan, &baseline, variants, options.jobs, false)? {
        let Some((_, source_system, fields)) = out.iter_mut().find(|(n, _, _)| *n == baseline[a.base].case.flow.name)
        else {
            continue;
        };
        for (system, change) in &a.changes {
            if change.field.starts_with("headers") || change.field.starts_with("response") {
                continue;
            }
            // A request that is no longer sent depends on the field as a whole.
            let field =
                if change.field.is_empty() { format!("({})", change.request) } else { template_field(&change.field) };
            fields.entry((system.clone(), field)).or_default().insert((
                source_system.clone(),
                a.label.clone(),
                Evidence::Ablation,
            ));
        }
    }
    let flows = out
        .into_iter()
        .map(|(flow, _, fields)| FlowLineage {
            ablated: ablated_ids.remove(&flow).unwrap_or_default(),
            skipped: skipped.remove(&flow).unwrap_or_default(),
            flow,
            fields: fields
                .into_iter()
                .map(|((system, field), sources)| TargetField { system, field, sources })
                .collect(),
        })
        .collect();
    Ok(Lineage { flows })
}

/// Unique stand-ins for every source value of a payload, to find them again in what a flow sent.
#[derive(Default)]
struct Tokens {
    /// Marker text (`~t12~`) → source path.
    text: BTreeMap<String, String>,
    /// Unique number → source path (numbers and numeric strings).
    numbers: BTreeMap<String, String>,
}

impl Tokens {
    /// `payload` with the leaves at `only` (paths with `[]`) made unique.
    fn taint(&mut self, payload: &Value, only: &BTreeSet<&str>) -> Value {
        let mut out = payload.clone();
        let mut n = 0usize;
        self.walk(&mut out, &mut Vec::new(), &mut n, only);
        out
    }

    fn walk(&mut self, v: &mut Value, segs: &mut Vec<Seg>, n: &mut usize, only: &BTreeSet<&str>) {
        let is_leaf = !matches!(v, Value::Object(_) | Value::Array(_));
        if is_leaf && !only.contains(path_text(segs).as_str()) {
            return;
        }
        match v {
            Value::Object(o) => {
                for (k, c) in o.iter_mut() {
                    segs.push(Seg::Key(k.clone()));
                    self.walk(c, segs, n, only);
                    segs.pop();
                }
            }
            Value::Array(items) => {
                segs.push(Seg::Each);
                for i in items.iter_mut() {
                    self.walk(i, segs, n, only);
                }
                segs.pop();
            }
            Value::String(s) if !segs.is_empty() => {
                *n += 1;
                let path = path_text(segs);
                if let Some(decimals) = numeric_decimals(s) {
                    // Keep it a number of the same shape, so `tonumber` and formats still work.
                    let unique = format!("{:.*}", decimals, 700_000.0 + *n as f64);
                    self.numbers.insert(unique.trim_end_matches('0').trim_end_matches('.').to_string(), path);
                    *s = unique;
                } else if !looks_structured(s) {
                    let marker = format!("~t{n}~");
                    self.text.insert(marker.clone(), path);
                    s.push_str(&marker);
                }
            }
            Value::Number(num) if !segs.is_empty() => {
                *n += 1;
                let unique = if num.is_f64() {
                    serde_json::json!(700_000.25 + *n as f64)
                } else {
                    Value::from(700_000 + *n as i64)
                };
                self.numbers.insert(unique.to_string(), path_text(segs));
                *v = unique;
            }
            _ => {}
        }
    }

    /// `(target field, source path)` for every marker or unique number found in `sent`.
    fn find(&self, sent: &Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for entry in sent.as_array().into_iter().flatten() {
            self.scan(entry, &mut String::new(), &mut out);
        }
        out.sort();
        out.dedup();
        out
    }

    fn scan(&self, v: &Value, field: &mut String, out: &mut Vec<(String, String)>) {
        let mut hit = |source: &String, field: &str| out.push((template_field(field), source.clone()));
        match v {
            Value::Object(o) => {
                for (k, c) in o {
                    let len = field.len();
                    if !field.is_empty() {
                        field.push('.');
                    }
                    field.push_str(k);
                    self.scan(c, field, out);
                    field.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, c) in items.iter().enumerate() {
                    let len = field.len();
                    field.push_str(&format!("[{i}]"));
                    self.scan(c, field, out);
                    field.truncate(len);
                }
            }
            Value::String(s) => {
                let lower = s.to_ascii_lowercase();
                for (marker, source) in &self.text {
                    if lower.contains(marker.as_str()) {
                        hit(source, field);
                    }
                }
                if let Some(source) = self.numbers.get(s.trim_end_matches('0').trim_end_matches('.')) {
                    hit(source, field);
                }
                // Unique whole numbers inside text: `"SHOPIFY-" + (.id | tostring)`.
                for run in s.split(|c: char| !c.is_ascii_digit()).filter(|r| r.len() >= 6) {
                    if let Some(source) = self.numbers.get(run) {
                        hit(source, field);
                    }
                }
            }
            Value::Number(n) => {
                let text = n.to_string();
                if let Some(source) = self.numbers.get(&text).or_else(|| self.numbers.get(text.trim_end_matches(".0")))
                {
                    hit(source, field);
                }
            }
            _ => {}
        }
    }
}

/// Decimal places of a numeric string (`"25.00"` → 2), `None` when it is not one.
fn numeric_decimals(s: &str) -> Option<usize> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.') || s.parse::<f64>().is_err() {
        return None;
    }
    Some(s.split_once('.').map_or(0, |(_, d)| d.len()))
}

/// Text whose format a flow may parse (dates, ids with a fixed shape): left as it is.
fn looks_structured(s: &str) -> bool {
    s.len() >= 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-'
}

/// `v` with the leaf at `path` (every element for `[]`) given another value of the same type.
fn altered(v: &Value, path: &[Seg]) -> Value {
    fn go(v: &mut Value, path: &[Seg]) {
        match (path.split_first(), v) {
            (None, leaf) => {
                let new = match &*leaf {
                    Value::String(s) => Value::String(format!("{s}~altered")),
                    Value::Number(n) => match n.as_i64() {
                        Some(i) => Value::from(i + 7),
                        None => Value::from(n.as_f64().unwrap_or(0.0) + 7.25),
                    },
                    Value::Bool(b) => Value::Bool(!*b),
                    Value::Null => Value::String("altered".into()),
                    other => other.clone(),
                };
                *leaf = new;
            }
            (Some((Seg::Key(k), rest)), Value::Object(o)) => {
                if let Some(c) = o.get_mut(k) {
                    go(c, rest);
                }
            }
            (Some((Seg::Each, rest)), Value::Array(items)) => items.iter_mut().for_each(|i| go(i, rest)),
            _ => {}
        }
    }
    let mut out = v.clone();
    go(&mut out, path);
    out
}

/// Leaf paths of a payload with array positions as `[]`, sorted.
pub fn leaf_paths(v: &Value) -> Vec<String> {
    fn go(v: &Value, segs: &mut Vec<Seg>, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(o) if !o.is_empty() => {
                for (k, c) in o {
                    segs.push(Seg::Key(k.clone()));
                    go(c, segs, out);
                    segs.pop();
                }
            }
            Value::Array(items) if !items.is_empty() => {
                segs.push(Seg::Each);
                for i in items {
                    go(i, segs, out);
                }
                segs.pop();
            }
            _ if !segs.is_empty() => {
                out.insert(path_text(segs));
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    go(v, &mut Vec::new(), &mut out);
    out.into_iter().collect()
}

impl AnalysisResult for Lineage {
    fn title(&self) -> String {
        "lineage".into()
    }

    fn terminal(&self, _style: Style) -> String {
        render(&self.flows)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(&self.flows).expect("lineage serialises")
    }

    /// A suite per flow, a case per target field with its sources.
    fn suites(&self) -> Vec<Suite> {
        self.flows
            .iter()
            .map(|f| Suite {
                name: f.flow.clone(),
                time: None,
                properties: Vec::new(),
                cases: f
                    .fields
                    .iter()
                    .map(|t| SuiteCase {
                        name: format!("{} {}", t.system, t.field),
                        classname: f.flow.clone(),
                        file: None,
                        time: None,
                        verdict: SuiteVerdict::Passed,
                        retries: Vec::new(),
                        output: Some(t.sources.iter().map(|(s, p, e)| format!("{s} {p} [{e:?}]\n")).collect()),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Render lineage for the terminal.
fn render(lineage: &[FlowLineage]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for f in lineage {
        let _ = writeln!(out, "{}", f.flow);
        if !f.ablated.is_empty() {
            let _ = writeln!(out, "  (traced on {})", f.ablated.join(", "));
        }
        for s in &f.skipped {
            let _ = writeln!(out, "  (not traced on {}: {})", s.scenario, s.why);
        }
        for t in &f.fields {
            let sources: Vec<String> = {
                let mut by_path: BTreeMap<(&SystemId, &str), Vec<&str>> = BTreeMap::new();
                for (s, p, e) in &t.sources {
                    by_path.entry((s, p.as_str())).or_default().push(match e {
                        Evidence::Mapping => "mapping",
                        Evidence::Ablation => "ablation",
                        Evidence::Tracing => "tracing",
                    });
                }
                by_path.into_iter().map(|((s, p), how)| format!("{s} {p} [{}]", how.join(", "))).collect()
            };
            let _ = writeln!(
                out,
                "  {} {} ← {}",
                t.system,
                t.field,
                if sources.is_empty() { "(constant)".to_string() } else { sources.join("; ") }
            );
        }
    }
    out
}
