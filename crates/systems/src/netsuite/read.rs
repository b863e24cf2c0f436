//! What NetSuite's GET shows of a record beyond what was sent: the fields it computes for a
//! transaction (`tranId`, `status`, `subtotal`, `total`, `subsidiary`, `currency`), the dates it
//! stamps, and sublists as links unless `expandSubResources=true`; and the record a
//! `!transform` creates from another. Shapes as a real GET answers them (a purchase order read
//! with `expandSubResources=true`: sublists `{items, links, totalResults}`, each line with its
//! own `links`; `status` `{id, refName}` both the status's name; dates to the minute, in UTC).

use std::time::Duration;

use serde_json::{Map, Value, json};

/// Transactions NetSuite creates only with at least one item line.
pub(super) const TRANSACTIONS_WITH_LINES: &[&str] = &["salesOrder", "invoice", "cashSale", "creditMemo", "cashRefund", "estimate", "returnAuthorization"];

/// Per transaction type: the prefix of the number NetSuite gives it, and the status a new one has.
const TRANSACTIONS: &[(&str, &str, &str)] = &[
    ("salesOrder", "SO", "Pending Fulfillment"),
    ("invoice", "INV", "Open"),
    ("cashSale", "CS", "Not Deposited"),
    ("creditMemo", "CM", "Open"),
    ("cashRefund", "CR", "Not Deposited"),
    ("estimate", "EST", "Open"),
    ("returnAuthorization", "RMA", "Pending Approval"),
    ("itemFulfillment", "IF", "Picked"),
];

/// The transforms NetSuite offers: (from, to).
pub(super) const TRANSFORMS: &[(&str, &str)] =
    &[("salesOrder", "itemFulfillment"), ("salesOrder", "invoice"), ("salesOrder", "cashSale"), ("invoice", "creditMemo"), ("cashSale", "cashRefund")];

/// The account's base currency and top subsidiary, for records that name none.
const DEFAULT_CURRENCY: (&str, &str) = ("1", "US Dollar");
const DEFAULT_SUBSIDIARY: (&str, &str) = ("1", "Parent Company");

/// The day the mock's virtual clock starts at: record dates are this plus the request's time.
const DAY: &str = "2026-01-05";

/// `at` on the virtual clock as NetSuite writes a record date (to the minute).
pub(super) fn date(at: Duration) -> String {
    let minutes = at.as_secs() / 60;
    format!("{DAY}T{:02}:{:02}:00Z", (minutes / 60) % 24, minutes % 60)
}

/// A self link.
pub(super) fn links(href: &str) -> Value {
    json!([{"rel": "self", "href": href}])
}

/// The fields NetSuite computes, added to record `record` (at `href`, numbered `id`) when the
/// body does not give them; `entity_subsidiary` is the customer's, when this run created it.
pub(super) fn computed(o: &mut Map<String, Value>, record: &str, id: &str, entity_subsidiary: Option<Value>) {
    let transaction = TRANSACTIONS.iter().find(|(t, _, _)| t.eq_ignore_ascii_case(record));
    if let Some((t, prefix, status)) = transaction {
        o.entry("tranId").or_insert_with(|| json!(format!("{prefix}{id}")));
        let status = match (*t, o.get("shipStatus").and_then(|s| s.get("id")).and_then(Value::as_str)) {
            ("itemFulfillment", Some("B")) => "Packed",
            ("itemFulfillment", Some("C")) => "Shipped",
            _ => status,
        };
        o.insert("status".into(), json!({"id": status, "refName": status}));
        if *t != "itemFulfillment" {
            let subtotal: f64 = lines(o).iter().map(line_amount).sum();
            let extra: f64 = ["shippingCost", "handlingCost"].iter().filter_map(|f| o.get(*f).and_then(Value::as_f64)).sum();
            o.insert("subtotal".into(), money(subtotal));
            o.insert("total".into(), money(subtotal + extra));
        }
    }
    if transaction.is_some() || record.eq_ignore_ascii_case("customer") {
        let subsidiary = entity_subsidiary.unwrap_or_else(|| json!({"id": DEFAULT_SUBSIDIARY.0, "refName": DEFAULT_SUBSIDIARY.1}));
        o.entry("subsidiary").or_insert(subsidiary);
        o.entry("currency").or_insert_with(|| json!({"id": DEFAULT_CURRENCY.0, "refName": DEFAULT_CURRENCY.1}));
    }
}

/// The item lines of a transaction body.
fn lines(o: &Map<String, Value>) -> Vec<Value> {
    o.get("item").and_then(|i| i.get("items")).and_then(Value::as_array).cloned().unwrap_or_default()
}

/// A line's amount: as given, else quantity × rate.
fn line_amount(line: &Value) -> f64 {
    line.get("amount").and_then(Value::as_f64).unwrap_or_else(|| {
        let of = |f: &str| line.get(f).and_then(Value::as_f64);
        of("quantity").unwrap_or(1.0) * of("rate").unwrap_or(0.0)
    })
}

/// An amount as NetSuite writes it: whole amounts without a fraction, else to the cent.
fn money(x: f64) -> Value {
    let cents = (x * 100.0).round();
    if cents % 100.0 == 0.0 { json!((cents / 100.0) as i64) } else { json!(cents / 100.0) }
}

