//! Process hygiene for the programs the harness starts (scripts and
//! long-running web services run against loopback mock servers).
//!
//! What it gives the harness, and why:
//!
//! * [`minimal_env`]: programs get an allow-listed environment instead of the
//!   harness's whole environment, so tokens and cloud keys do not leak into
//!   them or into their captured output.
//! * [`Tag`], [`configure_command`], [`Spawner`]: every program carries
//!   `HARNESS_PROCESS_TAG=<run-id>/<case-id>` in its environment. The tag is
//!   inherited by everything the program forks, including daemons that call
//!   `setsid` or double-fork and so escape a process-group kill. Programs also
//!   get their own process group and a parent-death signal (SIGKILL).
//! * [`kill_tagged`]: finds tagged processes (and their descendants) through
//!   `/proc` and SIGKILLs them, wherever they moved in the process tree.
//! * [`become_subreaper`]: orphans of the programs reparent to the harness
//!   instead of init while it runs, so they stay in its subtree and
//!   [`kill_tagged`] can reap them.
//! * [`start_guardian`] / [`guardian_main`]: a small watchdog process (the
//!   harness binary re-executed with [`GUARDIAN_ARG`]) that kills the run's
//!   tagged processes when the harness ends in any way, `kill -9` included.
//! * [`isolate_network`]: hermetic mode; the whole run moves into a fresh
//!   network namespace that has only loopback.
//!
//! Everything except [`minimal_env`], [`Tag`] and [`Spawner`] is Linux-only;
//! on other systems the functions compile and report `Unsupported` (or do
//! nothing where doing nothing is safe, as [`kill_tagged`] returning 0).
//!
//! # From which thread to spawn programs
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits,
//! not when the process exits: the kernel sends it whenever the child's
//! parent task goes away, and reparenting to a sibling thread counts. Under
//! tokio the forking thread is whichever thread polled the task that called
//! `Command::spawn`. Worker threads of a runtime usually live as long as the
//! runtime, but threads of the blocking pool exit after an idle keep-alive
//! (10 s by default), `block_in_place` moves a worker's duties onto a
//! blocking-pool thread, and a runtime shut down before the run ends takes
//! its threads with it. A program spawned from such a thread is SIGKILLed
//! seconds later, for no visible reason. So the harness should spawn every
//! program through one [`Spawner`]: a dedicated thread that lives for the
//! whole run and does nothing but fork. [`configure_command`] alone is fine
//! when the caller knows the spawning thread outlives the program (for
//! instance a current-thread runtime driven by `main`).

use std::fmt;
use std::io;
use std::path::Path;
use std::process::{Child as StdChild, ChildStdin};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Name of the environment variable that carries a program's [`Tag`].
pub const TAG_VAR: &str = "HARNESS_PROCESS_TAG";

/// Hidden subcommand under which the harness binary runs [`guardian_main`].
/// The harness's `main` must dispatch `argv[1] == GUARDIAN_ARG` to
/// `guardian_main(argv[2])` before doing anything else.
pub const GUARDIAN_ARG: &str = "__guardian";

/// Line the guardian prints once it runs, so [`start_guardian`] knows the
/// binary really handles [`GUARDIAN_ARG`] (and is not, say, starting a second
/// harness run).
const GUARDIAN_READY: &[u8] = b"harness-guardian-ready\n";

/// [`kill_tagged`] gives up after this many scans of `/proc` ...
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const KILL_MAX_ROUNDS: usize = 50;
/// ... or after this long, whichever comes first.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const KILL_MAX_TIME: Duration = Duration::from_secs(1);
/// Pause between scans: long enough for SIGKILL to take effect, short enough
/// that a forking parent cannot get far.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const KILL_ROUND_PAUSE: Duration = Duration::from_millis(5);
/// Reaping adopted orphans after the kill: at most this many polls ...
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const REAP_MAX_ROUNDS: usize = 50;
/// ... this far apart (so at most about 200 ms).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const REAP_PAUSE: Duration = Duration::from_millis(4);
/// Environments larger than this are only searched this far. Linux caps
/// argv + envp at a quarter of the stack limit (2 MiB by default).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const ENVIRON_READ_LIMIT: u64 = 4 << 20;

