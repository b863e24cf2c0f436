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

mod mock;
mod soap;
mod records;
mod traffic;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use harness_core::{Exchange, MockResponse, SystemId, xml};
use harness_mock::MockBehaviour;
use serde_json::{Value, json};

use crate::{MockSetup, SystemVersion};
use crate::client::{AuthError, AuthScheme, BoxFuture, HttpClient, OutgoingRequest};
use crate::system::{Answer, Soap, System, http_answer};
use soap::{PVX_NS, Status};

pub(crate) const ID: &str = "peoplevox";

/// Listed third, the warehouse an order reaches from the ERP.
#[linkme::distributed_slice(harness_core::system_id::LISTED)]
static LISTED: harness_core::system_id::Listed = harness_core::system_id::Listed { system: ID, rank: 2 };

const PRESETS: &[&str] = &["invalid-session", "authentication-failed", "server-error", "unavailable"];
const INVALID_SESSION: &str = "System : Security - Invalid Session";
/// Replaced by the request's operation when a preset is served.
const OPERATION: &str = "{OPERATION}";
const XML: &str = "text/xml; charset=utf-8";
const MAX_ITEMS_PER_PAGE: usize = 1000;

pub(crate) struct Peoplevox {
    id: SystemId,
}

impl Peoplevox {
    pub(crate) fn new() -> Self {
        Peoplevox { id: SystemId::new(ID).expect("a valid name") }
    }
}

fn result(op: &str, id: i32, total: usize, detail: &str, statuses: &[Status]) -> MockResponse {
    MockResponse::text(200, XML, soap::integration_response(op, id, total, detail, statuses))
}

fn fault(status: u16, code: &str, message: &str) -> MockResponse {
    MockResponse::text(status, XML, soap::fault(code, message))
}

/// The path of the service for this client.
fn service_path(version: &SystemVersion) -> String {
    format!("/{}/resources/integrationservicev4.asmx", version.credential("client_id"))
}

impl System for Peoplevox {
    fn id(&self) -> &SystemId {
        &self.id
    }

    fn records(&self) -> Option<&dyn crate::records::Records> {
        Some(&records::PeoplevoxRecords)
    }

    fn recognises(&self, host: &str, path: &str) -> bool {
        traffic::recognises(host, path)
    }

    fn version_named(&self, _path: &str, _response_headers: &[(String, String)], _request_headers: &[(String, String)]) -> Option<String> {
        Some(traffic::VERSION.to_string())
    }

    fn sent(&self, text: &str) -> bool {
        traffic::sent(text)
    }

    fn credential_call(&self, _version: &SystemVersion, request: &harness_core::RecordedRequest) -> bool {
        harness_core::xml::parse(&request.body_text()).ok().is_some_and(|e| e.operation().is_some_and(|op| op.name == "Authenticate"))
    }

    fn mock(&self, version: &Arc<SystemVersion>, _setup: &MockSetup) -> Arc<dyn MockBehaviour> {
        Arc::new(mock::Mock::new(version.clone()))
    }

    fn preset(&self, _version: &SystemVersion, name: &str) -> Option<MockResponse> {
        Some(match name {
            "invalid-session" => result(OPERATION, -1, 0, INVALID_SESSION, &[]),
            "authentication-failed" => result(OPERATION, -1, 0, "Authentication failed. Check the client id, username and password.", &[]),
            "server-error" => fault(500, "Server", "Server was unable to process request. ---> Object reference not set to an instance of an object."),
            "unavailable" => MockResponse::text(503, "text/html", "<html><body><h2>Service Unavailable</h2></body></html>"),
            _ => return None,
        })
    }

    fn presets(&self, _version: &SystemVersion) -> Vec<String> {
        PRESETS.iter().map(|p| p.to_string()).collect()
    }

