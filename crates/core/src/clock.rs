//! Virtual time for built-in flows: nothing in a scenario sleeps for real. A wait asked for by
//! `Retry-After` or a backoff policy, or a slow answer from a mock, advances the scenario's clock and
//! is recorded, so it can be asserted and reported, and a suite of retry scenarios runs in seconds.
//!
//! The built-in client and the mocks agree on time through private headers that never reach
//! snapshots: the client stamps each request with its clock, the mock answers with the delay it
//! would have taken instead of taking it.

use std::sync::Mutex;
use std::time::Duration;

use crate::exchange::{Fault, MockResponse};

/// Every private header starts with this; mocks strip them before recording a request.
pub const HEADER_PREFIX: &str = "x-harness-";
/// Request: the client's virtual time, in milliseconds since the scenario began.
pub const CLOCK_HEADER: &str = "x-harness-clock-ms";
/// Request: the built-in flow step that sent it, for lineage in reports.
pub const STEP_HEADER: &str = "x-harness-step";
/// Response: how long the answer would have taken, in milliseconds.
pub const DELAY_HEADER: &str = "x-harness-delay-ms";
/// Response: the answer never arrives in time (`timeout`).
pub const FAULT_HEADER: &str = "x-harness-fault";

/// A scenario's virtual clock.
#[derive(Debug, Default)]
pub struct VirtualClock {
    now: Mutex<Duration>,
}

impl VirtualClock {
    pub fn now(&self) -> Duration {
        *self.now.lock().expect("clock lock")
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("clock lock") += by;
    }
}

/// Turn a response's delay and timeout into headers for a virtual-clock client.
pub fn annotate(response: &mut MockResponse) {
    if let Some(delay) = response.delay {
        response.set_header(DELAY_HEADER, delay.as_millis().to_string());
    }
    if response.fault == Some(Fault::Timeout) {
        response.set_header(FAULT_HEADER, "timeout");
        response.fault = None;
    }
}

/// `Retry-After` in seconds (Shopify sends fractions like `2.0`) or an HTTP date, which on a
/// virtual clock has no meaning and counts as one second.
pub fn retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    (!v.is_empty()).then_some(Duration::from_secs(1))
}

/// Seconds since the Unix epoch at which every built-in flow's clock starts
/// (2025-01-15T12:00:00Z), so timestamps, tokens and signatures are the same in every run.
pub const EPOCH: u64 = 1_736_942_400;

/// The wall clock as RFC 3339 UTC text, for what depends on the real date (support windows,
/// the age of recordings) — never for what a run produces.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    rfc3339(now)
}

/// `2025-01-15T12:00:00Z` for a number of seconds since the Unix epoch (UTC).
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let rem = unix_seconds % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Seconds since the Unix epoch of `2025-01-15T12:00:00Z` or `2025-01-15` (UTC; fractions of a
/// second and offsets other than `Z` are not written by the harness and are refused).
pub fn unix_seconds(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| std::str::from_utf8(b.get(r)?).ok()?.parse::<i64>().ok();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let seconds = match b.len() {
        10 => 0,
        20 if b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'Z' => {
            num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?
        }
        _ => return None,
    };
    // Days-from-civil (Howard Hinnant's algorithm), the inverse of `rfc3339`.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + seconds).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(rfc3339(EPOCH), "2025-01-15T12:00:00Z");
        for t in [EPOCH, 0, 951_782_400, 1_795_000_123] {
            assert_eq!(unix_seconds(&rfc3339(t)), Some(t));
        }
        assert_eq!(unix_seconds("2025-01-15"), Some(EPOCH - 12 * 3600));
        assert_eq!(unix_seconds("2025-13-01"), None);
        assert_eq!(unix_seconds("2025-01-15T12:00:00+01:00"), None);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    use super::*;

    #[test]
    fn retry_after_accepts_fractions() {
        assert_eq!(retry_after("2.0"), Some(Duration::from_secs(2)));
        assert_eq!(retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::from_secs(1)));
        assert_eq!(retry_after("-3"), None);
    }

    #[test]
    fn timeouts_become_headers_on_a_virtual_clock() {
        let mut r = MockResponse::new(200);
        r.fault = Some(Fault::Timeout);
        r.delay = Some(Duration::from_secs(3));
        annotate(&mut r);
        assert_eq!(r.header_value(FAULT_HEADER), Some("timeout"));
        assert_eq!(r.header_value(DELAY_HEADER), Some("3000"));
        assert_eq!(r.fault, None);
    }
}
