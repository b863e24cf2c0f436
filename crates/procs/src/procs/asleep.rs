//! Whether a sleeping thread can wake on its own, and when, as `/proc/<pid>/task/<tid>/syscall`
//! shows the call it is blocked in: a wait for I/O or another thread with no time limit wakes
//! only when something reaches it; one with a limit wakes by itself when it is due — a limit in
//! milliseconds (`epoll_wait`, `poll`: an event loop's next timer, Node's `setTimeout`, Python's
//! `asyncio.sleep`) read from the line itself, one given by pointer (`nanosleep`,
//! `clock_nanosleep`, `futex`, `ppoll`, `pselect6`, `epoll_pwait2`) read from the thread's memory
//! (`/proc/<pid>/mem`, readable where `syscall` is). Any other call proves nothing.

use std::time::Duration;

/// What a thread blocked in a system call waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// Only I/O, a signal, or another thread ends it.
    Unbounded,
    /// It also ends by itself this long after the call began.
    After(Duration),
    /// It also ends by itself at the time in the `timespec` (a `timeval` for `select`) at address
    /// `at` of the thread's memory: that long after the call began, or — with a `clock` — at that
    /// time of the clock.
    Limit { at: u64, timeval: bool, clock: Option<i32> },
    /// Not known: running, or a call this does not read.
    Unknown,
}

