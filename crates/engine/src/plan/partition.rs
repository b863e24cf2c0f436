//! Shares of a plan, one per CI machine. `K/N` alone deals the cases out by count (every N-th);
//! with an earlier run's timings the shares are balanced by recorded duration instead (longest
//! first onto the lightest share, the lower share on a tie; a case without a time counts as the
//! median), as the slow service scenarios would otherwise pile up on one machine. `auto` reads
//! the share from the CI's own variables. Every machine computes the same split from the same
//! plan and timings, so the shares never overlap and leave nothing out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use harness_core::Error;

use super::Case;

/// `K/N` as given on the command line, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareSpec {
    Fixed { index: usize, total: usize },
    Auto,
}

/// A `--partition` that is no share.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}`: write K/N with 1 ≤ K ≤ N (e.g. 2/4), or `auto` to read the CI's variables")]
pub struct ShareError(String);

/// `2/4` (1-based) or `auto`.
pub fn parse_share(text: &str) -> Result<ShareSpec, ShareError> {
    if text == "auto" {
        return Ok(ShareSpec::Auto);
    }
    let bad = || ShareError(text.to_string());
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, total) = (k.trim().parse::<usize>().map_err(|_| bad())?, n.trim().parse::<usize>().map_err(|_| bad())?);
    if index == 0 || total == 0 || index > total {
        return Err(bad());
    }
    Ok(ShareSpec::Fixed { index, total })
}

/// The CI variables `auto` reads, in this order: index, total, whether the index counts from 1.
const CI_VARIABLES: [(&str, &str, bool); 4] = [
    ("CI_NODE_INDEX", "CI_NODE_TOTAL", true), // GitLab `parallel:`
    ("BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", false), // Buildkite `parallelism:`
    ("CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", false), // CircleCI `parallelism:`
    ("TEST_SHARD_INDEX", "TEST_TOTAL_SHARDS", false), // Bazel `shard_count`
];

impl ShareSpec {
    /// The share this machine runs, 1-based. `auto` outside a parallel CI job is the whole plan
    /// (1/1), so the same command runs everything on a laptop. Under Bazel the file
    /// `TEST_SHARD_STATUS_FILE` is touched, telling Bazel the runner shards.
    pub fn resolve(self, var: &dyn Fn(&str) -> Option<String>) -> Result<(usize, usize), Error> {
        if let ShareSpec::Fixed { index, total } = self {
            return Ok((index, total));
        }
        for (index_var, total_var, one_based) in CI_VARIABLES {
            let (Some(index), Some(total)) = (var(index_var), var(total_var)) else { continue };
            let number = |name: &str, value: &str| {
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| Error::Usage(format!("--partition auto: {name}=`{value}` is not a number")))
            };
            let (index, total) = (number(index_var, &index)?, number(total_var, &total)?);
            let index = if one_based { index } else { index + 1 };
            if index == 0 || total == 0 || index > total {
                return Err(Error::Usage(format!(
                    "--partition auto: {index_var} and {total_var} make share {index} of {total}"
                )));
            }
            if index_var == "TEST_SHARD_INDEX"
                && let Some(status) = var("TEST_SHARD_STATUS_FILE")
            {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&status)
                    .map_err(|e| Error::io(Path::new(&status), e))?;
            }
            return Ok((index, total));
        }
        Ok((1, 1))
    }
}

/// How a run's cases were split, as its JSON report records it (so `harness merge` can tell the
/// shards of one plan apart from those of another).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharing {
    /// 1-based.
    pub index: usize,
    pub total: usize,
    /// `count` or `timings`.
    pub by: &'static str,
    /// Of the whole plan and its split: the same on every share of one plan.
    pub fingerprint: String,
    /// Cases in the whole plan, all shares together.
    pub whole: usize,
}

impl Sharing {
    /// The whole plan as one share.
    pub(super) fn whole(cases: &[Arc<Case>]) -> Sharing {
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        Sharing {
            index: 1,
            total: 1,
            by: "count",
            fingerprint: fingerprint(&ids, &vec![0; ids.len()]),
            whole: ids.len(),
        }
    }
}

/// Recorded durations by case id, in milliseconds.
pub type Timings = BTreeMap<String, u64>;

