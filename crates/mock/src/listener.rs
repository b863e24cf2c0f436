//! The loopback listener behind every mock. It accepts connections, turns each request into a
//! [`RecordedRequest`], asks its current [`Service`] for the answer, and puts that answer on the
//! wire — including the scripted faults (reset, clean close, held-open timeout, truncated body) and
//! delays. What answers is replaceable while the listener runs, so the same listener serves replay,
//! a recording proxy or a long-lived port reused scenario after scenario.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use harness_core::{Fault, MockResponse, RecordedRequest, clock};
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming as Body_};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// A request as the listener read it, with what the harness's own client stamped on it.
pub struct Incoming {
    pub request: RecordedRequest,
    /// The client's virtual time, when a built-in flow sent it.
    pub clock: Option<Duration>,
    /// The built-in flow step that sent it, when known.
    pub step: Option<String>,
}

pub type BoxAnswer<'a> = Pin<Box<dyn Future<Output = MockResponse> + Send + 'a>>;

/// What answers the requests a listener accepts.
pub trait Service: Send + Sync {
    fn answer(&self, incoming: Incoming) -> BoxAnswer<'_>;
    /// Whether delays and timeouts are reported to a virtual-clock client instead of played.
    fn virtual_time(&self) -> bool;
    /// A request made the service panic: a harness bug, to be reported rather than lost.
    fn crashed(&self, message: String);
    /// A flow went past one of the listener's [`Limits`]: a finding of its case.
    fn limit_exceeded(&self, message: String);
    /// The machine refused the listener something (no file descriptor left to accept with): the
    /// case cannot be judged, and the run stops as an environment problem.
    fn environment_failed(&self, message: String);
    /// A request has begun: the log it belongs to counts it in flight while the guard lives.
    fn begin(&self) -> Option<crate::log::InFlight> {
        None
    }
}

/// How much one mock takes, so that a runaway flow gets a clear finding instead of exhausting the
/// machine. The defaults never bother a normal flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once. Past it, the oldest connection that has not been answering a
    /// request for a while (a client still sending its request's head, or idle between requests)
    /// is closed to make room; when there is none, the new one is answered 503 and closed.
    pub max_connections: usize,
    /// Largest request body read; a larger one is answered 413.
    pub max_body: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_connections: 256, max_body: 16 << 20 }
    }
}

