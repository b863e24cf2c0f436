//! The NetSuite REST web services mock: record API v1 (create answers 204 with a `Location`, get
//! returns what was created, upsert by `PUT …/eid:`), SuiteQL (requires `Prefer: transient`), the
//! OAuth 2.0 token endpoint and token expiry, TBA signatures recomputed, request bodies validated
//! against the version's record schemas.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness_core::encoding::form_pairs;
use harness_core::{MockResponse, RecordedRequest};
use harness_mock::MockBehaviour;
use serde_json::{Value, json};

use super::read::{self, TRANSACTIONS_WITH_LINES, TRANSFORMS};
use super::soap;
use super::{LOGIN_DETAIL, RECORD_PREFIX, SUITEQL_PATH, TOKEN_LIFETIME, TOKEN_PATH, error, error_path, invalid_token, oauth2, tba};
use crate::SystemVersion;
use crate::crypto::fnv;

pub(super) struct Mock {
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
    /// (type, id) → when (on the request clock) it was created and last changed.
    stamps: BTreeMap<(String, String), (Duration, Duration)>,
}

impl Mock {
    pub(super) fn new(system: Arc<SystemVersion>) -> Self {
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
            return match tba::verify(&self.system, &format!("http://{host}"), request) {
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
        // The audience is the token endpoint: as the client reached this mock, or the account's own.
        let host = request.header("host").unwrap_or("localhost");
        let audiences = [format!("http://{host}{TOKEN_PATH}"), format!("{}{TOKEN_PATH}", self.host())];
        if let Err(why) = oauth2::check_assertion(&self.system, assertion, &audiences, at) {
            return oauth_error("invalid_client", &why);
        }
        let mut state = self.state.lock().expect("netsuite state");
        let token = format!("eyJ.ns-access-token.{}", state.tokens.len() + 1);
        state.tokens.insert(token.clone(), at);
        MockResponse::json(200, &json!({"access_token": token, "expires_in": TOKEN_LIFETIME.as_secs(), "token_type": "Bearer"}))
    }
}

impl MockBehaviour for Mock {
    fn issued(&self) -> Vec<String> {
        self.state.lock().expect("netsuite state").tokens.keys().cloned().collect()
    }

