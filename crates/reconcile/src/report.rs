//! The check's result in the forms the run reporters render: terminal, JSON, Markdown, and JUnit
//! (a test case per relation and finding kind, so a scheduled pipeline's dashboard shows it).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use harness_core::Style;
use harness_engine::events::{AnalysisResult, Suite, SuiteCase, SuiteVerdict};
use schemars::JsonSchema;
use serde::Serialize;

use crate::fetch::Stats;
use crate::join::{Finding, Kind};

/// Bumped when the JSON changes incompatibly.
const FORMAT: u32 = 1;

/// Every reconciliation checked in one command.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReconcileReport {
    pub format: u32,
    pub checks: Vec<Checked>,
}

/// One reconciliation's result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Checked {
    pub name: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub since: String,
    pub until: String,
    pub lag: String,
    /// The source first, then each relation (target), with what listing it took.
    pub listed: Vec<Listed>,
    /// Source records younger than the lag and not downstream yet: not missing yet.
    pub pending: u64,
    /// Sorted by relation, kind, key.
    pub findings: Vec<Finding>,
    /// What could not be read of some records (no key, a jq expression failing).
    pub notes: Vec<String>,
    /// Set when `--accept` wrote the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_written: Option<String>,
    /// Set when new findings left a pending baseline, for `harness review`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_baseline: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Listed {
    pub relation: String,
    pub system: String,
    #[serde(flatten)]
    pub stats: Stats,
}

/// The JSON Schema of the reconcile report (`harness schema --reconcile`).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ReconcileReport)).expect("schemas serialise")
}

impl ReconcileReport {
    pub(crate) fn new(checks: Vec<Checked>) -> Self {
        ReconcileReport { format: FORMAT, checks }
    }

    /// Findings the baselines do not accept: any of them fails the check.
    pub fn new_findings(&self) -> usize {
        self.checks.iter().flat_map(|c| &c.findings).filter(|f| f.accepted.is_none()).count()
    }
}

impl Checked {
    fn relations(&self) -> impl Iterator<Item = &str> {
        self.listed.iter().skip(1).map(|l| l.relation.as_str())
    }
}

fn listing_line(l: &Listed) -> String {
    let s = &l.stats;
    let mut line = format!("{}: {} record(s) in {} page(s), {} request(s)", l.relation, s.records, s.pages, s.requests);
    if !s.throttled.is_empty() {
        let by: Vec<String> = s.throttled.iter().map(|(why, n)| format!("{n}× {why}")).collect();
        let _ = write!(
            line,
            "; throttled {} — waited {}",
            by.join(", "),
            harness_core::duration::format(std::time::Duration::from_millis(s.waited_ms))
        );
    }
    line
}

impl AnalysisResult for ReconcileReport {
    fn title(&self) -> String {
        let names: Vec<&str> = self.checks.iter().map(|c| c.name.as_str()).collect();
        format!("reconcile {}", names.join(" "))
    }

