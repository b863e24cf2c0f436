//! Check: judge one executed case. Every assertion — outcome, records, request counts, schemas,
//! silent data loss, duplicates, waits, refreshes, reconciliations, snapshots — becomes a
//! [`CheckResult`]; reporters only render them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::execute::Execution;
use crate::flow::mapping::template_field;
use crate::flow::{FlowKind, Outcome};
use crate::mock::Exchange;
use crate::plan::Case;
use crate::scenario::ExpectedOutcome;
use crate::snapshot::{self, Change, Snapshot, canonical};
use crate::systems::catalog::Violation;
use crate::systems::{self, Schema, SystemKind};

/// Kinds of findings, in the order reports list them: causes (lost data, broken contracts) before
/// their symptoms (a failed outcome, a changed snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckKind {
    DataLoss,
    /// A field filled in the approved snapshot that is now empty.
    Emptied,
    Schema,
    Unmatched,
    Duplicates,
    Outcome,
    Records,
    Conservation,
    DeadLetters,
    Refreshes,
    Waits,
    Requests,
    Reconcile,
    Snapshot,
}

impl CheckKind {
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Outcome => "outcome",
            CheckKind::Records => "records",
            CheckKind::Conservation => "conservation",
            CheckKind::DeadLetters => "dead letters",
            CheckKind::Refreshes => "token refreshes",
            CheckKind::Waits => "waits",
            CheckKind::Requests => "request counts",
            CheckKind::Unmatched => "unexpected requests",
            CheckKind::Schema => "target schema",
            CheckKind::DataLoss => "silent data loss",
            CheckKind::Duplicates => "duplicates",
            CheckKind::Reconcile => "reconciliation",
            CheckKind::Snapshot => "snapshot",
            CheckKind::Emptied => "silent data loss",
        }
    }

    /// Differences from the approved snapshot, which `--accept` approves. Fields that went empty
    /// are not among them: in strict mode they fail until reviewed (`harness review`).
    pub fn is_snapshot_difference(self) -> bool {
        matches!(self, CheckKind::Snapshot)
    }
}

/// One failed (or warned) assertion. Passing checks are not listed individually.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: CheckKind,
    /// A warning does not fail the scenario (data-loss findings outside strict mode).
    pub warning: bool,
    /// One line: what is wrong.
    pub message: String,
    /// Further lines: evidence, lineage.
    pub details: Vec<String>,
    /// A diff, when there is one.
    pub diff: Option<String>,
}

impl Finding {
    fn new(kind: CheckKind, message: impl Into<String>) -> Self {
        Finding { kind, warning: false, message: message.into(), details: Vec::new(), diff: None }
    }

    /// A failure of the harness itself rather than of the scenario.
    pub fn internal(message: impl Into<String>) -> Self {
        Finding::new(CheckKind::Outcome, message)
    }
}

/// How a case's snapshot compares with the approved one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotState {
    Matches,
    New,
    Changed,
}

#[derive(Debug, Clone)]
pub struct SnapshotResult {
    pub system: SystemKind,
    pub state: SnapshotState,
    /// What this run produced.
    pub produced: Snapshot,
    pub changes: Vec<Change>,
}

pub struct Verdict {
    pub findings: Vec<Finding>,
    pub snapshots: Vec<SnapshotResult>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.warning)
    }

    /// Passed apart from snapshot differences: what `--accept` requires before it writes.
    pub fn passed_except_snapshots(&self) -> bool {
        self.findings.iter().all(|f| f.warning || f.kind.is_snapshot_difference())
    }
}

