//! End-to-end tests of projects and programs that try to make the harness show a secret, stop
//! the run, or write outside the project: the real binary on fixture projects.

mod common;

use std::path::Path;

use common::{harness, project};

/// A secret of the test's own, in a file outside the project, never a real one.
const PLANTED: &str = "PLANTED-SECRET-7f3a9c";

/// A folder outside the project holding a malformed file (YAML and JSON parsers would show an
/// excerpt of it) that carries the planted secret.
fn outside_secret() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("environ");
    std::fs::write(&file, format!("GITHUB_TOKEN={PLANTED}\0AWS_SECRET_ACCESS_KEY={PLANTED}: [\n")).unwrap();
    (dir, file)
}

fn link(target: &Path, at: &Path) {
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink(target, at).unwrap();
}

#[test]
fn project_files_linked_outside_are_refused_without_showing_them() {
    let (_outside, secret) = outside_secret();
    for file in [
        "harness.yaml",
        "flows/orders.yaml",
        "scenarios/orders/simple.yaml",
        "snapshots/orders/simple.netsuite.snap",
        "mocks/shopify/2025-01/webhooks/order.json",
    ] {
        let p = project(&[]);
        link(&secret, &p.path().join(file));
        for args in [&["run", "--color", "never"][..], &["list"], &["lint"]] {
            let out = harness(p.path(), args);
            let shown = format!("{}{}", out.stdout, out.stderr);
            assert!(!shown.contains(PLANTED), "{file}, {args:?}: the secret was shown:\n{shown}");
            if args[0] == "run" {
                assert_eq!(out.code, 2, "{file}: {shown}");
                assert!(out.stderr.contains("leads outside the project"), "{file}: {shown}");
            }
        }
    }
}

#[test]
fn snapshots_are_never_written_through_a_folder_linked_outside() {
    let outside = tempfile::tempdir().unwrap();
    let p = project(&["fixtures/failing"]);
    let snaps = p.path().join("snapshots/orders");
    common::copy_tree(&snaps, outside.path());
    std::fs::remove_dir_all(&snaps).unwrap();
    link(outside.path(), &snaps);
    let before = std::fs::read_dir(outside.path())
        .unwrap()
        .flatten()
        .map(|e| (e.file_name(), std::fs::read(e.path()).unwrap()))
        .collect::<std::collections::BTreeMap<_, _>>();
    for args in [&["run", "--color", "never"][..], &["run", "--accept", "--color", "never"]] {
        let out = harness(p.path(), args);
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("`snapshots/orders/simple.netsuite.snap` leads outside the project"),
            "{}",
            out.stderr
        );
    }
    let after = std::fs::read_dir(outside.path())
        .unwrap()
        .flatten()
        .map(|e| (e.file_name(), std::fs::read(e.path()).unwrap()))
        .collect::<std::collections::BTreeMap<_, _>>();
    assert_eq!(before, after, "nothing is written outside the project");
}

#[test]
fn byte_order_marks_are_read_and_control_characters_never_echoed() {
    let p = project(&[]);
    for file in [
        "harness.yaml",
        "flows/orders.yaml",
        "scenarios/orders/simple.yaml",
        "mocks/shopify/2025-01/webhooks/order.json",
        "snapshots/orders/simple.netsuite.snap",
    ] {
        let path = p.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("\u{feff}{text}")).unwrap();
    }
    let out = harness(p.path(), &["run", "--color", "never"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    let scenario = p.path().join("scenarios/orders/simple.yaml");
    std::fs::write(&scenario, "flow: orders\ntrigger: {file: \"\u{1b}]0;owned\u{7}\u{1b}[2J\"}\nbogus: [\n").unwrap();
    let out = harness(p.path(), &["run", "--color", "never"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains('\u{1b}') && !out.stderr.contains('\u{7}'), "{:?}", out.stderr);
}

#[test]
fn a_secret_in_a_description_reaches_no_report() {
    let p = project(&[]);
    let scenario = p.path().join("scenarios/orders/simple.yaml");
    let text = std::fs::read_to_string(&scenario).unwrap();
    std::fs::write(
        &scenario,
        text.replace("description: Two lines for customer 77", &format!("description: Two lines, key {PLANTED}")),
    )
    .unwrap();
    let out = common::harness_with(
        p.path(),
        &["run", "--color", "never", "--junit", "junit.xml", "--json", "report.json"],
        &[("CI_DEPLOY_TOKEN", PLANTED)],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for report in ["junit.xml", "report.json"] {
        let written = std::fs::read_to_string(p.path().join(report)).unwrap();
        assert!(written.contains("Two lines, key [redacted]") && !written.contains(PLANTED), "{report}:\n{written}");
    }
}
