//! Linux control groups (v2) as the container of a program and everything it starts: a process
//! cannot leave its cgroup by clearing its environment, starting a new session or
//! double-forking, so killing the cgroup as a whole reaches what a tag scan cannot.
//!
//! Layout: `<the harness's own cgroup>/harness-<run-id>/p<n>`, one leaf per program. The leaves
//! have no controllers enabled, so the cgroup v2 rule that only leaves hold processes does not
//! get in the way, and nothing is limited: the cgroups only group. They are made where the
//! harness may make them: root in a container whose cgroup2 tree is writable, or a user whose
//! systemd scope is delegated (`systemd-run --user --scope -p Delegate=yes`). Anywhere else
//! [`Cgroup::new`] gives `None` and the tags and the subreaper are all there is.

use super::sys::ProcStat;
use super::*;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Killing a cgroup waits this long at most for it to empty ...
const EMPTY_MAX_TIME: Duration = Duration::from_secs(1);
/// ... looking this often.
const EMPTY_PAUSE: Duration = Duration::from_millis(2);

/// The folder of the harness's own cgroup in the cgroup2 tree, when the harness may make
/// cgroups under it and move its children into them; found once.
fn own_cgroup() -> Option<&'static Path> {
    static OWN: OnceLock<Option<PathBuf>> = OnceLock::new();
    OWN.get_or_init(|| {
        let dir = find_own_cgroup(
            &fs::read_to_string("/proc/self/cgroup").ok()?,
            &fs::read_to_string("/proc/self/mountinfo").ok()?,
        )?;
        // Moving a process from here into a child needs write access to this cgroup.procs.
        let procs = CString::new(dir.join("cgroup.procs").as_os_str().as_bytes()).ok()?;
        // SAFETY: access reads a NUL-terminated path we own.
        (unsafe { libc::access(procs.as_ptr(), libc::W_OK) } == 0).then_some(dir)
    })
    .as_deref()
}

/// Where the cgroup2 hierarchy mounts the cgroup `/proc/self/cgroup` names (its `0::` line),
/// from `/proc/self/mountinfo` (fields: id, parent, device, root, mount point, ..., ` - `,
/// file system type, ...). A cgroup outside the mount's root cannot be reached: `None`.
pub(super) fn find_own_cgroup(cgroup: &str, mountinfo: &str) -> Option<PathBuf> {
    let own = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    mountinfo.lines().find_map(|line| {
        let (fields, tail) = line.split_once(" - ")?;
        if tail.split(' ').next() != Some("cgroup2") {
            return None;
        }
        let fields: Vec<&str> = fields.split(' ').collect();
        let (root, mount) = (fields.get(3)?, fields.get(4)?);
        let inside = if *root == "/" {
            own
        } else {
            own.strip_prefix(root).filter(|rest| rest.is_empty() || rest.starts_with('/'))?
        };
        // Mount points with spaces are escaped (`\040`); such a tree is not used.
        (!mount.contains('\\')).then(|| Path::new(mount).join(inside.trim_start_matches('/')))
    })
}

/// The folder of a run's cgroups, whether or not it exists.
fn run_dir(run_id: &str) -> Option<PathBuf> {
    Some(own_cgroup()?.join(format!("harness-{run_id}")))
}

/// A cgroup of one program's own. Dropping it kills whatever is left in it and removes it.
pub(super) struct Cgroup {
    dir: PathBuf,
    /// `<dir>/cgroup.procs`, ready for the child to write itself into between fork and exec,
    /// where nothing may allocate.
    procs: CString,
}

