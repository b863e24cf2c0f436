//! Plan: from parsed scenario files to runnable cases. Resolves each scenario's flow, system
//! versions (expanding version lists into one case per combination), stubs, trigger payload and
//! expectations, reading every file once. All problems of all files are reported together.

mod case;
mod changed;
mod events;
mod expectations;
mod freshness;
mod partition;
mod versions;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use harness_core::{Diagnostic, Diagnostics, Error, SystemId, did_you_mean};
use harness_flows::{DeliveryPolicy, Flow, Reconcile, TriggerInput};
use harness_mock::{Matcher, Stub};
use harness_syntax::Project;
use harness_syntax::scenario::{self, ExpectSpec, ScenarioFile};
use harness_systems::{Catalog, MockSetup, Registry, Schema, SystemVersion};

use crate::snapshot::Snapshot;

pub use changed::ChangedSelection;
pub use freshness::{Stale, age_days, off_version_recordings, render_off_version};
pub use partition::{Selection, ShareError, ShareSpec, Sharing, Timings, parse_share, read_timings};

/// One runnable case: a scenario at one combination of API versions.
#[derive(Debug, Clone)]
pub struct Case {
    /// `shopify-order-to-netsuite/simple-order`, with `@shopify-2024-01` when the scenario runs at
    /// several versions.
    pub id: String,
    pub scenario: Arc<ScenarioFile>,
    pub flow: Arc<Flow>,
    pub systems: BTreeMap<SystemId, Arc<SystemVersion>>,
    pub stubs: BTreeMap<SystemId, Arc<[Stub]>>,
    /// What each system's mock starts from besides its version: the state the scenario seeds, the
    /// version that answers when the one asked for is no longer served.
    pub setups: BTreeMap<SystemId, MockSetup>,
    pub trigger: Arc<TriggerInput>,
    /// The recorded endpoint of the trigger payload (`webhook orders/create`), version-free.
    pub trigger_scope: Option<String>,
    /// Every recording the case reads, with the endpoint it stands for.
    pub recordings: Vec<UsedRecording>,
    /// Recordings past `max_recording_age` and versions past their end of support.
    pub stale: Vec<Stale>,
    pub expect: Expectations,
    /// One per snapshotted system, with the approved snapshot when there is one.
    pub snapshots: Vec<SnapshotSlot>,
    pub redact: Vec<String>,
    pub timeout: Duration,
    /// The scenario's settle window (service flows).
    pub settle: Option<Duration>,
    pub policy: DeliveryPolicy,
    /// An answer a mock guessed fails the case rather than warning.
    pub strict_stubs: bool,
}

impl Case {
    /// `shopify@2025-01, netsuite@2025.1`
    pub fn versions_label(&self) -> String {
        self.systems.values().map(|s| s.label()).collect::<Vec<_>>().join(", ")
    }
}

/// A recording a case reads and what it stands for there: the recording's own `endpoint`, else
/// the webhook or fetch of the trigger, else the stub's method and path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsedRecording {
    pub system: SystemId,
    pub version: String,
    /// Relative to the version folder, as the scenario names it.
    pub file: String,
    pub scope: String,
}

#[derive(Debug, Clone)]
pub struct SnapshotSlot {
    pub system: SystemId,
    pub path: PathBuf,
    /// Project-relative.
    pub display: String,
    pub approved: Option<Snapshot>,
}

#[derive(Debug, Default, Clone)]
pub struct Expectations {
    pub spec: ExpectSpec,
    /// Request counts: the route and how it reads in messages.
    pub requests: Vec<(Matcher, String)>,
    pub schemas: Vec<(SystemId, Matcher, String, Arc<Schema>)>,
    pub reconcile: Vec<Reconcile>,
}

/// Everything to run, in a stable order.
pub struct Plan {
    pub cases: Vec<Arc<Case>>,
    pub catalog: Arc<Catalog>,
    pub registry: Registry,
    /// How the cases were chosen from the whole plan (all of it, until [`Plan::select`]).
    pub sharing: Sharing,
}

