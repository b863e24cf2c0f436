//! Accepted discrepancies, like approved snapshots: `--accept` writes every current finding to
//! `reconcile/<name>.baseline.json` (keeping the explanations written there), and later runs
//! alert only on findings that are not in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harness_core::Error;
use serde::{Deserialize, Serialize};

use crate::join::Finding;

pub(crate) const SUFFIX: &str = ".baseline.json";

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Baseline {
    /// By finding id (`netsuite sales orders: missing #1007`).
    pub accepted: BTreeMap<String, Accepted>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Accepted {
    /// Why it is accepted: written by whoever reviewed it.
    #[serde(default)]
    pub explanation: String,
    /// When it was first accepted.
    pub since: String,
}

/// The baseline file of the reconciliation in `file`.
pub(crate) fn path(root: &Path, file: &Path) -> PathBuf {
    let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    root.join(file).with_file_name(format!("{name}{SUFFIX}"))
}

pub(crate) fn read(path: &Path) -> Result<Baseline, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            Error::from(harness_core::Diagnostic::new(path, format!("not a baseline: {e}")).at(harness_core::SourceSpan::from_line_col(&text, e.line(), e.column(), 1)))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Baseline::default()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Mark the findings the baseline accepts.
pub(crate) fn apply(baseline: &Baseline, findings: &mut [Finding]) {
    for f in findings {
        if let Some(a) = baseline.accepted.get(&f.id()) {
            f.accepted = Some(if a.explanation.is_empty() { "accepted".into() } else { a.explanation.clone() });
        }
    }
}

/// Accept exactly `findings`: explanations of those accepted before are kept, the rest are new.
pub(crate) fn accept(path: &Path, old: &Baseline, findings: &[Finding], now: &str) -> Result<usize, Error> {
    let accepted: BTreeMap<String, Accepted> = findings.iter().map(|f| (f.id(), old.accepted.get(&f.id()).cloned().unwrap_or_else(|| Accepted { explanation: String::new(), since: now.to_string() }))).collect();
    let count = accepted.len();
    let mut text = serde_json::to_string_pretty(&Baseline { accepted }).expect("a baseline serialises");
    text.push('\n');
    harness_engine::snapshot::write_atomic(path, &text).map_err(|e| Error::Environment(format!("cannot write {}: {e}", path.display())))?;
    Ok(count)
}

/// The baseline as a list, for `reconcile --baseline`.
pub(crate) fn render(name: &str, path: &Path, baseline: &Baseline) -> String {
    let mut out = format!("{name}: {} accepted discrepanc{} in {}\n", baseline.accepted.len(), if baseline.accepted.len() == 1 { "y" } else { "ies" }, path.display());
    for (id, a) in &baseline.accepted {
        let why = if a.explanation.is_empty() { "no explanation yet" } else { &a.explanation };
        out.push_str(&format!("  {id}  (since {}; {why})\n", a.since));
    }
    out
}
