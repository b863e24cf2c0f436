//! The stub handler: the system's gate (auth, required headers, schemas), then the scenario's stubs
//! in order, then the system's default behaviour — and every exchange recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use harness_core::{Exchange, MockResponse, RecordedRequest, SystemId};

use crate::listener::{BoxAnswer, Incoming, Service};
use crate::{ExchangeLog, MockBehaviour, Stub};

/// How `answered_by` marks an answer the mock guessed: `default: SuiteQL, 0 rows`.
pub const GUESSED: &str = "default: ";

pub struct StubHandler {
    system: SystemId,
    behaviour: Arc<dyn MockBehaviour>,
    stubs: Arc<[Stub]>,
    calls: Vec<AtomicUsize>,
    log: Arc<ExchangeLog>,
    /// Built-in flows run on a virtual clock: delays are reported to the client, not slept.
    virtual_time: bool,
    started: Instant,
}

impl StubHandler {
    pub fn new(
        system: SystemId,
        behaviour: Arc<dyn MockBehaviour>,
        stubs: Arc<[Stub]>,
        log: Arc<ExchangeLog>,
        virtual_time: bool,
    ) -> StubHandler {
        let calls = stubs.iter().map(|_| AtomicUsize::new(0)).collect();
        StubHandler { system, behaviour, stubs, calls, log, virtual_time, started: Instant::now() }
    }

    fn respond(&self, request: &RecordedRequest, at: Duration) -> (MockResponse, Option<String>) {
        if let Some(refusal) = self.behaviour.gate(request, at) {
            return (refusal, Some("system".to_string()));
        }
        for (i, stub) in self.stubs.iter().enumerate() {
            if stub.matcher.matches(request) {
                let call = self.calls[i].fetch_add(1, Ordering::SeqCst);
                if stub.times.is_some_and(|n| call >= n) {
                    continue;
                }
                let response = self.behaviour.render(request, stub.response_for_call(call).clone(), at);
                return (response, Some(stub.name.clone()));
            }
        }
        if let Some(r) = self.behaviour.default_response(request, at) {
            return (r, Some("system".to_string()));
        }
        match self.behaviour.guess(request) {
            Some((r, guess)) => (r, Some(format!("{GUESSED}{guess}"))),
            None => (self.behaviour.not_found(request), None),
        }
    }
}

impl Service for StubHandler {
    fn answer(&self, incoming: Incoming) -> BoxAnswer<'_> {
        let Incoming { request, clock, step } = incoming;
        let at = clock.unwrap_or_else(|| self.started.elapsed());
        let (mut response, answered_by) = self.respond(&request, at);
        self.behaviour.decorate(&request, &mut response);
        self.log.push(Exchange {
            system: self.system.clone(),
            seq: 0,
            request,
            response: response.clone(),
            answered_by,
            step,
            at,
        });
        Box::pin(std::future::ready(response))
    }

    fn virtual_time(&self) -> bool {
        self.virtual_time
    }

    fn crashed(&self, message: String) {
        self.log.crashed(format!(
            "the {} mock crashed answering a request ({message}); this is a bug in the harness, please report it",
            self.system
        ));
    }

    fn limit_exceeded(&self, message: String) {
        self.log.crashed(format!("the {} mock's limit was exceeded: {message}", self.system));
    }

    fn environment_failed(&self, message: String) {
        self.log.environment_failed(format!("{}: {message}", self.system));
    }

    fn begin(&self) -> Option<crate::log::InFlight> {
        Some(self.log.begin())
    }
}
