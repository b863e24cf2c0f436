//! The guardian, through `fake_harness`: kill -9 of the harness (20 trials),
//! the scratch folder it removes, a process-group kill, a clean end, and the baseline without a guardian.
#![cfg(target_os = "linux")]
mod common;

use common::{alive, nonce, pids_with_arg, wait_until};
use harness_procs::{kill_tagged, unique_run_id};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Run {
    run_id: String,
    daemon_arg: String,
    program_arg: String,
    child: Child,
    guardian: Option<i32>,
}

fn start(extra: &[&str], own_group: bool) -> Run {
    let run_id = unique_run_id();
    let n = nonce();
    let mut cmd = Command::new(common::fake_harness());
    cmd.args(["run", &run_id, &n]).args(extra).stdout(Stdio::piped()).stderr(Stdio::inherit());
    if own_group {
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().expect("fake_harness starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(10)).expect("fake_harness reports READY");
    assert!(line.starts_with("READY "), "unexpected: {line:?}");
    let guardian = line.split_whitespace().find_map(|w| w.strip_prefix("guardian=")?.parse().ok());
    Run { run_id, daemon_arg: format!("300.{n}"), program_arg: format!("301.{n}"), child, guardian }
}

impl Run {
    /// Waits (at most `timeout`) for every process of the run to be gone.
    fn all_gone_within(&self, timeout: Duration) -> bool {
        wait_until(timeout, || {
            pids_with_arg(&self.daemon_arg).is_empty()
                && pids_with_arg(&self.program_arg).is_empty()
                && self.guardian.is_none_or(|g| !alive(g))
        })
    }
}

#[test]
fn kill_9_of_the_harness_removes_its_scratch_folder() {
    let scratch = std::env::temp_dir().join(format!("harness-guardian-scratch-{}", nonce()));
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(scratch.join("0.stubs.yaml"), b"a temporary name left by a kill").unwrap();
    let mut run = start(&[&format!("--scratch={}", scratch.display())], false);
    run.child.kill().expect("kill -9");
    let _ = run.child.wait();
    let removed = wait_until(Duration::from_secs(10), || !scratch.exists());
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(run.all_gone_within(Duration::from_secs(5)));
    assert!(removed, "the guardian removes the scratch folder of the killed harness");
}

#[test]
fn kill_9_of_the_harness_leaves_nothing_behind_20_of_20() {
    let trials = 20;
    let mut clean = 0;
    let mut slowest = Duration::ZERO;
    for trial in 0..trials {
        let mut run = start(&[], false);
        assert!(run.guardian.is_some());
        run.child.kill().expect("kill -9"); // SIGKILL
        let _ = run.child.wait();
        let t = Instant::now();
        if run.all_gone_within(Duration::from_secs(5)) {
            clean += 1;
            slowest = slowest.max(t.elapsed());
        } else {
            eprintln!(
                "trial {trial}: left behind: daemon {:?} program {:?}",
                pids_with_arg(&run.daemon_arg),
                pids_with_arg(&run.program_arg)
            );
            kill_tagged(&run.run_id);
        }
    }
    println!("kill -9 trials: {clean}/{trials} left nothing behind; slowest cleanup {slowest:?}");
    assert_eq!(clean, trials);
}

#[test]
fn kill_9_of_the_harness_process_group_spares_the_guardian() {
    let mut run = start(&[], true);
    let pgid = run.child.id() as i32;
    // SAFETY: kill with a negative pid signals the group we just created.
    assert_eq!(unsafe { libc::kill(-pgid, libc::SIGKILL) }, 0);
    let _ = run.child.wait();
    let ok = run.all_gone_within(Duration::from_secs(5));
    if !ok {
        kill_tagged(&run.run_id);
    }
    assert!(ok, "processes left after a group kill");
}

#[test]
fn a_clean_end_kills_leftovers_before_the_harness_exits() {
    let mut run = start(&["--clean"], false);
    assert!(wait_until(Duration::from_secs(10), || run.child.try_wait().is_ok_and(|s| s.is_some())));
    // Guardian::drop waited for the guardian, so nothing should remain now.
    let ok = run.all_gone_within(Duration::from_millis(200));
    if !ok {
        kill_tagged(&run.run_id);
    }
    assert!(ok);
}

#[test]
fn without_a_guardian_the_setsid_daemon_survives_kill_9() {
    // Today's behaviour, to show the trials above would catch a regression.
    let mut run = start(&["--no-guardian"], false);
    assert!(run.guardian.is_none());
    run.child.kill().expect("kill -9");
    let _ = run.child.wait();
    // PDEATHSIG takes the direct child ...
    assert!(wait_until(Duration::from_secs(3), || pids_with_arg(&run.program_arg).is_empty()));
    // ... but the setsid daemon is out of reach of both.
    std::thread::sleep(Duration::from_millis(300));
    let survivors = pids_with_arg(&run.daemon_arg);
    assert_eq!(survivors.len(), 1, "daemon should have survived");
    assert_eq!(kill_tagged(&run.run_id), 1, "but kill_tagged finds it by its tag");
    assert!(wait_until(Duration::from_secs(3), || !alive(survivors[0])));
}
