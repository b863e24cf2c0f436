//! JUnit XML for build dashboards (Jenkins, GitLab, GitHub test reporters): one writer for runs and
//! analyses alike, from test suites.
//!
//! A run has one `<testsuite>` per scenario case holding its one `<testcase>`: the Jenkins xUnit
//! schema allows properties on suites only, and each scenario's properties (file, flow, API
//! versions, tags) are what a dashboard needs to lead back to it.

use std::io::Write;
use std::time::Duration;

use harness_engine::events::{Event, Reporter, RetriedAttempt, Suite, SuiteCase, SuiteVerdict};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite, XmlString};

use crate::json::{self, CaseJson, RunReport};
use crate::output::Destination;

pub struct JunitReporter {
    destination: Destination,
    name: String,
}

impl JunitReporter {
    pub fn new(destination: Destination, name: impl Into<String>) -> Self {
        JunitReporter { destination, name: name.into() }
    }
}

impl Reporter for JunitReporter {
    fn report(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        let name = &self.name;
        match event {
            Event::RunFinished { summary } | Event::RunCancelled { summary, .. } => {
                let cancelled = match event {
                    Event::RunCancelled { signal, .. } => Some(*signal),
                    _ => None,
                };
                let head = RunReport::head(summary, cancelled.is_some());
                // Case by case from the run's own reports: no copy of the run is made.
                let suites = || {
                    summary.cases.iter().map(|c| case_suite(&json::case(c))).chain(cancelled_suite(&head, cancelled))
                };
                let total = Duration::from_millis(head.duration_ms);
                self.destination.deliver_with(&mut |w| write_junit(name, suites, Some(total), w).map_err(io_error))
            }
            Event::AnalysisFinished { result } => {
                let suites = result.suites();
                self.destination.deliver_with(&mut |w| {
                    write_junit(&result.title(), || suites.iter().cloned(), None, w).map_err(io_error)
                })
            }
            _ => Ok(()),
        }
    }
}

fn io_error(e: JunitError) -> std::io::Error {
    match e {
        JunitError::Written(e) => e,
        other => std::io::Error::other(other),
    }
}

/// The JUnit XML of a run, also of one merged from shards.
pub fn run_junit(name: &str, report: &RunReport, cancelled: Option<&str>) -> Result<String, JunitError> {
    let suites = || report.cases.iter().map(case_suite).chain(cancelled_suite(report, cancelled));
    let mut out = Vec::new();
    write_junit(name, suites, Some(Duration::from_millis(report.duration_ms)), &mut out)?;
    Ok(String::from_utf8(out).expect("quick-junit writes UTF-8"))
}

/// When the run was cancelled, one more suite saying so after the cases'.
fn cancelled_suite(report: &RunReport, cancelled: Option<&str>) -> Option<Suite> {
    let signal = cancelled?;
    let message = format!("run cancelled by {signal}: {} of {} case(s) finished", report.total, report.planned);
    let case = SuiteCase {
        name: "run cancelled".into(),
        classname: "harness".into(),
        file: None,
        time: None,
        verdict: SuiteVerdict::Error { kind: "cancelled".into(), message: message.clone(), body: message },
        retries: Vec::new(),
        output: None,
    };
    Some(Suite { name: "(run cancelled)".into(), time: None, properties: Vec::new(), cases: vec![case] })
}

