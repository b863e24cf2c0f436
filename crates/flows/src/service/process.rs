//! A service's process while it runs: its output collected as it comes (on the mocks' thread, so
//! it never blocks on a full pipe between scenarios), how it ended when it did, and whether it is
//! ready for deliveries.
//!
//! Output belongs to the case that is running when it is collected. What a service printed before
//! a case starts (its "ready" line, usually written just before it answers the readiness probe)
//! may still be in the pipe then: a case starts only once its pipes hold nothing unread, so that
//! output never lands in the first case's log — or not, depending on the machine's load.

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness_core::{Diagnostic, SystemId};
use harness_procs::Containment;
use harness_syntax::service::ReadySpec;
use harness_systems::SystemVersion;
use tokio::net::unix::pipe;
use tokio::sync::watch;

use crate::driver::JobContext;
use crate::program;
use crate::source::FlowSource;

/// Lines of output shown when a service fails.
const TAIL_LINES: usize = 20;
/// How often readiness is looked at.
const POLL: Duration = Duration::from_millis(5);
/// The most one look at a starting service credits besides its ready check, however late it
/// comes: twenty looks' worth, so that a look held up on a busy machine still credits the sleep
/// of a service that never becomes ready, and its failure comes when `ready.timeout` says.
const CREDIT: Duration = Duration::from_millis(100);
/// How long a case waits for output already written to be collected, on a clock load cannot cut
/// short (the collecting and the waiting threads' waits for a CPU do not count); a service that
/// never stops printing gets its case after this.
const DRAIN_LIMIT: Duration = Duration::from_millis(200);

/// When a service is ready for deliveries.
#[derive(Debug)]
pub(super) enum Ready {
    Tcp,
    Http(String),
    Log(regex::Regex),
}

impl Ready {
    pub(super) fn compile(source: &FlowSource<'_>, spec: &ReadySpec) -> Result<Ready, Diagnostic> {
        let given: Vec<&str> =
            [("tcp", spec.tcp.is_some()), ("http", spec.http.is_some()), ("log", spec.log.is_some())]
                .iter()
                .filter(|k| k.1)
                .map(|k| k.0)
                .collect();
        if given.len() > 1 {
            let at = harness_syntax::yaml::key_span(source.text, &["service", "ready"]).unwrap_or_default();
            return Err(at
                .diagnostic(
                    source.file,
                    source.text,
                    format!("`ready` is one condition: `{}`, not several", given.join("`, `")),
                )
                .relative_to(&source.project.root));
        }
        if let Some(tcp) = &spec.tcp
            && !tcp.value
        {
            return Err(source.error(tcp, "`ready.tcp` can only be `true` (leave `ready` out for the same)"));
        }
        if let Some(path) = &spec.http {
            if !path.starts_with('/') {
                return Err(
                    source.error(path, format!("`ready.http`: `{}` should be a path starting with `/`", path.value))
                );
            }
            return Ok(Ready::Http(path.value.clone()));
        }
        if let Some(pattern) = &spec.log {
            return regex::Regex::new(pattern)
                .map(Ready::Log)
                .map_err(|e| source.error(pattern, format!("`ready.log`: not a regular expression: {e}")));
        }
        Ok(Ready::Tcp)
    }

