//! `harness record --check`: the recorded requests of a system version sent again to the real
//! system, and its answers now compared field by field with the recordings — what it adds,
//! removes or retypes — with, for each changed field, the flows and target fields that read it.
//!
//! Only read-only calls are sent unless writes are allowed: `GET`/`HEAD`, SuiteQL queries,
//! GraphQL queries (not mutations) and Peoplevox `Get…` operations.

use std::collections::BTreeSet;
use std::path::PathBuf;

use harness_analysis::diff::{ChangeKind, FieldChange, payload_changes};
use harness_analysis::lineage::{self, Lineage, LineageOptions};
use harness_core::Style;
use harness_core::{Error, SystemId};
use harness_engine::events::{AnalysisResult, Suite, SuiteCase, SuiteVerdict};
use harness_expr::{Seg, path_text};
use harness_syntax::Project;
use harness_syntax::project::files_under;
use harness_syntax::system_file::RecordedCall;
use harness_systems::Catalog;
use serde_json::{Value, json};

use crate::capture::{Captured, split_body};
use crate::upstream::Upstream;

pub struct DriftOptions {
    pub system: SystemId,
    pub version: String,
    pub upstream: String,
    pub upstream_ca: Option<PathBuf>,
    /// Send recorded writes too.
    pub allow_writes: bool,
    /// `Name: value` headers added to every request: the credentials the recordings lost.
    pub headers: Vec<(String, String)>,
    pub jobs: usize,
}

/// A changed field and what reads it.
#[derive(Debug, Clone)]
pub struct Drifted {
    pub change: FieldChange,
    /// `flow → system field` for every target field fed by it.
    pub read_by: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Drift {
    /// `record --check SYSTEM VERSION`.
    pub title: String,
    /// The terminal's first line: `SYSTEM VERSION against UPSTREAM`.
    pub header: String,
    /// Per recording: its file, endpoint and what happened.
    pub checked: Vec<(String, String, Checked)>,
}

#[derive(Debug)]
pub enum Checked {
    Same,
    Changed { status: Option<(u16, u16)>, fields: Vec<Drifted> },
    Skipped(String),
    Failed(String),
}

impl Drift {
    /// Whether a field some flow reads changed (or a read call now answers another status).
    pub fn breaks_a_flow(&self) -> bool {
        self.checked.iter().any(|(_, _, c)| c.breaks_a_flow())
    }

    /// Changed fields some flow reads.
    fn read(&self) -> usize {
        self.checked
            .iter()
            .map(|(_, _, c)| {
                if let Checked::Changed { fields, .. } = c {
                    fields.iter().filter(|d| !d.read_by.is_empty()).count()
                } else {
                    0
                }
            })
            .sum()
    }
}

impl Checked {
    fn breaks_a_flow(&self) -> bool {
        match self {
            Checked::Changed { status, fields } => {
                status.is_some() || fields.iter().any(|d| !d.read_by.is_empty() && d.change.kind != ChangeKind::Added)
            }
            _ => false,
        }
    }

    /// What happened to one recording, a line each (`read by` lines indented under their field).
    fn lines(&self) -> Vec<String> {
        match self {
            Checked::Same => vec!["unchanged".into()],
            Checked::Skipped(why) => vec![format!("not sent: {why}")],
            Checked::Failed(why) => vec![format!("no answer: {why}")],
            Checked::Changed { status, fields } => {
                let mut out: Vec<String> = status.iter().map(|(was, now)| format!("status {was} → {now}")).collect();
                for d in fields {
                    let detail = d.change.detail.as_deref().map(|t| format!(" ({t})")).unwrap_or_default();
                    out.push(format!("{} {}{detail}", d.change.kind.as_str(), d.change.path));
                    out.extend(d.read_by.iter().map(|r| format!("  read by {r}")));
                }
                out
            }
        }
    }
}

/// As analyses are reported: the terminal's text, and for the HTML page one case per recording,
/// failed when it breaks a flow.
impl AnalysisResult for Drift {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn terminal(&self, _style: Style) -> String {
        let mut out = format!("{}\n", self.header);
        for (file, endpoint, checked) in &self.checked {
            out.push_str(&format!("  {endpoint}  ({file})\n"));
            for line in checked.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
        out.push_str(&format!("{} changed field(s) read by flows\n", self.read()));
        out
    }

