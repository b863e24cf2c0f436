//! An impact report as reporters render it: terminal, Markdown (for a pull-request comment),
//! JSON, and test suites for the JUnit report (one per flow, a case per affected target field).

use std::fmt::Write as _;

use harness_core::Style;
use harness_engine::events::{AnalysisResult, Suite, SuiteCase, SuiteVerdict};
use serde_json::Value;

use super::model::{ImpactReport, Severity};
use crate::diff::ChangeKind;

impl AnalysisResult for ImpactReport {
    fn title(&self) -> String {
        format!("impact {} {} → {}", self.system, self.from, self.to)
    }

    fn terminal(&self, style: Style) -> String {
        terminal(self, style)
    }

    fn json(&self) -> Value {
        let mut value = serde_json::to_value(self).expect("reports serialise");
        value["verdict"] = serde_json::json!({
            "clean": !self.fails(),
            "unverified": self.unverified(),
            "breaking": self.count(Severity::Breaking),
            "data_loss": self.count(Severity::DataLoss),
            "deprecated": self.count(Severity::Deprecated),
            "cosmetic": self.count(Severity::Cosmetic),
        });
        value
    }

    fn markdown(&self) -> Option<String> {
        Some(markdown(self))
    }

    fn suites(&self) -> Vec<Suite> {
        suites(self)
    }
}

fn diff_summary(report: &ImpactReport) -> Vec<(String, Vec<String>)> {
    let mut scopes: Vec<(String, Vec<String>)> = Vec::new();
    for c in &report.diff.changes {
        let line = match (&c.kind, &c.detail) {
            (ChangeKind::EndpointRemoved, Some(d)) => format!("endpoint removed: {d}"),
            (ChangeKind::EndpointAdded, _) => "endpoint added".to_string(),
            (ChangeKind::Renamed, Some(d)) => format!("`{}` renamed to `{d}`", c.path),
            (ChangeKind::TypeChanged, Some(d)) => format!("`{}` type changed ({d})", c.path),
            (kind, _) => format!("`{}` {}", c.path, kind.as_str()),
        };
        let line = match (&c.since, &c.instead) {
            (Some(v), Some(i)) => format!("{line} in {v}: use `{i}`"),
            (Some(v), None) => format!("{line} in {v}"),
            (None, Some(i)) => format!("{line}: use `{i}`"),
            (None, None) => line,
        };
        match scopes.iter_mut().find(|(s, _)| *s == c.scope) {
            Some((_, lines)) => lines.push(line),
            None => scopes.push((c.scope.clone(), vec![line])),
        }
    }
    scopes
}

fn verdict(report: &ImpactReport) -> String {
    let (b, d, c) =
        (report.count(Severity::Breaking), report.count(Severity::DataLoss), report.count(Severity::Cosmetic));
    let deprecated = match report.count(Severity::Deprecated) {
        0 => String::new(),
        n => format!("{n} deprecated, "),
    };
    let affected = report.flows.iter().filter(|f| f.worst().is_some_and(Severity::blocks)).count();
    let unverified = match report.flows.iter().filter(|f| !f.unverified.is_empty()).count() {
        0 => String::new(),
        n if report.allow_unverified => format!("; {n} flow(s) not verified (allowed)"),
        n => format!("; {n} flow(s) not verified"),
    };
    if report.blocks_upgrade() {
        format!(
            "NOT CLEAN: {b} breaking, {d} data-loss, {deprecated}{c} cosmetic finding(s); {affected} of {} flow(s) affected{unverified}",
            report.flows.len()
        )
    } else if report.fails() {
        format!(
            "NOT VERIFIED: no breaking or data-loss finding ({deprecated}{c} cosmetic) across {} flow(s){unverified}: the replay cannot see changes nothing tells",
            report.flows.len()
        )
    } else {
        format!(
            "clean: no breaking or data-loss finding ({deprecated}{c} cosmetic) across {} flow(s){unverified}",
            report.flows.len()
        )
    }
}

fn terminal(report: &ImpactReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.bold(&format!("impact of {} {} → {}", report.system, report.from, report.to)));
    let _ = writeln!(out, "\nversion diff ({} change(s)):", report.diff.changes.len());
    for (scope, lines) in diff_summary(report) {
        let _ = writeln!(out, "  {scope}");
        for l in lines {
            let _ = writeln!(out, "    {l}");
        }
    }
    if !report.diff.unpaired.is_empty() {
        let _ = writeln!(
            out,
            "  recorded at {} only (migrated for the replay): {}",
            report.from,
            report.diff.unpaired.join(", ")
        );
    }
    for flow in &report.flows {
        let replayed = flow.scenarios.len();
        let head = match flow.worst() {
            None => style.green(&format!("clean ({replayed} scenario(s) replayed, output unchanged)")),
            Some(s) if !s.blocks() => {
                style.green(&format!("clean apart from {} changes ({replayed} scenario(s) replayed)", s.as_str()))
            }
            Some(s) => style.red(&format!("{} ({} field(s) affected)", s.as_str().to_uppercase(), flow.fields().len())),
        };
        let _ = writeln!(out, "\n{} — {head}", style.bold(&flow.flow));
        for u in &flow.unverified {
            let line = if report.allow_unverified {
                style.yellow(&format!("warning: {}", u.message))
            } else {
                style.red(&u.message)
            };
            let _ = writeln!(out, "  {line}");
        }
        for ((system, request, field), hits) in flow.fields() {
            let worst = hits.iter().map(|(_, f)| f.severity).min().unwrap_or(Severity::Cosmetic);
            let label = format!("{:<10}", worst.as_str());
            let painted = match worst {
                Severity::Breaking | Severity::DataLoss => style.red(&label),
                Severity::Deprecated => style.yellow(&label),
                Severity::Cosmetic => style.dim(&label),
            };
            let target = [system.as_str(), request.as_str(), field.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(out, "  {painted} {target}");
            let mut causes: Vec<&String> = hits.iter().flat_map(|(_, f)| &f.causes).collect();
            causes.sort();
            causes.dedup();
            if causes.is_empty() && worst.blocks() {
                let _ = writeln!(out, "             cause: not traced to a recorded change");
            }
            for c in causes {
                let _ = writeln!(out, "             cause: {c}");
            }
            for (s, f) in &hits {
                let _ = writeln!(out, "             {}: {}", s.id, f.evidence);
            }
        }
        for s in flow.scenarios.iter().filter(|s| !s.migrated.is_empty()) {
            let _ = writeln!(out, "  ({} replayed with migrated payloads: {})", s.id, s.migrated.join(", "));
        }
    }
    let _ = writeln!(out, "\nresult: {}", verdict(report));
    out
}

