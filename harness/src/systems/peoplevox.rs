//! Peoplevox IntegrationServiceV4: SOAP 1.1 with CSV inside.
//!
//! Reproduced: the endpoint `/{clientId}/resources/integrationservicev4.asmx`; `SOAPAction` required
//! and checked against the body (ASP.NET's SOAP fault otherwise); `Authenticate` with the base64
//! password answering `Detail = "clientId,sessionId"`; the `UserSessionCredentials` header on every
//! other call, an unknown or expired session answered **HTTP 200** with `ResponseId -1` and
//! `System : Security - Invalid Session`; `GetData` paging with `ItemsPerPage` at most 1000;
//! `SaveData` columns checked against the template, answering one status per reference.
//!
//! Not reproduced: search clauses are not evaluated (answers come from stubs); event subscriptions
//! are accepted but never call back on their own (scenarios trigger flows with the callback).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use super::{SystemMock, SystemVersion};
use crate::http::{HttpClient, OutgoingRequest};
use crate::mock::{MockResponse, RecordedRequest};
use crate::soap::{self, Status};

pub const PRESETS: &[&str] = &["invalid-session", "authentication-failed", "server-error", "unavailable"];

const INVALID_SESSION: &str = "System : Security - Invalid Session";
/// Replaced by the request's operation when a preset is served.
const OPERATION: &str = "{OPERATION}";
const XML: &str = "text/xml; charset=utf-8";
pub const MAX_ITEMS_PER_PAGE: usize = 1000;

pub struct Mock {
    system: Arc<SystemVersion>,
    sessions: Mutex<BTreeSet<String>>,
}

impl Mock {
    pub fn new(system: Arc<SystemVersion>) -> Self {
        Mock { system, sessions: Mutex::default() }
    }

    fn path(&self) -> String {
        format!("/{}/resources/integrationservicev4.asmx", self.system.credential("client_id"))
    }

    fn result(op: &str, id: i32, total: usize, detail: &str, statuses: &[Status]) -> MockResponse {
        MockResponse::text(200, XML, soap::integration_response(op, id, total, detail, statuses))
    }

    fn fault(status: u16, code: &str, message: &str) -> MockResponse {
        MockResponse::text(status, XML, soap::fault(code, message))
    }

    fn authenticate(&self, op: &soap::Element) -> MockResponse {
        let client = op.text_at(&["clientId"]).unwrap_or("");
        let user = op.text_at(&["username"]).unwrap_or("");
        let password = op.text_at(&["password"]).unwrap_or("");
        let expected = base64::engine::general_purpose::STANDARD.encode(self.system.credential("password"));
        if client != self.system.credential("client_id") || user != self.system.credential("username") || password != expected {
            return Self::result("Authenticate", -1, 0, "Authentication failed. Check the client id, username and password.", &[]);
        }
        let mut sessions = self.sessions.lock().expect("peoplevox sessions");
        let session = format!("pvx-session-{}", sessions.len() + 1);
        sessions.insert(session.clone());
        Self::result("Authenticate", 0, 1, &format!("{client},{session}"), &[])
    }

