//! Loopback HTTP mocks impersonating one system at one API version each: a [`Listener`] that puts
//! answers on the wire (and plays connection-level faults), a [`StubHandler`] that applies the
//! system's rules ([`MockBehaviour`]) around the scenario's [`Stub`]s, and the [`ExchangeLog`] of
//! everything received.
//!
//! Built on hyper directly rather than wiremock: a scenario needs connection-level faults (reset,
//! truncated body) that wiremock cannot produce, and hundreds of servers per second, which a server
//! task on the shared runtime gives more cheaply than wiremock's thread per server.

mod behaviour;
pub mod graphql;
mod handler;
mod listener;
mod log;
mod matcher;
mod ports;
mod stub;

use std::sync::Arc;

use harness_core::SystemId;

pub use behaviour::MockBehaviour;
pub use handler::{GUESSED, StubHandler};
pub use listener::{BoxAnswer, Incoming, Limits, Listener, Service};
pub use log::{ExchangeLog, InFlight};
pub use matcher::{Matcher, MatcherError, graphql_operation, json_contains};
pub use ports::{Arrival, LateRequest, MockPorts};
pub use stub::Stub;

/// Start a mock for `system` on an ephemeral 127.0.0.1 port, answering with `stubs` around
/// `behaviour` and recording into `log`.
pub async fn start(
    system: SystemId,
    behaviour: Arc<dyn MockBehaviour>,
    stubs: Arc<[Stub]>,
    log: Arc<ExchangeLog>,
    virtual_time: bool,
    limits: Limits,
) -> std::io::Result<Listener> {
    let handler = StubHandler::new(system, behaviour, stubs, log, virtual_time);
    Listener::bind(([127, 0, 0, 1], 0).into(), Arc::new(handler), limits).await
}
