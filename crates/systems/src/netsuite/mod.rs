//! NetSuite REST web services: record API v1, SuiteQL, OAuth 2.0 client credentials and
//! token-based authentication (OAuth 1.0).
//!
//! Reproduced: create answers 204 with a `Location` naming the new id; get returns what was created
//! as NetSuite shows it (links, references named, computed fields, dates, sublists as links unless
//! `expandSubResources=true`, each sublist readable at its link); `!transform` from a sales order
//! to an item fulfillment, invoice or cash sale (and invoice to credit memo, cash sale to cash
//! refund); upsert by `PUT …/eid:{externalId}`; a transaction without lines and a second create
//! with a used `externalId` refused (`USER_ERROR`, `DUP_RCRD`); field ids in any case and
//! reference ids as numbers accepted; SuiteQL requires `Prefer: transient` and pages with `links`,
//! `hasMore`, `offset`, `count`, `totalResults`; errors are `{type, title, status, o:errorDetails}`
//! with `application/vnd.oracle.resource+json; type=error`; request bodies are validated against
//! the version's record schemas and answered with `INVALID_CONTENT` naming the `o:errorPath`;
//! OAuth 2.0 tokens expire after `expires_in` seconds of (virtual) time and are then refused with
//! `WWW-Authenticate: Bearer … error="invalid_token"`; TBA signatures are recomputed and checked.
//!
//! OAuth 2.0 client credentials take a JWT assertion signed with the registered certificate's key
//! (PS256/384/512, ES256/384/512 — RS256 refused), `kid` the certificate id, `aud` the token
//! endpoint, checked for expiry.
//!
//! SOAP requests (`/services/NetSuitePort_*`) are answered from stubs and recordings; one without
//! credentials gets NetSuite's `invalidCredentialsFault`.
//!
//! Not reproduced: SuiteQL is not executed, its answers come from stubs; SOAP operations are not
//! executed and their token passports not verified.

mod metadata;
mod mock;
mod oauth2;
mod read;
mod soap;
mod tba;
mod records;
mod traffic;

use std::sync::Arc;
use std::time::Duration;

use harness_core::{Exchange, MockResponse, SystemId};
use harness_mock::MockBehaviour;
use serde_json::{Value, json};

use crate::{MockSetup, SystemVersion};
use crate::client::AuthScheme;
use crate::system::{Answer, System, http_answer};

pub(crate) const ID: &str = "netsuite";

/// Listed second, the ERP an order reaches from the storefront.
#[linkme::distributed_slice(harness_core::system_id::LISTED)]
static LISTED: harness_core::system_id::Listed = harness_core::system_id::Listed { system: ID, rank: 1 };

const PRESETS: &[&str] = &[
    "concurrency-limit",
    "invalid-token",
    "invalid-login",
    "invalid-content",
    "nonexistent-id",
    "unexpected-error",
    "bad-gateway",
    "unavailable",
    "gateway-timeout",
];

const TOKEN_PATH: &str = "/services/rest/auth/oauth2/v1/token";
const RECORD_PREFIX: &str = "/services/rest/record/v1/";
const SUITEQL_PATH: &str = "/services/rest/query/v1/suiteql";
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const ERROR_CONTENT_TYPE: &str = "application/vnd.oracle.resource+json; type=error";

pub(crate) struct NetSuite {
    id: SystemId,
}

impl NetSuite {
    pub(crate) fn new() -> Self {
        NetSuite { id: SystemId::new(ID).expect("a valid name") }
    }
}

impl System for NetSuite {
    fn id(&self) -> &SystemId {
        &self.id
    }

    fn records(&self) -> Option<&dyn crate::records::Records> {
        Some(&records::NetSuiteRecords)
    }

    fn account_schemas(&self) -> Option<&dyn crate::account::AccountSchemas> {
        Some(&metadata::NetSuiteAccounts)
    }

    fn recognises(&self, host: &str, path: &str) -> bool {
        traffic::recognises(host, path)
    }

    fn sent(&self, text: &str) -> bool {
        traffic::sent(text)
    }

    fn credential_call(&self, _version: &SystemVersion, request: &harness_core::RecordedRequest) -> bool {
        request.method == "POST" && request.path == TOKEN_PATH
    }

    fn mock(&self, version: &Arc<SystemVersion>, _setup: &MockSetup) -> Arc<dyn MockBehaviour> {
        Arc::new(mock::Mock::new(version.clone()))
    }

