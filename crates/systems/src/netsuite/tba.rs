//! Token-based authentication (OAuth 1.0 with HMAC-SHA256): how a flow signs each request and how
//! the mock recomputes the signature.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use harness_core::RecordedRequest;
use harness_core::clock::EPOCH;
use harness_core::encoding::encode;

use crate::SystemVersion;
use crate::crypto::hmac_sha256;
use crate::client::{AuthError, AuthScheme, BoxFuture, HttpClient, OutgoingRequest};

/// Sign `request` with the version's TBA credentials.
pub(super) fn sign(system: &SystemVersion, base_url: &str, request: &mut OutgoingRequest, nonce: u64, now: Duration) {
    let mut oauth = vec![
        ("oauth_consumer_key".to_string(), system.credential("consumer_key").to_string()),
        ("oauth_nonce".to_string(), format!("harness{nonce:010}")),
        ("oauth_signature_method".to_string(), "HMAC-SHA256".to_string()),
        ("oauth_timestamp".to_string(), (EPOCH + now.as_secs()).to_string()),
        ("oauth_token".to_string(), system.credential("token_id").to_string()),
        ("oauth_version".to_string(), "1.0".to_string()),
    ];
    let signature = tba_signature(system, &request.method, &format!("{base_url}{}", request.path), &request.query, &oauth);
    oauth.push(("oauth_signature".to_string(), signature));
    let mut header = format!("OAuth realm=\"{}\"", system.credential("account_id"));
    for (k, v) in &oauth {
        header.push_str(&format!(",{k}=\"{}\"", encode(v)));
    }
    request.set_header("Authorization", header);
}

fn tba_signature(system: &SystemVersion, method: &str, url: &str, query: &[(String, String)], oauth: &[(String, String)]) -> String {
    let mut params: Vec<(String, String)> = oauth.iter().chain(query).map(|(k, v)| (encode(k), encode(v))).collect();
    params.sort();
    let normalized = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let base = format!("{}&{}&{}", method.to_ascii_uppercase(), encode(url), encode(&normalized));
    let key = format!("{}&{}", encode(system.credential("consumer_secret")), encode(system.credential("token_secret")));
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key.as_bytes(), base.as_bytes()))
}

/// Recompute the signature of a TBA-signed request, as NetSuite does.
pub(super) fn verify(system: &SystemVersion, base_url: &str, request: &RecordedRequest) -> Result<(), String> {
    let header = request.header("authorization").ok_or("no Authorization header")?;
    let params = header.strip_prefix("OAuth ").ok_or("not an OAuth header")?;
    let mut fields = BTreeMap::new();
    for part in params.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or("malformed OAuth header")?;
        let v = percent_encoding::percent_decode_str(v.trim_matches('"')).decode_utf8_lossy().into_owned();
        fields.insert(k.to_string(), v);
    }
    if fields.get("realm").map(String::as_str) != Some(system.credential("account_id")) {
        return Err("realm is not this account".into());
    }
    if fields.get("oauth_consumer_key").map(String::as_str) != Some(system.credential("consumer_key"))
        || fields.get("oauth_token").map(String::as_str) != Some(system.credential("token_id"))
    {
        return Err("unknown consumer key or token".into());
    }
    if fields.get("oauth_signature_method").map(String::as_str) != Some("HMAC-SHA256") {
        return Err("signature method must be HMAC-SHA256".into());
    }
    let given = fields.remove("oauth_signature").ok_or("no signature")?;
    let oauth: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| k.starts_with("oauth_")).collect();
    let expected = tba_signature(system, &request.method, &format!("{base_url}{}", request.path), &request.query_pairs(), &oauth);
    if expected == given { Ok(()) } else { Err("signature does not verify".into()) }
}


/// Every request signed with the integration's token (which never expires).
pub(super) struct TokenBased {
    pub(super) system: Arc<SystemVersion>,
    pub(super) base_url: String,
}

impl AuthScheme for TokenBased {
    fn obtain<'a>(&'a self, _: &'a HttpClient) -> BoxFuture<'a, Result<String, AuthError>> {
        Box::pin(std::future::ready(Ok(String::new())))
    }
    fn apply(&self, _: &str, request: &mut OutgoingRequest, nonce: u64, now: Duration) {
        sign(&self.system, &self.base_url, request, nonce, now);
    }
    fn refreshable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system() -> SystemVersion {
        SystemVersion::for_tests(
            "netsuite",
            "2025.1",
            &[("account_id", "TSTDRV1234567"), ("consumer_key", "ck"), ("consumer_secret", "cs"), ("token_id", "tk"), ("token_secret", "ts"), ("client_id", "cid"), ("client_secret", "sec")],
        )
    }

    #[test]
    fn tba_signatures_verify_and_tampering_is_caught() {
        let sys = system();
        let mut out = OutgoingRequest::new(sys.system.clone(), "GET", "/services/rest/record/v1/customer/107");
        out.query = vec![("expandSubResources".into(), "true".into())];
        sign(&sys, "http://127.0.0.1:4000", &mut out, 7, Duration::from_secs(5));
        let mut received = RecordedRequest {
            method: "GET".into(),
            path: out.path.clone(),
            query: "expandSubResources=true".into(),
            headers: out.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect(),
            body: Default::default(),
        };
        assert_eq!(verify(&sys, "http://127.0.0.1:4000", &received), Ok(()));
        received.query = "expandSubResources=false".into();
        assert!(verify(&sys, "http://127.0.0.1:4000", &received).is_err());
    }
}
