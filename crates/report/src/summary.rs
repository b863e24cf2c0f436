//! The job summary a CI page shows (GitHub's `GITHUB_STEP_SUMMARY`, or any `--summary FILE`):
//! Markdown appended to the file — counts, the failing scenarios with their first finding, and a
//! line leading to the run's artifacts (the full reports, the pending snapshots). GitHub refuses a
//! step summary over 1 MiB, so the list is cut short, with a note, to stay under it.

use std::io::Write;
use std::path::{Path, PathBuf};

use harness_engine::events::{Event, Reporter};

use crate::json::{CaseJson, RunReport, RunStatus};

/// GitHub's limit for one step's summary.
pub const LIMIT: usize = 1 << 20;

/// Where the run's artifacts are, for the link line: on GitHub, the run's page.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// `https://github.com/OWNER/REPO/actions/runs/ID`.
    pub run_page: Option<String>,
    /// The HTML report's file name, as uploaded.
    pub html: Option<String>,
}

impl Links {
    /// From GitHub Actions' variables (`GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`, `GITHUB_RUN_ID`).
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>, html: Option<&Path>) -> Links {
        let run_page = match (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY"), var("GITHUB_RUN_ID")) {
            (Some(server), Some(repo), Some(id)) => Some(format!("{server}/{repo}/actions/runs/{id}")),
            _ => None,
        };
        Links { run_page, html: html.and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()) }
    }
}

/// The summary's Markdown, at most `limit` bytes.
pub fn markdown(report: &RunReport, links: &Links, limit: usize) -> String {
    let flaky = report.cases.iter().filter(|c| c.flaky).count();
    let mark = match report.status {
        RunStatus::Passed => "✅",
        RunStatus::Failed => "❌",
        RunStatus::Cancelled => "⏹️",
    };
    let share = report.share.as_ref().map_or_else(String::new, |s| format!(" (share {}/{})", s.index, s.total));
    let mut head = format!(
        "### {mark} harness{share}: {} passed, {} failed, {} total\n\n",
        report.passed, report.failed, report.total
    );
    head.push_str("| passed | failed | flaky | total | planned | time |\n|---:|---:|---:|---:|---:|---:|\n");
    head.push_str(&format!(
        "| {} | {} | {flaky} | {} | {} | {} |\n",
        report.passed,
        report.failed,
        report.total,
        report.planned,
        harness_core::duration::format(std::time::Duration::from_millis(report.duration_ms))
    ));
    let mut tail = String::new();
    if matches!(report.status, RunStatus::Cancelled) {
        tail.push_str(&format!(
            "\nThe run was cancelled: {} of {} scenario(s) finished.\n",
            report.total, report.planned
        ));
    }
    tail.push_str(&link_line(links));
    let failing: Vec<&CaseJson> = report.cases.iter().filter(|c| !c.passed).collect();
    let mut rows = String::new();
    let mut shown = 0;
    if !failing.is_empty() {
        rows.push_str("\n**Failing scenarios**\n\n| scenario | file | first finding |\n|---|---|---|\n");
        // Room for the note saying how many are left out.
        let room = limit.saturating_sub(head.len() + tail.len() + 200);
        for c in &failing {
            let row = format!(
                "| `{}` | `{}` | {} |\n",
                cell(&c.id),
                cell(&c.file),
                cell(&c.first_failure().unwrap_or_else(|| "abandoned".into()))
            );
            if rows.len() + row.len() > room {
                break;
            }
            rows.push_str(&row);
            shown += 1;
        }
        if shown < failing.len() {
            rows.push_str(&format!("\n_{} more failing scenario(s) not listed: a job summary is limited to 1 MiB; the JUnit and JSON reports have them all._\n", failing.len() - shown));
        }
    }
    let mut text = head + &rows + &tail;
    text.push('\n');
    if text.len() > limit {
        // Only a limit too small for the counts themselves gets here.
        let cut = (0..=limit).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.truncate(cut);
    }
    text
}

