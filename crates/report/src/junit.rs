//! JUnit XML for build dashboards (Jenkins, GitLab, GitHub test reporters): one writer for runs and
//! analyses alike, from test suites.
//!
//! A run has one `<testsuite>` per scenario case holding its one `<testcase>`: the Jenkins xUnit
//! schema allows properties on suites only, and each scenario's properties (file, flow, API
//! versions, tags) are what a dashboard needs to lead back to it.

use std::time::Duration;

use harness_engine::events::{Event, Reporter, RetriedAttempt, Suite, SuiteCase, SuiteVerdict};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite, XmlString};

use crate::json::{CaseJson, RunReport};
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
        let xml = match event {
            Event::RunFinished { summary } => run_junit(&self.name, &RunReport::of(summary, false), None),
            Event::RunCancelled { summary, signal } => {
                run_junit(&self.name, &RunReport::of(summary, true), Some(signal))
            }
            Event::AnalysisFinished { result } => render(&result.title(), &result.suites(), None),
            _ => return Ok(()),
        };
        self.destination.deliver(&xml.map_err(std::io::Error::other)?)
    }
}

/// The JUnit XML of a run, also of one merged from shards.
pub fn run_junit(name: &str, report: &RunReport, cancelled: Option<&str>) -> Result<String, JunitError> {
    render(name, &run_suites(report, cancelled), Some(Duration::from_millis(report.duration_ms)))
}

/// The suites of a run: one per case; when the run was cancelled, one more saying so.
fn run_suites(report: &RunReport, cancelled: Option<&str>) -> Vec<Suite> {
    let mut suites: Vec<Suite> = report.cases.iter().map(case_suite).collect();
    if let Some(signal) = cancelled {
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
        suites.push(Suite { name: "(run cancelled)".into(), time: None, properties: Vec::new(), cases: vec![case] });
    }
    suites
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

/// The XML of `suites`.
/// A report quick-junit could not serialise: the harness's fault, not the user's files.
#[derive(Debug, thiserror::Error)]
#[error("cannot serialise the JUnit report: {0}")]
pub struct JunitError(#[from] quick_junit::SerializeError);

impl From<JunitError> for harness_core::Error {
    fn from(e: JunitError) -> Self {
        harness_core::Error::Environment(e.to_string())
    }
}

fn render(name: &str, suites: &[Suite], total: Option<std::time::Duration>) -> Result<String, JunitError> {
    let mut report = Report::new(xml_text(name));
    if let Some(t) = total {
        report.set_time(t);
    }
    for s in suites {
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
        report.add_test_suite(suite);
    }
    let xml = report.to_string()?;
    Ok(for_jenkins(xml))
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
