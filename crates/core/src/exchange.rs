//! What one request to a mock was and what it was answered: the record every later stage (checks,
//! snapshots, reports, analyses) reads, and the connection-level faults a mock can play.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use crate::SystemId;

/// A request as the mock received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    pub fn query_pairs(&self) -> Vec<(String, String)> {
        crate::encoding::form_pairs(&self.query)
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `POST /services/rest/record/v1/salesOrder` (with `?query` when there is one).
    pub fn line(&self) -> String {
        if self.query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.query)
        }
    }
}

/// What a mock answers.
#[derive(Debug, Clone, PartialEq)]
pub struct MockResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Time the answer takes. On the virtual clock of built-in flows it is reported, not slept.
    pub delay: Option<Duration>,
    /// A connection-level fault played instead of (or after) the response.
    pub fault: Option<Fault>,
}

impl MockResponse {
    pub fn new(status: u16) -> Self {
        MockResponse { status, headers: Vec::new(), body: Bytes::new(), delay: None, fault: None }
    }

    pub fn json(status: u16, body: &Value) -> Self {
        let mut r = MockResponse::new(status).header("Content-Type", "application/json; charset=utf-8");
        r.body = Bytes::from(serde_json::to_vec(body).expect("JSON values serialise"));
        r
    }

    pub fn text(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        let mut r = MockResponse::new(status).header("Content-Type", content_type);
        r.body = body.into();
        r
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_header(name, value);
        self
    }

    /// Set (replace) a header.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        set_header(&mut self.headers, name, value.into());
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// A header's value by case-insensitive name.
pub fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Set (replace) a header by case-insensitive name.
pub fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    match headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some(h) => h.1 = value,
        None => headers.push((name.to_string(), value)),
    }
}

/// One request a mock received, with what it answered.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub system: SystemId,
    /// Arrival order within the scenario, across all of its mocks.
    pub seq: usize,
    pub request: RecordedRequest,
    pub response: MockResponse,
    /// The stub that answered: its name, `system` for the system's own rules (auth, stored
    /// records), `default: …` for an answer the mock guessed (`default: SuiteQL, 0 rows`), or
    /// `None` when nothing matched.
    pub answered_by: Option<String>,
    /// The built-in flow step that sent the request, when known.
    pub step: Option<String>,
    /// When the request arrived: on the scenario's virtual clock for built-in flows, else the wall
    /// clock since the mock started.
    pub at: Duration,
}

/// Network faults a mock can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The connection is reset before any response.
    Reset,
    /// The connection is closed cleanly before any response.
    Close,
    /// No answer within the client's timeout (the request was still received and acted on).
    Timeout,
    /// Headers and part of the body are sent, then the connection closes.
    Truncate,
}

impl Fault {
    /// How a fault shows in a snapshot's `response`.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::Reset => "connection reset",
            Fault::Close => "connection closed without a response",
            Fault::Timeout => "answer lost (timeout)",
            Fault::Truncate => "answer truncated",
        }
    }

    /// Whether the request can have been carried out: a timeout or truncated answer comes after
    /// the work is done; a reset or close comes before any answer.
    pub fn after_commit(self) -> bool {
        matches!(self, Fault::Timeout | Fault::Truncate)
    }
}
