//! End-to-end tests of programs that try to outlive their case or the run: a daemon that clears
//! its environment (so it carries no process tag) and starts a session of its own.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{harness_with, project, within};

/// Live processes with `arg` in their command line.
fn pids_with_arg(arg: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
        })
        .collect()
}

/// A unique `sleep` argument (a number `sleep` accepts) that names this test's daemon.
fn marker(n: u32) -> String {
    format!(
        "300.{}{n}{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
    )
}

/// Whether this machine lets the harness give programs a cgroup of their own; without one a
/// daemon with a cleared environment in a new session is not contained (README, "Programs").
fn cgroups_here() -> bool {
    harness_procs::Containment::new(harness_procs::Tag::new(harness_procs::run_id(), "probe").unwrap()).has_cgroup()
}

/// A project whose flow starts `setsid env -i sh -c 'sleep <marker> &'` with its output still
/// open, then exits (or, with `then`, runs `then` first).
fn daemon_project(then: &str) -> tempfile::TempDir {
    let p = project(&[]);
    std::fs::write(
        p.path().join("flows/daemon.yaml"),
        format!("trigger: {{system: shopify, event: orders/create, key: .name}}\ntargets: [netsuite]\ncommand: [sh, -c, \"setsid env -i sh -c \\\"sleep $DAEMON_ARG &\\\"; {then}\"]\npass_env: [DAEMON_ARG]\n"),
    )
    .unwrap();
    std::fs::write(p.path().join("scenarios/orders/daemon.yaml"), "flow: daemon\ntimeout: 10m\nexpect: {outcome: filtered}\nsystems: {shopify: 2025-01, netsuite: \"2025.1\"}\ntrigger: {file: webhooks/order.json}\n").unwrap();
    p
}

fn kill_all(arg: &str) {
    for pid in pids_with_arg(arg) {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
}

#[test]
fn a_daemon_in_a_new_session_with_a_cleared_environment_ends_with_its_case() {
    if !cgroups_here() {
        eprintln!("no cgroup2 tree the harness may write here: such a daemon is not contained (README, \"Programs\")");
        return;
    }
    // The program exits once its daemon runs.
    let p = daemon_project("until grep -qs $DAEMON_ARG /proc/[0-9]*/cmdline; do sleep 0.05; done");
    let daemon = marker(1);
    let out = harness_with(
        p.path(),
        &["run", "orders/daemon", "--accept", "--json", "out/run.json", "--color", "never"],
        &[("DAEMON_ARG", &daemon)],
    );
    let left = pids_with_arg(&daemon);
    kill_all(&daemon);
    assert!(left.is_empty(), "the daemon outlived the run: {left:?}\n{}{}", out.stdout, out.stderr);
    // The case ended when its program exited, not at its 10-minute limit.
    let report = std::fs::read_to_string(p.path().join("out/run.json")).expect("the JSON report");
    assert!(!report.contains("timed out"), "{report}");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn kill_9_of_the_harness_ends_a_daemon_with_a_cleared_environment() {
    if !cgroups_here() {
        eprintln!("no cgroup2 tree the harness may write here: such a daemon is not contained (README, \"Programs\")");
        return;
    }
    let p = daemon_project("exec sleep 600");
    for trial in 0..3 {
        let daemon = marker(10 + trial);
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["run", "orders/daemon"])
            .current_dir(p.path())
            .env("DAEMON_ARG", &daemon)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = within(Duration::from_secs(30), || pids_with_arg(&daemon).len() == 1);
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        assert!(started, "trial {trial}: the daemon never started");
        let gone = within(Duration::from_secs(10), || pids_with_arg(&daemon).is_empty());
        kill_all(&daemon);
        assert!(gone, "trial {trial}: the daemon outlived the harness");
    }
}
