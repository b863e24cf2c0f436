//! Execute: one case at a time — start its mocks, run its flow against them, collect every
//! exchange. Judging what happened is the check stage's job.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness_core::{Error, Exchange, SystemId};
use harness_flows::{CaseContext, FlowInstance, FlowRun, JobContext, PrepareError, RunStatus, Traffic, Wait};
use harness_mock::ExchangeLog;
use harness_systems::MockSetup;
use harness_systems::client::HttpClient;

use crate::plan::Case;
use crate::secrets::{self, Secrets};
use harness_redact::SecretMask;

/// What happened when a case ran.
#[derive(Debug, Clone)]
pub struct Execution {
    pub run: FlowRun,
    /// Every request the mocks received, in arrival order.
    pub exchanges: Vec<Exchange>,
    /// Requests a mock crashed on (a harness bug, reported as such).
    pub mock_crashes: Vec<String>,
    pub duration: Duration,
}

/// What the cases one worker runs share: the job's context (its HTTP client's connection pool
/// lives on that worker's runtime) and the flows prepared for the job, by name.
pub struct Shared {
    job: JobContext,
    secrets: Arc<Secrets>,
    limits: harness_mock::Limits,
    instances: Mutex<BTreeMap<String, Arc<dyn FlowInstance>>>,
}

impl Shared {
    pub fn new(
        root: std::path::PathBuf,
        registry: harness_systems::Registry,
        secrets: Arc<Secrets>,
        limits: harness_mock::Limits,
    ) -> Result<Shared, Error> {
        let reqwest = HttpClient::shared_reqwest()?;
        Ok(Shared { job: JobContext { root, registry, reqwest, limits }, secrets, limits, instances: Mutex::default() })
    }

    /// The flow of `case`, prepared for this job on first use.
    fn instance(&self, case: &Case) -> Result<Arc<dyn FlowInstance>, PrepareError> {
        let mut instances = self.instances.lock().expect("flow instances");
        if let Some(i) = instances.get(&case.flow.name) {
            return Ok(i.clone());
        }
        let instance = case.flow.driver.prepare(&self.job)?;
        instances.insert(case.flow.name.clone(), instance.clone());
        Ok(instance)
    }

    /// What the job's flows report once its last case is over ([`FlowInstance::finish`]).
    pub(crate) async fn finish(&self) -> Vec<harness_mock::LateRequest> {
        let instances: Vec<Arc<dyn FlowInstance>> =
            self.instances.lock().expect("flow instances").values().cloned().collect();
        let mut late = Vec::new();
        for instance in instances {
            late.extend(instance.finish().await);
        }
        late
    }
}

pub async fn execute(case: &Case, shared: &Shared) -> Result<Execution, Error> {
    let started = Instant::now();
    let log = ExchangeLog::new();
    let driver = &case.flow.driver;
    let registry = &shared.job.registry;
    let mut servers = Vec::new();
    let mut behaviours = Vec::new();
    let mut base_urls = BTreeMap::new();
    let instance = shared.instance(case);
    // A long-running flow keeps its mocks' ports for the job: the case's answers go behind them.
    let ports = instance.as_ref().ok().and_then(|i| i.mock_ports());
    let contacted = case.flow.contacted_systems();
    for (id, version) in case.systems.iter().filter(|(k, _)| contacted.as_ref().is_none_or(|c| c.contains(k))) {
        let stubs = case.stubs.get(id).cloned().unwrap_or_else(|| Arc::from(Vec::new()));
        let behaviour = registry.system(id).mock(version, case.setups.get(id).unwrap_or(&MockSetup::default()));
        behaviours.push(behaviour.clone());
        let cannot = |e: std::io::Error| {
            Error::Environment(format!("{}: cannot start the {id} mock on 127.0.0.1: {e}", case.id))
        };
        let url = match ports {
            Some(ports) => {
                let handler =
                    harness_mock::StubHandler::new(id.clone(), behaviour, stubs, log.clone(), driver.virtual_time());
                ports.serve(id, 0, Arc::new(handler)).await.map_err(cannot)?
            }
            None => {
                let server = harness_mock::start(
                    id.clone(),
                    behaviour,
                    stubs,
                    log.clone(),
                    driver.virtual_time(),
                    shared.limits,
                )
                .await
                .map_err(cannot)?;
                let url = server.base_url();
                servers.push(server);
                url
            }
        };
        base_urls.insert(id.clone(), url);
    }

    let mut backstop = driver.grace().map(|grace| (case.timeout + grace, harness_procs::Stopwatch::new(this_thread())));
    let mut run = match &instance {
        Err(e) => FlowRun::failed(e.to_string()),
        Ok(instance) => {
            let context = CaseContext {
                id: &case.id,
                trigger: &case.flow.trigger,
                input: &case.trigger,
                systems: &case.systems,
                base_urls: &base_urls,
                policy: &case.policy,
                timeout: case.timeout,
                seed: crate::plan::seed(&case.id),
                traffic: Traffic {
                    log: &log,
                    settle: case.settle,
                    until_exit: case.expect.spec.outcome == Some(harness_syntax::scenario::ExpectedOutcome::Failed),
                },
            };
            let run = instance.run(context);
            match &mut backstop {
                // A flow run in-process (on this thread, its mocks too) is held to its limit on a
                // clock load cannot cut short: time this thread waited for a CPU does not count.
                Some((limit, _)) => tokio::select! {
                    run = run => run,
                    () = harness_procs::limit_reached_by(this_thread(), *limit) => FlowRun::failed(String::new()),
                },
                None => run.await,
            }
        }
    };
    if let Some(ports) = ports {
        ports.quiet(&case.id);
    }
    // Also when the flow finished, but late: busy computing, it could not be stopped at its limit.
    if let Some((limit, watch)) = &mut backstop
        && watch.counted() >= *limit
    {
        run.status = RunStatus::TimedOut(case.timeout);
    }
    drop(servers);
    // Let the servers' tasks see their shutdown before the next case starts more.
    tokio::task::yield_now().await;
    if let Some(problem) = log.environment_problem().or_else(|| run.environment.clone()) {
        return Err(Error::Environment(format!("{}: {problem}", case.id)));
    }
    let exchanges = log.take();
    if !driver.virtual_time() {
        run.waits = observed_waits(&exchanges);
        run.refreshes = observed_refreshes(&exchanges, case, registry);
    }
    let mut execution = Execution { run, exchanges, mock_crashes: log.take_crashes(), duration: started.elapsed() };
    // Before anything judges or shows it: what a mock issued is as secret as what it was given.
    let mask = shared.secrets.with_issued(behaviours.iter().flat_map(|b| b.issued()).collect());
    mask_execution(&mask, &mut execution);
    Ok(execution)
}

