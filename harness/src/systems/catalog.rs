//! The recorded library under `mocks/`: one folder per system and API version holding its
//! `system.yaml` (credentials, endpoints and their request schemas), recorded payloads and shared
//! stub sets. Every file is read and every schema compiled once, however many scenarios use it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::SystemKind;
use crate::diagnostic::Diagnostic;
use crate::mock::stub::{Matcher, ResponseSpec, StubSpec};
use crate::mock::{MockResponse, Stub};
use crate::project::{self, Project};
use crate::yaml;

/// One system at one API version.
#[derive(Debug)]
pub struct SystemVersion {
    pub kind: SystemKind,
    pub version: String,
    /// `mocks/<system>/<version>`
    pub dir: PathBuf,
    pub description: Option<String>,
    pub credentials: BTreeMap<String, String>,
    pub endpoints: Vec<Endpoint>,
    /// Peoplevox import/export templates by name.
    pub templates: BTreeMap<String, Template>,
}

/// A Peoplevox data template: its columns, which one identifies a row, which must be filled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub key: String,
    pub columns: Vec<String>,
    #[serde(default)]
    pub required: Vec<String>,
}

impl SystemVersion {
    pub fn label(&self) -> String {
        format!("{}@{}", self.kind, self.version)
    }

    pub fn credential(&self, key: &str) -> &str {
        self.credentials.get(key).map_or("", String::as_str)
    }

    /// The endpoint a request goes to, if the version declares it.
    pub fn endpoint(&self, method: &str, path: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.method == method && e.route.matches_route(method, path))
    }
}

/// An endpoint of a system version, with the schema its request bodies must satisfy.
#[derive(Debug)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
    route: Matcher,
    pub request_schema: Option<Arc<Schema>>,
    /// When set, this version no longer serves the endpoint; the text says what replaced it.
    pub removed: Option<String>,
}

/// A compiled JSON Schema.
pub struct Schema {
    /// Project-relative path, for messages.
    pub file: String,
    pub json: Value,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Schema({})", self.file)
    }
}

/// One schema violation: where in the instance, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub instance_path: String,
    pub message: String,
}

impl Schema {
    pub fn violations(&self, instance: &Value) -> Vec<Violation> {
        let mut out: Vec<Violation> = self
            .validator
            .iter_errors(instance)
            .map(|e| Violation { instance_path: e.instance_path().to_string(), message: e.to_string() })
            .collect();
        out.sort_by(|a, b| (&a.instance_path, &a.message).cmp(&(&b.instance_path, &b.message)));
        out
    }
}

