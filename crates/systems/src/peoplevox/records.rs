//! Listing Peoplevox's rows for the daily check: `GetData` of a template, paged by page number;
//! recorded pages kept in a folder per template and found again by `PageNo`.

use std::path::Path;

use harness_core::{Diagnostic, RecordedRequest, SystemId};
use serde_json::Value;

use crate::SystemVersion;
use crate::client::OutgoingRequest;
use crate::records::{FixtureLayout, ListSpec, Lister, Page, PageKey, Period, Position, Records};

const DEFAULT_TEMPLATE: &str = "Sales orders";
const DEFAULT_CLAUSE: &str = "CreatedDate >= {since} AND CreatedDate < {until}";

pub(super) struct PeoplevoxRecords;

#[derive(Debug)]
struct GetData {
    template: String,
    clause: String,
    page_size: u32,
}

impl Records for PeoplevoxRecords {
    fn keys(&self) -> &'static [&'static str] {
        &["template", "clause"]
    }

    fn lister(&self, system: &SystemId, list: &ListSpec, file: &Path, text: &str) -> Result<Box<dyn Lister>, Diagnostic> {
        Ok(Box::new(GetData {
            template: list.template.as_ref().map_or(DEFAULT_TEMPLATE.to_string(), |t| t.value.clone()),
            clause: list.clause.as_ref().map_or(DEFAULT_CLAUSE.to_string(), |c| c.value.clone()),
            page_size: list.page_size(system, 500, 1000, file, text)?,
        }))
    }

    fn read_only(&self, request: &OutgoingRequest) -> Result<(), String> {
        if request.method != "POST" || !request.path.ends_with(".asmx") {
            return Err("a write".into());
        }
        match request.header("SOAPAction").map(|a| a.trim_matches('"').rsplit('/').next().unwrap_or("")) {
            Some("GetData" | "GetReportData") => Ok(()),
            _ => Err("only GetData is called".into()),
        }
    }

    fn fixture_layout(&self) -> FixtureLayout {
        FixtureLayout {
            extension: "xml",
            content_type: "text/xml; charset=utf-8",
            folder_per_listing: Some("a folder per GetData template, e.g. sales-orders/page-1.xml"),
        }
    }

    /// The template's folder (`sales-order-items` for `Sales order items`) and the page `PageNo` names.
    fn fixture_page(&self, request: &RecordedRequest) -> (Option<String>, Option<PageKey>) {
        let body = request.body_text();
        let element = |name: &str| {
            let open = format!("<{name}>");
            let start = body.find(&open)? + open.len();
            Some(body[start..start + body[start..].find(&format!("</{name}>"))?].trim().to_string())
        };
        let folder = element("TemplateName")
            .map(|t| slug(&harness_core::xml::parse(&format!("<t>{t}</t>")).map(|e| e.text).unwrap_or(t)));
        let page = element("PageNo").and_then(|n| n.parse::<usize>().ok()?.checked_sub(1)).map(PageKey::Number);
        (folder, page)
    }
}

/// `Sales order items` → `sales-order-items`.
fn slug(template: &str) -> String {
    template.trim().to_ascii_lowercase().split_whitespace().collect::<Vec<_>>().join("-")
}

impl Lister for GetData {
    fn request(&self, version: &SystemVersion, period: &Period, at: &Position) -> OutgoingRequest {
        let page = match at {
            Position::PageNo(n) => *n,
            _ => 1,
        };
        let clause = period.fill(&self.clause, pvx);
        let esc = harness_core::xml::escape;
        let params = format!(
            "<getRequest><TemplateName>{}</TemplateName><PageNo>{page}</PageNo><ItemsPerPage>{}</ItemsPerPage><SearchClause>{}</SearchClause></getRequest>",
            esc(&self.template),
            self.page_size,
            esc(&clause)
        );
        super::soap_request(version, "GetData", &params)
    }

    fn read(&self, at: &Position, body: &[u8]) -> Result<Page, String> {
        let text = String::from_utf8_lossy(body);
        let envelope = harness_core::xml::parse(&text).map_err(|e| e.to_string())?;
        let result = envelope.operation().and_then(|op| op.children.first()).ok_or("no GetData result in the answer")?;
        let total: u64 = result.text_at(&["TotalCount"]).and_then(|t| t.trim().parse().ok()).unwrap_or(0);
        let detail = result.text_at(&["Detail"]).unwrap_or("");
        let rows =
            if detail.trim().is_empty() { Vec::new() } else { harness_core::csv_text::csv_rows(detail).map_err(|e| e.to_string())? };
        let page = match at {
            Position::PageNo(n) => *n,
            _ => 1,
        };
        let more = !rows.is_empty() && u64::from(page) * u64::from(self.page_size) < total;
        Ok(Page {
            records: rows.into_iter().map(Value::Object).collect(),
            next: more.then_some(Position::PageNo(page + 1)),
            pause: None,
            total: Some(total),
        })
    }
}

/// `DateTime(2026,12,06,00,00,00)`, as Peoplevox search clauses write instants.
fn pvx(t: u64) -> String {
    let text = harness_core::clock::rfc3339(t);
    let n: Vec<&str> = text.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).collect();
    format!("DateTime({})", n.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_as_search_clauses_write_them() {
        assert_eq!(pvx(harness_core::clock::unix_seconds("2026-12-06T00:00:00Z").unwrap()), "DateTime(2026,12,06,00,00,00)");
        assert_eq!(slug(" Sales order  items"), "sales-order-items");
    }
}