impl Plan {
    /// Keep the cases `selection` asks for: those with its tags, whose inputs changed (with what
    /// changed and why each was chosen), then this machine's share. `var` reads the environment
    /// (`--partition auto`).
    pub fn select(
        &mut self,
        project: &Project,
        selection: &Selection,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<ChangedSelection>, Error> {
        if !selection.tags.is_empty() {
            self.cases = keep_tagged(std::mem::take(&mut self.cases), &selection.tags)?;
        }
        let mut changed = None;
        if let Some(since) = &selection.changed_since {
            let (kept, why) = changed::keep_changed(project, std::mem::take(&mut self.cases), since)?;
            self.cases = kept;
            changed = Some(why);
        }
        self.sharing = Sharing::whole(&self.cases);
        if let Some(spec) = selection.share {
            let (index, total) = spec.resolve(var)?;
            let timings = selection.timings.as_deref().map(read_timings).transpose()?;
            let (kept, sharing) = partition::split(std::mem::take(&mut self.cases), index, total, timings.as_ref());
            self.cases = kept;
            self.sharing = sharing;
        }
        Ok(changed)
    }

    /// `case` delivering another trigger payload (the webhook or callback body, or the recorded
    /// answer to a polling flow's fetch): a variant an analysis runs (a field taken away, values
    /// made unique), built by the code that builds every case, so it is signed by the version
    /// that answers and keeps the scenario's stubs and header overrides. `None` when the case has
    /// no trigger payload.
    pub fn vary(
        &self,
        project: &Project,
        case: &Case,
        payload: &serde_json::Value,
    ) -> Result<Option<Arc<Case>>, Error> {
        if case.trigger.json.is_none() {
            return Ok(None);
        }
        let resolver = case::Resolver { project, catalog: &self.catalog, registry: &self.registry };
        let varied = resolver
            .case(&case.scenario, &case.flow, case.systems.clone(), case.id.clone(), Some(payload))
            .map_err(Error::from)?;
        Ok(Some(Arc::new(varied)))
    }

    /// The endpoint each recording of `system` at `version` stands for, by file, as the cases use
    /// them (the first use wins when two disagree).
    pub fn recording_scopes(&self, system: &SystemId, version: &str) -> BTreeMap<String, String> {
        let mut scopes = BTreeMap::new();
        for r in self.cases.iter().flat_map(|c| &c.recordings).filter(|r| &r.system == system && r.version == version) {
            scopes.entry(r.file.clone()).or_insert_with(|| r.scope.clone());
        }
        scopes
    }
}

/// Run scenarios that use `system` at `from` at `to` instead (impact analysis): they keep their
/// ids, so their approved snapshots are the baseline. With `to` = `from`, just those cases as
/// they are.
#[derive(Debug, Clone)]
pub struct Replay {
    pub system: SystemId,
    pub from: String,
    pub to: String,
}

/// The cases `run` and `list` are asked for: every scenario under `paths` with each system version
/// judged at `now` (one past its accessible-until date is answered as the system answers it
/// then), narrowed by `selection` (see [`Plan::select`]).
pub fn build_selected(
    project: &Project,
    paths: &[PathBuf],
    selection: &Selection,
    now: String,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<(Plan, Option<ChangedSelection>), Error> {
    let mut plan = build_with(project, paths, Arc::new(Catalog::new(project).at(now)), None)?;
    let changed = plan.select(project, selection, var)?;
    Ok((plan, changed))
}

/// The cases with any of `tags`; none is a usage error, with the tag meant when one was misspelt.
fn keep_tagged(cases: Vec<Arc<Case>>, tags: &[String]) -> Result<Vec<Arc<Case>>, Error> {
    let known: std::collections::BTreeSet<&str> =
        cases.iter().flat_map(|c| c.scenario.spec.tags.iter().map(String::as_str)).collect();
    let kept: Vec<Arc<Case>> =
        cases.iter().filter(|c| c.scenario.spec.tags.iter().any(|t| tags.contains(t))).cloned().collect();
    if !kept.is_empty() {
        return Ok(kept);
    }
    let hints: Vec<String> = tags
        .iter()
        .filter(|t| !known.contains(t.as_str()))
        .filter_map(|t| did_you_mean(t, known.iter().copied()))
        .map(|m| format!("`{m}`"))
        .collect();
    let hint = if hints.is_empty() { String::new() } else { format!("; did you mean {}?", hints.join(" or ")) };
    Err(Error::Usage(format!("no scenario has the tag {}{hint}", tags.join(" or "))))
}

/// Load and resolve the scenarios at `paths` (all when empty).
/// Flow `name`'s trigger system and every system it talks to, when it loads (for a draft
/// scenario that must name a version of each).
pub fn flow_systems(project: &Project, catalog: &Catalog, name: &str) -> Option<(SystemId, Vec<SystemId>)> {
    let registry = Registry::for_project(catalog).ok()?;
    let loaded = harness_flows::load_flows(project, &registry, Some(&[name.to_string()]));
    loaded.flows.get(name).map(|flow| (flow.trigger.system.clone(), flow.systems()))
}

pub fn build(project: &Project, paths: &[PathBuf]) -> Result<Plan, Error> {
    build_with(project, paths, Arc::new(Catalog::new(project)), None)
}

/// [`build`] with a given catalog (which may migrate payloads) and an optional replay.
pub fn build_with(
    project: &Project,
    paths: &[PathBuf],
    catalog: Arc<Catalog>,
    replay: Option<&Replay>,
) -> Result<Plan, Error> {
    let registry = Registry::for_project(&catalog)?;
    let files = scenario::discover(project, paths)?;
    let mut errors = Diagnostics::default();
    for d in unrecorded_default_versions(project, &registry, &catalog) {
        errors.push(d);
    }
    let mut parsed = Vec::new();
    for loaded in in_parallel(&files, |file| scenario::load(project, file)) {
        match loaded {
            Ok(s) => parsed.push(Arc::new(s)),
            Err(ds) => ds.into_iter().for_each(|d| errors.push(d)),
        }
    }
    let mut wanted: Vec<String> = parsed.iter().map(|s| s.spec.flow.value.clone()).collect();
    wanted.sort();
    wanted.dedup();
    let harness_flows::LoadedFlows { flows, errors: flow_errors, broken } =
        harness_flows::load_flows(project, &registry, Some(&wanted));
    for d in flow_errors {
        errors.push(d);
    }
    let known_flows = harness_flows::flow_names(project);

    let resolver = case::Resolver { project, catalog: &catalog, registry: &registry };
    let mut cases = Vec::new();
    let resolved = in_parallel(&parsed, |s| flows.get(&*s.spec.flow).map(|flow| resolver.resolve(s, flow, replay)));
    for (s, resolved) in parsed.iter().zip(resolved) {
        match resolved {
            Some(Ok(mut c)) => cases.append(&mut c),
            Some(Err(e)) => e.into_iter().for_each(|d| errors.push(d)),
            None if broken.contains(&s.spec.flow) => {}
            None => {
                let d = s.spec.flow.error(&s.path, &s.text, format!("unknown flow `{}`", s.spec.flow.value));
                let d = match did_you_mean(&s.spec.flow, known_flows.iter().map(String::as_str)) {
                    Some(near) => d.label(format!("did you mean `{near}`?")),
                    None => d.help(format!("flows are the files in flows/: {}", known_flows.join(", "))),
                };
                errors.push(d.relative_to(&project.root));
            }
        }
    }
    cases.sort_by(|a: &Arc<Case>, b| a.id.cmp(&b.id));
    for pair in cases.windows(2) {
        if pair[0].id == pair[1].id {
            errors.push(
                Diagnostic::new(
                    &pair[1].scenario.path,
                    format!(
                        "two scenario files have the id `{}` (and would share snapshots): {} and {}",
                        pair[1].id, pair[0].scenario.display, pair[1].scenario.display
                    ),
                )
                .relative_to(&project.root),
            );
        }
    }
    if !errors.is_empty() {
        return Err(Error::from(errors));
    }
    let sharing = Sharing::whole(&cases);
    Ok(Plan { cases, catalog, registry, sharing })
}

/// `f` of every item, in their order, on as many threads as there are cores: loading, resolving
/// and linting thousands of scenarios is independent work per file.
pub(crate) fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().div_ceil(64)).max(1);
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// A default version in harness.yaml that has no recording, reported there rather than at the
/// `system.yaml` it would need.
fn unrecorded_default_versions(project: &Project, registry: &Registry, catalog: &Catalog) -> Vec<Diagnostic> {
    let config = project.config_file();
    let text = &project.config_text;
    let mut out = Vec::new();
    for (system, version) in &project.settings.systems {
        if !registry.contains(system) {
            let named = harness_syntax::Loc {
                value: system.clone(),
                span: harness_syntax::yaml::key_span(text, &["systems", system.as_str()]).unwrap_or_default(),
            };
            out.push(registry.unknown(&named, &config, text).relative_to(&project.root));
            continue;
        }
        let recorded = catalog.versions(system);
        if recorded.contains(&version.value) {
            continue;
        }
        let help = match did_you_mean(version, recorded.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!(
                "recorded {system} versions: {}",
                if recorded.is_empty() { "none".to_string() } else { recorded.join(", ") }
            ),
        };
        out.push(
            version
                .error(
                    &config,
                    text,
                    format!(
                        "default {system} version `{}` is not recorded (no mocks/{system}/{}/system.yaml)",
                        version.value, version.value
                    ),
                )
                .help(help)
                .relative_to(&project.root),
        );
    }
    out
}

/// A stable seed per case (FNV-1a of its id), for jitter that repeats run after run.
pub(crate) fn seed(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Paths in this module's diagnostics are relative to the project.
fn relative(root: &Path, ds: Vec<Diagnostic>) -> Vec<Diagnostic> {
    ds.into_iter().map(|d| d.relative_to(root)).collect()
}
