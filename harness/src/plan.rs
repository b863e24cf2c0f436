//! Plan: from parsed scenario files to runnable cases. Resolves each scenario's flow, system
//! versions (expanding version lists into one case per combination), stubs, trigger payload and
//! expectations, reading every file once. All problems of all files are reported together.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::error::Error;
use crate::snapshot::{self, Snapshot};
use crate::flow::{self, DeliveryPolicy, Flow, FlowKind, TriggerInput};
use crate::mock::stub::{MatchSpec, Matcher};
use crate::mock::{MockResponse, Stub};
use crate::project::Project;
use crate::scenario::{self, ExpectSpec, Reconcile, ScenarioFile};
use crate::systems::{self, Catalog, Schema, SystemKind, SystemVersion};

/// One runnable case: a scenario at one combination of API versions.
#[derive(Debug, Clone)]
pub struct Case {
    /// `shopify-order-to-netsuite/simple-order`, with `@shopify-2024-01` when the scenario runs at
    /// several versions.
    pub id: String,
    pub scenario: Arc<ScenarioFile>,
    pub flow: Arc<Flow>,
    pub systems: BTreeMap<SystemKind, Arc<SystemVersion>>,
    pub stubs: BTreeMap<SystemKind, Arc<[Stub]>>,
    pub trigger: Arc<TriggerInput>,
    /// The recorded endpoint of the trigger payload (`webhook orders/create`), version-free.
    pub trigger_scope: Option<String>,
    pub expect: Expectations,
    /// One per snapshotted system, with the approved snapshot when there is one.
    pub snapshots: Vec<SnapshotSlot>,
    pub redact: Vec<String>,
    pub timeout: Duration,
    pub policy: DeliveryPolicy,
}

#[derive(Debug, Clone)]
pub struct SnapshotSlot {
    pub system: SystemKind,
    pub path: PathBuf,
    /// Project-relative.
    pub display: String,
    pub approved: Option<Snapshot>,
}

impl Case {
    /// `shopify@2025-01, netsuite@2025.1`
    pub fn versions_label(&self) -> String {
        self.systems.values().map(|s| s.label()).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Debug, Default, Clone)]
pub struct Expectations {
    pub spec: ExpectSpec,
    pub requests: Vec<(Matcher, String)>,
    pub schemas: Vec<(SystemKind, Matcher, String, Arc<Schema>)>,
    pub reconcile: Vec<Reconcile>,
}

/// Everything to run, in a stable order.
pub struct Plan {
    pub cases: Vec<Arc<Case>>,
    pub catalog: Arc<Catalog>,
}

/// Run scenarios that use `system` at `from` at `to` instead (impact analysis): they keep their
/// ids, so their approved snapshots are the baseline.
#[derive(Debug, Clone)]
pub struct Replay {
    pub system: SystemKind,
    pub from: String,
    pub to: String,
}

/// Load and resolve the scenarios at `paths` (all when empty).
pub fn build(project: &Project, paths: &[PathBuf]) -> Result<Plan, Error> {
    build_with(project, paths, Arc::new(Catalog::new(project)), None)
}

/// [`build`] with a given catalog (which may migrate payloads) and an optional replay.
/// A default version in harness.yaml that has no recording, reported there rather than at the
/// `system.yaml` it would need.
fn unrecorded_default_versions(project: &Project, catalog: &Catalog) -> Vec<Diagnostic> {
    let config = project.root.join(crate::project::CONFIG_FILE);
    let text = std::fs::read_to_string(&config).unwrap_or_default();
    let mut out = Vec::new();
    for (kind, version) in &project.settings.systems {
        let recorded = catalog.versions(*kind);
        if recorded.contains(version) {
            continue;
        }
        let help = match did_you_mean(version, recorded.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("recorded {kind} versions: {}", if recorded.is_empty() { "none".to_string() } else { recorded.join(", ") }),
        };
        let at = text.find(&format!("{kind}:")).and_then(|k| text[k..].find(version.as_str()).map(|v| k + v)).unwrap_or(0);
        out.push(
            Diagnostic::new(&config, format!("default {kind} version `{version}` is not recorded (no mocks/{kind}/{version}/system.yaml)"))
                .at_offset(&text, at, version.len())
                .help(help)
                .relative_to(&project.root),
        );
    }
    out
}

