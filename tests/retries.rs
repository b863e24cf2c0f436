//! `--retries` and a flow's `retries:`: a program's scenario that fails and then passes is reported flaky everywhere,
//! never silently green; built-in flows are deterministic and never run twice.

mod common;

use common::{BUNDLED_DAY, copy_tree, harness, harness_on, project, repo, xmllint_validates};

/// The bundled script flow, wrapped so its first run in the folder fails.
fn script_failing_once() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["flows", "mocks", "snapshots"] {
        std::fs::create_dir_all(dir.path().join(part)).unwrap();
        copy_tree(&repo().join(part), &dir.path().join(part));
    }
    let scenarios = dir.path().join("scenarios/script-order-to-netsuite");
    std::fs::create_dir_all(&scenarios).unwrap();
    std::fs::copy(
        repo().join("scenarios/script-order-to-netsuite/new-customer.yaml"),
        scenarios.join("new-customer.yaml"),
    )
    .unwrap();
    std::fs::copy(repo().join("harness.yaml"), dir.path().join("harness.yaml")).unwrap();
    std::fs::write(
        dir.path().join("flows/scripts/once.py"),
        "import os, runpy, sys\nif not os.path.exists('failed-once'):\n    open('failed-once', 'w').close()\n    sys.exit('first attempt: pretend the network dropped')\nrunpy.run_path('flows/scripts/order_to_netsuite.py', run_name='__main__')\n",
    )
    .unwrap();
    let flow = dir.path().join("flows/script-order-to-netsuite.yaml");
    let text =
        std::fs::read_to_string(&flow).unwrap().replace("flows/scripts/order_to_netsuite.py", "flows/scripts/once.py");
    std::fs::write(&flow, text).unwrap();
    dir
}

#[test]
fn a_program_passing_on_a_retry_is_flaky_in_every_report() {
    if !common::available("python3") {
        eprintln!("python3 not installed: skipped (.ci/run requires it)");
        return;
    }
    let p = script_failing_once();
    let out = harness_on(
        BUNDLED_DAY,
        p.path(),
        &["run", "--color", "never", "--retries", "2", "--json", "report.json", "--junit", "junit.xml"],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("RETRY  script-order-to-netsuite/new-customer (attempt 1 failed"), "{}", out.stdout);
    assert!(out.stdout.contains("FLAKY  script-order-to-netsuite/new-customer"), "{}", out.stdout);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(
        (&report["cases"][0]["flaky"], report["cases"][0]["retries"].as_array().map(Vec::len)),
        (&serde_json::json!(true), Some(1))
    );
    let junit = std::fs::read_to_string(p.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<flakyFailure"), "{junit}");
    xmllint_validates(&p.path().join("junit.xml"));

    // The same from the flow's own `retries:`.
    std::fs::remove_file(p.path().join("failed-once")).unwrap();
    let flow = p.path().join("flows/script-order-to-netsuite.yaml");
    std::fs::write(&flow, std::fs::read_to_string(&flow).unwrap() + "retries: 1\n").unwrap();
    let out = harness_on(BUNDLED_DAY, p.path(), &["run", "--color", "never"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("FLAKY  script-order-to-netsuite/new-customer"), "{}", out.stdout);
}

#[test]
fn built_in_flows_are_never_retried() {
    let p = project(&["fixtures/failing"]);
    let out = harness(p.path(), &["run", "--color", "never", "--retries", "2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stdout.contains("RETRY"), "{}", out.stdout);
}