pub fn check(case: &Case, exec: &Execution, strict: bool) -> Verdict {
    let mut findings = Vec::new();
    let run = &exec.run;
    let spec = &case.expect.spec;

    findings.extend(exec.mock_crashes.iter().map(Finding::internal));

    // Outcome.
    let expected = spec.outcome.unwrap_or(ExpectedOutcome::Succeeded);
    let failures = run.failure_messages();
    match (expected, run.succeeded()) {
        (ExpectedOutcome::Succeeded, false) => {
            let mut f = Finding::new(CheckKind::Outcome, format!("expected the flow to succeed, but it failed: {}", failures.first().cloned().unwrap_or_default()));
            f.details = failures.iter().skip(1).cloned().collect();
            if !run.output.trim().is_empty() {
                f.details.push(format!("program output:\n{}", indent(run.output.trim_end())));
            }
            findings.push(f);
        }
        (ExpectedOutcome::Failed, true) => findings.push(Finding::new(CheckKind::Outcome, "expected the flow to fail, but every record was delivered")),
        (ExpectedOutcome::Failed, false) => {
            if let Some(text) = &spec.error
                && !failures.iter().any(|m| m.contains(text.as_str()))
            {
                let mut f = Finding::new(CheckKind::Outcome, format!("the flow failed, but no failure mentions `{text}`"));
                f.details = failures.clone();
                findings.push(f);
            }
        }
        (ExpectedOutcome::Succeeded, true) => {}
    }

    check_records(case, exec, &mut findings);
    check_requests(case, &exec.exchanges, &mut findings);
    check_schemas(case, &exec.exchanges, &mut findings);
    check_data_loss(case, exec, strict, &mut findings);
    if spec.no_duplicates.unwrap_or(true) {
        check_duplicates(&exec.exchanges, &mut findings);
    }
    check_reconcile(case, &exec.exchanges, &mut findings);
    let snapshots = check_snapshots(case, &exec.exchanges, strict, &mut findings);
    findings.sort_by_key(|f| f.kind);
    Verdict { findings, snapshots }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

fn check_records(case: &Case, exec: &Execution, findings: &mut Vec<Finding>) {
    let run = &exec.run;
    let spec = &case.expect.spec;
    let by_key: BTreeMap<&str, _> = run.records.iter().map(|r| (r.key.as_str(), r)).collect();
    for (key, want) in &spec.records {
        match by_key.get(key.as_str()) {
            None => findings.push(Finding::new(CheckKind::Records, format!("record {key}: expected {}, but the flow never reported it", want.outcome().as_str()))),
            Some(got) if got.outcome != want.outcome() => {
                let mut f = Finding::new(CheckKind::Records, format!("record {key}: expected {}, got {}", want.outcome().as_str(), got.outcome.as_str()));
                f.details.extend(got.reason.clone());
                findings.push(f);
            }
            Some(got) => {
                if let Some(text) = want.reason()
                    && !got.reason.as_deref().unwrap_or("").contains(text)
                {
                    findings.push(Finding::new(CheckKind::Records, format!("record {key}: reason `{}` does not mention `{text}`", got.reason.as_deref().unwrap_or(""))));
                }
            }
        }
    }

    // Conservation: every record is delivered, dead-lettered or filtered with a reason.
    let expected_keys: Vec<String> = match (&case.flow.kind, &case.trigger.json) {
        (FlowKind::Command(_), Some(payload)) if !run.records.is_empty() => {
            case.flow.trigger.split.split([payload]).map(|r| r.into_iter().map(|r| r.key).collect()).unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let vanished: Vec<String> = expected_keys.iter().filter(|k| !by_key.contains_key(k.as_str())).cloned().collect();
    let unprocessed: Vec<&str> = run.records.iter().filter(|r| r.outcome == Outcome::NotProcessed).map(|r| r.key.as_str()).collect();
    let unexplained: Vec<&str> = run.records.iter().filter(|r| r.outcome == Outcome::Filtered && r.reason.as_deref().is_none_or(str::is_empty)).map(|r| r.key.as_str()).collect();
    let expected_unprocessed = |k: &str| spec.records.get(k).is_some_and(|r| r.outcome() == Outcome::NotProcessed);
    let lost: Vec<String> = vanished
        .into_iter()
        .chain(unprocessed.iter().filter(|k| !expected_unprocessed(k)).map(|k| k.to_string()))
        .chain(unexplained.iter().map(|k| k.to_string()))
        .collect();
    if !lost.is_empty() {
        let delivered = run.records.iter().filter(|r| r.outcome == Outcome::Delivered).count();
        let dead = run.records.iter().filter(|r| r.outcome == Outcome::DeadLettered).count();
        let filtered = run.records.iter().filter(|r| r.outcome == Outcome::Filtered).count();
        let total = run.records.len().max(expected_keys.len());
        let mut f = Finding::new(
            CheckKind::Conservation,
            format!("{} of {total} records vanished (neither delivered, dead-lettered nor filtered with a reason): {}", lost.len(), lost.join(", ")),
        );
        f.details.push(format!("records in: {total}; delivered {delivered}, dead-lettered {dead}, filtered {filtered}"));
        findings.push(f);
    }

    if let Some(dl) = &spec.dead_letters {
        let dead: Vec<_> = run.records.iter().filter(|r| r.outcome == Outcome::DeadLettered).collect();
        if let Some(n) = dl.count
            && dead.len() != n
        {
            let mut f = Finding::new(CheckKind::DeadLetters, format!("expected {n} dead letters, got {}", dead.len()));
            f.details = dead.iter().map(|r| format!("{}: {}", r.key, r.reason.as_deref().unwrap_or(""))).collect();
            findings.push(f);
        }
        if let Some(text) = &dl.reason {
            for r in dead.iter().filter(|r| !r.reason.as_deref().unwrap_or("").contains(text.as_str())) {
                findings.push(Finding::new(CheckKind::DeadLetters, format!("dead letter {}: reason `{}` does not mention `{text}`", r.key, r.reason.as_deref().unwrap_or(""))));
            }
        }
    }

    for (system, want) in &spec.refreshes {
        let got = run.refreshes.get(system).copied().unwrap_or(0);
        if got != *want {
            findings.push(Finding::new(CheckKind::Refreshes, format!("expected {want} {system} credential refreshes, got {got}")));
        }
    }

    for w in &spec.waits {
        let matching: Vec<_> = run
            .waits
            .iter()
            .filter(|x| x.system == w.system && x.before_attempt == w.before_attempt && w.record.as_ref().is_none_or(|r| *r == x.record))
            .collect();
        let describe = |d: std::time::Duration| crate::duration::format(d);
        if matching.is_empty() {
            let mut f = Finding::new(CheckKind::Waits, format!("expected a wait before {} attempt {}, but there was none", w.system, w.before_attempt));
            f.details = run.waits.iter().map(|x| format!("{} {} before attempt {}: waited {} ({})", x.record, x.system, x.before_attempt, describe(x.duration), x.reason)).collect();
            findings.push(f);
            continue;
        }
        for x in matching {
            if w.at_least.is_some_and(|min| x.duration < min) || w.at_most.is_some_and(|max| x.duration > max) {
                let bounds = match (w.at_least, w.at_most) {
                    (Some(a), Some(b)) => format!("between {} and {}", describe(a), describe(b)),
                    (Some(a), None) => format!("at least {}", describe(a)),
                    (None, Some(b)) => format!("at most {}", describe(b)),
                    (None, None) => String::new(),
                };
                findings.push(Finding::new(
                    CheckKind::Waits,
                    format!("{} waited {} before attempt {} ({}); expected {bounds}", w.system, describe(x.duration), x.before_attempt, x.reason),
                ));
            }
        }
    }
}

fn check_requests(case: &Case, exchanges: &[Exchange], findings: &mut Vec<Finding>) {
    for ((matcher, label), spec) in case.expect.requests.iter().zip(&case.expect.spec.requests) {
        let n = exchanges.iter().filter(|e| e.system == spec.system && matcher.matches(&e.request)).count();
        let ok = spec.count.is_none_or(|c| n == c) && spec.min.is_none_or(|m| n >= m) && spec.max.is_none_or(|m| n <= m);
        if !ok {
            let want = match (spec.count, spec.min, spec.max) {
                (Some(c), _, _) => format!("{c}"),
                (None, Some(a), Some(b)) => format!("{a}–{b}"),
                (None, Some(a), None) => format!("at least {a}"),
                (None, None, Some(b)) => format!("at most {b}"),
                _ => "?".into(),
            };
            let mut f = Finding::new(CheckKind::Requests, format!("expected {want} × {} {label}, got {n}", spec.system));
            f.details = exchanges.iter().filter(|e| e.system == spec.system).map(|e| format!("{} → {}", e.request.line(), e.response.status)).collect();
            findings.push(f);
        }
    }
    let unmatched: Vec<&Exchange> = exchanges.iter().filter(|e| e.answered_by.is_none()).collect();
    if !unmatched.is_empty() {
        let mut f = Finding::new(CheckKind::Unmatched, format!("{} request(s) matched no stub and no behaviour of the mocks", unmatched.len()));
        f.details = unmatched
            .iter()
            .map(|e| format!("{} {} (answered {}: add a stub under `mocks.{}` or fix the flow)", e.system, e.request.line(), e.response.status, e.system))
            .collect();
        findings.push(f);
    }
}

/// A request that does not satisfy a schema it must.
pub struct SchemaBreach<'a> {
    pub exchange: &'a Exchange,
    pub schema: Arc<Schema>,
    /// Empty when the body is not JSON at all.
    pub violations: Vec<Violation>,
}

/// Every request of `exchanges` against its endpoint's schema and the scenario's extra ones.
pub fn schema_breaches<'a>(case: &Case, exchanges: &'a [Exchange]) -> Vec<SchemaBreach<'a>> {
    let mut out = Vec::new();
    for e in exchanges {
        let Some(system) = case.systems.get(&e.system) else { continue };
        let mut schemas = Vec::new();
        if let Some(s) = system.endpoint(&e.request.method, &e.request.path).and_then(|ep| ep.request_schema.clone()) {
            schemas.push(s);
        }
        for (kind, matcher, _, schema) in &case.expect.schemas {
            if *kind == e.system && matcher.matches(&e.request) {
                schemas.push(schema.clone());
            }
        }
        for schema in schemas {
            match e.request.json() {
                None => out.push(SchemaBreach { exchange: e, schema, violations: Vec::new() }),
                Some(body) => {
                    let violations = schema.violations(&body);
                    if !violations.is_empty() {
                        out.push(SchemaBreach { exchange: e, schema, violations });
                    }
                }
            }
        }
    }
    out
}

