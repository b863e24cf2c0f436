//! The mock of a declared API: paths under its base path, its authentication (issuing tokens for
//! client credentials), required headers, request schemas answered in its error shape, endpoints
//! it removed answering 410, and each endpoint's declared answer when no stub matches.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness_core::encoding::form_pairs;
use harness_core::{MockResponse, RecordedRequest};
use harness_mock::MockBehaviour;
use serde_json::json;

use super::api::{Auth, DeclaredApi};
use crate::SystemVersion;

pub(super) struct Mock {
    system: Arc<SystemVersion>,
    api: Arc<DeclaredApi>,
    /// Tokens issued to client-credentials clients, with when (on the request clock).
    tokens: Mutex<BTreeMap<String, Duration>>,
}

impl Mock {
    pub(super) fn new(system: Arc<SystemVersion>, api: Arc<DeclaredApi>) -> Self {
        Mock { system, api, tokens: Mutex::default() }
    }

    fn token_path(&self) -> Option<&str> {
        match &self.api.auth {
            Auth::ClientCredentials { token_path, .. } => Some(token_path),
            _ => None,
        }
    }

    fn authenticated(&self, request: &RecordedRequest, at: Duration) -> bool {
        match &self.api.auth {
            Auth::None => true,
            Auth::Header { name, value } => request.header(name) == Some(value.as_str()),
            Auth::ClientCredentials { expires_in, .. } => {
                let token = request.header("authorization").and_then(|a| a.strip_prefix("Bearer "));
                token.is_some_and(|t| {
                    self.tokens.lock().expect("token lock").get(t).is_some_and(|issued| at < *issued + *expires_in)
                })
            }
        }
    }

    fn issue_token(&self, request: &RecordedRequest, at: Duration) -> MockResponse {
        let Auth::ClientCredentials { client_id, client_secret, expires_in, .. } = &self.api.auth else {
            return self.not_found(request);
        };
        let form: BTreeMap<String, String> = form_pairs(&String::from_utf8_lossy(&request.body)).into_iter().collect();
        let oauth_error = |status, code: &str| MockResponse::json(status, &json!({"error": code}));
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return oauth_error(400, "unsupported_grant_type");
        }
        if form.get("client_id") != Some(client_id) || form.get("client_secret") != Some(client_secret) {
            return oauth_error(401, "invalid_client");
        }
        let mut tokens = self.tokens.lock().expect("token lock");
        let token = format!("{}-access-token-{}", self.system.system, tokens.len() + 1);
        tokens.insert(token.clone(), at);
        MockResponse::json(
            200,
            &json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in.as_secs()}),
        )
    }
}

