//! Peoplevox exports with the real system's column names: the bundled despatch flow reads
//! `PackageTrackingNumber`, `QuantityOrdered`; a flow reading a column the template does not have
//! is told so by name at the step that reads it.

mod common;

use common::{BUNDLED_DAY, bundled_project, harness_on};

const SCENARIO: &str = "scenarios/peoplevox-despatch-to-shopify/one-line-full-despatch.yaml";

#[test]
fn the_despatch_flow_reads_the_real_column_names() {
    let p = bundled_project();
    let out = harness_on(BUNDLED_DAY, p.path(), &["run", "--color", "never", "--no-times", SCENARIO]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn a_column_the_template_does_not_have_is_named_at_the_step_that_reads_it() {
    let p = bundled_project();
    let flow = p.path().join("flows/peoplevox-despatch-to-shopify.yaml");
    let text = std::fs::read_to_string(&flow).unwrap();
    // The column names the bundled fixtures had before: no real export has them.
    let old = text.replace(
        "select(.PackageTrackingNumber == $record.TrackingNumber)",
        "select(.TrackingNumber == $record.TrackingNumber)",
    );
    assert_ne!(old, text);
    std::fs::write(&flow, old).unwrap();
    let out = harness_on(BUNDLED_DAY, p.path(), &["run", "--color", "never", "--no-times", SCENARIO]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("step get-despatch: bind `despatched` reads column `TrackingNumber`, which the peoplevox template `Despatches` does not have; did you mean `PackageTrackingNumber`?"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("no despatch line"), "not the misleading message of what follows: {}", out.stdout);
}
