//! How Linux does what the crate root promises: `/proc` scans, pidfds, the subreaper and
//! parent-death signal, the guardian process, and network namespaces.

use super::*;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

pub(super) fn current_pid() -> libc::pid_t {
    // SAFETY: getpid has no preconditions and cannot fail.
    unsafe { libc::getpid() }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Runs in the forked child before exec: async-signal-safe calls only.
pub(super) fn child_setup(parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: setpgid(0, 0) only changes the calling process's group.
    if unsafe { libc::setpgid(0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and touches no memory.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if SMALL_PAGES_ONLY.load(std::sync::atomic::Ordering::Relaxed) {
        // The program gets transparent huge pages as it would outside the harness. Failing
        // changes only its speed. SAFETY: PR_SET_THP_DISABLE takes an integer flag, no memory.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 0 as libc::c_ulong, 0, 0, 0) };
    }
    // If the harness died between fork and prctl, the signal was missed
    // and we were reparented already: give up (std then _exits the child).
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } != parent {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(())
}

/// Set when this process turned transparent huge pages off for itself (see [`small_pages`]), so
/// the programs it starts get them back.
static SMALL_PAGES_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(super) fn small_pages() {
    // SAFETY: PR_GET_THP_DISABLE and PR_SET_THP_DISABLE take integer flags and touch no memory.
    unsafe {
        // Already off (inherited): then the programs keep it off too.
        if libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) != 0 {
            return;
        }
        if libc::prctl(libc::PR_SET_THP_DISABLE, 1 as libc::c_ulong, 0, 0, 0) == 0 {
            SMALL_PAGES_ONLY.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

pub(super) fn become_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag, no memory.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn is_subreaper() -> bool {
    let mut flag: libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one int through the pointer,
    // which points at a live local int.
    let rc = unsafe { libc::prctl(libc::PR_GET_CHILD_SUBREAPER, &mut flag as *mut libc::c_int, 0, 0, 0) };
    rc == 0 && flag != 0
}

/// The fields of `/proc/<pid>/stat` this module needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProcStat {
    pub pid: i32,
    pub state: u8,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    /// Clock ticks after boot; with the pid it identifies a process.
    pub starttime: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is in
/// parentheses and may itself contain spaces and ')', so the fields after
/// it are found from the last ')'.
pub(super) fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text.get(..open)?.trim().parse().ok()?;
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] is field 3 (state); field n is rest[n - 3].
    Some(ProcStat {
        pid,
        state: *rest.first()?.as_bytes().first()?,
        ppid: rest.get(1)?.parse().ok()?,
        pgrp: rest.get(2)?.parse().ok()?,
        session: rest.get(3)?.parse().ok()?,
        starttime: rest.get(19)?.parse().ok()?,
    })
}

pub(super) fn read_stat(pid: i32) -> Option<ProcStat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn read_environ(pid: i32) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    File::open(format!("/proc/{pid}/environ")).ok()?.take(ENVIRON_READ_LIMIT).read_to_end(&mut buf).ok()?;
    Some(buf)
}

fn is_dead(state: u8) -> bool {
    matches!(state, b'Z' | b'X' | b'x')
}

/// One pass over `/proc`: live tagged processes and all their live
/// descendants, never `me` nor pid 1.
fn scan(prefix: &[u8], me: i32) -> Vec<ProcStat> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut all: Vec<ProcStat> = Vec::new();
    let mut tagged: Vec<i32> = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me || pid <= 1 {
            continue;
        }
        // A process that vanished or cannot be read is skipped; the next
        // scan sees it again if it still matters.
        let Some(stat) = read_stat(pid) else { continue };
        if is_dead(stat.state) {
            continue;
        }
        all.push(stat);
        if read_environ(pid).is_some_and(|env| environ_has_tag(&env, prefix)) {
            tagged.push(pid);
        }
    }
    let mut children: HashMap<i32, Vec<usize>> = HashMap::new();
    for (i, p) in all.iter().enumerate() {
        children.entry(p.ppid).or_default().push(i);
    }
    let mut chosen: HashSet<i32> = tagged.iter().copied().collect();
    let mut queue = tagged;
    // Each pid enters the queue at most once, so this ends.
    while let Some(parent) = queue.pop() {
        for &i in children.get(&parent).map(Vec::as_slice).unwrap_or(&[]) {
            if chosen.insert(all[i].pid) {
                queue.push(all[i].pid);
            }
        }
    }
    all.into_iter().filter(|p| chosen.contains(&p.pid)).collect()
}