    fn json(&self) -> Value {
        let checked: Vec<Value> = self.checked.iter().map(|(file, endpoint, c)| json!({"file": file, "endpoint": endpoint, "breaks_a_flow": c.breaks_a_flow(), "lines": c.lines()})).collect();
        json!({"title": self.title, "checked": checked, "read_by_flows": self.read()})
    }

    fn suites(&self) -> Vec<Suite> {
        let cases = self
            .checked
            .iter()
            .map(|(file, endpoint, c)| {
                let body = c.lines().join("\n");
                let (verdict, output) = if c.breaks_a_flow() {
                    (
                        SuiteVerdict::Failed {
                            kind: "drift".into(),
                            message: "a field a flow reads changed".into(),
                            body,
                        },
                        None,
                    )
                } else {
                    (SuiteVerdict::Passed, Some(body))
                };
                SuiteCase {
                    name: endpoint.clone(),
                    classname: self.title.clone(),
                    file: Some(file.clone()),
                    time: None,
                    verdict,
                    retries: Vec::new(),
                    output,
                }
            })
            .collect();
        vec![Suite { name: self.title.clone(), time: None, properties: Vec::new(), cases }]
    }
}

/// Whether sending `call` again changes nothing on the system.
fn read_only(call: &RecordedCall) -> bool {
    let method = call.method.to_ascii_uppercase();
    if matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        return true;
    }
    let path = call.path.split('?').next().unwrap_or_default();
    if method == "POST" && path.ends_with("/query/v1/suiteql") {
        return true;
    }
    if let Some(body) = call.body.as_ref().filter(|b| b.get("query").is_some_and(Value::is_string)) {
        // A document the reader cannot make out is taken as one that may write.
        let query = body["query"].as_str().unwrap_or_default();
        let kind = harness_mock::graphql::operation(query, body.get("operationName").and_then(Value::as_str))
            .map(|op| op.kind);
        return path.ends_with("/graphql.json") && kind == Some("query");
    }
    call.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("soapaction")
            && v.trim_matches('"').rsplit('/').next().is_some_and(|a| a.starts_with("Get"))
    })
}

pub fn check(project: &Project, options: &DriftOptions) -> Result<Drift, Error> {
    let catalog = Catalog::new(project);
    let version = catalog.system(&options.system, &options.version).map_err(Error::from)?;
    let upstream = Upstream::new(&options.upstream, options.upstream_ca.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(e.to_string()))?;
    // Worked out once, when the first field has changed.
    let mut readers_of: Option<(Lineage, harness_engine::plan::Plan)> = None;
    let header = format!("{} {} against {}", options.system, options.version, options.upstream);
    let mut drift =
        Drift { title: format!("record --check {} {}", options.system, options.version), header, ..Drift::default() };
    for rel in files_under(&version.dir)
        .into_iter()
        .filter(|f| f.ends_with(".json") && !f.starts_with("schemas/") && !f.starts_with("stubs/"))
    {
        let Ok(recording) = catalog.recording(&version, &rel) else { continue };
        let Some(call) = recording.meta.request.clone() else { continue };
        let endpoint = format!("{} {}", call.method, call.path);
        if !read_only(&call) && !options.allow_writes {
            drift.checked.push((
                recording.file.clone(),
                endpoint,
                Checked::Skipped("it writes (use --allow-writes to send it)".into()),
            ));
            continue;
        }
        let (path, query) =
            call.path.split_once('?').map_or((call.path.clone(), None), |(p, q)| (p.to_string(), Some(q.to_string())));
        let mut headers: Vec<(String, String)> = call.headers.clone().into_iter().collect();
        headers.extend(options.headers.iter().cloned());
        let body = match (&call.body, &call.body_text) {
            (Some(v), _) => serde_json::to_vec(v).expect("JSON values serialise"),
            (None, Some(t)) => t.clone().into_bytes(),
            (None, None) => Vec::new(),
        };
        let request = Captured {
            method: call.method.clone(),
            path,
            query,
            request_headers: headers,
            request_body: body,
            ..Captured::default()
        };
        let live = match runtime.block_on(upstream.call(&request)) {
            Ok(live) => live,
            Err(why) => {
                drift.checked.push((recording.file.clone(), endpoint, Checked::Failed(why)));
                continue;
            }
        };
        let status = recording.status.filter(|s| *s != live.status).map(|s| (s, live.status));
        let scope = recording.scope().unwrap_or_else(|| endpoint.clone());
        let changes = match (recording.json.as_deref(), split_body(&live.response_body).0) {
            (Some(old), Some(new)) => payload_changes(&scope, old, &new),
            _ => Vec::new(),
        };
        if status.is_none() && changes.is_empty() {
            drift.checked.push((recording.file.clone(), endpoint, Checked::Same));
            continue;
        }
        if readers_of.is_none() && !changes.is_empty() {
            let lineage = lineage::compute(
                project,
                &LineageOptions { flows: Vec::new(), ablate: false, cases_per_flow: 1, jobs: options.jobs },
            )?;
            readers_of = Some((lineage, harness_engine::plan::build(project, &[])?));
        }
        let fields = changes
            .into_iter()
            .map(|change| Drifted {
                read_by: readers_of
                    .as_ref()
                    .map(|(l, p)| readers(l, p, &options.system, &change.path))
                    .unwrap_or_default(),
                change,
            })
            .collect();
        drift.checked.push((recording.file.clone(), endpoint, Checked::Changed { status, fields }));
    }
    Ok(drift)
}

