//! kill_tagged and the parent-death signal, in the test process itself.
#![cfg(target_os = "linux")]
mod common;

use common::{alive, nonce, pids_with_arg, wait_until};
use harness_procs::{Spawner, Tag, configure_command, kill_tagged, unique_run_id};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;
use tokio::process::Command;

fn shell(script: &str, tag: &Tag) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).env_clear().envs(harness_procs::minimal_env(&[]));
    configure_command(&mut cmd, tag);
    cmd
}

async fn kill_blocking(prefix: &str) -> usize {
    let prefix = prefix.to_owned();
    tokio::task::spawn_blocking(move || kill_tagged(&prefix)).await.expect("kill_tagged ran")
}

async fn exit_signal(child: &mut tokio::process::Child) -> Option<i32> {
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("program ended within 5 s")
        .expect("tokio still owns the program's exit status");
    status.signal()
}

#[tokio::test]
async fn kills_a_setsid_grandchild_and_leaves_the_status_to_tokio() {
    let run = unique_run_id();
    let tag = Tag::new(&run, "case").expect("tag");
    let n = nonce();
    let (daemon, program) = (format!("300.{n}"), format!("301.{n}"));
    let mut child = shell(&format!("( setsid sleep {daemon} & ) ; exec sleep {program}"), &tag).spawn().expect("spawn");
    assert!(
        wait_until(Duration::from_secs(5), || pids_with_arg(&daemon).len() == 1 && pids_with_arg(&program).len() == 1)
    );
    let daemon_pid = pids_with_arg(&daemon)[0];

    let killed = kill_blocking(&run).await;

    assert_eq!(killed, 2, "the program and its setsid daemon");
    assert!(wait_until(Duration::from_secs(3), || !alive(daemon_pid)), "daemon survived");
    assert!(pids_with_arg(&program).is_empty());
    assert_eq!(exit_signal(&mut child).await, Some(libc::SIGKILL));
    assert_eq!(kill_blocking(&run).await, 0, "nothing left");
}

#[tokio::test]
async fn prefixes_match_whole_components() {
    let run = unique_run_id();
    let n = nonce();
    let (one, ten) = (format!("300.{n}1"), format!("300.{n}10"));
    let mut c1 = shell(&format!("exec sleep {one}"), &Tag::new(&run, "c1").expect("tag")).spawn().expect("spawn");
    let mut c10 = shell(&format!("exec sleep {ten}"), &Tag::new(&run, "c10").expect("tag")).spawn().expect("spawn");
    assert!(wait_until(Duration::from_secs(5), || pids_with_arg(&one).len() == 1 && pids_with_arg(&ten).len() == 1));

    assert_eq!(kill_blocking(&format!("{run}/c1")).await, 1);
    assert_eq!(exit_signal(&mut c1).await, Some(libc::SIGKILL));
    assert_eq!(pids_with_arg(&ten).len(), 1, "case c10 is not under prefix <run>/c1");

    assert_eq!(kill_blocking(&run).await, 1);
    assert_eq!(exit_signal(&mut c10).await, Some(libc::SIGKILL));
}

#[tokio::test]
async fn kills_descendants_that_dropped_the_tag() {
    let run = unique_run_id();
    let tag = Tag::new(&run, "case").expect("tag");
    let n = nonce();
    let (untagged, program) = (format!("300.{n}"), format!("301.{n}"));
    let script = format!("env -i \"$(command -v sleep)\" {untagged} & exec sleep {program}");
    let mut child = shell(&script, &tag).spawn().expect("spawn");
    // Until `env -i` has exec'd `sleep`, the process still carries the tag in its environment.
    let untagged_sleep = || {
        pids_with_arg(&untagged).into_iter().find(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|e| !String::from_utf8_lossy(&e).contains("HARNESS_PROCESS_TAG"))
        })
    };
    assert!(
        wait_until(Duration::from_secs(5), || untagged_sleep().is_some() && pids_with_arg(&program).len() == 1),
        "premise: a descendant that dropped the tag with env -i"
    );
    let untagged_pid = untagged_sleep().expect("still running");

    assert_eq!(kill_blocking(&run).await, 2);
    assert!(wait_until(Duration::from_secs(3), || !alive(untagged_pid)));
    assert_eq!(exit_signal(&mut child).await, Some(libc::SIGKILL));
}

/// The hazard the Spawner exists for: PDEATHSIG follows the forking thread.
/// A program spawned on a blocking-pool thread is SIGKILLed when that thread
/// retires after its keep-alive; one spawned through the Spawner is not.
#[test]
fn pdeathsig_follows_the_spawning_thread() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_keep_alive(Duration::from_millis(100))
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let run = unique_run_id();
        let tag = Tag::new(&run, "case").expect("tag");
        let n = nonce();

        let direct_tag = tag.clone();
        let direct_arg = format!("300.{n}1");
        let script = format!("exec sleep {direct_arg}");
        let mut direct = tokio::task::spawn_blocking(move || shell(&script, &direct_tag).spawn())
            .await
            .expect("joined")
            .expect("spawn");
        assert_eq!(exit_signal(&mut direct).await, Some(libc::SIGKILL), "killed when its thread retired");

        let spawner = std::sync::Arc::new(Spawner::start().expect("spawner"));
        let via_arg = format!("300.{n}2");
        let (spawner2, tag2, arg2) = (spawner.clone(), tag.clone(), via_arg.clone());
        let mut via = tokio::task::spawn_blocking(move || {
            let mut cmd = Command::new("sleep");
            cmd.arg(&arg2);
            tokio::runtime::Handle::current().block_on(spawner2.spawn(cmd, &tag2))
        })
        .await
        .expect("joined")
        .expect("spawn");
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(via.try_wait().expect("try_wait").is_none(), "spawned via the Spawner, still running");
        assert_eq!(pids_with_arg(&via_arg).len(), 1);
        assert_eq!(kill_blocking(&run).await, 1);
        assert_eq!(exit_signal(&mut via).await, Some(libc::SIGKILL));
    });
}
