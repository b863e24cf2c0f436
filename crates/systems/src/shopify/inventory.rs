//! The shop's inventory as one scenario's mock keeps it: quantities by inventory item, location
//! and name (`available`, `on_hand`), seeded from the scenario (`mocks.shopify.state.inventory`)
//! and changed by the inventory mutations it answers. A quantity the client states in
//! `changeFromQuantity` that is not the current one is answered with `CHANGE_FROM_QUANTITY_STALE`,
//! as Shopify's compare-and-swap does.
//!
//! A stub that matches a mutation answers it instead; levels the scenario does not seed are left to
//! its stubs.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{Value, json};

/// `mocks.shopify.state` in a scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateSpec {
    #[serde(default)]
    inventory: Vec<LevelSpec>,
}

/// One inventory level: `{inventory_item: gid://shopify/InventoryItem/1, location: gid://shopify/Location/2, available: 40}`.
#[derive(Debug, Deserialize)]
struct LevelSpec {
    inventory_item: String,
    location: String,
    #[serde(flatten)]
    quantities: BTreeMap<String, i64>,
}

/// The quantity names Shopify's inventory mutations set or adjust.
const NAMES: &[&str] = &["available", "on_hand", "committed", "damaged", "incoming", "quality_control", "reserved", "safety_stock"];

impl StateSpec {
    /// The state a scenario gives, or why it cannot be used.
    pub(super) fn parse(state: &Value) -> Result<StateSpec, String> {
        let spec: StateSpec = serde_json::from_value(state.clone()).map_err(|e| format!("shopify state: {e} (expected `inventory: [{{inventory_item, location, available}}]`)"))?;
        for level in &spec.inventory {
            if let Some(name) = level.quantities.keys().find(|n| !NAMES.contains(&n.as_str())) {
                return Err(format!("shopify state: `{name}` is not an inventory quantity name (one of {})", NAMES.join(", ")));
            }
        }
        Ok(spec)
    }
}

/// (inventory item, location, quantity name) → quantity.
type Levels = BTreeMap<(String, String, String), i64>;

#[derive(Default)]
pub(super) struct Inventory {
    levels: Mutex<Levels>,
}

/// What one quantity of a mutation asks: which level, the new quantity or the change, and the
/// quantity the client believes is current.
struct Ask {
    key: (String, String, String),
    /// `Ok(quantity)` to set, `Err(delta)` to adjust.
    to: Result<i64, i64>,
    change_from: Option<i64>,
    /// `["input", "quantities", "0"]`, for `userErrors.field`.
    field: Vec<String>,
}

impl Inventory {
    pub(super) fn new(state: Option<&Value>) -> Inventory {
        let mut levels = Levels::new();
        for level in state.and_then(|s| StateSpec::parse(s).ok()).map(|s| s.inventory).unwrap_or_default() {
            for (name, q) in level.quantities {
                levels.insert((level.inventory_item.clone(), level.location.clone(), name), q);
            }
        }
        Inventory { levels: Mutex::new(levels) }
    }

    /// Shopify's answer to `mutation` (a root field of the request) with `input`, when every level
    /// it touches is one the mock keeps; `None` leaves the request to the scenario's stubs.
    pub(super) fn answer(&self, mutation: &str, input: &Value) -> Option<Value> {
        let asks = asks(mutation, input)?;
        let mut levels = self.levels.lock().expect("inventory lock");
        if asks.is_empty() || !asks.iter().all(|a| levels.contains_key(&a.key)) {
            return None;
        }
        let stale: Vec<Value> = asks
            .iter()
            .filter_map(|a| {
                let current = levels[&a.key];
                let stated = a.change_from?;
                (stated != current).then(|| {
                    let mut field = a.field.clone();
                    field.push("changeFromQuantity".into());
                    // Shopify documents the code; the wording of its message is not published.
                    json!({"code": "CHANGE_FROM_QUANTITY_STALE", "field": field,
                           "message": format!("The {} quantity stated in changeFromQuantity ({stated}) is not the current quantity ({current}).", a.key.2)})
                })
            })
            .collect();
        if !stale.is_empty() {
            return Some(json!({"data": {mutation: {"inventoryAdjustmentGroup": null, "userErrors": stale}}}));
        }
        let changes: Vec<Value> = asks
            .iter()
            .map(|a| {
                let level = levels.get_mut(&a.key).expect("checked above");
                let before = *level;
                *level = match a.to {
                    Ok(q) => q,
                    Err(delta) => before + delta,
                };
                json!({"name": a.key.2, "delta": *level - before, "quantityAfterChange": *level, "item": {"id": a.key.0}, "location": {"id": a.key.1}})
            })
            .collect();
        let group = json!({
            "id": "gid://shopify/InventoryAdjustmentGroup/1",
            "reason": input.get("reason").cloned().unwrap_or(Value::Null),
            "referenceDocumentUri": input.get("referenceDocumentUri").cloned().unwrap_or(Value::Null),
            "changes": changes,
        });
        Some(json!({"data": {mutation: {"inventoryAdjustmentGroup": group, "userErrors": []}}}))
    }
}

