//! End-to-end tests: the real `harness` binary on fixture projects.
//!
//! `tests/fixtures/base` is a small passing project; other folders under `tests/fixtures` are
//! overlays copied on top of it. `tests/bad/<case>` is the bad-input corpus: each case is an overlay
//! plus `expected` (exit code and exact stderr). Set `HARNESS_BLESS=1` to rewrite the `expected`
//! files after an intended change to messages.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    BUNDLED_DAY, bundled_project, copy_tree, harness, harness_on, harness_with as harness_env, impact, impact_findings,
    junit_without_times, project, repo, within, xmllint_validates,
};

#[test]
fn passing_suite_exits_0_with_summary_and_valid_junit() {
    let p = project(&[]);
    let out = harness(p.path(), &["run", "-j", "2", "--color", "never", "--no-times", "--junit", "report/junit.xml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!("passing_stdout", out.stdout);
    let junit = p.path().join("report/junit.xml");
    insta::assert_snapshot!("passing_junit", junit_without_times(&junit));
    xmllint_validates(&junit);
}

#[test]
fn renamed_source_field_fails_naming_target_and_source_and_keeps_the_approved_snapshot() {
    let p = project(&["fixtures/failing"]);
    let approved = p.path().join("snapshots/orders/simple.netsuite.snap");
    let before = std::fs::read(&approved).unwrap();
    let out = harness(p.path(), &["run", "-j", "2", "--color", "never", "--no-times", "--junit", "junit.xml"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("netsuite body.item.items[].item would be empty: the mapping reads shopify `line_items[].sku`"),
        "{}",
        out.stdout
    );
    insta::assert_snapshot!("failing_stdout", out.stdout);
    assert_eq!(std::fs::read(&approved).unwrap(), before, "a failing run must not touch the approved snapshot");
    assert!(p.path().join("snapshots/orders/simple.netsuite.snap.new").is_file());
    let junit = p.path().join("junit.xml");
    insta::assert_snapshot!("failing_junit", junit_without_times(&junit));
    xmllint_validates(&junit);
}

#[test]
fn snapshots_and_reports_are_identical_with_1_and_8_jobs() {
    type Files = Vec<(PathBuf, Vec<u8>)>;
    let outputs: Vec<(Files, String, String)> = ["1", "8"]
        .iter()
        .map(|jobs| {
            let p = project(&["fixtures/failing", "fixtures/many"]);
            let out = harness(p.path(), &["run", "--color", "never", "--no-times", "-j", jobs, "--junit", "junit.xml"]);
            assert_eq!(out.code, 1);
            let mut snaps = Vec::new();
            let mut stack = vec![p.path().join("snapshots")];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).unwrap().flatten() {
                    if e.path().is_dir() {
                        stack.push(e.path());
                    } else {
                        snaps.push((
                            e.path().strip_prefix(p.path()).unwrap().to_path_buf(),
                            std::fs::read(e.path()).unwrap(),
                        ));
                    }
                }
            }
            snaps.sort();
            // The first line names the job count; everything after must not depend on it.
            let report = out.stdout.lines().skip(1).collect::<Vec<_>>().join("\n");
            (snaps, junit_without_times(&p.path().join("junit.xml")), report)
        })
        .collect();
    assert!(outputs[0].0.len() > 10, "the fixture writes pending snapshots");
    assert_eq!(outputs[0].0, outputs[1].0, "snapshots differ between -j 1 and -j 8");
    assert_eq!(outputs[0].1, outputs[1].1, "JUnit differs between -j 1 and -j 8");
    assert_eq!(outputs[0].2, outputs[1].2, "terminal report differs between -j 1 and -j 8");
}

#[test]
fn new_snapshots_are_pending_until_accepted_by_review_or_run_accept() {
    let p = project(&[]);
    std::fs::remove_dir_all(p.path().join("snapshots")).unwrap();
    let first = harness(p.path(), &["run", "--color", "never", "--no-times"]);
    assert_eq!(first.code, 1);
    assert!(
        first.stdout.contains("new snapshot for netsuite@2025.1: snapshots/orders/simple.netsuite.snap"),
        "{}",
        first.stdout
    );
    let listed = harness(p.path(), &["review", "--list"]);
    assert_eq!(
        listed.stdout,
        "snapshots/orders/simple.netsuite.snap.new\nsnapshots/orders/unknown-sku.netsuite.snap.new\n"
    );

    // Interactive review: accept the first, reject the second.
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["review", "--color", "never"])
        .current_dir(p.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"a\nr\n").unwrap();
    let reviewed = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&reviewed.stdout);
    assert!(text.contains("1 accepted, 1 rejected, 0 skipped"), "{text}");
    assert!(p.path().join("snapshots/orders/simple.netsuite.snap").is_file());
    assert!(!p.path().join("snapshots/orders/unknown-sku.netsuite.snap.new").exists());

    let second = harness(p.path(), &["run", "--accept", "--color", "never", "--no-times"]);
    assert_eq!(second.code, 0, "{}", second.stdout);
    assert!(second.stdout.contains("1 snapshot(s) accepted"), "{}", second.stdout);
    assert_eq!(harness(p.path(), &["run"]).code, 0);
}

#[test]
fn accept_never_approves_a_scenario_failing_for_another_reason() {
    let p = project(&["fixtures/failing"]);
    let approved = p.path().join("snapshots/orders/simple.netsuite.snap");
    let before = std::fs::read(&approved).unwrap();
    let out = harness(p.path(), &["run", "--accept"]);
    assert_eq!(out.code, 1);
    assert_eq!(std::fs::read(&approved).unwrap(), before);
}

#[test]
fn snapshots_are_readable_by_insta() {
    let path = repo().join("tests/fixtures/base/snapshots/orders/simple.netsuite.snap");
    let snap = insta::Snapshot::from_file(&path).expect("insta parses the harness's snapshot");
    assert_eq!(snap.metadata().source(), Some("scenarios/orders/simple.yaml"));
    let ours = std::fs::read_to_string(&path).unwrap();
    let body = ours.splitn(3, "---\n").nth(2).unwrap();
    let text = snap.contents().as_text().expect("a text snapshot").to_string();
    assert_eq!(text.trim_end(), body.trim_end());
}