/// A recorded payload with where it came from.
#[derive(Debug)]
pub struct Recording {
    pub file: String,
    pub meta: RecordingMeta,
    pub status: Option<u16>,
    pub headers: BTreeMap<String, String>,
    /// The body as JSON, when it is JSON.
    pub json: Option<Value>,
    pub body: Bytes,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingMeta {
    pub system: SystemKind,
    pub version: String,
    /// What was called or delivered: `POST /services/rest/query/v1/suiteql`, `webhook orders/create`.
    pub endpoint: String,
    /// Where the payload comes from and how it was made.
    pub provenance: String,
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordingFile {
    recording: RecordingMeta,
    status: Option<u16>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<Value>,
    body_text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemFile {
    system: SystemKind,
    version: String,
    description: Option<String>,
    #[allow(dead_code)]
    provenance: Option<String>,
    #[serde(default)]
    credentials: BTreeMap<String, String>,
    #[serde(default)]
    endpoints: Vec<EndpointSpec>,
    #[serde(default)]
    templates: BTreeMap<String, Template>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointSpec {
    method: String,
    path: String,
    request_schema: Option<String>,
    removed: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
}

/// A shared stub set: `mocks/<system>/<version>/stubs/<name>.yaml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StubSetFile {
    #[allow(dead_code)]
    description: Option<String>,
    stubs: Vec<StubSpec>,
}

type Loaded<T> = Result<Arc<T>, Diagnostic>;
type Cache<T> = Mutex<HashMap<PathBuf, Loaded<T>>>;

/// A stub set file's text (for diagnostics) and its stubs.
pub type StubSet = (String, Vec<StubSpec>);

/// Loads and caches everything under `mocks/`.
pub struct Catalog {
    root: PathBuf,
    mocks: PathBuf,
    systems: Mutex<HashMap<(SystemKind, String), Loaded<SystemVersion>>>,
    recordings: Cache<Recording>,
    stub_sets: Cache<StubSet>,
    schemas: Cache<Schema>,
    /// For replays at a new version: payloads recorded only at the old version are migrated.
    migration: Option<Migration>,
}

/// How to make a payload of `to` from one recorded at `from` (by applying the version diff).
#[derive(Clone)]
pub struct Migration {
    pub kind: SystemKind,
    pub from: Arc<SystemVersion>,
    pub to: String,
    pub diff: Arc<crate::impact::VersionDiff>,
}

impl Catalog {
    pub fn new(project: &Project) -> Self {
        Catalog {
            root: project.root.clone(),
            mocks: project.mocks_dir(),
            systems: Mutex::default(),
            recordings: Mutex::default(),
            stub_sets: Mutex::default(),
            schemas: Mutex::default(),
            migration: None,
        }
    }

    /// A catalog that migrates payloads missing at the replay version.
    pub fn with_migration(project: &Project, migration: Migration) -> Self {
        Catalog { migration: Some(migration), ..Catalog::new(project) }
    }

    /// Whether `rel` is recorded at `system`'s version or will be migrated from the old one.
    pub fn is_migrated(&self, system: &SystemVersion, rel: &str) -> bool {
        self.migration.as_ref().is_some_and(|m| m.kind == system.kind && m.to == system.version) && !system.dir.join(rel).is_file()
    }

    /// API versions recorded for `kind` (folders under `mocks/<system>/`), sorted.
    pub fn versions(&self, kind: SystemKind) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.mocks.join(kind.name()))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("system.yaml").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        out.sort();
        out
    }

    pub fn system(&self, kind: SystemKind, version: &str) -> Result<Arc<SystemVersion>, Diagnostic> {
        let key = (kind, version.to_string());
        if let Some(hit) = self.systems.lock().expect("catalog lock").get(&key) {
            return hit.clone();
        }
        let loaded = self.load_system(kind, version).map(Arc::new);
        self.systems.lock().expect("catalog lock").insert(key, loaded.clone());
        loaded
    }

    fn load_system(&self, kind: SystemKind, version: &str) -> Result<SystemVersion, Diagnostic> {
        let dir = self.mocks.join(kind.name()).join(version);
        let file = dir.join("system.yaml");
        if !file.is_file() {
            let known = self.versions(kind);
            let mut d = Diagnostic::new(&file, format!("no recorded API version `{version}` for {kind} (no {})", self.show(&file)));
            d = match crate::diagnostic::did_you_mean(version, known.iter().map(String::as_str)) {
                Some(near) => d.help(format!("did you mean `{near}`?")),
                None if known.is_empty() => d.help(format!("record one under mocks/{kind}/<version>/system.yaml")),
                None => d.help(format!("recorded versions: {}", known.join(", "))),
            };
            return Err(d.relative_to(&self.root));
        }
        let text = project::read_text(&self.root, &file)?;
        let spec: SystemFile = yaml::parse(&file, &text).map_err(|d| d.relative_to(&self.root))?;
        if spec.system != kind || spec.version != version {
            let at = text.find("system:").unwrap_or(0);
            return Err(Diagnostic::new(&file, format!("this file describes {}@{}, but it lives in mocks/{kind}/{version}", spec.system, spec.version))
                .at_offset(&text, at, 6)
                .relative_to(&self.root));
        }
        let mut endpoints = Vec::new();
        for e in spec.endpoints {
            let locate = |needle: &str| text.find(needle).unwrap_or(0);
            let route = Matcher::route(&e.method, &e.path)
                .map_err(|m| Diagnostic::new(&file, m).at_offset(&text, locate(&e.path), e.path.len()).relative_to(&self.root))?;
            let request_schema = match &e.request_schema {
                Some(rel) => Some(self.schema(&dir.join(rel)).map_err(|d| {
                    if d.span.is_none() {
                        Diagnostic::new(&file, d.message.clone()).at_offset(&text, locate(rel), rel.len()).relative_to(&self.root)
                    } else {
                        d
                    }
                })?),
                None => None,
            };
            endpoints.push(Endpoint { method: e.method.to_ascii_uppercase(), path: e.path, route, request_schema, removed: e.removed });
        }
        Ok(SystemVersion { kind, version: version.to_string(), dir, description: spec.description, credentials: spec.credentials, endpoints, templates: spec.templates })
    }

    /// A JSON Schema file, compiled.
    pub fn schema(&self, path: &Path) -> Result<Arc<Schema>, Diagnostic> {
        cached(&self.schemas, path, || {
            let text = project::read_text(&self.root, path)?;
            let json: Value = parse_json(&self.root, path, &text, "JSON Schema")?;
            // Formats (dates) are checked too: a target rejects `2025-13-40` however the draft treats them.
            let validator = jsonschema::options().should_validate_formats(true).build(&json).map_err(|e| {
                let at = e.instance_path().to_string();
                let needle = e.instance().to_string();
                let offset = text.find(&needle).unwrap_or(0);
                Diagnostic::new(path, format!("invalid JSON Schema at {at}: {e}")).at_offset(&text, offset, needle.len()).relative_to(&self.root)
            })?;
            Ok(Schema { file: self.show(path), json, validator })
        })
    }

    /// A recorded payload, relative to `system`'s folder.
    pub fn recording(&self, system: &SystemVersion, rel: &str) -> Result<Arc<Recording>, Diagnostic> {
        if self.is_migrated(system, rel)
            && let Some(m) = &self.migration
        {
            let old = self.recording(&m.from, rel)?;
            return Ok(Arc::new(migrate(&old, system, m)));
        }
        let path = system.dir.join(rel);
        cached(&self.recordings, &path, || {
            let text = project::read_text(&self.root, &path)?;
            let file: RecordingFile = parse_json(&self.root, &path, &text, "recording")?;
            let at = |needle: &str| text.find(needle).unwrap_or(0);
            if file.recording.system != system.kind || file.recording.version != system.version {
                return Err(Diagnostic::new(
                    &path,
                    format!("recording says {}@{}, but it lives under {}", file.recording.system, file.recording.version, self.show(&system.dir)),
                )
                .at_offset(&text, at("\"version\""), 9)
                .relative_to(&self.root));
            }
            if let Some((message, needle)) = unsendable(file.status, &file.headers) {
                return Err(Diagnostic::new(&path, message).at_offset(&text, at(&needle), needle.len()).relative_to(&self.root));
            }
            let (json, body) = match (file.body, file.body_text) {
                (Some(_), Some(_)) => {
                    return Err(Diagnostic::new(&path, "a recording has `body` (JSON) or `body_text`, not both")
                        .at_offset(&text, at("\"body_text\""), 11)
                        .relative_to(&self.root));
                }
                (Some(v), None) => {
                    let bytes = Bytes::from(serde_json::to_vec(&v).expect("JSON values serialise"));
                    (Some(v), bytes)
                }
                (None, Some(t)) => (serde_json::from_str(&t).ok(), Bytes::from(t)),
                (None, None) => (None, Bytes::new()),
            };
            Ok(Recording { file: self.show(&path), meta: file.recording, status: file.status, headers: file.headers, json, body })
        })
    }

    /// Resolve stubs written in `origin` (a scenario or stub set) into servable ones.
    pub fn resolve_stubs(
        &self,
        system: &SystemVersion,
        specs: &[StubSpec],
        origin: &Path,
        origin_text: &str,
        presets: &dyn Fn(&str) -> Option<MockResponse>,
    ) -> Result<Vec<Stub>, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let mut stubs = Vec::new();
        for spec in specs {
            let locate = |needle: &str| origin_text.find(needle).unwrap_or(0);
            let here = |msg: String, needle: &str| {
                Diagnostic::new(origin, msg).at_offset(origin_text, locate(needle), needle.len().max(1)).relative_to(&self.root)
            };
            let matcher = match Matcher::compile(&spec.matcher) {
                Ok(m) => m,
                Err(e) => {
                    errors.push(here(e, &spec.matcher.path));
                    continue;
                }
            };
            let answers: Vec<&ResponseSpec> = match (&spec.respond, &spec.sequence) {
                (Some(r), None) => vec![r],
                (None, Some(seq)) if !seq.is_empty() => seq.iter().collect(),
                (None, Some(_)) => {
                    errors.push(here("`sequence` needs at least one response".into(), "sequence"));
                    continue;
                }
                (Some(_), Some(_)) => {
                    errors.push(here("a stub has `respond` or `sequence`, not both".into(), "sequence"));
                    continue;
                }
                (None, None) => {
                    errors.push(here(format!("stub for `{}` says nothing about the answer: add `respond` or `sequence`", spec.matcher.path), &spec.matcher.path));
                    continue;
                }
            };
            let mut responses = Vec::new();
            for answer in answers {
                match self.response(system, answer, presets) {
                    Ok(r) => responses.push(r),
                    Err(ResponseError::Recording(d)) => {
                        let file = answer.file.as_deref().unwrap_or_default();
                        if d.span.is_none() && !file.is_empty() {
                            errors.push(here(d.message, file));
                        } else {
                            errors.push(d);
                        }
                    }
                    Err(ResponseError::Spec(msg, needle)) => errors.push(here(msg, &needle)),
                }
            }
            let name = spec.name.clone().unwrap_or_else(|| {
                format!("{} {}", spec.matcher.method.as_deref().unwrap_or("*"), spec.matcher.path)
            });
            stubs.push(Stub { name, matcher, responses, times: spec.times });
        }
        if errors.is_empty() { Ok(stubs) } else { Err(errors) }
    }