pub fn build_with(project: &Project, paths: &[PathBuf], catalog: Arc<Catalog>, replay: Option<&Replay>) -> Result<Plan, Error> {
    let files = scenario::discover(project, paths)?;
    let mut errors = Diagnostics::default();
    for d in unrecorded_default_versions(project, &catalog) {
        errors.push(d);
    }
    let mut parsed = Vec::new();
    for file in &files {
        match scenario::load(project, file) {
            Ok(s) => parsed.push(Arc::new(s)),
            Err(d) => errors.push(d),
        }
    }
    let mut wanted: Vec<String> = parsed.iter().map(|s| s.spec.flow.clone()).collect();
    wanted.sort();
    wanted.dedup();
    let flow::LoadedFlows { flows, errors: flow_errors, mut broken } = flow::load_flows(project, Some(&wanted));
    for d in flow_errors {
        errors.push(d);
    }
    for f in flows.values() {
        if let FlowKind::Command(c) = &f.kind
            && let Err(m) = c.check_program(&project.root)
        {
            let text = std::fs::read_to_string(&f.file).unwrap_or_default();
            let at = text.find(&c.argv[0]).unwrap_or(0);
            errors.push(Diagnostic::new(&f.file, m).at_offset(&text, at, c.argv[0].len()).relative_to(&project.root));
            broken.push(f.name.clone());
        }
    }
    let known_flows = flow::flow_names(project);

    let mut cases = Vec::new();
    for s in &parsed {
        let Some(flow) = flows.get(&s.spec.flow) else {
            if !broken.contains(&s.spec.flow) {
                let mut d = s.error_at(&project.root, &s.spec.flow, Some("flow:"), format!("unknown flow `{}`", s.spec.flow));
                d = match did_you_mean(&s.spec.flow, known_flows.iter().map(String::as_str)) {
                    Some(near) => d.label(format!("did you mean `{near}`?")),
                    None => d.help(format!("flows are the files in flows/: {}", known_flows.join(", "))),
                };
                errors.push(d);
            }
            continue;
        };
        match resolve(project, &catalog, s, flow, replay) {
            Ok(mut c) => cases.append(&mut c),
            Err(mut e) => errors.0.append(&mut e),
        }
    }
    cases.sort_by(|a: &Arc<Case>, b| a.id.cmp(&b.id));
    for pair in cases.windows(2) {
        if pair[0].id == pair[1].id {
            errors.push(Diagnostic::new(&pair[1].scenario.path, format!("two scenario files have the id `{}` (and would share snapshots): {} and {}", pair[1].id, pair[0].scenario.display, pair[1].scenario.display)).relative_to(&project.root));
        }
    }
    if !errors.is_empty() {
        return Err(Error::from(errors));
    }
    Ok(Plan { cases, catalog })
}

