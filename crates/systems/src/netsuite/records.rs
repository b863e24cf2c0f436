//! Listing NetSuite's records for the daily check: SuiteQL sent as a transient SELECT, or a
//! record collection read with GET, both paged by limit and offset, several pages at once when
//! the account allows; recorded pages found again by the offset they start at.

use std::collections::HashMap;
use std::path::Path;

use harness_core::{Diagnostic, Error, RecordedRequest, SystemId};
use serde_json::{Value, json};

use crate::SystemVersion;
use crate::client::OutgoingRequest;
use crate::records::{FixtureLayout, ListSpec, Lister, Page, PageKey, Period, Position, Records};

const SUITEQL_PATH: &str = "/services/rest/query/v1/suiteql";
/// Pages read at once, at most: accounts allow 5 concurrent requests (more with SuiteCloud
/// Plus), shared with the integration itself.
const MAX_CONCURRENCY: u32 = 10;
const DEFAULT_SUITEQL: &str = "SELECT id, tranid, otherrefnum, createddate, foreigntotal, shippingcost FROM transaction WHERE type = 'SalesOrd' AND createddate >= TO_TIMESTAMP({since}, 'YYYY-MM-DD HH24:MI:SS') AND createddate < TO_TIMESTAMP({until}, 'YYYY-MM-DD HH24:MI:SS') ORDER BY id";

pub(super) struct NetSuiteRecords;

#[derive(Debug)]
enum NetSuiteLister {
    SuiteQl { q: String, page_size: u32, concurrency: u32 },
    RecordList { path: String, page_size: u32, concurrency: u32 },
}

impl Records for NetSuiteRecords {
    fn keys(&self) -> &'static [&'static str] {
        &["suiteql", "method", "path", "concurrency"]
    }

    fn lister(&self, system: &SystemId, list: &ListSpec, file: &Path, text: &str) -> Result<Box<dyn Lister>, Diagnostic> {
        if let Some(c) = &list.concurrency
            && (c.value == 0 || c.value > MAX_CONCURRENCY)
        {
            return Err(c.error(file, text, format!("concurrency: 1 to {MAX_CONCURRENCY} pages at once (within the account's concurrency limit, which the integration shares)")));
        }
        let concurrency = list.concurrency.as_ref().map_or(1, |c| c.value);
        let lister = match (&list.method, &list.path, &list.suiteql) {
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
                NetSuiteLister::RecordList {
                    path: p.value.clone(),
                    page_size: list.page_size(system, 1000, 1000, file, text)?,
                    concurrency,
                }
            }
            (Some(m), None, _) => {
                return Err(m.error(file, text, "method: GET needs the record collection's `path:`"));
            }
            (None, None, Some(q)) if !is_select(&q.value) => {
                return Err(q.error(file, text, "SuiteQL here only reads: write a SELECT (or WITH … SELECT)"));
            }
            (None, None, q) => NetSuiteLister::SuiteQl {
                q: q.as_ref().map_or(DEFAULT_SUITEQL.to_string(), |q| q.value.clone()),
                page_size: list.page_size(system, 1000, 1000, file, text)?,
                concurrency,
            },
        };
        Ok(Box::new(lister))
    }

    fn read_only(&self, request: &OutgoingRequest) -> Result<(), String> {
        if request.method != "POST" || request.path != SUITEQL_PATH {
            return Err("a write".into());
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let select = body.get("q").and_then(Value::as_str).is_some_and(is_select);
        if request.header("Prefer") != Some("transient") || !select {
            Err("SuiteQL is sent as a transient SELECT".into())
        } else {
            Ok(())
        }
    }

    fn fixture_layout(&self) -> FixtureLayout {
        FixtureLayout { extension: "json", content_type: "application/json", folder_per_listing: None }
    }

    fn fixture_index(&self, pages: &mut dyn Iterator<Item = Result<Value, Error>>) -> Result<HashMap<String, usize>, Error> {
        let mut index = HashMap::new();
        let mut offset = 0usize;
        for (i, page) in pages.enumerate() {
            index.insert(offset.to_string(), i);
            offset += page?.get("items").and_then(Value::as_array).map_or(0, Vec::len);
        }
        Ok(index)
    }

    fn fixture_page(&self, request: &RecordedRequest) -> (Option<String>, Option<PageKey>) {
        let offset = request.query_pairs().into_iter().find(|(k, _)| k == "offset").map_or("0".to_string(), |(_, v)| v);
        (Some(String::new()), Some(PageKey::After(offset)))
    }
}

