//! One HTML page per run, for a reviewer: self-contained (styles and the filter script inline,
//! nothing fetched), so it reads offline and in a CI artifact viewer. The summary, then the
//! scenarios with failures first — each with its findings, snapshot diffs, dead letters, pending
//! snapshots, retries and program output — then the slowest scenarios; filtered by status and flow.
//! Rendered from the JSON report's data, so a merged run's page is a single run's.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use harness_engine::events::{AnalysisResult, Event, Reporter, Suite, SuiteCase, SuiteVerdict};

use crate::json::{CaseJson, RunReport, RunStatus};
use crate::output::Destination;

/// Scenarios listed under "slowest".
const SLOWEST: usize = 15;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem;color:#1b1f24}\
h1{font-size:1.4rem}.counts span{margin-right:1rem}.failed{color:#b3261e}.passed{color:#1a7f37}.flaky{color:#9a6700}\
details{border:1px solid #d0d7de;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}summary{cursor:pointer}\
summary .status{display:inline-block;min-width:3.5rem;font-weight:600}.meta{color:#57606a;font-size:.9em}\
pre{background:#f6f8fa;padding:.5rem;overflow:auto;font-size:12px}.add{color:#1a7f37}.del{color:#b3261e}.hunk{color:#8250df}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #d0d7de;padding:.2rem .6rem;text-align:left}\
.filters{margin:.8rem 0}.filters label{margin-right:1rem}";

/// Shows the scenarios matching both filters; marks the page ready (headless checks read it).
const SCRIPT: &str = "(function(){var s=document.getElementById('status'),f=document.getElementById('flow');\
function apply(){var n=0;document.querySelectorAll('details.case').forEach(function(d){\
var ok=(s.value==='all'||d.dataset.status===s.value)&&(f.value==='all'||d.dataset.flow===f.value);d.hidden=!ok;if(ok)n++;});\
document.getElementById('shown').textContent=n;}s.addEventListener('change',apply);f.addEventListener('change',apply);apply();\
document.body.dataset.ready='yes';})();";

/// The page of a run.
pub fn page(report: &RunReport) -> String {
    let mut html = String::new();
    let status = match report.status {
        RunStatus::Passed => "passed",
        RunStatus::Failed => "failed",
        RunStatus::Cancelled => "cancelled",
    };
    let flaky = report.cases.iter().filter(|c| c.flaky).count();
    head(&mut html, &format!("harness: {} passed, {} failed", report.passed, report.failed));
    let _ = write!(
        html,
        "<h1>harness run: <span class=\"{status}\">{status}</span></h1>\n\
<p class=\"counts\"><span class=\"passed\">{} passed</span><span class=\"failed\">{} failed</span><span class=\"flaky\">{flaky} flaky</span><span>{} of {} planned</span><span>{}</span></p>\n",
        report.passed,
        report.failed,
        report.total,
        report.planned,
        harness_core::duration::format(std::time::Duration::from_millis(report.duration_ms)),
    );
    filters(&mut html, "flow", report.cases.iter().map(|c| c.flow.as_str()).collect());
    // Failures first, then flaky, then passed; by id within each.
    let mut cases: Vec<&CaseJson> = report.cases.iter().collect();
    cases.sort_by_key(|c| (rank(c), c.id.as_str()));
    for c in cases {
        scenario(&mut html, c);
    }
    slowest(&mut html, report);
    tail(&mut html);
    html
}

/// The page of an analysis (impact, reconcile, record --check): a summary, then its findings as
/// the JUnit report has them (and a passing case's notes) — one case per field, relation or kind, grouped by suite (a flow, a
/// reconciliation) — failures first. Rendered from the same cases, so it shows no value the
/// other reports hide.
pub(crate) fn analysis_page(result: &dyn AnalysisResult) -> String {
    let suites = result.suites();
    let failed_in = |s: &Suite| s.cases.iter().filter(|c| !matches!(c.verdict, SuiteVerdict::Passed)).count();
    let failed: usize = suites.iter().map(failed_in).sum();
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let status = if failed == 0 { "passed" } else { "failed" };
    let title = result.title();
    let mut html = String::new();
    head(&mut html, &format!("harness {title}: {failed} failed"));
    let _ = write!(
        html,
        "<h1>harness {}: <span class=\"{status}\">{status}</span></h1>\n<p class=\"counts\"><span class=\"passed\">{} passed</span><span class=\"failed\">{failed} failed</span><span>{total} checked</span></p>\n\
<table><tr><th>of</th><th>passed</th><th>failed</th></tr>\n",
        escape(&title),
        total - failed,
    );
    for s in &suites {
        let properties: Vec<String> = s.properties.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(
            html,
            "<tr><td>{} <span class=\"meta\">{}</span></td><td>{}</td><td>{}</td></tr>",
            escape(&s.name),
            escape(&properties.join(", ")),
            s.cases.len() - failed_in(s),
            failed_in(s)
        );
    }
    html.push_str("</table>\n");
    filters(&mut html, "of", suites.iter().map(|s| s.name.as_str()).collect());
    let mut cases: Vec<(&Suite, &SuiteCase)> =
        suites.iter().flat_map(|s| s.cases.iter().map(move |c| (s, c))).collect();
    cases.sort_by_key(|(_, c)| matches!(c.verdict, SuiteVerdict::Passed));
    for (s, c) in cases {
        let (status, finding) = match &c.verdict {
            SuiteVerdict::Passed => ("passed", None),
            SuiteVerdict::Failed { kind, message, body } | SuiteVerdict::Error { kind, message, body } => {
                ("failed", Some((kind, message, body)))
            }
        };
        let open = if finding.is_some() { " open" } else { "" };
        let _ = writeln!(
            html,
            "<details class=\"case\" data-status=\"{status}\" data-flow=\"{}\"{open}><summary><span class=\"status {status}\">{}</span> {} <span class=\"meta\">{}</span></summary>",
            escape(&s.name),
            status.to_uppercase(),
            escape(&c.name),
            escape(&c.classname),
        );
        if let Some(file) = &c.file {
            let _ = writeln!(html, "<p class=\"meta\">{}</p>", escape(file));
        }
        if let Some((kind, message, body)) = finding {
            let _ =
                writeln!(html, "<p><span class=\"failed\">✗</span> <b>{}</b>: {}</p>", escape(kind), escape(message));
            if !body.is_empty() {
                let _ = writeln!(html, "<pre>{}</pre>", escape(body.trim_end()));
            }
        }
        if let Some(output) = &c.output {
            let _ = writeln!(html, "<pre class=\"meta\">{}</pre>", escape(output.trim_end()));
        }
        html.push_str("</details>\n");
    }
    tail(&mut html);
    html
}

/// The page's start: its head with the inline style.
fn head(html: &mut String, title: &str) {
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(title)
    );
}

/// The status filter and the filter by group (a run's flows, an analysis's suites).
fn filters(html: &mut String, label: &str, groups: BTreeSet<&str>) {
    let _ = write!(
        html,
        "<div class=\"filters\"><label>status <select id=\"status\"><option value=\"all\">all</option><option value=\"failed\">failed</option><option value=\"flaky\">flaky</option><option value=\"passed\">passed</option></select></label><label>{label} <select id=\"flow\"><option value=\"all\">all</option>"
    );
    for group in &groups {
        let _ = write!(html, "<option>{}</option>", escape(group));
    }
    html.push_str("</select></label><span class=\"meta\"><span id=\"shown\"></span> shown</span></div>\n");
}

/// The page's end: the filter script.
fn tail(html: &mut String) {
    let _ = write!(html, "<script>{SCRIPT}</script>\n</body></html>\n");
}

fn rank(c: &CaseJson) -> u8 {
    match (c.passed, c.flaky) {
        (false, _) => 0,
        (true, true) => 1,
        (true, false) => 2,
    }
}

fn scenario(html: &mut String, c: &CaseJson) {
    let status = match (c.passed, c.flaky) {
        (false, _) => "failed",
        (true, true) => "flaky",
        (true, false) => "passed",
    };
    let open = if c.passed { "" } else { " open" };
    let versions: Vec<String> = c.versions.iter().map(|(s, v)| format!("{s}@{v}")).collect();
    let _ = write!(
        html,
        "<details class=\"case\" data-status=\"{status}\" data-flow=\"{flow}\"{open}><summary><span class=\"status {status}\">{}</span> {} <span class=\"meta\">{} ms</span></summary>\n\
<p class=\"meta\">{} · flow {flow} · {}</p>\n",
        status.to_uppercase(),
        escape(&c.id),
        c.duration_ms,
        escape(&c.file),
        escape(&versions.join(", ")),
        flow = escape(&c.flow),
    );
    if let Some(d) = &c.description {
        let _ = writeln!(html, "<p>{}</p>", escape(d));
    }
    for f in &c.findings {
        let mark = if f.warning { "<span class=\"flaky\">warning</span>" } else { "<span class=\"failed\">✗</span>" };
        let _ = writeln!(html, "<p>{mark} <b>{}</b>: {}</p>", escape(&f.check), escape(&f.message));
        if !f.details.is_empty() {
            let _ = writeln!(html, "<pre>{}</pre>", escape(&f.details.join("\n")));
        }
        if let Some(diff) = &f.diff {
            html.push_str("<pre class=\"diff\">");
            for line in diff.lines() {
                let class = match line.chars().next() {
                    Some('+') => "add",
                    Some('-') => "del",
                    Some('@') => "hunk",
                    _ => "",
                };
                let _ = writeln!(html, "<span class=\"{class}\">{}</span>", escape(line));
            }
            html.push_str("</pre>\n");
        }
    }
    let dead: Vec<_> = c.dead_letters().collect();
    if !dead.is_empty() {
        html.push_str("<p><b>dead letters</b></p><ul>");
        for r in dead {
            let _ = write!(html, "<li>{}: {}</li>", escape(&r.key), escape(r.reason.as_deref().unwrap_or("")));
        }
        html.push_str("</ul>\n");
    }
    for pending in c.pending_snapshots() {
        let _ = writeln!(
            html,
            "<p class=\"meta\">pending snapshot: <code>{}</code> (review with <code>harness review</code>)</p>",
            escape(&pending)
        );
    }
    if !c.retries.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"meta\">{} failed attempt(s) before this one: {}</p>",
            c.retries.len(),
            escape(&c.retries.iter().filter_map(CaseJson::first_failure).collect::<Vec<_>>().join("; "))
        );
    }
    exchanges(html, c);
    if !c.output.is_empty() {
        let _ = writeln!(html, "<details><summary>program output</summary><pre>{}</pre></details>", escape(&c.output));
    }
    html.push_str("</details>\n");
}

/// The requests the mocks received, one row each.
fn exchanges(html: &mut String, c: &CaseJson) {
    if c.exchanges.is_empty() {
        let _ = writeln!(html, "<p class=\"meta\">{} request(s) to the mocks</p>", c.requests);
        return;
    }
    let _ = writeln!(
        html,
        "<details class=\"exchanges\"><summary>{} request(s) to the mocks</summary><table><tr><th>system</th><th>request</th><th>answer</th><th>answered by</th></tr>",
        c.requests
    );
    for e in &c.exchanges {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td><code>{} {}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&e.system),
            escape(&e.method),
            escape(&e.target),
            escape(&e.answer),
            escape(e.answered_by.as_deref().unwrap_or("nothing matched"))
        );
    }
    html.push_str("</table></details>\n");
}