    fn preset(&self, version: &SystemVersion, name: &str) -> Option<MockResponse> {
        let realm = version.credential("account_id");
        Some(match name {
            "concurrency-limit" => {
                let mut r = error(429, "Bad Request", "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked.", None);
                let mut body: Value = serde_json::from_slice(&r.body).expect("own JSON");
                body["o:errorCode"] = json!("USER_ERROR");
                r.body = serde_json::to_vec(&body).expect("JSON").into();
                r
            }
            "invalid-token" => invalid_token(realm),
            "invalid-login" => error(401, "Unauthorized", "INVALID_LOGIN", LOGIN_DETAIL, None),
            "invalid-content" => error(400, "Bad Request", "INVALID_CONTENT", "Error while accessing resource: You have entered an Invalid Field Value for the following field: item", Some("item.items[0].item")),
            "nonexistent-id" => error(404, "Not Found", "NONEXISTENT_ID", "Record does not exist.", None),
            "unexpected-error" => error(500, "Internal Server Error", "UNEXPECTED_ERROR", "An unexpected error occurred. Error ID: harness0000000000000", None),
            "bad-gateway" => MockResponse::text(502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
            "unavailable" => MockResponse::text(503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>"),
            "gateway-timeout" => MockResponse::text(504, "text/html", "<html><body><h1>504 Gateway Time-out</h1></body></html>"),
            _ => return None,
        })
    }

    fn presets(&self, _version: &SystemVersion) -> Vec<String> {
        PRESETS.iter().map(|p| p.to_string()).collect()
    }

    fn auth_methods(&self) -> Vec<&'static str> {
        vec!["oauth2", "tba"]
    }

    fn auth(&self, method: &str, version: Arc<SystemVersion>, base_url: String) -> Option<Box<dyn AuthScheme>> {
        match method {
            "oauth2" => Some(Box::new(oauth2::ClientCredentials { system: version, base_url })),
            "tba" => Some(Box::new(tba::TokenBased { system: version, base_url })),
            _ => None,
        }
    }

    fn classify(&self, _version: &SystemVersion, _path: &str, status: u16, headers: &[(String, String)], body: &[u8]) -> Answer {
        http_answer(status, headers, || (self as &dyn System).error_summary(status, body))
    }

    /// NetSuite's error detail in one line: `INVALID_CONTENT at item.items[0].item: …`.
    fn error_detail(&self, body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if let Some(details) = v.get("o:errorDetails").and_then(Value::as_array) {
        let d = details.first()?;
        let code = d.get("o:errorCode").and_then(Value::as_str).unwrap_or("ERROR");
        let detail = d.get("detail").and_then(Value::as_str).unwrap_or("");
        return Some(match d.get("o:errorPath").and_then(Value::as_str).filter(|p| !p.is_empty()) {
            Some(p) => format!("{code} at {p}: {detail}"),
            None => format!("{code}: {detail}"),
        });
    }
    let code = v.get("error").and_then(Value::as_str)?;
    Some(format!("{code}: {}", v.get("error_description").and_then(Value::as_str).unwrap_or("")))
}

    /// A POST to a record type, by `externalId` (or by body). Upserts (`PUT …/eid:`) are
    /// idempotent and create no identity.
    fn created_identities(&self, exchange: &Exchange) -> Vec<String> {
        let req = &exchange.request;
        let Some(record) = req.path.strip_prefix(RECORD_PREFIX).filter(|r| !r.contains('/')) else { return Vec::new() };
        let body = req.json().unwrap_or(Value::Null);
        match body.get("externalId").and_then(Value::as_str) {
            Some(eid) => vec![format!("netsuite {record} externalId={eid}")],
            None => vec![format!("netsuite {record} {body}")],
        }
    }

    /// Token-based authentication still works, but is closed to new integrations.
    fn notices(&self, exchanges: &[&Exchange]) -> Vec<String> {
        if exchanges.iter().any(|e| e.request.header("authorization").is_some_and(|a| a.starts_with("OAuth "))) {
            vec![TBA_NOTICE.to_string()]
        } else {
            Vec::new()
        }
    }

    /// The `next` link of a SuiteQL (or record list) page.
    fn next_page(&self, _version: &SystemVersion, _headers: &[(String, String)], body: &[u8]) -> Option<String> {
        let page: Value = serde_json::from_slice(body).ok()?;
        page.get("links")?
            .as_array()?
            .iter()
            .find(|l| l.get("rel").and_then(Value::as_str) == Some("next"))
            .and_then(|l| l.get("href").and_then(Value::as_str))
            .map(str::to_string)
    }
}

/// What a run using TBA is told, with how sure the date is.
const TBA_NOTICE: &str = "token-based authentication (TBA) is deprecated for new integrations: from NetSuite 2027.1 no new TBA integration can be created (third parties quoting Oracle's 2026.2 release note; Oracle's own page not read), and its end of support is reported, tentatively, for 2028.2. Oracle: use OAuth 2.0 for new integrations";

const LOGIN_DETAIL: &str = "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.";

/// NetSuite's error document.
fn error(status: u16, title: &str, code: &str, detail: &str, path: Option<&str>) -> MockResponse {
    let mut item = json!({"detail": detail, "o:errorCode": code});
    if let Some(p) = path {
        item["o:errorPath"] = json!(p);
    }
    let body = json!({
        "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
        "title": title,
        "status": status,
        "o:errorDetails": [item],
    });
    let mut r = MockResponse::json(status, &body);
    r.set_header("Content-Type", ERROR_CONTENT_TYPE);
    r
}

fn invalid_token(realm: &str) -> MockResponse {
    error(401, "Unauthorized", "INVALID_LOGIN", "Invalid login attempt.", None).header(
        "WWW-Authenticate",
        format!("Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"Invalid login attempt.\""),
    )
}

/// `/item/items/0/item` → `item.items[0].item`, as NetSuite writes `o:errorPath`.
fn error_path(instance_path: &str) -> String {
    let mut out = String::new();
    for seg in instance_path.split('/').filter(|s| !s.is_empty()) {
        if seg.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_paths_use_netsuite_notation() {
        assert_eq!(error_path("/item/items/0/item"), "item.items[0].item");
        assert_eq!(error_path(""), "");
    }

    #[test]
    fn summaries_name_code_and_path() {
        let r = error(400, "Bad Request", "INVALID_CONTENT", "Bad item", Some("item.items[0].item"));
        assert_eq!(NetSuite::new().error_detail(&r.body).unwrap(), "INVALID_CONTENT at item.items[0].item: Bad item");
    }
}
