//! Which requests a stub recognises: method, path (exact, `{name}` template or `~regex`), query,
//! headers, JSON body by subset, raw body text, GraphQL operation and variables, SOAP operation.

use harness_core::RecordedRequest;
use harness_syntax::stub::MatchSpec;
use regex::Regex;
use serde_json::Value;

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

/// A `match` [`Matcher::compile`] refuses.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MatcherError {
    #[error("invalid path regex: {0}")]
    Regex(regex::Error),
    #[error("path `{0}` must start with `/` (or `~` for a regular expression)")]
    Relative(String),
}

impl Matcher {
    pub fn compile(spec: &MatchSpec) -> Result<Matcher, MatcherError> {
        let path = if let Some(re) = spec.path.strip_prefix('~') {
            PathPattern::Regex(Regex::new(re).map_err(MatcherError::Regex)?)
        } else if spec.path.contains('{') {
            let segs = spec
                .path
                .split('/')
                .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string()))
                .collect();
            PathPattern::Template(segs)
        } else {
            PathPattern::Exact(spec.path.value.clone())
        };
        if !matches!(path, PathPattern::Regex(_)) && !spec.path.starts_with('/') {
            return Err(MatcherError::Relative(spec.path.value.clone()));
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
    pub fn route(method: &str, path: &str) -> Result<Matcher, MatcherError> {
        Matcher::compile(&MatchSpec::route(Some(method), path))
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
            if self.graphql_operation.as_ref().is_some_and(|op| graphql_operation(&gql).as_deref() != Some(op.as_str()))
            {
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

/// The operation name of a GraphQL request: `operationName`, else the name of the operation its
/// document runs (read by [`crate::graphql`]).
pub fn graphql_operation(request: &Value) -> Option<String> {
    if let Some(name) = request.get("operationName").and_then(Value::as_str) {
        return Some(name.to_string());
    }
    crate::graphql::operation(request.get("query")?.as_str()?, None)?.name
}

/// `actual` contains `expected`: objects by subset of keys, arrays element-wise with equal length,
/// scalars by equality.
pub fn json_contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            e.iter().all(|(k, ev)| a.get(k).is_some_and(|av| json_contains(av, ev)))
        }
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
            headers: vec![
                ("prefer".into(), "transient".into()),
                ("soapaction".into(), "\"http://www.peoplevox.net/GetData\"".into()),
            ],
            body: body.to_string().into(),
        }
    }

    fn matcher(yaml: &str) -> Matcher {
        Matcher::compile(&harness_syntax::yaml::parse(std::path::Path::new("t.yaml"), yaml).unwrap()).unwrap()
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
        // A SOAP stub may leave the path out: the service has one endpoint.
        assert!(matcher("soap_action: GetData").matches(&r));
        assert!(!matcher("soap_action: SaveData").matches(&r));
    }

    #[test]
    fn graphql_operation_names() {
        assert_eq!(
            graphql_operation(&json!({"query": "mutation inventorySet($input: X!) { a }"})).as_deref(),
            Some("inventorySet")
        );
        assert_eq!(graphql_operation(&json!({"query": "{ shop { name } }"})), None);
        assert_eq!(
            graphql_operation(&json!({"operationName": "Op", "query": "query Other { a }"})).as_deref(),
            Some("Op")
        );
        assert_eq!(
            graphql_operation(
                &json!({"query": "# stock\nfragment F on X { id }\nmutation inventorySet { a { ...F } }"})
            )
            .as_deref(),
            Some("inventorySet")
        );
    }
}