    fn save_data(&self, op: &soap::Element) -> MockResponse {
        let template_name = op.text_at(&["saveRequest", "TemplateName"]).unwrap_or("");
        let csv = op.text_at(&["saveRequest", "CsvData"]).unwrap_or("");
        let Some(template) = self.system.templates.get(template_name) else {
            return Self::result("SaveData", -1, 0, &format!("Template '{template_name}' does not exist."), &[]);
        };
        let rows = match soap::csv_rows(csv) {
            Ok(rows) => rows,
            Err(e) => return Self::result("SaveData", -1, 0, &format!("Invalid CSV data: {e}"), &[]),
        };
        if let Some(first) = rows.first()
            && let Some(unknown) = first.keys().find(|c| !template.columns.contains(c))
        {
            return Self::result("SaveData", -1, 0, &format!("Column '{unknown}' does not exist in template '{template_name}'."), &[]);
        }
        let mut statuses = Vec::new();
        let mut errors = Vec::new();
        for row in &rows {
            let reference = row.get(&template.key).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let missing: Vec<&String> = template.required.iter().filter(|c| row.get(*c).and_then(|v| v.as_str()).is_none_or(str::is_empty)).collect();
            if !missing.is_empty() {
                errors.push(format!("{reference}: {} is required", missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
            }
            statuses.push(Status { reference, success: missing.is_empty() });
        }
        let saved = statuses.iter().filter(|s| s.success).count();
        Self::result("SaveData", 0, saved, &errors.join("; "), &statuses)
    }
}

impl SystemMock for Mock {
    fn gate(&self, request: &RecordedRequest, _at: Duration) -> Option<MockResponse> {
        if request.path != self.path() {
            return Some(self.not_found(request));
        }
        if request.method != "POST" {
            return Some(Self::fault(500, "Client", "Request format is unrecognized for URL unexpectedly ending in '/integrationservicev4.asmx'."));
        }
        let action = request.header("soapaction").unwrap_or("").trim_matches('"').to_string();
        let envelope = match soap::parse(&request.body_text()) {
            Ok(e) if e.name == "Envelope" => e,
            _ => return Some(Self::fault(400, "Client", "Server was unable to read request. There is an error in XML document.")),
        };
        let Some(op) = envelope.operation() else {
            return Some(Self::fault(400, "Client", "Server was unable to read request. The SOAP body is empty."));
        };
        if action != format!("{}{}", soap::PVX_NS, op.name) {
            return Some(Self::fault(500, "Client", &format!("Server did not recognize the value of HTTP Header SOAPAction: {action}.")));
        }
        if op.name == "Authenticate" {
            return Some(self.authenticate(op));
        }
        let session = envelope.text_at(&["Header", "UserSessionCredentials", "SessionId"]).unwrap_or("");
        if !self.sessions.lock().expect("peoplevox sessions").contains(session) {
            return Some(Self::result(&op.name, -1, 0, INVALID_SESSION, &[]));
        }
        if op.name == "GetData" {
            let per_page = op.text_at(&["getRequest", "ItemsPerPage"]).and_then(|t| t.trim().parse::<usize>().ok()).unwrap_or(0);
            if per_page > MAX_ITEMS_PER_PAGE {
                return Some(Self::result("GetData", -1, 0, &format!("ItemsPerPage cannot be greater than {MAX_ITEMS_PER_PAGE}."), &[]));
            }
        }
        None
    }

    fn render(&self, request: &RecordedRequest, mut response: MockResponse, _at: Duration) -> MockResponse {
        let text = String::from_utf8_lossy(&response.body);
        // A scripted invalid-session answer ends the session it was given, as a real expiry does.
        if text.contains(INVALID_SESSION)
            && let Ok(envelope) = soap::parse(&request.body_text())
            && let Some(session) = envelope.text_at(&["Header", "UserSessionCredentials", "SessionId"])
        {
            self.sessions.lock().expect("peoplevox sessions").remove(session);
        }
        if text.contains(OPERATION) {
            let op = soap::parse(&request.body_text()).ok().and_then(|e| e.operation().map(|o| o.name.clone())).unwrap_or_default();
            response.body = text.replace(OPERATION, &op).into();
        }
        response
    }

    fn default_response(&self, request: &RecordedRequest, _at: Duration) -> Option<MockResponse> {
        let envelope = soap::parse(&request.body_text()).ok()?;
        let op = envelope.operation()?;
        Some(match op.name.as_str() {
            "SaveData" => self.save_data(op),
            "GetSaveTemplate" => {
                let name = op.text_at(&["templateName"]).unwrap_or("");
                match self.system.templates.get(name) {
                    Some(t) => Self::result("GetSaveTemplate", 0, 1, &t.columns.join(","), &[]),
                    None => Self::result("GetSaveTemplate", -1, 0, &format!("Template '{name}' does not exist."), &[]),
                }
            }
            // What a search finds is the scenario's to say (clauses are not evaluated): an
            // unstubbed GetData is an unexpected request.
            "GetData" | "GetReportData" => return None,
            "SubscribeEvent" | "SubscribePostEvent" => Self::result(&op.name, 0, 1, "1", &[]),
            "UnsubscribeEvent" => Self::result(&op.name, 0, 1, "", &[]),
            other => Self::fault(500, "Client", &format!("Server did not recognize the value of HTTP Header SOAPAction: {}{other}.", soap::PVX_NS)),
        })
    }

    fn not_found(&self, _request: &RecordedRequest) -> MockResponse {
        MockResponse::text(404, "text/html", "<html><body><h2>The resource cannot be found.</h2></body></html>")
    }

    fn preset(&self, name: &str) -> Option<MockResponse> {
        Some(match name {
            "invalid-session" => Self::result(OPERATION, -1, 0, INVALID_SESSION, &[]),
            "authentication-failed" => Self::result(OPERATION, -1, 0, "Authentication failed. Check the client id, username and password.", &[]),
            "server-error" => Self::fault(500, "Server", "Server was unable to process request. ---> Object reference not set to an instance of an object."),
            "unavailable" => MockResponse::text(503, "text/html", "<html><body><h2>Service Unavailable</h2></body></html>"),
            _ => return None,
        })
    }
}

/// Element order of IntegrationServiceV4's request types, as the WSDL's sequences define it.
pub fn sequence(type_element: &str) -> &'static [&'static str] {
    match type_element {
        "getRequest" => &["TemplateName", "PageNo", "ItemsPerPage", "SearchClause"],
        "getReportRequest" => &["TemplateName", "PageNo", "ItemsPerPage", "SearchClause", "FilterClause", "OrderBy", "Columns"],
        "saveRequest" => &["TemplateName", "CsvData", "Action"],
        _ => &[],
    }
}

pub fn error_detail(body: &[u8]) -> Option<String> {
    match soap::read_result(&String::from_utf8_lossy(body)) {
        Ok(r) if r.response_id != 0 => Some(format!("ResponseId {}: {}", r.response_id, r.detail)),
        Ok(r) => {
            let failed: Vec<&str> = r.statuses.iter().filter(|s| !s.success).map(|s| s.reference.as_str()).collect();
            (!failed.is_empty()).then(|| format!("rejected references {}: {}", failed.join(", "), r.detail))
        }
        Err(e) => Some(e),
    }
}

/// A SOAP answer that is HTTP 200 but reports the session as invalid.
pub fn is_session_failure(body: &[u8]) -> bool {
    soap::read_result(&String::from_utf8_lossy(body)).is_ok_and(|r| r.response_id != 0 && r.detail.contains("Invalid Session"))
}

/// The path of the service for this client.
pub fn service_path(system: &SystemVersion) -> String {
    format!("/{}/resources/integrationservicev4.asmx", system.credential("client_id"))
}

/// A SOAP request for `operation` with `params` XML, ready for [`authorize`] to fill the session.
pub fn soap_request(system: &SystemVersion, operation: &str, params: &str) -> OutgoingRequest {
    let mut request = OutgoingRequest::new(system.kind, "POST", service_path(system));
    request.set_header("Content-Type", XML);
    request.set_header("SOAPAction", format!("\"{}{operation}\"", soap::PVX_NS));
    let session = (operation != "Authenticate").then_some((system.credential("client_id"), ""));
    request.body = soap::request_envelope(operation, params, session).into();
    request
}

pub async fn authenticate(system: &SystemVersion, base_url: &str, http: &HttpClient) -> Result<String, String> {
    let params = format!(
        "<clientId>{}</clientId><username>{}</username><password>{}</password>",
        soap::escape(system.credential("client_id")),
        soap::escape(system.credential("username")),
        base64::engine::general_purpose::STANDARD.encode(system.credential("password"))
    );
    let request = soap_request(system, "Authenticate", &params);
    let response = http.send(base_url, &request).await.map_err(|e| format!("Authenticate failed: {e}"))?;
    let result = soap::read_result(&String::from_utf8_lossy(&response.body)).map_err(|e| format!("Authenticate failed: {e}"))?;
    if result.response_id != 0 {
        return Err(format!("Authenticate refused: {}", result.detail));
    }
    result.detail.split(',').nth(1).map(str::to_string).ok_or_else(|| format!("Authenticate answered an unexpected Detail `{}`", result.detail))
}

/// Put the session into the request's `UserSessionCredentials` header.
pub fn authorize(_system: &SystemVersion, request: &mut OutgoingRequest, session: &str) {
    let body = String::from_utf8_lossy(&request.body);
    if let Some(start) = body.find("<SessionId>")
        && let Some(len) = body[start..].find("</SessionId>")
    {
        let filled = format!("{}<SessionId>{}{}", &body[..start], soap::escape(session), &body[start + len..]);
        request.body = filled.into();
    }
}

/// `peoplevox <template> <row>` for each row a SaveData request saved: a row saved twice is a
/// duplicate; two different rows with the same item code are not. Rows of a refused call
/// (ResponseId -1, an expired session) or rejected by reference were not saved.
pub fn saved_references(request: &str, response: &str) -> Vec<String> {
    let Ok(envelope) = soap::parse(request) else { return Vec::new() };
    let Some(op) = envelope.operation().filter(|o| o.name == "SaveData") else { return Vec::new() };
    let Ok(result) = soap::read_result(response) else { return Vec::new() };
    if result.response_id != 0 {
        return Vec::new();
    }
    let rejected: Vec<&str> = result.statuses.iter().filter(|s| !s.success).map(|s| s.reference.as_str()).collect();
    let template = op.text_at(&["saveRequest", "TemplateName"]).unwrap_or("");
    let rows = soap::csv_rows(op.text_at(&["saveRequest", "CsvData"]).unwrap_or("")).unwrap_or_default();
    rows.into_iter()
        .filter(|row| !row.values().any(|v| v.as_str().is_some_and(|v| rejected.contains(&v))))
        .map(|row| format!("peoplevox {template} {}", serde_json::Value::Object(row)))
        .collect()
}