fn case_suite(c: &CaseJson) -> Suite {
    let mut properties = vec![("scenario.file".to_string(), c.file.clone()), ("flow".to_string(), c.flow.clone())];
    for (system, version) in &c.versions {
        properties.push((format!("version.{system}"), version.clone()));
    }
    if !c.tags.is_empty() {
        properties.push(("tags".into(), c.tags.join(",")));
    }
    if let Some(d) = &c.description {
        properties.push(("description".into(), d.clone()));
    }
    let dead = c.dead_letters().count();
    if dead > 0 {
        properties.push(("dead_letters".into(), dead.to_string()));
    }
    let verdict = if c.passed {
        SuiteVerdict::Passed
    } else {
        let first = c.failures().next();
        let message = c.first_failure().unwrap_or_default();
        let kind = first.map_or("failure", |f| f.check.as_str()).to_string();
        if c.abandoned {
            SuiteVerdict::Error { kind, message, body: c.failure_text() }
        } else {
            SuiteVerdict::Failed { kind, message, body: c.failure_text() }
        }
    };
    // GitLab and Jenkins show `[[ATTACHMENT|path]]` lines as links to the file: here the pending
    // snapshot a reviewer compares.
    let mut out: String = c.pending_snapshots().map(|path| format!("[[ATTACHMENT|{path}]]\n")).collect();
    if c.passed && (c.warnings().next().is_some() || c.dead_letters().next().is_some()) {
        out.push_str(&c.failure_text());
    }
    out.push_str(&c.output);
    let retries = c
        .retries
        .iter()
        .map(|r| RetriedAttempt {
            kind: r.failures().next().map_or("failure", |f| f.check.as_str()).to_string(),
            message: r.first_failure().unwrap_or_default(),
            body: format!("attempt took {} ms\n{}", r.duration_ms, r.failure_text()),
        })
        .collect();
    let case = SuiteCase {
        name: c.id.rsplit('/').next().unwrap_or(&c.id).to_string(),
        classname: c.flow.clone(),
        file: Some(c.file.clone()),
        time: Some(Duration::from_millis(c.duration_ms)),
        verdict,
        retries,
        output: (!out.is_empty()).then_some(out),
    };
    Suite { name: c.id.clone(), time: Some(Duration::from_millis(c.duration_ms)), properties, cases: vec![case] }
}

