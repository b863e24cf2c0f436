//! `harness systems`: every system version the harness and the project know, with where it
//! stands today — as a table for people and as JSON for scripts.

use harness_core::Style;
use harness_syntax::system_file::SupportStatus;
use harness_systems::{Listed, Origin};
use serde_json::{Value, json};

/// The listing as text, grouped by system; `now` is RFC 3339 UTC.
pub fn systems_text(listing: &[Listed], now: &str, style: &Style) -> String {
    let mut out = String::new();
    let mut system = "";
    for l in listing {
        if l.system != system {
            system = &l.system;
            out.push_str(&style.bold(system));
            out.push('\n');
        }
        let status = match (&l.problem, status(l, now)) {
            (Some(p), _) => style.red(&format!("cannot be loaded: {p}")),
            (None, SupportStatus::Supported { until: Some(until) }) => {
                style.green(&format!("supported until {}", show_date(&until)))
            }
            (None, SupportStatus::Supported { until: None }) => style.green("supported"),
            (None, SupportStatus::ReleaseCandidate) => style.yellow("release candidate"),
            (None, SupportStatus::Unsupported { since }) => {
                style.yellow(&format!("unsupported since {}, still answered", show_date(&since)))
            }
            (None, SupportStatus::Inaccessible { since }) => {
                style.red(&format!("unsupported; not served as itself since {}", show_date(&since)))
            }
            (None, SupportStatus::Unknown) => style.dim("no support dates"),
        };
        let origin = match (l.origin, &l.based_on) {
            (Origin::BuiltIn, _) => String::new(),
            (Origin::BuiltInAndProject, _) => "  (project files over the built-in ones)".into(),
            (Origin::Project, Some(base)) => format!("  (project; built-in rules of {base})"),
            (Origin::Project, None) => "  (project)".into(),
        };
        out.push_str(&format!("  {:<10} {status}{}\n", l.version, style.dim(&origin)));
        for notice in l.support.iter().flat_map(|s| &s.notices) {
            out.push_str(&format!("  {:<10} {}\n", "", style.dim(&format!("note: {notice}"))));
        }
    }
    out
}

/// The listing as JSON: one object per version.
pub fn systems_json(listing: &[Listed], now: &str) -> Value {
    let entries: Vec<Value> = listing
        .iter()
        .map(|l| {
            let (status, date) = match status(l, now) {
                SupportStatus::Supported { until } => ("supported", until),
                SupportStatus::ReleaseCandidate => ("release-candidate", None),
                SupportStatus::Unsupported { since } => ("unsupported", Some(since)),
                SupportStatus::Inaccessible { since } => ("inaccessible", Some(since)),
                SupportStatus::Unknown => ("unknown", None),
            };
            let support = l.support.as_ref();
            let date_of = |f: fn(&harness_syntax::system_file::Support) -> &Option<harness_syntax::Loc<String>>| {
                support.and_then(|s| f(s).as_ref()).map(|d| d.value.clone())
            };
            json!({
                "system": l.system,
                "version": l.version,
                "origin": l.origin,
                "based_on": l.based_on,
                "status": if l.problem.is_some() { "invalid" } else { status },
                "status_date": date,
                "released": date_of(|s| &s.released),
                "supported_until": date_of(|s| &s.until),
                "accessible_until": date_of(|s| &s.accessible_until),
                "release_candidate": support.is_some_and(|s| s.release_candidate),
                "source": support.and_then(|s| s.source.clone()),
                "notices": support.map_or_else(Vec::new, |s| s.notices.clone()),
                "description": l.description,
                "problem": l.problem,
            })
        })
        .collect();
    Value::Array(entries)
}

fn status(l: &Listed, now: &str) -> SupportStatus {
    l.support.as_ref().map_or(SupportStatus::Unknown, |s| s.status(now))
}

/// `2027-01-01T15:00:00Z` → `2027-01-01 15:00 UTC`.
fn show_date(date: &str) -> String {
    match date.split_once('T') {
        Some((day, time)) => format!("{day} {} UTC", time.get(..5).unwrap_or(time)),
        None => date.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_shown_to_the_minute_in_utc() {
        assert_eq!(show_date("2027-01-01T15:00:00Z"), "2027-01-01 15:00 UTC");
        assert_eq!(show_date("2027-01-01"), "2027-01-01");
        assert_eq!(show_date("2027-01-01T1"), "2027-01-01 1 UTC");
    }
}
