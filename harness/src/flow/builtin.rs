//! Built-in flows: declarative steps the harness executes, shaped like an iPaaS flow.
//!
//! For each record of the trigger, each step may be skipped (`when`), may filter the record out
//! (`filter`), and may call a system (lookups and deliveries alike) and bind values from the answer
//! for later steps. Deliveries follow the flow's policy: transient failures (429, 5xx, timeouts,
//! resets) are retried with seeded exponential backoff on the virtual clock, honouring
//! `Retry-After`; expired credentials are refreshed once and the request replayed; a record that
//! cannot be delivered is dead-lettered with its reason and last answer, and the others go on.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::mapping::{FieldLineage, Template, TemplateError};
use super::{Fetch, FlowRun, FlowSpec, MissingField, Outcome, Paginate, Record, RecordOutcome, RunStatus, TextTemplate, TriggerInput, Wait};
use crate::clock::{self, VirtualClock};
use crate::diagnostic::Diagnostic;
use crate::expr::{Doc, Expr, ReadPath, Scope, VarNames, missing_key, path_text};
use crate::http::{HttpClient, HttpResponse, OutgoingRequest};
use crate::project::Project;
use crate::soap;
use crate::systems::{AuthMethod, ClientAuth, SystemKind, SystemVersion, error_summary, soap_request};

