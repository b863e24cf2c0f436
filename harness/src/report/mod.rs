//! Report: one stream of events, many reporters (terminal, JUnit, JSON). Reporters render; they
//! never decide whether anything passed.

mod json;
mod junit;
mod terminal;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

pub use json::JsonReporter;
pub use junit::{JunitReporter, junit_for_jenkins};
pub use terminal::{Style, TerminalReporter};

use crate::check::{Finding, SnapshotState};
use crate::flow::{Outcome, RecordOutcome, Wait};
use crate::systems::SystemKind;

/// What a reporter is told.
pub enum Event<'a> {
    Started { cases: usize, jobs: usize },
    CaseFinished { report: &'a CaseReport },
    Finished { summary: &'a Summary },
}

pub trait Reporter {
    fn report(&mut self, event: &Event<'_>) -> std::io::Result<()>;
}

/// What became of a snapshot after the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotAction {
    /// Matches the approved snapshot.
    Unchanged,
    /// Differs or is new: written beside the approved one as `.snap.new` for review.
    PendingWritten,
    /// Differs or is new and `--accept` approved it.
    Accepted,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotReport {
    pub system: SystemKind,
    pub path: String,
    #[serde(serialize_with = "state_name")]
    pub state: SnapshotState,
    pub action: SnapshotAction,
}

fn state_name<S: serde::Serializer>(s: &SnapshotState, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(match s {
        SnapshotState::Matches => "matches",
        SnapshotState::New => "new",
        SnapshotState::Changed => "changed",
    })
}

/// Everything reporters need about one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub id: String,
    pub file: String,
    pub flow: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub versions: BTreeMap<SystemKind, String>,
    pub passed: bool,
    #[serde(serialize_with = "millis")]
    pub duration: Duration,
    #[serde(serialize_with = "findings")]
    pub findings: Vec<Finding>,
    pub snapshots: Vec<SnapshotReport>,
    #[serde(serialize_with = "records")]
    pub records: Vec<RecordOutcome>,
    #[serde(serialize_with = "waits")]
    pub waits: Vec<Wait>,
    pub refreshes: BTreeMap<SystemKind, usize>,
    /// Requests the mocks received.
    pub requests: usize,
    /// What an external program printed.
    pub output: String,
}

impl CaseReport {
    /// The findings that fail the case.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.warning)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.warning)
    }

    pub fn dead_letters(&self) -> impl Iterator<Item = &RecordOutcome> {
        self.records.iter().filter(|r| r.outcome == Outcome::DeadLettered)
    }

    /// The findings as plain text, one block each: the JUnit failure body and the terminal details.
    pub fn failure_text(&self) -> String {
        let mut out = String::new();
        for f in self.findings.iter() {
            let mark = if f.warning { "warning" } else { "✗" };
            out.push_str(&format!("{mark} {}: {}\n", f.kind.name(), f.message));
            for line in f.details.iter().flat_map(|d| d.lines()) {
                out.push_str(&format!("    {line}\n"));
            }
            if let Some(diff) = &f.diff {
                for line in diff.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
        let dead: Vec<&RecordOutcome> = self.dead_letters().collect();
        if !dead.is_empty() {
            out.push_str("dead letters:\n");
            for r in dead {
                out.push_str(&format!("    {}: {}", r.key, r.reason.as_deref().unwrap_or("")));
                if let Some(last) = &r.last_response {
                    out.push_str(&format!(" (last response: {last})"));
                }
                out.push('\n');
            }
        }
        out
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn findings<S: serde::Serializer>(v: &[Finding], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for f in v {
        seq.serialize_element(&serde_json::json!({
            "check": f.kind.name(),
            "warning": f.warning,
            "message": f.message,
            "details": f.details,
            "diff": f.diff,
        }))?;
    }
    seq.end()
}

fn records<S: serde::Serializer>(v: &[RecordOutcome], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for r in v {
        seq.serialize_element(&serde_json::json!({"key": r.key, "outcome": r.outcome, "reason": r.reason, "last_response": r.last_response}))?;
    }
    seq.end()
}

fn waits<S: serde::Serializer>(v: &[Wait], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for w in v {
        seq.serialize_element(&serde_json::json!({
            "system": w.system, "record": w.record, "step": w.step, "before_attempt": w.before_attempt,
            "ms": w.duration.as_millis() as u64, "reason": w.reason,
        }))?;
    }
    seq.end()
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// In scenario id order.
    pub cases: Vec<CaseReport>,
    #[serde(serialize_with = "millis")]
    pub duration: Duration,
    pub jobs: usize,
}

impl Summary {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
    pub fn all_passed(&self) -> bool {
        self.failed() == 0
    }
    pub fn snapshots_with(&self, action: SnapshotAction) -> usize {
        self.cases.iter().flat_map(|c| &c.snapshots).filter(|s| s.action == action).count()
    }
}
