//! End-to-end: what the catalog knows of Shopify's versions — legacy changes carried by
//! `versions add`, REST-envelope recordings read as their payload, recordings checked against the
//! version they are filed at, and impact refusing to call clean what nothing tells.

mod common;

use std::path::Path;

use common::{BUNDLED_DAY, bundled_project, copy_tree, harness_on, impact, impact_findings, repo};
use serde_json::Value;

/// Every finding of an impact JSON report as `flow severity field: causes`, sorted.
fn findings(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = impact_findings(report)
        .into_iter()
        .map(|(flow, x)| {
            format!("{flow} {} {}: {}", x["severity"].as_str().unwrap(), x["field"].as_str().unwrap(), x["causes"])
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `versions add shopify 2025-07 --from 2022-04`, then the impact of that move, as JSON.
fn carried_impact(dir: &Path) -> (i32, Value) {
    let add = harness_on(BUNDLED_DAY, dir, &["versions", "add", "shopify", "2025-07", "--from", "2022-04"]);
    assert_eq!(add.code, 0, "{}{}", add.stdout, add.stderr);
    assert!(add.stdout.contains("`gateway` removed in 2022-10"), "{}", add.stdout);
    let out = impact(dir, "shopify", "2022-04", "2025-07", &["--json", "-"]);
    (out.code, serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr)))
}

/// The legacy REST changes the catalog holds (2022-10 dropped `gateway` and the other payment
/// fields from orders) reach the copies `versions add` makes, so impact names the lost fields.
#[test]
fn versions_add_from_2022_04_then_impact_names_gateway() {
    let dir = bundled_project();
    let (code, report) = carried_impact(dir.path());
    assert_eq!(code, 1, "{report}");
    let found = findings(&report);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("shopify-order-payments-to-netsuite data-loss body.custbody_payment_gateway")
                && f.contains("`gateway` removed in 2022-10")),
        "{found:#?}"
    );
    for field in ["custbody_card_brand", "custbody_processing_method", "custbody_total_usd"] {
        assert!(found.iter().any(|f| f.contains(&format!("data-loss body.{field}"))), "{field}: {found:#?}");
    }
    let carried =
        std::fs::read_to_string(dir.path().join("mocks/shopify/2025-07/webhooks/orders-create/simple-order.json"))
            .unwrap();
    assert!(!carried.contains("\"gateway\""), "the copy lost the field");
    assert!(
        carried.contains("carried over by `harness versions add` from 2022-04"),
        "the copy says it was not recorded at 2025-07"
    );
}

/// A trigger recorded as Shopify's REST answer (`{"order": {…}}`) is the same order as the bare
/// webhook body: the same migration and the same findings.
#[test]
fn a_rest_envelope_trigger_gives_the_same_findings_as_the_bare_payload() {
    let bare = bundled_project();
    let (bare_code, bare_report) = carried_impact(bare.path());
    let wrapped = bundled_project();
    let folder = wrapped.path().join("mocks/shopify/2022-04/webhooks/orders-create");
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let mut recording: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let body = recording["body"].take();
        recording["body"] = serde_json::json!({ "order": body });
        std::fs::write(&path, serde_json::to_string_pretty(&recording).unwrap()).unwrap();
    }
    let (wrapped_code, wrapped_report) = carried_impact(wrapped.path());
    assert_eq!(bare_code, wrapped_code);
    assert_eq!(findings(&bare_report), findings(&wrapped_report));
    assert!(
        !findings(&wrapped_report).iter().any(|f| f.contains("not traced")),
        "causes are traced through the envelope"
    );
}

/// Shopify's own 2026-01 order example filed at 2026-04 still carries `checkout_id`: lint and run
/// name the field, the topic and the version.
#[test]
fn a_2026_04_recording_with_checkout_id_is_flagged() {
    let dir = bundled_project();
    copy_tree(&repo().join("tests/fixtures/shopify-schemas"), dir.path());
    let said = "mocks/shopify/2026-04/webhooks/orders-create/shopify-example-2026-01.json: `checkout_id` is not sent by orders/create at 2026-04 (last sent at 2026-01";
    let lint = harness_on(BUNDLED_DAY, dir.path(), &["lint"]);
    assert_eq!(lint.code, 1, "{}{}", lint.stdout, lint.stderr);
    assert!(lint.stdout.contains(said), "{}", lint.stdout);
    assert_eq!(lint.stdout.matches("is not sent by").count(), 1, "only the misfiled example: {}", lint.stdout);
    let run = harness_on(
        BUNDLED_DAY,
        dir.path(),
        &["run", "--color", "never", "scenarios/shopify-order-to-netsuite/shopify-example-at-2026-04.yaml"],
    );
    assert!(run.stdout.contains(said), "{}{}", run.stdout, run.stderr);
}

