//! The runner: cases run concurrently on `jobs` worker threads (each case with its own mocks on
//! ephemeral ports), are checked, their snapshots written or accepted, and their reports streamed
//! to the reporters in scenario order, so output never depends on scheduling. Ctrl-C and SIGTERM
//! stop the programs the cases started, and the reporters still get the cases that finished.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use harness_core::Error;
use harness_syntax::Project;

use crate::check::{self, SnapshotState};
use crate::events::{CaseReport, Event, ExchangeLine, Reporter, SnapshotAction, SnapshotReport, Summary};
use crate::execute;
use crate::plan::{Case, Plan};
use crate::secrets::Secrets;
use crate::snapshot;
use crate::workers::{Abandoned, Workers};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Cases in flight at once, and worker threads.
    pub jobs: usize,
    /// Approve new and changed snapshots of cases that otherwise pass.
    pub accept: bool,
    /// Data-loss findings fail (true) or warn (false).
    pub strict: bool,
    /// Run a failed case again this many times; one that passes then is flaky.
    pub retries: u32,
    /// A case running longer than this is reported as slow (and again each time as long again).
    pub slow_after: Duration,
    /// More secret values to mask in everything written (`--secret`), besides those the run
    /// knows of itself (see [`crate::secrets`]).
    pub secrets: Vec<String>,
    /// Recordings older than `max_recording_age` fail their cases instead of warning.
    pub strict_recordings: bool,
}

impl RunOptions {
    pub fn new(jobs: usize, strict: bool) -> RunOptions {
        RunOptions {
            jobs,
            accept: false,
            strict,
            retries: 0,
            slow_after: Duration::from_secs(15),
            secrets: Vec::new(),
            strict_recordings: false,
        }
    }
}

/// A case executed and checked, with nothing written: for impact analysis and lineage.
pub struct Evaluated {
    pub case: Arc<Case>,
    pub execution: execute::Execution,
    pub verdict: check::Verdict,
}

/// What one case came to: its last attempt (or why it gave none), after the failed attempts.
struct Attempts {
    last: Result<Evaluated, Abandoned>,
    failed: Vec<Evaluated>,
}

/// How [`in_order`] runs its cases.
#[derive(Clone, Copy)]
struct Schedule {
    /// How many at a time.
    jobs: usize,
    strict: bool,
    /// Run a failed case again this many times; `None` never retries.
    retries: Option<u32>,
    /// Report a case as slow after this long (and again each time as long again).
    slow_after: Duration,
}

/// Progress of cases in flight, as it happens.
enum Progress {
    Started(usize),
    Slow(usize, Duration),
}

/// Run every case of `plan`.
pub fn run(
    project: &Project,
    plan: &Plan,
    options: &RunOptions,
    reporters: &mut [&mut dyn Reporter],
) -> Result<Summary, Error> {
    let reporters = RefCell::new(reporters);
    let finished: RefCell<Vec<CaseReport>> = RefCell::new(Vec::new());
    let started = Instant::now();
    let summary = |cases: Vec<CaseReport>| Summary {
        cases,
        duration: started.elapsed(),
        jobs: options.jobs.max(1),
        planned: plan.cases.len(),
        selected: plan.cases.iter().map(|c| c.id.clone()).collect(),
        sharing: plan.sharing.clone(),
    };
    let secrets = Arc::new(Secrets::for_run(plan, &options.secrets));
    runtime()?.block_on(async {
        let Some(signal) = run_cases(project, plan, options, &secrets, &reporters, &finished).await? else {
            let s = summary(finished.take());
            emit(&reporters, &Event::RunFinished { summary: &s })?;
            return Ok(s);
        };
        let s = summary(finished.take());
        emit(&reporters, &Event::RunCancelled { summary: &s, signal })?;
        Err(Error::Interrupted)
    })
}

/// Execute and check `cases` (no snapshot is written), in case order.
pub fn evaluate(
    project: &Project,
    plan: &Plan,
    cases: &[Arc<Case>],
    jobs: usize,
    strict: bool,
) -> Result<Vec<Evaluated>, Error> {
    let secrets = Arc::new(Secrets::for_run(plan, &[]));
    runtime()?.block_on(async {
        let mut out = Vec::with_capacity(cases.len());
        // Never retried: a failed attempt would be dropped here, passing a flaky case silently.
        let schedule = Schedule { jobs, strict, retries: None, slow_after: Duration::MAX };
        let interrupted = in_order(project, plan, &secrets, cases, &schedule, &|_| Ok(()), |case, attempts| {
            out.push((case.id.clone(), attempts.last));
            Ok(())
        })
        .await?;
        // An interrupt says so (exit 130) whatever became of the cases that finished.
        if interrupted.is_some() {
            return Err(Error::Interrupted);
        }
        out.into_iter().map(|(id, last)| last.map_err(|why| Error::Environment(format!("{id}: {why}")))).collect()
    })
}

