//! A large valid scenario loads; the YAML parser's own limits and texts stay out of sight.

mod common;

use common::{harness, project};

#[test]
fn a_valid_scenario_of_more_than_two_megabytes_loads() {
    let p = project(&[]);
    let mut text = String::from(
        "flow: orders\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger:\n  body:\n    name: \"#1001\"\n    line_items:\n",
    );
    for i in 0..50_000 {
        text.push_str(&format!("      - {{sku: SKU-{i:06}, quantity: {}, price: \"1.00\"}}\n", 1 + i % 3));
    }
    assert!(text.len() > 2_200_000, "{}", text.len());
    std::fs::write(p.path().join("scenarios/orders/large.yaml"), &text).unwrap();
    let out = harness(p.path(), &["list"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("orders/large"), "{}", out.stdout);
    assert!(!out.stderr.contains("budget"), "{}", out.stderr);
}
