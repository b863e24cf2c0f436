//! Changed-only runs (`--changed-since REF`): the cases whose inputs changed since a git ref, as
//! the plan knows them — the scenario file, its flow and the files the flow names (programs,
//! tables), the recordings it reads, its system versions' other files (stubs, schemas,
//! `system.yaml`), its approved snapshots. A change to `harness.yaml`, or to a file under `flows/`
//! that no flow names (a module programs may share), runs every case.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use harness_core::Error;
use harness_syntax::Project;

use super::Case;

/// What changed and why each kept case was chosen, for the user to read.
#[derive(Debug, Default)]
pub struct ChangedSelection {
    /// Project-relative, `/`-separated.
    pub files: Vec<String>,
    /// Case id → the first changed input that chose it.
    pub reasons: BTreeMap<String, String>,
}

impl ChangedSelection {
    pub fn render(&self, since: &str) -> String {
        let mut text = format!("changed since {since}: {} file(s) in the project\n", self.files.len());
        for f in &self.files {
            text.push_str(&format!("  {f}\n"));
        }
        text.push_str(&format!("{} scenario case(s) chosen:\n", self.reasons.len()));
        for (id, why) in &self.reasons {
            text.push_str(&format!("  {id}: {why}\n"));
        }
        text
    }
}

/// The project files changed since `since` (committed after it, staged, unstaged or untracked).
fn changed_files(project: &Project, since: &str) -> Result<Vec<PathBuf>, Error> {
    let git = |args: &[&str]| -> Result<String, Error> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&project.root)
            .args(args)
            .output()
            .map_err(|e| Error::Environment(format!("--changed-since needs git: {e}")))?;
        if !out.status.success() {
            return Err(Error::Usage(format!(
                "--changed-since {since}: git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?.trim());
    let mut files: Vec<PathBuf> =
        git(&["diff", "--name-only", "--no-renames", since, "--"])?.lines().map(|l| top.join(l)).collect();
    // Untracked files are listed relative to the folder git runs in.
    files.extend(git(&["ls-files", "--others", "--exclude-standard"])?.lines().map(|l| project.root.join(l)));
    let root = std::fs::canonicalize(&project.root).unwrap_or_else(|_| project.root.clone());
    let top_real = std::fs::canonicalize(&top).unwrap_or(top.clone());
    let mut inside: Vec<PathBuf> = files
        .into_iter()
        .filter_map(|f| {
            let real = f.strip_prefix(&top).map(|r| top_real.join(r)).unwrap_or(f);
            real.strip_prefix(&root).ok().map(Path::to_path_buf)
        })
        .collect();
    inside.sort();
    inside.dedup();
    Ok(inside)
}

fn slash(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Why `case` is affected by `file` (project-relative), if it is.
fn reason(project: &Project, case: &Case, file: &str, named_by_a_flow: bool) -> Option<String> {
    let relative = |p: &Path| p.strip_prefix(&project.root).map(slash).unwrap_or_default();
    if file == "harness.yaml" {
        return Some("harness.yaml changed (every scenario uses it)".into());
    }
    if file == case.scenario.display {
        return Some(format!("its scenario file {file} changed"));
    }
    if file == relative(&case.flow.file) {
        return Some(format!("its flow {file} changed"));
    }
    if let Some(rest) = file.strip_prefix("flows/") {
        if !named_by_a_flow {
            return Some(format!("{file} changed and no flow names it (it may be shared by programs)"));
        }
        let flow_text = std::fs::read_to_string(&case.flow.file).unwrap_or_default();
        return (flow_text.contains(file) || flow_text.contains(rest))
            .then(|| format!("its flow {} names {file}, which changed", relative(&case.flow.file)));
    }
    if let Some(rest) = file.strip_prefix("mocks/") {
        let mut parts = rest.splitn(3, '/');
        let (system, version, inner) = (parts.next()?, parts.next()?, parts.next()?);
        if case.recordings.iter().any(|r| r.system.as_str() == system && r.version == version && r.file == inner) {
            return Some(format!("it reads the recording {file}, which changed"));
        }
        let recording_of_another =
            inner.contains("/") && !inner.starts_with("stubs/") && !inner.starts_with("schemas/");
        let uses_version = case.systems.iter().any(|(s, v)| s.as_str() == system && v.version == version);
        return (uses_version && !recording_of_another)
            .then(|| format!("it runs {system}@{version}, whose {inner} changed"));
    }
    if case.snapshots.iter().any(|s| s.display == file) {
        return Some(format!("its approved snapshot {file} changed"));
    }
    None
}

/// Keep the cases whose inputs changed since `since`.
pub(super) fn keep_changed(
    project: &Project,
    cases: Vec<Arc<Case>>,
    since: &str,
) -> Result<(Vec<Arc<Case>>, ChangedSelection), Error> {
    let files: Vec<String> = changed_files(project, since)?.iter().map(|f| slash(f)).collect();
    let flow_texts: Vec<String> = {
        let mut seen: Vec<&Path> = cases.iter().map(|c| c.flow.file.as_path()).collect();
        seen.sort();
        seen.dedup();
        seen.iter().map(|p| std::fs::read_to_string(p).unwrap_or_default()).collect()
    };
    let named = |file: &str| {
        let rest = file.strip_prefix("flows/").unwrap_or(file);
        file.ends_with(".yaml") || flow_texts.iter().any(|t| t.contains(file) || t.contains(rest))
    };
    let mut selection = ChangedSelection { files: files.clone(), reasons: BTreeMap::new() };
    let mut kept = Vec::new();
    for case in cases {
        if let Some(why) = files.iter().find_map(|f| reason(project, &case, f, named(f))) {
            selection.reasons.insert(case.id.clone(), why);
            kept.push(case);
        }
    }
    Ok((kept, selection))
}
