//! Service flows: the integration is a web service. It is started once per job with the mocks'
//! URLs in its environment (mocks that keep their ports for the whole job, their answers and
//! records reset scenario by scenario), made ready, and then each case delivers the trigger to
//! it over HTTP the way the source system would — a signed Shopify webhook, a Peoplevox callback
//! — and ends once the service has answered and then stayed idle for the settle window: nothing
//! in flight to its mocks, nothing of its process tree running ([`settle`]). A case's time limit
//! runs on a clock load cannot cut short (the service's tree's, the mocks' and the case's own
//! threads' waits for a CPU do not count). What the service sends for a case after it ended is
//! that case's late traffic, never the next case's ([`attribute`]): the case's late window stays
//! open until the next case on the service has ended, or, after the job's last case, until the
//! service has been idle for the settle window again. A service that dies fails the case it was
//! in and is started again for the next; `restart: per-scenario` starts a fresh one for every case.

mod attribute;
mod deliver;
mod process;
mod settle;
#[cfg(test)]
mod testing;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness_core::{Diagnostic, Outcome, SystemId};
use harness_mock::{Arrival, LateRequest, MockPorts};
use harness_syntax::service::{Restart, ServiceSpec};
use harness_systems::SystemVersion;

use crate::driver::{CaseContext, FlowDriver, FlowInstance, JobContext, LocalBoxFuture, PrepareError};
use crate::program::{self, Program};
use crate::source::FlowSource;
use crate::{FlowRun, RunStatus};

use attribute::Marks;
use deliver::Deliver;
use process::{Ready, Running};

/// How long a service may take to become ready, by default.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// The quiet a settle window waits for, by default.
const SETTLE: Duration = Duration::from_millis(200);
/// After a job's last case, how far ahead a plain sleep of the service (`sleep`, `time.sleep`: a
/// retry after `Retry-After`) is waited for, its settle window when longer. Other timed waits — an
/// event loop's next timer — count only within the window: an idle keep-alive connection keeps
/// one armed for seconds (undici 4 s, Node's server 5 s), and waiting those out made every job's
/// end seconds longer.
const LATE_TIMERS: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct ServiceFlow {
    program: Arc<Program>,
    config: Arc<Config>,
}

#[derive(Debug)]
struct Config {
    ready: Ready,
    ready_timeout: Duration,
    deliver: Deliver,
    settle: Duration,
    restart: Restart,
}

/// A service flow, checked: its program as a command's, `ready:` one condition, `deliver:` a
/// path and method it can send.
pub(crate) fn compile(source: &FlowSource<'_>) -> Result<Arc<dyn FlowDriver>, Vec<Diagnostic>> {
    let Some(spec) = &source.spec.service else { unreachable!("compiled as a service flow because it has `service`") };
    let ServiceSpec { command, ready, deliver, settle, restart } = spec;
    let mut errors = Vec::new();
    let program = Program::compile(source, command, true).map_err(|mut e| errors.append(&mut e)).ok();
    let ready_check = Ready::compile(source, ready).map_err(|e| errors.push(e)).ok();
    let deliver = Deliver::compile(source, deliver).map_err(|e| errors.push(e)).ok();
    match (program, ready_check, deliver) {
        (Some(program), Some(ready_check), Some(deliver)) if errors.is_empty() => Ok(Arc::new(ServiceFlow {
            program: Arc::new(program),
            config: Arc::new(Config {
                ready: ready_check,
                ready_timeout: ready.timeout.unwrap_or(READY_TIMEOUT),
                deliver,
                settle: settle.unwrap_or(SETTLE),
                restart: *restart,
            }),
        })),
        _ => Err(errors),
    }
}

impl FlowDriver for ServiceFlow {
    fn virtual_time(&self) -> bool {
        false
    }

    fn grace(&self) -> Option<Duration> {
        // The case ends itself at its limit, on a clock load cannot cut short: a backstop on the
        // wall clock would.
        None
    }

    fn accounts_for_every_record(&self) -> bool {
        false
    }

    fn check_versions(&self, systems: &BTreeMap<SystemId, Arc<SystemVersion>>) -> Vec<Diagnostic> {
        self.program.check_versions(systems)
    }

