//! SuiteTalk SOAP (`/services/NetSuitePort_<version>`): answered from the scenario's stubs and
//! recordings like any request; the mock itself only refuses a request that carries no
//! credentials, with the SOAP fault NetSuite sends (HTTP 500, `invalidCredentialsFault`). The
//! token passport's signature is not checked.

use harness_core::{MockResponse, RecordedRequest};

pub(super) const PORT_PREFIX: &str = "/services/NetSuitePort_";

/// The fault for a SOAP request without a `tokenPassport` (TBA) or `passport` header; None when
/// it carries one, or is not SOAP.
pub(super) fn refuse(request: &RecordedRequest) -> Option<MockResponse> {
    let version = request.path.strip_prefix(PORT_PREFIX)?;
    let body = request.body_text();
    if body.contains("tokenPassport") || body.contains("passport>") {
        return None;
    }
    Some(fault(version, "invalidCredentialsFault", "INVALID_LOGIN_ATTEMPT", "Invalid login attempt."))
}

/// A SOAP fault as NetSuite writes it, in the namespaces of endpoint `version` (`2025_2`).
fn fault(version: &str, kind: &str, code: &str, message: &str) -> MockResponse {
    let body = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
            "<soapenv:Body><soapenv:Fault><faultcode>soapenv:Server.userException</faultcode><faultstring>{message}</faultstring><detail>",
            r#"<platformFaults:{kind} xmlns:platformFaults="urn:faults_{version}.platform.webservices.netsuite.com">"#,
            "<platformFaults:code>{code}</platformFaults:code><platformFaults:message>{message}</platformFaults:message></platformFaults:{kind}>",
            "</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        ),
        message = message,
        kind = kind,
        version = version,
        code = code
    );
    MockResponse::text(500, "text/xml; charset=utf-8", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soap(body: &str) -> RecordedRequest {
        RecordedRequest { method: "POST".into(), path: "/services/NetSuitePort_2025_2".into(), query: String::new(), headers: vec![("SOAPAction".into(), "get".into())], body: body.to_string().into() }
    }

    #[test]
    fn soap_without_credentials_gets_a_fault_and_with_them_goes_to_the_stubs() {
        let refused = refuse(&soap("<soapenv:Envelope><soapenv:Body><get/></soapenv:Body></soapenv:Envelope>")).expect("refused");
        assert_eq!(refused.status, 500);
        let text = String::from_utf8(refused.body.to_vec()).unwrap();
        assert!(text.contains("<platformFaults:code>INVALID_LOGIN_ATTEMPT</platformFaults:code>") && text.contains("urn:faults_2025_2.platform"), "{text}");
        assert!(refuse(&soap("<soapenv:Header><tokenPassport><account>TSTDRV1234567</account></tokenPassport></soapenv:Header>")).is_none());
        let mut rest = soap("");
        rest.path = "/services/rest/record/v1/salesOrder".into();
        assert!(refuse(&rest).is_none());
    }
}
