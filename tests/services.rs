//! End-to-end tests of service flows: the real binary starting web services (fixture services
//! under `tests/fixtures/services`, and the bundled Node.js order service), delivering triggers
//! to them, telling when they are done, restarting them, and stopping them and what they started.

mod common;

use std::path::{Path, PathBuf};

use common::{BUNDLED_DAY, available, copy_tree, harness, harness_on, junit_without_times, project, repo, within};

fn fixture() -> Option<tempfile::TempDir> {
    if !available("python3") {
        eprintln!("skipped: python3 is not available");
        return None;
    }
    Some(project(&["fixtures/services"]))
}

#[test]
fn a_service_that_never_becomes_ready_fails_with_the_end_of_its_output() {
    let Some(p) = fixture() else { return };
    std::fs::write(
        p.path().join("scenarios/services/never-ready.yaml"),
        std::fs::read_to_string(p.path().join("scenarios/services/never-ready.yaml"))
            .unwrap()
            .replace("  outcome: failed\n  error: never accepted a connection on its port\n", ""),
    )
    .unwrap();
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", "services/never-ready"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("the service `python3 services/service.py never-ready` never accepted a connection on its port (`HARNESS_SERVICE_PORT`) within 5s"), "{}", out.stdout);
    assert!(
        out.stdout.contains("starting in mode never-ready"),
        "the failure shows the service's output:\n{}",
        out.stdout
    );
}

#[test]
fn a_crashed_service_fails_its_scenario_with_its_log_and_is_restarted_for_the_next() {
    let Some(p) = fixture() else { return };
    let out = harness(
        p.path(),
        &[
            "run",
            "-j",
            "1",
            "--color",
            "never",
            "--no-times",
            "--json",
            "report.json",
            "services/crash-1",
            "services/crash-2",
        ],
    );
    assert_eq!(
        out.code, 0,
        "crash-1 expects the crash, crash-2 a service started again:\n{}{}",
        out.stdout, out.stderr
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("report.json")).unwrap()).unwrap();
    let outputs: Vec<&str> =
        report["cases"].as_array().unwrap().iter().map(|c| c["output"].as_str().unwrap_or_default()).collect();
    assert!(outputs[0].contains("crashing on purpose"), "the crashed scenario's log is in the report: {outputs:?}");
    assert!(!outputs[1].contains("crashing on purpose"), "each scenario's log is its own: {outputs:?}");
    assert!(outputs[1].contains("\"outcome\": \"delivered\""), "{outputs:?}");
}

#[test]
fn an_acknowledge_first_service_is_waited_for_until_its_calls_are_in() {
    let Some(p) = fixture() else { return };
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", "services/ack-first"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // Its sales order comes 100 ms after its answer: the settle window saw it.
    let snapshot = std::fs::read_to_string(p.path().join("scenarios/services/ack-first.yaml"))
        .unwrap()
        .replace("  snapshots: []\n", "");
    std::fs::write(p.path().join("scenarios/services/ack-first.yaml"), snapshot).unwrap();
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", "--accept", "services/ack-first"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let written = std::fs::read_to_string(p.path().join("snapshots/services/ack-first.netsuite.snap")).unwrap();
    assert!(written.contains("POST /services/rest/record/v1/salesOrder"), "{written}");
}

#[test]
fn a_child_that_outlives_the_service_is_stopped_at_the_end_of_the_run() {
    let Some(p) = fixture() else { return };
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", "services/forks"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let pid = std::fs::read_to_string(p.path().join("child.pid")).unwrap();
    let gone = within(std::time::Duration::from_secs(5), || {
        !Path::new(&format!("/proc/{}", pid.trim())).exists() || zombie(pid.trim())
    });
    assert!(gone, "the service's child {pid} still runs after the run ended");
}

/// A process that has ended but not yet been reaped by its parent.
fn zombie(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')))
}

