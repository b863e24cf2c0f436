//! Listing Shopify's orders for the daily check: a GraphQL query over a connection with cursor
//! paging, waiting out the query cost bucket; recorded pages found again by the cursor the page
//! before ended on.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use harness_core::{Diagnostic, Error, RecordedRequest, SystemId};
use serde_json::{Value, json};

use crate::SystemVersion;
use crate::client::OutgoingRequest;
use crate::records::{FixtureLayout, ListSpec, Lister, Page, PageKey, Period, Position, Records};

const DEFAULT_GRAPHQL: &str = "query ReconcileOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {
    nodes { id name createdAt totalPriceSet { shopMoney { amount } } totalShippingPriceSet { shopMoney { amount } } lineItems(first: 100) { nodes { sku quantity } } }
    pageInfo { hasNextPage endCursor }
  }
}";
const DEFAULT_SEARCH: &str = "created_at:>='{since}' AND created_at:<'{until}'";

pub(super) struct ShopifyRecords;

#[derive(Debug)]
struct Graphql {
    query: String,
    search: String,
    page_size: u32,
}

impl Records for ShopifyRecords {
    fn keys(&self) -> &'static [&'static str] {
        &["graphql", "search"]
    }

    fn lister(&self, system: &SystemId, list: &ListSpec, file: &Path, text: &str) -> Result<Box<dyn Lister>, Diagnostic> {
        let query = list.graphql.as_ref().map_or(DEFAULT_GRAPHQL.to_string(), |g| g.value.clone());
        if let Some(g) = &list.graphql
            && let Some(op) = graphql_writes(&g.value)
        {
            return Err(g.error(file, text, format!("a GraphQL {op} is a write: reconcile only reads (write a `query`)")));
        }
        Ok(Box::new(Graphql {
            query,
            search: list.search.as_ref().map_or(DEFAULT_SEARCH.to_string(), |s| s.value.clone()),
            page_size: list.page_size(system, 100, 250, file, text)?,
        }))
    }

    fn read_only(&self, request: &OutgoingRequest) -> Result<(), String> {
        if request.method != "POST" || !request.path.ends_with("/graphql.json") {
            return Err("a write".into());
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        match body.get("query").and_then(Value::as_str).map(graphql_writes) {
            Some(None) => Ok(()),
            Some(Some(op)) => Err(format!("a GraphQL {op} writes")),
            None => Err("no GraphQL query".into()),
        }
    }

    fn fixture_layout(&self) -> FixtureLayout {
        FixtureLayout { extension: "json", content_type: "application/json", folder_per_listing: None }
    }

    fn fixture_index(&self, pages: &mut dyn Iterator<Item = Result<Value, Error>>) -> Result<HashMap<String, usize>, Error> {
        let mut index = HashMap::new();
        for (i, page) in pages.enumerate() {
            if let Some(cursor) = connection(&page?).and_then(|c| c.get("pageInfo")?.get("endCursor")?.as_str().map(str::to_string)) {
                index.insert(cursor, i + 1);
            }
        }
        Ok(index)
    }

    fn fixture_page(&self, request: &RecordedRequest) -> (Option<String>, Option<PageKey>) {
        let page = match request.json().and_then(|j| j.get("variables")?.get("after").cloned()) {
            Some(Value::String(cursor)) => PageKey::After(cursor),
            _ => PageKey::Number(0),
        };
        (Some(String::new()), Some(page))
    }
}

/// The answer's first connection (`data.orders`, whatever the query names it).
fn connection(answer: &Value) -> Option<&Value> {
    answer.get("data").and_then(Value::as_object).and_then(|d| d.values().next())
}

impl Lister for Graphql {
    fn request(&self, version: &SystemVersion, period: &Period, at: &Position) -> OutgoingRequest {
        let after = match at {
            Position::Cursor(c) => Value::String(c.clone()),
            _ => Value::Null,
        };
        let search = period.fill(&self.search, harness_core::clock::rfc3339);
        let body = json!({"query": self.query, "variables": {"first": self.page_size, "after": after, "query": search}});
        let mut r =
            OutgoingRequest::new(version.system.clone(), "POST", format!("/admin/api/{}/graphql.json", version.version));
        r.set_header("Content-Type", "application/json");
        r.body = body.to_string().into();
        r
    }