// ---------------------------------------------------------------------------
// Minimal environment
// ---------------------------------------------------------------------------

/// Variables kept by [`minimal_env`] under their exact name.
const ENV_KEEP_EXACT: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TMP", "TEMP",
];
/// Variables kept by [`minimal_env`] by name prefix (`LC_ALL`, `LC_CTYPE`, ...).
const ENV_KEEP_PREFIX: &[&str] = &["LC_"];

/// The environment a program should start with, taken from the harness's own
/// environment: only the allow-list below plus the variables named in `pass`.
///
/// Kept by default:
/// * `PATH`: programs and the scripts they run must find their tools;
/// * `HOME`, `USER`, `LOGNAME`: many tools look up per-user files or names
///   and fail or misbehave without them;
/// * `LANG`, `LANGUAGE`, `LC_*`, `TZ`: locale and time zone, so text and
///   dates come out as the user expects;
/// * `TMPDIR`, `TMP`, `TEMP`: where temporary files go (on CI often a
///   separate volume).
///
/// Deliberately not kept: `TERM`. A program's output is captured, not shown
/// on a terminal, and passing a developer's `TERM=xterm-256color` (while CI
/// has none) makes some tools emit escape codes, so the same case would give
/// different output on a laptop and on CI. A case that wants it can pass it.
/// Also not kept: credentials and everything else, which is the point, and
/// [`TAG_VAR`], which [`configure_command`] sets.
///
/// `pass` holds exact names, or prefixes ending in `*` (`MYAPP_*` keeps every
/// variable whose name starts with `MYAPP_`; `*` alone keeps everything, an
/// explicit opt-out). A `*` anywhere else is part of an exact name.
/// Variables whose name or value is not UTF-8 are left out.
///
/// The result is sorted by name. The caller starts the command from an empty
/// environment (`env_clear`), adds these, then its own mapped variables:
///
/// ```ignore
/// cmd.env_clear().envs(minimal_env(&case.pass_env)).envs(&case.mapped_env);
/// ```
pub fn minimal_env(pass: &[String]) -> Vec<(String, String)> {
    let vars = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)));
    filter_env(vars, pass)
}

fn filter_env(
    vars: impl IntoIterator<Item = (String, String)>,
    pass: &[String],
) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| {
            name != TAG_VAR
                && (ENV_KEEP_EXACT.contains(&name.as_str())
                    || ENV_KEEP_PREFIX.iter().any(|p| name.starts_with(p))
                    || pass
                        .iter()
                        .any(|pattern| env_pattern_matches(pattern, name)))
        })
        .collect();
    kept.sort();
    kept
}

fn env_pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

/// Why a [`Tag`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("the {what} of a process tag must not be empty")]
    Empty { what: &'static str },
    #[error(
        "the {what} of a process tag must not contain '/' (it separates run and case) or NUL: {value:?}"
    )]
    BadChar { what: &'static str, value: String },
}

/// The value of [`TAG_VAR`] for one case of one run: `<run-id>/<case-id>`.
///
/// Run ids must be unique among runs that may overlap on the machine (two CI
/// jobs, a developer running the harness twice): [`kill_tagged`] with one
/// run's id kills nothing of another's. [`unique_run_id`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    value: String,
    run_len: usize,
}

impl Tag {
    /// Neither part may be empty or contain `/` or NUL.
    pub fn new(run_id: &str, case_id: &str) -> Result<Tag, TagError> {
        check_tag_part("run id", run_id)?;
        check_tag_part("case id", case_id)?;
        Ok(Tag {
            value: format!("{run_id}/{case_id}"),
            run_len: run_id.len(),
        })
    }

