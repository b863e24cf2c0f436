//! Scenario files: one declarative case each — given recorded payloads and mock behaviour, when the
//! flow runs, expect these outputs. This module holds the file format (also published as a JSON
//! Schema by `harness schema`), where scenario files are found, and their strict parsing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use harness_core::{Diagnostic, Error, Outcome, SystemId};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::delivery::DeliverySpec;
use crate::loc::Loc;
use crate::project::{self, Project};
use crate::reconcile::ReconcileSpec;
use crate::stub::StubSpec;
use crate::yaml;

/// A scenario file (`scenarios/<flow>/<name>.yaml`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ScenarioSpec {
    /// What this scenario shows, in a sentence.
    pub description: Option<String>,
    /// The flow under test: the name of a file in `flows/` without `.yaml`.
    pub flow: Loc<String>,
    /// Labels to select scenarios by (`harness run --tag smoke`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// API version of each system, e.g. `shopify: 2025-01`. A list runs the scenario once per version.
    #[serde(default)]
    pub systems: BTreeMap<SystemId, Loc<Versions>>,
    /// What starts the flow.
    pub trigger: Loc<TriggerSpec>,
    /// Stubs per system: shared sets to `use` and the scenario's own `stubs`, first match wins.
    #[serde(default)]
    pub mocks: BTreeMap<SystemId, MockSpec>,
    /// What must hold after the run.
    #[serde(default)]
    pub expect: ExpectSpec,
    /// More snapshot redactions, added to the flow's (`body.memo`, `headers.x-request-id`).
    #[serde(default)]
    pub redact: Vec<String>,
    /// Wall-clock limit for this scenario (default from harness.yaml, else 30s).
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// Overrides of the flow's delivery policy for this scenario (built-in flows).
    pub delivery: Option<DeliverySpec>,
    /// A request that no stub and no rule of the mock answers, answered by the mock's guess
    /// (a SuiteQL query finding no rows), fails the scenario instead of warning (default from
    /// harness.yaml, else `false`).
    pub strict_stubs: Option<bool>,
    /// Service flows: how long the integration must be idle before the scenario is over
    /// (overrides the flow's `settle`).
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub settle: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Versions {
    One(String),
    Many(Vec<String>),
}

impl Versions {
    pub fn list(&self) -> Vec<String> {
        match self {
            Versions::One(v) => vec![v.clone()],
            Versions::Many(vs) => vs.clone(),
        }
    }
}

