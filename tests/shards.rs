//! Running one plan on many machines: timed and CI-given shares, merging the shards' reports, the
//! job summary, and the JUnit dashboards read.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{harness, harness_with, junit_without_times, project, xmllint_validates};

/// The ids `list` prints.
fn listed(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let out = harness_with(dir, &[&["list"], args].concat(), env);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out.stdout.lines().map(|l| l.split_whitespace().next().unwrap().to_string()).collect()
}

/// The failing fixture (orders/simple fails) and twelve more: fourteen cases.
fn fourteen() -> tempfile::TempDir {
    let p = project(&["fixtures/failing", "fixtures/many"]);
    // Two slow cases: balanced, each gets a share of its own and the third share takes the rest.
    let cases: Vec<serde_json::Value> = (1..=12)
        .map(|i| {
            let ms = match i {
                1 => 10_000,
                2 => 9_000,
                _ => 10,
            };
            serde_json::json!({"id": format!("many/case-{i:02}"), "duration_ms": ms})
        })
        .collect();
    std::fs::write(p.path().join("timings.json"), serde_json::json!({ "cases": cases }).to_string()).unwrap();
    p
}

#[test]
fn timed_shares_put_the_longest_on_the_lightest_and_cover_the_plan_once() {
    let p = fourteen();
    let all = listed(p.path(), &[], &[]);
    assert_eq!(all.len(), 14);
    let shares: Vec<Vec<String>> = (1..=3)
        .map(|k| listed(p.path(), &["--partition", &format!("{k}/3"), "--timings", "timings.json"], &[]))
        .collect();
    assert_eq!(shares[0], ["many/case-01"]);
    assert_eq!(shares[1], ["many/case-02"]);
    // Unknown ones (the two orders scenarios) count as the median, 10 ms.
    assert_eq!(shares[2].len(), 12);
    let union: BTreeSet<&String> = shares.iter().flatten().collect();
    assert_eq!(union.len(), 14, "every case in exactly one share");
    // By count, every third case.
    let counted = listed(p.path(), &["--partition", "1/3"], &[]);
    assert_eq!(counted, all.iter().step_by(3).cloned().collect::<Vec<_>>());
    // The same split again (and on any machine): it depends on the plan and the timings alone.
    assert_eq!(listed(p.path(), &["--partition", "3/3", "--timings", "timings.json"], &[]), shares[2]);
}

#[test]
fn partition_auto_takes_the_share_from_the_ci() {
    let p = fourteen();
    let second_of_two = listed(p.path(), &["--partition", "2/2"], &[]);
    assert_eq!(
        listed(p.path(), &["--partition", "auto"], &[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "2")]),
        second_of_two,
        "GitLab counts from 1"
    );
    assert_eq!(
        listed(
            p.path(),
            &["--partition", "auto"],
            &[("BUILDKITE_PARALLEL_JOB", "1"), ("BUILDKITE_PARALLEL_JOB_COUNT", "2")]
        ),
        second_of_two,
        "Buildkite from 0"
    );
    assert_eq!(
        listed(p.path(), &["--partition", "auto"], &[("CIRCLE_NODE_INDEX", "1"), ("CIRCLE_NODE_TOTAL", "2")]),
        second_of_two,
        "CircleCI from 0"
    );
    let status = p.path().join("bazel-shard-status");
    let status_env = status.display().to_string();
    let bazel = listed(
        p.path(),
        &["--partition", "auto"],
        &[("TEST_SHARD_INDEX", "1"), ("TEST_TOTAL_SHARDS", "2"), ("TEST_SHARD_STATUS_FILE", &status_env)],
    );
    assert_eq!(bazel, second_of_two);
    assert!(status.exists(), "Bazel is told the runner shards");
    // Outside a parallel job, the whole plan.
    assert_eq!(listed(p.path(), &["--partition", "auto"], &[]).len(), 14);
    let bad =
        harness_with(p.path(), &["list", "--partition", "auto"], &[("CI_NODE_INDEX", "3"), ("CI_NODE_TOTAL", "2")]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("CI_NODE_INDEX and CI_NODE_TOTAL make share 3 of 2"), "{}", bad.stderr);
}

