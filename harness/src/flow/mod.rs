//! Flows: the integration under test. A flow is either built in (a declarative file in `flows/`
//! that the harness executes: trigger → lookups → mapping → deliveries) or an external command
//! the harness runs against the mocks. Both are "systems under test": the harness gives them a
//! trigger and mock URLs, and judges only what reached the mocks and how the run ended.

pub mod builtin;
pub mod command;
pub mod mapping;
mod template_text;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use builtin::{BuiltinFlow, DeliveryPolicy};
pub use command::CommandFlow;
pub use template_text::TextTemplate;

use crate::diagnostic::Diagnostic;
use crate::expr::{Doc, Expr, Scope, VarNames};
use crate::project::{self, Project};
use crate::systems::{AuthMethod, SystemKind};
use crate::yaml;

/// A loaded, compiled flow.
#[derive(Debug)]
pub struct Flow {
    pub name: String,
    pub file: PathBuf,
    pub description: Option<String>,
    pub trigger: FlowTrigger,
    /// Systems the flow writes to; their traffic is snapshotted unless a scenario says otherwise.
    pub targets: Vec<SystemKind>,
    /// Redaction rules for snapshots of this flow's traffic.
    pub redact: Vec<String>,
    /// Invariants between source and targets checked in every scenario expecting success.
    pub reconcile: Vec<crate::scenario::Reconcile>,
    pub kind: FlowKind,
}

#[derive(Debug)]
pub enum FlowKind {
    Builtin(BuiltinFlow),
    Command(CommandFlow),
}

impl Flow {
    /// Systems the flow talks to: its trigger's and its targets', plus any it calls.
    pub fn systems(&self) -> Vec<SystemKind> {
        let mut all = vec![self.trigger.system];
        all.extend(&self.targets);
        if let FlowKind::Builtin(b) = &self.kind {
            all.extend(b.called_systems());
        }
        all.sort();
        all.dedup();
        all
    }
}

impl Flow {
    /// Target fields and their sources as the mapping shows them (none for external programs).
    pub fn lineage(&self) -> &[(String, SystemKind, mapping::FieldLineage)] {
        match &self.kind {
            FlowKind::Builtin(b) => b.lineage(),
            FlowKind::Command(_) => &[],
        }
    }

    /// The systems a run can contact, when the flow says so (built-in flows); `None` for external
    /// programs, which may call any system they have a URL for.
    pub fn contacted_systems(&self) -> Option<Vec<SystemKind>> {
        let FlowKind::Builtin(b) = &self.kind else { return None };
        let mut systems = b.called_systems();
        if self.trigger.fetch.is_some() {
            systems.push(self.trigger.system);
        }
        Some(systems)
    }
}

#[derive(Debug, Clone)]
pub struct FlowTrigger {
    pub system: SystemKind,
    /// Webhook topic (`orders/create`) or Peoplevox event (`TrackingNumberReceived`).
    pub event: Option<String>,
    /// A poll of the source: the request whose recorded answer starts the flow.
    pub fetch: Option<Fetch>,
    /// Check the webhook signature before anything else (Shopify).
    pub verify_signature: bool,
    pub split: RecordSplit,
}

/// How a trigger payload divides into records, and what each is called in reports.
#[derive(Debug, Clone, Default)]
pub struct RecordSplit {
    /// jq yielding the records (default: the payload is one record).
    records: Option<Expr>,
    /// jq naming a record (default: its position, `#1`, `#2`, ...).
    key: Option<Expr>,
}

impl RecordSplit {
    /// Where records sit in a payload when `records` is a plain path (`.orders[]` → `orders[]`);
    /// empty when the payload is the record.
    pub fn base_path(&self) -> Option<Vec<crate::expr::Seg>> {
        match &self.records {
            None => Some(Vec::new()),
            Some(e) => e.reads().iter().filter(|r| r.var.is_none() && r.required).max_by_key(|r| r.segs.len()).map(|r| r.segs.clone()),
        }
    }

