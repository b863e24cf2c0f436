//! The built-in listers, read-only by construction: Shopify orders through a GraphQL query with
//! cursor paging, NetSuite records through SuiteQL (`Prefer: transient`) or a record collection
//! GET with limit/offset paging, Peoplevox rows through `GetData` with page numbers. Each builds
//! its page requests and reads its pages; nothing else is ever sent.

use std::path::Path;
use std::time::Duration;

use harness_core::{Diagnostic, SystemId};
use harness_syntax::Loc;
use harness_systems::client::OutgoingRequest;
use harness_systems::{System, SystemVersion};
use serde_json::{Value, json};

use crate::spec::ListSpec;
use crate::window::Window;

const SUITEQL_PATH: &str = "/services/rest/query/v1/suiteql";
/// NetSuite pages read at once, at most: accounts allow 5 concurrent requests (more with
/// SuiteCloud Plus), shared with the integration itself.
const MAX_CONCURRENCY: u32 = 10;

const DEFAULT_GRAPHQL: &str = "query ReconcileOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {
    nodes { id name createdAt totalPriceSet { shopMoney { amount } } totalShippingPriceSet { shopMoney { amount } } lineItems(first: 100) { nodes { sku quantity } } }
    pageInfo { hasNextPage endCursor }
  }
}";
const DEFAULT_SEARCH: &str = "created_at:>='{since}' AND created_at:<'{until}'";
const DEFAULT_SUITEQL: &str = "SELECT id, tranid, otherrefnum, createddate, foreigntotal, shippingcost FROM transaction WHERE type = 'SalesOrd' AND createddate >= TO_TIMESTAMP({since}, 'YYYY-MM-DD HH24:MI:SS') AND createddate < TO_TIMESTAMP({until}, 'YYYY-MM-DD HH24:MI:SS') ORDER BY id";
const DEFAULT_TEMPLATE: &str = "Sales orders";
const DEFAULT_CLAUSE: &str = "CreatedDate >= {since} AND CreatedDate < {until}";

/// The systems the harness can list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Shopify,
    NetSuite,
    Peoplevox,
}

#[derive(Debug, Clone)]
pub(crate) enum Lister {
    Graphql { query: String, search: String, page_size: u32 },
    SuiteQl { q: String, page_size: u32, concurrency: u32 },
    RecordList { path: String, page_size: u32, concurrency: u32 },
    GetData { template: String, clause: String, page_size: u32 },
}

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Position {
    Start,
    Cursor(String),
    Offset(u64),
    PageNo(u32),
}

/// One page read: its records, where the next starts, and a pause the system asked for before it.
pub(crate) struct Page {
    pub records: Vec<Value>,
    pub next: Option<Position>,
    pub pause: Option<Duration>,
    /// How many records the system says the listing has, when it says.
    pub total: Option<u64>,
}

impl Lister {
    pub(crate) fn kind(system: &SystemId) -> Option<Kind> {
        match system.as_str() {
            "shopify" => Some(Kind::Shopify),
            "netsuite" => Some(Kind::NetSuite),
            "peoplevox" => Some(Kind::Peoplevox),
            _ => None,
        }
    }

