//! `harness merge`: the JSON reports of a plan's shards (`run --partition K/N --json FILE` on each
//! CI machine) combined into the report of one run, from which the JUnit, summary and other
//! reports are written as a single run's. Shards that do not make exactly one whole run are
//! refused, each problem named: a share missing or given twice, a scenario run by two shards, a
//! scenario of the plan run by none (a cancelled shard), shards made from different plans.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::json::{FORMAT, RunReport, RunStatus};

/// Problems past this many are counted, not listed.
const LISTED: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: not a JSON run report of this harness ({message}); write one with `harness run --json FILE`", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("the reports do not make one whole run, so nothing was merged:\n{}", list(.0))]
    Inconsistent(Vec<String>),
}

fn list(problems: &[String]) -> String {
    let mut text: String = problems.iter().take(LISTED).map(|p| format!("  - {p}\n")).collect();
    if problems.len() > LISTED {
        text.push_str(&format!("  … and {} more\n", problems.len() - LISTED));
    }
    text.trim_end().to_string()
}

impl From<MergeError> for harness_core::Error {
    fn from(e: MergeError) -> Self {
        match e {
            MergeError::Read { path, source } => harness_core::Error::Io { path, source },
            other => harness_core::Error::Usage(other.to_string()),
        }
    }
}

/// The reports at `paths`, read and merged.
pub fn merge_files(paths: &[PathBuf]) -> Result<RunReport, MergeError> {
    let mut shards = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|source| MergeError::Read { path: path.clone(), source })?;
        let report: RunReport = serde_json::from_str(&text)
            .map_err(|e| MergeError::Parse { path: path.clone(), message: e.to_string() })?;
        shards.push((path.clone(), report));
    }
    merge(&shards)
}

