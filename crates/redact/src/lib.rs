//! Keeps credentials and personal data out of everything the harness records and writes.
//!
//! Three tools, for three moments:
//!
//! - [`Redactor`], at recording time: removes credentials from headers, query strings and bodies
//!   (JSON, XML/SOAP with the CSV Peoplevox carries inside it, forms, CSV, text) and replaces
//!   personal data by consistent, format-keeping fakes, so a recording can be committed and still
//!   replays: the same email always becomes the same fake, in every file and every run with the
//!   same key. [`Redactor::leaked`] then tells whether a credential it saw survived anywhere.
//! - [`SecretMask`], on every run: masks the secret values the harness knows (its configured
//!   credentials) in snapshots, reports and terminal output, in any encoding they may take.
//! - [`lint`], for files already on disk: finds token shapes (the systems' own, given as
//!   [`TokenShape`]s, and vendor-neutral ones), high-entropy credential values and
//!   real-looking email addresses.
//!
//! Field names are compared normalised everywhere (ASCII letters and digits only, lowercased), so
//! `first_name`, `firstName` and `FirstName` are the same field; see `fields.rs` for the lists.
//!
//! Address literals: a repository check flags non-loopback IP literals in source files, so fake and
//! test addresses are built from their numeric parts, never written out.

mod fake;
mod fields;
mod lint;
mod mask;
mod patterns;
mod personal;
mod redactor;

pub use lint::{LintFinding, LintKind, lint};
pub use mask::SecretMask;
pub use patterns::{TokenShape, TokenShapes};
pub use redactor::{RedactionConfig, Redactions, Redactor};

/// Whether a field, parameter, element or header of this name holds a credential — the one
/// decision of which names in traffic are secret, for recordings and snapshots alike (names
/// compared normalised: `X-Shopify-Access-Token`, `client_secret`, `SessionId`).
pub fn is_credential_name(name: &str) -> bool {
    // Asked of every key of every snapshotted body: normalised on the stack, not in a new String.
    let mut normal = [0u8; 64];
    let mut len = 0;
    for b in name.bytes().filter(u8::is_ascii_alphanumeric) {
        let Some(slot) = normal.get_mut(len) else { return fields::is_credential(&fields::normalize(name)) };
        *slot = b.to_ascii_lowercase();
        len += 1;
    }
    std::str::from_utf8(&normal[..len]).is_ok_and(fields::is_credential)
}

/// Whether a credential of a system file or an environment variable holds a secret, by its name:
/// it contains `TOKEN`, `SECRET`, `PASSWORD`, `PASSWD`, `KEY`, `CREDENTIAL`, `PRIVATE` or
/// `SESSION`, or starts with `AWS_` (case-insensitive). Broader than [`is_credential_name`] on
/// purpose: these names are labels people choose (`GITHUB_TOKEN`, `AWS_REGION`), not an API's
/// fields, and masking a value too many costs nothing; identifiers (`account_id`, `client_id`)
/// stay readable.
pub fn is_secret_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("AWS_")
        || ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "PRIVATE", "SESSION"]
            .iter()
            .any(|w| upper.contains(w))
}

/// What every removed credential and custom-redacted value becomes. The same placeholder the
/// snapshots use, so a redacted recording and its snapshot read alike.
pub const REDACTED: &str = "[redacted]";

#[cfg(test)]
mod tests {
    use super::*;

    /// A system's token shape, as a system declares one.
    pub(crate) const SHOPIFY_TOKEN: TokenShape =
        TokenShape { label: "Shopify token", pattern: r"\b(shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32})\b" };

    /// [`lint`](crate::lint) with a system's token shape, as the harness calls it.
    pub(crate) fn lint(text: &str, allowed: &[String]) -> Vec<LintFinding> {
        crate::lint(text, allowed, &TokenShapes::new(&[SHOPIFY_TOKEN]))
    }

    #[test]
    fn secret_names_in_traffic() {
        for name in [
            "X-Shopify-Access-Token",
            "client_assertion",
            "client_secret",
            "password",
            "SessionId",
            "access_token",
            "refresh_token",
            "nonce",
            "consumerKey",
        ] {
            assert!(is_credential_name(name), "{name}");
        }
        for name in [
            "content-type",
            "idempotency-key",
            "soapaction",
            "prefer",
            "checkout_token",
            "client_assertion_type",
            "grant_type",
            "tranDate",
        ] {
            assert!(!is_credential_name(name), "{name}");
        }
        let long = format!("{}_password", "x".repeat(80));
        assert!(is_credential_name(&long), "names longer than the stack buffer");
        assert!(is_credential_name("Client-Secret") && !is_credential_name("Pass-Wörd"), "compared normalised");
    }

    #[test]
    fn secret_variable_names() {
        for name in [
            "GITHUB_TOKEN",
            "client_secret",
            "DB_PASSWORD",
            "api_key",
            "AWS_REGION",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "token_id",
            "access_token",
        ] {
            assert!(is_secret_variable(name), "{name}");
        }
        for name in ["PATH", "HOME", "account_id", "client_id", "shop_domain", "username", "LANG"] {
            assert!(!is_secret_variable(name), "{name}");
        }
    }
}
