//! A recording session: exchanges of one system version redacted and written under
//! `mocks/<system>/<version>/`, with the draft stub set and scenario kept up to date after each
//! one — so a session stopped at any moment (Ctrl-C) leaves a consistent set of files.

use std::path::{Path, PathBuf};

use harness_core::{Error, SystemId};
use harness_redact::{RedactionConfig, Redactions, Redactor};
use harness_syntax::Project;
use harness_syntax::system_file::RecordingMeta;

use crate::capture::Captured;
use crate::draft::{self, Drafted, ScenarioDraft};
use crate::key;

/// Where a session's drafts go and what they say.
#[derive(Debug, Clone, Default)]
pub struct Drafts {
    /// The stub set's name (`stubs/<name>.yaml`); none for no stub set.
    pub stub_set: Option<String>,
    /// `<flow>/<name>`: the draft scenario `scenarios/<flow>/<name>.yaml`, with the trigger file.
    pub scenario: Option<(String, String)>,
}

impl Drafts {
    /// The drafts a recording session writes: the stub set `stub_set` (default
    /// `recorded-<date>-<time>` of `now`), and the scenario `<flow>/<name>` with its trigger.
    pub fn new(stub_set: Option<String>, scenario: Option<(String, String)>, now: &str) -> Result<Drafts, Error> {
        if let Some((name, _)) = &scenario
            && (name.split('/').count() != 2 || !name.split('/').all(plain))
        {
            return Err(Error::Usage(format!("--scenario {name}: write FLOW/NAME (scenarios/FLOW/NAME.yaml)")));
        }
        if let Some(name) = stub_set.as_deref().filter(|n| !plain(n)) {
            return Err(Error::Usage(format!("--stubs {name}: write a name, without folders (stubs/NAME.yaml)")));
        }
        let stamp = || {
            format!(
                "recorded-{}-{}",
                now.get(..10).unwrap_or(now),
                now.get(11..16).unwrap_or_default().replace(':', "")
            )
        };
        Ok(Drafts { stub_set: Some(stub_set.unwrap_or_else(stamp)), scenario })
    }
}

/// A file name that stays in its folder: no separators, not `.`/`..`, not hidden.
fn plain(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', ':'])
}

/// What became of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Written to this project-relative file.
    Written(String),
    /// Not written: a credential that was forwarded would still be in it (labels, never values).
    Refused(Vec<String>),
}

pub struct Session {
    root: PathBuf,
    /// `mocks/<system>/<version>`.
    dir: PathBuf,
    system: SystemId,
    version: String,
    /// Where the traffic comes from (the upstream, a HAR file): written into every recording.
    source: String,
    redactor: Redactor,
    drafts: Drafts,
    /// The version of each system the draft scenario names: the recorded one, and one for every
    /// other system its flow talks to, so the draft runs as written.
    draft_versions: Vec<(SystemId, String)>,
    recorded: Vec<Drafted>,
    /// Headers recordings keep for this system besides the common ones.
    own_headers: &'static [&'static str],
}

/// The redactor a project's settings and key make.
pub(crate) fn redactor(project: &Project) -> Result<Redactor, Error> {
    let config = RedactionConfig {
        extra_paths: project.settings.redaction.redact.clone(),
        keep_fields: project.settings.redaction.keep.clone(),
        token_shapes: harness_systems::Registry::builtin().token_shapes(),
    };
    Ok(Redactor::new(key::project_key(&project.root)?, config))
}

impl Session {
    /// A session writing into the project's folder for `system@version`. Draft files that exist
    /// already are refused before anything is recorded: a session never overwrites one.
    pub fn new(
        project: &Project,
        system: SystemId,
        version: &str,
        source: &str,
        drafts: Drafts,
    ) -> Result<Session, Error> {
        // Recordings of a version the catalog does not know would be read by nothing.
        let catalog = harness_systems::Catalog::new(project);
        catalog.system(&system, version).map_err(Error::from)?;
        let dir = project.mocks_dir().join(system.as_str()).join(version);
        let draft_versions = drafts.scenario.as_ref().map_or_else(Vec::new, |(name, trigger)| {
            draft_versions(project, &catalog, name, trigger, &system, version)
        });
        let own_headers = harness_systems::Registry::builtin().get(&system).map_or(&[][..], |s| s.recorded_headers());
        let session = Session {
            root: project.root.clone(),
            dir,
            system,
            version: version.to_string(),
            source: source.to_string(),
            redactor: redactor(project)?,
            drafts,
            draft_versions,
            recorded: Vec::new(),
            own_headers,
        };
        for path in session.draft_paths() {
            if path.exists() {
                return Err(Error::Usage(format!(
                    "{} exists already: name another draft (--stubs NAME, --scenario FLOW/NAME)",
                    session.show(&path)
                )));
            }
        }
        Ok(session)
    }

