//! JWT client assertions for NetSuite's OAuth 2.0 client-credentials (M2M) flow,
//! as the mock token endpoint checks them and as tests produce them.
//!
//! NetSuite accepts a JWS signed with the private key of a certificate the account
//! registered: `alg` one of PS256/384/512 or ES256/384/512 (never RS256, HS256 or
//! `none`), `kid` the certificate id, and claims `iss` (client id), `scope`
//! (including `rest_webservices`), `aud` (token endpoint URL), `iat` and `exp`
//! (in the future, at most 60 minutes after `iat`).
//!
//! ```
//! use harness_jwt::{Alg, PrivateKey, PublicKey, check_client_assertion, sign, test_keys, verify};
//! use serde_json::json;
//!
//! let key: PrivateKey = test_keys::P256_PRIVATE_PKCS8.parse()?;
//! let claims = json!({
//!     "iss": "client-id", "scope": "restlets,rest_webservices",
//!     "aud": "https://1234567.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token",
//!     "iat": 1_700_000_000, "exp": 1_700_000_600,
//! });
//! let token = sign(Alg::Es256, &key, &json!({ "kid": "cert-1" }), &claims)?;
//!
//! // The mock looks the kid up among the certificates it has "registered".
//! let certificate: PublicKey = test_keys::P256_CERTIFICATE.parse()?;
//! let verified = verify(&token, |kid| (kid == "cert-1").then(|| certificate.clone()))?;
//! check_client_assertion(
//!     &verified.claims,
//!     "client-id",
//!     "https://1234567.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token",
//!     1_700_000_100,
//! )?;
//! # Ok::<(), harness_jwt::JwtError>(())
//! ```

use std::fmt;
use std::str::FromStr;

mod claims;
mod der;
mod error;
mod jws;
mod keys;
pub mod test_keys;
#[cfg(test)]
mod testing;

pub use claims::check_client_assertion;
pub use error::JwtError;
pub use jws::{Verified, sign, verify};
pub use keys::{KeyKind, PrivateKey, PublicKey, pem};

/// The JWS algorithms NetSuite accepts for client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
}

impl Alg {
    /// Every algorithm NetSuite accepts.
    pub const ALL: [Alg; 6] = [Alg::Ps256, Alg::Ps384, Alg::Ps512, Alg::Es256, Alg::Es384, Alg::Es512];

    /// The name used in the JWT header.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Es512 => "ES512",
        }
    }

    /// The algorithm a client signs with a key of `kind` by default: PS256 for RSA (NetSuite
    /// takes no RS256), the ES algorithm of the curve otherwise.
    pub fn for_key(kind: KeyKind) -> Alg {
        match kind {
            KeyKind::Rsa => Alg::Ps256,
            KeyKind::P256 => Alg::Es256,
            KeyKind::P384 => Alg::Es384,
            KeyKind::P521 => Alg::Es512,
        }
    }

    /// The only kind of key that can sign with this algorithm.
    pub fn key_kind(self) -> KeyKind {
        match self {
            Alg::Ps256 | Alg::Ps384 | Alg::Ps512 => KeyKind::Rsa,
            Alg::Es256 => KeyKind::P256,
            Alg::Es384 => KeyKind::P384,
            Alg::Es512 => KeyKind::P521,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a JWT header `alg`; anything NetSuite would refuse is
/// [`JwtError::AlgorithmRefused`]. Names are case-sensitive, as in RFC 7515.
impl FromStr for Alg {
    type Err = JwtError;

    fn from_str(name: &str) -> Result<Self, JwtError> {
        Alg::ALL
            .into_iter()
            .find(|alg| alg.name() == name)
            .ok_or_else(|| JwtError::AlgorithmRefused { alg: name.to_owned() })
    }
}