/// The sublists of a record body (`{"items": [...]}`), as GET shows them: a link, or with
/// `expand` the lines, each with its own link, and their count.
pub(super) fn sublists(o: &mut Map<String, Value>, href: &str, expand: bool) {
    for (name, value) in o.iter_mut() {
        if let Some(items) = sublist_items(value) {
            *value = sublist(&format!("{href}/{name}"), items, expand);
        }
    }
}

fn sublist_items(v: &Value) -> Option<Vec<Value>> {
    let o = v.as_object()?;
    (o.len() == 1).then(|| o.get("items")?.as_array().cloned()).flatten()
}

/// One sublist at `href`.
pub(super) fn sublist(href: &str, items: Vec<Value>, expand: bool) -> Value {
    if !expand {
        return json!({"links": links(href)});
    }
    let total = items.len();
    let items: Vec<Value> = items
        .into_iter()
        .enumerate()
        .map(|(i, mut line)| {
            if let Value::Object(l) = &mut line
                && !l.contains_key("links")
            {
                l.insert("links".into(), links(&format!("{href}/{}", i + 1)));
            }
            line
        })
        .collect();
    json!({"items": items, "links": links(href), "totalResults": total})
}

/// The stored sublist `name` of a record body, when it has one.
pub(super) fn sublist_of(body: &Value, name: &str) -> Option<Vec<Value>> {
    body.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| sublist_items(v))
}

/// The body of the record `to` that transforming `source` (a `from`, numbered `id`) creates,
/// with what the request sets over it: the customer, subsidiary, currency and lines carry over.
pub(super) fn transformed(source: &Value, id: &str, to: &str, request: Option<Value>) -> Value {
    let mut out = Map::new();
    for field in ["entity", "subsidiary", "currency", "location", "department", "class"] {
        if let Some(v) = source.get(field) {
            out.insert(field.into(), v.clone());
        }
    }
    out.insert("createdFrom".into(), json!({"id": id}));
    let keep: &[&str] = if to == "itemFulfillment" { &["item", "quantity", "location"] } else { &["item", "quantity", "rate", "amount", "description"] };
    let lines: Vec<Value> = source
        .get("item")
        .and_then(|i| i.get("items"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, line)| {
            let mut l: Map<String, Value> = keep.iter().filter_map(|k| line.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
            l.insert("orderLine".into(), json!(i + 1));
            Value::Object(l)
        })
        .collect();
    out.insert("item".into(), json!({"items": lines}));
    if let Some(Value::Object(set)) = request {
        out.extend(set);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_get_numbers_statuses_totals_and_defaults() {
        let mut o = json!({"entity": {"id": "7"}, "shippingCost": 4.5, "item": {"items": [{"item": {"id": "1"}, "quantity": 2, "rate": 10.25}, {"item": {"id": "2"}, "amount": 5}]}});
        computed(o.as_object_mut().unwrap(), "salesorder", "1234", None);
        assert_eq!(o["tranId"], "SO1234");
        assert_eq!(o["status"], json!({"id": "Pending Fulfillment", "refName": "Pending Fulfillment"}));
        assert_eq!((o["subtotal"].clone(), o["total"].clone()), (json!(25.5), json!(30)));
        assert_eq!(o["currency"], json!({"id": "1", "refName": "US Dollar"}));
        let mut shipped = json!({"tranId": "IF-9", "shipStatus": {"id": "C"}});
        computed(shipped.as_object_mut().unwrap(), "itemFulfillment", "9", Some(json!({"id": "3"})));
        assert_eq!((shipped["tranId"].clone(), shipped["status"]["id"].clone(), shipped["subsidiary"].clone()), (json!("IF-9"), json!("Shipped"), json!({"id": "3"})));
        assert!(shipped.get("total").is_none());
        assert_eq!(date(Duration::from_secs(3 * 3600 + 125)), "2026-01-05T03:02:00Z");
    }

    #[test]
    fn sublists_are_links_unless_expanded() {
        let body = json!({"memo": "m", "item": {"items": [{"item": {"id": "1"}}]}});
        let mut linked = body.as_object().unwrap().clone();
        sublists(&mut linked, "https://x/salesorder/5", false);
        assert_eq!(linked["item"], json!({"links": [{"rel": "self", "href": "https://x/salesorder/5/item"}]}));
        let mut expanded = body.as_object().unwrap().clone();
        sublists(&mut expanded, "https://x/salesorder/5", true);
        assert_eq!(expanded["item"]["totalResults"], 1);
        assert_eq!(expanded["item"]["items"][0]["links"][0]["href"], "https://x/salesorder/5/item/1");
    }

    #[test]
    fn a_transform_carries_the_customer_and_lines() {
        let order = json!({"entity": {"id": "7"}, "memo": "m", "item": {"items": [{"item": {"id": "1"}, "quantity": 2, "rate": 3}]}});
        let fulfillment = transformed(&order, "55", "itemFulfillment", Some(json!({"shipStatus": {"id": "C"}})));
        assert_eq!(fulfillment, json!({"entity": {"id": "7"}, "createdFrom": {"id": "55"}, "item": {"items": [{"item": {"id": "1"}, "quantity": 2, "orderLine": 1}]}, "shipStatus": {"id": "C"}}));
    }
}