fn check_schemas(case: &Case, exchanges: &[Exchange], findings: &mut Vec<Finding>) {
    let at = |v: &Violation| if v.instance_path.is_empty() { "/".to_string() } else { v.instance_path.clone() };
    for b in schema_breaches(case, exchanges) {
        let e = b.exchange;
        let Some(first) = b.violations.first() else {
            findings.push(Finding::new(CheckKind::Schema, format!("{} {}: the body is not JSON, so it cannot satisfy {}", e.system, e.request.line(), b.schema.file)));
            continue;
        };
        let mut f = Finding::new(CheckKind::Schema, format!("{} {} violates {} at {}", e.system, e.request.line(), b.schema.file, at(first)));
        f.details = b.violations.iter().map(|v| format!("{}: {}", at(v), v.message)).collect();
        findings.push(f);
    }
}

fn check_data_loss(case: &Case, exec: &Execution, strict: bool, findings: &mut Vec<Finding>) {
    let trigger_system = case.flow.trigger.system;
    for m in &exec.run.missing {
        let mut f = Finding::new(
            CheckKind::DataLoss,
            format!("{} {} would be empty: the mapping reads {trigger_system} `{}`, which the payload does not have", m.system, m.target, m.source),
        );
        f.warning = !strict;
        f.details.push(format!("record {}, step {}: a renamed or removed source field — the target field arrives empty instead of failing", m.record, m.step));
        findings.push(f);
    }
}