    fn auth_methods(&self) -> Vec<&'static str> {
        vec!["session"]
    }

    fn auth(&self, method: &str, version: Arc<SystemVersion>, base_url: String) -> Option<Box<dyn AuthScheme>> {
        (method == "session").then(|| Box::new(Session { system: version, base_url }) as Box<dyn AuthScheme>)
    }

    /// Every answer is HTTP 200 whatever happened: the verdict is in the IntegrationResponse.
    fn classify(&self, _version: &SystemVersion, _path: &str, status: u16, headers: &[(String, String)], body: &[u8]) -> Answer {
        if !(200..300).contains(&status) {
            return http_answer(status, headers, || (self as &dyn System).error_summary(status, body));
        }
        match soap::read_result(&String::from_utf8_lossy(body)) {
            Ok(r) if r.response_id != 0 && r.detail.contains("Invalid Session") => {
                Answer::CredentialsExpired((self as &dyn System).error_summary(status, body))
            }
            Ok(r) if r.response_id != 0 => Answer::Refused(format!("Peoplevox ResponseId {}: {}", r.response_id, r.detail)),
            Ok(r) => {
                let rejected: Vec<&str> = r.statuses.iter().filter(|s| !s.success).map(|s| s.reference.as_str()).collect();
                Answer::Accepted { rejected: (!rejected.is_empty()).then(|| format!("Peoplevox rejected {}: {}", rejected.join(", "), r.detail)) }
            }
            Err(e) => Answer::Refused(e),
        }
    }

    fn error_detail(&self, body: &[u8]) -> Option<String> {
        match soap::read_result(&String::from_utf8_lossy(body)) {
            Ok(r) if r.response_id != 0 => Some(format!("ResponseId {}: {}", r.response_id, r.detail)),
            Ok(r) => {
                let failed: Vec<&str> = r.statuses.iter().filter(|s| !s.success).map(|s| s.reference.as_str()).collect();
                (!failed.is_empty()).then(|| format!("rejected references {}: {}", failed.join(", "), r.detail))
            }
            Err(e) => Some(e),
        }
    }

    /// `peoplevox <template> row <n> <row>` for each row a SaveData request saved: the same request
    /// saved again is a duplicate; two rows of one request are two records even when they read
    /// the same (an order with the same SKU on two lines), so a row is known by its position too.
    /// Rows of a refused call (ResponseId -1, an expired session) or rejected by reference were
    /// not saved.
    fn created_identities(&self, exchange: &Exchange) -> Vec<String> {
        let Ok(envelope) = xml::parse(&exchange.request.body_text()) else { return Vec::new() };
        let Some(op) = envelope.operation().filter(|o| o.name == "SaveData") else { return Vec::new() };
        let Ok(result) = soap::read_result(&String::from_utf8_lossy(&exchange.response.body)) else { return Vec::new() };
        if result.response_id != 0 {
            return Vec::new();
        }
        let rejected: Vec<&str> = result.statuses.iter().filter(|s| !s.success).map(|s| s.reference.as_str()).collect();
        let template = op.text_at(&["saveRequest", "TemplateName"]).unwrap_or("");
        let rows = harness_core::csv_text::csv_rows(op.text_at(&["saveRequest", "CsvData"]).unwrap_or("")).unwrap_or_default();
        rows.into_iter()
            .enumerate()
            .filter(|(_, row)| !row.values().any(|v| v.as_str().is_some_and(|v| rejected.contains(&v))))
            .map(|(n, row)| format!("peoplevox {template} row {} {}", n + 1, Value::Object(row)))
            .collect()
    }

    /// The verdict of a SOAP answer, which is HTTP 200 whatever happened.
    fn response_summary(&self, response: &MockResponse) -> Option<String> {
        if !response.body.starts_with(b"<") {
            return None;
        }
        let r = soap::read_result(&String::from_utf8_lossy(&response.body)).ok()?;
        let rejected: Vec<&str> = r.statuses.iter().filter(|s| !s.success).map(|s| s.reference.as_str()).collect();
        let mut text = format!("{}, ResponseId {}", response.status, r.response_id);
        if !rejected.is_empty() {
            text.push_str(&format!(", rejected {}", rejected.join(" ")));
        }
        Some(text)
    }

    fn soap(&self) -> Option<&dyn Soap> {
        Some(self)
    }

    /// A `GetData` of a template the version knows: the template's columns; a `GetReportData` of
    /// a report it knows: the report's, or those of them the request's `Columns` names.
    fn answer_columns(&self, version: &SystemVersion, request: &OutgoingRequest) -> Option<(String, Vec<String>)> {
        let envelope = xml::parse(&String::from_utf8_lossy(&request.body)).ok()?;
        let op = envelope.operation()?;
        let (element, report) = match op.name.as_str() {
            "GetData" => ("getRequest", false),
            "GetReportData" => ("getReportRequest", true),
            _ => return None,
        };
        let name = op.text_at(&[element, "TemplateName"])?;
        let template = version.templates.get(name).filter(|t| t.report == report)?;
        let chosen = report_columns(op.text_at(&[element, "Columns"]).unwrap_or(""));
        if chosen.is_empty() {
            let what = if report { format!("report `{name}`") } else { format!("template `{name}`") };
            return Some((what, template.columns.clone()));
        }
        let columns = template.columns.iter().filter(|c| chosen.contains(&c.as_str())).cloned().collect();
        Some((format!("report `{name}` (as the request's `Columns` choose them)"), columns))
    }

    /// `{response_id, total, detail, statuses, rows}`, with CSV rows keyed by header.
    fn answer_value(&self, body: &[u8]) -> Option<Value> {
        let Ok(r) = soap::read_result(&String::from_utf8_lossy(body)) else { return Some(Value::Null) };
        let rows = if r.detail.contains('\n') || r.detail.contains(',') { harness_core::csv_text::csv_rows(&r.detail).ok() } else { None };
        Some(json!({
            "response_id": r.response_id,
            "total": r.total,
            "detail": r.detail,
            "statuses": r.statuses.iter().map(|s| json!({"reference": s.reference, "status": if s.success {"Success"} else {"Error"}})).collect::<Vec<_>>(),
            "rows": rows.map(|rs| rs.into_iter().map(Value::Object).collect::<Vec<_>>()).unwrap_or_default(),
        }))
    }

    /// The recorded IntegrationResponse with `value`'s fields: its rows (as CSV, the recorded
    /// columns in their order and any others after them, a cell a row lacks left empty) when it
    /// has any, else its detail.
    fn answer_with(&self, recorded: &[u8], value: &Value) -> Option<Vec<u8>> {
        let text = String::from_utf8_lossy(recorded);
        let operation = xml::parse(&text).ok()?.operation()?.name.strip_suffix("Response")?.to_string();
        let r = soap::read_result(&text).ok()?;
        let detail = match value.get("rows").and_then(Value::as_array).filter(|rows| !rows.is_empty()) {
            Some(rows) => {
                let keys: Vec<&String> = rows.iter().filter_map(Value::as_object).flat_map(|row| row.keys()).collect();
                let mut columns: Vec<String> = harness_core::csv_text::csv_columns(&r.detail);
                columns.retain(|c| keys.contains(&c));
                for key in keys {
                    if !columns.contains(key) {
                        columns.push(key.clone());
                    }
                }
                let cell = |v: Option<&Value>| match v {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                let cells: Vec<Vec<String>> =
                    rows.iter().map(|row| columns.iter().map(|c| cell(row.get(c))).collect()).collect();
                harness_core::csv_text::csv_text(&columns, &cells)
            }
            None => value.get("detail").and_then(Value::as_str).map_or(r.detail, str::to_string),
        };
        let response_id = value.get("response_id").and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok());
        let total = value.get("total").and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
        let statuses = match value.get("statuses").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .map(|s| Status {
                    reference: s.get("reference").and_then(Value::as_str).unwrap_or("").to_string(),
                    success: s.get("status").and_then(Value::as_str) == Some("Success"),
                })
                .collect(),
            None => r.statuses,
        };
        let body = soap::integration_response(
            &operation,
            response_id.unwrap_or(r.response_id),
            total.unwrap_or(r.total),
            &detail,
            &statuses,
        );
        Some(body.into_bytes())
    }
}

