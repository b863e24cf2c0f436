//! Mocks on stable ports: one listener per system for as long as a long-running integration (a
//! service under test, or one pointed at the mocks by hand) is configured with their URLs, each
//! scenario's answers swapped in behind the same port. The listeners run on a thread of their own,
//! so they answer between scenarios too instead of queueing a late request until the next
//! scenario, which would then see another's traffic. What arrives between scenarios is answered
//! 503 and kept as late traffic of the scenario that ended last, for the run to report with it.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness_core::{MockResponse, SystemId};

use crate::listener::{BoxAnswer, Incoming, Limits, Listener, Service};

pub struct MockPorts {
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    /// The runtime's threads, which are busy while a request or an answer is on its way.
    threads: Arc<Mutex<Vec<i32>>>,
    listeners: Mutex<BTreeMap<SystemId, Listener>>,
    limits: Limits,
    late: Arc<Mutex<Vec<LateRequest>>>,
}

/// A request that reached the mocks after the scenario it belongs to had ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateRequest {
    /// The scenario that ended before it.
    pub scenario: String,
    pub system: SystemId,
    /// `POST /services/rest/record/v1/salesOrder`
    pub request: String,
    /// How long after that scenario ended it arrived.
    pub after: Duration,
    pub arrival: Arrival,
}

/// When a late request came, and why it is the ended scenario's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// Before the next scenario on the same service started: answered 503.
    Between,
    /// After the last scenario its service ran, before the run stopped the service: answered 503.
    AfterLast,
    /// While `during` ran on the same service; it `carries` a value only the ended scenario's
    /// trigger has, so it is not counted as `during`'s traffic.
    During { during: String, carries: String },
    /// While `during` ran, carrying values of both triggers (`carries` of the ended scenario's,
    /// `theirs` of `during`'s): whose it is cannot be told, so it fails both.
    Ambiguous { during: String, carries: String, theirs: String },
}

impl MockPorts {
    pub fn new(limits: Limits) -> io::Result<MockPorts> {
        let threads = Arc::new(Mutex::new(Vec::new()));
        let started = threads.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("harness-mocks")
            .on_thread_start(move || started.lock().expect("mock threads").push(harness_procs::current_thread_id()))
            .enable_all()
            .build()?;
        Ok(MockPorts { runtime: Some(runtime), threads, listeners: Mutex::default(), limits, late: Arc::default() })
    }

    /// The ids of the threads the mocks run on.
    pub fn threads(&self) -> Vec<i32> {
        self.threads.lock().expect("mock threads").clone()
    }

    /// Answer `system`'s requests with `service` from now on, and its base URL. The listener is
    /// bound on first use, on `port` (0: any free one), and keeps that port.
    pub async fn serve(&self, system: &SystemId, port: u16, service: Arc<dyn Service>) -> io::Result<String> {
        if let Some(listener) = self.listeners.lock().expect("mock ports").get(system) {
            listener.set_service(service);
            return Ok(listener.base_url());
        }
        let (addr, limits): (SocketAddr, Limits) = (([127, 0, 0, 1], port).into(), self.limits);
        let runtime = self.runtime.as_ref().expect("mock ports runtime");
        let listener = runtime
            .spawn(async move { Listener::bind(addr, service, limits).await })
            .await
            .map_err(io::Error::other)??;
        let url = listener.base_url();
        self.listeners.lock().expect("mock ports").insert(system.clone(), listener);
        Ok(url)
    }

    /// The runtime the listeners run on, for other work that must go on between scenarios too
    /// (reading the output of the service they answer).
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.runtime.as_ref().expect("mock ports runtime").handle().clone()
    }

    /// Between scenarios, after `scenario` ended: every listener answers 503, and keeps what it
    /// was asked as late traffic of `scenario`.
    pub fn quiet(&self, scenario: &str) {
        let ended = Instant::now();
        for (system, listener) in self.listeners.lock().expect("mock ports").iter() {
            listener.set_service(Arc::new(Idle {
                scenario: scenario.to_string(),
                system: system.clone(),
                ended,
                late: self.late.clone(),
            }));
        }
    }

    /// How many late requests are kept now.
    pub fn late_received(&self) -> usize {
        self.late.lock().expect("late requests").len()
    }

    /// The late requests kept since the last call, in arrival order.
    pub fn take_late(&self) -> Vec<LateRequest> {
        std::mem::take(&mut *self.late.lock().expect("late requests"))
    }
}

