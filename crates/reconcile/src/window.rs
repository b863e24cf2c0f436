//! The time window a check covers, and the instants records carry, as Unix seconds (UTC).

use harness_core::clock::{rfc3339, unix_seconds};
use harness_systems::records::Period;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: u64,
    pub until: u64,
    /// When the check runs: a record younger than the lag at this instant is not yet missing.
    pub now: u64,
}

/// Why `--since`, `--until` or `--last` make no window: a usage error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("cannot read the current time `{0}`")]
    Now(String),
    #[error("--{flag} `{value}`: write e.g. {example}T00:00Z or {example}")]
    Instant { flag: &'static str, value: String, example: &'static str },
    #[error("--last `{0}`: write e.g. 24h, 7d or 90m")]
    SpanNumber(String),
    #[error("--last `{0}`: the unit is m, h or d")]
    SpanUnit(String),
    #[error("--last: the window must not be empty")]
    SpanZero,
    #[error("--last {0} reaches before 1970")]
    BeforeEpoch(String),
    #[error("the window is empty: {since} is not before {until}")]
    Empty { since: String, until: String },
}

impl From<WindowError> for harness_core::Error {
    fn from(e: WindowError) -> Self {
        harness_core::Error::Usage(e.to_string())
    }
}

impl Window {
    /// From `--since`/`--until` or `--last` (default the last 24 hours), ending at `now` unless
    /// `--until` says otherwise.
    pub fn new(since: Option<&str>, until: Option<&str>, last: Option<&str>, now: &str) -> Result<Window, WindowError> {
        let now = instant(now).ok_or_else(|| WindowError::Now(now.to_string()))?;
        let until = match until {
            Some(u) => instant(u).ok_or_else(|| WindowError::Instant {
                flag: "until",
                value: u.to_string(),
                example: "2026-12-07",
            })?,
            None => now,
        };
        let since = match (since, last) {
            (Some(s), _) => instant(s).ok_or_else(|| WindowError::Instant {
                flag: "since",
                value: s.to_string(),
                example: "2026-12-06",
            })?,
            (None, Some(l)) => until.checked_sub(span(l)?).ok_or_else(|| WindowError::BeforeEpoch(l.to_string()))?,
            (None, None) => until.saturating_sub(24 * 3600),
        };
        if since >= until {
            return Err(WindowError::Empty { since: rfc3339(since), until: rfc3339(until) });
        }
        Ok(Window { since, until, now })
    }

    /// This window begun `seconds` earlier: the source is listed so, for what arrived downstream
    /// in the window from just before it.
    pub(crate) fn reaching_back(&self, seconds: u64) -> Window {
        Window { since: self.since.saturating_sub(seconds), ..*self }
    }

    pub fn since_text(&self) -> String {
        rfc3339(self.since)
    }

    pub fn until_text(&self) -> String {
        rfc3339(self.until)
    }

    /// The instants listed: what a system's lister reads.
    pub(crate) fn period(&self) -> Period {
        Period { since: self.since, until: self.until }
    }
}

/// `24h`, `7d`, `90m`.
fn span(text: &str) -> Result<u64, WindowError> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = number.parse().map_err(|_| WindowError::SpanNumber(text.to_string()))?;
    let unit = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(WindowError::SpanUnit(text.to_string())),
    };
    match n * unit {
        0 => Err(WindowError::SpanZero),
        s => Ok(s),
    }
}

/// Seconds since the epoch of an instant as systems write it: RFC 3339 with or without seconds,
/// fractions or an offset (`2026-12-06T10:15:00.123-05:00`), a space for the `T`
/// (`2026-12-06 10:15:00`), or a date alone; or a number of seconds.
pub(crate) fn instant(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.len() == 10 {
        return unix_seconds(t);
    }
    if t.len() < 16 || !t.is_char_boundary(16) {
        return None;
    }
    let (date_time, rest) = t.split_at(16);
    let mut rest = rest;
    let mut seconds = "00";
    if let Some(r) = rest.strip_prefix(':') {
        seconds = r.get(..2)?;
        rest = &r[2..];
    }
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let base = unix_seconds(&format!("{}T{}:{seconds}Z", &date_time[..10], &date_time[11..16]))? as i64;
    let offset = match rest {
        "" | "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let h: i64 = o[1..3].parse().ok()?;
            let m: i64 = o[4..6].parse().ok()?;
            let s = h * 3600 + m * 60;
            if o.starts_with('+') { s } else { -s }
        }
        _ => return None,
    };
    u64::try_from(base - offset).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_as_systems_write_them() {
        let t = unix_seconds("2026-12-06T10:15:00Z").unwrap();
        assert_eq!(instant("2026-12-06T10:15:00Z"), Some(t));
        assert_eq!(instant("2026-12-06T10:15Z"), Some(t));
        assert_eq!(instant("2026-12-06 10:15:00"), Some(t));
        assert_eq!(instant("2026-12-06T10:15:00.250Z"), Some(t));
        assert_eq!(instant("2026-12-06T05:15:00-05:00"), Some(t));
        assert_eq!(instant("soon"), None);
    }

    #[test]
    fn windows_from_the_command_line() {
        let w =
            Window::new(Some("2026-12-06T00:00Z"), Some("2026-12-07T00:00Z"), None, "2026-12-07T08:00:00Z").unwrap();
        assert_eq!(w.until - w.since, 86_400);
        let last = Window::new(None, None, Some("24h"), "2026-12-07T08:00:00Z").unwrap();
        assert_eq!(last.since_text(), "2026-12-06T08:00:00Z");
        assert!(Window::new(Some("2026-12-07"), Some("2026-12-06"), None, "2026-12-07T08:00:00Z").is_err());
        assert!(Window::new(None, None, Some("3w"), "2026-12-07T08:00:00Z").is_err());
    }
}
