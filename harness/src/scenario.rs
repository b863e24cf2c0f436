//! Scenario files: one declarative case each — given recorded payloads and mock behaviour, when the
//! flow runs, expect these outputs. This module holds the file format (also published as a JSON
//! Schema by `harness schema`) and its strict parsing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::flow::{DeliveryPolicy, Outcome, builtin::DeliverySpec};
use crate::mock::stub::StubSpec;
use crate::project::{self, Project};
use crate::systems::SystemKind;
use crate::yaml;

/// A scenario file (`scenarios/<flow>/<name>.yaml`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// What this scenario shows, in a sentence.
    pub description: Option<String>,
    /// The flow under test: the name of a file in `flows/` without `.yaml`.
    pub flow: String,
    /// Labels to select scenarios by (`harness run --tag smoke`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// API version of each system, e.g. `shopify: 2025-01`. A list runs the scenario once per version.
    #[serde(default)]
    pub systems: BTreeMap<SystemKind, Versions>,
    /// What starts the flow.
    pub trigger: TriggerSpec,
    /// Stubs per system: shared sets to `use` and the scenario's own `stubs`, first match wins.
    #[serde(default)]
    pub mocks: BTreeMap<SystemKind, MockSpec>,
    /// What must hold after the run.
    #[serde(default)]
    pub expect: ExpectSpec,
    /// More snapshot redactions, added to the flow's (`body.memo`, `headers.x-request-id`).
    #[serde(default)]
    pub redact: Vec<String>,
    /// Wall-clock limit for this scenario (default from harness.yaml, else 30s).
    #[serde(default, deserialize_with = "crate::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// Overrides of the flow's delivery policy for this scenario (built-in flows).
    pub delivery: Option<DeliverySpec>,
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

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// A recorded payload, relative to `mocks/<trigger system>/<version>/`: the webhook body, or the
    /// answer to the flow's poll.
    pub file: Option<String>,
    /// An inline JSON payload instead of a file.
    pub body: Option<Value>,
    /// Headers added to (or replacing) the webhook's, e.g. a tampered `X-Shopify-Hmac-Sha256`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Peoplevox event callback: the values it fills into the URL template
    /// (`SalesOrderNumber`, `TrackingNumber`, `ItemCode`, `Available`, ...).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MockSpec {
    /// Shared stub sets from `mocks/<system>/<version>/stubs/<name>.yaml`.
    #[serde(rename = "use", default)]
    pub use_sets: Vec<String>,
    /// This scenario's stubs; they win over the shared ones.
    #[serde(default)]
    pub stubs: Vec<StubSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// `succeeded` (default): every record delivered or filtered; `failed`: the flow or a record failed.
    pub outcome: Option<ExpectedOutcome>,
    /// Text the failure must mention (a SKU, an error code).
    pub error: Option<String>,
    /// Request counts: `{system: netsuite, method: POST, path: /services/rest/record/v1/salesOrder, count: 1}`.
    #[serde(default)]
    pub requests: Vec<RequestExpect>,
    /// Systems whose received traffic is snapshotted (default: the flow's targets).
    pub snapshots: Option<Vec<SystemKind>>,
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
    pub refreshes: BTreeMap<SystemKind, usize>,
    /// Waits before retries, e.g. `{system: netsuite, before_attempt: 2, at_least: 2s}`.
    #[serde(default)]
    pub waits: Vec<WaitExpect>,
    /// Fail when a create reached a system twice for the same record (default true).
    pub no_duplicates: Option<bool>,
    /// Sums and counts that must agree between source and targets.
    #[serde(default)]
    pub reconcile: Vec<ReconcileSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedOutcome {
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestExpect {
    pub system: SystemKind,
    /// Any method when absent.
    pub method: Option<String>,
    /// Exact path, `{param}` template or `~regex`.
    pub path: String,
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
#[serde(deny_unknown_fields)]
pub struct SchemaExpect {
    pub system: SystemKind,
    pub method: Option<String>,
    pub path: String,
    /// JSON Schema file relative to `mocks/<system>/<version>/`.
    pub schema: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
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
#[serde(deny_unknown_fields)]
pub struct DeadLetterExpect {
    pub count: Option<usize>,
    /// Text every dead letter's reason must contain.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitExpect {
    pub system: SystemKind,
    /// The attempt the wait came before (2 = first retry).
    pub before_attempt: u32,
    #[serde(default, deserialize_with = "crate::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub at_least: Option<Duration>,
    #[serde(default, deserialize_with = "crate::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub at_most: Option<Duration>,
    /// Record key, when several records waited.
    pub record: Option<String>,
}

/// A reconciliation: jq over the source payload on one side, jq over what a target received on
/// the other; they must agree within the tolerance.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileSpec {
    /// Names the check in reports.
    pub name: String,
    /// jq over the trigger payload.
    pub source: String,
    /// jq over the target's traffic: an array of `{method, path, query, body, status, accepted}`,
    /// one per request (`accepted`: the system took it — 2xx, and for Peoplevox ResponseId 0).
    pub target: String,
    /// Which system's traffic `target` reads.
    pub system: SystemKind,
    /// Largest accepted difference (default 0.005, half a cent).
    pub tolerance: Option<f64>,
}

/// A compiled reconciliation.
#[derive(Debug, Clone)]
pub struct Reconcile {
    pub name: String,
    pub system: SystemKind,
    pub source: crate::expr::Expr,
    pub target: crate::expr::Expr,
    pub tolerance: f64,
}

impl ReconcileSpec {
    /// Compile both sides; an error gives the expression text (to locate it) and the message.
    pub fn compile(&self) -> Result<Reconcile, (String, String)> {
        let names = crate::expr::VarNames::new([]);
        let compile = |text: &String| crate::expr::Expr::compile(text, &names).map_err(|e| (text.clone(), format!("reconcile `{}`: {}", self.name, e.message)));
        Ok(Reconcile { name: self.name.clone(), system: self.system, source: compile(&self.source)?, target: compile(&self.target)?, tolerance: self.tolerance.unwrap_or(0.005) })
    }
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
    /// A diagnostic pointing at the first occurrence of `needle` (after `after`, when given).
    pub fn error_at(&self, root: &Path, needle: &str, after: Option<&str>, message: impl Into<String>) -> Diagnostic {
        let from = after.and_then(|a| self.text.find(a)).unwrap_or(0);
        let offset = self.text[from..].find(needle).map_or(from, |i| from + i);
        Diagnostic::new(&self.path, message).at_offset(&self.text, offset, needle.chars().count().max(1)).relative_to(root)
    }
}

/// Parse one scenario file.
pub fn load(project: &Project, path: &Path) -> Result<ScenarioFile, Diagnostic> {
    // A scenario's id (and so its snapshots' place) comes from its path under scenarios/.
    if !path.starts_with(project.scenarios_dir()) {
        return Err(Diagnostic::new(path, format!("scenario files live under {}/; this one is not", project.display_path(&project.scenarios_dir())))
            .help("move it into scenarios/<flow>/"));
    }
    let text = project::read_text(&project.root, path)?;
    let spec: ScenarioSpec = yaml::parse(path, &text).map_err(|d| d.relative_to(&project.root))?;
    let scenarios = project.scenarios_dir();
    let rel = path.strip_prefix(&scenarios).unwrap_or(path).with_extension("");
    let id = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    Ok(ScenarioFile { path: path.to_path_buf(), display: project.display_path(path), id, text, spec })
}

/// The scenario files named on the command line (files or folders), or all under `scenarios/`.
pub fn discover(project: &Project, paths: &[PathBuf]) -> Result<Vec<PathBuf>, crate::error::Error> {
    if paths.is_empty() {
        let dir = project.scenarios_dir();
        return project::yaml_files_under(&dir).map_err(|e| crate::error::Error::io(&dir, e));
    }
    let mut out = Vec::new();
    for p in paths {
        // Relative to the current folder, else to scenarios/ (so `harness run my-flow/case` works anywhere).
        let from_cwd = if p.is_absolute() { p.clone() } else { std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.clone()) };
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
                return Err(crate::error::Error::Usage(format!(
                    "{} is not inside the project's scenarios folder ({}), where scenario files live",
                    p.display(),
                    project::display_path(&project.root, &project.scenarios_dir())
                )));
            };
            let found = project::yaml_files_under(&dir).map_err(|e| crate::error::Error::io(&dir, e))?;
            if found.is_empty() {
                return Err(crate::error::Error::Usage(format!("no scenario files under {}", p.display())));
            }
            out.extend(found);
        } else if abs.is_file() {
            out.push(abs);
        } else {
            return Err(crate::error::Error::Usage(format!("no scenario file or folder at {}", p.display())));
        }
    }
    let mut canonical: Vec<PathBuf> = out.into_iter().map(|p| std::fs::canonicalize(&p).unwrap_or(p)).collect();
    canonical.sort();
    canonical.dedup();
    Ok(canonical)
}

fn yaml(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".yaml");
    PathBuf::from(s)
}

/// The delivery policy a scenario runs with: the flow's, with the scenario's overrides.
pub fn policy(flow_policy: &DeliveryPolicy, spec: &ScenarioSpec) -> DeliveryPolicy {
    match &spec.delivery {
        Some(d) => DeliveryPolicy::merged(flow_policy, d),
        None => flow_policy.clone(),
    }
}

/// JSON Schema of the scenario format, for editors.
pub fn json_schema() -> Value {
    let schema = schemars::schema_for!(ScenarioSpec);
    serde_json::to_value(schema).expect("schemas serialise")
}
