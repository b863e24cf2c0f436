//! The programs the harness starts for a flow — a `command` run once per case, or a `service`
//! started once per job — and what they share: the program checked at load time, `cwd:`, the
//! `env:` mapping with `{system.field}` holes, `pass_env:`, the environment built for one run
//! (each mock's URL, version and credentials, and nothing of the harness's own but a minimal
//! set, so the machine's tokens never reach it), starting it with its process tag from the one
//! spawner thread, and reading its output.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use harness_core::{Diagnostic, Outcome, SystemId};
use harness_procs::{Containment, Spawner, Tag};
use harness_syntax::{Loc, Span};
use harness_systems::SystemVersion;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::RecordOutcome;
use crate::source::FlowSource;

/// A program of a flow file, checked: it can be found, `env:` names known systems, `cwd:` is a
/// folder of the project.
#[derive(Debug)]
pub(crate) struct Program {
    argv: Vec<String>,
    env: Vec<(String, EnvValue)>,
    /// Where the program runs: the project root or the flow's `cwd:`.
    cwd: PathBuf,
    pass_env: Vec<String>,
    /// The flow file, to locate problems found once a case's system versions are known.
    file: PathBuf,
    text: Arc<str>,
    root: PathBuf,
}

/// A value of `env:`: text with `{system.field}` holes.
#[derive(Debug, Clone)]
struct EnvValue {
    parts: Vec<EnvPart>,
    span: Span,
}

#[derive(Debug, Clone)]
enum EnvPart {
    Text(String),
    Hole {
        system: SystemId,
        field: String,
        offset: usize,
        len: usize,
    },
    /// `{service.port}`: where a service flow's program listens.
    ServicePort,
}

/// Hosts a program must reach without a proxy.
const LOOPBACK: &str = "127.0.0.1,localhost";
/// Most of a program's output kept for reports.
pub(crate) const OUTPUT_LIMIT: usize = 64 * 1024;
/// Most of its output read at all (record lines of large batches included).
const READ_LIMIT: usize = 64 * 1024 * 1024;

impl Program {
    /// `command` (a flow's `command:` or its service's) with the flow's `cwd`, `env` and
    /// `pass_env`; `service` allows `{service.port}` in `env:`.
    pub(crate) fn compile(
        source: &FlowSource<'_>,
        command: &Loc<Vec<Loc<String>>>,
        service: bool,
    ) -> Result<Program, Vec<Diagnostic>> {
        let Some(program) = command.first() else {
            return Err(vec![source.error(command, "`command` needs at least the program to run")]);
        };
        let mut errors = Vec::new();
        let root = &source.project.root;
        let cwd = match &source.spec.cwd {
            None => root.clone(),
            Some(dir) => match source.project.contained(root, dir) {
                Ok(path) if path.is_dir() => path,
                Ok(_) => {
                    errors.push(source.error(dir, format!("`cwd`: `{}` is not a folder of the project", dir.value)));
                    root.clone()
                }
                Err(m) => {
                    errors.push(source.error(dir, format!("`cwd`: {m}")));
                    root.clone()
                }
            },
        };
        let mut env = Vec::new();
        for (name, value) in &source.spec.env {
            if !is_env_name(name) || name == harness_procs::TAG_VAR {
                let at = harness_syntax::yaml::key_span(source.text, &["env", name]).unwrap_or(value.span);
                let why = if is_env_name(name) {
                    "is the harness's own process tag"
                } else {
                    "is not a variable name (letters, digits and `_`, not starting with a digit)"
                };
                errors
                    .push(at.diagnostic(source.file, source.text, format!("`env`: `{name}` {why}")).relative_to(root));
                continue;
            }
            match EnvValue::parse(value, source, service) {
                Ok(v) => env.push((name.clone(), v)),
                Err(mut ds) => errors.append(&mut ds),
            }
        }
        let mut pass_env = Vec::new();
        for pattern in &source.spec.pass_env {
            let name = pattern.strip_suffix('*').unwrap_or(pattern);
            if name.is_empty() && pattern.value != "*" || !name.is_empty() && !is_env_name(name) {
                errors.push(source.error(
                    pattern,
                    format!("`pass_env`: `{}` is not a variable name or a prefix ending in `*`", pattern.value),
                ));
            }
            pass_env.push(pattern.value.clone());
        }
        let built = Program {
            argv: command.iter().map(|a| a.value.clone()).collect(),
            env,
            cwd,
            pass_env,
            file: source.file.to_path_buf(),
            text: Arc::from(source.text),
            root: root.clone(),
        };
        if let Err(m) = built.check_program(source.project) {
            errors.push(source.error(program, m));
        }
        if errors.is_empty() { Ok(built) } else { Err(errors) }
    }

