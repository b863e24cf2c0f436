//! External flows: a program the harness runs against the mocks.
//!
//! The program gets the trigger body on stdin and, in its environment, each mock's base URL
//! (`HARNESS_NETSUITE_URL`), API version (`HARNESS_SHOPIFY_VERSION`) and credentials
//! (`HARNESS_NETSUITE_CLIENT_ID`, ...), plus the trigger's headers and parameters as JSON. It may
//! report what happened to each record by printing JSON lines such as
//! `{"record": "#1001", "outcome": "dead-lettered", "reason": "…"}`; otherwise only its exit status
//! and what reached the mocks are judged. It runs in its own process group, killed whole when the
//! time limit passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{FlowRun, Outcome, RecordOutcome, RunStatus, TriggerInput};
use crate::systems::{SystemKind, SystemVersion, credential_env};

#[derive(Debug)]
pub struct CommandFlow {
    pub argv: Vec<String>,
    pub timeout: Option<Duration>,
}

pub struct Env {
    pub root: PathBuf,
    pub systems: BTreeMap<SystemKind, Arc<SystemVersion>>,
    pub base_urls: BTreeMap<SystemKind, String>,
    pub trigger_system: SystemKind,
    pub event: Option<String>,
    pub scenario: String,
    pub timeout: Duration,
}

/// Hosts a program must reach without a proxy.
const LOOPBACK: &str = "127.0.0.1,localhost";
/// Most of a program's output kept for reports.
const OUTPUT_LIMIT: usize = 64 * 1024;
/// Most of its output read at all (record lines of large batches included).
const READ_LIMIT: usize = 64 * 1024 * 1024;

impl CommandFlow {
    /// Whether the program can be found: a path relative to the project root, or a name on `PATH`.
    pub fn check_program(&self, root: &Path) -> Result<(), String> {
        let program = &self.argv[0];
        if program.contains('/') {
            let path = root.join(program);
            return if path.is_file() { Ok(()) } else { Err(format!("program `{program}` not found (paths are relative to the project root)")) };
        }
        let on_path = std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
        if on_path { Ok(()) } else { Err(format!("program `{program}` is not on PATH")) }
    }

    pub async fn run(&self, env: &Env, trigger: &TriggerInput) -> FlowRun {
        let limit = self.timeout.unwrap_or(env.timeout).min(env.timeout);
        let mut command = tokio::process::Command::new(&self.argv[0]);
        command.args(&self.argv[1..]).current_dir(&env.root).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        for (kind, system) in &env.systems {
            let prefix = kind.env_prefix();
            command.env(format!("{prefix}_VERSION"), &system.version);
            if let Some(url) = env.base_urls.get(kind) {
                command.env(format!("{prefix}_URL"), url);
            }
            command.envs(credential_env(system));
        }
        let headers: serde_json::Map<String, Value> = trigger.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        command
            .env("HARNESS_SCENARIO", &env.scenario)
            .env("HARNESS_TRIGGER_SYSTEM", env.trigger_system.name())
            .env("HARNESS_TRIGGER_EVENT", env.event.as_deref().unwrap_or(""))
            .env("HARNESS_TRIGGER_HEADERS", Value::Object(headers).to_string())
            .env("HARNESS_TRIGGER_PARAMS", serde_json::to_string(&trigger.params).unwrap_or_default())
            // As Peoplevox fills a callback URL template: `TrackingNumber=…&SalesOrderNumber=…`.
            .env("HARNESS_TRIGGER_QUERY", crate::http::encode_query(&trigger.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>()))
            .env("HARNESS_NOW", crate::clock::rfc3339(crate::clock::EPOCH));
        // The mocks are on loopback: a proxy configured for the machine must not stand between.
        let no_proxy = std::env::var("NO_PROXY").or_else(|_| std::env::var("no_proxy")).map_or_else(|_| LOOPBACK.to_string(), |v| format!("{v},{LOOPBACK}"));
        command.env("NO_PROXY", &no_proxy).env("no_proxy", &no_proxy);

        let shown = self.argv.join(" ");
        let mut child = match command.spawn() {
            Ok(c) => c,
            Err(e) => return FlowRun::failed(format!("cannot start `{shown}`: {e}")),
        };
        // However this run ends — done, timed out here or cancelled by the scenario's limit — the
        // program and everything it started go with it.
        let _group = GroupKill::new(child.id());
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
        let outcome = tokio::time::timeout(limit, async {
            let (_, _, _, status) = tokio::join!(feed, read_limited(stdout.as_mut(), &mut out), read_limited(stderr.as_mut(), &mut err), child.wait());
            status
        })
        .await;
        let (out, err) = (String::from_utf8_lossy(&out), String::from_utf8_lossy(&err));
        let records = parse_records(&out);
        let output = truncate(format!("{out}{err}"));
        let status = match outcome {
            Err(_) => RunStatus::TimedOut(limit),
            Ok(status) => exit_status(status, &shown, &err),
        };
        FlowRun { status, records, missing: Vec::new(), waits: Vec::new(), refreshes: BTreeMap::new(), output }
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
            let last = err.lines().rev().find(|l| !l.trim().is_empty()).map_or(String::new(), |l| format!(": {}", l.trim()));
            RunStatus::Failed(format!("`{shown}` {how}{last}"))
        }
        Err(e) => RunStatus::Failed(format!("`{shown}` could not be waited for: {e}")),
    }
}

