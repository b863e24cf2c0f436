//! Check: judge one executed case. Every assertion — outcome, records, request counts, schemas,
//! silent data loss, duplicates, waits, refreshes, reconciliations, snapshots — becomes a
//! [`CheckResult`]; reporters only render them.

mod answer;
pub(crate) mod late;
mod loss;
mod reconcile;
mod records;
mod requests;
mod snapshots;
mod versions;

use harness_core::{Exchange, Outcome, SystemId};
use harness_syntax::scenario::ExpectedOutcome;
use harness_systems::Registry;

use crate::execute::Execution;
use crate::plan::Case;
use crate::snapshot::{Change, Snapshot};

pub use requests::{SchemaBreach, schema_breaches};
pub(crate) use versions::Ledger;

/// Kinds of findings, in the order reports list them: causes (lost data, broken contracts) before
/// their symptoms (a failed outcome, a changed snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckKind {
    DataLoss,
    /// A target the flow declares received nothing, and the scenario does not expect that.
    NothingSent,
    /// A field filled in the approved snapshot that is now empty.
    Emptied,
    Schema,
    Unmatched,
    /// Requests a mock answered with a guess (`strict_stubs` makes them fail).
    Guessed,
    Duplicates,
    /// A request that reached a service's mocks after its scenario had ended.
    Late,
    /// How a service answered the delivery of its trigger.
    Answer,
    Outcome,
    Records,
    Conservation,
    DeadLetters,
    Refreshes,
    Waits,
    Requests,
    Reconcile,
    Snapshot,
    /// A recording past `max_recording_age` (fails with `--strict-recordings`), a version past
    /// its end of support (never fails).
    Stale,
    /// What a system said about how it answered: a version answered by another, a deprecated
    /// feature in use. Never fails a scenario.
    Notice,
}

impl CheckKind {
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Outcome => "outcome",
            CheckKind::Answer => "service answer",
            CheckKind::Late => "late traffic",
            CheckKind::Records => "records",
            CheckKind::Conservation => "conservation",
            CheckKind::DeadLetters => "dead letters",
            CheckKind::Refreshes => "token refreshes",
            CheckKind::Waits => "waits",
            CheckKind::Requests => "request counts",
            CheckKind::Unmatched => "unexpected requests",
            CheckKind::Guessed => "answered by default",
            CheckKind::Schema => "target schema",
            CheckKind::DataLoss => "silent data loss",
            CheckKind::NothingSent => "nothing sent",
            CheckKind::Duplicates => "duplicates",
            CheckKind::Reconcile => "reconciliation",
            CheckKind::Snapshot => "snapshot",
            CheckKind::Emptied => "silent data loss",
            CheckKind::Stale => "out of date",
            CheckKind::Notice => "notice",
        }
    }

    /// Differences from the approved snapshot, which `--accept` approves. Fields that went empty
    /// are not among them: in strict mode they fail until reviewed (`harness review`).
    pub fn is_snapshot_difference(self) -> bool {
        matches!(self, CheckKind::Snapshot)
    }
}

/// One failed (or warned) assertion. Passing checks are not listed individually.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: CheckKind,
    /// A warning does not fail the scenario (data-loss findings outside strict mode).
    pub warning: bool,
    /// One line: what is wrong.
    pub message: String,
    /// Further lines: evidence, lineage.
    pub details: Vec<String>,
    /// A diff, when there is one.
    pub diff: Option<String>,
}

impl Finding {
    /// What a case's stale material comes to: a warning, unless it is an old recording and
    /// recordings are strict.
    pub fn stale(stale: &crate::plan::Stale, strict_recordings: bool) -> Self {
        Finding {
            warning: !(stale.recording && strict_recordings),
            ..Finding::new(CheckKind::Stale, stale.message.clone())
        }
    }

    fn new(kind: CheckKind, message: impl Into<String>) -> Self {
        Finding { kind, warning: false, message: message.into(), details: Vec::new(), diff: None }
    }

    /// A failure of the harness itself rather than of the scenario.
    pub fn internal(message: impl Into<String>) -> Self {
        Finding::new(CheckKind::Outcome, message)
    }
}

/// How a case's snapshot compares with the approved one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotState {
    Matches,
    New,
    Changed,
}

