//! The event stream of a run, as cargo-nextest has it: run started, case started, case slow, case
//! retried, case finished, case abandoned, run cancelled, run finished — and analyses over many
//! runs finishing. Reporters render events; they never decide whether anything passed.

use std::collections::BTreeMap;
use std::time::Duration;

use harness_core::{Outcome, Style, SystemId};
use harness_flows::{RecordOutcome, Wait};

use crate::check::{Finding, SnapshotState};
use crate::plan::Sharing;
use crate::secrets::Secrets;

/// What a reporter is told.
pub enum Event<'a> {
    RunStarted {
        cases: usize,
        jobs: usize,
    },
    /// A case began on a worker (cases start in any order; finished ones are told in case order).
    CaseStarted {
        id: &'a str,
    },
    /// A case has been running this long.
    CaseSlow {
        id: &'a str,
        elapsed: Duration,
    },
    /// A case failed and runs again; `report` is the failed attempt.
    CaseRetried {
        report: &'a CaseReport,
        attempt: u32,
    },
    CaseFinished {
        report: &'a CaseReport,
    },
    /// A case that gave no result: it crashed the harness, could not be stopped, or was not run.
    CaseAbandoned {
        report: &'a CaseReport,
    },
    /// Ctrl-C or SIGTERM: the run stopped; `summary` holds the cases that finished.
    RunCancelled {
        summary: &'a Summary,
        signal: &'a str,
    },
    RunFinished {
        summary: &'a Summary,
    },
    /// An analysis over many runs (impact, lineage, coverage) finished.
    AnalysisFinished {
        result: &'a dyn AnalysisResult,
    },
}

pub trait Reporter {
    fn report(&mut self, event: &Event<'_>) -> std::io::Result<()>;
}

/// The result of an analysis, in the forms reporters render.
pub trait AnalysisResult {
    /// What it is about, in a line (`impact shopify 2022-04 → 2023-04`): the JUnit report's name.
    fn title(&self) -> String;
    /// For people: the terminal report.
    fn terminal(&self, style: Style) -> String;
    /// For tools: the JSON report.
    fn json(&self) -> serde_json::Value;
    /// For a pull-request comment, when the analysis has one.
    fn markdown(&self) -> Option<String> {
        None
    }
    /// For build dashboards: its findings as test suites.
    fn suites(&self) -> Vec<Suite>;
}

/// A test suite as dashboards read it (JUnit): what runs and analyses report.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub time: Option<Duration>,
    pub properties: Vec<(String, String)>,
    pub cases: Vec<SuiteCase>,
}

#[derive(Debug, Clone)]
pub struct SuiteCase {
    pub name: String,
    pub classname: String,
    /// The file it comes from, project-relative (GitLab shows it).
    pub file: Option<String>,
    pub time: Option<Duration>,
    pub verdict: SuiteVerdict,
    /// Earlier attempts that failed, for a case that passed or failed after retries.
    pub retries: Vec<RetriedAttempt>,
    pub output: Option<String>,
}

#[derive(Debug, Clone)]
pub enum SuiteVerdict {
    Passed,
    Failed {
        kind: String,
        message: String,
        body: String,
    },
    /// The harness could not judge it (an abandoned case, a cancelled run).
    Error {
        kind: String,
        message: String,
        body: String,
    },
}

#[derive(Debug, Clone)]
pub struct RetriedAttempt {
    /// The check that failed it first (`failure` when none did).
    pub kind: String,
    pub message: String,
    pub body: String,
}

/// What became of a snapshot after the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotAction {
    /// Matches the approved snapshot.
    Unchanged,
    /// Differs or is new: written beside the approved one as `.snap.new` for review.
    PendingWritten,
    /// Differs or is new and `--accept` approved it.
    Accepted,
}

#[derive(Debug, Clone)]
pub struct SnapshotReport {
    pub system: SystemId,
    pub path: String,
    pub state: SnapshotState,
    pub action: SnapshotAction,
}

/// One request a mock received, as the reports list it: no headers or bodies (the snapshot keeps
/// what matters of those), the target masked like every output. Listed sorted, not in arrival
/// order, which depends on scheduling when a program sends concurrently.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExchangeLine {
    pub system: SystemId,
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The status code, or the connection fault played instead.
    pub answer: String,
    /// The stub or rule that answered (see [`harness_core::Exchange::answered_by`]).
    pub answered_by: Option<String>,
}

impl ExchangeLine {
    /// The lines of a case's exchanges, masked and sorted.
    pub fn list(exchanges: &[harness_core::Exchange], mask: impl Fn(&str) -> String) -> Vec<ExchangeLine> {
        let mut lines: Vec<ExchangeLine> = exchanges
            .iter()
            .map(|e| {
                let query = if e.request.query.is_empty() { String::new() } else { format!("?{}", e.request.query) };
                ExchangeLine {
                    system: e.system.clone(),
                    method: e.request.method.clone(),
                    target: mask(&format!("{}{query}", e.request.path)),
                    answer: match e.response.fault {
                        Some(fault) => format!("{fault:?}").to_lowercase(),
                        None => e.response.status.to_string(),
                    },
                    answered_by: e.answered_by.as_deref().map(&mask),
                }
            })
            .collect();
        lines.sort();
        lines
    }
}

/// Everything reporters need about one case.
#[derive(Debug, Clone)]
pub struct CaseReport {
    pub id: String,
    pub file: String,
    pub flow: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub versions: BTreeMap<SystemId, String>,
    pub passed: bool,
    pub duration: Duration,
    pub findings: Vec<Finding>,
    pub snapshots: Vec<SnapshotReport>,
    pub records: Vec<RecordOutcome>,
    pub waits: Vec<Wait>,
    pub refreshes: BTreeMap<SystemId, usize>,
    /// Requests the mocks received.
    pub requests: usize,
    /// Those requests, one line each, in a fixed order (see [`ExchangeLine`]).
    pub exchanges: Vec<ExchangeLine>,
    /// What an external program printed.
    pub output: String,
    /// Attempts that failed before this one (with `--retries`).
    pub retries: Vec<CaseReport>,
    /// The case gave no result of its own (see [`Event::CaseAbandoned`]).
    pub abandoned: bool,
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

    /// Passed after failing first.
    pub fn flaky(&self) -> bool {
        self.passed && !self.retries.is_empty()
    }
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Summary {
    /// In scenario id order.
    pub cases: Vec<CaseReport>,
    pub duration: Duration,
    pub jobs: usize,
    /// Cases the run would have run, finished or not (less than `cases` when cancelled).
    pub planned: usize,
    /// Their ids, in order.
    pub selected: Vec<String>,
    /// The share of the whole plan they are.
    pub sharing: Sharing,
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

/// Mask the text of a case's report: what it shows may also come from files written before (an
/// approved snapshot's diff).
pub(crate) fn mask_report(secrets: &Secrets, report: &mut CaseReport) {
    let mask = secrets.known();
    crate::secrets::mask_string(mask, &mut report.output);
    if let Some(d) = &mut report.description {
        crate::secrets::mask_string(mask, d);
    }
    for f in &mut report.findings {
        for text in std::iter::once(&mut f.message).chain(f.details.iter_mut()).chain(f.diff.iter_mut()) {
            crate::secrets::mask_string(mask, text);
        }
    }
    for r in &mut report.records {
        for text in r.reason.iter_mut().chain(r.last_response.iter_mut()) {
            crate::secrets::mask_string(mask, text);
        }
    }
    for retry in &mut report.retries {
        mask_report(secrets, retry);
    }
}
