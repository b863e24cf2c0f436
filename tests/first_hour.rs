//! End-to-end: what a new user meets in the first hour, and the commands that report through the
//! reporters (`--json`, `--junit`) like `run` and the analyses do.

mod common;

use common::{BUNDLED_DAY, available, bundled_project, harness, harness_on, project};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// A folder that is no harness project and sits in no repository of ours.
fn empty_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

#[test]
fn init_takes_the_team_versions_and_its_examples_pass_at_them() {
    assert!(available("python3"), "python3 is needed for the example program");
    let repo = empty_repository();
    let init =
        harness_on(BUNDLED_DAY, repo.path(), &["init", "--language", "python", "--shopify", "2026-01", "--json", "-"]);
    assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);
    let report = json(&init.stdout);
    assert_eq!(report["versions"]["shopify"], "2026-01", "{report}");
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    assert!(report["approved"].as_u64().unwrap() > 0, "{report}");
    let settings = std::fs::read_to_string(repo.path().join("harness.yaml")).unwrap();
    assert!(settings.contains("shopify: \"2026-01\""), "{settings}");
    assert!(repo.path().join("mocks/shopify/2026-01/webhooks/orders-create.json").is_file());
    let added = harness_on(
        BUNDLED_DAY,
        repo.path(),
        &["versions", "add", "shopify", "2026-04", "--from", "2026-01", "--json", "-"],
    );
    assert_eq!(added.code, 0, "{}{}", added.stdout, added.stderr);
    let added = json(&added.stdout);
    assert_eq!((added["from"].as_str(), added["to"].as_str()), (Some("2026-01"), Some("2026-04")), "{added}");
    assert!(added["written"].as_array().unwrap().iter().any(|f| f == "webhooks/orders-create.json"), "{added}");

    // In a folder whose harness.yaml names its versions, the examples follow them.
    let other = empty_repository();
    std::fs::write(other.path().join("harness.yaml"), "systems:\n  shopify: \"2026-04\"\n  netsuite: \"2026.1\"\n")
        .unwrap();
    let init =
        harness_on(BUNDLED_DAY, other.path(), &["init", "--language", "python", "--systems", "shopify,netsuite"]);
    assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);
    assert!(init.stdout.contains("shopify 2026-04") && init.stdout.contains("first run passed"), "{}", init.stdout);
    assert_eq!(harness_on(BUNDLED_DAY, other.path(), &["run"]).code, 0);

    let bad = harness_on(BUNDLED_DAY, empty_repository().path(), &["init", "--shopify", "2019-01"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("shopify 2019-01 is not a version the harness has built in"), "{}", bad.stderr);
}

