//! Credentials and personal data left in a project's recordings, stubs, scenarios and snapshots:
//! what `harness lint` reports and what `run` warns about when it loads the project.

use harness_core::{Error, Style, SystemId};
use harness_redact::{LintFinding, TokenShapes, lint};
use harness_syntax::Project;
use harness_syntax::project::files_under;
use harness_systems::{Catalog, PayloadOffence, Registry};
use serde_json::{Value, json};

use crate::events::{AnalysisResult, Suite, SuiteCase, SuiteVerdict};

/// The folders that hold recorded or approved traffic.
const LINTED: [&str; 3] = ["mocks", "scenarios", "snapshots"];

/// One finding, in a file of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// Project-relative, `/`-separated.
    pub file: String,
    pub finding: LintFinding,
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.finding.line, self.finding.column, self.finding.message)
    }
}

/// Every finding in the project's files, by file then position. The fake test accounts'
/// credentials the catalog knows (the built-in ones and the project's `system.yaml`) are allowed:
/// they are what the mocks accept, never real secrets. Files that are not text are skipped.
pub fn leaks(project: &Project, catalog: &Catalog) -> Vec<Leak> {
    let mut allowed: Vec<String> = Vec::new();
    for system in catalog.systems() {
        let Ok(id) = SystemId::new(&system) else { continue };
        for version in catalog.versions(&id) {
            if let Ok(v) = catalog.system(&id, &version) {
                allowed.extend(v.credentials.values().cloned());
            }
        }
    }
    let tokens = TokenShapes::new(&Registry::builtin().token_shapes());
    let files: Vec<(&str, String)> = LINTED
        .iter()
        .flat_map(|folder| files_under(&project.root.join(folder)).into_iter().map(move |rel| (*folder, rel)))
        .collect();
    // Every run lints them all (tens of thousands of scenarios and snapshots in a large project).
    crate::plan::in_parallel(&files, |(folder, rel)| {
        let Ok(text) = harness_syntax::project::read_text(&project.root, &project.root.join(folder).join(rel)) else {
            return Vec::new();
        };
        lint(&text, &allowed, &tokens)
            .into_iter()
            .map(|finding| Leak { file: format!("{folder}/{rel}"), finding })
            .collect()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// What `harness lint` found: credentials and personal data left in the project's files, and
/// recordings that carry what their version does not send.
#[derive(Debug, Default)]
pub struct Lint {
    pub leaks: Vec<Leak>,
    pub off_version: Vec<PayloadOffence>,
}

/// The whole project linted; its files must load (a recording's version comes from the plan).
pub fn lint_project(project: &Project) -> Result<Lint, Error> {
    let leaks = leaks(project, &Catalog::new(project));
    let off_version = crate::plan::off_version_recordings(&crate::plan::build(project, &[])?);
    Ok(Lint { leaks, off_version })
}

impl Lint {
    /// No leak, and no recording finding but notes about trimmed recordings.
    pub fn passed(&self) -> bool {
        self.leaks.is_empty() && self.off_version.iter().all(|o| o.trimmed)
    }
}

/// A gate: in JUnit one case per finding (a note on a trimmed recording passes), or one passing
/// case when there is none.
impl AnalysisResult for Lint {
    fn title(&self) -> String {
        "lint".into()
    }

    fn terminal(&self, _style: Style) -> String {
        let mut text: String = self.leaks.iter().map(|l| format!("{l}\n")).collect();
        text.push_str(&match self.leaks.len() {
            0 => "lint: no credentials or personal data in mocks/, scenarios/ or snapshots/\n".to_string(),
            n => format!(
                "lint: {n} finding(s): replace them (`harness record` and `harness import` redact on the way in)\n"
            ),
        });
        text.push_str(&crate::plan::render_off_version(&self.off_version));
        text
    }

    fn json(&self) -> Value {
        let leaks: Vec<Value> = self.leaks.iter().map(|l| json!({"file": l.file, "line": l.finding.line, "column": l.finding.column, "message": l.finding.message})).collect();
        let recordings: Vec<Value> =
            self.off_version.iter().map(|o| json!({"message": o.message, "note": o.trimmed})).collect();
        json!({"passed": self.passed(), "leaks": leaks, "recordings": recordings})
    }

    fn suites(&self) -> Vec<Suite> {
        let failed = |kind: &str, message: &str| SuiteVerdict::Failed {
            kind: kind.into(),
            message: message.into(),
            body: message.into(),
        };
        let mut cases: Vec<SuiteCase> = self
            .leaks
            .iter()
            .map(|l| case(l.to_string(), Some(l.file.clone()), failed("leak", &l.finding.message)))
            .collect();
        cases.extend(self.off_version.iter().map(|o| {
            case(
                o.message.clone(),
                None,
                if o.trimmed { SuiteVerdict::Passed } else { failed("recording", &o.message) },
            )
        }));
        if cases.is_empty() {
            cases.push(case(
                "no credentials, personal data or off-version recordings".into(),
                None,
                SuiteVerdict::Passed,
            ));
        }
        vec![Suite { name: "lint".into(), time: None, properties: Vec::new(), cases }]
    }
}

fn case(name: String, file: Option<String>, verdict: SuiteVerdict) -> SuiteCase {
    SuiteCase { name, classname: "lint".into(), file, time: None, verdict, retries: Vec::new(), output: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_redact::LintKind;

    fn leak() -> Leak {
        Leak {
            file: "mocks/shopify/2025-01/order.json".into(),
            finding: LintFinding {
                line: 3,
                column: 7,
                len: 38,
                kind: LintKind::Token,
                message: "a Shopify token (shpa…)".into(),
            },
        }
    }

    #[test]
    fn a_note_on_a_trimmed_recording_passes_and_a_leak_fails() {
        let note = PayloadOffence { message: "trimmed".into(), trimmed: true };
        let clean = Lint { leaks: Vec::new(), off_version: vec![note.clone()] };
        assert!(clean.passed());
        assert!(clean.suites()[0].cases.iter().all(|c| matches!(c.verdict, SuiteVerdict::Passed)));
        assert_eq!(
            clean.terminal(Style::default()).lines().next(),
            Some("lint: no credentials or personal data in mocks/, scenarios/ or snapshots/")
        );

        let leaking = Lint { leaks: vec![leak()], off_version: vec![note] };
        assert!(!leaking.passed());
        let suite = &leaking.suites()[0];
        assert_eq!(suite.cases.len(), 2);
        assert!(matches!(&suite.cases[0].verdict, SuiteVerdict::Failed { kind, .. } if kind == "leak"));
        assert_eq!(suite.cases[0].file.as_deref(), Some("mocks/shopify/2025-01/order.json"));
        let json = leaking.json();
        assert_eq!(json["leaks"][0]["line"], 3);
        assert_eq!(json["recordings"][0]["note"], true);
        assert_eq!(json["passed"], false);
        assert!(
            leaking
                .terminal(Style::default())
                .starts_with("mocks/shopify/2025-01/order.json:3:7: a Shopify token (shpa…)\nlint: 1 finding(s)")
        );
    }

    #[test]
    fn nothing_found_is_one_passing_case() {
        let suites = Lint::default().suites();
        assert_eq!(suites[0].cases.len(), 1);
        assert!(matches!(suites[0].cases[0].verdict, SuiteVerdict::Passed));
    }
}
