//! Importing payloads: business values kept, people in NetSuite references and keys in URLs
//! redacted, and each imported file named as its own source. The payloads are written for the
//! test in the shapes of Shopify's order webhook and NetSuite's record answers; every personal
//! value in them is planted here and must appear in no file and no output.

mod common;

use std::path::Path;

use common::{harness, project};
use serde_json::{Value, json};

/// Planted values, built from parts so no whole one sits in the source.
fn planted() -> (String, String) {
    (["Ada", "Plantedname"].join(" "), ["9f8e7d6c5b4a", "39281706f5e4d3c2"].concat())
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[test]
fn import_keeps_business_values_and_each_files_provenance() {
    let p = project(&["fixtures/recording"]);
    let (person, key) = planted();
    let order = |id: u64| {
        json!({"order": {"id": id, "currency": "GBP", "gateway": "shopify_payments",
            "order_status_url": format!("https://acme-retail.example/1/orders/ab{id}/authenticate?key={key}"),
            "payment_details": {"credit_card_company": "Visa"},
            "line_items": [{"sku": "MUG-1", "title": "Blue Mug"}],
            "fulfillments": [{"tracking_company": "Royal Mail"}]}})
    };
    std::fs::write(p.path().join("order-a.json"), order(9101).to_string()).unwrap();
    std::fs::write(p.path().join("order-b.json"), order(9102).to_string()).unwrap();
    let out = harness(p.path(), &["import", "order-a.json", "order-b.json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for name in ["order-a", "order-b"] {
        let imported = json_file(&p.path().join(format!("mocks/shopify/2025-01/imported/{name}.json")));
        assert_eq!(
            imported["recording"]["source"],
            format!("imported from {name}.json"),
            "each file its own provenance"
        );
        let o = &imported["body"]["order"];
        assert_eq!(
            (o["currency"].clone(), o["gateway"].clone(), o["payment_details"]["credit_card_company"].clone()),
            (json!("GBP"), json!("shopify_payments"), json!("Visa"))
        );
        assert_eq!(
            (
                o["line_items"][0]["sku"].clone(),
                o["line_items"][0]["title"].clone(),
                o["fulfillments"][0]["tracking_company"].clone()
            ),
            (json!("MUG-1"), json!("Blue Mug"), json!("Royal Mail"))
        );
        assert!(o["order_status_url"].as_str().unwrap().ends_with("authenticate?key=[redacted]"), "{o}");
    }

    let answer = json!({"links": [], "id": "7001", "tranId": "SO7001", "entity": {"id": "4821", "refName": person}, "item": {"items": [{"item": {"id": "98", "refName": "Blue Mug"}}]}});
    std::fs::write(p.path().join("salesorder-7001.json"), answer.to_string()).unwrap();
    let out = harness(p.path(), &["import", "salesorder-7001.json", "--system", "netsuite", "--version", "2025.1"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let imported = json_file(&p.path().join("mocks/netsuite/2025.1/imported/salesorder-7001.json"));
    assert_ne!(imported["body"]["entity"]["refName"], json!(person), "a customer's name is faked");
    assert_eq!(imported["body"]["item"]["items"][0]["item"]["refName"], "Blue Mug", "an item's name stays");

    for name in ["order-a.json", "order-b.json", "salesorder-7001.json"] {
        std::fs::remove_file(p.path().join(name)).unwrap();
    }
    let lint = harness(p.path(), &["lint"]);
    assert_eq!(lint.code, 0, "what import writes lints clean:\n{}{}", lint.stdout, lint.stderr);
    for file in walk(p.path()) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(!text.contains(&person) && !text.contains(&key), "planted value left in {}", file.display());
    }

    // The lint finds the same people and keys in a file written by hand.
    std::fs::write(
        p.path().join("mocks/netsuite/2025.1/by-hand.json"),
        json!({"entity": {"id": "4821", "refName": person}, "url": format!("https://acme-retail.example/x?key={key}")})
            .to_string(),
    )
    .unwrap();
    let lint = harness(p.path(), &["lint"]);
    assert_eq!(lint.code, 1, "{}{}", lint.stdout, lint.stderr);
    assert!(
        lint.stdout.contains("refName of `entity`") && lint.stdout.contains("URL query (`key=`)"),
        "{}",
        lint.stdout
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