fn check_duplicates(exchanges: &[Exchange], findings: &mut Vec<Finding>) {
    let mut seen: BTreeMap<String, Vec<&Exchange>> = BTreeMap::new();
    for e in exchanges {
        for id in systems::created_identities(e) {
            seen.entry(id).or_default().push(e);
        }
    }
    for (id, list) in seen.iter().filter(|(_, l)| l.len() > 1) {
        let shown: String = id.chars().take(120).collect();
        let mut f = Finding::new(CheckKind::Duplicates, format!("{} committed creates of the same record: {shown}", list.len()));
        f.details = list.iter().map(|e| format!("request {}: {} → {}", e.seq + 1, e.request.line(), e.response.status)).collect();
        f.details.push("a retried create must not duplicate: upsert by external id, or look the record up before creating it".into());
        findings.push(f);
    }
}

fn check_reconcile(case: &Case, exchanges: &[Exchange], findings: &mut Vec<Finding>) {
    if case.expect.reconcile.is_empty() {
        return;
    }
    let payload = source_payload(case, exchanges);
    let names = crate::expr::VarNames::new([]);
    let scope = crate::expr::Scope::new(&names, &Value::Null);
    for r in &case.expect.reconcile {
        let traffic: Vec<Value> = exchanges
            .iter()
            .filter(|e| e.system == r.system)
            .map(|e| {
                let body = canonical::body(e.request.header("content-type").unwrap_or(""), &e.request.body).unwrap_or(Value::Null);
                let accepted = systems::accepted(e);
                json!({"method": e.request.method, "path": e.request.path, "query": crate::mock::form_pairs(&e.request.query).into_iter().collect::<BTreeMap<_, _>>(), "body": body, "status": e.response.status, "accepted": accepted})
            })
            .collect();
        let source = figures("source", r.source.eval_one(&payload, &scope));
        let target = figures("target", r.target.eval_one(&Value::Array(traffic), &scope));
        match (source, target) {
            (Ok(s), Ok(t)) => {
                // Keys of either side; a key missing on one side counts as 0 there.
                let keys: std::collections::BTreeSet<&String> = s.keys().chain(t.keys()).collect();
                let off: Vec<String> = keys
                    .into_iter()
                    .filter_map(|k| {
                        let (a, b) = (s.get(k).copied().unwrap_or(0.0), t.get(k).copied().unwrap_or(0.0));
                        ((a - b).abs() > r.tolerance).then(|| {
                            let label = if k.is_empty() { String::new() } else { format!("{k}: ") };
                            format!("{label}source {} ≠ {} {} (difference {:+.4})", fmt_num(a), r.system, fmt_num(b), b - a)
                        })
                    })
                    .collect();
                if !off.is_empty() {
                    let mut f = Finding::new(CheckKind::Reconcile, format!("{}: {}", r.name, off.join("; ")));
                    f.details.push(format!("tolerance {}", r.tolerance));
                    f.details.push(format!("source: {}", r.source.text()));
                    f.details.push(format!("target: {}", r.target.text()));
                    findings.push(f);
                }
            }
            (s, t) => {
                let why: Vec<String> = s.err().into_iter().chain(t.err()).collect();
                findings.push(Finding::new(CheckKind::Reconcile, format!("{}: cannot compute: {}", r.name, why.join("; "))));
            }
        }
    }
}