    fn gate(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse> {
        if request.path == TOKEN_PATH {
            // The token endpoint needs no token; its answer is the default one unless stubbed.
            return None;
        }
        // SOAP carries its credentials in the envelope, and is answered from stubs and recordings.
        if request.path.starts_with(soap::PORT_PREFIX) {
            return soap::refuse(request);
        }
        if let Some(refusal) = self.check_auth(request, at) {
            return Some(refusal);
        }
        if request.path == SUITEQL_PATH && request.header("prefer") != Some("transient") {
            return Some(error(400, "Bad Request", "INVALID_REQUEST", "The request could not be understood by the server due to malformed syntax. SuiteQL requires the header Prefer: transient.", None));
        }
        if let Some(endpoint) = self.system.endpoint(&request.method, &self.record_path(&request.path)) {
            if endpoint.removed.is_some() {
                return Some(self.not_found(request));
            }
            if let Some(schema) = &endpoint.request_schema {
                let Some(body) = request.json() else {
                    return Some(error(400, "Bad Request", "INVALID_REQUEST", "The request could not be understood by the server due to malformed syntax.", None));
                };
                if let Some(v) = schema.violations(&body).into_iter().next() {
                    // A field the record does not have is located at that field.
                    let path = match v.unexpected.first() {
                        Some(field) => error_path(&format!("{}/{field}", v.instance_path)),
                        None => error_path(&v.instance_path),
                    };
                    let detail = format!("Error while accessing resource: Invalid content for field {}: {}", if path.is_empty() { "(body)" } else { &path }, v.message);
                    return Some(error(400, "Bad Request", "INVALID_CONTENT", &detail, Some(&path)));
                }
            }
        }
        self.refuse_create(request)
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
        let path = self.record_path(&request.path);
        if response.status == 204 && request.method == "POST" && response.header_value("location").is_none()
            && let Some(record) = path.strip_prefix(RECORD_PREFIX) {
                let id = self.store(record, None, request.json(), at);
                response.set_header("Location", format!("{}{RECORD_PREFIX}{record}/{id}", self.host()));
            }
        response
    }

    fn default_response(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse> {
        if request.path == TOKEN_PATH {
            return Some(if request.method == "POST" { self.issue_token(request, at) } else { self.not_found(request) });
        }
        let path = self.record_path(&request.path);
        let rest = path.strip_prefix(RECORD_PREFIX)?;
        let parts: Vec<&str> = rest.split('/').collect();
        match (request.method.as_str(), parts.as_slice()) {
            ("POST", [record]) => {
                let id = self.store(record, None, request.json(), at);
                Some(MockResponse::new(204).header("Location", format!("{}{RECORD_PREFIX}{record}/{id}", self.host())))
            }
            ("PUT", [record, key]) if key.starts_with("eid:") => {
                let id = self.store(record, Some(&key[4..]), request.json(), at);
                Some(MockResponse::new(204).header("Location", format!("{}{RECORD_PREFIX}{record}/{id}", self.host())))
            }
            ("GET" | "PATCH" | "DELETE", [record, key]) => {
                let state = self.state.lock().expect("netsuite state");
                let found = state.find(record, key);
                let expand = request.query_pairs().iter().any(|(k, v)| k == "expandSubResources" && v == "true");
                match (request.method.as_str(), found) {
                    ("GET", Some((id, body))) => Some(MockResponse::json(200, &self.read_back(&state, record, &id, &body, expand))),
                    (_, Some(_)) => Some(MockResponse::new(204)),
                    _ => Some(nonexistent()),
                }
            }
            ("GET", [record, key, name]) => {
                let state = self.state.lock().expect("netsuite state");
                let (id, body) = state.find(record, key)?;
                let items = read::sublist_of(&body, name)?;
                let href = format!("{}/{name}", self.href(record, &id));
                Some(MockResponse::json(200, &read::sublist(&href, items, true)))
            }
            ("POST", [record, key, transform, to]) if matches!(*transform, "!transform" | "%21transform") => {
                let to = TRANSFORMS.iter().find(|(f, t)| f.eq_ignore_ascii_case(record) && t.eq_ignore_ascii_case(to)).map(|(_, t)| *t);
                let Some(to) = to else { return Some(self.not_found(request)) };
                let source = self.state.lock().expect("netsuite state").find(record, key);
                let Some((id, source)) = source else { return Some(nonexistent()) };
                let created = self.store(to, None, Some(read::transformed(&source, &id, to, request.json())), at);
                Some(MockResponse::new(204).header("Location", format!("{}{RECORD_PREFIX}{to}/{created}", self.host())))
            }
            _ => None,
        }
    }

    /// SuiteQL is not executed: a query no stub answers finds nothing.
    fn guess(&self, request: &RecordedRequest) -> Option<(MockResponse, &'static str)> {
        (request.path == SUITEQL_PATH && request.method == "POST").then(|| (suiteql_page(&[], 0, 1000, request), "SuiteQL, 0 rows"))
    }

    fn not_found(&self, request: &RecordedRequest) -> MockResponse {
        error(404, "Not Found", "NONEXISTENT_ID", &format!("The record type or path {} does not exist.", request.path), None)
    }
}

impl Mock {
    /// What NetSuite refuses of a create whatever the schema says: a transaction without lines,
    /// and a second record of a type with an `externalId` already used.
    fn refuse_create(&self, request: &RecordedRequest) -> Option<MockResponse> {
        let path = self.record_path(&request.path);
        let rest = path.strip_prefix(RECORD_PREFIX)?;
        let (record, upsert_of) = match (request.method.as_str(), rest.split_once('/')) {
            ("POST", None) => (rest, None),
            ("PUT", Some((record, key))) => (record, Some(key.strip_prefix("eid:")?)),
            _ => return None,
        };
        let body = request.json()?;
        let state = self.state.lock().expect("netsuite state");
        let eid = upsert_of.map(str::to_string).or_else(|| member(&body, "externalId").and_then(Value::as_str).map(str::to_string));
        let exists = eid.is_some_and(|e| state.external_ids.contains_key(&(record.to_string(), e)));
        if exists && upsert_of.is_none() {
            return Some(error(400, "Bad Request", "DUP_RCRD", DUPLICATE_DETAIL, None));
        }
        // An upsert of an existing record updates it, and may leave its lines alone. Billable
        // costs and time are lines too (Oracle's invoice and cash sale samples bill only those).
        let lines: usize = ["item", "itemCost", "expCost", "time"]
            .iter()
            .filter_map(|sublist| member(&body, sublist).and_then(|i| member(i, "items")).and_then(Value::as_array))
            .map(Vec::len)
            .sum();
        if !exists && lines == 0 && TRANSACTIONS_WITH_LINES.iter().any(|t| t.eq_ignore_ascii_case(record)) {
            return Some(error(400, "Bad Request", "USER_ERROR", NO_LINES_DETAIL, None));
        }
        None
    }

    /// `path` with its record type spelt as the catalog spells it: NetSuite takes record type
    /// names in any case (`salesorder` is `salesOrder`; its own links use lower case).
    fn record_path(&self, path: &str) -> String {
        let Some(rest) = path.strip_prefix(RECORD_PREFIX) else { return path.to_string() };
        let (record, tail) = rest.split_once('/').map_or((rest, None), |(r, t)| (r, Some(t)));
        let known = self.system.endpoints.iter().filter_map(|e| e.path.strip_prefix(RECORD_PREFIX)?.split('/').next()).find(|k| k.eq_ignore_ascii_case(record));
        let record = known.unwrap_or(record);
        match tail {
            Some(t) => format!("{RECORD_PREFIX}{record}/{t}"),
            None => format!("{RECORD_PREFIX}{record}"),
        }
    }

    /// Where NetSuite's links say a record is (they spell the record type in lower case).
    fn href(&self, record: &str, id: &str) -> String {
        format!("{}{RECORD_PREFIX}{}/{id}", self.host(), record.to_ascii_lowercase())
    }

    /// A stored record as NetSuite's GET answers it: `links` to itself, its `id`, every reference
    /// `{id}` with the `refName` NetSuite adds (the referenced record's name when this run created
    /// it, else its id) and a link when its type is known, the fields NetSuite computes, the
    /// dates it stamps, and sublists as links unless `expand`.
    fn read_back(&self, state: &State, record: &str, id: &str, body: &Value, expand: bool) -> Value {
        let mut out = body.clone();
        if let Value::Object(o) = &mut out {
            o.values_mut().for_each(|field| self.add_ref_names(field, state, 0));
            let href = self.href(record, id);
            let entity_subsidiary = o.get("entity").and_then(|e| e.get("id")).and_then(Value::as_str).and_then(|e| state.records.get(&("customer".to_string(), e.to_string()))).and_then(|c| c.get("subsidiary")).cloned();
            read::computed(o, record, id, entity_subsidiary);
            if let Some((created, modified)) = state.stamps.get(&(record.to_string(), id.to_string())) {
                o.entry("createdDate").or_insert_with(|| json!(read::date(*created)));
                o.insert("lastModifiedDate".into(), json!(read::date(*modified)));
            }
            read::sublists(o, &href, expand);
            o.insert("links".into(), read::links(&href));
        }
        out
    }

    fn store(&self, record: &str, external_id: Option<&str>, body: Option<Value>, at: Duration) -> String {
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
        let key = (record.to_string(), id.clone());
        state.stamps.entry(key.clone()).and_modify(|(_, modified)| *modified = at).or_insert((at, at));
        state.records.insert(key, body);
        id
    }

    /// `{id}` and `{externalId}` references in `v` get the `id` and `refName` NetSuite answers
    /// with, and the link to the record when this run created it.
    fn add_ref_names(&self, v: &mut Value, state: &State, depth: usize) {
        // Record bodies nest a few levels (sublists, addresses); deeper is not a record's shape.
        if depth > 8 {
            return;
        }
        match v {
            Value::Object(o) if is_reference(o) => {
                let eid = o.get("externalId").and_then(Value::as_str).map(str::to_string);
                // NetSuite takes ids as strings or numbers, and answers them as strings.
                let written = o.get("id").and_then(|id| id.as_str().map(str::to_string).or_else(|| id.as_u64().map(|n| n.to_string())));
                let id = written.or_else(|| eid.and_then(|e| state.external_ids.iter().find(|((_, x), _)| *x == e).map(|(_, id)| id.clone())));
                if let Some(id) = id {
                    let created = state.records.iter().find(|((_, rid), _)| *rid == id);
                    let name = created.and_then(|(_, r)| record_name(r)).unwrap_or_else(|| id.clone());
                    if let Some(((record, _), _)) = created {
                        o.insert("links".into(), read::links(&self.href(record, &id)));
                    }
                    o.insert("id".into(), json!(id));
                    o.entry("refName").or_insert_with(|| json!(name));
                }
            }
            Value::Object(o) => o.values_mut().for_each(|c| self.add_ref_names(c, state, depth + 1)),
            Value::Array(items) => items.iter_mut().for_each(|c| self.add_ref_names(c, state, depth + 1)),
            _ => {}
        }
    }
}

impl State {
    /// The record `key` (an id or `eid:` an external id) of type `record`, with its id.
    fn find(&self, record: &str, key: &str) -> Option<(String, Value)> {
        let id = match key.strip_prefix("eid:") {
            Some(eid) => self.external_ids.get(&(record.to_string(), eid.to_string()))?.clone(),
            None => key.to_string(),
        };
        let body = self.records.get(&(record.to_string(), id.clone()))?.clone();
        Some((id, body))
    }
}

fn nonexistent() -> MockResponse {
    error(404, "Not Found", "NONEXISTENT_ID", "Record does not exist.", None)
}

const NO_LINES_DETAIL: &str = "Error while accessing resource: You must enter at least one line item for this transaction.";

const DUPLICATE_DETAIL: &str = "Error while accessing resource: This record already exists.";

/// `v`'s member `name`, in any case: NetSuite matches field ids so.
fn member<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    v.get(name).or_else(|| v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// One SuiteQL page in NetSuite's collection shape.
fn suiteql_page(items: &[Value], offset: usize, limit: usize, request: &RecordedRequest) -> MockResponse {
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

/// The fields a record's name is read from, in order, for `refName`.
const NAME_FIELDS: &[&str] = &["entityId", "companyName", "tranId", "itemId", "name"];

/// An object holding only reference keys, at least `id` or `externalId`.
fn is_reference(o: &serde_json::Map<String, Value>) -> bool {
    !o.is_empty() && o.keys().all(|k| matches!(k.as_str(), "id" | "externalId" | "refName")) && (o.contains_key("id") || o.contains_key("externalId"))
}

/// What NetSuite shows as a record's name.
fn record_name(record: &Value) -> Option<String> {
    NAME_FIELDS.iter().find_map(|f| record.get(*f).and_then(Value::as_str).map(str::to_string)).or_else(|| {
        let first = record.get("firstName").and_then(Value::as_str)?;
        Some(match record.get("lastName").and_then(Value::as_str) {
            Some(last) => format!("{first} {last}"),
            None => first.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_core::SystemId;

    fn mock() -> Mock {
        let catalog = crate::Catalog::builtin_only();
        Mock::new(catalog.system(&SystemId::new("netsuite").unwrap(), "2026.2").unwrap())
    }

    fn request(method: &str, path: &str, body: Value) -> RecordedRequest {
        RecordedRequest { method: method.into(), path: path.into(), query: String::new(), headers: vec![("Host".into(), "127.0.0.1:9".into())], body: serde_json::to_vec(&body).unwrap().into() }
    }

    #[test]
    fn record_types_are_case_insensitive_and_reads_answer_links_and_ref_names() {
        let m = mock();
        assert_eq!(m.record_path("/services/rest/record/v1/salesorder/eid:X"), "/services/rest/record/v1/salesOrder/eid:X");
        assert_eq!(m.record_path("/services/rest/record/v1/SALESORDER"), "/services/rest/record/v1/salesOrder");
        let customer = m.default_response(&request("POST", "/services/rest/record/v1/customer", json!({"externalId": "C-1", "companyName": "Example Outfitters"})), Duration::ZERO).unwrap();
        let customer_id = customer.header_value("location").unwrap().rsplit('/').next().unwrap().to_string();
        let order = json!({"externalId": "SO-1", "entity": {"externalId": "C-1"}, "custbody17": {"items": [{"id": "3"}]}, "item": {"items": [{"item": {"id": "5102"}, "quantity": 1}]}});
        let created = m.default_response(&request("POST", "/services/rest/record/v1/salesorder", order), Duration::ZERO).unwrap();
        let location = created.header_value("location").unwrap().to_string();
        assert!(location.contains("/record/v1/salesOrder/"), "{location}");
        let id = location.rsplit('/').next().unwrap();
        let mut get = request("GET", &format!("/services/rest/record/v1/salesorder/{id}"), Value::Null);
        let read = m.default_response(&get, Duration::from_secs(90)).unwrap();
        let body: Value = serde_json::from_slice(&read.body).unwrap();
        let href = format!("https://tstdrv1234567.suitetalk.api.netsuite.com/services/rest/record/v1/salesorder/{id}");
        assert_eq!(body["id"], json!(id));
        assert_eq!(body["links"][0]["href"], json!(href));
        let customer_href = format!("https://tstdrv1234567.suitetalk.api.netsuite.com/services/rest/record/v1/customer/{customer_id}");
        assert_eq!(body["entity"], json!({"externalId": "C-1", "id": customer_id, "refName": "Example Outfitters", "links": [{"rel": "self", "href": customer_href}]}));
        assert_eq!(body["item"], json!({"links": [{"rel": "self", "href": format!("{href}/item")}]}), "sublists are links unless expanded");
        assert_eq!((body["tranId"].clone(), body["status"]["refName"].clone(), body["createdDate"].clone()), (json!(format!("SO{id}")), json!("Pending Fulfillment"), json!("2026-01-05T00:00:00Z")));
        get.query = "expandSubResources=true".into();
        let expanded: Value = serde_json::from_slice(&m.default_response(&get, Duration::ZERO).unwrap().body).unwrap();
        assert_eq!(expanded["item"]["items"][0]["item"], json!({"id": "5102", "refName": "5102"}), "an item this run did not create is named by its id");
        let lines: Value = serde_json::from_slice(&m.default_response(&request("GET", &format!("/services/rest/record/v1/salesOrder/{id}/item"), Value::Null), Duration::ZERO).unwrap().body).unwrap();
        assert_eq!(lines["totalResults"], 1);
    }

    #[test]
    fn custom_fields_of_both_forms_and_multi_selects_are_valid() {
        let m = mock();
        let order = json!({"entity": {"id": "4821"}, "item": {"items": [{"item": {"id": "5102"}, "custcol28": "gift", "custcol_gift_note": "Happy birthday"}]},
                           "custbody17": "web", "custbody_channel": "Shopify", "custbody_tags": {"items": [{"id": "1"}, {"id": "2"}]}});
        assert!(m.gate(&request("POST", "/services/rest/record/v1/salesorder", order), Duration::ZERO).is_some_and(|r| r.status == 401), "auth comes first");
        let endpoint = m.system.endpoint("POST", "/services/rest/record/v1/salesOrder").unwrap();
        let schema = endpoint.request_schema.as_ref().unwrap();
        let valid = json!({"entity": {"id": "4821"}, "item": {"items": [{"item": {"id": "5102"}, "custcol28": "gift", "custcol_gift_note": "x"}]}, "custbody17": "web", "custbody_channel": "Shopify", "custbody_tags": {"items": [{"id": "1"}]}});
        assert!(schema.violations(&valid).is_empty(), "{:?}", schema.violations(&valid).iter().map(|v| v.message.clone()).collect::<Vec<_>>());
        assert!(!schema.violations(&json!({"entity": {"id": "1"}, "item": {"items": []}, "custbody-channel": "x"})).is_empty(), "field ids are letters, digits and _");
        let customer = m.system.endpoint("POST", "/services/rest/record/v1/customer").unwrap().request_schema.as_ref().unwrap();
        let violations = customer.violations(&json!({"companyName": "Example Outfitters", "subsidiary": {"id": "1"}, "custentity5": "gold", "custentity_tier": "gold"}));
        assert!(violations.iter().all(|v| !v.message.contains("custentity")), "{:?}", violations.iter().map(|v| v.message.clone()).collect::<Vec<_>>());
    }

    fn violations(m: &Mock, record: &str, body: &Value) -> Vec<String> {
        let endpoint = m.system.endpoint("POST", &format!("/services/rest/record/v1/{record}")).unwrap();
        endpoint.request_schema.as_ref().unwrap().violations(body).into_iter().map(|v| format!("{}: {}", v.instance_path, v.message)).collect()
    }

    /// Bodies as Oracle's Help Center writes them: field ids in lower case, ids as numbers.
    /// Provenance: the order after the INVALID_CONTENT example of "Error Handling and the Error
    /// Response Format" (`{"entity": {"id": 107}, "location": {"id": 1}, "item": {"items": [{"item":
    /// {"id": …}, "amount": 1}]}}`, a valid item id here) with `otherrefnum` and `memo` as the
    /// "Sales Order" record page and the invoice transform example write them; the customer is the
    /// "Creating a Record Instance" example (`entityid`, `companyname`, `subsidiary`), names fake.
    #[test]
    fn oracle_sample_bodies_are_accepted() {
        let m = mock();
        let order = json!({"entity": {"id": 107}, "location": {"id": 1}, "otherrefnum": "4343399", "memo": "REST", "item": {"items": [{"item": {"id": 98}, "amount": 1}]}});
        assert_eq!(violations(&m, "salesOrder", &order), Vec::<String>::new());
        let customer = json!({"entityid": "New Customer", "companyname": "My Company", "subsidiary": {"id": "1"}});
        assert_eq!(violations(&m, "customer", &customer), Vec::<String>::new());
        let refused = violations(&m, "salesOrder", &json!({"Entity": {"id": 107}, "item": {"items": [{"item": {"id": true}}]}, "otherRefNumber": "x"}));
        assert_eq!(refused, [
            ": Additional properties are not allowed ('otherRefNumber' was unexpected)",
            "/item/items/0/item/id: true is not of types \"integer\", \"string\"",
        ], "unknown fields and wrong types are still refused, named as the body spells them");
    }

    /// Oracle's Help Center code samples of the "Invoice" and "Cash Sale" record pages
    /// (docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_161488248489.html and
    /// section_161487969808.html), as written there: lower-case field ids, billable lines only.
    #[test]
    fn oracle_invoice_and_cash_sale_samples_are_accepted() {
        let m = mock();
        let invoices = [
            json!({"asofdate": "2021-03-15", "enddate": "2021-06-15", "entity": {"id": "220"}, "item": {"items": [{"amount": 1000.0, "item": {"id": "144"}}]}, "startdate": "2021-03-15", "subsidiary": {"id": "1"}, "terms": {"id": "1"}}),
            json!({"asofdate": "2021-03-15", "entity": {"id": "221"}, "itemcost": {"items": [{"apply": true, "doc": {"id": "310"}, "line": 1}]}}),
            json!({"entity": {"id": "220"}, "time": {"items": [{"apply": true, "doc": {"id": "312"}, "line": 1}]}}),
        ];
        let cash_sales = [
            json!({"asofdate": "2021-03-15", "enddate": "2021-06-15", "entity": {"id": "217"}, "item": {"items": [{"amount": 1000, "item": {"id": "143"}}]}, "startdate": "2021-03-15"}),
            json!({"asofdate": "2021-03-15", "entity": {"id": "218"}, "itemcost": {"items": [{"apply": true, "doc": {"id": "305"}, "line": 1}]}}),
            json!({"entity": {"id": "217"}, "expcost": {"items": [{"apply": true, "doc": {"id": "303"}, "line": 1}]}}),
        ];
        for (record, bodies) in [("invoice", &invoices), ("cashSale", &cash_sales)] {
            for body in bodies {
                assert_eq!(violations(&m, record, body), Vec::<String>::new(), "{record}: {body}");
                let create = request("POST", &format!("/services/rest/record/v1/{}", record.to_ascii_lowercase()), body.clone());
                assert!(m.refuse_create(&create).is_none(), "billable lines are lines: {body}");
            }
        }
        // The cash sale update sample (PATCH) names the line it changes.
        assert_eq!(violations(&m, "cashSale", &json!({"item": {"items": [{"line": 1, "quantity": 5}]}, "startDate": "2021-03-05", "endDate": "2021-04-05"}))
            .into_iter().filter(|v| !v.contains("entity")).collect::<Vec<_>>(), Vec::<String>::new());
        assert!(!violations(&m, "invoice", &json!({"entity": {"id": "220"}, "invoiceNumber": "x"})).is_empty(), "unknown fields are still refused");
    }

    /// Every record type the catalog validates, with the fields NetSuite's REST API Browser lists.
    #[test]
    fn every_catalogued_record_has_its_schema() {
        let m = mock();
        for (record, some_standard_field) in [("salesOrder", "shipDate"), ("customer", "companyName"), ("invoice", "dueDate"), ("itemFulfillment", "shipStatus"), ("cashSale", "undepFunds"), ("creditMemo", "autoApply"), ("inventoryItem", "itemId"), ("cashRefund", "refundCheck")] {
            let schema = m.system.endpoint("POST", &format!("/services/rest/record/v1/{record}")).and_then(|e| e.request_schema.as_ref()).unwrap_or_else(|| panic!("{record} has no schema"));
            assert!(schema.json["properties"].get(some_standard_field).is_some(), "{record}.{some_standard_field}");
        }
    }

    /// A PATCH names only what it changes: no field is required, every field it names is
    /// checked as on a create, and a field the record does not have is named as unexpected.
    #[test]
    fn patch_bodies_are_validated_without_required_fields() {
        let m = mock();
        for record in ["salesOrder", "customer", "invoice", "cashSale", "itemFulfillment", "creditMemo", "inventoryItem", "cashRefund"] {
            let schema = m.system.endpoint("PATCH", &format!("/services/rest/record/v1/{record}/eid:X-1")).and_then(|e| e.request_schema.clone()).unwrap_or_else(|| panic!("{record}: PATCH validated"));
            assert_eq!(schema.violations(&json!({"externalId": "X-1"})).len(), 0, "{record}: nothing required");
            assert!(!schema.violations(&json!({"externalId": 5})).is_empty(), "{record}: a field's type is still checked");
        }
        let order = m.system.endpoint("PATCH", "/services/rest/record/v1/salesOrder/12").and_then(|e| e.request_schema.clone()).unwrap();
        assert!(order.violations(&json!({"custbody_tracking_number": "RF123456785GB"})).is_empty(), "a custom field, as the built-in schema takes them");
        let unknown = order.violations(&json!({"memo": "x", "trackingNumbers": "RF1"}));
        assert_eq!((unknown[0].instance_path.as_str(), unknown[0].unexpected.clone()), ("", vec!["trackingNumbers".to_string()]));
        let create = m.system.endpoint("POST", "/services/rest/record/v1/salesOrder").and_then(|e| e.request_schema.clone()).unwrap();
        assert!(!create.violations(&json!({"memo": "changed"})).is_empty(), "a create still needs its required fields");
    }

    #[test]
    fn transactions_without_lines_and_second_creates_are_refused_as_netsuite_refuses_them() {
        let m = mock();
        let refusal = |r: Option<MockResponse>| {
            let r = r.expect("refused");
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            (r.status, body["o:errorDetails"][0]["o:errorCode"].as_str().unwrap().to_string())
        };
        let no_lines = request("POST", "/services/rest/record/v1/salesorder", json!({"entity": {"id": "107"}, "item": {"items": []}}));
        assert_eq!(refusal(m.refuse_create(&no_lines)), (400, "USER_ERROR".to_string()));
        let invoice = request("POST", "/services/rest/record/v1/invoice", json!({"entity": {"id": "107"}}));
        assert_eq!(refusal(m.refuse_create(&invoice)), (400, "USER_ERROR".to_string()));
        let customer = json!({"externalId": "C-1", "companyName": "Example Outfitters", "subsidiary": {"id": "1"}});
        assert!(m.refuse_create(&request("POST", "/services/rest/record/v1/customer", customer.clone())).is_none());
        m.default_response(&request("POST", "/services/rest/record/v1/customer", customer.clone()), Duration::ZERO).unwrap();
        assert_eq!(refusal(m.refuse_create(&request("POST", "/services/rest/record/v1/customer", customer.clone()))), (400, "DUP_RCRD".to_string()));
        assert!(m.refuse_create(&request("PUT", "/services/rest/record/v1/customer/eid:C-1", customer)).is_none(), "an upsert updates the record");
        let order = json!({"externalId": "SO-1", "entity": {"id": "107"}, "item": {"items": [{"item": {"id": "98"}}]}});
        assert!(m.refuse_create(&request("POST", "/services/rest/record/v1/salesOrder", order)).is_none(), "another record type has its own external ids");
    }

    #[test]
    fn a_sales_order_transforms_into_a_fulfillment_an_invoice_or_a_cash_sale() {
        let m = mock();
        let order = json!({"externalId": "SO-9", "entity": {"id": "107"}, "item": {"items": [{"item": {"id": "98"}, "quantity": 2, "rate": 5}]}});
        m.default_response(&request("POST", "/services/rest/record/v1/salesOrder", order), Duration::ZERO).unwrap();
        for to in ["itemFulfillment", "invoice", "cashSale"] {
            let made = m.default_response(&request("POST", &format!("/services/rest/record/v1/salesorder/eid:SO-9/!transform/{to}"), json!({"memo": "t"})), Duration::ZERO).unwrap();
            assert_eq!(made.status, 204, "{to}");
            let location = made.header_value("location").unwrap().to_string();
            assert!(location.contains(&format!("/record/v1/{to}/")), "{location}");
            let path = location.split(".com").nth(1).unwrap().to_string();
            let body: Value = serde_json::from_slice(&m.default_response(&request("GET", &path, Value::Null), Duration::ZERO).unwrap().body).unwrap();
            assert_eq!((body["memo"].clone(), body["entity"]["id"].clone()), (json!("t"), json!("107")), "{to}");
        }
        let missing = m.default_response(&request("POST", "/services/rest/record/v1/salesOrder/1/!transform/invoice", json!({})), Duration::ZERO).unwrap();
        assert_eq!(missing.status, 404);
        let unknown = m.default_response(&request("POST", "/services/rest/record/v1/salesOrder/eid:SO-9/!transform/vendorBill", json!({})), Duration::ZERO).unwrap();
        assert_eq!(unknown.status, 404);
    }
}