// ---------------------------------------------------------------------------------------------
// As written

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Names the step in reports and snapshots.
    pub name: String,
    /// jq over the record: run the step only when true.
    pub when: Option<String>,
    /// Leave the record out, with a reason, when the condition holds.
    pub filter: Option<FilterSpec>,
    /// The HTTP call this step makes.
    pub call: Option<CallSpec>,
    /// Values to keep for later steps: name → jq over the answer's body (`$status`, `$headers` too).
    #[serde(default)]
    pub bind: BTreeMap<String, String>,
    /// Non-2xx statuses that are an answer, not a failure (e.g. 404 for "not found yet").
    #[serde(default)]
    pub allow_status: Vec<u16>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// jq over the record.
    #[serde(rename = "if")]
    pub condition: String,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    pub system: SystemKind,
    /// HTTP method (default POST).
    pub method: Option<String>,
    /// Path with jq holes: `/admin/api/{$version}/orders/{.id}.json`.
    pub path: Option<String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON body mapping (one jq expression per target field).
    pub body: Option<Value>,
    /// GraphQL request: the document and a variables mapping.
    pub graphql: Option<GraphqlSpec>,
    /// Peoplevox SOAP request.
    pub soap: Option<SoapSpec>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GraphqlSpec {
    pub query: String,
    pub variables: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SoapSpec {
    /// `GetData`, `SaveData`, `GetReportData`, ...
    pub operation: String,
    /// Elements inside the operation, as a mapping (`getRequest: {TemplateName: '"Despatches"'}`).
    pub params: Option<Value>,
    /// For `SaveData`: the template and the CSV rows to save (a mapping yielding objects).
    pub save: Option<SaveSpec>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveSpec {
    pub template: String,
    pub rows: Value,
    /// Peoplevox action code (0 none, 1 do not allocate, 2 delete).
    #[serde(default)]
    pub action: u8,
}

/// Delivery policy of a built-in flow (`delivery:` in the flow, overridable per scenario).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverySpec {
    /// Attempts per request, the first included (default 3).
    pub max_attempts: Option<u32>,
    /// First backoff (default `1s`), doubled each retry.
    #[serde(default, deserialize_with = "crate::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub backoff: Option<Duration>,
    /// Longest single wait (default `60s`).
    #[serde(default, deserialize_with = "crate::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub max_backoff: Option<Duration>,
    /// Jitter as a fraction of the backoff (default 0.2), seeded so runs repeat exactly.
    pub jitter: Option<f64>,
    /// Wait what `Retry-After` asks (default true).
    pub honour_retry_after: Option<bool>,
    /// Client timeout per request (default `30s`).
    #[serde(default, deserialize_with = "crate::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// Records processed at once (default 1).
    pub concurrency: Option<usize>,
    /// What a record that cannot be delivered does to the rest: `dead-letter` it and go on
    /// (default), or `stop` the flow (the other records stay unprocessed: a stalled queue).
    pub on_failure: Option<OnFailure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    DeadLetter,
    Stop,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryPolicy {
    pub max_attempts: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
    pub jitter: f64,
    pub honour_retry_after: bool,
    pub timeout: Duration,
    pub concurrency: usize,
    pub on_failure: OnFailure,
}

impl DeliveryPolicy {
    /// `spec` over `base`.
    pub fn merged(base: &DeliveryPolicy, spec: &DeliverySpec) -> DeliveryPolicy {
        DeliveryPolicy {
            max_attempts: spec.max_attempts.unwrap_or(base.max_attempts).max(1),
            backoff: spec.backoff.unwrap_or(base.backoff),
            max_backoff: spec.max_backoff.unwrap_or(base.max_backoff),
            jitter: spec.jitter.unwrap_or(base.jitter).clamp(0.0, 1.0),
            honour_retry_after: spec.honour_retry_after.unwrap_or(base.honour_retry_after),
            timeout: spec.timeout.unwrap_or(base.timeout),
            concurrency: spec.concurrency.unwrap_or(base.concurrency).max(1),
            on_failure: spec.on_failure.unwrap_or(base.on_failure),
        }
    }

    /// The wait before `attempt` (2 = first retry): doubling backoff with seeded jitter.
    pub fn backoff_before(&self, attempt: u32, seed: u64) -> Duration {
        let exp = self.backoff.as_secs_f64() * 2f64.powi(attempt.saturating_sub(2) as i32);
        let unit = (splitmix64(seed ^ u64::from(attempt)) >> 11) as f64 / (1u64 << 53) as f64;
        let factor = 1.0 + self.jitter * (2.0 * unit - 1.0);
        Duration::from_secs_f64((exp * factor).min(self.max_backoff.as_secs_f64()).max(0.0))
    }
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            max_attempts: 3,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            jitter: 0.2,
            honour_retry_after: true,
            timeout: Duration::from_secs(30),
            concurrency: 1,
            on_failure: OnFailure::DeadLetter,
        }
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

// ---------------------------------------------------------------------------------------------
// Compiled

#[derive(Debug)]
pub struct BuiltinFlow {
    names: VarNames,
    xref: Value,
    pub steps: Vec<Step>,
    /// Every target field's sources, worked out once.
    lineage: Vec<(String, SystemKind, FieldLineage)>,
    pub auth: BTreeMap<SystemKind, AuthMethod>,
    pub policy: DeliveryPolicy,
}

#[derive(Debug)]
pub struct Step {
    pub name: String,
    when: Option<Expr>,
    filter: Option<(Expr, String)>,
    pub call: Option<Call>,
    binds: Vec<(String, Expr)>,
    allow_status: Vec<u16>,
}

#[derive(Debug)]
pub struct Call {
    pub system: SystemKind,
    pub method: String,
    path: TextTemplate,
    query: Vec<(String, TextTemplate)>,
    headers: Vec<(String, TextTemplate)>,
    pub body: CallBody,
    /// Source paths (rooted at the record) the call reads unconditionally, with the target field
    /// each feeds: a record lacking one would send that field empty.
    required_reads: Vec<(String, Vec<crate::expr::Seg>)>,
}

impl Call {
    fn required_reads(path: &TextTemplate, query: &[(String, TextTemplate)], body: &CallBody) -> Vec<(String, Vec<crate::expr::Seg>)> {
        let mut reads: Vec<(String, ReadPath)> = path.reads().map(|r| ("request".to_string(), r.clone())).collect();
        for (k, t) in query {
            reads.extend(t.reads().map(|r| (format!("query.{k}"), r.clone())));
        }
        for (prefix, t) in body.templates() {
            for field in t.lineage() {
                let target = snapshot_field(&prefix, &field.target);
                reads.extend(field.reads.into_iter().map(|r| (target.clone(), r)));
            }
        }
        reads
            .into_iter()
            .filter(|(_, r)| r.required && matches!(r.var.as_deref(), None | Some("record")))
            // Reads of a computed element (`each` over something other than a plain path) cannot be
            // placed in the record.
            .filter(|(_, r)| r.var.is_some() || r.segs.first() != Some(&crate::expr::Seg::Each))
            .map(|(t, r)| (t, r.segs))
            .collect()
    }
}

#[derive(Debug)]
pub enum CallBody {
    None,
    Json(Template),
    Graphql { document: String, variables: Option<Template> },
    Soap { operation: String, params: Option<Template>, save: Option<(String, Template, u8)> },
}

impl BuiltinFlow {
    pub fn called_systems(&self) -> Vec<SystemKind> {
        self.steps.iter().filter_map(|s| s.call.as_ref().map(|c| c.system)).collect()
    }

    /// Every target field of every call, with its source paths: `(step, system, field lineage)`.
    /// Fields are prefixed with where they go: `body.…`, `variables.…`, `rows[].…`, `path`, `query.…`.
    pub fn lineage(&self) -> &[(String, SystemKind, FieldLineage)] {
        &self.lineage
    }

    fn compute_lineage(steps: &[Step]) -> Vec<(String, SystemKind, FieldLineage)> {
        let mut out = Vec::new();
        for step in steps {
            let Some(call) = &step.call else { continue };
            let text_field = |target: String, t: &TextTemplate| FieldLineage { target, expression: String::new(), reads: t.reads().cloned().collect() };
            let mut fields = vec![text_field("request".into(), &call.path)];
            fields.extend(call.query.iter().map(|(k, t)| text_field(format!("query.{k}"), t)));
            for (prefix, t) in call.body.templates() {
                fields.extend(t.lineage().into_iter().map(|mut l| {
                    l.target = snapshot_field(&prefix, &l.target);
                    l
                }));
            }
            out.extend(fields.into_iter().filter(|f| !f.reads.is_empty()).map(|f| (step.name.clone(), call.system, f)));
        }
        out
    }
}

/// A mapping's target field as snapshots name it: `prefix` is where the mapping's output lands
/// (`body`, `body.variables`, `body.Envelope.Body.SaveData.saveRequest.CsvData`), positions as `[]`.
fn snapshot_field(prefix: &str, target: &str) -> String {
    let joined = match target {
        "(body)" => prefix.to_string(),
        t if t.starts_with('[') => format!("{prefix}{t}"),
        t => format!("{prefix}.{t}"),
    };
    super::mapping::template_field(&joined)
}

impl Step {
    /// Whether this step binds the variable `name`.
    pub fn binds_var(&self, name: &str) -> bool {
        self.binds.iter().any(|(n, _)| n == name)
    }
}

impl CallBody {
    /// Each mapping of the call, with where its output lands in the request's snapshot.
    fn templates(&self) -> Vec<(String, &Template)> {
        match self {
            CallBody::None => vec![],
            CallBody::Json(t) => vec![("body".into(), t)],
            CallBody::Graphql { variables, .. } => variables.iter().map(|t| ("body.variables".into(), t)).collect(),
            CallBody::Soap { operation, params, save } => {
                let root = format!("body.Envelope.Body.{operation}");
                params
                    .iter()
                    .map(|t| (root.clone(), t))
                    .chain(save.iter().map(|(_, t, _)| (format!("{root}.saveRequest.CsvData"), t)))
                    .collect()
            }
        }
    }
}

/// Compile a built-in flow; every problem is reported at its place in `file`.
pub fn compile(project: &Project, file: &Path, text: &str, spec: &FlowSpec) -> Result<BuiltinFlow, Vec<Diagnostic>> {
    let root = &project.root;
    let mut errors = Vec::new();
    let steps_spec = spec.steps.as_deref().unwrap_or_default();
    let mut bind_names: Vec<&str> = steps_spec.iter().flat_map(|s| s.bind.keys().map(String::as_str)).collect();
    bind_names.sort();
    let names = VarNames::new(["record", "now", "version", "status", "headers"].into_iter().chain(bind_names));

    let locate = |needle: &str, from: usize| -> usize { text[from.min(text.len())..].find(needle).map_or(from, |i| from + i) };
    let expr_error = |errors: &mut Vec<Diagnostic>, expr_text: &str, from: usize, e: crate::expr::CompileError, what: &str| {
        let start = locate(expr_text, from);
        let found = text.get(start..).is_some_and(|t| t.starts_with(expr_text));
        let d = Diagnostic::new(file, format!("{what}: {}", e.message));
        let d = if found { d.at_offset(text, start + e.offset, e.len) } else { d.at_offset(text, from, 1) };
        errors.push(d.relative_to(root));
    };
    let compile_expr = |errors: &mut Vec<Diagnostic>, expr_text: &str, from: usize, what: &str| match Expr::compile(expr_text, &names) {
        Ok(e) => Some(e),
        Err(e) => {
            expr_error(errors, expr_text, from, e, what);
            None
        }
    };
    let compile_template = |errors: &mut Vec<Diagnostic>, spec: &Value, from: usize, what: &str| match Template::compile(spec, &names) {
        Ok(t) => Some(t),
        Err(errs) => {
            for TemplateError { expression, field, error } in errs {
                expr_error(errors, &expression, from, error, &format!("{what} field `{field}`"));
            }
            None
        }
    };
    let compile_text = |errors: &mut Vec<Diagnostic>, t: &str, from: usize, what: &str| match TextTemplate::compile(t, &names) {
        Ok(t) => Some(t),
        Err(e) => {
            expr_error(errors, t, from, e, what);
            None
        }
    };

    let mut steps = Vec::new();
    let mut seen = Vec::new();
    for step in steps_spec {
        let from = locate(&format!("name: {}", step.name), 0);
        if seen.contains(&step.name) {
            errors.push(Diagnostic::new(file, format!("two steps are named `{}`", step.name)).at_offset(text, from, step.name.len() + 6).relative_to(root));
        }
        seen.push(step.name.clone());
        let when = step.when.as_ref().and_then(|w| compile_expr(&mut errors, w, from, "`when`"));
        let filter = step.filter.as_ref().and_then(|f| compile_expr(&mut errors, &f.condition, from, "`filter.if`").map(|e| (e, f.reason.clone())));
        let binds = step
            .bind
            .iter()
            .filter_map(|(name, e)| compile_expr(&mut errors, e, from, &format!("bind `{name}`")).map(|x| (name.clone(), x)))
            .collect();
        let call = step.call.as_ref().and_then(|c| {
            let bodies = [c.body.is_some(), c.graphql.is_some(), c.soap.is_some()].iter().filter(|b| **b).count();
            if bodies > 1 {
                errors.push(Diagnostic::new(file, "a call has one of `body`, `graphql` or `soap`").at_offset(text, from, 1).relative_to(root));
                return None;
            }
            if let Some(s) = &c.soap
                && c.system != SystemKind::Peoplevox
            {
                errors.push(Diagnostic::new(file, format!("`soap` calls go to peoplevox, not {}", c.system)).at_offset(text, locate(&s.operation, from), s.operation.len()).relative_to(root));
                return None;
            }
            let default_path = match (&c.graphql, &c.soap) {
                (Some(_), _) => Some("/admin/api/{$version}/graphql.json".to_string()),
                (_, Some(_)) => Some(String::new()),
                _ => None,
            };
            let Some(path_text) = c.path.clone().or(default_path) else {
                errors.push(Diagnostic::new(file, format!("step `{}`: the call needs a `path`", step.name)).at_offset(text, from, 1).relative_to(root));
                return None;
            };
            let path = compile_text(&mut errors, &path_text, from, "`path`")?;
            let query: Vec<(String, TextTemplate)> = c.query.iter().filter_map(|(k, v)| compile_text(&mut errors, v, from, &format!("query `{k}`")).map(|t| (k.clone(), t))).collect();
            let headers = c.headers.iter().filter_map(|(k, v)| compile_text(&mut errors, v, from, &format!("header `{k}`")).map(|t| (k.clone(), t))).collect();
            let body = if let Some(b) = &c.body {
                CallBody::Json(compile_template(&mut errors, b, from, "body")?)
            } else if let Some(g) = &c.graphql {
                let variables = match &g.variables {
                    Some(v) => Some(compile_template(&mut errors, v, from, "variables")?),
                    None => None,
                };
                CallBody::Graphql { document: g.query.clone(), variables }
            } else if let Some(s) = &c.soap {
                let params = match &s.params {
                    Some(p) => Some(compile_template(&mut errors, p, from, "params")?),
                    None => None,
                };
                let save = match &s.save {
                    Some(save) => Some((save.template.clone(), compile_template(&mut errors, &save.rows, from, "rows")?, save.action)),
                    None => None,
                };
                CallBody::Soap { operation: s.operation.clone(), params, save }
            } else {
                CallBody::None
            };
            let method = c.method.clone().unwrap_or_else(|| "POST".into()).to_ascii_uppercase();
            let required_reads = Call::required_reads(&path, &query, &body);
            Some(Call { system: c.system, method, path, query, headers, body, required_reads })
        });
        steps.push(Step { name: step.name.clone(), when, filter, call, binds, allow_status: step.allow_status.clone() });
    }

    let xref = load_tables(project, file, text, &spec.tables, &mut errors);
    let auth = spec.auth.clone();
    let policy = DeliveryPolicy::merged(&DeliveryPolicy::default(), spec.delivery.as_ref().unwrap_or(&DeliverySpec::default()));
    if errors.is_empty() {
        let lineage = BuiltinFlow::compute_lineage(&steps);
        Ok(BuiltinFlow { names, xref, steps, lineage, auth, policy })
    } else {
        Err(errors)
    }
}

/// Cross-reference tables: CSV with `key,value` columns (a header row first) or a YAML mapping.
fn load_tables(project: &Project, file: &Path, text: &str, tables: &BTreeMap<String, String>, errors: &mut Vec<Diagnostic>) -> Value {
    let root = &project.root;
    let mut out = serde_json::Map::new();
    for (name, rel) in tables {
        let path = project.flows_dir().join(rel);
        let here = |message: String| {
            let at = text.find(rel.as_str()).unwrap_or(0);
            Diagnostic::new(file, message).at_offset(text, at, rel.len()).relative_to(root)
        };
        let content = match std::fs::read_to_string(&path) {
            Ok(c) => c,
            Err(_) => {
                errors.push(here(format!("cross-reference table `{name}`: cannot read {}", project.display_path(&path))));
                continue;
            }
        };
        let table = if rel.ends_with(".csv") {
            table_from_csv(&content).map_err(|(line, m)| {
                Diagnostic::new(&path, m).at(crate::diagnostic::SourceSpan::from_line_col(&content, line, 1, 1)).relative_to(root)
            })
        } else {
            crate::yaml::parse::<BTreeMap<String, Value>>(&path, &content)
                .map(|m| Value::Object(m.into_iter().collect()))
                .map_err(|d| d.relative_to(root))
        };
        match table {
            Ok(t) => {
                out.insert(name.clone(), t);
            }
            Err(d) => errors.push(d),
        }
    }
    Value::Object(out)
}

fn table_from_csv(content: &str) -> Result<Value, (usize, String)> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(content.as_bytes());
    let mut map = serde_json::Map::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| (line, format!("invalid CSV: {e}")))?;
        if record.len() != 2 {
            return Err((line, format!("a cross-reference row has two columns (key,value), this one has {}", record.len())));
        }
        let key = record[0].to_string();
        if map.contains_key(&key) {
            return Err((line, format!("duplicate key `{key}` in cross-reference table")));
        }
        map.insert(key, Value::String(record[1].to_string()));
    }
    Ok(Value::Object(map))
}