    fn response(
        &self,
        system: &SystemVersion,
        spec: &ResponseSpec,
        presets: &dyn Fn(&str) -> Option<MockResponse>,
    ) -> Result<MockResponse, ResponseError> {
        let bodies = [spec.file.is_some(), spec.body.is_some(), spec.body_text.is_some(), spec.preset.is_some()];
        if bodies.iter().filter(|b| **b).count() > 1 {
            let needle = if spec.body_text.is_some() { "body_text" } else { "body" };
            return Err(ResponseError::Spec("a response takes one of `file`, `body`, `body_text` or `preset`".into(), needle.into()));
        }
        let mut response = if let Some(name) = &spec.preset {
            presets(name).ok_or_else(|| {
                let known = super::preset_names(system.kind);
                let hint = crate::diagnostic::did_you_mean(name, known.iter().copied())
                    .map_or_else(|| format!("presets of {}: {}", system.kind, known.join(", ")), |n| format!("did you mean `{n}`?"));
                ResponseError::Spec(format!("unknown {} preset `{name}` ({hint})", system.kind), name.clone())
            })?
        } else if let Some(file) = &spec.file {
            let rec = self.recording(system, file).map_err(ResponseError::Recording)?;
            let mut r = MockResponse::new(rec.status.unwrap_or(200));
            for (k, v) in &rec.headers {
                r.set_header(k, v.clone());
            }
            if rec.json.is_some() && r.header_value("content-type").is_none() {
                r.set_header("Content-Type", "application/json; charset=utf-8");
            }
            r.body = rec.body.clone();
            r
        } else if let Some(body) = &spec.body {
            MockResponse::json(200, body)
        } else if let Some(text) = &spec.body_text {
            let ct = if text.trim_start().starts_with('<') { "text/xml; charset=utf-8" } else { "text/plain; charset=utf-8" };
            MockResponse::text(200, ct, text.clone())
        } else {
            MockResponse::new(200)
        };
        if let Some((message, needle)) = unsendable(spec.status, &spec.headers) {
            return Err(ResponseError::Spec(message, needle));
        }
        if let Some(status) = spec.status {
            response.status = status;
        }
        for (k, v) in &spec.headers {
            response.set_header(k, v.clone());
        }
        response.delay = spec.delay.or(response.delay);
        response.fault = spec.fault.or(response.fault);
        Ok(response)
    }

