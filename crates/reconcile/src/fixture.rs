//! `fixture:` folders: one system's recorded listing answers, `page-1.json`, `page-2.json`, …
//! (Peoplevox: `page-1.xml`, … in a folder per GetData template), served on loopback by the harness's own mock listener, each page
//! found from the request as the system pages — Shopify by the cursor the page before ended
//! on, NetSuite by offset, Peoplevox by `PageNo`. A page may also hold a recorded throttling
//! answer given once before it: `page-N.429.json` (HTTP 429, `Retry-After: 1`) or
//! `page-N.throttled.json` (HTTP 200, Shopify's `THROTTLED`). Pages are read from disk when
//! asked for, so a large fixture costs no memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use harness_core::{Error, MockResponse};
use harness_mock::{BoxAnswer, Incoming, Service};
use serde_json::Value;

use crate::listers::Kind;

pub(crate) struct Fixture {
    kind: Kind,
    /// Peoplevox: one book per template, in a folder named after it (`sales-order-items` for
    /// `Sales order items`); the others: the folder itself.
    books: HashMap<String, Book>,
}

/// One listing's pages.
struct Book {
    /// Page files in order.
    pages: Vec<PathBuf>,
    /// Shopify: the page a cursor leads to; NetSuite: the page an offset starts.
    index: HashMap<String, usize>,
    /// Throttling answers not given yet, by page.
    throttles: Mutex<HashMap<usize, (u16, PathBuf)>>,
}

/// `Sales order items` → `sales-order-items`.
fn slug(template: &str) -> String {
    template.trim().to_ascii_lowercase().split_whitespace().collect::<Vec<_>>().join("-")
}

impl Fixture {
    pub(crate) fn open(kind: Kind, dir: &Path) -> Result<Fixture, Error> {
        let mut books = HashMap::new();
        if kind == Kind::Peoplevox {
            for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
                let path = entry.map_err(|e| Error::io(dir, e))?.path();
                if path.is_dir() {
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    books.insert(name, Book::open(kind, &path)?);
                }
            }
            if books.is_empty() {
                return Err(Error::Usage(format!(
                    "fixture {}: a folder per GetData template, e.g. sales-orders/page-1.xml",
                    dir.display()
                )));
            }
        } else {
            books.insert(String::new(), Book::open(kind, dir)?);
        }
        Ok(Fixture { kind, books })
    }

    fn answer_page(&self, incoming: Incoming) -> MockResponse {
        let content_type = if self.kind == Kind::Peoplevox { "text/xml; charset=utf-8" } else { "application/json" };
        let request = &incoming.request;
        let body = request.body_text();
        let element = |name: &str| {
            let open = format!("<{name}>");
            let start = body.find(&open)? + open.len();
            Some(body[start..start + body[start..].find(&format!("</{name}>"))?].trim().to_string())
        };
        let (book, page) = match self.kind {
            Kind::Shopify => {
                let book = &self.books[""];
                let page = match request.json().and_then(|j| j.get("variables")?.get("after").cloned()) {
                    Some(Value::String(cursor)) => book.index.get(&cursor).copied(),
                    _ => Some(0),
                };
                (Some(book), page)
            }
            Kind::NetSuite => {
                let book = &self.books[""];
                let offset =
                    request.query_pairs().into_iter().find(|(k, _)| k == "offset").map_or("0".to_string(), |(_, v)| v);
                (Some(book), book.index.get(&offset).copied())
            }
            Kind::Peoplevox => (
                element("TemplateName").and_then(|t| {
                    self.books
                        .get(&slug(&harness_core::xml::parse(&format!("<t>{t}</t>")).map(|e| e.text).unwrap_or(t)))
                }),
                element("PageNo").and_then(|n| n.parse::<usize>().ok()?.checked_sub(1)),
            ),
        };
        let (Some(book), Some(page)) = (book, page) else {
            return MockResponse::text(404, "text/plain", format!("the fixture has no page for {}", request.line()));
        };
        book.answer(page, content_type)
    }
}

impl Book {
    fn open(kind: Kind, dir: &Path) -> Result<Book, Error> {
        let ext = if kind == Kind::Peoplevox { "xml" } else { "json" };
        let mut pages: Vec<(u32, PathBuf)> = Vec::new();
        let mut throttles = HashMap::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let path = entry.map_err(|e| Error::io(dir, e))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let Some(stem) = name.strip_prefix("page-").and_then(|n| n.strip_suffix(&format!(".{ext}"))) else {
                continue;
            };
            let (number, throttle) = match stem.split_once('.') {
                Some((n, "429")) => (n, Some(429)),
                Some((n, "throttled")) => (n, Some(200)),
                Some(_) => continue,
                None => (stem, None),
            };
            let Ok(n) = number.parse::<u32>() else { continue };
            match throttle {
                Some(status) => {
                    throttles.insert((n as usize).saturating_sub(1), (status, path));
                }
                None => pages.push((n, path)),
            }
        }
        pages.sort();
        if pages.is_empty() || pages.iter().enumerate().any(|(i, (n, _))| *n as usize != i + 1) {
            return Err(Error::Usage(format!(
                "fixture {}: the pages must be page-1.{ext}, page-2.{ext}, … without gaps",
                dir.display()
            )));
        }
        let pages: Vec<PathBuf> = pages.into_iter().map(|(_, p)| p).collect();
        // Each page is read once here for where the next starts, then let go.
        let mut index = HashMap::new();
        let mut offset = 0usize;
        for (i, page) in pages.iter().enumerate().take_while(|_| kind != Kind::Peoplevox) {
            let text = std::fs::read(page).map_err(|e| Error::io(page, e))?;
            let v: Value = serde_json::from_slice(&text)
                .map_err(|e| Error::Usage(format!("fixture {}: not JSON: {e}", page.display())))?;
            if kind == Kind::Shopify {
                let cursor = v
                    .get("data")
                    .and_then(Value::as_object)
                    .and_then(|d| d.values().next())
                    .and_then(|c| c.get("pageInfo")?.get("endCursor")?.as_str().map(str::to_string));
                if let Some(c) = cursor {
                    index.insert(c, i + 1);
                }
            } else {
                index.insert(offset.to_string(), i);
                offset += v.get("items").and_then(Value::as_array).map_or(0, Vec::len);
            }
        }
        Ok(Book { pages, index, throttles: Mutex::new(throttles) })
    }

    fn answer(&self, page: usize, content_type: &str) -> MockResponse {
        let Some(path) = self.pages.get(page) else {
            return MockResponse::text(404, "text/plain", format!("the fixture has {} page(s)", self.pages.len()));
        };
        let throttle = self.throttles.lock().expect("fixture throttles").remove(&page);
        if let Some((status, path)) = throttle {
            let response = MockResponse::text(status, content_type, std::fs::read(&path).unwrap_or_default());
            return if status == 429 { response.header("Retry-After", "1") } else { response };
        }
        match std::fs::read(path) {
            Ok(body) => MockResponse::text(200, content_type, body),
            Err(e) => MockResponse::text(500, "text/plain", format!("cannot read {}: {e}", path.display())),
        }
    }
}

impl Service for Fixture {
    fn answer(&self, incoming: Incoming) -> BoxAnswer<'_> {
        let response = self.answer_page(incoming);
        Box::pin(async move { response })
    }
    fn virtual_time(&self) -> bool {
        false
    }
    fn crashed(&self, _: String) {}
    fn limit_exceeded(&self, _: String) {}
    fn environment_failed(&self, _: String) {}
}
