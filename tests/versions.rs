//! A scenario run at several versions compares them: the bundled order flow copies Shopify's
//! `checkout_id`, which 2026-04 no longer sends, so at `[2026-01, 2026-04]` the 2026-04 case fails
//! as silent data loss and `--accept` approves only the 2026-01 snapshot — without `impact`.

mod common;

use common::{BUNDLED_DAY, bundled_project, harness_on};

#[test]
fn a_field_the_later_version_empties_fails_and_is_never_accepted() {
    let dir = bundled_project();
    let simple =
        std::fs::read_to_string(dir.path().join("scenarios/shopify-order-to-netsuite/simple-order.yaml")).unwrap();
    let both = simple.replace("  shopify: 2026-01\n", "  shopify: [2026-01, 2026-04]\n");
    assert_ne!(both, simple);
    std::fs::write(dir.path().join("scenarios/shopify-order-to-netsuite/upgrade.yaml"), both).unwrap();

    let out = harness_on(
        BUNDLED_DAY,
        dir.path(),
        &["run", "--accept", "--color", "never", "--no-times", "shopify-order-to-netsuite/upgrade"],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let said = "1 field(s) sent to netsuite at shopify 2026-01 are empty or missing at shopify 2026-04";
    assert!(out.stdout.contains(said), "{}", out.stdout);
    assert!(out.stdout.contains("body.custbody_shopify_checkout_id: "), "the field is named: {}", out.stdout);
    assert!(out.stdout.contains("fed by shopify `checkout_id`"), "and what feeds it: {}", out.stdout);

    let snapshots = dir.path().join("snapshots/shopify-order-to-netsuite");
    assert!(
        snapshots.join("upgrade@shopify-2026-01.netsuite.snap").is_file(),
        "the earlier version passes and is accepted"
    );
    assert!(!snapshots.join("upgrade@shopify-2026-04.netsuite.snap").exists(), "--accept never approves the loss");
    assert!(snapshots.join("upgrade@shopify-2026-04.netsuite.snap.new").is_file(), "it is pending, for review");

    // Approved by hand, the loss still fails: the versions are compared with each other.
    std::fs::rename(
        snapshots.join("upgrade@shopify-2026-04.netsuite.snap.new"),
        snapshots.join("upgrade@shopify-2026-04.netsuite.snap"),
    )
    .unwrap();
    let again = harness_on(
        BUNDLED_DAY,
        dir.path(),
        &["run", "--color", "never", "--no-times", "shopify-order-to-netsuite/upgrade"],
    );
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains(said), "{}", again.stdout);
}
