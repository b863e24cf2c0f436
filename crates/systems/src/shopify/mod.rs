//! Shopify Admin API (REST and GraphQL) and its webhooks.
//!
//! Reproduced: versioned paths `/admin/api/{YYYY-MM}/…` (a request for another version is refused),
//! `X-Shopify-Access-Token` checked with Shopify's 401 body, `X-Shopify-Shop-Api-Call-Limit` on
//! every REST answer, `X-Shopify-API-Version`, errors under `errors`, 429 + `Retry-After`, endpoints
//! a version removed answering 404, request schemas answered with 422 like Shopify's validation,
//! GraphQL throttling with `extensions.cost`, webhooks signed with HMAC-SHA256 of the raw body,
//! `Link` pagination; each version's documented changes (GraphQL rules, deprecation headers),
//! the shop's inventory with compare-and-swap, expiring offline access tokens with rotating
//! refresh tokens, and fall-forward of versions past their accessible-until date.

mod graphql;
mod inventory;
mod mock;
mod tokens;
mod records;
mod traffic;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use harness_core::{Exchange, MockResponse, SystemId};
use harness_mock::{MockBehaviour, graphql_operation};
use harness_redact::TokenShape;
use harness_syntax::system_file::KnownChange;
use serde_json::{Value, json};

use crate::crypto::{hex, hmac_sha256};
use crate::client::{AuthError, AuthScheme, BoxFuture, HttpClient, OutgoingRequest};
use crate::system::{Answer, StateError, System, Webhooks, http_answer};
use crate::{MockSetup, SystemVersion};

pub(crate) const ID: &str = "shopify";

/// Systems are listed the way an order travels: the storefront, where it starts, first.
#[linkme::distributed_slice(harness_core::system_id::LISTED)]
static LISTED: harness_core::system_id::Listed = harness_core::system_id::Listed { system: ID, rank: 0 };

const PRESETS: &[&str] = &["rate-limited", "unauthorized", "not-found", "unprocessable", "server-error", "unavailable", "graphql-throttled"];
const UNAUTHORIZED: &str = "[API] Invalid API key or access token (unrecognized login or wrong password)";

pub(crate) struct Shopify {
    id: SystemId,
}

impl Shopify {
    pub(crate) fn new() -> Self {
        Shopify { id: SystemId::new(ID).expect("a valid name") }
    }
}

fn errors(status: u16, errors: Value) -> MockResponse {
    MockResponse::json(status, &json!({ "errors": errors }))
}

fn is_graphql(path: &str) -> bool {
    path.ends_with("/graphql.json")
}

impl System for Shopify {
    fn id(&self) -> &SystemId {
        &self.id
    }

    fn records(&self) -> Option<&dyn crate::records::Records> {
        Some(&records::ShopifyRecords)
    }

    fn credential_call(&self, _version: &SystemVersion, request: &harness_core::RecordedRequest) -> bool {
        request.method == "POST" && request.path == tokens::TOKEN_PATH
    }

    fn mock(&self, version: &Arc<SystemVersion>, setup: &MockSetup) -> Arc<dyn MockBehaviour> {
        Arc::new(mock::Mock::new(version.clone(), setup))
    }

    fn falls_forward(&self) -> bool {
        true
    }

    fn check_state(&self, state: &Value) -> Result<(), StateError> {
        inventory::StateSpec::parse(state).map(|_| ()).map_err(StateError::Unreadable)
    }

    fn breaches(&self, version: &SystemVersion, request: &harness_core::RecordedRequest) -> Vec<(String, KnownChange)> {
        let Some(body) = request.json().filter(|_| is_graphql(&request.path)) else { return Vec::new() };
        graphql::breaches(&body, &version.in_force).into_iter().map(|b| b.change.clone()).collect()
    }

    /// A request answered by another version than its path names (fall-forward), and the
    /// deprecated fields Shopify says a request used.
    fn notices(&self, exchanges: &[&Exchange]) -> Vec<String> {
        let mut out = Vec::new();
        for e in exchanges {
            let asked = e.request.path.strip_prefix("/admin/api/").and_then(|r| r.split('/').next()).unwrap_or("");
            if let Some(answered) = e.response.header_value("x-shopify-api-version").filter(|v| !asked.is_empty() && v != &asked) {
                out.push(format!("requests for API version {asked} were answered as {answered} (X-Shopify-API-Version): {asked} is past its accessible-until date, and Shopify answers it with its oldest supported version"));
            }
            if let Some(reason) = e.response.header_value("x-shopify-api-deprecated-reason") {
                out.push(format!("{} uses deprecated fields: {reason} (X-Shopify-API-Deprecated-Reason)", graphql_name(e).unwrap_or_else(|| e.request.line())));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn preset(&self, _version: &SystemVersion, name: &str) -> Option<MockResponse> {
        Some(match name {
            "rate-limited" => errors(429, json!("Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.")).header("Retry-After", "2.0"),
            "unauthorized" => errors(401, json!(UNAUTHORIZED)),
            "not-found" => errors(404, json!("Not Found")),
            "unprocessable" => errors(422, json!({"base": ["The request could not be processed"]})),
            "server-error" => errors(500, json!("Internal Server Error")),
            "unavailable" => errors(503, json!("Service Unavailable")),
            "graphql-throttled" => MockResponse::json(
                200,
                &json!({
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                    "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": null,
                        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 4, "restoreRate": 100.0}}}
                }),
            ),
            _ => return None,
        })
    }

