//! Whether a case's recorded material is out of date on the catalog's day: recordings older than
//! `max_recording_age` in `harness.yaml`, and system versions past their vendor's end of support.

use std::collections::BTreeMap;
use std::sync::Arc;

use harness_core::SystemId;
use harness_syntax::Project;
use harness_syntax::system_file::SupportStatus;
use harness_systems::{Catalog, SystemVersion};

use super::UsedRecording;

/// One reason a case relies on something out of date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub message: String,
    /// An old recording (which `--strict-recordings` fails), rather than an unsupported version
    /// (which only ever warns: the scenario is right to test what production still runs).
    pub recording: bool,
}

/// How old `recorded_at` is at `now`, in whole days; `None` when either is not a date.
pub fn age_days(recorded_at: &str, now: &str) -> Option<u64> {
    let (then, now) = (harness_core::clock::unix_seconds(recorded_at)?, harness_core::clock::unix_seconds(now)?);
    Some(now.saturating_sub(then) / 86_400)
}

/// What is stale for a case at these versions reading these recordings. Nothing when the catalog
/// judges no day (analyses replay recordings as they are).
pub(super) fn stale(project: &Project, catalog: &Catalog, systems: &BTreeMap<SystemId, Arc<SystemVersion>>, recordings: &[UsedRecording]) -> Vec<Stale> {
    let Some(now) = catalog.now() else { return Vec::new() };
    let mut out = Vec::new();
    for version in systems.values() {
        let message = match version.support.as_ref().map(|s| s.status(now)) {
            Some(SupportStatus::Unsupported { since }) => format!("{} is past its end of support ({since}): plan the upgrade", version.label()),
            Some(SupportStatus::Inaccessible { since }) => format!("{} is past its end of support and no longer served as itself since {since}: plan the upgrade", version.label()),
            _ => continue,
        };
        out.push(Stale { message, recording: false });
    }
    let Some(max) = project.settings.max_recording_age.as_ref() else { return out };
    let mut seen = Vec::new();
    for used in recordings {
        let Some(version) = systems.get(&used.system) else { continue };
        if seen.contains(&(&used.system, &used.file)) {
            continue;
        }
        seen.push((&used.system, &used.file));
        let Ok(recording) = catalog.recording(version, &used.file) else { continue };
        let Some(at) = recording.meta.recorded_at.as_deref() else { continue };
        if let Some(days) = age_days(at, now).filter(|d| d * 86_400 > max.value) {
            out.push(Stale {
                message: format!("{} was recorded {days} days ago ({at}), older than max_recording_age in harness.yaml: record it again (`harness record`)", recording.file),
                recording: true,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_in_days() {
        assert_eq!(age_days("2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z"), Some(334));
        assert_eq!(age_days("2026-12-01", "2026-01-01T00:00:00Z"), Some(0), "a date in the future is not old");
        assert_eq!(age_days("yesterday", "2026-01-01T00:00:00Z"), None);
    }
}
