//! OAuth 2.0 client credentials (M2M) as NetSuite takes them: the client signs a JWT assertion
//! with the private key of the certificate mapped to the integration (PS256/384/512 or
//! ES256/384/512; RS256 is refused), `kid` naming the certificate id; the token endpoint verifies
//! the signature against that certificate, then the issuer (client id), audience (the token
//! endpoint), scope and expiry.
//!
//! The account's credentials hold the registered `certificate` (base64 DER, or PEM) under its
//! `certificate_id`, and — for the built-in client and programs under test — the fake
//! `certificate_private_key` it was made with.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use harness_core::clock::EPOCH;
use harness_core::encoding::encode;
use harness_jwt::{Alg, JwtError, PrivateKey, PublicKey, check_client_assertion, sign, verify};
use serde_json::{Value, json};

use super::TOKEN_PATH;
use crate::SystemVersion;
use crate::client::{AuthError, AuthScheme, BoxFuture, HttpClient, OutgoingRequest};
use crate::system::System;

/// How long the built-in client's assertions live (NetSuite allows at most an hour).
const ASSERTION_LIFETIME: u64 = 300;

/// `now` on the request clock as Unix time.
fn unix(now: Duration) -> u64 {
    EPOCH + now.as_secs()
}

/// Whose rules the assertion's refusals name.
const NETSUITE: &str = "NetSuite";

/// The signed JWT a client presents to the token endpoint at `audience`.
pub(super) fn client_assertion(system: &SystemVersion, audience: &str, now: Duration) -> Result<String, String> {
    let key = signing_key(system.credential("certificate_private_key")).map_err(|e| format!("{} credential `certificate_private_key`: {e}", system.label()))?;
    let iat = unix(now);
    let claims = json!({"iss": system.credential("client_id"), "scope": "rest_webservices", "aud": audience, "iat": iat, "exp": iat + ASSERTION_LIFETIME});
    sign(Alg::for_key(key.kind()), &key, &json!({"kid": system.credential("certificate_id")}), &claims).map_err(|e| e.said_by(NETSUITE))
}

/// The key of a `certificate_private_key` credential, parsed once per process: every case's
/// token request signs with the same few keys, and parsing one costs as much as signing with it.
fn signing_key(text: &str) -> Result<Arc<PrivateKey>, JwtError> {
    static KEYS: LazyLock<Mutex<HashMap<String, Arc<PrivateKey>>>> = LazyLock::new(Mutex::default);
    if let Some(key) = KEYS.lock().expect("signing keys").get(text) {
        return Ok(key.clone());
    }
    let key = Arc::new(text.parse::<PrivateKey>()?);
    KEYS.lock().expect("signing keys").insert(text.to_string(), key.clone());
    Ok(key)
}

/// Whether `assertion` is one NetSuite would take at `now` for a token requested at one of
/// `audiences` (the URL the client called, or the account's own token URL); why not otherwise.
pub(super) fn check_assertion(system: &SystemVersion, assertion: &str, audiences: &[String], now: Duration) -> Result<(), String> {
    let certificate: PublicKey = system.credential("certificate").parse().map_err(|e| format!("the mock's registered certificate ({} credential `certificate`): {e}", system.label()))?;
    let certificate_id = system.credential("certificate_id");
    let verified = verify(assertion, |kid| (kid == certificate_id).then(|| certificate.clone())).map_err(|e| e.said_by(NETSUITE))?;
    let mut refusal = String::new();
    for audience in audiences {
        match check_client_assertion(&verified.claims, system.credential("client_id"), audience, unix(now)) {
            Ok(()) => return Ok(()),
            Err(e) if refusal.is_empty() => refusal = e.said_by(NETSUITE),
            Err(_) => {}
        }
    }
    Err(refusal)
}