// ---------------------------------------------------------------------------------------------
// Running

/// Everything a built-in flow run needs from the harness.
pub struct Env {
    pub systems: BTreeMap<SystemKind, Arc<SystemVersion>>,
    pub base_urls: BTreeMap<SystemKind, String>,
    pub reqwest: reqwest::Client,
    pub policy: DeliveryPolicy,
    pub trigger_system: SystemKind,
    pub fetch: Option<Fetch>,
    pub verify_signature: bool,
    /// How the trigger payload divides into records.
    pub split: super::RecordSplit,
    /// Seed for backoff jitter (from the scenario's id), so runs repeat exactly.
    pub seed: u64,
}

struct Run<'a> {
    flow: &'a BuiltinFlow,
    env: &'a Env,
    http: HttpClient,
    auth: BTreeMap<SystemKind, ClientAuth>,
    /// Systems whose credentials could not be obtained: their deliveries stop with this reason.
    broken: Mutex<BTreeMap<SystemKind, String>>,
    waits: Mutex<Vec<Wait>>,
    missing: Mutex<Vec<MissingField>>,
}

pub async fn run(flow: &BuiltinFlow, env: &Env, trigger: &TriggerInput) -> FlowRun {
    let clock = Arc::new(VirtualClock::default());
    let http = HttpClient::new(env.reqwest.clone(), clock, env.policy.timeout);
    let auth = env
        .systems
        .iter()
        .map(|(kind, sys)| {
            let method = flow.auth.get(kind).copied().unwrap_or_else(|| AuthMethod::default_for(*kind));
            (*kind, ClientAuth::new(method, sys.clone(), env.base_urls.get(kind).cloned().unwrap_or_default()))
        })
        .collect();
    let run = Run { flow, env, http, auth, broken: Mutex::default(), waits: Mutex::default(), missing: Mutex::default() };

    let payloads = match run.trigger_payloads(trigger).await {
        Ok(p) => p,
        Err(message) => return FlowRun::failed(message),
    };
    let mut scope = Scope::new(&flow.names, &flow.xref);
    scope.set("now", &json!(clock::rfc3339(clock::EPOCH)));
    let records = match env.split.split(payloads.iter().map(|p| p.as_ref())) {
        Ok(r) => r,
        Err(message) => return FlowRun::failed(message),
    };

    let stop = std::sync::atomic::AtomicBool::new(false);
    // Boxed with an explicit `Send` so the whole run can be spawned on the multi-threaded runtime.
    type RecordFuture<'f> = std::pin::Pin<Box<dyn std::future::Future<Output = RecordOutcome> + Send + 'f>>;
    let (run_ref, scope_ref, stop_ref) = (&run, &scope, &stop);
    let pending: Vec<RecordFuture<'_>> = records
        .iter()
        .enumerate()
        .map(|(i, record)| -> RecordFuture<'_> {
            Box::pin(async move {
                if stop_ref.load(std::sync::atomic::Ordering::SeqCst) {
                    return RecordOutcome { key: record.key.clone(), outcome: Outcome::NotProcessed, reason: Some("the flow stopped at an earlier record".into()), last_response: None };
                }
                let outcome = run_ref.record(i, record, scope_ref.clone()).await;
                if outcome.outcome == Outcome::DeadLettered && run_ref.env.policy.on_failure == OnFailure::Stop {
                    stop_ref.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                outcome
            })
        })
        .collect();
    let outcomes: Vec<RecordOutcome> = futures_util::stream::iter(pending).buffered(env.policy.concurrency).collect().await;

    let stopped = outcomes.iter().any(|o| o.outcome == Outcome::NotProcessed);
    let mut missing = run.missing.into_inner().expect("missing lock");
    missing.sort();
    missing.dedup();
    FlowRun {
        status: if stopped { RunStatus::Failed("the flow stopped after a record failed (on_failure: stop)".into()) } else { RunStatus::Completed },
        records: outcomes,
        missing,
        waits: run.waits.into_inner().expect("waits lock"),
        refreshes: run.auth.iter().map(|(k, a)| (*k, a.refreshes())).filter(|(_, n)| *n > 0).collect(),
        output: String::new(),
    }
}

