//! When a service has finished a case: after its answer to the delivery, either every request
//! the scenario counts on has arrived (and every record it expects an outcome for has been
//! reported) and the mocks then stay quiet for a short grace (so an extra request is still seen),
//! or — when the scenario counts none — the mocks have seen nothing new for the settle window.
//! No fixed sleep: the wait ends as soon as the mocks and the service's output say so.

use std::time::{Duration, Instant};

use crate::driver::Traffic;

/// The quiet that must follow the last expected request.
pub(super) const GRACE: Duration = Duration::from_millis(20);
/// How often the output is looked at for records still to be reported (output has no signal).
const POLL: Duration = Duration::from_millis(1);

/// Resolves when the case's traffic is done; `Err` at `deadline`. `reported` says whether the
/// service has reported every record the scenario expects.
pub(super) async fn done(traffic: &Traffic<'_>, settle: Duration, deadline: Instant, reported: impl Fn() -> bool) -> Result<(), ()> {
    let mut arrivals = traffic.log.arrivals();
    let quiet = if traffic.expected.is_some() || !traffic.records.is_empty() {
        loop {
            let requests_in = traffic.expected.is_none_or(|expected| traffic.log.inspect(expected));
            let records_in = traffic.records.is_empty() || reported();
            if requests_in && records_in {
                break GRACE;
            }
            let wake = if requests_in { Instant::now() + POLL } else { deadline };
            match tokio::time::timeout_at(wake.min(deadline).into(), arrivals.changed()).await {
                Err(_) if Instant::now() >= deadline => return Err(()),
                _ => {}
            }
        }
    } else {
        settle
    };
    // Quiet for `quiet` since the last arrival.
    arrivals.mark_unchanged();
    loop {
        let until = (Instant::now() + quiet).min(deadline);
        match tokio::time::timeout_at(until.into(), arrivals.changed()).await {
            Err(_) if until < deadline => return Ok(()),
            Err(_) => return Err(()),
            Ok(_) => arrivals.mark_unchanged(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_core::{Exchange, MockResponse, RecordedRequest, SystemId};
    use harness_mock::ExchangeLog;

    fn exchange(path: &str) -> Exchange {
        let request = RecordedRequest { method: "POST".into(), path: path.into(), query: String::new(), headers: Vec::new(), body: bytes::Bytes::new() };
        Exchange { system: SystemId::new("netsuite").unwrap(), seq: 0, request, response: MockResponse::new(204), answered_by: None, step: None, at: Duration::ZERO }
    }

    #[tokio::test]
    async fn quiet_mocks_settle_once_the_window_passes_without_a_request() {
        let log = ExchangeLog::new();
        let traffic = Traffic { log: &log, expected: None, records: &[], settle: None };
        let start = Instant::now();
        let late = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            log.push(exchange("/late"));
        };
        let (settled, ()) = tokio::join!(done(&traffic, Duration::from_millis(60), start + Duration::from_secs(5), || true), late);
        settled.unwrap();
        // The request 30 ms in restarted the 60 ms window.
        assert!(start.elapsed() >= Duration::from_millis(90), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn expected_requests_end_the_wait_after_the_grace_and_missing_ones_at_the_deadline() {
        let log = ExchangeLog::new();
        let order = |ex: &[Exchange]| ex.iter().any(|e| e.request.path == "/salesOrder");
        let traffic = Traffic { log: &log, expected: Some(&order), records: &[], settle: None };
        let start = Instant::now();
        let arrives = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            log.push(exchange("/salesOrder"));
        };
        let (settled, ()) = tokio::join!(done(&traffic, Duration::from_secs(60), start + Duration::from_secs(5), || true), arrives);
        settled.unwrap();
        assert!(start.elapsed() < Duration::from_secs(1), "the settle window does not apply once the expected requests are in");
        let empty = ExchangeLog::new();
        let traffic = Traffic { log: &empty, expected: Some(&order), records: &[], settle: None };
        assert!(done(&traffic, Duration::ZERO, Instant::now() + Duration::from_millis(50), || true).await.is_err());
        let records = ["#1001".to_string()];
        let traffic = Traffic { log: &empty, expected: None, records: &records, settle: None };
        assert!(done(&traffic, Duration::ZERO, Instant::now() + Duration::from_millis(50), || false).await.is_err(), "a record never reported keeps the case waiting");
    }
}