    /// The whole tag, `<run-id>/<case-id>`; also the [`kill_tagged`] prefix
    /// for this case alone.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The run id; the [`kill_tagged`] prefix for every case of the run.
    pub fn run_id(&self) -> &str {
        &self.value[..self.run_len]
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

fn check_tag_part(what: &'static str, value: &str) -> Result<(), TagError> {
    if value.is_empty() {
        return Err(TagError::Empty { what });
    }
    if value.contains(['/', '\0']) {
        return Err(TagError::BadChar {
            what,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// This process's run id, made once ([`unique_run_id`]): the prefix of every
/// tag it gives, and what its guardian and an interrupted run kill.
pub fn run_id() -> &'static str {
    static RUN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUN_ID.get_or_init(unique_run_id)
}

/// A run id that no other run on this machine uses at the same time: the
/// harness's pid and the current time in nanoseconds.
pub fn unique_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("run-{}-{nanos:x}", std::process::id())
}

/// Whether a tag value falls under `prefix`, on `/` boundaries: `r1` matches
/// `r1/c` but not `r12/c`, and `r1/c3` matches `r1/c3` but not `r1/c30`. An
/// empty prefix matches nothing, so a bug cannot kill every run's programs.
fn tag_matches(value: &[u8], prefix: &[u8]) -> bool {
    if prefix.is_empty() {
        return false;
    }
    match value.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with(b"/") || prefix.ends_with(b"/"),
        None => false,
    }
}

/// Whether a NUL-separated environment block (as in `/proc/<pid>/environ`)
/// holds a tag under `prefix`. Every entry counts, not just the first, since
/// a program may have been given the variable twice.
fn environ_has_tag(environ: &[u8], prefix: &[u8]) -> bool {
    let key = TAG_VAR.as_bytes();
    environ.split(|&b| b == 0).any(|entry| {
        entry
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(b"="))
            .is_some_and(|value| tag_matches(value, prefix))
    })
}

// ---------------------------------------------------------------------------
// Spawning
// ---------------------------------------------------------------------------

/// Prepares a command to run as a case's program: sets [`TAG_VAR`] to `tag`
/// and, in the child between fork and exec, puts it in a process group of its
/// own (`setpgid(0, 0)`, overriding any `process_group` set on `cmd`), asks
/// for SIGKILL when its parent goes away (`PR_SET_PDEATHSIG`), and exits at
/// once if the harness already died before that request was in place (the
/// parent pid is recorded here, before the fork, and compared with
/// `getppid()` after it).
///
/// Call it after setting the environment (a later `env(TAG_VAR, ..)` would
/// override the tag). The parent-death signal fires when the *thread* that
/// calls `spawn` exits: see the module documentation, and prefer
/// [`Spawner::spawn`], which calls this.
///
/// On Unix systems other than Linux only the tag and the process group are
/// set; elsewhere only the tag.
pub fn configure_command(cmd: &mut tokio::process::Command, tag: &Tag) {
    cmd.env(TAG_VAR, tag.as_str());
    #[cfg(target_os = "linux")]
    {
        let parent = sys::current_pid();
        // SAFETY: the closure runs in the forked child of a possibly
        // multi-threaded process, where only async-signal-safe calls are
        // allowed; `child_setup` makes only raw syscalls (setpgid, prctl,
        // getppid) and builds io::Errors from errno, which does not allocate.
        unsafe {
            cmd.pre_exec(move || sys::child_setup(parent));
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        cmd.process_group(0);
    }
}

struct SpawnJob {
    cmd: tokio::process::Command,
    reply: mpsc::Sender<io::Result<tokio::process::Child>>,
}

/// Spawns programs from one dedicated, long-lived thread, so that their
/// parent-death signal fires when the harness dies and not when some tokio
/// thread happens to exit (see the module documentation).
///
/// Keep it for the whole run. The thread ends when the `Spawner` is dropped,
/// and that SIGKILLs every program it started that still runs: a last-resort
/// cleanup, not a way to lose programs early by accident.
pub struct Spawner {
    jobs: mpsc::Sender<SpawnJob>,
}

impl Spawner {
    /// Starts the spawner thread, with a small runtime of its own that the programs' pipes and
    /// exit statuses are registered with: it runs for as long as the spawner, so a program's
    /// `wait` and its output can be awaited from any runtime, also one that ends before it.
    pub fn start() -> io::Result<Spawner> {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("harness-spawner-io").enable_all().build()?;
        let (jobs, queue) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("harness-spawner".to_owned())
            .spawn(move || {
                let _runtime = runtime.enter();
                // Ends when every sender (the Spawner) is gone.
                while let Ok(SpawnJob { mut cmd, reply }) = queue.recv() {
                    // The caller may have stopped waiting; then the child is
                    // dropped here and tokio reaps it as an orphan.
                    let _ = reply.send(cmd.spawn());
                }
            })?;
        Ok(Spawner { jobs })
    }

    /// Configures `cmd` with [`configure_command`] and spawns it on the
    /// spawner thread.
    pub async fn spawn(
        &self,
        mut cmd: tokio::process::Command,
        tag: &Tag,
    ) -> io::Result<tokio::process::Child> {
        configure_command(&mut cmd, tag);
        let (reply, answer) = mpsc::channel();
        self.jobs
            .send(SpawnJob { cmd, reply })
            .map_err(|_| io::Error::other("the harness-spawner thread has ended"))?;
        // fork + exec takes milliseconds; wait for it off the async threads.
        tokio::task::spawn_blocking(move || answer.recv())
            .await
            .map_err(|e| io::Error::other(format!("waiting for the spawner failed: {e}")))?
            .map_err(|_| io::Error::other("the harness-spawner thread ended while spawning"))?
    }
}

// ---------------------------------------------------------------------------
// Killing and reaping
// ---------------------------------------------------------------------------

/// SIGKILLs every process whose environment has [`TAG_VAR`] under `prefix`
/// (on `/` boundaries: a run id, or a whole tag for one case), and every
/// descendant of such a process (which catches children that were started
/// with a cleared environment while their parent was still alive). Returns
/// how many processes it signalled.
///
/// It scans `/proc/*/environ`, skipping processes it cannot read and the
/// calling process, and scans again until two scans in a row find nothing
/// (a dying parent may have forked meanwhile), at most 50 scans or 1 s.
/// Signals go through a pidfd after checking the process's start time, so a
/// pid reused by an unrelated process between scan and kill is not hit.
/// An empty prefix matches nothing.
///
/// If the caller is a subreaper ([`become_subreaper`]), killed processes
/// that became its children as orphans are then reaped (for up to ~200 ms),
/// one pid at a time with `waitpid(pid, WNOHANG)`; never `waitpid(-1)`.
/// Processes that look like the caller's own direct children (group leaders
/// in the caller's session, as [`configure_command`] makes them) are left for
/// whoever spawned them, so tokio's `Child::wait` still gets their status.
///
/// Blocking (up to about 1.2 s): from async code call it in
/// `spawn_blocking`. Linux only; elsewhere it returns 0.
pub fn kill_tagged(prefix: &str) -> usize {
    sys::kill_tagged(prefix.as_bytes())
}

/// Makes the calling process a child subreaper (`PR_SET_CHILD_SUBREAPER`):
/// processes orphaned inside its subtree (a daemon whose parent exited)
/// reparent to it instead of init, so they stay reachable and reapable while
/// the harness runs. Call it once at start-up. Linux only.
pub fn become_subreaper() -> io::Result<()> {
    sys::become_subreaper()
}

// ---------------------------------------------------------------------------
// Guardian
// ---------------------------------------------------------------------------

/// Handle on the guardian process started by [`start_guardian`].
///
/// Dropping it closes the guardian's stdin, which makes the guardian kill
/// whatever is left of the run and exit; drop waits up to 3 s for that.
/// If the harness dies instead, the kernel closes the pipe and the guardian
/// does the same.
pub struct Guardian {
    child: StdChild,
    stdin: Option<ChildStdin>,
}

impl Guardian {
    /// Process id of the guardian.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Guardian {
    fn drop(&mut self) {
        drop(self.stdin.take());
        // Wait for the guardian's cleanup (itself bounded to ~1.2 s) so the
        // harness exits only after its programs are gone.
        let deadline = Instant::now() + Duration::from_secs(3);
        for _ in 0..300 {
            match self.child.try_wait() {
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break,
            }
        }
    }
}

/// Starts `exe __guardian <run_prefix>`, the harness binary re-executed as a
/// watchdog for this run, with a pipe on its stdin that only the harness
/// holds (the write end is close-on-exec, so programs do not inherit it).
/// The guardian runs in a session and process group of its own, so Ctrl-C in
/// a terminal or a kill of the harness's process group does not reach it
/// before it has done its job. Returns once the guardian reported that it
/// runs (at most 5 s), so cleanup is armed before any program starts.
///
/// `run_prefix` is normally the run id; it must not be empty.
pub fn start_guardian(run_prefix: &str, exe: &Path) -> io::Result<Guardian> {
    if run_prefix.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the guardian's run prefix is empty",
        ));
    }
    sys::start_guardian(run_prefix, exe)
}

