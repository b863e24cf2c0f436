//! What the harness knows of each system version, in two layers: its own catalog built into the
//! binary (`system.yaml` with rules, endpoints, the fake test account and support window; request
//! schemas), and the project's `mocks/<system>/<version>/` folder (recordings, shared stub sets,
//! and files that add to or override the built-in ones). Every file is read and every schema
//! compiled once, however many scenarios use it.
//!
//! Precedence: a project file wins over the built-in file of the same path; a project
//! `system.yaml` is merged over the built-in one (credentials and templates by name, endpoints by
//! method and path, anything else replaced when given), and its `schema_extensions` add
//! properties to the schemas named.

mod builtin;
mod listing;
mod payloads;
mod recording;
mod schema;
mod stubs;
mod version;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use harness_core::{Diagnostic, MockResponse, SystemId, did_you_mean};
use harness_mock::Matcher;

use crate::declared::DeclaredApi;
use harness_syntax::project::{self, Project};
use harness_syntax::stub::StubSpec;
use harness_syntax::system_file::{RecordingFile, RecordingMeta, StubSetFile, SupportStatus, SystemFile};
use harness_syntax::{Loc, json, yaml};
use serde_json::Value;

pub use listing::{Listed, Origin};
pub use payloads::{PayloadField, PayloadOffence};
pub use recording::{CARRIED, CARRIED_LIST, Migrate, Migration, Recording, carried_line, endpoint_scope};
pub use schema::{Schema, Violation};
pub use stubs::OtherVersion;
pub use version::{Endpoint, SystemVersion};

/// How files of the built-in catalog are shown in messages.
const BUILTIN: &str = "(built-in catalog)";

type Loaded<T> = Result<Arc<T>, Vec<Diagnostic>>;
type Cache<T> = Mutex<HashMap<PathBuf, Loaded<T>>>;
/// Loaded system versions, by system and version.
type Versions = Mutex<HashMap<(SystemId, String), Loaded<SystemVersion>>>;

/// A stub set file's text (for diagnostics) and its stubs.
pub type StubSet = (String, Vec<StubSpec>);

/// A recording's offences against its version, by the recording's path and the scope it is delivered as.
type OffencesByRecording = HashMap<(PathBuf, String), Arc<[PayloadOffence]>>;

/// Loads and caches everything under `mocks/`.
pub struct Catalog {
    root: PathBuf,
    /// The project's `mocks/`; none for the built-in catalog alone.
    mocks: Option<PathBuf>,
    /// What is loaded is shared with the catalogs made from this one ([`Catalog::with_migration`]):
    /// a file reads the same whichever asks.
    systems: Arc<Versions>,
    recordings: Arc<Cache<Recording>>,
    stub_sets: Arc<Cache<StubSet>>,
    schemas: Arc<Cache<Schema>>,
    /// [`Catalog::recording_offences`] by recording and the scope it is delivered as: thousands
    /// of scenarios deliver the same few recordings, and checking one walks the whole payload.
    /// This catalog's own: a migrating one reads other payloads.
    offences: Mutex<OffencesByRecording>,
    /// The versions of each system, built-in and recorded: asked for by every stub a plan
    /// resolves, and the folders do not change during one command.
    versions: Arc<Mutex<HashMap<SystemId, Vec<String>>>>,
    /// For replays at a new version: payloads recorded only at the old version are migrated.
    migration: Option<Migration>,
    /// The payloads it migrated, by the path they would have at the new version: a plan asks
    /// for each many times (trigger, stubs, checks), and migrating one copies it whole.
    migrated: Cache<Recording>,
    /// The day support windows are judged at (RFC 3339 UTC), for runs: a version past its
    /// accessible-until date then falls forward. None for analyses, which judge versions as
    /// themselves.
    now: Option<String>,
}

impl Catalog {
    pub fn new(project: &Project) -> Self {
        Catalog::over(project.root.clone(), Some(project.mocks_dir()))
    }

    /// What the harness knows by itself, outside any project.
    pub fn builtin_only() -> Self {
        Catalog::over(PathBuf::new(), None)
    }

