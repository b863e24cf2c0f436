//! The analysis behind `harness impact`: diff the two versions, replay every scenario that uses
//! the system at the old version at the new one (payloads recorded there, else migrated by the
//! diff), compare what reached each target with the approved snapshots, and trace every changed
//! target field to the changed source field that feeds it — by the flow's mapping where it shows,
//! and by ablation (remove or rename just that field, run again, see what changes), which also works
//! for external programs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::diff::{self, ChangeKind, FieldChange, Source, VersionDiff};
use crate::check;
use crate::error::Error;
use crate::expr::{Seg, path_text};
use crate::flow::mapping::template_field;
use crate::flow::TriggerInput;
use crate::mock::stub::Matcher;
use crate::plan::{self, Case, Replay};
use crate::project::Project;
use crate::run::{self, Evaluated};
use crate::snapshot::{self, Change};
use crate::systems::{Catalog, Migration, SystemKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// A request the target rejected, a schema violated, a request no longer sent, a failed run.
    Breaking,
    /// A target field now empty or different.
    DataLoss,
    /// Differences that carry no business data (the API version in a path, a header).
    Cosmetic,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Breaking => "breaking",
            Severity::DataLoss => "data loss",
            Severity::Cosmetic => "cosmetic",
        }
    }
}

/// One target field of one scenario affected by the upgrade.
#[derive(Debug, Clone, Serialize)]
pub struct FieldImpact {
    pub system: SystemKind,
    /// `POST /services/rest/record/v1/salesOrder`
    pub request: String,
    /// `body.custbody_payment_gateway` (array positions as `[]`).
    pub field: String,
    pub severity: Severity,
    /// `shopify `gateway` removed (webhook orders/create)`, with how it was traced.
    pub causes: Vec<String>,
    /// `"shopify_payments" → null`
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioImpact {
    pub id: String,
    pub file: String,
    pub findings: Vec<FieldImpact>,
    /// Payloads the replay had to migrate because the new version has no recording of them.
    pub migrated: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlowImpact {
    pub flow: String,
    pub scenarios: Vec<ScenarioImpact>,
}

impl FlowImpact {
    pub fn worst(&self) -> Option<Severity> {
        self.scenarios.iter().flat_map(|s| &s.findings).map(|f| f.severity).min()
    }

    /// Affected target fields across the flow's scenarios, with their findings.
    pub fn fields(&self) -> BTreeMap<TargetField, Vec<(&ScenarioImpact, &FieldImpact)>> {
        let mut out: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for s in &self.scenarios {
            for f in &s.findings {
                out.entry((f.system, f.request.clone(), f.field.clone())).or_default().push((s, f));
            }
        }
        out
    }
}

/// A target field: `(system, request, field)`.
pub type TargetField = (SystemKind, String, String);

#[derive(Debug, Clone, Serialize)]
pub struct ImpactReport {
    pub system: SystemKind,
    pub from: String,
    pub to: String,
    pub diff: VersionDiff,
    pub flows: Vec<FlowImpact>,
}

impl ImpactReport {
    pub fn count(&self, severity: Severity) -> usize {
        self.flows.iter().flat_map(|f| &f.scenarios).flat_map(|s| &s.findings).filter(|f| f.severity == severity).count()
    }

    /// Anything breaking or losing data: the upgrade is not clean.
    pub fn blocks_upgrade(&self) -> bool {
        self.count(Severity::Breaking) + self.count(Severity::DataLoss) > 0
    }
}

pub struct ImpactOptions {
    pub system: SystemKind,
    pub from: String,
    pub to: String,
    pub jobs: usize,
}

pub fn analyse(project: &Project, options: &ImpactOptions) -> Result<ImpactReport, Error> {
    let catalog = Arc::new(Catalog::new(project));
    let old = catalog.system(options.system, &options.from)?;
    let new = catalog.system(options.system, &options.to)?;
    let version_diff = Arc::new(diff::diff(&catalog, &old, &new));

    // Baseline: the scenarios as they are, at the old version.
    let baseline_plan = plan::build_with(project, &[], catalog.clone(), None)?;
    let baseline_cases: Vec<Arc<Case>> =
        baseline_plan.cases.iter().filter(|c| c.systems.get(&options.system).is_some_and(|s| s.version == options.from)).cloned().collect();
    if baseline_cases.is_empty() {
        return Err(Error::Usage(format!("no scenario uses {}@{}: nothing to replay", options.system, options.from)));
    }

    // Replay: the same scenarios at the new version, payloads migrated where none is recorded.
    let migration = Migration { kind: options.system, from: old.clone(), to: options.to.clone(), diff: version_diff.clone() };
    let replay_catalog = Arc::new(Catalog::with_migration(project, migration));
    let replay = Replay { system: options.system, from: options.from.clone(), to: options.to.clone() };
    let replay_plan = plan::build_with(project, &[], replay_catalog.clone(), Some(&replay))?;

    let baseline = run::evaluate(project, &baseline_cases, options.jobs, true)?;
    let replayed = run::evaluate(project, &replay_plan.cases, options.jobs, true)?;
    let ablations = ablate(project, options, &version_diff, &baseline)?;

    let schema_changes = SchemaChanges::new(&version_diff);
    let by_id: BTreeMap<&str, &Evaluated> = baseline.iter().map(|e| (e.case.id.as_str(), e)).collect();
    let mut flows: BTreeMap<String, Vec<ScenarioImpact>> = BTreeMap::new();
    for r in &replayed {
        let Some(base) = by_id.get(r.case.id.as_str()) else { continue };
        let traced = ablations.get(&r.case.id);
        let findings = compare(base, r, &version_diff, &schema_changes, traced, options);
        let migrated = migrated_payloads(&replay_catalog, &r.case);
        flows.entry(r.case.flow.name.clone()).or_default().push(ScenarioImpact {
            id: r.case.id.clone(),
            file: r.case.scenario.display.clone(),
            findings,
            migrated,
        });
    }
    let flows = flows.into_iter().map(|(flow, scenarios)| FlowImpact { flow, scenarios }).collect();
    Ok(ImpactReport { system: options.system, from: options.from.clone(), to: options.to.clone(), diff: (*version_diff).clone(), flows })
}

/// Payload files of the case that exist only at the old version.
fn migrated_payloads(catalog: &Catalog, case: &Case) -> Vec<String> {
    let mut files = Vec::new();
    if let Some(file) = &case.scenario.spec.trigger.file
        && let Some(system) = case.systems.get(&case.flow.trigger.system)
        && catalog.is_migrated(system, file)
    {
        files.push(file.clone());
    }
    for (kind, mock) in &case.scenario.spec.mocks {
        let Some(system) = case.systems.get(kind) else { continue };
        for stub in &mock.stubs {
            for answer in stub.respond.iter().chain(stub.sequence.iter().flatten()) {
                if let Some(file) = &answer.file
                    && catalog.is_migrated(system, file)
                {
                    files.push(file.clone());
                }
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

/// For every case whose trigger comes from the upgraded system: which target fields change when
/// one changed source field is taken away (or renamed) at the old version. Keys: case id, then
/// `(system, field)` → the changes that feed it.
type Traced = BTreeMap<(SystemKind, String), Vec<FieldChange>>;

fn ablate(project: &Project, options: &ImpactOptions, version_diff: &VersionDiff, baseline: &[Evaluated]) -> Result<BTreeMap<String, Traced>, Error> {
    let mut variants: Vec<(String, FieldChange, Arc<Case>)> = Vec::new();
    for e in baseline {
        let case = &e.case;
        if case.flow.trigger.system != options.system {
            continue;
        }
        let Some(scope) = &case.trigger_scope else { continue };
        for change in version_diff.losses().filter(|c| &c.scope == scope && c.source == Source::Recorded) {
            let single = VersionDiff { changes: vec![change.clone()], ..VersionDiff::default() };
            if let Some(variant) = with_trigger_payload(case, |payload| single.migrate(scope, payload)) {
                variants.push((case.id.clone(), change.clone(), Arc::new(variant)));
            }
        }
    }
    let cases: Vec<Arc<Case>> = variants.iter().map(|(_, _, c)| c.clone()).collect();
    let results = run::evaluate(project, &cases, options.jobs, true)?;
    let base: BTreeMap<&str, &Evaluated> = baseline.iter().map(|e| (e.case.id.as_str(), e)).collect();
    let mut out: BTreeMap<String, Traced> = BTreeMap::new();
    for ((id, change, _), ablated) in variants.iter().zip(&results) {
        let Some(b) = base.get(id.as_str()) else { continue };
        let traced = out.entry(id.clone()).or_default();
        for (old, new) in b.verdict.snapshots.iter().zip(&ablated.verdict.snapshots) {
            for c in snapshot::changes(&old.produced.json, &new.produced.json) {
                let key = (old.system, field_key(&c));
                traced.entry(key).or_default().push(change.clone());
            }
        }
        if b.execution.run.succeeded() && !ablated.execution.run.succeeded() {
            traced.entry((case_target(&b.case), "(flow outcome)".into())).or_default().push(change.clone());
        }
    }
    Ok(out)
}

fn case_target(case: &Case) -> SystemKind {
    case.snapshots.first().map_or(case.flow.trigger.system, |s| s.system)
}

/// A copy of `case` whose trigger payload went through `edit` (webhook or callback body, or the
/// recorded answer of a polling flow's fetch), with webhook signatures made anew.
pub(super) fn with_trigger_payload(case: &Case, edit: impl Fn(&Value) -> Value) -> Option<Case> {
    let payload = case.trigger.json.as_ref()?;
    let edited = edit(payload);
    let body = bytes::Bytes::from(serde_json::to_vec(&edited).ok()?);
    let mut variant = case.clone();
    match &case.flow.trigger.fetch {
        Some(_) => {
            let system = case.flow.trigger.system;
            let mut stubs: Vec<crate::mock::Stub> = case.stubs.get(&system)?.to_vec();
            let stub = stubs.iter_mut().find(|s| s.name == "trigger")?;
            for r in &mut stub.responses {
                r.body = body.clone();
            }
            variant.stubs.insert(system, stubs.into());
            variant.trigger = Arc::new(TriggerInput { json: Some(edited), ..(*case.trigger).clone() });
        }
        None => {
            let mut trigger = (*case.trigger).clone();
            if case.flow.trigger.system == SystemKind::Shopify {
                let system = case.systems.get(&SystemKind::Shopify)?;
                let topic = case.flow.trigger.event.as_deref().unwrap_or("orders/create");
                trigger.headers = crate::systems::webhook_headers(system, topic, &body);
            }
            trigger.body = body;
            trigger.json = Some(edited);
            variant.trigger = Arc::new(trigger);
        }
    }
    Some(variant)
}

/// `body.item.items[].item` for a change inside a request; the request line for a whole request.
fn field_key(c: &Change) -> String {
    if c.field.is_empty() { "(request)".to_string() } else { template_field(&c.field) }
}

fn compare(base: &Evaluated, replay: &Evaluated, version_diff: &VersionDiff, schema_changes: &SchemaChanges, traced: Option<&Traced>, options: &ImpactOptions) -> Vec<FieldImpact> {
    let mut found: BTreeMap<(SystemKind, String, String), FieldImpact> = BTreeMap::new();
    let mut add = |f: FieldImpact| {
        let key = (f.system, f.request.clone(), f.field.clone());
        match found.get_mut(&key) {
            Some(existing) => {
                existing.severity = existing.severity.min(f.severity);
                existing.causes.extend(f.causes);
                existing.causes = merge_causes(std::mem::take(&mut existing.causes));
            }
            None => {
                found.insert(key, f);
            }
        }
    };
    let case = &replay.case;
    let lineage = case.flow.lineage();
    let records_base = records_base(case);

    for (slot, produced) in case.snapshots.iter().zip(&replay.verdict.snapshots) {
        let approved = match &slot.approved {
            Some(a) => a.json.clone(),
            None => base.verdict.snapshots.iter().find(|s| s.system == slot.system).map(|s| s.produced.json.clone()).unwrap_or(Value::Null),
        };
        // The version in a request path changes by design; compare what the requests carry.
        let approved = with_version(approved, &format!("/{}/", options.from), &format!("/{}/", options.to));
        let sent: Vec<&crate::mock::Exchange> = replay.execution.exchanges.iter().filter(|e| e.system == slot.system).collect();
        for c in snapshot::changes(&approved, &produced.produced.json) {
            let field = field_key(&c);
            let severity = classify(&c, options);
            let mut causes = Vec::new();
            // Traced by the mapping: the field's source paths that the diff changed.
            if let Some(step) = sent.get(c.entry).and_then(|e| e.step.clone()) {
                for (s, k, l) in lineage {
                    if *s == step && *k == slot.system && (field == l.target || field.starts_with(&format!("{}.", l.target)) || field.starts_with(&format!("{}[", l.target))) {
                        for read in l.reads.iter().filter(|r| matches!(r.var.as_deref(), None | Some("record"))) {
                            let segs: Vec<Seg> = records_base
                                .iter()
                                .chain(&read.segs)
                                .map(|s| if matches!(s, Seg::Index(_)) { Seg::Each } else { s.clone() })
                                .collect();
                            let path = path_text(&segs);
                            if let Some(scope) = &case.trigger_scope
                                && let Some(change) = version_diff.affecting(scope, &path)
                            {
                                causes.push(describe_cause(options, change, "traced by the mapping"));
                            }
                        }
                    }
                }
            }
            // Traced by ablation: the field changed when the source field alone was taken away.
            if let Some(t) = traced {
                for change in t.get(&(slot.system, field.clone())).into_iter().flatten() {
                    causes.push(describe_cause(options, change, "traced by ablation"));
                }
            }
            if severity == Severity::Breaking && slot.system == options.system {
                causes.extend(schema_changes.causes(options, &c.request));
            }
            let causes = merge_causes(causes);
            let evidence = match (&c.old, &c.new, c.field.is_empty()) {
                (_, None, true) => "request no longer sent".to_string(),
                (None, _, true) => "new request".to_string(),
                _ => format!("{} → {}", show(&c.old), show(&c.new)),
            };
            add(FieldImpact { system: slot.system, request: c.request.clone(), field, severity, causes, evidence });
        }
    }

    // Schema violations and runs that now fail are breaking whatever the snapshot shows.
    let before: BTreeSet<(String, String)> = check::schema_breaches(&base.case, &base.execution.exchanges)
        .iter()
        .flat_map(|b| b.violations.iter().map(|v| (b.exchange.request.line(), v.message.clone())))
        .collect();
    for b in check::schema_breaches(case, &replay.execution.exchanges) {
        let request = b.exchange.request.line();
        for v in b.violations.iter().filter(|v| !before.contains(&(request.clone(), v.message.clone()))) {
            add(FieldImpact {
                system: b.exchange.system,
                request: format!("{} {}", b.exchange.request.method, b.exchange.request.path),
                field: body_field(&v.instance_path),
                severity: Severity::Breaking,
                causes: schema_changes.causes(options, &request),
                evidence: format!("{}: {}", b.schema.file, v.message),
            });
        }
    }
    if base.execution.run.succeeded() && !replay.execution.run.succeeded() {
        let target = case_target(case);
        let mut causes: Vec<String> = traced.and_then(|t| t.get(&(target, "(flow outcome)".to_string()))).into_iter().flatten().map(|c| describe_cause(options, c, "traced by ablation")).collect();
        for e in replay.execution.exchanges.iter().filter(|e| e.system == options.system && e.response.status >= 400) {
            causes.extend(schema_changes.causes(options, &format!("{} {}", e.request.method, e.request.path)));
        }
        let causes = merge_causes(causes);
        add(FieldImpact {
            system: target,
            request: String::new(),
            field: "(flow outcome)".into(),
            severity: Severity::Breaking,
            causes,
            evidence: replay.execution.run.failure_messages().join("; "),
        });
    }
    found.into_values().collect()
}

fn with_version(mut entries: Value, from: &str, to: &str) -> Value {
    for e in entries.as_array_mut().into_iter().flatten() {
        if let Some(Value::String(line)) = e.get_mut("request") {
            *line = line.replace(from, to);
        }
    }
    entries
}

/// `/item/items/0/item` → `body.item.items[].item`.
fn body_field(instance: &str) -> String {
    let mut out = "body".to_string();
    for seg in instance.split('/').filter(|s| !s.is_empty()) {
        if seg.chars().all(|c| c.is_ascii_digit()) {
            out.push_str("[]");
        } else {
            out.push('.');
            out.push_str(seg);
        }
    }
    out
}

/// The upgraded system's request-schema changes, each with its route (`request POST /path/{key}`)
/// compiled once.
struct SchemaChanges<'a> {
    routes: Vec<(Matcher, &'a FieldChange)>,
}

impl<'a> SchemaChanges<'a> {
    fn new(version_diff: &'a VersionDiff) -> Self {
        let routes = version_diff
            .changes
            .iter()
            .filter(|c| c.source == Source::Schema)
            .filter_map(|c| {
                let (method, path) = c.scope.trim_start_matches("request ").split_once(' ')?;
                Some((Matcher::route(method, path).ok()?, c))
            })
            .collect();
        SchemaChanges { routes }
    }

    /// The changes to the schema of `request` (`POST /path`), as causes.
    fn causes(&self, options: &ImpactOptions, request: &str) -> Vec<String> {
        let request = request.replace(&options.from, "{version}").replace(&options.to, "{version}");
        let Some((method, path)) = request.split_once(' ') else { return Vec::new() };
        self.routes
            .iter()
            .filter(|(route, _)| route.matches_route(method, path))
            .map(|(_, c)| format!("{} {}: `{}` {} in {}", options.system, c.scope, c.path, c.kind.as_str(), options.to))
            .collect()
    }
}

/// Where the flow's records sit in the trigger payload (`orders[]` for a page of orders).
fn records_base(case: &Case) -> Vec<Seg> {
    case.flow.trigger.split.base_path().unwrap_or_default()
}

fn classify(c: &Change, options: &ImpactOptions) -> Severity {
    let top = c.field.split(['.', '[']).next().unwrap_or("");
    match (c.field.is_empty(), top) {
        (true, _) if c.new.is_none() => Severity::Breaking,
        (true, _) => Severity::Cosmetic,
        (false, "response") => {
            let status = |v: &Option<Value>| v.as_ref().and_then(|v| v.as_u64().or_else(|| v.as_str()?.split(',').next()?.parse().ok())).unwrap_or(0);
            let rejected = |v: &Option<Value>| status(v) >= 400 || v.as_ref().and_then(Value::as_str).is_some_and(|s| s.contains("ResponseId -1") || s.contains("rejected"));
            if rejected(&c.new) && !rejected(&c.old) { Severity::Breaking } else { Severity::Cosmetic }
        }
        (false, "request") => {
            let same = c.old.as_ref().and_then(Value::as_str).map(|o| o.replace(&options.from, &options.to)) == c.new.as_ref().and_then(Value::as_str).map(str::to_string);
            if same { Severity::Cosmetic } else { Severity::Breaking }
        }
        (false, "headers") => Severity::Cosmetic,
        _ => Severity::DataLoss,
    }
}

/// Causes traced both ways are one cause: `… (webhook orders/create; traced by the mapping and by ablation)`.
fn merge_causes(causes: Vec<String>) -> Vec<String> {
    let mut merged: Vec<(String, Vec<String>)> = Vec::new();
    for c in causes {
        let (what, how) = match c.rsplit_once("; traced by ") {
            Some((w, h)) => (w.to_string(), h.trim_end_matches(')').to_string()),
            None => (c.clone(), String::new()),
        };
        match merged.iter_mut().find(|(w, _)| *w == what) {
            Some((_, hows)) if !hows.contains(&how) => hows.push(how),
            Some(_) => {}
            None => merged.push((what, vec![how])),
        }
    }
    merged
        .into_iter()
        .map(|(what, mut hows)| {
            hows.sort();
            if hows.iter().all(String::is_empty) { what } else { format!("{what}; traced by {})", hows.join(" and by ")) }
        })
        .collect()
}

fn describe_cause(options: &ImpactOptions, change: &FieldChange, how: &str) -> String {
    let what = match (&change.kind, &change.detail) {
        (ChangeKind::Renamed, Some(new)) => format!("renamed to `{new}`"),
        (ChangeKind::TypeChanged, Some(d)) => format!("type changed ({d})"),
        (kind, _) => kind.as_str().to_string(),
    };
    format!("{} `{}` {what} in {} ({}; {how})", options.system, change.path, options.to, change.scope)
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 60 { format!("{}…", s.chars().take(59).collect::<String>()) } else { s }
        }
    }
}
