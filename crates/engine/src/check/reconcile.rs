//! Reconciliations: figures from what the flow took in against figures from what a target took.

use std::collections::BTreeMap;

use harness_core::SystemId;
use harness_expr::{Doc, Scope, VarNames};
use serde_json::{Value, json};

use super::{CheckKind, Context, Finding};
use crate::snapshot::canonical;

pub(super) fn check(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let (case, exchanges) = (cx.case, &cx.exec.exchanges);
    if case.expect.reconcile.is_empty() {
        return;
    }
    // Each side's input made once for every rule (a flow has several): the payload, and each
    // system's traffic.
    let payload = Doc::new(&source_payload(cx));
    let mut traffic: BTreeMap<&SystemId, Doc> = BTreeMap::new();
    let names = VarNames::new([]);
    let scope = Scope::new(&names, &Value::Null);
    for r in &case.expect.reconcile {
        let traffic = traffic.entry(&r.system).or_insert_with(|| {
            let sent: Vec<Value> = exchanges
                .iter()
                .filter(|e| e.system == r.system)
                .map(|e| {
                    let body = canonical::body(e.request.header("content-type").unwrap_or(""), &e.request.body).unwrap_or(Value::Null);
                    let accepted = cx.accepted(e);
                    json!({"method": e.request.method, "path": e.request.path, "query": harness_core::encoding::form_pairs(&e.request.query).into_iter().collect::<BTreeMap<_, _>>(), "body": body, "status": e.response.status, "accepted": accepted})
                })
                .collect();
            Doc::new(&Value::Array(sent))
        });
        let source = figures("source", r.source.eval_one_doc(&payload, &scope));
        let target = figures("target", r.target.eval_one_doc(traffic, &scope));
        match (source, target) {
            (Ok(s), Ok(t)) => {
                // Keys of either side; a key missing on one side counts as 0 there.
                let keys: std::collections::BTreeSet<&String> = s.keys().chain(t.keys()).collect();
                let off: Vec<String> = keys
                    .into_iter()
                    .filter_map(|k| {
                        let (a, b) = (s.get(k).copied().unwrap_or(0.0), t.get(k).copied().unwrap_or(0.0));
                        ((a - b).abs() > r.tolerance).then(|| {
                            let label = if k.is_empty() { String::new() } else { format!("{k}: ") };
                            format!(
                                "{label}source {} ≠ {} {} (difference {:+.4})",
                                fmt_num(a),
                                r.system,
                                fmt_num(b),
                                b - a
                            )
                        })
                    })
                    .collect();
                if !off.is_empty() {
                    let mut f = Finding::new(CheckKind::Reconcile, format!("{}: {}", r.name, off.join("; ")));
                    f.details.push(format!("tolerance {}", r.tolerance));
                    f.details.push(format!("source: {}", r.source.text()));
                    f.details.push(format!("target: {}", r.target.text()));
                    findings.push(f);
                }
            }
            (s, t) => {
                let why: Vec<String> = s.err().into_iter().chain(t.err()).collect();
                findings.push(Finding::new(
                    CheckKind::Reconcile,
                    format!("{}: cannot compute: {}", r.name, why.join("; ")),
                ));
            }
        }
    }
}

/// What the flow took in: the trigger payload, or for a polling flow every page it fetched,
/// merged (arrays of the pages concatenated).
fn source_payload(cx: &Context<'_>) -> Value {
    let case = cx.case;
    let Some(fetch) = &case.flow.trigger.fetch else {
        return case.trigger.json.as_deref().cloned().unwrap_or(Value::Null);
    };
    let system = &case.flow.trigger.system;
    let path = case.systems.get(system).map(|s| fetch.path_for(&s.version)).unwrap_or_default();
    let pages: Vec<Value> = cx
        .exec
        .exchanges
        .iter()
        .filter(|e| e.system == *system && e.request.path == path && cx.accepted(e))
        .filter_map(|e| serde_json::from_slice(&e.response.body).ok())
        .collect();
    let mut pages = pages.into_iter();
    let Some(mut merged) = pages.next() else { return case.trigger.json.as_deref().cloned().unwrap_or(Value::Null) };
    for page in pages {
        if let (Value::Object(m), Value::Object(p)) = (&mut merged, page) {
            for (k, v) in p {
                match (m.get_mut(&k), v) {
                    (Some(Value::Array(a)), Value::Array(b)) => a.extend(b),
                    (None, v) => {
                        m.insert(k, v);
                    }
                    _ => {}
                }
            }
        }
    }
    merged
}

/// A reconciliation side as figures by key: a number (key ``) or an object of numbers (per SKU,
/// per order…); numeric strings count as numbers.
fn figures(
    side: &str,
    result: Result<Option<Value>, harness_expr::EvalError>,
) -> Result<BTreeMap<String, f64>, String> {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match result.map_err(|e| e.to_string())? {
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| {
                number(v).map(|n| (k.clone(), n)).ok_or_else(|| format!("{side} yields {v} for `{k}`, not a number"))
            })
            .collect(),
        Some(v) => number(&v)
            .map(|n| BTreeMap::from([(String::new(), n)]))
            .ok_or_else(|| format!("{side} yields {v}, not a number")),
        None => Err(format!("{side} yields nothing")),
    }
}

fn fmt_num(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