    fn over(root: PathBuf, mocks: Option<PathBuf>) -> Self {
        Catalog {
            root,
            mocks,
            systems: Arc::default(),
            recordings: Arc::default(),
            stub_sets: Arc::default(),
            schemas: Arc::default(),
            offences: Mutex::default(),
            versions: Arc::default(),
            migration: None,
            migrated: Mutex::default(),
            now: None,
        }
    }

    /// This catalog, judging support windows at `now` (RFC 3339 UTC).
    pub fn at(mut self, now: String) -> Self {
        self.now = Some(now);
        self
    }

    /// The day support windows and recording ages are judged at, when the catalog judges one.
    pub fn now(&self) -> Option<&str> {
        self.now.as_deref()
    }

    /// The version that answers calls for `version` on the catalog's day when it is past its
    /// accessible-until date: the oldest supported stable version of the system. None when the
    /// version is still served as itself, or when the catalog judges no day.
    pub fn answering(&self, version: &SystemVersion) -> Option<Arc<SystemVersion>> {
        let now = self.now.as_deref()?;
        if !matches!(version.support.as_ref()?.status(now), SupportStatus::Inaccessible { .. }) {
            return None;
        }
        let serving =
            self.versions(&version.system).into_iter().filter_map(|v| self.system(&version.system, &v).ok()).find(
                |v| v.support.as_ref().is_some_and(|s| matches!(s.status(now), SupportStatus::Supported { .. })),
            )?;
        // Another version's rules, the same account: the shop's credentials do not change with it.
        let mut serving = (*serving).clone();
        serving.credentials = version.credentials.clone();
        Some(Arc::new(serving))
    }

    /// The project's folder for `system@version`, or where a built-in one is shown.
    fn version_dir(&self, system: &str, version: &str) -> PathBuf {
        self.mocks.clone().unwrap_or_else(|| PathBuf::from(BUILTIN)).join(system).join(version)
    }

    /// This catalog migrating payloads missing at the replay version, sharing what it has loaded
    /// (a migrated payload is kept by this catalog alone).
    pub fn with_migration(&self, migration: Migration) -> Self {
        Catalog {
            root: self.root.clone(),
            mocks: self.mocks.clone(),
            systems: self.systems.clone(),
            recordings: self.recordings.clone(),
            stub_sets: self.stub_sets.clone(),
            schemas: self.schemas.clone(),
            offences: Mutex::default(),
            versions: self.versions.clone(),
            migration: Some(migration),
            migrated: Mutex::default(),
            now: self.now.clone(),
        }
    }

    /// Whether `rel` is recorded at `system`'s version or will be migrated from the old one.
    pub fn is_migrated(&self, system: &SystemVersion, rel: &str) -> bool {
        self.migration.as_ref().is_some_and(|m| m.system == system.system && m.to == system.version)
            && !system.dir.join(rel).is_file()
    }

    /// Systems the harness or the project describes a version of, sorted.
    pub fn systems(&self) -> Vec<String> {
        let project = self.mocks.iter().flat_map(|m| folders(m, |_| true));
        let mut out: Vec<String> = builtin::systems().into_iter().map(str::to_string).chain(project).collect();
        out.sort();
        out.dedup();
        out
    }

    /// API versions known for `system`: the harness's own and those the project describes in a
    /// `system.yaml` of its own, sorted.
    pub fn versions(&self, system: &SystemId) -> Vec<String> {
        if let Some(hit) = self.versions.lock().expect("catalog lock").get(system) {
            return hit.clone();
        }
        let project =
            self.mocks.iter().flat_map(|m| folders(&m.join(system.as_str()), |p| p.join("system.yaml").is_file()));
        let mut out: Vec<String> =
            builtin::versions(system.as_str()).into_iter().map(str::to_string).chain(project).collect();
        out.sort();
        out.dedup();
        self.versions.lock().expect("catalog lock").insert(system.clone(), out.clone());
        out
    }

