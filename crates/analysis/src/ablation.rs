//! Running cases again with their trigger payload varied — a source field taken away, renamed or
//! altered, values made unique — and seeing what then reached each target differently. Impact
//! traces a changed target field to the version change that feeds it this way; lineage finds what
//! feeds what. The variants are built by the plan, as every case is.

use std::sync::Arc;

use harness_core::{Error, SystemId};
use harness_engine::plan::{Case, Plan};
use harness_engine::runner::{self, Evaluated};
use harness_engine::snapshot::{self, Change};
use harness_syntax::Project;
use serde_json::Value;

/// A variant of the baseline case `base` (an index), with what it stands for.
pub(crate) struct Variant<T> {
    pub(crate) base: usize,
    pub(crate) label: T,
    pub(crate) payload: Value,
}

/// A variant run, and how it differs from its baseline.
pub(crate) struct Ablated<T> {
    pub(crate) base: usize,
    pub(crate) label: T,
    pub(crate) run: Evaluated,
    /// Every change in what reached a snapshotted system, by system.
    pub(crate) changes: Vec<(SystemId, Change)>,
    /// The baseline run succeeded and this one did not.
    pub(crate) stopped: bool,
}

/// Run every variant (in parallel, `jobs` at once) and compare each with its baseline.
pub(crate) fn run<T>(
    project: &Project,
    plan: &Plan,
    baseline: &[Evaluated],
    variants: Vec<Variant<T>>,
    jobs: usize,
    strict: bool,
) -> Result<Vec<Ablated<T>>, Error> {
    let mut kept = Vec::with_capacity(variants.len());
    let mut cases: Vec<Arc<Case>> = Vec::with_capacity(variants.len());
    for v in variants {
        if let Some(case) = plan.vary(project, &baseline[v.base].case, &v.payload)? {
            cases.push(case);
            kept.push((v.base, v.label));
        }
    }
    let results = runner::evaluate(project, plan, &cases, jobs, strict)?;
    Ok(kept
        .into_iter()
        .zip(results)
        .map(|((base, label), run)| {
            let b = &baseline[base];
            let changes = b
                .verdict
                .snapshots
                .iter()
                .zip(&run.verdict.snapshots)
                .flat_map(|(old, new)| {
                    snapshot::changes(&old.produced.json(), &new.produced.json())
                        .into_iter()
                        .map(|c| (old.system.clone(), c))
                })
                .collect();
            let stopped = b.execution.run.succeeded() && !run.execution.run.succeeded();
            Ablated { base, label, run, changes, stopped }
        })
        .collect())
}
