//! `cargo bench --bench throughput`: scenarios per second and the cost of one HTTP exchange.
//!
//! Generates a project of N scenarios (default 1,000; `HARNESS_BENCH_SCENARIOS` overrides) of the
//! `shopify-order-to-netsuite` flow from the bundled flows and recordings, approves their snapshots
//! in a warm-up run, then times a checking run. In the same process it measures the floor: raw
//! reqwest round trips to a minimal hyper server on loopback. Results go to stdout as a Markdown
//! table for BENCHMARKS.md.

use std::time::{Duration, Instant};

mod common;

use harness::{Project, RunOptions, plan, run};

// As in the binary.
#[global_allocator]
static ALLOCATOR: harness_core::budget::Counting<mimalloc::MiMalloc> =
    harness_core::budget::Counting(mimalloc::MiMalloc);

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Sequential reqwest round trips to a minimal hyper server: the floor for one exchange.
fn loopback_floor(rounds: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from_static(b"{\"ok\":true}"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let client = reqwest::Client::builder().tcp_nodelay(true).no_proxy().build().unwrap();
        let url = format!("http://{addr}/services/rest/query/v1/suiteql");
        let body = br#"{"q":"SELECT id FROM customer WHERE email = 'a@b.c'"}"#.to_vec();
        for _ in 0..100 {
            client.post(&url).body(body.clone()).send().await.unwrap().bytes().await.unwrap();
        }
        let start = Instant::now();
        for _ in 0..rounds {
            client.post(&url).body(body.clone()).send().await.unwrap().bytes().await.unwrap();
        }
        start.elapsed() / rounds as u32
    })
}

fn main() {
    let n: usize = std::env::var("HARNESS_BENCH_SCENARIOS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let jobs: usize = std::env::var("HARNESS_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |p| p.get()));
    let dir = tempfile::tempdir().unwrap();
    common::generate(dir.path(), n);
    let project = Project::open(dir.path()).unwrap();

    let plan_start = Instant::now();
    let plan = plan::build(&project, &[]).unwrap_or_else(|e| panic!("{e}"));
    let plan_time = plan_start.elapsed();

    let warmup = RunOptions { accept: true, ..RunOptions::new(jobs, true) };
    let summary = run(&project, &plan, &warmup, &mut []).unwrap();
    assert!(summary.all_passed(), "warm-up run failed");

    // Measured runs: every snapshot is compared with the approved one, as in CI. The machine is
    // shared and noisy, so each figure is the median of several runs, the floor interleaved.
    let rounds: usize = std::env::var("HARNESS_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let options = RunOptions::new(jobs, true);
    let mut walls = Vec::new();
    let mut per_exchange = Vec::new();
    let mut floors = Vec::new();
    let mut exchanges = 0;
    for _ in 0..rounds {
        let plan = plan::build(&project, &[]).unwrap();
        let start = Instant::now();
        let summary = run(&project, &plan, &options, &mut []).unwrap();
        walls.push(start.elapsed());
        eprintln!("run {}: {:?}", walls.len(), start.elapsed());
        assert_eq!(summary.passed(), n, "every generated scenario passes");
        exchanges = summary.cases.iter().map(|c| c.requests).sum::<usize>();
        let busy: Duration = summary.cases.iter().map(|c| c.duration).sum();
        per_exchange.push(busy / exchanges as u32);
        floors.push(loopback_floor(2000));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (wall, per_exchange, floor) = (median(&mut walls), median(&mut per_exchange), median(&mut floors));

    println!("| metric | value |");
    println!("| --- | --- |");
    println!("| scenarios | {n} ({exchanges} HTTP exchanges, {jobs} jobs, median of {rounds} runs) |");
    println!("| load + plan (parse, compile, read payloads) | {:.0} ms |", plan_time.as_secs_f64() * 1000.0);
    println!("| checking run, wall clock | {:.0} ms |", wall.as_secs_f64() * 1000.0);
    println!("| **scenarios per second** | **{:.0}** |", n as f64 / wall.as_secs_f64());
    println!(
        "| time per exchange inside a scenario (mock start, flow, mock, per exchange) | {:.0} µs |",
        per_exchange.as_secs_f64() * 1e6
    );
    println!("| raw reqwest → loopback round trip (same run) | {:.0} µs |", floor.as_secs_f64() * 1e6);
    println!("| **ratio to the loopback floor** | **{:.2}×** |", per_exchange.as_secs_f64() / floor.as_secs_f64());
    println!("| peak RSS | {:.0} MiB |", peak_rss_mib());
}
