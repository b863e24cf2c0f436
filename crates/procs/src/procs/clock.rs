//! A program's time limit that load cannot cut short: wall time, less the time the program's
//! process tree (and the harness's own threads working for it, when given) spent waiting for a
//! CPU. The tree is sampled every [`TICK`]; each sample credits
//! back what the tree waited on the run queue since the last one — the most any one of its
//! processes waited (its threads' waits summed), and never more than the time that passed, as
//! processes waiting side by side wait at the same time. A program that sleeps or hangs gets no
//! credit and ends at its limit; one spinning on a CPU is charged its own running time and ends
//! too; one held off the CPUs by a busy machine is charged only the time it could have run. A
//! sampler held up by load sees a longer tick, and credits only what the tree waited in it.
//! Elsewhere than on Linux no wait can be seen: the limit is wall time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::activity::Activity;

/// How often the program's tree is sampled.
const TICK: Duration = Duration::from_millis(25);

/// Resolves once the program `root` and the processes below it have had `limit` of time that
/// waiting for a CPU did not take from them.
pub async fn limit_reached(root: u32, limit: Duration) {
    limit_reached_by(Activity::new(root, Vec::new()), limit).await;
}

/// [`limit_reached`] for what `activity` watches: a process tree, and threads of the harness's
/// own (their waits counted as one more process's), such as the thread a built-in flow runs on.
pub async fn limit_reached_by(activity: Activity, limit: Duration) {
    let mut watch = Stopwatch::new(activity);
    loop {
        let counted = watch.counted();
        if counted >= limit {
            return;
        }
        tokio::time::sleep((limit - counted).min(TICK)).await;
    }
}

/// Time counted against a limit since it was made, as [`limit_reached`] counts it, read when asked.
pub struct Stopwatch {
    activity: Activity,
    counted: Counted,
    last: Instant,
}

impl Stopwatch {
    pub fn new(activity: Activity) -> Stopwatch {
        Stopwatch { activity, counted: Counted::default(), last: Instant::now() }
    }

    /// The time counted so far: what passed since the last look, less what was waited for a CPU.
    pub fn counted(&mut self) -> Duration {
        let now = Instant::now();
        self.counted.sample(now - self.last, &self.activity.run_queue_waits());
        self.last = now;
        self.counted.total
    }
}

/// Time counted against a limit, sample by sample.
#[derive(Debug, Default)]
struct Counted {
    /// Each thread's run-queue wait at the last sample that saw it, ns.
    waited: HashMap<i32, u64>,
    total: Duration,
}

impl Counted {
    /// One sample, `tick` after the last: each process's threads with the run-queue wait each has
    /// had since it started, ns. A thread not seen before counts from its start.
    fn sample(&mut self, tick: Duration, processes: &[Vec<(i32, u64)>]) {
        let mut most = 0u64;
        for threads in processes {
            let mut process = 0u64;
            for &(tid, waited) in threads {
                let before = self.waited.insert(tid, waited).unwrap_or(0);
                process = process.saturating_add(waited.saturating_sub(before));
            }
            most = most.max(process);
        }
        self.total += tick.saturating_sub(Duration::from_nanos(most));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_sleeping_or_running_tree_is_charged_every_tick() {
        let mut counted = Counted::default();
        // Waits that do not grow: asleep, or running without waiting.
        for _ in 0..4 {
            counted.sample(ms(25), &[vec![(10, 7 * MS)], vec![(11, 3 * MS), (12, 0)]]);
        }
        // The first sample sees waits from before it: the 7 ms of process 10 are credited once.
        assert_eq!(counted.total, ms(100 - 7));
        counted.sample(ms(25), &[]);
        assert_eq!(counted.total, ms(125 - 7));
    }

    #[test]
    fn time_spent_waiting_for_a_cpu_is_credited_back_at_most_a_tick() {
        let mut counted = Counted::default();
        counted.sample(ms(25), &[vec![(10, 0)]]);
        // Held off the CPUs for 20 of 25 ms: charged 5.
        counted.sample(ms(25), &[vec![(10, 20 * MS)]]);
        assert_eq!(counted.total, ms(30));
        // Two threads of one process waited 15 ms each: their 30 ms are capped at the tick.
        counted.sample(ms(25), &[vec![(10, 35 * MS), (13, 15 * MS)]]);
        assert_eq!(counted.total, ms(30));
        // Two processes waited 10 and 18 ms side by side: the longer wait is credited.
        counted.sample(ms(25), &[vec![(10, 45 * MS), (13, 15 * MS)], vec![(20, 18 * MS)]]);
        assert_eq!(counted.total, ms(37));
    }

    #[test]
    fn a_starved_program_is_never_charged_and_a_late_sample_credits_only_real_waits() {
        let mut counted = Counted::default();
        // A program that waits on the run queue the whole time never reaches any limit.
        for n in 1..=400 {
            counted.sample(ms(25), &[vec![(10, n * 25 * MS)]]);
        }
        assert_eq!(counted.total, Duration::ZERO);
        // A sample held up 500 ms, of which the program waited 100 ms and slept the rest.
        counted.sample(ms(500), &[vec![(10, 10_100 * MS)]]);
        assert_eq!(counted.total, ms(400));
        // A thread that vanished and was seen again is not credited twice.
        counted.sample(ms(25), &[]);
        counted.sample(ms(25), &[vec![(10, 10_100 * MS)]]);
        assert_eq!(counted.total, ms(450));
    }

    /// Runs `program` until it exits or reaches a limit of 1 s: whether the limit came first.
    async fn limited(program: &str) -> bool {
        let mut child = tokio::process::Command::new("sh").args(["-c", program]).kill_on_drop(true).spawn().unwrap();
        let pid = child.id().unwrap();
        let limited = tokio::select! {
            _ = child.wait() => false,
            () = limit_reached(pid, Duration::from_secs(1)) => true,
        };
        // `sh` may have exec'd: the program itself.
        child.kill().await.unwrap();
        limited
    }

    #[tokio::test]
    async fn a_program_that_hangs_or_spins_is_ended_at_its_limit() {
        assert!(limited("exec sleep 300").await, "a sleeping program outlived its limit");
        assert!(limited("while :; do :; done").await, "a spinning program outlived its limit");
    }
}
