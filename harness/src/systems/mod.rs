//! The three platforms the harness impersonates, and how a built-in flow talks to each.
//!
//! For every system this module knows what the real API does that a stub file cannot say: who may
//! call (auth), what every response carries, how errors are shaped, what happens by default
//! (NetSuite answers a create with 204 and a `Location`), and how a client authenticates.

pub mod catalog;
mod netsuite;
mod peoplevox;
mod shopify;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use catalog::{Catalog, Endpoint, Migration, Schema, SystemVersion};
pub use peoplevox::{sequence as peoplevox_sequence, soap_request};
pub use shopify::{graphql_throttle_wait, verify_webhook, webhook_headers};

use crate::http::{HttpClient, OutgoingRequest};
use crate::mock::{MockResponse, RecordedRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SystemKind {
    Shopify,
    Netsuite,
    Peoplevox,
}

impl SystemKind {
    pub const ALL: [SystemKind; 3] = [SystemKind::Shopify, SystemKind::Netsuite, SystemKind::Peoplevox];

    pub fn name(self) -> &'static str {
        match self {
            SystemKind::Shopify => "shopify",
            SystemKind::Netsuite => "netsuite",
            SystemKind::Peoplevox => "peoplevox",
        }
    }

    pub fn parse(name: &str) -> Option<SystemKind> {
        SystemKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Prefix of the environment variables an external flow gets (`HARNESS_NETSUITE_URL`, ...).
    pub fn env_prefix(self) -> String {
        format!("HARNESS_{}", self.name().to_ascii_uppercase())
    }
}

impl fmt::Display for SystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The mock side of a system: rules the real API applies to every request. One instance per
/// scenario run, so state such as issued tokens or created records never leaks between scenarios.
pub trait SystemMock: Send + Sync {
    /// Checked before any stub, as the real API checks them first: authentication, required
    /// headers, request schemas. `Some` refuses the request with that answer.
    fn gate(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse>;
    /// Fill in what a stubbed answer leaves to the system (content type, generated ids), and
    /// take note of what it means for the system's state (a token issued, a session ended).
    fn render(&self, request: &RecordedRequest, response: MockResponse, at: Duration) -> MockResponse {
        let _ = (request, at);
        response
    }
    /// What the system does for a request no stub matched, when it has a sensible default.
    fn default_response(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse>;
    /// The system's own "no such endpoint" answer.
    fn not_found(&self, request: &RecordedRequest) -> MockResponse;
    /// Headers every answer carries (Shopify's call-limit header).
    fn decorate(&self, request: &RecordedRequest, response: &mut MockResponse) {
        let _ = (request, response);
    }
    /// A canned answer named in a scenario (`preset: rate-limited`).
    fn preset(&self, name: &str) -> Option<MockResponse>;
}

/// Build the mock behaviour of `system` for one scenario run.
pub fn mock_for(system: &Arc<SystemVersion>) -> Arc<dyn SystemMock> {
    match system.kind {
        SystemKind::Shopify => Arc::new(shopify::Mock::new(system.clone())),
        SystemKind::Netsuite => Arc::new(netsuite::Mock::new(system.clone())),
        SystemKind::Peoplevox => Arc::new(peoplevox::Mock::new(system.clone())),
    }
}

/// Names of the presets each system offers, for validation and the README.
pub fn preset_names(kind: SystemKind) -> &'static [&'static str] {
    match kind {
        SystemKind::Shopify => shopify::PRESETS,
        SystemKind::Netsuite => netsuite::PRESETS,
        SystemKind::Peoplevox => peoplevox::PRESETS,
    }
}

/// How a built-in flow authenticates to a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// Shopify Admin API access token in `X-Shopify-Access-Token`.
    AccessToken,
    /// NetSuite OAuth 2.0 client credentials: a token from the token endpoint, sent as Bearer.
    Oauth2,
    /// NetSuite token-based authentication (OAuth 1.0, HMAC-SHA256 signature).
    Tba,
    /// Peoplevox `Authenticate`, then the session in every call's `UserSessionCredentials`.
    Session,
    /// No credentials at all (to test that the mock refuses).
    None,
}

impl AuthMethod {
    pub fn default_for(kind: SystemKind) -> AuthMethod {
        match kind {
            SystemKind::Shopify => AuthMethod::AccessToken,
            SystemKind::Netsuite => AuthMethod::Oauth2,
            SystemKind::Peoplevox => AuthMethod::Session,
        }
    }

    pub fn allowed_for(self, kind: SystemKind) -> bool {
        matches!(
            (self, kind),
            (AuthMethod::None, _)
                | (AuthMethod::AccessToken, SystemKind::Shopify)
                | (AuthMethod::Oauth2 | AuthMethod::Tba, SystemKind::Netsuite)
                | (AuthMethod::Session, SystemKind::Peoplevox)
        )
    }
}

/// The client side of a system for one flow run: holds the token or session, signs requests, and
/// refreshes credentials once per expiry however many requests notice it at the same time.
pub struct ClientAuth {
    method: AuthMethod,
    system: Arc<SystemVersion>,
    base_url: String,
    /// The current token or session and its generation; a refresh bumps the generation.
    credential: tokio::sync::Mutex<(Option<String>, u64)>,
    refreshes: std::sync::atomic::AtomicUsize,
    nonce: std::sync::atomic::AtomicU64,
}

impl ClientAuth {
    pub fn new(method: AuthMethod, system: Arc<SystemVersion>, base_url: String) -> Self {
        ClientAuth {
            method,
            system,
            base_url,
            credential: tokio::sync::Mutex::new((None, 0)),
            refreshes: 0.into(),
            nonce: 0.into(),
        }
    }

    /// How many times a credential was obtained after the first (refreshes after expiry).
    pub fn refreshes(&self) -> usize {
        self.refreshes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Add credentials to `request`, obtaining them first if needed. Returns the credential
    /// generation used, to pass back to [`ClientAuth::expired`].
    pub async fn authorize(&self, http: &HttpClient, request: &mut OutgoingRequest) -> Result<u64, String> {
        let (credential, generation) = {
            let mut guard = self.credential.lock().await;
            if guard.0.is_none() && self.needs_credential() {
                guard.0 = Some(self.obtain(http).await?);
            }
            guard.clone()
        };
        match self.method {
            AuthMethod::None => {}
            AuthMethod::AccessToken => shopify::authorize(&self.system, request),
            AuthMethod::Oauth2 => request.set_header("Authorization", format!("Bearer {}", credential.unwrap_or_default())),
            AuthMethod::Tba => {
                let n = self.nonce.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                netsuite::sign_tba(&self.system, &self.base_url, request, n, http.clock_now());
            }
            AuthMethod::Session => peoplevox::authorize(&self.system, request, credential.as_deref().unwrap_or_default()),
        }
        Ok(generation)
    }

    /// The system said the credential of `generation` is no longer valid: drop it so the next
    /// [`ClientAuth::authorize`] obtains a new one. Concurrent callers reporting the same
    /// generation cause a single refresh.
    pub async fn expired(&self, generation: u64) {
        let mut guard = self.credential.lock().await;
        if guard.1 == generation && guard.0.is_some() {
            guard.0 = None;
            guard.1 += 1;
            self.refreshes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Whether `response` means the credential expired or was refused (as opposed to a business error).
    pub fn is_auth_failure(&self, status: u16, body: &[u8]) -> bool {
        match self.system.kind {
            SystemKind::Peoplevox => peoplevox::is_session_failure(body),
            _ => status == 401,
        }
    }

    /// Whether a refused credential can be replaced by asking again (tokens and sessions can;
    /// fixed access tokens and TBA tokens cannot).
    pub fn refreshable(&self) -> bool {
        self.needs_credential()
    }

    fn needs_credential(&self) -> bool {
        matches!(self.method, AuthMethod::Oauth2 | AuthMethod::Session)
    }

    async fn obtain(&self, http: &HttpClient) -> Result<String, String> {
        match self.method {
            AuthMethod::Oauth2 => netsuite::fetch_token(&self.system, &self.base_url, http).await,
            AuthMethod::Session => peoplevox::authenticate(&self.system, &self.base_url, http).await,
            _ => Ok(String::new()),
        }
    }
}

/// Credentials of a system version as environment variables for external flows
/// (`HARNESS_NETSUITE_ACCOUNT_ID`, ...).
pub fn credential_env(system: &SystemVersion) -> BTreeMap<String, String> {
    system
        .credentials
        .iter()
        .map(|(k, v)| (format!("{}_{}", system.kind.env_prefix(), k.to_ascii_uppercase()), v.clone()))
        .collect()
}

/// Summarise an error answer in one line, the way each system words its errors.
pub fn error_summary(kind: SystemKind, status: u16, body: &[u8]) -> String {
    let detail = match kind {
        SystemKind::Shopify => shopify::error_detail(body),
        SystemKind::Netsuite => netsuite::error_detail(body),
        SystemKind::Peoplevox => peoplevox::error_detail(body),
    };
    match detail {
        Some(d) => format!("{status} {d}"),
        None if body.is_empty() => format!("{status}"),
        None => format!("{status} {}", String::from_utf8_lossy(&body[..body.len().min(200)])),
    }
}

/// What each request created, as identities: two committed requests creating the same identity
/// are a duplicate (a retried create that the system had already carried out).
/// NetSuite: a POST to a record type, by `externalId` (or by body); Shopify: a REST POST or a
/// GraphQL mutation whose name ends in `Create`, by body; Peoplevox: each `SaveData` row, by
/// template and reference. Upserts (`PUT …/eid:`) are idempotent and create no identity.
pub fn created_identities(exchange: &crate::mock::Exchange) -> Vec<String> {
    let req = &exchange.request;
    if !accepted(exchange) || req.method != "POST" {
        return Vec::new();
    }
    match exchange.system {
        SystemKind::Netsuite => {
            let Some(record) = req.path.strip_prefix("/services/rest/record/v1/").filter(|r| !r.contains('/')) else { return Vec::new() };
            let body = req.json().unwrap_or(serde_json::Value::Null);
            match body.get("externalId").and_then(serde_json::Value::as_str) {
                Some(eid) => vec![format!("netsuite {record} externalId={eid}")],
                None => vec![format!("netsuite {record} {body}")],
            }
        }
        SystemKind::Shopify => {
            let body = req.json().unwrap_or(serde_json::Value::Null);
            if req.path.ends_with("/graphql.json") {
                match crate::mock::stub::graphql_operation(&body) {
                    Some(op) if op.ends_with("Create") => vec![format!("shopify {op} {}", body.get("variables").cloned().unwrap_or_default())],
                    _ => Vec::new(),
                }
            } else {
                vec![format!("shopify {} {body}", req.path)]
            }
        }
        SystemKind::Peoplevox => peoplevox::saved_references(&req.body_text(), &String::from_utf8_lossy(&exchange.response.body)),
    }
}

/// Whether the system took the request: a 2xx answer that does not carry a refusal in its body
/// (Shopify GraphQL `errors` or `userErrors`, Peoplevox `ResponseId -1`).
pub fn accepted(exchange: &crate::mock::Exchange) -> bool {
    let response = &exchange.response;
    if !(200..300).contains(&response.status) || response.fault.is_some_and(|f| !f.after_commit()) {
        return false;
    }
    match exchange.system {
        SystemKind::Peoplevox => crate::soap::read_result(&String::from_utf8_lossy(&response.body)).is_ok_and(|r| r.response_id == 0),
        SystemKind::Shopify if exchange.request.path.ends_with("/graphql.json") => {
            let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
            let user_errors = body.get("data").and_then(serde_json::Value::as_object).into_iter().flat_map(|d| d.values()).any(|op| {
                op.get("userErrors").and_then(serde_json::Value::as_array).is_some_and(|e| !e.is_empty())
            });
            body.get("errors").is_none() && !user_errors
        }
        _ => true,
    }
}