/// What the harness binary runs for `__guardian <prefix>`: reports that it
/// runs, waits until its stdin reaches end of file (the harness finished or
/// died), then [`kill_tagged`]`(prefix)` and exits 0.
pub fn guardian_main(prefix: &str) -> ! {
    sys::guardian_prepare();
    {
        use io::Write;
        let mut out = io::stdout().lock();
        // If the harness is gone already, the EOF below tells us too.
        let _ = out.write_all(GUARDIAN_READY).and_then(|()| out.flush());
    }
    wait_for_eof(&mut io::stdin().lock());
    kill_tagged(prefix);
    std::process::exit(0)
}

/// Blocks until `input` reaches end of file or fails. Nothing is expected to
/// arrive; bytes that do are ignored.
fn wait_for_eof(input: &mut impl io::Read) {
    let mut buf = [0u8; 64];
    loop {
        match input.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Checks the guardian's first line: it must be exactly [`GUARDIAN_READY`].
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn check_guardian_ready(line: &[u8]) -> io::Result<()> {
    if line == GUARDIAN_READY {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "the guardian did not start: expected {:?}, got {:?} (does the binary dispatch {GUARDIAN_ARG} to guardian_main?)",
            String::from_utf8_lossy(GUARDIAN_READY),
            String::from_utf8_lossy(line)
        )))
    }
}

