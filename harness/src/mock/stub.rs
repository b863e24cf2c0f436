//! Stubs: which requests a mock recognises (method, path, query, headers, body, GraphQL operation,
//! SOAP operation) and what it answers, call after call.

use std::collections::BTreeMap;

use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{MockResponse, RecordedRequest};

// ---------------------------------------------------------------------------------------------
// As written in scenario files and shared stub sets

/// A stub as written in a scenario (`mocks.<system>.stubs`) or a shared stub set
/// (`mocks/<system>/<version>/stubs/<name>.yaml`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StubSpec {
    /// Shown in reports and snapshots; defaults to the method and path.
    pub name: Option<String>,
    /// Which requests this stub answers.
    #[serde(rename = "match")]
    pub matcher: MatchSpec,
    /// The answer, every time.
    pub respond: Option<ResponseSpec>,
    /// One answer per call, in order; the last one repeats.
    pub sequence: Option<Vec<ResponseSpec>>,
    /// Answer only the first N matching requests; later ones fall through to the next stub or
    /// the system's own behaviour.
    pub times: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// HTTP method; any when absent.
    pub method: Option<String>,
    /// Exact path, a template with `{name}` segments (`/record/v1/customer/{id}`), or a regular
    /// expression after `~` (`~^/admin/api/[^/]+/orders\.json$`).
    pub path: String,
    /// Query parameters that must be present with these values.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Headers that must be present with these values (names are case-insensitive).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON the body must contain (objects match by subset, arrays and scalars exactly).
    pub body: Option<Value>,
    /// Text the raw body must contain.
    pub body_contains: Option<String>,
    /// GraphQL: the operation name (`mutation inventorySet(...)` or `operationName`).
    pub graphql_operation: Option<String>,
    /// GraphQL: variables the request must contain (subset match).
    pub graphql_variables: Option<Value>,
    /// SOAP: the operation, as named by the `SOAPAction` header (`GetData`, `SaveData`, ...).
    pub soap_action: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// HTTP status; default the recording's, else 200.
    pub status: Option<u16>,
    /// Headers added to (or replacing) the recording's.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A recorded response, relative to `mocks/<system>/<version>/`.
    pub file: Option<String>,
    /// An inline JSON body.
    pub body: Option<Value>,
    /// An inline non-JSON body (XML, CSV, a truncated document).
    pub body_text: Option<String>,
    /// A canned answer of the system: `rate-limited`, `unauthorized`, `server-error`, ...
    /// (see the README for each system's list).
    pub preset: Option<String>,
    /// How long the answer takes (`2s`). Built-in flows see it on a virtual clock.
    #[serde(default, deserialize_with = "crate::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub delay: Option<std::time::Duration>,
    /// A network fault instead of a clean answer.
    pub fault: Option<Fault>,
}

/// Network faults a mock can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The connection is reset before any response.
    Reset,
    /// The connection is closed cleanly before any response.
    Close,
    /// No answer within the client's timeout (the request was still received and acted on).
    Timeout,
    /// Headers and part of the body are sent, then the connection closes.
    Truncate,
}

impl Fault {
    /// How a fault shows in a snapshot's `response`.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::Reset => "connection reset",
            Fault::Close => "connection closed without a response",
            Fault::Timeout => "answer lost (timeout)",
            Fault::Truncate => "answer truncated",
        }
    }

    /// Whether the request can have been carried out: a timeout or truncated answer comes after
    /// the work is done; a reset or close comes before any answer.
    pub fn after_commit(self) -> bool {
        matches!(self, Fault::Timeout | Fault::Truncate)
    }
}

// ---------------------------------------------------------------------------------------------
// Resolved

/// A stub ready to serve: matcher compiled, response bodies loaded.
#[derive(Debug, Clone)]
pub struct Stub {
    pub name: String,
    pub matcher: Matcher,
    /// Answers for call 1, 2, ...; the last repeats.
    pub responses: Vec<MockResponse>,
    /// Stop matching after this many calls.
    pub times: Option<usize>,
}

impl Stub {
    pub fn response_for_call(&self, call: usize) -> &MockResponse {
        &self.responses[call.min(self.responses.len() - 1)]
    }
}

#[derive(Debug, Clone)]
pub struct Matcher {
    method: Option<String>,
    path: PathPattern,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    body_contains: Option<String>,
    graphql_operation: Option<String>,
    graphql_variables: Option<Value>,
    soap_action: Option<String>,
}

#[derive(Debug, Clone)]
enum PathPattern {
    Exact(String),
    Template(Vec<Option<String>>),
    Regex(Regex),
}