/// What the flow took in: the trigger payload, or for a polling flow every page it fetched,
/// merged (arrays of the pages concatenated).
fn source_payload(case: &Case, exchanges: &[Exchange]) -> Value {
    let Some(fetch) = &case.flow.trigger.fetch else { return case.trigger.json.clone().unwrap_or(Value::Null) };
    let system = case.flow.trigger.system;
    let path = case.systems.get(&system).map(|s| fetch.path_for(&s.version)).unwrap_or_default();
    let pages: Vec<Value> = exchanges
        .iter()
        .filter(|e| e.system == system && e.request.path == path && systems::accepted(e))
        .filter_map(|e| serde_json::from_slice(&e.response.body).ok())
        .collect();
    let mut pages = pages.into_iter();
    let Some(mut merged) = pages.next() else { return case.trigger.json.clone().unwrap_or(Value::Null) };
    for page in pages {
        if let (Value::Object(m), Value::Object(p)) = (&mut merged, page) {
            for (k, v) in p {
                match (m.get_mut(&k), v) {
                    (Some(Value::Array(a)), Value::Array(b)) => a.extend(b),
                    (None, v) => {
                        m.insert(k, v);
                    }
                    _ => {}
                }
            }
        }
    }
    merged
}

/// A reconciliation side as figures by key: a number (key ``) or an object of numbers (per SKU,
/// per order…); numeric strings count as numbers.
fn figures(side: &str, result: Result<Option<Value>, String>) -> Result<BTreeMap<String, f64>, String> {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match result? {
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| number(v).map(|n| (k.clone(), n)).ok_or_else(|| format!("{side} yields {v} for `{k}`, not a number")))
            .collect(),
        Some(v) => number(&v).map(|n| BTreeMap::from([(String::new(), n)])).ok_or_else(|| format!("{side} yields {v}, not a number")),
        None => Err(format!("{side} yields nothing")),
    }
}