fn resolve(project: &Project, catalog: &Catalog, s: &Arc<ScenarioFile>, flow: &Arc<Flow>, replay: Option<&Replay>) -> Result<Vec<Arc<Case>>, Vec<Diagnostic>> {
    let root = &project.root;
    let spec = &s.spec;
    let mut errors = Vec::new();

    // Which systems the case needs, and at which versions.
    let mut needed: Vec<SystemKind> = flow.systems();
    needed.extend(spec.mocks.keys());
    needed.extend(spec.expect.requests.iter().map(|r| r.system));
    needed.extend(spec.expect.snapshots.iter().flatten());
    needed.sort();
    needed.dedup();
    let mut choices: Vec<(SystemKind, Vec<String>)> = Vec::new();
    for kind in &needed {
        let versions = match spec.systems.get(kind) {
            Some(v) => v.list(),
            None => match project.settings.systems.get(kind) {
                Some(v) => vec![v.clone()],
                None => {
                    let recorded = catalog.versions(*kind);
                    if recorded.len() == 1 {
                        recorded
                    } else {
                        let at = s.text.find("systems:").map(|_| "systems:").unwrap_or("flow:");
                        errors.push(s.error_at(root, at, None, format!("which {kind} API version? add `{kind}: <version>` under `systems:` (recorded: {})", recorded.join(", "))));
                        continue;
                    }
                }
            },
        };
        if versions.is_empty() {
            errors.push(s.error_at(root, kind.name(), Some("systems:"), format!("`{kind}` lists no version")));
            continue;
        }
        choices.push((*kind, versions));
    }
    for kind in spec.systems.keys() {
        if !needed.contains(kind) {
            errors.push(s.error_at(root, kind.name(), Some("systems:"), format!("flow `{}` does not use {kind}", flow.name)));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let combos = combinations(&choices);
    let multi: Vec<SystemKind> = choices.iter().filter(|(_, v)| v.len() > 1).map(|(k, _)| *k).collect();
    let mut cases = Vec::new();
    for combo in combos {
        if let Some(r) = replay
            && !combo.iter().any(|(k, v)| *k == r.system && *v == r.from)
        {
            continue;
        }
        let mut systems = BTreeMap::new();
        for (kind, version) in &combo {
            match catalog.system(*kind, version) {
                Ok(sys) => {
                    systems.insert(*kind, sys);
                }
                // A problem inside the version's files is reported there; a missing version where
                // the scenario names it.
                Err(d) if d.span.is_some() || !s.spec.systems.contains_key(kind) => errors.push(d),
                Err(d) => {
                    let mut local = s.error_at(root, version, Some("systems:"), d.message.clone());
                    local.help = d.help.clone();
                    errors.push(local);
                }
            }
        }
        if systems.len() != combo.len() {
            continue;
        }
        let suffix: Vec<String> = multi.iter().map(|k| format!("{k}-{}", systems[k].version)).collect();
        let id = if suffix.is_empty() { s.id.clone() } else { format!("{}@{}", s.id, suffix.join("+")) };
        if let Some(r) = replay {
            match catalog.system(r.system, &r.to) {
                Ok(to) => {
                    systems.insert(r.system, to);
                }
                Err(d) => {
                    errors.push(d);
                    continue;
                }
            }
        }
        match resolve_case(project, catalog, s, flow, systems, id) {
            Ok(c) => cases.push(Arc::new(c)),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() { Ok(cases) } else { Err(errors) }
}

fn combinations(choices: &[(SystemKind, Vec<String>)]) -> Vec<Vec<(SystemKind, String)>> {
    let mut out: Vec<Vec<(SystemKind, String)>> = vec![Vec::new()];
    for (kind, versions) in choices {
        out = out.into_iter().flat_map(|prefix| versions.iter().map(move |v| {
            let mut next = prefix.clone();
            next.push((*kind, v.clone()));
            next
        })).collect();
    }
    out
}

fn resolve_case(
    project: &Project,
    catalog: &Catalog,
    s: &Arc<ScenarioFile>,
    flow: &Arc<Flow>,
    systems: BTreeMap<SystemKind, Arc<SystemVersion>>,
    id: String,
) -> Result<Case, Vec<Diagnostic>> {
    let root = &project.root;
    let spec = &s.spec;
    let mut errors = Vec::new();
    let trigger_system = systems[&flow.trigger.system].clone();

    // Stubs: the scenario's own first (they may script the poll too), then the recorded answer to
    // the trigger's poll, then shared sets.
    let mut stubs: BTreeMap<SystemKind, Vec<Stub>> = BTreeMap::new();
    let mut trigger_stub: Option<Stub> = None;
    let mut trigger = TriggerInput { body: Bytes::new(), json: None, headers: Vec::new(), params: spec.trigger.params.clone() };
    let mut trigger_scope = None;
    let payload = match (&spec.trigger.file, &spec.trigger.body) {
        (Some(_), Some(_)) => {
            errors.push(s.error_at(root, "body:", Some("trigger:"), "a trigger has `file` or `body`, not both"));
            None
        }
        (Some(file), None) => match catalog.recording(&trigger_system, file) {
            Ok(r) => {
                trigger_scope = Some(crate::impact::endpoint_scope(&r.meta.endpoint, &trigger_system.version));
                Some((r.body.clone(), r.json.clone(), r.headers.clone()))
            }
            Err(d) => {
                let mut local = s.error_at(root, file, Some("trigger:"), d.message.clone());
                if d.span.is_some() {
                    errors.push(d);
                } else {
                    local.help = Some(format!("trigger files are relative to {}", catalog.show(&trigger_system.dir)));
                    errors.push(local);
                }
                None
            }
        },
        (None, Some(body)) => Some((Bytes::from(serde_json::to_vec(body).expect("JSON")), Some(body.clone()), BTreeMap::new())),
        (None, None) if !spec.trigger.params.is_empty() => None,
        (None, None) => {
            errors.push(s.error_at(root, "trigger:", None, "the trigger needs a `file`, a `body` or callback `params`"));
            None
        }
    };
    if let Some((body, json, recorded_headers)) = payload {
        match &flow.trigger.fetch {
            Some(fetch) => {
                let mut response = MockResponse::new(200).header("Content-Type", "application/json; charset=utf-8");
                for (k, v) in &recorded_headers {
                    response.set_header(k, v.clone());
                }
                response.body = body;
                let spec = MatchSpec { method: Some(fetch.method.clone()), path: fetch.path_for(&trigger_system.version), ..MatchSpec::default() };
                match Matcher::compile(&spec) {
                    Ok(matcher) => trigger_stub = Some(Stub { name: "trigger".into(), matcher, responses: vec![response], times: None }),
                    Err(m) => errors.push(Diagnostic::new(&flow.file, m).relative_to(root)),
                }
                // The flow fetches it itself; the checks still see it as the source payload.
                trigger.json = json;
            }
            None => {
                if flow.trigger.system == SystemKind::Shopify {
                    let topic = flow.trigger.event.as_deref().unwrap_or("orders/create");
                    trigger.headers = systems::webhook_headers(&trigger_system, topic, &body);
                }
                for (k, v) in recorded_headers.iter().chain(&spec.trigger.headers) {
                    match trigger.headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(k)) {
                        Some(h) => h.1 = v.clone(),
                        None => trigger.headers.push((k.clone(), v.clone())),
                    }
                }
                trigger.body = body;
                trigger.json = json;
            }
        }
    } else if !spec.trigger.params.is_empty() {
        trigger.json = Some(serde_json::to_value(&spec.trigger.params).unwrap_or_default());
        trigger.body = Bytes::from(serde_json::to_vec(&spec.trigger.params).expect("JSON"));
    }

    let no_mocks = scenario::MockSpec::default();
    let mut kinds: Vec<SystemKind> = spec.mocks.keys().copied().collect();
    if trigger_stub.is_some() && !kinds.contains(&flow.trigger.system) {
        kinds.push(flow.trigger.system);
    }
    for kind in &kinds {
        let mock = spec.mocks.get(kind).unwrap_or(&no_mocks);
        let system = &systems[kind];
        let presets = |name: &str| systems::mock_for(system).preset(name);
        match catalog.resolve_stubs(system, &mock.stubs, &s.path, &s.text, &presets) {
            Ok(mut own) => stubs.entry(*kind).or_default().append(&mut own),
            Err(mut e) => errors.append(&mut e),
        }
        if *kind == flow.trigger.system
            && let Some(t) = trigger_stub.take()
        {
            stubs.entry(*kind).or_default().push(t);
        }
        for set in &mock.use_sets {
            match catalog.stub_set(system, set) {
                Ok((path, set)) => {
                    let (text, specs) = &*set;
                    match catalog.resolve_stubs(system, specs, &path, text, &presets) {
                        Ok(mut shared) => stubs.entry(*kind).or_default().append(&mut shared),
                        Err(mut e) => errors.append(&mut e),
                    }
                }
                Err(d) if d.span.is_some() => errors.push(d),
                Err(d) => {
                    let available = stub_set_names(system);
                    let mut local = s.error_at(root, set, Some("use:"), format!("no stub set `{set}` for {}", system.label()));
                    local = match did_you_mean(set, available.iter().map(String::as_str)) {
                        Some(near) => local.label(format!("did you mean `{near}`?")),
                        None => local.help(format!("{} (sets: {})", d.message, if available.is_empty() { "none".into() } else { available.join(", ") })),
                    };
                    errors.push(local);
                }
            }
        }
    }

    let mut expect = resolve_expectations(root, catalog, s, &systems, &mut errors);
    // The flow's own invariants hold for every scenario that expects it to succeed.
    if spec.expect.outcome != Some(scenario::ExpectedOutcome::Failed) {
        expect.reconcile.splice(0..0, flow.reconcile.iter().filter(|r| systems.contains_key(&r.system)).cloned());
    }
    let snapshot_systems = spec.expect.snapshots.clone().unwrap_or_else(|| flow.targets.clone());
    let mut snapshots = Vec::new();
    for system in snapshot_systems {
        let path = snapshot::path_for(&project.snapshots_dir(), &id, system);
        match snapshot::load(root, &path) {
            Ok(approved) => snapshots.push(SnapshotSlot { system, display: project.display_path(&path), path, approved }),
            Err(d) => errors.push(d),
        }
    }
    let redact = flow.redact.iter().chain(&spec.redact).cloned().collect();
    let timeout = spec.timeout.unwrap_or(project.timeout());
    let flow_policy = match &flow.kind {
        FlowKind::Builtin(b) => b.policy.clone(),
        FlowKind::Command(_) => DeliveryPolicy::default(),
    };
    let policy = scenario::policy(&flow_policy, spec);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Case {
        id,
        scenario: s.clone(),
        flow: flow.clone(),
        systems,
        stubs: stubs.into_iter().map(|(k, v)| (k, Arc::from(v))).collect(),
        trigger: Arc::new(trigger),
        trigger_scope,
        expect,
        snapshots,
        redact,
        timeout,
        policy,
    })
}

fn resolve_expectations(
    root: &std::path::Path,
    catalog: &Catalog,
    s: &ScenarioFile,
    systems: &BTreeMap<SystemKind, Arc<SystemVersion>>,
    errors: &mut Vec<Diagnostic>,
) -> Expectations {
    let spec = &s.spec.expect;
    let mut out = Expectations { spec: spec.clone(), ..Expectations::default() };
    if spec.error.is_some() && spec.outcome != Some(scenario::ExpectedOutcome::Failed) {
        errors.push(s.error_at(root, "error:", Some("expect:"), "`error` describes a failure: add `outcome: failed`"));
    }
    for r in &spec.requests {
        if r.count.is_none() && r.min.is_none() && r.max.is_none() {
            errors.push(s.error_at(root, &r.path, Some("requests:"), "say how many: `count`, `min` or `max`"));
        }
        let route = MatchSpec {
            method: r.method.clone(),
            path: r.path.clone(),
            graphql_operation: r.graphql_operation.clone(),
            soap_action: r.soap_action.clone(),
            ..MatchSpec::default()
        };
        let operation = r.graphql_operation.as_ref().or(r.soap_action.as_ref()).map_or(String::new(), |o| format!(" ({o})"));
        match Matcher::compile(&route) {
            Ok(m) => out.requests.push((m, format!("{} {}{operation}", r.method.as_deref().unwrap_or("*"), r.path))),
            Err(e) => errors.push(s.error_at(root, &r.path, Some("requests:"), e)),
        }
    }
    for r in &spec.reconcile {
        match r.compile() {
            Ok(c) => out.reconcile.push(c),
            Err((text, message)) => errors.push(s.error_at(root, &text, Some("reconcile:"), message)),
        }
    }
    for sc in &spec.schemas {
        let Some(system) = systems.get(&sc.system) else {
            errors.push(s.error_at(root, &sc.path, Some("schemas:"), format!("this scenario does not use {}", sc.system)));
            continue;
        };
        let route = MatchSpec { method: sc.method.clone(), path: sc.path.clone(), ..MatchSpec::default() };
        let matcher = match Matcher::compile(&route) {
            Ok(m) => m,
            Err(e) => {
                errors.push(s.error_at(root, &sc.path, Some("schemas:"), e));
                continue;
            }
        };
        match catalog.schema(&system.dir.join(&sc.schema)) {
            Ok(schema) => out.schemas.push((sc.system, matcher, sc.path.clone(), schema)),
            Err(d) if d.span.is_some() => errors.push(d),
            Err(d) => errors.push(s.error_at(root, &sc.schema, Some("schemas:"), d.message)),
        }
    }
    out
}

fn stub_set_names(system: &SystemVersion) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(system.dir.join("stubs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}
