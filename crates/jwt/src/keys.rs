use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, RsaKeyPair};

use crate::der::{self, Reader};
use crate::error::{JwtError, invalid_key};

// OID contents (without tag and length).
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const CURVE_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const CURVE_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const CURVE_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

/// What a key is, as far as choosing a JWS algorithm goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    P256,
    P384,
    P521,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::Rsa => "an RSA key",
            KeyKind::P256 => "an EC P-256 key",
            KeyKind::P384 => "an EC P-384 key",
            KeyKind::P521 => "an EC P-521 key",
        })
    }
}

/// A signing key, as a program under test would hold it. Parse it with
/// [`PrivateKey::from_pkcs8_der`] or `str::parse` (PKCS#8 PEM, or bare base64 of
/// the PKCS#8 DER).
pub struct PrivateKey(pub(crate) Private);

pub(crate) enum Private {
    Rsa(RsaKeyPair),
    // ring binds an ECDSA key pair to its signing algorithm, hence one variant per curve.
    P256(EcdsaKeyPair),
    P384(EcdsaKeyPair),
    P521(p521::ecdsa::SigningKey),
}

impl PrivateKey {
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, JwtError> {
        let body = Reader::new(der)
            .read_last(der::SEQUENCE)
            .ok_or_else(|| invalid_key("private key is not a DER SEQUENCE"))?;
        let mut r = Reader::new(body);
        let (oid, params) = r
            .read(der::INTEGER)
            .and_then(|_version| der::algorithm_identifier(&mut r))
            .ok_or_else(|| legacy_private_key_hint(body))?;
        let rng = SystemRandom::new();
        let ring_refused = |e: ring::error::KeyRejected| invalid_key(format!("ring refused the PKCS#8 key: {e}"));
        let key = match key_kind(oid, params)? {
            // ring's PKCS#8 parser knows only rsaEncryption, while Oracle's docs
            // make RSASSA-PSS keys; the PKCS#1 key inside is the same for both.
            KeyKind::Rsa => {
                let pkcs1 =
                    r.read(der::OCTET_STRING).ok_or_else(|| invalid_key("PKCS#8 key holds no RSA private key"))?;
                Private::Rsa(RsaKeyPair::from_der(pkcs1).map_err(ring_refused)?)
            }
            KeyKind::P256 => Private::P256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng).map_err(ring_refused)?,
            ),
            KeyKind::P384 => Private::P384(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, der, &rng).map_err(ring_refused)?,
            ),
            KeyKind::P521 => Private::P521(p521_signing_key(&mut r)?),
        };
        Ok(PrivateKey(key))
    }

    pub fn kind(&self) -> KeyKind {
        match self.0 {
            Private::Rsa(_) => KeyKind::Rsa,
            Private::P256(_) => KeyKind::P256,
            Private::P384(_) => KeyKind::P384,
            Private::P521(_) => KeyKind::P521,
        }
    }
}

impl FromStr for PrivateKey {
    type Err = JwtError;

    fn from_str(text: &str) -> Result<Self, JwtError> {
        match decode_text(text)? {
            (None | Some("PRIVATE KEY"), der) => Self::from_pkcs8_der(&der),
            (Some(label @ ("RSA PRIVATE KEY" | "EC PRIVATE KEY")), _) => {
                Err(invalid_key(format!("PEM {label} is not PKCS#8; convert it with `openssl pkcs8 -topk8 -nocrypt`")))
            }
            (Some(label), _) => {
                Err(invalid_key(format!("expected an unencrypted PKCS#8 \"PRIVATE KEY\", found PEM {label:?}")))
            }
        }
    }
}

// Never print key material, even in debug output.
impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey").field("kind", &self.kind()).finish_non_exhaustive()
    }
}

/// A verification key: the public half of the certificate registered for a kid.
/// Parse it with [`PublicKey::from_spki_der`], [`PublicKey::from_certificate_der`]
/// or `str::parse` (PEM "PUBLIC KEY" or "CERTIFICATE", or bare base64 of either DER).
#[derive(Clone)]
pub struct PublicKey(pub(crate) Public);

#[derive(Clone)]
pub(crate) enum Public {
    /// PKCS#1 RSAPublicKey DER, as ring wants it.
    Rsa(Vec<u8>),
    /// Uncompressed SEC1 point, as ring wants it.
    P256(Vec<u8>),
    P384(Vec<u8>),
    P521(p521::ecdsa::VerifyingKey),
}

