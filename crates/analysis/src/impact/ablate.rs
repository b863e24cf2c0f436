//! Tracing by ablation: take one changed source field away (or rename it) at the old version, run
//! again, and see which target fields change — what feeds what, for any flow, programs included.

use std::collections::BTreeMap;
use std::sync::Arc;

use harness_core::Error;
use harness_engine::plan::{Case, Plan};
use harness_engine::runner::{self, Evaluated};
use harness_engine::snapshot;
use harness_flows::TriggerInput;
use harness_mock::Stub;
use harness_syntax::Project;
use harness_systems::Registry;
use serde_json::Value;

use super::model::{ImpactOptions, Traced, case_target};
use crate::diff::{FieldChange, VersionDiff};

pub(super) fn ablate(project: &Project, plan: &Plan, options: &ImpactOptions, version_diff: &VersionDiff, baseline: &[Evaluated]) -> Result<BTreeMap<String, Traced>, Error> {
    let mut variants: Vec<(String, FieldChange, Arc<Case>)> = Vec::new();
    for e in baseline {
        let case = &e.case;
        if case.flow.trigger.system != options.system {
            continue;
        }
        let Some(scope) = &case.trigger_scope else { continue };
        for change in version_diff.losses().filter(|c| c.applies_to(scope)) {
            let single = VersionDiff { changes: vec![change.clone()], ..VersionDiff::default() };
            if let Some(variant) = with_trigger_payload(case, &plan.registry, |payload| single.migrate(scope, payload)) {
                variants.push((case.id.clone(), change.clone(), Arc::new(variant)));
            }
        }
    }
    let cases: Vec<Arc<Case>> = variants.iter().map(|(_, _, c)| c.clone()).collect();
    let results = runner::evaluate(project, plan, &cases, options.jobs, true)?;
    let base: BTreeMap<&str, &Evaluated> = baseline.iter().map(|e| (e.case.id.as_str(), e)).collect();
    let mut out: BTreeMap<String, Traced> = BTreeMap::new();
    for ((id, change, _), ablated) in variants.iter().zip(&results) {
        let Some(b) = base.get(id.as_str()) else { continue };
        let traced = out.entry(id.clone()).or_default();
        for (old, new) in b.verdict.snapshots.iter().zip(&ablated.verdict.snapshots) {
            for c in snapshot::changes(&old.produced.json(), &new.produced.json()) {
                let key = (old.system.clone(), super::model::field_key(&c));
                traced.entry(key).or_default().push(change.clone());
            }
        }
        if b.execution.run.succeeded() && !ablated.execution.run.succeeded() {
            traced.entry((case_target(&b.case), "(flow outcome)".into())).or_default().push(change.clone());
        }
    }
    Ok(out)
}


/// A copy of `case` whose trigger payload went through `edit` (webhook or callback body, or the
/// recorded answer of a polling flow's fetch), with webhook signatures made anew.
pub(crate) fn with_trigger_payload(case: &Case, registry: &Registry, edit: impl Fn(&Value) -> Value) -> Option<Case> {
    let payload = case.trigger.json.as_ref()?;
    let edited = edit(payload);
    let body = bytes::Bytes::from(serde_json::to_vec(&edited).ok()?);
    let mut variant = case.clone();
    match &case.flow.trigger.fetch {
        Some(_) => {
            let system = case.flow.trigger.system.clone();
            let mut stubs: Vec<Stub> = case.stubs.get(&system)?.to_vec();
            let stub = stubs.iter_mut().find(|s| s.name == "trigger")?;
            for r in &mut stub.responses {
                r.body = body.clone();
            }
            variant.stubs.insert(system, stubs.into());
            variant.trigger = Arc::new(TriggerInput { json: Some(Arc::new(edited)), ..(*case.trigger).clone() });
        }
        None => {
            let mut trigger = (*case.trigger).clone();
            let version = case.systems.get(&case.flow.trigger.system)?;
            let topic = case.flow.trigger.topic();
            if let Some(headers) = registry.system(&case.flow.trigger.system).webhook_headers(version, topic, &body, &case.scenario.id) {
                trigger.headers = headers;
            }
            trigger.body = body;
            trigger.json = Some(Arc::new(edited));
            variant.trigger = Arc::new(trigger);
        }
    }
    Some(variant)
}

