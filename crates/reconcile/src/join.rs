//! Records reduced to what the check needs as they stream in — per key, when it was created, how
//! many there are and the values to compare — then joined by key into findings.

use std::collections::{HashMap, HashSet};

use harness_core::SystemId;
use harness_expr::{Doc, Expr, Scope, VarNames};
use serde::Serialize;
use serde_json::Value;

use crate::load::{Reconciliation, Side, Target};
use crate::window::{Window, instant};

/// What one side keeps of a record.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    pub at: Option<u64>,
    /// Records (or lines) with this key.
    pub count: u32,
    pub values: Box<[Option<Value>]>,
}

/// What one side keeps of its whole listing.
#[derive(Debug, Default)]
pub(crate) struct Reduced {
    pub records: HashMap<String, Kept>,
    /// Sums for the totals.
    pub totals: Vec<f64>,
    /// Source keys created in the lag before the window: listed only so that what they became
    /// downstream (in the window) is not taken for an orphan; judged for nothing else.
    pub earlier: HashSet<String>,
    /// Records without a key.
    pub unkeyed: u64,
    /// Records a jq expression failed on, and the first failure.
    pub failed: u64,
    pub first_failure: Option<String>,
}

/// Reduces the source's records: the values of every target's fields and lines, the totals of
/// every target, flattened.
pub(crate) struct SourceReducer<'a> {
    r: &'a Reconciliation,
    /// The window's start: records before it go to `earlier`.
    since: u64,
    scope: Scope,
    pub out: Reduced,
}

impl<'a> SourceReducer<'a> {
    pub(crate) fn new(r: &'a Reconciliation, window: &Window) -> Self {
        let totals = r.targets.iter().map(|t| t.totals.len()).sum();
        SourceReducer {
            r,
            since: window.since,
            scope: empty_scope(),
            out: Reduced { totals: vec![0.0; totals], ..Reduced::default() },
        }
    }

    pub(crate) fn add(&mut self, record: Value) {
        let doc = Doc::new(&record);
        drop(record);
        let Some((key, at)) = key_and_at(&self.r.source, &doc, &self.scope, &mut self.out) else { return };
        if at.is_some_and(|at| at < self.since) {
            self.out.earlier.insert(key);
            return;
        }
        let mut values = Vec::new();
        let mut total = 0;
        for t in &self.r.targets {
            for c in &t.fields {
                values.push(eval(&c.source, &doc, &self.scope, &mut self.out));
            }
            values.push(t.lines.as_ref().and_then(|l| eval(l, &doc, &self.scope, &mut self.out)));
            for c in &t.totals {
                self.out.totals[total] +=
                    eval(&c.source, &doc, &self.scope, &mut self.out).as_ref().and_then(number).unwrap_or(0.0);
                total += 1;
            }
        }
        let entry = self.out.records.entry(key).or_default();
        entry.count += 1;
        if entry.count == 1 {
            entry.at = at;
            entry.values = values.into_boxed_slice();
        }
    }
}

/// Reduces one target's records; with `lines:`, rows sharing a key are one record whose numbers
/// add up.
pub(crate) struct TargetReducer<'a> {
    t: &'a Target,
    scope: Scope,
    pub out: Reduced,
}

impl<'a> TargetReducer<'a> {
    pub(crate) fn new(t: &'a Target) -> Self {
        TargetReducer {
            t,
            scope: empty_scope(),
            out: Reduced { totals: vec![0.0; t.totals.len()], ..Reduced::default() },
        }
    }

    pub(crate) fn add(&mut self, record: Value) {
        let doc = Doc::new(&record);
        drop(record);
        let Some((key, at)) = key_and_at(&self.t.side, &doc, &self.scope, &mut self.out) else { return };
        let values: Vec<Option<Value>> =
            self.t.fields.iter().map(|c| eval(&c.target, &doc, &self.scope, &mut self.out)).collect();
        for (i, c) in self.t.totals.iter().enumerate() {
            self.out.totals[i] +=
                eval(&c.target, &doc, &self.scope, &mut self.out).as_ref().and_then(number).unwrap_or(0.0);
        }
        let entry = self.out.records.entry(key).or_default();
        entry.count += 1;
        if entry.count == 1 {
            entry.at = at;
            entry.values = values.into_boxed_slice();
        } else if self.t.lines.is_some() {
            entry.at = entry.at.min(at).or(entry.at).or(at);
            for (kept, more) in entry.values.iter_mut().zip(values) {
                if let (Some(a), Some(b)) = (kept.as_ref().and_then(number), more.as_ref().and_then(number)) {
                    *kept = serde_json::Number::from_f64(a + b).map(Value::Number);
                }
            }
        }
    }
}

