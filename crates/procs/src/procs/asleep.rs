//! Whether a sleeping thread can wake on its own, as `/proc/<pid>/task/<tid>/syscall` shows the
//! call it is blocked in: a wait for I/O or another thread with no time limit wakes only when
//! something reaches it; one with a limit in milliseconds (`epoll_wait`, `poll`) wakes by itself
//! when its timer is due; any other call (a limit given by pointer, `nanosleep`, anything not
//! listed) cannot be read, so nothing is concluded from it.

/// What a thread blocked in a system call waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// Only I/O, a signal, or another thread ends it.
    Unbounded,
    /// It also ends by itself this many milliseconds after the call began.
    Millis(u64),
    /// Not known: running, or a call this does not read.
    Unknown,
}

/// The call numbers read, for the architectures the harness runs on.
#[cfg(target_arch = "x86_64")]
mod nr {
    pub(super) const READ: u64 = 0;
    pub(super) const POLL: Option<u64> = Some(7);
    pub(super) const SELECT: Option<u64> = Some(23);
    pub(super) const PAUSE: Option<u64> = Some(34);
    pub(super) const ACCEPT: u64 = 43;
    pub(super) const RECVFROM: u64 = 45;
    pub(super) const RECVMSG: u64 = 47;
    pub(super) const FUTEX: u64 = 202;
    pub(super) const EPOLL_WAIT: Option<u64> = Some(232);
    pub(super) const PSELECT6: u64 = 270;
    pub(super) const PPOLL: u64 = 271;
    pub(super) const EPOLL_PWAIT: u64 = 281;
    pub(super) const ACCEPT4: u64 = 288;
    pub(super) const EPOLL_PWAIT2: u64 = 441;
}

#[cfg(target_arch = "aarch64")]
mod nr {
    pub(super) const READ: u64 = 63;
    pub(super) const POLL: Option<u64> = None;
    pub(super) const SELECT: Option<u64> = None;
    pub(super) const PAUSE: Option<u64> = None;
    pub(super) const ACCEPT: u64 = 202;
    pub(super) const RECVFROM: u64 = 207;
    pub(super) const RECVMSG: u64 = 212;
    pub(super) const FUTEX: u64 = 98;
    pub(super) const EPOLL_WAIT: Option<u64> = None;
    pub(super) const PSELECT6: u64 = 72;
    pub(super) const PPOLL: u64 = 73;
    pub(super) const EPOLL_PWAIT: u64 = 22;
    pub(super) const ACCEPT4: u64 = 242;
    pub(super) const EPOLL_PWAIT2: u64 = 441;
}

/// `FUTEX_WAIT` and `FUTEX_WAIT_BITSET`, the private and clock flags masked off.
const FUTEX_WAITS: [u64; 2] = [0, 9];
const FUTEX_CMD_MASK: u64 = 0x7f;

/// The wait in a `syscall` file's text: `<nr> <arg0> … <arg5> <sp> <pc>` (hex arguments) while
/// blocked in a call, `running` or `-1 <sp> <pc>` otherwise.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(super) fn wait(syscall: &str) -> Wait {
    let fields: Vec<&str> = syscall.split_whitespace().collect();
    let Some(call) = fields.first().and_then(|n| n.parse::<u64>().ok()) else { return Wait::Unknown };
    let arg = |i: usize| fields.get(i + 1).and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok());
    // A limit in milliseconds, an `int`: negative waits for ever.
    let millis = |i: usize| match arg(i).map(|a| a as u32 as i32) {
        Some(ms) if ms < 0 => Wait::Unbounded,
        Some(ms) => Wait::Millis(ms as u64),
        None => Wait::Unknown,
    };
    // A limit by pointer: only its absence can be read.
    let no_limit = |i: usize| if arg(i) == Some(0) { Wait::Unbounded } else { Wait::Unknown };
    match call {
        nr::READ | nr::ACCEPT | nr::RECVFROM | nr::RECVMSG | nr::ACCEPT4 => Wait::Unbounded,
        nr::FUTEX if arg(1).is_some_and(|op| FUTEX_WAITS.contains(&(op & FUTEX_CMD_MASK))) => no_limit(3),
        nr::EPOLL_PWAIT => millis(3),
        nr::PPOLL => no_limit(2),
        nr::PSELECT6 => no_limit(4),
        nr::EPOLL_PWAIT2 => no_limit(3),
        n if Some(n) == nr::EPOLL_WAIT => millis(3),
        n if Some(n) == nr::POLL => millis(2),
        n if Some(n) == nr::SELECT => no_limit(4),
        n if Some(n) == nr::PAUSE => Wait::Unbounded,
        _ => Wait::Unknown,
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(super) fn wait(_syscall: &str) -> Wait {
    Wait::Unknown
}

/// When a `timerfd` whose `fdinfo` is `text` next fires, in milliseconds from now: `None` when
/// disarmed (`it_value: (0, 0)`) or not a timer.
pub(super) fn timer_due(fdinfo: &str) -> Option<u64> {
    let value = fdinfo.lines().find_map(|l| l.strip_prefix("it_value:"))?;
    let (secs, nanos) = value.trim().trim_start_matches('(').trim_end_matches(')').split_once(',')?;
    let (secs, nanos): (u64, u64) = (secs.trim().parse().ok()?, nanos.trim().parse().ok()?);
    (secs != 0 || nanos != 0).then(|| secs * 1000 + nanos / 1_000_000)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn waits_read_from_the_syscall_file() {
        // node's event loop, its next timer 29999 ms away, and with none; a worker on a condvar.
        assert_eq!(
            wait("281 0xe 0x7ffe53737d50 0x400 0x752f 0x0 0x8 0x7ffe53736ff0 0x7fe3c1b26cae"),
            Wait::Millis(29999)
        );
        assert_eq!(wait("281 0x9 0x7fe3c1a19cf0 0x400 0xffffffff 0x0 0x8 0x7fe3c1a18f90 0x7fe3"), Wait::Unbounded);
        assert_eq!(wait("202 0x1c243a70 0x189 0x0 0x0 0x0 0xffffffff 0x7fe3c121bc70 0x7fe3c1aa3f16"), Wait::Unbounded);
        // A futex wait with a time limit, a sleep, a running thread: nothing can be concluded.
        assert_eq!(wait("202 0x1c243a70 0x189 0x0 0x7ffe0000 0x0 0xffffffff 0x7fe3 0x7fe3"), Wait::Unknown);
        assert_eq!(wait("230 0x1 0x0 0x7ffc4d0 0x0 0x0 0x0 0x7ffc 0x7f12"), Wait::Unknown);
        assert_eq!(wait("running"), Wait::Unknown);
        assert_eq!(wait("-1 0x7ffc 0x7f12"), Wait::Unknown);
    }

    #[test]
    fn a_timerfd_is_due_when_armed() {
        let armed = "pos:\t0\nflags:\t02\nmnt_id:\t15\nclockid: 1\nticks: 0\nsettime flags: 00\nit_value: (0, 150000000)\nit_interval: (0, 0)\n";
        assert_eq!(timer_due(armed), Some(150));
        assert_eq!(timer_due(&armed.replace("(0, 150000000)", "(0, 0)")), None);
        assert_eq!(timer_due("pos:\t0\nflags:\t02\n"), None);
    }
}