/// With nothing telling how the REST endpoints changed between 2025-01 and 2025-07 (no recording
/// at 2025-07, no vendor schema of them), impact does not say clean; `--allow-unverified` makes it
/// a warning. The webhooks the vendor's schemas describe at both versions are verified.
#[test]
fn impact_without_knowledge_is_not_clean() {
    let dir = bundled_project();
    let out = impact(dir.path(), "shopify", "2025-01", "2025-07", &["--color", "never"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "not verified: no knowledge of changes to GET /admin/api/{version}/orders.json between 2025-01 and 2025-07"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("not verified: no knowledge of changes to GET /admin/api/{version}/orders/{id}/fulfillment_orders.json between 2025-01 and 2025-07"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("changes to webhook"),
        "orders/create and refunds/create are in the vendor's schemas: {}",
        out.stdout
    );
    assert!(out.stdout.contains("result: NOT VERIFIED"), "{}", out.stdout);
    let allowed =
        impact(dir.path(), "shopify", "2025-01", "2025-07", &["--color", "never", "--allow-unverified", "--json", "-"]);
    assert_eq!(allowed.code, 0, "{}{}", allowed.stdout, allowed.stderr);
    let report: Value = serde_json::from_str(&allowed.stdout).unwrap();
    assert_eq!(report["verdict"]["clean"], true);
    assert!(report["verdict"]["unverified"].as_u64().unwrap() > 0);
}

/// A GraphQL document whose fragment comes before its mutation is read as that mutation: the
/// mocks match it by operation, and at 2026-04 Shopify refuses `inventorySetQuantities` without
/// `@idempotent`, which impact names.
#[test]
fn a_fragment_first_inventory_mutation_without_idempotent_is_refused_at_2026_04() {
    let dir = bundled_project();
    // Only the flow that sets inventory, with no approved snapshot: the baseline run is the reference.
    for entry in std::fs::read_dir(dir.path().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if !path.ends_with("peoplevox-availability-to-shopify") {
            std::fs::remove_dir_all(path).unwrap();
        }
    }
    std::fs::remove_dir_all(dir.path().join("snapshots")).unwrap();
    let flow = dir.path().join("flows/peoplevox-availability-to-shopify.yaml");
    let text = std::fs::read_to_string(&flow).unwrap();
    let operation_first = "'mutation inventorySetQuantities($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { inventoryAdjustmentGroup { reason changes { name delta } } userErrors { code field message } } }'";
    let fragment_first = "'fragment Changes on InventoryAdjustmentGroup { reason changes { name delta } } mutation inventorySetQuantities($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { inventoryAdjustmentGroup { ...Changes } userErrors { code field message } } }'";
    assert!(text.contains(operation_first), "the bundled flow's mutation changed: update this test");
    std::fs::write(&flow, text.replace(operation_first, fragment_first)).unwrap();

    let run = harness_on(
        BUNDLED_DAY,
        dir.path(),
        &["run", "scenarios/peoplevox-availability-to-shopify/set-known-sku.yaml", "--accept"],
    );
    assert_eq!(run.code, 0, "the stubs match the mutation by its operation at 2026-01: {}{}", run.stdout, run.stderr);
    let out = impact(dir.path(), "shopify", "2026-01", "2026-04", &["--allow-unverified", "--json", "-"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = findings(&report);
    assert!(
        found.iter().any(|f| f.starts_with("peoplevox-availability-to-shopify breaking")
            && f.contains(
                "inventorySetQuantities: `@idempotent` newly required in 2026-04; the version refuses the request"
            )),
        "{found:#?}"
    );
}

/// A bare recording (no envelope, so no provenance of its own) that `versions add` copied is named
/// in the new version's `carried-over.txt` and is no knowledge of that version; once its bytes
/// change (recorded again), it is.
#[test]
fn bare_recordings_carried_by_versions_add_are_not_knowledge_of_the_new_version() {
    let dir = bundled_project();
    // What the despatch flow reads of Shopify's REST API, as bare bodies.
    let orders = dir.path().join("mocks/shopify/2025-01/rest/despatch");
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(&orders).unwrap() {
        let path = entry.unwrap().path();
        let envelope: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&envelope["body"]).unwrap()).unwrap();
        pages.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    let add = harness_on(BUNDLED_DAY, dir.path(), &["versions", "add", "shopify", "2025-07", "--from", "2025-01"]);
    assert_eq!(add.code, 0, "{}{}", add.stdout, add.stderr);
    let list = std::fs::read_to_string(dir.path().join("mocks/shopify/2025-07/carried-over.txt")).unwrap();
    for page in &pages {
        assert!(list.lines().any(|l| l.ends_with(&format!("  rest/despatch/{page}"))), "{page} missing from {list}");
    }
    assert!(!list.contains("webhooks/"), "envelopes say it in their provenance: {list}");
    let unverified =
        "not verified: no knowledge of changes to GET /admin/api/{version}/orders.json between 2025-01 and 2025-07";
    let upgrade = || impact(dir.path(), "shopify", "2025-01", "2025-07", &["--color", "never", "--allow-unverified"]);
    let out = upgrade();
    assert!(out.stdout.contains(unverified), "{}{}", out.stdout, out.stderr);

    // Recorded again at 2025-07: the same orders, other bytes.
    for page in &pages {
        let path = dir.path().join("mocks/shopify/2025-07/rest/despatch").join(page);
        let body: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string(&body).unwrap()).unwrap();
    }
    let out = upgrade();
    assert!(!out.stdout.contains(unverified), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("peoplevox-despatch-to-shopify — clean"), "{}{}", out.stdout, out.stderr);
}