/// The dispatching thread's runtime: it only hands cases to workers and keeps their time, so it
/// stays responsive whatever a case does — also to Ctrl-C and SIGTERM.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))
}

/// Resolves with the signal's name when the run is interrupted. The handlers are installed when
/// this is called, not when it is first polled: a signal arriving in between (a `select!` may poll
/// another branch first) would otherwise meet the default action and end the process unreported.
/// Call it inside the runtime.
pub(crate) fn interrupted() -> impl std::future::Future<Output = &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = signal(SignalKind::interrupt()).and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
        async move {
            match handlers {
                Ok((mut int, mut term)) => {
                    tokio::select! {
                        _ = int.recv() => "SIGINT",
                        _ = term.recv() => "SIGTERM",
                    }
                }
                // Without signal handling the default (exit at once) applies.
                Err(_) => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            "Ctrl-C"
        }
    }
}

/// How long past its own limit a case may take to report before it is given up as stuck: the
/// limit already stopped the flow if the flow could be stopped; this covers checking and writing.
const STUCK_GRACE: Duration = Duration::from_secs(10);

impl std::fmt::Display for Abandoned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Abandoned::Panicked(message) => write!(
                f,
                "the harness crashed running this scenario ({message}); this is a bug in the harness, please report it"
            ),
            Abandoned::Stuck(waited, Some(e)) => write!(
                f,
                "{} did not finish within {}; the case was abandoned",
                named(e),
                harness_core::duration::format(waited.saturating_sub(STUCK_GRACE))
            ),
            Abandoned::Stuck(waited, None) => write!(
                f,
                "flow did not finish within {} and could not be stopped: it is busy computing, most likely a jq expression that never ends (`repeat`, `until`, `range` without an end, recursion); the case was abandoned",
                harness_core::duration::format(waited.saturating_sub(STUCK_GRACE))
            ),
            Abandoned::OutOfMemory(limit, e) => {
                let what = e.as_ref().map_or_else(|| "the scenario".to_string(), named);
                write!(f, "{what} used more than {} MiB and was stopped; the case was abandoned", limit >> 20)
            }
            Abandoned::TooDeep(e) => {
                let what = e.as_ref().map_or_else(|| "the scenario".to_string(), named);
                write!(
                    f,
                    "{what} recursed too deeply (a function calling itself without end, or a value nested thousands of levels deep) and was stopped; the case was abandoned"
                )
            }
            Abandoned::NotRun { stuck } => write!(
                f,
                "not run: {stuck} scenario(s) before it are stuck computing and keep every CPU busy; fix those first"
            ),
        }
    }
}

/// `reconcile `…` at scenarios/x.yaml:12`: an expression as a runaway's report names it.
fn named(e: &harness_expr::Evaluation) -> String {
    let text: String = e.text.chars().take(120).collect();
    let text = if text.len() < e.text.len() { format!("{text}…") } else { text };
    match &e.origin {
        Some(o) => format!("{} `{text}` at {}:{}", o.what, o.file.display(), o.line),
        None => format!("jq `{text}`"),
    }
}

async fn run_cases(
    project: &Project,
    plan: &Plan,
    options: &RunOptions,
    secrets: &Arc<Secrets>,
    reporters: &RefCell<&mut [&mut dyn Reporter]>,
    finished: &RefCell<Vec<CaseReport>>,
) -> Result<Option<&'static str>, Error> {
    let jobs = options.jobs.max(1);
    emit(reporters, &Event::RunStarted { cases: plan.cases.len(), jobs })?;
    let progress = |p: Progress| match p {
        Progress::Started(i) => emit(reporters, &Event::CaseStarted { id: &plan.cases[i].id }),
        Progress::Slow(i, elapsed) => emit(reporters, &Event::CaseSlow { id: &plan.cases[i].id, elapsed }),
    };
    // A scenario's versions are compared in plan order, before any of them is written or accepted.
    let mut versions = check::Ledger::default();
    let schedule =
        Schedule { jobs, strict: options.strict, retries: Some(options.retries), slow_after: options.slow_after };
    in_order(project, plan, secrets, &plan.cases, &schedule, &progress, |case, mut attempts| {
        if let Ok(evaluated) = &mut attempts.last {
            versions.compare(case, &evaluated.execution.exchanges, &mut evaluated.verdict, options.strict);
        }
        let retries: Vec<CaseReport> =
            attempts.failed.into_iter().map(|a| masked(secrets, attempt_report(a))).collect();
        for (n, r) in retries.iter().enumerate() {
            emit(reporters, &Event::CaseRetried { report: r, attempt: n as u32 + 1 })?;
        }
        let report = match attempts.last {
            Ok(evaluated) => CaseReport { retries, ..masked(secrets, record(evaluated, options, secrets)?) },
            Err(why) => CaseReport { retries, ..abandoned_report(case, why) },
        };
        let event = if report.abandoned {
            Event::CaseAbandoned { report: &report }
        } else {
            Event::CaseFinished { report: &report }
        };
        emit(reporters, &event)?;
        finished.borrow_mut().push(report);
        Ok(())
    })
    .await
}

