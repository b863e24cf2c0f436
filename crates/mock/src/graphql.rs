//! The one reader of GraphQL documents, on `apollo-parser`: the operation a request runs (by
//! `operationName` when the document holds several), its kind and name, and its root fields with
//! their arguments and directives — fragment spreads and inline fragments at the root expanded,
//! aliases resolved to the field, comments and strings ignored wherever they stand. The mocks'
//! matching, the systems' rules, recording and impact analysis all read documents through it.

use apollo_parser::Parser;
use apollo_parser::cst::{self, CstNode};

/// One root field of an operation: `inventorySetQuantities(input: $input) @idempotent(key: $k)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootField {
    /// The field's name (not its alias).
    pub name: String,
    /// Where the name starts in the document (bytes), for error `locations`.
    pub at: usize,
    /// Argument name → its value as written (`$input`, `{name: "available"}`).
    pub args: Vec<(String, String)>,
    /// Directive names without `@`.
    pub directives: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// `query`, `mutation` or `subscription`.
    pub kind: &'static str,
    pub name: Option<String>,
    pub fields: Vec<RootField>,
}

/// The operation `document` runs: the one named `operation_name`, else its only (or first)
/// operation. `None` when the document holds no operation (or not that one), or is not GraphQL.
pub fn operation(document: &str, operation_name: Option<&str>) -> Option<Operation> {
    let tree = Parser::new(document).parse();
    let doc = tree.document();
    let mut fragments = Vec::new();
    let mut operations = Vec::new();
    for definition in doc.definitions() {
        match definition {
            cst::Definition::OperationDefinition(op) => operations.push(op),
            cst::Definition::FragmentDefinition(f) => {
                if let (Some(name), Some(set)) = (f.fragment_name().and_then(|n| n.name()), f.selection_set()) {
                    fragments.push((name.text().to_string(), set));
                }
            }
            _ => {}
        }
    }
    let op = match operation_name {
        Some(wanted) => operations.into_iter().find(|op| op.name().is_some_and(|n| n.text() == wanted))?,
        None => operations.into_iter().next()?,
    };
    let kind = match op.operation_type() {
        Some(t) if t.mutation_token().is_some() => "mutation",
        Some(t) if t.subscription_token().is_some() => "subscription",
        _ => "query",
    };
    let mut fields = Vec::new();
    if let Some(set) = op.selection_set() {
        root_fields(&set, &fragments, &mut fields, 0);
    }
    Some(Operation { kind, name: op.name().map(|n| n.text().to_string()), fields })
}

/// The fields of `set`, with fragments at this level read through (a cycle stops at a depth no
/// real document reaches).
fn root_fields(
    set: &cst::SelectionSet,
    fragments: &[(String, cst::SelectionSet)],
    out: &mut Vec<RootField>,
    depth: usize,
) {
    if depth > 16 {
        return;
    }
    for selection in set.selections() {
        match selection {
            cst::Selection::Field(field) => {
                let Some(name) = field.name() else { continue };
                let args = field
                    .arguments()
                    .into_iter()
                    .flat_map(|a| a.arguments())
                    .filter_map(|a| Some((a.name()?.text().to_string(), a.value()?.syntax().text().to_string())))
                    .collect();
                let directives = field
                    .directives()
                    .into_iter()
                    .flat_map(|d| d.directives())
                    .filter_map(|d| Some(d.name()?.text().to_string()))
                    .collect();
                out.push(RootField {
                    name: name.text().to_string(),
                    at: usize::from(name.syntax().text_range().start()),
                    args,
                    directives,
                });
            }
            cst::Selection::FragmentSpread(spread) => {
                let Some(name) = spread.fragment_name().and_then(|n| n.name()) else { continue };
                if let Some((_, inner)) = fragments.iter().find(|(n, _)| *n == name.text().as_str()) {
                    root_fields(inner, fragments, out, depth + 1);
                }
            }
            cst::Selection::InlineFragment(inline) => {
                if let Some(inner) = inline.selection_set() {
                    root_fields(&inner, fragments, out, depth + 1);
                }
            }
        }
    }
}

