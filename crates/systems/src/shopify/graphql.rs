//! What Shopify's GraphQL layer enforces of a version's documented changes before any resolver
//! runs: a mutation the version removed, an input field it removed, an argument field or the
//! `@idempotent` directive it made mandatory — each answered with the error Shopify returns — and
//! the deprecated fields a query selects, for `X-Shopify-API-Deprecated-Reason`.
//!
//! The query is read only as far as these rules need: the operation's root fields with their
//! arguments and directives. An argument given inline rather than as a variable is checked by
//! the names it mentions.

use harness_syntax::system_file::{ChangeSaid, KnownChange};
use serde_json::{Value, json};

/// One root field of an operation: `inventorySetQuantities(input: $input) @idempotent(key: $k)`.
#[derive(Debug, PartialEq)]
pub(super) struct RootField<'q> {
    pub(super) name: &'q str,
    /// Where the name starts in the query, for `locations`.
    pub(super) at: usize,
    /// Argument name → its value as written (`$input`, `{name: "available"}`).
    pub(super) args: Vec<(&'q str, &'q str)>,
    /// Directive names without `@`.
    pub(super) directives: Vec<&'q str>,
}

#[derive(Debug, PartialEq)]
pub(super) struct Operation<'q> {
    /// `query` or `mutation`.
    pub(super) kind: &'q str,
    pub(super) name: Option<&'q str>,
    pub(super) fields: Vec<RootField<'q>>,
}

