//! Which system, at which API version, a captured exchange belongs to: from its host, its path
//! and its headers.

use harness_core::SystemId;

use crate::capture::{Captured, header};

/// The system an exchange with `host` and `path` went to; `None` for hosts the harness does not know.
pub(crate) fn system(host: &str, path: &str) -> Option<&'static str> {
    let host = host.to_ascii_lowercase();
    let host = host.split(':').next().unwrap_or_default();
    if host.ends_with(".myshopify.com") || path.starts_with("/admin/api/") {
        Some("shopify")
    } else if host.ends_with(".netsuite.com") || path.starts_with("/services/rest/") || path.starts_with("/app/site/hosting/restlet.nl") {
        Some("netsuite")
    } else if host.contains("peoplevox") || path.to_ascii_lowercase().contains("integrationservice") {
        Some("peoplevox")
    } else {
        None
    }
}

/// The version the exchange names: Shopify's path segment (`/admin/api/2026-01/`) or
/// `X-Shopify-API-Version`; Peoplevox has one (`v4`). NetSuite's REST API names none.
pub(crate) fn version(system: &SystemId, c: &Captured) -> Option<String> {
    match system.as_str() {
        "shopify" => c.path.strip_prefix("/admin/api/").and_then(|rest| rest.split('/').next()).filter(|v| v.len() == 7 && v.as_bytes()[4] == b'-').map(str::to_string).or_else(|| {
            header(&c.response_headers, "x-shopify-api-version").or_else(|| header(&c.request_headers, "x-shopify-api-version")).map(str::to_string)
        }),
        "peoplevox" => Some("v4".to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systems_and_versions() {
        assert_eq!(system("acme.myshopify.com", "/x"), Some("shopify"));
        assert_eq!(system("127.0.0.1:8080", "/admin/api/2026-01/orders.json"), Some("shopify"));
        assert_eq!(system("1234567.suitetalk.api.netsuite.com", "/x"), Some("netsuite"));
        assert_eq!(system("qac.peoplevox.net", "/x"), Some("peoplevox"));
        assert_eq!(system("www.example.org", "/index.html"), None);
        let c = Captured { path: "/admin/api/2026-01/orders.json".into(), ..Captured::default() };
        assert_eq!(version(&SystemId::new("shopify").unwrap(), &c).as_deref(), Some("2026-01"));
        let c = Captured { path: "/admin/oauth".into(), response_headers: vec![("X-Shopify-API-Version".into(), "2025-10".into())], ..Captured::default() };
        assert_eq!(version(&SystemId::new("shopify").unwrap(), &c).as_deref(), Some("2025-10"));
    }
}