    fn prepare(&self, job: &JobContext) -> Result<Arc<dyn FlowInstance>, PrepareError> {
        let ports = MockPorts::new(job.limits).map_err(PrepareError::MockThread)?;
        let port = process::free_port().map_err(PrepareError::NoPort)?;
        Ok(Arc::new(Instance {
            program: self.program.clone(),
            config: self.config.clone(),
            job: job.clone(),
            ports,
            port,
            running: Mutex::new(None),
            watch: Mutex::new(None),
            ended: Mutex::new(None),
        }))
    }
}

/// A service for one job: its own mocks, its own port, the running process (if any).
struct Instance {
    program: Arc<Program>,
    config: Arc<Config>,
    job: JobContext,
    ports: MockPorts,
    /// Where the service listens, the same for every process of this job.
    port: u16,
    running: Mutex<Option<Running>>,
    /// What watches the running service, kept from case to case so that when each of its threads
    /// last ran stays known (`Activity::timer_within`).
    watch: Mutex<Option<harness_procs::Activity>>,
    /// The job's last case, while the service still runs: its late window is open.
    ended: Mutex<Option<Ended>>,
}

/// A case over, its service still running.
struct Ended {
    marks: Marks,
    at: Instant,
    window: u64,
    /// Its settle window and time limit, which bound the wait for its late traffic at the end.
    settle: Duration,
    limit: Duration,
}

/// Numbers late windows, unique in the run.
static WINDOWS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl FlowInstance for Instance {
    fn mock_ports(&self) -> Option<&MockPorts> {
        Some(&self.ports)
    }

    fn run<'a>(&'a self, case: CaseContext<'a>) -> LocalBoxFuture<'a, FlowRun> {
        Box::pin(self.run_case(case))
    }

    fn finish(&self) -> LocalBoxFuture<'_, Vec<LateRequest>> {
        Box::pin(async move {
            // The service still running is waited for as in a case: until it has been idle for
            // the settle window (its flow's or its last scenario's, the longer) since the last
            // request came, and — no later scenario being there to see what it sends then — with
            // no timer of its own due within that window (a plain sleep: within `LATE_TIMERS`, if
            // longer), within that scenario's time limit; then it is stopped with the job.
            let ended = self.ended.lock().expect("service").take();
            let running = self.running.lock().expect("service").take();
            if let (Some(running), Some(ended)) = (running, ended) {
                if running.exited().is_none() {
                    let kept = self.watch.lock().expect("service").take();
                    let mut activity = kept.unwrap_or_else(|| running.activity(self.ports.threads()));
                    let window = ended.settle.max(self.config.settle);
                    let timers = Some(window.max(LATE_TIMERS));
                    tokio::select! {
                        () = settle::quiet(|| (self.ports.late_received(), 0), &mut activity, window, timers) => {}
                        () = running.limit(ended.limit, self.ports.threads()) => {}
                        () = running.exit() => {}
                    }
                }
                *self.running.lock().expect("service") = Some(running);
            }
            let mut late = self.ports.take_late();
            for l in &mut late {
                l.arrival = Arrival::AfterLast;
            }
            late
        })
    }
}

impl Instance {
    async fn run_case(&self, case: CaseContext<'_>) -> FlowRun {
        let started = Instant::now();
        let before = self.ended.lock().expect("service").take();
        let marks = Marks::of(case.id, case.input);
        let mut run = self.serve_case(&case).await;
        // The previous case's late window closes now: what reached the mocks between the two
        // cases, and what this one's mocks received that carries its values, is its late traffic.
        if let Some(before) = before {
            run.closes = Some(before.window);
            let mut sorted = attribute::sort(case.traffic.log, &before.marks, before.at, &marks, started);
            run.late.extend(self.ports.take_late());
            run.late.append(&mut sorted.late);
            run.doubts = sorted.doubts;
        }
        let kept = self.running.lock().expect("service").is_some();
        if kept {
            let window = WINDOWS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            run.window = Some(window);
            let settle = case.traffic.settle.unwrap_or(self.config.settle);
            *self.ended.lock().expect("service") =
                Some(Ended { marks, at: Instant::now(), window, settle, limit: case.timeout });
        }
        run
    }

