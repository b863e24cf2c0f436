//! The runner: cases run concurrently on a tokio runtime of `jobs` threads (each with its own
//! mocks on ephemeral ports), are checked, their snapshots written or accepted, and their reports
//! streamed to the reporters in scenario order, so output never depends on scheduling.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;

use crate::check::{self, SnapshotState};
use crate::error::Error;
use crate::execute::{self, Shared};
use crate::plan::{Case, Plan};
use crate::project::Project;
use crate::report::{CaseReport, Event, Reporter, SnapshotAction, SnapshotReport, Summary};
use crate::snapshot;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Cases in flight at once, and runtime threads.
    pub jobs: usize,
    /// Approve new and changed snapshots of cases that otherwise pass.
    pub accept: bool,
    /// Data-loss findings fail (true) or warn (false).
    pub strict: bool,
}

/// Build the runtime and run every case of `plan`.
pub fn run(project: &Project, plan: &Plan, options: &RunOptions, reporters: &mut [&mut dyn Reporter]) -> Result<Summary, Error> {
    let jobs = options.jobs.max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(jobs)
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(run_cases(project, plan, options, jobs, reporters))
}

async fn run_cases(project: &Project, plan: &Plan, options: &RunOptions, jobs: usize, reporters: &mut [&mut dyn Reporter]) -> Result<Summary, Error> {
    let started = Instant::now();
    let shared = Arc::new(Shared::new(project)?);
    emit(reporters, &Event::Started { cases: plan.cases.len(), jobs })?;
    let mut reports = Vec::with_capacity(plan.cases.len());
    let options = options.clone();
    in_order(&plan.cases, jobs, shared, move |case, shared| {
        let options = options.clone();
        async move { run_case(&case, &shared, &options).await }
    }, crashed_report, |report| {
        emit(reporters, &Event::CaseFinished { report: &report })?;
        reports.push(report);
        Ok(())
    })
    .await?;
    let summary = Summary { cases: reports, duration: started.elapsed(), jobs };
    emit(reporters, &Event::Finished { summary: &summary })?;
    Ok(summary)
}

/// Run `task` for every case, `jobs` at a time on the runtime's threads, and hand the results to
/// `done` in case order (early finishers wait for those before them). A task that panics becomes
/// `crashed(case, message)`, so one broken case does not take the run down with it.
async fn in_order<T, F, Fut>(
    cases: &[Arc<Case>],
    jobs: usize,
    shared: Arc<Shared>,
    task: F,
    crashed: impl Fn(&Case, String) -> Result<T, Error>,
    mut done: impl FnMut(T) -> Result<(), Error>,
) -> Result<(), Error>
where
    T: Send + 'static,
    F: Fn(Arc<Case>, Arc<Shared>) -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>> + Send + 'static,
{
    let mut results = futures_util::stream::iter(cases.iter().cloned().enumerate())
        .map(|(index, case)| {
            let handle = tokio::spawn(task(case, shared.clone()));
            async move { (index, handle.await) }
        })
        .buffer_unordered(jobs.max(1));
    let mut waiting: BTreeMap<usize, T> = BTreeMap::new();
    let mut next = 0;
    while let Some((index, joined)) = results.next().await {
        let result = match joined {
            Ok(result) => result?,
            Err(e) => {
                let message = match e.try_into_panic() {
                    Ok(payload) => payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default(),
                    Err(e) => e.to_string(),
                };
                crashed(&cases[index], message)?
            }
        };
        waiting.insert(index, result);
        while let Some(result) = waiting.remove(&next) {
            done(result)?;
            next += 1;
        }
    }
    Ok(())
}

/// A case executed and checked, with nothing written: for impact analysis and lineage.
pub struct Evaluated {
    pub case: Arc<Case>,
    pub execution: execute::Execution,
    pub verdict: check::Verdict,
}