impl Drop for MockPorts {
    fn drop(&mut self) {
        self.listeners.lock().expect("mock ports").clear();
        // Dropping a runtime blocks; this may run inside another runtime's task.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What answers while no scenario runs.
struct Idle {
    scenario: String,
    system: SystemId,
    ended: Instant,
    late: Arc<Mutex<Vec<LateRequest>>>,
}

impl Service for Idle {
    fn answer(&self, incoming: Incoming) -> BoxAnswer<'_> {
        let after = self.ended.elapsed();
        self.late.lock().expect("late requests").push(LateRequest {
            scenario: self.scenario.clone(),
            system: self.system.clone(),
            request: incoming.request.line(),
            after,
            arrival: Arrival::Between,
        });
        let text = format!("no scenario is running: `{}` ended {} ms ago", self.scenario, after.as_millis());
        Box::pin(async move { MockResponse::text(503, "text/plain", text) })
    }
    fn virtual_time(&self) -> bool {
        false
    }
    fn crashed(&self, _: String) {}
    fn limit_exceeded(&self, _: String) {}
    fn environment_failed(&self, _: String) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExchangeLog, MockBehaviour, StubHandler};

    struct Echo;
    impl MockBehaviour for Echo {
        fn gate(&self, _: &harness_core::RecordedRequest, _: std::time::Duration) -> Option<MockResponse> {
            None
        }
        fn default_response(&self, _: &harness_core::RecordedRequest, _: std::time::Duration) -> Option<MockResponse> {
            Some(MockResponse::new(200))
        }
        fn not_found(&self, _: &harness_core::RecordedRequest) -> MockResponse {
            MockResponse::new(404)
        }
    }

    /// The status of a GET of `path`, on a connection of its own.
    async fn get(url: &str, path: &str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(url.trim_start_matches("http://")).await.unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    fn handler(log: &Arc<ExchangeLog>) -> Arc<dyn Service> {
        Arc::new(StubHandler::new(
            SystemId::new("netsuite").unwrap(),
            Arc::new(Echo),
            Arc::from(Vec::new()),
            log.clone(),
            false,
        ))
    }

    #[tokio::test]
    async fn a_system_keeps_its_port_and_each_scenario_sees_only_its_own_requests() {
        let ports = MockPorts::new(Limits::default()).unwrap();
        let id = SystemId::new("netsuite").unwrap();
        let (first, second) = (ExchangeLog::new(), ExchangeLog::new());
        let url = ports.serve(&id, 0, handler(&first)).await.unwrap();
        assert_eq!(get(&url, "/a").await, 200);
        ports.quiet("first");
        assert_eq!(get(&url, "/between").await, 503);
        let late = ports.take_late();
        assert_eq!(
            (late.len(), late[0].scenario.as_str(), late[0].request.as_str()),
            (1, "first", "GET /between"),
            "kept as the first scenario's late traffic"
        );
        assert_eq!(ports.serve(&id, 0, handler(&second)).await.unwrap(), url);
        assert_eq!(get(&url, "/b").await, 200);
        let paths = |log: &ExchangeLog| log.take().into_iter().map(|e| e.request.path).collect::<Vec<_>>();
        assert_eq!(paths(&first), ["/a"]);
        assert_eq!(paths(&second), ["/b"]);
    }

    /// A client that never finishes its request head is cut off rather than held for ever.
    #[tokio::test]
    async fn a_trickling_client_is_cut_off() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let ports = MockPorts::new(Limits::default()).unwrap();
        let url = ports.serve(&SystemId::new("netsuite").unwrap(), 0, handler(&ExchangeLog::new())).await.unwrap();
        let mut slow = tokio::net::TcpStream::connect(url.trim_start_matches("http://")).await.unwrap();
        slow.write_all(b"GET /a HTTP/1.1\r\nhost: x\r\nx-slow: 1").await.unwrap();
        let mut answer = Vec::new();
        // Bounded far above the mock's header timeout, so a loaded machine does not matter.
        let closed = tokio::time::timeout(std::time::Duration::from_secs(120), slow.read_to_end(&mut answer)).await;
        assert!(closed.is_ok(), "the mock still holds a connection that never sent its head");
        assert_eq!(get(&url, "/b").await, 200);
    }
}
