//! `cargo bench --bench service`: scenarios per second against the bundled web service
//! (`flows/services/order-service.js`, a service flow) and what the harness itself adds to each.
//!
//! Generates N scenarios (default 200; `HARNESS_BENCH_SCENARIOS`) of the `order-service` flow,
//! alternating a known and a new customer, each counting its sales order, and evaluates them at
//! `HARNESS_BENCH_JOBS` jobs (default 2) after a warm-up that starts the services.
//!
//! The harness's overhead per scenario is what a user would call it: the time from the service's
//! last request of the scenario (its mock answers at once, so its arrival is when it was answered)
//! to the end of the case — the scenario judged over, its mocks swapped back to idle and its
//! exchanges collected — less what the ending rule must wait by its definition. A case ends at the
//! first look that proves the service asleep (nothing of its own due before the window would end,
//! nothing on its way to or from its mocks): the rule itself waits for nothing then, so all of
//! that time is overhead. A case that could not be proven asleep ends once the settle window (the
//! flow's `settle`) has passed in quiet since that request: the window is the rule's own wait and
//! is taken off. A case is counted as ended by the window when it took at least the window.
//! Needs `node`. Results go to stdout as Markdown.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use harness::{Project, evaluate, plan};

#[global_allocator]
static ALLOCATOR: harness_core::budget::Counting<mimalloc::MiMalloc> =
    harness_core::budget::Counting(mimalloc::MiMalloc);

/// The idle time that ends a scenario of the flow (`settle:` in flows/order-service.yaml).
const SETTLE: Duration = Duration::from_millis(300);

fn generate(root: &Path, n: usize) {
    common::bundled_project(root);
    let dir = root.join("scenarios/order-service");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..n {
        let (order, stub) = if i % 2 == 0 {
            ("simple-order", "customer-found")
        } else {
            ("several-lines-discount", "customer-missing")
        };
        let text = format!(
            "flow: order-service\nsystems:\n  shopify: 2026-01\n  netsuite: \"2026.2\"\ntrigger:\n  file: webhooks/orders-create/{order}.json\nmocks:\n  netsuite:\n    use: [{stub}]\nexpect:\n  requests:\n    - {{system: netsuite, method: POST, path: /services/rest/record/v1/salesOrder, count: 1}}\n  snapshots: []\n"
        );
        std::fs::write(dir.join(format!("case-{i:04}.yaml")), text).unwrap();
    }
}

fn main() {
    let n: usize = std::env::var("HARNESS_BENCH_SCENARIOS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let jobs: usize = std::env::var("HARNESS_BENCH_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let rounds: usize = std::env::var("HARNESS_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), n);
    let project = Project::open(dir.path()).unwrap();
    let plan = plan::build(&project, &[]).unwrap_or_else(|e| panic!("{e}"));

    let mut walls = Vec::new();
    let mut overheads = Vec::new();
    let mut service_times = Vec::new();
    let mut by_window = 0;
    for round in 0..=rounds {
        let start = Instant::now();
        let evaluated = evaluate(&project, &plan, &plan.cases, jobs, true).unwrap();
        let wall = start.elapsed();
        for e in &evaluated {
            assert!(e.verdict.passed(), "{} failed: {:?}", e.case.id, e.verdict.findings);
        }
        // The first round starts the services and warms node up.
        if round == 0 {
            continue;
        }
        walls.push(wall);
        for e in &evaluated {
            let last = e.execution.exchanges.iter().map(|x| x.at).max().unwrap_or_default();
            service_times.push(last);
            let after = e.execution.duration.saturating_sub(last);
            let windowed = after >= SETTLE;
            by_window += usize::from(windowed);
            overheads.push(if windowed { after - SETTLE } else { after });
        }
        eprintln!("round {round}: {wall:?}");
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let p90 = |v: &Vec<Duration>| v[v.len() * 9 / 10];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let wall = median(&mut walls);
    let service = median(&mut service_times);
    let overhead = median(&mut overheads);
    println!("| metric | value |");
    println!("| --- | --- |");
    println!("| scenarios | {n} of `order-service` ({jobs} jobs, {rounds} runs after a warm-up, median) |");
    println!("| wall clock per run | {:.0} ms |", ms(wall));
    println!("| **scenarios per second** | **{:.1}** |", n as f64 / wall.as_secs_f64());
    println!("| the service's time per scenario (delivery to its last request), median | {:.1} ms |", ms(service));
    println!(
        "| cases ended by proof / by the {} ms settle window | {} / {by_window} |",
        SETTLE.as_millis(),
        overheads.len() - by_window
    );
    println!(
        "| **harness overhead per scenario** (last request to the case's end, less the window where it was waited), median / p90 | **{:.2} ms** / {:.2} ms |",
        ms(overhead),
        ms(p90(&overheads))
    );
}
