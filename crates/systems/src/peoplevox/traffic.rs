//! How Peoplevox's traffic is recognised when it is imported: its hosts and paths, its one API
//! version and the SOAP envelopes it sends.

/// Peoplevox has served one version of its integration service, which no exchange names.
pub(super) const VERSION: &str = "v4";

/// A Peoplevox host, or the integration service's path on any host.
pub(super) fn recognises(host: &str, path: &str) -> bool {
    host.contains("peoplevox") || path.to_ascii_lowercase().contains("integrationservice")
}

/// An XML document naming Peoplevox (its namespace, `http://www.peoplevox.net/`).
pub(super) fn sent(text: &str) -> bool {
    let text = text.trim_start();
    text.starts_with('<') && text.to_ascii_lowercase().contains("peoplevox")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_paths_and_payloads() {
        assert!(recognises("qac.peoplevox.net", "/x"));
        assert!(recognises("127.0.0.1", "/PeopleVoxWMS/resources/IntegrationServiceV4.asmx"));
        assert!(!recognises("1234567.suitetalk.api.netsuite.com", "/services/rest/record/v1/salesOrder"));
        assert!(sent("<soap:Envelope xmlns=\"http://www.peoplevox.net/\"/>"));
        assert!(!sent("<soap:Envelope/>"));
        assert!(!sent(r#"{"peoplevox": true}"#));
    }
}