/// The durations an earlier run recorded: its JSON report (`cases[].id`, `duration_ms`) or its
/// JUnit report (each `<testsuite name=… time=…>`, the harness writing one suite per case).
pub fn read_timings(path: &Path) -> Result<Timings, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |why: String| Error::Usage(format!("--timings {}: {why}", path.display()));
    if text.trim_start().starts_with('<') {
        let root = harness_core::xml::parse(&text).map_err(|e| bad(e.to_string()))?;
        let mut timings = Timings::new();
        junit_suites(&root, &mut timings);
        return Ok(timings);
    }
    let report: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("neither JUnit XML nor a JSON report: {e}")))?;
    let cases = report
        .get("cases")
        .and_then(|c| c.as_array())
        .ok_or_else(|| bad("a JSON report has a `cases` list (write one with `harness run --json FILE`)".into()))?;
    Ok(cases
        .iter()
        .filter_map(|c| Some((c.get("id")?.as_str()?.to_string(), c.get("duration_ms")?.as_u64()?)))
        .collect())
}

fn junit_suites(element: &harness_core::xml::Element, timings: &mut Timings) {
    let attr = |name: &str| element.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if element.name == "testsuite"
        && let (Some(name), Some(time)) = (attr("name"), attr("time").and_then(|t| t.parse::<f64>().ok()))
    {
        timings.insert(name.to_string(), (time * 1000.0).round() as u64);
    }
    for child in &element.children {
        junit_suites(child, timings);
    }
}

/// Keep the cases of share `index` of `total` (1-based), in plan order, and say how they were
/// split.
pub(super) fn split(
    cases: Vec<Arc<Case>>,
    index: usize,
    total: usize,
    timings: Option<&Timings>,
) -> (Vec<Arc<Case>>, Sharing) {
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let owners = match timings {
        None => (0..ids.len()).map(|i| i % total).collect(),
        Some(t) => balanced(&ids, total, t),
    };
    let sharing = Sharing {
        index,
        total,
        by: if timings.is_some() { "timings" } else { "count" },
        fingerprint: fingerprint(&ids, &owners),
        whole: ids.len(),
    };
    let kept = cases.into_iter().zip(owners).filter(|(_, owner)| *owner == index - 1).map(|(c, _)| c).collect();
    (kept, sharing)
}

/// The share of each case (0-based): longest first onto the lightest share.
fn balanced(ids: &[&str], total: usize, timings: &Timings) -> Vec<usize> {
    let mut known: Vec<u64> = ids.iter().filter_map(|id| timings.get(*id).copied()).collect();
    known.sort_unstable();
    let median = known.get(known.len() / 2).copied().unwrap_or(1);
    // At least 1 ms each, so cases recorded as taking 0 ms are still dealt out evenly.
    let weights: Vec<u64> = ids.iter().map(|id| timings.get(*id).copied().unwrap_or(median).max(1)).collect();
    let mut order: Vec<usize> = (0..ids.len()).collect();
    // Ids are unique, so this order is total: the same on every machine.
    order.sort_by(|&a, &b| weights[b].cmp(&weights[a]).then_with(|| ids[a].cmp(ids[b])));
    let mut loads = vec![0u64; total];
    let mut owners = vec![0; ids.len()];
    for i in order {
        let lightest = (0..total).min_by_key(|&s| (loads[s], s)).unwrap_or(0);
        loads[lightest] += weights[i];
        owners[i] = lightest;
    }
    owners
}

/// FNV-1a over every case id and the share it went to.
fn fingerprint(ids: &[&str], owners: &[usize]) -> String {
    let hash = ids.iter().zip(owners).fold(0xcbf2_9ce4_8422_2325_u64, |h, (id, owner)| {
        format!("{id}\t{owner}\n").bytes().fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    });
    format!("{hash:016x}")
}