/// The numbers of the calls read, for one architecture (`None`: the architecture lacks it).
pub(super) struct Calls {
    read: u64,
    poll: Option<u64>,
    select: Option<u64>,
    pause: Option<u64>,
    nanosleep: u64,
    accept: u64,
    recvfrom: u64,
    recvmsg: u64,
    futex: u64,
    clock_nanosleep: u64,
    epoll_wait: Option<u64>,
    pselect6: u64,
    ppoll: u64,
    epoll_pwait: u64,
    accept4: u64,
    epoll_pwait2: u64,
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(super) const X86_64: Calls = Calls {
    read: 0,
    poll: Some(7),
    select: Some(23),
    pause: Some(34),
    nanosleep: 35,
    accept: 43,
    recvfrom: 45,
    recvmsg: 47,
    futex: 202,
    clock_nanosleep: 230,
    epoll_wait: Some(232),
    pselect6: 270,
    ppoll: 271,
    epoll_pwait: 281,
    accept4: 288,
    epoll_pwait2: 441,
};

#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
pub(super) const AARCH64: Calls = Calls {
    read: 63,
    poll: None,
    select: None,
    pause: None,
    nanosleep: 101,
    accept: 202,
    recvfrom: 207,
    recvmsg: 212,
    futex: 98,
    clock_nanosleep: 115,
    epoll_wait: None,
    pselect6: 72,
    ppoll: 73,
    epoll_pwait: 22,
    accept4: 242,
    epoll_pwait2: 441,
};

#[cfg(target_arch = "x86_64")]
const NATIVE: Option<&Calls> = Some(&X86_64);
#[cfg(target_arch = "aarch64")]
const NATIVE: Option<&Calls> = Some(&AARCH64);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const NATIVE: Option<&Calls> = None;

/// `FUTEX_WAIT` (a relative limit) and `FUTEX_WAIT_BITSET` (an absolute one), and the flags.
const FUTEX_WAIT: u64 = 0;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_CMD_MASK: u64 = 0x7f;
const FUTEX_CLOCK_REALTIME: u64 = 256;
/// `clock_nanosleep`'s flag for an absolute time.
const TIMER_ABSTIME: u64 = 1;

/// The wait in a `syscall` file's text on this machine's architecture.
pub(super) fn wait(syscall: &str) -> Wait {
    NATIVE.map_or(Wait::Unknown, |calls| wait_on(calls, syscall))
}

/// Whether a `syscall` file's text shows a plain sleep (`nanosleep`, `clock_nanosleep`): a pause
/// the program chose, as a retry's, not an event loop's or a lock's wait.
pub(super) fn sleeps(syscall: &str) -> bool {
    let call = syscall.split_whitespace().next().and_then(|n| n.parse::<u64>().ok());
    NATIVE.zip(call).is_some_and(|(c, call)| call == c.nanosleep || call == c.clock_nanosleep)
}

/// The wait in a `syscall` file's text: `<nr> <arg0> … <arg5> <sp> <pc>` (hex arguments) while
/// blocked in a call, `running` or `-1 <sp> <pc>` otherwise.
pub(super) fn wait_on(c: &Calls, syscall: &str) -> Wait {
    let fields: Vec<&str> = syscall.split_whitespace().collect();
    let Some(call) = fields.first().and_then(|n| n.parse::<u64>().ok()) else { return Wait::Unknown };
    let arg = |i: usize| fields.get(i + 1).and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok());
    // A limit in milliseconds, an `int`: negative waits for ever.
    let millis = |i: usize| match arg(i).map(|a| a as u32 as i32) {
        Some(ms) if ms < 0 => Wait::Unbounded,
        Some(ms) => Wait::After(Duration::from_millis(ms as u64)),
        None => Wait::Unknown,
    };
    // A limit by pointer: none when null.
    let limit = |i: usize, timeval: bool, clock: Option<i32>| match arg(i) {
        Some(0) => Wait::Unbounded,
        Some(at) => Wait::Limit { at, timeval, clock },
        None => Wait::Unknown,
    };
    let is = |n: Option<u64>| n == Some(call);
    if [c.read, c.accept, c.recvfrom, c.recvmsg, c.accept4].contains(&call) || is(c.pause) {
        Wait::Unbounded
    } else if call == c.futex {
        let op = arg(1).unwrap_or(u64::MAX);
        match op & FUTEX_CMD_MASK {
            FUTEX_WAIT => limit(3, false, None),
            FUTEX_WAIT_BITSET => {
                let clock = if op & FUTEX_CLOCK_REALTIME != 0 { libc::CLOCK_REALTIME } else { libc::CLOCK_MONOTONIC };
                limit(3, false, Some(clock))
            }
            _ => Wait::Unknown,
        }
    } else if call == c.nanosleep {
        limit(0, false, None)
    } else if call == c.clock_nanosleep {
        let absolute = arg(1).is_some_and(|f| f & TIMER_ABSTIME != 0);
        let clock = arg(0).map(|id| id as u32 as i32);
        if absolute { clock.map_or(Wait::Unknown, |clock| limit(2, false, Some(clock))) } else { limit(2, false, None) }
    } else if call == c.epoll_pwait || is(c.epoll_wait) {
        millis(3)
    } else if is(c.poll) {
        millis(2)
    } else if call == c.ppoll {
        limit(2, false, None)
    } else if call == c.pselect6 {
        limit(4, false, None)
    } else if call == c.epoll_pwait2 {
        limit(3, false, None)
    } else if is(c.select) {
        limit(4, true, None)
    } else {
        Wait::Unknown
    }
}

/// When a timed wait ends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    /// This long after the call began.
    AfterStart(Duration),
    /// This long from now.
    FromNow(Duration),
    /// It has a limit, which could not be read.
    Unreadable,
}

/// When the timed wait `wait` ends, its limit read with `memory` (the 16 bytes at an address of
/// the thread's memory) and an absolute one set against `clock_now` (a clock's time now);
/// `None` for a wait that is not timed.
pub(super) fn due(
    wait: Wait,
    memory: impl FnOnce(u64) -> Option<[u8; 16]>,
    clock_now: impl FnOnce(i32) -> Option<Duration>,
) -> Option<Due> {
    match wait {
        Wait::Unbounded | Wait::Unknown => None,
        Wait::After(limit) => Some(Due::AfterStart(limit)),
        Wait::Limit { at, timeval, clock } => {
            let Some(bytes) = memory(at) else { return Some(Due::Unreadable) };
            let word = |i: usize| i64::from_ne_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
            let (secs, fraction) = (word(0), word(1));
            let nanos = if timeval { fraction.checked_mul(1000) } else { Some(fraction) };
            let (Ok(secs), Some(Ok(nanos))) = (u64::try_from(secs), nanos.map(u32::try_from)) else {
                return Some(Due::Unreadable);
            };
            if nanos >= 1_000_000_000 {
                return Some(Due::Unreadable);
            }
            let limit = Duration::new(secs, nanos);
            Some(match clock {
                None => Due::AfterStart(limit),
                Some(clock) => match clock_now(clock) {
                    Some(now) => Due::FromNow(limit.saturating_sub(now)),
                    None => Due::Unreadable,
                },
            })
        }
    }
}

