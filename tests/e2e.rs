//! End-to-end tests: the real `harness` binary on fixture projects.
//!
//! `tests/fixtures/base` is a small passing project; other folders under `tests/fixtures` are
//! overlays copied on top of it. `tests/bad/<case>` is the bad-input corpus: each case is an overlay
//! plus `expected` (exit code and exact stderr). Set `HARNESS_BLESS=1` to rewrite the `expected`
//! files after an intended change to messages.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary project: the base fixture with `overlays` (folders under tests/) copied on top.
fn project(overlays: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("tests/fixtures/base"), dir.path());
    for o in overlays {
        copy_tree(&repo().join("tests").join(o), dir.path());
    }
    dir
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn harness(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("the harness binary runs");
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&dir.display().to_string(), "[project]");
    Output { code: out.status.code().unwrap_or(-1), stdout: clean(&out.stdout), stderr: clean(&out.stderr) }
}

/// JUnit with the run-dependent `time` attributes removed.
fn junit_without_times(path: &Path) -> String {
    let xml = std::fs::read_to_string(path).unwrap();
    let re = regex::Regex::new(r#" time="[0-9.]+""#).unwrap();
    re.replace_all(&xml, "").into_owned()
}

fn xmllint_validates(path: &Path) {
    let xsd = repo().join("tests/junit/junit-10.xsd");
    match Command::new("xmllint").args(["--noout", "--schema"]).arg(&xsd).arg(path).output() {
        Ok(out) => assert!(out.status.success(), "JUnit report does not validate:\n{}", String::from_utf8_lossy(&out.stderr)),
        // .ci/run installs xmllint; a developer machine without it still runs the rest.
        Err(_) => eprintln!("xmllint not installed: JUnit schema validation skipped"),
    }
}

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
    assert!(out.stdout.contains("netsuite body.item.items[].item would be empty: the mapping reads shopify `line_items[].sku`"), "{}", out.stdout);
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
                        snaps.push((e.path().strip_prefix(p.path()).unwrap().to_path_buf(), std::fs::read(e.path()).unwrap()));
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
    assert!(first.stdout.contains("new snapshot for netsuite@2025.1: snapshots/orders/simple.netsuite.snap"), "{}", first.stdout);
    let listed = harness(p.path(), &["review", "--list"]);
    assert_eq!(listed.stdout, "snapshots/orders/simple.netsuite.snap.new\nsnapshots/orders/unknown-sku.netsuite.snap.new\n");

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
    let left = Command::new("pgrep").args(["-f", "sleep 31.7"]).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
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
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
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
        let args: Vec<String> = std::fs::read_to_string(case.join("args")).map_or_else(|_| vec!["run".to_string()], |a| a.split_whitespace().map(str::to_string).collect());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = harness(p.path(), &args);
        assert!(!out.stderr.contains("panicked"), "{name} panicked:\n{}", out.stderr);
        let actual = format!("exit: {}\n---\n{}", out.code, out.stderr);
        let expected_path = case.join("expected");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            mismatches.push(format!("── {name}\n--- expected\n{expected}\n--- actual\n{actual}"));
        }
    }
    assert!(mismatches.is_empty(), "{} case(s) differ (HARNESS_BLESS=1 rewrites them):\n{}", mismatches.len(), mismatches.join("\n"));
}

/// A copy of the project's own flows, recordings, scenarios and snapshots.
fn bundled_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["flows", "mocks", "scenarios", "snapshots"] {
        std::fs::create_dir_all(dir.path().join(part)).unwrap();
        copy_tree(&repo().join(part), &dir.path().join(part));
    }
    std::fs::copy(repo().join("harness.yaml"), dir.path().join("harness.yaml")).unwrap();
    dir
}

