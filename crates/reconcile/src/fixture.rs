//! `fixture:` folders: one system's recorded listing answers, `page-1.json`, `page-2.json`, …
//! (or a folder of them per listing, as the system lays them out), served on loopback by the
//! harness's own mock listener, each page found from the request as the system pages (by the
//! cursor or offset the page before ended on, or a page number: the system's
//! [`Records`](harness_systems::records::Records) says). A page may also hold a recorded
//! throttling answer given once before it: `page-N.429.json` (HTTP 429, `Retry-After: 1`) or
//! `page-N.throttled.json` (HTTP 200, a throttled answer in the system's own words). Pages are
//! read from disk when asked for, so a large fixture costs no memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use harness_core::{Error, MockResponse};
use harness_mock::{BoxAnswer, Incoming, Service};
use harness_systems::System;
use harness_systems::records::{FixtureLayout, PageKey, Records};
use serde_json::Value;

pub(crate) struct Fixture {
    /// A system that can be listed ([`System::records`]): how its pages are laid out and found.
    system: Arc<dyn System>,
    layout: FixtureLayout,
    /// With a folder per listing, one book per folder, by its name; else the folder itself, as "".
    books: HashMap<String, Book>,
}

/// One listing's pages.
struct Book {
    /// Page files in order.
    pages: Vec<PathBuf>,
    /// The page each [`PageKey::After`] leads to.
    index: HashMap<String, usize>,
    /// Throttling answers not given yet, by page.
    throttles: Mutex<HashMap<usize, (u16, PathBuf)>>,
}

impl Fixture {
    pub(crate) fn open(system: Arc<dyn System>, dir: &Path) -> Result<Fixture, Error> {
        let records = system.records().expect("checked at load: the system can be listed");
        let layout = records.fixture_layout();
        let mut books = HashMap::new();
        if let Some(example) = layout.folder_per_listing {
            for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
                let path = entry.map_err(|e| Error::io(dir, e))?.path();
                if path.is_dir() {
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    books.insert(name, Book::open(records, &layout, &path)?);
                }
            }
            if books.is_empty() {
                return Err(Error::Usage(format!("fixture {}: {example}", dir.display())));
            }
        } else {
            books.insert(String::new(), Book::open(records, &layout, dir)?);
        }
        Ok(Fixture { system, layout, books })
    }

    fn answer_page(&self, incoming: Incoming) -> MockResponse {
        let request = &incoming.request;
        let records = self.system.records().expect("checked at open");
        let (book, key) = records.fixture_page(request);
        let book = book.and_then(|b| self.books.get(&b));
        let page = match (book, key) {
            (Some(_), Some(PageKey::Number(n))) => Some(n),
            (Some(book), Some(PageKey::After(after))) => book.index.get(&after).copied(),
            _ => None,
        };
        let (Some(book), Some(page)) = (book, page) else {
            return MockResponse::text(404, "text/plain", format!("the fixture has no page for {}", request.line()));
        };
        book.answer(page, self.layout.content_type)
    }
}

impl Book {
    fn open(records: &dyn Records, layout: &FixtureLayout, dir: &Path) -> Result<Book, Error> {
        let ext = layout.extension;
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
        // Each page the system asks for is read once here, for where the next starts, then let go.
        let mut json = pages.iter().map(|page| {
            let text = std::fs::read(page).map_err(|e| Error::io(page, e))?;
            serde_json::from_slice::<Value>(&text)
                .map_err(|e| Error::Usage(format!("fixture {}: not JSON: {e}", page.display())))
        });
        let index = records.fixture_index(&mut json)?;
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
