//! The runner: cases run concurrently on `jobs` worker threads (each case with its own mocks on
//! ephemeral ports), are checked, their snapshots written or accepted, and their reports
//! streamed to the reporters in scenario order, so output never depends on scheduling.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;

use crate::check::{self, SnapshotState};
use crate::error::Error;
use crate::execute;
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
    dispatch(run_cases(project, plan, options, jobs, reporters))
}

/// Drive `work` on the calling thread, which only dispatches cases to workers and keeps their
/// time, so it stays responsive whatever a case does — also to Ctrl-C and SIGTERM, which stop the
/// programs the cases started before the harness exits.
fn dispatch<T>(work: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        tokio::select! {
            done = work => done,
            _ = interrupted() => {
                crate::flow::command::kill_running_programs();
                Err(Error::Interrupted)
            }
        }
    })
}

async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            // Without signal handling the default (exit at once) applies.
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
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
            Abandoned::NotRun { stuck } => write!(f, "not run: {stuck} scenario(s) before it are stuck computing and keep every CPU busy; fix those first"),
        }
    }
}

async fn run_cases(project: &Project, plan: &Plan, options: &RunOptions, jobs: usize, reporters: &mut [&mut dyn Reporter]) -> Result<Summary, Error> {
    let started = Instant::now();
    emit(reporters, &Event::Started { cases: plan.cases.len(), jobs })?;
    let mut reports = Vec::with_capacity(plan.cases.len());
    in_order(project, &plan.cases, jobs, options.strict, |case, outcome| {
        let report = match outcome {
            Ok(evaluated) => record(evaluated, options)?,
            Err(why) => abandoned_report(case, why),
        };
        emit(reporters, &Event::CaseFinished { report: &report })?;
        reports.push(report);
        Ok(())
    })
    .await?;
    let summary = Summary { cases: reports, duration: started.elapsed(), jobs };
    emit(reporters, &Event::Finished { summary: &summary })?;
    Ok(summary)
}

/// Execute and check every case, `jobs` at a time on worker threads, and hand the results to
/// `done` in case order (early finishers wait for those before them). Files are written only by
/// `done`, on this thread: a case given up on can never write after it was reported.
///
/// A case that panics, or is still busy well past its limit, is handed over as abandoned, so one
/// broken case neither takes the run down with it nor hangs it. Each stuck case keeps a CPU busy;
/// once as many are stuck as there are CPUs, the remaining cases are not started.
async fn in_order(
    project: &Project,
    cases: &[Arc<Case>],
    jobs: usize,
    strict: bool,
    mut done: impl FnMut(&Case, Result<Evaluated, Abandoned>) -> Result<(), Error>,
) -> Result<(), Error> {
    let workers = Workers::new(project.root.clone());
    let stuck = std::cell::Cell::new(0);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut results = futures_util::stream::iter(cases.iter().cloned().enumerate())
        .map(|(index, case)| {
            let (workers, stuck) = (&workers, &stuck);
            async move {
                if stuck.get() >= cpus {
                    return (index, Ok(Err(Abandoned::NotRun { stuck: stuck.get() })));
                }
                let patience = case.timeout + STUCK_GRACE;
                let outcome = workers
                    .run(patience, move |shared| async move {
                        let execution = execute::execute(&case, &shared).await?;
                        let verdict = check::check(&case, &execution, strict);
                        Ok(Evaluated { case, execution, verdict })
                    })
                    .await;
                if let Ok(Err(Abandoned::Stuck(_))) = outcome {
                    stuck.set(stuck.get() + 1);
                }
                (index, outcome)
            }
        })
        .buffer_unordered(jobs.max(1));
    let mut waiting: BTreeMap<usize, Result<Evaluated, Abandoned>> = BTreeMap::new();
    let mut next = 0;
    while let Some((index, outcome)) = results.next().await {
        waiting.insert(index, outcome?);
        while let Some(result) = waiting.remove(&next) {
            done(&cases[next], result)?;
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
    dispatch(async {
        let mut out = Vec::with_capacity(cases.len());
        in_order(project, cases, jobs.max(1), strict, |case, outcome| {
            out.push(outcome.map_err(|why| Error::Environment(format!("{}: {why}", case.id)))?);
            Ok(())
        })
        .await?;
        Ok(out)
    })
}

/// The report of a case whose task panicked or was abandoned: a failure that says so, instead of a
/// crashed or hung run.
fn abandoned_report(case: &Case, why: Abandoned) -> CaseReport {
    let duration = match why {
        Abandoned::Stuck(waited) => waited,
        Abandoned::Panicked(_) | Abandoned::NotRun { .. } => std::time::Duration::ZERO,
    };
    blank_report(case, duration, vec![check::Finding::internal(why.to_string())])
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

/// Write (or accept) a checked case's snapshots, as the options say, and make its report.
fn record(evaluated: Evaluated, options: &RunOptions) -> Result<CaseReport, Error> {
    let Evaluated { case, execution, verdict } = evaluated;
    let case = &*case;
    let accept = options.accept && verdict.passed_except_snapshots();

    let mut snapshots = Vec::new();
    for (slot, result) in case.snapshots.iter().zip(&verdict.snapshots) {
        let pending = snapshot::pending_path(&slot.path);
        let io = |e: std::io::Error| Error::Environment(format!("cannot write {}: {e}", slot.display));
        let action = match result.state {
            SnapshotState::Matches => {
                // A pending file from an earlier run is stale once the output matches again.
                remove_if_present(&pending).map_err(io)?;
                SnapshotAction::Unchanged
            }
            _ if accept => {
                snapshot::write_atomic(&slot.path, &result.produced.render()).map_err(io)?;
                remove_if_present(&pending).map_err(io)?;
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

fn remove_if_present(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