impl PublicKey {
    pub fn from_spki_der(der: &[u8]) -> Result<Self, JwtError> {
        let body =
            Reader::new(der).read_last(der::SEQUENCE).ok_or_else(|| invalid_key("public key is not a DER SEQUENCE"))?;
        Self::from_spki_body(body)
    }

    /// Takes the SubjectPublicKeyInfo out of an X.509 certificate; nothing else in
    /// the certificate (validity, issuer, signature) is checked, as for a mock only
    /// the key matters.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, JwtError> {
        let spki = certificate_spki(der).ok_or_else(|| invalid_key("not an X.509 certificate"))?;
        Self::from_spki_body(spki)
    }

    fn from_spki_body(body: &[u8]) -> Result<Self, JwtError> {
        let mut r = Reader::new(body);
        let (oid, params) = der::algorithm_identifier(&mut r)
            .ok_or_else(|| invalid_key("SubjectPublicKeyInfo has no algorithm identifier"))?;
        // Key bit strings never have unused bits: the leading count byte is 0.
        let Some([0, key @ ..]) = r.read_last(der::BIT_STRING) else {
            return Err(invalid_key("SubjectPublicKeyInfo has no public key bit string"));
        };
        let public = match key_kind(oid, params)? {
            KeyKind::Rsa => Public::Rsa(rsa_public_key(key)?),
            KeyKind::P256 => Public::P256(uncompressed_point(key, 32)?),
            KeyKind::P384 => Public::P384(uncompressed_point(key, 48)?),
            KeyKind::P521 => Public::P521(
                p521::ecdsa::VerifyingKey::from_sec1_bytes(key)
                    .map_err(|_| invalid_key("P-521 public key is not a point on the curve"))?,
            ),
        };
        Ok(PublicKey(public))
    }

    pub fn kind(&self) -> KeyKind {
        match self.0 {
            Public::Rsa(_) => KeyKind::Rsa,
            Public::P256(_) => KeyKind::P256,
            Public::P384(_) => KeyKind::P384,
            Public::P521(_) => KeyKind::P521,
        }
    }
}

impl FromStr for PublicKey {
    type Err = JwtError;