fn slowest(html: &mut String, report: &RunReport) {
    let mut cases: Vec<&CaseJson> = report.cases.iter().collect();
    cases.sort_by(|a, b| b.duration_ms.cmp(&a.duration_ms).then_with(|| a.id.cmp(&b.id)));
    html.push_str("<h2>Slowest scenarios</h2><table><tr><th>scenario</th><th>flow</th><th>ms</th></tr>\n");
    for c in cases.into_iter().take(SLOWEST) {
        let _ =
            writeln!(html, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", escape(&c.id), escape(&c.flow), c.duration_ms);
    }
    html.push_str("</table>\n");
}

/// Text as HTML: what programs and systems wrote can hold markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes a run's page when it ends (also when it is cancelled), or an analysis's page.
pub struct HtmlReporter {
    destination: Destination,
}

impl HtmlReporter {
    pub fn new(destination: Destination) -> Self {
        HtmlReporter { destination }
    }
}

impl Reporter for HtmlReporter {
    fn report(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        let report = match event {
            Event::RunFinished { summary } => RunReport::of(summary, false),
            Event::RunCancelled { summary, .. } => RunReport::of(summary, true),
            Event::AnalysisFinished { result } => return self.destination.deliver(&analysis_page(*result)),
            _ => return Ok(()),
        };
        self.destination.deliver(&page(&report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_come_first_and_program_text_is_escaped() {
        let case = |id: &str, passed: bool, output: &str| -> CaseJson {
            serde_json::from_value(serde_json::json!({
                "id": id, "file": format!("scenarios/{id}.yaml"), "flow": "orders", "description": null, "tags": [], "versions": {"shopify": "2025-01"},
                "passed": passed, "flaky": false, "abandoned": false, "duration_ms": 5,
                "findings": if passed { serde_json::json!([]) } else { serde_json::json!([{"check": "snapshot", "warning": false, "message": "changed", "details": [], "diff": "-  \"a\": 1\n+  \"a\": 2"}]) },
                "snapshots": [], "records": [], "waits": [], "refreshes": {}, "requests": 3, "output": output, "retries": []
            }))
            .unwrap()
        };
        let report = RunReport {
            format: crate::json::FORMAT,
            status: RunStatus::Failed,
            passed: 1,
            failed: 1,
            total: 2,
            planned: 2,
            duration_ms: 10,
            plan: crate::json::PlanJson { fingerprint: "0".into(), cases: 2 },
            share: None,
            cases: vec![case("orders/a", true, "<script>alert(1)</script>"), case("orders/b", false, "")],
        };
        let html = page(&report);
        assert!(html.find("orders/b").unwrap() < html.find("orders/a").unwrap(), "the failure first");
        assert!(
            html.contains("<span class=\"del\">-  &quot;a&quot;: 1</span>")
                && html.contains("<span class=\"add\">+  &quot;a&quot;: 2</span>")
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && html.matches("<script>").count() == 1);
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains(" src="), "nothing fetched");
    }

    struct Analysis;

    impl AnalysisResult for Analysis {
        fn title(&self) -> String {
            "impact <x>".into()
        }
        fn terminal(&self, _style: harness_core::Style) -> String {
            String::new()
        }
        fn json(&self) -> serde_json::Value {
            serde_json::Value::Null
        }
        fn suites(&self) -> Vec<Suite> {
            let case = |name: &str, verdict: SuiteVerdict| SuiteCase {
                name: name.into(),
                classname: "orders".into(),
                file: None,
                time: None,
                verdict,
                retries: Vec::new(),
                output: None,
            };
            let failed = SuiteVerdict::Failed {
                kind: "breaking".into(),
                message: "`memo` removed".into(),
                body: "cause: <b>memo</b>\n".into(),
            };
            vec![Suite {
                name: "orders".into(),
                time: None,
                properties: Vec::new(),
                cases: vec![case("clean field", SuiteVerdict::Passed), case("memo", failed)],
            }]
        }
    }

    #[test]
    fn an_analysis_page_puts_findings_first_and_escapes_them() {
        let html = analysis_page(&Analysis);
        assert!(html.contains("<h1>harness impact &lt;x&gt;: <span class=\"failed\">failed</span></h1>"), "{html}");
        assert!(html.find("memo <span").unwrap() < html.find("clean field").unwrap(), "the failure first: {html}");
        assert!(
            html.contains("<pre>cause: &lt;b&gt;memo&lt;/b&gt;</pre>") && html.matches("<script>").count() == 1,
            "{html}"
        );
    }
}
