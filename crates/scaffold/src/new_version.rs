//! `harness versions add SYSTEM NEW --from OLD`: the project's folder for a new API version, made
//! from the old one — every file copied, recordings carried over by the changes the catalog
//! documents for the versions in between (fields the new version no longer sends removed, renamed
//! ones renamed), edited in place so a reviewer's diff shows only those changes.

use std::path::Path;

use harness_analysis::diff::{self, ChangeKind, FieldChange, Source, VersionDiff, parse_path};
use harness_core::{Error, Style, SystemId};
use harness_engine::events::{AnalysisResult, Suite};
use harness_engine::plan;
use harness_syntax::Project;
use harness_syntax::system_file::{RecordingFile, SystemFile};
use harness_systems::{CARRIED, CARRIED_LIST, Catalog, carried_line};
use serde_json::{Value, json};

use crate::files::Written;
use crate::json_edit;

#[derive(Debug)]
pub struct AddedVersion {
    pub system: SystemId,
    pub from: String,
    pub to: String,
    /// Relative to `mocks/<system>/<to>/`.
    pub files: Written,
    /// Recordings the known changes edited: file → what was done to it.
    pub migrated: Vec<(String, Vec<String>)>,
    /// What the new version requires of requests, or removed, that no recording shows: the
    /// integration's own code has to follow.
    pub requirements: Vec<FieldChange>,
}

pub fn add_version(project: &Project, system: &SystemId, from: &str, to: &str) -> Result<AddedVersion, Error> {
    let mocks = project.mocks_dir();
    let (old_dir, new_dir) = (mocks.join(system.as_str()).join(from), mocks.join(system.as_str()).join(to));
    if !old_dir.is_dir() {
        return Err(Error::Usage(format!("the project has no folder {} to copy from", project.display_path(&old_dir))));
    }
    // The new version's system file first: a version the harness does not know exists for the
    // project once it has one.
    let mut files = Written::default();
    let old_system = old_dir.join("system.yaml");
    if old_system.is_file() {
        let text = std::fs::read_to_string(&old_system).map_err(|e| Error::io(&old_system, e))?;
        files.file(&new_dir, "system.yaml", renamed_version(&old_system, &text, to)?.as_bytes())?;
    } else if !Catalog::is_builtin(system, to) && Catalog::newest_builtin_before(system, to).is_some() {
        let text = format!(
            "system: {system}\nversion: \"{to}\"\n# A version the harness does not know yet: the rules of the latest built-in one before it apply.\n"
        );
        files.file(&new_dir, "system.yaml", text.as_bytes())?;
    }
    let catalog = Catalog::new(project);
    let (old, new) = (catalog.system(system, from)?, catalog.system(system, to)?);
    // What each recording stands for, as the scenarios use it.
    let scopes = plan::build(project, &[])?.recording_scopes(system, from);
    let version_diff = diff::diff(&catalog, &old, &new, &scopes);

    let requirements = version_diff
        .changes
        .iter()
        .filter(|c| c.source == Source::Catalog && matches!(c.kind, ChangeKind::NewlyRequired | ChangeKind::Deprecated))
        .cloned()
        .collect();
    let mut out = AddedVersion {
        system: system.clone(),
        from: from.into(),
        to: to.into(),
        files,
        migrated: Vec::new(),
        requirements,
    };
    // Bare recordings cannot say in themselves that they were carried: a list beside them does.
    let mut carried = String::new();
    for rel in
        harness_syntax::project::files_under(&old_dir).into_iter().filter(|r| r != "system.yaml" && r != CARRIED_LIST)
    {
        let text = std::fs::read(old_dir.join(&rel)).map_err(|e| Error::io(&old_dir.join(&rel), e))?;
        let contents = match std::str::from_utf8(&text) {
            Ok(t) if rel.ends_with(".json") && !rel.starts_with("schemas/") => {
                let scope =
                    catalog.recording(&old, &rel).ok().and_then(|r| r.scope()).or_else(|| scopes.get(&rel).cloned());
                let (migrated, done) = migrate(t, system, scope.as_deref(), &version_diff, from, to);
                if !done.is_empty() {
                    out.migrated.push((rel.clone(), done));
                }
                migrated.into_bytes()
            }
            Ok(t) if rel.ends_with(".yaml") => t.replace(&format!("/{from}/"), &format!("/{to}/")).into_bytes(),
            _ => text,
        };
        let recording = !rel.ends_with(".yaml") && !rel.starts_with("schemas/") && !rel.starts_with("stubs/");
        let envelope = serde_json::from_slice::<Value>(&contents)
            .ok()
            .and_then(|v| v.as_object().map(|o| RecordingFile::is_envelope(o.keys().map(String::as_str))))
            .unwrap_or(false);
        if recording && !envelope {
            carried.push_str(&carried_line(&rel, &contents));
        }
        out.files.file(&new_dir, &rel, &contents)?;
    }
    if !carried.is_empty() {
        out.files.file(&new_dir, CARRIED_LIST, carried.as_bytes())?;
    }
    Ok(out)
}

/// A project system file with its `version:` value changed where the parser found it.
fn renamed_version(path: &Path, text: &str, to: &str) -> Result<String, Error> {
    let spec: SystemFile = harness_syntax::yaml::parse(path, text)?;
    let span = spec.version.span;
    Ok(format!("{}\"{to}\"{}", &text[..span.offset], &text[span.offset + span.len..]))
}

