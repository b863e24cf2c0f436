//! NetSuite REST web services: record API v1, SuiteQL, OAuth 2.0 client credentials and
//! token-based authentication (OAuth 1.0).
//!
//! Reproduced: create answers 204 with a `Location` naming the new id; get returns what was created;
//! upsert by `PUT …/eid:{externalId}`; SuiteQL requires `Prefer: transient` and pages with `links`,
//! `hasMore`, `offset`, `count`, `totalResults`; errors are `{type, title, status, o:errorDetails}`
//! with `application/vnd.oracle.resource+json; type=error`; request bodies are validated against
//! the version's record schemas and answered with `INVALID_CONTENT` naming the `o:errorPath`;
//! OAuth 2.0 tokens expire after `expires_in` seconds of (virtual) time and are then refused with
//! `WWW-Authenticate: Bearer … error="invalid_token"`; TBA signatures are recomputed and checked.
//!
//! Not reproduced: the client-credentials assertion is checked with a shared secret (HS256), not the
//! certificate NetSuite requires; SuiteQL is not executed, its answers come from stubs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::shopify::hmac_sha256;
use super::{SystemMock, SystemVersion};
use crate::clock::EPOCH;
use crate::http::{HttpClient, OutgoingRequest, encode};
use crate::mock::{MockResponse, RecordedRequest, form_pairs};