/// The bundled project with only its service flows' scenarios, and none of their snapshots when
/// `fresh`.
fn bundled_services(fresh: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["flows", "mocks"] {
        std::fs::create_dir_all(dir.path().join(part)).unwrap();
        copy_tree(&repo().join(part), &dir.path().join(part));
    }
    for flow in ["order-service", "order-service-despatch"] {
        for part in ["scenarios", "snapshots"].iter().filter(|p| !fresh || **p == "scenarios") {
            let to = dir.path().join(part).join(flow);
            std::fs::create_dir_all(&to).unwrap();
            copy_tree(&repo().join(part).join(flow), &to);
        }
    }
    std::fs::copy(repo().join("harness.yaml"), dir.path().join("harness.yaml")).unwrap();
    dir
}

#[test]
fn the_bundled_order_service_suite_passes() {
    if !available("node") {
        eprintln!("skipped: node is not available");
        return;
    }
    let dir = bundled_services(false);
    let out = harness_on(BUNDLED_DAY, dir.path(), &["run", "-j", "2", "--color", "never", "--no-times"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("9 passed"), "{}", out.stdout);
}

#[test]
fn service_snapshots_and_junit_are_identical_with_1_and_4_jobs() {
    if !available("node") {
        eprintln!("skipped: node is not available");
        return;
    }
    let runs: Vec<(Vec<(PathBuf, String)>, String)> = ["1", "4"]
        .iter()
        .map(|jobs| {
            let dir = bundled_services(true);
            let out = harness_on(
                BUNDLED_DAY,
                dir.path(),
                &["run", "-j", jobs, "--color", "never", "--no-times", "--junit", "junit.xml"],
            );
            assert_eq!(out.code, 1, "every snapshot is new, so pending:\n{}{}", out.stdout, out.stderr);
            let mut snapshots = Vec::new();
            let mut stack = vec![dir.path().join("snapshots")];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).unwrap().flatten() {
                    if e.path().is_dir() {
                        stack.push(e.path());
                    } else {
                        snapshots.push((
                            e.path().strip_prefix(dir.path()).unwrap().to_path_buf(),
                            std::fs::read_to_string(e.path()).unwrap(),
                        ));
                    }
                }
            }
            snapshots.sort();
            // Paths in a crashed service's trace name the temporary folder.
            let junit = junit_without_times(&dir.path().join("junit.xml"))
                .replace(&dir.path().display().to_string(), "[project]");
            (snapshots, junit)
        })
        .collect();
    assert!(
        runs[0].0.len() >= 4,
        "the service scenarios write pending snapshots: {:?}",
        runs[0].0.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    assert_eq!(runs[0].0, runs[1].0, "snapshots differ between -j 1 and -j 4");
    assert_eq!(runs[0].1, runs[1].1, "JUnit differs between -j 1 and -j 4");
}

#[test]
fn serve_prints_the_mocks_urls_and_each_request_until_stopped() {
    use std::io::{BufRead, Read, Write};
    let p = project(&[]);
    let mut child = common::serve_simple_order(p.path(), 19420);
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // The header: each mock's URL, version and fake credentials, then the trigger's headers.
    let mut printed: Vec<String> = Vec::new();
    for line in lines.by_ref().take(60) {
        let line = line.unwrap();
        let last = line.contains("X-Shopify-Triggered-At");
        printed.push(line);
        if last {
            break;
        }
    }
    let url = printed
        .iter()
        .find_map(|l| l.trim().strip_prefix("HARNESS_NETSUITE_URL="))
        .unwrap_or_else(|| panic!("{printed:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:1942"), "fixed ports from --port-base: {printed:?}");
    assert!(
        printed.iter().any(|l| l.trim().starts_with("HARNESS_NETSUITE_CLIENT_ID=")),
        "the fake account's credentials: {printed:?}"
    );
    assert!(
        printed.iter().any(|l| l.trim().starts_with("X-Shopify-Hmac-Sha256: ")),
        "the webhook's signature: {printed:?}"
    );
    let mut stream = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    stream
        .write_all(b"GET /services/rest/record/v1/customer/77 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let _ = stream.read_to_end(&mut Vec::new());
    let arrived = lines.next().unwrap().unwrap();
    assert!(arrived.starts_with("netsuite GET /services/rest/record/v1/customer/77 → "), "{arrived}");
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C or SIGTERM is how serve ends");
}

#[test]
fn serve_stopped_as_soon_as_it_prints_ends_cleanly() {
    use std::io::BufRead;
    // Its signal handlers are in place before its first line: a SIGTERM sent on reading it (a
    // script that only wanted the URLs) ends it as Ctrl-C would, never by the signal's default.
    let p = project(&[]);
    let mut child = common::serve_simple_order(p.path(), 19460);
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("mocks of "), "{first}");
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "ended by its handler, not the signal");
}

