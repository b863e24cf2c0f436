//! Redaction by value: the secrets a run knows are masked wherever they appear in what it writes —
//! exchanges (and so snapshots, diffs and findings), a program's output, record reasons, and the
//! reports — in any encoding they take (`harness_redact::SecretMask`).
//!
//! Known secrets: the credentials of every system version in the run whose names say they are
//! secrets (see [`harness_redact::is_secret_variable`]; identifiers such as `account_id` or `client_id` stay readable),
//! the values of the harness's environment variables whose names say so, the values of the
//! variables named with `--secret`, and per case what its mocks issued (access tokens, session ids).

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use harness_redact::{SecretMask, is_secret_variable};

use crate::plan::Plan;

/// The values of the environment's secret-looking variables (`GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`).
pub(crate) fn environment() -> impl Iterator<Item = String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| is_secret_variable(k))
        .map(|(_, v)| v)
}

/// The secrets of a run.
pub struct Secrets {
    mask: Arc<SecretMask>,
}

impl Secrets {
    /// The plan's secret credentials, the environment's secret-looking variables and `extra`
    /// (the values given with `--secret`).
    pub fn for_run(plan: &Plan, extra: &[String]) -> Secrets {
        let mut known: Vec<String> = extra.to_vec();
        for case in &plan.cases {
            for version in case.systems.values() {
                known.extend(version.credentials.iter().filter(|(k, _)| is_secret_variable(k)).map(|(_, v)| v.clone()));
            }
        }
        known.extend(environment());
        known.sort();
        known.dedup();
        Secrets { mask: Arc::new(SecretMask::new(known)) }
    }

    /// The mask of every secret known for the run.
    pub(crate) fn known(&self) -> &SecretMask {
        &self.mask
    }

    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        self.mask.mask(text)
    }

    /// The run's secrets and those a case's mocks issued.
    pub fn with_issued(&self, issued: Vec<String>) -> SecretMask {
        SecretMask::over(self.mask.clone(), issued)
    }
}

pub(crate) fn mask_string(mask: &SecretMask, text: &mut String) {
    if let Cow::Owned(masked) = mask.mask(text) {
        *text = masked;
    }
}

pub(crate) fn mask_bytes(mask: &SecretMask, bytes: &mut Bytes) {
    // Bodies that are not text hold no secret in a form the mask could find anyway.
    if let Ok(text) = std::str::from_utf8(bytes)
        && let Cow::Owned(masked) = mask.mask(text)
    {
        *bytes = Bytes::from(masked);
    }
}