async fn fetch_token(system: &SystemVersion, base_url: &str, http: &HttpClient) -> Result<String, AuthError> {
    let mut request = OutgoingRequest::new(system.system.clone(), "POST", TOKEN_PATH);
    request.set_header("Content-Type", "application/x-www-form-urlencoded");
    let assertion = client_assertion(system, &format!("{base_url}{TOKEN_PATH}"), http.clock_now()).map_err(AuthError::Unusable)?;
    request.body = format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={}",
        encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        encode(&assertion)
    )
    .into();
    let response = http.send(base_url, &request).await.map_err(|source| AuthError::Unanswered { asking: "token request", source })?;
    if !response.is_success() {
        return Err(AuthError::Refused { asking: "token request", detail: (&super::NetSuite::new() as &dyn System).error_summary(response.status, &response.body) });
    }
    let body: Value = serde_json::from_slice(&response.body).map_err(|_| AuthError::Unusable("token response is not JSON".into()))?;
    body.get("access_token").and_then(Value::as_str).map(str::to_string).ok_or_else(|| AuthError::Unusable("token response has no access_token".into()))
}

/// A bearer token from the token endpoint, obtained with a signed client assertion.
pub(super) struct ClientCredentials {
    pub(super) system: Arc<SystemVersion>,
    pub(super) base_url: String,
}

impl AuthScheme for ClientCredentials {
    fn obtain<'a>(&'a self, http: &'a HttpClient) -> BoxFuture<'a, Result<String, AuthError>> {
        Box::pin(fetch_token(&self.system, &self.base_url, http))
    }
    fn apply(&self, token: &str, request: &mut OutgoingRequest, _: u64, _: Duration) {
        request.set_header("Authorization", format!("Bearer {token}"));
    }
    fn refreshable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_jwt::test_keys;

    const AUD: &str = "http://127.0.0.1:9/services/rest/auth/oauth2/v1/token";

    fn system(private: &str, certificate: &str) -> SystemVersion {
        SystemVersion::for_tests(
            "netsuite",
            "2026.2",
            &[("account_id", "TSTDRV1234567"), ("client_id", "cid"), ("certificate_id", "cert-1"), ("certificate", certificate), ("certificate_private_key", private)],
        )
    }

    #[test]
    fn assertions_verify_against_the_registered_certificate() {
        let ec = system(test_keys::P256_PRIVATE_PKCS8, test_keys::P256_CERTIFICATE);
        let jwt = client_assertion(&ec, AUD, Duration::ZERO).unwrap();
        let certificate: PublicKey = test_keys::P256_CERTIFICATE.parse().unwrap();
        assert_eq!(verify(&jwt, |_| Some(certificate.clone())).unwrap().alg, Alg::Es256, "ES256 for an EC P-256 key");
        assert_eq!(check_assertion(&ec, &jwt, &[AUD.to_string()], Duration::from_secs(60)), Ok(()));

        let rsa = system(test_keys::RSA2048_PRIVATE_PKCS8, test_keys::RSA2048_PUBLIC_SPKI);
        let ps256 = client_assertion(&rsa, AUD, Duration::ZERO).unwrap();
        assert_eq!(check_assertion(&rsa, &ps256, &[AUD.to_string()], Duration::ZERO), Ok(()), "PS256 for an RSA key");
        assert!(check_assertion(&ec, &ps256, &[AUD.to_string()], Duration::ZERO).is_err(), "signed by another certificate's key");
    }

    #[test]
    fn expired_misaddressed_and_rs256_assertions_are_refused() {
        let ec = system(test_keys::P256_PRIVATE_PKCS8, test_keys::P256_CERTIFICATE);
        let jwt = client_assertion(&ec, AUD, Duration::ZERO).unwrap();
        assert!(check_assertion(&ec, &jwt, &[AUD.to_string()], Duration::from_secs(ASSERTION_LIFETIME)).unwrap_err().contains("expired"));
        assert!(check_assertion(&ec, &jwt, &["https://other/token".to_string()], Duration::ZERO).unwrap_err().contains("audience"));
        let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
        let rs256 = format!("{}.{}.c2ln", b64(br#"{"alg":"RS256","kid":"cert-1","typ":"JWT"}"#), b64(b"{}"));
        assert!(check_assertion(&ec, &rs256, &[AUD.to_string()], Duration::ZERO).unwrap_err().contains("RS256 is not accepted"));
    }
}