/// SIGKILLs `target` if the pid still names the process that was scanned.
fn send_sigkill(target: &ProcStat) -> bool {
    let same_process =
        || read_stat(target.pid).is_some_and(|now| now.starttime == target.starttime && !is_dead(now.state));
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, target.pid, 0) };
    if raw >= 0 {
        // SAFETY: the kernel just returned this fd to us; nothing else owns it.
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw as libc::c_int) };
        // The pidfd pins the process, so a check that passes now is about
        // the process the signal will reach.
        if !same_process() {
            return false;
        }
        // SAFETY: pidfd_send_signal takes a valid pidfd, a signal number,
        // a null siginfo (meaning "as kill(2)") and flags 0.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        return rc == 0;
    }
    if errno() == libc::ESRCH {
        return false;
    }
    // No pidfds (kernel older than 5.3, or a seccomp filter): check, then
    // kill, leaving a window of microseconds for pid reuse.
    // SAFETY: kill takes a pid and a signal number; the pid is > 1.
    same_process() && unsafe { libc::kill(target.pid, libc::SIGKILL) } == 0
}

pub(super) fn kill_tagged(prefix: &[u8]) -> usize {
    if prefix.is_empty() {
        return 0;
    }
    let me = current_pid();
    let deadline = Instant::now() + KILL_MAX_TIME;
    let mut killed: HashMap<(i32, u64), ProcStat> = HashMap::new();
    let mut quiet_scans = 0;
    for _ in 0..KILL_MAX_ROUNDS {
        let targets = scan(prefix, me);
        if targets.is_empty() {
            quiet_scans += 1;
            // Two empty scans in a row: a process that was momentarily
            // unreadable (mid-exec) had a second chance to show up.
            if quiet_scans >= 2 {
                break;
            }
        } else {
            quiet_scans = 0;
            for target in targets {
                if send_sigkill(&target) {
                    killed.entry((target.pid, target.starttime)).or_insert(target);
                }
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(KILL_ROUND_PAUSE);
    }
    let count = killed.len();
    reap_killed(killed.into_values().collect());
    count
}

/// When the harness is a subreaper: reaps `killed` processes that became its zombies.
pub(super) fn reap_killed(killed: Vec<ProcStat>) {
    if !killed.is_empty() && is_subreaper() {
        reap_adopted(killed, current_pid());
    }
}

/// Reaps killed processes that ended up as our zombie children, except
/// ones that look like our direct children: those belong to a `Child`
/// handle (tokio's or std's) whose `wait` must still see the status.
fn reap_adopted(mut pending: Vec<ProcStat>, me: i32) {
    // SAFETY: getsid(0) asks for the caller's own session id.
    let my_session = unsafe { libc::getsid(0) };
    for _ in 0..REAP_MAX_ROUNDS {
        pending.retain(|killed| {
            let Some(now) = read_stat(killed.pid) else {
                return false;
            };
            if now.starttime != killed.starttime {
                return false; // gone, pid reused
            }
            // configure_command makes every program a group leader in our
            // session, and a group leader cannot call setsid, so this
            // shape means "spawned by us": not ours to reap.
            if now.ppid == me && now.pgrp == now.pid && now.session == my_session {
                return false;
            }
            if now.ppid != me || !is_dead(now.state) {
                return true; // still dying, or not yet reparented to us
            }
            let mut status = 0;
            // SAFETY: waitpid on one specific pid, writing into a local.
            let rc = unsafe { libc::waitpid(now.pid, &mut status, libc::WNOHANG) };
            rc == 0 // 0: not reapable yet; pid or -1: done with it
        });
        if pending.is_empty() {
            return;
        }
        std::thread::sleep(REAP_PAUSE);
    }
}

pub(super) fn start_guardian(run_prefix: &str, scratch: Option<&Path>, exe: &Path) -> io::Result<Guardian> {
    let mut cmd = Command::new(exe);
    cmd.arg(GUARDIAN_ARG)
        .arg(run_prefix)
        .args(scratch)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // SAFETY: runs in the forked child; setsid is a single
    // async-signal-safe syscall and last_os_error does not allocate.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let stdin = child.stdin.take();
    let ready = match child.stdout.take() {
        Some(out) => read_line_with_timeout(&out, Duration::from_secs(5)).and_then(|l| check_guardian_ready(&l)),
        None => Err(io::Error::other("the guardian has no stdout pipe")),
    };
    if let Err(e) = ready {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(Guardian { child, stdin })
}

/// Reads up to and including the first newline (at most 128 bytes),
/// giving up after `timeout`.
fn read_line_with_timeout(out: &impl AsRawFd, timeout: Duration) -> io::Result<Vec<u8>> {
    let fd = out.as_raw_fd();
    let deadline = Instant::now() + timeout;
    let mut line = Vec::new();
    // Bounded by 128 bytes and by the deadline.
    while line.len() < 128 && !line.ends_with(b"\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "the guardian did not report within 5 s"));
        }
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        let ms = left.as_millis().clamp(1, 5_000) as libc::c_int;
        // SAFETY: one valid pollfd, count 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return Err(io::Error::last_os_error());
        }
        if rc == 0 {
            continue;
        }
        let mut byte = 0u8;
        // SAFETY: reads at most one byte into a live local.
        let n = unsafe { libc::read(fd, (&mut byte as *mut u8).cast(), 1) };
        match n {
            1 => line.push(byte),
            0 => break, // EOF: the guardian exited
            _ if errno() == libc::EINTR => {}
            _ => return Err(io::Error::last_os_error()),
        }
    }
    Ok(line)
}

pub(super) fn guardian_prepare() {
    // The guardian is in its own session without a terminal, so these
    // should not come; if they do (a broad `kill`), cleanup still runs.
    // SAFETY: setting dispositions to SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
    // Do not keep the harness's working directory (a mount) busy.
    let _ = std::env::set_current_dir("/");
}

// -- network isolation --------------------------------------------------

pub(super) fn isolate_network() -> Result<(), IsolationUnavailable> {
    let threads = fs::read_dir("/proc/self/task").map_err(IsolationUnavailable::NoProc)?.count();
    if threads != 1 {
        return Err(IsolationUnavailable::NotSingleThreaded { threads });
    }
    // Kept to step back if the loopback cannot be brought up.
    let original = File::open("/proc/self/ns/net").ok();

    // SAFETY: unshare only changes the calling thread's namespaces, and
    // this thread is the only one.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
        return bring_up_loopback_or_restore(original.as_ref());
    }
    let plain = errno();
    if plain != libc::EPERM {
        return Err(IsolationUnavailable::NoNamespace(match plain {
            libc::EINVAL => "unshare(CLONE_NEWNET) is not supported (kernel without CONFIG_NET_NS?)".to_owned(),
            _ => format!("unshare(CLONE_NEWNET) failed: {}", io::Error::from_raw_os_error(plain)),
        }));
    }

    // No CAP_SYS_ADMIN: a user namespace of our own grants it there.
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    // SAFETY: getegid has no preconditions.
    let egid = unsafe { libc::getegid() };
    // SAFETY: single-threaded (checked), as user namespaces require.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER) } != 0 {
        let why = explain_userns_failure(errno());
        return Err(IsolationUnavailable::NoNamespace(format!(
            "no CAP_SYS_ADMIN for unshare(CLONE_NEWNET), and no user namespace instead: {why}"
        )));
    }
    let mapped = write_proc_self("setgroups", "deny")
        .or_else(|e| if e.kind() == io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
        .and_then(|()| write_proc_self("uid_map", &format!("{euid} {euid} 1\n")))
        .and_then(|()| write_proc_self("gid_map", &format!("{egid} {egid} 1\n")));
    if let Err(e) = mapped {
        return Err(IsolationUnavailable::NoNamespace(format!(
            "created a user namespace but could not map our ids into it ({e}){}",
            apparmor_hint()
        )));
    }
    // SAFETY: as above.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(IsolationUnavailable::NoNamespace(format!(
            "unshare(CLONE_NEWNET) inside a new user namespace failed: {}{}",
            io::Error::last_os_error(),
            apparmor_hint()
        )));
    }
    // Going back would need CAP_SYS_ADMIN over the original namespace,
    // which an unprivileged process does not have.
    bring_up_loopback_or_restore(original.as_ref())
}