    /// A shared stub set by name (`mocks/<system>/<version>/stubs/<name>.yaml`), with its path
    /// and text for diagnostics about its stubs.
    pub fn stub_set(&self, system: &SystemVersion, name: &str) -> Result<(PathBuf, Arc<StubSet>), Diagnostic> {
        let rel = format!("stubs/{name}.yaml");
        // A replay at a version without its own stub sets uses the old version's.
        let dir = match &self.migration {
            Some(m) if self.is_migrated(system, &rel) => &m.from.dir,
            _ => &system.dir,
        };
        let path = dir.join(&rel);
        let set = cached(&self.stub_sets, &path, || {
            let text = project::read_text(&self.root, &path)?;
            let file: StubSetFile = yaml::parse(&path, &text).map_err(|d| d.relative_to(&self.root))?;
            Ok((text, file.stubs))
        })?;
        Ok((path, set))
    }

    /// Project-relative display of a path.
    pub fn show(&self, path: &Path) -> String {
        project::display_path(&self.root, path)
    }
}

/// An old recording carried to the new version by the diff: removed fields dropped, renamed ones
/// moved. Added fields cannot be invented, so they stay absent.
fn migrate(old: &Recording, system: &SystemVersion, m: &Migration) -> Recording {
    let scope = crate::impact::endpoint_scope(&old.meta.endpoint, &m.from.version);
    let json = old.json.as_ref().map(|j| m.diff.migrate(&scope, j));
    let body = match &json {
        Some(j) => Bytes::from(serde_json::to_vec(j).expect("JSON values serialise")),
        None => old.body.clone(),
    };
    let mut meta = old.meta.clone();
    meta.version = system.version.clone();
    meta.endpoint = meta.endpoint.replace(&m.from.version, &system.version);
    meta.provenance = format!("migrated from {} by the version diff: {}", old.file, meta.provenance);
    Recording { file: format!("{} (migrated)", old.file), meta, status: old.status, headers: old.headers.clone(), json, body }
}