// ---------------------------------------------------------------------------
// Network isolation
// ---------------------------------------------------------------------------

/// Why [`isolate_network`] did not isolate the process. Its message is meant
/// to be printed once, as is.
#[derive(Debug, thiserror::Error)]
pub enum IsolationUnavailable {
    #[error("network isolation is only available on Linux")]
    Unsupported,
    #[error(
        "cannot tell whether the process is single-threaded: reading /proc/self/task failed: {0}"
    )]
    NoProc(#[source] io::Error),
    #[error(
        "network isolation must start while the process is single-threaded, but {threads} threads run; call it at the top of main, before the tokio runtime or any other thread starts"
    )]
    NotSingleThreaded { threads: usize },
    #[error("cannot create a network namespace: {0}")]
    NoNamespace(String),
    #[error(
        "created a network namespace but could not bring up its loopback interface ({0}); the process is back in its original network namespace"
    )]
    Loopback(#[source] io::Error),
    #[error(
        "created a network namespace but could not bring up its loopback interface ({0}), and cannot go back: the process has no usable network and should exit"
    )]
    Stranded(#[source] io::Error),
}

/// Moves the calling process into a new network namespace in which only the
/// loopback interface exists, and brings it up. Everything the process starts
/// afterwards (the mock servers, the programs) shares that namespace, so
/// connections to anything but loopback fail at once with "network
/// unreachable".
///
/// Must be called while the process is single-threaded (a namespace change
/// applies to the calling thread only, and user namespaces refuse
/// multi-threaded callers): first thing in `main`, before the tokio runtime.
///
/// With CAP_SYS_ADMIN (root) it is a plain `unshare(CLONE_NEWNET)`.
/// Otherwise it first enters a new user namespace mapping the caller's uid
/// and gid to themselves (`setgroups` denied), which grants the capabilities
/// needed for the new network namespace; file access is still checked
/// against the real ids.
///
/// On [`IsolationUnavailable::Stranded`] the process is left in a namespace
/// without working loopback and should exit; on every other error nothing
/// changed for the network.
pub fn isolate_network() -> Result<(), IsolationUnavailable> {
    sys::isolate_network()
}

// ---------------------------------------------------------------------------
// Linux
// ---------------------------------------------------------------------------