#[derive(Debug, Clone)]
pub struct SnapshotResult {
    pub system: SystemId,
    pub state: SnapshotState,
    /// What this run produced.
    pub produced: Snapshot,
    pub changes: Vec<Change>,
}

pub struct Verdict {
    pub findings: Vec<Finding>,
    pub snapshots: Vec<SnapshotResult>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.warning)
    }

    /// Passed apart from snapshot differences: what `--accept` requires before it writes.
    pub fn passed_except_snapshots(&self) -> bool {
        self.findings.iter().all(|f| f.warning || f.kind.is_snapshot_difference())
    }
}

/// What every check looks at: the case, what happened, the systems, and whether data loss fails.
struct Context<'a> {
    case: &'a Case,
    exec: &'a Execution,
    registry: &'a Registry,
    strict: bool,
}

impl Context<'_> {
    /// Whether the system of `exchange` took its request.
    fn accepted(&self, exchange: &Exchange) -> bool {
        self.case
            .systems
            .get(&exchange.system)
            .is_some_and(|v| self.registry.system(&exchange.system).accepted(v, exchange))
    }
}

pub fn check(case: &Case, exec: &Execution, registry: &Registry, strict: bool) -> Verdict {
    let cx = Context { case, exec, registry, strict };
    let mut findings: Vec<Finding> = exec.mock_crashes.iter().map(Finding::internal).collect();
    check_outcome(&cx, &mut findings);
    answer::check(&cx, &mut findings);
    late::check(&cx, &mut findings);
    records::check(&cx, &mut findings);
    requests::check(&cx, &mut findings);
    loss::check(&cx, &mut findings);
    reconcile::check(&cx, &mut findings);
    let snapshots = snapshots::check(&cx, &mut findings);
    notices(&cx, &mut findings);
    findings.sort_by_key(|f| f.kind);
    Verdict { findings, snapshots }
}

fn check_outcome(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let run = &cx.exec.run;
    let spec = &cx.case.expect.spec;
    let expected = spec.outcome.unwrap_or(ExpectedOutcome::Succeeded);
    let failures = run.failure_messages();
    match (expected, run.succeeded()) {
        (ExpectedOutcome::Succeeded, false) => {
            let mut f = Finding::new(
                CheckKind::Outcome,
                format!(
                    "expected the flow to succeed, but it failed: {}",
                    failures.first().cloned().unwrap_or_default()
                ),
            );
            f.details = failures.iter().skip(1).cloned().collect();
            if !run.output.trim().is_empty() {
                f.details.push(format!("program output:\n{}", indent(run.output.trim_end())));
            }
            findings.push(f);
        }
        (ExpectedOutcome::Failed, true) => {
            findings.push(Finding::new(CheckKind::Outcome, "expected the flow to fail, but every record was delivered"))
        }
        (ExpectedOutcome::Failed, false) => {
            if let Some(text) = &spec.error
                && !failures.iter().any(|m| m.contains(text.as_str()))
            {
                let mut f = Finding::new(
                    CheckKind::Outcome,
                    format!("the flow failed, but no failure mentions `{}`", text.value),
                );
                f.details = failures.clone();
                findings.push(f);
            }
        }
        (ExpectedOutcome::Succeeded, true) => {}
        (ExpectedOutcome::Filtered, false) => findings.push(Finding::new(
            CheckKind::Outcome,
            format!(
                "expected every record to be filtered, but the flow failed: {}",
                failures.first().cloned().unwrap_or_default()
            ),
        )),
        (ExpectedOutcome::Filtered, true) => {
            let kept: Vec<&str> =
                run.records.iter().filter(|r| r.outcome != Outcome::Filtered).map(|r| r.key.as_str()).collect();
            if !kept.is_empty() {
                findings.push(Finding::new(
                    CheckKind::Outcome,
                    format!(
                        "expected every record to be filtered, but {} was not: {}",
                        if kept.len() == 1 { "one" } else { "some" },
                        kept.join(", ")
                    ),
                ));
            }
        }
    }
}

/// Each system's notices about how it answered, as warnings.
fn notices(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    for id in cx.case.systems.keys() {
        let exchanges: Vec<&Exchange> = cx.exec.exchanges.iter().filter(|e| &e.system == id).collect();
        for notice in cx.registry.system(id).notices(&exchanges) {
            let mut f = Finding::new(CheckKind::Notice, format!("{id}: {notice}"));
            f.warning = true;
            findings.push(f);
        }
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