    fn presets(&self, _version: &SystemVersion) -> Vec<String> {
        PRESETS.iter().map(|p| p.to_string()).collect()
    }

    fn auth_methods(&self) -> Vec<&'static str> {
        vec!["access-token", "expiring-token"]
    }

    fn auth(&self, method: &str, version: Arc<SystemVersion>, base_url: String) -> Option<Box<dyn AuthScheme>> {
        match method {
            "access-token" => Some(Box::new(AccessToken(version))),
            "expiring-token" => Some(Box::new(tokens::ExpiringToken { system: version, base_url, refresh: std::sync::Mutex::new(None) })),
            _ => None,
        }
    }

    fn classify(&self, _version: &SystemVersion, path: &str, status: u16, headers: &[(String, String)], body: &[u8]) -> Answer {
        let summary = || self.summary(status, body);
        if !is_graphql(path) || !(200..300).contains(&status) {
            return http_answer(status, headers, summary);
        }
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if let Some(errors) = body.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
            if Value::Array(errors.clone()).to_string().contains("THROTTLED") {
                return Answer::Transient { wait: throttle_wait(&body).map(|d| (d, "GraphQL throttle")), reason: summary() };
            }
            let messages: Vec<String> = errors.iter().map(|e| e.get("message").and_then(Value::as_str).unwrap_or("error").to_string()).collect();
            return Answer::Refused(format!("GraphQL errors: {}", messages.join("; ")));
        }
        let user_errors: Vec<String> = body
            .get("data")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|d| d.values())
            .filter_map(|op| op.get("userErrors").and_then(Value::as_array))
            .flatten()
            .map(|e| {
                let message = e.get("message").and_then(Value::as_str).unwrap_or("");
                // The code is what clients switch on (`CHANGE_FROM_QUANTITY_STALE`).
                let message = match e.get("code").and_then(Value::as_str) {
                    Some(code) => format!("{message} ({code})"),
                    None => message.to_string(),
                };
                match e.get("field").and_then(Value::as_array) {
                    Some(path) => {
                        let field: Vec<String> = path.iter().map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string)).collect();
                        format!("{}: {message}", field.join("."))
                    }
                    None => message,
                }
            })
            .collect();
        if user_errors.is_empty() { Answer::Accepted { rejected: None } } else { Answer::Refused(format!("userErrors: {}", user_errors.join("; "))) }
    }

    /// Shopify's `errors` (a string, field → messages, or a list) in one line; GraphQL `errors` too.
    fn error_detail(&self, body: &[u8]) -> Option<String> {
        let v: Value = serde_json::from_slice(body).ok()?;
        Some(match v.get("errors")? {
            Value::String(s) => s.clone(),
            Value::Object(fields) => fields
                .iter()
                .map(|(k, msgs)| format!("{k}: {}", msgs.as_array().map_or(msgs.to_string(), |a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))))
                .collect::<Vec<_>>()
                .join("; "),
            Value::Array(items) => items
                .iter()
                .map(|e| e.get("message").and_then(Value::as_str).map_or_else(|| e.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })
    }

    /// A REST create by its body; a GraphQL mutation whose name ends in `Create` by its variables.
    fn created_identities(&self, exchange: &Exchange) -> Vec<String> {
        let req = &exchange.request;
        let body = req.json().unwrap_or(Value::Null);
        if !is_graphql(&req.path) {
            return vec![format!("shopify {} {body}", req.path)];
        }
        match graphql_operation(&body) {
            Some(op) if op.ends_with("Create") => vec![format!("shopify {op} {}", body.get("variables").cloned().unwrap_or_default())],
            _ => Vec::new(),
        }
    }

    fn webhook_headers(&self, version: &SystemVersion, topic: &str, body: &[u8], event: &str) -> Option<Vec<(String, String)>> {
        let digest = hmac_sha256(version.credential(traffic::WEBHOOKS.secret_credential).as_bytes(), body);
        // The ids stand for the event and its body; the body enters through its digest, so a
        // plan of thousands of cases reads each body once.
        let identity = [event.as_bytes(), b"\0", &digest].concat();
        let id = &hex(&hmac_sha256(b"webhook-id", &identity))[..32];
        let event = &hex(&hmac_sha256(b"event-id", &identity))[..32];
        Some(vec![
            ("Content-Type".into(), "application/json".into()),
            (traffic::WEBHOOKS.topic_header.into(), topic.to_string()),
            (traffic::WEBHOOKS.signature_header.into(), base64::engine::general_purpose::STANDARD.encode(digest)),
            ("X-Shopify-Shop-Domain".into(), version.credential("shop_domain").to_string()),
            (traffic::VERSION_HEADER.into(), version.version.clone()),
            ("X-Shopify-Webhook-Id".into(), format!("{}-{}-{}-{}-{}", &id[..8], &id[8..12], &id[12..16], &id[16..20], &id[20..32])),
            // Derived from the event and body too, so a replay carries the same ids every run.
            ("X-Shopify-Event-Id".into(), format!("{}-{}-{}-{}-{}", &event[..8], &event[8..12], &event[12..16], &event[16..20], &event[20..32])),
            ("X-Shopify-Triggered-At".into(), harness_core::clock::rfc3339(harness_core::clock::EPOCH)),
        ])
    }

    /// `orders/create` carries an order: `{"order": {…}}` (the REST answer) stands for it.
    fn webhook_envelope(&self, topic: &str, recorded: &Value) -> Option<String> {
        let resource = topic.split('/').next()?;
        let singular = resource.strip_suffix('s').unwrap_or(resource);
        match recorded.as_object() {
            Some(o) if o.len() == 1 && o.get(singular).is_some_and(Value::is_object) => Some(singular.to_string()),
            _ => None,
        }
    }

    fn webhooks(&self) -> Option<Webhooks> {
        Some(traffic::WEBHOOKS)
    }

    fn webhook_signature_verifies(&self, secret: &str, body: &[u8], signature: &str) -> bool {
        traffic::signature_verifies(secret, body, signature)
    }

    fn recognises(&self, host: &str, path: &str) -> bool {
        traffic::recognises(host, path)
    }

    fn version_named(&self, path: &str, response_headers: &[(String, String)], request_headers: &[(String, String)]) -> Option<String> {
        traffic::version_named(path, response_headers, request_headers)
    }

    fn sent(&self, text: &str) -> bool {
        traffic::sent(text)
    }

    fn recorded_headers(&self) -> &'static [&'static str] {
        &["x-shopify-api-version"]
    }

    fn token_shapes(&self) -> &'static [TokenShape] {
        traffic::TOKEN_SHAPES
    }

    /// The Admin API access token: shown as sent (its value redacted), so a change of
    /// authentication shows.
    fn snapshot_headers(&self) -> Vec<String> {
        vec!["x-shopify-access-token".into()]
    }

    /// The `rel="next"` URL of a `Link` header.
    fn next_page(&self, _version: &SystemVersion, headers: &[(String, String)], _body: &[u8]) -> Option<String> {
        harness_core::find_header(headers, "link").and_then(crate::system::next_link)
    }

    fn graphql_path(&self) -> Option<&'static str> {
        Some("/admin/api/{$version}/graphql.json")
    }
}

