//! Renderings of an impact report: terminal, Markdown (for a pull-request comment), JSON, JUnit.

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::analysis::{ImpactReport, Severity};
use super::diff::ChangeKind;
use crate::report::Style;

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
        match scopes.iter_mut().find(|(s, _)| *s == c.scope) {
            Some((_, lines)) => lines.push(line),
            None => scopes.push((c.scope.clone(), vec![line])),
        }
    }
    scopes
}

fn verdict(report: &ImpactReport) -> String {
    let (b, d, c) = (report.count(Severity::Breaking), report.count(Severity::DataLoss), report.count(Severity::Cosmetic));
    let affected = report.flows.iter().filter(|f| f.worst().is_some_and(|w| w != Severity::Cosmetic)).count();
    if report.blocks_upgrade() {
        format!("NOT CLEAN: {b} breaking, {d} data-loss, {c} cosmetic finding(s); {affected} of {} flow(s) affected", report.flows.len())
    } else {
        format!("clean: no breaking or data-loss finding ({c} cosmetic) across {} flow(s)", report.flows.len())
    }
}

pub fn terminal(report: &ImpactReport, style: Style) -> String {
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
        let _ = writeln!(out, "  recorded at {} only (migrated for the replay): {}", report.from, report.diff.unpaired.join(", "));
    }
    for flow in &report.flows {
        let replayed = flow.scenarios.len();
        let head = match flow.worst() {
            None => style.green(&format!("clean ({replayed} scenario(s) replayed, output unchanged)")),
            Some(Severity::Cosmetic) => style.green(&format!("clean apart from cosmetic changes ({replayed} scenario(s) replayed)")),
            Some(s) => style.red(&format!("{} ({} field(s) affected)", s.as_str().to_uppercase(), flow.fields().len())),
        };
        let _ = writeln!(out, "\n{} — {head}", style.bold(&flow.flow));
        for ((system, request, field), hits) in flow.fields() {
            let worst = hits.iter().map(|(_, f)| f.severity).min().unwrap_or(Severity::Cosmetic);
            let label = format!("{:<10}", worst.as_str());
            let painted = match worst {
                Severity::Breaking | Severity::DataLoss => style.red(&label),
                Severity::Cosmetic => style.dim(&label),
            };
            let target = [system.name(), request.as_str(), field.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ");
            let _ = writeln!(out, "  {painted} {target}");
            let mut causes: Vec<&String> = hits.iter().flat_map(|(_, f)| &f.causes).collect();
            causes.sort();
            causes.dedup();
            if causes.is_empty() && worst != Severity::Cosmetic {
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

pub fn markdown(report: &ImpactReport) -> String {
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
    for flow in report.flows.iter().filter(|f| f.worst().is_some()) {
        let _ = writeln!(out, "\n### `{}`\n", flow.flow);
        let _ = writeln!(out, "| severity | target field | cause | evidence |");
        let _ = writeln!(out, "| --- | --- | --- | --- |");
        for ((system, request, field), hits) in flow.fields() {
            let worst = hits.iter().map(|(_, f)| f.severity).min().unwrap_or(Severity::Cosmetic);
            let mut causes: Vec<&String> = hits.iter().flat_map(|(_, f)| &f.causes).collect();
            causes.sort();
            causes.dedup();
            let causes = if causes.is_empty() { "—".to_string() } else { causes.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join("<br>") };
            let evidence = hits.iter().map(|(s, f)| format!("`{}`: {}", s.id, f.evidence.replace('|', "\\|"))).collect::<Vec<_>>().join("<br>");
            let target = if request.is_empty() { format!("{system} `{field}`") } else { format!("{system} `{request}` `{field}`") };
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

pub fn json(report: &ImpactReport) -> String {
    let mut value = serde_json::to_value(report).expect("reports serialise");
    value["verdict"] = serde_json::json!({
        "clean": !report.blocks_upgrade(),
        "breaking": report.count(Severity::Breaking),
        "data_loss": report.count(Severity::DataLoss),
        "cosmetic": report.count(Severity::Cosmetic),
    });
    let mut text = serde_json::to_string_pretty(&value).expect("JSON");
    text.push('\n');
    text
}

/// One suite per flow; one test case per affected target field (a passing "no affected fields"
/// case when the flow is clean).
pub fn junit(report: &ImpactReport) -> Result<String, String> {
    let mut r = Report::new(format!("impact {} {} → {}", report.system, report.from, report.to));
    for flow in &report.flows {
        let mut suite = TestSuite::new(flow.flow.as_str());
        suite.add_property(Property::new("system", report.system.name()));
        suite.add_property(Property::new("from", report.from.as_str()));
        suite.add_property(Property::new("to", report.to.as_str()));
        let fields = flow.fields();
        if fields.is_empty() {
            let mut case = TestCase::new("no affected fields", TestCaseStatus::success());
            case.set_classname(flow.flow.as_str());
            suite.add_test_case(case);
        }
        for ((system, request, field), hits) in fields {
            let worst = hits.iter().map(|(_, f)| f.severity).min().unwrap_or(Severity::Cosmetic);
            let mut causes: Vec<&String> = hits.iter().flat_map(|(_, f)| &f.causes).collect();
            causes.sort();
            causes.dedup();
            let status = if worst == Severity::Cosmetic {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_type(worst.as_str());
                s.set_message(format!("{}: {}", worst.as_str(), causes.first().map_or("not traced to a recorded change", |c| c.as_str())));
                let mut body = String::new();
                for c in &causes {
                    body.push_str(&format!("cause: {c}\n"));
                }
                for (s, f) in &hits {
                    body.push_str(&format!("{} ({}): {}\n", s.id, s.file, f.evidence));
                }
                s.set_description(body);
                s
            };
            let mut case = TestCase::new(format!("{system} {request} {field}"), status);
            case.set_classname(flow.flow.as_str());
            suite.add_test_case(case);
        }
        r.add_test_suite(suite);
    }
    r.to_string().map(crate::report::junit_for_jenkins).map_err(|e| format!("cannot serialise the JUnit report: {e}"))
}
