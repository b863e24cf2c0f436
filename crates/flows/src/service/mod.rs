//! Service flows: the integration is a web service. It is started once per job with the mocks'
//! URLs in its environment (mocks that keep their ports for the whole job, their answers and
//! records reset scenario by scenario), made ready, and then each case delivers the trigger to
//! it over HTTP the way the source system would — a signed Shopify webhook, a Peoplevox callback
//! — and ends once the service has answered and then stayed idle for the settle window: nothing
//! in flight to its mocks, nothing of its process tree running ([`settle`]). A service that dies fails the case it was in and is started again for the
//! next; `restart: per-scenario` starts a fresh one for every case.

mod deliver;
mod process;
mod settle;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness_core::{Diagnostic, Outcome, SystemId};
use harness_mock::{LateRequest, MockPorts};
use harness_syntax::service::{Restart, ServiceSpec};
use harness_systems::SystemVersion;

use crate::driver::{CaseContext, FlowDriver, FlowInstance, JobContext, LocalBoxFuture};
use crate::program::{self, Program};
use crate::source::FlowSource;
use crate::{FlowRun, RunStatus};

use deliver::Deliver;
use process::{Ready, Running};

/// How long a service may take to become ready, by default.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// The quiet a settle window waits for, by default.
const SETTLE: Duration = Duration::from_millis(200);

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

    fn accounts_for_every_record(&self) -> bool {
        false
    }

    fn check_versions(&self, systems: &BTreeMap<SystemId, Arc<SystemVersion>>) -> Vec<Diagnostic> {
        self.program.check_versions(systems)
    }

    fn prepare(&self, job: &JobContext) -> Result<Arc<dyn FlowInstance>, String> {
        let ports = MockPorts::new(job.limits)
            .map_err(|e| format!("cannot start the thread the service's mocks run on: {e}"))?;
        let port =
            process::free_port().map_err(|e| format!("cannot find a free port on 127.0.0.1 for the service: {e}"))?;
        Ok(Arc::new(Instance {
            program: self.program.clone(),
            config: self.config.clone(),
            job: job.clone(),
            ports,
            port,
            running: Mutex::new(None),
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
}

impl FlowInstance for Instance {
    fn mock_ports(&self) -> Option<&MockPorts> {
        Some(&self.ports)
    }

    fn run<'a>(&'a self, case: CaseContext<'a>) -> LocalBoxFuture<'a, FlowRun> {
        Box::pin(self.run_case(case))
    }

    fn finish(&self) -> LocalBoxFuture<'_, Vec<LateRequest>> {
        Box::pin(async move {
            // The service still running is given the settle window, measured as in a case, for
            // what it still sends after the job's last case; then it is stopped with the job.
            let running = self.running.lock().expect("service").take();
            if let Some(running) = running {
                if running.exited().is_none() {
                    let mut activity = running.activity(self.ports.threads());
                    let _ = settle::quiet(
                        || (self.ports.late_received(), 0),
                        &mut activity,
                        self.config.settle,
                        Instant::now() + FINISH_LIMIT,
                    )
                    .await;
                }
                *self.running.lock().expect("service") = Some(running);
            }
            self.ports.take_late()
        })
    }
}

/// The longest the end of a run waits for a service's last requests.
const FINISH_LIMIT: Duration = Duration::from_secs(10);

impl Instance {
    async fn run_case(&self, case: CaseContext<'_>) -> FlowRun {
        let started = Instant::now();
        let deadline = started + case.timeout;
        // A case runs alone on its job: the process is this case's until it gives it back.
        let running = match self.service_for(&case, deadline).await {
            Ok(r) => r,
            Err(message) => return FlowRun::failed(message),
        };
        running.forget_output().await;
        // What of the service runs for this case from here on is known to: see `settle`.
        let mut activity = running.activity(self.ports.threads());
        activity.observe();
        // What reached the mocks after the job's previous case ended: reported, never dropped.
        let mut run = FlowRun { late: self.ports.take_late(), ..FlowRun::completed() };
        let url = format!("http://127.0.0.1:{}", self.port);
        let delivered = tokio::select! {
            answers = self.config.deliver.deliver(&self.job, &case, &url) => Some(answers),
            _ = running.exit() => None,
            _ = tokio::time::sleep_until(deadline.into()) => Some(Err(RunStatus::TimedOut(case.timeout))),
        };
        let outcome = match delivered {
            Some(Ok(answers)) => {
                run.answers = answers;
                let window = case.traffic.settle.unwrap_or(self.config.settle);
                tokio::select! {
                    done = self.finished(&running, &mut activity, &case, window, deadline) => done.map_err(|()| RunStatus::TimedOut(case.timeout)),
                    _ = running.exit() => Err(RunStatus::Failed(String::new())),
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
        }
        run
    }

    /// Resolves when the case is over: the integration idle for `window` ([`settle`]), and — when
    /// the scenario expects the flow to fail and the service has reported no failed record —
    /// the service's exit (the caller sees it), or `Err` at `deadline`.
    async fn finished(
        &self,
        running: &Running,
        activity: &mut harness_procs::Activity,
        case: &CaseContext<'_>,
        window: Duration,
        deadline: Instant,
    ) -> Result<(), ()> {
        settle::quiet(settle::of(case.traffic.log), activity, window, deadline).await?;
        if case.traffic.until_exit {
            let failed = program::parse_records(&running.drained_output().await)
                .iter()
                .any(|r| matches!(r.outcome, Outcome::DeadLettered | Outcome::NotProcessed));
            if !failed {
                tokio::time::sleep_until(deadline.into()).await;
                return Err(());
            }
        }
        Ok(())
    }

    /// The running service for `case`: the one of the job when it still runs with the same
    /// systems, else a new one, ready.
    async fn service_for(&self, case: &CaseContext<'_>, deadline: Instant) -> Result<Running, String> {
        let fingerprint = process::fingerprint(case.systems, case.base_urls);
        let kept = self.running.lock().expect("service").take();
        if let Some(running) = kept
            && running.exited().is_none()
            && running.fingerprint == fingerprint
        {
            return Ok(running);
        }
        let mut command = self.program.command(case.systems, case.base_urls, Some(self.port))?;
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let contained = program::contain(&format!("service:{}", self.port))?;
        let child = self.program.spawn(command, &contained).await?;
        let running = Running::watch(child, contained, fingerprint, self.ports.handle());
        self.config.ready.wait(&running, &self.job, self.port, self.config.ready_timeout, deadline).await.map_err(
            |why| format!("the service `{}` {why}; the end of its output:\n{}", self.program.shown(), running.tail()),
        )?;
        Ok(running)
    }
}