/// The project's own scenarios (what the README's first command runs) pass as committed.
#[test]
fn bundled_scenarios_pass() {
    let dir = bundled_project();
    let out = harness(dir.path(), &["run", "--color", "never", "--junit", "junit.xml"]);
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
    let out = harness(dir.path(), &["impact", "--system", "shopify", "--from", "2022-04", "--to", "2023-04", "--json", "-", "--junit", "impact.xml"]);
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
    assert!(stable["scenarios"].as_array().unwrap().iter().all(|s| s["findings"].as_array().unwrap().is_empty()), "{stable}");
    assert_eq!(report["verdict"]["data_loss"], 15);
    let causes = report.to_string();
    for removed in ["`gateway` removed", "`payment_details` removed", "`processing_method` removed", "`total_price_usd` removed", "`shipping_lines[].delivery_category` removed"] {
        assert!(causes.contains(removed), "no cause names {removed}");
    }
    xmllint_validates(&dir.path().join("impact.xml"));

    let clean = harness(dir.path(), &["impact", "--system", "shopify", "--from", "2024-01", "--to", "2025-01", "--color", "never"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(clean.stdout.contains("result: clean"), "{}", clean.stdout);
}

/// A renamed source field breaks a built-in flow (traced by the mapping and by ablation) and
/// empties fields of an external program (traced by ablation alone); a field removed from a
/// target's schema breaks both. Markdown and JUnit renderings of the same report.
#[test]
fn impact_traces_causes_for_built_in_and_external_flows() {
    let p = project(&["fixtures/impact"]);
    assert_eq!(harness(p.path(), &["run", "--accept"]).code, 0);
    let source = harness(p.path(), &["impact", "--system", "shopify", "--from", "2025-01", "--to", "2026-01", "--color", "never", "-j", "2"]);
    assert_eq!(source.code, 1, "{}{}", source.stdout, source.stderr);
    insta::assert_snapshot!("impact_source_upgrade", source.stdout);
    let target = harness(p.path(), &["impact", "--system", "netsuite", "--from", "2025.1", "--to", "2026.1", "--markdown", "-", "-j", "2"]);
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
        let f = flow["fields"].as_array().unwrap().iter().find(|f| f["field"] == field).unwrap_or_else(|| panic!("{field} in {flow}"));
        f["sources"].as_array().unwrap().iter().map(|s| format!("{} {}", s[1].as_str().unwrap(), s[2].as_str().unwrap())).collect()
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
    let body = |n: usize| (1..=n).map(|i| format!("      - {{id: {i}, name: \"#{i}\", line_items: [{{sku: TEE-M-NAVY, quantity: {i}}}]}}\n")).collect::<String>();
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
    // Reviewed by a person, it can be accepted.
    assert_eq!(harness(p.path(), &["review", "--accept-all"]).code, 0);
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
        "flow: chatty\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\nexpect:\n  records: {\"#2001\": delivered}\n  snapshots: []\n",
    )
    .unwrap();
    let out = harness(p.path(), &["run", "scenarios/external/chatty.yaml", "--color", "never"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn an_interrupted_run_stops_the_programs_it_started() {
    let p = project(&["fixtures/external"]);
    std::fs::write(p.path().join("flows/linger.py"), "import subprocess, time\nsubprocess.Popen(['sleep', '32.9'])\ntime.sleep(30)\n").unwrap();
    std::fs::write(p.path().join("flows/linger.yaml"), "trigger: {system: shopify, event: orders/create, key: .name}\ntargets: [netsuite]\ncommand: [python3, flows/linger.py]\n").unwrap();
    std::fs::write(
        p.path().join("scenarios/external/linger.yaml"),
        "flow: linger\ntimeout: 20s\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\n",
    )
    .unwrap();
    let lingering = || Command::new("pgrep").args(["-f", "sleep 32.9"]).output().map(|o| !o.stdout.is_empty()).unwrap_or(false);
    let child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "external/linger"])
        .current_dir(p.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !lingering() {
        assert!(started.elapsed() < std::time::Duration::from_secs(15), "the program never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"), "{}", String::from_utf8_lossy(&out.stderr));
    let stopped = std::time::Instant::now();
    while lingering() {
        assert!(stopped.elapsed() < std::time::Duration::from_secs(2), "the program's own child outlived the interrupted run");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
