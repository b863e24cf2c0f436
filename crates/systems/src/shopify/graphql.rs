//! What Shopify's GraphQL layer enforces of a version's documented changes before any resolver
//! runs: a mutation the version removed, an input field it removed, an argument field or the
//! `@idempotent` directive it made mandatory — each answered with the error Shopify returns — and
//! the deprecated fields a query selects, for `X-Shopify-API-Deprecated-Reason`.
//!
//! The request is read by the harness's one GraphQL reader (`harness_mock::graphql`): the
//! operation it runs (by `operationName` among several), with its root fields, arguments and
//! directives. An argument given inline rather than as a variable is checked by the names it
//! mentions.

use harness_mock::graphql::{Operation, RootField};
use harness_syntax::system_file::{ChangeSaid, KnownChange};
use serde_json::{Value, json};

/// The operation a GraphQL request body (`{query, variables, operationName}`) runs.
pub(super) fn operation(body: &Value) -> Option<Operation> {
    harness_mock::graphql::operation(body.get("query")?.as_str()?, body.get("operationName").and_then(Value::as_str))
}

/// `{line, column}` of byte `at` in `query`, as GraphQL errors give `locations`.
fn location(query: &str, at: usize) -> Value {
    let before = &query[..at.min(query.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |n| n + 1) + 1;
    json!([{"line": line, "column": column}])
}

/// What an argument path (`quantities[].changeFromQuantity`) finds under `value`: for each object
/// that should hold the last key, whether it does.
fn holders(value: &Value, path: &str, found: &mut Vec<bool>) {
    let (head, rest) = path.split_once('.').map_or((path, None), |(h, r)| (h, Some(r)));
    let (key, each) = head.strip_suffix("[]").map_or((head, false), |k| (k, true));
    let Value::Object(o) = value else { return };
    match rest {
        None => found.push(o.contains_key(key)),
        Some(rest) => match (o.get(key), each) {
            (Some(Value::Array(items)), true) => items.iter().for_each(|item| holders(item, rest, found)),
            (Some(child), false) => holders(child, rest, found),
            _ => {}
        },
    }
}

/// Whether an argument (as written, with the request's variables) holds the field at `path`:
/// `Some(true)` where every object that should hold it does, `Some(false)` where one lacks it,
/// `None` where the argument is not there to say.
fn argument_has(field: &RootField, variables: &Value, path: &str) -> Option<bool> {
    let (arg, rest) = path.split_once('.')?;
    let written = field.args.iter().find(|(name, _)| name == arg)?.1.as_str();
    match written.strip_prefix('$') {
        Some(var) => {
            let mut found = Vec::new();
            holders(variables.get(var)?, rest, &mut found);
            (!found.is_empty()).then(|| found.iter().all(|f| *f))
        }
        // Written inline: the last name of the path, mentioned as a field.
        None => {
            let key = rest.rsplit('.').next()?.trim_end_matches("[]");
            Some(written.contains(&format!("{key}:")))
        }
    }
}

/// Whether any object an argument path reaches holds its last field.
fn argument_mentions(field: &RootField, variables: &Value, path: &str) -> bool {
    let Some((arg, rest)) = path.split_once('.') else { return false };
    let Some(written) = field.args.iter().find(|(name, _)| name == arg).map(|(_, w)| w.as_str()) else { return false };
    match written.strip_prefix('$') {
        Some(var) => {
            let mut found = Vec::new();
            if let Some(v) = variables.get(var) {
                holders(v, rest, &mut found);
            }
            found.iter().any(|f| *f)
        }
        None => rest.rsplit('.').next().is_some_and(|key| written.contains(&format!("{}:", key.trim_end_matches("[]")))),
    }
}

/// One documented change a request breaks, with the error Shopify answers it with.
pub(super) struct Breach<'c> {
    /// The version that made the change, and the change.
    pub(super) change: &'c (String, KnownChange),
    pub(super) error: Value,
    /// The root field it fails at run time (`data` then holds it as null); `None` for a
    /// validation error, which answers no data at all.
    pub(super) field: Option<String>,
}