/// The selection `run` and `list` make from a plan.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only scenarios with any of these tags.
    pub tags: Vec<String>,
    pub share: Option<ShareSpec>,
    /// An earlier run's report, to balance the shares by time.
    pub timings: Option<PathBuf>,
    /// Only the cases whose inputs changed since this git ref.
    pub changed_since: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_parse_and_reject_what_cannot_be_a_share() {
        assert_eq!(parse_share("2/4"), Ok(ShareSpec::Fixed { index: 2, total: 4 }));
        assert_eq!(parse_share("auto"), Ok(ShareSpec::Auto));
        for bad in ["0/3", "4/3", "1/0", "x/2", "3", ""] {
            assert!(parse_share(bad).is_err(), "{bad}");
        }
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn auto_reads_each_ci_with_its_own_counting() {
        assert_eq!(ShareSpec::Auto.resolve(&env(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")])).unwrap(), (2, 3));
        assert_eq!(
            ShareSpec::Auto
                .resolve(&env(&[("BUILDKITE_PARALLEL_JOB", "0"), ("BUILDKITE_PARALLEL_JOB_COUNT", "2")]))
                .unwrap(),
            (1, 2)
        );
        assert_eq!(
            ShareSpec::Auto.resolve(&env(&[("CIRCLE_NODE_INDEX", "3"), ("CIRCLE_NODE_TOTAL", "4")])).unwrap(),
            (4, 4)
        );
        assert_eq!(ShareSpec::Auto.resolve(&env(&[])).unwrap(), (1, 1));
        assert!(ShareSpec::Auto.resolve(&env(&[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "3")])).is_err());
        assert!(ShareSpec::Auto.resolve(&env(&[("CIRCLE_NODE_INDEX", "x"), ("CIRCLE_NODE_TOTAL", "4")])).is_err());
    }

    #[test]
    fn bazel_is_told_the_runner_shards() {
        let dir = tempfile::tempdir().unwrap();
        let status = dir.path().join("shard-status");
        let path = status.display().to_string();
        let var = move |name: &str| match name {
            "TEST_SHARD_INDEX" => Some("1".to_string()),
            "TEST_TOTAL_SHARDS" => Some("2".to_string()),
            "TEST_SHARD_STATUS_FILE" => Some(path.clone()),
            _ => None,
        };
        assert_eq!(ShareSpec::Auto.resolve(&var).unwrap(), (2, 2));
        assert!(status.exists());
    }

    #[test]
    fn longest_first_onto_the_lightest_share_unknown_as_the_median() {
        let ids = ["a", "b", "c", "d", "e", "f"];
        // c has no time: the median of 100, 900, 200, 300, 1000 is 300.
        let timings = Timings::from(
            [("a", 100), ("b", 900), ("d", 200), ("e", 300), ("f", 1000)].map(|(k, v)| (k.to_string(), v)),
        );
        // f → 1st, b → 2nd, c → 2nd (900 < 1000), e → 1st, d → 2nd, a → 1st.
        let owners = balanced(&ids, 2, &timings);
        let loads: Vec<u64> = (0..2)
            .map(|s| {
                ids.iter()
                    .zip(&owners)
                    .filter(|(_, o)| **o == s)
                    .map(|(id, _)| timings.get(*id).copied().unwrap_or(300))
                    .sum()
            })
            .collect();
        assert_eq!(loads, vec![1400, 1400]);
        assert_eq!(owners, balanced(&ids, 2, &timings), "the same split every time");
        // The fingerprint follows the split.
        assert_ne!(fingerprint(&ids, &owners), fingerprint(&ids, &[0, 1, 0, 1, 0, 1]));
    }

    #[test]
    fn junit_and_json_reports_give_timings() {
        let dir = tempfile::tempdir().unwrap();
        let junit = dir.path().join("junit.xml");
        std::fs::write(&junit, r#"<?xml version="1.0"?><testsuites name="harness"><testsuite name="a/x" tests="1" failures="0" errors="0" time="1.250"><testcase name="x"/></testsuite><testsuite name="b/y" tests="1" failures="0" errors="0"/></testsuites>"#).unwrap();
        assert_eq!(read_timings(&junit).unwrap(), Timings::from([("a/x".to_string(), 1250)]));
        let json = dir.path().join("report.json");
        std::fs::write(&json, r#"{"cases": [{"id": "a/x", "duration_ms": 7}]}"#).unwrap();
        assert_eq!(read_timings(&json).unwrap(), Timings::from([("a/x".to_string(), 7)]));
        std::fs::write(&json, "{").unwrap();
        assert!(
            matches!(read_timings(&json), Err(Error::Usage(m)) if m.contains("report.json") && m.contains("line 1"))
        );
    }
}