impl Lister for NetSuiteLister {
    fn request(&self, version: &SystemVersion, period: &Period, at: &Position) -> OutgoingRequest {
        let system = version.system.clone();
        match self {
            NetSuiteLister::SuiteQl { q, page_size, .. } => {
                let q = period.fill(q, |t| format!("'{}'", sql(t)));
                let mut r = OutgoingRequest::new(system, "POST", SUITEQL_PATH);
                r.query = vec![("limit".into(), page_size.to_string()), ("offset".into(), offset(at).to_string())];
                r.set_header("Content-Type", "application/json");
                // A SuiteQL query runs without being kept: the read-only form.
                r.set_header("Prefer", "transient");
                r.body = json!({"q": q}).to_string().into();
                r
            }
            NetSuiteLister::RecordList { path, page_size, .. } => {
                let mut r = OutgoingRequest::new(system, "GET", path.clone());
                r.query = vec![("limit".into(), page_size.to_string()), ("offset".into(), offset(at).to_string())];
                r
            }
        }
    }

    fn ahead(&self, at: &Position, total: Option<u64>) -> Option<(Vec<Position>, usize)> {
        let (NetSuiteLister::SuiteQl { page_size, concurrency, .. }
        | NetSuiteLister::RecordList { page_size, concurrency, .. }) = self;
        let (Position::Offset(from), Some(total), true) = (at, total, *concurrency > 1) else { return None };
        let offsets = (*from..total).step_by(*page_size as usize).map(Position::Offset).collect();
        Some((offsets, *concurrency as usize))
    }

    fn read(&self, at: &Position, body: &[u8]) -> Result<Page, String> {
        let mut v: Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
        let records = match v.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => return Err("the answer has no `items`".into()),
        };
        let more = v.get("hasMore").and_then(Value::as_bool).unwrap_or(false);
        let next = (more && !records.is_empty()).then(|| Position::Offset(offset(at) + records.len() as u64));
        Ok(Page { records, next, pause: None, total: v.get("totalResults").and_then(Value::as_u64) })
    }
}

fn offset(at: &Position) -> u64 {
    match at {
        Position::Offset(o) => *o,
        _ => 0,
    }
}

/// `2026-12-06 00:00:00`, as SuiteQL's TO_TIMESTAMP reads it.
fn sql(t: u64) -> String {
    harness_core::clock::rfc3339(t).replace('T', " ").trim_end_matches('Z').to_string()
}

/// A SELECT, possibly behind a WITH.
fn is_select(q: &str) -> bool {
    let first = q.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    matches!(first.as_str(), "SELECT" | "WITH") && !q.contains(';')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_selects_are_sent() {
        let id = SystemId::new(super::super::ID).unwrap();
        let mut q = OutgoingRequest::new(id.clone(), "POST", SUITEQL_PATH);
        q.body = json!({"q": "SELECT id FROM transaction"}).to_string().into();
        assert!(NetSuiteRecords.read_only(&q).is_err(), "without Prefer: transient");
        q.set_header("Prefer", "transient");
        assert!(NetSuiteRecords.read_only(&q).is_ok());
        q.body = json!({"q": "DELETE FROM transaction"}).to_string().into();
        assert!(NetSuiteRecords.read_only(&q).is_err());
        let post = OutgoingRequest::new(id.clone(), "POST", "/services/rest/record/v1/salesOrder");
        assert!(NetSuiteRecords.read_only(&post).is_err());
        assert!(NetSuiteRecords.read_only(&OutgoingRequest::new(id, "PATCH", "/services/rest/record/v1/salesOrder/1")).is_err());
    }

    #[test]
    fn instants_as_suiteql_reads_them() {
        assert_eq!(sql(harness_core::clock::unix_seconds("2026-12-06T00:00:00Z").unwrap()), "2026-12-06 00:00:00");
    }
}
