//! Credentials and personal data left in a project's recordings, stubs, scenarios and snapshots:
//! what `harness lint` reports and what `run` warns about when it loads the project.

use harness_core::SystemId;
use harness_redact::{LintFinding, lint};
use harness_syntax::Project;
use harness_syntax::project::files_under;
use harness_systems::Catalog;

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
    let mut out = Vec::new();
    for folder in LINTED {
        let dir = project.root.join(folder);
        for rel in files_under(&dir) {
            let Ok(text) = harness_syntax::project::read_text(&project.root, &dir.join(&rel)) else { continue };
            out.extend(lint(&text, &allowed).into_iter().map(|finding| Leak { file: format!("{folder}/{rel}"), finding }));
        }
    }
    out
}