/// Execute and check `cases` (no snapshot is written), in case order.
pub fn evaluate(project: &Project, cases: &[Arc<Case>], jobs: usize, strict: bool) -> Result<Vec<Evaluated>, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(jobs.max(1))
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let shared = Arc::new(Shared::new(project)?);
        let mut out = Vec::with_capacity(cases.len());
        in_order(cases, jobs, shared, move |case, shared| async move {
            let execution = execute::execute(&case, &shared).await?;
            let verdict = check::check(&case, &execution, strict);
            Ok(Evaluated { case, execution, verdict })
        }, |case, message| Err(Error::Environment(format!("the harness crashed running {}: {message}", case.id))), |e| {
            out.push(e);
            Ok(())
        })
        .await?;
        Ok(out)
    })
}

/// The report of a case whose task panicked: a failure that says so, instead of a crashed run.
fn crashed_report(case: &Case, message: String) -> Result<CaseReport, Error> {
    Ok(CaseReport {
        id: case.id.clone(),
        file: case.scenario.display.clone(),
        flow: case.flow.name.clone(),
        description: case.scenario.spec.description.clone(),
        tags: case.scenario.spec.tags.clone(),
        versions: case.systems.iter().map(|(k, s)| (*k, s.version.clone())).collect(),
        passed: false,
        duration: std::time::Duration::ZERO,
        findings: vec![check::Finding::internal(format!("the harness crashed running this scenario ({message}); this is a bug in the harness, please report it"))],
        snapshots: Vec::new(),
        records: Vec::new(),
        waits: Vec::new(),
        refreshes: BTreeMap::new(),
        requests: 0,
        output: String::new(),
    })
}

fn emit(reporters: &mut [&mut dyn Reporter], event: &Event<'_>) -> Result<(), Error> {
    for r in reporters.iter_mut() {
        r.report(event).map_err(|e| Error::Environment(format!("cannot write a report: {e}")))?;
    }
    Ok(())
}

async fn run_case(case: &Case, shared: &Shared, options: &RunOptions) -> Result<CaseReport, Error> {
    let execution = execute::execute(case, shared).await?;
    let verdict = check::check(case, &execution, options.strict);
    let accept = options.accept && verdict.passed_except_snapshots();

    let mut snapshots = Vec::new();
    for (slot, result) in case.snapshots.iter().zip(&verdict.snapshots) {
        let pending = snapshot::pending_path(&slot.path);
        let io = |e: std::io::Error| Error::Environment(format!("cannot write {}: {e}", slot.display));
        let action = match result.state {
            SnapshotState::Matches => {
                // A pending file from an earlier run is stale once the output matches again.
                if pending.exists() {
                    std::fs::remove_file(&pending).map_err(io)?;
                }
                SnapshotAction::Unchanged
            }
            _ if accept => {
                snapshot::write_atomic(&slot.path, &result.produced.render()).map_err(io)?;
                if pending.exists() {
                    std::fs::remove_file(&pending).map_err(io)?;
                }
                SnapshotAction::Accepted
            }
            _ => {
                snapshot::write_atomic(&pending, &result.produced.render()).map_err(io)?;
                SnapshotAction::PendingWritten
            }
        };
        snapshots.push(SnapshotReport { system: slot.system, path: slot.display.clone(), state: result.state, action });
    }

    let mut findings = verdict.findings;
    if accept {
        findings.retain(|f| !f.kind.is_snapshot_difference());
    }
    let passed = findings.iter().all(|f| f.warning);
    let run = execution.run;
    Ok(CaseReport {
        id: case.id.clone(),
        file: case.scenario.display.clone(),
        flow: case.flow.name.clone(),
        description: case.scenario.spec.description.clone(),
        tags: case.scenario.spec.tags.clone(),
        versions: case.systems.iter().map(|(k, s)| (*k, s.version.clone())).collect(),
        passed,
        duration: execution.duration,
        findings,
        snapshots,
        records: run.records,
        waits: run.waits,
        refreshes: run.refreshes,
        requests: execution.exchanges.len(),
        output: run.output,
    })
}
