//! Where the commands' output goes: standard output that survives a closed pipe, report files
//! checked before anything runs, and the reporters every analysis-like result goes through.

use std::path::{Path, PathBuf};

use harness::events::{AnalysisResult, Event, Reporter};
use harness::report::{Destination, HtmlReporter, JsonReporter, JunitReporter, MarkdownReporter, TerminalReporter};
use harness::{Error, Style};

/// Prints a line on standard output at once (a proxy's user watches it as it records).
pub(crate) fn say(line: &str) {
    let _ = out(&format!("{line}\n"));
    let _ = std::io::Write::flush(&mut Stdout);
}

/// Standard output that quietly drops what it is given once its reader has gone
/// (`harness list | head -1`): no panic, and a run still finishes, writes its other reports and
/// exits with its real code.
pub(crate) struct Stdout;

impl std::io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::io::stdout().write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match std::io::stdout().flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

pub(crate) fn out(text: &str) -> Result<(), Error> {
    use std::io::Write;
    Stdout.write_all(text.as_bytes()).map_err(|e| Error::Environment(format!("cannot write to standard output: {e}")))
}

/// Where a report option sends its report: standard output for `-`, else the file.
pub(crate) fn destination(path: &Path) -> Destination {
    if path.as_os_str() == "-" { Destination::Stdout(Box::new(Stdout)) } else { Destination::File(path.to_path_buf()) }
}

/// A file a report will be written to, checked before anything runs.
pub(crate) fn checked(path: &Path) -> Result<Destination, Error> {
    let d = destination(path);
    d.check().map_err(|e| Error::Environment(format!("cannot write {}: {e}", path.display())))?;
    Ok(d)
}

/// The reporters for an analysis: each report option that is given, and the terminal unless one of
/// them writes to standard output.
pub(crate) fn render_analysis(
    result: &dyn AnalysisResult,
    style: Style,
    markdown: &Option<PathBuf>,
    json: &Option<PathBuf>,
    junit: &Option<PathBuf>,
    html: &Option<PathBuf>,
) -> Result<(), Error> {
    let to_stdout =
        [markdown, json, junit, html].iter().filter(|o| o.as_ref().is_some_and(|p| p.as_os_str() == "-")).count();
    if to_stdout > 1 {
        return Err(Error::Usage(
            "only one of --markdown, --json, --junit and --html can write to standard output (-)".into(),
        ));
    }
    let mut reporters: Vec<Box<dyn Reporter>> = Vec::new();
    if let Some(p) = markdown {
        reporters.push(Box::new(MarkdownReporter::new(checked(p)?)));
    }
    if let Some(p) = json {
        reporters.push(Box::new(JsonReporter::new(checked(p)?)));
    }
    if let Some(p) = junit {
        reporters.push(Box::new(JunitReporter::new(checked(p)?, result.title())));
    }
    if let Some(p) = html {
        reporters.push(Box::new(HtmlReporter::new(checked(p)?)));
    }
    if to_stdout == 0 {
        reporters.push(Box::new(TerminalReporter::new(Stdout, style, true)));
    }
    let event = Event::AnalysisFinished { result };
    for r in &mut reporters {
        r.report(&event).map_err(|e| Error::Environment(format!("cannot write a report: {e}")))?;
    }
    Ok(())
}

/// `--summary FILE`, else the job summary of GitHub Actions.
pub(crate) fn summary_file(given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()).map(PathBuf::from))
}

pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("reports serialise");
    text.push('\n');
    text
}