    /// The latest built-in version of `system` before `version`, whose rules a project folder
    /// for a version the harness does not know lays over.
    pub fn newest_builtin_before(system: &SystemId, version: &str) -> Option<&'static str> {
        builtin::base_version(system.as_str(), version)
    }

    /// Every field the webhook `topic` of `system` sends at `version`, by path
    /// (`line_items[].sku`), from the vendor's own schemas; None where the harness has no schema
    /// of that topic at that version.
    pub fn webhook_fields(
        system: &SystemId,
        topic: &str,
        version: &str,
    ) -> Option<BTreeMap<&'static str, PayloadField>> {
        payloads::table(system.as_str())?.fields(topic, version)
    }

    /// What a payload recorded for webhook `topic` at `version` carries that the version does not
    /// send, by the vendor's schemas (a field no longer sent, one always sent missing, a value of
    /// the wrong type), one message each naming the field, the topic and the version.
    pub fn check_webhook_payload(
        system: &SystemId,
        topic: &str,
        version: &str,
        payload: &Value,
    ) -> Vec<PayloadOffence> {
        payloads::table(system.as_str()).map(|t| t.check(topic, version, payload)).unwrap_or_default()
    }

    /// What the recording `rel` of `system`, delivered as `scope` (`webhook orders/create`),
    /// carries that the version does not send ([`Catalog::check_webhook_payload`]), each message
    /// starting with the recording's file; nothing for a scope that is no webhook or a recording
    /// that is not JSON. Checked once per recording and scope.
    pub fn recording_offences(&self, system: &SystemVersion, rel: &str, scope: &str) -> Arc<[PayloadOffence]> {
        let key = (system.dir.join(rel), scope.to_string());
        if let Some(found) = self.offences.lock().expect("offences cache").get(&key) {
            return found.clone();
        }
        let check = || {
            let topic = scope.strip_prefix("webhook ")?;
            let recording = self.recording(system, rel).ok()?;
            let json = recording.json.as_ref()?;
            let payload = crate::webhook_payload(&system.system, scope, json).0;
            let mut found = Catalog::check_webhook_payload(&system.system, topic, &system.version, payload);
            for o in &mut found {
                o.message = format!("{}: {}", recording.file, o.message);
            }
            Some(found)
        };
        let found: Arc<[PayloadOffence]> = check().unwrap_or_default().into();
        self.offences.lock().expect("offences cache").insert(key, found.clone());
        found
    }

    /// The events (webhook topics) `version` pushes: those its webhook schemas describe at that
    /// version (every topic they know, for a version they do not describe) and those its
    /// `system.yaml` files list. None when it lists none: the harness cannot tell.
    pub fn events(version: &SystemVersion) -> Option<BTreeSet<String>> {
        let schemas = payloads::table(version.system.as_str()).map(|t| t.topics(&version.version)).unwrap_or_default();
        let all: BTreeSet<String> =
            schemas.into_iter().map(str::to_string).chain(version.events.iter().cloned()).collect();
        (!all.is_empty()).then_some(all)
    }

    /// The versions at which the vendor's webhook schemas describe `topic` (none when they do not
    /// know it, or the system has none).
    pub fn event_versions(system: &SystemId, topic: &str) -> Vec<&'static str> {
        payloads::table(system.as_str()).map(|t| t.topic_versions(topic)).unwrap_or_default()
    }

    /// The versions the vendor's webhook schemas describe (oldest first) and where they come from.
    pub fn webhook_schemas(system: &SystemId) -> Option<(&'static [&'static str], &'static str)> {
        payloads::table(system.as_str()).map(|t| (t.versions(), t.source.as_str()))
    }

    /// Whether the harness itself knows `system` at `version`.
    pub fn is_builtin(system: &SystemId, version: &str) -> bool {
        builtin::file(&format!("{system}/{version}/system.yaml")).is_some()
    }

    pub fn system(&self, system: &SystemId, version: &str) -> Result<Arc<SystemVersion>, Vec<Diagnostic>> {
        let key = (system.clone(), version.to_string());
        if let Some(hit) = self.systems.lock().expect("catalog lock").get(&key) {
            return hit.clone();
        }
        let loaded = self.load_system(system, version).map(Arc::new);
        self.systems.lock().expect("catalog lock").insert(key, loaded.clone());
        loaded
    }

    fn load_system(&self, system: &SystemId, version: &str) -> Result<SystemVersion, Vec<Diagnostic>> {
        let dir = self.version_dir(system.as_str(), version);
        let project = match self.mocks {
            Some(_) => self.project_file(&dir, "system.yaml")?,
            None => None,
        };
        // A built-in version is used as it is; a newer one only under a project folder for it.
        let builtin =
            builtin::base_version(system.as_str(), version).filter(|base| *base == version || project.is_some());
        let layers = [builtin.and_then(|base| self.builtin_file(system, base, "system.yaml")), project];
        let mut files = Vec::new();
        for (i, (file, text)) in layers.into_iter().flatten().enumerate() {
            let spec: SystemFile = yaml::parse(&file, &text).map_err(|ds| self.relative(ds))?;
            let inherited = i == 0 && builtin.is_some_and(|base| base != version);
            if spec.system.value != *system || (spec.version.value != version && !inherited) {
                let message = format!(
                    "this file describes {}@{}, but it lives in mocks/{system}/{version}",
                    spec.system.value, spec.version.value
                );
                return Err(vec![spec.system.span.diagnostic(&file, &text, message).relative_to(&self.root)]);
            }
            files.push((file, text, spec, inherited));
        }
        if files.is_empty() {
            let known = self.versions(system);
            let file = dir.join("system.yaml");
            let mut d = Diagnostic::new(
                &file,
                format!("no recorded API version `{version}` for {system} (no {})", self.show(&file)),
            );
            d = match did_you_mean(version, known.iter().map(String::as_str)) {
                Some(near) => d.help(format!("did you mean `{near}`?")),
                None if known.is_empty() => d.help(format!("record one under mocks/{system}/<version>/system.yaml")),
                None => d.help(format!("recorded versions: {}", known.join(", "))),
            };
            return Err(vec![d.relative_to(&self.root)]);
        }
        let mut version_out = SystemVersion {
            system: system.clone(),
            version: version.to_string(),
            dir,
            description: None,
            credentials: Default::default(),
            endpoints: Vec::new(),
            templates: Default::default(),
            events: Default::default(),
            support: None,
            schema_extensions: Default::default(),
            builtin: builtin.map(str::to_string),
            changes: Vec::new(),
            api: None,
            in_force: Vec::new(),
            carried: BTreeMap::new(),
        };
        // Extensions apply to every endpoint's schema, the lower layers' included.
        for (_, _, spec, _) in &files {
            version_out.schema_extensions.extend(spec.schema_extensions.clone());
        }
        for (file, text, mut spec, inherited) in files {
            if inherited {
                // An older version's support window and changes say nothing about this one.
                spec.support = None;
                spec.changes.clear();
            }
            self.merge(&mut version_out, &file, &text, spec)?;
        }
        for earlier in builtin::versions(system.as_str()).into_iter().filter(|v| *v < version) {
            if let Ok(at) = self.system(system, earlier) {
                version_out.in_force.extend(at.changes.iter().map(|c| (earlier.to_string(), c.clone())));
            }
        }
        version_out.in_force.extend(version_out.changes.iter().map(|c| (version.to_string(), c.clone())));
        if self.mocks.is_some()
            && let Some((file, text)) = self.project_file(&version_out.dir, recording::CARRIED_LIST)?
        {
            version_out.carried = recording::carried_list(&file, &text).map_err(|d| vec![d.relative_to(&self.root)])?;
        }
        Ok(version_out)
    }

    /// Lay `spec` (a system file) over what the layers below it said.
    fn merge(
        &self,
        into: &mut SystemVersion,
        file: &Path,
        text: &str,
        spec: SystemFile,
    ) -> Result<(), Vec<Diagnostic>> {
        let here = |span: harness_syntax::Span, message: String| {
            vec![span.diagnostic(file, text, message).relative_to(&self.root)]
        };
        if spec.description.is_some() {
            into.description = spec.description;
        }
        if let Some(support) = spec.support {
            if let Some(bad) = support.bad_dates().next() {
                return Err(here(
                    bad.span,
                    format!("`{}` is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)", bad.value),
                ));
            }
            into.support = Some(support);
        }
        into.credentials.extend(spec.credentials);
        // A template rows are saved to names the column that identifies a row; a report has none.
        if let Some(name) = spec.templates.iter().find(|(_, t)| !t.report && t.key.is_empty()).map(|(n, _)| n) {
            let span = yaml::key_span(text, &["templates", name]).unwrap_or(spec.system.span);
            return Err(here(
                span,
                format!(
                    "template `{name}` has no `key:` (the column that identifies a row); a report read with GetReportData says `report: true`"
                ),
            ));
        }
        into.templates.extend(spec.templates);
        into.events.extend(spec.events);
        if let Some(api) = &spec.api {
            if builtin::systems().contains(&into.system.as_str()) {
                let span = yaml::key_span(text, &["api"]).unwrap_or(spec.system.span);
                return Err(here(
                    span,
                    format!("{} is built in: `api:` declares a system the harness does not know", into.system),
                ));
            }
            // Credentials of every layer so far, this file's included.
            into.api = Some(Arc::new(
                DeclaredApi::compile(api, &into.credentials, file, text).map_err(|ds| self.relative(ds))?,
            ));
        }
        for change in spec.changes {
            if change.what().is_none() {
                return Err(here(
                    change.scope.span,
                    "a change says exactly one of `removed`, `renamed`, `required` and `deprecated`".into(),
                ));
            }
            into.changes.push(change);
        }
        for e in spec.endpoints {
            let path = e.path.replace("{version}", &into.version);
            let route = Matcher::route(&e.method, &path).map_err(|m| here(e.path.span, m.to_string()))?;
            let request_schema = match &e.request_schema {
                Some(rel) => Some(self.schema(into, rel, e.partial).map_err(|ds| self.point_at(ds, rel, file, text))?),
                None => None,
            };
            let method = e.method.to_ascii_uppercase();
            let answer = e.answer.map(|a| {
                let mut response = MockResponse::new(a.status.value);
                if let Some(body) = &a.body {
                    response = MockResponse::json(a.status.value, body);
                }
                a.headers.into_iter().fold(response, |r, (k, v)| r.header(&k, v))
            });
            into.endpoints.retain(|old| !(old.method == method && old.path == path));
            into.endpoints.push(Endpoint { method, path, route, request_schema, removed: e.removed, answer });
        }
        Ok(())
    }

    /// The built-in file `rel` of `system@version` (or of the earlier version it inherits it
    /// from), with the path it is shown by.
    fn builtin_file(&self, system: &SystemId, version: &str, rel: &str) -> Option<(PathBuf, String)> {
        builtin::inherited(system.as_str(), version, rel)
            .map(|(from, text)| (PathBuf::from(BUILTIN).join(format!("{system}/{from}/{rel}")), text.to_string()))
    }

    /// `dir/rel` when it stays inside the project: a project's files can never make the harness
    /// read what lies outside it. The message is for the caller to locate.
    fn inside(&self, dir: &Path, rel: &str) -> Result<PathBuf, Diagnostic> {
        match &self.mocks {
            Some(_) => project::contained(&self.root, dir, rel)
                .map_err(|m| Diagnostic::new(dir.join("…"), m.to_string()).relative_to(&self.root)),
            None => Ok(dir.join(rel)),
        }
    }

    /// The project's file `rel` in a version folder, when there is one.
    fn project_file(&self, dir: &Path, rel: &str) -> Result<Option<(PathBuf, String)>, Vec<Diagnostic>> {
        let path = self.inside(dir, rel).map_err(|d| vec![d])?;
        if !path.is_file() {
            return Ok(None);
        }
        project::read_text(&self.root, &path).map(|t| Some((path, t))).map_err(|d| vec![d])
    }

    /// The request schema `rel` of a version (the project's file, else the built-in one), compiled,
    /// with the version's schema extensions applied; `partial` (a PATCH body), without the
    /// fields its top level requires.
    pub fn schema(&self, version: &SystemVersion, rel: &str, partial: bool) -> Result<Arc<Schema>, Vec<Diagnostic>> {
        let (path, text) = self.schema_file(version, rel)?;
        // One file serves every version that inherits it; extended, it is that version's own.
        let mut key = match version.schema_extensions.contains_key(rel) {
            true => path.join(format!("#extended-for-{}", version.dir.display())),
            false => path.clone(),
        };
        if partial {
            key = key.join("#partial");
        }
        cached(&self.schemas, &key, || {
            let mut json_value: Value = json::parse_value(&self.root, &path, &text).map_err(|d| vec![d])?;
            if let Some(extension) = version.schema_extensions.get(rel) {
                extend(&mut json_value, extension);
            }
            if partial && let Some(top) = json_value.as_object_mut() {
                top.remove("required");
                // `anyOf: [{required: [companyName]}, {required: [lastName]}]`: required too.
                let only_required = |v: &Value| {
                    v.as_array().is_some_and(|a| {
                        a.iter().all(|b| b.as_object().is_some_and(|o| o.keys().all(|k| k == "required")))
                    })
                };
                if top.get("anyOf").is_some_and(only_required) {
                    top.remove("anyOf");
                }
            }
            Schema::compile(self.show(&path), json_value).map_err(|e| {
                // An extension merged from system.yaml has no place in this file: point at the document.
                let spans = json::Spans::of(&text);
                let span = if e.at_key { spans.key(&e.pointer) } else { spans.value(&e.pointer) };
                let at = if e.pointer.is_empty() { "/" } else { &e.pointer };
                vec![
                    span.unwrap_or_default()
                        .diagnostic(&path, &text, format!("invalid JSON Schema at {at}: {e}"))
                        .relative_to(&self.root),
                ]
            })
        })
    }

    /// The request schema `rel` of a version as its file says, before the version's schema
    /// extensions (what an import of the account's own definitions extends).
    pub fn schema_source(&self, version: &SystemVersion, rel: &str) -> Result<Value, Vec<Diagnostic>> {
        let (path, text) = self.schema_file(version, rel)?;
        json::parse_value(&self.root, &path, &text).map_err(|d| vec![d])
    }

    /// The file of the request schema `rel`: the project's, else the built-in one.
    fn schema_file(&self, version: &SystemVersion, rel: &str) -> Result<(PathBuf, String), Vec<Diagnostic>> {
        match self.project_file(&version.dir, rel)? {
            Some(found) => Ok(found),
            None => match version.builtin.as_deref().and_then(|base| self.builtin_file(&version.system, base, rel)) {
                Some(found) => Ok(found),
                None => Err(vec![
                    Diagnostic::new(
                        version.dir.join(rel),
                        format!("cannot read {}: file not found", self.show(&version.dir.join(rel))),
                    )
                    .relative_to(&self.root),
                ]),
            },
        }
    }

    /// A recorded payload, relative to `system`'s folder.
    pub fn recording(&self, system: &SystemVersion, rel: &str) -> Result<Arc<Recording>, Diagnostic> {
        if self.is_migrated(system, rel)
            && let Some(m) = &self.migration
        {
            let migrate = || {
                self.recording(&m.from, rel).map(|old| recording::migrate(&old, rel, system, m)).map_err(|d| vec![d])
            };
            return cached(&self.migrated, &system.dir.join(rel), migrate).map_err(|mut ds| ds.remove(0));
        }
        // Cached by the path as written: the check that it stays inside the project runs once.
        let load =
            || self.inside(&system.dir, rel).and_then(|path| self.load_recording(system, &path)).map_err(|d| vec![d]);
        cached(&self.recordings, &system.dir.join(rel), load).map_err(|mut ds| ds.remove(0))
    }

    /// Whether the recording `rel` of `system` was carried over from another version by `harness
    /// versions add` rather than recorded at its own: its provenance says so (an envelope), or the
    /// version's [`CARRIED_LIST`](recording::CARRIED_LIST) names it with the bytes it still has.
    pub fn carried(&self, system: &SystemVersion, rel: &str) -> bool {
        if self
            .recording(system, rel)
            .is_ok_and(|r| r.meta.provenance.as_deref().is_some_and(|p| p.contains(recording::CARRIED)))
        {
            return true;
        }
        system.carried.get(rel).is_some_and(|hash| {
            std::fs::read(system.dir.join(rel)).is_ok_and(|contents| recording::content_hash(&contents) == *hash)
        })
    }

    /// A recording file: an envelope (`{"recording": {…}, "status", "headers", "body"}`) or the
    /// bare body as the system sent it — JSON kept byte for byte (a webhook's signature is over
    /// those bytes), or XML, CSV or text.
    fn load_recording(&self, system: &SystemVersion, path: &Path) -> Result<Recording, Diagnostic> {
        let text = project::read_text(&self.root, path)?;
        let bare = |json_value: Option<Value>| Recording {
            file: self.show(path),
            version: system.version.clone(),
            meta: RecordingMeta::default(),
            status: None,
            headers: Default::default(),
            json: json_value.map(Arc::new),
            body: Bytes::from(text.clone()),
        };
        let looks_json = text.trim_start().starts_with(['{', '[']) || path.extension().is_some_and(|e| e == "json");
        if !looks_json {
            return Ok(bare(None));
        }
        let value = json::parse_value(&self.root, path, &text)?;
        if !value.as_object().is_some_and(|o| RecordingFile::is_envelope(o.keys().map(String::as_str))) {
            return Ok(bare(Some(value)));
        }
        let file: RecordingFile = json::parse(&self.root, path, &text, "recording")?;
        let here = |message: String, pointer: &str| {
            let spans = json::Spans::of(&text);
            let span = if pointer.starts_with("/headers/") { spans.key(pointer) } else { spans.value(pointer) };
            span.unwrap_or_default().diagnostic(path, &text, message).relative_to(&self.root)
        };
        let claims = (file.recording.system.as_ref(), file.recording.version.as_deref());
        if claims.0.is_some_and(|s| *s != system.system) || claims.1.is_some_and(|v| v != system.version) {
            let said = format!(
                "{}@{}",
                claims.0.map_or(system.system.as_str(), |s| s.as_str()),
                claims.1.unwrap_or(&system.version)
            );
            let pointer =
                if claims.0.is_some_and(|s| *s != system.system) { "/recording/system" } else { "/recording/version" };
            return Err(here(format!("recording says {said}, but it lives under {}", self.show(&system.dir)), pointer));
        }
        if let Some(status) = file.status
            && let Some(message) = stubs::unsendable_status(status)
        {
            return Err(here(message, "/status"));
        }
        if let Some((message, name)) = stubs::unsendable_headers(&file.headers) {
            return Err(here(message, &format!("/headers/{}", name.replace('~', "~0").replace('/', "~1"))));
        }
        let (json_value, body) = match (file.body, file.body_text) {
            (Some(_), Some(_)) => {
                return Err(here("a recording has `body` (JSON) or `body_text`, not both".into(), "/body_text"));
            }
            (Some(v), None) => {
                let bytes = Bytes::from(serde_json::to_vec(&v).expect("JSON values serialise"));
                (Some(v), bytes)
            }
            (None, Some(t)) => (serde_json::from_str(&t).ok(), Bytes::from(t)),
            (None, None) => (None, Bytes::new()),
        };
        Ok(Recording {
            file: self.show(path),
            version: system.version.clone(),
            meta: file.recording,
            status: file.status,
            headers: file.headers,
            json: json_value.map(Arc::new),
            body,
        })
    }

    /// A shared stub set by name (`mocks/<system>/<version>/stubs/<name>.yaml`), with its path
    /// and text for diagnostics about its stubs.
    pub fn stub_set(&self, system: &SystemVersion, name: &str) -> Result<(PathBuf, Arc<StubSet>), Vec<Diagnostic>> {
        let rel = format!("stubs/{name}.yaml");
        // A replay at a version without its own stub sets uses the old version's.
        let dir = match &self.migration {
            Some(m) if self.is_migrated(system, &rel) => &m.from.dir,
            _ => &system.dir,
        };
        let path = dir.join("stubs").join(format!("{name}.yaml"));
        let set = cached(&self.stub_sets, &path, || {
            let path = self.inside(&dir.join("stubs"), &format!("{name}.yaml")).map_err(|d| vec![d])?;
            let text = project::read_text(&self.root, &path).map_err(|d| vec![d])?;
            let file: StubSetFile = yaml::parse(&path, &text).map_err(|ds| self.relative(ds))?;
            Ok((text, file.stubs))
        })?;
        Ok((path, set))
    }

    /// Names of the stub sets of `system`'s version, for suggestions.
    pub fn stub_set_names(&self, system: &SystemVersion) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(system.dir.join("stubs"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names
    }

    /// Project-relative display of a path.
    pub fn show(&self, path: &Path) -> String {
        project::display_path(&self.root, path)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn relative(&self, ds: Vec<Diagnostic>) -> Vec<Diagnostic> {
        ds.into_iter().map(|d| d.relative_to(&self.root)).collect()
    }

    /// Problems with a file `rel` names: those inside it stay where they are; a missing file is
    /// reported where `file` names it.
    fn point_at(&self, ds: Vec<Diagnostic>, rel: &Loc<String>, file: &Path, text: &str) -> Vec<Diagnostic> {
        ds.into_iter()
            .map(|d| if d.span.is_none() { rel.error(file, text, d.message).relative_to(&self.root) } else { d })
            .collect()
    }
}

/// `extension`'s properties and required fields added to `schema`'s (objects merged key by key);
/// a keyword set to `null` is taken away (an account's imported definitions take away the
/// built-in schemas' `patternProperties` that let any custom field through).
fn extend(schema: &mut Value, extension: &Value) {
    match (schema, extension) {
        (Value::Object(base), Value::Object(more)) => {
            for (k, v) in more {
                match (base.get_mut(k), v) {
                    (_, Value::Null) => {
                        base.remove(k);
                    }
                    (Some(Value::Array(a)), Value::Array(b)) => {
                        a.extend(b.iter().filter(|x| !a.contains(x)).cloned().collect::<Vec<_>>())
                    }
                    (Some(existing @ Value::Object(_)), Value::Object(_)) => extend(existing, v),
                    _ => {
                        base.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (schema, extension) => *schema = extension.clone(),
    }
}

fn folders(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir() && keep(&e.path()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn cached<T>(cache: &Cache<T>, key: &Path, load: impl FnOnce() -> Result<T, Vec<Diagnostic>>) -> Loaded<T> {
    if let Some(hit) = cache.lock().expect("catalog lock").get(key) {
        return hit.clone();
    }
    let loaded = load().map(Arc::new);
    cache.lock().expect("catalog lock").insert(key.to_path_buf(), loaded.clone());
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every version the harness ships loads: its system file parses, its changes say one thing
    /// each, and every schema it names (its own or inherited) compiles.
    #[test]
    fn every_built_in_version_loads() {
        let catalog = Catalog::builtin_only();
        for system in builtin::systems() {
            let id = SystemId::new(system).expect("a valid name");
            for version in builtin::versions(system) {
                let loaded =
                    catalog.system(&id, version).unwrap_or_else(|ds| panic!("{system}@{version}: {}", ds[0].message));
                assert!(
                    loaded.endpoints.iter().all(|e| !e.path.contains("{version}")),
                    "{system}@{version}: paths are substituted"
                );
            }
        }
        let shopify = SystemId::new("shopify").expect("a valid name");
        assert!(
            catalog
                .system(&shopify, "2026-04")
                .expect("built in")
                .changes
                .iter()
                .any(|c| c.removed.as_ref().is_some_and(|p| p.value == "checkout_id"))
        );
        assert!(
            catalog
                .system(&shopify, "2027-01")
                .expect("built in")
                .support
                .as_ref()
                .is_some_and(|s| s.release_candidate)
        );
    }
}