/// Execute and check every case, `jobs` at a time on worker threads, and hand the results to
/// `done` in case order (early finishers wait for those before them). A case whose integration
/// still runs after it (a service) waits for its late window to close — the next case on the
/// same service ended, or the run's end, once the service was idle again — and is handed over
/// with the late traffic it had, failing it: a verdict is reported once. Files are written only by
/// `done`, on this thread: a case given up on can never write after it was reported.
///
/// A case that panics, or is still busy well past its limit, is handed over as abandoned, so one
/// broken case neither takes the run down with it nor hangs it. Each stuck case keeps a CPU busy;
/// once as many are stuck as there are CPUs, the remaining cases are not started.
///
/// A failed case of a program's flow runs again up to `schedule.retries` times (or its flow's
/// `retries:`, whichever is more).
///
/// On Ctrl-C or SIGTERM the programs are stopped and every case that finished is handed over at
/// once, those whose late window was still open failing for it; returns the signal's name.
async fn in_order(
    project: &Project,
    plan: &Plan,
    secrets: &Arc<Secrets>,
    cases: &[Arc<Case>],
    schedule: &Schedule,
    progress: &dyn Fn(Progress) -> Result<(), Error>,
    mut done: impl FnMut(&Case, Attempts) -> Result<(), Error>,
) -> Result<Option<&'static str>, Error> {
    let Schedule { jobs, strict, retries, slow_after } = *schedule;
    let workers = Workers::new(project.root.clone(), plan.registry.clone(), secrets.clone(), mock_limits(project));
    let stuck = std::cell::Cell::new(0);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut results = futures_util::stream::iter(cases.iter().cloned().enumerate())
        .map(|(index, case)| {
            let (workers, stuck) = (&workers, &stuck);
            async move {
                if stuck.get() >= cpus {
                    return (
                        index,
                        Ok(Attempts { last: Err(Abandoned::NotRun { stuck: stuck.get() }), failed: Vec::new() }),
                    );
                }
                if let Err(e) = progress(Progress::Started(index)) {
                    return (index, Err(e));
                }
                let mut failed = Vec::new();
                // Built-in flows run on the virtual clock with seeded jitter: a second attempt
                // would fail the same way, so only programs (services, commands) are retried.
                let retries = match retries {
                    Some(asked) if !case.flow.driver.virtual_time() => asked.max(case.flow.retries),
                    _ => 0,
                };
                let last = loop {
                    let attempt = watched(index, slow_after, progress, attempt(workers, plan, &case, strict)).await;
                    match attempt {
                        Err(e) => return (index, Err(e)),
                        Ok(Ok(evaluated)) if !evaluated.verdict.passed() && failed.len() < retries as usize => {
                            failed.push(evaluated)
                        }
                        Ok(outcome) => break outcome,
                    }
                };
                if let Err(Abandoned::Stuck(..)) = last {
                    stuck.set(stuck.get() + 1);
                }
                (index, Ok(Attempts { last, failed }))
            }
        })
        .buffer_unordered(jobs.max(1));
    let mut waiting = Waiting::default();
    let stop = interrupted();
    tokio::pin!(stop);
    loop {
        let next = tokio::select! {
            next = results.next() => next,
            signal = &mut stop => return waiting.cut_short(cases, signal, &mut done).map(|()| Some(signal)),
        };
        let Some((index, outcome)) = next else { break };
        waiting.add(&cases[index], index, outcome?);
        waiting.hand_over(cases, Until::Closed, &mut done)?;
    }
    // What services sent after their job's last case, before the workers stop them: every late
    // window closes.
    let late = tokio::select! {
        late = workers.finish() => late,
        signal = &mut stop => return waiting.cut_short(cases, signal, &mut done).map(|()| Some(signal)),
    };
    for l in late {
        waiting.late.entry(l.scenario.clone()).or_default().push(l);
    }
    waiting.hand_over(cases, Until::End, &mut done).map(|()| None)
}

