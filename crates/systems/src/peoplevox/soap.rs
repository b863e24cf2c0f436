//! IntegrationServiceV4's SOAP 1.1 envelopes: requests with the session header, `IntegrationResponse`
//! answers with their per-reference statuses, and ASP.NET's SOAP faults.

use harness_core::xml::{SOAP_NS, escape, parse};

pub(super) const PVX_NS: &str = "http://www.peoplevox.net/";

/// A SOAP 1.1 request envelope for a Peoplevox operation. `params` is the XML inside the
/// operation element; `session` is `(client_id, session_id)` for the `UserSessionCredentials` header.
pub(super) fn request_envelope(operation: &str, params: &str, session: Option<(&str, &str)>) -> String {
    let header = match session {
        Some((client, session)) => format!(
            "<soap:Header><UserSessionCredentials xmlns=\"{PVX_NS}\"><UserId>0</UserId><ClientId>{}</ClientId><SessionId>{}</SessionId></UserSessionCredentials></soap:Header>",
            escape(client),
            escape(session)
        ),
        None => String::new(),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP_NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">{header}<soap:Body><{operation} xmlns=\"{PVX_NS}\">{params}</{operation}></soap:Body></soap:Envelope>"
    )
}

/// One status line of a SaveData answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Status {
    pub reference: String,
    pub success: bool,
}

/// Peoplevox's `IntegrationResponse` inside `<{operation}Response><{operation}Result>`.
pub(super) fn integration_response(operation: &str, response_id: i32, total: usize, detail: &str, statuses: &[Status]) -> String {
    let statuses = if statuses.is_empty() {
        String::new()
    } else {
        let items: String = statuses
            .iter()
            .map(|s| format!("<IntegrationStatusResponse><Reference>{}</Reference><Status>{}</Status></IntegrationStatusResponse>", escape(&s.reference), if s.success { "Success" } else { "Error" }))
            .collect();
        format!("<Statuses>{items}</Statuses>")
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP_NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body><{operation}Response xmlns=\"{PVX_NS}\"><{operation}Result><ResponseId>{response_id}</ResponseId><TotalCount>{total}</TotalCount><Detail>{}</Detail>{statuses}</{operation}Result></{operation}Response></soap:Body></soap:Envelope>",
        escape(detail)
    )
}

/// A SOAP 1.1 fault, as ASP.NET web services send for malformed requests (with HTTP 500).
pub(super) fn fault(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP_NS}\"><soap:Body><soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{}</faultstring><detail /></soap:Fault></soap:Body></soap:Envelope>",
        escape(message)
    )
}

/// The result of a parsed IntegrationResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IntegrationResult {
    pub response_id: i32,
    pub total: usize,
    pub detail: String,
    pub statuses: Vec<Status>,
}

/// Read the IntegrationResponse out of a response envelope.
pub(super) fn read_result(xml: &str) -> Result<IntegrationResult, String> {
    let envelope = parse(xml).map_err(|e| e.to_string())?;
    let op = envelope.operation().ok_or("no SOAP body")?;
    if op.name == "Fault" {
        return Err(format!("SOAP fault: {}", op.text_at(&["faultstring"]).unwrap_or("")));
    }
    let result = op.children.first().ok_or("empty SOAP response")?;
    let statuses = result
        .child("Statuses")
        .map(|s| {
            s.children
                .iter()
                .map(|st| Status { reference: st.text_at(&["Reference"]).unwrap_or("").to_string(), success: st.text_at(&["Status"]) == Some("Success") })
                .collect()
        })
        .unwrap_or_default();
    Ok(IntegrationResult {
        response_id: result.text_at(&["ResponseId"]).and_then(|t| t.trim().parse().ok()).ok_or("no ResponseId")?,
        total: result.text_at(&["TotalCount"]).and_then(|t| t.trim().parse().ok()).unwrap_or(0),
        detail: result.text_at(&["Detail"]).unwrap_or("").to_string(),
        statuses,
    })
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip() {
        let xml = request_envelope("GetData", "<getRequest><TemplateName>Despatches</TemplateName></getRequest>", Some(("acme", "s1")));
        let env = parse(&xml).unwrap();
        assert_eq!(env.text_at(&["Header", "UserSessionCredentials", "SessionId"]), Some("s1"));
        assert_eq!(env.operation().unwrap().name, "GetData");
        assert_eq!(env.operation().unwrap().text_at(&["getRequest", "TemplateName"]), Some("Despatches"));
    }

    #[test]
    fn integration_responses_parse() {
        let xml = integration_response("SaveData", 0, 2, "a & b", &[Status { reference: "#1001".into(), success: false }]);
        let r = read_result(&xml).unwrap();
        assert_eq!(r.detail, "a & b");
        assert_eq!(r.statuses, vec![Status { reference: "#1001".into(), success: false }]);
    }

}