fn bring_up_loopback_or_restore(original: Option<&File>) -> Result<(), IsolationUnavailable> {
    let Err(e) = bring_up_loopback() else {
        return Ok(());
    };
    // SAFETY: setns with an fd we opened on a network namespace file.
    let restored = original.is_some_and(|f| unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } == 0);
    Err(if restored { IsolationUnavailable::Loopback(e) } else { IsolationUnavailable::Stranded(e) })
}

/// `ip link set lo up`, by ioctl on any socket of the namespace.
fn bring_up_loopback() -> io::Result<()> {
    // SAFETY: plain socket creation; the result is checked below.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the fd was just created and is owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name from and writes the flags into
    // the ifreq, which outlives the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just filled ifru_flags, the union's active field.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: SIOCSIFFLAGS reads name and flags from the ifreq.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn write_proc_self(file: &str, text: &str) -> io::Result<()> {
    fs::write(format!("/proc/self/{file}"), text)
}

fn read_sysctl(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

fn explain_userns_failure(err: i32) -> String {
    if read_sysctl("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return "user namespaces are disabled (kernel.unprivileged_userns_clone=0)".to_owned();
    }
    if read_sysctl("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return "user namespaces are disabled (user.max_user_namespaces=0)".to_owned();
    }
    match err {
        libc::EPERM => {
            "unshare(CLONE_NEWUSER) was refused (EPERM): a container or seccomp policy forbids user namespaces"
                .to_owned()
        }
        libc::ENOSPC | libc::EUSERS => "the limit on user namespaces is reached (user.max_user_namespaces)".to_owned(),
        libc::EINVAL => {
            "unshare(CLONE_NEWUSER) failed with EINVAL (kernel without CONFIG_USER_NS, or a chroot)".to_owned()
        }
        _ => format!("unshare(CLONE_NEWUSER) failed: {}", io::Error::from_raw_os_error(err)),
    }
}

fn apparmor_hint() -> &'static str {
    if read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        " (AppArmor restricts unprivileged user namespaces: kernel.apparmor_restrict_unprivileged_userns=1)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_command_names() {
        let text = "4242 (a) b (c)) S 17 4242 99 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 0 0";
        let stat = parse_stat(text).expect("parses");
        assert_eq!(stat, ProcStat { pid: 4242, state: b'S', ppid: 17, pgrp: 4242, session: 99, starttime: 123456 });
        assert_eq!(parse_stat("12 (x) R 1"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[test]
    fn parses_own_stat() {
        let me = read_stat(current_pid()).expect("own stat");
        assert_eq!(me.pid, current_pid());
        // SAFETY: getppid has no preconditions.
        assert_eq!(me.ppid, unsafe { libc::getppid() });
    }

    #[test]
    fn empty_prefix_kills_nothing() {
        assert_eq!(kill_tagged(b""), 0);
    }
}
