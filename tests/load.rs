//! Verdicts of service scenarios do not depend on the machine's load or the thread count: the
//! bundled order service's scenarios, and a fixture service that calls two targets while its
//! scenarios count only the first, run at `-j 1`, `-j 2` and `-j 8` while two busy loops keep the
//! cores busy, several times, with identical verdicts, snapshots and JUnit reports every time
//! (times aside); and the whole bundled suite passes at `-j 16`, with its wall-clock limits raised.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{BUNDLED_DAY, FIXTURES_DAY, available, bundled_project, harness_on, junit_without_times, project};

/// Copies of the two-target scenario, so that 8 jobs have work at once.
const TWO_TARGET_COPIES: usize = 8;
/// Runs at each thread count.
const ROUNDS: usize = 2;
/// The longest the busy loops spin, should the test fail to stop them.
const SPIN_LIMIT: Duration = Duration::from_secs(300);

/// The tests of this file one at a time: each is load enough on its own.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Threads spinning until dropped (or [`SPIN_LIMIT`]), each keeping a core busy.
struct BusyLoops {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl BusyLoops {
    fn start(n: usize) -> BusyLoops {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let started = Instant::now();
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) && started.elapsed() < SPIN_LIMIT {
                        for _ in 0..100_000 {
                            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                        }
                    }
                })
            })
            .collect();
        BusyLoops { stop, threads }
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The bundled project with only its service flows' scenarios and snapshots.
fn bundled_services() -> tempfile::TempDir {
    let dir = bundled_project();
    for part in ["scenarios", "snapshots"] {
        for entry in std::fs::read_dir(dir.path().join(part)).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && !name.starts_with("order-service") {
                std::fs::remove_dir_all(entry.path()).unwrap();
            }
        }
    }
    dir
}

/// The fixture project with copies of the two-target scenario in `scenarios/two-targets`, their
/// snapshots approved at `-j 1`.
fn two_targets() -> tempfile::TempDir {
    let p = project(&["fixtures/services"]);
    let text = std::fs::read_to_string(p.path().join("scenarios/services/two-targets.yaml")).unwrap();
    let copies = p.path().join("scenarios/two-targets");
    std::fs::create_dir_all(&copies).unwrap();
    for i in 0..TWO_TARGET_COPIES {
        std::fs::write(copies.join(format!("case-{i}.yaml")), &text).unwrap();
    }
    let out = harness_on(
        FIXTURES_DAY,
        p.path(),
        &["run", "-j", "1", "--color", "never", "--no-times", "--accept", "scenarios/two-targets"],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let peoplevox = std::fs::read_to_string(p.path().join("snapshots/two-targets/case-0.peoplevox.snap")).unwrap();
    assert!(
        peoplevox.contains("POST /despatches"),
        "the uncounted target's call is in the approved snapshot:\n{peoplevox}"
    );
    p
}

/// Every file under `dir/snapshots`, by path.
fn snapshots(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("snapshots")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push((
                    e.path().strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read_to_string(e.path()).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// One run of `filter` at `jobs`: its exit code and JUnit report (times and the folder masked).
fn run(day: &str, dir: &Path, jobs: &str, filter: &[&str]) -> (i32, String) {
    let mut args = vec!["run", "-j", jobs, "--color", "never", "--no-times", "--junit", "junit.xml"];
    args.extend(filter);
    let out = harness_on(day, dir, &args);
    let junit = junit_without_times(&dir.join("junit.xml")).replace(&dir.display().to_string(), "[project]");
    assert_eq!(out.code, 0, "-j {jobs} under load:\n{}{}", out.stdout, out.stderr);
    (out.code, junit)
}

#[test]
fn service_verdicts_snapshots_and_junit_hold_under_load_at_any_thread_count() {
    if !available("node") || !available("python3") {
        eprintln!("skipped: node and python3 are needed");
        return;
    }
    let _alone = ALONE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let bundled = bundled_services();
    let fixture = two_targets();
    let approved = (snapshots(bundled.path()), snapshots(fixture.path()));
    let _load = BusyLoops::start(2);
    let mut seen: Option<(String, String)> = None;
    for round in 0..ROUNDS {
        for jobs in ["1", "2", "8"] {
            let (_, bundled_junit) = run(BUNDLED_DAY, bundled.path(), jobs, &[]);
            let (_, fixture_junit) = run(FIXTURES_DAY, fixture.path(), jobs, &["scenarios/two-targets"]);
            let now = (bundled_junit, fixture_junit);
            match &seen {
                None => seen = Some(now),
                Some(first) => {
                    assert_eq!(first.0, now.0, "bundled service JUnit differs at -j {jobs}, round {round}");
                    assert_eq!(first.1, now.1, "two-target JUnit differs at -j {jobs}, round {round}");
                }
            }
            assert_eq!(
                approved,
                (snapshots(bundled.path()), snapshots(fixture.path())),
                "snapshots changed at -j {jobs}, round {round}"
            );
        }
    }
}

/// Sixteen jobs on a machine of two cores, also on one others are using: a service's
/// `ready.timeout` counts only the time it sleeps unready, so a start-up slowed by load cannot fail
/// it. Wall-clock limits remain — each scenario's `timeout` and the external program's — and
/// are raised, as a CI machine this busy would raise them; the verdicts are the point.
#[test]
fn the_bundled_suite_passes_at_16_jobs() {
    if !available("node") || !available("python3") {
        eprintln!("skipped: node and python3 are needed");
        return;
    }
    let _alone = ALONE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = bundled_project();
    // 16 jobs on a machine of 2 cores: every case takes up to 8 times as long as alone, so the
    // limit per scenario is raised; the verdicts are the point.
    let settings =
        std::fs::read_to_string(dir.path().join("harness.yaml")).unwrap().replace("timeout: 30s", "timeout: 120s");
    std::fs::write(dir.path().join("harness.yaml"), settings).unwrap();
    // The limits that scenarios and the external program set for themselves too.
    for file in ["flows/script-order-to-netsuite.yaml", "scenarios/script-order-to-netsuite/rate-limited-retry.yaml"] {
        let path = dir.path().join(file);
        let raised = std::fs::read_to_string(&path).unwrap().replace("\ntimeout: 10s\n", "\ntimeout: 120s\n");
        assert!(raised.contains("\ntimeout: 120s\n"), "{file} sets its own limit");
        std::fs::write(path, raised).unwrap();
    }
    let out = harness_on(BUNDLED_DAY, dir.path(), &["run", "-j", "16", "--color", "never", "--no-times"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}
