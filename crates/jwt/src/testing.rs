//! Helpers shared by the unit tests.

use crate::{Alg, KeyKind, PrivateKey, PublicKey, test_keys::*};

pub const ALL_ALGS: [Alg; 6] = Alg::ALL;

/// The test key pair that suits `kind`.
pub fn key_pair(kind: KeyKind) -> (PrivateKey, PublicKey) {
    let (private, public) = match kind {
        KeyKind::Rsa => (RSA2048_PRIVATE_PKCS8, RSA2048_PUBLIC_SPKI),
        KeyKind::P256 => (P256_PRIVATE_PKCS8, P256_PUBLIC_SPKI),
        KeyKind::P384 => (P384_PRIVATE_PKCS8, P384_PUBLIC_SPKI),
        KeyKind::P521 => (P521_PRIVATE_PKCS8, P521_PUBLIC_SPKI),
    };
    (private.parse().unwrap(), public.parse().unwrap())
}

/// A small deterministic PRNG (xorshift64) so garbage tests need no extra crate
/// and a failure reproduces.
pub struct Garbage(u64);

impl Garbage {
    pub fn new(seed: u64) -> Self {
        Garbage(seed | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    pub fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len).map(|_| self.below(256) as u8).collect()
    }

    /// A string drawn from characters that matter to JWS and base64 parsing.
    pub fn text(&mut self, max_len: usize) -> String {
        const CHARS: &[u8] = b"AZaz09-_+/=.. \n{}\"eyJ";
        let len = self.below(max_len + 1);
        (0..len).map(|_| char::from(CHARS[self.below(CHARS.len())])).collect()
    }

    /// `original` with a few bytes overwritten or the tail cut off.
    pub fn mutate(&mut self, original: &[u8]) -> Vec<u8> {
        let mut out = original.to_vec();
        if out.is_empty() {
            return out;
        }
        if self.below(4) == 0 {
            out.truncate(self.below(out.len()));
        } else {
            for _ in 0..=self.below(3) {
                let at = self.below(out.len());
                out[at] = self.below(256) as u8;
            }
        }
        out
    }
}
