//! Built-in flows: declarative steps the harness executes, shaped like an iPaaS flow.
//!
//! For each record of the trigger, each step may be skipped (`when`), may filter the record out
//! (`filter`), and may call a system (lookups and deliveries alike) and bind values from the answer
//! for later steps. Deliveries follow the flow's policy: transient failures (429, 5xx, timeouts,
//! resets) are retried with seeded exponential backoff on the virtual clock, honouring
//! `Retry-After`; expired credentials are refreshed once and the request replayed; a record that
//! cannot be delivered is dead-lettered with its reason and last answer, and the others go on.
//!
//! The pieces: [`compile`] turns the file into the model below, [`tables`] loads cross-reference
//! tables, `run` walks the records, `deliver` sends with the retry policy, `codec` builds request
//! bodies (JSON, GraphQL, SOAP with CSV) and reads answers.

mod codec;
mod compile;
mod deliver;
mod run;
mod tables;

use std::collections::BTreeMap;
use std::sync::Arc;

use harness_core::SystemId;
use harness_expr::{Expr, FieldLineage, ReadPath, Seg, Template, TextTemplate, VarNames, template_field};
use harness_systems::Registry;
use serde_json::Value;

use crate::driver::{CaseContext, FlowDriver, FlowInstance, JobContext, LocalBoxFuture, MappedField, PrepareError};
use crate::{DeliveryPolicy, FlowRun, FlowTrigger};

pub(crate) use compile::compile;

#[derive(Debug)]
pub(crate) struct BuiltinFlow {
    names: VarNames,
    xref: Value,
    steps: Vec<Step>,
    /// Every target field's sources, worked out once.
    lineage: Vec<MappedField>,
    /// The auth method per system, where the flow names one.
    auth: BTreeMap<SystemId, String>,
    policy: DeliveryPolicy,
}

#[derive(Debug)]
struct Step {
    name: String,
    when: Option<Expr>,
    filter: Option<(Expr, String)>,
    call: Option<Call>,
    binds: Vec<(String, Expr)>,
    allow_status: Vec<u16>,
}

#[derive(Debug)]
struct Call {
    system: SystemId,
    method: String,
    path: TextTemplate,
    query: Vec<(String, TextTemplate)>,
    headers: Vec<(String, TextTemplate)>,
    body: CallBody,
    /// Source paths (rooted at the record) the call reads unconditionally, with the target field
    /// each feeds: a record lacking one would send that field empty.
    required_reads: Vec<(String, Vec<Seg>)>,
}

#[derive(Debug)]
enum CallBody {
    None,
    Json(Template),
    Graphql { document: String, variables: Option<Template> },
    Soap { operation: String, params: Option<Template>, save: Option<(String, Template, u8)> },
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

impl Call {
    fn required_reads(
        path: &TextTemplate,
        query: &[(String, TextTemplate)],
        body: &CallBody,
    ) -> Vec<(String, Vec<Seg>)> {
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
            .filter(|(_, r)| r.var.is_some() || r.segs.first() != Some(&Seg::Each))
            .map(|(t, r)| (t, r.segs))
            .collect()
    }
}

impl BuiltinFlow {
    /// Every target field of every call, with its source paths. Fields are prefixed with where they
    /// go: `body.…`, `body.variables.…`, `request` (the path), `query.…`.
    fn compute_lineage(steps: &[Step]) -> Vec<MappedField> {
        let mut out = Vec::new();
        for step in steps {
            let Some(call) = &step.call else { continue };
            let text_field = |target: String, t: &TextTemplate| FieldLineage {
                target,
                expression: String::new(),
                reads: t.reads().cloned().collect(),
            };
            let mut fields = vec![text_field("request".into(), &call.path)];
            fields.extend(call.query.iter().map(|(k, t)| text_field(format!("query.{k}"), t)));
            for (prefix, t) in call.body.templates() {
                fields.extend(t.lineage().into_iter().map(|mut l| {
                    l.target = snapshot_field(&prefix, &l.target);
                    l
                }));
            }
            out.extend(
                fields.into_iter().filter(|f| !f.reads.is_empty()).map(|f| (step.name.clone(), call.system.clone(), f)),
            );
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
    template_field(&joined)
}

/// The driver of a built-in flow: the compiled flow, shared by every job's instance.
#[derive(Debug)]
pub(crate) struct Builtin(Arc<BuiltinFlow>);

impl FlowDriver for Builtin {
    fn called_systems(&self) -> Vec<SystemId> {
        self.0.steps.iter().filter_map(|s| s.call.as_ref().map(|c| c.system.clone())).collect()
    }

    /// A built-in flow is known not to call some systems (the source of a webhook); their mocks
    /// would only cost a port and a task.
    fn contacted_systems(&self, trigger: &FlowTrigger) -> Option<Vec<SystemId>> {
        let mut systems = self.called_systems();
        if trigger.fetch.is_some() {
            systems.push(trigger.system.clone());
        }
        Some(systems)
    }

    fn lineage(&self) -> &[MappedField] {
        &self.0.lineage
    }

    fn bound_system(&self, var: &str) -> Option<SystemId> {
        self.0
            .steps
            .iter()
            .find(|s| s.binds.iter().any(|(n, _)| n == var))
            .and_then(|s| s.call.as_ref().map(|c| c.system.clone()))
    }

    fn bound_reads(&self, var: &str) -> Vec<harness_expr::ReadPath> {
        self.0
            .steps
            .iter()
            .flat_map(|s| &s.binds)
            .filter(|(n, _)| n == var)
            .flat_map(|(_, e)| e.reads().iter().cloned())
            .collect()
    }

    fn virtual_time(&self) -> bool {
        true
    }

    fn policy(&self) -> DeliveryPolicy {
        self.0.policy.clone()
    }

    fn accounts_for_every_record(&self) -> bool {
        true
    }

    fn unordered(&self, policy: &DeliveryPolicy) -> bool {
        policy.concurrency > 1
    }

    fn prepare(&self, job: &JobContext) -> Result<Arc<dyn FlowInstance>, PrepareError> {
        Ok(Arc::new(Instance { flow: self.0.clone(), registry: job.registry.clone(), reqwest: job.reqwest.clone() }))
    }
}

/// A built-in flow ready for the cases of one job.
struct Instance {
    flow: Arc<BuiltinFlow>,
    registry: Registry,
    reqwest: reqwest::Client,
}

impl FlowInstance for Instance {
    fn run<'a>(&'a self, case: CaseContext<'a>) -> LocalBoxFuture<'a, FlowRun> {
        Box::pin(run::run(&self.flow, &self.registry, &self.reqwest, case))
    }
}
