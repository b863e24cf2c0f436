//! External flows: a program the harness runs against the mocks, once per case.
//!
//! The program gets the trigger body on stdin and, in its environment, what every program of a
//! flow gets ([`crate::program`]: each mock's URL, version and credentials, the flow's `env:` and
//! `pass_env:`), plus the trigger's headers and parameters as JSON. It may report what happened
//! to each record by printing JSON lines such as
//! `{"record": "#1001", "outcome": "dead-lettered", "reason": "…"}`; otherwise only its exit status
//! and what reached the mocks are judged. It runs in its case's cgroup (where the harness can make
//! one) and carries its case's process tag; the case ends when the program exits, and then
//! everything it left running is killed, also what it started in a session of its own.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use harness_core::{Diagnostic, SystemId};
use harness_systems::SystemVersion;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::driver::{CaseContext, FlowDriver, FlowInstance, JobContext, LocalBoxFuture, PrepareError};
use crate::program::{self, Program};
use crate::source::FlowSource;
use crate::{FlowRun, RunStatus};

/// How long output is still read once the program has exited and what it left was killed.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct CommandFlow {
    program: Arc<Program>,
    timeout: Option<Duration>,
}

/// A command flow, checked as [`Program::compile`] checks it.
pub(crate) fn compile(source: &FlowSource<'_>) -> Result<Arc<dyn FlowDriver>, Vec<Diagnostic>> {
    let Some(command) = &source.spec.command else {
        unreachable!("compiled as a command flow because it has `command`")
    };
    let program = Program::compile(source, command, false)?;
    Ok(Arc::new(CommandFlow { program: Arc::new(program), timeout: source.spec.timeout }))
}

impl FlowDriver for CommandFlow {
    fn virtual_time(&self) -> bool {
        false
    }

    fn accounts_for_every_record(&self) -> bool {
        false
    }

    fn grace(&self) -> Option<Duration> {
        // The program stops itself at its limit, keeping what it printed, on a clock load cannot
        // cut short: a backstop on the wall clock would.
        None
    }

    fn check_versions(&self, systems: &BTreeMap<SystemId, Arc<SystemVersion>>) -> Vec<Diagnostic> {
        self.program.check_versions(systems)
    }

    fn prepare(&self, _job: &JobContext) -> Result<Arc<dyn FlowInstance>, PrepareError> {
        Ok(Arc::new(PerCase { program: self.program.clone(), timeout: self.timeout }))
    }
}

/// The program, run once per case.
struct PerCase {
    program: Arc<Program>,
    timeout: Option<Duration>,
}

impl FlowInstance for PerCase {
    fn run<'a>(&'a self, case: CaseContext<'a>) -> LocalBoxFuture<'a, FlowRun> {
        Box::pin(self.run_case(case))
    }
}

impl PerCase {
    async fn run_case(&self, env: CaseContext<'_>) -> FlowRun {
        let trigger = env.input;
        let limit = self.timeout.unwrap_or(env.timeout).min(env.timeout);
        let mut command = match self.program.command(env.systems, env.base_urls, None) {
            Ok(c) => c,
            Err(m) => return FlowRun::failed(m),
        };
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let headers: serde_json::Map<String, Value> =
            trigger.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        command
            .env("HARNESS_SCENARIO", env.id)
            .env("HARNESS_TRIGGER_SYSTEM", env.trigger.system.as_str())
            .env("HARNESS_TRIGGER_EVENT", env.trigger.event.as_ref().map_or("", |e| e.value.as_str()))
            .env("HARNESS_TRIGGER_HEADERS", Value::Object(headers).to_string())
            .env("HARNESS_TRIGGER_PARAMS", serde_json::to_string(&trigger.params).unwrap_or_default())
            // As Peoplevox fills a callback URL template: `TrackingNumber=…&SalesOrderNumber=…`.
            .env(
                "HARNESS_TRIGGER_QUERY",
                harness_core::encoding::encode_query(
                    &trigger.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>(),
                ),
            );

        let shown = self.program.shown();
        // However this run ends — done, timed out here or cancelled by the scenario's limit — the
        // program and everything it started go with it (when `contained` drops).
        let contained = match program::contain(env.id) {
            Ok(c) => c,
            Err(e) => return FlowRun::failed(format!("cannot start `{shown}`: {e}")),
        };
        let mut child = match self.program.spawn(command, &contained).await {
            Ok(c) => c,
            Err(e) => return FlowRun::failed(e),
        };
        let mut stdin = child.stdin.take();
        let body = trigger.body.clone();
        let feed = async move {
            if let Some(stdin) = stdin.as_mut() {
                // A program that exits without reading its input is not an error.
                let _ = stdin.write_all(&body).await;
                let _ = stdin.shutdown().await;
            }
        };
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        // The limit is measured on a clock that a busy machine cannot make run faster (time its
        // process tree spent waiting for a CPU does not count), so load cannot change the verdict.
        let pid = child.id().unwrap_or(0);
        let work = async {
            let mut reads = std::pin::pin!(async {
                tokio::join!(
                    program::read_limited(stdout.as_mut(), &mut out),
                    program::read_limited(stderr.as_mut(), &mut err)
                )
            });
            // The case is over when its program has exited: what it left running (a daemon in a
            // new session holding its output open included) is killed then, not waited for.
            let mut ended = std::pin::pin!(async {
                let (_, status) = tokio::join!(feed, child.wait());
                contained.end();
                status
            });
            let (status, read_all) = tokio::select! {
                status = &mut ended => (status, false),
                _ = &mut reads => (ended.await, true),
            };
            if !read_all {
                // Killed leftovers close their ends of the pipes; one that escaped (no cgroup
                // here, see the README) may still hold them: read what is there, then stop.
                let _ = tokio::time::timeout(DRAIN_AFTER_EXIT, reads).await;
            }
            status
        };
        let outcome = tokio::select! {
            status = work => Some(status),
            () = harness_procs::limit_reached(pid, limit) => None,
        };
        let (out, err) = (String::from_utf8_lossy(&out), String::from_utf8_lossy(&err));
        let records = program::parse_records(&out);
        let output = program::truncate(format!("{out}{err}"));
        let status = match outcome {
            None => RunStatus::TimedOut(limit),
            Some(status) => exit_status(status, &shown, &err),
        };
        FlowRun { status, records, output, ..FlowRun::completed() }
    }
}

/// What the program's exit says about the flow.
fn exit_status(status: std::io::Result<std::process::ExitStatus>, shown: &str, err: &str) -> RunStatus {
    match status {
        Ok(s) if s.success() => RunStatus::Completed,
        Ok(s) => {
            let how = match s.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed by a signal".to_string(),
            };
            // The last thing a failing program says is usually why (an exception, an error line).
            let last =
                err.lines().rev().find(|l| !l.trim().is_empty()).map_or(String::new(), |l| format!(": {}", l.trim()));
            RunStatus::Failed(format!("`{shown}` {how}{last}"))
        }
        Err(e) => RunStatus::Failed(format!("`{shown}` could not be waited for: {e}")),
    }
}
