//! The terminal reporter: one line per scenario as it finishes (in scenario order), then each
//! failure explained, then a summary line; slow and retried cases as they happen; an analysis's
//! own rendering.

use std::io::Write;

use harness_core::Style;
use harness_engine::events::{CaseReport, Event, Reporter, SnapshotAction, Summary};

pub struct TerminalReporter<W: Write> {
    out: W,
    style: Style,
    /// Show timings (off in golden tests, where they would differ run to run).
    times: bool,
    width: usize,
}

impl<W: Write> TerminalReporter<W> {
    pub fn new(out: W, style: Style, times: bool) -> Self {
        TerminalReporter { out, style, times, width: 60 }
    }

    fn case_line(&mut self, r: &CaseReport) -> std::io::Result<()> {
        let status = match (r.passed, r.flaky()) {
            (true, false) => self.style.green("PASS"),
            (true, true) => self.style.yellow("FLAKY"),
            (false, _) => self.style.red("FAIL"),
        };
        let time =
            if self.times { format!(" {:>7}", harness_core::duration::format(r.duration)) } else { String::new() };
        let warn = if r.warnings().next().is_some() { self.style.yellow(" (warnings)") } else { String::new() };
        if self.times {
            writeln!(self.out, "  {status}  {:<width$}{}{warn}", r.id, self.style.dim(&time), width = self.width)
        } else {
            writeln!(self.out, "  {status}  {}{warn}", r.id)
        }
    }

    /// Text that came from a program or a system, as shown: without colours asked for, also
    /// without the control sequences it may hold (a program's own colours, cursor moves, titles),
    /// so a log file or CI page shows exactly what it says.
    fn shown<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if self.style.color { std::borrow::Cow::Borrowed(text) } else { strip_controls(text) }
    }

    fn explain(&mut self, r: &CaseReport) -> std::io::Result<()> {
        let header = format!("── {} ({})", r.id, r.file);
        writeln!(self.out, "\n{}", self.style.bold(&header))?;
        let versions: Vec<String> = r.versions.iter().map(|(k, v)| format!("{k}@{v}")).collect();
        writeln!(self.out, "   flow {} · {}", r.flow, versions.join(", "))?;
        for f in &r.findings {
            let mark = if f.warning { self.style.yellow("warning") } else { self.style.red("✗") };
            writeln!(self.out, "   {mark} {}: {}", f.kind.name(), self.shown(&f.message))?;
            for line in f.details.iter().flat_map(|d| d.lines()) {
                writeln!(self.out, "       {}", self.shown(line))?;
            }
            if let Some(diff) = &f.diff {
                for line in diff.lines() {
                    let painted = match line.chars().next() {
                        Some('-') => self.style.red(line),
                        Some('+') => self.style.green(line),
                        Some('@') => self.style.dim(line),
                        _ => line.to_string(),
                    };
                    writeln!(self.out, "       {painted}")?;
                }
            }
        }
        let dead: Vec<_> = r.dead_letters().collect();
        if !dead.is_empty() {
            writeln!(self.out, "   dead letters:")?;
            for d in dead {
                writeln!(self.out, "       {}: {}", d.key, self.shown(d.reason.as_deref().unwrap_or("")))?;
            }
        }
        for s in r.snapshots.iter().filter(|s| s.action == SnapshotAction::PendingWritten) {
            writeln!(self.out, "   pending snapshot: {}.new (review with `harness review`)", s.path)?;
        }
        Ok(())
    }

    fn summary(&mut self, s: &Summary) -> std::io::Result<()> {
        let failed: Vec<&CaseReport> = s.cases.iter().filter(|c| !c.passed || c.warnings().next().is_some()).collect();
        if !failed.is_empty() {
            writeln!(self.out, "\n{}", self.style.bold(if s.all_passed() { "warnings:" } else { "failures:" }))?;
            for r in failed {
                self.explain(r)?;
            }
        }
        let mut line = format!("{} passed, {} failed, {} total", s.passed(), s.failed(), s.cases.len());
        if self.times {
            line.push_str(&format!(" in {}", harness_core::duration::format(s.duration)));
        }
        let pending = s.snapshots_with(SnapshotAction::PendingWritten);
        let accepted = s.snapshots_with(SnapshotAction::Accepted);
        if pending > 0 {
            line.push_str(&format!(" · {pending} pending snapshot(s): run `harness review`"));
        }
        if accepted > 0 {
            line.push_str(&format!(" · {accepted} snapshot(s) accepted"));
        }
        let word = if s.all_passed() { self.style.green("ok") } else { self.style.red("FAILED") };
        writeln!(self.out, "\nresult: {word}. {line}")
    }
}

impl<W: Write> Reporter for TerminalReporter<W> {
    fn report(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        match event {
            Event::RunStarted { cases, jobs } => writeln!(self.out, "running {cases} scenario(s) with {jobs} job(s)"),
            Event::CaseStarted { .. } => Ok(()),
            Event::CaseSlow { id, elapsed } => writeln!(
                self.out,
                "  {}  {id} has run for {}",
                self.style.yellow("SLOW"),
                harness_core::duration::format(*elapsed)
            ),
            Event::CaseRetried { report, attempt } => {
                let why = report
                    .failures()
                    .next()
                    .map_or_else(String::new, |f| format!(": {}: {}", f.kind.name(), f.message));
                writeln!(self.out, "  {}  {} (attempt {attempt} failed{why})", self.style.yellow("RETRY"), report.id)
            }
            Event::CaseFinished { report } | Event::CaseAbandoned { report } => self.case_line(report),
            Event::RunCancelled { summary, signal } => {
                self.summary(summary)?;
                writeln!(self.out, "{}", self.style.red(&format!("run cancelled by {signal}: {} of {} scenario(s) finished; the programs they started were stopped", summary.cases.len(), summary.planned)))
            }
            Event::RunFinished { summary } => self.summary(summary),
            Event::AnalysisFinished { result } => write!(self.out, "{}", result.terminal(self.style)),
        }
    }
}

/// `text` without terminal control sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL` or
/// `ESC \\`, other `ESC x`) and other control characters but newline and tab.
fn strip_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => {
                    // Parameters and intermediates, then one final byte in @..~.
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || c == '\u{1b}' && chars.next_if_eq(&'\\').is_some() {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_are_stripped() {
        assert_eq!(strip_controls("\u{1b}[31;1merror\u{1b}[0m: x\r\n\tok"), "error: x\n\tok");
        assert_eq!(strip_controls("\u{1b}]0;title\u{7}a\u{1b}]8;;http://x\u{1b}\\b\u{1b}7c\u{8}"), "abc");
        assert_eq!(strip_controls("a\u{1b}[12;"), "a");
        assert!(matches!(strip_controls("plain"), std::borrow::Cow::Borrowed("plain")));
    }
}