fn empty_scope() -> Scope {
    Scope::new(&VarNames::new([]), &Value::Null)
}

fn key_and_at(side: &Side, doc: &Doc, scope: &Scope, out: &mut Reduced) -> Option<(String, Option<u64>)> {
    let key = match eval(&side.key, doc, scope, out) {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            out.unkeyed += 1;
            return None;
        }
    };
    let at = side.at.as_ref().and_then(|a| eval(a, doc, scope, out)).and_then(|v| match v {
        Value::String(s) => instant(&s),
        Value::Number(n) => n.as_u64(),
        _ => None,
    });
    Some((key, at))
}

fn eval(expr: &Expr, doc: &Doc, scope: &Scope, out: &mut Reduced) -> Option<Value> {
    match expr.eval_one_doc(doc, scope) {
        Ok(v) => v.filter(|v| !v.is_null()),
        Err(e) => {
            out.failed += 1;
            if out.first_failure.is_none() {
                out.first_failure = Some(format!("`{}`: {e}", expr.text()));
            }
            None
        }
    }
}

/// A number, or text holding one (`"12.50"`: systems write amounts as text).
pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// In the source, older than the lag, and not downstream.
    Missing,
    /// More than one record with the key.
    Duplicate,
    /// Downstream with no source record.
    Orphan,
    /// A field that does not agree.
    FieldDiffers,
    /// A sum over the window that does not agree.
    TotalDiffers,
    /// Arrived downstream after the lag.
    Late,
}

impl Kind {
    pub const ALL: [Kind; 6] =
        [Kind::Missing, Kind::Duplicate, Kind::Orphan, Kind::FieldDiffers, Kind::TotalDiffers, Kind::Late];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Missing => "missing",
            Kind::Duplicate => "duplicate",
            Kind::Orphan => "orphan",
            Kind::FieldDiffers => "field differs",
            Kind::TotalDiffers => "total differs",
            Kind::Late => "late",
        }
    }
}

/// One discrepancy.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub kind: Kind,
    /// The relation (target) it is about.
    pub relation: String,
    /// The system the record is (or is not) in.
    pub system: SystemId,
    /// The join key; the only record data shown unless `--show-values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The field or total compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Both sides' values and the jq that produced them, for field and total differences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Observed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Observed>,
    /// In words.
    pub detail: String,
    /// The baseline's explanation, when this discrepancy was accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
}

/// One side of a difference.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Observed {
    pub jq: String,
    /// `null` when hidden (text values are shown only with `--show-values`).
    pub value: Option<Value>,
}

impl Finding {
    /// What identifies it from one run to the next: the baseline's key.
    pub fn id(&self) -> String {
        let mut id = format!("{}: {}", self.relation, self.kind.name());
        for part in [&self.key, &self.field].into_iter().flatten() {
            id.push_str(&format!(" {part}"));
        }
        id
    }
}

