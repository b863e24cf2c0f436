//! Listing a live system's records, read-only and page by page, for `harness reconcile`: what a
//! system that can be listed implements ([`Records`], behind [`System::records`]), and what its
//! listers share. The paging loop, the joining and the `fixture:` folders' serving stay in the
//! reconcile crate, which knows no system.
//!
//! [`System::records`]: crate::System::records

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use harness_core::{Diagnostic, Error, RecordedRequest, SystemId};
use harness_syntax::Loc;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::SystemVersion;
use crate::client::OutgoingRequest;

/// The `list:` block of a reconciliation side, as written: each key belongs to the systems whose
/// [`Records::keys`] name it. Only reads are accepted.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListSpec {
    /// Shopify: a GraphQL query over a connection, with variables `$first`, `$after`, `$query`.
    pub graphql: Option<Loc<String>>,
    /// Shopify: the search given as `$query`; `{since}` and `{until}` are the window.
    pub search: Option<Loc<String>>,
    /// NetSuite: a SuiteQL SELECT; `{since}` and `{until}` are the window.
    pub suiteql: Option<Loc<String>>,
    /// NetSuite: instead of SuiteQL, a record collection read with GET (`/services/rest/record/v1/salesOrder`).
    pub method: Option<Loc<String>>,
    pub path: Option<Loc<String>>,
    /// Peoplevox: the GetData template (`Sales orders`, `Sales order items`, `Despatches`).
    pub template: Option<Loc<String>>,
    /// Peoplevox: the GetData search clause; `{since}` and `{until}` are the window.
    pub clause: Option<Loc<String>>,
    /// Records per page (default: Shopify 100, NetSuite 1000, Peoplevox 500).
    pub page_size: Option<Loc<u32>>,
    /// NetSuite: pages read at once, within the account's concurrency limit, which the
    /// integration shares (default 1; at most 10).
    pub concurrency: Option<Loc<u32>>,
}

impl ListSpec {
    /// The keys that say what to list, in the order they are checked.
    fn what(&self) -> [(&'static str, &Option<Loc<String>>); 7] {
        [
            ("graphql", &self.graphql),
            ("search", &self.search),
            ("suiteql", &self.suiteql),
            ("method", &self.method),
            ("path", &self.path),
            ("template", &self.template),
            ("clause", &self.clause),
        ]
    }

    /// The records per page asked for, `default` when none is: 1 to `max`.
    pub fn page_size(
        &self,
        system: &SystemId,
        default: u32,
        max: u32,
        file: &Path,
        text: &str,
    ) -> Result<u32, Diagnostic> {
        match &self.page_size {
            Some(p) if p.value == 0 || p.value > max => {
                Err(p.error(file, text, format!("page_size: {system} pages hold 1 to {max} records")))
            }
            Some(p) => Ok(p.value),
            None => Ok(default),
        }
    }
}

/// The instants a listing covers, as Unix seconds (UTC): from `since`, before `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub since: u64,
    pub until: u64,
}

impl Period {
    /// `template` with `{since}` and `{until}` replaced by the period's ends, each written by `at`.
    pub fn fill(&self, template: &str, at: impl Fn(u64) -> String) -> String {
        template.replace("{since}", &at(self.since)).replace("{until}", &at(self.until))
    }
}

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Position {
    Start,
    Cursor(String),
    Offset(u64),
    PageNo(u32),
}

/// One page read: its records, where the next starts, and a pause the system asked for before it.
pub struct Page {
    pub records: Vec<Value>,
    pub next: Option<Position>,
    pub pause: Option<Duration>,
    /// How many records the system says the listing has, when it says.
    pub total: Option<u64>,
}

/// One listing of a system's records, compiled from a `list:` block.
pub trait Lister: fmt::Debug + Send + Sync {
    /// The request for the page at `at`.
    fn request(&self, version: &SystemVersion, period: &Period, at: &Position) -> OutgoingRequest;

    /// The pages after `at` known before they are read (once the first said how many records the
    /// listing holds) when they may be read several at a time: their positions, and how many at once.
    fn ahead(&self, at: &Position, total: Option<u64>) -> Option<(Vec<Position>, usize)> {
        let _ = (at, total);
        None
    }

    /// Read the page answered to the request for `at`.
    fn read(&self, at: &Position, body: &[u8]) -> Result<Page, String>;
}

