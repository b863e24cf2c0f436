//! Execute: one case at a time — start its mocks, run its flow against them, collect every
//! exchange. Judging what happened is the check stage's job.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::flow::{self, FlowKind, FlowRun, RunStatus, Wait};
use crate::mock::{self, Exchange, ExchangeLog};
use crate::plan::Case;
use crate::systems;

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

/// Shared by the cases one worker runs: the HTTP client (its connection pool lives on that
/// worker's runtime) and the project root.
pub struct Shared {
    pub reqwest: reqwest::Client,
    pub root: std::path::PathBuf,
}

impl Shared {
    pub fn new(root: std::path::PathBuf) -> Result<Shared, Error> {
        Ok(Shared { reqwest: crate::http::HttpClient::shared_reqwest().map_err(Error::Environment)?, root })
    }
}

pub async fn execute(case: &Case, shared: &Shared) -> Result<Execution, Error> {
    let started = Instant::now();
    let log = ExchangeLog::new();
    let virtual_time = matches!(case.flow.kind, FlowKind::Builtin(_));
    let mut servers = Vec::new();
    let mut base_urls = BTreeMap::new();
    // A built-in flow is known not to call some systems (the source of a webhook); their mocks
    // would only cost a port and a task.
    let contacted = case.flow.contacted_systems();
    for (kind, system) in case.systems.iter().filter(|(k, _)| contacted.as_ref().is_none_or(|c| c.contains(k))) {
        let stubs = case.stubs.get(kind).cloned().unwrap_or_else(|| std::sync::Arc::from(Vec::new()));
        let server = mock::start(*kind, systems::mock_for(system), stubs, log.clone(), virtual_time)
            .await
            .map_err(|e| Error::Environment(format!("{}: cannot start the {kind} mock on 127.0.0.1: {e}", case.id)))?;
        base_urls.insert(*kind, server.base_url.clone());
        servers.push(server);
    }

    let flow = &case.flow;
    let work = async {
        match &flow.kind {
            FlowKind::Builtin(b) => {
                let env = flow::builtin::Env {
                    systems: case.systems.clone(),
                    base_urls: base_urls.clone(),
                    reqwest: shared.reqwest.clone(),
                    policy: case.policy.clone(),
                    trigger_system: flow.trigger.system,
                    fetch: flow.trigger.fetch.clone(),
                    verify_signature: flow.trigger.verify_signature,
                    split: flow.trigger.split.clone(),
                    seed: seed(&case.id),
                };
                flow::builtin::run(b, &env, &case.trigger).await
            }
            FlowKind::Command(c) => {
                let env = flow::command::Env {
                    root: shared.root.clone(),
                    systems: case.systems.clone(),
                    base_urls: base_urls.clone(),
                    trigger_system: flow.trigger.system,
                    event: flow.trigger.event.clone(),
                    scenario: case.id.clone(),
                    timeout: case.timeout,
                };
                c.run(&env, &case.trigger).await
            }
        }
    };
    // A program stops itself at the limit, keeping what it printed; this is only the backstop.
    let backstop = match flow.kind {
        FlowKind::Command(_) => case.timeout + Duration::from_secs(1),
        FlowKind::Builtin(_) => case.timeout,
    };
    let mut run = tokio::time::timeout(backstop, work).await.unwrap_or_else(|_| FlowRun::failed(String::new()));
    // Also when the flow finished, but late: busy computing, it could not be stopped at its limit.
    if started.elapsed() >= backstop {
        run.status = RunStatus::TimedOut(case.timeout);
    }
    drop(servers);
    // Let the servers' tasks see their shutdown before the next case starts more.
    tokio::task::yield_now().await;
    let exchanges = log.take();
    if matches!(flow.kind, FlowKind::Command(_)) {
        run.waits = observed_waits(&exchanges);
    }
    Ok(Execution { run, exchanges, mock_crashes: log.take_crashes(), duration: started.elapsed() })
}

/// An external program's retries, as the mocks saw them: the same request again (same system,
/// method, path and body) and the wall-clock gap before it. Its own timing cannot be virtual.
fn observed_waits(exchanges: &[Exchange]) -> Vec<Wait> {
    // (system, method, path, body) → (attempts so far, when the last one arrived)
    type SameRequest = (crate::systems::SystemKind, String, String, Vec<u8>);
    let mut seen: BTreeMap<SameRequest, (u32, std::time::Duration)> = BTreeMap::new();
    let mut waits = Vec::new();
    for e in exchanges {
        let key = (e.system, e.request.method.clone(), e.request.path.clone(), e.request.body.to_vec());
        match seen.get_mut(&key) {
            Some((attempt, last)) => {
                *attempt += 1;
                waits.push(Wait {
                    system: e.system,
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

/// A stable seed per case (FNV-1a of its id), for jitter that repeats run after run.
fn seed(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