/// Join the reduced source with each reduced target.
pub(crate) fn findings(
    r: &Reconciliation,
    source: &Reduced,
    targets: &[Reduced],
    window: &Window,
    show_values: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let lag = r.lag.as_secs();
    // A record younger than the lag at the window's end (or now, if sooner) is not due yet.
    let judged_at = window.until.min(window.now);
    let finding = |kind, relation: &str, system: &SystemId, key: Option<&str>, detail: String| Finding {
        kind,
        relation: relation.to_string(),
        system: system.clone(),
        key: key.map(str::to_string),
        field: None,
        source: None,
        target: None,
        detail,
        accepted: None,
    };
    let source_relation = r.source_relation();
    for (key, s) in &source.records {
        if s.count > 1 {
            out.push(finding(
                Kind::Duplicate,
                &source_relation,
                &r.source.system,
                Some(key),
                format!("{} records with this key in {}", s.count, r.source.system),
            ));
        }
    }
    // Where each target's values and totals start in the source's, flattened.
    let (mut offset, mut first_total) = (0, 0);
    for (t, reduced) in r.targets.iter().zip(targets) {
        let system = &t.side.system;
        for (key, s) in &source.records {
            let values = &s.values[offset..offset + t.fields.len() + 1];
            let Some(d) = reduced.records.get(key) else {
                if s.at.is_none_or(|at| at + lag <= judged_at) {
                    let when =
                        s.at.map_or(String::new(), |at| format!(" (created {})", harness_core::clock::rfc3339(at)));
                    out.push(finding(
                        Kind::Missing,
                        &t.name,
                        system,
                        Some(key),
                        format!("in {} but not in {system}{when}", r.source.system),
                    ));
                }
                continue;
            };
            if d.count > 1 && t.lines.is_none() {
                out.push(finding(
                    Kind::Duplicate,
                    &t.name,
                    system,
                    Some(key),
                    format!("{} records with this key in {system}", d.count),
                ));
            }
            if let (Some(a), Some(b)) = (s.at, d.at)
                && b > a + lag
            {
                out.push(finding(
                    Kind::Late,
                    &t.name,
                    system,
                    Some(key),
                    format!("reached {system} {} after it was created (lag {})", human(b - a), human(lag)),
                ));
            }
            for (i, c) in t.fields.iter().enumerate() {
                if !agree(&values[i], &d.values[i], c.tolerance) {
                    out.push(difference(
                        Kind::FieldDiffers,
                        t,
                        Some(key),
                        &c.name,
                        (&c.source, &values[i]),
                        (&c.target, &d.values[i]),
                        show_values,
                    ));
                }
            }
            if let Some(lines) = &t.lines {
                let expected = values[t.fields.len()].as_ref().and_then(number);
                if expected != Some(f64::from(d.count)) {
                    let shown = expected.map_or("?".to_string(), |e| e.to_string());
                    let mut f = finding(
                        Kind::FieldDiffers,
                        &t.name,
                        system,
                        Some(key),
                        format!("{shown} line(s) in {}, {} in {system}", r.source.system, d.count),
                    );
                    f.field = Some("lines".into());
                    f.source =
                        Some(Observed { jq: lines.text().to_string(), value: expected.map(|e| Value::from(e as u64)) });
                    f.target = Some(Observed { jq: "(rows with this key)".into(), value: Some(Value::from(d.count)) });
                    out.push(f);
                }
            }
        }
        for key in reduced.records.keys().filter(|k| !source.records.contains_key(*k) && !source.earlier.contains(*k)) {
            out.push(finding(
                Kind::Orphan,
                &t.name,
                system,
                Some(key),
                format!("in {system} with no record in {} for the window (or the lag before it)", r.source.system),
            ));
        }
        for (i, c) in t.totals.iter().enumerate() {
            let (a, b) = (source.totals[first_total + i], reduced.totals[i]);
            if (a - b).abs() > c.tolerance {
                let (a, b) = (round(a), round(b));
                out.push(difference(
                    Kind::TotalDiffers,
                    t,
                    None,
                    &c.name,
                    (&c.source, &Some(a.into())),
                    (&c.target, &Some(b.into())),
                    true,
                ));
            }
        }
        offset += t.fields.len() + 1;
        first_total += t.totals.len();
    }
    out.sort_by(|a, b| (&a.relation, a.kind, &a.key, &a.field).cmp(&(&b.relation, b.kind, &b.key, &b.field)));
    out
}

fn difference(
    kind: Kind,
    t: &Target,
    key: Option<&str>,
    name: &str,
    source: (&Expr, &Option<Value>),
    target: (&Expr, &Option<Value>),
    show_values: bool,
) -> Finding {
    // Amounts are not personal data; any text may be, and shows only when asked.
    let shown = show_values || [source.1, target.1].iter().all(|v| v.as_ref().is_none_or(|v| number(v).is_some()));
    let value = |v: &Option<Value>| if shown { v.clone() } else { None };
    let text = |v: &Option<Value>| match v {
        _ if !shown => "(hidden: --show-values)".to_string(),
        Some(v) => v.to_string(),
        None => "nothing".into(),
    };
    let detail = match (source.1.as_ref().and_then(number), target.1.as_ref().and_then(number)) {
        (Some(a), Some(b)) if shown => format!("{a:.2} in the source, {b:.2} downstream: off by {:+.2}", round(b - a)),
        _ => format!("{} vs {}", text(source.1), text(target.1)),
    };
    Finding {
        kind,
        relation: t.name.clone(),
        system: t.side.system.clone(),
        key: key.map(str::to_string),
        field: Some(name.to_string()),
        source: Some(Observed { jq: source.0.text().to_string(), value: value(source.1) }),
        target: Some(Observed { jq: target.0.text().to_string(), value: value(target.1) }),
        detail,
        accepted: None,
    }
}

fn agree(a: &Option<Value>, b: &Option<Value>, tolerance: f64) -> bool {
    match (a.as_ref().and_then(number), b.as_ref().and_then(number)) {
        (Some(x), Some(y)) => (x - y).abs() <= tolerance,
        _ => a == b,
    }
}

/// Cents: sums of many amounts carry float noise.
fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub(crate) fn human(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d", s / 86_400),
    }
}