/// The bytes of `query` with strings and comments blanked, so brackets and names can be found
/// by position.
fn code_only(query: &str) -> Vec<u8> {
    let mut out = query.as_bytes().to_vec();
    let mut i = 0;
    while i < out.len() {
        match out[i] {
            b'"' => {
                let mut j = i + 1;
                while j < out.len() && out[j] != b'"' {
                    j += if out[j] == b'\\' { 2 } else { 1 };
                }
                for b in out.iter_mut().take(j.min(query.len())).skip(i + 1) {
                    *b = b' ';
                }
                i = j + 1;
            }
            b'#' => {
                while i < out.len() && out[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn is_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The end of the bracketed group opening at `open` (the index after its closing bracket).
fn group_end(code: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, b) in code.iter().enumerate().skip(open) {
        match b {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

fn skip_space(code: &[u8], mut i: usize) -> usize {
    while i < code.len() && (code[i].is_ascii_whitespace() || code[i] == b',') {
        i += 1;
    }
    i
}

fn name_at(code: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < code.len() && is_name(code[j]) {
        j += 1;
    }
    j
}

/// `name: value` pairs of an argument list between `open` and `end` (the brackets excluded).
fn arguments<'q>(query: &'q str, code: &[u8], open: usize, end: usize) -> Vec<(&'q str, &'q str)> {
    let mut args = Vec::new();
    let mut i = skip_space(code, open + 1);
    while i < end - 1 {
        let name_end = name_at(code, i);
        if name_end == i {
            break;
        }
        let mut j = skip_space(code, name_end);
        if code.get(j) != Some(&b':') {
            break;
        }
        j = skip_space(code, j + 1);
        let value_end = match code.get(j) {
            Some(b'{' | b'[' | b'(') => group_end(code, j),
            // A string's inside is blanked in `code`; its closing quote is kept.
            Some(b'"') => code[j + 1..].iter().position(|b| *b == b'"').map_or(code.len(), |k| j + k + 2),
            _ => {
                let mut k = j;
                while k < end - 1 && !(code[k].is_ascii_whitespace() || code[k] == b',') {
                    k += 1;
                }
                k
            }
        };
        args.push((&query[i..name_end], query[j..value_end].trim()));
        i = skip_space(code, value_end);
    }
    args
}

/// The operation `query` holds, read as far as its root fields; `None` when it is not GraphQL.
pub(super) fn operation(query: &str) -> Option<Operation<'_>> {
    let code = code_only(query);
    let open = code.iter().position(|b| *b == b'{')?;
    let header = std::str::from_utf8(&code[..open]).ok()?;
    let mut words = header.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty());
    let kind = match words.next() {
        Some("mutation") => "mutation",
        Some("subscription") => "subscription",
        _ => "query",
    };
    let name = if header.trim_start().starts_with(kind) { words.next().and_then(|w| query.get(header.find(w)?..header.find(w)? + w.len())) } else { None };
    let end = group_end(&code, open) - 1;
    let mut fields = Vec::new();
    let mut i = skip_space(&code, open + 1);
    // Each pass reads one root field; a field always moves `i` forward.
    while i < end {
        let mut name_start = i;
        let mut name_end = name_at(&code, i);
        if name_end == i {
            i += 1;
            continue;
        }
        let mut j = skip_space(&code, name_end);
        if code.get(j) == Some(&b':') {
            // `alias: field`
            name_start = skip_space(&code, j + 1);
            name_end = name_at(&code, name_start);
            j = skip_space(&code, name_end);
        }
        let mut field = RootField { name: &query[name_start..name_end], at: name_start, args: Vec::new(), directives: Vec::new() };
        if code.get(j) == Some(&b'(') {
            let args_end = group_end(&code, j);
            field.args = arguments(query, &code, j, args_end);
            j = skip_space(&code, args_end);
        }
        while code.get(j) == Some(&b'@') {
            let d_end = name_at(&code, j + 1);
            field.directives.push(&query[j + 1..d_end]);
            j = skip_space(&code, d_end);
            if code.get(j) == Some(&b'(') {
                j = skip_space(&code, group_end(&code, j));
            }
        }
        if code.get(j) == Some(&b'{') {
            j = group_end(&code, j);
        }
        fields.push(field);
        i = skip_space(&code, j.max(name_end));
    }
    Some(Operation { kind, name, fields })
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
fn argument_has(field: &RootField<'_>, variables: &Value, path: &str) -> Option<bool> {
    let (arg, rest) = path.split_once('.')?;
    let written = field.args.iter().find(|(name, _)| *name == arg)?.1;
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
fn argument_mentions(field: &RootField<'_>, variables: &Value, path: &str) -> bool {
    let Some((arg, rest)) = path.split_once('.') else { return false };
    let Some(written) = field.args.iter().find(|(name, _)| *name == arg).map(|(_, w)| *w) else { return false };
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

/// The documented changes in force that `query` (with `variables`) breaks.
pub(super) fn breaches<'c>(query: &str, variables: &Value, in_force: &'c [(String, KnownChange)]) -> Vec<Breach<'c>> {
    let Some(op) = operation(query) else { return Vec::new() };
    let mut out = Vec::new();
    let op_path = |field: &str| match op.name {
        Some(n) => json!([format!("{} {n}", op.kind), field]),
        None => json!([field]),
    };
    for field in &op.fields {
        for entry in in_force {
            let change = &entry.1;
            let scope = change.scope.value.as_str();
            let Some(said) = change.what() else { continue };
            let on_field = op.kind == "mutation" && scope.strip_prefix("mutation ") == Some(field.name);
            let (error, runtime) = match said {
                ChangeSaid::Removed(removed) if op.kind == "mutation" && scope == "type Mutation" && removed.value == field.name => (
                    json!({
                        "message": format!("Field '{}' doesn't exist on type 'Mutation'", field.name),
                        "locations": location(query, field.at),
                        "path": op_path(field.name),
                        "extensions": {"code": "undefinedField", "typeName": "Mutation", "fieldName": field.name},
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
                ChangeSaid::Required(path) if on_field && path.value == "@idempotent" && !field.directives.contains(&"idempotent") => (
                    json!({
                        "message": "The @idempotent directive is required for this mutation but was not provided.",
                        "locations": location(query, field.at),
                        "path": [field.name],
                        "extensions": {"code": "BAD_REQUEST"},
                    }),
                    true,
                ),
                ChangeSaid::Required(path) if on_field && argument_has(field, variables, &path.value) == Some(false) => {
                    let key = path.value.rsplit('.').next().unwrap_or(&path.value);
                    let error = json!({
                        "message": format!("{} must include the following argument: {key}.", change.input_type.as_deref().unwrap_or("The input")),
                        "locations": location(query, field.at),
                        "path": [field.name],
                        "extensions": {"code": "INVALID_FIELD_ARGUMENTS"},
                    });
                    (error, true)
                }
                _ => continue,
            };
            out.push(Breach { change: entry, error, field: runtime.then(|| field.name.to_string()) });
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
/// `X-Shopify-API-Deprecated-Reason`. A field is taken as selected when its name stands alone in
/// the query.
pub(super) fn deprecated_fields(query: &str, in_force: &[(String, KnownChange)]) -> Vec<String> {
    let code = code_only(query);
    let mut out: Vec<String> = in_force
        .iter()
        .filter_map(|(_, c)| match (c.what(), c.scope.value.strip_prefix("type ")) {
            (Some(ChangeSaid::Deprecated(field)), Some(ty)) => Some((ty, field.value.as_str())),
            _ => None,
        })
        .filter(|(_, field)| {
            query.match_indices(field).any(|(at, _)| {
                let before = at.checked_sub(1).map(|b| code[b]);
                let after = code.get(at + field.len()).copied();
                code[at] != b' ' && !before.is_some_and(is_name) && !after.is_some_and(is_name)
            })
        })
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

    #[test]
    fn root_fields_with_arguments_and_directives() {
        let op = operation(SET).unwrap();
        assert_eq!((op.kind, op.name), ("mutation", Some("inventorySetQuantities")));
        assert_eq!(op.fields.len(), 1);
        assert_eq!(op.fields[0].name, "inventorySetQuantities");
        assert_eq!(op.fields[0].args, vec![("input", "$input")]);
        assert_eq!(op.fields[0].directives, vec!["idempotent"]);
        let q = operation(r#"{ a: productVariants(first: 2, query: "sku:{x}") { nodes { sku } } shop { name } }"#).unwrap();
        assert_eq!(q.kind, "query");
        assert_eq!(q.fields.iter().map(|f| f.name).collect::<Vec<_>>(), ["productVariants", "shop"]);
        assert_eq!(q.fields[0].args, vec![("first", "2"), ("query", r#""sku:{x}""#)]);
    }

    #[test]
    fn what_2026_04_refuses() {
        let ok = json!({"input": {"name": "available", "quantities": [{"inventoryItemId": "i", "changeFromQuantity": 3}]}, "key": "k"});
        assert_eq!(refusal(&breaches(SET, &ok, &rules())), None);
        let null_is_stated = json!({"input": {"quantities": [{"changeFromQuantity": null}]}});
        assert_eq!(refusal(&breaches(SET, &null_is_stated, &rules())), None, "an explicit null states the quantity is not checked");

        let missing = json!({"input": {"quantities": [{"inventoryItemId": "i", "quantity": 3}]}});
        let body = refusal(&breaches(SET, &missing, &rules())).unwrap();
        assert_eq!(body["errors"][0]["message"], "InventoryQuantityInput must include the following argument: changeFromQuantity.");
        assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_FIELD_ARGUMENTS");
        assert_eq!(body["errors"][0]["locations"], json!([{"line": 2, "column": 3}]));
        assert_eq!(body["data"], json!({"inventorySetQuantities": null}));

        let no_directive = SET.replace(" @idempotent(key: $key)", "");
        let body = refusal(&breaches(&no_directive, &ok, &rules())).unwrap();
        assert_eq!(body["errors"][0]["message"], "The @idempotent directive is required for this mutation but was not provided.");
        assert_eq!(body["errors"][0]["path"], json!(["inventorySetQuantities"]));

        let old_flag = json!({"input": {"ignoreCompareQuantity": true, "quantities": [{"changeFromQuantity": 1}]}});
        let body = refusal(&breaches(SET, &old_flag, &rules())).unwrap();
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("Field is not defined on InventorySetQuantitiesInput"));
        assert!(body.get("data").is_none(), "a validation error answers no data");
    }

    #[test]
    fn removed_mutations_and_deprecated_fields() {
        let body = refusal(&breaches("mutation { inventorySetScheduledChanges(input: {}) { userErrors { code } } }", &json!({}), &rules())).unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "undefinedField");
        assert_eq!(deprecated_fields("{ productVariants(first: 2) { nodes { sku barcode } } }", &rules()), ["ProductVariant.barcode"]);
        assert!(deprecated_fields("{ productVariants(first: 2) { nodes { barcodes(first: 5) { nodes { code } } } } }", &rules()).is_empty());
        assert!(deprecated_fields(r#"{ productVariants(query: "barcode:123") { nodes { sku } } }"#, &rules()).is_empty(), "a name inside a string is not a selection");
    }
}