fn fmt_num(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn check_snapshots(case: &Case, exchanges: &[Exchange], strict: bool, findings: &mut Vec<Finding>) -> Vec<SnapshotResult> {
    let source_system = case.flow.trigger.system;
    let lineage = case.flow.lineage();
    let mut out = Vec::new();
    // Records delivered concurrently arrive in any order: their snapshot lists requests by content.
    let concurrent = matches!(case.flow.kind, FlowKind::Builtin(_)) && case.policy.concurrency > 1;
    for slot in &case.snapshots {
        let mut sent: Vec<&Exchange> = exchanges.iter().filter(|e| e.system == slot.system).collect();
        if concurrent {
            sent.sort_by_cached_key(|e| canonical::entries(&[e], &case.redact).to_string());
        }
        let json = canonical::entries(&sent, &case.redact);
        let system_label = case.systems.get(&slot.system).map_or_else(|| slot.system.to_string(), |s| s.label());
        let description = format!("requests {} sent to {system_label}", case.flow.name);
        let produced = Snapshot::new(&case.scenario.display, &description, slot.system, json);
        let (state, changes) = match &slot.approved {
            None => (SnapshotState::New, Vec::new()),
            Some(approved) if approved.json == produced.json => (SnapshotState::Matches, Vec::new()),
            Some(approved) => (SnapshotState::Changed, snapshot::changes(&approved.json, &produced.json)),
        };
        match state {
            SnapshotState::Matches => {}
            SnapshotState::New => {
                let mut f = Finding::new(CheckKind::Snapshot, format!("new snapshot for {system_label}: {} ({} request(s)); review it and accept", slot.display, sent.len()));
                f.diff = Some(produced.body.clone());
                findings.push(f);
            }
            SnapshotState::Changed => {
                let mut f = Finding::new(CheckKind::Snapshot, format!("what reached {system_label} changed ({} field(s)): {}", changes.len(), slot.display));
                for c in changes.iter().take(40) {
                    f.details.push(c.describe());
                    if let Some(source) = explain(c, slot.system, source_system, &sent, lineage) {
                        f.details.push(format!("    fed by {source}"));
                    }
                }
                if changes.len() > 40 {
                    f.details.push(format!("… and {} more", changes.len() - 40));
                }
                f.diff = slot.approved.as_ref().map(|a| snapshot::line_diff(&a.body, &produced.body, false));
                findings.push(f);
                let emptied: Vec<&Change> = changes.iter().filter(|c| c.emptied()).collect();
                if !emptied.is_empty() {
                    let mut d = Finding::new(
                        CheckKind::Emptied,
                        format!("{} field(s) sent to {system_label} were filled in the approved snapshot and are now empty", emptied.len()),
                    );
                    d.warning = !strict;
                    for c in emptied {
                        d.details.push(c.describe());
                        if let Some(source) = explain(c, slot.system, source_system, &sent, lineage) {
                            d.details.push(format!("    fed by {source}"));
                        }
                    }
                    findings.push(d);
                }
            }
        }
        out.push(SnapshotResult { system: slot.system, state, produced, changes });
    }
    out
}

/// The source paths that feed a changed target field, from the flow's mapping.
fn explain(change: &Change, system: SystemKind, source_system: SystemKind, sent: &[&Exchange], lineage: &[(String, SystemKind, crate::flow::mapping::FieldLineage)]) -> Option<String> {
    let step = sent.get(change.entry).and_then(|e| e.step.clone())?;
    let field = template_field(&change.field);
    let best = lineage
        .iter()
        .filter(|(s, k, l)| *s == step && *k == system && (field == l.target || field.starts_with(&format!("{}.", l.target)) || field.starts_with(&format!("{}[", l.target))))
        .max_by_key(|(_, _, l)| l.target.len())?;
    let reads: Vec<String> = best.2.reads.iter().map(|r| match r.var.as_deref() {
        None | Some("record") => format!("{source_system} `{}`", crate::expr::path_text(&r.segs)),
        Some(var) => format!("`${var}{}` (bound by an earlier step)", if r.segs.is_empty() { String::new() } else { format!(".{}", crate::expr::path_text(&r.segs)) }),
    }).collect();
    if reads.is_empty() {
        return None;
    }
    Some(format!("{} (step {step}, field {})", reads.join(", "), best.2.target))
}
