//! What starts a flow: the trigger as the flow file declares it (system, event, a poll, how a
//! payload divides into records), and the trigger input the harness hands a flow for one case.

use std::borrow::Cow;
use std::collections::BTreeMap;

use harness_core::SystemId;
use harness_expr::{Doc, Expr, Scope, Seg, VarNames};
use harness_syntax::flow::Fetch;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct FlowTrigger {
    pub system: SystemId,
    /// Webhook topic (`orders/create`) or Peoplevox event (`TrackingNumberReceived`), with where
    /// the flow file names it.
    pub event: Option<harness_syntax::Loc<String>>,
    /// A poll of the source: the request whose recorded answer starts the flow.
    pub fetch: Option<Fetch>,
    /// Check the webhook signature before anything else.
    pub verify_signature: bool,
    pub split: RecordSplit,
}

impl FlowTrigger {
    /// The webhook topic the flow is delivered (`orders/create` when the flow does not say).
    pub fn topic(&self) -> &str {
        self.event.as_ref().map_or("orders/create", |e| e.value.as_str())
    }

    /// What a trigger payload stands for, version-free: the poll it answers or the webhook it is.
    pub fn scope(&self) -> String {
        match &self.fetch {
            Some(fetch) => format!("{} {}", fetch.method, fetch.path.value),
            None => format!("webhook {}", self.topic()),
        }
    }
}

/// What the harness hands a flow for one scenario run.
#[derive(Debug, Clone)]
pub struct TriggerInput {
    /// Raw body as delivered (webhook body, recorded poll answer, callback parameters as JSON).
    pub body: bytes::Bytes,
    /// Shared: many cases replay the same recording.
    pub json: Option<std::sync::Arc<Value>>,
    pub headers: Vec<(String, String)>,
    /// Peoplevox callback parameters, e.g. `TrackingNumber`.
    pub params: BTreeMap<String, String>,
    /// How many times a service is delivered it (a redelivery is identical).
    pub times: u32,
}

/// How a trigger payload divides into records, and what each is called in reports.
#[derive(Debug, Clone, Default)]
pub struct RecordSplit {
    /// jq yielding the records (default: the payload is one record).
    pub(crate) records: Option<Expr>,
    /// jq naming a record (default: its position, `#1`, `#2`, ...).
    pub(crate) key: Option<Expr>,
}

/// One record of a trigger, as JSON (for source-path checks) and converted for jq.
pub struct Record<'a> {
    pub key: String,
    pub json: Cow<'a, Value>,
    pub doc: Doc,
}

/// The trigger's `records` expression failed on a payload.
#[derive(Debug, thiserror::Error)]
#[error("trigger `records` expression failed: {0}")]
pub struct SplitError(#[from] harness_expr::EvalError);

impl RecordSplit {
    /// Where records sit in a payload when `records` is a plain path (`.orders[]` → `orders[]`);
    /// empty when the payload is the record.
    pub fn base_path(&self) -> Option<Vec<Seg>> {
        match &self.records {
            None => Some(Vec::new()),
            Some(e) => e
                .reads()
                .iter()
                .filter(|r| r.var.is_none() && r.required)
                .max_by_key(|r| r.segs.len())
                .map(|r| r.segs.clone()),
        }
    }

    /// Every record of every payload page, with its key.
    pub fn split<'a>(&self, payloads: impl IntoIterator<Item = &'a Value>) -> Result<Vec<Record<'a>>, SplitError> {
        let names = VarNames::new([]);
        let scope = Scope::new(&names, &Value::Null);
        let mut records: Vec<(Cow<'a, Value>, Doc)> = Vec::new();
        for payload in payloads {
            let doc = Doc::new(payload);
            match &self.records {
                Some(e) => {
                    let items = e.eval_doc(&doc, &scope)?;
                    records.extend(items.into_iter().map(|d| (Cow::Owned(d.to_json()), d)));
                }
                None => records.push((Cow::Borrowed(payload), doc)),
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

    /// The keys of the records of `payload`.
    pub fn keys(&self, payload: &Value) -> Vec<String> {
        self.split([payload]).map(|r| r.into_iter().map(|r| r.key).collect()).unwrap_or_default()
    }
}