/// A recording with the known changes that apply to its scope made, and what they did. Envelope
/// fields naming the old version (its `version`, endpoint, `Link` headers) move to the new one.
/// The recording's provenance says it was carried, not recorded at the new version (impact
/// analysis then does not take it for knowledge of that version).
fn migrate(
    text: &str,
    system: &SystemId,
    scope: Option<&str>,
    version_diff: &VersionDiff,
    from: &str,
    to: &str,
) -> (String, Vec<String>) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else { return (text.to_string(), Vec::new()) };
    let envelope = value.as_object().is_some_and(|o| RecordingFile::is_envelope(o.keys().map(String::as_str)));
    let mut out = text.to_string();
    if envelope {
        let at_new = |s: &str| s.replace(&format!("/{from}/"), &format!("/{to}/"));
        out =
            json_edit::edit_string(
                &out,
                "/recording/version",
                |v| if v == from { to.to_string() } else { v.to_string() },
            );
        out = json_edit::edit_string(&out, "/recording/provenance", |p| {
            if p.contains(CARRIED) {
                p.to_string()
            } else {
                format!("{p} ({CARRIED} from {from}: not recorded at {to})")
            }
        });
        out = json_edit::edit_string(&out, "/recording/endpoint", at_new);
        for header in value.get("headers").and_then(|h| h.as_object()).into_iter().flat_map(|h| h.keys()) {
            out = json_edit::edit_string(
                &out,
                &format!("/headers/{}", header.replace('~', "~0").replace('/', "~1")),
                at_new,
            );
        }
    }
    let Some(scope) = scope else { return (out, Vec::new()) };
    let body = if envelope { &value["body"] } else { &value };
    // A webhook recorded as another shape of its payload (`{"order": {…}}`) is changed inside.
    let inner = harness_systems::webhook_payload(system, scope, body).1.map_or(String::new(), |key| format!("/{key}"));
    let prefix = format!("{}{inner}", if envelope { "/body" } else { "" });
    let prefix = prefix.as_str();
    let mut done = Vec::new();
    for change in version_diff.losses().filter(|c| c.applies_to(scope)) {
        let members = json_edit::members(&out, prefix, &parse_path(&change.path));
        if members.is_empty() {
            continue;
        }
        match (change.kind, &change.detail) {
            (ChangeKind::Removed, _) => {
                for m in &members {
                    out = json_edit::remove(&out, m);
                }
            }
            (ChangeKind::Renamed, Some(new_path)) => {
                let Some(harness_expr::Seg::Key(new_key)) = parse_path(new_path).pop() else { continue };
                for m in &members {
                    out = json_edit::rename(&out, m, &new_key);
                }
            }
            _ => continue,
        }
        done.push(describe(change, members.len()));
    }
    (out, done)
}

fn describe(change: &FieldChange, count: usize) -> String {
    let what = match (change.kind, &change.detail) {
        (ChangeKind::Renamed, Some(to)) => format!("`{}` renamed to `{to}`", change.path),
        _ => format!("`{}` removed", change.path),
    };
    let times = if count > 1 { format!(" ({count}×)") } else { String::new() };
    let since = change.since.as_ref().map_or(String::new(), |v| format!(" in {v}"));
    let instead = change.instead.as_ref().map_or(String::new(), |i| format!("; use `{i}`"));
    format!("{what}{times}{since}{instead}")
}

/// Not a gate: no JUnit suites.
impl AnalysisResult for AddedVersion {
    fn title(&self) -> String {
        format!("versions add {} {}", self.system, self.to)
    }

    fn terminal(&self, _style: Style) -> String {
        let mut out = format!("mocks/{}/{} made from {}:\n", self.system, self.to, self.from);
        let migrated: Vec<&str> = self.migrated.iter().map(|(f, _)| f.as_str()).collect();
        for (file, done) in &self.migrated {
            out.push_str(&format!("  {file}\n"));
            for d in done {
                out.push_str(&format!("      {d}\n"));
            }
        }
        let copied = self.files.written.iter().filter(|f| !migrated.contains(&f.as_str())).count();
        out.push_str(&format!("  {copied} file(s) copied unchanged\n"));
        if !self.files.skipped.is_empty() {
            out.push_str(&format!("  left alone (they exist already): {}\n", self.files.skipped.join(", ")));
        }
        if !self.requirements.is_empty() {
            out.push_str(&format!(
                "what {} {} asks of the integration itself (no recording shows it):\n",
                self.system, self.to
            ));
            for c in &self.requirements {
                out.push_str(&format!("  {c}\n"));
            }
        }
        out.push_str(&format!("next: harness impact --system {} --from {} --to {}\n", self.system, self.from, self.to));
        out
    }

    fn json(&self) -> Value {
        let migrated: Vec<Value> =
            self.migrated.iter().map(|(file, done)| json!({"file": file, "changes": done})).collect();
        let requirements: Vec<String> = self.requirements.iter().map(ToString::to_string).collect();
        json!({"system": self.system.as_str(), "from": self.from, "to": self.to, "written": self.files.written, "migrated": migrated, "skipped": self.files.skipped, "requirements": requirements})
    }

    fn suites(&self) -> Vec<Suite> {
        Vec::new()
    }
}
