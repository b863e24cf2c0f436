//! Accepted discrepancies, like approved snapshots: `--accept` writes every current finding to
//! `reconcile/<name>.baseline.json` (keeping the explanations written there), and later runs
//! alert only on findings that are not in it. A run with new findings leaves what `--accept`
//! would write beside it, `<name>.baseline.json.new`, for `harness review` to show, accept or
//! reject, as a failing run leaves a pending snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harness_core::{Error, Style};
use harness_engine::review::Pending;
use harness_syntax::Project;
use serde::{Deserialize, Serialize};

use crate::join::Finding;

pub(crate) const SUFFIX: &str = ".baseline.json";
/// A pending baseline: the approved one's name with this after it.
const PENDING: &str = ".new";

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

/// Where the pending baseline beside `path` goes.
pub(crate) fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(PENDING);
    PathBuf::from(name)
}

/// Let go of a pending baseline (when the run is clean or the baseline was just accepted).
pub(crate) fn clear_pending(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(pending_path(path)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&pending_path(path), e)),
        _ => Ok(()),
    }
}

pub(crate) fn read(path: &Path) -> Result<Baseline, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            Error::from(
                harness_core::Diagnostic::new(path, format!("not a baseline: {e}"))
                    .at(harness_core::SourceSpan::from_line_col(&text, e.line(), e.column(), 1)),
            )
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
    let accepted: BTreeMap<String, Accepted> = findings
        .iter()
        .map(|f| {
            (
                f.id(),
                old.accepted
                    .get(&f.id())
                    .cloned()
                    .unwrap_or_else(|| Accepted { explanation: String::new(), since: now.to_string() }),
            )
        })
        .collect();
    let count = accepted.len();
    let mut text = serde_json::to_string_pretty(&Baseline { accepted }).expect("a baseline serialises");
    text.push('\n');
    harness_engine::snapshot::write_atomic(path, &text)
        .map_err(|e| Error::Environment(format!("cannot write {}: {e}", path.display())))?;
    Ok(count)
}

/// The baseline as a list, for `reconcile --baseline`.
pub(crate) fn render(name: &str, path: &Path, baseline: &Baseline) -> String {
    let mut out = format!(
        "{name}: {} accepted discrepanc{} in {}\n",
        baseline.accepted.len(),
        if baseline.accepted.len() == 1 { "y" } else { "ies" },
        path.display()
    );
    for (id, a) in &baseline.accepted {
        let why = if a.explanation.is_empty() { "no explanation yet" } else { &a.explanation };
        out.push_str(&format!("  {id}  (since {}; {why})\n", a.since));
    }
    out
}

/// A pending baseline for `harness review`.
struct PendingBaseline {
    approved: PathBuf,
    pending: PathBuf,
    /// Both as the project shows them.
    shown: (String, String),
}

/// The pending baselines under reconcile/ whose path starts with one of `filters` (all when none).
pub fn pending(project: &Project, filters: &[PathBuf]) -> Vec<Box<dyn Pending>> {
    let dir = project.root.join(crate::load::FOLDER);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(&format!("{SUFFIX}{PENDING}")))
        .collect();
    found.sort();
    let kept = |shown: &str| {
        filters.is_empty() || filters.iter().any(|f| shown.starts_with(f.to_string_lossy().trim_start_matches("./")))
    };
    found
        .into_iter()
        .map(|pending| {
            let approved = PathBuf::from(pending.to_string_lossy().trim_end_matches(PENDING));
            let shown = (project.display_path(&approved), project.display_path(&pending));
            PendingBaseline { approved, pending, shown }
        })
        .filter(|p| kept(&p.shown.1))
        .map(|p| Box::new(p) as Box<dyn Pending>)
        .collect()
}

impl Pending for PendingBaseline {
    fn pending(&self) -> String {
        self.shown.1.clone()
    }

    fn approved(&self) -> String {
        self.shown.0.clone()
    }

    fn describe(&self, style: Style) -> Result<Vec<String>, Error> {
        let (old, new) = (read(&self.approved)?, read(&self.pending)?);
        let mut lines =
            vec![format!("accepted discrepancies: {} now, {} if accepted", old.accepted.len(), new.accepted.len())];
        for (id, a) in &new.accepted {
            lines.push(match old.accepted.get(id) {
                Some(_) if a.explanation.is_empty() => style.dim(&format!("  {id}  (no explanation yet)")),
                Some(_) => style.dim(&format!("  {id}  ({})", a.explanation)),
                None => style.green(&format!("+ {id}")),
            });
        }
        for id in old.accepted.keys().filter(|id| !new.accepted.contains_key(*id)) {
            lines.push(style.red(&format!("- {id}  (no longer found)")));
        }
        lines.push(format!("explain each new one in {} once accepted", self.shown.0));
        Ok(lines)
    }

    fn accept(&self) -> Result<(), Error> {
        std::fs::rename(&self.pending, &self.approved).map_err(|e| Error::io(&self.pending, e))
    }

    fn reject(&self) -> Result<(), Error> {
        std::fs::remove_file(&self.pending).map_err(|e| Error::io(&self.pending, e))
    }
}