    fn read(&self, _: &Position, body: &[u8]) -> Result<Page, String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
        let connection = connection(&v).ok_or("the answer has no `data` connection")?;
        let records: Vec<Value> = match (connection.get("nodes"), connection.get("edges")) {
            (Some(Value::Array(nodes)), _) => nodes.clone(),
            (_, Some(Value::Array(edges))) => edges.iter().filter_map(|e| e.get("node").cloned()).collect(),
            _ => return Err("the connection has neither `nodes` nor `edges`".into()),
        };
        let info = connection.get("pageInfo");
        let more = info.and_then(|i| i.get("hasNextPage")).and_then(Value::as_bool).unwrap_or(false);
        let cursor = info.and_then(|i| i.get("endCursor")).and_then(Value::as_str);
        let next = match (more, cursor) {
            (true, Some(c)) => Some(Position::Cursor(c.to_string())),
            (true, None) => return Err("pageInfo.hasNextPage without an endCursor".into()),
            _ => None,
        };
        Ok(Page { records, next, pause: cost_pause(&v), total: None })
    }
}

/// `mutation` or `subscription` when the GraphQL document holds one: a keyword outside every
/// selection set, comments and strings left out.
fn graphql_writes(document: &str) -> Option<&'static str> {
    let (mut depth, mut in_string, mut in_comment) = (0i32, false, false);
    let mut top = String::new();
    for ch in document.chars() {
        match ch {
            '\n' if in_comment => in_comment = false,
            _ if in_comment => {}
            '"' => in_string = !in_string,
            _ if in_string => {}
            '#' => in_comment = true,
            '{' => depth += 1,
            '}' => depth -= 1,
            c if depth == 0 => top.push(c),
            _ => {}
        }
        if depth != 0 || in_string {
            top.push(' ');
        }
    }
    top.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$')).find_map(|w| match w {
        "mutation" => Some("mutation"),
        "subscription" => Some("subscription"),
        _ => None,
    })
}

/// Shopify's cost-based throttling: when the bucket holds less than the query costs, wait until
/// the restore rate has refilled it, before asking for the next page.
fn cost_pause(answer: &Value) -> Option<Duration> {
    let cost = answer.get("extensions")?.get("cost")?;
    let requested = cost.get("requestedQueryCost")?.as_f64()?;
    let status = cost.get("throttleStatus")?;
    let available = status.get("currentlyAvailable")?.as_f64()?;
    let rate = status.get("restoreRate")?.as_f64().filter(|r| *r > 0.0)?;
    (available < requested).then(|| Duration::from_secs_f64((requested - available) / rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutation_is_a_write_wherever_it_stands() {
        assert_eq!(graphql_writes("query Q { orders(first: 1) { nodes { id } } }"), None);
        assert_eq!(graphql_writes("{ orders { nodes { id } } }"), None);
        assert_eq!(graphql_writes("mutation M { orderCancel(orderId: \"1\") { job { id } } }"), Some("mutation"));
        assert_eq!(
            graphql_writes("# a comment\n  mutation { tagsAdd(id: \"1\", tags: [\"x\"]) { node { id } } }"),
            Some("mutation")
        );
        assert_eq!(graphql_writes("query A { shop { name } }\nmutation B { x }"), Some("mutation"));
        assert_eq!(graphql_writes("query { orders(query: \"mutation\") { nodes { id } } }"), None);
    }

    #[test]
    fn only_queries_are_sent() {
        let id = SystemId::new(super::super::ID).unwrap();
        let mut q = OutgoingRequest::new(id.clone(), "POST", "/admin/api/2026-01/graphql.json");
        q.body = json!({"query": "{ orders { nodes { id } } }"}).to_string().into();
        assert_eq!(ShopifyRecords.read_only(&q), Ok(()));
        q.body = json!({"query": "mutation { orderCancel(orderId: \"1\") { job { id } } }"}).to_string().into();
        assert_eq!(ShopifyRecords.read_only(&q), Err("a GraphQL mutation writes".into()));
        let put = OutgoingRequest::new(id, "PUT", "/admin/api/2026-01/orders/1.json");
        assert_eq!(ShopifyRecords.read_only(&put), Err("a write".into()));
    }
}
