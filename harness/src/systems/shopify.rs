//! Shopify Admin API (REST and GraphQL) and its webhooks.
//!
//! Reproduced: versioned paths `/admin/api/{YYYY-MM}/…` (a request for another version is refused),
//! `X-Shopify-Access-Token` checked with Shopify's 401 body, `X-Shopify-Shop-Api-Call-Limit` on
//! every REST answer, `X-Shopify-API-Version`, errors under `errors`, 429 + `Retry-After`, endpoints
//! a version removed answering 404, request schemas answered with 422 like Shopify's validation,
//! GraphQL throttling with `extensions.cost`, webhooks signed with HMAC-SHA256 of the raw body.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{SystemMock, SystemVersion};
use crate::http::OutgoingRequest;
use crate::mock::{MockResponse, RecordedRequest};

pub const PRESETS: &[&str] =
    &["rate-limited", "unauthorized", "not-found", "unprocessable", "server-error", "unavailable", "graphql-throttled"];

/// Size of the REST leaky bucket reported in the call-limit header (standard plan).
const BUCKET: usize = 40;

pub struct Mock {
    system: Arc<SystemVersion>,
    calls: AtomicUsize,
}

impl Mock {
    pub fn new(system: Arc<SystemVersion>) -> Self {
        Mock { system, calls: AtomicUsize::new(0) }
    }

    fn errors(status: u16, errors: Value) -> MockResponse {
        MockResponse::json(status, &json!({ "errors": errors }))
    }
}

impl SystemMock for Mock {
    fn gate(&self, request: &RecordedRequest, _at: Duration) -> Option<MockResponse> {
        let prefix = "/admin/api/";
        let Some(rest) = request.path.strip_prefix(prefix) else {
            return Some(self.not_found(request));
        };
        let version = rest.split('/').next().unwrap_or("");
        if version != self.system.version {
            // Mixing versions in one integration is a configuration bug worth failing loudly on.
            return Some(Self::errors(404, json!(format!("Not Found (this mock serves API version {} only, not {version})", self.system.version))));
        }
        let token = request.header("x-shopify-access-token");
        if token != Some(self.system.credential("access_token")) {
            return Some(Self::errors(401, json!("[API] Invalid API key or access token (unrecognized login or wrong password)")));
        }
        if let Some(endpoint) = self.system.endpoint(&request.method, &request.path) {
            if endpoint.removed.is_some() {
                return Some(self.not_found(request));
            }
            if let Some(schema) = &endpoint.request_schema {
                let Some(body) = request.json() else {
                    return Some(Self::errors(400, json!("Bad Request: the body is not valid JSON")));
                };
                let violations = schema.violations(&body);
                if !violations.is_empty() {
                    let mut fields = serde_json::Map::new();
                    for v in violations {
                        let field = v.instance_path.trim_start_matches('/').replace('/', ".");
                        let field = if field.is_empty() { "base".to_string() } else { field };
                        fields.entry(field).or_insert_with(|| json!([])).as_array_mut().expect("array").push(json!(v.message));
                    }
                    return Some(Self::errors(422, Value::Object(fields)));
                }
            }
        }
        None
    }

    fn render(&self, request: &RecordedRequest, mut response: MockResponse, _at: Duration) -> MockResponse {
        // Recorded `Link` headers name the real shop; point them at this mock so clients that
        // follow the URL as given stay on loopback.
        if let Some(link) = response.header_value("link").map(str::to_string) {
            let host = request.header("host").unwrap_or("localhost");
            let shop = format!("https://{}", self.system.credential("shop_domain"));
            response.set_header("Link", link.replace(&shop, &format!("http://{host}")));
        }
        if request.path.ends_with("/graphql.json") {
            add_query_cost(&mut response);
        }
        response
    }

    fn default_response(&self, _request: &RecordedRequest, _at: Duration) -> Option<MockResponse> {
        None
    }

    fn not_found(&self, _request: &RecordedRequest) -> MockResponse {
        Self::errors(404, json!("Not Found"))
    }