impl MockBehaviour for Mock {
    fn gate(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse> {
        if self.token_path() == Some(request.path.as_str()) {
            return None;
        }
        if !request.path.starts_with(&self.api.base_path) {
            return Some(self.not_found(request));
        }
        if !self.authenticated(request, at) {
            return Some(self.api.error(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                "missing or invalid credentials",
                "/",
            ));
        }
        for (name, value) in &self.api.required_headers {
            match request.header(name) {
                Some(v) if v == value => {}
                Some(v) => {
                    return Some(self.api.error(
                        400,
                        "invalid",
                        "Invalid input.",
                        &format!("the `{name}` header must be `{value}`, not `{v}`"),
                        "/",
                    ));
                }
                None => {
                    return Some(self.api.error(
                        400,
                        "invalid",
                        "Invalid input.",
                        &format!("the `{name}` header is required"),
                        "/",
                    ));
                }
            }
        }
        let endpoint = self.system.endpoint(&request.method, &request.path)?;
        if let Some(replaced) = &endpoint.removed {
            return Some(self.api.error(410, "gone", "Gone.", replaced, "/"));
        }
        let schema = endpoint.request_schema.as_ref()?;
        let Some(body) = request.json() else {
            return Some(self.api.error(
                self.api.validation_status,
                "invalid",
                "Invalid input.",
                "the body is not valid JSON",
                "/",
            ));
        };
        let violations = schema.violations(&body);
        let first = violations.first()?;
        let detail: Vec<String> = violations
            .iter()
            .map(|v| format!("{}: {}", if v.instance_path.is_empty() { "/" } else { &v.instance_path }, v.message))
            .collect();
        Some(self.api.error(
            self.api.validation_status,
            "invalid",
            "Invalid input.",
            &detail.join("; "),
            &first.instance_path,
        ))
    }

    fn default_response(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse> {
        if self.token_path() == Some(request.path.as_str()) {
            return Some(if request.method == "POST" {
                self.issue_token(request, at)
            } else {
                self.not_found(request)
            });
        }
        self.system.endpoint(&request.method, &request.path)?.answer.clone()
    }

    fn not_found(&self, request: &RecordedRequest) -> MockResponse {
        self.api.error(404, "not_found", "Not found.", &format!("no {} {}", request.method, request.path), "/")
    }

    fn decorate(&self, _request: &RecordedRequest, response: &mut MockResponse) {
        if response.header_value("content-type").is_none() && !response.body.is_empty() {
            response.set_header("Content-Type", self.api.content_type.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_syntax::system_file::SystemFile;

    fn mock(api_yaml: &str) -> Mock {
        let text =
            format!("system: acme\nversion: \"1\"\ncredentials: {{key: k-1, id: c-1, secret: s-1}}\napi:\n{api_yaml}");
        let spec: SystemFile = harness_syntax::yaml::parse(std::path::Path::new("system.yaml"), &text).unwrap();
        let system = SystemVersion::for_tests("acme", "1", &[("key", "k-1"), ("id", "c-1"), ("secret", "s-1")]);
        let api = DeclaredApi::compile(
            spec.api.as_ref().unwrap(),
            &system.credentials,
            std::path::Path::new("system.yaml"),
            &text,
        )
        .unwrap();
        Mock::new(Arc::new(system), Arc::new(api))
    }

    fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> RecordedRequest {
        RecordedRequest {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.to_string().into(),
        }
    }

    fn body(r: &MockResponse) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn key_header_and_required_headers_are_checked_in_the_declared_error_shape() {
        let m = mock(
            "  base_path: /api\n  auth: {header: {name: Authorization, value: \"Key {key}\"}}\n  required_headers: {revision: \"2026-07-15\"}\n  errors: {body: {errors: [{status: \"{status}\", code: \"{code}\", detail: \"{detail}\"}]}}\n",
        );
        let at = Duration::ZERO;
        assert_eq!(m.gate(&request("GET", "/other", &[], ""), at).unwrap().status, 404);
        let refused = m.gate(&request("GET", "/api/x", &[("authorization", "Key wrong")], ""), at).unwrap();
        assert_eq!((refused.status, body(&refused)["errors"][0]["code"].as_str()), (401, Some("not_authenticated")));
        let no_revision = m.gate(&request("GET", "/api/x", &[("authorization", "Key k-1")], ""), at).unwrap();
        assert_eq!(no_revision.status, 400);
        assert_eq!(body(&no_revision)["errors"][0]["status"], 400, "the status placeholder becomes a number");
        assert!(body(&no_revision)["errors"][0]["detail"].as_str().unwrap().contains("`revision`"));
        assert!(
            m.gate(&request("GET", "/api/x", &[("authorization", "Key k-1"), ("revision", "2026-07-15")], ""), at)
                .is_none()
        );
    }

    #[test]
    fn client_credentials_tokens_are_issued_and_expire() {
        let m = mock(
            "  auth: {client_credentials: {token_path: /oauth/token, client_id: \"{id}\", client_secret: \"{secret}\", expires_in: 60s}}\n",
        );
        let form = "grant_type=client_credentials&client_id=c-1&client_secret=s-1";
        let issued = m.default_response(&request("POST", "/oauth/token", &[], form), Duration::ZERO).unwrap();
        let token = body(&issued)["access_token"].as_str().unwrap().to_string();
        let bearer = format!("Bearer {token}");
        let call = request("GET", "/orders", &[("authorization", &bearer)], "");
        assert!(m.gate(&call, Duration::from_secs(59)).is_none());
        assert_eq!(m.gate(&call, Duration::from_secs(60)).unwrap().status, 401, "expired");
        let wrong = m
            .default_response(
                &request("POST", "/oauth/token", &[], "grant_type=client_credentials&client_id=c-1&client_secret=nope"),
                Duration::ZERO,
            )
            .unwrap();
        assert_eq!(wrong.status, 401);
    }
}
