//! A request a service sends for a scenario after that scenario ended is never lost nor counted as
//! another's: sent while the next scenario runs on the same service, it is told apart by the
//! values of its scenario's trigger it holds; sent after the last scenario, the run waits for the
//! service to be idle for its settle window with no timer of its own pending (the fixture sleeps
//! 2 s before the despatch, far longer than its 300 ms settle window) before stopping it. Either
//! way it fails its own scenario — in the terminal's line for it (reported once its late window
//! closed), the failures, the JUnit report and the exit code — and `--accept` does not approve
//! that scenario's snapshot.

mod common;

use common::{FIXTURES_DAY, available, harness_on};

const SCENARIO: &str = "description: Judged 200 ms after the sales order, long before the despatch
flow: svc-late
settle: 200ms
systems: {shopify: 2025-01, netsuite: \"2025.1\", peoplevox: v4}
trigger: {file: webhooks/order.json}
expect:
  snapshots: [netsuite]
  requests:
    - {system: netsuite, method: POST, path: /services/rest/record/v1/salesOrder, count: 1}
    - {system: peoplevox, path: /despatches, count: 0}
";

#[test]
fn traffic_after_the_last_scenario_fails_it_and_takes_back_its_acceptance() {
    if !available("python3") {
        eprintln!("skipped: python3 is not available");
        return;
    }
    let p = common::late_service_project();
    std::fs::write(p.path().join("scenarios/late/last.yaml"), SCENARIO).unwrap();

    let out = harness_on(
        FIXTURES_DAY,
        p.path(),
        &["run", "-j", "1", "--accept", "--color", "never", "--no-times", "--junit", "junit.xml", "scenarios/late"],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let said = "late traffic: peoplevox: `POST /despatches` arrived";
    assert!(
        out.stdout.contains(said)
            && out.stdout.contains("after the scenario ended (after the last scenario its service ran)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("PASS"), "the scenario's line never says it passed: {}", out.stdout);
    assert!(out.stdout.contains("result: FAILED"), "{}", out.stdout);
    let junit = std::fs::read_to_string(p.path().join("junit.xml")).unwrap();
    assert!(junit.contains("`POST /despatches` arrived") && junit.contains("<failure"), "{junit}");

    let snapshots = p.path().join("snapshots/late");
    assert!(!snapshots.join("last.netsuite.snap").exists(), "--accept never approves a scenario with late traffic");
    assert!(snapshots.join("last.netsuite.snap.new").is_file(), "what it sent waits for review");
}

const SECOND: &str = "description: Runs while the first scenario's despatch is still to come; waits for its own
flow: svc-late
settle: 3s
systems: {shopify: 2025-01, netsuite: \"2025.1\", peoplevox: v4}
trigger: {file: webhooks/second.json}
expect:
  snapshots: [netsuite, peoplevox]
  requests:
    - {system: netsuite, method: POST, path: /services/rest/record/v1/salesOrder, count: 1}
    - {system: peoplevox, path: /despatches, count: 1}
";

/// The second order: another id, name and e-mail than `webhooks/order.json`, the same lines.
const SECOND_ORDER: &str = r##"{
  "recording": {"system": "shopify", "version": "2025-01", "endpoint": "webhook orders/create", "provenance": "fixture written for the harness tests"},
  "body": {
    "id": 9002,
    "name": "#2002",
    "email": "kim.ray@example.com",
    "note": "Gift wrap, please",
    "currency": "GBP",
    "line_items": [
      {"id": 1, "sku": "TEE-M-NAVY", "quantity": 2, "price": "25.00", "title": "Tee"},
      {"id": 2, "sku": "SOCKS-3PK", "quantity": 1, "price": "14.00", "title": "Socks"}
    ]
  }
}
"##;

#[test]
fn traffic_of_a_scenario_that_comes_while_the_next_runs_fails_it_and_stays_out_of_the_next() {
    if !available("python3") {
        eprintln!("skipped: python3 is not available");
        return;
    }
    let p = common::late_service_project();
    std::fs::write(p.path().join("mocks/shopify/2025-01/webhooks/second.json"), SECOND_ORDER).unwrap();
    // Plan order, and one job: the first scenario's despatch comes 2 s after its delivery, while
    // the second one waits out its own.
    std::fs::write(p.path().join("scenarios/late/a-first.yaml"), SCENARIO).unwrap();
    std::fs::write(p.path().join("scenarios/late/b-second.yaml"), SECOND).unwrap();

    let out = harness_on(
        FIXTURES_DAY,
        p.path(),
        &["run", "-j", "1", "--accept", "--color", "never", "--no-times", "--junit", "junit.xml", "scenarios/late"],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("late traffic: peoplevox: `POST /despatches` arrived")
            && out.stdout.contains("while `late/b-second` ran on its service; it holds `#2001`"),
        "{}",
        out.stdout
    );
    let line = |id: &str| out.stdout.lines().find(|l| l.contains(id) && !l.contains("late traffic")).unwrap_or("");
    assert!(line("late/a-first").contains("FAIL"), "{}", out.stdout);
    assert!(line("late/b-second").contains("PASS"), "{}", out.stdout);

    let junit = std::fs::read_to_string(p.path().join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");

    let snapshots = p.path().join("snapshots/late");
    let second = std::fs::read_to_string(snapshots.join("b-second.peoplevox.snap")).unwrap();
    assert!(
        second.contains("#2002") && !second.contains("#2001"),
        "the second scenario's snapshot holds only its own despatch:\n{second}"
    );
    assert!(!snapshots.join("a-first.netsuite.snap").exists(), "--accept never approves a scenario with late traffic");
}
