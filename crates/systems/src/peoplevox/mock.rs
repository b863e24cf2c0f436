//! The Peoplevox IntegrationServiceV4 mock: the service path, `SOAPAction` checked against the
//! body, `Authenticate` and sessions (an unknown or expired one answered HTTP 200 with
//! `ResponseId -1`), `GetData` paging limits, `SaveData` columns checked against the template.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use harness_core::{MockResponse, RecordedRequest, xml};
use harness_mock::MockBehaviour;

use super::soap::{PVX_NS, Status};
use super::{INVALID_SESSION, MAX_ITEMS_PER_PAGE, OPERATION, fault, result};
use crate::SystemVersion;

pub(super) struct Mock {
    system: Arc<SystemVersion>,
    sessions: Mutex<BTreeSet<String>>,
    /// Every session id handed out, also those ended since.
    issued: Mutex<Vec<String>>,
}

impl Mock {
    pub(super) fn new(system: Arc<SystemVersion>) -> Self {
        Mock { system, sessions: Mutex::default(), issued: Mutex::default() }
    }

    fn path(&self) -> String {
        format!("/{}/resources/integrationservicev4.asmx", self.system.credential("client_id"))
    }

    fn authenticate(&self, op: &xml::Element) -> MockResponse {
        let client = op.text_at(&["clientId"]).unwrap_or("");
        let user = op.text_at(&["username"]).unwrap_or("");
        let password = op.text_at(&["password"]).unwrap_or("");
        let expected = base64::engine::general_purpose::STANDARD.encode(self.system.credential("password"));
        if client != self.system.credential("client_id") || user != self.system.credential("username") || password != expected {
            return result("Authenticate", -1, 0, "Authentication failed. Check the client id, username and password.", &[]);
        }
        let mut sessions = self.sessions.lock().expect("peoplevox sessions");
        let session = format!("pvx-session-{}", sessions.len() + 1);
        sessions.insert(session.clone());
        self.issued.lock().expect("peoplevox sessions").push(session.clone());
        result("Authenticate", 0, 1, &format!("{client},{session}"), &[])
    }

    fn save_data(&self, op: &xml::Element) -> MockResponse {
        let template_name = op.text_at(&["saveRequest", "TemplateName"]).unwrap_or("");
        let csv = op.text_at(&["saveRequest", "CsvData"]).unwrap_or("");
        // A report is read, never saved to: no import template has its name.
        let Some(template) = self.system.templates.get(template_name).filter(|t| !t.report) else {
            return result("SaveData", -1, 0, &format!("Template '{template_name}' does not exist."), &[]);
        };
        let rows = match harness_core::csv_text::csv_rows(csv) {
            Ok(rows) => rows,
            Err(e) => return result("SaveData", -1, 0, &format!("Invalid CSV data: {e}"), &[]),
        };
        if let Some(first) = rows.first()
            && let Some(unknown) = first.keys().find(|c| !template.columns.contains(c))
        {
            return result("SaveData", -1, 0, &format!("Column '{unknown}' does not exist in template '{template_name}'."), &[]);
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
        result("SaveData", 0, saved, &errors.join("; "), &statuses)
    }
}

impl MockBehaviour for Mock {
    fn issued(&self) -> Vec<String> {
        self.issued.lock().expect("peoplevox sessions").clone()
    }

    fn gate(&self, request: &RecordedRequest, _at: Duration) -> Option<MockResponse> {
        if request.path != self.path() {
            return Some(self.not_found(request));
        }
        if request.method != "POST" {
            return Some(fault(500, "Client", "Request format is unrecognized for URL unexpectedly ending in '/integrationservicev4.asmx'."));
        }
        let action = request.header("soapaction").unwrap_or("").trim_matches('"').to_string();
        let envelope = match xml::parse(&request.body_text()) {
            Ok(e) if e.name == "Envelope" => e,
            _ => return Some(fault(400, "Client", "Server was unable to read request. There is an error in XML document.")),
        };
        let Some(op) = envelope.operation() else {
            return Some(fault(400, "Client", "Server was unable to read request. The SOAP body is empty."));
        };
        if action != format!("{}{}", PVX_NS, op.name) {
            return Some(fault(500, "Client", &format!("Server did not recognize the value of HTTP Header SOAPAction: {action}.")));
        }
        if op.name == "Authenticate" {
            return Some(self.authenticate(op));
        }
        let session = envelope.text_at(&["Header", "UserSessionCredentials", "SessionId"]).unwrap_or("");
        if !self.sessions.lock().expect("peoplevox sessions").contains(session) {
            return Some(result(&op.name, -1, 0, INVALID_SESSION, &[]));
        }
        if op.name == "GetData" {
            let per_page = op.text_at(&["getRequest", "ItemsPerPage"]).and_then(|t| t.trim().parse::<usize>().ok()).unwrap_or(0);
            if per_page > MAX_ITEMS_PER_PAGE {
                return Some(result("GetData", -1, 0, &format!("ItemsPerPage cannot be greater than {MAX_ITEMS_PER_PAGE}."), &[]));
            }
        }
        None
    }

    fn render(&self, request: &RecordedRequest, mut response: MockResponse, _at: Duration) -> MockResponse {
        let text = String::from_utf8_lossy(&response.body);
        // A scripted invalid-session answer ends the session it was given, as a real expiry does.
        if text.contains(INVALID_SESSION)
            && let Ok(envelope) = xml::parse(&request.body_text())
            && let Some(session) = envelope.text_at(&["Header", "UserSessionCredentials", "SessionId"])
        {
            self.sessions.lock().expect("peoplevox sessions").remove(session);
        }
        if text.contains(OPERATION) {
            let op = xml::parse(&request.body_text()).ok().and_then(|e| e.operation().map(|o| o.name.clone())).unwrap_or_default();
            response.body = text.replace(OPERATION, &op).into();
        }
        response
    }

    fn default_response(&self, request: &RecordedRequest, _at: Duration) -> Option<MockResponse> {
        let envelope = xml::parse(&request.body_text()).ok()?;
        let op = envelope.operation()?;
        Some(match op.name.as_str() {
            "SaveData" => self.save_data(op),
            "GetSaveTemplate" => {
                let name = op.text_at(&["templateName"]).unwrap_or("");
                match self.system.templates.get(name).filter(|t| !t.report) {
                    Some(t) => result("GetSaveTemplate", 0, 1, &t.columns.join(","), &[]),
                    None => result("GetSaveTemplate", -1, 0, &format!("Template '{name}' does not exist."), &[]),
                }
            }
            // What a search finds is the scenario's to say (clauses are not evaluated): an
            // unstubbed GetData is an unexpected request.
            "GetData" | "GetReportData" => return None,
            "SubscribeEvent" | "SubscribePostEvent" => result(&op.name, 0, 1, "1", &[]),
            "UnsubscribeEvent" => result(&op.name, 0, 1, "", &[]),
            other => fault(500, "Client", &format!("Server did not recognize the value of HTTP Header SOAPAction: {}{other}.", PVX_NS)),
        })
    }

    fn not_found(&self, _request: &RecordedRequest) -> MockResponse {
        MockResponse::text(404, "text/html", "<html><body><h2>The resource cannot be found.</h2></body></html>")
    }
}
