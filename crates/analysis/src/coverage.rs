//! `harness coverage`: which recorded source fields the flows read, which no flow reads (candidates
//! for data silently left behind), and which target fields a flow maps but no scenario ever fills.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use harness_core::{Error, Style, SystemId};
use harness_engine::events::{AnalysisResult, Suite, SuiteCase, SuiteVerdict};
use harness_engine::plan;
use harness_engine::snapshot::is_empty;
use harness_expr::Seg;
use harness_syntax::Project;

use crate::diff::parse_path;
use crate::lineage::{self, FlowLineage, LineageOptions, Skipped};

#[derive(Debug, Serialize)]
pub struct SourceCoverage {
    pub system: SystemId,
    /// The recorded endpoint (`webhook orders/create`).
    pub endpoint: String,
    pub flows: Vec<String>,
    pub recorded: usize,
    pub read: Vec<String>,
    pub unread: Vec<String>,
    /// Scenarios whose payload is left out: the flow does not deliver in them (lineage traces
    /// only scenarios where it does).
    pub left_out: Vec<Skipped>,
}

#[derive(Debug, Serialize)]
pub struct TargetCoverage {
    pub flow: String,
    pub system: SystemId,
    pub field: String,
    /// Scenarios whose approved snapshot has the field filled, of those snapshotting the system.
    pub filled_in: usize,
    pub scenarios: usize,
}

#[derive(Debug, Serialize)]
pub struct Coverage {
    pub sources: Vec<SourceCoverage>,
    pub targets: Vec<TargetCoverage>,
}

/// What the recordings of one trigger endpoint hold: the payloads' leaf fields, the flows they
/// trigger, and the scenarios lineage left out.
type Recorded = (BTreeSet<String>, BTreeSet<String>, Vec<Skipped>);

pub fn coverage(project: &Project, jobs: usize) -> Result<Coverage, Error> {
    let plan = plan::build(project, &[])?;
    let lineage =
        lineage::compute(project, &LineageOptions { flows: Vec::new(), ablate: false, cases_per_flow: 1, jobs })?;
    let by_flow: BTreeMap<&str, &FlowLineage> = lineage.flows.iter().map(|l| (l.flow.as_str(), l)).collect();

    // Source side: every leaf of the trigger payloads of the scenarios where the flow delivers, per
    // system and endpoint.
    let skipped: BTreeMap<&str, &Skipped> =
        lineage.flows.iter().flat_map(|l| l.skipped.iter().map(|s| (s.scenario.as_str(), s))).collect();
    let mut recorded: BTreeMap<(SystemId, String), Recorded> = BTreeMap::new();
    for case in &plan.cases {
        let (Some(scope), Some(payload)) = (&case.trigger_scope, &case.trigger.json) else { continue };
        let entry = recorded.entry((case.flow.trigger.system.clone(), scope.clone())).or_default();
        entry.1.insert(case.flow.name.clone());
        match skipped.get(case.id.as_str()) {
            Some(s) => entry.2.push((*s).clone()),
            None => entry.0.extend(lineage::leaf_paths(payload)),
        }
    }
    let mut sources = Vec::new();
    for ((system, endpoint), (fields, flows, left_out)) in recorded {
        let reads: BTreeSet<String> = flows
            .iter()
            .filter_map(|f| by_flow.get(f.as_str()))
            .flat_map(|l| l.reads())
            .filter(|(s, _)| *s == system)
            .map(|(_, p)| p)
            .collect();
        // Reading an object reads its fields; iterating an array (`line_items[]`) does not read
        // its elements' fields — the mapping of each element says which it reads.
        let is_read = |field: &String| {
            reads.iter().any(|r| {
                field == r
                    || (!r.ends_with("[]")
                        && (field.starts_with(&format!("{r}.")) || field.starts_with(&format!("{r}["))))
            })
        };
        let (read, unread): (Vec<String>, Vec<String>) = fields.iter().cloned().partition(is_read);
        sources.push(SourceCoverage {
            system,
            endpoint,
            flows: flows.into_iter().collect(),
            recorded: fields.len(),
            read,
            unread,
            left_out,
        });
    }

    // Target side: mapped fields against the approved snapshots of each flow's scenarios.
    let mut targets = Vec::new();
    for l in &lineage.flows {
        let cases: Vec<_> = plan.cases.iter().filter(|c| c.flow.name == l.flow).collect();
        for t in l.fields.iter().filter(|t| !t.field.starts_with('(')) {
            let snaps: Vec<Value> = cases
                .iter()
                .flat_map(|c| {
                    c.snapshots
                        .iter()
                        .filter(|s| s.system == t.system)
                        .filter_map(|s| s.approved.as_ref().map(|a| a.json()))
                })
                .collect();
            let segs = parse_path(&t.field);
            // `request` is the request line, filled whenever the request was sent.
            let filled_in = snaps
                .iter()
                .filter(|snap| {
                    snap.as_array().into_iter().flatten().any(|entry| t.field == "request" || filled(entry, &segs))
                })
                .count();
            targets.push(TargetCoverage {
                flow: l.flow.clone(),
                system: t.system.clone(),
                field: t.field.clone(),
                filled_in,
                scenarios: snaps.len(),
            });
        }
    }
    Ok(Coverage { sources, targets })
}

