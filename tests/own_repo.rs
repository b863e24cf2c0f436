//! End-to-end: the harness used on a project of its own, outside this repository — `init`, bare
//! recordings, `versions add`, impact analysis that stays quiet when nothing changed, and a target
//! that received nothing.

mod common;

use common::{BUNDLED_DAY, available, harness, harness_on, harness_with, project};

/// A folder that is no harness project and sits in no repository of ours.
fn empty_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

#[test]
fn init_writes_a_project_whose_first_run_passes_and_never_overwrites() {
    assert!(available("python3"), "python3 is needed for the example program");
    let repo = empty_repository();
    let init = harness_on(BUNDLED_DAY, repo.path(), &["init", "--language", "python"]);
    assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);
    assert!(init.stdout.contains("first run passed"), "{}", init.stdout);
    for file in [
        "harness.yaml",
        "flows/order-to-netsuite.yaml",
        "flows/order_to_netsuite.py",
        "flows/order-to-peoplevox.yaml",
        ".github/workflows/harness.yml",
        ".gitlab-ci.yml",
    ] {
        assert!(repo.path().join(file).is_file(), "{file} written");
    }
    let workflow = std::fs::read_to_string(repo.path().join(".github/workflows/harness.yml")).unwrap();
    assert!(workflow.contains("harness run --root . --partition ${{ matrix.share }}/2"), "{workflow}");
    let run = harness_on(BUNDLED_DAY, repo.path(), &["run", "--color", "never"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("2 passed"), "{}", run.stdout);

    // A second init changes nothing and says so.
    std::fs::write(repo.path().join("flows/order_to_netsuite.py.mine"), "").unwrap();
    let before = std::fs::read(repo.path().join("harness.yaml")).unwrap();
    let again = harness_on(BUNDLED_DAY, repo.path(), &["init"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(!again.stdout.contains("wrote"), "{}", again.stdout);
    assert!(again.stdout.contains("left alone") && again.stdout.contains("harness.yaml"), "{}", again.stdout);
    assert_eq!(std::fs::read(repo.path().join("harness.yaml")).unwrap(), before);
}

#[test]
fn init_in_a_subfolder_puts_ci_at_the_repository_root_and_honours_systems_and_language() {
    let repo = empty_repository();
    let sub = repo.path().join("integration-tests");
    let language = if available("node") { "node" } else { "python" };
    let init = harness_on(
        BUNDLED_DAY,
        repo.path(),
        &["init", "integration-tests", "--systems", "shopify,netsuite", "--language", language],
    );
    assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);
    assert!(!sub.join("flows/order-to-peoplevox.yaml").exists(), "peoplevox was not asked for");
    assert!(sub.join("flows/order-to-netsuite-steps.yaml").is_file());
    let gitlab = std::fs::read_to_string(repo.path().join(".gitlab-ci.yml")).unwrap();
    assert!(
        gitlab.contains("--root integration-tests") && gitlab.contains("integration-tests/snapshots/**/*.snap.new"),
        "{gitlab}"
    );
    assert_eq!(harness_on(BUNDLED_DAY, &sub, &["run"]).code, 0);
    let bad = harness_on(BUNDLED_DAY, repo.path(), &["init", "x", "--systems", "shopify,klaviyo"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("`klaviyo` is not a built-in system"), "{}", bad.stderr);
}

#[test]
fn a_bare_webhook_body_is_a_recording() {
    let p = project(&[]);
    let envelope: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.path().join("mocks/shopify/2025-01/webhooks/order.json")).unwrap(),
    )
    .unwrap();
    // As Shopify sent it: the body alone, its own formatting.
    let bare = serde_json::to_string_pretty(&envelope["body"]).unwrap();
    std::fs::write(p.path().join("mocks/shopify/2025-01/webhooks/bare.json"), &bare).unwrap();
    let scenario = std::fs::read_to_string(p.path().join("scenarios/orders/simple.yaml"))
        .unwrap()
        .replace("webhooks/order.json", "webhooks/bare.json");
    std::fs::write(p.path().join("scenarios/orders/bare.yaml"), scenario).unwrap();
    std::fs::copy(
        p.path().join("snapshots/orders/simple.netsuite.snap"),
        p.path().join("snapshots/orders/bare.netsuite.snap"),
    )
    .unwrap();
    // What reached NetSuite is exactly what the envelope's body gave: the same snapshot passes.
    let run = harness(p.path(), &["run", "orders/bare", "orders/simple", "--color", "never"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("2 passed"), "{}", run.stdout);
}

#[test]
fn versions_add_then_impact_is_clean_and_a_real_removal_is_still_found() {
    let p = project(&[]);
    let added = harness(p.path(), &["versions", "add", "shopify", "2026-01", "--from", "2025-01"]);
    assert_eq!(added.code, 0, "{}{}", added.stdout, added.stderr);
    assert!(
        added.stdout.contains("next: harness impact --system shopify --from 2025-01 --to 2026-01"),
        "{}",
        added.stdout
    );
    let recorded =
        |v: &str| std::fs::read_to_string(p.path().join(format!("mocks/shopify/{v}/webhooks/order.json"))).unwrap();
    let (old, new): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(&recorded("2025-01")).unwrap(), serde_json::from_str(&recorded("2026-01")).unwrap());
    assert_eq!(new["body"], old["body"], "nothing known changed: the body is copied");
    assert_eq!(new["recording"]["version"], "2026-01", "its envelope names the new version");
    let provenance = new["recording"]["provenance"].as_str().unwrap_or_default();
    assert!(
        provenance.contains("carried over by `harness versions add` from 2025-01"),
        "a copy says it is one, so impact does not take it for a recording: {provenance}"
    );

    let clean = harness(
        p.path(),
        &["impact", "--system", "shopify", "--from", "2025-01", "--to", "2026-01", "--color", "never"],
    );
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(clean.stdout.contains("orders — clean"), "{}", clean.stdout);

    // The new version stops sending the note the flow maps to the memo, in every order webhook.
    for entry in std::fs::read_dir(p.path().join("mocks/shopify/2026-01/webhooks")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"note\": \"Gift wrap, please\",", "")).unwrap();
    }
    let found = harness(
        p.path(),
        &["impact", "--system", "shopify", "--from", "2025-01", "--to", "2026-01", "--color", "never"],
    );
    assert_eq!(found.code, 1, "{}{}", found.stdout, found.stderr);
    assert!(found.stdout.contains("`note`") && found.stdout.contains("memo"), "{}", found.stdout);
}