/// Why a written status or header cannot go on the wire (a mock would answer 500 instead of it),
/// with the text to point at.
fn unsendable(status: Option<u16>, headers: &BTreeMap<String, String>) -> Option<(String, String)> {
    if let Some(status) = status.filter(|s| !(100..=599).contains(s)) {
        return Some((format!("HTTP status {status} is out of range (100–599)"), status.to_string()));
    }
    headers.iter().find_map(|(name, value)| {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            Some((format!("`{name}` is not a valid HTTP header name"), name.clone()))
        } else if http::HeaderValue::from_str(value).is_err() {
            Some((format!("the value of header `{name}` cannot be sent over HTTP (line breaks or control characters)"), name.clone()))
        } else {
            None
        }
    })
}

enum ResponseError {
    Recording(Diagnostic),
    /// A message and the text in the origin file to point at.
    Spec(String, String),
}

fn cached<T>(cache: &Cache<T>, key: &Path, load: impl FnOnce() -> Result<T, Diagnostic>) -> Result<Arc<T>, Diagnostic> {
    if let Some(hit) = cache.lock().expect("catalog lock").get(key) {
        return hit.clone();
    }
    let loaded = load().map(Arc::new);
    cache.lock().expect("catalog lock").insert(key.to_path_buf(), loaded.clone());
    loaded
}

/// Parse JSON, locating syntax errors and shape errors (not a valid `what`) at line:column.
pub fn parse_json<T: serde::de::DeserializeOwned>(root: &Path, path: &Path, text: &str, what: &str) -> Result<T, Diagnostic> {
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m).to_string();
        let headline = match e.classify() {
            serde_json::error::Category::Data => format!("not a valid {what}: {message}"),
            _ => format!("invalid JSON: {message}"),
        };
        let mut d = Diagnostic::new(path, headline);
        if e.line() > 0 {
            d = d.at(crate::diagnostic::SourceSpan::from_line_col(text, e.line(), e.column().max(1), 1));
        }
        d.relative_to(root)
    })
}