/// Whether `path` leads to a non-empty value somewhere in `v` (`[]` tries every element).
fn filled(v: &Value, path: &[Seg]) -> bool {
    match (path.split_first(), v) {
        (None, v) => !is_empty(v),
        (Some((Seg::Key(k), rest)), Value::Object(o)) => o.get(k).is_some_and(|c| filled(c, rest)),
        (Some((Seg::Each, rest)), Value::Array(items)) => items.iter().any(|i| filled(i, rest)),
        _ => false,
    }
}

impl AnalysisResult for Coverage {
    fn title(&self) -> String {
        "coverage".into()
    }

    fn terminal(&self, _style: Style) -> String {
        render(self)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("coverage serialises")
    }

    /// A suite of the target fields the flows map, a case each; one that no scenario fills fails.
    fn suites(&self) -> Vec<Suite> {
        let cases = self
            .targets
            .iter()
            .map(|t| SuiteCase {
                name: format!("{} {}", t.system, t.field),
                classname: t.flow.clone(),
                file: None,
                time: None,
                verdict: if t.filled_in > 0 {
                    SuiteVerdict::Passed
                } else {
                    SuiteVerdict::Failed {
                        kind: "coverage".into(),
                        message: format!("no scenario fills {} {}", t.system, t.field),
                        body: String::new(),
                    }
                },
                retries: Vec::new(),
                output: None,
            })
            .collect();
        vec![Suite { name: "coverage".into(), time: None, properties: Vec::new(), cases }]
    }
}

fn render(c: &Coverage) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "source fields: what the flows read of what is recorded");
    for s in &c.sources {
        let _ = writeln!(
            out,
            "  {} {} ({}): {} recorded fields, {} read, {} never read",
            s.system,
            s.endpoint,
            s.flows.join(", "),
            s.recorded,
            s.read.len(),
            s.unread.len()
        );
        if !s.unread.is_empty() {
            let shown: Vec<&str> = s.unread.iter().take(30).map(String::as_str).collect();
            let more = if s.unread.len() > shown.len() {
                format!(" … and {} more (--json for all)", s.unread.len() - shown.len())
            } else {
                String::new()
            };
            let _ = writeln!(out, "    never read: {}{more}", shown.join(", "));
        }
        if !s.left_out.is_empty() {
            let shown: Vec<String> = s.left_out.iter().map(|l| format!("{} ({})", l.scenario, l.why)).collect();
            let _ = writeln!(out, "    left out: {}", shown.join(", "));
        }
    }
    let never: Vec<&TargetCoverage> = c.targets.iter().filter(|t| t.filled_in == 0).collect();
    let _ =
        writeln!(out, "\ntarget fields the flows map but no scenario fills: {} of {}", never.len(), c.targets.len());
    for t in never {
        let _ = writeln!(out, "  {} → {} {} (empty in all {} snapshot(s))", t.flow, t.system, t.field, t.scenarios);
    }
    out
}
