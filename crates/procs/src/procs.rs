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
//! * [`Containment`]: on Linux, each program also runs in a cgroup (v2) of its own where the
//!   harness may make one, which nothing the program starts can leave (an unprivileged process
//!   cannot move itself out): a daemon that clears its environment and starts a new session is
//!   still in it, and killing the cgroup as a whole ([`Containment::end`], [`kill_run`]) ends it.
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
const ENV_KEEP_EXACT: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TMP", "TEMP"];
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
    let vars =
        std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)));
    filter_env(vars, pass)
}

fn filter_env(vars: impl IntoIterator<Item = (String, String)>, pass: &[String]) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| {
            name != TAG_VAR
                && (ENV_KEEP_EXACT.contains(&name.as_str())
                    || ENV_KEEP_PREFIX.iter().any(|p| name.starts_with(p))
                    || pass.iter().any(|pattern| env_pattern_matches(pattern, name)))
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
    #[error("the {what} of a process tag must not contain '/' (it separates run and case) or NUL: {value:?}")]
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
        Ok(Tag { value: format!("{run_id}/{case_id}"), run_len: run_id.len() })
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
        return Err(TagError::BadChar { what, value: value.to_owned() });
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
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
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
        entry.strip_prefix(key).and_then(|rest| rest.strip_prefix(b"=")).is_some_and(|value| tag_matches(value, prefix))
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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("harness-spawner-io")
            .enable_all()
            .build()?;
        let (jobs, queue) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new().name("harness-spawner".to_owned()).spawn(move || {
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
    pub async fn spawn(&self, mut cmd: tokio::process::Command, tag: &Tag) -> io::Result<tokio::process::Child> {
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
// Containment
// ---------------------------------------------------------------------------

/// What holds one program and everything it starts: its [`Tag`] and, on Linux where the harness
/// may make one, a cgroup of its own. Dropping it kills whatever is still in it ([`end`]).
///
/// Without a cgroup (another system, or a cgroup2 tree the harness may not write) the tag is
/// all there is: a descendant that clears its environment and leaves the program's process
/// tree (a new session, a double fork) is not found by [`kill_tagged`].
///
/// [`end`]: Containment::end
pub struct Containment {
    tag: Tag,
    #[cfg(target_os = "linux")]
    cgroup: Option<cgroup::Cgroup>,
    ended: std::sync::atomic::AtomicBool,
}

impl Containment {
    /// Makes the cgroup, where it can be made.
    pub fn new(tag: Tag) -> Containment {
        Containment {
            tag,
            #[cfg(target_os = "linux")]
            cgroup: cgroup::Cgroup::new(),
            ended: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The program's tag.
    pub fn tag(&self) -> &Tag {
        &self.tag
    }

    /// Whether the program gets a cgroup of its own (else only its tag holds it).
    pub fn has_cgroup(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.cgroup.is_some();
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// Where there is a cgroup, `cmd`'s process enters it between fork and exec (so before it
    /// can start anything). Then start it with [`Spawner::spawn`] and [`Containment::tag`].
    pub fn enter_cgroup(&self, cmd: &mut tokio::process::Command) {
        #[cfg(target_os = "linux")]
        if let Some(cgroup) = &self.cgroup {
            cgroup.enter_on_spawn(cmd);
        }
    }

    /// SIGKILLs everything still in the cgroup and everything carrying the tag; once (a second
    /// call does nothing). Blocking (milliseconds; up to about 2 s for processes that resist):
    /// from async code, on a thread that may block.
    pub fn end(&self) {
        if self.ended.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        #[cfg(target_os = "linux")]
        if let Some(cgroup) = &self.cgroup {
            cgroup.kill();
        }
        kill_tagged(self.tag.as_str());
    }
}

impl Drop for Containment {
    fn drop(&mut self) {
        self.end();
    }
}

/// Kills every program of the run `run_id` that still runs and everything they started: by
/// their cgroups (which are removed) and by their tags. For the end of a run (the guardian, an
/// interrupt). Blocking, like [`kill_tagged`].
pub fn kill_run(run_id: &str) {
    #[cfg(target_os = "linux")]
    cgroup::kill_run(run_id);
    kill_tagged(run_id);
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

/// Turns transparent huge pages off for the harness's own memory (`PR_SET_THP_DISABLE`); the
/// programs it starts ([`configure_command`]) get them back as they would outside it. The
/// allocator asks for huge pages, and the kernel then clears 2 MiB for every first touch of a
/// fresh region, most of which a short command never uses: about a sixth of `impact`'s CPU time.
/// Call it once at start-up. Linux only; elsewhere it does nothing.
pub fn small_pages() {
    sys::small_pages()
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
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
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
/// `run_prefix` is normally the run id; it must not be empty. `scratch`, when
/// given, is a folder of the harness's temporary files that the guardian
/// removes once the harness has ended (`exe __guardian <run_prefix> <scratch>`).
pub fn start_guardian(run_prefix: &str, scratch: Option<&Path>, exe: &Path) -> io::Result<Guardian> {
    if run_prefix.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the guardian's run prefix is empty"));
    }
    sys::start_guardian(run_prefix, scratch, exe)
}

/// What the harness binary runs for `__guardian <prefix> [<scratch>]`: reports
/// that it runs, waits until its stdin reaches end of file (the harness
/// finished or died), then [`kill_run`]`(prefix)`, removes the `scratch`
/// folder (a harness killed while writing a file leaves its temporary name
/// there) and exits 0.
pub fn guardian_main(prefix: &str, scratch: Option<&Path>) -> ! {
    sys::guardian_prepare();
    {
        use io::Write;
        let mut out = io::stdout().lock();
        // If the harness is gone already, the EOF below tells us too.
        let _ = out.write_all(GUARDIAN_READY).and_then(|()| out.flush());
    }
    wait_for_eof(&mut io::stdin().lock());
    kill_run(prefix);
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
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
    #[error("cannot tell whether the process is single-threaded: reading /proc/self/task failed: {0}")]
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
// The platform underneath
// ---------------------------------------------------------------------------

#[cfg(target_os = "linux")]
#[path = "procs/linux.rs"]
mod sys;

#[cfg(not(target_os = "linux"))]
#[path = "procs/other.rs"]
mod sys;

#[cfg(target_os = "linux")]
#[path = "procs/cgroup.rs"]
mod cgroup;

#[cfg(target_os = "linux")]
#[path = "procs/asleep.rs"]
mod asleep;

#[path = "procs/activity.rs"]
mod activity;
pub use activity::{Activity, current_thread_id};

#[path = "procs/clock.rs"]
mod clock;
pub use clock::{Stopwatch, limit_reached, limit_reached_by};

#[cfg(test)]
#[path = "procs/tests.rs"]
mod tests;
