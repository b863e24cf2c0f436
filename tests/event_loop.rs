//! A service whose follow-up request waits on its event loop's timer (Node's `setTimeout`): the
//! harness reads the timer from the kernel (`/proc/<pid>/task/<tid>/syscall`) and the scenario's
//! end follows it. A timer due within the settle window keeps the scenario open, so the request it
//! sends is counted in its own scenario, never the next one's; after the job's last scenario, one
//! due within the flow's longer window is waited for before the service is stopped, so its request
//! fails that scenario as late instead of being lost. The server's own 30 s housekeeping timer (Node's
//! `connectionsCheckingInterval`) keeps nothing open. Verdicts only: no timing is asserted.

mod common;

use common::{FIXTURES_DAY, available, harness_on, project};

/// Answers the webhook, sends NetSuite the sales order, then — after the delay the order's note
/// names, on a `setTimeout` — Peoplevox the despatch.
const SERVICE: &str = r#"const http = require('http');
const env = process.env;
function post(url, body, type) {
  return new Promise((done) => {
    const request = http.request(url, { method: 'POST', headers: { 'Content-Type': type } }, (answer) => {
      answer.resume();
      answer.on('end', done);
    });
    request.on('error', done);
    request.end(body);
  });
}
http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => { body += chunk; });
  request.on('end', async () => {
    const order = JSON.parse(body);
    response.end('ok');
    const sale = { externalId: 'SHOPIFY-' + order.id, entity: { id: '77' }, item: { items: [{ item: { id: '5101' }, quantity: 1 }] } };
    await post(env.HARNESS_NETSUITE_URL + '/services/rest/record/v1/salesOrder', JSON.stringify(sale), 'application/json');
    const delay = Number((/despatch after (\d+) ms/.exec(order.note || '') || [0, 0])[1]);
    const despatch = '<SaveData><templateName>Despatch</templateName><reference>' + order.name + '</reference></SaveData>';
    setTimeout(() => post(env.HARNESS_PEOPLEVOX_URL + '/despatches', despatch, 'text/xml'), delay);
  });
}).listen(Number(env.HARNESS_SERVICE_PORT), '127.0.0.1');
"#;

const FLOW: &str = "description: Node service whose despatch waits on a setTimeout
trigger: {system: shopify, event: orders/create, key: .name}
targets: [netsuite, peoplevox]
service:
  command: [node, services/timers.js]
  deliver: {path: /webhooks/orders}
  settle: 200ms
";

/// An order whose note asks for the despatch `delay` ms after the sales order.
fn order(id: u32, delay: u32) -> String {
    format!(
        r##"{{
  "recording": {{"system": "shopify", "version": "2025-01", "endpoint": "webhook orders/create", "provenance": "fixture written for the harness tests"}},
  "body": {{
    "id": {id},
    "name": "#{name}",
    "email": "order{name}@example.com",
    "note": "despatch after {delay} ms",
    "currency": "GBP",
    "line_items": [{{"id": 1, "sku": "TEE-M-NAVY", "quantity": 2, "price": "25.00", "title": "Tee"}}]
  }}
}}
"##,
        name = id - 7000
    )
}

