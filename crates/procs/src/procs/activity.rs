//! Whether a program the harness started is still working, as the kernel sees it: a thread of it
//! (or of a process it started) that is running or waiting for a CPU (`R`), in uninterruptible
//! I/O (`D`), a process waiting for its child to end, or one that has ended and is not yet
//! collected. A program that waits for a timer, a socket or input sleeps (`S`) and is idle. On a
//! busy machine a program waiting for a CPU is `R`, so load makes it look busier, never idle.
//! It also tells how long the tree's threads waited for a CPU, for a program's time limit that
//! load cannot cut short (clock.rs).

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
use super::asleep;

/// How often the processes a program started are looked for again (a scan of `/proc`); between
/// scans a parent waiting for a child it just started counts as working.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const RESCAN: Duration = Duration::from_millis(250);

/// A program's process tree, and threads of the harness's own that work for it (the mocks'
/// thread: while it is runnable, a request or an answer is on its way).
pub struct Activity {
    /// `None`: no process to watch (a pid of 0, as for a program already gone).
    root: Option<i32>,
    own_threads: Vec<i32>,
    tree: Vec<i32>,
    scanned: Option<Instant>,
    /// Each thread of the tree as last looked at: how many times it had run then, when that
    /// was, and the instant after which it last ran (when seen running since).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    runs: HashMap<i32, Runs>,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct Runs {
    count: u64,
    seen: Instant,
    since: Option<Instant>,
}

impl Activity {
    pub fn new(root: u32, own_threads: Vec<i32>) -> Activity {
        let root = i32::try_from(root).ok().filter(|&pid| pid > 0);
        Activity { root, own_threads, tree: root.into_iter().collect(), scanned: None, runs: HashMap::new() }
    }

    /// Notes how many times each thread of the tree has run, so that a timed wait one of them is
    /// in later is known to have begun since (see [`Activity::asleep_for`]). Called as a case
    /// begins: what runs for the case then has a known start.
    pub fn observe(&mut self) {
        let _ = self.asleep_for(Duration::ZERO);
    }

    /// Whether the whole tree sleeps until something reaches it for at least `span` from now:
    /// every thread blocked in a wait that only I/O, another thread or a signal ends, or in one
    /// whose own time limit — counted from no earlier than the thread was last seen to run — falls
    /// later; no `timerfd` due sooner; no POSIX timer. Then nothing of its own wakes it within
    /// `span`: its quiet is proven, not only waited out. A call that cannot be read (a limit given
    /// by pointer, a sleep, another system) proves nothing; a timer set with `alarm(2)` or
    /// `setitimer(2)` is the one the kernel does not show.
    pub fn asleep_for(&mut self, span: Duration) -> bool {
        #[cfg(target_os = "linux")]
        {
            let now = Instant::now();
            let tree = self.tree().to_vec();
            // Every process is looked at, so that each thread's runs stay counted.
            tree.iter().fold(!tree.is_empty(), |all, &pid| self.process_asleep(pid, now, span) && all)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = span;
            false
        }
    }

    #[cfg(target_os = "linux")]
    fn process_asleep(&mut self, pid: i32, now: Instant, span: Duration) -> bool {
        let mut asleep = true;
        let mut any = false;
        for t in linux::threads(pid) {
            any = true;
            let since = self.ran_since(t.tid, t.age.and_then(|age| now.checked_sub(age)), t.runs, now);
            asleep &= t.sleeping
                && match t.wait {
                    asleep::Wait::Unbounded => true,
                    asleep::Wait::Millis(ms) => since.is_some_and(|s| s + Duration::from_millis(ms) >= now + span),
                    asleep::Wait::Unknown => false,
                };
        }
        asleep && any && linux::no_timer_within(pid, span)
    }

    /// The instant after which thread `tid` last ran, when known: the look before the one that
    /// found its count of runs changed, else the thread's start (`started`).
    #[cfg(target_os = "linux")]
    fn ran_since(&mut self, tid: i32, started: Option<Instant>, count: Option<u64>, now: Instant) -> Option<Instant> {
        let count = count?;
        match self.runs.get_mut(&tid) {
            Some(runs) => {
                if runs.count != count {
                    (runs.count, runs.since) = (count, Some(runs.seen));
                }
                runs.seen = now;
                runs.since
            }
            None => {
                self.runs.insert(tid, Runs { count, seen: now, since: started });
                started
            }
        }
    }

    /// Whether any of it works right now. Elsewhere than on Linux nothing can be seen: `false`.
    pub fn busy(&mut self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.tree().iter().any(|&pid| linux::process_busy(pid))
                || self.own_threads.iter().any(|&tid| linux::own_thread_busy(tid))
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }

