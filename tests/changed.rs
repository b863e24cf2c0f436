//! Changed-only runs: `--changed-since REF` keeps the scenarios whose inputs changed since a git
//! ref, as the plan knows them, and says what changed and why each scenario was chosen.

mod common;

use std::path::Path;
use std::process::Command;

use common::{harness, project};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=Harness Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn append(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    let mut content = std::fs::read_to_string(&path).unwrap();
    content.push_str(text);
    std::fs::write(path, content).unwrap();
}

/// The ids `list --changed-since HEAD` prints, and what it says on standard error.
fn changed(dir: &Path) -> (Vec<String>, String) {
    let out = harness(dir, &["list", "--changed-since", "HEAD"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    (out.stdout.lines().map(|l| l.split_whitespace().next().unwrap().to_string()).collect(), out.stderr)
}

#[test]
fn only_scenarios_whose_inputs_changed_run_and_each_says_why() {
    let p = project(&["fixtures/many"]);
    let dir = p.path();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "scenarios"]);
    let (none, said) = changed(dir);
    assert!(none.is_empty() && said.contains("changed since HEAD: 0 file(s)"), "{none:?} {said}");

    append(dir, "scenarios/many/case-03.yaml", "# reworded\n");
    let (ids, said) = changed(dir);
    assert_eq!(ids, ["many/case-03"]);
    assert!(said.contains("many/case-03: its scenario file scenarios/many/case-03.yaml changed"), "{said}");
    git(dir, &["commit", "-q", "-am", "case 3"]);

    append(dir, "mocks/shopify/2025-01/webhooks/order-unknown-sku.json", "\n");
    let (ids, said) = changed(dir);
    assert_eq!(ids, ["orders/unknown-sku"], "{said}");
    assert!(
        said.contains("it reads the recording mocks/shopify/2025-01/webhooks/order-unknown-sku.json, which changed"),
        "{said}"
    );
    git(dir, &["commit", "-q", "-am", "recording"]);

    // A new file counts too; harness.yaml is read by every scenario.
    std::fs::write(dir.join("notes.txt"), "not an input\n").unwrap();
    assert!(changed(dir).0.is_empty(), "a file no scenario reads chooses none");
    append(dir, "harness.yaml", "# touched\n");
    let (ids, said) = changed(dir);
    assert_eq!(ids.len(), harness(dir, &["list"]).stdout.lines().count());
    assert!(said.contains("harness.yaml changed (every scenario uses it)"), "{said}");

    let bad = harness(dir, &["list", "--changed-since", "no-such-ref"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--changed-since no-such-ref"), "{}", bad.stderr);
}