/// A failed delivery: why, and the last answer if there was one.
struct Failure {
    reason: String,
    last_response: Option<String>,
}

impl<'a> Run<'a> {
    /// The trigger payloads: the webhook or callback, or every page the poll fetched.
    async fn trigger_payloads<'t>(&self, trigger: &'t TriggerInput) -> Result<Vec<std::borrow::Cow<'t, Value>>, String> {
        let system = self.env.systems.get(&self.env.trigger_system).ok_or("the trigger system has no mock")?;
        let Some(fetch) = &self.env.fetch else {
            if self.env.verify_signature && system.kind == SystemKind::Shopify && !crate::systems::verify_webhook(system, &trigger.headers, &trigger.body) {
                return Err("webhook signature (X-Shopify-Hmac-Sha256) does not verify: the integration refuses the delivery".into());
            }
            if !trigger.params.is_empty() {
                return Ok(vec![std::borrow::Cow::Owned(serde_json::to_value(&trigger.params).unwrap_or(Value::Null))]);
            }
            return trigger.json.as_ref().map(|j| vec![std::borrow::Cow::Borrowed(j)]).ok_or_else(|| "the trigger payload is not JSON".to_string());
        };
        let mut request = OutgoingRequest::new(self.env.trigger_system, &fetch.method, fetch.path_for(&system.version));
        request.query = fetch.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        request.set_header(clock::STEP_HEADER, "trigger");
        let mut pages = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        loop {
            let response = self.send(&request, "#trigger", "fetch").await.map_err(|f| format!("fetching the trigger failed: {}", f.reason))?;
            let page: Value = serde_json::from_slice(&response.body).map_err(|_| "the fetched trigger is not JSON".to_string())?;
            let next = match fetch.paginate {
                Some(Paginate::Link) => response.header("link").and_then(next_link),
                Some(Paginate::Suiteql) => page
                    .get("links")
                    .and_then(Value::as_array)
                    .and_then(|links| links.iter().find(|l| l.get("rel").and_then(Value::as_str) == Some("next")))
                    .and_then(|l| l.get("href").and_then(Value::as_str))
                    .map(str::to_string),
                None => None,
            };
            pages.push(std::borrow::Cow::Owned(page));
            match next {
                Some(url) if pages.len() >= 1000 => return Err(format!("stopped after 1000 pages; the last asked for {url}")),
                Some(url) if seen.contains(&url) => return Err(format!("pagination loops: the next page {url} was already fetched")),
                Some(url) => {
                    seen.push(url.clone());
                    let (path, query) = split_url(&url);
                    request.path = path;
                    request.query = crate::mock::form_pairs(&query);
                }
                _ => break,
            }
        }
        Ok(pages)
    }

    async fn record(&self, index: usize, rec: &Record<'_>, mut scope: Scope) -> RecordOutcome {
        let (key, record, doc) = (rec.key.as_str(), rec.json.as_ref(), &rec.doc);
        scope.set_doc("record", doc);
        let done = |outcome, reason: Option<String>, last_response| RecordOutcome { key: key.to_string(), outcome, reason, last_response };
        for step in &self.flow.steps {
            if let Some((cond, reason)) = &step.filter {
                match cond.eval_bool_doc(doc, &scope) {
                    Ok(true) => return done(Outcome::Filtered, Some(reason.clone()), None),
                    Ok(false) => {}
                    Err(m) => return done(Outcome::DeadLettered, Some(format!("step {}: filter: {m}", step.name)), None),
                }
            }
            if let Some(when) = &step.when {
                match when.eval_bool_doc(doc, &scope) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(m) => return done(Outcome::DeadLettered, Some(format!("step {}: when: {m}", step.name)), None),
                }
            }
            let Some(call) = &step.call else { continue };
            if let Some(reason) = self.broken.lock().expect("broken lock").get(&call.system) {
                return done(Outcome::DeadLettered, Some(format!("step {}: {} deliveries stopped: {reason}", step.name, call.system)), None);
            }
            self.note_missing(key, step, call, record);
            let version = self.env.systems.get(&call.system).map(|s| s.version.clone()).unwrap_or_default();
            scope.set("version", &json!(version));
            let request = match self.build(call, &step.name, doc, &scope) {
                Ok(r) => r,
                Err(m) => return done(Outcome::DeadLettered, Some(format!("step {}: {m}", step.name)), None),
            };
            let seed = self.env.seed ^ splitmix64(index as u64) ^ step.name.bytes().fold(0, |h, b| splitmix64(h ^ u64::from(b)));
            let response = match self.deliver(&request, key, &step.name, seed).await {
                Ok(r) => r,
                Err(f) => return done(Outcome::DeadLettered, Some(format!("step {}: {} {}: {}", step.name, request.method, request.path, f.reason)), f.last_response),
            };
            if let Err(reason) = self.accept(call, step, &response) {
                let summary = error_summary(call.system, response.status, &response.body);
                return done(Outcome::DeadLettered, Some(format!("step {}: {} {}: {reason}", step.name, request.method, request.path)), Some(summary));
            }
            let parsed = parse_answer(call, &response);
            scope.set("status", &json!(response.status));
            let headers: serde_json::Map<String, Value> = response.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), json!(v))).collect();
            scope.set("headers", &Value::Object(headers));
            let parsed = Doc::new(&parsed);
            for (name, expr) in &step.binds {
                match expr.eval_one_doc(&parsed, &scope) {
                    Ok(v) => scope.set(name, &v.unwrap_or(Value::Null)),
                    Err(m) => return done(Outcome::DeadLettered, Some(format!("step {}: bind `{name}`: {m}", step.name)), None),
                }
            }
        }
        done(Outcome::Delivered, None, None)
    }

    /// Record every source path the call's mapping reads unconditionally but the record lacks.
    fn note_missing(&self, key: &str, step: &Step, call: &Call, record: &Value) {
        let found: Vec<MissingField> = call
            .required_reads
            .iter()
            .filter_map(|(target, segs)| {
                missing_key(record, segs).map(|gap| MissingField { record: key.to_string(), step: step.name.clone(), system: call.system, target: target.clone(), source: path_text(&gap) })
            })
            .collect();
        if !found.is_empty() {
            self.missing.lock().expect("missing lock").extend(found);
        }
    }

    fn build(&self, call: &Call, step: &str, record: &Doc, scope: &Scope) -> Result<OutgoingRequest, String> {
        let system = self.env.systems.get(&call.system).ok_or_else(|| format!("no mock for {}", call.system))?;
        let mut path = call.path.render_path(record, scope).map_err(|m| format!("path: {m}"))?;
        let mut request = OutgoingRequest::new(call.system, &call.method, String::new());
        for (k, t) in &call.query {
            request.query.push((k.clone(), t.render(record, scope).map_err(|m| format!("query `{k}`: {m}"))?));
        }
        let render = |t: &Template, what: &str| -> Result<Value, String> {
            t.render(record, scope).map(|v| v.unwrap_or(Value::Null)).map_err(|e| format!("{what} field `{}`: {}", e.field, e.message))
        };
        match &call.body {
            CallBody::None => {}
            CallBody::Json(t) => {
                request.set_header("Content-Type", "application/json");
                request.body = Bytes::from(serde_json::to_vec(&render(t, "body")?).expect("JSON"));
            }
            CallBody::Graphql { document, variables } => {
                let variables = match variables {
                    Some(t) => render(t, "variables")?,
                    None => json!({}),
                };
                request.set_header("Content-Type", "application/json");
                request.body = Bytes::from(serde_json::to_vec(&json!({"query": document, "variables": variables})).expect("JSON"));
            }
            CallBody::Soap { operation, params, save } => {
                let mut xml = match params {
                    Some(t) => xml_elements(&render(t, "params")?, None),
                    None => String::new(),
                };
                if let Some((template, rows, action)) = save {
                    let rows = render(rows, "rows")?;
                    xml.push_str(&format!(
                        "<saveRequest><TemplateName>{}</TemplateName><CsvData>{}</CsvData><Action>{action}</Action></saveRequest>",
                        soap::escape(template),
                        soap::escape(&csv_from_rows(&rows)?)
                    ));
                }
                let soap_request = soap_request(system, operation, &xml);
                path = soap_request.path.clone();
                request.headers = soap_request.headers;
                request.body = soap_request.body;
            }
        }
        for (k, t) in &call.headers {
            request.set_header(k, t.render(record, scope).map_err(|m| format!("header `{k}`: {m}"))?);
        }
        request.path = path;
        request.set_header(clock::STEP_HEADER, step);
        Ok(request)
    }

    /// A request whose failure is fatal to the caller (the trigger fetch).
    async fn send(&self, request: &OutgoingRequest, key: &str, step: &str) -> Result<HttpResponse, Failure> {
        let response = self.deliver(request, key, step, self.env.seed).await?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(Failure { reason: error_summary(request.system, response.status, &response.body), last_response: None })
        }
    }

    /// Send with authentication, refreshing expired credentials once and retrying transient
    /// failures as the policy says. Persistent failures come back as answers for the caller to judge.
    async fn deliver(&self, request: &OutgoingRequest, key: &str, step: &str, seed: u64) -> Result<HttpResponse, Failure> {
        let policy = &self.env.policy;
        let system = request.system;
        let auth = self.auth.get(&system).ok_or_else(|| Failure { reason: format!("no mock for {system}"), last_response: None })?;
        let base = self.env.base_urls.get(&system).cloned().unwrap_or_default();
        let mut attempt = 1u32;
        let mut refreshed = false;
        loop {
            let mut outgoing = request.clone();
            let generation = match auth.authorize(&self.http, &mut outgoing).await {
                Ok(g) => g,
                Err(reason) => {
                    self.broken.lock().expect("broken lock").insert(system, reason.clone());
                    return Err(Failure { reason: format!("{system} credentials unavailable: {reason}"), last_response: None });
                }
            };
            let (retry_after, last) = match self.http.send(&base, &outgoing).await {
                Ok(r) if auth.is_auth_failure(r.status, &r.body) => {
                    let summary = error_summary(system, r.status, &r.body);
                    if refreshed || !auth.refreshable() {
                        // Fresh credentials refused too, or none to refresh: this system's
                        // deliveries stop here rather than every record trying again.
                        let reason = format!("credentials refused: {summary}");
                        self.broken.lock().expect("broken lock").insert(system, reason.clone());
                        return Err(Failure { reason, last_response: Some(summary) });
                    }
                    // One refresh per expiry, then the same request again (not counted as a retry).
                    auth.expired(generation).await;
                    refreshed = true;
                    continue;
                }
                Ok(r) if is_transient_status(system, &r) => {
                    // The system says how long to wait: Retry-After, or for Shopify GraphQL the
                    // points missing from the throttle bucket divided by its restore rate.
                    let asked = r
                        .header("retry-after")
                        .and_then(clock::retry_after)
                        .map(|d| (d, "Retry-After"))
                        .or_else(|| crate::systems::graphql_throttle_wait(&r.body).map(|d| (d, "GraphQL throttle")));
                    (asked.filter(|_| policy.honour_retry_after), error_summary(system, r.status, &r.body))
                }
                Ok(r) => return Ok(r),
                Err(e) => (None, e.to_string()),
            };
            if attempt >= policy.max_attempts {
                let reason = if policy.max_attempts > 1 { format!("gave up after {attempt} attempts: {last}") } else { last.clone() };
                return Err(Failure { reason, last_response: Some(last) });
            }
            attempt += 1;
            let (wait, why) = retry_after.unwrap_or_else(|| (policy.backoff_before(attempt, seed), "backoff"));
            self.http.clock().advance(wait);
            self.waits.lock().expect("waits lock").push(Wait { system, record: key.to_string(), step: step.to_string(), before_attempt: attempt, duration: wait, reason: why.to_string() });
        }
    }

    /// Whether an answer counts as success for this call: HTTP status, then the system's own
    /// in-body verdicts (GraphQL errors and userErrors, Peoplevox ResponseId and statuses).
    fn accept(&self, call: &Call, step: &Step, response: &HttpResponse) -> Result<(), String> {
        if !response.is_success() && !step.allow_status.contains(&response.status) {
            return Err(error_summary(call.system, response.status, &response.body));
        }
        match &call.body {
            CallBody::Graphql { .. } => {
                let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                if let Some(errors) = body.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
                    let messages: Vec<String> = errors.iter().map(|e| e.get("message").and_then(Value::as_str).unwrap_or("error").to_string()).collect();
                    return Err(format!("GraphQL errors: {}", messages.join("; ")));
                }
                let user_errors: Vec<String> = body
                    .get("data")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|d| d.values())
                    .filter_map(|op| op.get("userErrors").and_then(Value::as_array))
                    .flatten()
                    .map(|e| {
                        let message = e.get("message").and_then(Value::as_str).unwrap_or("");
                        match e.get("field").and_then(Value::as_array) {
                            Some(path) => {
                                let field: Vec<String> = path.iter().map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string)).collect();
                                format!("{}: {message}", field.join("."))
                            }
                            None => message.to_string(),
                        }
                    })
                    .collect();
                if !user_errors.is_empty() {
                    return Err(format!("userErrors: {}", user_errors.join("; ")));
                }
            }
            CallBody::Soap { .. } => {
                let result = soap::read_result(&String::from_utf8_lossy(&response.body))?;
                if result.response_id != 0 {
                    return Err(format!("Peoplevox ResponseId {}: {}", result.response_id, result.detail));
                }
                let rejected: Vec<&str> = result.statuses.iter().filter(|s| !s.success).map(|s| s.reference.as_str()).collect();
                if !rejected.is_empty() {
                    return Err(format!("Peoplevox rejected {}: {}", rejected.join(", "), result.detail));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// 429 and 5xx, plus GraphQL throttling (HTTP 200 with a THROTTLED error).
fn is_transient_status(system: SystemKind, r: &HttpResponse) -> bool {
    if r.status == 429 || (500..600).contains(&r.status) {
        return true;
    }
    system == SystemKind::Shopify
        && r.status == 200
        && serde_json::from_slice::<Value>(&r.body).ok().and_then(|b| b.get("errors").cloned()).is_some_and(|e| e.to_string().contains("THROTTLED"))
}

/// The answer as the `bind` expressions see it: JSON bodies as they are; Peoplevox answers as
/// `{response_id, total, detail, statuses, rows}` with CSV rows keyed by header.
fn parse_answer(call: &Call, response: &HttpResponse) -> Value {
    if let CallBody::Soap { .. } = call.body {
        return match soap::read_result(&String::from_utf8_lossy(&response.body)) {
            Ok(r) => {
                let rows = if r.detail.contains('\n') || r.detail.contains(',') { soap::csv_rows(&r.detail).ok() } else { None };
                json!({
                    "response_id": r.response_id,
                    "total": r.total,
                    "detail": r.detail,
                    "statuses": r.statuses.iter().map(|s| json!({"reference": s.reference, "status": if s.success {"Success"} else {"Error"}})).collect::<Vec<_>>(),
                    "rows": rows.map(|rs| rs.into_iter().map(Value::Object).collect::<Vec<_>>()).unwrap_or_default(),
                })
            }
            Err(_) => Value::Null,
        };
    }
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

/// Nested elements from a JSON object; scalars become text. Children of the service's request types
/// come in the WSDL's sequence order (an XML serializer may insist on it), others as mapped.
fn xml_elements(v: &Value, parent: Option<&str>) -> String {
    match v {
        Value::Object(o) => {
            let order = parent.map_or(&[][..], crate::systems::peoplevox_sequence);
            let rank = |k: &str| order.iter().position(|x| *x == k).unwrap_or(order.len());
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort_by_key(|k| rank(k));
            keys.into_iter().map(|k| format!("<{k}>{}</{k}>", xml_elements(&o[k], Some(k)))).collect()
        }
        Value::Array(items) => items.iter().map(|i| xml_elements(i, parent)).collect(),
        Value::String(s) => soap::escape(s),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// CSV from an array of flat objects; columns are the union of their keys (each object's keys come
/// sorted, so the columns do too — Peoplevox reads columns by header, not by position).
fn csv_from_rows(rows: &Value) -> Result<String, String> {
    let rows = rows.as_array().ok_or("rows must be a list of objects")?;
    let mut columns: Vec<String> = Vec::new();
    for row in rows {
        for k in row.as_object().ok_or("each row must be an object")?.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let values: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| match row.get(c) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                })
                .collect()
        })
        .collect();
    Ok(soap::csv_text(&columns, &values))
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let (_, rest) = part.split_once('<')?;
        let (url, _) = rest.split_once('>')?;
        Some(url.to_string())
    })
}