    /// Whether a thread of the tree sleeps on a timer it set itself (`sleep`, `time.sleep`: the
    /// kernel's nanosleep), which will wake it to go on working. A timer of an event loop (a
    /// `poll` or `epoll_wait` with a timeout, as Node's `setTimeout`) cannot be told from an idle
    /// loop and is not seen. Elsewhere than on Linux: `false`.
    pub fn timer_pending(&mut self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.tree().iter().any(|&pid| linux::sleeps_on_timer(pid))
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }

    /// How long each thread of each process of the tree has waited for a CPU since it started
    /// (nanoseconds, by process, then by thread id), the harness's own threads as one more
    /// process. Elsewhere than on Linux nothing can be seen: no process.
    pub(crate) fn run_queue_waits(&mut self) -> Vec<Vec<(i32, u64)>> {
        #[cfg(target_os = "linux")]
        {
            let mut waits: Vec<Vec<(i32, u64)>> = self.tree().iter().map(|&pid| linux::run_queue_waits(pid)).collect();
            if !self.own_threads.is_empty() {
                waits.push(self.own_threads.iter().filter_map(|&tid| linux::own_thread_wait(tid)).collect());
            }
            waits
        }
        #[cfg(not(target_os = "linux"))]
        {
            Vec::new()
        }
    }

    /// The processes of the tree, looked for again once [`RESCAN`] has passed.
    #[cfg(target_os = "linux")]
    fn tree(&mut self) -> &[i32] {
        if let Some(root) = self.root
            && self.scanned.is_none_or(|at| at.elapsed() >= RESCAN)
        {
            self.tree = linux::tree(root);
            self.scanned = Some(Instant::now());
        }
        &self.tree
    }
}