/// When a `timerfd` whose `fdinfo` is `text` next fires, in milliseconds from now: `None` when
/// disarmed (`it_value: (0, 0)`) or not a timer.
pub(super) fn timer_due(fdinfo: &str) -> Option<u64> {
    let value = fdinfo.lines().find_map(|l| l.strip_prefix("it_value:"))?;
    let (secs, nanos) = value.trim().trim_start_matches('(').trim_end_matches(')').split_once(',')?;
    let (secs, nanos): (u64, u64) = (secs.trim().parse().ok()?, nanos.trim().parse().ok()?);
    (secs != 0 || nanos != 0).then(|| secs * 1000 + nanos / 1_000_000)
}

/// A TCP socket as a line of `/proc/<pid>/net/tcp` (or `tcp6`) shows it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Tcp {
    pub(super) local: String,
    pub(super) remote: String,
    state: u8,
    /// Bytes received and not read (for a listening socket: connections not yet accepted).
    unread: u64,
    pub(super) inode: String,
}

impl Tcp {
    /// Nothing waiting to be read at this end, and no connection being opened or closed with a
    /// segment of its own unacknowledged. Bytes sent and not yet acknowledged are not looked at:
    /// the other end delays its acknowledgement (40 ms and more) after reading them.
    pub(super) fn settled(&self) -> bool {
        // ESTABLISHED, FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, LISTEN; not SYN_SENT, SYN_RECV,
        // FIN_WAIT1, LAST_ACK, CLOSING.
        matches!(self.state, 0x01 | 0x05 | 0x06 | 0x07 | 0x08 | 0x0A) && self.unread == 0
    }
}