    /// The lister `list` asks of `system`; anything that would write is refused, located.
    pub(crate) fn compile(system: &SystemId, list: &ListSpec, file: &Path, text: &str) -> Result<Lister, Diagnostic> {
        let Some(kind) = Lister::kind(system) else {
            return Err(Diagnostic::new(file, format!("the harness has no lister for `{system}`")));
        };
        let foreign: [(&str, &Option<Loc<String>>, Kind); 7] = [
            ("graphql", &list.graphql, Kind::Shopify),
            ("search", &list.search, Kind::Shopify),
            ("suiteql", &list.suiteql, Kind::NetSuite),
            ("method", &list.method, Kind::NetSuite),
            ("path", &list.path, Kind::NetSuite),
            ("template", &list.template, Kind::Peoplevox),
            ("clause", &list.clause, Kind::Peoplevox),
        ];
        if let Some((name, Some(v), _)) = foreign.iter().find(|(_, v, k)| v.is_some() && *k != kind) {
            return Err(v.error(file, text, format!("`{name}` does not list {system}")));
        }
        if let Some(c) = &list.concurrency {
            if kind != Kind::NetSuite {
                return Err(c.error(
                    file,
                    text,
                    format!("`concurrency` does not list {system}: its pages are read one after the other"),
                ));
            }
            if c.value == 0 || c.value > MAX_CONCURRENCY {
                return Err(c.error(file, text, format!("concurrency: 1 to {MAX_CONCURRENCY} pages at once (within the account's concurrency limit, which the integration shares)")));
            }
        }
        let concurrency = list.concurrency.as_ref().map_or(1, |c| c.value);
        let page_size = |default: u32, max: u32| match &list.page_size {
            Some(p) if p.value == 0 || p.value > max => {
                Err(p.error(file, text, format!("page_size: {system} pages hold 1 to {max} records")))
            }
            Some(p) => Ok(p.value),
            None => Ok(default),
        };
        Ok(match kind {
            Kind::Shopify => {
                let query = list.graphql.as_ref().map_or(DEFAULT_GRAPHQL.to_string(), |g| g.value.clone());
                if let Some(g) = &list.graphql
                    && let Some(op) = graphql_writes(&g.value)
                {
                    return Err(g.error(
                        file,
                        text,
                        format!("a GraphQL {op} is a write: reconcile only reads (write a `query`)"),
                    ));
                }
                Lister::Graphql {
                    query,
                    search: list.search.as_ref().map_or(DEFAULT_SEARCH.to_string(), |s| s.value.clone()),
                    page_size: page_size(100, 250)?,
                }
            }
            Kind::NetSuite => match (&list.method, &list.path, &list.suiteql) {
                (Some(m), _, _) if !m.value.eq_ignore_ascii_case("GET") => {
                    let path = list.path.as_ref().map_or("", |p| p.value.as_str());
                    return Err(m.error(file, text, format!("a {} to {path} is a write: reconcile only reads (GET a record collection, or `suiteql:` a SELECT)", m.value.to_ascii_uppercase())));
                }
                (_, Some(p), Some(_)) => {
                    return Err(p.error(file, text, "give either `suiteql:` or `path:`, not both"));
                }
                (_, Some(p), None) => {
                    if !p.value.starts_with("/services/rest/record/") || p.value.contains('?') {
                        return Err(p.error(
                            file,
                            text,
                            "path: a record collection, `/services/rest/record/v1/<type>` (paged by the harness)",
                        ));
                    }
                    Lister::RecordList { path: p.value.clone(), page_size: page_size(1000, 1000)?, concurrency }
                }
                (Some(m), None, _) => {
                    return Err(m.error(file, text, "method: GET needs the record collection's `path:`"));
                }
                (None, None, Some(q)) if !is_select(&q.value) => {
                    return Err(q.error(file, text, "SuiteQL here only reads: write a SELECT (or WITH … SELECT)"));
                }
                (None, None, q) => Lister::SuiteQl {
                    q: q.as_ref().map_or(DEFAULT_SUITEQL.to_string(), |q| q.value.clone()),
                    page_size: page_size(1000, 1000)?,
                    concurrency,
                },
            },
            Kind::Peoplevox => Lister::GetData {
                template: list.template.as_ref().map_or(DEFAULT_TEMPLATE.to_string(), |t| t.value.clone()),
                clause: list.clause.as_ref().map_or(DEFAULT_CLAUSE.to_string(), |c| c.value.clone()),
                page_size: page_size(500, 1000)?,
            },
        })
    }

