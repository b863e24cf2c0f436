//! One interface for every kind of flow: the engine prepares a flow once per job, runs it once per
//! case, and learns from the driver what it needs to judge the run — never which kind it is.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use harness_core::{Diagnostic, SystemId};
use harness_expr::FieldLineage;
use harness_mock::{ExchangeLog, MockPorts};
use harness_systems::{Registry, SystemVersion};

use crate::{DeliveryPolicy, FlowRun, FlowTrigger, TriggerInput};

pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A target field of a flow and the source paths that feed it: `(step, target system, lineage)`.
pub type MappedField = (String, SystemId, FieldLineage);

/// What lives as long as one job (one worker): the project, its systems, the worker's HTTP
/// client, the mocks' limits.
#[derive(Clone)]
pub struct JobContext {
    pub root: PathBuf,
    pub registry: Registry,
    pub reqwest: reqwest::Client,
    pub limits: harness_mock::Limits,
}

/// What the mocks see of one case: for a flow that must itself tell when the integration is done
/// (a service answers its delivery first and works on afterwards).
pub struct Traffic<'a> {
    pub log: &'a ExchangeLog,
    /// The scenario's own settle window, over the flow's.
    pub settle: Option<Duration>,
    /// The scenario expects the flow to fail: a service that has reported no failed record is
    /// waited for until it exits (or the scenario's limit).
    pub until_exit: bool,
}

/// What a flow is given for one case.
pub struct CaseContext<'a> {
    /// The case id (`orders/simple@shopify-2024-01`).
    pub id: &'a str,
    pub trigger: &'a FlowTrigger,
    pub input: &'a TriggerInput,
    pub systems: &'a BTreeMap<SystemId, Arc<SystemVersion>>,
    /// Where each system's mock listens.
    pub base_urls: &'a BTreeMap<SystemId, String>,
    pub policy: &'a DeliveryPolicy,
    /// The scenario's wall-clock limit.
    pub timeout: Duration,
    /// Seed for backoff jitter (from the case id), so runs repeat exactly.
    pub seed: u64,
    pub traffic: Traffic<'a>,
}

pub trait FlowDriver: Send + Sync + std::fmt::Debug {
    /// Systems the flow calls besides its trigger and targets (their versions must be known).
    fn called_systems(&self) -> Vec<SystemId> {
        Vec::new()
    }
    /// The systems a run can contact, when the flow says so; `None` when it may call any system it
    /// has a URL for.
    fn contacted_systems(&self, trigger: &FlowTrigger) -> Option<Vec<SystemId>> {
        let _ = trigger;
        None
    }
    /// Target fields and their sources as the flow's definition shows them (none for programs).
    fn lineage(&self) -> &[MappedField] {
        &[]
    }
    /// The system whose answer a variable the flow binds comes from.
    fn bound_system(&self, var: &str) -> Option<SystemId> {
        let _ = var;
        None
    }
    /// What the expression binding `var` reads of that system's answer (`.items[0].id`).
    fn bound_reads(&self, var: &str) -> Vec<harness_expr::ReadPath> {
        let _ = var;
        Vec::new()
    }
    /// Whether the flow runs on the scenario's virtual clock: mocks report delays instead of
    /// taking them, and waits are the flow's own record rather than observed gaps.
    fn virtual_time(&self) -> bool;
    /// Its delivery policy, which scenarios may override.
    fn policy(&self) -> DeliveryPolicy {
        DeliveryPolicy::default()
    }
    /// Whether the flow itself accounts for every record of the trigger. A program reports what it
    /// did, and may forget a record: then the harness checks none vanished.
    fn accounts_for_every_record(&self) -> bool;
    /// How long past the scenario's limit the harness waits for a run to come back; `None`: as
    /// long as it takes, the flow ending itself at its limit (an external program's limit, which
    /// load must not shorten, is not wall time).
    fn grace(&self) -> Option<Duration> {
        Some(Duration::ZERO)
    }
    /// Whether its deliveries may reach a target in any order (records delivered concurrently),
    /// so snapshots list them by content.
    fn unordered(&self, policy: &DeliveryPolicy) -> bool {
        let _ = policy;
        false
    }
    /// Problems with what the flow needs from the system versions of one case (a credential a
    /// program's `env:` maps that the version does not have), located in the flow file.
    fn check_versions(&self, systems: &BTreeMap<SystemId, Arc<SystemVersion>>) -> Vec<Diagnostic> {
        let _ = systems;
        Vec::new()
    }
    /// What the flow needs for the cases of one job.
    fn prepare(&self, job: &JobContext) -> Result<Arc<dyn FlowInstance>, PrepareError>;
}

/// Why a flow could not be made ready for a job: the machine's resources, not the user's files.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("cannot start the thread the service's mocks run on: {0}")]
    MockThread(std::io::Error),
    #[error("cannot find a free port on 127.0.0.1 for the service: {0}")]
    NoPort(std::io::Error),
}

/// A flow made ready for one job: it runs that job's cases one at a time.
pub trait FlowInstance: Send + Sync {
    /// Mocks that keep their ports for the whole job (a long-running integration was configured
    /// with their URLs once); `None`: each case's mocks listen on fresh ports.
    fn mock_ports(&self) -> Option<&MockPorts> {
        None
    }
    fn run<'a>(&'a self, case: CaseContext<'a>) -> LocalBoxFuture<'a, FlowRun>;
    /// At the end of the run, once the job's last case is over: what reached the mocks after it
    /// ended (a long-running integration still working), for the run to report, never drop.
    fn finish(&self) -> LocalBoxFuture<'_, Vec<harness_mock::LateRequest>> {
        Box::pin(async { Vec::new() })
    }
}