fn scenario(file: &str, settle: &str) -> String {
    format!(
        "description: The despatch waits on the service's event loop
flow: svc-timers
settle: {settle}
systems: {{shopify: 2025-01, netsuite: \"2025.1\", peoplevox: v4}}
trigger: {{file: webhooks/{file}}}
expect:
  snapshots: [netsuite, peoplevox]
  requests:
    - {{system: netsuite, method: POST, path: /services/rest/record/v1/salesOrder, count: 1}}
    - {{system: peoplevox, path: /despatches, count: 1}}
"
    )
}

/// A project with the service and two orders whose despatches come `first` and `second` ms after
/// their sales orders, in scenarios settling after `settle`.
fn setup(first: u32, second: u32, settle: &str) -> tempfile::TempDir {
    let p = project(&["fixtures/services"]);
    std::fs::create_dir_all(p.path().join("services")).unwrap();
    std::fs::write(p.path().join("services/timers.js"), SERVICE).unwrap();
    std::fs::write(p.path().join("flows/svc-timers.yaml"), FLOW).unwrap();
    let webhooks = p.path().join("mocks/shopify/2025-01/webhooks");
    std::fs::write(webhooks.join("timer-first.json"), order(9001, first)).unwrap();
    std::fs::write(webhooks.join("timer-second.json"), order(9002, second)).unwrap();
    std::fs::create_dir_all(p.path().join("scenarios/timers")).unwrap();
    std::fs::write(p.path().join("scenarios/timers/a-first.yaml"), scenario("timer-first.json", settle)).unwrap();
    std::fs::write(p.path().join("scenarios/timers/b-second.yaml"), scenario("timer-second.json", settle)).unwrap();
    p
}

fn run(p: &tempfile::TempDir) -> common::Output {
    harness_on(
        FIXTURES_DAY,
        p.path(),
        &["run", "-j", "1", "--accept", "--color", "never", "--no-times", "--junit", "junit.xml", "scenarios/timers"],
    )
}

#[test]
fn a_retry_on_a_timer_within_the_settle_window_is_counted_in_its_own_scenario() {
    if !available("node") {
        eprintln!("skipped: node is not available");
        return;
    }
    // Each despatch 400 ms after its sales order: within the 1 s window, so each scenario waits
    // for its own, however busy the machine (the window's quiet cannot pass faster than the
    // service's timer, which runs on the wall clock).
    let p = setup(400, 400, "1s");
    let out = run(&p);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("late traffic"), "{}", out.stdout);
    let snapshots = p.path().join("snapshots/timers");
    for (case, own, other) in [("a-first", "#2001", "#2002"), ("b-second", "#2002", "#2001")] {
        let despatch = std::fs::read_to_string(snapshots.join(format!("{case}.peoplevox.snap"))).unwrap();
        assert!(despatch.contains(own) && !despatch.contains(other), "{case} holds its own despatch only:\n{despatch}");
    }
}

#[test]
fn a_timer_due_after_the_window_at_the_end_of_a_job_is_waited_for_and_fails_its_scenario() {
    if !available("node") {
        eprintln!("skipped: node is not available");
        return;
    }
    // The first despatch within the window; the last scenario's 1.5 s after its sales order, far
    // beyond its own 200 ms window: it ends before it, and the run waits for the timer (within the
    // flow's 2 s window, which the end of the job waits) before stopping the service, so the
    // despatch arrives and fails that scenario.
    let p = setup(100, 1500, "200ms");
    let flow = p.path().join("flows/svc-timers.yaml");
    std::fs::write(&flow, FLOW.replace("settle: 200ms", "settle: 2s")).unwrap();
    // Judged before its despatch: without it, it would pass.
    let judged = scenario("timer-second.json", "200ms")
        .replace("snapshots: [netsuite, peoplevox]", "snapshots: [netsuite]")
        .replace("path: /despatches, count: 1", "path: /despatches, count: 0");
    std::fs::write(p.path().join("scenarios/timers/b-second.yaml"), judged).unwrap();
    let out = run(&p);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("late traffic: peoplevox: `POST /despatches` arrived")
            && out.stdout.contains("(after the last scenario its service ran)"),
        "{}",
        out.stdout
    );
    let line = |id: &str| out.stdout.lines().find(|l| l.contains(id) && !l.contains("late traffic")).unwrap_or("");
    assert!(line("timers/a-first").contains("PASS"), "{}", out.stdout);
    assert!(line("timers/b-second").contains("FAIL"), "{}", out.stdout);
    let junit = std::fs::read_to_string(p.path().join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");
    assert!(!p.path().join("snapshots/timers/b-second.netsuite.snap").exists(), "--accept never approves it");
}
