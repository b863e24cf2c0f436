//! Everything a scenario's mocks received, in arrival order across all of them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use harness_core::Exchange;

#[derive(Default)]
pub struct ExchangeLog {
    next_seq: AtomicUsize,
    /// How many requests have been recorded, for those waiting for the mocks to settle.
    arrivals: tokio::sync::watch::Sender<usize>,
    exchanges: Mutex<Vec<Exchange>>,
    /// Requests a mock crashed on (the client only saw the connection drop), and limits a flow
    /// exceeded: findings of the case.
    crashes: Mutex<Vec<String>>,
    /// What the machine refused a mock (file descriptors): the first such problem.
    environment: Mutex<Option<String>>,
    /// Requests being answered now (from their headers to their answer): the integration is
    /// waiting for them, so its work is not over.
    in_flight: AtomicUsize,
}

/// A request being answered, counted in its log's [`ExchangeLog::in_flight`] until dropped.
pub struct InFlight(Arc<ExchangeLog>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
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

    /// How many requests have arrived since the log was made (what a settle detector watches).
    pub fn received(&self) -> usize {
        self.next_seq.load(Ordering::SeqCst)
    }

    /// A request has begun: counted as in flight until the returned guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Requests being answered right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Why mocks crashed, if any did; emptied like `take`.
    pub fn take_crashes(&self) -> Vec<String> {
        let mut all = std::mem::take(&mut *self.crashes.lock().expect("exchange log lock"));
        all.sort();
        all
    }

    pub fn push(&self, mut exchange: Exchange) {
        exchange.seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        self.exchanges.lock().expect("exchange log lock").push(exchange);
        self.arrivals.send_modify(|n| *n += 1);
    }

    /// Changes each time a request has been recorded (the value: how many so far).
    pub fn arrivals(&self) -> tokio::sync::watch::Receiver<usize> {
        self.arrivals.subscribe()
    }

    /// `judge` applied to what was recorded so far, which stays in the log.
    pub fn inspect<T>(&self, judge: impl FnOnce(&[Exchange]) -> T) -> T {
        judge(&self.exchanges.lock().expect("exchange log lock"))
    }

    /// Take the exchanges `pick` chooses out of the log (in arrival order): they were not this
    /// scenario's (another's late traffic).
    pub fn extract(&self, mut pick: impl FnMut(&Exchange) -> bool) -> Vec<Exchange> {
        let mut all = self.exchanges.lock().expect("exchange log lock");
        let (mut picked, kept): (Vec<Exchange>, Vec<Exchange>) = all.drain(..).partition(|e| pick(e));
        *all = kept;
        picked.sort_by_key(|e| e.seq);
        picked
    }

    pub fn environment_failed(&self, message: String) {
        self.environment.lock().expect("exchange log lock").get_or_insert(message);
    }

    /// What the machine refused a mock, if anything.
    pub fn environment_problem(&self) -> Option<String> {
        self.environment.lock().expect("exchange log lock").clone()
    }

    pub fn crashed(&self, message: String) {
        self.crashes.lock().expect("exchange log lock").push(message);
    }
}
