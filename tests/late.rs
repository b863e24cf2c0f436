//! A request a service sends after the last scenario of its job ended is never lost: the run waits
//! for the service to be idle for its flow's settle window before stopping it, and the request fails
//! that scenario in the terminal's failures, the JUnit report and the exit code; a snapshot the
//! run had accepted for it goes back to pending.

mod common;

use common::{FIXTURES_DAY, available, harness_on, project};

const FLOW: &str = "description: Fixture service (late) whose despatch comes 2 s after its sales order
trigger: {system: shopify, event: orders/create, key: .name}
targets: [netsuite, peoplevox]
service:
  command: [python3, services/service.py, late]
  deliver: {path: /webhooks/orders}
  settle: 4s
";

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
    let p = project(&["fixtures/services"]);
    std::fs::write(p.path().join("flows/svc-late.yaml"), FLOW).unwrap();
    std::fs::create_dir_all(p.path().join("scenarios/late")).unwrap();
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
            && out.stdout.contains("after the scenario `late/last` ended (after the last scenario its service ran)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("result: FAILED"), "{}", out.stdout);
    let junit = std::fs::read_to_string(p.path().join("junit.xml")).unwrap();
    assert!(junit.contains("`POST /despatches` arrived") && junit.contains("<failure"), "{junit}");

    let snapshots = p.path().join("snapshots/late");
    assert!(!snapshots.join("last.netsuite.snap").exists(), "--accept never approves a scenario with late traffic");
    assert!(snapshots.join("last.netsuite.snap.new").is_file(), "what it sent waits for review");
}