/// How far [`Waiting::hand_over`] goes.
#[derive(Clone, Copy)]
enum Until {
    /// As far as the late windows are closed.
    Closed,
    /// Everything: the run ended and closed every window.
    End,
    /// Everything that finished: the run was interrupted by this signal, cutting short the windows
    /// still open.
    Interrupted(&'static str),
}

/// Results not handed over yet, and what is known of late windows.
#[derive(Default)]
struct Waiting {
    results: BTreeMap<usize, Attempts>,
    next: usize,
    /// Late requests by the scenario they fail.
    late: BTreeMap<String, Vec<harness_mock::LateRequest>>,
    closed: std::collections::BTreeSet<u64>,
}

impl Waiting {
    fn add(&mut self, case: &Case, index: usize, attempts: Attempts) {
        for run in runs(&attempts) {
            self.closed.extend(run.closes);
            for l in run.late.iter().filter(|l| l.scenario != case.id) {
                self.late.entry(l.scenario.clone()).or_default().push(l.clone());
            }
        }
        self.results.insert(index, attempts);
    }

    /// Hand the results over in case order, as far as `until` says.
    fn hand_over(
        &mut self,
        cases: &[Arc<Case>],
        until: Until,
        done: &mut impl FnMut(&Case, Attempts) -> Result<(), Error>,
    ) -> Result<(), Error> {
        while let Some(attempts) = self.results.get(&self.next) {
            let open = runs(attempts).any(|r| r.window.is_some_and(|w| !self.closed.contains(&w)));
            if open && matches!(until, Until::Closed) {
                break;
            }
            let mut attempts = self.results.remove(&self.next).expect("present");
            let case = &cases[self.next];
            if let Ok(evaluated) = &mut attempts.last {
                if let Some(mut late) = self.late.remove(&case.id) {
                    late.sort_by(|a, b| (&a.system, &a.request, a.after).cmp(&(&b.system, &b.request, b.after)));
                    evaluated.verdict.findings.extend(late.iter().map(check::late::finding));
                }
                if let (true, Until::Interrupted(signal)) = (open, until) {
                    evaluated.verdict.findings.push(check::late::cut_short(signal));
                }
                evaluated.verdict.findings.sort_by_key(|f| f.kind);
            }
            done(case, attempts)?;
            self.next += 1;
        }
        Ok(())
    }

