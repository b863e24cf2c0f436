//! Ctrl-C or SIGTERM never loses a case that finished. A service scenario's verdict is held back
//! until its late window closes (the next scenario on its service ended, or the run's end); when
//! the run is interrupted first, the scenario is still reported — in the terminal, the JUnit and
//! the JSON report — failing as not judged to the end, and `--accept` does not approve it.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{FIXTURES_DAY, available, within};

const SCENARIO: &str = "description: Judged 200 ms after the sales order; held back for its late window
flow: svc-late
settle: 200ms
systems: {shopify: 2025-01, netsuite: \"2025.1\", peoplevox: v4}
trigger: {file: webhooks/order.json}
expect:
  snapshots: [netsuite]
  requests:
    - {system: netsuite, method: POST, path: /services/rest/record/v1/salesOrder, count: 1}
";

/// Whether a process with `arg` among its arguments runs.
fn running_with_arg(arg: &str) -> bool {
    std::fs::read_dir("/proc").into_iter().flatten().flatten().any(|e| {
        e.file_name().to_str().is_some_and(|pid| pid.parse::<i32>().is_ok())
            && std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
    })
}

#[test]
fn an_interrupted_run_reports_the_service_scenarios_held_for_their_late_window() {
    if !available("python3") {
        eprintln!("skipped: python3 is not available");
        return;
    }
    let p = common::late_service_project();
    std::fs::write(p.path().join("scenarios/late/last.yaml"), SCENARIO).unwrap();
    // After it in scenario order: a program that runs until the signal. Its argument marks it as
    // this test process's own (other copies of this test on the machine start one too).
    let marker = format!("33.7{}", std::process::id());
    std::fs::write(
        p.path().join("flows/linger.yaml"),
        format!("trigger: {{system: shopify, event: orders/create, key: .name}}\ntargets: [netsuite]\ncommand: [sleep, \"{marker}\"]\n"),
    )
    .unwrap();
    std::fs::create_dir_all(p.path().join("scenarios/zz")).unwrap();
    std::fs::write(
        p.path().join("scenarios/zz/linger.yaml"),
        "flow: linger\ntimeout: 60s\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\n",
    )
    .unwrap();

    let child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "-j", "1", "--accept", "--color", "never", "--no-times"])
        .args(["--junit", "out/junit.xml", "--json", "out/report.json", "late/last", "zz/linger"])
        .env("HARNESS_NOW", FIXTURES_DAY)
        .current_dir(p.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The program runs only once the service scenario finished (one job, plan order).
    assert!(within(Duration::from_secs(60), || running_with_arg(&marker)), "the program never started");
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(130), "{stdout}{stderr}");

    let cut = "not judged to the end: SIGTERM stopped the run while its service could still send traffic for it";
    let line = stdout.lines().find(|l| l.contains("late/last")).unwrap_or("");
    assert!(line.contains("FAIL") && stdout.contains(cut), "the held scenario is in the summary:\n{stdout}");

    let junit = std::fs::read_to_string(p.path().join("out/junit.xml")).unwrap();
    assert!(junit.contains("run cancelled by SIGTERM: 1 of 2 case(s) finished"), "{junit}");
    assert!(junit.contains("late/last") && junit.contains(cut) && junit.contains("<failure"), "{junit}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(json["status"], "cancelled", "{json}");
    assert!(json.to_string().contains("late/last") && json.to_string().contains(cut), "{json}");

    let snapshots = p.path().join("snapshots/late");
    assert!(!snapshots.join("last.netsuite.snap").exists(), "--accept never approves a scenario not judged to the end");
    assert!(snapshots.join("last.netsuite.snap.new").is_file(), "what it sent waits for review");
    assert!(within(Duration::from_secs(10), || !running_with_arg(&marker)), "the program outlived the cancelled run");
}