/// `http://host/path?query` → (`/path`, `query`).
fn split_url(url: &str) -> (String, String) {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_and_query = without_scheme.find('/').map_or("/", |i| &without_scheme[i..]);
    match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (path_and_query.to_string(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_seeded_jitter() {
        let p = DeliveryPolicy::default();
        let first = p.backoff_before(2, 42);
        let second = p.backoff_before(3, 42);
        assert!(first >= Duration::from_millis(800) && first <= Duration::from_millis(1200), "{first:?}");
        assert!(second >= Duration::from_millis(1600) && second <= Duration::from_millis(2400), "{second:?}");
        assert_eq!(p.backoff_before(2, 42), first, "seeded");
        let capped = DeliveryPolicy { max_backoff: Duration::from_secs(5), ..p.clone() };
        assert!(capped.backoff_before(10, 1) <= Duration::from_secs(5));
    }

    #[test]
    fn link_headers_and_urls() {
        let h = r#"<https://shop.myshopify.com/admin/api/2025-01/orders.json?limit=50&page_info=abc>; rel="next", <https://x/y?page_info=z>; rel="previous""#;
        let next = next_link(h).unwrap();
        assert_eq!(split_url(&next), ("/admin/api/2025-01/orders.json".to_string(), "limit=50&page_info=abc".to_string()));
        assert_eq!(next_link(r#"<https://x/y?page_info=z>; rel="previous""#), None);
        assert_eq!(next_link(r#">broken<; rel="next""#), None);
    }

    #[test]
    fn csv_rows_use_first_seen_columns() {
        let rows = json!([{"SalesOrderNumber": "#1001", "ItemCode": "A"}, {"SalesOrderNumber": "#1001", "ItemCode": "B, C", "Qty": 2}]);
        assert_eq!(csv_from_rows(&rows).unwrap(), "ItemCode,SalesOrderNumber,Qty\nA,#1001,\n\"B, C\",#1001,2");
    }

    #[test]
    fn csv_tables_reject_duplicates() {
        assert_eq!(table_from_csv("sku,item\nA,1\nB,2\n").unwrap(), json!({"A": "1", "B": "2"}));
        assert_eq!(table_from_csv("sku,item\nA,1\nA,2\n").unwrap_err().0, 3);
    }
}
