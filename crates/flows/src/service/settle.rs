//! When a service has finished a case: after its answer to the delivery, once it has spent the
//! settle window asleep since its mocks last saw a request. Time counts only while no request to a
//! mock is being answered and nothing of the service's process tree (nor the mocks' thread) is
//! running or waiting for a CPU; a request arriving or in flight starts the window again, while a
//! process that runs only pauses it (a service waking now and then for its own housekeeping — a
//! server's poll loop — would otherwise never end a case on a loaded machine). Quiet is counted
//! from samples, each crediting at most two sampling periods, so a sampler held up on a busy
//! machine credits less than the time that passed, never more: load lengthens the wait and cannot
//! shorten it. The window only has to outlast the service's own sleeps between requests (a retry
//! after `Retry-After`), which run on wall time whatever the load. Request counts and records the
//! scenario expects are assertions judged afterwards; they never end a case.
//!
//! The window ends sooner when the integration is proven asleep for the rest of it, at one look:
//! every thread blocked in a wait only I/O ends, or whose own timer falls after the window would
//! end, and no byte on its way between it and its mocks (`Activity::asleep_for`). Nothing of its
//! own can then wake it before the window would have ended, so ending now ends the case as waiting
//! would have, without the wait. A timer due sooner (a retry of the same scenario on Node's
//! `setTimeout`) proves nothing: the window is waited out, and the timer, on the wall clock, fires
//! within it.

use std::time::{Duration, Instant};

use harness_mock::ExchangeLog;
use harness_procs::Activity;

/// How often the integration is looked at.
const POLL: Duration = Duration::from_millis(5);
/// The most one sample credits, however late it comes.
const CREDIT: Duration = Duration::from_millis(10);

/// A case's traffic as [`quiet`] watches it: requests received so far, and in flight.
pub(super) fn of(log: &ExchangeLog) -> impl Fn() -> (usize, usize) + '_ {
    || (log.received(), log.in_flight())
}

/// Resolves once the integration has been asleep for `window` since the last request `traffic`
/// counted (the scenario's time limit, the caller's, bounds it). With `timers`, a timer of its own
/// due within that span counts as working — one due within the window only, for a thread seen to
/// wake by itself since the integration went quiet after the last request (`Activity::timer_within`)
/// — as at the end of a job, when no later scenario is there to see what it sends when it wakes.
/// The first look is at once: a service already asleep on I/O alone when its answer came is done.
pub(super) async fn quiet(
    traffic: impl Fn() -> (usize, usize),
    activity: &mut Activity,
    window: Duration,
    timers: Option<Duration>,
) {
    let mut idle = Duration::ZERO;
    let mut seen = traffic().0;
    let mut last = Instant::now();
    let mut next = last;
    // When the integration was first seen quiet (nothing running, nothing on its way) after the
    // last request.
    let mut quiet_since = None;
    loop {
        tokio::time::sleep_until(next.into()).await;
        let now = Instant::now();
        let (arrived, in_flight) = traffic();
        if arrived != seen || in_flight > 0 {
            (idle, quiet_since) = (Duration::ZERO, None);
        } else if !activity.busy() {
            if quiet_since.is_none() && timers.is_some() && activity.nothing_in_transit() {
                quiet_since = Some(now);
            }
            let timer = timers.is_some_and(|far| activity.timer_within(window, far, quiet_since.unwrap_or(now)));
            if !timer {
                idle += (now - last).min(CREDIT);
                if idle >= window || activity.asleep_for(window - idle) {
                    return;
                }
            }
        }
        (seen, last, next) = (arrived, now, now + POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_core::Exchange;

    fn exchange(path: &str) -> Exchange {
        super::super::testing::exchange(path, "", Duration::ZERO)
    }

    /// Nothing to watch but the mocks.
    fn nothing() -> Activity {
        Activity::new(0, Vec::new())
    }

    #[tokio::test]
    async fn a_request_in_flight_keeps_the_case_open_and_an_arrival_restarts_the_window() {
        let log = ExchangeLog::new();
        let held = log.begin();
        // In flight the whole time: never quiet, so the limit ends it.
        let limit = Duration::from_millis(60);
        assert!(
            tokio::time::timeout(limit, quiet(of(&log), &mut nothing(), Duration::from_millis(5), None)).await.is_err()
        );
        drop(held);
        let late = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            log.push(exchange("/late"));
        };
        let (start, mut activity) = (Instant::now(), nothing());
        tokio::join!(quiet(of(&log), &mut activity, Duration::from_millis(60), None), late);
        // The request 30 ms in started the 60 ms of quiet again.
        assert!(log.received() == 1 && start.elapsed() >= Duration::from_millis(90), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn a_process_that_only_input_can_wake_ends_the_window_early_and_a_timed_sleep_does_not() {
        use std::process::{Command, Stdio};
        let log = ExchangeLog::new();
        // Blocked reading its input, which stays open and silent: nothing of its own wakes it.
        let mut reading = Command::new("sh").args(["-c", "read line"]).stdin(Stdio::piped()).spawn().unwrap();
        let mut activity = Activity::new(reading.id(), Vec::new());
        activity.observe();
        let limit = Duration::from_secs(60);
        let ended = tokio::time::timeout(limit, quiet(of(&log), &mut activity, Duration::from_secs(600), None)).await;
        reading.kill().unwrap();
        reading.wait().unwrap();
        // Where the kernel lists POSIX timers; elsewhere nothing is proven and the time limit ends it.
        if cfg!(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))
            && std::path::Path::new("/proc/self/timers").exists()
        {
            assert!(ended.is_ok(), "a process only input can wake is asleep for the rest of any window");
        }
        // A timed sleep wakes by itself: the window is waited out (here, the time limit comes first).
        let mut sleeping = Command::new("sleep").arg("30").spawn().unwrap();
        let mut activity = Activity::new(sleeping.id(), Vec::new());
        activity.observe();
        let limit = Duration::from_millis(300);
        let ended = tokio::time::timeout(limit, quiet(of(&log), &mut activity, Duration::from_secs(600), None)).await;
        sleeping.kill().unwrap();
        sleeping.wait().unwrap();
        assert!(ended.is_err(), "a sleep that ends by itself is never proven quiet");
    }

    #[tokio::test]
    async fn a_running_process_keeps_the_case_open() {
        let log = ExchangeLog::new();
        let mut spinning = std::process::Command::new("sh").args(["-c", "while :; do :; done"]).spawn().unwrap();
        let mut activity = Activity::new(spinning.id(), Vec::new());
        let limit = Duration::from_millis(200);
        let ended = tokio::time::timeout(limit, quiet(of(&log), &mut activity, Duration::from_millis(20), None)).await;
        spinning.kill().unwrap();
        spinning.wait().unwrap();
        if cfg!(target_os = "linux") {
            assert!(ended.is_err(), "a process that never stops running never lets the case end");
        }
    }
}