/// `query inventoryItemBySku` for a GraphQL exchange.
fn graphql_name(e: &Exchange) -> Option<String> {
    let body = e.request.json()?;
    let op = graphql::operation(&body)?;
    Some(format!("{} {}", op.kind, op.name.or_else(|| op.fields.first().map(|f| f.name.clone()))?))
}

impl Shopify {
    fn summary(&self, status: u16, body: &[u8]) -> String {
        (self as &dyn System).error_summary(status, body)
    }
}

/// How long a throttled GraphQL request should wait: the cost points the bucket lacks, refilled
/// at the restore rate (points per second), from the answer's `extensions.cost`.
fn throttle_wait(body: &Value) -> Option<Duration> {
    let cost = body.get("extensions")?.get("cost")?;
    let requested = cost.get("requestedQueryCost")?.as_f64()?;
    let status = cost.get("throttleStatus")?;
    let available = status.get("currentlyAvailable")?.as_f64()?;
    let rate = status.get("restoreRate")?.as_f64().filter(|r| *r > 0.0)?;
    Some(Duration::from_secs_f64(((requested - available) / rate).max(0.0)))
}

/// The Admin API access token in `X-Shopify-Access-Token`.
struct AccessToken(Arc<SystemVersion>);

impl AuthScheme for AccessToken {
    fn obtain<'a>(&'a self, _: &'a HttpClient) -> BoxFuture<'a, Result<String, AuthError>> {
        Box::pin(std::future::ready(Ok(String::new())))
    }
    fn apply(&self, _: &str, request: &mut OutgoingRequest, _: u64, _: Duration) {
        request.set_header("X-Shopify-Access-Token", self.0.credential("access_token"));
    }
    fn refreshable(&self) -> bool {
        false
    }
}