#[test]
fn accept_all_counts_the_snapshots_that_lose_data_and_wants_yes_without_a_terminal() {
    let p = project(&[]);
    let order = p.path().join("mocks/shopify/2025-01/webhooks/order.json");
    let text = std::fs::read_to_string(&order).unwrap().replace("\"note\": \"Gift wrap, please\",", "\"note\": null,");
    std::fs::write(&order, text).unwrap();
    assert_eq!(harness(p.path(), &["run"]).code, 1);
    let approved = p.path().join("snapshots/orders/simple.netsuite.snap");
    let before = std::fs::read(&approved).unwrap();

    let refused = harness(p.path(), &["review", "--accept-all"]);
    assert_eq!(refused.code, 2, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("1 of the 1 pending snapshot(s) lose data") && refused.stderr.contains("--yes"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read(&approved).unwrap(), before, "nothing approved");

    let approved_now = harness(p.path(), &["review", "--accept-all", "--yes", "--color", "never"]);
    assert_eq!(approved_now.code, 0, "{}{}", approved_now.stdout, approved_now.stderr);
    assert!(
        approved_now.stdout.contains("approving 1 of the 1 pending snapshot(s) lose data"),
        "{}",
        approved_now.stdout
    );
    assert_ne!(std::fs::read(&approved).unwrap(), before);
    assert_eq!(harness(p.path(), &["run"]).code, 0);
}

#[test]
fn a_soap_stub_may_leave_the_path_out() {
    let p = bundled_project();
    let stubs = p.path().join("mocks/peoplevox/v4/stubs/despatch-1001.yaml");
    let text = std::fs::read_to_string(&stubs).unwrap();
    assert!(text.contains("path: /acme/resources/integrationservicev4.asmx\n"));
    std::fs::write(&stubs, text.replace("      path: /acme/resources/integrationservicev4.asmx\n", "")).unwrap();
    let out = harness_on(
        BUNDLED_DAY,
        p.path(),
        &["run", "peoplevox-despatch-to-shopify/one-line-full-despatch", "--color", "never"],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn coverage_json_without_a_file_prints_everything() {
    let p = project(&[]);
    let out = harness(p.path(), &["coverage", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = json(&out.stdout);
    assert!(report.is_object(), "{report}");
}

#[test]
fn lint_reports_through_json_and_junit() {
    let p = project(&[]);
    // A token of Shopify's shape, planted by the test (built here, so no credential-shaped text is committed).
    let planted = format!("shpat_{}", "5eed".repeat(8));
    std::fs::write(
        p.path().join("mocks/shopify/2025-01/leaked.json"),
        format!("{{\"email\": \"someone@example.org\", \"token\": \"{planted}\"}}\n"),
    )
    .unwrap();
    let out = harness(p.path(), &["lint", "--json", "-", "--junit", "lint.xml"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let report = json(&out.stdout);
    assert_eq!(report["passed"], false);
    let leaks = report["leaks"].as_array().unwrap();
    assert!(
        !leaks.is_empty() && leaks.iter().all(|l| l["file"] == "mocks/shopify/2025-01/leaked.json" && l["line"] == 1),
        "{report}"
    );
    assert!(!out.stdout.contains(&planted), "the credential is not repeated");
    let junit = std::fs::read_to_string(p.path().join("lint.xml")).unwrap();
    assert!(junit.contains("<testsuite name=\"lint\"") && junit.contains("<failure"), "{junit}");

    std::fs::remove_file(p.path().join("mocks/shopify/2025-01/leaked.json")).unwrap();
    let clean = harness(p.path(), &["lint", "--junit", "lint.xml"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(
        clean.stdout.contains("lint: no credentials or personal data"),
        "the terminal report stays: {}",
        clean.stdout
    );
    assert!(!std::fs::read_to_string(p.path().join("lint.xml")).unwrap().contains("<failure"));
}

#[test]
fn recordings_and_import_report_json() {
    let p = project(&[]);
    let listed = harness(p.path(), &["recordings", "--json", "-"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let report = json(&listed.stdout);
    let recordings = report["recordings"].as_array().unwrap();
    assert_eq!(report["total"].as_u64().unwrap() as usize, recordings.len());
    assert!(
        recordings.iter().any(|r| r["file"] == "mocks/shopify/2025-01/webhooks/order.json" && r["system"] == "shopify"),
        "{report}"
    );

    std::fs::write(
        p.path().join("payload.json"),
        "{\"id\": 820982911946154508, \"email\": \"jon@example.com\", \"line_items\": []}\n",
    )
    .unwrap();
    let imported = harness(
        p.path(),
        &["import", "payload.json", "--system", "shopify", "--version", "2025-01", "--json", "imported.json"],
    );
    let report = json(&std::fs::read_to_string(p.path().join("imported.json")).unwrap());
    assert_eq!(
        report["written"].as_u64().unwrap() + report["refused"].as_u64().unwrap(),
        1,
        "{report}\n{}{}",
        imported.stdout,
        imported.stderr
    );
    assert!(imported.stdout.contains("imported"), "the terminal report stays: {}", imported.stdout);
}