/// Read into `buf`, which the caller owns so that what was read survives a timeout.
async fn read_limited<R: tokio::io::AsyncRead + Unpin>(reader: Option<&mut R>, buf: &mut Vec<u8>) {
    let Some(reader) = reader else { return };
    let mut chunk = [0u8; 8192];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) if buf.len() < READ_LIMIT => buf.extend_from_slice(&chunk[..n]),
            Ok(_) => {}
        }
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > OUTPUT_LIMIT {
        let mut end = OUTPUT_LIMIT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("\n[output truncated]");
    }
    s
}

/// Kills the program's process group when dropped. A group whose processes all ended is gone, and
/// the signal then reaches no one.
struct GroupKill(Option<i32>);

/// Process groups of the programs running now, for `kill_running_programs`.
static RUNNING: std::sync::Mutex<BTreeSet<i32>> = std::sync::Mutex::new(BTreeSet::new());

impl GroupKill {
    fn new(pid: Option<u32>) -> GroupKill {
        let group = pid.and_then(|p| i32::try_from(p).ok());
        if let Some(g) = group {
            RUNNING.lock().expect("running programs").insert(g);
        }
        GroupKill(group)
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            RUNNING.lock().expect("running programs").remove(&group);
            kill_group(group);
        }
    }
}

/// Kill every program the harness started that is still running, with what they started: their
/// own process groups do not get the terminal's Ctrl-C, and an interrupted run drops no guards.
pub fn kill_running_programs() {
    for group in std::mem::take(&mut *RUNNING.lock().expect("running programs")) {
        kill_group(group);
    }
}

fn kill_group(group: i32) {
    #[cfg(unix)]
    // SAFETY: kill(2) with a negative pid signals the process group; it touches no memory.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// `{"record": "#1001", "outcome": "delivered"}` lines of the program's stdout.
fn parse_records(stdout: &str) -> Vec<RecordOutcome> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter_map(|v| {
            let key = v.get("record")?.as_str()?.to_string();
            let outcome: Outcome = serde_json::from_value(v.get("outcome")?.clone()).ok()?;
            let reason = v.get("reason").and_then(Value::as_str).map(str::to_string);
            Some(RecordOutcome { key, outcome, reason, last_response: None })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_are_read_and_other_output_ignored() {
        let out = "starting\n{\"record\": \"#1\", \"outcome\": \"delivered\"}\n{\"record\": \"#2\", \"outcome\": \"dead-lettered\", \"reason\": \"400\"}\n{\"other\": 1}\n";
        let records = parse_records(out);
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].outcome, Outcome::DeadLettered);
        assert_eq!(records[1].reason.as_deref(), Some("400"));
    }
}
