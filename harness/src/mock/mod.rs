//! Loopback HTTP servers impersonating one system at one API version each: they serve the
//! scenario's stubs, apply the system's own rules (auth, error shapes, default behaviour), play
//! scripted faults and record every exchange.
//!
//! Built on hyper directly rather than wiremock: a scenario needs connection-level faults (reset,
//! truncated body) that wiremock cannot produce, and hundreds of servers per second, which a server
//! task on the shared runtime gives more cheaply than wiremock's thread per server.

mod server;
pub mod stub;

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

pub use server::{ExchangeLog, MockServer, start};
pub use stub::{Fault, Stub};

use crate::systems::SystemKind;

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
        form_pairs(&self.query)
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `POST /services/rest/record/v1/salesOrder` (with `?query` when there is one).
    pub fn line(&self) -> String {
        if self.query.is_empty() { format!("{} {}", self.method, self.path) } else { format!("{} {}?{}", self.method, self.path, self.query) }
    }
}

/// Decode `a=1&b=x%20y` (also `+` as space), as in query strings and form bodies.
pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
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
    pub system: SystemKind,
    /// Arrival order within the scenario, across all of its mocks.
    pub seq: usize,
    pub request: RecordedRequest,
    pub response: MockResponse,
    /// The stub that answered: its name, `system` for the system's own behaviour (auth, defaults),
    /// or `None` when nothing matched.
    pub answered_by: Option<String>,
    /// The built-in flow step that sent the request, when known.
    pub step: Option<String>,
    /// When the request arrived: on the scenario's virtual clock for built-in flows, else the wall
    /// clock since the mock started.
    pub at: Duration,
}
