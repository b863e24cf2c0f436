//! The HTTP client of built-in flows: reqwest against the mocks, on the scenario's virtual clock.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::clock::{self, VirtualClock};
use crate::systems::SystemKind;

/// A request a built-in flow is about to send.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    pub system: SystemKind,
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl OutgoingRequest {
    pub fn new(system: SystemKind, method: &str, path: impl Into<String>) -> Self {
        OutgoingRequest { system, method: method.to_string(), path: path.into(), query: Vec::new(), headers: Vec::new(), body: Bytes::new() }
    }

    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        crate::mock::set_header(&mut self.headers, name, value.into());
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        crate::mock::find_header(&self.headers, name)
    }

    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::mock::find_header(&self.headers, name)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A request that got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("no response within {}", crate::duration::format(*.0))]
    Timeout(Duration),
    #[error("network error: {0}")]
    Network(String),
}

#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    clock: Arc<VirtualClock>,
    /// The flow's request timeout, measured on the virtual clock.
    timeout: Duration,
}

/// Real-time cap on any single request of a built-in flow; virtual time never waits this long.
const WALL_CLOCK_CAP: Duration = Duration::from_secs(20);

impl HttpClient {
    /// One reqwest client is shared by every scenario of a run (connection setup is the costly part).
    pub fn shared_reqwest() -> Result<reqwest::Client, String> {
        reqwest::Client::builder()
            .timeout(WALL_CLOCK_CAP)
            .pool_idle_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }

    pub fn new(inner: reqwest::Client, clock: Arc<VirtualClock>, timeout: Duration) -> Self {
        HttpClient { inner, clock, timeout }
    }

    pub fn clock_now(&self) -> Duration {
        self.clock.now()
    }

    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    pub async fn send(&self, base_url: &str, request: &OutgoingRequest) -> Result<HttpResponse, HttpError> {
        let mut url = format!("{base_url}{}", request.path);
        if !request.query.is_empty() {
            url.push('?');
            url.push_str(&encode_query(&request.query));
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| HttpError::Network(e.to_string()))?;
        let mut builder = self.inner.request(method, &url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder = builder.header(clock::CLOCK_HEADER, self.clock.now().as_millis().to_string());
        let response = builder.body(request.body.clone()).send().await.map_err(network_error)?;

        let status = response.status().as_u16();
        let mut delay = Duration::ZERO;
        let mut timed_out = false;
        let mut headers = Vec::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match name.as_str() {
                clock::DELAY_HEADER => delay = Duration::from_millis(value.parse().unwrap_or(0)),
                clock::FAULT_HEADER => timed_out = value == "timeout",
                n => headers.push((n.to_string(), value)),
            }
        }
        if timed_out || delay >= self.timeout {
            self.clock.advance(self.timeout);
            return Err(HttpError::Timeout(self.timeout));
        }
        self.clock.advance(delay);
        let body = response.bytes().await.map_err(network_error)?;
        Ok(HttpResponse { status, headers, body })
    }
}

fn network_error(e: reqwest::Error) -> HttpError {
    if e.is_timeout() {
        return HttpError::Timeout(WALL_CLOCK_CAP);
    }
    // The innermost cause says what happened ("connection reset by peer"); reqwest's own
    // message only says which URL failed.
    let mut cause: &dyn std::error::Error = &e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let what = if e.is_body() || e.is_decode() { "response body incomplete" } else if e.is_connect() { "connection refused" } else { "connection failed" };
    HttpError::Network(format!("{what} ({cause})"))
}

/// `a=1&b=x%20y`, in the given order.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// RFC 3986 percent-encoding (unreserved characters kept), as OAuth 1.0 signatures require.
pub fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}