/// Every field name the document selects anywhere (operations and fragments), once each.
pub fn selected_fields(document: &str) -> Vec<String> {
    let tree = Parser::new(document).parse();
    let mut out: Vec<String> = tree
        .document()
        .syntax()
        .descendants()
        .filter_map(cst::Field::cast)
        .filter_map(|f| Some(f.name()?.text().to_string()))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(op: &Operation) -> Vec<&str> {
        op.fields.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn a_fragment_before_the_operation() {
        let doc = "fragment Errors on InventorySetQuantitiesPayload { userErrors { code } }\nmutation Set($input: InventorySetQuantitiesInput!) {\n  inventorySetQuantities(input: $input) { ...Errors }\n}";
        let op = operation(doc, None).expect("an operation");
        assert_eq!((op.kind, op.name.as_deref()), ("mutation", Some("Set")));
        assert_eq!(names(&op), ["inventorySetQuantities"]);
        assert_eq!(op.fields[0].args, [("input".to_string(), "$input".to_string())]);
        assert!(op.fields[0].directives.is_empty());
    }

    #[test]
    fn a_fragment_after_the_operation_spread_at_the_root() {
        let doc = "query { ...Root }\nfragment Root on QueryRoot { shop { name } orders(first: 5) { id } }";
        assert_eq!(names(&operation(doc, None).expect("an operation")), ["shop", "orders"]);
    }

    #[test]
    fn comments_anywhere() {
        let doc = "# set stock\n# mutation Fake { no }\nmutation Set { # a comment { with a brace\n  inventorySetQuantities(input: {name: \"available # not a comment\"}) @idempotent(key: \"k\") { userErrors { code } } }";
        let op = operation(doc, None).expect("an operation");
        assert_eq!((op.kind, op.name.as_deref()), ("mutation", Some("Set")));
        assert_eq!(op.fields[0].directives, ["idempotent"]);
        assert!(op.fields[0].args[0].1.contains("available # not a comment"));
    }

    #[test]
    fn several_operations_chosen_by_name() {
        let doc = "query Stock { inventoryItems(first: 1) { id } }\nmutation Set { inventorySetQuantities(input: {}) { userErrors { code } } }";
        assert_eq!(names(&operation(doc, Some("Set")).expect("Set")), ["inventorySetQuantities"]);
        assert_eq!(operation(doc, Some("Stock")).expect("Stock").kind, "query");
        assert_eq!(operation(doc, None).expect("the first").name.as_deref(), Some("Stock"));
        assert_eq!(operation(doc, Some("Missing")), None);
    }

    #[test]
    fn aliases_variables_and_inline_fragments() {
        let doc = "mutation M($a: InventorySetQuantitiesInput!, $k: String!) { first: inventorySetQuantities(input: $a) @idempotent(key: $k) { userErrors { code } } ... on Mutation { second: inventoryAdjustQuantities(input: $a) { userErrors { code } } } }";
        let op = operation(doc, None).expect("an operation");
        assert_eq!(names(&op), ["inventorySetQuantities", "inventoryAdjustQuantities"]);
        assert_eq!(op.fields[0].directives, ["idempotent"]);
        assert_eq!(&doc[op.fields[0].at..op.fields[0].at + 22], "inventorySetQuantities");
    }

    #[test]
    fn shorthand_queries_and_selected_fields() {
        let op = operation("{ shop { name } }", None).expect("a query");
        assert_eq!((op.kind, op.name), ("query", None));
        assert_eq!(
            selected_fields("query { productVariants { barcode } } fragment F on X { sku }"),
            ["barcode", "productVariants", "sku"]
        );
        assert_eq!(operation("not graphql at all", None), None);
    }
}