/// The id of the calling thread, to watch it with [`Activity`].
pub fn current_thread_id() -> i32 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions and cannot fail.
        unsafe { libc::gettid() }
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;
    use std::fs;

    use super::super::sys::parse_stat;
    use super::asleep;

    /// States of a thread that is doing something: running or runnable, uninterruptible I/O.
    fn working(state: u8) -> bool {
        matches!(state, b'R' | b'D')
    }

    /// `root` and every live process below it.
    pub(super) fn tree(root: i32) -> Vec<i32> {
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
            if let Some(stat) = fs::read_to_string(format!("/proc/{pid}/stat")).ok().as_deref().and_then(parse_stat) {
                children.entry(stat.ppid).or_default().push(pid);
            }
        }
        let mut tree = vec![root];
        let mut i = 0;
        while let Some(&pid) = tree.get(i) {
            tree.extend(children.get(&pid).into_iter().flatten().copied());
            i += 1;
        }
        tree
    }

    /// Whether a thread of `pid` works, it waits for a child, or it ended uncollected. A process
    /// that is gone is not busy.
    pub(super) fn process_busy(pid: i32) -> bool {
        let Ok(threads) = fs::read_dir(format!("/proc/{pid}/task")) else { return false };
        let mut any = false;
        for tid in threads.flatten() {
            let Some(stat) = fs::read_to_string(tid.path().join("stat")).ok().as_deref().and_then(parse_stat) else {
                continue;
            };
            any = true;
            if working(stat.state) || stat.state == b'Z' {
                return true;
            }
        }
        // A parent blocked until its child ends: the child (not yet scanned) works for it.
        any && fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.trim() == "do_wait")
    }

    /// Whether a thread of `pid` sleeps in nanosleep (its wait channel names it).
    pub(super) fn sleeps_on_timer(pid: i32) -> bool {
        let Ok(threads) = fs::read_dir(format!("/proc/{pid}/task")) else { return false };
        threads.flatten().any(|t| fs::read_to_string(t.path().join("wchan")).is_ok_and(|w| w.contains("nanosleep")))
    }

    /// Each thread of `pid` and how long it has waited for a CPU (the second field of its
    /// `schedstat`, nanoseconds); none for a process that is gone or a kernel without schedstats.
    pub(super) fn run_queue_waits(pid: i32) -> Vec<(i32, u64)> {
        let Ok(threads) = fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
        threads
            .flatten()
            .filter_map(|t| {
                let tid = t.file_name().to_str()?.parse().ok()?;
                let waited =
                    fs::read_to_string(t.path().join("schedstat")).ok()?.split_whitespace().nth(1)?.parse().ok()?;
                Some((tid, waited))
            })
            .collect()
    }

    /// A thread as [`threads`] reads it.
    pub(super) struct Thread {
        pub(super) tid: i32,
        /// How long ago it started, at most.
        pub(super) age: Option<super::Duration>,
        /// How many times it has run (the third field of its `schedstat`).
        pub(super) runs: Option<u64>,
        /// Whether it sleeps (`S`).
        pub(super) sleeping: bool,
        /// The wait it is blocked in.
        pub(super) wait: asleep::Wait,
    }

    /// Each thread of `pid`.
    pub(super) fn threads(pid: i32) -> Vec<Thread> {
        let Ok(threads) = fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
        let booted = since_boot();
        threads
            .flatten()
            .filter_map(|t| {
                let tid = t.file_name().to_str()?.parse().ok()?;
                let read = |name: &str| fs::read_to_string(t.path().join(name)).ok();
                let wait = read("syscall").map_or(asleep::Wait::Unknown, |s| asleep::wait(&s));
                let runs = read("schedstat").and_then(|s| s.split_whitespace().nth(2)?.parse().ok());
                let stat = read("stat").as_deref().and_then(parse_stat);
                let sleeping = stat.as_ref().is_some_and(|s| s.state == b'S');
                let age = stat
                    .zip(booted)
                    .and_then(|(s, (now, tick))| now.checked_sub(tick.checked_mul(u32::try_from(s.starttime).ok()?)?));
                Some(Thread { tid, age, runs, sleeping, wait })
            })
            .collect()
    }

    /// The time since boot (as `/proc/<pid>/stat` counts a start) and its clock tick. A start is
    /// counted in whole ticks, rounded down: the age found from it is never too short.
    fn since_boot() -> Option<(super::Duration, super::Duration)> {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes the timespec it is given and has no other effect.
        let read = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut now) };
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (read == 0 && ticks > 0).then(|| {
            let now = super::Duration::new(now.tv_sec as u64, now.tv_nsec as u32);
            (now, super::Duration::from_secs(1) / ticks as u32)
        })
    }

    /// Whether `pid` has no POSIX timer and no `timerfd` due within `span`.
    pub(super) fn no_timer_within(pid: i32, span: super::Duration) -> bool {
        // Listed only where the kernel can; unreadable, nothing is proven.
        let Ok(timers) = fs::read_to_string(format!("/proc/{pid}/timers")) else { return false };
        if !timers.trim().is_empty() {
            return false;
        }
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
        fds.flatten().all(|fd| {
            let is_timer = fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == "anon_inode:[timerfd]");
            !is_timer
                || fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy()))
                    .is_ok_and(|info| asleep::timer_due(&info).is_none_or(|ms| ms as u128 >= span.as_millis()))
        })
    }

    /// How long a thread of the harness itself has waited for a CPU, ns.
    pub(super) fn own_thread_wait(tid: i32) -> Option<(i32, u64)> {
        let stat = fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
        Some((tid, stat.split_whitespace().nth(1)?.parse().ok()?))
    }

    /// Whether a thread of the harness itself is running or runnable.
    pub(super) fn own_thread_busy(tid: i32) -> bool {
        fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
            .ok()
            .as_deref()
            .and_then(parse_stat)
            .is_some_and(|s| working(s.state))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_sleeping_process_is_idle_a_spinning_one_busy_and_a_gone_one_idle() {
        let mut sleeping = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let mut idle = Activity::new(sleeping.id(), Vec::new());
        // `sleep` is idle once it has started sleeping.
        let settled = (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(2));
            !idle.busy()
        });
        sleeping.kill().unwrap();
        sleeping.wait().unwrap();
        assert!(settled, "a sleeping process never looked idle");

        // A shell waiting for a busy loop it started: the loop is found below it and runs.
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 100000000 ]; do i=$((i+1)); done; :"])
            .spawn()
            .unwrap();
        let mut busy = Activity::new(shell.id(), Vec::new());
        assert!(busy.busy(), "a spinning shell looked idle");
        shell.kill().unwrap();
        shell.wait().unwrap();
        assert!(!busy.busy(), "a process that is gone is not busy");
    }

    #[test]
    fn a_process_asleep_in_sleep_has_a_timer_pending() {
        let mut sleeping = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let mut activity = Activity::new(sleeping.id(), Vec::new());
        let seen = (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(2));
            activity.timer_pending()
        });
        sleeping.kill().unwrap();
        sleeping.wait().unwrap();
        assert!(seen, "`sleep` never showed a pending timer");
        assert!(!activity.timer_pending(), "a process that is gone has no timer");
    }
}