/// The documented changes in force that a GraphQL request body breaks.
pub(super) fn breaches<'c>(body: &Value, in_force: &'c [(String, KnownChange)]) -> Vec<Breach<'c>> {
    let Some(op) = operation(body) else { return Vec::new() };
    let query = body.get("query").and_then(Value::as_str).unwrap_or("");
    let variables = body.get("variables").unwrap_or(&Value::Null);
    let mut out = Vec::new();
    let op_path = |field: &str| match &op.name {
        Some(n) => json!([format!("{} {n}", op.kind), field]),
        None => json!([field]),
    };
    for field in &op.fields {
        for entry in in_force {
            let change = &entry.1;
            let scope = change.scope.value.as_str();
            let Some(said) = change.what() else { continue };
            let name = field.name.as_str();
            let on_field = op.kind == "mutation" && scope.strip_prefix("mutation ") == Some(name);
            let (error, runtime) = match said {
                ChangeSaid::Removed(removed) if op.kind == "mutation" && scope == "type Mutation" && removed.value == name => (
                    json!({
                        "message": format!("Field '{}' doesn't exist on type 'Mutation'", field.name),
                        "locations": location(query, field.at),
                        "path": op_path(name),
                        "extensions": {"code": "undefinedField", "typeName": "Mutation", "fieldName": name},
                    }),
                    false,
                ),
                ChangeSaid::Removed(path) if on_field && argument_mentions(field, variables, &path.value) => {
                    let input = change.input_type.as_deref().unwrap_or("input");
                    let key = path.value.rsplit('.').next().unwrap_or(&path.value);
                    let error = json!({
                        "message": format!("Variable or argument `{}` of `{}` was provided invalid value for {key} (Field is not defined on {input})", path.value.split('.').next().unwrap_or(""), field.name),
                        "locations": location(query, field.at),
                        "extensions": {"code": "INVALID_VARIABLE", "problems": [{"path": path.value.split('.').skip(1).collect::<Vec<_>>(), "explanation": format!("Field is not defined on {input}")}]},
                    });
                    (error, false)
                }
                ChangeSaid::Required(path) if on_field && path.value == "@idempotent" && !field.directives.iter().any(|d| d == "idempotent") => (
                    json!({
                        "message": "The @idempotent directive is required for this mutation but was not provided.",
                        "locations": location(query, field.at),
                        "path": [name],
                        "extensions": {"code": "BAD_REQUEST"},
                    }),
                    true,
                ),
                ChangeSaid::Required(path) if on_field && argument_has(field, variables, &path.value) == Some(false) => {
                    let key = path.value.rsplit('.').next().unwrap_or(&path.value);
                    let error = json!({
                        "message": format!("{} must include the following argument: {key}.", change.input_type.as_deref().unwrap_or("The input")),
                        "locations": location(query, field.at),
                        "path": [name],
                        "extensions": {"code": "INVALID_FIELD_ARGUMENTS"},
                    });
                    (error, true)
                }
                _ => continue,
            };
            out.push(Breach { change: entry, error, field: runtime.then(|| field.name.clone()) });
        }
    }
    out
}