#[test]
fn restart_per_scenario_gives_each_scenario_a_fresh_service() {
    let Some(p) = fixture() else { return };
    let out = harness(
        p.path(),
        &["run", "-j", "1", "--color", "never", "--no-times", "services/count-1", "services/count-2"],
    );
    assert_eq!(out.code, 0, "each scenario's delivery is its service's first:\n{}{}", out.stdout, out.stderr);
    // The same service kept for the job would have answered the second scenario `delivery 2`.
    let flow = p.path().join("flows/svc-count.yaml");
    std::fs::write(&flow, std::fs::read_to_string(&flow).unwrap().replace("  restart: per-scenario\n", "")).unwrap();
    let kept = harness(
        p.path(),
        &["run", "-j", "1", "--color", "never", "--no-times", "services/count-1", "services/count-2"],
    );
    assert_eq!(kept.code, 1, "{}", kept.stdout);
    assert!(kept.stdout.contains("the service's answer does not contain `delivery 1`"), "{}", kept.stdout);
}

#[test]
fn a_service_answering_5xx_is_delivered_again_and_the_scenario_counts_the_attempts() {
    let Some(p) = fixture() else { return };
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", "services/flaky"]);
    assert_eq!(out.code, 0, "two 503s, then the third delivery is answered:\n{}{}", out.stdout, out.stderr);
    // Expecting a single delivery names the retries.
    let scenario = p.path().join("scenarios/services/flaky.yaml");
    std::fs::write(&scenario, std::fs::read_to_string(&scenario).unwrap().replace("attempts: 3", "attempts: 1"))
        .unwrap();
    let once = harness(p.path(), &["run", "--color", "never", "--no-times", "services/flaky"]);
    assert_eq!(once.code, 1, "{}", once.stdout);
    assert!(once.stdout.contains("delivered 3 time(s), expected 1 (it answered 5xx or not in time, and was delivered it again, as Shopify retries)"), "{}", once.stdout);
    // With fewer retries than the service needs, the last answer is its 503.
    std::fs::write(&scenario, std::fs::read_to_string(&scenario).unwrap().replace("attempts: 1", "attempts: 2"))
        .unwrap();
    let flow = p.path().join("flows/svc-flaky.yaml");
    std::fs::write(&flow, std::fs::read_to_string(&flow).unwrap().replace("retries: 3", "retries: 1")).unwrap();
    let gave_up = harness(p.path(), &["run", "--color", "never", "--no-times", "services/flaky"]);
    assert_eq!(gave_up.code, 1, "{}", gave_up.stdout);
    assert!(gave_up.stdout.contains("503"), "{}", gave_up.stdout);
}

#[test]
fn records_each_delivers_every_record_of_the_trigger_as_a_webhook_of_its_own() {
    let Some(p) = fixture() else { return };
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", "--json", "report.json", "services/each"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("report.json")).unwrap()).unwrap();
    let output = report["cases"][0]["output"].as_str().unwrap_or_default();
    assert!(
        output.contains("received #3101") && output.contains("received #3102"),
        "one delivery per record, in order: {output}"
    );
    assert!(output.find("received #3101") < output.find("received #3102"), "{output}");
    // A fresh service counts them: the second record's delivery is its second.
    let scenario = p.path().join("scenarios/services/each.yaml");
    std::fs::write(
        &scenario,
        std::fs::read_to_string(&scenario).unwrap().replace("body: delivery}", "body: delivery 1}"),
    )
    .unwrap();
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", "services/each"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("the service's answer does not contain `delivery 1`"), "{}", out.stdout);
}
