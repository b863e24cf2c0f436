//! When a service has finished a case: after its answer to the delivery, once the integration has
//! been idle for the settle window. Idle means no request to a mock is being answered, none
//! arrived, and nothing of the service's process tree (nor the mocks' thread) is running or
//! waiting for a CPU — only then does quiet accumulate, and any activity starts it again. Quiet is
//! counted from samples, each crediting at most two sampling periods, so a sampler held up on a
//! busy machine credits less than the time that passed, never more: load lengthens the wait and
//! cannot shorten it. The window only has to outlast the service's own timers (a retry after
//! `Retry-After`), which run on wall time whatever the load. Request counts and records the
//! scenario expects are assertions judged afterwards; they never end a case.

use std::time::{Duration, Instant};

use harness_mock::ExchangeLog;
use harness_procs::Activity;

/// How often the integration is looked at.
const POLL: Duration = Duration::from_millis(1);
/// The most one sample credits, however late it comes.
const CREDIT: Duration = Duration::from_millis(2);

/// Resolves once the integration has been idle for `window` in all; `Err` at `deadline`.
pub(super) async fn quiet(log: &ExchangeLog, activity: &mut Activity, window: Duration, deadline: Instant) -> Result<(), ()> {
    let mut idle = Duration::ZERO;
    let mut seen = log.received();
    let mut last = Instant::now();
    loop {
        if last >= deadline {
            return Err(());
        }
        tokio::time::sleep_until((last + POLL).min(deadline).into()).await;
        let now = Instant::now();
        let arrived = log.received();
        // The log first: a request counted in flight or arrived is never missed between the two.
        let busy = arrived != seen || log.in_flight() > 0 || activity.busy();
        idle = if busy { Duration::ZERO } else { idle + (now - last).min(CREDIT) };
        if idle >= window {
            return Ok(());
        }
        (seen, last) = (arrived, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_core::{Exchange, MockResponse, RecordedRequest, SystemId};

    fn exchange(path: &str) -> Exchange {
        let request = RecordedRequest { method: "POST".into(), path: path.into(), query: String::new(), headers: Vec::new(), body: bytes::Bytes::new() };
        Exchange { system: SystemId::new("netsuite").unwrap(), seq: 0, request, response: MockResponse::new(204), answered_by: None, step: None, at: Duration::ZERO }
    }

    /// Nothing to watch but the mocks.
    fn nothing() -> Activity {
        Activity::new(0, Vec::new())
    }

    #[tokio::test]
    async fn a_request_in_flight_keeps_the_case_open_and_an_arrival_restarts_the_window() {
        let log = ExchangeLog::new();
        let held = log.begin();
        // In flight the whole time: never quiet, so the deadline ends it.
        assert!(quiet(&log, &mut nothing(), Duration::from_millis(5), Instant::now() + Duration::from_millis(60)).await.is_err());
        drop(held);
        let late = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            log.push(exchange("/late"));
        };
        let (start, mut activity) = (Instant::now(), nothing());
        let (settled, ()) = tokio::join!(quiet(&log, &mut activity, Duration::from_millis(60), start + Duration::from_secs(5)), late);
        settled.unwrap();
        // The request 30 ms in started the 60 ms of quiet again.
        assert!(log.received() == 1 && start.elapsed() >= Duration::from_millis(90), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn a_running_process_keeps_the_case_open() {
        let log = ExchangeLog::new();
        let mut spinning = std::process::Command::new("sh").args(["-c", "while :; do :; done"]).spawn().unwrap();
        let mut activity = Activity::new(spinning.id(), Vec::new());
        let ended = quiet(&log, &mut activity, Duration::from_millis(20), Instant::now() + Duration::from_millis(200)).await;
        spinning.kill().unwrap();
        spinning.wait().unwrap();
        if cfg!(target_os = "linux") {
            assert!(ended.is_err(), "a process that never stops running never lets the case end");
        }
    }
}
