//! Whether a case's recorded material is out of date on the catalog's day: recordings older than
//! `max_recording_age` in `harness.yaml`, and system versions past their vendor's end of support.

use std::collections::BTreeMap;
use std::sync::Arc;

use harness_core::SystemId;
use harness_syntax::Project;
use harness_syntax::system_file::SupportStatus;
use harness_systems::{Catalog, PayloadOffence, SystemVersion};

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
pub(super) fn stale(
    project: &Project,
    catalog: &Catalog,
    systems: &BTreeMap<SystemId, Arc<SystemVersion>>,
    recordings: &[UsedRecording],
) -> Vec<Stale> {
    let Some(now) = catalog.now() else { return Vec::new() };
    let mut out = Vec::new();
    for version in systems.values() {
        let message = match version.support.as_ref().map(|s| s.status(now)) {
            Some(SupportStatus::Unsupported { since }) => {
                format!("{} is past its end of support ({since}): plan the upgrade", version.label())
            }
            Some(SupportStatus::Inaccessible { since }) => format!(
                "{} is past its end of support and no longer served as itself since {since}: plan the upgrade",
                version.label()
            ),
            _ => continue,
        };
        out.push(Stale { message, recording: false });
    }
    let mut checked = Vec::new();
    for used in recordings {
        if let Some(version) = systems.get(&used.system).filter(|_| !checked.contains(&(&used.system, &used.file))) {
            checked.push((&used.system, &used.file));
            out.extend(
                off_version(catalog, version, used).into_iter().map(|o| Stale { message: o.message, recording: true }),
            );
        }
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

/// What a webhook recording carries that its version does not send, by the vendor's schemas
/// (`checkout_id` in an order at 2026-04), one message each naming the file, field, topic and
/// version. Warnings in a run (`--strict-recordings` fails them), findings of `harness lint`.
pub(super) fn off_version(catalog: &Catalog, version: &SystemVersion, used: &UsedRecording) -> Vec<PayloadOffence> {
    catalog.recording_offences(version, &used.file, &used.scope).to_vec()
}

/// Every webhook recording of the project checked against its version (see [`off_version`]):
/// those that say their topic, and those the plan's scenarios use as one. Sorted.
pub fn off_version_recordings(plan: &super::Plan) -> Vec<PayloadOffence> {
    let catalog = &plan.catalog;
    let mut out = std::collections::BTreeSet::new();
    for id in catalog.systems().iter().filter_map(|s| SystemId::new(s).ok()) {
        for version in catalog.versions(&id) {
            let Ok(at) = catalog.system(&id, &version) else { continue };
            let scopes = plan.recording_scopes(&id, &version);
            for file in harness_syntax::project::files_under(&at.dir)
                .into_iter()
                .filter(|f| f.ends_with(".json") && !f.starts_with("schemas/"))
            {
                let Some(scope) =
                    catalog.recording(&at, &file).ok().and_then(|r| r.scope()).or_else(|| scopes.get(&file).cloned())
                else {
                    continue;
                };
                out.extend(off_version(
                    catalog,
                    &at,
                    &UsedRecording { system: id.clone(), version: version.clone(), file, scope },
                ));
            }
        }
    }
    out.into_iter().collect()
}

/// `harness lint`'s lines for [`off_version_recordings`]: what a recording carries that its
/// version does not send is a finding; fields a trimmed recording lacks are a note.
pub fn render_off_version(found: &[PayloadOffence]) -> String {
    let mut out: String = found
        .iter()
        .map(|f| if f.trimmed { format!("note: {}\n", f.message) } else { format!("{}\n", f.message) })
        .collect();
    out.push_str(&match found.iter().filter(|f| !f.trimmed).count() {
        0 => "lint: every webhook recording matches its version's schema\n".to_string(),
        n => format!("lint: {n} recording finding(s): record them again at their version, or move them to the version that sends them\n"),
    });
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
