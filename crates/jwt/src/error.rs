use crate::claims::MAX_LIFETIME_SECS;
use crate::{Alg, KeyKind};

/// Why a client assertion (or a key) was refused. The messages are meant to be
/// shown as they are to whoever wires a program under test to the mock; where a rule is the
/// token endpoint's, [`JwtError::said_by`] names whose it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("{}", algorithm_refused(.alg, ENDPOINT))]
    AlgorithmRefused { alg: String },
    #[error("{}", missing_kid(ENDPOINT))]
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
    #[error("{}", lifetime_too_long(*.lifetime, ENDPOINT))]
    LifetimeTooLong { lifetime: u64 },
}

/// Who makes the rules, when no system is named.
const ENDPOINT: &str = "the token endpoint";

impl JwtError {
    /// The message with `party` (the system whose token endpoint the assertion is for, as a user
    /// knows it) named where the rule is its own.
    pub fn said_by(&self, party: &str) -> String {
        match self {
            JwtError::AlgorithmRefused { alg } => algorithm_refused(alg, party),
            JwtError::MissingKid => missing_kid(party),
            JwtError::LifetimeTooLong { lifetime } => lifetime_too_long(*lifetime, party),
            other => other.to_string(),
        }
    }
}

fn algorithm_refused(alg: &str, party: &str) -> String {
    let (last, first) = Alg::ALL.split_last().expect("algorithms");
    let first: Vec<&str> = first.iter().map(|a| a.name()).collect();
    format!("algorithm {alg} is not accepted: {party} takes {} or {last}", first.join(", "))
}

fn missing_kid(party: &str) -> String {
    format!("the JWT header has no `kid`: it must be the certificate id {party} assigned")
}

fn lifetime_too_long(lifetime: u64, party: &str) -> String {
    format!("assertion lives {lifetime} s (exp - iat); {party} allows at most {MAX_LIFETIME_SECS} s")
}

pub(crate) fn invalid_key(why: impl Into<String>) -> JwtError {
    JwtError::InvalidKey(why.into())
}

pub(crate) fn malformed(why: impl Into<String>) -> JwtError {
    JwtError::Malformed(why.into())
}