/// The answer Shopify gives a request that breaks documented changes: every error, and — when
/// all of them are run-time errors — `data` with the failed fields null.
pub(super) fn refusal(breaches: &[Breach<'_>]) -> Option<Value> {
    if breaches.is_empty() {
        return None;
    }
    let mut body = json!({"errors": breaches.iter().map(|b| b.error.clone()).collect::<Vec<_>>()});
    if breaches.iter().all(|b| b.field.is_some()) {
        body["data"] = Value::Object(breaches.iter().filter_map(|b| b.field.clone()).map(|f| (f, Value::Null)).collect());
    }
    Some(body)
}

/// `Type.field` for each deprecated field in force that `query` selects, as Shopify names them in
/// `X-Shopify-API-Deprecated-Reason`.
pub(super) fn deprecated_fields(query: &str, in_force: &[(String, KnownChange)]) -> Vec<String> {
    let selected = harness_mock::graphql::selected_fields(query);
    let mut out: Vec<String> = in_force
        .iter()
        .filter_map(|(_, c)| match (c.what(), c.scope.value.strip_prefix("type ")) {
            (Some(ChangeSaid::Deprecated(field)), Some(ty)) => Some((ty, field.value.as_str())),
            _ => None,
        })
        .filter(|(_, field)| selected.iter().any(|s| s == field))
        .map(|(ty, field)| format!("{ty}.{field}"))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_syntax::Loc;

    fn change(scope: &str, what: &str, path: &str, input_type: Option<&str>) -> (String, KnownChange) {
        let loc = |s: &str| Some(Loc::unlocated(s.to_string()));
        let c = KnownChange {
            scope: Loc::unlocated(scope.to_string()),
            removed: if what == "removed" { loc(path) } else { None },
            renamed: None,
            required: if what == "required" { loc(path) } else { None },
            deprecated: if what == "deprecated" { loc(path) } else { None },
            input_type: input_type.map(str::to_string),
            instead: None,
            source: None,
        };
        ("2026-04".to_string(), c)
    }

    fn rules() -> Vec<(String, KnownChange)> {
        vec![
            change("mutation inventorySetQuantities", "required", "@idempotent", None),
            change("mutation inventorySetQuantities", "required", "input.quantities[].changeFromQuantity", Some("InventoryQuantityInput")),
            change("mutation inventorySetQuantities", "removed", "input.ignoreCompareQuantity", Some("InventorySetQuantitiesInput")),
            change("type Mutation", "removed", "inventorySetScheduledChanges", None),
            change("type ProductVariant", "deprecated", "barcode", None),
        ]
    }

    const SET: &str = "mutation inventorySetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {\n  inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { code } }\n}";

    /// A request body as the mock receives it.
    fn request(query: &str, variables: &Value) -> Value {
        json!({"query": query, "variables": variables})
    }

    #[test]
    fn root_fields_with_arguments_and_directives() {
        let op = operation(&request(SET, &Value::Null)).unwrap();
        assert_eq!((op.kind, op.name.as_deref()), ("mutation", Some("inventorySetQuantities")));
        assert_eq!(op.fields.len(), 1);
        assert_eq!(op.fields[0].name, "inventorySetQuantities");
        assert_eq!(op.fields[0].args, vec![("input".to_string(), "$input".to_string())]);
        assert_eq!(op.fields[0].directives, vec!["idempotent"]);
        let q = operation(&request(r#"{ a: productVariants(first: 2, query: "sku:{x}") { nodes { sku } } shop { name } }"#, &Value::Null)).unwrap();
        assert_eq!(q.kind, "query");
        assert_eq!(q.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["productVariants", "shop"]);
        assert_eq!(q.fields[0].args, vec![("first".to_string(), "2".to_string()), ("query".to_string(), r#""sku:{x}""#.to_string())]);
    }

    /// The document shapes Shopify clients send: the mutation is found whatever stands before it.
    #[test]
    fn a_fragment_first_mutation_without_idempotent_is_refused() {
        let doc = "# generated by the client\nfragment Errors on InventorySetQuantitiesPayload { userErrors { code field message } }\nmutation Set($input: InventorySetQuantitiesInput!) {\n  inventorySetQuantities(input: $input) { ...Errors }\n}";
        let vars = json!({"input": {"quantities": [{"inventoryItemId": "i", "locationId": "l", "quantity": 1, "changeFromQuantity": 0}]}});
        let body = refusal(&breaches(&request(doc, &vars), &rules())).unwrap();
        assert!(body.to_string().contains("The @idempotent directive is required"), "{body}");
        let several = json!({"query": format!("query Stock {{ shop {{ name }} }}\n{doc}"), "variables": vars, "operationName": "Set"});
        assert!(refusal(&breaches(&several, &rules())).is_some(), "the operation operationName names");
        let other = json!({"query": format!("query Stock {{ shop {{ name }} }}\n{doc}"), "variables": vars, "operationName": "Stock"});
        assert!(refusal(&breaches(&other, &rules())).is_none());
    }

    #[test]
    fn what_2026_04_refuses() {
        let ok = json!({"input": {"name": "available", "quantities": [{"inventoryItemId": "i", "changeFromQuantity": 3}]}, "key": "k"});
        assert_eq!(refusal(&breaches(&request(SET, &ok), &rules())), None);
        let null_is_stated = json!({"input": {"quantities": [{"changeFromQuantity": null}]}});
        assert_eq!(refusal(&breaches(&request(SET, &null_is_stated), &rules())), None, "an explicit null states the quantity is not checked");

        let missing = json!({"input": {"quantities": [{"inventoryItemId": "i", "quantity": 3}]}});
        let body = refusal(&breaches(&request(SET, &missing), &rules())).unwrap();
        assert_eq!(body["errors"][0]["message"], "InventoryQuantityInput must include the following argument: changeFromQuantity.");
        assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_FIELD_ARGUMENTS");
        assert_eq!(body["errors"][0]["locations"], json!([{"line": 2, "column": 3}]));
        assert_eq!(body["data"], json!({"inventorySetQuantities": null}));

        let no_directive = SET.replace(" @idempotent(key: $key)", "");
        let body = refusal(&breaches(&request(&no_directive, &ok), &rules())).unwrap();
        assert_eq!(body["errors"][0]["message"], "The @idempotent directive is required for this mutation but was not provided.");
        assert_eq!(body["errors"][0]["path"], json!(["inventorySetQuantities"]));

        let old_flag = json!({"input": {"ignoreCompareQuantity": true, "quantities": [{"changeFromQuantity": 1}]}});
        let body = refusal(&breaches(&request(SET, &old_flag), &rules())).unwrap();
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("Field is not defined on InventorySetQuantitiesInput"));
        assert!(body.get("data").is_none(), "a validation error answers no data");
    }

    #[test]
    fn removed_mutations_and_deprecated_fields() {
        let body = refusal(&breaches(&request("mutation { inventorySetScheduledChanges(input: {}) { userErrors { code } } }", &json!({})), &rules())).unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "undefinedField");
        assert_eq!(deprecated_fields("{ productVariants(first: 2) { nodes { sku barcode } } }", &rules()), ["ProductVariant.barcode"]);
        assert!(deprecated_fields("{ productVariants(first: 2) { nodes { barcodes(first: 5) { nodes { code } } } } }", &rules()).is_empty());
        assert!(deprecated_fields(r#"{ productVariants(query: "barcode:123") { nodes { sku } } }"#, &rules()).is_empty(), "a name inside a string is not a selection");
    }
}