    /// The command line as reports show it.
    pub(crate) fn shown(&self) -> String {
        self.argv.join(" ")
    }

    /// Whether the program can be found: a path relative to the project root (inside it), or a
    /// name on `PATH`.
    fn check_program(&self, project: &harness_syntax::Project) -> Result<(), String> {
        let program = &self.argv[0];
        if program.contains('/') {
            let path = project.contained(&project.root, program).map_err(|m| format!("program: {m}"))?;
            return if path.is_file() {
                Ok(())
            } else {
                Err(format!("program `{program}` not found (paths are relative to the project root)"))
            };
        }
        let on_path = std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
        if on_path { Ok(()) } else { Err(format!("program `{program}` is not on PATH")) }
    }

    /// Problems with what `env:` needs from the system versions of one case, located in the file.
    pub(crate) fn check_versions(&self, systems: &BTreeMap<SystemId, Arc<SystemVersion>>) -> Vec<Diagnostic> {
        self.env
            .iter()
            .filter_map(|(_, value)| {
                value.render(systems, &BTreeMap::new(), None).err().map(|(offset, len, m)| {
                    value.span.diagnostic_inside(&self.file, &self.text, offset, len, m).relative_to(&self.root)
                })
            })
            .collect()
    }

    /// The command for one run against the mocks at `base_urls`: each system's
    /// `HARNESS_<SYSTEM>_URL`, `_VERSION` and credentials, then the flow's own names for them.
    /// The caller adds its own variables and the pipes it wants.
    pub(crate) fn command(
        &self,
        systems: &BTreeMap<SystemId, Arc<SystemVersion>>,
        base_urls: &BTreeMap<SystemId, String>,
        service_port: Option<u16>,
    ) -> Result<tokio::process::Command, String> {
        // A relative program path is the project's, wherever the program runs.
        let program =
            if self.argv[0].contains('/') { self.root.join(&self.argv[0]) } else { PathBuf::from(&self.argv[0]) };
        let mut command = tokio::process::Command::new(program);
        command.args(&self.argv[1..]).current_dir(&self.cwd).kill_on_drop(true);
        command.env_clear().envs(harness_procs::minimal_env(&self.pass_env));
        for (id, system) in systems {
            let prefix = id.env_prefix();
            command.env(format!("{prefix}_VERSION"), &system.version);
            if let Some(url) = base_urls.get(id) {
                command.env(format!("{prefix}_URL"), url);
            }
            command.envs(system.credential_env());
        }
        command.env("HARNESS_NOW", harness_core::clock::rfc3339(harness_core::clock::EPOCH));
        if let Some(port) = service_port {
            command.env("HARNESS_SERVICE_PORT", port.to_string());
        }
        // The mocks are on loopback: a proxy configured for the machine must not stand between.
        let no_proxy = std::env::var("NO_PROXY")
            .or_else(|_| std::env::var("no_proxy"))
            .map_or_else(|_| LOOPBACK.to_string(), |v| format!("{v},{LOOPBACK}"));
        command.env("NO_PROXY", &no_proxy).env("no_proxy", &no_proxy);
        // The flow's own names for the same values, last: they are what the program asked for.
        for (name, value) in &self.env {
            command.env(name, value.render(systems, base_urls, service_port).map_err(|(_, _, m)| m)?);
        }
        Ok(command)
    }