/// A request for `operation` with `params`, its session to be filled in by [`Session::apply`].
fn soap_request(version: &SystemVersion, operation: &str, params: &str) -> OutgoingRequest {
    let mut request = OutgoingRequest::new(version.system.clone(), "POST", service_path(version));
    request.set_header("Content-Type", XML);
    request.set_header("SOAPAction", format!("\"{PVX_NS}{operation}\""));
    let session = (operation != "Authenticate").then_some((version.credential("client_id"), ""));
    request.body = soap::request_envelope(operation, params, session).into();
    request
}

/// The columns a `GetReportData` asks for: `[Item code],[Available]` (brackets and spaces around
/// them optional, as clients write them).
fn report_columns(text: &str) -> Vec<&str> {
    text.split(',').map(|c| c.trim().trim_start_matches('[').trim_end_matches(']').trim()).filter(|c| !c.is_empty()).collect()
}

impl Soap for Peoplevox {
    /// A request ready for the session to be filled in by [`Session::apply`].
    fn request(&self, version: &SystemVersion, operation: &str, params: &str) -> OutgoingRequest {
        soap_request(version, operation, params)
    }

    /// Element order of IntegrationServiceV4's request types, as the WSDL's sequences define it.
    fn element_order(&self, element: &str) -> &'static [&'static str] {
        match element {
            "getRequest" => &["TemplateName", "PageNo", "ItemsPerPage", "SearchClause"],
            "getReportRequest" => &["TemplateName", "PageNo", "ItemsPerPage", "SearchClause", "FilterClause", "OrderBy", "Columns"],
            "saveRequest" => &["TemplateName", "CsvData", "Action"],
            _ => &[],
        }
    }
}