    /// The request for the page at `at`.
    pub(crate) fn request(
        &self,
        system_api: &dyn System,
        version: &SystemVersion,
        window: &Window,
        at: &Position,
    ) -> OutgoingRequest {
        let system = version.system.clone();
        match self {
            Lister::Graphql { query, search, page_size } => {
                let after = match at {
                    Position::Cursor(c) => Value::String(c.clone()),
                    _ => Value::Null,
                };
                let search = fill(search, &window.since_text(), &window.until_text());
                let body = json!({"query": query, "variables": {"first": page_size, "after": after, "query": search}});
                let mut r =
                    OutgoingRequest::new(system, "POST", format!("/admin/api/{}/graphql.json", version.version));
                r.set_header("Content-Type", "application/json");
                r.body = body.to_string().into();
                r
            }
            Lister::SuiteQl { q, page_size, .. } => {
                let q = fill(q, &format!("'{}'", window.since_sql()), &format!("'{}'", window.until_sql()));
                let mut r = OutgoingRequest::new(system, "POST", SUITEQL_PATH);
                r.query = vec![("limit".into(), page_size.to_string()), ("offset".into(), offset(at).to_string())];
                r.set_header("Content-Type", "application/json");
                // A SuiteQL query runs without being kept: the read-only form.
                r.set_header("Prefer", "transient");
                r.body = json!({"q": q}).to_string().into();
                r
            }
            Lister::RecordList { path, page_size, .. } => {
                let mut r = OutgoingRequest::new(system, "GET", path.clone());
                r.query = vec![("limit".into(), page_size.to_string()), ("offset".into(), offset(at).to_string())];
                r
            }
            Lister::GetData { template, clause, page_size } => {
                let page = match at {
                    Position::PageNo(n) => *n,
                    _ => 1,
                };
                let clause = fill(clause, &window.since_pvx(), &window.until_pvx());
                let esc = harness_core::xml::escape;
                let params = format!(
                    "<getRequest><TemplateName>{}</TemplateName><PageNo>{page}</PageNo><ItemsPerPage>{page_size}</ItemsPerPage><SearchClause>{}</SearchClause></getRequest>",
                    esc(template),
                    esc(&clause)
                );
                system_api.soap().expect("peoplevox speaks SOAP").request(version, "GetData", &params)
            }
        }
    }

    /// The pages after `at` known before they are read — NetSuite's, once the first said how many
    /// records the listing holds — when they may be read several at a time: their positions, and
    /// how many at once.
    pub(crate) fn ahead(&self, at: &Position, total: Option<u64>) -> Option<(Vec<Position>, usize)> {
        let (Lister::SuiteQl { page_size, concurrency, .. } | Lister::RecordList { page_size, concurrency, .. }) = self
        else {
            return None;
        };
        let (Position::Offset(from), Some(total), true) = (at, total, *concurrency > 1) else { return None };
        let offsets = (*from..total).step_by(*page_size as usize).map(Position::Offset).collect();
        Some((offsets, *concurrency as usize))
    }

