//! Systems a project declares in `mocks/<system>/<version>/system.yaml` with an `api:` block: a
//! REST API with JSON bodies, its authentication, required headers, error shape, rate limit and
//! paging, served by one generic mock. What such a system cannot do (sign webhooks, speak SOAP or
//! GraphQL, keep state beyond tokens) is in the README.

mod api;
mod mock;

pub(crate) use api::DeclaredApi;

use std::sync::Arc;
use std::time::Duration;

use harness_core::{Exchange, MockResponse, SystemId};
use harness_mock::MockBehaviour;
use serde_json::Value;

use crate::SystemVersion;
use crate::client::{AuthError, AuthScheme, BoxFuture, HttpClient, OutgoingRequest};
use crate::system::{Answer, MockSetup, System, http_answer};
use api::Auth;

const PRESETS: &[&str] = &[
    "rate-limited",
    "unauthorized",
    "forbidden",
    "not-found",
    "conflict",
    "validation-error",
    "server-error",
    "unavailable",
];

/// A declared system; `api` is its latest version's declaration, for what is asked without a
/// version (how an error answer reads, what a request creates).
pub(crate) struct Declared {
    id: SystemId,
    api: Arc<DeclaredApi>,
}

impl Declared {
    pub(crate) fn new(id: SystemId, api: Arc<DeclaredApi>) -> Self {
        Declared { id, api }
    }

    fn api_of<'a>(&'a self, version: &'a SystemVersion) -> &'a DeclaredApi {
        version.api.as_deref().unwrap_or(&self.api)
    }
}

impl System for Declared {
    fn id(&self) -> &SystemId {
        &self.id
    }

    fn credential_call(&self, version: &SystemVersion, request: &harness_core::RecordedRequest) -> bool {
        matches!(&self.api_of(version).auth, Auth::ClientCredentials { token_path, .. } if request.method == "POST" && request.path == *token_path)
    }

    fn mock(&self, version: &Arc<SystemVersion>, _setup: &MockSetup) -> Arc<dyn MockBehaviour> {
        let api = version.api.clone().unwrap_or_else(|| self.api.clone());
        Arc::new(mock::Mock::new(version.clone(), api))
    }

    fn preset(&self, version: &SystemVersion, name: &str) -> Option<MockResponse> {
        let api = self.api_of(version);
        Some(match name {
            "rate-limited" => {
                let (status, wait, code) = &api.rate_limit;
                api.error(
                    *status,
                    code,
                    "Request was throttled.",
                    &format!("Request was throttled. Expected available in {} second(s).", wait.as_secs()),
                    "/",
                )
                .header("Retry-After", wait.as_secs().to_string())
            }
            "unauthorized" => api.error(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                "missing or invalid credentials",
                "/",
            ),
            "forbidden" => api.error(
                403,
                "permission_denied",
                "Forbidden.",
                "the credentials lack the permission for this action",
                "/",
            ),
            "not-found" => api.error(404, "not_found", "Not found.", "the resource does not exist", "/"),
            "conflict" => api.error(409, "conflict", "Conflict.", "the resource exists already", "/"),
            "validation-error" => {
                api.error(api.validation_status, "invalid", "Invalid input.", "the request is not valid", "/")
            }
            "server-error" => api.error(500, "error", "Internal server error.", "something went wrong", "/"),
            "unavailable" => api.error(503, "unavailable", "Service unavailable.", "try again later", "/"),
            _ => return None,
        })
    }

    fn presets(&self, _version: &SystemVersion) -> Vec<String> {
        PRESETS.iter().map(|p| p.to_string()).collect()
    }

    fn auth_methods(&self) -> Vec<&'static str> {
        vec![self.api.auth.method()]
    }

    fn auth(&self, method: &str, version: Arc<SystemVersion>, base_url: String) -> Option<Box<dyn AuthScheme>> {
        let auth = self.api_of(&version).auth.clone();
        (method == auth.method())
            .then(|| Box::new(DeclaredAuth { auth, system: version, base_url }) as Box<dyn AuthScheme>)
    }

    fn classify(
        &self,
        _version: &SystemVersion,
        _path: &str,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Answer {
        http_answer(status, headers, || (self as &dyn System).error_summary(status, body))
    }

    fn error_detail(&self, body: &[u8]) -> Option<String> {
        self.api.detail(body)
    }

    fn created_identities(&self, exchange: &Exchange) -> Vec<String> {
        let request = &exchange.request;
        if request.method != "POST" {
            return Vec::new();
        }
        let body = request.json().unwrap_or(Value::Null);
        self.api.identity(&body).map(|id| format!("{} {} {id}", self.id, request.path)).into_iter().collect()
    }

    fn snapshot_headers(&self) -> Vec<String> {
        self.api.required_headers.iter().map(|(name, _)| name.to_ascii_lowercase()).collect()
    }

    fn next_page(&self, version: &SystemVersion, headers: &[(String, String)], body: &[u8]) -> Option<String> {
        self.api_of(version).next_page(headers, body)
    }
}

/// The client side of a declared authentication, for built-in flows.
struct DeclaredAuth {
    auth: Auth,
    system: Arc<SystemVersion>,
    base_url: String,
}

impl AuthScheme for DeclaredAuth {
    fn obtain<'a>(&'a self, http: &'a HttpClient) -> BoxFuture<'a, Result<String, AuthError>> {
        Box::pin(async move {
            let Auth::ClientCredentials { token_path, client_id, client_secret, .. } = &self.auth else {
                return Ok(String::new());
            };
            let mut request = OutgoingRequest::new(self.system.system.clone(), "POST", token_path.clone());
            request.set_header("Content-Type", "application/x-www-form-urlencoded");
            let form =
                [("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", client_secret)];
            request.body =
                harness_core::encoding::encode_query(&form.map(|(k, v)| (k.to_string(), v.to_string()))).into();
            let response = http
                .send(&self.base_url, &request)
                .await
                .map_err(|source| AuthError::Unanswered { asking: "token request", source })?;
            if !response.is_success() {
                return Err(AuthError::Refused { asking: "token request", detail: response.status.to_string() });
            }
            let body: Value = serde_json::from_slice(&response.body)
                .map_err(|_| AuthError::Unusable("token response is not JSON".into()))?;
            body.get("access_token")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| AuthError::Unusable("token response has no access_token".into()))
        })
    }

    fn apply(&self, credential: &str, request: &mut OutgoingRequest, _: u64, _: Duration) {
        // What every request must carry (an API revision) goes on unless the step set it.
        let api = self.system.api.as_deref();
        for (name, value) in api.iter().flat_map(|a| &a.required_headers) {
            if request.header(name).is_none() {
                request.set_header(name, value.clone());
            }
        }
        match &self.auth {
            Auth::None => {}
            Auth::Header { name, value } => request.set_header(name, value.clone()),
            Auth::ClientCredentials { .. } => request.set_header("Authorization", format!("Bearer {credential}")),
        }
    }

    fn refreshable(&self) -> bool {
        matches!(self.auth, Auth::ClientCredentials { .. })
    }
}
