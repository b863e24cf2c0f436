//! How a built-in flow delivers (`delivery:` in a flow file, overridable in a scenario's).

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

/// Delivery policy of a built-in flow (`delivery:` in the flow, overridable per scenario).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct DeliverySpec {
    /// Attempts per request, the first included (default 3).
    pub max_attempts: Option<u32>,
    /// First backoff (default `1s`), doubled each retry.
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub backoff: Option<Duration>,
    /// Longest single wait (default `60s`).
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub max_backoff: Option<Duration>,
    /// Jitter as a fraction of the backoff (default 0.2), seeded so runs repeat exactly.
    pub jitter: Option<f64>,
    /// Wait what `Retry-After` asks (default true).
    pub honour_retry_after: Option<bool>,
    /// Client timeout per request (default `30s`).
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// Records processed at once (default 1).
    pub concurrency: Option<usize>,
    /// What a record that cannot be delivered does to the rest: `dead-letter` it and go on
    /// (default), or `stop` the flow (the other records stay unprocessed: a stalled queue).
    pub on_failure: Option<OnFailure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    DeadLetter,
    Stop,
}
