//! Peoplevox exports with the real system's column names: the bundled despatch flow reads
//! `PackageTrackingNumber`, `QuantityOrdered`; items are read by the `Item types` template's
//! columns and stock by the report's (`Item code`, `Available`). A flow reading a column the
//! template or report does not have is told so by name at the step that reads it.

mod common;

use common::{BUNDLED_DAY, bundled_project, harness, harness_on, project, repo};

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

const ITEMS: &str = "items/prod001";

/// The fixture project of item and stock exports, with `edit` applied to its flow.
fn items_project(edit: (&str, &str)) -> tempfile::TempDir {
    let p = project(&["fixtures/peoplevox-items"]);
    let flow = p.path().join("flows/item-stock.yaml");
    let text = std::fs::read_to_string(&flow).unwrap();
    let edited = text.replace(edit.0, edit.1);
    assert!(edit.0 == edit.1 || edited != text, "{} is in the flow", edit.0);
    std::fs::write(&flow, edited).unwrap();
    p
}

#[test]
fn item_types_and_the_stock_report_have_the_real_column_names() {
    let p = items_project(("", ""));
    let columns = harness(p.path(), &["run", "--color", "never", "--no-times", ITEMS]);
    assert_eq!(columns.code, 0, "{}{}", columns.stdout, columns.stderr);
    // The columns as Peoplevox's default `Item types` template names them, not the earlier set
    // (`SalePrice`, `CostPrice`, `ItemTypeGroup`).
    let catalog = std::fs::read_to_string(repo().join("crates/systems/src/peoplevox/catalog/v4/system.yaml")).unwrap();
    for column in [
        "ItemGroup",
        "RetailPrice",
        "BuyPrice",
        "WholesalePrice",
        "UnitOfMeasure",
        "DefaultLeadTime",
        "Attribute15",
        "TaxCode",
    ] {
        assert!(catalog.contains(&format!(" {column},")), "Item types has {column}");
    }
    for invented in ["SalePrice, CostPrice", "ItemTypeGroup"] {
        assert!(!catalog.contains(invented), "no real template has {invented}");
    }
    assert!(catalog.contains("Item availability latest reconciliation:"));
    for column in ["Item code", "On hand", "Allocated", "Available", "On order", "Item type group"] {
        assert!(catalog.contains(&format!("{column},")), "the stock report has `{column}`");
    }
}

#[test]
fn an_item_types_column_the_template_lacks_is_named_at_the_step() {
    let p = items_project(("group: .rows[0].ItemGroup", "group: .rows[0].ItemTypeGroup"));
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", ITEMS]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let said = "step get-item: bind `group` reads column `ItemTypeGroup`, which the peoplevox template `Item types` does not have; did you mean `ItemGroup`?";
    assert!(out.stdout.contains(said), "{}", out.stdout);
}

#[test]
fn a_stock_report_column_is_checked_against_the_report_and_the_columns_asked_for() {
    let p = items_project(("available: .rows[0].Available", "available: .rows[0].ItemCode"));
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", ITEMS]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let said = "step get-stock: bind `available` reads column `ItemCode`, which the peoplevox report `Item availability latest reconciliation` (as the request's `Columns` choose them) does not have; did you mean `Item code`?";
    assert!(out.stdout.contains(said), "{}", out.stdout);

    // `On hand` is a column of the report, but not one the request asked for.
    let p = items_project(("available: .rows[0].Available", "available: .rows[0].\"On hand\""));
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", ITEMS]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("step get-stock: bind `available` reads column `On hand`, which the peoplevox report"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(its columns: Item code, Available)"), "{}", out.stdout);
}