impl Loc<Versions> {
    /// Where `version` stands: the value itself, or its entry in the list (the parser keeps no
    /// places inside a value of two shapes, so the entry is found within the list's own text).
    pub fn span_of(&self, text: &str, version: &str) -> crate::Span {
        let within = text.get(self.span.offset..self.span.offset + self.span.len).unwrap_or("");
        match (&self.value, within.find(version)) {
            (Versions::Many(_), Some(i)) => crate::Span { offset: self.span.offset + i, len: version.len() },
            _ => self.span,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct TriggerSpec {
    /// A recorded payload, relative to `mocks/<trigger system>/<version>/`: the webhook body, or the
    /// answer to the flow's poll.
    pub file: Option<Loc<String>>,
    /// An inline JSON payload instead of a file.
    pub body: Option<Loc<Value>>,
    /// Headers added to (or replacing) the webhook's, e.g. a tampered `X-Shopify-Hmac-Sha256`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Peoplevox event callback: the values it fills into the URL template
    /// (`SalesOrderNumber`, `TrackingNumber`, `ItemCode`, `Available`, ...).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Service flows: deliver the trigger this many times, identically (a redelivery keeps its
    /// `X-Shopify-Webhook-Id`); default 1.
    pub times: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct MockSpec {
    /// Shared stub sets from `mocks/<system>/<version>/stubs/<name>.yaml`.
    #[serde(rename = "use", default)]
    pub use_sets: Vec<Loc<String>>,
    /// This scenario's stubs; they win over the shared ones.
    #[serde(default)]
    pub stubs: Vec<StubSpec>,
    /// What the system's mock starts from, in the system's own terms (Shopify: `inventory:
    /// [{inventory_item, location, available}]`, the quantities its inventory mutations check).
    pub state: Option<Loc<Value>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ExpectSpec {
    /// `succeeded` (default): every record delivered or filtered, and something reached the
    /// targets; `filtered`: every record filtered out, nothing sent; `failed`: the flow or a
    /// record failed.
    pub outcome: Option<ExpectedOutcome>,
    /// Text the failure must mention (a SKU, an error code).
    pub error: Option<Loc<String>>,
    /// Request counts: `{system: netsuite, method: POST, path: /services/rest/record/v1/salesOrder, count: 1}`.
    #[serde(default)]
    pub requests: Vec<RequestExpect>,
    /// Systems whose received traffic is snapshotted (default: the flow's targets).
    pub snapshots: Option<Vec<Loc<SystemId>>>,
    /// Extra schemas requests must satisfy, beyond those of the system's endpoints.
    #[serde(default)]
    pub schemas: Vec<SchemaExpect>,
    /// How each record must end, by key: `"#1001": delivered`, or with a reason pattern.
    #[serde(default)]
    pub records: BTreeMap<String, RecordExpect>,
    /// Dead letters: how many, and text their reasons must contain.
    pub dead_letters: Option<DeadLetterExpect>,
    /// Credential refreshes per system, e.g. `netsuite: 1`.
    #[serde(default)]
    pub refreshes: BTreeMap<SystemId, usize>,
    /// Waits before retries, e.g. `{system: netsuite, before_attempt: 2, at_least: 2s}`.
    #[serde(default)]
    pub waits: Vec<WaitExpect>,
    /// Fail when a create reached a system twice for the same record (default true).
    pub no_duplicates: Option<bool>,
    /// Sums and counts that must agree between source and targets.
    #[serde(default)]
    pub reconcile: Vec<ReconcileSpec>,
    /// Service flows: how the service must answer the delivery (default: 2xx at the first attempt).
    pub answer: Option<crate::service::AnswerExpect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedOutcome {
    /// Every record delivered or filtered, at least one delivered.
    Succeeded,
    /// Every record filtered out with a reason: nothing reaches the targets, deliberately.
    Filtered,
    /// The flow or a record failed.
    Failed,
}

impl ExpectSpec {
    /// Whether the scenario expects records to reach the targets.
    pub fn expects_delivery(&self) -> bool {
        matches!(self.outcome, None | Some(ExpectedOutcome::Succeeded))
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct RequestExpect {
    pub system: Loc<SystemId>,
    /// Any method when absent.
    pub method: Option<String>,
    /// Exact path, `{param}` template or `~regex`.
    pub path: Loc<String>,
    /// Only GraphQL requests for this operation.
    pub graphql_operation: Option<String>,
    /// Only SOAP requests for this operation (`SaveData`, `GetData`, ...).
    pub soap_action: Option<String>,
    /// Exactly this many.
    pub count: Option<usize>,
    pub min: Option<usize>,
    pub max: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SchemaExpect {
    pub system: Loc<SystemId>,
    pub method: Option<String>,
    pub path: Loc<String>,
    /// JSON Schema file relative to `mocks/<system>/<version>/`.
    pub schema: Loc<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum RecordExpect {
    Outcome(Outcome),
    Detailed {
        outcome: Outcome,
        /// Text the reason must contain.
        reason: Option<String>,
    },
}

impl RecordExpect {
    pub fn outcome(&self) -> Outcome {
        match self {
            RecordExpect::Outcome(o) | RecordExpect::Detailed { outcome: o, .. } => *o,
        }
    }
    pub fn reason(&self) -> Option<&str> {
        match self {
            RecordExpect::Outcome(_) => None,
            RecordExpect::Detailed { reason, .. } => reason.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct DeadLetterExpect {
    pub count: Option<usize>,
    /// Text every dead letter's reason must contain.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct WaitExpect {
    pub system: Loc<SystemId>,
    /// The attempt the wait came before (2 = first retry).
    pub before_attempt: u32,
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub at_least: Option<Duration>,
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub at_most: Option<Duration>,
    /// Record key, when several records waited.
    pub record: Option<String>,
}

/// A parsed scenario file, with its text for diagnostics.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    pub path: PathBuf,
    /// Project-relative, `/`-separated.
    pub display: String,
    /// Relative to `scenarios/` without the extension: `shopify-order-to-netsuite/simple-order`.
    pub id: String,
    pub text: String,
    pub spec: ScenarioSpec,
}

impl ScenarioFile {
    /// Where the key at `path` stands in the file (`["systems", "shopify"]`), for problems with a
    /// key that loading finds; the file's start when the parser cannot say.
    pub fn key(&self, path: &[&str]) -> crate::Span {
        crate::yaml::key_span(&self.text, path).unwrap_or_default()
    }

    /// A system named as a key at `path`, with where it stands.
    pub fn system_key(&self, path: &[&str], id: &SystemId) -> Loc<SystemId> {
        Loc { value: id.clone(), span: self.key(path) }
    }
}

/// Parse one scenario file.
pub fn load(project: &Project, path: &Path) -> Result<ScenarioFile, Vec<Diagnostic>> {
    // A scenario's id (and so its snapshots' place) comes from its path under scenarios/.
    if !path.starts_with(project.scenarios_dir()) {
        return Err(vec![
            Diagnostic::new(
                path,
                format!(
                    "scenario files live under {}/; this one is not",
                    project.display_path(&project.scenarios_dir())
                ),
            )
            .help("move it into scenarios/<flow>/"),
        ]);
    }
    let text = project::read_text(&project.root, path).map_err(|d| vec![d])?;
    let spec: ScenarioSpec = yaml::parse(path, &text)
        .map_err(|ds| ds.into_iter().map(|d| d.relative_to(&project.root)).collect::<Vec<_>>())?;
    let scenarios = project.scenarios_dir();
    let rel = path.strip_prefix(&scenarios).unwrap_or(path).with_extension("");
    let id = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    Ok(ScenarioFile { path: path.to_path_buf(), display: project.display_path(path), id, text, spec })
}

/// The scenario files named on the command line (files or folders), or all under `scenarios/`.
pub fn discover(project: &Project, paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    if paths.is_empty() {
        let dir = project.scenarios_dir();
        return project::yaml_files_under(&dir).map_err(|e| Error::io(&dir, e));
    }
    let mut out = Vec::new();
    for p in paths {
        // Relative to the current folder, else to scenarios/ (so `harness run my-flow/case` works anywhere).
        let from_cwd = if p.is_absolute() {
            p.clone()
        } else {
            std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.clone())
        };
        let from_scenarios = project.scenarios_dir().join(p);
        let candidates = [from_cwd.clone(), yaml(&from_cwd), from_scenarios.clone(), yaml(&from_scenarios)];
        let abs = candidates.into_iter().find(|c| c.exists()).unwrap_or_else(|| p.clone());
        if abs.is_dir() {
            let scenarios = std::fs::canonicalize(project.scenarios_dir()).unwrap_or_else(|_| project.scenarios_dir());
            let dir = std::fs::canonicalize(&abs).unwrap_or_else(|_| abs.clone());
            // The project root (or any folder holding scenarios/) means every scenario; a folder
            // elsewhere holds none, and walking it (`/`) could take for ever.
            let dir = if scenarios.starts_with(&dir) {
                scenarios
            } else if dir.starts_with(&scenarios) {
                dir
            } else {
                return Err(Error::Usage(format!(
                    "{} is not inside the project's scenarios folder ({}), where scenario files live",
                    p.display(),
                    project::display_path(&project.root, &project.scenarios_dir())
                )));
            };
            let found = project::yaml_files_under(&dir).map_err(|e| Error::io(&dir, e))?;
            if found.is_empty() {
                return Err(Error::Usage(format!("no scenario files under {}", p.display())));
            }
            out.extend(found);
        } else if abs.is_file() {
            out.push(abs);
        } else {
            return Err(Error::Usage(format!("no scenario file or folder at {}", p.display())));
        }
    }
    // A link leading outside keeps its own name, for the error that refuses it.
    let canonical =
        |p: PathBuf| std::fs::canonicalize(&p).ok().filter(|c| project::inside(&project.root, c).is_ok()).unwrap_or(p);
    let mut canonical: Vec<PathBuf> = out.into_iter().map(canonical).collect();
    canonical.sort();
    canonical.dedup();
    Ok(canonical)
}

fn yaml(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".yaml");
    PathBuf::from(s)
}

/// JSON Schema of the scenario format, for editors.
pub fn json_schema() -> Value {
    let schema = schemars::schema_for!(ScenarioSpec);
    serde_json::to_value(schema).expect("schemas serialise")
}