impl Cgroup {
    /// A new, empty cgroup under this run's, or `None` where the harness cannot make cgroups.
    pub(super) fn new() -> Option<Cgroup> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let run = run_dir(run_id())?;
        let dir = run.join(format!("p{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        // The run's folder goes when its last program's does (below), so it may vanish between
        // making it and making ours: try again.
        for _ in 0..3 {
            let _ = fs::create_dir(&run);
            match fs::create_dir(&dir) {
                Ok(()) => {
                    let procs = CString::new(dir.join("cgroup.procs").as_os_str().as_bytes()).ok()?;
                    return Some(Cgroup { dir, procs });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(_) => return None,
            }
        }
        None
    }

    /// Makes `cmd`'s process enter the cgroup between fork and exec, so it is inside before it
    /// can start anything. A failure leaves it where it was (still tagged).
    pub(super) fn enter_on_spawn(&self, cmd: &mut tokio::process::Command) {
        let procs = self.procs.clone();
        // SAFETY: the closure runs in the forked child, where only async-signal-safe calls are
        // allowed: open, write and close on a NUL-terminated path made before the fork and a
        // static buffer ("0" is the writing process).
        unsafe {
            cmd.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd >= 0 {
                    libc::write(fd, b"0\n".as_ptr().cast(), 2);
                    libc::close(fd);
                }
                Ok(())
            });
        }
    }

    /// SIGKILLs everything in it and waits (up to 1 s) until it is empty; orphans adopted by a
    /// subreaper harness are reaped. Blocking.
    pub(super) fn kill(&self) {
        kill_tree(&self.dir);
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir(&self.dir);
        // The last program of the run removes the run's folder; while others run this fails.
        if let Some(run) = self.dir.parent() {
            let _ = fs::remove_dir(run);
        }
    }
}

fn populated(dir: &Path) -> bool {
    fs::read_to_string(dir.join("cgroup.events")).is_ok_and(|events| events.lines().any(|l| l == "populated 1"))
}

/// The processes in `dir` and the cgroups below it.
fn members(dir: &Path, out: &mut Vec<i32>) {
    if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.parse::<i32>().ok()));
    }
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            members(&entry.path(), out);
        }
    }
}

/// Kills every process in the cgroup `dir` and below, by `cgroup.kill` (Linux 5.14) or, before
/// that, one by one until it is empty; then reaps what became our zombies.
fn kill_tree(dir: &Path) {
    if !populated(dir) {
        return;
    }
    let mut pids = Vec::new();
    members(dir, &mut pids);
    let stats: Vec<ProcStat> = pids.iter().filter_map(|&pid| super::sys::read_stat(pid)).collect();
    let by_cgroup_kill = fs::write(dir.join("cgroup.kill"), "1").is_ok();
    let deadline = Instant::now() + EMPTY_MAX_TIME;
    while populated(dir) && Instant::now() < deadline {
        if !by_cgroup_kill {
            let mut now = Vec::new();
            members(dir, &mut now);
            for pid in now {
                // SAFETY: kill takes a pid and a signal; pids in our cgroup are > 1.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        std::thread::sleep(EMPTY_PAUSE);
    }
    super::sys::reap_killed(stats);
}

/// At the end of a run (from the guardian, or on an interrupt): kills every program of the run
/// still in its cgroups and removes them.
pub(super) fn kill_run(run_id: &str) {
    let Some(run) = run_dir(run_id) else { return };
    if !run.is_dir() {
        return;
    }
    kill_tree(&run);
    for entry in fs::read_dir(&run).into_iter().flatten().flatten() {
        let _ = fs::remove_dir(entry.path());
    }
    let _ = fs::remove_dir(&run);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_unified_tree_of_a_hybrid_host_and_of_a_namespace() {
        let mountinfo = "30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro\n\
                         31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n\
                         32 30 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
        assert_eq!(
            find_own_cgroup("1:pids:/\n0::/user.slice/x.scope\n", mountinfo),
            Some(PathBuf::from("/sys/fs/cgroup/unified/user.slice/x.scope"))
        );
        assert_eq!(find_own_cgroup("0::/\n", mountinfo), Some(PathBuf::from("/sys/fs/cgroup/unified/")));
        let bound = "40 1 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(find_own_cgroup("0::/docker/abc/inner\n", bound), Some(PathBuf::from("/sys/fs/cgroup/inner")));
        assert_eq!(find_own_cgroup("0::/elsewhere\n", bound), None);
        assert_eq!(find_own_cgroup("0::/docker/abcdef\n", bound), None);
        assert_eq!(find_own_cgroup("1:pids:/\n", mountinfo), None);
        assert_eq!(find_own_cgroup("0::/\n", "30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"), None);
    }
}
