//! How Shopify's traffic is recognised when it is recorded or imported: its hosts and paths, the
//! version it names, the payloads it sends, and its signed webhook deliveries.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use harness_redact::TokenShape;

use crate::system::Webhooks;

/// Version header of every Admin API answer and webhook delivery.
pub(super) const VERSION_HEADER: &str = "X-Shopify-API-Version";

pub(super) const WEBHOOKS: Webhooks = Webhooks {
    name: "Shopify",
    topic_header: "X-Shopify-Topic",
    version_header: VERSION_HEADER,
    signature_header: "X-Shopify-Hmac-Sha256",
    secret_credential: "app_secret",
    secret_env: "SHOPIFY_API_SECRET",
};

/// Admin API access tokens and the app's shared secrets, custom-app and partner tokens:
/// `shpat_`, `shpca_`, `shppa_`, `shpss_` and 32 hex digits.
pub(super) const TOKEN_SHAPES: &[TokenShape] =
    &[TokenShape { label: "Shopify token", pattern: r"\b(shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32})\b" }];

/// A shop's own host, or an Admin API path on any host (a tunnel, a local proxy).
pub(super) fn recognises(host: &str, path: &str) -> bool {
    host.ends_with(".myshopify.com") || path.starts_with("/admin/api/")
}

/// The path's version segment (`/admin/api/2026-01/`), else `X-Shopify-API-Version`.
pub(super) fn version_named(path: &str, response_headers: &[(String, String)], request_headers: &[(String, String)]) -> Option<String> {
    let in_path = path.strip_prefix("/admin/api/").and_then(|rest| rest.split('/').next()).filter(|v| v.len() == 7 && v.as_bytes()[4] == b'-');
    in_path.or_else(|| harness_core::find_header(response_headers, VERSION_HEADER).or_else(|| harness_core::find_header(request_headers, VERSION_HEADER))).map(str::to_string)
}

/// A webhook body or REST envelope: a resource at the top (`{"order": {…}}`) or a GraphQL id.
pub(super) fn sent(text: &str) -> bool {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str(text.trim_start()) else { return false };
    text.contains("admin_graphql_api_id") || ["order", "orders", "refund", "fulfillment", "product", "customer"].iter().any(|k| object.contains_key(*k))
}

/// Whether `signature` (base64, as in `X-Shopify-Hmac-Sha256`) is the HMAC-SHA256 of `body`
/// under `secret`; compared in constant time.
pub(super) fn signature_verifies(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature.trim()) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_paths_and_versions() {
        assert!(recognises("acme.myshopify.com", "/x"));
        assert!(recognises("127.0.0.1", "/admin/api/2026-01/orders.json"));
        assert!(!recognises("www.example.org", "/index.html"));
        assert_eq!(version_named("/admin/api/2026-01/orders.json", &[], &[]).as_deref(), Some("2026-01"));
        let answered = [("X-Shopify-API-Version".to_string(), "2025-10".to_string())];
        assert_eq!(version_named("/admin/oauth", &answered, &[]).as_deref(), Some("2025-10"));
        assert_eq!(version_named("/admin/api/unstable/orders.json", &[], &answered).as_deref(), Some("2025-10"));
        assert_eq!(version_named("/admin/oauth", &[], &[]), None);
    }

    #[test]
    fn payloads() {
        assert!(sent(r#"{"order": {"id": 1}}"#));
        assert!(sent(r#"{"id": 1, "admin_graphql_api_id": "gid://shopify/Order/1"}"#));
        assert!(!sent(r#"{"links": [], "items": []}"#));
        assert!(!sent("<order/>"));
        assert!(!sent("[1, 2]"));
    }

    #[test]
    fn hmac_is_checked() {
        let good = STANDARD.encode(crate::crypto::hmac_sha256(b"app-secret", b"{\"id\":1}"));
        assert!(signature_verifies("app-secret", b"{\"id\":1}", &good));
        assert!(!signature_verifies("app-secret", b"{\"id\":2}", &good));
        assert!(!signature_verifies("other", b"{\"id\":1}", &good));
        assert!(!signature_verifies("app-secret", b"{\"id\":1}", "not base64!"));
    }
}