#[test]
fn versions_add_applies_the_changes_the_catalog_documents() {
    let p = project(&[]);
    // A version the harness does not know, with a documented change: the project says what it is.
    std::fs::create_dir_all(p.path().join("mocks/shopify/2027-04")).unwrap();
    std::fs::write(
        p.path().join("mocks/shopify/2027-04/system.yaml"),
        "system: shopify\nversion: \"2027-04\"\nchanges:\n  - {scope: \"webhook orders/*\", removed: note, instead: note_attributes}\n",
    )
    .unwrap();
    let added = harness(p.path(), &["versions", "add", "shopify", "2027-04", "--from", "2025-01"]);
    assert_eq!(added.code, 0, "{}{}", added.stdout, added.stderr);
    assert!(
        added.stdout.contains("webhooks/order.json")
            && added.stdout.contains("`note` removed in 2027-04; use `note_attributes`"),
        "{}",
        added.stdout
    );
    let old = std::fs::read_to_string(p.path().join("mocks/shopify/2025-01/webhooks/order.json")).unwrap();
    let new = std::fs::read_to_string(p.path().join("mocks/shopify/2027-04/webhooks/order.json")).unwrap();
    // Edited in place: the note's line is gone, the envelope names the new version, nothing else moved.
    let removed: Vec<&str> =
        old.lines().filter(|l| !new.lines().any(|n| n == *l) && !l.contains("\"recording\"")).collect();
    assert!(new.contains("\"version\": \"2027-04\""), "{new}");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(removed[0].contains("\"note\""), "{removed:?}");
    // The project's own system file for the version is kept, not replaced.
    assert!(
        std::fs::read_to_string(p.path().join("mocks/shopify/2027-04/system.yaml"))
            .unwrap()
            .contains("note_attributes")
    );
    let impact = harness(
        p.path(),
        &["impact", "--system", "shopify", "--from", "2025-01", "--to", "2027-04", "--color", "never"],
    );
    assert_eq!(impact.code, 1, "{}{}", impact.stdout, impact.stderr);
    assert!(impact.stdout.contains("use `note_attributes` instead"), "{}", impact.stdout);
}

#[test]
fn a_declared_target_that_received_nothing_fails_and_is_never_approved_empty() {
    let p = project(&[]);
    // A program that says it delivered but sent nothing.
    std::fs::write(
        p.path().join("flows/liar.py"),
        "import json\nprint(json.dumps({'record': '#2001', 'outcome': 'delivered'}))\n",
    )
    .unwrap();
    std::fs::write(p.path().join("flows/liar.yaml"), "trigger: {system: shopify, event: orders/create, key: .name}\ntargets: [netsuite]\ncommand: [python3, flows/liar.py]\n").unwrap();
    std::fs::create_dir_all(p.path().join("scenarios/liar")).unwrap();
    let scenario = "flow: liar\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\nexpect:\n  records: {\"#2001\": delivered}\n";
    std::fs::write(p.path().join("scenarios/liar/says-delivered.yaml"), scenario).unwrap();
    let run = harness(p.path(), &["run", "liar", "--accept", "--color", "never"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("netsuite received nothing"), "{}", run.stdout);
    assert!(!p.path().join("snapshots/liar").exists(), "no empty snapshot approved");
    // Said to be expected, it passes — with no snapshot to approve.
    let expected =
        scenario.replace("expect:\n", "expect:\n  requests: [{system: netsuite, path: \"~.*\", count: 0}]\n");
    std::fs::write(p.path().join("scenarios/liar/says-delivered.yaml"), expected).unwrap();
    let run = harness_with(p.path(), &["run", "liar", "--color", "never"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}