    fn draft_paths(&self) -> Vec<PathBuf> {
        let stubs = self.drafts.stub_set.iter().map(|n| self.dir.join("stubs").join(format!("{n}.yaml")));
        let scenario =
            self.drafts.scenario.iter().map(|(name, _)| self.root.join("scenarios").join(format!("{name}.yaml")));
        stubs.chain(scenario).collect()
    }

    fn show(&self, path: &Path) -> String {
        harness_syntax::project::display_path(&self.root, path)
    }

    /// Where the next recordings come from: an import reads several files into one session, and
    /// each recording names its own.
    pub(crate) fn set_source(&mut self, source: &str) {
        self.source = source.to_string();
    }

    pub fn summary(&self) -> Redactions {
        self.redactor.summary()
    }

    /// Redact `captured` and write it as a recording recorded at `now`, then the drafts.
    pub(crate) fn record(&mut self, captured: &Captured, now: &str) -> Result<Recorded, Error> {
        self.write(captured, now, None)
    }

    /// A payload on its own — a webhook delivery, an imported body — written (its body is
    /// `captured`'s answer) as `<base>.json` under the version folder, with no request to send
    /// again; `endpoint` is what it stands for when known (`webhook orders/create`).
    pub(crate) fn record_payload(
        &mut self,
        captured: &Captured,
        now: &str,
        endpoint: Option<&str>,
        base: &str,
    ) -> Result<Recorded, Error> {
        self.write(captured, now, Some((endpoint, base)))
    }

    fn write(
        &mut self,
        captured: &Captured,
        now: &str,
        payload: Option<(Option<&str>, &str)>,
    ) -> Result<Recorded, Error> {
        let redacted = captured.redact(&mut self.redactor);
        let endpoint = match payload {
            Some((endpoint, _)) => endpoint.map(str::to_string),
            None => Some(redacted.endpoint()),
        };
        let meta = RecordingMeta {
            system: Some(self.system.clone()),
            version: Some(self.version.clone()),
            endpoint,
            provenance: Some("recorded by the harness from the real system; credentials removed, personal data replaced by consistent fakes".into()),
            recorded_at: Some(now.to_string()),
            source: Some(self.source.clone()),
            ..RecordingMeta::default()
        };
        let mut file = redacted.recording(meta, self.own_headers);
        if payload.is_some() {
            file.recording.request = None;
        }
        let mut text = serde_json::to_string_pretty(&file).expect("recordings serialise");
        text.push('\n');
        let leaked = self.redactor.leaked(&text);
        if !leaked.is_empty() {
            return Ok(Recorded::Refused(leaked));
        }
        let rel = match payload {
            Some((_, base)) => self.free_name(base),
            None => {
                let slug: String = redacted
                    .path
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != self.version)
                    .collect::<Vec<_>>()
                    .join("-");
                let slug: String = slug
                    .chars()
                    .map(|ch| if ch.is_ascii_alphanumeric() || ch == '-' { ch.to_ascii_lowercase() } else { '-' })
                    .collect();
                self.free_name(&format!(
                    "recorded/{}-{}",
                    redacted.method.to_ascii_lowercase(),
                    slug.trim_end_matches("-json")
                ))
            }
        };
        let path = self.dir.join(&rel);
        write(&path, &text)?;
        if let Some(call) = file.recording.request.clone() {
            self.recorded.push(Drafted { file: rel, call });
            self.write_drafts(now)?;
        }
        Ok(Recorded::Written(self.show(&path)))
    }

    /// `<base>.json` (`recorded/post-services-rest-query-v1-suiteql.json`), numbered when taken.
    fn free_name(&self, base: &str) -> String {
        let taken = |rel: &str| self.dir.join(rel).exists();
        let first = format!("{base}.json");
        if !taken(&first) {
            return first;
        }
        (2..).map(|n| format!("{base}-{n}.json")).find(|r| !taken(r)).expect("some number is free")
    }

    fn write_drafts(&self, now: &str) -> Result<(), Error> {
        let day = &now[..now.len().min(10)];
        if let Some(name) = &self.drafts.stub_set {
            let description =
                format!("Draft recorded from {} on {day}: review the matches, then use it in scenarios", self.source);
            write(
                &self.dir.join("stubs").join(format!("{name}.yaml")),
                &draft::stub_set(&self.recorded, &self.version, &description),
            )?;
        }
        if let (Some((name, trigger)), Some(stub_set)) = (&self.drafts.scenario, &self.drafts.stub_set) {
            let flow = name.split('/').next().unwrap_or(name).to_string();
            let draft = ScenarioDraft { flow, trigger: trigger.clone(), stub_set: stub_set.clone() };
            let description =
                format!("Draft: {} call(s) recorded from {} on {day}, replayed", self.recorded.len(), self.source);
            write(
                &self.root.join("scenarios").join(format!("{name}.yaml")),
                &draft::scenario(
                    &draft,
                    &self.system,
                    &self.version,
                    &self.draft_versions,
                    &self.recorded,
                    &description,
                ),
            )?;
        }
        Ok(())
    }
}