    /// Start `command` held by `containment` (its tag, its cgroup), from the thread every program
    /// is started from.
    pub(crate) async fn spawn(
        &self,
        mut command: tokio::process::Command,
        containment: &Containment,
    ) -> Result<tokio::process::Child, String> {
        containment.enter_cgroup(&mut command);
        let spawned = match spawner() {
            Ok(s) => s.spawn(command, containment.tag()).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        spawned.map_err(|e| format!("cannot start `{}`: {e}", self.shown()))
    }
}

fn is_env_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl EnvValue {
    fn parse(value: &Loc<String>, source: &FlowSource<'_>, service: bool) -> Result<EnvValue, Vec<Diagnostic>> {
        let text = &value.value;
        let inside = |offset: usize, len: usize, message: String| {
            value
                .span
                .diagnostic_inside(source.file, source.text, offset, len, message)
                .relative_to(&source.project.root)
        };
        let (mut parts, mut errors, mut rest, mut at) = (Vec::new(), Vec::new(), text.as_str(), 0);
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(EnvPart::Text(rest[..open].to_string()));
            }
            let Some(close) = rest[open..].find('}') else {
                errors.push(inside(at + open, rest.len() - open, "`env`: `{` without its `}`".into()));
                break;
            };
            let hole = &rest[open + 1..open + close];
            let (offset, len) = (at + open, close + 1);
            match hole.split_once('.') {
                Some(("service", "port")) if service => parts.push(EnvPart::ServicePort),
                Some(("service", "port")) => errors.push(inside(offset, len, "`env`: `{service.port}` is for service flows (`service:`)".into())),
                Some((system, field)) if !field.is_empty() => match SystemId::new(system).ok().filter(|id| source.registry.contains(id)) {
                    Some(id) => parts.push(EnvPart::Hole { system: id, field: field.to_string(), offset, len }),
                    None => errors.push(inside(offset, len, format!("`env`: unknown system `{system}` (systems: {})", source.registry.names().join(", ")))),
                },
                _ => errors.push(inside(offset, len, format!("`env`: `{{{hole}}}` should be `{{system.url}}`, `{{system.version}}` or `{{system.<credential>}}`"))),
            }
            at += open + close + 1;
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(EnvPart::Text(rest.to_string()));
        }
        if errors.is_empty() { Ok(EnvValue { parts, span: value.span }) } else { Err(errors) }
    }

    /// The value for one run, or the hole it cannot fill.
    fn render(
        &self,
        systems: &BTreeMap<SystemId, Arc<SystemVersion>>,
        base_urls: &BTreeMap<SystemId, String>,
        service_port: Option<u16>,
    ) -> Result<String, (usize, usize, String)> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                EnvPart::Text(t) => out.push_str(t),
                // Known at run time, when the port is chosen.
                EnvPart::ServicePort => out.push_str(&service_port.map_or_else(String::new, |p| p.to_string())),
                EnvPart::Hole { system, field, offset, len } => {
                    let missing = |why: String| (*offset, *len, why);
                    let version = systems
                        .get(system)
                        .ok_or_else(|| missing(format!("`env`: the scenario runs no {system} version")))?;
                    let value = match field.as_str() {
                        "version" => Some(version.version.as_str()),
                        // Filled in at run time, when the mock listens; known to exist at plan time.
                        "url" => Some(base_urls.get(system).map_or("", String::as_str)),
                        credential => version.credentials.get(credential).map(String::as_str),
                    };
                    let known = || version.credentials.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
                    out.push_str(value.ok_or_else(|| {
                        missing(format!(
                            "`env`: {} has no credential `{field}` (it has: url, version, {})",
                            version.label(),
                            known()
                        ))
                    })?);
                }
            }
        }
        Ok(out)
    }
}

/// The thread every program is started from: it lives as long as the process, so a program's
/// parent-death signal fires when the harness dies, never when some runtime thread retires.
fn spawner() -> Result<&'static Spawner, String> {
    static SPAWNER: OnceLock<Result<Spawner, String>> = OnceLock::new();
    SPAWNER
        .get_or_init(|| Spawner::start().map_err(|e| format!("cannot start the thread that starts programs: {e}")))
        .as_ref()
        .map_err(Clone::clone)
}

/// What holds one program of `owner` (a case id, or a service's job) and everything it starts:
/// dropping it kills them — at the end of the program's life however it ends, done, timed out, or
/// dropped by the scenario's limit. A counter keeps programs started for the same owner apart:
/// the same case may run several times at once.
pub(crate) fn contain(owner: &str) -> Result<Containment, String> {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tag =
        Tag::new(harness_procs::run_id(), &format!("{}#{run}", owner.replace('/', ":"))).map_err(|e| e.to_string())?;
    Ok(Containment::new(tag))
}

/// Read into `buf`, which the caller owns so that what was read survives a timeout.
pub(crate) async fn read_limited<R: tokio::io::AsyncRead + Unpin>(reader: Option<&mut R>, buf: &mut Vec<u8>) {
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

pub(crate) fn truncate(mut s: String) -> String {
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

/// `{"record": "#1001", "outcome": "delivered"}` lines of a program's output.
pub(crate) fn parse_records(stdout: &str) -> Vec<RecordOutcome> {
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

/// Kill every program the harness started that is still running, with everything they started
/// (by their cgroups and tags, so also daemons that left the process tree): on Ctrl-C and
/// SIGTERM, when no case gets to end normally. Blocks for milliseconds.
pub fn kill_running_programs() {
    harness_procs::kill_run(harness_procs::run_id());
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
