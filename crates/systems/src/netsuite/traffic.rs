//! How NetSuite's traffic is recognised when it is imported: its hosts and paths, and the
//! answers it sends. Its REST API names no version in its traffic.

/// An account's host (`1234567.suitetalk.api.netsuite.com`), or a REST or RESTlet path on any host.
pub(super) fn recognises(host: &str, path: &str) -> bool {
    host.ends_with(".netsuite.com") || path.starts_with("/services/rest/") || path.starts_with("/app/site/hosting/restlet.nl")
}

/// A REST answer: `links` beside `items` (a collection or a SuiteQL page) or `id` (a record).
pub(super) fn sent(text: &str) -> bool {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str(text.trim_start()) else { return false };
    object.contains_key("links") && (object.contains_key("items") || object.contains_key("id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_paths_and_payloads() {
        assert!(recognises("1234567.suitetalk.api.netsuite.com", "/x"));
        assert!(recognises("127.0.0.1", "/services/rest/record/v1/salesOrder"));
        assert!(recognises("127.0.0.1", "/app/site/hosting/restlet.nl"));
        assert!(!recognises("acme.myshopify.com", "/admin/api/2026-01/orders.json"));
        assert!(sent(r#"{"links": [], "items": []}"#));
        assert!(sent(r#"{"links": [], "id": "7"}"#));
        assert!(!sent(r#"{"links": []}"#));
        assert!(!sent("<links/>"));
    }
}