/// A version for each system the draft scenario `name`'s flow talks to: `system@version` for the
/// recorded one; for the others the project's default (`systems:` in harness.yaml), else the
/// newest version the project has recordings of (for the trigger's system, one holding the
/// trigger file). A system with none is left out, and the run says which version it needs.
fn draft_versions(
    project: &Project,
    catalog: &harness_systems::Catalog,
    name: &str,
    trigger: &str,
    system: &SystemId,
    version: &str,
) -> Vec<(SystemId, String)> {
    let flow = name.split('/').next().unwrap_or(name);
    let Some((trigger_system, systems)) = harness_engine::plan::flow_systems(project, catalog, flow) else {
        return vec![(system.clone(), version.to_string())];
    };
    let mut out = Vec::new();
    for id in systems.iter().chain(std::iter::once(system)) {
        if out.iter().any(|(o, _)| o == id) {
            continue;
        }
        let chosen = if id == system {
            Some(version.to_string())
        } else if let Some(default) = project.settings.systems.get(id) {
            Some(default.value.clone())
        } else {
            let folder = |v: &String| project.mocks_dir().join(id.as_str()).join(v);
            catalog
                .versions(id)
                .into_iter()
                .rfind(|v| folder(v).is_dir() && (*id != trigger_system || folder(v).join(trigger).is_file()))
        };
        out.extend(chosen.map(|v| (id.clone(), v)));
    }
    out.sort();
    out
}

/// Written whole ([`harness_core::files`]), so a session stopped mid-write leaves the previous
/// file or none, and no temporary file.
pub(crate) fn write(path: &Path, text: &str) -> Result<(), Error> {
    harness_core::files::write_atomic(path, text.as_bytes()).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_names_stay_in_their_folders() {
        let now = "2026-12-02T01:40:00Z";
        assert_eq!(Drafts::new(None, None, now).unwrap().stub_set.as_deref(), Some("recorded-2026-12-02-0140"));
        assert!(
            Drafts::new(Some("lookup".into()), Some(("orders/recorded".into(), "webhooks/order.json".into())), now)
                .is_ok()
        );
        for scenario in ["orders", "../x", "orders/../../x", "a/b/c", "/x"] {
            assert!(Drafts::new(None, Some((scenario.into(), "t.json".into())), now).is_err(), "{scenario}");
        }
        for stubs in ["../x", "a/b", ".hidden", ""] {
            assert!(Drafts::new(Some(stubs.into()), None, now).is_err(), "{stubs}");
        }
    }
}