/// One run's report from its shards' (in any order: the result is the same).
pub fn merge(shards: &[(PathBuf, RunReport)]) -> Result<RunReport, MergeError> {
    let Some((first_path, first)) = shards.first() else {
        return Err(MergeError::Inconsistent(vec!["no report given".into()]));
    };
    let shown = |p: &Path| p.display().to_string();
    let mut problems = Vec::new();
    let total = first.share.as_ref().map_or(1, |s| s.total);
    let mut by_share: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (path, r) in shards {
        if r.format != FORMAT {
            problems.push(format!(
                "{} is a report of format {}; this harness reads format {FORMAT}",
                shown(path),
                r.format
            ));
        }
        if r.plan != first.plan {
            problems.push(format!(
                "{} and {} were made from different plans ({} case(s), fingerprint {}; {} case(s), fingerprint {}): every shard must run the same scenarios with the same --tag, --partition N and --timings",
                shown(first_path),
                shown(path),
                first.plan.cases,
                first.plan.fingerprint,
                r.plan.cases,
                r.plan.fingerprint
            ));
        }
        let (index, of) = r.share.as_ref().map_or((1, 1), |s| (s.index, s.total));
        if of != total {
            problems.push(format!("{} is share {index}/{of}, {} is of {total} shares", shown(path), shown(first_path)));
        }
        by_share.entry(index).or_default().push(shown(path));
    }
    for index in 1..=total {
        match by_share.get(&index).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!("share {index}/{total} is missing")),
            Some([_]) => {}
            Some(several) => {
                problems.push(format!("share {index}/{total} is given {} times: {}", several.len(), several.join(", ")))
            }
        }
    }
    let mut ran: BTreeMap<&str, &Path> = BTreeMap::new();
    for (path, r) in shards {
        for c in &r.cases {
            if let Some(before) = ran.insert(&c.id, path) {
                problems.push(format!("scenario {} ran in two shards: {} and {}", c.id, shown(before), shown(path)));
            }
        }
    }
    for (path, r) in shards {
        let cancelled = matches!(r.status, RunStatus::Cancelled);
        let why = if cancelled { " (that run was cancelled)" } else { "" };
        match &r.share {
            Some(share) => {
                for id in share.cases.iter().filter(|id| !ran.contains_key(id.as_str())) {
                    problems.push(format!(
                        "scenario {id} of the plan ran nowhere: share {}/{} ({}) did not run it{why}",
                        share.index,
                        share.total,
                        shown(path)
                    ));
                }
            }
            None if r.total < r.planned => problems.push(format!(
                "{} of the plan's scenarios ran nowhere: {} ran {} of {}{why}",
                r.planned - r.total,
                shown(path),
                r.total,
                r.planned
            )),
            None => {}
        }
    }
    let given: usize = shards.iter().map(|(_, r)| r.share.as_ref().map_or(r.planned, |s| s.cases.len())).sum();
    if problems.is_empty() && given != first.plan.cases {
        problems.push(format!("the shares hold {given} scenario(s), the plan {}", first.plan.cases));
    }
    if !problems.is_empty() {
        return Err(MergeError::Inconsistent(problems));
    }
    let mut cases: Vec<_> = shards.iter().flat_map(|(_, r)| r.cases.iter().cloned()).collect();
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    let passed = cases.iter().filter(|c| c.passed).count();
    Ok(RunReport {
        format: FORMAT,
        status: if passed == cases.len() { RunStatus::Passed } else { RunStatus::Failed },
        passed,
        failed: cases.len() - passed,
        total: cases.len(),
        planned: first.plan.cases,
        // The shards ran side by side: the run took as long as the slowest.
        duration_ms: shards.iter().map(|(_, r)| r.duration_ms).max().unwrap_or(0),
        plan: first.plan.clone(),
        share: None,
        cases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{CaseJson, PlanJson, ShareJson};

    fn case(id: &str, passed: bool) -> CaseJson {
        serde_json::from_value(serde_json::json!({
            "id": id, "file": format!("scenarios/{id}.yaml"), "flow": "f", "description": null, "tags": [], "versions": {},
            "passed": passed, "flaky": false, "abandoned": false, "duration_ms": 5, "findings": [], "snapshots": [], "records": [],
            "waits": [], "refreshes": {}, "requests": 0, "output": "", "retries": []
        }))
        .unwrap()
    }

    fn shard(index: usize, total: usize, given: &[&str], ran: &[&str], fingerprint: &str) -> (PathBuf, RunReport) {
        let cases: Vec<CaseJson> = ran.iter().map(|id| case(id, *id != "f/bad")).collect();
        let passed = cases.iter().filter(|c| c.passed).count();
        let report = RunReport {
            format: FORMAT,
            status: if ran.len() < given.len() { RunStatus::Cancelled } else { RunStatus::Passed },
            passed,
            failed: cases.len() - passed,
            total: cases.len(),
            planned: given.len(),
            duration_ms: 10 * index as u64,
            plan: PlanJson { fingerprint: fingerprint.into(), cases: 4 },
            share: Some(ShareJson {
                index,
                total,
                by: "count".into(),
                cases: given.iter().map(|s| s.to_string()).collect(),
            }),
            cases,
        };
        (PathBuf::from(format!("shard-{index}.json")), report)
    }

    fn problems(shards: &[(PathBuf, RunReport)]) -> String {
        match merge(shards) {
            Err(e) => e.to_string(),
            Ok(_) => String::new(),
        }
    }

    #[test]
    fn shards_of_one_plan_make_one_run_in_any_order() {
        let a = shard(1, 2, &["f/a", "f/c"], &["f/a", "f/c"], "p");
        let b = shard(2, 2, &["f/b", "f/bad"], &["f/b", "f/bad"], "p");
        let merged = merge(&[b.clone(), a.clone()]).unwrap();
        let ids: Vec<&str> = merged.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["f/a", "f/b", "f/bad", "f/c"]);
        assert_eq!((merged.passed, merged.failed, merged.planned, merged.duration_ms), (3, 1, 4, 20));
        assert!(matches!(merged.status, RunStatus::Failed) && merged.share.is_none());
        assert_eq!(serde_json::to_string(&merged).unwrap(), serde_json::to_string(&merge(&[a, b]).unwrap()).unwrap());
    }

    #[test]
    fn every_way_of_not_being_one_run_is_named() {
        let a = shard(1, 2, &["f/a", "f/c"], &["f/a", "f/c"], "p");
        let b = shard(2, 2, &["f/b", "f/bad"], &["f/b", "f/bad"], "p");
        assert!(problems(std::slice::from_ref(&a)).contains("share 2/2 is missing"));
        assert!(problems(&[a.clone(), a.clone()]).contains("share 1/2 is given 2 times: shard-1.json, shard-1.json"));
        assert!(problems(&[a.clone(), a.clone()]).contains("scenario f/a ran in two shards"));
        let other = shard(2, 2, &["f/b", "f/bad"], &["f/b", "f/bad"], "q");
        assert!(problems(&[a.clone(), other]).contains("were made from different plans"));
        let cancelled = shard(2, 2, &["f/b", "f/bad"], &["f/b"], "p");
        assert!(problems(&[a.clone(), cancelled]).contains(
            "scenario f/bad of the plan ran nowhere: share 2/2 (shard-2.json) did not run it (that run was cancelled)"
        ));
        let three = shard(2, 3, &["f/b", "f/bad"], &["f/b", "f/bad"], "p");
        assert!(problems(&[a, three]).contains("shard-2.json is share 2/3, shard-1.json is of 2 shares"));
        assert!(merge(&[b]).is_err());
    }
}