    fn decorate(&self, request: &RecordedRequest, response: &mut MockResponse) {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if !request.path.ends_with("/graphql.json") {
            response.set_header("X-Shopify-Shop-Api-Call-Limit", format!("{}/{BUCKET}", n.min(BUCKET)));
        }
        response.set_header("X-Shopify-API-Version", self.system.version.clone());
        response.set_header("X-Request-Id", format!("00000000-0000-4000-8000-{n:012}"));
        if response.header_value("content-type").is_none() && !response.body.is_empty() {
            response.set_header("Content-Type", "application/json; charset=utf-8");
        }
    }

    fn preset(&self, name: &str) -> Option<MockResponse> {
        Some(match name {
            "rate-limited" => Self::errors(429, json!("Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."))
                .header("Retry-After", "2.0"),
            "unauthorized" => Self::errors(401, json!("[API] Invalid API key or access token (unrecognized login or wrong password)")),
            "not-found" => Self::errors(404, json!("Not Found")),
            "unprocessable" => Self::errors(422, json!({"base": ["The request could not be processed"]})),
            "server-error" => Self::errors(500, json!("Internal Server Error")),
            "unavailable" => Self::errors(503, json!("Service Unavailable")),
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
}

/// Every GraphQL answer carries the query cost and the throttle bucket, as Shopify's does; a
/// recorded answer that already has them keeps its own.
fn add_query_cost(response: &mut MockResponse) {
    let Ok(mut body) = serde_json::from_slice::<Value>(&response.body) else { return };
    if body.get("data").is_none() || body.get("extensions").is_some() {
        return;
    }
    body["extensions"] = json!({"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}});
    response.body = serde_json::to_vec(&body).expect("JSON").into();
}

/// How long a throttled GraphQL request should wait: the cost points the bucket lacks, refilled
/// at the restore rate (points per second), from the answer's `extensions.cost`.
pub fn graphql_throttle_wait(body: &[u8]) -> Option<std::time::Duration> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let cost = v.get("extensions")?.get("cost")?;
    let requested = cost.get("requestedQueryCost")?.as_f64()?;
    let status = cost.get("throttleStatus")?;
    let available = status.get("currentlyAvailable")?.as_f64()?;
    let rate = status.get("restoreRate")?.as_f64().filter(|r| *r > 0.0)?;
    Some(std::time::Duration::from_secs_f64(((requested - available) / rate).max(0.0)))
}

/// Shopify's `errors` (a string, field → messages, or a list) in one line; GraphQL `errors` and
/// `userErrors` too.
pub fn error_detail(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let errors = v.get("errors")?;
    Some(match errors {
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

pub fn authorize(system: &SystemVersion, request: &mut OutgoingRequest) {
    request.set_header("X-Shopify-Access-Token", system.credential("access_token"));
}

/// The headers Shopify sends with a webhook delivery of `body` on `topic`.
pub fn webhook_headers(system: &SystemVersion, topic: &str, body: &[u8]) -> Vec<(String, String)> {
    let digest = hmac_sha256(system.credential("app_secret").as_bytes(), body);
    let id = &hex(&hmac_sha256(b"webhook-id", body))[..32];
    vec![
        ("Content-Type".into(), "application/json".into()),
        ("X-Shopify-Topic".into(), topic.to_string()),
        ("X-Shopify-Hmac-Sha256".into(), base64::engine::general_purpose::STANDARD.encode(digest)),
        ("X-Shopify-Shop-Domain".into(), system.credential("shop_domain").to_string()),
        ("X-Shopify-API-Version".into(), system.version.clone()),
        ("X-Shopify-Webhook-Id".into(), format!("{}-{}-{}-{}-{}", &id[..8], &id[8..12], &id[12..16], &id[16..20], &id[20..32])),
    ]
}

/// Whether `headers` carry a valid signature of `body` for this shop's app secret.
pub fn verify_webhook(system: &SystemVersion, headers: &[(String, String)], body: &[u8]) -> bool {
    let Some(given) = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("x-shopify-hmac-sha256")).map(|(_, v)| v) else {
        return false;
    };
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(system.credential("app_secret").as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