    /// The run was interrupted: stop the programs, then hand over every case that finished — also
    /// those after a case still running, skipping it.
    fn cut_short(
        &mut self,
        cases: &[Arc<Case>],
        signal: &'static str,
        done: &mut impl FnMut(&Case, Attempts) -> Result<(), Error>,
    ) -> Result<(), Error> {
        harness_flows::kill_running_programs();
        while let Some(&first) = self.results.keys().next() {
            self.next = first;
            self.hand_over(cases, Until::Interrupted(signal), done)?;
        }
        Ok(())
    }
}

/// The runs of a case's attempts.
fn runs(attempts: &Attempts) -> impl Iterator<Item = &harness_flows::FlowRun> {
    attempts.failed.iter().chain(attempts.last.as_ref().ok()).map(|e| &e.execution.run)
}

/// The mocks' limits: `mocks:` in harness.yaml over the defaults.
pub(crate) fn mock_limits(project: &Project) -> harness_mock::Limits {
    let (spec, default) = (&project.settings.mocks, harness_mock::Limits::default());
    harness_mock::Limits {
        max_connections: spec.max_connections.unwrap_or(default.max_connections).max(1),
        max_body: spec.max_body.as_ref().map_or(default.max_body, |b| b.value),
    }
}

/// One attempt at a case, on a worker.
async fn attempt(
    workers: &Workers,
    plan: &Plan,
    case: &Arc<Case>,
    strict: bool,
) -> Result<Result<Evaluated, Abandoned>, Error> {
    let patience = case.timeout + STUCK_GRACE;
    let (case, registry) = (case.clone(), plan.registry.clone());
    workers
        .run(patience, move |shared| async move {
            let execution = execute::execute(&case, &shared).await?;
            let verdict = check::check(&case, &execution, &registry, strict);
            Ok(Evaluated { case, execution, verdict })
        })
        .await
}

/// `work`, reporting it as slow each time it has run `slow_after` longer.
async fn watched<T>(
    index: usize,
    slow_after: Duration,
    progress: &dyn Fn(Progress) -> Result<(), Error>,
    work: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::pin!(work);
    let started = tokio::time::Instant::now();
    let mut next = slow_after;
    loop {
        let deadline = started.checked_add(next).unwrap_or_else(|| started + Duration::from_secs(86_400 * 365));
        tokio::select! {
            out = &mut work => return out,
            _ = tokio::time::sleep_until(deadline) => {
                progress(Progress::Slow(index, next))?;
                next = next.saturating_add(slow_after);
            }
        }
    }
}

/// The report of a case whose task panicked or was abandoned: a failure that says so, instead of a
/// crashed or hung run.
fn abandoned_report(case: &Case, why: Abandoned) -> CaseReport {
    let duration = match why {
        Abandoned::Stuck(waited, _) => waited,
        Abandoned::Panicked(_) | Abandoned::NotRun { .. } | Abandoned::OutOfMemory(..) | Abandoned::TooDeep(_) => {
            Duration::ZERO
        }
    };
    CaseReport { abandoned: true, ..blank_report(case, duration, vec![check::Finding::internal(why.to_string())]) }
}

/// A case's report: who it is and what was found, with nothing recorded yet.
fn blank_report(case: &Case, duration: Duration, findings: Vec<check::Finding>) -> CaseReport {
    CaseReport {
        id: case.id.clone(),
        file: case.scenario.display.clone(),
        flow: case.flow.name.clone(),
        description: case.scenario.spec.description.clone(),
        tags: case.scenario.spec.tags.clone(),
        versions: case.systems.iter().map(|(k, s)| (k.clone(), s.version.clone())).collect(),
        passed: findings.iter().all(|f| f.warning),
        duration,
        findings,
        snapshots: Vec::new(),
        records: Vec::new(),
        waits: Vec::new(),
        refreshes: BTreeMap::new(),
        requests: 0,
        exchanges: Vec::new(),
        output: String::new(),
        retries: Vec::new(),
        abandoned: false,
    }
}

/// The report of a failed attempt that is run again: nothing of it is written.
fn attempt_report(evaluated: Evaluated) -> CaseReport {
    let Evaluated { case, execution, verdict } = evaluated;
    let run = execution.run;
    CaseReport {
        records: run.records,
        waits: run.waits,
        refreshes: run.refreshes,
        requests: execution.exchanges.len(),
        output: run.output,
        ..blank_report(&case, execution.duration, verdict.findings)
    }
}

fn emit(reporters: &RefCell<&mut [&mut dyn Reporter]>, event: &Event<'_>) -> Result<(), Error> {
    for r in reporters.borrow_mut().iter_mut() {
        r.report(event).map_err(|e| Error::Environment(format!("cannot write a report: {e}")))?;
    }
    Ok(())
}

/// Write (or accept) a checked case's snapshots, as the options say, and make its report.
fn record(evaluated: Evaluated, options: &RunOptions, secrets: &Secrets) -> Result<CaseReport, Error> {
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
                snapshot::write_atomic(&slot.path, &secrets.mask(&result.produced.render())).map_err(io)?;
                remove_if_present(&pending).map_err(io)?;
                SnapshotAction::Accepted
            }
            _ => {
                snapshot::write_atomic(&pending, &secrets.mask(&result.produced.render())).map_err(io)?;
                SnapshotAction::PendingWritten
            }
        };
        snapshots.push(SnapshotReport {
            system: slot.system.clone(),
            path: slot.display.clone(),
            state: result.state,
            action,
        });
    }

    let mut findings = verdict.findings;
    if accept {
        findings.retain(|f| !f.kind.is_snapshot_difference());
    }
    findings.extend(case.stale.iter().map(|s| check::Finding::stale(s, options.strict_recordings)));
    findings.sort_by_key(|f| f.kind);
    let run = execution.run;
    Ok(CaseReport {
        snapshots,
        records: run.records,
        waits: run.waits,
        refreshes: run.refreshes,
        requests: execution.exchanges.len(),
        exchanges: ExchangeLine::list(&execution.exchanges, |text| secrets.mask(text).into_owned()),
        output: run.output,
        ..blank_report(case, execution.duration, findings)
    })
}

/// A report with the run's secrets masked in its text.
fn masked(secrets: &Secrets, mut report: CaseReport) -> CaseReport {
    crate::events::mask_report(secrets, &mut report);
    report
}

fn remove_if_present(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
