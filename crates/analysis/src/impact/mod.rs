//! Impact analysis before an API upgrade: which flows, scenarios and target fields a new version
//! of a system breaks, why, and how badly. Diff the two versions, replay every scenario that uses
//! the system at the old version at the new one (payloads recorded there, else migrated by the
//! diff), compare what reached each target with the approved snapshots, and trace every changed
//! target field to the changed source field that feeds it — by the flow's mapping where it shows,
//! and by ablation (remove or rename just that field, run again, see what changes), which also works
//! for external programs.

mod compare;
mod model;
mod render;

pub use model::{
    FieldImpact, FlowImpact, ImpactOptions, ImpactReport, ScenarioImpact, Severity, TargetField, Unverified,
};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use harness_core::Error;
use harness_engine::plan::{self, Case, Replay};
use harness_engine::runner::{self, Evaluated};
use harness_syntax::Project;
use harness_systems::{Catalog, Migration, SystemVersion};

use crate::ablation::{self, Variant};
use crate::diff::{self, VersionDiff};
use model::Traced;

pub fn analyse(project: &Project, options: &ImpactOptions) -> Result<ImpactReport, Error> {
    let catalog = Arc::new(Catalog::new(project));
    let old = catalog.system(&options.system, &options.from)?;
    let new = catalog.system(&options.system, &options.to)?;

    // Baseline: the scenarios that use the old version, as they are (a "replay" at the version
    // itself keeps just their cases).
    let at_old = Replay { system: options.system.clone(), from: options.from.clone(), to: options.from.clone() };
    let baseline_plan = plan::build_with(project, &[], catalog.clone(), Some(&at_old))?;
    let scopes = baseline_plan.recording_scopes(&options.system, &options.from);
    let version_diff = Arc::new(diff::diff(&catalog, &old, &new, &scopes));
    let baseline_cases = &baseline_plan.cases;
    if baseline_cases.is_empty() {
        return Err(Error::Usage(format!("no scenario uses {}@{}: nothing to replay", options.system, options.from)));
    }

    // Replay: the same scenarios at the new version, payloads migrated where none is recorded.
    let migration = Migration {
        system: options.system.clone(),
        from: old.clone(),
        to: options.to.clone(),
        diff: version_diff.clone(),
        scopes,
    };
    let replay_catalog = Arc::new(catalog.with_migration(migration));
    let replay = Replay { system: options.system.clone(), from: options.from.clone(), to: options.to.clone() };
    let replay_plan = plan::build_with(project, &[], replay_catalog.clone(), Some(&replay))?;

    let replayed = runner::evaluate(project, &replay_plan, &replay_plan.cases, options.jobs, true)?;
    let schema_changes = compare::SchemaChanges::new(&version_diff);
    // A replay that matches the approved snapshots with nothing failed, refused or deprecated is
    // clean whatever the old version did: only the others are run at the old version too.
    let quiet: BTreeSet<&str> = replayed
        .iter()
        .filter(|r| compare::quiet(r, &version_diff, &schema_changes, options))
        .map(|r| r.case.id.as_str())
        .collect();
    let needed: Vec<Arc<Case>> = baseline_cases.iter().filter(|c| !quiet.contains(c.id.as_str())).cloned().collect();
    let baseline = runner::evaluate(project, &baseline_plan, &needed, options.jobs, true)?;
    let by_id: BTreeMap<&str, &Evaluated> = baseline.iter().map(|e| (e.case.id.as_str(), e)).collect();
    // Only what changed at the new version needs a cause: the cases with a finding are traced.
    let changed: BTreeSet<&str> = replayed
        .iter()
        .filter(|r| {
            by_id.get(r.case.id.as_str()).is_some_and(|base| {
                !compare::compare(base, r, &version_diff, &schema_changes, None, options).is_empty()
            })
        })
        .map(|r| r.case.id.as_str())
        .collect();
    let ablations = trace(project, &baseline_plan, options, &version_diff, &baseline, &changed)?;

    let mut flows: BTreeMap<String, Vec<ScenarioImpact>> = BTreeMap::new();
    for r in &replayed {
        // A quiet replay is its own baseline: compared with itself it shows what the approved
        // snapshots show, which is nothing.
        let base = match by_id.get(r.case.id.as_str()) {
            Some(base) => *base,
            None if quiet.contains(r.case.id.as_str()) => r,
            None => continue,
        };
        let traced = ablations.get(&r.case.id);
        let findings = compare::compare(base, r, &version_diff, &schema_changes, traced, options);
        let migrated = migrated_payloads(&replay_catalog, &r.case);
        flows.entry(r.case.flow.name.clone()).or_default().push(ScenarioImpact {
            id: r.case.id.clone(),
            file: r.case.scenario.display.clone(),
            findings,
            migrated,
        });
    }
    let mut unverified = unverified(&catalog, &new, baseline_cases, options);
    let flows = flows
        .into_iter()
        .map(|(flow, scenarios)| FlowImpact {
            unverified: unverified.remove(&flow).unwrap_or_default(),
            flow,
            scenarios,
        })
        .collect();
    Ok(ImpactReport {
        system: options.system.clone(),
        from: options.from.clone(),
        to: options.to.clone(),
        diff: (*version_diff).clone(),
        flows,
        allow_unverified: options.allow_unverified,
    })
}