#[test]
fn shards_merge_into_the_report_of_one_run_and_refuse_what_is_not_one() {
    let p = fourteen();
    let dir = p.path();
    let whole = harness(dir, &["run", "-j", "2", "--color", "never", "--junit", "whole.xml", "--json", "whole.json"]);
    assert_eq!(whole.code, 1, "{}{}", whole.stdout, whole.stderr);
    for k in 1..=3 {
        let out = harness(
            dir,
            &[
                "run",
                "-j",
                "2",
                "--color",
                "never",
                "--partition",
                &format!("{k}/3"),
                "--timings",
                "timings.json",
                "--json",
                &format!("shard-{k}.json"),
            ],
        );
        assert!(out.code == 0 || out.code == 1, "{}{}", out.stdout, out.stderr);
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("shard-{k}.json"))).unwrap()).unwrap();
        assert_eq!(report["share"]["index"], k);
        assert_eq!(report["share"]["by"], "timings");
        assert_eq!(report["plan"]["cases"], 14);
    }
    let merged = harness(
        dir,
        &[
            "merge",
            "shard-3.json",
            "shard-1.json",
            "shard-2.json",
            "--junit",
            "merged.xml",
            "--json",
            "merged.json",
            "--summary",
            "summary.md",
        ],
    );
    assert_eq!(merged.code, 1, "a failing scenario fails the merged run:\n{}{}", merged.stdout, merged.stderr);
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let (report, one) = (read("merged.json"), read("whole.json"));
    let counts = format!("{} passed, {} failed, 14 total", one["passed"], one["failed"]);
    assert!(merged.stdout.contains(&format!("merged 3 report(s): {counts}")), "{}", merged.stdout);
    assert_eq!((&report["plan"]["cases"], &report["status"]), (&one["plan"]["cases"], &one["status"]));
    let ids: Vec<&str> = report["cases"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!((ids.len(), &ids), (14, &sorted));
    // The merged JUnit is the one run's: the same cases, verdicts and texts.
    assert_eq!(junit_without_times(&dir.join("merged.xml")), junit_without_times(&dir.join("whole.xml")));
    xmllint_validates(&dir.join("merged.xml"));
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.contains(&counts) && summary.contains("| `orders/simple` | `scenarios/orders/simple.yaml` | "),
        "{summary}"
    );

    let missing = harness(dir, &["merge", "shard-1.json", "shard-2.json", "--json", "partial.json"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("share 3/3 is missing"), "{}", missing.stderr);
    assert!(!dir.join("partial.json").exists(), "nothing is written from shards that are not one run");
    let twice = harness(dir, &["merge", "shard-1.json", "shard-1.json", "shard-2.json", "shard-3.json"]);
    assert_eq!(twice.code, 2);
    assert!(
        twice.stderr.contains("ran in two shards") && twice.stderr.contains("share 1/3 is given 2 times"),
        "{}",
        twice.stderr
    );
    let count = harness(dir, &["run", "--color", "never", "--partition", "1/3", "--json", "count-1.json"]);
    assert!(count.code == 0 || count.code == 1, "{}", count.stderr);
    let mixed = harness(dir, &["merge", "count-1.json", "shard-2.json", "shard-3.json"]);
    assert_eq!(mixed.code, 2);
    assert!(mixed.stderr.contains("were made from different plans"), "{}", mixed.stderr);
    let garbage = harness(dir, &["merge", "timings.json"]);
    assert_eq!(garbage.code, 2);
    assert!(garbage.stderr.contains("timings.json: not a JSON run report"), "{}", garbage.stderr);
}

#[test]
fn junit_names_the_scenario_file_and_attaches_the_pending_snapshot() {
    let p = project(&["fixtures/failing"]);
    let out = harness(p.path(), &["run", "--color", "never", "--junit", "junit.xml"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let junit = std::fs::read_to_string(p.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"<testcase name="simple" classname="orders""#)
            && junit.contains(r#"file="scenarios/orders/simple.yaml">"#),
        "{junit}"
    );
    assert!(junit.contains("[[ATTACHMENT|snapshots/orders/simple.netsuite.snap.new]]"), "{junit}");
    xmllint_validates(&p.path().join("junit.xml"));
}

#[test]
fn the_job_summary_goes_where_github_says() {
    let p = project(&["fixtures/failing"]);
    let file = p.path().join("step-summary.md");
    std::fs::write(&file, "earlier step\n").unwrap();
    let env = [
        ("GITHUB_STEP_SUMMARY", file.to_str().unwrap()),
        ("GITHUB_SERVER_URL", "https://github.example"),
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GITHUB_RUN_ID", "42"),
    ];
    let out = harness_with(p.path(), &["run", "--color", "never"], &env);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let summary = std::fs::read_to_string(&file).unwrap();
    assert!(summary.starts_with("earlier step\n### ❌ harness: 1 passed, 1 failed, 2 total"), "appended: {summary}");
    assert!(
        summary.contains("| `orders/simple` |")
            && summary.contains("[this run's artifacts](https://github.example/acme/shop/actions/runs/42#artifacts)"),
        "{summary}"
    );
}
