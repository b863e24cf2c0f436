//! The runner: cases run concurrently on `jobs` worker threads (each case with its own mocks on
//! ephemeral ports), are checked, their snapshots written or accepted, and their reports
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
use crate::workers::{Abandoned, Workers};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Cases in flight at once, and runtime threads.
    pub jobs: usize,
    /// Approve new and changed snapshots of cases that otherwise pass.
    pub accept: bool,
    /// Data-loss findings fail (true) or warn (false).
    pub strict: bool,
}

/// Run every case of `plan`.
pub fn run(project: &Project, plan: &Plan, options: &RunOptions, reporters: &mut [&mut dyn Reporter]) -> Result<Summary, Error> {
    let jobs = options.jobs.max(1);
    watchdog_runtime()?.block_on(run_cases(project, plan, options, jobs, reporters))
}

/// The calling thread's runtime: it only dispatches cases to workers and keeps their time, so it
/// stays responsive whatever a case does.
fn watchdog_runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))
}

/// How long past its own limit a case may take to report before it is given up as stuck: the
/// limit already stopped the flow if the flow could be stopped; this covers checking and writing.
const STUCK_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

impl std::fmt::Display for Abandoned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Abandoned::Panicked(message) => write!(f, "the harness crashed running this scenario ({message}); this is a bug in the harness, please report it"),
            Abandoned::Stuck(waited) => write!(
                f,
                "flow did not finish within {} and could not be stopped: it is busy computing, most likely a jq expression that never ends (`repeat`, `until`, `range` without an end, recursion); the case was abandoned",
                crate::duration::format(waited.saturating_sub(STUCK_GRACE))
            ),
        }
    }
}

async fn run_cases(project: &Project, plan: &Plan, options: &RunOptions, jobs: usize, reporters: &mut [&mut dyn Reporter]) -> Result<Summary, Error> {
    let started = Instant::now();
    emit(reporters, &Event::Started { cases: plan.cases.len(), jobs })?;
    let mut reports = Vec::with_capacity(plan.cases.len());
    let options = Arc::new(options.clone());
    in_order(project, &plan.cases, jobs, move |case, shared| {
        let options = options.clone();
        async move { run_case(&case, &shared, &options).await }
    }, abandoned_report, |report| {
        emit(reporters, &Event::CaseFinished { report: &report })?;
        reports.push(report);
        Ok(())
    })
    .await?;
    let summary = Summary { cases: reports, duration: started.elapsed(), jobs };
    emit(reporters, &Event::Finished { summary: &summary })?;
    Ok(summary)
}

/// Run `task` for every case, `jobs` at a time on worker threads, and hand the results to `done`
/// in case order (early finishers wait for those before them). A task that panics, or is still
/// busy well past the case's limit, becomes `abandoned(case, why)`, so one broken case neither
/// takes the run down with it nor hangs it.
async fn in_order<T, F, Fut>(
    project: &Project,
    cases: &[Arc<Case>],
    jobs: usize,
    task: F,
    abandoned: impl Fn(&Case, Abandoned) -> Result<T, Error>,
    mut done: impl FnMut(T) -> Result<(), Error>,
) -> Result<(), Error>
where
    T: Send + 'static,
    F: Fn(Arc<Case>, Arc<Shared>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let workers = Workers::new(project.root.clone());
    let mut results = futures_util::stream::iter(cases.iter().cloned().enumerate())
        .map(|(index, case)| {
            let task = task.clone();
            let workers = &workers;
            async move {
                let patience = case.timeout + STUCK_GRACE;
                (index, workers.run(patience, move |shared| task(case, shared)).await)
            }
        })
        .buffer_unordered(jobs.max(1));
    let mut waiting: BTreeMap<usize, T> = BTreeMap::new();
    let mut next = 0;
    while let Some((index, outcome)) = results.next().await {
        let result = match outcome? {
            Ok(result) => result?,
            Err(why) => abandoned(&cases[index], why)?,
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
    watchdog_runtime()?.block_on(async {
        let mut out = Vec::with_capacity(cases.len());
        in_order(project, cases, jobs, move |case, shared| async move {
            let execution = execute::execute(&case, &shared).await?;
            let verdict = check::check(&case, &execution, strict);
            Ok(Evaluated { case, execution, verdict })
        }, |case, why| Err(Error::Environment(format!("{}: {why}", case.id))), |e| {
            out.push(e);
            Ok(())
        })
        .await?;
        Ok(out)
    })
}

/// The report of a case whose task panicked or was abandoned: a failure that says so, instead of a
/// crashed or hung run.
fn abandoned_report(case: &Case, why: Abandoned) -> Result<CaseReport, Error> {
    let duration = match why {
        Abandoned::Stuck(waited) => waited,
        Abandoned::Panicked(_) => std::time::Duration::ZERO,
    };
    Ok(blank_report(case, duration, vec![check::Finding::internal(why.to_string())]))
}

/// A case's report: who it is and what was found, with nothing recorded yet.
fn blank_report(case: &Case, duration: std::time::Duration, findings: Vec<check::Finding>) -> CaseReport {
    CaseReport {
        id: case.id.clone(),
        file: case.scenario.display.clone(),
        flow: case.flow.name.clone(),
        description: case.scenario.spec.description.clone(),
        tags: case.scenario.spec.tags.clone(),
        versions: case.systems.iter().map(|(k, s)| (*k, s.version.clone())).collect(),
        passed: findings.iter().all(|f| f.warning),
        duration,
        findings,
        snapshots: Vec::new(),
        records: Vec::new(),
        waits: Vec::new(),
        refreshes: BTreeMap::new(),
        requests: 0,
        output: String::new(),
    }
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
    let run = execution.run;
    Ok(CaseReport {
        snapshots,
        records: run.records,
        waits: run.waits,
        refreshes: run.refreshes,
        requests: execution.exchanges.len(),
        output: run.output,
        ..blank_report(case, execution.duration, findings)
    })
}