    async fn serve_case(&self, case: &CaseContext<'_>) -> FlowRun {
        // A case runs alone on its job: the process is this case's until it gives it back.
        let (running, fresh) = match self.service_for(case).await {
            Ok(r) => r,
            Err(message) => return FlowRun::failed(message),
        };
        let limit = running.limit(case.timeout, self.ports.threads());
        tokio::pin!(limit);
        if fresh {
            let ready = self.config.ready.wait(&running, &self.job, self.port, self.config.ready_timeout);
            let failed = tokio::select! {
                ready = ready => ready.err(),
                () = &mut limit => Some(format!(
                    "was not ready within the scenario's time limit ({})",
                    harness_core::duration::format(case.timeout)
                )),
            };
            if let Some(why) = failed {
                return FlowRun::failed(format!(
                    "the service `{}` {why}; the end of its output:\n{}",
                    self.program.shown(),
                    running.tail()
                ));
            }
        }
        running.forget_output().await;
        // What of the service runs for this case from here on is known to: see `settle`.
        let kept = self.watch.lock().expect("service").take().filter(|_| !fresh);
        let mut activity = kept.unwrap_or_else(|| running.activity(self.ports.threads()));
        activity.observe();
        let mut run = FlowRun::completed();
        let url = format!("http://127.0.0.1:{}", self.port);
        let timed_out = || RunStatus::TimedOut(case.timeout);
        let delivered = tokio::select! {
            answers = self.config.deliver.deliver(&self.job, case, &url, |d| running.limit(d, self.ports.threads())) => Some(answers),
            () = running.exit() => None,
            () = &mut limit => Some(Err(timed_out())),
        };
        let outcome = match delivered {
            Some(Ok(answers)) => {
                run.answers = answers;
                let window = case.traffic.settle.unwrap_or(self.config.settle);
                tokio::select! {
                    () = self.finished(&running, &mut activity, case, window) => Ok(()),
                    () = running.exit() => Err(RunStatus::Failed(String::new())),
                    () = &mut limit => Err(timed_out()),
                }
            }
            Some(Err(status)) => Err(status),
            None => Err(RunStatus::Failed(String::new())),
        };
        if let Err(status) = outcome {
            run.status = status;
        }
        if let Some(how) = running.exited() {
            run.status = RunStatus::Failed(format!(
                "the service `{}` {how} during the scenario; the end of its output:\n{}",
                self.program.shown(),
                running.tail()
            ));
        }
        // Record lines written just before the end are the case's too.
        let output = running.drained_output().await;
        run.records = program::parse_records(&output);
        run.output = program::truncate(output);
        if running.exited().is_none() && self.config.restart == Restart::PerRun {
            *self.running.lock().expect("service") = Some(running);
            *self.watch.lock().expect("service") = Some(activity);
        }
        run
    }

    /// Resolves when the case is over: the integration idle for `window` ([`settle`]), and — when
    /// the scenario expects the flow to fail and the service has reported no failed record —
    /// never (the caller sees the service's exit, or the scenario's time limit).
    async fn finished(
        &self,
        running: &Running,
        activity: &mut harness_procs::Activity,
        case: &CaseContext<'_>,
        window: Duration,
    ) {
        settle::quiet(settle::of(case.traffic.log), activity, window, None).await;
        if case.traffic.until_exit {
            let failed = program::parse_records(&running.drained_output().await)
                .iter()
                .any(|r| matches!(r.outcome, Outcome::DeadLettered | Outcome::NotProcessed));
            if !failed {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The running service for `case`: the one of the job when it still runs with the same
    /// systems, else a new one (`true`), still to be made ready.
    async fn service_for(&self, case: &CaseContext<'_>) -> Result<(Running, bool), String> {
        let fingerprint = process::fingerprint(case.systems, case.base_urls);
        let kept = self.running.lock().expect("service").take();
        if let Some(running) = kept
            && running.exited().is_none()
            && running.fingerprint == fingerprint
        {
            return Ok((running, false));
        }
        let mut command = self.program.command(case.systems, case.base_urls, Some(self.port))?;
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let contained = program::contain(&format!("service:{}", self.port))?;
        let child = self.program.spawn(command, &contained).await?;
        Ok((Running::watch(child, contained, fingerprint, self.ports.handle(), self.ports.threads()), true))
    }
}
