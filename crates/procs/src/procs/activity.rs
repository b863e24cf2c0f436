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
    /// The instants after which it was last seen to run, the latest [`ROUNDS`] of them.
    woken: Vec<Instant>,
}

/// How many times a thread must be seen to wake by itself, while its program is quiet, to be
/// taken for a loop doing its rounds (a poll loop, a housekeeping tick) rather than one waiting for
/// a job it set itself: Node's event loop wakes for its own ticks while a retry on `setTimeout`
/// is still to come.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const ROUNDS: usize = 3;

impl Activity {
    pub fn new(root: u32, own_threads: Vec<i32>) -> Activity {
        let root = i32::try_from(root).ok().filter(|&pid| pid > 0);
        Activity { root, own_threads, tree: root.into_iter().collect(), scanned: None, runs: HashMap::new() }
    }

    /// Notes how many times each thread of the tree has run, so that a timed wait one of them is
    /// in later is known to have begun since (see [`Activity::asleep_for`]). Called as a case
    /// begins: what runs for the case then has a known start.
    pub fn observe(&mut self) {
        #[cfg(target_os = "linux")]
        {
            let now = Instant::now();
            for pid in self.tree().to_vec() {
                let _ = self.wakes(pid, now);
            }
        }
    }

    /// Whether the whole tree sleeps until something reaches it for at least `span` from now:
    /// every thread blocked in a wait that only I/O, another thread or a signal ends, or in one
    /// whose own time limit — counted from no earlier than the thread was last seen to run —
    /// falls later; no `timerfd` due sooner; no POSIX timer; nothing waiting to be read at either
    /// end of a TCP connection of the tree (the peer's too, when on this machine, as a mock is),
    /// none being opened or half-closed, so no request or answer is left unread; and no process
    /// started since the tree was last listed. Then nothing of its own wakes it within `span`: its
    /// quiet is proven, not only waited out. A call that cannot be read (another system, a call asleep.rs does not list)
    /// proves nothing; a timer set with `alarm(2)` or `setitimer(2)` is the one the kernel does
    /// not show.
    pub fn asleep_for(&mut self, span: Duration) -> bool {
        #[cfg(target_os = "linux")]
        {
            let now = Instant::now();
            let tree = self.tree().to_vec();
            // Every process is looked at, so that each thread's runs stay counted.
            let asleep = tree.iter().fold(!tree.is_empty(), |all, &pid| {
                let wakes = self.wakes(pid, now);
                all && !wakes.is_empty()
                    && wakes.iter().all(|(_, w, _)| match w {
                        Wake::Never => true,
                        Wake::At(at) => at.is_some_and(|at| at >= now + span),
                        Wake::Unreadable | Wake::Unknown => false,
                    })
            });
            asleep
                && tree.iter().all(|&pid| linux::no_timer_within(pid, span))
                && self.nothing_in_transit()
                && self.no_new_process(&tree)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = span;
            false
        }
    }

    /// Whether a thread of the tree sleeps on a timer that may fall due and wake it to go on
    /// working — within `far` from now for a plain sleep (`nanosleep`, `clock_nanosleep`: `sleep`,
    /// `time.sleep`), within `near` for any other: an event loop's next timer (Node's `setTimeout`,
    /// Python's `asyncio.sleep`; also what an idle keep-alive connection keeps armed for seconds),
    /// any wait with a time limit (read as [`Activity::asleep_for`]
    /// reads it), or a `timerfd`. A thread seen to wake by itself [`ROUNDS`] times since
    /// `quiet_since` (a server's poll loop, a housekeeping tick) is doing its rounds, not a job it
    /// started before: its timer counts only within `near`. A limit that cannot be read counts as
    /// due; a POSIX timer, whose due time the kernel does not show, does not count. Elsewhere than
    /// on Linux: `false`.
    pub fn timer_within(&mut self, near: Duration, far: Duration, quiet_since: Instant) -> bool {
        #[cfg(target_os = "linux")]
        {
            let now = Instant::now();
            let tree = self.tree().to_vec();
            let mut due = false;
            for &pid in &tree {
                // Every process is looked at, so that each thread's runs stay counted.
                due |= self.wakes(pid, now).iter().any(|&(tid, wake, sleeps)| {
                    let woken =
                        self.runs.get(&tid).map_or(0, |r| r.woken.iter().filter(|&&w| w >= quiet_since).count());
                    let span = if sleeps && woken < ROUNDS { far } else { near };
                    match wake {
                        Wake::At(at) => at.is_none_or(|at| at < now + span),
                        Wake::Unreadable => true,
                        Wake::Never | Wake::Unknown => false,
                    }
                });
            }
            due || tree.iter().any(|&pid| linux::timerfd_within(pid, near))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (near, far, quiet_since);
            false
        }
    }

