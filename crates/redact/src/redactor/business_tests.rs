//! Business values kept, people in references and keys in URLs caught.

use serde_json::json;

use super::*;
use crate::tests::lint;

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
    for (pointer, kept) in [
        ("/currency", "GBP"),
        ("/gateway", "shopify_payments"),
        ("/payment_details/credit_card_company", "Visa"),
        ("/line_items/0/sku", "MUG-1"),
        ("/line_items/0/title", "Blue Mug"),
        ("/fulfillments/0/tracking_company", "Royal Mail"),
    ] {
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
    assert!(
        lint(&serde_json::to_string_pretty(&order).unwrap(), &[]).is_empty(),
        "what the redactor writes passes the lint"
    );
}

/// Planted fake data in free text: a NetSuite memo, a Shopify note holding JSON, a Peoplevox CSV
/// with an `Address` column. What the redactor leaves, the lint calls clean.
#[test]
fn people_phones_and_addresses_inside_free_text_are_replaced() {
    let mut r = Redactor::new([7; 32], RedactionConfig::default());
    let mut record = json!({
        "memo": "Call Tom Harhar on +44 7700 900461 before 5pm; Mrs Quenby signs, email tom.harhar@gmail.com",
        "note_attributes": [{"name": "gift", "value": "{\"to\": \"Mr Quenby\", \"phone\": \"020 7946 0321\", \"address1\": \"4 Privet Drive\"}"}],
        "ssn": "x", "comments": "SSN 078-05-1120",
        "currency": "GBP", "gateway": "shopify_payments", "title": "Blue Mug", "tracking_company": "Royal Mail",
    });
    r.json(&mut record);
    let text = record.to_string();
    for planted in ["Tom", "Harhar", "Quenby", "7700 900461", "7946 0321", "Privet", "tom.harhar", "078-05-1120"] {
        assert!(!text.contains(planted), "{planted} in {text}");
    }
    assert!(text.contains("+44 0000 00"), "the number keeps its country code: {text}");
    for kept in ["GBP", "shopify_payments", "Blue Mug", "Royal Mail", "before 5pm"] {
        assert!(text.contains(kept), "{kept} in {text}");
    }
    assert_eq!(lint(&text, &[]), [], "{text}");

    let csv = "Code,Name,Address,Phone,Email\nSO-1001,Blue Mug,\"4 Privet Drive, Little Whinging\",+44 7700 900461,tom.harhar@gmail.com\n";
    let out = String::from_utf8(r.body("text/csv", csv.as_bytes())).unwrap();
    for planted in ["Privet", "7700 900461", "tom.harhar"] {
        assert!(!out.contains(planted), "{planted} in {out}");
    }
    assert!(out.contains("SO-1001,Blue Mug,"), "the order code and the product stay: {out}");
}