    /// Read the page answered to the request for `at`.
    pub(crate) fn read(&self, at: &Position, body: &[u8]) -> Result<Page, String> {
        match self {
            Lister::Graphql { .. } => {
                let v: Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
                let connection = v
                    .get("data")
                    .and_then(Value::as_object)
                    .and_then(|d| d.values().next())
                    .ok_or("the answer has no `data` connection")?;
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
            Lister::SuiteQl { .. } | Lister::RecordList { .. } => {
                let mut v: Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
                let records = match v.get_mut("items").map(Value::take) {
                    Some(Value::Array(items)) => items,
                    _ => return Err("the answer has no `items`".into()),
                };
                let more = v.get("hasMore").and_then(Value::as_bool).unwrap_or(false);
                let next = (more && !records.is_empty()).then(|| Position::Offset(offset(at) + records.len() as u64));
                Ok(Page { records, next, pause: None, total: v.get("totalResults").and_then(Value::as_u64) })
            }
            Lister::GetData { page_size, .. } => {
                let text = String::from_utf8_lossy(body);
                let envelope = harness_core::xml::parse(&text).map_err(|e| e.to_string())?;
                let result =
                    envelope.operation().and_then(|op| op.children.first()).ok_or("no GetData result in the answer")?;
                let total: u64 = result.text_at(&["TotalCount"]).and_then(|t| t.trim().parse().ok()).unwrap_or(0);
                let detail = result.text_at(&["Detail"]).unwrap_or("");
                let rows = if detail.trim().is_empty() {
                    Vec::new()
                } else {
                    harness_core::csv_text::csv_rows(detail).map_err(|e| e.to_string())?
                };
                let page = match at {
                    Position::PageNo(n) => *n,
                    _ => 1,
                };
                let more = !rows.is_empty() && u64::from(page) * u64::from(*page_size) < total;
                Ok(Page {
                    records: rows.into_iter().map(Value::Object).collect(),
                    next: more.then_some(Position::PageNo(page + 1)),
                    pause: None,
                    total: Some(total),
                })
            }
        }
    }
}

fn offset(at: &Position) -> u64 {
    match at {
        Position::Offset(o) => *o,
        _ => 0,
    }
}

fn fill(template: &str, since: &str, until: &str) -> String {
    template.replace("{since}", since).replace("{until}", until)
}

/// `mutation` or `subscription` when the GraphQL document holds one: a keyword outside every
/// selection set, comments and strings left out.
pub(crate) fn graphql_writes(document: &str) -> Option<&'static str> {
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

/// A SELECT, possibly behind a WITH.
fn is_select(q: &str) -> bool {
    let first = q.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    matches!(first.as_str(), "SELECT" | "WITH") && !q.contains(';')
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

/// Whether `request` only reads: checked again right before every send, whatever built it.
pub(crate) fn read_only(request: &OutgoingRequest) -> Result<(), String> {
    let refuse = |why: &str| {
        Err(format!("{} {} refused before sending: {why}; reconcile only reads", request.method, request.path))
    };
    match request.method.as_str() {
        "GET" => Ok(()),
        "POST" if request.path.ends_with("/graphql.json") => {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            match body.get("query").and_then(Value::as_str).map(graphql_writes) {
                Some(None) => Ok(()),
                Some(Some(op)) => refuse(&format!("a GraphQL {op} writes")),
                None => refuse("no GraphQL query"),
            }
        }
        "POST" if request.path == SUITEQL_PATH => {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let select = body.get("q").and_then(Value::as_str).is_some_and(is_select);
            if request.header("Prefer") != Some("transient") || !select {
                refuse("SuiteQL is sent as a transient SELECT")
            } else {
                Ok(())
            }
        }
        "POST" if request.path.ends_with(".asmx") => {
            match request.header("SOAPAction").map(|a| a.trim_matches('"').rsplit('/').next().unwrap_or("")) {
                Some("GetData" | "GetReportData") => Ok(()),
                _ => refuse("only GetData is called"),
            }
        }
        _ => refuse("a write"),
    }
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
    fn only_reading_requests_pass() {
        let id = SystemId::new("netsuite").unwrap();
        let mut q = OutgoingRequest::new(id.clone(), "POST", SUITEQL_PATH);
        q.body = json!({"q": "SELECT id FROM transaction"}).to_string().into();
        assert!(read_only(&q).is_err(), "without Prefer: transient");
        q.set_header("Prefer", "transient");
        assert!(read_only(&q).is_ok());
        q.body = json!({"q": "DELETE FROM transaction"}).to_string().into();
        assert!(read_only(&q).is_err());
        assert!(read_only(&OutgoingRequest::new(id.clone(), "POST", "/services/rest/record/v1/salesOrder")).is_err());
        assert!(read_only(&OutgoingRequest::new(id, "PATCH", "/services/rest/record/v1/salesOrder/1")).is_err());
    }
}