#[cfg(target_os = "linux")]
mod sys {
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
        if unsafe {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            )
        } != 0
        {
            return Err(io::Error::last_os_error());
        }
        // If the harness died between fork and prctl, the signal was missed
        // and we were reparented already: give up (std then _exits the child).
        // SAFETY: getppid has no preconditions.
        if unsafe { libc::getppid() } != parent {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
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
        let rc = unsafe {
            libc::prctl(
                libc::PR_GET_CHILD_SUBREAPER,
                &mut flag as *mut libc::c_int,
                0,
                0,
                0,
            )
        };
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

    fn read_stat(pid: i32) -> Option<ProcStat> {
        parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    fn read_environ(pid: i32) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        File::open(format!("/proc/{pid}/environ"))
            .ok()?
            .take(ENVIRON_READ_LIMIT)
            .read_to_end(&mut buf)
            .ok()?;
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
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
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
        all.into_iter()
            .filter(|p| chosen.contains(&p.pid))
            .collect()
    }

    /// SIGKILLs `target` if the pid still names the process that was scanned.
    fn send_sigkill(target: &ProcStat) -> bool {
        let same_process = || {
            read_stat(target.pid)
                .is_some_and(|now| now.starttime == target.starttime && !is_dead(now.state))
        };
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
                        killed
                            .entry((target.pid, target.starttime))
                            .or_insert(target);
                    }
                }
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(KILL_ROUND_PAUSE);
        }
        if !killed.is_empty() && is_subreaper() {
            reap_adopted(killed.values().copied().collect(), me);
        }
        killed.len()
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

    pub(super) fn start_guardian(run_prefix: &str, exe: &Path) -> io::Result<Guardian> {
        let mut cmd = Command::new(exe);
        cmd.arg(GUARDIAN_ARG)
            .arg(run_prefix)
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
            Some(out) => read_line_with_timeout(&out, Duration::from_secs(5))
                .and_then(|l| check_guardian_ready(&l)),
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
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the guardian did not report within 5 s",
                ));
            }
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
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
        let threads = fs::read_dir("/proc/self/task")
            .map_err(IsolationUnavailable::NoProc)?
            .count();
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
                libc::EINVAL => {
                    "unshare(CLONE_NEWNET) is not supported (kernel without CONFIG_NET_NS?)"
                        .to_owned()
                }
                _ => format!(
                    "unshare(CLONE_NEWNET) failed: {}",
                    io::Error::from_raw_os_error(plain)
                ),
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
            .or_else(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
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
        let restored = original
            .is_some_and(|f| unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } == 0);
        Err(if restored {
            IsolationUnavailable::Loopback(e)
        } else {
            IsolationUnavailable::Stranded(e)
        })
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
            libc::EPERM => "unshare(CLONE_NEWUSER) was refused (EPERM): a container or seccomp policy forbids user namespaces".to_owned(),
            libc::ENOSPC | libc::EUSERS => "the limit on user namespaces is reached (user.max_user_namespaces)".to_owned(),
            libc::EINVAL => "unshare(CLONE_NEWUSER) failed with EINVAL (kernel without CONFIG_USER_NS, or a chroot)".to_owned(),
            _ => format!("unshare(CLONE_NEWUSER) failed: {}", io::Error::from_raw_os_error(err)),
        }
    }

    fn apparmor_hint() -> &'static str {
        if read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref()
            == Some("1")
        {
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
            let text =
                "4242 (a) b (c)) S 17 4242 99 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 0 0";
            let stat = parse_stat(text).expect("parses");
            assert_eq!(
                stat,
                ProcStat {
                    pid: 4242,
                    state: b'S',
                    ppid: 17,
                    pgrp: 4242,
                    session: 99,
                    starttime: 123456
                }
            );
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
}

// ---------------------------------------------------------------------------
// Other systems
// ---------------------------------------------------------------------------

#[cfg(not(target_os = "linux"))]
mod sys {
    use super::*;