#[test]
fn flows_that_crash_or_hang_fail_with_a_clear_message() {
    let p = project(&["fixtures/external"]);
    let out = harness(p.path(), &["run", "-j", "2", "--color", "never", "--no-times", "scenarios/external"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!("external_stdout", out.stdout);
    // The hanging program's own child went with it.
    let left = Command::new("pgrep")
        .args(["-f", "sleep 31.7"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert!(left.is_empty(), "processes left behind: {left}");
    // A built-in flow spinning in jq is given up and the run goes on, with one job too.
    let alone = harness(p.path(), &["run", "-j", "1", "--color", "never", "external/spin", "orders/simple"]);
    assert_eq!(alone.code, 1, "{}{}", alone.stdout, alone.stderr);
    assert!(alone.stdout.contains("1 passed, 1 failed"), "{}", alone.stdout);
}

#[test]
fn runs_from_any_folder_inside_the_project_and_selects_paths() {
    let p = project(&[]);
    let out = harness(&p.path().join("scenarios/orders"), &["run", "--no-times", "--color", "never"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("2 passed"), "{}", out.stdout);
    let one = harness(&p.path().join("flows"), &["run", "orders/simple", "--no-times"]);
    assert!(one.stdout.contains("1 passed, 0 failed, 1 total"), "{}", one.stdout);
    let listed = harness(p.path(), &["list", "--tag", "smoke"]);
    assert_eq!(listed.stdout, "orders/simple  [orders]  shopify@2025-01, netsuite@2025.1\n");
}

#[test]
fn colours_only_when_asked_or_on_a_terminal() {
    let p = project(&["fixtures/failing"]);
    assert!(!harness(p.path(), &["run"]).stdout.contains('\x1b'), "no colour when not a terminal");
    assert!(harness(p.path(), &["run", "--color", "always"]).stdout.contains("\x1b[31m"));
}

#[test]
fn schema_command_prints_the_scenario_format() {
    let out = harness(&repo(), &["schema"]);
    assert_eq!(out.code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    for field in ["flow", "trigger", "systems", "mocks", "expect"] {
        assert!(schema["properties"].get(field).is_some(), "schema lacks {field}");
    }
    assert_eq!(schema["required"], serde_json::json!(["flow", "trigger"]));
}

/// The bad-input corpus: every case ends with a located message and its exit code, never a panic.
#[test]
fn bad_inputs_give_located_errors() {
    let corpus = repo().join("tests/bad");
    let bless = std::env::var_os("HARNESS_BLESS").is_some();
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(&corpus).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 15, "the corpus has {} cases", cases.len());
    let mut mismatches = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let p = project(&[]);
        // Cases about the command line have no files (git keeps no empty folders).
        if case.join("overlay").is_dir() {
            copy_tree(&case.join("overlay"), p.path());
        }
        let args: Vec<String> = std::fs::read_to_string(case.join("args"))
            .map_or_else(|_| vec!["run".to_string()], |a| a.split_whitespace().map(str::to_string).collect());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = harness(p.path(), &args);
        assert!(!out.stderr.contains("panicked"), "{name} panicked:\n{}", out.stderr);
        let actual = format!("exit: {}\n---\n{}", out.code, out.stderr);
        let expected_path = case.join("expected");
        // A case whose `expected` is the message a change still to be merged gives (its `pending`
        // file says which): reported, not failed, until it passes — then the marker must go.
        let pending = std::fs::read_to_string(case.join("pending")).ok();
        if bless && pending.is_none() {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        match (&pending, expected == actual) {
            (None, false) => mismatches.push(format!("── {name}\n--- expected\n{expected}\n--- actual\n{actual}")),
            (Some(why), false) => eprintln!("pending: {name} ({}) does not pass yet", why.trim()),
            (Some(_), true) => mismatches.push(format!("── {name} passes now: remove tests/bad/{name}/pending")),
            (None, true) => {}
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} case(s) differ (HARNESS_BLESS=1 rewrites them):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The project's own scenarios (what the README's first command runs) pass as committed.
#[test]
fn bundled_scenarios_pass() {
    let dir = bundled_project();
    let out = harness_on(BUNDLED_DAY, dir.path(), &["run", "--color", "never", "--junit", "junit.xml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    xmllint_validates(&dir.path().join("junit.xml"));
}

#[test]
fn duplicates_and_stalled_queues_are_caught() {
    let p = project(&["fixtures/faults"]);
    let out = harness(p.path(), &["run", "-j", "2", "--color", "never", "--no-times", "scenarios/faults"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!("faults_stdout", out.stdout);
}

/// The project's own recordings of the real Shopify history: between 2022-04 and 2023-04 the order
/// lost `gateway`, `payment_details`, `processing_method`, `total_price_usd` and
/// `shipping_lines[].delivery_category`. Impact must name exactly the five target fields they feed,
/// and call the main order flow (stable fields only) clean.
#[test]
fn impact_names_exactly_the_fields_fed_by_removed_shopify_fields() {
    let dir = bundled_project();
    let out = impact(dir.path(), "shopify", "2022-04", "2023-04", &["--json", "-", "--junit", "impact.xml"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON report");
    let flows = report["flows"].as_array().unwrap();
    let flow = |name: &str| flows.iter().find(|f| f["flow"] == name).unwrap_or_else(|| panic!("{name} in the report"));
    let mut fields: Vec<String> = flow("shopify-order-payments-to-netsuite")["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["findings"].as_array().unwrap().iter())
        .map(|f| format!("{} {}", f["severity"].as_str().unwrap(), f["field"].as_str().unwrap()))
        .collect();
    fields.sort();
    fields.dedup();
    assert_eq!(
        fields,
        [
            "data-loss body.custbody_card_brand",
            "data-loss body.custbody_delivery_category",
            "data-loss body.custbody_payment_gateway",
            "data-loss body.custbody_processing_method",
            "data-loss body.custbody_total_usd",
        ]
    );
    let stable = flow("shopify-order-to-netsuite");
    assert!(
        stable["scenarios"].as_array().unwrap().iter().all(|s| s["findings"].as_array().unwrap().is_empty()),
        "{stable}"
    );
    assert_eq!(report["verdict"]["data_loss"], 15);
    let causes = report.to_string();
    for removed in [
        "`gateway` removed",
        "`payment_details` removed",
        "`processing_method` removed",
        "`total_price_usd` removed",
        "`shipping_lines[].delivery_category` removed",
    ] {
        assert!(causes.contains(removed), "no cause names {removed}");
    }
    xmllint_validates(&dir.path().join("impact.xml"));

    // 2025-07 changed nothing the bundled flows read that anything tells of; the REST endpoints
    // no recording at 2025-07 shows stay unverified, allowed here.
    let clean = impact(dir.path(), "shopify", "2025-01", "2025-07", &["--color", "never", "--allow-unverified"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(clean.stdout.contains("result: clean"), "{}", clean.stdout);
}

/// The upgrade a shop on 2026-01 must make before January: across 2026-04 the inventory flow's
/// mutation is refused (no `changeFromQuantity`, no `@idempotent`), the order flow loses the
/// `checkout_id` it copies (use `checkout_token`), 2026-10 deprecates the `barcode` the lookup
/// reads; every other flow is clean.
#[test]
fn impact_of_2026_01_to_2026_10_names_exactly_the_breaking_and_lost_fields() {
    let dir = bundled_project();
    let out = impact(dir.path(), "shopify", "2026-01", "2026-10", &["--color", "never", "--json", "report.json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!("impact_2026_01_to_2026_10", out.stdout);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    let mut affected: Vec<String> = impact_findings(&report)
        .into_iter()
        .map(|(flow, x)| format!("{flow} {} {}", x["severity"].as_str().unwrap(), x["field"].as_str().unwrap()))
        .collect();
    affected.sort();
    affected.dedup();
    assert_eq!(
        affected,
        [
            "peoplevox-availability-to-shopify breaking (flow outcome)",
            "peoplevox-availability-to-shopify breaking (request)",
            "peoplevox-availability-to-shopify deprecated (deprecated use)",
            "shopify-order-to-netsuite data-loss body.custbody_shopify_checkout_id",
        ]
    );
    let text = report.to_string();
    for cause in [
        "`input.quantities[].changeFromQuantity` newly required in 2026-04",
        "mutation inventorySetQuantities: `@idempotent` newly required in 2026-04",
        "`checkout_id` removed in 2026-04 (use `checkout_token` instead)",
    ] {
        assert!(text.contains(cause), "no cause says {cause}");
    }
}

/// A renamed source field breaks a built-in flow (traced by the mapping and by ablation) and
/// empties fields of an external program (traced by ablation alone); a field removed from a
/// target's schema breaks both. Markdown and JUnit renderings of the same report.
#[test]
fn impact_traces_causes_for_built_in_and_external_flows() {
    let p = project(&["fixtures/impact"]);
    assert_eq!(harness(p.path(), &["run", "--accept"]).code, 0);
    let source = harness(
        p.path(),
        &["impact", "--system", "shopify", "--from", "2025-01", "--to", "2026-01", "--color", "never", "-j", "2"],
    );
    assert_eq!(source.code, 1, "{}{}", source.stdout, source.stderr);
    insta::assert_snapshot!("impact_source_upgrade", source.stdout);
    let target = harness(
        p.path(),
        &["impact", "--system", "netsuite", "--from", "2025.1", "--to", "2026.1", "--markdown", "-", "-j", "2"],
    );
    assert_eq!(target.code, 1);
    insta::assert_snapshot!("impact_target_upgrade_markdown", target.stdout);
}

#[test]
fn lineage_and_coverage_of_a_fixture_project() {
    let p = project(&["fixtures/impact"]);
    let lineage = harness(p.path(), &["lineage", "--json", "-", "-j", "2"]);
    assert_eq!(lineage.code, 0, "{}", lineage.stderr);
    let lineage: serde_json::Value = serde_json::from_str(&lineage.stdout).unwrap();
    let sources = |flow: &str, field: &str| -> Vec<String> {
        let flow = lineage.as_array().unwrap().iter().find(|f| f["flow"] == flow).unwrap();
        let f = flow["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .unwrap_or_else(|| panic!("{field} in {flow}"));
        f["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("{} {}", s[1].as_str().unwrap(), s[2].as_str().unwrap()))
            .collect()
    };
    assert_eq!(sources("orders", "body.memo"), ["note mapping", "note tracing"]);
    assert_eq!(sources("orders", "body.item.items[].item"), ["line_items[].sku mapping"]);
    // The external program's lineage can only be observed: its values traced into what it sent.
    assert_eq!(sources("script", "body.memo"), ["note tracing"]);
    assert_eq!(sources("script", "body.item.items[].quantity"), ["line_items[].quantity tracing"]);

    let coverage = harness(p.path(), &["coverage", "--json", "-", "-j", "2"]);
    assert_eq!(coverage.code, 0, "{}", coverage.stderr);
    let coverage: serde_json::Value = serde_json::from_str(&coverage.stdout).unwrap();
    let webhook = &coverage["sources"][0];
    assert_eq!(webhook["endpoint"], "webhook orders/create");
    let unread: Vec<&str> = webhook["unread"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(unread, ["currency", "line_items[].id", "line_items[].title", "name"]);
}

#[test]
fn a_reset_create_is_not_a_committed_duplicate_and_concurrent_snapshots_repeat() {
    let p = project(&["fixtures/faults"]);
    let dir = p.path().join("scenarios/more");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("reset-then-create.yaml"),
        "flow: orders\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\nmocks:\n  netsuite:\n    use: [customer-found]\n    stubs:\n      - match: {method: POST, path: /services/rest/record/v1/salesOrder}\n        sequence: [{fault: reset}, {status: 204}]\nexpect:\n  requests: [{system: netsuite, method: POST, path: /services/rest/record/v1/salesOrder, count: 2}]\n",
    )
    .unwrap();
    let body = |n: usize| {
        (1..=n)
            .map(|i| format!("      - {{id: {i}, name: \"#{i}\", line_items: [{{sku: TEE-M-NAVY, quantity: {i}}}]}}\n"))
            .collect::<String>()
    };
    std::fs::write(
        dir.join("concurrent.yaml"),
        format!("flow: batch\nsystems: {{shopify: 2025-01, netsuite: \"2025.1\"}}\ndelivery: {{concurrency: 8, on_failure: dead-letter}}\ntrigger:\n  body:\n    orders:\n{}", body(24)),
    )
    .unwrap();
    let first = harness(p.path(), &["run", "scenarios/more", "-j", "2", "--color", "never", "--no-times"]);
    assert!(first.stdout.contains("new snapshot"), "{}", first.stdout);
    assert!(!first.stdout.contains("duplicates"), "a reset request was never carried out: {}", first.stdout);
    let snap = p.path().join("snapshots/more/concurrent.netsuite.snap.new");
    let once = std::fs::read_to_string(&snap).unwrap();
    for _ in 0..3 {
        harness(p.path(), &["run", "scenarios/more/concurrent.yaml", "-j", "4"]);
        assert_eq!(std::fs::read_to_string(&snap).unwrap(), once, "concurrent deliveries gave another snapshot");
    }
}

#[test]
fn accept_does_not_approve_fields_that_went_empty() {
    let p = project(&[]);
    // The note is gone from the payload: `memo` is filled in the approved snapshot and now absent.
    let order = p.path().join("mocks/shopify/2025-01/webhooks/order.json");
    let text = std::fs::read_to_string(&order).unwrap().replace("\"note\": \"Gift wrap, please\",", "\"note\": null,");
    std::fs::write(&order, text).unwrap();
    let approved = p.path().join("snapshots/orders/simple.netsuite.snap");
    let before = std::fs::read(&approved).unwrap();
    let out = harness(p.path(), &["run", "--accept", "--color", "never", "--no-times"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("silent data loss: 1 field(s) sent to netsuite@2025.1 were filled in the approved snapshot and are now empty"), "{}", out.stdout);
    assert_eq!(std::fs::read(&approved).unwrap(), before);
    // Reviewed by a person, it can be accepted (without a terminal, saying so with --yes).
    assert_eq!(harness(p.path(), &["review", "--accept-all", "--yes"]).code, 0);
    assert_eq!(harness(p.path(), &["run"]).code, 0);
}

#[test]
fn record_lines_of_large_program_output_are_all_read() {
    let p = project(&["fixtures/external"]);
    std::fs::write(
        p.path().join("flows/chatty.py"),
        "import json, sys\nfor i in range(3000):\n    print('progress line %d ' % i + 'x' * 40)\nprint(json.dumps({'record': '#2001', 'outcome': 'delivered'}))\n",
    )
    .unwrap();
    std::fs::write(p.path().join("flows/chatty.yaml"), "trigger: {system: shopify, event: orders/create, key: .name}\ntargets: [netsuite]\ncommand: [python3, flows/chatty.py]\n").unwrap();
    std::fs::write(
        p.path().join("scenarios/external/chatty.yaml"),
        "flow: chatty\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\nexpect:\n  records: {\"#2001\": delivered}\n  requests: [{system: netsuite, path: \"~.*\", count: 0}]\n  snapshots: []\n",
    )
    .unwrap();
    let out = harness(p.path(), &["run", "scenarios/external/chatty.yaml", "--color", "never"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn an_interrupted_run_stops_the_programs_it_started() {
    let p = project(&["fixtures/external"]);
    // This test process's own marker: another copy of this test on the machine starts a `sleep` too.
    let marker = format!("32.9{}", std::process::id());
    std::fs::write(
        p.path().join("flows/linger.py"),
        format!("import subprocess, time\nsubprocess.Popen(['sleep', '{marker}'])\ntime.sleep(30)\n"),
    )
    .unwrap();
    std::fs::write(p.path().join("flows/linger.yaml"), "trigger: {system: shopify, event: orders/create, key: .name}\ntargets: [netsuite]\ncommand: [python3, flows/linger.py]\n").unwrap();
    std::fs::write(
        p.path().join("scenarios/external/linger.yaml"),
        "flow: linger\ntimeout: 20s\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\n",
    )
    .unwrap();
    let lingering = || {
        Command::new("pgrep")
            .args(["-f", &format!("sleep {marker}")])
            .output()
            .map(|o| !o.stdout.is_empty())
            .unwrap_or(false)
    };
    let child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "external/linger"])
        .current_dir(p.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !lingering() {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the program never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"), "{}", String::from_utf8_lossy(&out.stderr));
    let stopped = std::time::Instant::now();
    while lingering() {
        assert!(
            stopped.elapsed() < std::time::Duration::from_secs(10),
            "the program's own child outlived the interrupted run"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// Hermetic runs: nothing leaves loopback, no secret in any output, programs see only what they are
// given and cannot outlive the run.
// ---------------------------------------------------------------------------------------------

/// `harness` with extra environment variables.
/// Every file under `dir`, with its text.
fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push((
                    e.path(),
                    String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default()).into_owned(),
                ));
            }
        }
    }
    out
}

/// A listener on 127.0.0.2, the stand-in for a foreign host: whether anything connected to it
/// within `wait`.
struct Foreign(std::net::TcpListener);

impl Foreign {
    fn new() -> Foreign {
        let l = std::net::TcpListener::bind(("127.0.0.2", 0)).expect("127.0.0.2 is loopback on Linux");
        l.set_nonblocking(true).unwrap();
        Foreign(l)
    }
    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }
    fn contacted(&self) -> bool {
        self.0.accept().is_ok()
    }
}

#[test]
fn redirects_are_answers_and_paths_cannot_change_the_host() {
    let foreign = Foreign::new();
    let p = project(&[]);
    let stubbed = format!(
        "description: NetSuite answers the order with a redirect to another host\nflow: orders\nsystems: {{shopify: 2025-01, netsuite: \"2025.1\"}}\ntrigger: {{file: webhooks/order.json}}\nmocks:\n  netsuite:\n    use: [customer-found]\n    stubs:\n      - match: {{method: POST, path: /services/rest/record/v1/salesOrder}}\n        respond: {{status: 307, headers: {{Location: \"http://127.0.0.2:{}/x\"}}}}\nexpect: {{outcome: failed}}\n",
        foreign.port()
    );
    std::fs::write(p.path().join("scenarios/orders/redirected.yaml"), stubbed).unwrap();
    // A payload value that becomes the whole path, and one inside a path.
    let flow = std::fs::read_to_string(p.path().join("flows/orders.yaml")).unwrap();
    std::fs::write(
        p.path().join("flows/hole.yaml"),
        flow.replace("path: /services/rest/record/v1/salesOrder", "path: \"{.note}\""),
    )
    .unwrap();
    std::fs::write(
        p.path().join("flows/inner.yaml"),
        flow.replace(
            "path: /services/rest/record/v1/salesOrder",
            "path: \"/services/rest/record/v1/salesOrder/{.note}\"",
        ),
    )
    .unwrap();
    let order = std::fs::read_to_string(p.path().join("mocks/shopify/2025-01/webhooks/order.json")).unwrap();
    std::fs::write(
        p.path().join("mocks/shopify/2025-01/webhooks/at-host.json"),
        order.replace("Gift wrap, please", &format!("@127.0.0.2:{}/x", foreign.port())),
    )
    .unwrap();
    for flow in ["hole", "inner"] {
        std::fs::write(
            p.path().join(format!("scenarios/orders/{flow}.yaml")),
            format!("flow: {flow}\nsystems: {{shopify: 2025-01, netsuite: \"2025.1\"}}\ntrigger: {{file: webhooks/at-host.json}}\nmocks: {{netsuite: {{use: [customer-found]}}}}\nexpect: {{outcome: failed}}\n"),
        )
        .unwrap();
    }
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", "--json", "report.json"]);
    assert!(!foreign.contacted(), "a request reached 127.0.0.2:\n{}", out.stdout);
    let snap = std::fs::read_to_string(p.path().join("snapshots/orders/redirected.netsuite.snap.new"))
        .expect("a pending snapshot");
    assert!(
        snap.contains("\"response\": 307")
            && snap.contains(&format!("\"location\": \"http://127.0.0.2:{}/x\"", foreign.port())),
        "{snap}"
    );
    let report = std::fs::read_to_string(p.path().join("report.json")).unwrap();
    assert!(
        report.contains(&format!("request path `@127.0.0.2:{}", foreign.port())) && report.contains("refused"),
        "{report}"
    );
    // Inside a path the value is a path segment on the mock: it reached the mock, not 127.0.0.2.
    assert!(out.stdout.contains("orders/inner"), "{}", out.stdout);

    // Written so in the flow file, it is a configuration error at its place.
    std::fs::write(
        p.path().join("flows/hole.yaml"),
        flow.replace(
            "path: /services/rest/record/v1/salesOrder",
            &format!("path: \"@127.0.0.2:{}/x\"", foreign.port()),
        ),
    )
    .unwrap();
    let bad = harness(p.path(), &["run", "--color", "never", "orders/hole"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("a call's `path` starts with `/`") && bad.stderr.contains("--> flows/hole.yaml:"),
        "{}",
        bad.stderr
    );
    assert!(!foreign.contacted());
}

const PLANTED_EXTRA: &str = "planted-extra-secret-7f3a";
const PLANTED_TOKEN: &str = "planted-env-token-91c2";
const PARENT_SECRET: &str = "parent-only-value-5d4e";

/// An external flow that sees mapped names and passed variables only, and one that leaks every
/// secret it can into a JSON body, a text body and its output.
fn hermetic_project() -> tempfile::TempDir {
    let p = project(&[]);
    let write = |rel: &str, text: &str| {
        let path = p.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "flows/probe.py",
        r#"import os, sys
want = {"NETSUITE_VERSION": "2025.1", "SHOP_SECRET": "fixture-secret", "HARNESS_TEST_PASSED_ONE": "1"}
wrong = [k for k, v in want.items() if os.environ.get(k) != v]
if not os.environ.get("NETSUITE_BASE_URL", "").startswith("http://127.0.0.1:"): wrong.append("NETSUITE_BASE_URL")
if "HARNESS_TEST_PARENT_SECRET" in os.environ: wrong.append("HARNESS_TEST_PARENT_SECRET is visible")
if not os.getcwd().endswith("/flows"): wrong.append("cwd " + os.getcwd())
if not os.environ.get("HARNESS_NETSUITE_URL"): wrong.append("HARNESS_NETSUITE_URL")
if wrong: sys.exit("wrong environment: " + ", ".join(wrong))
"#,
    );
    write(
        "flows/probe.yaml",
        "trigger: {system: shopify, event: orders/create, key: .name}\ntargets: [netsuite]\ncommand: [python3, probe.py]\ncwd: flows\nenv: {NETSUITE_BASE_URL: \"{netsuite.url}\", SHOP_SECRET: \"{shopify.app_secret}\", NETSUITE_VERSION: \"{netsuite.version}\"}\npass_env: [HARNESS_TEST_PASSED_*]\n",
    );
    write(
        "scenarios/hermetic/probe.yaml",
        "flow: probe\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\nexpect: {snapshots: [], requests: [{system: netsuite, path: \"~.*\", count: 0}]}\n",
    );
    write(
        "flows/leak.py",
        r#"import json, os, sys, urllib.request
note = json.load(sys.stdin)["note"]
token, secret = os.environ.get("HARNESS_TEST_PLANTED_TOKEN", ""), os.environ["NS_SECRET"]
text = f"token={token} secret={secret} note={note}".encode()
req = urllib.request.Request(os.environ["NS"] + "/services/rest/record/v1/note", data=text, method="POST", headers={"Content-Type": "text/plain", "X-Leak": token})
try:
    urllib.request.urlopen(req, timeout=5)
except Exception as e:
    print("post failed:", e)
print("leaking", token, secret, note, flush=True)
print("leaking on stderr", token, secret, note, file=sys.stderr)
sys.exit(1)
"#,
    );
    write(
        "flows/leak.yaml",
        "trigger: {system: shopify, event: orders/create, key: .name}\ntargets: [netsuite]\ncommand: [python3, flows/leak.py]\nenv: {NS: \"{netsuite.url}\", NS_SECRET: \"{netsuite.consumer_secret}\"}\npass_env: [HARNESS_TEST_PLANTED_TOKEN]\n",
    );
    let order = std::fs::read_to_string(p.path().join("mocks/shopify/2025-01/webhooks/order.json")).unwrap();
    write("mocks/shopify/2025-01/webhooks/planted.json", &order.replace("Gift wrap, please", PLANTED_EXTRA));
    write(
        "scenarios/hermetic/leak.yaml",
        "flow: leak\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/planted.json}\n",
    );
    // The built-in flow maps the note into a JSON body.
    write(
        "scenarios/hermetic/json.yaml",
        "flow: orders\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/planted.json}\nmocks: {netsuite: {use: [customer-found]}}\n",
    );
    p
}

#[test]
fn programs_see_mapped_and_passed_variables_only() {
    let p = hermetic_project();
    let out = harness_env(
        p.path(),
        &["run", "--color", "never", "hermetic/probe"],
        &[("HARNESS_TEST_PARENT_SECRET", PARENT_SECRET), ("HARNESS_TEST_PASSED_ONE", "1")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn no_secret_appears_in_any_output() {
    let p = hermetic_project();
    let env = [("HARNESS_TEST_PLANTED_TOKEN", PLANTED_TOKEN), ("HARNESS_TEST_EXTRA", PLANTED_EXTRA)];
    let out = harness_env(
        p.path(),
        &[
            "run",
            "--color",
            "never",
            "--secret",
            "HARNESS_TEST_EXTRA",
            "--junit",
            "out/junit.xml",
            "--json",
            "out/report.json",
            "scenarios/hermetic",
        ],
        &env,
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let json_snap = std::fs::read_to_string(p.path().join("snapshots/hermetic/json.netsuite.snap.new"))
        .expect("the JSON body's snapshot");
    assert!(json_snap.contains("\"memo\": \"[redacted]\""), "{json_snap}");
    let text_snap = std::fs::read_to_string(p.path().join("snapshots/hermetic/leak.netsuite.snap.new"))
        .expect("the text body's snapshot");
    assert!(text_snap.contains("token=[redacted] secret=[redacted] note=[redacted]"), "{text_snap}");
    assert!(out.stdout.contains("leaking [redacted] [redacted] [redacted]"), "{}", out.stdout);
    let mut outputs = files_under(&p.path().join("snapshots"));
    outputs.extend(files_under(&p.path().join("out")));
    outputs.push(("stdout".into(), out.stdout.clone()));
    outputs.push(("stderr".into(), out.stderr.clone()));
    assert!(outputs.len() > 6, "{outputs:?}");
    for (file, text) in &outputs {
        for secret in [PLANTED_EXTRA, PLANTED_TOKEN, "harness-consumer-secret", "fixture-secret", "eyJ.ns-access-token"]
        {
            assert!(!text.contains(secret), "{secret} in {}:\n{text}", file.display());
        }
    }
    // --secret names a variable that must be set.
    let unset = harness(p.path(), &["run", "--secret", "HARNESS_TEST_NOT_SET"]);
    assert_eq!(unset.code, 2, "{}", unset.stderr);
}

/// Live processes with `arg` in their command line.
fn pids_with_arg(arg: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
        })
        .collect()
}

#[test]
fn kill_9_of_the_harness_leaves_no_program_behind() {
    let trials: usize = std::env::var("HARNESS_KILL_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(5);
    let p = project(&[]);
    std::fs::write(p.path().join("flows/daemon.yaml"), "trigger: {system: shopify, event: orders/create, key: .name}\ntargets: [netsuite]\ncommand: [sh, -c, \"setsid sleep $DAEMON_ARG & exec sleep $PROGRAM_ARG\"]\npass_env: [DAEMON_ARG, PROGRAM_ARG]\n").unwrap();
    std::fs::write(p.path().join("scenarios/orders/daemon.yaml"), "flow: daemon\ntimeout: 60s\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\n").unwrap();
    let mut clean = 0;
    for trial in 0..trials {
        let (daemon, program) =
            (format!("300.{}{trial}", std::process::id()), format!("301.{}{trial}", std::process::id()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["run", "orders/daemon"])
            .current_dir(p.path())
            .env("DAEMON_ARG", &daemon)
            .env("PROGRAM_ARG", &program)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            within(std::time::Duration::from_secs(20), || pids_with_arg(&daemon).len() == 1
                && pids_with_arg(&program).len() == 1),
            "trial {trial}: the program never started"
        );
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        if within(std::time::Duration::from_secs(5), || {
            pids_with_arg(&daemon).is_empty() && pids_with_arg(&program).is_empty()
        }) {
            clean += 1;
        } else {
            for pid in pids_with_arg(&daemon).into_iter().chain(pids_with_arg(&program)) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
    println!("kill -9 trials: {clean}/{trials} left nothing behind");
    assert_eq!(clean, trials);
}

#[test]
fn isolation_network_leaves_only_loopback() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: the isolation test needs a network namespace of its own");
        return;
    }
    let p = project(&[]);
    // The probe tries a non-loopback address only once it sees it is in a namespace with nothing
    // but `lo`; the address is built from its parts.
    std::fs::write(
        p.path().join("flows/netprobe.py"),
        r#"import errno, os, socket, sys, urllib.request
ifaces = [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]]
if ifaces != ["lo"]:
    sys.exit("not isolated: " + ", ".join(ifaces))
s = socket.create_connection((os.environ["HARNESS_NETSUITE_URL"].split("//")[1].split(":")[0], int(os.environ["HARNESS_NETSUITE_URL"].rsplit(":", 1)[1])), timeout=5)
s.close()
far = ".".join(str(n) for n in (192, 0, 2, 1))
try:
    socket.create_connection((far, 80), timeout=2)
    sys.exit("connected outside")
except OSError as e:
    print("outside unreachable:", errno.errorcode.get(e.errno, e.errno))
"#,
    )
    .unwrap();
    std::fs::write(p.path().join("flows/netprobe.yaml"), "trigger: {system: shopify, event: orders/create, key: .name}\ntargets: [netsuite]\nisolation: network\ncommand: [python3, flows/netprobe.py]\n").unwrap();
    std::fs::write(p.path().join("scenarios/orders/netprobe.yaml"), "flow: netprobe\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\nexpect: {snapshots: [], requests: [{system: netsuite, path: \"~.*\", count: 0}]}\n").unwrap();
    let out = harness(
        p.path(),
        &["run", "--color", "never", "--require-isolation", "--json", "report.json", "orders/netprobe"],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report = std::fs::read_to_string(p.path().join("report.json")).unwrap();
    assert!(report.contains("outside unreachable: ENETUNREACH"), "{report}");
    // Asking for isolation the project does not want is a usage error.
    let unasked = harness(project(&[]).path(), &["run", "--require-isolation", "orders/simple"]);
    assert_eq!(unasked.code, 2, "{}", unasked.stderr);
}

#[test]
fn mock_limits_give_a_finding_naming_the_limit() {
    let p = project(&["fixtures/faults"]);
    let orders: Vec<String> = (1..=40)
        .map(|i| format!("      - {{id: {i}, name: \"#{i}\", line_items: [{{sku: TEE-M-NAVY, quantity: 1}}]}}"))
        .collect();
    std::fs::write(
        p.path().join("scenarios/faults/crowd.yaml"),
        format!("flow: batch\nsystems: {{shopify: 2025-01, netsuite: \"2025.1\"}}\ndelivery: {{concurrency: 20, on_failure: dead-letter}}\ntrigger:\n  body:\n    orders:\n{}\nexpect: {{snapshots: []}}\n", orders.join("\n")),
    )
    .unwrap();
    std::fs::write(p.path().join("harness.yaml"), "mocks: {max_connections: 2}\n").unwrap();
    let crowded = harness(p.path(), &["run", "--color", "never", "faults/crowd"]);
    assert_eq!(crowded.code, 1, "{}{}", crowded.stdout, crowded.stderr);
    assert!(
        crowded
            .stdout
            .contains("more than 2 connections open at once to one mock (mocks.max_connections in harness.yaml)"),
        "{}",
        crowded.stdout
    );

    std::fs::write(p.path().join("harness.yaml"), "mocks: {max_body: 64}\n").unwrap();
    let large = harness(p.path(), &["run", "--color", "never", "faults/crowd"]);
    assert_eq!(large.code, 1, "{}{}", large.stdout, large.stderr);
    assert!(
        large.stdout.contains("request body larger than 64 bytes (mocks.max_body in harness.yaml); answered 413"),
        "{}",
        large.stdout
    );
    // The defaults never bother it.
    std::fs::write(p.path().join("harness.yaml"), "").unwrap();
    let normal = harness(p.path(), &["run", "--color", "never", "faults/crowd"]);
    assert_eq!(normal.code, 0, "{}{}", normal.stdout, normal.stderr);
}

#[test]
fn a_runaway_expression_fails_its_own_case_and_the_run_goes_on() {
    let p = project(&[]);
    let simple = std::fs::read_to_string(p.path().join("scenarios/orders/simple.yaml")).unwrap();
    let scenario = |timeout: &str, source: &str| {
        simple.replace("expect:\n", &format!("timeout: {timeout}\nexpect:\n  reconcile:\n    - {{name: runaway, system: netsuite, source: '{source}', target: '1'}}\n"))
    };
    std::fs::write(p.path().join("scenarios/orders/grows.yaml"), scenario("20s", "[range(1e9)] | length")).unwrap();
    std::fs::write(p.path().join("scenarios/orders/spins.yaml"), scenario("1s", "last(range(1e13))")).unwrap();
    let started = std::time::Instant::now();
    let out = harness(p.path(), &["run", "--color", "never", "--junit", "junit.xml", "--json", "report.json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "took {:?}", started.elapsed());
    let line = simple.lines().position(|l| l == "expect:").unwrap() + 4;
    assert!(
        out.stdout.contains(&format!(
            "reconcile `[range(1e9)] | length` at scenarios/orders/grows.yaml:{line} used more than 256 MiB"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "reconcile `last(range(1e13))` at scenarios/orders/spins.yaml:{line} did not finish within 1s"
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("2 passed, 2 failed"), "{}", out.stdout);
    for report in ["junit.xml", "report.json"] {
        assert!(std::fs::read_to_string(p.path().join(report)).unwrap().contains("orders/grows"), "{report}");
    }
}

#[test]
fn a_killed_run_leaves_the_previous_junit_or_a_whole_one_never_a_truncated_one() {
    let trials: u64 = std::env::var("HARNESS_KILL_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(20);
    let p = project(&["fixtures/many"]);
    let previous = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"previous\"></testsuites>\n";
    let junit = p.path().join("junit.xml");
    let mut outcomes = std::collections::BTreeMap::new();
    for trial in 0..trials {
        std::fs::write(&junit, previous).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["run", "-j", "2", "--junit", "junit.xml"])
            .current_dir(p.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // From early in the run to after its end, so some kills land while the report is written.
        std::thread::sleep(std::time::Duration::from_millis(20 + trial * 25));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let text = std::fs::read_to_string(&junit).unwrap_or_default();
        let kind = if text == previous {
            "previous"
        } else if text.trim_end().ends_with("</testsuites>") && text.contains("<testsuite ") {
            "whole"
        } else {
            panic!("trial {trial}: a truncated JUnit report:\n{text}")
        };
        *outcomes.entry(kind).or_insert(0) += 1;
    }
    println!("kill -9 mid-run, {trials} trials: {outcomes:?}");
}

#[test]
fn sigterm_writes_reports_marked_cancelled_with_the_cases_that_finished() {
    let p = project(&["fixtures/external"]);
    // The program's argument marks it as this test process's own: every copy of this test on the
    // machine (other checkouts, other test runs) starts a `sleep`, and signalling this harness
    // when another's program shows up could reach it before it handles signals at all.
    let marker = format!("33.1{}", std::process::id());
    std::fs::write(p.path().join("flows/linger.yaml"), format!("trigger: {{system: shopify, event: orders/create, key: .name}}\ntargets: [netsuite]\ncommand: [sleep, \"{marker}\"]\n")).unwrap();
    // After orders/simple in scenario order, so that one is reported before the signal.
    std::fs::create_dir_all(p.path().join("scenarios/zz")).unwrap();
    std::fs::write(p.path().join("scenarios/zz/linger.yaml"), "flow: linger\ntimeout: 30s\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\n").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "-j", "1", "--junit", "out/junit.xml", "--json", "out/report.json", "orders/simple", "zz/linger"])
        .current_dir(p.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        within(std::time::Duration::from_secs(20), || !pids_with_arg(&marker).is_empty()),
        "the program never started"
    );
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let junit = std::fs::read_to_string(p.path().join("out/junit.xml")).unwrap();
    assert!(
        junit.contains("run cancelled by SIGTERM: 1 of 2 case(s) finished") && junit.contains("orders/simple"),
        "{junit}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(json["status"], "cancelled", "{json}");
    assert!(
        within(std::time::Duration::from_secs(3), || pids_with_arg(&marker).is_empty()),
        "the program outlived the cancelled run"
    );
}

#[test]
fn without_colours_program_control_sequences_are_stripped() {
    let p = project(&[]);
    std::fs::write(p.path().join("flows/shout.yaml"), "trigger: {system: shopify, event: orders/create, key: .name}\ntargets: [netsuite]\ncommand: [sh, -c, \"printf '\\\\033[31mred\\\\033[0m \\\\033]0;title\\\\007done\\\\n' >&2; exit 3\"]\n").unwrap();
    std::fs::write(p.path().join("scenarios/orders/shout.yaml"), "flow: shout\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\nexpect: {snapshots: []}\n").unwrap();
    let plain = harness(p.path(), &["run", "--color", "never", "orders/shout"]);
    assert_eq!(plain.code, 1, "{}{}", plain.stdout, plain.stderr);
    assert!(
        plain.stdout.contains("red done") && !plain.stdout.contains('\u{1b}') && !plain.stdout.contains('\u{7}'),
        "{:?}",
        plain.stdout
    );
    let coloured = harness(p.path(), &["run", "--color", "always", "orders/shout"]);
    assert!(coloured.stdout.contains("\u{1b}[31mred"), "{:?}", coloured.stdout);
}

#[test]
fn running_out_of_file_descriptors_is_an_environment_error() {
    let p = project(&["fixtures/faults"]);
    let orders: Vec<String> = (1..=80)
        .map(|i| format!("      - {{id: {i}, name: \"#{i}\", line_items: [{{sku: TEE-M-NAVY, quantity: 1}}]}}"))
        .collect();
    std::fs::write(
        p.path().join("scenarios/faults/crowd.yaml"),
        format!("flow: batch\nsystems: {{shopify: 2025-01, netsuite: \"2025.1\"}}\ndelivery: {{concurrency: 60, on_failure: dead-letter}}\ntrigger:\n  body:\n    orders:\n{}\nexpect: {{snapshots: []}}\n", orders.join("\n")),
    )
    .unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n 48 && exec {} run -j 1 --color never faults/crowd", env!("CARGO_BIN_EXE_harness")))
        .current_dir(p.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}{}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("Too many open files") && stderr.contains("ulimit -n"), "{stderr}");
}

/// NetSuite takes client assertions signed PS256 (or ES256) with the mapped certificate's key and
/// refuses the same key signing RS256; the programs sign at run time, as real middleware does.
#[test]
fn netsuite_takes_a_ps256_assertion_and_refuses_rs256() {
    let p = project(&["fixtures/jwt"]);
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", "scenarios/jwt"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("PASS  jwt/ps256") && out.stdout.contains("PASS  jwt/rs256"), "{}", out.stdout);
}

/// A scenario written into a copy of the bundled project, for checks of one behaviour.
fn bundled_with(scenario: &str, yaml: &str) -> tempfile::TempDir {
    let dir = bundled_project();
    let path = dir.path().join("scenarios").join(scenario);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, yaml).unwrap();
    dir
}

/// The availability flow written for 2026-01 (no `@idempotent`) at 2026-01 and at 2026-04, with
/// the same inline answers: 2026-01 takes the mutation, 2026-04 refuses it with Shopify's error.
#[test]
fn a_mutation_without_idempotent_is_taken_at_2026_01_and_refused_at_2026_04() {
    let scenario = |version: &str, expect: &str| {
        format!(
            r#"description: inventorySetQuantities without @idempotent at {version}
flow: peoplevox-availability-to-shopify
systems: {{shopify: {version}, peoplevox: v4}}
trigger:
  params: {{ItemCode: TEE-ORG-M-NAVY, Available: "42"}}
mocks:
  shopify:
    stubs:
      - match: {{method: POST, path: "/admin/api/{{version}}/graphql.json", graphql_operation: inventoryItemBySku}}
        respond: {{body: {{data: {{productVariants: {{nodes: [{{sku: TEE-ORG-M-NAVY, barcode: "5060123450017", inventoryItem: {{id: "gid://shopify/InventoryItem/49120045102"}}}}]}}}}}}}}
      - match: {{method: POST, path: "/admin/api/{{version}}/graphql.json", graphql_operation: inventorySetQuantities}}
        respond: {{body: {{data: {{inventorySetQuantities: {{inventoryAdjustmentGroup: {{reason: correction, changes: [{{name: available, delta: 12}}]}}, userErrors: []}}}}}}}}
expect:
  {expect}
  snapshots: []
"#
        )
    };
    let dir = bundled_with("idempotent/at-2026-01.yaml", &scenario("2026-01", "outcome: succeeded"));
    std::fs::write(
        dir.path().join("scenarios/idempotent/at-2026-04.yaml"),
        scenario(
            "2026-04",
            "outcome: failed\n  error: The @idempotent directive is required for this mutation but was not provided.",
        ),
    )
    .unwrap();
    let out = harness_on(BUNDLED_DAY, dir.path(), &["run", "--color", "never", "--no-times", "scenarios/idempotent"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("PASS  idempotent/at-2026-01") && out.stdout.contains("PASS  idempotent/at-2026-04"),
        "{}",
        out.stdout
    );
}

/// On a day 2026-01 is past its accessible-until date (2027-01-16), Shopify answers it with its
/// oldest supported version, 2026-07 in May 2027 — whose rules refuse the 2026-01 flow's mutation
/// — and the run says which version answered (X-Shopify-API-Version).
#[test]
fn a_version_past_accessible_until_is_answered_by_the_oldest_supported_one() {
    let dir = bundled_project();
    let scenario = "scenarios/peoplevox-availability-to-shopify/set-known-sku.yaml";
    let today = harness_on(BUNDLED_DAY, dir.path(), &["run", "--color", "never", "--no-times", scenario]);
    assert_eq!(today.code, 0, "{}{}", today.stdout, today.stderr);
    assert!(!today.stdout.contains("answered as"), "{}", today.stdout);
    let later = harness_on("2027-05-01", dir.path(), &["run", "--color", "never", "--no-times", scenario]);
    assert_eq!(later.code, 1, "{}{}", later.stdout, later.stderr);
    assert!(
        later.stdout.contains(
            "warning notice: shopify: requests for API version 2026-01 were answered as 2026-07 (X-Shopify-API-Version)"
        ),
        "{}",
        later.stdout
    );
    assert!(later.stdout.contains("The @idempotent directive is required"), "{}", later.stdout);
}

/// The fixed availability flow states the quantity it replaces; the shop's inventory holds
/// another, so Shopify answers CHANGE_FROM_QUANTITY_STALE and the record is dead-lettered.
#[test]
fn a_stale_change_from_quantity_is_refused_with_shopifys_user_error() {
    let dir = bundled_project();
    let out = harness_on(
        BUNDLED_DAY,
        dir.path(),
        &[
            "run",
            "--color",
            "never",
            "--no-times",
            "--json",
            "report.json",
            "scenarios/peoplevox-availability-to-shopify-cas",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    assert!(report.contains("CHANGE_FROM_QUANTITY_STALE"), "{report}");
}

/// Two lines with one SKU are saved as two Peoplevox rows of one SaveData: no duplicate.
#[test]
fn an_order_with_one_sku_on_two_lines_is_not_a_duplicate() {
    let dir = bundled_project();
    let out = harness_on(
        BUNDLED_DAY,
        dir.path(),
        &["run", "--color", "never", "--no-times", "scenarios/shopify-order-to-peoplevox/same-sku-two-lines.yaml"],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("duplicates"), "{}", out.stdout);
}

/// Custom field ids in NetSuite's default form (`custbody17`, `custcol28`) and the underscore
/// form, and a multi-select in the `{items: [{id}]}` shape, reach a record type named in lower
/// case (`salesorder`, as NetSuite's own links spell it): all taken, as NetSuite takes them.
#[test]
fn netsuite_takes_custom_fields_of_both_forms_and_lower_case_record_types() {
    let dir = bundled_with(
        "custom-fields/both-forms.yaml",
        r#"description: custom fields of both id forms and a multi-select, posted to salesorder
flow: custom-fields
systems: {shopify: 2026-01, netsuite: "2026.2"}
trigger:
  file: webhooks/orders-create/simple-order.json
expect:
  outcome: succeeded
  snapshots: []
  requests:
    - {system: netsuite, method: POST, path: /services/rest/record/v1/salesorder, count: 1}
"#,
    );
    std::fs::write(
        dir.path().join("flows/custom-fields.yaml"),
        r#"description: Shopify order → NetSuite sales order with custom fields of both id forms
trigger: {system: shopify, event: orders/create, key: .name}
targets: [netsuite]
steps:
  - name: create-sales-order
    call:
      system: netsuite
      method: POST
      path: /services/rest/record/v1/salesorder
      body:
        externalId: '"SHOPIFY-" + (.id | tostring)'
        entity: '{id: "4821"}'
        custbody17: .name
        custbody_channel: '"Shopify"'
        custbody_tags: '{items: [{id: "1"}, {id: "2"}]}'
        item:
          items:
            each: .line_items[]
            map:
              item: '{id: "5102"}'
              quantity: .quantity
              custcol28: .sku
              custcol_shopify_line_id: .id | tostring
"#,
    )
    .unwrap();
    let out =
        harness_on(BUNDLED_DAY, dir.path(), &["run", "--color", "never", "--no-times", "scenarios/custom-fields"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("target schema"), "{}", out.stdout);
}

/// A SuiteQL query no stub answers is answered by the mock's guess (no rows): the report says so
/// as a warning, and `strict_stubs: true` makes it a failure.
#[test]
fn an_answer_the_mock_guessed_is_reported_and_fails_with_strict_stubs() {
    let scenario = |strict: &str| {
        format!(
            r#"description: the customer lookup has no stub{strict}
flow: shopify-order-to-netsuite
systems: {{shopify: 2026-01, netsuite: "2026.2"}}
trigger:
  file: webhooks/orders-create/simple-order.json
expect:
  snapshots: []
"#
        )
    };
    let dir = bundled_with("guess/lenient.yaml", &scenario(""));
    std::fs::write(dir.path().join("scenarios/guess/strict.yaml"), scenario("\nstrict_stubs: true")).unwrap();
    let out = harness_on(BUNDLED_DAY, dir.path(), &["run", "--color", "never", "--no-times", "scenarios/guess"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("PASS  guess/lenient (warnings)") && out.stdout.contains("FAIL  guess/strict"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("warning answered by default: 1 request(s) answered by default"), "{}", out.stdout);
    assert!(
        out.stdout.contains("POST /services/rest/query/v1/suiteql → answered by default: SuiteQL, 0 rows"),
        "{}",
        out.stdout
    );
}
