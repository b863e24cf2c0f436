//! As a subreaper, kill_tagged reaps the orphans it kills but leaves tokio's
//! children to tokio. Its own test binary: the subreaper flag is per process.
#![cfg(target_os = "linux")]
mod common;

use common::{alive, nonce, pids_with_arg, state_and_ppid, wait_until};
use harness_procs::{Tag, become_subreaper, configure_command, kill_tagged, unique_run_id};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

#[tokio::test]
async fn adopted_orphans_are_reaped_and_tokio_keeps_its_status() {
    become_subreaper().expect("subreaper");
    let me = std::process::id() as i32;
    let run = unique_run_id();
    let tag = Tag::new(&run, "case").expect("tag");
    let n = nonce();
    let (daemon, program) = (format!("300.{n}"), format!("301.{n}"));
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c").arg(format!("( setsid sleep {daemon} & ) ; exec sleep {program}"));
    configure_command(&mut cmd, &tag);
    let mut child = cmd.spawn().expect("spawn");
    // The subshell that forked the daemon exits at once; the daemon then
    // reparents to us rather than to init.
    let adopted = || pids_with_arg(&daemon).first().is_some_and(|&p| state_and_ppid(p).is_some_and(|(_, pp)| pp == me));
    assert!(wait_until(Duration::from_secs(5), adopted), "daemon was not adopted by the subreaper");
    let daemon_pid = pids_with_arg(&daemon)[0];

    let killed = tokio::task::spawn_blocking(move || kill_tagged(&run)).await.expect("ran");

    assert_eq!(killed, 2);
    assert!(state_and_ppid(daemon_pid).is_none_or(|(_, pp)| pp != me), "daemon left as our zombie");
    assert!(!alive(daemon_pid));
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("ended")
        .expect("tokio still had the status to collect");
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    let zombies: Vec<i32> = std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| state_and_ppid(p).is_some_and(|(s, pp)| s == 'Z' && pp == me))
        .collect();
    assert!(zombies.is_empty(), "zombie children left: {zombies:?}");
}