/// One line of a `/proc/net/tcp` table: `sl local remote st tx:rx tr:when retrnsmt uid timeout
/// inode …`.
pub(super) fn tcp_line(line: &str) -> Option<Tcp> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let (_, unread) = f.get(4)?.split_once(':')?;
    Some(Tcp {
        local: f.get(1)?.to_string(),
        remote: f.get(2)?.to_string(),
        state: u8::from_str_radix(f.get(3)?, 16).ok()?,
        unread: u64::from_str_radix(unread, 16).ok()?,
        inode: f.get(9)?.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn waits_read_from_the_syscall_file_on_x86_64() {
        let wait = |line| wait_on(&X86_64, line);
        // node's event loop, its next timer 29999 ms away, and with none; a worker on a condvar.
        assert_eq!(
            wait("281 0xe 0x7ffe53737d50 0x400 0x752f 0x0 0x8 0x7ffe53736ff0 0x7fe3c1b26cae"),
            Wait::After(MS(29999))
        );
        assert_eq!(wait("281 0x9 0x7fe3c1a19cf0 0x400 0xffffffff 0x0 0x8 0x7fe3c1a18f90 0x7fe3"), Wait::Unbounded);
        assert_eq!(wait("202 0x1c243a70 0x189 0x0 0x0 0x0 0xffffffff 0x7fe3c121bc70 0x7fe3c1aa3f16"), Wait::Unbounded);
        // Python's asyncio (epoll_wait, 300 ms), a poll with a timeout.
        assert_eq!(wait("232 0x3 0x7f0 0x1 0x12c 0x0 0x0 0x7ffc 0x7f12"), Wait::After(MS(300)));
        assert_eq!(wait("7 0x7ffc 0x1 0x3e8 0x0 0x0 0x0 0x7ffc 0x7f12"), Wait::After(MS(1000)));
        // A futex wait with an absolute limit on CLOCK_REALTIME (0x189: bitset, private, realtime).
        assert_eq!(
            wait("202 0x1c243a70 0x189 0x0 0x7ffe0000 0x0 0xffffffff 0x7fe3 0x7fe3"),
            Wait::Limit { at: 0x7ffe0000, timeval: false, clock: Some(libc::CLOCK_REALTIME) }
        );
        // A relative futex wait (0x80: private), `sleep`/`time.sleep`, an absolute clock_nanosleep.
        assert_eq!(
            wait("202 0x1c24 0x80 0x0 0x7ffe1000 0x0 0x0 0x7fe3 0x7fe3"),
            Wait::Limit { at: 0x7ffe1000, timeval: false, clock: None }
        );
        assert_eq!(
            wait("230 0x0 0x0 0x7ffc4d0 0x7ffc4d0 0x0 0x0 0x7ffc 0x7f12"),
            Wait::Limit { at: 0x7ffc4d0, timeval: false, clock: None }
        );
        assert_eq!(
            wait("230 0x1 0x1 0x7ffc4d0 0x0 0x0 0x0 0x7ffc 0x7f12"),
            Wait::Limit { at: 0x7ffc4d0, timeval: false, clock: Some(libc::CLOCK_MONOTONIC) }
        );
        assert_eq!(
            wait("35 0x7ffc4d0 0x0 0x0 0x0 0x0 0x0 0x7ffc 0x7f12"),
            Wait::Limit { at: 0x7ffc4d0, timeval: false, clock: None }
        );
        // select's timeval, ppoll with none, a futex wake, a running thread, no call.
        assert_eq!(
            wait("23 0x4 0x7ff0 0x0 0x0 0x7ff8 0x0 0x7ffc 0x7f12"),
            Wait::Limit { at: 0x7ff8, timeval: true, clock: None }
        );
        assert_eq!(wait("271 0x7ff0 0x2 0x0 0x0 0x8 0x0 0x7ffc 0x7f12"), Wait::Unbounded);
        assert_eq!(wait("202 0x1c24 0x81 0x1 0x0 0x0 0x0 0x7fe3 0x7fe3"), Wait::Unknown);
        assert_eq!(wait("running"), Wait::Unknown);
        assert_eq!(wait("-1 0x7ffc 0x7f12"), Wait::Unknown);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_plain_sleep_is_told_from_other_timed_waits() {
        assert!(sleeps("35 0x7ffc4d0 0x0 0x0 0x0 0x0 0x0 0x7ffc 0x7f12"), "nanosleep");
        assert!(sleeps("230 0x1 0x1 0x7ffc4d0 0x0 0x0 0x0 0x7ffc 0x7f12"), "clock_nanosleep");
        assert!(!sleeps("232 0x3 0x7f0 0x1 0x12c 0x0 0x0 0x7ffc 0x7f12"), "an event loop's epoll_wait");
        assert!(!sleeps("202 0x1c24 0x80 0x0 0x7ffe1000 0x0 0x0 0x7fe3 0x7fe3"), "a futex");
        assert!(!sleeps("running"));
    }

    #[test]
    fn waits_read_from_the_syscall_file_on_aarch64() {
        let wait = |line| wait_on(&AARCH64, line);
        // epoll_pwait is 22 there (no epoll_wait, poll or select); 232 and 7 are other calls.
        assert_eq!(wait("22 0xe 0xffffd000 0x400 0x752f 0x0 0x8 0xffffc000 0xffff8000"), Wait::After(MS(29999)));
        assert_eq!(wait("22 0x9 0xffffd000 0x400 0xffffffff 0x0 0x8 0xffffc000 0xffff8000"), Wait::Unbounded);
        assert_eq!(wait("232 0x3 0x7f0 0x1 0x12c 0x0 0x0 0x7ffc 0x7f12"), Wait::Unknown);
        assert_eq!(wait("98 0xaaaa 0x189 0x0 0x0 0x0 0xffffffff 0xffffc000 0xffff8000"), Wait::Unbounded);
        assert_eq!(
            wait("115 0x0 0x0 0xffffc010 0xffffc010 0x0 0x0 0xffffc000 0xffff8000"),
            Wait::Limit { at: 0xffffc010, timeval: false, clock: None }
        );
        assert_eq!(
            wait("101 0xffffc010 0x0 0x0 0x0 0x0 0x0 0xffffc000 0xffff8000"),
            Wait::Limit { at: 0xffffc010, timeval: false, clock: None }
        );
        assert_eq!(
            wait("73 0xffff 0x2 0xffffc020 0x0 0x8 0x0 0xffffc000 0xffff8000"),
            Wait::Limit { at: 0xffffc020, timeval: false, clock: None }
        );
        assert_eq!(wait("63 0x0 0xffff 0x400 0x0 0x0 0x0 0xffffc000 0xffff8000"), Wait::Unbounded);
    }

    fn timespec(secs: i64, fraction: i64) -> Option<[u8; 16]> {
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&secs.to_ne_bytes());
        bytes[8..].copy_from_slice(&fraction.to_ne_bytes());
        Some(bytes)
    }

    #[test]
    fn limits_are_read_from_the_threads_memory() {
        let relative = Wait::Limit { at: 8, timeval: false, clock: None };
        let now = |_| Some(Duration::from_secs(100));
        assert_eq!(due(relative, |_| timespec(2, 500_000_000), now), Some(Due::AfterStart(MS(2500))));
        let timeval = Wait::Limit { at: 8, timeval: true, clock: None };
        assert_eq!(due(timeval, |_| timespec(0, 250_000), now), Some(Due::AfterStart(MS(250))));
        // Absolute: set against the clock, never before now.
        let absolute = Wait::Limit { at: 8, timeval: false, clock: Some(libc::CLOCK_MONOTONIC) };
        assert_eq!(due(absolute, |_| timespec(101, 0), now), Some(Due::FromNow(MS(1000))));
        assert_eq!(due(absolute, |_| timespec(99, 0), now), Some(Due::FromNow(Duration::ZERO)));
        // Unreadable memory, nonsense, no clock: a limit not known.
        assert_eq!(due(relative, |_| None, now), Some(Due::Unreadable));
        assert_eq!(due(relative, |_| timespec(-1, 0), now), Some(Due::Unreadable));
        assert_eq!(due(relative, |_| timespec(1, 2_000_000_000), now), Some(Due::Unreadable));
        assert_eq!(due(absolute, |_| timespec(101, 0), |_| None), Some(Due::Unreadable));
        // Not timed.
        assert_eq!(due(Wait::Unbounded, |_| None, now), None);
        assert_eq!(due(Wait::After(MS(5)), |_| None, now), Some(Due::AfterStart(MS(5))));
    }

    #[test]
    fn tcp_sockets_are_settled_when_nothing_is_queued() {
        let line = |st: &str, queues: &str| {
            tcp_line(&format!("   3: 0100007F:A1B2 0100007F:1F90 {st} {queues} 00:00000000 00000000     0        0 48213 1 0000000000000000 20 4 30 10 -1"))
                .unwrap()
        };
        let open = line("01", "00000000:00000000");
        assert_eq!(
            (open.local.as_str(), open.remote.as_str(), open.inode.as_str()),
            ("0100007F:A1B2", "0100007F:1F90", "48213")
        );
        assert!(open.settled());
        // Sent and not yet acknowledged (a delayed acknowledgement): settled. An answer not read, a
        // connection not yet accepted or opened: not.
        assert!(line("01", "0000012C:00000000").settled());
        assert!(!line("01", "00000000:00000040").settled());
        assert!(!line("0A", "00000000:00000001").settled());
        assert!(!line("02", "00000000:00000000").settled());
        assert!(line("06", "00000000:00000000").settled());
        assert_eq!(tcp_line("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when"), None);
    }

    #[test]
    fn a_timerfd_is_due_when_armed() {
        let armed = "pos:\t0\nflags:\t02\nmnt_id:\t15\nclockid: 1\nticks: 0\nsettime flags: 00\nit_value: (0, 150000000)\nit_interval: (0, 0)\n";
        assert_eq!(timer_due(armed), Some(150));
        assert_eq!(timer_due(&armed.replace("(0, 150000000)", "(0, 0)")), None);
        assert_eq!(timer_due("pos:\t0\nflags:\t02\n"), None);
    }
}
