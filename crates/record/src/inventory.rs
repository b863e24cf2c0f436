//! `harness recordings`: every recording of the project with when and where it was recorded, how
//! old it is, where its version stands, and the scenarios that use it.

use std::collections::{BTreeMap, BTreeSet};

use harness_core::{Error, Style, SystemId};
use harness_engine::events::{AnalysisResult, Suite, SuiteCase, SuiteVerdict};
use harness_engine::plan::{Plan, age_days};
use harness_syntax::Project;
use harness_syntax::project::files_under;
use harness_syntax::system_file::SupportStatus;
use serde_json::{Value, json};

/// Folders of a version that hold no recordings.
const NOT_RECORDINGS: [&str; 2] = ["stubs/", "schemas/"];

/// One recording in the listing.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Project-relative.
    pub file: String,
    pub system: SystemId,
    pub version: String,
    pub recorded_at: Option<String>,
    pub age_days: Option<u64>,
    pub stale: bool,
    /// Where the version stands today (`supported`, `unsupported since …`).
    pub support: String,
    /// Ids of the cases that use it.
    pub used_by: Vec<String>,
    pub source: Option<String>,
}

/// The listing `harness recordings` reports.
#[derive(Debug, Clone, Default)]
pub struct Recordings {
    pub listed: Vec<Listed>,
}

/// Every recording under `mocks/`, sorted by file. `plan` (built with the catalog at `now`) says
/// which cases use which.
pub fn list(project: &Project, plan: &Plan, now: &str) -> Result<Recordings, Error> {
    let mut used: BTreeMap<(SystemId, String, String), BTreeSet<String>> = BTreeMap::new();
    for case in &plan.cases {
        for r in &case.recordings {
            used.entry((r.system.clone(), r.version.clone(), r.file.clone())).or_default().insert(case.id.clone());
        }
    }
    let max = project.settings.max_recording_age.as_ref().map(|m| m.value);
    let mut out = Vec::new();
    for system in plan.catalog.systems() {
        let Ok(id) = SystemId::new(&system) else { continue };
        let system_dir = project.mocks_dir().join(&system);
        let versions = std::fs::read_dir(&system_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned());
        let mut versions: Vec<String> = versions.collect();
        versions.sort();
        for version in versions {
            let Ok(v) = plan.catalog.system(&id, &version) else { continue };
            let support = match v.support.as_ref().map(|s| s.status(now)) {
                Some(SupportStatus::Supported { until: Some(until) }) => {
                    format!("supported until {}", &until[..until.len().min(10)])
                }
                Some(SupportStatus::Supported { until: None }) => "supported".into(),
                Some(SupportStatus::Unsupported { since }) => {
                    format!("unsupported since {}", &since[..since.len().min(10)])
                }
                Some(SupportStatus::Inaccessible { since }) => {
                    format!("no longer served since {}", &since[..since.len().min(10)])
                }
                Some(SupportStatus::ReleaseCandidate) => "release candidate".into(),
                Some(SupportStatus::Unknown) | None => "support unknown".into(),
            };
            for rel in files_under(&v.dir) {
                if rel == "system.yaml"
                    || rel == harness_systems::CARRIED_LIST
                    || NOT_RECORDINGS.iter().any(|p| rel.starts_with(p))
                    || rel.ends_with(".tmp")
                {
                    continue;
                }
                let Ok(recording) = plan.catalog.recording(&v, &rel) else { continue };
                let recorded_at = recording.meta.recorded_at.clone();
                let age = recorded_at.as_deref().and_then(|at| age_days(at, now));
                out.push(Listed {
                    file: recording.file.clone(),
                    system: id.clone(),
                    version: version.clone(),
                    stale: matches!((age, max), (Some(days), Some(max)) if days * 86_400 > max),
                    recorded_at,
                    age_days: age,
                    support: support.clone(),
                    used_by: used
                        .get(&(id.clone(), version.clone(), rel.clone()))
                        .map(|s| s.iter().cloned().collect())
                        .unwrap_or_default(),
                    source: recording.meta.source.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(Recordings { listed: out })
}

/// A listing, not a gate: its JUnit suite has one passing case per recording.
impl AnalysisResult for Recordings {
    fn title(&self) -> String {
        "recordings".into()
    }

    /// One block per recording.
    fn terminal(&self, _style: Style) -> String {
        let mut out = String::new();
        for l in &self.listed {
            let age = match (&l.recorded_at, l.age_days) {
                (Some(at), Some(days)) => format!("recorded {} ({days} days ago)", &at[..at.len().min(10)]),
                (Some(at), None) => format!("recorded {at}"),
                _ => "recording date unknown".into(),
            };
            let status = if l.stale { "STALE" } else { "ok" };
            out.push_str(&format!(
                "{}  {status}\n    {} {} ({}), {age}{}\n",
                l.file,
                l.system,
                l.version,
                l.support,
                l.source.as_deref().map(|s| format!(", from {s}")).unwrap_or_default()
            ));
            out.push_str(&match l.used_by.as_slice() {
                [] => "    used by no scenario\n".to_string(),
                ids => format!("    used by {}\n", ids.join(", ")),
            });
        }
        out.push_str(&format!("{} recording(s), {} stale\n", self.listed.len(), self.stale()));
        out
    }

    fn json(&self) -> Value {
        let recordings: Vec<Value> = self
            .listed
            .iter()
            .map(|l| json!({"file": l.file, "system": l.system.as_str(), "version": l.version, "recorded_at": l.recorded_at, "age_days": l.age_days, "stale": l.stale, "support": l.support, "used_by": l.used_by, "source": l.source}))
            .collect();
        json!({"recordings": recordings, "total": self.listed.len(), "stale": self.stale()})
    }

    fn suites(&self) -> Vec<Suite> {
        let cases = self
            .listed
            .iter()
            .map(|l| SuiteCase {
                name: l.file.clone(),
                classname: "recordings".into(),
                file: Some(l.file.clone()),
                time: None,
                verdict: SuiteVerdict::Passed,
                retries: Vec::new(),
                output: None,
            })
            .collect();
        vec![Suite { name: "recordings".into(), time: None, properties: Vec::new(), cases }]
    }
}

impl Recordings {
    fn stale(&self) -> usize {
        self.listed.iter().filter(|l| l.stale).count()
    }
}