fn markdown(report: &ImpactReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Impact of {} {} → {}\n", report.system, report.from, report.to);
    let _ = writeln!(out, "**{}**\n", verdict(report));
    let _ = writeln!(out, "| flow | verdict | affected target fields |");
    let _ = writeln!(out, "| --- | --- | --- |");
    for flow in &report.flows {
        let fields = flow.fields();
        let verdict = flow.worst().map_or("clean".to_string(), |s| s.as_str().to_string());
        let _ = writeln!(out, "| `{}` | {verdict} | {} |", flow.flow, fields.len());
    }
    let unverified: Vec<(&str, &str)> = report
        .flows
        .iter()
        .flat_map(|f| f.unverified.iter().map(move |u| (f.flow.as_str(), u.message.as_str())))
        .collect();
    if !unverified.is_empty() {
        let _ = writeln!(out, "\n### Not verified\n");
        for (flow, message) in unverified {
            let _ = writeln!(out, "- `{flow}`: {message}");
        }
    }
    for flow in report.flows.iter().filter(|f| f.worst().is_some()) {
        let _ = writeln!(out, "\n### `{}`\n", flow.flow);
        let _ = writeln!(out, "| severity | target field | cause | evidence |");
        let _ = writeln!(out, "| --- | --- | --- | --- |");
        for ((system, request, field), hits) in flow.fields() {
            let worst = hits.iter().map(|(_, f)| f.severity).min().unwrap_or(Severity::Cosmetic);
            let mut causes: Vec<&String> = hits.iter().flat_map(|(_, f)| &f.causes).collect();
            causes.sort();
            causes.dedup();
            let causes = if causes.is_empty() {
                "—".to_string()
            } else {
                causes.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join("<br>")
            };
            let evidence = hits
                .iter()
                .map(|(s, f)| format!("`{}`: {}", s.id, f.evidence.replace('|', "\\|")))
                .collect::<Vec<_>>()
                .join("<br>");
            let target = if request.is_empty() {
                format!("{system} `{field}`")
            } else {
                format!("{system} `{request}` `{field}`")
            };
            let _ = writeln!(out, "| {} | {target} | {causes} | {evidence} |", worst.as_str());
        }
    }
    let _ = writeln!(out, "\n<details><summary>Version diff ({} changes)</summary>\n", report.diff.changes.len());
    for (scope, lines) in diff_summary(report) {
        let _ = writeln!(out, "- **{scope}**");
        for l in lines {
            let _ = writeln!(out, "  - {l}");
        }
    }
    let _ = writeln!(out, "\n</details>");
    out
}

/// One suite per flow; one test case per affected target field (a passing "no affected fields"
/// case when the flow is clean).
fn suites(report: &ImpactReport) -> Vec<Suite> {
    let mut out = Vec::new();
    for flow in &report.flows {
        let properties = vec![
            ("system".to_string(), report.system.to_string()),
            ("from".to_string(), report.from.clone()),
            ("to".to_string(), report.to.clone()),
        ];
        let case = |name: String, verdict: SuiteVerdict| SuiteCase {
            name,
            classname: flow.flow.clone(),
            file: None,
            time: None,
            verdict,
            retries: Vec::new(),
            output: None,
        };
        let fields = flow.fields();
        let mut cases = Vec::new();
        if fields.is_empty() {
            cases.push(case("no affected fields".into(), SuiteVerdict::Passed));
        }
        for ((system, request, field), hits) in fields {
            let worst = hits.iter().map(|(_, f)| f.severity).min().unwrap_or(Severity::Cosmetic);
            let mut causes: Vec<&String> = hits.iter().flat_map(|(_, f)| &f.causes).collect();
            causes.sort();
            causes.dedup();
            let verdict = if !worst.blocks() {
                SuiteVerdict::Passed
            } else {
                let mut body = String::new();
                for c in &causes {
                    body.push_str(&format!("cause: {c}\n"));
                }
                for (s, f) in &hits {
                    body.push_str(&format!("{} ({}): {}\n", s.id, s.file, f.evidence));
                }
                let message = format!(
                    "{}: {}",
                    worst.as_str(),
                    causes.first().map_or("not traced to a recorded change", |c| c.as_str())
                );
                SuiteVerdict::Failed { kind: worst.as_str().to_string(), message, body }
            };
            cases.push(case(format!("{system} {request} {field}"), verdict));
        }
        for u in &flow.unverified {
            let verdict = if report.allow_unverified {
                SuiteVerdict::Passed
            } else {
                SuiteVerdict::Failed { kind: "not verified".into(), message: u.message.clone(), body: String::new() }
            };
            cases.push(case(format!("not verified: {}", u.scope), verdict));
        }
        out.push(Suite { name: flow.flow.clone(), time: None, properties, cases });
    }
    out
}
