//! The JSON report of a run, for tools: a versioned type with its own JSON Schema
//! (`harness schema --report`). Analyses report their own JSON.

use std::collections::BTreeMap;
use std::io::Write;

use harness_core::Outcome;
use harness_engine::check::SnapshotState;
use harness_engine::events::{CaseReport, Event, Reporter, SnapshotAction, Summary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::output::Destination;

/// Which shape of report this is; it changes only when a field changes meaning or goes.
pub const FORMAT: u32 = 1;

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunReport {
    /// The report format ([`FORMAT`]).
    pub format: u32,
    pub status: RunStatus,
    pub passed: usize,
    pub failed: usize,
    /// Cases reported (less than `planned` when the run was cancelled).
    pub total: usize,
    pub planned: usize,
    pub duration_ms: u64,
    /// The whole plan this run is part of.
    pub plan: PlanJson,
    /// The share of the plan this run made (`--partition`); none when it ran the whole plan.
    pub share: Option<ShareJson>,
    /// In scenario id order.
    pub cases: Vec<CaseJson>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PlanJson {
    /// Of the plan's case ids and how they were split: the same on every share of one plan.
    pub fingerprint: String,
    /// Cases in the whole plan, all shares together.
    pub cases: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ShareJson {
    /// 1-based.
    pub index: usize,
    pub total: usize,
    /// `count` (every N-th case) or `timings` (balanced by an earlier run's durations).
    pub by: String,
    /// The ids of the cases this share was given, run or not.
    pub cases: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Passed,
    Failed,
    /// Stopped by Ctrl-C or SIGTERM; `cases` holds those that finished.
    Cancelled,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CaseJson {
    /// `flow/scenario`, with `@system-version` when the scenario runs at several versions.
    pub id: String,
    pub file: String,
    pub flow: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// API version of each system.
    pub versions: BTreeMap<String, String>,
    pub passed: bool,
    /// Passed after failed attempts (`--retries`).
    pub flaky: bool,
    /// Gave no result of its own: the harness crashed on it, could not stop it, or did not run it.
    pub abandoned: bool,
    pub duration_ms: u64,
    pub findings: Vec<FindingJson>,
    pub snapshots: Vec<SnapshotJson>,
    pub records: Vec<RecordJson>,
    pub waits: Vec<WaitJson>,
    /// Credential refreshes per system.
    pub refreshes: BTreeMap<String, usize>,
    /// Requests the mocks received.
    pub requests: usize,
    /// Those requests, one line each, sorted.
    #[serde(default)]
    pub exchanges: Vec<ExchangeJson>,
    /// What an external program printed.
    pub output: String,
    /// Failed attempts before the reported one.
    pub retries: Vec<CaseJson>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FindingJson {
    pub check: String,
    /// A warning does not fail the case.
    pub warning: bool,
    pub message: String,
    pub details: Vec<String>,
    pub diff: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExchangeJson {
    pub system: String,
    pub method: String,
    /// Path and query, with secrets masked.
    pub target: String,
    /// The status code, or the connection fault played instead.
    pub answer: String,
    pub answered_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SnapshotJson {
    pub system: String,
    pub path: String,
    /// `matches`, `new` or `changed`.
    pub state: String,
    /// `unchanged`, `pending-written` or `accepted`.
    pub action: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RecordJson {
    pub key: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub last_response: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WaitJson {
    pub system: String,
    pub record: String,
    pub step: String,
    pub before_attempt: u32,
    pub ms: u64,
    pub reason: String,
}

impl RunReport {
    pub fn of(summary: &Summary, cancelled: bool) -> RunReport {
        RunReport { cases: summary.cases.iter().map(case).collect(), ..RunReport::head(summary, cancelled) }
    }

    /// [`RunReport::of`] without its cases.
    pub(crate) fn head(summary: &Summary, cancelled: bool) -> RunReport {
        let status = if cancelled {
            RunStatus::Cancelled
        } else if summary.all_passed() {
            RunStatus::Passed
        } else {
            RunStatus::Failed
        };
        RunReport {
            format: FORMAT,
            status,
            passed: summary.passed(),
            failed: summary.failed(),
            total: summary.cases.len(),
            planned: summary.planned,
            duration_ms: summary.duration.as_millis() as u64,
            plan: PlanJson { fingerprint: summary.sharing.fingerprint.clone(), cases: summary.sharing.whole },
            share: (summary.sharing.total > 1).then(|| ShareJson {
                index: summary.sharing.index,
                total: summary.sharing.total,
                by: summary.sharing.by.into(),
                cases: summary.selected.clone(),
            }),
            cases: Vec::new(),
        }
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }
}

impl CaseJson {
    /// The findings that fail the case.
    pub fn failures(&self) -> impl Iterator<Item = &FindingJson> {
        self.findings.iter().filter(|f| !f.warning)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &FindingJson> {
        self.findings.iter().filter(|f| f.warning)
    }

    pub fn dead_letters(&self) -> impl Iterator<Item = &RecordJson> {
        self.records.iter().filter(|r| r.outcome == Outcome::DeadLettered)
    }

    /// `check: message` of the first failure, or nothing.
    pub fn first_failure(&self) -> Option<String> {
        self.failures().next().map(|f| format!("{}: {}", f.check, f.message))
    }

    /// The pending snapshots (`.snap.new`) the case wrote, project-relative.
    pub fn pending_snapshots(&self) -> impl Iterator<Item = String> + '_ {
        self.snapshots.iter().filter(|s| s.action == "pending-written").map(|s| format!("{}.new", s.path))
    }

    /// The findings as plain text, one block each: the JUnit failure body.
    pub fn failure_text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let mark = if f.warning { "warning" } else { "✗" };
            out.push_str(&format!("{mark} {}: {}\n", f.check, f.message));
            for line in f.details.iter().flat_map(|d| d.lines()).chain(f.diff.iter().flat_map(|d| d.lines())) {
                out.push_str(&format!("    {line}\n"));
            }
        }
        let dead: Vec<&RecordJson> = self.dead_letters().collect();
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

pub(crate) fn case(c: &CaseReport) -> CaseJson {
    CaseJson {
        id: c.id.clone(),
        file: c.file.clone(),
        flow: c.flow.clone(),
        description: c.description.clone(),
        tags: c.tags.clone(),
        versions: c.versions.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        passed: c.passed,
        flaky: c.flaky(),
        abandoned: c.abandoned,
        duration_ms: c.duration.as_millis() as u64,
        findings: c
            .findings
            .iter()
            .map(|f| FindingJson {
                check: f.kind.name().into(),
                warning: f.warning,
                message: f.message.clone(),
                details: f.details.clone(),
                diff: f.diff.clone(),
            })
            .collect(),
        snapshots: c
            .snapshots
            .iter()
            .map(|s| SnapshotJson {
                system: s.system.to_string(),
                path: s.path.clone(),
                state: match s.state {
                    SnapshotState::Matches => "matches",
                    SnapshotState::New => "new",
                    SnapshotState::Changed => "changed",
                }
                .into(),
                action: match s.action {
                    SnapshotAction::Unchanged => "unchanged",
                    SnapshotAction::PendingWritten => "pending-written",
                    SnapshotAction::Accepted => "accepted",
                }
                .into(),
            })
            .collect(),
        records: c
            .records
            .iter()
            .map(|r| RecordJson {
                key: r.key.clone(),
                outcome: r.outcome,
                reason: r.reason.clone(),
                last_response: r.last_response.clone(),
            })
            .collect(),
        waits: c
            .waits
            .iter()
            .map(|w| WaitJson {
                system: w.system.to_string(),
                record: w.record.clone(),
                step: w.step.clone(),
                before_attempt: w.before_attempt,
                ms: w.duration.as_millis() as u64,
                reason: w.reason.clone(),
            })
            .collect(),
        refreshes: c.refreshes.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        requests: c.requests,
        exchanges: c
            .exchanges
            .iter()
            .map(|e| ExchangeJson {
                system: e.system.to_string(),
                method: e.method.clone(),
                target: e.target.clone(),
                answer: e.answer.clone(),
                answered_by: e.answered_by.clone(),
            })
            .collect(),
        output: c.output.clone(),
        retries: c.retries.iter().map(case).collect(),
    }
}

/// The JSON Schema of the run report.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RunReport)).expect("schemas serialise")
}

pub struct JsonReporter {
    destination: Destination,
}

impl JsonReporter {
    pub fn new(destination: Destination) -> Self {
        JsonReporter { destination }
    }
}

impl Reporter for JsonReporter {
    fn report(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        let (summary, cancelled) = match event {
            Event::RunFinished { summary } => (summary, false),
            Event::RunCancelled { summary, .. } => (summary, true),
            Event::AnalysisFinished { result } => {
                let mut text = serde_json::to_string_pretty(&result.json())?;
                text.push('\n');
                return self.destination.deliver(&text);
            }
            _ => return Ok(()),
        };
        let head = RunReport::head(summary, cancelled);
        self.destination.deliver_with(&mut |w| {
            pretty_report(&head, summary.cases.iter().map(case), w)?;
            w.write_all(b"\n")
        })
    }
}

/// The report of `head` (whose `cases` are empty) with `cases`, as `serde_json::to_value` and
/// pretty-printing give it (keys sorted), written one case at a time: neither a value tree nor
/// the text of the whole run is held (each holds every case, hundreds of MB at 20,000 cases).
fn pretty_report(head: &RunReport, cases: impl Iterator<Item = CaseJson>, w: &mut dyn Write) -> std::io::Result<()> {
    let head = serde_json::to_string_pretty(&serde_json::to_value(head)?)?;
    // `cases` sorts first among the report's keys, so this is the run's, not the share's.
    let (before, after) =
        head.split_once("\"cases\": []").ok_or_else(|| std::io::Error::other("the report has no `cases`"))?;
    w.write_all(before.as_bytes())?;
    w.write_all(b"\"cases\": [")?;
    let mut any = false;
    let mut text = Vec::new();
    for case in cases {
        w.write_all(if any { b",\n" } else { b"\n" })?;
        any = true;
        // Inside the report's list, two levels down: each line indented by four spaces (a JSON
        // string never spans lines).
        text.clear();
        serde_json::to_writer_pretty(&mut text, &serde_json::to_value(case)?)?;
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                w.write_all(b"\n")?;
            }
            w.write_all(b"    ")?;
            w.write_all(line)?;
        }
    }
    w.write_all(if any { b"\n  ]" } else { b"]" })?;
    w.write_all(after.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(i: usize) -> CaseJson {
        serde_json::from_value(serde_json::json!({
            "id": format!("orders/case-{i}"), "file": format!("scenarios/orders/case-{i}.yaml"), "flow": "orders", "description": "two\nlines",
            "tags": ["smoke"], "versions": {"shopify": "2026-01", "netsuite": "2026.2"}, "passed": i.is_multiple_of(2), "flaky": false, "abandoned": false, "duration_ms": 5,
            "findings": [{"check": "snapshot", "warning": false, "message": "changed", "details": ["a", "b"], "diff": null}],
            "snapshots": [], "records": [], "waits": [], "refreshes": {}, "requests": 2, "output": "", "retries": []
        }))
        .unwrap()
    }

    #[test]
    fn made_case_by_case_it_reads_as_the_whole_value_would() {
        for n in [0, 1, 3] {
            let head = RunReport {
                format: FORMAT,
                status: RunStatus::Failed,
                passed: 1,
                failed: 2,
                total: n,
                planned: n,
                duration_ms: 1500,
                plan: PlanJson { fingerprint: "0".into(), cases: n },
                share: Some(ShareJson { index: 1, total: 2, by: "count".into(), cases: Vec::new() }),
                cases: Vec::new(),
            };
            let whole = RunReport { cases: (0..n).map(case).collect(), ..head.clone() };
            let expected = serde_json::to_string_pretty(&serde_json::to_value(&whole).unwrap()).unwrap();
            let mut written = Vec::new();
            pretty_report(&head, (0..n).map(case), &mut written).unwrap();
            assert_eq!(String::from_utf8(written).unwrap(), expected, "{n} case(s)");
        }
    }
}