/// The levels `inventorySetQuantities` or `inventoryAdjustQuantities` touches; `None` for other
/// mutations.
fn asks(mutation: &str, input: &Value) -> Option<Vec<Ask>> {
    let name = input.get("name").and_then(Value::as_str).unwrap_or("available").to_string();
    let (list, amount) = match mutation {
        "inventorySetQuantities" => ("quantities", "quantity"),
        "inventoryAdjustQuantities" => ("changes", "delta"),
        _ => return None,
    };
    let entries = input.get(list).and_then(Value::as_array)?;
    Some(
        entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let item = e.get("inventoryItemId")?.as_str()?.to_string();
                let location = e.get("locationId")?.as_str()?.to_string();
                let n = e.get(amount)?.as_i64()?;
                Some(Ask {
                    key: (item, location, name.clone()),
                    to: if amount == "quantity" { Ok(n) } else { Err(n) },
                    change_from: e.get("changeFromQuantity").and_then(Value::as_i64),
                    field: vec!["input".into(), list.into(), i.to_string()],
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = "gid://shopify/InventoryItem/1";
    const LOC: &str = "gid://shopify/Location/2";

    fn inventory() -> Inventory {
        Inventory::new(Some(&json!({"inventory": [{"inventory_item": ITEM, "location": LOC, "available": 40}]})))
    }

    fn set(quantity: i64, change_from: Value) -> Value {
        json!({"name": "available", "reason": "correction", "quantities": [{"inventoryItemId": ITEM, "locationId": LOC, "quantity": quantity, "changeFromQuantity": change_from}]})
    }

    #[test]
    fn compare_and_swap_against_the_current_quantity() {
        let inv = inventory();
        let stale = inv.answer("inventorySetQuantities", &set(42, json!(39))).unwrap();
        let errors = &stale["data"]["inventorySetQuantities"]["userErrors"];
        assert_eq!(errors[0]["code"], "CHANGE_FROM_QUANTITY_STALE");
        assert_eq!(errors[0]["field"], json!(["input", "quantities", "0", "changeFromQuantity"]));

        let done = inv.answer("inventorySetQuantities", &set(42, json!(40))).unwrap();
        assert_eq!(done["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"][0]["delta"], 2);
        let again = inv.answer("inventorySetQuantities", &set(45, json!(40))).unwrap();
        assert_eq!(again["data"]["inventorySetQuantities"]["userErrors"][0]["code"], "CHANGE_FROM_QUANTITY_STALE", "the set moved the quantity to 42");
        let unchecked = inv.answer("inventorySetQuantities", &set(45, Value::Null)).unwrap();
        assert_eq!(unchecked["data"]["inventorySetQuantities"]["userErrors"], json!([]), "null skips the check");

        let adjust = json!({"name": "available", "reason": "correction", "changes": [{"inventoryItemId": ITEM, "locationId": LOC, "delta": -5, "changeFromQuantity": 45}]});
        let adjusted = inv.answer("inventoryAdjustQuantities", &adjust).unwrap();
        assert_eq!(adjusted["data"]["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]["changes"][0]["quantityAfterChange"], 40);
    }

    #[test]
    fn unknown_levels_are_left_to_stubs_and_bad_states_refused() {
        assert!(Inventory::new(None).answer("inventorySetQuantities", &set(1, json!(0))).is_none());
        assert!(StateSpec::parse(&json!({"inventory": [{"inventory_item": ITEM, "location": LOC, "availble": 1}]})).unwrap_err().contains("`availble`"));
        assert!(StateSpec::parse(&json!({"stock": []})).is_err());
    }
}