/// How a `fixture:` folder of recorded listing answers is laid out: `page-1.<extension>`,
/// `page-2.<extension>`, …, served with `content_type`.
#[derive(Debug, Clone, Copy)]
pub struct FixtureLayout {
    pub extension: &'static str,
    pub content_type: &'static str,
    /// When the system lists several kinds of record, a folder of pages per kind, and how to
    /// write one (`a folder per GetData template, e.g. sales-orders/page-1.xml`).
    pub folder_per_listing: Option<&'static str>,
}

/// Which recorded page answers a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageKey {
    /// The page's place, from 0.
    Number(usize),
    /// What the page before ended on (a cursor, an offset), as [`Records::fixture_index`] keyed it.
    After(String),
}

/// What the harness knows of listing a system's records: implemented in the system's folder.
pub trait Records: Send + Sync {
    /// The `list:` keys that say what to list from this system (`concurrency` among them when
    /// its pages may be read several at once).
    fn keys(&self) -> &'static [&'static str];

    /// The listing `list` asks for, its keys checked to be the system's; anything that would
    /// write is refused, located.
    fn lister(
        &self,
        system: &SystemId,
        list: &ListSpec,
        file: &Path,
        text: &str,
    ) -> Result<Box<dyn Lister>, Diagnostic>;

    /// Whether a request other than a GET only reads, checked again right before every send,
    /// whatever built it: `Err` says why not.
    fn read_only(&self, request: &OutgoingRequest) -> Result<(), String>;

    fn fixture_layout(&self) -> FixtureLayout;

    /// The keys of [`PageKey::After`] to each page of a recorded listing, from its pages in order
    /// (read from disk one at a time, for systems whose pages are JSON). None by default.
    fn fixture_index(
        &self,
        pages: &mut dyn Iterator<Item = Result<Value, Error>>,
    ) -> Result<HashMap<String, usize>, Error> {
        let _ = pages;
        Ok(HashMap::new())
    }

    /// The recorded page `request` asks for: the listing's folder (with
    /// [`FixtureLayout::folder_per_listing`], else empty) and the page.
    fn fixture_page(&self, request: &RecordedRequest) -> (Option<String>, Option<PageKey>);
}

/// The lister of `system`, with the `list:` keys that belong to other systems refused first.
pub fn compile(
    records: &dyn Records,
    system: &SystemId,
    list: &ListSpec,
    file: &Path,
    text: &str,
) -> Result<Box<dyn Lister>, Diagnostic> {
    let keys = records.keys();
    if let Some((name, Some(v))) = list.what().into_iter().find(|(name, v)| v.is_some() && !keys.contains(name)) {
        return Err(v.error(file, text, format!("`{name}` does not list {system}")));
    }
    if let Some(c) = &list.concurrency
        && !keys.contains(&"concurrency")
    {
        return Err(c.error(
            file,
            text,
            format!("`concurrency` does not list {system}: its pages are read one after the other"),
        ));
    }
    records.lister(system, list, file, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;

    /// The `list:` block `text` compiled for `system`: the lister's description, or the problem.
    fn compiled(system: &str, text: &str) -> Result<String, String> {
        let file = Path::new("reconcile/daily.yaml");
        let list: ListSpec = harness_syntax::yaml::parse(file, text).map_err(|d| d[0].message.clone())?;
        let id = SystemId::new(system).unwrap();
        let registry = Registry::builtin();
        let records = registry.system(&id).records().expect("listable");
        compile(records, &id, &list, file, text).map(|l| format!("{l:?}")).map_err(|d| d.message)
    }

    #[test]
    fn each_system_reads_its_own_keys() {
        assert_eq!(compiled("shopify", "template: Despatches\n"), Err("`template` does not list shopify".into()));
        assert_eq!(
            compiled("peoplevox", "concurrency: 2\n"),
            Err("`concurrency` does not list peoplevox: its pages are read one after the other".into())
        );
        assert_eq!(
            compiled("netsuite", "concurrency: 11\n"),
            Err("concurrency: 1 to 10 pages at once (within the account's concurrency limit, which the integration shares)".into())
        );
        assert_eq!(
            compiled("peoplevox", "page_size: 2000\n"),
            Err("page_size: peoplevox pages hold 1 to 1000 records".into())
        );
        let lister = compiled("netsuite", "path: /services/rest/record/v1/salesOrder\nconcurrency: 3\n").unwrap();
        assert!(lister.contains("RecordList") && lister.contains("concurrency: 3"), "{lister}");
    }

    #[test]
    fn periods_fill_since_and_until() {
        let period = Period { since: 0, until: 86_400 };
        assert_eq!(period.fill("{since}..{until}", |t| t.to_string()), "0..86400");
    }
}
