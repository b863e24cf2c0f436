//! Durations as people write them in YAML: `30s`, `500ms`, `2m`, `1.5s`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

const MAX_SECONDS: f64 = 24.0 * 3600.0;

/// A duration [`parse`] refuses; each variant carries the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration `{0}` (write e.g. `30s`, `500ms`, `2m`)")]
    Number(String),
    #[error("invalid duration unit in `{0}` (use ms, s or m)")]
    Unit(String),
    #[error("invalid duration `{0}`")]
    Negative(String),
    #[error("duration `{0}` is over the maximum of 24 hours")]
    TooLong(String),
}

pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| DurationError::Number(text.to_string()))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" | "min" => value * 60.0,
        _ => return Err(DurationError::Unit(text.to_string())),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(DurationError::Negative(text.to_string()));
    }
    // A wait or limit over a day is a typo, and would overflow deadlines further on.
    if seconds > MAX_SECONDS {
        return Err(DurationError::TooLong(text.to_string()));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Human form used in reports: `1.5s`, `250ms`.
pub fn format(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 { format!("{}ms", ms.round() as u64) } else { format!("{:.2}s", ms / 1000.0).replace(".00s", "s") }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

pub fn deserialize_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse("2").unwrap(), Duration::from_secs(2));
        assert!(parse("soon").is_err());
        assert!(parse("3h").is_err());
    }

    #[test]
    fn formats_for_humans() {
        assert_eq!(format(Duration::from_millis(250)), "250ms");
        assert_eq!(format(Duration::from_millis(1500)), "1.50s");
        assert_eq!(format(Duration::from_secs(2)), "2s");
    }
}
