use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p521::ecdsa::signature::{Signer, Verifier};
use ring::rand::SystemRandom;
use ring::signature::{self as ring_sig, RsaKeyPair, UnparsedPublicKey, VerificationAlgorithm};
use serde_json::{Map, Value};

use crate::error::{JwtError, malformed};
use crate::keys::{Private, Public};
use crate::{Alg, PrivateKey, PublicKey};

/// A token whose signature checked out against the key registered for its kid.
/// Its claims are not checked yet: see [`crate::check_client_assertion`].
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub alg: Alg,
    pub kid: String,
    pub header: Value,
    pub claims: Value,
}

/// Signs `claims` into a compact JWS. `header` must be a JSON object; its `alg`
/// is set to `alg` and `typ` defaults to "JWT", so callers usually pass just the
/// `kid`. A different `typ` or a missing `kid` is kept as given, so tests can
/// build tokens the verifier must refuse.
pub fn sign(alg: Alg, key: &PrivateKey, header: &Value, claims: &Value) -> Result<String, JwtError> {
    let mut header = header.as_object().cloned().ok_or_else(|| malformed("header must be a JSON object"))?;
    if !claims.is_object() {
        return Err(malformed("claims must be a JSON object"));
    }
    header.insert("alg".into(), alg.name().into());
    header.entry("typ").or_insert_with(|| "JWT".into());
    let mut token = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = signature(alg, key, token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

fn signature(alg: Alg, key: &PrivateKey, message: &[u8]) -> Result<Vec<u8>, JwtError> {
    let rng = SystemRandom::new();
    let rsa = |pair: &RsaKeyPair, padding: &'static dyn ring_sig::RsaEncoding| {
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(padding, &rng, message, &mut signature).map(|()| signature).map_err(|_| JwtError::SigningFailed)
    };
    match (alg, &key.0) {
        (Alg::Ps256, Private::Rsa(pair)) => rsa(pair, &ring_sig::RSA_PSS_SHA256),
        (Alg::Ps384, Private::Rsa(pair)) => rsa(pair, &ring_sig::RSA_PSS_SHA384),
        (Alg::Ps512, Private::Rsa(pair)) => rsa(pair, &ring_sig::RSA_PSS_SHA512),
        // The key pairs were made with the *_FIXED_SIGNING algorithms: r || s output.
        (Alg::Es256, Private::P256(pair)) | (Alg::Es384, Private::P384(pair)) => {
            pair.sign(&rng, message).map(|signature| signature.as_ref().to_vec()).map_err(|_| JwtError::SigningFailed)
        }
        (Alg::Es512, Private::P521(signing_key)) => signing_key
            .try_sign(message)
            .map(|signature: p521::ecdsa::Signature| signature.to_bytes().to_vec())
            .map_err(|_| JwtError::SigningFailed),
        _ => Err(JwtError::KeyAlgMismatch { alg, key: key.kind() }),
    }
}

/// Checks a compact JWS the way NetSuite's token endpoint would before looking
/// at the claims: the header names an accepted `alg`, `typ` "JWT" and a `kid`
/// that `key_for_kid` knows, the key suits the algorithm, and the signature
/// verifies.
pub fn verify(token: &str, key_for_kid: impl Fn(&str) -> Option<PublicKey>) -> Result<Verified, JwtError> {
    let parts: Vec<&str> = token.split('.').collect();
    let &[header_b64, claims_b64, signature_b64] = parts.as_slice() else {
        return Err(malformed(format!(
            "a JWS has three dot-separated parts (header.claims.signature), found {}",
            parts.len()
        )));
    };
    let header = json_object(header_b64, "header")?;
    // The algorithm comes first: an RS256 token should hear about RS256, not its kid.
    let alg: Alg =
        header.get("alg").and_then(Value::as_str).ok_or_else(|| malformed("header has no string `alg`"))?.parse()?;
    // RFC 7515 recommends comparing media types case-insensitively.
    if !header.get("typ").and_then(Value::as_str).is_some_and(|typ| typ.eq_ignore_ascii_case("JWT")) {
        return Err(malformed(r#"header `typ` must be "JWT""#));
    }
    // RFC 7515 section 4.1.11: extensions the recipient does not understand must be refused.
    if header.contains_key("crit") {
        return Err(malformed("header `crit` extensions are not supported"));
    }
    let kid = match header.get("kid") {
        None => return Err(JwtError::MissingKid),
        Some(Value::String(kid)) => kid.clone(),
        Some(_) => return Err(malformed("header `kid` must be a string")),
    };
    let key = key_for_kid(&kid).ok_or_else(|| JwtError::UnknownKid { kid: kid.clone() })?;
    let signature =
        URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| malformed("signature is not base64url without padding"))?;
    let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
    check_signature(alg, &key, signing_input.as_bytes(), &signature)?;
    Ok(Verified { alg, kid, header: Value::Object(header), claims: Value::Object(json_object(claims_b64, "claims")?) })
}

fn json_object(segment: &str, what: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes =
        URL_SAFE_NO_PAD.decode(segment).map_err(|_| malformed(format!("{what} is not base64url without padding")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(malformed(format!("{what} is not a JSON object"))),
        Err(e) => Err(malformed(format!("{what} is not JSON: {e}"))),
    }
}

fn check_signature(alg: Alg, key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), JwtError> {
    let with_ring = |algorithm: &'static dyn VerificationAlgorithm, key: &[u8]| {
        UnparsedPublicKey::new(algorithm, key).verify(message, signature).map_err(|_| JwtError::BadSignature)
    };
    // The *_FIXED algorithms would refuse a DER signature anyway, but only as a
    // bad signature; naming the encoding saves a long debugging session.
    let fixed_width = |expected: usize| {
        if signature.len() == expected {
            Ok(())
        } else {
            Err(JwtError::SignatureEncoding { alg, expected, found: signature.len() })
        }
    };
    match (alg, &key.0) {
        (Alg::Ps256, Public::Rsa(der)) => with_ring(&ring_sig::RSA_PSS_2048_8192_SHA256, der),
        (Alg::Ps384, Public::Rsa(der)) => with_ring(&ring_sig::RSA_PSS_2048_8192_SHA384, der),
        (Alg::Ps512, Public::Rsa(der)) => with_ring(&ring_sig::RSA_PSS_2048_8192_SHA512, der),
        (Alg::Es256, Public::P256(point)) => {
            fixed_width(64)?;
            with_ring(&ring_sig::ECDSA_P256_SHA256_FIXED, point)
        }
        (Alg::Es384, Public::P384(point)) => {
            fixed_width(96)?;
            with_ring(&ring_sig::ECDSA_P384_SHA384_FIXED, point)
        }
        (Alg::Es512, Public::P521(verifying_key)) => {
            fixed_width(132)?;
            p521::ecdsa::Signature::from_slice(signature)
                .and_then(|signature| verifying_key.verify(message, &signature))
                .map_err(|_| JwtError::BadSignature)
        }
        _ => Err(JwtError::KeyAlgMismatch { alg, key: key.kind() }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use ring::signature::EcdsaKeyPair;

    use crate::KeyKind;
    use crate::testing::{ALL_ALGS, Garbage, key_pair};

    const KID: &str = "cert-1";

    fn claims() -> Value {
        json!({ "iss": "client", "scope": "rest_webservices", "aud": "https://x/token", "iat": 1, "exp": 2 })
    }

    fn sign_for(alg: Alg) -> (String, PublicKey) {
        let (private, public) = key_pair(alg.key_kind());
        (sign(alg, &private, &json!({ "kid": KID }), &claims()).unwrap(), public)
    }

    fn verify_with(token: &str, key: &PublicKey) -> Result<Verified, JwtError> {
        verify(token, |kid| (kid == KID).then(|| key.clone()))
    }

    /// A token with any header and signature bytes, as a confused client might send.
    fn forge(header: &Value, claims: &Value, signature: &[u8]) -> String {
        let [header, claims, signature] = [header.to_string().as_bytes(), claims.to_string().as_bytes(), signature]
            .map(|part| URL_SAFE_NO_PAD.encode(part));
        format!("{header}.{claims}.{signature}")
    }

    fn replace_part(token: &str, index: usize, part: &str) -> String {
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[index] = part;
        parts.join(".")
    }

    #[test]
    fn every_accepted_alg_round_trips() {
        for alg in ALL_ALGS {
            let (token, public) = sign_for(alg);
            let verified = verify_with(&token, &public).unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(verified.alg, alg);
            assert_eq!(verified.kid, KID);
            assert_eq!(verified.header, json!({ "alg": alg.name(), "typ": "JWT", "kid": KID }));
            assert_eq!(verified.claims, claims());
        }
    }

    #[test]
    fn rsassa_pss_keys_sign_and_verify_every_ps_alg() {
        let private: PrivateKey = crate::test_keys::RSA_PSS2048_PRIVATE_PKCS8.parse().unwrap();
        let public: PublicKey = crate::test_keys::RSA_PSS2048_PUBLIC_SPKI.parse().unwrap();
        for alg in [Alg::Ps256, Alg::Ps384, Alg::Ps512] {
            let token = sign(alg, &private, &json!({ "kid": KID }), &claims()).unwrap();
            assert_eq!(verify_with(&token, &public).unwrap().alg, alg);
        }
    }

    #[test]
    fn refuses_algorithms_the_token_endpoint_refuses() {
        let (_, public) = key_pair(KeyKind::P256);
        for alg in ["RS256", "HS256", "none", "es256", "EdDSA", ""] {
            let header = json!({ "alg": alg, "typ": "JWT", "kid": KID });
            for signature in [&b""[..], b"whatever"] {
                let token = forge(&header, &claims(), signature);
                let refused = JwtError::AlgorithmRefused { alg: alg.to_owned() };
                assert_eq!(verify_with(&token, &public), Err(refused));
            }
        }
        let refused = "RS256".parse::<Alg>().unwrap_err();
        assert_eq!(
            refused.to_string(),
            "algorithm RS256 is not accepted: the token endpoint takes PS256, PS384, PS512, ES256, ES384 or ES512"
        );
        assert_eq!(
            refused.said_by("NetSuite"),
            "algorithm RS256 is not accepted: NetSuite takes PS256, PS384, PS512, ES256, ES384 or ES512"
        );
    }

    #[test]
    fn refuses_tampered_claims_and_signature() {
        let other_claims = URL_SAFE_NO_PAD.encode(json!({ "iss": "someone-else" }).to_string());
        for alg in ALL_ALGS {
            let (token, public) = sign_for(alg);
            let tampered = replace_part(&token, 1, &other_claims);
            assert_eq!(verify_with(&tampered, &public), Err(JwtError::BadSignature), "{alg}");

            let mut signature = URL_SAFE_NO_PAD.decode(token.split('.').nth(2).unwrap()).unwrap();
            signature[10] ^= 1;
            let tampered = replace_part(&token, 2, &URL_SAFE_NO_PAD.encode(signature));
            assert_eq!(verify_with(&tampered, &public), Err(JwtError::BadSignature), "{alg}");
        }
    }

    #[test]
    fn refuses_a_signature_by_another_key_of_the_same_kind() {
        let rng = SystemRandom::new();
        let alg = &ring_sig::ECDSA_P256_SHA256_FIXED_SIGNING;
        let stranger = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let stranger = PrivateKey::from_pkcs8_der(stranger.as_ref()).unwrap();
        let token = sign(Alg::Es256, &stranger, &json!({ "kid": KID }), &claims()).unwrap();
        let (_, registered) = key_pair(KeyKind::P256);
        assert_eq!(verify_with(&token, &registered), Err(JwtError::BadSignature));
    }

    #[test]
    fn refuses_unknown_missing_or_odd_kid() {
        let (token, public) = sign_for(Alg::Es256);
        assert_eq!(verify(&token, |_| None), Err(JwtError::UnknownKid { kid: KID.to_owned() }));

        let (private, _) = key_pair(KeyKind::P256);
        let no_kid = sign(Alg::Es256, &private, &json!({}), &claims()).unwrap();
        assert_eq!(verify_with(&no_kid, &public), Err(JwtError::MissingKid));
        let numeric_kid = sign(Alg::Es256, &private, &json!({ "kid": 7 }), &claims()).unwrap();
        assert!(matches!(verify_with(&numeric_kid, &public), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn refuses_a_key_that_does_not_suit_the_algorithm() {
        let (rsa_private, rsa_public) = key_pair(KeyKind::Rsa);
        let (p256_private, p256_public) = key_pair(KeyKind::P256);
        let (es384, _) = sign_for(Alg::Es384);
        let (ps256, _) = sign_for(Alg::Ps256);
        let (es256, _) = sign_for(Alg::Es256);

        let mismatch = |alg, key| Err(JwtError::KeyAlgMismatch { alg, key });
        assert_eq!(verify_with(&ps256, &p256_public), mismatch(Alg::Ps256, KeyKind::P256));
        assert_eq!(verify_with(&es256, &rsa_public), mismatch(Alg::Es256, KeyKind::Rsa));
        assert_eq!(verify_with(&es384, &p256_public), mismatch(Alg::Es384, KeyKind::P256));
        let header = json!({ "kid": KID });
        assert_eq!(
            sign(Alg::Ps256, &p256_private, &header, &claims()).map(drop),
            Err(JwtError::KeyAlgMismatch { alg: Alg::Ps256, key: KeyKind::P256 })
        );
        assert_eq!(
            sign(Alg::Es512, &rsa_private, &header, &claims()).unwrap_err().to_string(),
            "ES512 needs an EC P-521 key, but the key is an RSA key"
        );
    }

    /// DER form of a fixed-width ECDSA signature, as OpenSSL and Node emit by default.
    fn der_signature(fixed: &[u8]) -> Vec<u8> {
        let integer = |half: &[u8]| {
            let start = half.iter().position(|&b| b != 0).unwrap_or(half.len() - 1);
            let pad = if half[start] & 0x80 != 0 { vec![0] } else { vec![] };
            let value = [pad, half[start..].to_vec()].concat();
            [vec![0x02, value.len() as u8], value].concat()
        };
        let (r, s) = fixed.split_at(fixed.len() / 2);
        let body = [integer(r), integer(s)].concat();
        [vec![0x30, body.len() as u8], body].concat()
    }

    #[test]
    fn names_a_der_encoded_ecdsa_signature() {
        let (token, public) = sign_for(Alg::Es256);
        let fixed = URL_SAFE_NO_PAD.decode(token.split('.').nth(2).unwrap()).unwrap();
        let der = der_signature(&fixed);
        let token = replace_part(&token, 2, &URL_SAFE_NO_PAD.encode(&der));
        let error = verify_with(&token, &public).unwrap_err();
        assert_eq!(error, JwtError::SignatureEncoding { alg: Alg::Es256, expected: 64, found: der.len() });
        assert!(error.to_string().contains("dsaEncoding: 'ieee-p1363'"));
    }

    #[test]
    fn header_typ_must_be_jwt_and_crit_is_refused() {
        let (private, public) = key_pair(KeyKind::P256);
        let with_header =
            |header: Value| verify_with(&sign(Alg::Es256, &private, &header, &claims()).unwrap(), &public);
        assert!(with_header(json!({ "kid": KID, "typ": "jwt" })).is_ok());
        for header in [
            json!({ "kid": KID, "typ": "JOSE" }),
            json!({ "kid": KID, "typ": null }),
            json!({ "kid": KID, "crit": ["exp"], "exp": 5 }),
        ] {
            assert!(matches!(with_header(header), Err(JwtError::Malformed(_))));
        }
    }

    #[test]
    fn sign_needs_json_objects() {
        let (private, _) = key_pair(KeyKind::P256);
        assert!(sign(Alg::Es256, &private, &json!([]), &claims()).is_err());
        assert!(sign(Alg::Es256, &private, &json!({}), &json!("claims")).is_err());
    }

    #[test]
    fn malformed_tokens_say_what_is_wrong() {
        let (token, public) = sign_for(Alg::Es256);
        let padded = format!("{token}=");
        let not_json = replace_part(&token, 0, &URL_SAFE_NO_PAD.encode("{alg"));
        let not_object = replace_part(&token, 0, &URL_SAFE_NO_PAD.encode("[1]"));
        for (bad, says) in [
            ("", "three dot-separated parts"),
            ("a.b", "found 2"),
            ("a.b.c.d.e", "found 5"),
            (padded.as_str(), "signature is not base64url"),
            (not_json.as_str(), "header is not JSON"),
            (not_object.as_str(), "header is not a JSON object"),
        ] {
            let error = verify_with(bad, &public).unwrap_err().to_string();
            assert!(error.contains(says), "{bad:?}: {error}");
        }
    }

    #[test]
    fn garbage_tokens_never_panic_nor_pass() {
        let mut garbage = Garbage::new(0x5eed);
        let (_, p256) = key_pair(KeyKind::P256);
        let any_kid = |token: &str| verify(token, |_| Some(p256.clone()));
        for _ in 0..3000 {
            assert!(any_kid(&garbage.text(300)).is_err());
        }
        // serde_json's recursion limit must turn this into an error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(any_kid(&format!("{}.e30.", URL_SAFE_NO_PAD.encode(deep))).is_err());

        for alg in ALL_ALGS {
            let (token, public) = sign_for(alg);
            for cut in 0..token.len() {
                assert!(verify_with(&token[..cut], &public).is_err());
            }
            for _ in 0..300 {
                let mutated = garbage.mutate(token.as_bytes());
                let mutated = String::from_utf8_lossy(&mutated);
                if mutated != token {
                    assert!(verify_with(&mutated, &public).is_err(), "{alg}: {mutated}");
                }
            }
            let header = json!({ "alg": alg.name(), "typ": "JWT", "kid": KID });
            for _ in 0..300 {
                let token = forge(&header, &claims(), &garbage.bytes(600));
                assert!(verify_with(&token, &public).is_err());
            }
        }
    }
}