    fn unsupported(what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{what} is only available on Linux"),
        )
    }

    pub(super) fn kill_tagged(_prefix: &[u8]) -> usize {
        0
    }

    pub(super) fn become_subreaper() -> io::Result<()> {
        Err(unsupported("becoming a child subreaper"))
    }

    pub(super) fn start_guardian(_run_prefix: &str, _exe: &Path) -> io::Result<Guardian> {
        Err(unsupported("the guardian process"))
    }

    pub(super) fn guardian_prepare() {}

    pub(super) fn isolate_network() -> Result<(), IsolationUnavailable> {
        Err(IsolationUnavailable::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn minimal_env_keeps_only_the_allow_list_and_passed_names() {
        let input = vars(&[
            ("PATH", "/usr/bin"),
            ("HOME", "/root"),
            ("GITHUB_TOKEN", "secret"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("LC_ALL", "C.UTF-8"),
            ("TERM", "xterm"),
            ("MYAPP_PORT", "1"),
            ("MYAPP_MODE", "x"),
            ("MYAPPX", "no"),
            ("EXTRA", "yes"),
            ("EXTRA2", "no"),
            (TAG_VAR, "outer/run"),
            ("TMPDIR", "/tmp"),
        ]);
        let pass = vec!["MYAPP_*".to_owned(), "EXTRA".to_owned()];
        let kept = filter_env(input, &pass);
        let names: Vec<&str> = kept.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "EXTRA",
                "HOME",
                "LC_ALL",
                "MYAPP_MODE",
                "MYAPP_PORT",
                "PATH",
                "TMPDIR"
            ]
        );
    }

    #[test]
    fn star_alone_passes_everything_but_the_tag() {
        let kept = filter_env(
            vars(&[("A", "1"), ("B", "2"), (TAG_VAR, "x/y")]),
            &["*".to_owned()],
        );
        assert_eq!(kept, vars(&[("A", "1"), ("B", "2")]));
    }

    #[test]
    fn star_inside_a_name_is_literal() {
        assert!(env_pattern_matches("A*B", "A*B"));
        assert!(!env_pattern_matches("A*B", "AxB"));
        assert!(env_pattern_matches("A*", "A"));
    }

    #[test]
    fn minimal_env_reads_the_real_environment() {
        // PATH is set for every test run; secrets named like this are not kept.
        let kept = minimal_env(&[]);
        assert!(kept.iter().all(|(k, _)| k == "PATH"
            || ENV_KEEP_EXACT.contains(&k.as_str())
            || k.starts_with("LC_")));
    }

    #[test]
    fn tags_are_validated() {
        let tag = Tag::new("r1", "case a").expect("valid");
        assert_eq!(tag.as_str(), "r1/case a");
        assert_eq!(tag.run_id(), "r1");
        assert_eq!(tag.to_string(), "r1/case a");
        assert_eq!(Tag::new("", "c"), Err(TagError::Empty { what: "run id" }));
        assert!(matches!(
            Tag::new("r", "a/b"),
            Err(TagError::BadChar {
                what: "case id",
                ..
            })
        ));
        assert!(matches!(
            Tag::new("r\0", "a"),
            Err(TagError::BadChar { what: "run id", .. })
        ));
    }

    #[test]
    fn run_ids_differ() {
        assert_ne!(unique_run_id(), unique_run_id());
    }

    #[test]
    fn tag_prefixes_match_on_slash_boundaries() {
        assert!(tag_matches(b"r1/c3", b"r1"));
        assert!(tag_matches(b"r1/c3", b"r1/"));
        assert!(tag_matches(b"r1/c3", b"r1/c3"));
        assert!(!tag_matches(b"r12/c3", b"r1"));
        assert!(!tag_matches(b"r1/c30", b"r1/c3"));
        assert!(!tag_matches(b"r1/c3", b""));
        assert!(!tag_matches(b"r", b"r1"));
    }

    #[test]
    fn environ_blocks_are_searched_entry_by_entry() {
        let env = b"PATH=/bin\0HARNESS_PROCESS_TAGX=r1/c\0HARNESS_PROCESS_TAG=r2/c\0";
        assert!(environ_has_tag(env, b"r2"));
        assert!(!environ_has_tag(env, b"r1"));
        assert!(environ_has_tag(
            b"HARNESS_PROCESS_TAG=a/b\0HARNESS_PROCESS_TAG=r/c",
            b"r"
        ));
        assert!(!environ_has_tag(b"", b"r"));
        assert!(!environ_has_tag(b"X=HARNESS_PROCESS_TAG=r/c\0", b"r"));
    }

    #[test]
    fn guardian_ready_line_is_checked() {
        assert!(check_guardian_ready(GUARDIAN_READY).is_ok());
        assert!(check_guardian_ready(b"usage: harness\n").is_err());
    }

    #[test]
    fn eof_ends_the_wait_and_data_is_ignored() {
        let mut input: &[u8] = b"some bytes that are ignored";
        wait_for_eof(&mut input);
        assert!(input.is_empty());
    }
}
