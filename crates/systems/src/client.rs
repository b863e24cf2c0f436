//! The HTTP client of built-in flows: reqwest against the mocks, on the scenario's virtual clock,
//! and the credentials it carries — obtained once, refreshed once per expiry however many requests
//! notice it at the same time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use harness_core::SystemId;
use harness_core::clock::{self, VirtualClock};

use crate::tls::TlsConnector;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A way a client proves who it is: obtains a credential when it needs one and puts it on each
/// request.
pub trait AuthScheme: Send + Sync {
    /// Obtain a fresh credential (a token, a session); schemes that need none return it empty.
    fn obtain<'a>(&'a self, http: &'a HttpClient) -> BoxFuture<'a, Result<String, AuthError>>;
    /// Put `credential` on `request`; `nonce` is unique per request of the run.
    fn apply(&self, credential: &str, request: &mut OutgoingRequest, nonce: u64, now: Duration);
    /// Whether a refused credential can be replaced by asking again (tokens and sessions can;
    /// fixed access tokens and signed requests cannot).
    fn refreshable(&self) -> bool;
}

/// A request a built-in flow is about to send.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    pub system: SystemId,
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl OutgoingRequest {
    pub fn new(system: SystemId, method: &str, path: impl Into<String>) -> Self {
        OutgoingRequest {
            system,
            method: method.to_string(),
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        harness_core::set_header(&mut self.headers, name, value.into());
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        harness_core::find_header(&self.headers, name)
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
        harness_core::find_header(&self.headers, name)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A request that got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("no response within {}", harness_core::duration::format(*.0))]
    Timeout(Duration),
    #[error("network error: {0}")]
    Network(String),
    /// The request would not go to the mock it is for; it was never sent.
    #[error("{0}")]
    Refused(String),
    /// The machine had no file descriptor left to connect with.
    #[error("{0}")]
    Exhausted(String),
}

/// Why a client has no credential to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The request for a credential (`asking`: "token request", "Authenticate") got no usable answer.
    #[error("{asking} failed: {source}")]
    Unanswered { asking: &'static str, source: HttpError },
    /// The system answered, and said no.
    #[error("{asking} refused: {detail}")]
    Refused { asking: &'static str, detail: String },
    /// The answer held no credential, or the account's own credentials cannot ask for one.
    #[error("{0}")]
    Unusable(String),
}

/// reqwest could not build its client: the machine's fault, not the user's files.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientUnavailable(#[from] reqwest::Error);

impl From<ClientUnavailable> for harness_core::Error {
    fn from(e: ClientUnavailable) -> Self {
        harness_core::Error::Environment(e.to_string())
    }
}

#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    clock: Arc<VirtualClock>,
    /// The flow's request timeout, measured on the virtual clock.
    timeout: Duration,
    /// HTTPS, for the clients of the live systems only: the mocks are plain HTTP.
    tls: Option<TlsConnector>,
}

/// Real-time cap on any single request of a built-in flow; virtual time never waits this long.
const WALL_CLOCK_CAP: Duration = Duration::from_secs(20);

impl HttpClient {
    /// One reqwest client is shared by every scenario of a run (connection setup is the costly part).
    pub fn shared_reqwest() -> Result<reqwest::Client, ClientUnavailable> {
        reqwest::Client::builder()
            .timeout(WALL_CLOCK_CAP)
            .pool_idle_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .no_proxy()
            // A redirect is an answer the flow sees (and the snapshot shows), never a request to
            // wherever the `Location` points: nothing leaves the mocks.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ClientUnavailable)
    }

    pub fn new(inner: reqwest::Client, clock: Arc<VirtualClock>, timeout: Duration) -> Self {
        HttpClient { inner, clock, timeout, tls: None }
    }

    /// This client also speaks HTTPS (to a live system), through `tls`, each request within the
    /// timeout in real time.
    pub fn with_tls(mut self, tls: TlsConnector) -> Self {
        self.tls = Some(tls);
        self
    }

    pub fn clock_now(&self) -> Duration {
        self.clock.now()
    }

    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    pub async fn send(&self, base_url: &str, request: &OutgoingRequest) -> Result<HttpResponse, HttpError> {
        let url = mock_url(base_url, &request.path, &request.query)?;
        if url.scheme() == "https" {
            let tls = self
                .tls
                .as_ref()
                .ok_or_else(|| HttpError::Refused(format!("{base_url}: HTTPS goes only to the live systems")))?;
            return tokio::time::timeout(self.timeout, send_tls(tls, &url, request))
                .await
                .map_err(|_| HttpError::Timeout(self.timeout))?;
        }
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| HttpError::Network(e.to_string()))?;
        let mut builder = self.inner.request(method, url);
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

/// `request` to `url` over TLS: HTTP/1.1 on a connection of its own. No clock header: a live
/// system keeps its own time.
async fn send_tls(
    tls: &TlsConnector,
    url: &reqwest::Url,
    request: &OutgoingRequest,
) -> Result<HttpResponse, HttpError> {
    // An IPv6 address is connected to without the brackets it has in the URL.
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(443);
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut builder =
        hyper::Request::builder().method(request.method.as_str()).uri(target).header("Host", url.authority());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let hyper_request = builder
        .body(http_body_util::Full::new(request.body.clone()))
        .map_err(|e| HttpError::Refused(format!("cannot send {}: {e}", request.line())))?;
    let network = |e: crate::tls::ExchangeError| HttpError::Network(e.to_string());
    let stream = crate::tls::connect(tls, host, port).await.map_err(network)?;
    let (status, headers, body) =
        crate::tls::exchange(stream, hyper_request, crate::tls::MAX_BODY).await.map_err(network)?;
    Ok(HttpResponse { status, headers, body })
}

/// The URL of `path` on the mock at `base`, built by parsing: the path is set as a path (it cannot
/// carry a scheme, user or host, whatever `@`, `//` or `\\` it holds), and the result must still
/// be the mock's scheme, host and port — else the request is refused, naming the path.
fn mock_url(base: &str, path: &str, query: &[(String, String)]) -> Result<reqwest::Url, HttpError> {
    let refused =
        |why: &str| HttpError::Refused(format!("request path `{path}` refused: {why}; requests go only to the mock"));
    if !path.starts_with('/') || path.starts_with("//") || path.starts_with("/\\") {
        return Err(refused("a path starts with a single `/`"));
    }
    let base = reqwest::Url::parse(base)
        .map_err(|e| HttpError::Refused(format!("the mock's URL `{base}` does not parse: {e}")))?;
    let mut url = base.clone();
    url.set_path(path);
    url.set_query((!query.is_empty()).then(|| harness_core::encoding::encode_query(query)).as_deref());
    if (url.scheme(), url.host(), url.port_or_known_default(), url.username(), url.password())
        != (base.scheme(), base.host(), base.port_or_known_default(), "", None)
    {
        return Err(refused("it would leave the mock's host"));
    }
    Ok(url)
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
        // EMFILE, ENFILE: the process or the system is out of file descriptors.
        if next.downcast_ref::<std::io::Error>().is_some_and(|io| matches!(io.raw_os_error(), Some(23 | 24))) {
            return HttpError::Exhausted(format!(
                "cannot connect to a mock: {next} (raise the open-file limit, `ulimit -n`, or run fewer jobs)"
            ));
        }
    }
    let what = if e.is_body() || e.is_decode() {
        "response body incomplete"
    } else if e.is_connect() {
        "connection refused"
    } else {
        "connection failed"
    };
    HttpError::Network(format!("{what} ({cause})"))
}

/// A system's credential for one flow run: the scheme, the current credential and its
/// generation. A refresh bumps the generation, so concurrent requests that saw the same expiry
/// cause one refresh between them.
pub struct ClientAuth {
    scheme: Box<dyn AuthScheme>,
    credential: tokio::sync::Mutex<(Option<String>, u64)>,
    refreshes: AtomicUsize,
    nonce: AtomicU64,
}

impl ClientAuth {
    pub fn new(scheme: Box<dyn AuthScheme>) -> Self {
        ClientAuth { scheme, credential: tokio::sync::Mutex::new((None, 0)), refreshes: 0.into(), nonce: 0.into() }
    }

    /// How many times a credential was obtained after the first (refreshes after expiry).
    pub fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }

    /// Add credentials to `request`, obtaining them first if needed. Returns the credential
    /// generation used, to pass back to [`ClientAuth::expired`].
    pub async fn authorize(&self, http: &HttpClient, request: &mut OutgoingRequest) -> Result<u64, AuthError> {
        let (credential, generation) = {
            let mut guard = self.credential.lock().await;
            if guard.0.is_none() {
                guard.0 = Some(self.scheme.obtain(http).await?);
            }
            guard.clone()
        };
        let nonce = self.nonce.fetch_add(1, Ordering::SeqCst);
        self.scheme.apply(credential.as_deref().unwrap_or_default(), request, nonce, http.clock_now());
        Ok(generation)
    }

    /// The system said the credential of `generation` is no longer valid: drop it so the next
    /// [`ClientAuth::authorize`] obtains a new one.
    pub async fn expired(&self, generation: u64) {
        let mut guard = self.credential.lock().await;
        if guard.1 == generation && guard.0.is_some() {
            guard.0 = None;
            guard.1 += 1;
            self.refreshes.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub fn refreshable(&self) -> bool {
        self.scheme.refreshable()
    }
}

/// No credentials at all (to test that a mock refuses).
pub struct NoAuth;

impl AuthScheme for NoAuth {
    fn obtain<'a>(&'a self, _: &'a HttpClient) -> BoxFuture<'a, Result<String, AuthError>> {
        Box::pin(std::future::ready(Ok(String::new())))
    }
    fn apply(&self, _: &str, _: &mut OutgoingRequest, _: u64, _: Duration) {}
    fn refreshable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOCK: &str = "http://127.0.0.1:40123";

    #[test]
    fn auth_errors_read_as_they_always_did() {
        let unanswered =
            AuthError::Unanswered { asking: "token request", source: HttpError::Network("connection refused".into()) };
        assert_eq!(unanswered.to_string(), "token request failed: network error: connection refused");
        let refused = AuthError::Refused { asking: "Authenticate", detail: "bad password".into() };
        assert_eq!(refused.to_string(), "Authenticate refused: bad password");
    }

    #[test]
    fn urls_stay_on_the_mock() {
        let url = mock_url(MOCK, "/orders/%231001", &[("a".into(), "b c".into())]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:40123/orders/%231001?a=b%20c");
        // Whatever a path holds, it stays a path on the mock's host.
        for path in ["/@127.0.0.2:18099/x", "/x//127.0.0.2/y", "/x\\@127.0.0.2/y", "/http://127.0.0.2/x", "/x?y#z"] {
            let url = mock_url(MOCK, path, &[]).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!((url.host_str(), url.port()), (Some("127.0.0.1"), Some(40123)), "{path} → {url}");
        }
        for path in ["@127.0.0.2:18099/x", "//127.0.0.2/x", "/\\127.0.0.2/x", "http://127.0.0.2/x", ""] {
            let err = mock_url(MOCK, path, &[]).unwrap_err();
            assert!(matches!(&err, HttpError::Refused(m) if m.contains(path)), "{path}: {err}");
        }
    }
}