pub const PRESETS: &[&str] = &[
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

pub const TOKEN_PATH: &str = "/services/rest/auth/oauth2/v1/token";
const RECORD_PREFIX: &str = "/services/rest/record/v1/";
const SUITEQL_PATH: &str = "/services/rest/query/v1/suiteql";
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const ERROR_CONTENT_TYPE: &str = "application/vnd.oracle.resource+json; type=error";

pub struct Mock {
    system: Arc<SystemVersion>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Issued access tokens and when (on the request clock) they were issued.
    tokens: BTreeMap<String, Duration>,
    /// Tokens a scripted `invalid-token` answer declared expired: every later request bearing
    /// them is refused too, as when a real token expires.
    revoked: std::collections::BTreeSet<String>,
    /// Records created or upserted in this run: (type, id) → body.
    records: BTreeMap<(String, String), Value>,
    /// (type, externalId) → id
    external_ids: BTreeMap<(String, String), String>,
}

impl Mock {
    pub fn new(system: Arc<SystemVersion>) -> Self {
        Mock { system, state: Mutex::new(State::default()) }
    }

    fn host(&self) -> String {
        let account = self.system.credential("account_id").to_ascii_lowercase().replace('_', "-");
        format!("https://{account}.suitetalk.api.netsuite.com")
    }

    fn check_auth(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse> {
        let realm = self.system.credential("account_id");
        let auth = request.header("authorization").unwrap_or("");
        if let Some(token) = auth.strip_prefix("Bearer ") {
            let state = self.state.lock().expect("netsuite state");
            return match state.tokens.get(token) {
                Some(t) if at < *t + TOKEN_LIFETIME && !state.revoked.contains(token) => None,
                _ => Some(invalid_token(realm)),
            };
        }
        if auth.starts_with("OAuth ") {
            let host = request.header("host").unwrap_or("localhost");
            return match verify_tba(&self.system, &format!("http://{host}"), request) {
                Ok(()) => None,
                Err(_) => Some(error(401, "Unauthorized", "INVALID_LOGIN", LOGIN_DETAIL, None)),
            };
        }
        Some(error(401, "Unauthorized", "INVALID_LOGIN", LOGIN_DETAIL, None))
    }

    fn issue_token(&self, request: &RecordedRequest, at: Duration) -> MockResponse {
        let form: BTreeMap<String, String> = form_pairs(&request.body_text()).into_iter().collect();
        let oauth_error = |code: &str, description: &str| MockResponse::json(400, &json!({"error": code, "error_description": description}));
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return oauth_error("unsupported_grant_type", "grant_type must be client_credentials");
        }
        if form.get("client_assertion_type").map(String::as_str) != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
            return oauth_error("invalid_request", "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        }
        let Some(assertion) = form.get("client_assertion") else {
            return oauth_error("invalid_request", "client_assertion is missing");
        };
        if let Err(why) = check_assertion(&self.system, assertion) {
            return oauth_error("invalid_client", &why);
        }
        let mut state = self.state.lock().expect("netsuite state");
        let token = format!("eyJ.ns-access-token.{}", state.tokens.len() + 1);
        state.tokens.insert(token.clone(), at);
        MockResponse::json(200, &json!({"access_token": token, "expires_in": TOKEN_LIFETIME.as_secs(), "token_type": "Bearer"}))
    }
}

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

impl SystemMock for Mock {
    fn gate(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse> {
        if request.path == TOKEN_PATH {
            // The token endpoint needs no token; its answer is the default one unless stubbed.
            return None;
        }
        if let Some(refusal) = self.check_auth(request, at) {
            return Some(refusal);
        }
        if request.path == SUITEQL_PATH && request.header("prefer") != Some("transient") {
            return Some(error(400, "Bad Request", "INVALID_REQUEST", "The request could not be understood by the server due to malformed syntax. SuiteQL requires the header Prefer: transient.", None));
        }
        if let Some(endpoint) = self.system.endpoint(&request.method, &request.path) {
            if endpoint.removed.is_some() {
                return Some(self.not_found(request));
            }
            if let Some(schema) = &endpoint.request_schema {
                let Some(body) = request.json() else {
                    return Some(error(400, "Bad Request", "INVALID_REQUEST", "The request could not be understood by the server due to malformed syntax.", None));
                };
                if let Some(v) = schema.violations(&body).into_iter().next() {
                    let path = error_path(&v.instance_path);
                    let detail = format!("Error while accessing resource: Invalid content for field {}: {}", if path.is_empty() { "(body)" } else { &path }, v.message);
                    return Some(error(400, "Bad Request", "INVALID_CONTENT", &detail, Some(&path)));
                }
            }
        }
        None
    }

    fn render(&self, request: &RecordedRequest, mut response: MockResponse, at: Duration) -> MockResponse {
        // A stubbed token answer issues that token, so the flow can use it.
        if request.path == TOKEN_PATH
            && response.status == 200
            && let Some(token) = serde_json::from_slice::<Value>(&response.body).ok().and_then(|b| b.get("access_token")?.as_str().map(str::to_string))
        {
            self.state.lock().expect("netsuite state").tokens.insert(token, at);
        }
        if response.status == 401
            && response.header_value("www-authenticate").is_some_and(|h| h.contains("invalid_token"))
            && let Some(token) = request.header("authorization").and_then(|a| a.strip_prefix("Bearer "))
        {
            self.state.lock().expect("netsuite state").revoked.insert(token.to_string());
        }
        // A stubbed 204 create without a Location gets one, as NetSuite always sends it.
        if response.status == 204 && request.method == "POST" && response.header_value("location").is_none()
            && let Some(record) = request.path.strip_prefix(RECORD_PREFIX) {
                let id = self.store(record, None, request.json());
                response.set_header("Location", format!("{}{RECORD_PREFIX}{record}/{id}", self.host()));
            }
        response
    }

    fn default_response(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse> {
        if request.path == TOKEN_PATH {
            return Some(if request.method == "POST" { self.issue_token(request, at) } else { self.not_found(request) });
        }
        if request.path == SUITEQL_PATH && request.method == "POST" {
            return Some(suiteql_page(&[], 0, 1000, request));
        }
        let rest = request.path.strip_prefix(RECORD_PREFIX)?;
        let parts: Vec<&str> = rest.split('/').collect();
        match (request.method.as_str(), parts.as_slice()) {
            ("POST", [record]) => {
                let id = self.store(record, None, request.json());
                Some(MockResponse::new(204).header("Location", format!("{}{RECORD_PREFIX}{record}/{id}", self.host())))
            }
            ("PUT", [record, key]) if key.starts_with("eid:") => {
                let id = self.store(record, Some(&key[4..]), request.json());
                Some(MockResponse::new(204).header("Location", format!("{}{RECORD_PREFIX}{record}/{id}", self.host())))
            }
            ("GET" | "PATCH" | "DELETE", [record, key]) => {
                let state = self.state.lock().expect("netsuite state");
                let id = match key.strip_prefix("eid:") {
                    Some(eid) => state.external_ids.get(&(record.to_string(), eid.to_string())).cloned(),
                    None => Some(key.to_string()),
                };
                let found = id.as_ref().and_then(|id| state.records.get(&(record.to_string(), id.clone())));
                match (request.method.as_str(), found) {
                    ("GET", Some(body)) => Some(MockResponse::json(200, body)),
                    (_, Some(_)) => Some(MockResponse::new(204)),
                    _ => Some(error(404, "Not Found", "NONEXISTENT_ID", "Record does not exist.", None)),
                }
            }
            _ => None,
        }
    }

    fn not_found(&self, request: &RecordedRequest) -> MockResponse {
        error(404, "Not Found", "NONEXISTENT_ID", &format!("The record type or path {} does not exist.", request.path), None)
    }

    fn preset(&self, name: &str) -> Option<MockResponse> {
        let realm = self.system.credential("account_id");
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
}

impl Mock {
    fn store(&self, record: &str, external_id: Option<&str>, body: Option<Value>) -> String {
        let mut state = self.state.lock().expect("netsuite state");
        let mut body = body.unwrap_or(Value::Null);
        let eid = external_id.map(str::to_string).or_else(|| body.get("externalId").and_then(Value::as_str).map(str::to_string));
        let existing = eid.as_ref().and_then(|e| state.external_ids.get(&(record.to_string(), e.clone())).cloned());
        // Ids come from what is created, not from arrival order, so concurrent flows get the same
        // ids run after run.
        let id = existing.unwrap_or_else(|| {
            let identity = eid.clone().unwrap_or_else(|| body.to_string());
            let mut n = 1001 + fnv(&format!("{record}/{identity}")) % 899_000;
            while state.records.contains_key(&(record.to_string(), n.to_string())) {
                n += 1;
            }
            n.to_string()
        });
        if let Value::Object(o) = &mut body {
            o.insert("id".into(), json!(id));
        }
        if let Some(e) = eid {
            state.external_ids.insert((record.to_string(), e), id.clone());
        }
        state.records.insert((record.to_string(), id.clone()), body);
        id
    }
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// One SuiteQL page in NetSuite's collection shape.
pub fn suiteql_page(items: &[Value], offset: usize, limit: usize, request: &RecordedRequest) -> MockResponse {
    let page: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
    let has_more = offset + page.len() < items.len();
    let host = request.header("host").unwrap_or("localhost");
    let link = |off: usize| format!("http://{host}{SUITEQL_PATH}?limit={limit}&offset={off}");
    let mut links = vec![json!({"rel": "self", "href": link(offset)})];
    if has_more {
        links.push(json!({"rel": "next", "href": link(offset + limit)}));
    }
    MockResponse::json(
        200,
        &json!({"links": links, "count": page.len(), "hasMore": has_more, "items": page, "offset": offset, "totalResults": items.len()}),
    )
}

/// NetSuite's error detail in one line: `INVALID_CONTENT at item.items[0].item: …`.
pub fn error_detail(body: &[u8]) -> Option<String> {
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

// ---------------------------------------------------------------------------------------------
// OAuth 2.0 client credentials


fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// The signed JWT a client presents to the token endpoint.
pub fn client_assertion(system: &SystemVersion, audience: &str, now: Duration) -> String {
    let iat = EPOCH + now.as_secs();
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": system.credential("certificate_id")});
    let claims = json!({"iss": system.credential("client_id"), "scope": ["rest_webservices"], "aud": audience, "iat": iat, "exp": iat + 3600});
    let signing_input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
    let signature = hmac_sha256(system.credential("client_secret").as_bytes(), signing_input.as_bytes());
    format!("{signing_input}.{}", b64url(&signature))
}

fn check_assertion(system: &SystemVersion, assertion: &str) -> Result<(), String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err("client_assertion is not a JWT".into());
    };
    let expected = hmac_sha256(system.credential("client_secret").as_bytes(), format!("{header}.{claims}").as_bytes());
    if *signature != b64url(&expected) {
        return Err("client_assertion signature does not verify".into());
    }
    let claims: Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("client_assertion claims are not JSON")?;
    if claims.get("iss").and_then(Value::as_str) != Some(system.credential("client_id")) {
        return Err("client_assertion iss is not this integration's client id".into());
    }
    let scopes = claims.get("scope").map(Value::to_string).unwrap_or_default();
    if !scopes.contains("rest_webservices") {
        return Err("client_assertion scope lacks rest_webservices".into());
    }
    Ok(())
}

pub async fn fetch_token(system: &SystemVersion, base_url: &str, http: &HttpClient) -> Result<String, String> {
    let mut request = OutgoingRequest::new(system.kind, "POST", TOKEN_PATH);
    request.set_header("Content-Type", "application/x-www-form-urlencoded");
    let assertion = client_assertion(system, &format!("{base_url}{TOKEN_PATH}"), http.clock_now());
    request.body = format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={}",
        encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        encode(&assertion)
    )
    .into();
    let response = http.send(base_url, &request).await.map_err(|e| format!("token request failed: {e}"))?;
    if !response.is_success() {
        return Err(format!("token request refused: {}", super::error_summary(system.kind, response.status, &response.body)));
    }
    let body: Value = serde_json::from_slice(&response.body).map_err(|_| "token response is not JSON".to_string())?;
    body.get("access_token").and_then(Value::as_str).map(str::to_string).ok_or_else(|| "token response has no access_token".to_string())
}

// ---------------------------------------------------------------------------------------------
// Token-based authentication (OAuth 1.0 with HMAC-SHA256)

/// Sign `request` with the version's TBA credentials.
pub fn sign_tba(system: &SystemVersion, base_url: &str, request: &mut OutgoingRequest, nonce: u64, now: Duration) {
    let mut oauth = vec![
        ("oauth_consumer_key".to_string(), system.credential("consumer_key").to_string()),
        ("oauth_nonce".to_string(), format!("harness{nonce:010}")),
        ("oauth_signature_method".to_string(), "HMAC-SHA256".to_string()),
        ("oauth_timestamp".to_string(), (EPOCH + now.as_secs()).to_string()),
        ("oauth_token".to_string(), system.credential("token_id").to_string()),
        ("oauth_version".to_string(), "1.0".to_string()),
    ];
    let signature = tba_signature(system, &request.method, &format!("{base_url}{}", request.path), &request.query, &oauth);
    oauth.push(("oauth_signature".to_string(), signature));
    let mut header = format!("OAuth realm=\"{}\"", system.credential("account_id"));
    for (k, v) in &oauth {
        header.push_str(&format!(",{k}=\"{}\"", encode(v)));
    }
    request.set_header("Authorization", header);
}

fn tba_signature(system: &SystemVersion, method: &str, url: &str, query: &[(String, String)], oauth: &[(String, String)]) -> String {
    let mut params: Vec<(String, String)> = oauth.iter().chain(query).map(|(k, v)| (encode(k), encode(v))).collect();
    params.sort();
    let normalized = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let base = format!("{}&{}&{}", method.to_ascii_uppercase(), encode(url), encode(&normalized));
    let key = format!("{}&{}", encode(system.credential("consumer_secret")), encode(system.credential("token_secret")));
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key.as_bytes(), base.as_bytes()))
}

/// Recompute the signature of a TBA-signed request, as NetSuite does.
fn verify_tba(system: &SystemVersion, base_url: &str, request: &RecordedRequest) -> Result<(), String> {
    let header = request.header("authorization").ok_or("no Authorization header")?;
    let params = header.strip_prefix("OAuth ").ok_or("not an OAuth header")?;
    let mut fields = BTreeMap::new();
    for part in params.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or("malformed OAuth header")?;
        let v = percent_encoding::percent_decode_str(v.trim_matches('"')).decode_utf8_lossy().into_owned();
        fields.insert(k.to_string(), v);
    }
    if fields.get("realm").map(String::as_str) != Some(system.credential("account_id")) {
        return Err("realm is not this account".into());
    }
    if fields.get("oauth_consumer_key").map(String::as_str) != Some(system.credential("consumer_key"))
        || fields.get("oauth_token").map(String::as_str) != Some(system.credential("token_id"))
    {
        return Err("unknown consumer key or token".into());
    }
    if fields.get("oauth_signature_method").map(String::as_str) != Some("HMAC-SHA256") {
        return Err("signature method must be HMAC-SHA256".into());
    }
    let given = fields.remove("oauth_signature").ok_or("no signature")?;
    let oauth: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| k.starts_with("oauth_")).collect();
    let expected = tba_signature(system, &request.method, &format!("{base_url}{}", request.path), &request.query_pairs(), &oauth);
    if expected == given { Ok(()) } else { Err("signature does not verify".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system() -> SystemVersion {
        let credentials = [
            ("account_id", "TSTDRV1234567"),
            ("consumer_key", "ck"),
            ("consumer_secret", "cs"),
            ("token_id", "tk"),
            ("token_secret", "ts"),
            ("client_id", "cid"),
            ("client_secret", "sec"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        SystemVersion {
            kind: super::super::SystemKind::Netsuite,
            version: "2025.1".into(),
            dir: "x".into(),
            description: None,
            credentials,
            endpoints: Vec::new(),
            templates: Default::default(),
        }
    }

    #[test]
    fn tba_signatures_verify_and_tampering_is_caught() {
        let sys = system();
        let mut out = OutgoingRequest::new(sys.kind, "GET", "/services/rest/record/v1/customer/107");
        out.query = vec![("expandSubResources".into(), "true".into())];
        sign_tba(&sys, "http://127.0.0.1:4000", &mut out, 7, Duration::from_secs(5));
        let mut received = RecordedRequest {
            method: "GET".into(),
            path: out.path.clone(),
            query: "expandSubResources=true".into(),
            headers: out.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect(),
            body: Default::default(),
        };
        assert_eq!(verify_tba(&sys, "http://127.0.0.1:4000", &received), Ok(()));
        received.query = "expandSubResources=false".into();
        assert!(verify_tba(&sys, "http://127.0.0.1:4000", &received).is_err());
    }

    #[test]
    fn assertions_verify_with_the_client_secret() {
        let sys = system();
        let jwt = client_assertion(&sys, "http://x/token", Duration::ZERO);
        assert_eq!(check_assertion(&sys, &jwt), Ok(()));
        let mut other = system();
        other.credentials.insert("client_secret".into(), "wrong".into());
        assert!(check_assertion(&other, &jwt).is_err());
    }

    #[test]
    fn error_paths_use_netsuite_notation() {
        assert_eq!(error_path("/item/items/0/item"), "item.items[0].item");
        assert_eq!(error_path(""), "");
    }

    #[test]
    fn summaries_name_code_and_path() {
        let r = error(400, "Bad Request", "INVALID_CONTENT", "Bad item", Some("item.items[0].item"));
        assert_eq!(error_detail(&r.body).unwrap(), "INVALID_CONTENT at item.items[0].item: Bad item");
    }
}
