//! The terminal reporter: one line per scenario as it finishes (in scenario order), then each
//! failure explained, then a summary line.

use std::io::Write;

use super::{CaseReport, Event, Reporter, SnapshotAction, Summary};

/// Colours on or off; `NO_COLOR` and non-terminals turn them off unless forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
    pub fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    pub fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
}

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
        let status = if r.passed { self.style.green("PASS") } else { self.style.red("FAIL") };
        let time = if self.times { format!(" {:>7}", crate::duration::format(r.duration)) } else { String::new() };
        let warn = if r.warnings().next().is_some() { self.style.yellow(" (warnings)") } else { String::new() };
        if self.times {
            writeln!(self.out, "  {status}  {:<width$}{}{warn}", r.id, self.style.dim(&time), width = self.width)
        } else {
            writeln!(self.out, "  {status}  {}{warn}", r.id)
        }
    }

    fn explain(&mut self, r: &CaseReport) -> std::io::Result<()> {
        let header = format!("── {} ({})", r.id, r.file);
        writeln!(self.out, "\n{}", self.style.bold(&header))?;
        let versions: Vec<String> = r.versions.iter().map(|(k, v)| format!("{k}@{v}")).collect();
        writeln!(self.out, "   flow {} · {}", r.flow, versions.join(", "))?;
        for f in &r.findings {
            let mark = if f.warning { self.style.yellow("warning") } else { self.style.red("✗") };
            writeln!(self.out, "   {mark} {}: {}", f.kind.name(), f.message)?;
            for line in f.details.iter().flat_map(|d| d.lines()) {
                writeln!(self.out, "       {line}")?;
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
                writeln!(self.out, "       {}: {}", d.key, d.reason.as_deref().unwrap_or(""))?;
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
            line.push_str(&format!(" in {}", crate::duration::format(s.duration)));
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
            Event::Started { cases, jobs } => {
                writeln!(self.out, "running {cases} scenario(s) with {jobs} job(s)")
            }
            Event::CaseFinished { report } => self.case_line(report),
            Event::Finished { summary } => self.summary(summary),
        }
    }
}