/// The thread a case runs on, as a limit's clock watches it.
fn this_thread() -> harness_procs::Activity {
    harness_procs::Activity::new(0, vec![harness_procs::current_thread_id()])
}

/// A program's retries, as the mocks saw them: the same request again (same system, method, path
/// and body) and the wall-clock gap before it. Its own timing cannot be virtual.
fn observed_waits(exchanges: &[Exchange]) -> Vec<Wait> {
    // (system, method, path, body) → (attempts so far, when the last one arrived)
    type SameRequest = (SystemId, String, String, Vec<u8>);
    let mut seen: BTreeMap<SameRequest, (u32, Duration)> = BTreeMap::new();
    let mut waits = Vec::new();
    for e in exchanges {
        let key = (e.system.clone(), e.request.method.clone(), e.request.path.clone(), e.request.body.to_vec());
        match seen.get_mut(&key) {
            Some((attempt, last)) => {
                *attempt += 1;
                waits.push(Wait {
                    system: e.system.clone(),
                    record: String::new(),
                    step: e.request.line(),
                    before_attempt: *attempt,
                    duration: e.at.saturating_sub(*last),
                    reason: "observed".into(),
                });
                *last = e.at;
            }
            None => {
                seen.insert(key, (1, e.at));
            }
        }
    }
    waits
}

/// A program's credential refreshes, as the mocks saw them: each system's token, session and
/// refresh calls after the first.
fn observed_refreshes(
    exchanges: &[Exchange],
    case: &Case,
    registry: &harness_systems::Registry,
) -> BTreeMap<SystemId, usize> {
    let mut calls: BTreeMap<SystemId, usize> = BTreeMap::new();
    for e in exchanges {
        if let Some(version) = case.systems.get(&e.system)
            && registry.system(&e.system).credential_call(version, &e.request)
        {
            *calls.entry(e.system.clone()).or_default() += 1;
        }
    }
    calls.into_iter().filter(|(_, n)| *n > 1).map(|(k, n)| (k, n - 1)).collect()
}

/// Mask everything of an execution that later stages judge or show.
pub(crate) fn mask_execution(mask: &SecretMask, execution: &mut Execution) {
    for e in &mut execution.exchanges {
        secrets::mask_string(mask, &mut e.request.path);
        secrets::mask_string(mask, &mut e.request.query);
        secrets::mask_bytes(mask, &mut e.request.body);
        secrets::mask_bytes(mask, &mut e.response.body);
        for (_, value) in e.request.headers.iter_mut().chain(e.response.headers.iter_mut()) {
            secrets::mask_string(mask, value);
        }
    }
    let run = &mut execution.run;
    secrets::mask_string(mask, &mut run.output);
    if let harness_flows::RunStatus::Failed(message) = &mut run.status {
        secrets::mask_string(mask, message);
    }
    for a in &mut run.answers {
        secrets::mask_string(mask, &mut a.body);
    }
    for r in &mut run.records {
        for text in r.reason.iter_mut().chain(r.last_response.iter_mut()) {
            secrets::mask_string(mask, text);
        }
    }
    for crash in &mut execution.mock_crashes {
        secrets::mask_string(mask, crash);
    }
}