fn link_line(links: &Links) -> String {
    let what = links.html.as_ref().map_or_else(
        || "the reports and pending snapshots".to_string(),
        |h| format!("the HTML report (`{h}`), the JUnit report and the pending snapshots"),
    );
    match &links.run_page {
        Some(page) => format!("\nFull results: {what} are in [this run's artifacts]({page}#artifacts).\n"),
        None => format!("\nFull results: {what}, in this job's artifacts.\n"),
    }
}

/// Text for a table cell: one line, no column breaks, not too long.
fn cell(text: &str) -> String {
    let line: String = text.lines().next().unwrap_or("").chars().take(300).collect();
    let more = if line.len() < text.trim_end().len() { "…" } else { "" };
    format!("{}{more}", line.replace('|', "\\|").replace('`', "'"))
}

/// Append `text` to the summary file (GitHub gathers what each step appends).
pub fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
}

/// Appends a run's summary when it ends (also when it is cancelled).
pub struct SummaryReporter {
    path: PathBuf,
    links: Links,
}

impl SummaryReporter {
    pub fn new(path: PathBuf, links: Links) -> Self {
        SummaryReporter { path, links }
    }
}

impl Reporter for SummaryReporter {
    fn report(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        let report = match event {
            Event::RunFinished { summary } => RunReport::of(summary, false),
            Event::RunCancelled { summary, .. } => RunReport::of(summary, true),
            _ => return Ok(()),
        };
        append(&self.path, &markdown(&report, &self.links, LIMIT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::PlanJson;

    fn report(failing: usize) -> RunReport {
        let case = |i: usize| -> CaseJson {
            serde_json::from_value(serde_json::json!({
                "id": format!("orders/case-{i:05}"), "file": format!("scenarios/orders/case-{i:05}.yaml"), "flow": "orders", "description": null,
                "tags": [], "versions": {}, "passed": false, "flaky": false, "abandoned": false, "duration_ms": 5,
                "findings": [{"check": "snapshot", "warning": false, "message": "netsuite | request body changed\nsecond line", "details": [], "diff": null}],
                "snapshots": [], "records": [], "waits": [], "refreshes": {}, "requests": 0, "output": "", "retries": []
            }))
            .unwrap()
        };
        RunReport {
            format: crate::json::FORMAT,
            status: RunStatus::Failed,
            passed: 3,
            failed: failing,
            total: failing + 3,
            planned: failing + 3,
            duration_ms: 1500,
            plan: PlanJson { fingerprint: "0".into(), cases: failing + 3 },
            share: None,
            cases: (0..failing).map(case).collect(),
        }
    }

    #[test]
    fn failing_scenarios_with_their_first_finding_and_the_link_line() {
        let links =
            Links { run_page: Some("https://github.com/o/r/actions/runs/7".into()), html: Some("report.html".into()) };
        let text = markdown(&report(2), &links, LIMIT);
        assert!(text.starts_with("### ❌ harness: 3 passed, 2 failed, 5 total\n"), "{text}");
        assert!(text.contains("| `orders/case-00001` | `scenarios/orders/case-00001.yaml` | snapshot: netsuite \\| request body changed… |"), "{text}");
        assert!(
            text.contains("[this run's artifacts](https://github.com/o/r/actions/runs/7#artifacts)")
                && text.contains("`report.html`"),
            "{text}"
        );
    }

    #[test]
    fn never_more_than_the_limit_and_says_what_it_left_out() {
        let text = markdown(&report(20_000), &Links::default(), LIMIT);
        assert!(text.len() <= LIMIT, "{}", text.len());
        assert!(text.contains("more failing scenario(s) not listed"), "{}", &text[text.len() - 400..]);
        let small = markdown(&report(50), &Links::default(), 2_000);
        assert!(small.len() <= 2_000 && small.contains("more failing scenario(s) not listed"), "{small}");
    }
}
