//! Programs under test sign with Node.js's node:crypto; these tests run
//! interop/es256-assertion.js and check the verifier takes (or refuses) what
//! it prints exactly as it would take a hand-made assertion.

use std::io::{ErrorKind, Write};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use harness_jwt::{JwtError, PublicKey, Verified, check_client_assertion, pem, test_keys, verify};

const ISS: &str = "interop-client-id";
const AUD: &str = "https://1234567.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token";
const KID: &str = "interop-certificate-id";

/// Runs the Node script, or returns `None` (with a note on stderr) where there is no node.
fn node_assertion(alg: &str, private_pkcs8: &str) -> Option<String> {
    let key = pem("PRIVATE KEY", &STANDARD.decode(private_pkcs8).unwrap());
    let output = Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/interop/es256-assertion.js"))
        .env("ASSERTION_ALG", alg)
        .env("ASSERTION_ISS", ISS)
        .env("ASSERTION_AUD", AUD)
        .env("ASSERTION_KID", KID)
        .env("ASSERTION_KEY", key)
        .output();
    let output = match output {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let note = "note: `node` not found, skipping the Node.js interop check";
            #[expect(clippy::explicit_write, reason = "libtest swallows eprintln! of passing tests")]
            writeln!(std::io::stderr(), "{note}").unwrap();
            return None;
        }
        output => output.unwrap(),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "node failed: {stderr}");
    Some(String::from_utf8(output.stdout).unwrap().trim().to_owned())
}

fn verify_registered(token: &str, certificate: &str) -> Result<Verified, JwtError> {
    let key: PublicKey = certificate.parse().unwrap();
    verify(token, |kid| (kid == KID).then(|| key.clone()))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn node_es256_assertion_is_accepted() {
    let Some(token) = node_assertion("ES256", test_keys::P256_PRIVATE_PKCS8) else {
        return;
    };
    let verified = verify_registered(&token, test_keys::P256_CERTIFICATE).unwrap();
    assert_eq!(verified.kid, KID);
    check_client_assertion(&verified.claims, ISS, AUD, now()).unwrap();
}

#[test]
fn node_ps256_assertion_is_accepted() {
    let Some(token) = node_assertion("PS256", test_keys::RSA2048_PRIVATE_PKCS8) else {
        return;
    };
    let verified = verify_registered(&token, test_keys::RSA2048_PUBLIC_SPKI).unwrap();
    check_client_assertion(&verified.claims, ISS, AUD, now()).unwrap();
}

#[test]
fn node_rs256_assertion_is_refused() {
    let Some(token) = node_assertion("RS256", test_keys::RSA2048_PRIVATE_PKCS8) else {
        return;
    };
    let refused = verify_registered(&token, test_keys::RSA2048_PUBLIC_SPKI).unwrap_err();
    assert_eq!(refused, JwtError::AlgorithmRefused { alg: "RS256".to_owned() });
}

#[test]
fn node_ps256_with_an_rsassa_pss_key_is_accepted() {
    let Some(token) = node_assertion("PS256", test_keys::RSA_PSS2048_PRIVATE_PKCS8) else {
        return;
    };
    let verified = verify_registered(&token, test_keys::RSA_PSS2048_PUBLIC_SPKI).unwrap();
    check_client_assertion(&verified.claims, ISS, AUD, now()).unwrap();
}