    fn from_str(text: &str) -> Result<Self, JwtError> {
        match decode_text(text)? {
            (Some("PUBLIC KEY"), der) => Self::from_spki_der(&der),
            (Some("CERTIFICATE"), der) => Self::from_certificate_der(&der),
            // Bare base64 carries no label: a certificate is the likelier paste.
            (None, der) => Self::from_certificate_der(&der).or_else(|_| Self::from_spki_der(&der)),
            (Some(label), _) => {
                Err(invalid_key(format!("expected PEM \"PUBLIC KEY\" or \"CERTIFICATE\", found {label:?}")))
            }
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("kind", &self.kind()).finish_non_exhaustive()
    }
}

/// PEM-armours DER, for programs under test that want PEM text.
pub fn pem(label: &str, der: &[u8]) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for (i, c) in STANDARD.encode(der).chars().enumerate() {
        if i > 0 && i % 64 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out + &format!("\n-----END {label}-----\n")
}

/// Returns the first PEM block's label and contents, or `None` as label when the
/// text has no armour and is taken as bare base64 of DER.
fn decode_text(text: &str) -> Result<(Option<&str>, Vec<u8>), JwtError> {
    let (label, body) = match text.split_once("-----BEGIN ") {
        None => (None, text),
        Some((_, after)) => {
            let (label, rest) =
                after.split_once("-----").ok_or_else(|| invalid_key("PEM BEGIN line is not closed by -----"))?;
            let (body, _) = rest
                .split_once(&format!("-----END {label}-----"))
                .ok_or_else(|| invalid_key(format!("PEM {label} has no END line")))?;
            (Some(label), body)
        }
    };
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD
        .decode(compact)
        .map_err(|e| invalid_key(format!("expected PEM, or base64 (standard alphabet) of DER: {e}")))?;
    Ok((label, der))
}

/// Walks `Certificate { TBSCertificate { [0] version OPTIONAL, serialNumber,
/// signature, issuer, validity, subject, subjectPublicKeyInfo, .. }, .. }`.
fn certificate_spki(der: &[u8]) -> Option<&[u8]> {
    let certificate = Reader::new(der).read_last(der::SEQUENCE)?;
    let mut tbs = Reader::new(Reader::new(certificate).read(der::SEQUENCE)?);
    if tbs.peek_tag() == Some(der::CONTEXT_0) {
        tbs.skip()?;
    }
    tbs.read(der::INTEGER)?;
    for _signature_issuer_validity_subject in 0..4 {
        tbs.read(der::SEQUENCE)?;
    }
    tbs.read(der::SEQUENCE)
}

/// ring parses the key itself when verifying; these checks only catch keys that
/// could never work at configuration time rather than as a bad signature later.
fn rsa_public_key(key: &[u8]) -> Result<Vec<u8>, JwtError> {
    let modulus_and_exponent = Reader::new(key).read_last(der::SEQUENCE).is_some_and(|fields| {
        let mut r = Reader::new(fields);
        r.read(der::INTEGER).is_some() && r.read_last(der::INTEGER).is_some()
    });
    if modulus_and_exponent {
        Ok(key.to_vec())
    } else {
        Err(invalid_key("RSA public key is not a PKCS#1 (modulus, exponent) SEQUENCE"))
    }
}

fn uncompressed_point(key: &[u8], field_len: usize) -> Result<Vec<u8>, JwtError> {
    match key {
        [0x04, xy @ ..] if xy.len() == 2 * field_len => Ok(key.to_vec()),
        _ => Err(invalid_key("EC public key must be an uncompressed point")),
    }
}

fn key_kind(oid: &[u8], params: &[u8]) -> Result<KeyKind, JwtError> {
    match oid {
        // Any hash restriction in RSASSA-PSS parameters is ignored: the JWS `alg` decides.
        RSA_ENCRYPTION | RSASSA_PSS => Ok(KeyKind::Rsa),
        EC_PUBLIC_KEY => match Reader::new(params).read_last(der::OID) {
            Some(CURVE_P256) => Ok(KeyKind::P256),
            Some(CURVE_P384) => Ok(KeyKind::P384),
            Some(CURVE_P521) => Ok(KeyKind::P521),
            Some(_) => Err(invalid_key("EC key is not on P-256, P-384 or P-521")),
            None => Err(invalid_key("EC key does not name its curve")),
        },
        _ => Err(invalid_key("key is neither RSA nor EC")),
    }
}

/// OpenSSL 3's `genpkey -outform DER` writes the legacy PKCS#1 / SEC1 forms, an
/// easy mistake worth naming.
fn legacy_private_key_hint(body: &[u8]) -> JwtError {
    let mut r = Reader::new(body);
    let legacy = match r.read(der::INTEGER).and_then(|_| r.peek_tag()) {
        Some(der::INTEGER) => "a PKCS#1 RSA private key",
        Some(der::OCTET_STRING) => "a SEC1 EC private key",
        _ => return invalid_key("not a PKCS#8 private key"),
    };
    invalid_key(format!("this is {legacy}, not PKCS#8; convert it with `openssl pkcs8 -topk8 -nocrypt`"))
}

/// ring has no P-521, so the RustCrypto signer gets the bare scalar out of the
/// PKCS#8 `privateKey` OCTET STRING, which holds a SEC1 ECPrivateKey.
fn p521_signing_key(pkcs8_rest: &mut Reader<'_>) -> Result<p521::ecdsa::SigningKey, JwtError> {
    let scalar = pkcs8_rest
        .read(der::OCTET_STRING)
        .and_then(|sec1| Reader::new(sec1).read(der::SEQUENCE))
        .and_then(|ec| {
            let mut ec = Reader::new(ec);
            ec.read(der::INTEGER)?;
            ec.read(der::OCTET_STRING)
        })
        .ok_or_else(|| invalid_key("P-521 PKCS#8 key holds no EC private key"))?;
    p521::ecdsa::SigningKey::from_slice(scalar).map_err(|_| invalid_key("P-521 private key is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::*;
    use crate::testing::Garbage;

    fn der(base64: &str) -> Vec<u8> {
        STANDARD.decode(base64).unwrap()
    }

    const PAIRS: [(&str, &str, KeyKind); 5] = [
        (RSA2048_PRIVATE_PKCS8, RSA2048_PUBLIC_SPKI, KeyKind::Rsa),
        (RSA_PSS2048_PRIVATE_PKCS8, RSA_PSS2048_PUBLIC_SPKI, KeyKind::Rsa),
        (P256_PRIVATE_PKCS8, P256_PUBLIC_SPKI, KeyKind::P256),
        (P384_PRIVATE_PKCS8, P384_PUBLIC_SPKI, KeyKind::P384),
        (P521_PRIVATE_PKCS8, P521_PUBLIC_SPKI, KeyKind::P521),
    ];

    #[test]
    fn test_keys_parse_from_base64_and_pem() {
        for (private, public, kind) in PAIRS {
            assert_eq!(private.parse::<PrivateKey>().unwrap().kind(), kind);
            assert_eq!(public.parse::<PublicKey>().unwrap().kind(), kind);
            let private_pem = pem("PRIVATE KEY", &der(private));
            let public_pem = pem("PUBLIC KEY", &der(public));
            assert_eq!(private_pem.parse::<PrivateKey>().unwrap().kind(), kind);
            assert_eq!(public_pem.parse::<PublicKey>().unwrap().kind(), kind);
        }
        let certificate = pem("CERTIFICATE", &der(P256_CERTIFICATE));
        assert_eq!(certificate.parse::<PublicKey>().unwrap().kind(), KeyKind::P256);
        assert_eq!(P256_CERTIFICATE.parse::<PublicKey>().unwrap().kind(), KeyKind::P256);
    }

    #[test]
    fn pem_has_64_column_lines_and_tolerates_surroundings() {
        let text = pem("PUBLIC KEY", &der(RSA2048_PUBLIC_SPKI));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN PUBLIC KEY-----"));
        assert_eq!(lines.last(), Some(&"-----END PUBLIC KEY-----"));
        assert!(lines.iter().all(|line| line.len() <= 64));
        let framed = format!("subject: test\r\n{}\r\ntrailer\n", text.replace('\n', "\r\n"));
        assert_eq!(framed.parse::<PublicKey>().unwrap().kind(), KeyKind::Rsa);
    }

    #[test]
    fn legacy_and_wrong_formats_get_a_useful_message() {
        // The PKCS#8 privateKey OCTET STRING holds exactly the legacy PKCS#1 / SEC1 DER.
        let inner = |pkcs8: &str| {
            let der = der(pkcs8);
            let mut r = Reader::new(Reader::new(&der).read(der::SEQUENCE).unwrap());
            r.read(der::INTEGER).unwrap();
            r.read(der::SEQUENCE).unwrap();
            r.read(der::OCTET_STRING).unwrap().to_vec()
        };
        let message = |result: Result<PrivateKey, JwtError>| result.unwrap_err().to_string();
        let sec1 = message(PrivateKey::from_pkcs8_der(&inner(P256_PRIVATE_PKCS8)));
        assert!(sec1.contains("SEC1") && sec1.contains("openssl pkcs8 -topk8"), "{sec1}");
        let pkcs1 = message(PrivateKey::from_pkcs8_der(&inner(RSA2048_PRIVATE_PKCS8)));
        assert!(pkcs1.contains("PKCS#1"), "{pkcs1}");
        let pem_sec1 = message(pem("EC PRIVATE KEY", &inner(P256_PRIVATE_PKCS8)).parse());
        assert!(pem_sec1.contains("openssl pkcs8 -topk8"), "{pem_sec1}");

        assert!(message(pem("PUBLIC KEY", &der(P256_PUBLIC_SPKI)).parse()).contains("PRIVATE KEY"));
        assert!(pem("PRIVATE KEY", &der(P256_PRIVATE_PKCS8)).parse::<PublicKey>().is_err());
        assert!(message("not base64!".parse()).contains("base64"));
        let unterminated = "-----BEGIN PUBLIC KEY-----\nAAAA\n".parse::<PublicKey>();
        assert!(unterminated.unwrap_err().to_string().contains("no END line"));
    }

    #[test]
    fn private_key_debug_shows_no_key_material() {
        let key: PrivateKey = P256_PRIVATE_PKCS8.parse().unwrap();
        assert_eq!(format!("{key:?}"), "PrivateKey { kind: P256, .. }");
    }

    #[test]
    fn garbage_keys_never_panic() {
        let mut garbage = Garbage::new(0xdeca_f000);
        for _ in 0..2000 {
            let bytes = garbage.bytes(300);
            let _ = PrivateKey::from_pkcs8_der(&bytes);
            let _ = PublicKey::from_spki_der(&bytes);
            let _ = PublicKey::from_certificate_der(&bytes);
            let text = garbage.text(200);
            let _ = text.parse::<PrivateKey>();
            let _ = text.parse::<PublicKey>();
        }
        let originals = PAIRS.iter().flat_map(|(private, public, _)| [*private, *public]);
        for original in originals.chain([P256_CERTIFICATE]).map(der) {
            for _ in 0..200 {
                let mutated = garbage.mutate(&original);
                let _ = PrivateKey::from_pkcs8_der(&mutated);
                let _ = PublicKey::from_spki_der(&mutated);
                let _ = PublicKey::from_certificate_der(&mutated);
            }
        }
    }
}