/// `flow → system field` for every target field whose sources include `path` of `system`'s
/// answers: read directly (a trigger payload), or through a variable bound to that system's
/// answer (`customer_id: .items[0].id`, read as `$customer_id`).
fn readers(lineage: &Lineage, plan: &harness_engine::plan::Plan, system: &SystemId, path: &str) -> Vec<String> {
    let within = |source: &str| {
        source == path || source.starts_with(&format!("{path}.")) || source.starts_with(&format!("{path}["))
    };
    let mut out = BTreeSet::new();
    for flow in &lineage.flows {
        let driver = plan.cases.iter().find(|c| c.flow.name == flow.flow).map(|c| c.flow.driver.clone());
        for field in &flow.fields {
            for (source_system, source, _) in &field.sources {
                if source_system != system {
                    continue;
                }
                let read = match source.strip_prefix('$') {
                    None => within(source),
                    Some(var_path) => {
                        let (var, rest) =
                            var_path.split_once(['.', '[']).map_or((var_path, ""), |(v, _)| (v, &var_path[v.len()..]));
                        driver.as_ref().is_some_and(|d| {
                            d.bound_reads(var).iter().filter(|r| r.var.is_none()).any(|r| {
                                let segs: Vec<Seg> = r
                                    .segs
                                    .iter()
                                    .map(|s| if matches!(s, Seg::Index(_)) { Seg::Each } else { s.clone() })
                                    .collect();
                                within(&format!("{}{rest}", path_text(&segs)))
                            })
                        })
                    }
                };
                if read {
                    out.insert(format!("{} → {} {}", flow.flow, field.system, field.field));
                }
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: &str, path: &str, body: Option<Value>) -> RecordedCall {
        RecordedCall { method: method.into(), path: path.into(), body, ..RecordedCall::default() }
    }

    #[test]
    fn only_reads_are_sent_again() {
        assert!(read_only(&call("GET", "/admin/api/2026-01/orders.json?status=any", None)));
        assert!(read_only(&call(
            "POST",
            "/services/rest/query/v1/suiteql",
            Some(serde_json::json!({"q": "SELECT 1"}))
        )));
        assert!(read_only(&call(
            "POST",
            "/admin/api/2026-01/graphql.json",
            Some(serde_json::json!({"query": "query { shop { name } }"}))
        )));
        assert!(!read_only(&call(
            "POST",
            "/admin/api/2026-01/graphql.json",
            Some(serde_json::json!({"query": "mutation { x }"}))
        )));
        assert!(!read_only(&call("POST", "/services/rest/record/v1/salesOrder", None)));
        let mut soap = call("POST", "/resources/integrationservicev4.asmx", None);
        soap.headers.insert("SOAPAction".into(), "\"http://www.peoplevox.net/GetData\"".into());
        assert!(read_only(&soap));
    }
}