    fn terminal(&self, style: Style) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let _ = writeln!(
                out,
                "{} {}  ({} → {}, lag {})",
                style.bold("reconcile"),
                style.bold(&c.name),
                c.since,
                c.until,
                c.lag
            );
            for l in &c.listed {
                let _ = writeln!(out, "  {}", listing_line(l));
            }
            for f in &c.findings {
                let what = format!("{:<14}", f.kind.name());
                let mark = if f.accepted.is_some() { style.dim("accepted") } else { style.red("✗") };
                let _ = writeln!(
                    out,
                    "  {mark} {} {}  {}{}  {}",
                    if f.accepted.is_some() { style.dim(&what) } else { what.clone() },
                    f.relation,
                    f.key.as_deref().unwrap_or(""),
                    f.field.as_ref().map_or(String::new(), |x| format!(" {x}")),
                    f.detail
                );
                if let (Some(s), Some(t)) = (&f.source, &f.target) {
                    let _ = writeln!(out, "      source jq `{}`   target jq `{}`", s.jq, t.jq);
                }
            }
            for n in &c.notes {
                let _ = writeln!(out, "  note: {n}");
            }
            if c.pending > 0 {
                let _ = writeln!(out, "  {} source record(s) younger than the lag are not downstream yet", c.pending);
            }
            let new = c.findings.iter().filter(|f| f.accepted.is_none()).count();
            let accepted = c.findings.len() - new;
            let summary = match new {
                0 => style.green(&format!("{}: clean", c.name)),
                n => style.red(&format!("{}: {n} new finding(s)", c.name)),
            };
            let _ = write!(out, "{summary}");
            if accepted > 0 {
                let _ = write!(out, ", {accepted} accepted in the baseline");
            }
            out.push('\n');
            if let Some(b) = &c.baseline_written {
                let _ = writeln!(out, "baseline written: {b} ({} accepted)", c.findings.len());
            }
            if let Some(p) = &c.pending_baseline {
                let _ = writeln!(out, "pending baseline: {p} (`harness review` shows it, to accept or reject)");
            }
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("the reconcile report serialises")
    }

    fn markdown(&self) -> Option<String> {
        let mut out = String::new();
        for c in &self.checks {
            let new = c.findings.iter().filter(|f| f.accepted.is_none()).count();
            let _ = writeln!(
                out,
                "## Reconciliation `{}`: {}\n",
                c.name,
                if new == 0 { "clean".to_string() } else { format!("{new} new finding(s)") }
            );
            let _ = writeln!(out, "Window {} → {}, lag {}.\n", c.since, c.until, c.lag);
            for l in &c.listed {
                let _ = writeln!(out, "- {}", listing_line(l));
            }
            if !c.findings.is_empty() {
                let _ = writeln!(out, "\n| | Finding | Relation | Key | Field | Detail |\n|---|---|---|---|---|---|");
                for f in &c.findings {
                    let cell = |s: &str| s.replace('|', "\\|");
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} | {} |",
                        if f.accepted.is_some() { "accepted" } else { "❌" },
                        f.kind.name(),
                        cell(&f.relation),
                        cell(f.key.as_deref().unwrap_or("")),
                        cell(f.field.as_deref().unwrap_or("")),
                        cell(&f.detail)
                    );
                }
            }
            out.push('\n');
        }
        Some(out)
    }

    fn suites(&self) -> Vec<Suite> {
        self.checks
            .iter()
            .map(|c| {
                let mut cases = Vec::new();
                for relation in c.relations() {
                    let mut by_kind: BTreeMap<Kind, Vec<&Finding>> = BTreeMap::new();
                    for f in c.findings.iter().filter(|f| f.relation == relation && f.accepted.is_none()) {
                        by_kind.entry(f.kind).or_default().push(f);
                    }
                    for kind in Kind::ALL {
                        let verdict = match by_kind.get(&kind) {
                            None => SuiteVerdict::Passed,
                            Some(found) => SuiteVerdict::Failed {
                                kind: kind.name().to_string(),
                                message: format!("{} {} finding(s) in {relation}", found.len(), kind.name()),
                                body: found.iter().map(|f| format!("{} {}\n", f.id(), f.detail)).collect(),
                            },
                        };
                        cases.push(SuiteCase {
                            name: kind.name().to_string(),
                            classname: format!("{}.{relation}", c.name),
                            file: Some(c.file.clone()),
                            time: None,
                            verdict,
                            retries: Vec::new(),
                            output: None,
                        });
                    }
                }
                // The source's own duplicates.
                let source_dupes: Vec<&Finding> = c
                    .findings
                    .iter()
                    .filter(|f| c.listed.first().is_some_and(|s| s.relation == f.relation) && f.accepted.is_none())
                    .collect();
                if !source_dupes.is_empty() {
                    let relation = &c.listed[0].relation;
                    cases.push(SuiteCase {
                        name: Kind::Duplicate.name().to_string(),
                        classname: format!("{}.{relation}", c.name),
                        file: Some(c.file.clone()),
                        time: None,
                        verdict: SuiteVerdict::Failed {
                            kind: "duplicate".into(),
                            message: format!("{} duplicate key(s) in the source", source_dupes.len()),
                            body: source_dupes.iter().map(|f| format!("{}\n", f.id())).collect(),
                        },
                        retries: Vec::new(),
                        output: None,
                    });
                }
                Suite {
                    name: format!("reconcile {}", c.name),
                    time: None,
                    properties: vec![("since".into(), c.since.clone()), ("until".into(), c.until.clone())],
                    cases,
                }
            })
            .collect()
    }
}
