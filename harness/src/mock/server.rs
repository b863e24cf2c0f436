//! The loopback server behind each mock.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::{Exchange, Fault, MockResponse, RecordedRequest, Stub};
use crate::clock;
use crate::systems::{SystemKind, SystemMock};

/// Everything the scenario's mocks received, in arrival order across all of them.
#[derive(Default)]
pub struct ExchangeLog {
    next_seq: AtomicUsize,
    exchanges: Mutex<Vec<Exchange>>,
    /// Requests a mock crashed on: the client only saw the connection drop.
    crashes: Mutex<Vec<String>>,
}

impl ExchangeLog {
    pub fn new() -> Arc<Self> {
        Arc::new(ExchangeLog::default())
    }

    /// Everything recorded, in arrival order; the log is empty afterwards.
    pub fn take(&self) -> Vec<Exchange> {
        let mut all = std::mem::take(&mut *self.exchanges.lock().expect("exchange log lock"));
        all.sort_by_key(|e| e.seq);
        all
    }

    /// Why mocks crashed, if any did; emptied like `take`.
    pub fn take_crashes(&self) -> Vec<String> {
        let mut all = std::mem::take(&mut *self.crashes.lock().expect("exchange log lock"));
        all.sort();
        all
    }

    fn push(&self, mut exchange: Exchange) {
        exchange.seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        self.exchanges.lock().expect("exchange log lock").push(exchange);
    }
}

struct State {
    system: SystemKind,
    behaviour: Arc<dyn SystemMock>,
    stubs: Arc<[Stub]>,
    calls: Vec<AtomicUsize>,
    log: Arc<ExchangeLog>,
    /// Built-in flows run on a virtual clock: delays are reported to the client, not slept.
    virtual_time: bool,
    started: Instant,
}

/// A running mock. Dropping it stops the server and closes its connections.
pub struct MockServer {
    pub system: SystemKind,
    pub base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Start a mock for `system` on an ephemeral 127.0.0.1 port.
pub async fn start(
    system: SystemKind,
    behaviour: Arc<dyn SystemMock>,
    stubs: Arc<[Stub]>,
    log: Arc<ExchangeLog>,
    virtual_time: bool,
) -> io::Result<MockServer> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let calls = stubs.iter().map(|_| AtomicUsize::new(0)).collect();
    let state = Arc::new(State { system, behaviour, stubs, calls, log, virtual_time, started: Instant::now() });
    let (tx, mut rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        // Dropping the set aborts every open connection when the server stops.
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut rx => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else {
                        // Out of file descriptors, say: retrying at once would only spin.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    connections.spawn(serve(stream, state));
                }
                Some(joined) = connections.join_next(), if !connections.is_empty() => {
                    if let Err(e) = joined
                        && e.is_panic()
                    {
                        let message = crate::error::panic_message(&*e.into_panic());
                        state.log.crashes.lock().expect("exchange log lock").push(format!("the {system} mock crashed answering a request ({message}); this is a bug in the harness, please report it"));
                    }
                }
            }
        }
    });
    Ok(MockServer { system, base_url: format!("http://{addr}"), shutdown: Some(tx) })
}

type Body = BoxBody<Bytes, io::Error>;

async fn serve(stream: TcpStream, state: Arc<State>) {
    let graceful = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(ClosingStream { inner: stream, graceful: graceful.clone() });
    let service = service_fn(move |req| {
        let (state, graceful) = (state.clone(), graceful.clone());
        async move { handle(req, state, graceful).await }
    });
    let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(io, service).await;
}

#[derive(Debug)]
struct Aborted;
impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection aborted by a scripted fault")
    }
}
impl std::error::Error for Aborted {}

