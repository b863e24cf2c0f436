//! JUnit XML for build dashboards (Jenkins, GitLab, GitHub test reporters).
//!
//! One `<testsuite>` per scenario case holding its one `<testcase>`: the Jenkins xUnit schema allows
//! properties on suites only, and each scenario's properties (file, flow, API versions, tags) are
//! what a dashboard needs to lead back to it.

use std::path::PathBuf;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::{CaseReport, Event, Reporter};

pub struct JunitReporter {
    path: PathBuf,
    name: String,
}

impl JunitReporter {
    pub fn new(path: PathBuf, name: impl Into<String>) -> Self {
        JunitReporter { path, name: name.into() }
    }

    pub fn render(name: &str, cases: &[CaseReport], total: std::time::Duration) -> Result<String, String> {
        let mut report = Report::new(name);
        report.set_time(total);
        for c in cases {
            report.add_test_suite(suite(c));
        }
        let xml = report.to_string().map_err(|e| format!("cannot serialise the JUnit report: {e}"))?;
        Ok(junit_for_jenkins(xml))
    }
}

/// quick-junit puts `skipped` on `<testsuites>`, which the Jenkins xUnit schema does not allow on
/// the root (only on suites); nothing is ever skipped at the root, so it goes.
pub fn junit_for_jenkins(xml: String) -> String {
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

fn suite(c: &CaseReport) -> TestSuite {
    let mut suite = TestSuite::new(c.id.as_str());
    suite.set_time(c.duration);
    suite.add_property(Property::new("scenario.file", c.file.as_str()));
    suite.add_property(Property::new("flow", c.flow.as_str()));
    for (system, version) in &c.versions {
        suite.add_property(Property::new(format!("version.{system}"), version.as_str()));
    }
    if !c.tags.is_empty() {
        suite.add_property(Property::new("tags", c.tags.join(",")));
    }
    if let Some(d) = &c.description {
        suite.add_property(Property::new("description", d.as_str()));
    }
    let dead = c.dead_letters().count();
    if dead > 0 {
        suite.add_property(Property::new("dead_letters", dead.to_string()));
    }

    let status = if c.passed {
        TestCaseStatus::success()
    } else {
        let first = c.failures().next();
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(first.map_or_else(String::new, |f| format!("{}: {}", f.kind.name(), f.message)));
        status.set_type(first.map_or("failure", |f| f.kind.name()));
        status.set_description(c.failure_text());
        status
    };
    let name = c.id.rsplit('/').next().unwrap_or(&c.id).to_string();
    let mut case = TestCase::new(name, status);
    case.set_classname(c.flow.as_str());
    case.set_time(c.duration);
    let mut out = String::new();
    if c.passed && (c.warnings().next().is_some() || c.dead_letters().next().is_some()) {
        out.push_str(&c.failure_text());
    }
    if !c.output.is_empty() {
        out.push_str(&c.output);
    }
    if !out.is_empty() {
        case.set_system_out(out);
    }
    suite.add_test_case(case);
    suite
}

impl Reporter for JunitReporter {
    fn report(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        if let Event::Finished { summary } = event {
            let xml = Self::render(&self.name, &summary.cases, summary.duration).map_err(std::io::Error::other)?;
            let named = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display()));
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(named)?;
            }
            std::fs::write(&self.path, xml).map_err(named)?;
        }
        Ok(())
    }
}
