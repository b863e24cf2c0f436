//! Network isolation, in fresh single-threaded processes (`fake_harness
//! netns-probe`): the probe only tries a non-loopback address after checking
//! that it sits in a new namespace with no route.
#![cfg(target_os = "linux")]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

/// Held while writing the probe's copy and while forking. Otherwise a child
/// forked by another test thread can inherit the copy's write descriptor for
/// a moment, and exec of the copy fails with ETXTBSY.
static FORK_LOCK: Mutex<()> = Mutex::new(());

fn output(cmd: &mut Command) -> Output {
    let child = {
        let _guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn")
    };
    child.wait_with_output().expect("wait")
}

fn report(what: &str, out: &Output) -> (Option<i32>, String) {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("--- {what}: exit {:?}\n{text}{}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

fn have(tool: &str) -> bool {
    output(Command::new("sh").arg("-c").arg(format!("command -v {tool}"))).status.success()
}

/// A copy of the probe that any user can execute (the target dir may not be).
struct PublicCopy(PathBuf);

impl PublicCopy {
    fn new() -> PublicCopy {
        let _guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let dir = std::env::temp_dir().join(format!("procs-netns-{}", common::nonce()));
        std::fs::create_dir(&dir).expect("temp dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
        let bin = dir.join("fake_harness");
        std::fs::copy(common::fake_harness(), &bin).expect("copy probe");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod bin");
        PublicCopy(bin)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PublicCopy {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn as_root_only_loopback_works() {
    if !common::is_root() {
        println!("note: not root; skipping the root isolation test");
        return;
    }
    let out = output(Command::new(common::fake_harness()).arg("netns-probe"));
    let (code, text) = report("root", &out);
    assert_eq!(code, Some(0));
    assert!(text.contains("PASS") && text.contains("via user namespace: false"));
}

#[test]
fn a_multi_threaded_process_is_refused() {
    let out = output(Command::new(common::fake_harness()).args(["netns-probe", "--with-thread"]));
    let (code, text) = report("multi-threaded", &out);
    assert_eq!(code, Some(3));
    assert!(text.contains("single-threaded"), "{text}");
}

#[test]
fn unprivileged_via_a_user_namespace() {
    let copy;
    let mut cmd = if common::is_root() {
        if !have("setpriv") {
            println!("note: no setpriv; skipping the unprivileged isolation test");
            return;
        }
        copy = PublicCopy::new();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(copy.path());
        c
    } else {
        Command::new(common::fake_harness())
    };
    let out = output(cmd.arg("netns-probe"));
    let (code, text) = report("unprivileged", &out);
    match code {
        Some(0) => assert!(text.contains("via user namespace: true"), "{text}"),
        // Not every kernel or container allows it; the reason must be given.
        Some(3) => assert!(text.starts_with("UNAVAILABLE: cannot create a network namespace: "), "{text}"),
        _ => panic!("probe failed: {text}"),
    }
    if std::env::var_os("PROCS_REQUIRE_UNPRIVILEGED_NETNS").is_some() {
        assert_eq!(code, Some(0), "required by PROCS_REQUIRE_UNPRIVILEGED_NETNS");
    }
}

#[test]
fn disabled_user_namespaces_are_explained() {
    // Inside a user namespace of its own, user.max_user_namespaces can be set
    // to 0 for that namespace alone; dropping every capability then leaves
    // the probe no way in.
    if !have("unshare") || !have("setpriv") {
        println!("note: no unshare/setpriv; skipping");
        return;
    }
    let copy = PublicCopy::new();
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces || exit 99; exec setpriv --bounding-set=-all --inh-caps=-all {} netns-probe",
        copy.path().display()
    );
    let out = output(Command::new("unshare").args(["--user", "--map-root-user", "sh", "-c", &script]));
    let (code, text) = report("user namespaces disabled", &out);
    if code == Some(99) || (code == Some(1) && text.is_empty()) {
        println!("note: cannot set up a namespace with user namespaces disabled here; skipping");
        return;
    }
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("user namespaces are disabled (user.max_user_namespaces=0)"), "{text}");
}