async fn handle(req: Request<Incoming>, state: Arc<State>, graceful: Arc<AtomicBool>) -> Result<Response<Body>, Aborted> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let request = RecordedRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .filter(|(name, _)| !name.as_str().starts_with(clock::HEADER_PREFIX))
            .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body,
    };
    let at = clock::request_time(&parts.headers).unwrap_or_else(|| state.started.elapsed());
    let step = parts.headers.get(clock::STEP_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);

    let (mut response, answered_by) = answer(&state, &request, at);
    state.behaviour.decorate(&request, &mut response);
    state.log.push(Exchange { system: state.system, seq: 0, request, response: response.clone(), answered_by, step, at });

    if state.virtual_time {
        clock::annotate(&mut response);
    } else if let Some(delay) = response.delay {
        tokio::time::sleep(delay).await;
    }
    match response.fault {
        Some(Fault::Reset) => Err(Aborted),
        Some(Fault::Close) => {
            graceful.store(true, Ordering::SeqCst);
            Err(Aborted)
        }
        Some(Fault::Timeout) if !state.virtual_time => {
            // Hold the request open; the client's timeout ends it, or the scenario's end does.
            std::future::pending::<()>().await;
            Err(Aborted)
        }
        Some(Fault::Truncate) => Ok(truncated(&response)),
        _ => Ok(build(&response, Body::new(http_body_util::Full::new(response.body.clone()).map_err(|never: Infallible| match never {})))),
    }
}

/// The system's gate (auth, required headers), then the scenario's stubs in order, then the
/// system's default behaviour.
fn answer(state: &State, request: &RecordedRequest, at: Duration) -> (MockResponse, Option<String>) {
    if let Some(refusal) = state.behaviour.gate(request, at) {
        return (refusal, Some("system".to_string()));
    }
    for (i, stub) in state.stubs.iter().enumerate() {
        if stub.matcher.matches(request) {
            let call = state.calls[i].fetch_add(1, Ordering::SeqCst);
            if stub.times.is_some_and(|n| call >= n) {
                continue;
            }
            let response = state.behaviour.render(request, stub.response_for_call(call).clone(), at);
            return (response, Some(stub.name.clone()));
        }
    }
    match state.behaviour.default_response(request, at) {
        Some(r) => (r, Some("system".to_string())),
        None => (state.behaviour.not_found(request), None),
    }
}

fn build(response: &MockResponse, body: Body) -> Response<Body> {
    let mut builder = Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(Body::new(http_body_util::Empty::new().map_err(|never: Infallible| match never {})));
        *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// Headers announce the whole body; half of it arrives, then the connection fails.
fn truncated(response: &MockResponse) -> Response<Body> {
    let full = response.body.clone();
    let half = full.slice(..full.len() / 2);
    let frames: Vec<Result<Frame<Bytes>, io::Error>> =
        vec![Ok(Frame::data(half)), Err(io::Error::new(io::ErrorKind::ConnectionAborted, "truncated by a scripted fault"))];
    let mut r = build(response, Body::new(StreamBody::new(futures_lite_iter(frames))));
    r.headers_mut().insert(hyper::header::CONTENT_LENGTH, full.len().into());
    r
}

fn futures_lite_iter<T>(items: Vec<T>) -> impl futures_core::Stream<Item = T> {
    struct Iter<T>(std::vec::IntoIter<T>);
    impl<T> futures_core::Stream for Iter<T> {
        type Item = T;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
            Poll::Ready(self.0.next())
        }
    }
    impl<T> Unpin for Iter<T> {}
    Iter(items.into_iter())
}

/// A mock's side of a connection. It closes with RST: a scripted reset needs it, and at the end of a
/// scenario it leaves no TIME_WAIT socket behind (thousands of scenarios would otherwise fill the
/// port space and slow every later bind and connect). A scripted clean close uses FIN.
struct ClosingStream {
    inner: TcpStream,
    graceful: Arc<AtomicBool>,
}

impl Drop for ClosingStream {
    fn drop(&mut self) {
        let linger = if self.graceful.load(Ordering::SeqCst) { None } else { Some(Duration::ZERO) };
        let _ = socket2::SockRef::from(&self.inner).set_linger(linger);
    }
}

impl AsyncRead for ClosingStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClosingStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
