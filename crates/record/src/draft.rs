//! Drafts from a session's recordings: a stub set that answers each recorded call with its
//! recording, matching on what tells the calls apart, and a scenario that replays them.
//!
//! Stub sets and scenarios are YAML; their values are written as JSON, which is YAML too, so every
//! path, query and body is quoted exactly.

use std::collections::BTreeMap;

use harness_core::SystemId;
use harness_syntax::system_file::RecordedCall;
use serde_json::{Map, Value, json};

/// One recorded call of the session and the file answering it.
#[derive(Debug, Clone)]
pub(crate) struct Drafted {
    /// Relative to the version folder.
    pub(crate) file: String,
    pub(crate) call: RecordedCall,
}

/// A stub to be written: its match and the files it answers with, in recorded order.
#[derive(Debug, Clone, PartialEq)]
struct DraftStub {
    matcher: Map<String, Value>,
    files: Vec<String>,
}

/// `/admin/api/2026-01/orders/450789469.json` → `/admin/api/{version}/orders/{id}.json`.
fn template(path: &str, version: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment == version {
                return "{version}".to_string();
            }
            let (stem, ext) = segment.split_once('.').map_or((segment, None), |(s, e)| (s, Some(e)));
            if !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()) {
                ext.map_or_else(|| "{id}".to_string(), |e| format!("{{id}}.{e}"))
            } else {
                segment.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn with_version(path: &str, version: &str) -> String {
    path.split('/').map(|s| if s == version { "{version}" } else { s }).collect::<Vec<_>>().join("/")
}

fn split_query(path: &str) -> (&str, BTreeMap<String, String>) {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let params = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').map_or((p.to_string(), String::new()), |(k, v)| (k.to_string(), v.to_string())))
        .collect();
    (path, params)
}

/// The GraphQL operation a request names (what the mocks match on).
fn graphql_operation(call: &RecordedCall) -> Option<String> {
    harness_mock::graphql_operation(call.body.as_ref()?)
}

fn soap_action(call: &RecordedCall) -> Option<String> {
    let action =
        call.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("soapaction")).map(|(_, v)| v.trim_matches('"'))?;
    Some(action.rsplit('/').next().unwrap_or(action).to_string())
}

/// The stubs for `calls`: one per distinct request, matching on method and path (numeric ids as
/// `{id}` when that alone tells the calls apart, the version as `{version}`), and, where calls
/// share a route, on the GraphQL operation, SOAP action, query parameters and top-level body
/// fields that differ between them. Calls nothing tells apart are answered in recorded order.
fn stubs(calls: &[Drafted], version: &str) -> Vec<DraftStub> {
    let (paths, queries): (Vec<&str>, Vec<BTreeMap<String, String>>) =
        calls.iter().map(|d| split_query(&d.call.path)).unzip();
    let routes: Vec<String> = calls
        .iter()
        .zip(&paths)
        .map(|(d, path)| {
            let templated = template(path, version);
            let exact_differs = calls
                .iter()
                .zip(&paths)
                .any(|(o, p)| o.call.method == d.call.method && template(p, version) == templated && p != path);
            format!("{} {}", d.call.method, if exact_differs { with_version(path, version) } else { templated })
        })
        .collect();
    let mut out: Vec<DraftStub> = Vec::new();
    for (i, d) in calls.iter().enumerate() {
        let peers: Vec<usize> = (0..calls.len()).filter(|&j| routes[j] == routes[i]).collect();
        let (method, path) = routes[i].split_once(' ').unwrap_or_default();
        let mut m = Map::new();
        m.insert("method".into(), json!(method));
        m.insert("path".into(), json!(path));
        if peers.len() > 1 {
            let differs = |f: &dyn Fn(usize) -> Option<String>| peers.iter().any(|&j| f(j) != f(i));
            let operation = |j: usize| graphql_operation(&calls[j].call);
            if let Some(op) = operation(i).filter(|_| differs(&operation)) {
                m.insert("graphql_operation".into(), json!(op));
            }
            let action = |j: usize| soap_action(&calls[j].call);
            if let Some(a) = action(i).filter(|_| differs(&action)) {
                m.insert("soap_action".into(), json!(a));
            }
            // Query and body only where the operation does not already tell the call apart.
            let same_operation: Vec<usize> =
                peers.iter().copied().filter(|&j| operation(j) == operation(i) && action(j) == action(i)).collect();
            let peers = same_operation;
            let query: Map<String, Value> = queries[i]
                .iter()
                .filter(|(k, v)| peers.iter().any(|&j| queries[j].get(*k) != Some(*v)))
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            if !query.is_empty() {
                m.insert("query".into(), Value::Object(query));
            }
            if let Some(Value::Object(body)) = &d.call.body {
                let field = |j: usize, k: &str| calls[j].call.body.as_ref().and_then(|b| b.get(k)).cloned();
                let subset: Map<String, Value> = body
                    .iter()
                    .filter(|(k, v)| peers.iter().any(|&j| field(j, k).as_ref() != Some(*v)))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !subset.is_empty() {
                    m.insert("body".into(), Value::Object(subset));
                }
            }
        }
        match out.iter_mut().find(|s| s.matcher == m) {
            Some(same) => same.files.push(d.file.clone()),
            None => out.push(DraftStub { matcher: m, files: vec![d.file.clone()] }),
        }
    }
    out
}

