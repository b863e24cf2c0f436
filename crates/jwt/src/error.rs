use crate::{Alg, KeyKind};

/// Why a client assertion (or a key) was refused. The messages are meant to be
/// shown as they are to whoever wires a program under test to the mock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("algorithm {alg} is not accepted: NetSuite takes PS256, PS384, PS512, ES256, ES384 or ES512")]
    AlgorithmRefused { alg: String },
    #[error("the JWT header has no `kid`: it must be the certificate id NetSuite assigned")]
    MissingKid,
    #[error("no certificate is registered with kid {kid:?}")]
    UnknownKid { kid: String },
    #[error("{alg} needs {}, but the key is {key}", alg.key_kind())]
    KeyAlgMismatch { alg: Alg, key: KeyKind },
    #[error(
        "{alg} signature must be {expected} bytes (r and s concatenated, RFC 7518 section 3.4), \
         found {found} bytes; a DER-encoded ECDSA signature is not accepted \
         (Node.js: pass dsaEncoding: 'ieee-p1363' to crypto.sign)"
    )]
    SignatureEncoding { alg: Alg, expected: usize, found: usize },
    #[error(
        "signature does not verify with the certificate registered for this kid \
         (PS* signatures must use a PSS salt as long as the hash, as RFC 7518 requires)"
    )]
    BadSignature,
    #[error("signing failed")]
    SigningFailed,
    #[error("claim `{claim}` is missing")]
    MissingClaim { claim: &'static str },
    #[error("wrong issuer: `iss` must be the integration's client id {expected:?}, found {found}")]
    WrongIssuer { expected: String, found: String },
    #[error("wrong audience: `aud` must be the token endpoint URL {expected:?}, found {found}")]
    WrongAudience { expected: String, found: String },
    #[error("`scope` must include rest_webservices (comma- or space-separated), found {found}")]
    MissingScope { found: String },
    #[error("assertion expired: exp {exp} is not after now ({now}); check the client's clock")]
    Expired { exp: u64, now: u64 },
    #[error("assertion lives {lifetime} s (exp - iat); NetSuite allows at most 3600 s")]
    LifetimeTooLong { lifetime: u64 },
}

pub(crate) fn invalid_key(why: impl Into<String>) -> JwtError {
    JwtError::InvalidKey(why.into())
}

pub(crate) fn malformed(why: impl Into<String>) -> JwtError {
    JwtError::Malformed(why.into())
}
