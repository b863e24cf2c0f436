//! Impact analysis before an API upgrade: which flows, scenarios and target fields a new version
//! of a system breaks, why, and how badly. Diff the two versions, replay every scenario that uses
//! the system at the old version at the new one (payloads recorded there, else migrated by the
//! diff), compare what reached each target with the approved snapshots, and trace every changed
//! target field to the changed source field that feeds it — by the flow's mapping where it shows,
//! and by ablation (remove or rename just that field, run again, see what changes), which also works
//! for external programs.

mod ablate;
mod compare;
mod model;
mod render;

pub(crate) use ablate::with_trigger_payload;
pub use model::{FieldImpact, FlowImpact, ImpactOptions, ImpactReport, ScenarioImpact, Severity, TargetField};

use std::collections::BTreeMap;
use std::sync::Arc;

use harness_core::Error;
use harness_engine::plan::{self, Case, Replay};
use harness_engine::runner::{self, Evaluated};
use harness_syntax::Project;
use harness_systems::{Catalog, Migration};

use crate::diff;

pub fn analyse(project: &Project, options: &ImpactOptions) -> Result<ImpactReport, Error> {
    let catalog = Arc::new(Catalog::new(project));
    let old = catalog.system(&options.system, &options.from)?;
    let new = catalog.system(&options.system, &options.to)?;

    // Baseline: the scenarios as they are, at the old version.
    let baseline_plan = plan::build_with(project, &[], catalog.clone(), None)?;
    let scopes = baseline_plan.recording_scopes(&options.system, &options.from);
    let version_diff = Arc::new(diff::diff(&catalog, &old, &new, &scopes));
    let baseline_cases: Vec<Arc<Case>> =
        baseline_plan.cases.iter().filter(|c| c.systems.get(&options.system).is_some_and(|s| s.version == options.from)).cloned().collect();
    if baseline_cases.is_empty() {
        return Err(Error::Usage(format!("no scenario uses {}@{}: nothing to replay", options.system, options.from)));
    }

    // Replay: the same scenarios at the new version, payloads migrated where none is recorded.
    let migration = Migration { system: options.system.clone(), from: old.clone(), to: options.to.clone(), diff: version_diff.clone(), scopes };
    let replay_catalog = Arc::new(Catalog::with_migration(project, migration));
    let replay = Replay { system: options.system.clone(), from: options.from.clone(), to: options.to.clone() };
    let replay_plan = plan::build_with(project, &[], replay_catalog.clone(), Some(&replay))?;

    let baseline = runner::evaluate(project, &baseline_plan, &baseline_cases, options.jobs, true)?;
    let replayed = runner::evaluate(project, &replay_plan, &replay_plan.cases, options.jobs, true)?;
    let ablations = ablate::ablate(project, &baseline_plan, options, &version_diff, &baseline)?;

    let schema_changes = compare::SchemaChanges::new(&version_diff);
    let by_id: BTreeMap<&str, &Evaluated> = baseline.iter().map(|e| (e.case.id.as_str(), e)).collect();
    let mut flows: BTreeMap<String, Vec<ScenarioImpact>> = BTreeMap::new();
    for r in &replayed {
        let Some(base) = by_id.get(r.case.id.as_str()) else { continue };
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
    let flows = flows.into_iter().map(|(flow, scenarios)| FlowImpact { flow, scenarios }).collect();
    Ok(ImpactReport { system: options.system.clone(), from: options.from.clone(), to: options.to.clone(), diff: (*version_diff).clone(), flows })
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