/// A report quick-junit could not serialise (the harness's fault, not the user's files), or that
/// could not be written.
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    #[error("cannot serialise the JUnit report: {0}")]
    Serialise(#[from] quick_junit::SerializeError),
    #[error("cannot write the JUnit report: {0}")]
    Written(#[from] std::io::Error),
}

impl From<JunitError> for harness_core::Error {
    fn from(e: JunitError) -> Self {
        harness_core::Error::Environment(e.to_string())
    }
}

/// The XML of `suites` (all of them in memory: an analysis's).
#[cfg(test)]
fn render(name: &str, suites: &[Suite], total: Option<Duration>) -> Result<String, JunitError> {
    let mut out = Vec::new();
    write_junit(name, || suites.iter().cloned(), total, &mut out)?;
    Ok(String::from_utf8(out).expect("quick-junit writes UTF-8"))
}

/// Writes the XML of the suites `suites()` gives, one suite at a time: quick-junit renders each in
/// a report of its own, and its lines are the ones it has in the whole report (a suite's
/// indentation depends only on its depth). The root's counts come first, so `suites()` is gone
/// through twice: once to count, once to write; neither holds more than one suite.
fn write_junit<I: Iterator<Item = Suite>>(
    name: &str,
    suites: impl Fn() -> I,
    total: Option<Duration>,
    w: &mut dyn Write,
) -> Result<(), JunitError> {
    let mut root = Report::new(xml_text(name));
    root.time = total;
    for s in suites() {
        for c in &s.cases {
            root.tests += 1;
            match c.verdict {
                SuiteVerdict::Passed => {}
                SuiteVerdict::Failed { .. } => root.failures += 1,
                SuiteVerdict::Error { .. } => root.errors += 1,
            }
        }
    }
    // `<?xml …?>\n<testsuites …>` and `\n</testsuites>\n`, with the suites between.
    let empty = for_jenkins(root.to_string()?);
    let (head, tail) = empty.rsplit_once("\n</testsuites>").ok_or_else(|| unexpected(&empty))?;
    w.write_all(head.as_bytes())?;
    for s in suites() {
        let mut one = Report::new("");
        one.add_test_suite(suite(&s));
        let text = one.to_string()?;
        let start = text.find("<testsuites").and_then(|at| text[at..].find('>').map(|end| at + end + 1));
        let end = text.rfind("\n</testsuites>");
        match (start, end) {
            (Some(start), Some(end)) if start <= end => w.write_all(&text.as_bytes()[start..end])?,
            _ => return Err(unexpected(&text)),
        }
    }
    w.write_all(b"\n</testsuites>")?;
    w.write_all(tail.as_bytes())?;
    Ok(())
}

fn unexpected(text: &str) -> JunitError {
    let start: String = text.chars().take(200).collect();
    JunitError::Written(std::io::Error::other(format!("quick-junit wrote an unexpected shape: {start}")))
}

fn suite(s: &Suite) -> TestSuite {
    let mut suite = TestSuite::new(xml_text(&s.name));
    if let Some(t) = s.time {
        suite.set_time(t);
    }
    for (k, v) in &s.properties {
        suite.add_property(Property::new(xml_text(k), xml_text(v)));
    }
    for c in &s.cases {
        suite.add_test_case(test_case(c));
    }
    suite
}

fn test_case(c: &SuiteCase) -> TestCase {
    let non_success = |kind: NonSuccessKind, ty: &str, message: &str, body: &str| {
        let mut status = TestCaseStatus::non_success(kind);
        status.set_message(xml_text(message));
        status.set_type(xml_text(ty));
        status.set_description(xml_text(body));
        status
    };
    let mut status = match &c.verdict {
        SuiteVerdict::Passed => TestCaseStatus::success(),
        SuiteVerdict::Failed { kind, message, body } => non_success(NonSuccessKind::Failure, kind, message, body),
        SuiteVerdict::Error { kind, message, body } => non_success(NonSuccessKind::Error, kind, message, body),
    };
    for r in &c.retries {
        let mut rerun = TestRerun::new(NonSuccessKind::Failure);
        // Surefire's schema gives an attempt a required `type` and no `time`.
        rerun.set_type(xml_text(&r.kind));
        rerun.set_message(xml_text(&r.message));
        rerun.set_description(xml_text(&r.body));
        status.add_rerun(rerun);
    }
    let mut case = TestCase::new(xml_text(&c.name), status);
    case.set_classname(xml_text(&c.classname));
    if let Some(file) = &c.file {
        case.extra.insert(XmlString::new("file"), XmlString::new(xml_text(file)));
    }
    if let Some(t) = c.time {
        case.set_time(t);
    }
    if let Some(out) = &c.output {
        case.set_system_out(xml_text(out));
    }
    case
}

/// Text XML 1.0 can hold: characters it cannot (most control characters, U+FFFE, U+FFFF) become
/// U+FFFD, so a program's odd output cannot make the report unreadable.
fn xml_text(text: &str) -> String {
    let allowed =
        |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if text.chars().all(allowed) {
        text.to_string()
    } else {
        text.chars().map(|c| if allowed(c) { c } else { '\u{FFFD}' }).collect()
    }
}

/// quick-junit puts `skipped` on `<testsuites>`, which the Jenkins xUnit schema does not allow on
/// the root (only on suites); nothing is ever skipped at the root, so it goes.
fn for_jenkins(xml: String) -> String {
    let Some(start) = xml.find("<testsuites") else { return xml };
    let end = xml[start..].find('>').map_or(xml.len(), |e| start + e);
    let root = &xml[start..end];
    match root.find(" skipped=\"") {
        Some(at) => {
            let value_end = root[at + 10..].find('"').map_or(root.len(), |e| at + 10 + e + 1);
            format!("{}{}{}", &xml[..start + at], &root[value_end..], &xml[end..])
        }
        None => xml,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_cannot_hold_are_replaced() {
        assert_eq!(xml_text("ok\tline\n"), "ok\tline\n");
        assert_eq!(xml_text("bad\u{FFFE}\u{1}end"), "bad\u{FFFD}\u{FFFD}end");
    }

    #[test]
    fn the_root_loses_skipped_and_nothing_else() {
        let xml = "<?xml version=\"1.0\"?>\n<testsuites name=\"h\" tests=\"1\" skipped=\"0\" failures=\"0\">\n<testsuite name=\"s\" skipped=\"0\"/>\n</testsuites>".to_string();
        assert_eq!(
            for_jenkins(xml),
            "<?xml version=\"1.0\"?>\n<testsuites name=\"h\" tests=\"1\" failures=\"0\">\n<testsuite name=\"s\" skipped=\"0\"/>\n</testsuites>"
        );
        assert_eq!(for_jenkins("<testsuites name=\"h\">".into()), "<testsuites name=\"h\">");
        assert_eq!(for_jenkins("not xml".into()), "not xml");
    }

    #[test]
    fn written_suite_by_suite_it_reads_as_the_whole_report_would() {
        let case = |name: &str, verdict: SuiteVerdict, output: Option<&str>, retries: usize| SuiteCase {
            name: name.into(),
            classname: "orders".into(),
            file: Some(format!("scenarios/orders/{name}.yaml")),
            time: Some(Duration::from_millis(1234)),
            verdict,
            retries: (0..retries)
                .map(|i| RetriedAttempt {
                    kind: "outcome".into(),
                    message: format!("try {i}"),
                    body: "timed out\n".into(),
                })
                .collect(),
            output: output.map(str::to_string),
        };
        let failed = || SuiteVerdict::Failed {
            kind: "snapshot".into(),
            message: "a <b> & \"c\"".into(),
            body: "- a\n+ b\n".into(),
        };
        let error = || SuiteVerdict::Error { kind: "internal".into(), message: "crashed".into(), body: "why\n".into() };
        let suites = [
            Suite {
                name: "orders/passed".into(),
                time: Some(Duration::from_millis(5)),
                properties: vec![("flow".into(), "orders".into())],
                cases: vec![case("passed", SuiteVerdict::Passed, None, 0)],
            },
            Suite {
                name: "orders/failed".into(),
                time: None,
                properties: Vec::new(),
                cases: vec![case("failed", failed(), Some("[[ATTACHMENT|x]]\nout\n"), 2)],
            },
            Suite {
                name: "orders/error".into(),
                time: Some(Duration::ZERO),
                properties: vec![("tags".into(), "a,b".into()), ("description".into(), "two\nlines".into())],
                cases: vec![case("error", error(), Some("no newline"), 0)],
            },
            Suite { name: "empty".into(), time: None, properties: Vec::new(), cases: Vec::new() },
        ];
        for n in 0..=suites.len() {
            for total in [None, Some(Duration::from_millis(98_765))] {
                let mut whole = Report::new("harness");
                if let Some(t) = total {
                    whole.set_time(t);
                }
                for s in &suites[..n] {
                    whole.add_test_suite(suite(s));
                }
                let expected = for_jenkins(whole.to_string().unwrap());
                assert_eq!(render("harness", &suites[..n], total).unwrap(), expected, "{n} suite(s)");
            }
        }
    }

    #[test]
    fn a_failed_case_carries_its_file_retries_and_output() {
        let case = SuiteCase {
            name: "simple".into(),
            classname: "orders".into(),
            file: Some("scenarios/orders/simple.yaml".into()),
            time: Some(Duration::from_millis(1500)),
            verdict: SuiteVerdict::Failed {
                kind: "snapshot".into(),
                message: "netsuite changed".into(),
                body: "- a\n+ b".into(),
            },
            retries: vec![RetriedAttempt {
                kind: "outcome".into(),
                message: "first try".into(),
                body: "timed out".into(),
            }],
            output: Some("program said \u{1}hi".into()),
        };
        let suite = Suite {
            name: "orders/simple".into(),
            time: None,
            properties: vec![("flow".into(), "orders".into())],
            cases: vec![case],
        };
        let xml = render("harness", &[suite], Some(Duration::from_secs(2))).unwrap();
        for part in [
            "file=\"scenarios/orders/simple.yaml\"",
            "classname=\"orders\"",
            "type=\"snapshot\"",
            "message=\"netsuite changed\"",
            "<rerunFailure",
            "first try",
            "<property name=\"flow\" value=\"orders\"",
            "program said \u{FFFD}hi",
        ] {
            assert!(xml.contains(part), "{part} in {xml}");
        }
        let root = &xml[xml.find("<testsuites").unwrap()..];
        assert!(!root[..root.find('>').unwrap()].contains("skipped"), "{xml}");
    }
}
