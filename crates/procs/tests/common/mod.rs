//! Helpers shared by the integration tests and `fake_harness` (which
//! includes this file with `#[path]`). They only read `/proc`.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Live processes that have `arg` as one of their argv entries. Zombies have
/// an empty cmdline, so they never match.
pub fn pids_with_arg(arg: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
        })
        .collect()
}

/// Polls `f` every 10 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    for _ in 0..100_000 {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// (state, ppid) from `/proc/<pid>/stat`, or None once the pid is gone.
pub fn state_and_ppid(pid: i32) -> Option<(char, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = text.get(text.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?))
}

/// Exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    state_and_ppid(pid).is_some_and(|(s, _)| s != 'Z' && s != 'X')
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Digits unique to this test process and call, for recognisable `sleep`
/// arguments like `300.<nonce>`.
pub fn nonce() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_micros()).unwrap_or(0);
    format!("{}{:06}{:03}", std::process::id(), nanos, NEXT.fetch_add(1, Ordering::Relaxed) % 1000)
}

/// The `fake_harness` example, a test fixture rather than a binary the crate ships: built on first
/// use into the target folder of the running test (a no-op after `cargo test`, which builds the
/// examples), and its path returned.
pub fn fake_harness() -> &'static std::path::Path {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        // target/<profile>/deps/<test binary>
        let profile_dir =
            exe.parent().and_then(std::path::Path::parent).expect("a test binary sits in target/<profile>/deps");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let target = profile_dir.parent().expect("target/<profile>");
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--package", "harness-procs", "--example", "fake_harness", "--profile", profile])
            .env("CARGO_TARGET_DIR", target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo could not build the fake_harness example");
        profile_dir.join("examples").join("fake_harness")
    })
}