    /// Every record of every payload page, with its key.
    pub fn split<'a>(&self, payloads: impl IntoIterator<Item = &'a Value>) -> Result<Vec<Record<'a>>, String> {
        let names = VarNames::new([]);
        let scope = Scope::new(&names, &Value::Null);
        let mut records: Vec<(std::borrow::Cow<'a, Value>, Doc)> = Vec::new();
        for payload in payloads {
            let doc = Doc::new(payload);
            match &self.records {
                Some(e) => {
                    let items = e.eval_doc(&doc, &scope).map_err(|m| format!("trigger `records` expression failed: {m}"))?;
                    records.extend(items.into_iter().map(|d| (std::borrow::Cow::Owned(d.to_json()), d)));
                }
                None => records.push((std::borrow::Cow::Borrowed(payload), doc)),
            }
        }
        Ok(records
            .into_iter()
            .enumerate()
            .map(|(i, (json, doc))| {
                let key = self
                    .key
                    .as_ref()
                    .and_then(|k| k.eval_one_doc(&doc, &scope).ok().flatten())
                    .filter(|v| !v.is_null())
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .unwrap_or_else(|| format!("#{}", i + 1));
                Record { key, json, doc }
            })
            .collect())
    }
}

/// One record of a trigger, as JSON (for source-path checks) and converted for jq.
pub struct Record<'a> {
    pub key: String,
    pub json: std::borrow::Cow<'a, Value>,
    pub doc: Doc,
}

// ---------------------------------------------------------------------------------------------
// Results of a run

/// How one record of the trigger ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every step succeeded.
    Delivered,
    /// Deliberately skipped, with a reason.
    Filtered,
    /// Could not be delivered; kept with its reason and last response.
    DeadLettered,
    /// Never attempted because the flow stopped before reaching it: a stalled queue.
    NotProcessed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Filtered => "filtered",
            Outcome::DeadLettered => "dead-lettered",
            Outcome::NotProcessed => "not processed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    pub key: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// The last answer received for this record when it failed (`400 INVALID_CONTENT at …`).
    pub last_response: Option<String>,
}

/// A mapping read a source path that the payload does not have: the target field would be
/// silently empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MissingField {
    pub record: String,
    pub step: String,
    pub system: SystemKind,
    /// `body.item.items[].item`
    pub target: String,
    /// `line_items[].sku`
    pub source: String,
}

/// A wait the flow made before retrying (on the virtual clock for built-in flows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub system: SystemKind,
    pub record: String,
    pub step: String,
    /// The attempt the wait preceded (2 = first retry).
    pub before_attempt: u32,
    pub duration: Duration,
    /// `Retry-After` or `backoff`.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// The flow ran to its end (records may still have failed).
    Completed,
    /// The flow as a whole failed: a refused trigger, a crashed program, credentials refused.
    Failed(String),
    /// The flow did not finish within the scenario's time limit.
    TimedOut(Duration),
}

#[derive(Debug, Clone)]
pub struct FlowRun {
    pub status: RunStatus,
    pub records: Vec<RecordOutcome>,
    pub missing: Vec<MissingField>,
    pub waits: Vec<Wait>,
    /// Credential refreshes per system (after the first credential).
    pub refreshes: BTreeMap<SystemKind, usize>,
    /// What an external program printed, for failure messages.
    pub output: String,
}

impl FlowRun {
    pub fn failed(message: impl Into<String>) -> FlowRun {
        FlowRun {
            status: RunStatus::Failed(message.into()),
            records: Vec::new(),
            missing: Vec::new(),
            waits: Vec::new(),
            refreshes: BTreeMap::new(),
            output: String::new(),
        }
    }

    /// Every record delivered or filtered, and the flow completed.
    pub fn succeeded(&self) -> bool {
        self.status == RunStatus::Completed && self.records.iter().all(|r| matches!(r.outcome, Outcome::Delivered | Outcome::Filtered))
    }