/// `Authenticate`, then the session in every call's `UserSessionCredentials`.
struct Session {
    system: Arc<SystemVersion>,
    base_url: String,
}

impl Session {
    async fn authenticate(&self, http: &HttpClient) -> Result<String, AuthError> {
        let system = &self.system;
        let params = format!(
            "<clientId>{}</clientId><username>{}</username><password>{}</password>",
            xml::escape(system.credential("client_id")),
            xml::escape(system.credential("username")),
            base64::engine::general_purpose::STANDARD.encode(system.credential("password"))
        );
        let request = Peoplevox::new().request(system, "Authenticate", &params);
        let response = http.send(&self.base_url, &request).await.map_err(|source| AuthError::Unanswered { asking: "Authenticate", source })?;
        let result = soap::read_result(&String::from_utf8_lossy(&response.body)).map_err(|e| AuthError::Unusable(format!("Authenticate failed: {e}")))?;
        if result.response_id != 0 {
            return Err(AuthError::Refused { asking: "Authenticate", detail: result.detail });
        }
        result.detail.split(',').nth(1).map(str::to_string).ok_or_else(|| AuthError::Unusable(format!("Authenticate answered an unexpected Detail `{}`", result.detail)))
    }
}

impl AuthScheme for Session {
    fn obtain<'a>(&'a self, http: &'a HttpClient) -> BoxFuture<'a, Result<String, AuthError>> {
        Box::pin(self.authenticate(http))
    }

    fn apply(&self, session: &str, request: &mut OutgoingRequest, _: u64, _: Duration) {
        let body = String::from_utf8_lossy(&request.body);
        if let Some(start) = body.find("<SessionId>")
            && let Some(len) = body[start..].find("</SessionId>")
        {
            let filled = format!("{}<SessionId>{}{}", &body[..start], xml::escape(session), &body[start + len..]);
            request.body = filled.into();
        }
    }

    fn refreshable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_core::RecordedRequest;

    fn save(csv: &str) -> Exchange {
        let params = format!("<saveRequest><TemplateName>Sales order items</TemplateName><CsvData>{}</CsvData><Action>0</Action></saveRequest>", xml::escape(csv));
        let body = soap::request_envelope("SaveData", &params, Some(("acme", "s1")));
        let request = RecordedRequest { method: "POST".into(), path: "/acme/resources/integrationservicev4.asmx".into(), query: String::new(), headers: Vec::new(), body: body.into() };
        let response = result("SaveData", 0, 2, "", &[]);
        Exchange { system: SystemId::new(ID).unwrap(), seq: 0, request, response, answered_by: None, step: None, at: Duration::ZERO }
    }

    #[test]
    fn two_lines_of_one_sku_are_two_records() {
        let e = save("SalesOrderNumber,ItemCode,QuantityOrdered\n#1001,TEE-ORG-M-NAVY,1\n#1001,TEE-ORG-M-NAVY,1\n");
        let ids = Peoplevox::new().created_identities(&e);
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1], "rows are known by their position");
        assert_eq!(Peoplevox::new().created_identities(&e), ids, "the same request again creates the same identities: a duplicate");
    }
}
