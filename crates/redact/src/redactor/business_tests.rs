//! Business values kept, people in references and keys in URLs caught.

use serde_json::json;

use super::super::lint;
use super::*;

#[test]
fn card_brands_carriers_and_business_values_stay() {
    let mut r = Redactor::new([7; 32], RedactionConfig::default());
    let mut order = json!({
        "currency": "GBP", "gateway": "shopify_payments",
        "payment_details": {"credit_card_company": "Visa", "credit_card_number": "•••• •••• •••• 4242"},
        "line_items": [{"sku": "MUG-1", "title": "Blue Mug", "vendor": "Acme"}],
        "fulfillments": [{"tracking_company": "Royal Mail", "tracking_number": "RM123456789GB"}],
        "billing_address": {"company": "Doe Design"},
    });
    r.json(&mut order);
    for (pointer, kept) in [("/currency", "GBP"), ("/gateway", "shopify_payments"), ("/payment_details/credit_card_company", "Visa"), ("/line_items/0/sku", "MUG-1"), ("/line_items/0/title", "Blue Mug"), ("/fulfillments/0/tracking_company", "Royal Mail")] {
        assert_eq!(order.pointer(pointer), Some(&json!(kept)), "{pointer}");
    }
    assert_ne!(order["billing_address"]["company"], "Doe Design", "a company on an address may be a person's name");
}

#[test]
fn people_named_in_references_and_keys_in_urls_are_redacted() {
    let mut r = Redactor::new([7; 32], RedactionConfig::default());
    let key = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    let mut order = json!({
        "entity": {"id": "4821", "refName": "Tom Example"},
        "salesRep": {"id": "3", "refName": "Dana Example"},
        "item": {"items": [{"item": {"id": "98", "refName": "Blue Mug"}}]},
        "currency": {"id": "1", "refName": "British pound"},
        "order_status_url": format!("https://shop.example/1/orders/ab12/authenticate?key={key}"),
        "note": format!("status page: https://shop.example/1/orders/ab12/authenticate?key={key}"),
    });
    r.json(&mut order);
    let text = order.to_string();
    assert!(!text.contains("Tom") && !text.contains("Dana") && !text.contains(key), "{text}");
    assert_eq!(order["item"]["items"][0]["item"]["refName"], "Blue Mug");
    assert_eq!(order["currency"]["refName"], "British pound");
    assert_eq!(order["order_status_url"], format!("https://shop.example/1/orders/ab12/authenticate?key={REDACTED}"));
    assert!(lint(&serde_json::to_string_pretty(&order).unwrap(), &[]).is_empty(), "what the redactor writes passes the lint");
}
