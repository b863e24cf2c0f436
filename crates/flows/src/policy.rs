//! The delivery policy of a built-in flow, as it runs: attempts, backoff with seeded jitter,
//! timeouts, concurrency and what a failed record does to the rest. Written in the flow's
//! `delivery:`, overridable per scenario.

use std::time::Duration;

use harness_syntax::delivery::{DeliverySpec, OnFailure};

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryPolicy {
    pub max_attempts: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
    pub jitter: f64,
    pub honour_retry_after: bool,
    pub timeout: Duration,
    pub concurrency: usize,
    pub on_failure: OnFailure,
}

impl DeliveryPolicy {
    /// `spec` over `base`.
    pub fn merged(base: &DeliveryPolicy, spec: &DeliverySpec) -> DeliveryPolicy {
        DeliveryPolicy {
            max_attempts: spec.max_attempts.unwrap_or(base.max_attempts).max(1),
            backoff: spec.backoff.unwrap_or(base.backoff),
            max_backoff: spec.max_backoff.unwrap_or(base.max_backoff),
            jitter: spec.jitter.unwrap_or(base.jitter).clamp(0.0, 1.0),
            honour_retry_after: spec.honour_retry_after.unwrap_or(base.honour_retry_after),
            timeout: spec.timeout.unwrap_or(base.timeout),
            concurrency: spec.concurrency.unwrap_or(base.concurrency).max(1),
            on_failure: spec.on_failure.unwrap_or(base.on_failure),
        }
    }

    /// The wait before `attempt` (2 = first retry): doubling backoff with seeded jitter.
    pub fn backoff_before(&self, attempt: u32, seed: u64) -> Duration {
        let exp = self.backoff.as_secs_f64() * 2f64.powi(attempt.saturating_sub(2) as i32);
        let unit = (splitmix64(seed ^ u64::from(attempt)) >> 11) as f64 / (1u64 << 53) as f64;
        let factor = 1.0 + self.jitter * (2.0 * unit - 1.0);
        Duration::from_secs_f64((exp * factor).min(self.max_backoff.as_secs_f64()).max(0.0))
    }
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            max_attempts: 3,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            jitter: 0.2,
            honour_retry_after: true,
            timeout: Duration::from_secs(30),
            concurrency: 1,
            on_failure: OnFailure::DeadLetter,
        }
    }
}

pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_seeded_jitter() {
        let p = DeliveryPolicy::default();
        let first = p.backoff_before(2, 42);
        let second = p.backoff_before(3, 42);
        assert!(first >= Duration::from_millis(800) && first <= Duration::from_millis(1200), "{first:?}");
        assert!(second >= Duration::from_millis(1600) && second <= Duration::from_millis(2400), "{second:?}");
        assert_eq!(p.backoff_before(2, 42), first, "seeded");
        let capped = DeliveryPolicy { max_backoff: Duration::from_secs(5), ..p.clone() };
        assert!(capped.backoff_before(10, 1) <= Duration::from_secs(5));
    }
}