/// Tracing by ablation: each lost source field taken away (or renamed) alone at the old version,
/// and the target fields that then change, by case.
/// Only the cases in `changed` are traced, and only on the fields their payload has.
fn trace(
    project: &Project,
    plan: &plan::Plan,
    options: &ImpactOptions,
    version_diff: &VersionDiff,
    baseline: &[Evaluated],
    changed: &BTreeSet<&str>,
) -> Result<BTreeMap<String, Traced>, Error> {
    let mut variants = Vec::new();
    for (base, e) in baseline.iter().enumerate() {
        let case = &e.case;
        let (Some(scope), Some(payload)) = (&case.trigger_scope, &case.trigger.json) else { continue };
        if case.flow.trigger.system != options.system || !changed.contains(case.id.as_str()) {
            continue;
        }
        for change in version_diff.losses().filter(|c| c.applies_to(scope)) {
            let single = VersionDiff { changes: vec![change.clone()], ..VersionDiff::default() };
            let without = single.migrate(scope, payload);
            // A field the payload does not have changes nothing when taken away.
            if without != **payload {
                variants.push(Variant { base, label: change.clone(), payload: without });
            }
        }
    }
    let mut out: BTreeMap<String, Traced> = BTreeMap::new();
    for a in ablation::run(project, plan, baseline, variants, options.jobs, true)? {
        let case = &baseline[a.base].case;
        let traced = out.entry(case.id.clone()).or_default();
        for (system, c) in &a.changes {
            traced.entry((system.clone(), model::field_key(c))).or_default().push(a.label.clone());
        }
        if a.stopped {
            traced.entry((model::case_target(case), "(flow outcome)".into())).or_default().push(a.label.clone());
        }
    }
    Ok(out)
}

/// Per flow, the topics and endpoints of the upgraded system it uses whose change between the
/// versions is known to nothing: not to the catalog (the vendor's schemas, the changelog before
/// them) and not to recordings made at both versions. A recording `versions add` carried over
/// was not made at the new version, so it knows nothing either.
fn unverified(
    catalog: &Catalog,
    new: &SystemVersion,
    cases: &[Arc<Case>],
    options: &ImpactOptions,
) -> BTreeMap<String, Vec<Unverified>> {
    let mut used: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for case in cases {
        let scopes = used.entry(case.flow.name.clone()).or_default();
        for r in case.recordings.iter().filter(|r| r.system == options.system && r.version == options.from) {
            scopes.entry(endpoint_template(&r.scope)).or_default().insert(r.file.clone());
        }
        if let Some(scope) = case.trigger_scope.as_ref().filter(|_| case.flow.trigger.system == options.system) {
            scopes.entry(scope.clone()).or_default();
        }
    }
    let recorded_at_new = |file: &String| {
        new.dir.join(file).is_file() && catalog.recording(new, file).is_ok() && !catalog.carried(new, file)
    };
    let mut out = BTreeMap::new();
    for (flow, scopes) in used {
        let mut missing = Vec::new();
        for (scope, files) in scopes {
            let recorded = !files.is_empty() && files.iter().all(recorded_at_new);
            if recorded || diff::catalog_knowledge(catalog, &options.system, &scope, &options.from, &options.to) {
                continue;
            }
            let message =
                format!("not verified: no knowledge of changes to {scope} between {} and {}", options.from, options.to);
            missing.push(Unverified { scope, message });
        }
        out.insert(flow, missing);
    }
    out
}

/// A stub's path with its ids as `{id}`: `GET /orders/6112450003001/x.json` is one endpoint
/// whatever order it fetched.
fn endpoint_template(scope: &str) -> String {
    scope
        .split('/')
        .map(|seg| if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) { "{id}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Payload files of the case that exist only at the old version.
fn migrated_payloads(catalog: &Catalog, case: &Case) -> Vec<String> {
    let mut files: Vec<String> = case
        .recordings
        .iter()
        .filter(|r| case.systems.get(&r.system).is_some_and(|system| catalog.is_migrated(system, &r.file)))
        .map(|r| r.file.clone())
        .collect();
    files.sort();
    files.dedup();
    files
}