    /// Wait until the service is ready, or say why it is not once it has spent `patience` asleep
    /// without being ready (the scenario's time limit bounds it too: the caller's). Time the service spends working or
    /// waiting for a CPU does not count against `patience`: a loaded machine slows a start-up
    /// down, and must not fail it. Each look credits at most what passed since the last, and no
    /// more than [`CREDIT`] beyond its own ready check (a health request the service is slow to
    /// answer while asleep), so a look delayed by load credits less, never more.
    pub(super) async fn wait(
        &self,
        running: &Running,
        job: &JobContext,
        port: u16,
        patience: Duration,
    ) -> Result<(), String> {
        let mut asleep = Duration::ZERO;
        let mut activity = running.activity(Vec::new());
        let mut last = Instant::now();
        loop {
            if let Some(how) = running.exited() {
                return Err(format!("{how} before it was ready"));
            }
            let asked = Instant::now();
            let ready = match self {
                Ready::Tcp => tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok(),
                Ready::Http(path) => {
                    let asked = job
                        .reqwest
                        .get(format!("http://127.0.0.1:{port}{path}"))
                        .timeout(Duration::from_secs(1))
                        .send();
                    asked.await.is_ok_and(|r| r.status().is_success())
                }
                Ready::Log(pattern) => pattern.is_match(&running.output()),
            };
            if ready {
                return Ok(());
            }
            let now = Instant::now();
            if !activity.busy() {
                asleep += (now - last).min(CREDIT + (now - asked));
            }
            last = now;
            if asleep >= patience {
                let waited = harness_core::duration::format(patience);
                return Err(match self {
                    Ready::Tcp => {
                        format!("never accepted a connection on its port (`HARNESS_SERVICE_PORT`) within {waited}")
                    }
                    Ready::Http(path) => format!("never answered GET {path} with a 2xx within {waited}"),
                    Ready::Log(pattern) => format!("never printed a line matching `{pattern}` within {waited}"),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// A started service. Dropping it kills the service and everything it started.
pub(super) struct Running {
    /// The systems and mocks it was started for: another set needs another process.
    pub(super) fingerprint: String,
    pid: u32,
    output: Arc<Mutex<Vec<u8>>>,
    /// Its stdout and stderr, also held by the tasks collecting them.
    pipes: Vec<Arc<pipe::Receiver>>,
    ended: watch::Receiver<Option<String>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The threads of `runtime` that collect its output.
    collectors: Vec<i32>,
    _contained: Containment,
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Running {
    /// Collect `child`'s output and its end on `runtime`, whose threads are `collectors`.
    pub(super) fn watch(
        mut child: tokio::process::Child,
        contained: Containment,
        fingerprint: String,
        runtime: tokio::runtime::Handle,
        collectors: Vec<i32>,
    ) -> Running {
        let output = Arc::new(Mutex::new(Vec::new()));
        let pid = child.id().unwrap_or(0);
        let (report, ended) = watch::channel(None);
        let mut tasks = Vec::new();
        let _reactor = runtime.enter();
        let fds = [
            child.stdout.take().and_then(|s| s.into_owned_fd().ok()),
            child.stderr.take().and_then(|s| s.into_owned_fd().ok()),
        ];
        let pipes: Vec<Arc<pipe::Receiver>> =
            fds.into_iter().flatten().filter_map(|fd| pipe::Receiver::from_owned_fd(fd).ok()).map(Arc::new).collect();
        for pipe in &pipes {
            tasks.push(runtime.spawn(collect(pipe.clone(), output.clone())));
        }
        tasks.push(runtime.spawn(async move {
            let how = match child.wait().await {
                Ok(s) => match s.code() {
                    Some(code) => format!("exited with status {code}"),
                    None => "was killed by a signal".to_string(),
                },
                Err(e) => format!("could not be waited for ({e})"),
            };
            let _ = report.send(Some(how));
        }));
        Running { fingerprint, pid, output, pipes, ended, tasks, collectors, _contained: contained }
    }

    /// How it ended, once it has.
    pub(super) fn exited(&self) -> Option<String> {
        self.ended.borrow().clone()
    }

    /// Resolves when it ends.
    pub(super) async fn exit(&self) {
        let mut ended = self.ended.clone();
        let _ = ended.wait_for(Option::is_some).await;
    }

    /// What it printed since it started, or since the last [`Running::forget_output`]: its log
    /// for one case.
    pub(super) fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("service output")).into_owned()
    }

    /// Let go of what it printed so far (a case starts), once nothing it wrote is left unread.
    pub(super) async fn forget_output(&self) {
        self.drain().await.clear();
    }

    /// [`Running::output`], once everything it wrote so far has been read.
    pub(super) async fn drained_output(&self) -> String {
        String::from_utf8_lossy(&self.drain().await).into_owned()
    }

    /// Its output, once nothing it wrote is left unread in its pipes (or after [`DRAIN_LIMIT`]).
    async fn drain(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        let mut threads = self.collectors.clone();
        threads.push(harness_procs::current_thread_id());
        let mut waited = harness_procs::Stopwatch::new(harness_procs::Activity::new(0, threads));
        loop {
            // Under the lock the collectors cannot be between reading a chunk and keeping it.
            let output = self.output.lock().expect("service output");
            if self.pipes.iter().all(|p| unread(p) == 0) || waited.counted() >= DRAIN_LIMIT {
                return output;
            }
            drop(output);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// What tells whether it is working: its process tree, and the mocks' `threads`.
    pub(super) fn activity(&self, threads: Vec<i32>) -> harness_procs::Activity {
        harness_procs::Activity::new(self.pid, threads)
    }

    /// Resolves once the scenario's `limit` has passed on the clock load cannot cut short
    /// (`harness_procs::limit_reached_by`): time the service's tree, the mocks' `threads` and the
    /// calling thread (which delivers and watches) spent waiting for a CPU does not count.
    pub(super) fn limit(&self, limit: Duration, mut threads: Vec<i32>) -> impl Future<Output = ()> + use<> {
        threads.push(harness_procs::current_thread_id());
        harness_procs::limit_reached_by(self.activity(threads), limit)
    }

    /// The last lines of its output, for a failure.
    pub(super) fn tail(&self) -> String {
        let all = self.output();
        let lines: Vec<&str> = all.lines().collect();
        let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
        if tail.trim().is_empty() {
            "    (nothing)".into()
        } else {
            tail.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
        }
    }
}

/// Bytes written to `pipe` and not read yet.
fn unread(pipe: &pipe::Receiver) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD stores the count of unread bytes in the int it is given; the descriptor is
    // open while `pipe` lives.
    let asked = unsafe { libc::ioctl(pipe.as_raw_fd(), libc::FIONREAD, &mut n) };
    if asked < 0 { 0 } else { usize::try_from(n).unwrap_or(0) }
}

async fn collect(pipe: Arc<pipe::Receiver>, into: Arc<Mutex<Vec<u8>>>) {
    let mut chunk = [0u8; 8192];
    while pipe.readable().await.is_ok() {
        // Read under the lock: see `Running::forget_output`.
        let mut output = into.lock().expect("service output");
        let n = match pipe.try_read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => break,
        };
        // A service that talks without end keeps only its latest output.
        if output.len() > program::OUTPUT_LIMIT * 16 {
            let keep = output.len() - program::OUTPUT_LIMIT;
            output.drain(..keep);
        }
        output.extend_from_slice(&chunk[..n]);
    }
}

/// Where services may listen: below Linux's ephemeral range (32768–60999), so no port the kernel
/// hands out — to a client's connection, or to `bind(0)` elsewhere — takes a service's port between
/// choosing it and the service binding it.
const SERVICE_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A free port on 127.0.0.1 for a service to listen on, never one this process chose before.
pub(super) fn free_port() -> std::io::Result<u16> {
    static CHOSEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut chosen = CHOSEN.lock().expect("chosen ports");
    // Another run may be choosing too: start somewhere its own process would not.
    let span = u32::from(SERVICE_PORTS.end - SERVICE_PORTS.start);
    let start = (std::process::id().wrapping_mul(7919) + chosen.len() as u32 * 104_729) % span;
    for step in 0..span {
        let port = SERVICE_PORTS.start + ((start + step * 7) % span) as u16;
        if !chosen.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            chosen.push(port);
            return Ok(port);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        format!("no free port in {}–{}", SERVICE_PORTS.start, SERVICE_PORTS.end),
    ))
}

/// What a service's environment depends on: the versions of the case and the mocks' URLs.
pub(super) fn fingerprint(
    systems: &BTreeMap<SystemId, Arc<SystemVersion>>,
    base_urls: &BTreeMap<SystemId, String>,
) -> String {
    let versions = systems.values().map(|s| s.label()).collect::<Vec<_>>().join(",");
    let urls = base_urls.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    format!("{versions} {urls}")
}
