//! What a flow run produced, whatever ran it: how it ended, how each record ended, the source
//! fields its mapping found missing, the waits before retries, the credential refreshes, and what a
//! program printed.

use std::collections::BTreeMap;
use std::time::Duration;

use harness_core::{Outcome, SystemId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    pub key: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// The last answer received for this record when it failed (`400 INVALID_CONTENT at …`).
    pub last_response: Option<String>,
}

/// A mapping read a source path that the payload does not have: the target field would be
/// silently empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MissingField {
    pub record: String,
    pub step: String,
    pub system: SystemId,
    /// `body.item.items[].item`
    pub target: String,
    /// `line_items[].sku`
    pub source: String,
    /// Read from the answer of `system` (a `bind:`), not from the trigger's payload; `target` is
    /// then the bound variable.
    pub from_answer: bool,
}

/// A wait the flow made before retrying (on the virtual clock for built-in flows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub system: SystemId,
    pub record: String,
    pub step: String,
    /// The attempt the wait preceded (2 = first retry).
    pub before_attempt: u32,
    pub duration: Duration,
    /// `Retry-After` or `backoff`.
    pub reason: String,
}

/// How a service answered one delivery of the trigger, after the retries it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAnswer {
    /// `POST /webhooks/orders-create`
    pub request: String,
    /// `None`: no answer in time, or the connection failed (`body` says which).
    pub status: Option<u16>,
    pub body: String,
    /// Deliveries made, the first included.
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// The flow ran to its end (records may still have failed).
    Completed,
    /// The flow as a whole failed: a refused trigger, a crashed program, credentials refused.
    Failed(String),
    /// The flow did not finish within the scenario's time limit.
    TimedOut(Duration),
}

#[derive(Debug, Clone)]
pub struct FlowRun {
    pub status: RunStatus,
    pub records: Vec<RecordOutcome>,
    pub missing: Vec<MissingField>,
    pub waits: Vec<Wait>,
    /// Credential refreshes per system (after the first credential).
    pub refreshes: BTreeMap<SystemId, usize>,
    /// What an external program printed (a service: while this case ran), for failure messages
    /// and reports.
    pub output: String,
    /// A service's answers to the deliveries of the trigger, in order.
    pub answers: Vec<DeliveryAnswer>,
    /// What the machine refused the flow (no file descriptor left to connect with): not the
    /// flow's fault, so the run stops as an environment problem instead of judging it.
    pub environment: Option<String>,
    /// Requests that reached a long-running integration's mocks after the scenario they belong
    /// to had ended, found by this run: the previous scenario's on the same service (or an
    /// earlier attempt of this one's), each naming its scenario, which it fails.
    pub late: Vec<harness_mock::LateRequest>,
    /// Why this run's own traffic cannot all be told apart from the previous scenario's late
    /// traffic: each fails this scenario.
    pub doubts: Vec<String>,
    /// The integration still runs after this case, so more of its traffic may come late: the
    /// window that stays open (a number unique in the run) until a later run `closes` it or the
    /// run ends. Its verdict is reported only then.
    pub window: Option<u64>,
    /// The window of the case before this one on the same integration, closed by this run.
    pub closes: Option<u64>,
}

impl FlowRun {
    pub fn failed(message: impl Into<String>) -> FlowRun {
        FlowRun { status: RunStatus::Failed(message.into()), ..FlowRun::completed() }
    }

    /// A run that ended normally, with nothing recorded yet.
    pub fn completed() -> FlowRun {
        FlowRun {
            status: RunStatus::Completed,
            records: Vec::new(),
            missing: Vec::new(),
            waits: Vec::new(),
            refreshes: BTreeMap::new(),
            output: String::new(),
            answers: Vec::new(),
            environment: None,
            late: Vec::new(),
            doubts: Vec::new(),
            window: None,
            closes: None,
        }
    }

    /// Every record delivered or filtered, and the flow completed.
    pub fn succeeded(&self) -> bool {
        self.status == RunStatus::Completed
            && self.records.iter().all(|r| matches!(r.outcome, Outcome::Delivered | Outcome::Filtered))
    }

    /// Why the run did not succeed, one line per cause.
    pub fn failure_messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.status {
            RunStatus::Completed => {}
            RunStatus::Failed(m) => out.push(m.clone()),
            RunStatus::TimedOut(d) => {
                out.push(format!("flow did not finish within {}", harness_core::duration::format(*d)))
            }
        }
        for r in &self.records {
            if matches!(r.outcome, Outcome::DeadLettered | Outcome::NotProcessed) {
                out.push(format!(
                    "record {}: {}: {}",
                    r.key,
                    r.outcome.as_str(),
                    r.reason.as_deref().unwrap_or("no reason given")
                ));
            }
        }
        out
    }
}