/// A running listener. Dropping it stops the server and closes its connections.
pub struct Listener {
    pub addr: SocketAddr,
    service: Arc<RwLock<Arc<dyn Service>>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Listener {
    /// Listen on `addr` (port 0 for an ephemeral one) with `service` answering.
    pub async fn bind(addr: SocketAddr, service: Arc<dyn Service>, limits: Limits) -> io::Result<Listener> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let current = Arc::new(RwLock::new(service));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(accept_loop(listener, current.clone(), rx, limits));
        Ok(Listener { addr, service: current, shutdown: Some(tx) })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answer from now on with `service` (connections already open included).
    pub fn set_service(&self, service: Arc<dyn Service>) {
        *self.service.write().expect("listener service lock") = service;
    }
}

/// An open connection as the accept loop sees it, oldest first.
struct Open {
    id: tokio::task::Id,
    state: Arc<Connection>,
    task: tokio::task::AbortHandle,
}

/// What a connection is doing, shared between its task and the accept loop.
struct Connection {
    /// Set while a request on it is being answered (from its head to its answer).
    busy: AtomicBool,
    /// Since when it has not been answering a request (accepted, or its last answer given), in
    /// milliseconds from the listener's start.
    idle_since: std::sync::atomic::AtomicU64,
}

/// How long a connection must have been without a request being answered before a new one may
/// take its place at the limit: programs send their request's head as soon as they connect, so
/// a connection this quiet is trickling its head (slowloris) or idle between requests; a flow
/// opening more connections at once than the limit still meets it.
const EVICTABLE_AFTER: Duration = Duration::from_secs(1);

impl Connection {
    fn evictable(&self, now_ms: u64) -> bool {
        !self.busy.load(Ordering::SeqCst)
            && now_ms.saturating_sub(self.idle_since.load(Ordering::SeqCst)) >= EVICTABLE_AFTER.as_millis() as u64
    }
}

async fn accept_loop(
    listener: TcpListener,
    service: Arc<RwLock<Arc<dyn Service>>>,
    mut stop: oneshot::Receiver<()>,
    limits: Limits,
) {
    // Dropping the set aborts every open connection when the server stops.
    let mut connections = JoinSet::new();
    let mut open: std::collections::VecDeque<Open> = std::collections::VecDeque::new();
    let mut refused = 0usize;
    let started = std::time::Instant::now();
    let now_ms = move || started.elapsed().as_millis() as u64;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) if matches!(e.raw_os_error(), Some(EMFILE | ENFILE)) => {
                        current(&service).environment_failed(format!("a mock cannot accept connections: {e} (raise the open-file limit, `ulimit -n`, or run fewer jobs)"));
                        // Retrying at once would only spin.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if open.len() >= limits.max_connections {
                    // Trickling clients (slowloris) and idle ones make room for a real request;
                    // only requests being answered count against the limit.
                    match open.iter().position(|c| c.state.evictable(now_ms())) {
                        Some(idle) => open.remove(idle).into_iter().for_each(|c| c.task.abort()),
                        None => {
                            if refused == 0 {
                                current(&service).limit_exceeded(format!("more than {} connections open at once to one mock (mocks.max_connections in harness.yaml); the others were answered 503", limits.max_connections));
                            }
                            refused += 1;
                            connections.spawn(refuse(stream));
                            continue;
                        }
                    }
                }
                let _ = stream.set_nodelay(true);
                let state = Arc::new(Connection { busy: AtomicBool::new(false), idle_since: now_ms().into() });
                let task = connections.spawn(serve(stream, service.clone(), limits, state.clone(), now_ms));
                open.push_back(Open { id: task.id(), state, task });
            }
            Some(joined) = connections.join_next_with_id(), if !connections.is_empty() => {
                match joined {
                    Ok((id, ())) => open.retain(|c| c.id != id),
                    Err(e) => {
                        open.retain(|c| c.id != e.id());
                        if e.is_panic() {
                            let message = harness_core::error::panic_message(&*e.into_panic());
                            current(&service).crashed(message);
                        }
                    }
                }
            }
        }
    }
}

/// errno values for "no file descriptor left" (the same on every Linux architecture).
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// Answers a connection over the limit with a 503 and closes it.
async fn refuse(mut stream: TcpStream) {
    use tokio::io::AsyncWriteExt;
    let body = "too many connections to this mock";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer.as_bytes())).await;
}

fn current(service: &RwLock<Arc<dyn Service>>) -> Arc<dyn Service> {
    service.read().expect("listener service lock").clone()
}

type Body = BoxBody<Bytes, io::Error>;

/// How long a client may take to send a request's head: programs send theirs at once.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

async fn serve(
    stream: TcpStream,
    service: Arc<RwLock<Arc<dyn Service>>>,
    limits: Limits,
    state: Arc<Connection>,
    now_ms: impl Fn() -> u64 + Send + Sync + 'static,
) {
    let graceful = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(ClosingStream { inner: stream, graceful: graceful.clone() });
    let now_ms = Arc::new(now_ms);
    let handler = service_fn(move |req| {
        let (service, graceful, state, now_ms) = (current(&service), graceful.clone(), state.clone(), now_ms.clone());
        async move {
            state.busy.store(true, Ordering::SeqCst);
            let answer = handle(req, service, graceful, limits.max_body).await;
            state.idle_since.store(now_ms(), Ordering::SeqCst);
            state.busy.store(false, Ordering::SeqCst);
            answer
        }
    });
    // A client that trickles its request head (slowloris) is cut off, so it cannot hold one of
    // the mock's connections for long.
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true)
        .serve_connection(io, handler)
        .await;
}

#[derive(Debug)]
struct Aborted;
impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection aborted by a scripted fault")
    }
}
impl std::error::Error for Aborted {}

