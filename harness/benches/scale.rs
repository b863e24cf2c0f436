//! `cargo bench --bench scale`: how the installed binary copes with a large project.
//!
//! Generates the throughput bench's scenarios at several sizes (1,000, 5,000 and 20,000; set
//! `HARNESS_BENCH_SIZES=1000,20000` to choose), approves their snapshots, then runs the real
//! `harness` binary on each: `harness list` (load and plan, every approved snapshot read and
//! checked) several times, and one checking run writing its JUnit and JSON reports. Each figure
//! is the child's own wall clock and peak RSS (from `wait4`), printed as a Markdown table for
//! BENCHMARKS.md, with the memory each added scenario costs (the growth of peak RSS from the size
//! before, or from a two-scenario project).

use std::path::Path;
use std::time::Duration;

mod common;

/// Wall clock and peak RSS (KiB) of `harness ARGS` in `root`, which must succeed.
fn measure(root: &Path, args: &[&str]) -> (Duration, u64) {
    let (wall, rss, code) = common::measure(root, args);
    assert_eq!(code, 0, "harness {args:?} in {} failed", root.display());
    (wall, rss)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::var("HARNESS_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1000, 5000, 20_000]);
    let rounds: usize = std::env::var("HARNESS_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);

    let base_dir = tempfile::tempdir().unwrap();
    common::generate(base_dir.path(), 2);
    measure(base_dir.path(), &["run", "--accept"]);
    let (_, base_rss) = measure(base_dir.path(), &["list"]);

    println!(
        "| scenarios | `harness list`: wall (median of {rounds}) | slowest | peak RSS | per added scenario | checking run: wall | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let (mut prev_n, mut prev_rss) = (2, base_rss);
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        common::generate(dir.path(), n);
        measure(dir.path(), &["run", "--accept"]);
        // The first listing warms the page cache; the figures are the ones after it.
        measure(dir.path(), &["list"]);
        let listed: Vec<(Duration, u64)> = (0..rounds).map(|_| measure(dir.path(), &["list"])).collect();
        let slowest = listed.iter().map(|l| l.0).max().unwrap();
        let rss = listed.iter().map(|l| l.1).max().unwrap();
        // With both report files, as CI writes them: writing them is part of the memory goal.
        let (run_wall, run_rss) = measure(dir.path(), &["run", "--junit", "out/junit.xml", "--json", "out/run.json"]);
        let per_scenario = rss.saturating_sub(prev_rss) as f64 / n.saturating_sub(prev_n).max(1) as f64;
        (prev_n, prev_rss) = (n, rss);
        println!(
            "| {n} | {:.2} s | {:.2} s | {} MiB | {per_scenario:.1} KiB | {:.1} s | {} MiB |",
            median(listed.iter().map(|l| l.0).collect()).as_secs_f64(),
            slowest.as_secs_f64(),
            rss / 1024,
            run_wall.as_secs_f64(),
            run_rss / 1024
        );
    }
    println!("\nA two-scenario project lists in {} MiB.", base_rss / 1024);
}