    /// Why the run did not succeed, one line per cause.
    pub fn failure_messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.status {
            RunStatus::Completed => {}
            RunStatus::Failed(m) => out.push(m.clone()),
            RunStatus::TimedOut(d) => out.push(format!("flow did not finish within {}", crate::duration::format(*d))),
        }
        for r in &self.records {
            if matches!(r.outcome, Outcome::DeadLettered | Outcome::NotProcessed) {
                out.push(format!("record {}: {}: {}", r.key, r.outcome.as_str(), r.reason.as_deref().unwrap_or("no reason given")));
            }
        }
        out
    }
}

/// The request a polling flow starts with; its recorded answer is the scenario's trigger.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fetch {
    /// Default `GET`.
    #[serde(default = "get")]
    pub method: String,
    /// The path; `{version}` stands for the system's API version.
    pub path: String,
    /// Query parameters sent with it.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Follow further pages: `link` (Shopify `Link: <…>; rel="next"`), `suiteql` (NetSuite
    /// `links`/`hasMore`).
    pub paginate: Option<Paginate>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Paginate {
    Link,
    Suiteql,
}

impl Fetch {
    pub fn path_for(&self, version: &str) -> String {
        self.path.replace("{version}", version)
    }
}

/// What the harness hands a flow for one scenario run.
#[derive(Debug, Clone)]
pub struct TriggerInput {
    /// Raw body as delivered (webhook body, recorded poll answer, callback parameters as JSON).
    pub body: bytes::Bytes,
    pub json: Option<Value>,
    pub headers: Vec<(String, String)>,
    /// Peoplevox callback parameters, e.g. `TrackingNumber`.
    pub params: BTreeMap<String, String>,
}

// ---------------------------------------------------------------------------------------------
// Loading

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// What the flow does, in a sentence.
    pub description: Option<String>,
    pub trigger: TriggerSpec,
    /// Systems the flow writes to.
    #[serde(default)]
    pub targets: Vec<SystemKind>,
    /// How the flow authenticates to each system (defaults: shopify access-token, netsuite oauth2,
    /// peoplevox session).
    #[serde(default)]
    pub auth: BTreeMap<SystemKind, AuthMethod>,
    /// Cross-reference tables, name → CSV (`key,value`) or YAML (mapping) file relative to `flows/`.
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
    /// Snapshot redactions: `body.tranDate`, `headers.x-request-id`, `body.item.items[].custcol_sync_id`.
    #[serde(default)]
    pub redact: Vec<String>,
    /// Built-in flow: the steps run for each record.
    pub steps: Option<Vec<builtin::StepSpec>>,
    /// Retries, timeouts and dead-lettering of a built-in flow.
    pub delivery: Option<builtin::DeliverySpec>,
    /// External flow: the program and its arguments, run from the project root.
    pub command: Option<Vec<String>>,
    /// Sums and counts that must agree between source and targets in every scenario that expects
    /// the flow to succeed (same form as a scenario's `expect.reconcile`).
    #[serde(default)]
    pub reconcile: Vec<crate::scenario::ReconcileSpec>,
    /// External flow: wall-clock limit of the program (default: the scenario's timeout).
    #[serde(default, deserialize_with = "crate::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// The system the trigger comes from.
    pub system: SystemKind,
    /// Webhook topic (Shopify, e.g. `orders/create`) or Peoplevox event (`TrackingNumberReceived`).
    pub event: Option<String>,
    /// Instead of a pushed event, the flow polls: the request it starts with.
    pub fetch: Option<Fetch>,
    /// jq: the records in the trigger payload (default `.`, the payload is one record).
    pub records: Option<String>,
    /// jq: a record's key in reports (default: its position).
    pub key: Option<String>,
    /// Verify the webhook signature first (default true for Shopify webhooks).
    pub verify_signature: Option<bool>,
}

/// Flows loaded from `flows/`, and the problems of those that did not load.
pub struct LoadedFlows {
    pub flows: BTreeMap<String, Arc<Flow>>,
    pub errors: Vec<Diagnostic>,
    /// Names of the flows whose files have errors (so scenarios using them are not blamed too).
    pub broken: Vec<String>,
}