async fn handle(
    req: Request<Body_>,
    service: Arc<dyn Service>,
    graceful: Arc<AtomicBool>,
    max_body: u64,
) -> Result<Response<Body>, Aborted> {
    // In flight from its headers until its answer is handed to the connection (a scripted delay
    // or a held-open timeout included); the mocks' thread writing it then is seen as busy itself.
    let _in_flight = service.begin();
    let (parts, body) = req.into_parts();
    let too_large = || {
        service.limit_exceeded(format!(
            "{} {}: request body larger than {} bytes (mocks.max_body in harness.yaml); answered 413",
            parts.method,
            parts.uri.path(),
            max_body
        ));
        let mut answer = MockResponse::text(413, "text/plain", "request body too large for this mock");
        answer.set_header("connection", "close");
        Ok(build(
            &answer,
            Body::new(http_body_util::Full::new(answer.body.clone()).map_err(|never: Infallible| match never {})),
        ))
    };
    let declared = parts.headers.get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return too_large();
    }
    let body = match http_body_util::Limited::new(body, usize::try_from(max_body).unwrap_or(usize::MAX)).collect().await
    {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(_) => Bytes::new(),
    };
    let clock = parts
        .headers
        .get(clock::CLOCK_HEADER)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .map(Duration::from_millis);
    let step = parts.headers.get(clock::STEP_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
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
    let virtual_time = service.virtual_time();
    let mut response = service.answer(Incoming { request, clock, step }).await;

    if virtual_time {
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
        Some(Fault::Timeout) if !virtual_time => {
            // Hold the request open; the client's timeout ends it, or the scenario's end does.
            std::future::pending::<()>().await;
            Err(Aborted)
        }
        Some(Fault::Truncate) => Ok(truncated(&response)),
        _ => Ok(build(
            &response,
            Body::new(http_body_util::Full::new(response.body.clone()).map_err(|never: Infallible| match never {})),
        )),
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
    let frames: Vec<Result<Frame<Bytes>, io::Error>> = vec![
        Ok(Frame::data(half)),
        Err(io::Error::new(io::ErrorKind::ConnectionAborted, "truncated by a scripted fault")),
    ];
    let mut r = build(response, Body::new(StreamBody::new(Frames(frames.into_iter()))));
    r.headers_mut().insert(hyper::header::CONTENT_LENGTH, full.len().into());
    r
}

/// A body stream of frames known up front.
struct Frames<T>(std::vec::IntoIter<T>);

impl<T> futures_core::Stream for Frames<T> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
        Poll::Ready(self.0.next())
    }
}

impl<T> Unpin for Frames<T> {}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Answers 200 to everything and keeps the limits it is told of.
    #[derive(Default)]
    struct Ok200 {
        exceeded: Mutex<Vec<String>>,
    }

    impl Service for Ok200 {
        fn answer(&self, _: Incoming) -> BoxAnswer<'_> {
            Box::pin(async { MockResponse::new(200) })
        }
        fn virtual_time(&self) -> bool {
            false
        }
        fn crashed(&self, message: String) {
            panic!("{message}");
        }
        fn limit_exceeded(&self, message: String) {
            self.exceeded.lock().unwrap().push(message);
        }
        fn environment_failed(&self, message: String) {
            panic!("{message}");
        }
    }

    /// The status of a GET on a connection of its own (0 when none came within 10 s).
    async fn get(addr: SocketAddr) -> u16 {
        let asked = async {
            let mut stream = TcpStream::connect(addr).await.ok()?;
            stream.write_all(b"GET /real HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.ok()?;
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer).await;
            answer.split(' ').nth(1)?.parse().ok()
        };
        tokio::time::timeout(Duration::from_secs(10), asked).await.ok().flatten().unwrap_or(0)
    }

    #[tokio::test]
    async fn trickling_clients_at_the_limit_do_not_keep_real_requests_out() {
        let service = Arc::new(Ok200::default());
        let limits = Limits { max_connections: 8, ..Limits::default() };
        let listener = Listener::bind(SocketAddr::from(([127, 0, 0, 1], 0)), service.clone(), limits).await.unwrap();
        // Twice the limit of clients that send the start of a request's head, then nothing.
        let mut trickling = Vec::new();
        for _ in 0..16 {
            let mut stream = TcpStream::connect(listener.addr).await.unwrap();
            stream.write_all(b"GET /slow HTTP/1.1\r\nx-slow: ").await.unwrap();
            trickling.push(stream);
        }
        // Once they have been quiet for a while (EVICTABLE_AFTER), each real request takes the
        // place of one; a request that came too early (a loaded machine) is asked again, a
        // bounded number of times.
        tokio::time::sleep(EVICTABLE_AFTER).await;
        for _ in 0..4 {
            let mut status = 0;
            for _ in 0..20 {
                status = get(listener.addr).await;
                if status == 200 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            assert_eq!(status, 200);
        }
        // They were connected all along.
        drop(trickling);
    }
}