/// The stub set file (`mocks/<system>/<version>/stubs/<name>.yaml`).
pub(crate) fn stub_set(calls: &[Drafted], version: &str, description: &str) -> String {
    let mut text = format!("description: {}\nstubs:\n", json!(description));
    for stub in stubs(calls, version) {
        let name = format!(
            "{} {}",
            stub.matcher["method"].as_str().unwrap_or(""),
            stub.matcher["path"].as_str().unwrap_or("")
        );
        text.push_str(&format!("  - name: {}\n    match: {}\n", json!(name), Value::Object(stub.matcher.clone())));
        match stub.files.as_slice() {
            [one] => text.push_str(&format!("    respond: {}\n", json!({"file": one}))),
            many => text.push_str(&format!(
                "    sequence: {}\n",
                Value::Array(many.iter().map(|f| json!({"file": f})).collect())
            )),
        }
    }
    text
}

/// What a draft scenario needs besides the recorded calls.
#[derive(Debug, Clone)]
pub(crate) struct ScenarioDraft {
    pub(crate) flow: String,
    /// The trigger payload, relative to the trigger system's version folder.
    pub(crate) trigger: String,
    pub(crate) stub_set: String,
}

/// A scenario running `draft.flow` at `versions` (one per system it involves) with the recorded
/// system answering from the stub set, and expecting each recorded call as many times as it was
/// recorded.
pub(crate) fn scenario(
    draft: &ScenarioDraft,
    system: &SystemId,
    version: &str,
    versions: &[(SystemId, String)],
    calls: &[Drafted],
    description: &str,
) -> String {
    let mut counts: Vec<(Map<String, Value>, usize)> = Vec::new();
    for stub in stubs(calls, version) {
        let mut key = Map::new();
        key.insert("system".into(), json!(system.as_str()));
        for field in ["method", "path", "graphql_operation", "soap_action"] {
            if let Some(v) = stub.matcher.get(field) {
                key.insert(field.into(), v.clone());
            }
        }
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += stub.files.len(),
            None => counts.push((key, stub.files.len())),
        }
    }
    let systems: String = versions.iter().map(|(id, v)| format!("  {}: {}\n", id.as_str(), json!(v))).collect();
    let mut text = format!(
        "description: {}\nflow: {}\nsystems:\n{systems}trigger:\n  file: {}\nmocks:\n  {}:\n    use: [{}]\nexpect:\n  requests:\n",
        json!(description),
        json!(draft.flow),
        json!(draft.trigger),
        system.as_str(),
        json!(draft.stub_set)
    );
    for (mut key, n) in counts {
        key.insert("count".into(), json!(n));
        text.push_str(&format!("    - {}\n", Value::Object(key)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: &str, path: &str, body: Option<Value>) -> Drafted {
        Drafted {
            file: format!("recorded/{}.json", path.len()),
            call: RecordedCall { method: method.into(), path: path.into(), body, ..RecordedCall::default() },
        }
    }

    #[test]
    fn routes_are_templated_unless_ids_tell_calls_apart() {
        assert_eq!(
            template("/admin/api/2026-01/orders/450789469.json", "2026-01"),
            "/admin/api/{version}/orders/{id}.json"
        );
        let one = stubs(&[call("GET", "/services/rest/record/v1/customer/77", None)], "2026.1");
        assert_eq!(one[0].matcher["path"], "/services/rest/record/v1/customer/{id}");
        let two = stubs(
            &[
                call("GET", "/services/rest/record/v1/customer/77", None),
                call("GET", "/services/rest/record/v1/customer/78", None),
            ],
            "2026.1",
        );
        assert_eq!(
            two.iter().map(|s| s.matcher["path"].as_str().unwrap()).collect::<Vec<_>>(),
            ["/services/rest/record/v1/customer/77", "/services/rest/record/v1/customer/78"]
        );
    }

    #[test]
    fn shared_routes_match_on_what_differs() {
        let q = |sql: &str| Some(json!({"q": sql, "limit": 5}));
        let calls = [
            call("POST", "/services/rest/query/v1/suiteql", q("SELECT a")),
            call("POST", "/services/rest/query/v1/suiteql", q("SELECT b")),
            call("POST", "/services/rest/query/v1/suiteql", q("SELECT b")),
        ];
        let s = stubs(&calls, "2026.1");
        assert_eq!(s.len(), 2);
        assert_eq!(
            Value::Object(s[0].matcher.clone()),
            json!({"method": "POST", "path": "/services/rest/query/v1/suiteql", "body": {"q": "SELECT a"}})
        );
        assert_eq!(s[1].files.len(), 2, "the same request twice: answered in recorded order");
        let text = stub_set(&calls, "2026.1", "d");
        assert!(text.contains("sequence: [{\"file\":"), "{text}");
    }

    #[test]
    fn graphql_by_operation() {
        let gql = |q: &str| Some(json!({"query": q}));
        let calls = [
            call("POST", "/admin/api/2026-01/graphql.json", gql("query inventoryItemBySku($sku: String!) { x }")),
            call("POST", "/admin/api/2026-01/graphql.json", gql("mutation inventorySetQuantities { y }")),
        ];
        let s = stubs(&calls, "2026-01");
        assert_eq!(s[0].matcher["graphql_operation"], "inventoryItemBySku");
        assert_eq!(s[1].matcher["graphql_operation"], "inventorySetQuantities");
        assert_eq!(s[0].matcher["path"], "/admin/api/{version}/graphql.json");
        assert!(!s[0].matcher.contains_key("body"), "the operation tells them apart");
    }
}