/// Load every flow under `flows/` that `wanted` names (all when `None`).
pub fn load_flows(project: &Project, wanted: Option<&[String]>) -> LoadedFlows {
    let mut flows = BTreeMap::new();
    let mut errors = Vec::new();
    let mut broken = Vec::new();
    let dir = project.flows_dir();
    let files = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")));
    let mut files: Vec<PathBuf> = files.collect();
    files.sort();
    for file in files {
        let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if wanted.is_some_and(|w| !w.contains(&name)) {
            continue;
        }
        match load_flow(project, &file, &name) {
            Ok(flow) => {
                flows.insert(name, Arc::new(flow));
            }
            Err(mut e) => {
                errors.append(&mut e);
                broken.push(name);
            }
        }
    }
    LoadedFlows { flows, errors, broken }
}

/// Names of the flows under `flows/`, for suggestions.
pub fn flow_names(project: &Project) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(project.flows_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

fn load_flow(project: &Project, file: &Path, name: &str) -> Result<Flow, Vec<Diagnostic>> {
    let root = &project.root;
    let text = project::read_text(root, file).map_err(|d| vec![d])?;
    let spec: FlowSpec = yaml::parse(file, &text).map_err(|d| vec![d.relative_to(root)])?;
    let at = |needle: &str, message: String| {
        let offset = text.find(needle).unwrap_or(0);
        Diagnostic::new(file, message).at_offset(&text, offset, needle.len().max(1)).relative_to(root)
    };
    let names = VarNames::new([]);
    let mut split_errors = Vec::new();
    let mut split_expr = |expr: &Option<String>, what: &str| {
        let e = expr.as_ref()?;
        Expr::compile(e, &names)
            .map_err(|err| {
                let offset = text.find(e.as_str()).map_or(0, |o| o + err.offset);
                split_errors.push(Diagnostic::new(file, format!("trigger `{what}`: {}", err.message)).at_offset(&text, offset, err.len).relative_to(root));
            })
            .ok()
    };
    let split = RecordSplit { records: split_expr(&spec.trigger.records, "records"), key: split_expr(&spec.trigger.key, "key") };
    if !split_errors.is_empty() {
        return Err(split_errors);
    }
    let trigger = FlowTrigger {
        system: spec.trigger.system,
        event: spec.trigger.event.clone(),
        fetch: spec.trigger.fetch.clone(),
        verify_signature: spec.trigger.verify_signature.unwrap_or(spec.trigger.system == SystemKind::Shopify && spec.trigger.fetch.is_none()),
        split,
    };
    for (system, method) in &spec.auth {
        if !method.allowed_for(*system) {
            return Err(vec![at("auth:", format!("{system} does not support auth `{}`", serde_json::to_value(method).map(|v| v.as_str().unwrap_or("").to_string()).unwrap_or_default()))]);
        }
    }
    let kind = match (&spec.steps, &spec.command) {
        (Some(_), Some(_)) => return Err(vec![at("command:", "a flow has `steps` (built in) or `command` (external), not both".into())]),
        (None, None) => return Err(vec![Diagnostic::new(file, "a flow needs `steps` (a built-in flow) or `command` (an external program)").relative_to(root)]),
        (None, Some(command)) => {
            if command.is_empty() {
                return Err(vec![at("command:", "`command` needs at least the program to run".into())]);
            }
            FlowKind::Command(CommandFlow { argv: command.clone(), timeout: spec.timeout })
        }
        (Some(_), None) => FlowKind::Builtin(builtin::compile(project, file, &text, &spec)?),
    };
    let mut reconcile = Vec::new();
    for r in &spec.reconcile {
        match r.compile() {
            Ok(c) => reconcile.push(c),
            Err((expr, message)) => return Err(vec![at(&expr, message)]),
        }
    }
    Ok(Flow { name: name.to_string(), file: file.to_path_buf(), description: spec.description, trigger, targets: spec.targets, redact: spec.redact, reconcile, kind })
}