impl Matcher {
    pub fn compile(spec: &MatchSpec) -> Result<Matcher, String> {
        let path = if let Some(re) = spec.path.strip_prefix('~') {
            PathPattern::Regex(Regex::new(re).map_err(|e| format!("invalid path regex: {e}"))?)
        } else if spec.path.contains('{') {
            let segs = spec.path.split('/').map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string())).collect();
            PathPattern::Template(segs)
        } else {
            PathPattern::Exact(spec.path.clone())
        };
        if !matches!(path, PathPattern::Regex(_)) && !spec.path.starts_with('/') {
            return Err(format!("path `{}` must start with `/` (or `~` for a regular expression)", spec.path));
        }
        Ok(Matcher {
            method: spec.method.as_ref().map(|m| m.to_ascii_uppercase()),
            path,
            query: spec.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            headers: spec.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect(),
            body: spec.body.clone(),
            body_contains: spec.body_contains.clone(),
            graphql_operation: spec.graphql_operation.clone(),
            graphql_variables: spec.graphql_variables.clone(),
            soap_action: spec.soap_action.clone(),
        })
    }

    /// A matcher for exactly this method and path (used by expectations and endpoint tables).
    pub fn route(method: &str, path: &str) -> Result<Matcher, String> {
        Matcher::compile(&MatchSpec { method: Some(method.to_string()), path: path.to_string(), ..MatchSpec::default() })
    }

    pub fn matches(&self, req: &RecordedRequest) -> bool {
        if self.method.as_ref().is_some_and(|m| *m != req.method) || !self.path_matches(&req.path) {
            return false;
        }
        if !self.query.is_empty() {
            let pairs = req.query_pairs();
            if !self.query.iter().all(|q| pairs.contains(q)) {
                return false;
            }
        }
        if !self.headers.iter().all(|(n, v)| req.header(n) == Some(v.as_str())) {
            return false;
        }
        if self.body_contains.as_ref().is_some_and(|needle| !req.body_text().contains(needle.as_str())) {
            return false;
        }
        if let Some(expected) = &self.body
            && !req.json().is_some_and(|actual| json_contains(&actual, expected))
        {
            return false;
        }
        if self.graphql_operation.is_some() || self.graphql_variables.is_some() {
            let Some(gql) = req.json() else { return false };
            if self.graphql_operation.as_ref().is_some_and(|op| graphql_operation(&gql).as_deref() != Some(op.as_str())) {
                return false;
            }
            if let Some(vars) = &self.graphql_variables
                && !json_contains(gql.get("variables").unwrap_or(&Value::Null), vars)
            {
                return false;
            }
        }
        if let Some(action) = &self.soap_action {
            let header = req.header("soapaction").unwrap_or("").trim_matches('"');
            if header.rsplit('/').next() != Some(action.as_str()) {
                return false;
            }
        }
        true
    }

    fn path_matches(&self, path: &str) -> bool {
        match &self.path {
            PathPattern::Exact(p) => p == path,
            PathPattern::Regex(re) => re.is_match(path),
            PathPattern::Template(segs) => {
                let actual: Vec<&str> = path.split('/').collect();
                actual.len() == segs.len()
                    && segs.iter().zip(actual).all(|(want, got)| want.as_ref().map_or(!got.is_empty(), |w| w == got))
            }
        }
    }
}

impl Matcher {
    /// Whether a request line (method and path alone) is this matcher's route.
    pub fn matches_route(&self, method: &str, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method) && self.path_matches(path)
    }
}

/// The operation name of a GraphQL request: `operationName`, else the name after
/// `query`/`mutation` in the document.
pub fn graphql_operation(request: &Value) -> Option<String> {
    if let Some(name) = request.get("operationName").and_then(Value::as_str) {
        return Some(name.to_string());
    }
    let doc = request.get("query")?.as_str()?;
    let rest = doc.trim_start();
    let rest = rest.strip_prefix("mutation").or_else(|| rest.strip_prefix("query"))?;
    let name: String = rest.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

/// `actual` contains `expected`: objects by subset of keys, arrays element-wise with equal length,
/// scalars by equality.
pub fn json_contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e.iter().all(|(k, ev)| a.get(k).is_some_and(|av| json_contains(av, ev))),
        (Value::Array(a), Value::Array(e)) => a.len() == e.len() && a.iter().zip(e).all(|(x, y)| json_contains(x, y)),
        _ => actual == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(method: &str, path: &str, query: &str, body: &str) -> RecordedRequest {
        RecordedRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: vec![("prefer".into(), "transient".into()), ("soapaction".into(), "\"http://www.peoplevox.net/GetData\"".into())],
            body: body.to_string().into(),
        }
    }

    fn matcher(yaml: &str) -> Matcher {
        Matcher::compile(&crate::yaml::parse(std::path::Path::new("t.yaml"), yaml).unwrap()).unwrap()
    }

    #[test]
    fn paths_exact_template_and_regex() {
        let r = req("GET", "/services/rest/record/v1/customer/107", "", "");
        assert!(matcher("path: /services/rest/record/v1/customer/{id}").matches(&r));
        assert!(!matcher("path: /services/rest/record/v1/customer").matches(&r));
        assert!(matcher("path: '~/customer/\\d+$'").matches(&r));
        assert!(!matcher("method: POST\npath: /services/rest/record/v1/customer/107").matches(&r));
    }

    #[test]
    fn query_headers_and_bodies() {
        let r = req("POST", "/q", "limit=10&q=a%20b", r#"{"q": "SELECT id FROM customer", "x": {"y": 1, "z": 2}}"#);
        assert!(matcher("path: /q\nquery: {q: a b}\nheaders: {Prefer: transient}").matches(&r));
        assert!(!matcher("path: /q\nquery: {q: c}").matches(&r));
        assert!(matcher("path: /q\nbody: {x: {y: 1}}").matches(&r));
        assert!(!matcher("path: /q\nbody: {x: {y: 2}}").matches(&r));
        assert!(matcher("path: /q\nbody_contains: FROM customer").matches(&r));
        assert!(matcher("path: /q\nsoap_action: GetData").matches(&r));
    }

    #[test]
    fn graphql_operation_names() {
        assert_eq!(graphql_operation(&json!({"query": "mutation inventorySet($input: X!) { a }"})).as_deref(), Some("inventorySet"));
        assert_eq!(graphql_operation(&json!({"query": "{ shop { name } }"})), None);
        assert_eq!(graphql_operation(&json!({"operationName": "Op", "query": "query Other { a }"})).as_deref(), Some("Op"));
    }
}