    /// Whether no TCP connection of the tree has a byte waiting to be read at either end (the
    /// peer's too, when on this machine, as a mock is), and none is being opened or half-closed:
    /// no request and no answer is left unread. Elsewhere than on Linux: `false`.
    pub fn nothing_in_transit(&mut self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.tree().to_vec().into_iter().all(linux::nothing_in_transit)
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }

    /// Whether the tree, listed again now, has no process that `tree` lacks: one just started
    /// (and not yet listed) may be working while its parent sleeps.
    #[cfg(target_os = "linux")]
    fn no_new_process(&mut self, tree: &[i32]) -> bool {
        self.scanned = None;
        self.tree().iter().all(|pid| tree.contains(pid))
    }

    /// When each thread of `pid` wakes by itself, as far as can be told, and whether it is in a
    /// plain sleep.
    #[cfg(target_os = "linux")]
    fn wakes(&mut self, pid: i32, now: Instant) -> Vec<(i32, Wake, bool)> {
        linux::threads(pid)
            .into_iter()
            .map(|t| {
                let since = self.ran_since(t.tid, t.age.and_then(|age| now.checked_sub(age)), t.runs, now);
                let wake = match (t.sleeping, t.wait, t.due) {
                    (false, ..) => Wake::Unknown,
                    (true, asleep::Wait::Unbounded, _) => Wake::Never,
                    (true, _, Some(asleep::Due::AfterStart(limit))) => Wake::At(since.map(|s| s + limit)),
                    (true, _, Some(asleep::Due::FromNow(left))) => Wake::At(Some(now + left)),
                    (true, _, Some(asleep::Due::Unreadable)) => Wake::Unreadable,
                    (true, _, None) => Wake::Unknown,
                };
                (t.tid, wake, t.sleeps)
            })
            .collect()
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
                    if runs.woken.len() == ROUNDS {
                        runs.woken.remove(0);
                    }
                    runs.woken.push(runs.seen);
                }
                runs.seen = now;
                runs.since
            }
            None => {
                self.runs.insert(tid, Runs { count, seen: now, since: started, woken: Vec::new() });
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

/// When a sleeping thread wakes by itself.
#[cfg(target_os = "linux")]
#[derive(Clone, Copy)]
enum Wake {
    /// Only when something reaches it.
    Never,
    /// At the earliest at this instant (`None`: not known how early).
    At(Option<Instant>),
    /// On a time limit that could not be read.
    Unreadable,
    /// Not known: it runs, or its call is not read.
    Unknown,
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

    /// Whether `pid` is still there (a gone process's files cannot be read).
    fn process_alive(pid: i32) -> bool {
        fs::metadata(format!("/proc/{pid}/task")).is_ok()
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
        /// When that wait ends by itself, if it has a limit.
        pub(super) due: Option<asleep::Due>,
        /// Whether that wait is a plain sleep ([`asleep::sleeps`]).
        pub(super) sleeps: bool,
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
                let syscall = read("syscall");
                let wait = syscall.as_deref().map_or(asleep::Wait::Unknown, asleep::wait);
                let sleeps = syscall.as_deref().is_some_and(asleep::sleeps);
                let due = asleep::due(wait, |at| memory(pid, at), clock_now);
                let runs = read("schedstat").and_then(|s| s.split_whitespace().nth(2)?.parse().ok());
                let stat = read("stat").as_deref().and_then(parse_stat);
                let sleeping = stat.as_ref().is_some_and(|s| s.state == b'S');
                let age = stat
                    .zip(booted)
                    .and_then(|(s, (now, tick))| now.checked_sub(tick.checked_mul(u32::try_from(s.starttime).ok()?)?));
                Some(Thread { tid, age, runs, sleeping, wait, due, sleeps })
            })
            .collect()
    }

    /// The 16 bytes at `at` in the memory of `pid` (readable where its threads' `syscall` is).
    fn memory(pid: i32, at: u64) -> Option<[u8; 16]> {
        use std::os::unix::fs::FileExt;
        let mut bytes = [0; 16];
        fs::File::open(format!("/proc/{pid}/mem")).ok()?.read_exact_at(&mut bytes, at).ok()?;
        Some(bytes)
    }

    /// The time of `clock` now.
    fn clock_now(clock: i32) -> Option<super::Duration> {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes the timespec it is given and has no other effect.
        let read = unsafe { libc::clock_gettime(clock as libc::clockid_t, &mut now) };
        (read == 0).then(|| super::Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
    }

    /// Whether no TCP connection of `pid` has anything left to read at either end (its own socket
    /// and the peer's, when the peer is on this machine, as a mock is), and none is being opened
    /// or half-closed. Read from `/proc/<pid>/net/tcp` and `tcp6`; unreadable, nothing is proven.
    pub(super) fn nothing_in_transit(pid: i32) -> bool {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else { return !process_alive(pid) };
        let sockets: std::collections::HashSet<String> = fds
            .flatten()
            .filter_map(|fd| {
                let link = fs::read_link(fd.path()).ok()?;
                Some(link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
            })
            .collect();
        if sockets.is_empty() {
            return true;
        }
        let mut lines = Vec::new();
        for table in ["tcp", "tcp6"] {
            match fs::read_to_string(format!("/proc/{pid}/net/{table}")) {
                Ok(text) => lines.extend(text.lines().skip(1).filter_map(asleep::tcp_line).collect::<Vec<_>>()),
                Err(_) if table == "tcp6" => {}
                Err(_) => return false,
            }
        }
        let own: Vec<&asleep::Tcp> = lines.iter().filter(|l| sockets.contains(&l.inode)).collect();
        own.iter().all(|mine| {
            mine.settled()
                && lines
                    .iter()
                    .filter(|peer| peer.local == mine.remote && peer.remote == mine.local)
                    .all(|peer| peer.settled())
        })
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
        timers.trim().is_empty() && fs::read_dir(format!("/proc/{pid}/fd")).is_ok() && !timerfd_within(pid, span)
    }

    /// Whether a `timerfd` of `pid` fires within `span`.
    pub(super) fn timerfd_within(pid: i32, span: super::Duration) -> bool {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
        fds.flatten().any(|fd| {
            fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == "anon_inode:[timerfd]")
                && fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy()))
                    .map_or(true, |info| asleep::timer_due(&info).is_some_and(|ms| (ms as u128) < span.as_millis()))
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

    /// Looks at `activity` until `seen` holds of it (2 s at most).
    fn seen(activity: &mut Activity, seen: impl Fn(&mut Activity) -> bool) -> bool {
        (0..1000).any(|_| {
            std::thread::sleep(Duration::from_millis(2));
            seen(activity)
        })
    }

    #[test]
    fn a_timer_is_seen_when_due_within_the_span_and_not_further_out() {
        // `sleep` (clock_nanosleep, its limit in its memory), then an event loop's timed wait
        // (poll with 5000 ms in the syscall line itself).
        let poll = "import select; select.poll().poll(5000)";
        let python = std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
        let commands: &[&[&str]] =
            if python { &[&["sleep", "5"], &["python3", "-c", poll]] } else { &[&["sleep", "5"]] };
        for command in commands {
            let start = Instant::now();
            let mut child = std::process::Command::new(command[0]).args(&command[1..]).spawn().unwrap();
            let mut activity = Activity::new(child.id(), Vec::new());
            let due = seen(&mut activity, |a| a.timer_within(Duration::from_secs(10), Duration::from_secs(10), start));
            // Due 5 s after it began at the latest: further out than 1 s for a while yet.
            let far = !activity.timer_within(Duration::from_millis(500), Duration::from_millis(500), start);
            child.kill().unwrap();
            child.wait().unwrap();
            assert!(due, "{command:?}: its timer was never seen");
            assert!(far, "{command:?}: a timer 5 s away is not due within 500 ms");
            assert!(
                !activity.timer_within(Duration::from_secs(10), Duration::from_secs(10), start),
                "a process that is gone has no timer"
            );
        }
    }

    #[test]
    fn a_process_waiting_only_for_input_is_asleep_and_a_sleeping_one_is_not() {
        let mut reading = std::process::Command::new("sh")
            .args(["-c", "read line"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut activity = Activity::new(reading.id(), Vec::new());
        let asleep = seen(&mut activity, |a| a.asleep_for(Duration::from_secs(600)));
        let timer = activity.timer_within(Duration::from_secs(600), Duration::from_secs(600), Instant::now());
        reading.kill().unwrap();
        reading.wait().unwrap();
        assert!(asleep && !timer, "a shell reading its input sleeps until something reaches it");
    }

    #[test]
    fn a_loop_that_wakes_by_itself_is_doing_its_rounds() {
        if !std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success()) {
            return;
        }
        let code = "import select\nwhile True: select.poll().poll(300)";
        let mut child = std::process::Command::new("python3").args(["-c", code]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        let mut activity = Activity::new(child.id(), Vec::new());
        // Its 300 ms timer is due within 10 s; once it has woken by itself three times, only within
        // 100 ms counts.
        let due = seen(&mut activity, |a| a.timer_within(Duration::from_millis(100), Duration::from_secs(10), start));
        let rounds =
            seen(&mut activity, |a| !a.timer_within(Duration::from_millis(100), Duration::from_secs(10), start));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(due && rounds, "due {due}, seen doing its rounds {rounds}");
    }
}
