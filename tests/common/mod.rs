//! What the end-to-end test files share: fixture projects in temporary folders and the real
//! binary run on them.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary project: the base fixture with `overlays` (folders under tests/) copied on top.
pub fn project(overlays: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("tests/fixtures/base"), dir.path());
    for o in overlays {
        copy_tree(&repo().join("tests").join(o), dir.path());
    }
    dir
}

/// A copy of the project's own flows, recordings, scenarios and snapshots.
pub fn bundled_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["flows", "mocks", "scenarios", "snapshots"] {
        std::fs::create_dir_all(dir.path().join(part)).unwrap();
        copy_tree(&repo().join(part), &dir.path().join(part));
    }
    std::fs::copy(repo().join("harness.yaml"), dir.path().join("harness.yaml")).unwrap();
    dir
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The day the fixture projects were written on: their Shopify 2025-01 was still served as itself.
pub const FIXTURES_DAY: &str = "2025-06-01";
/// The day the bundled project's scenarios are pinned to (support windows are judged then).
pub const BUNDLED_DAY: &str = "2026-12-01";

/// The binary run in `dir` on the fixtures' day, its output with the folder's path replaced by
/// `[project]`.
pub fn harness(dir: &Path, args: &[&str]) -> Output {
    harness_with(dir, args, &[])
}

/// The binary run as if on `day`: every support window (fall-forward of past versions) is judged
/// then, never by the machine's clock.
pub fn harness_on(day: &str, dir: &Path, args: &[&str]) -> Output {
    harness_with(dir, args, &[("HARNESS_NOW", day)])
}

/// With extra environment variables (`HARNESS_NOW` among them overrides the fixtures' day).
pub fn harness_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env("HARNESS_NOW", FIXTURES_DAY)
        .envs(env.iter().copied())
        .output()
        .expect("the harness binary runs");
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&dir.display().to_string(), "[project]");
    Output { code: out.status.code().unwrap_or(-1), stdout: clean(&out.stdout), stderr: clean(&out.stderr) }
}

/// Whether `program` can be run here (an interpreter a test needs).
pub fn available(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// JUnit with the run-dependent `time` attributes removed.
pub fn junit_without_times(path: &Path) -> String {
    let xml = std::fs::read_to_string(path).unwrap();
    let re = regex::Regex::new(r#" time="[0-9.]+""#).unwrap();
    re.replace_all(&xml, "").into_owned()
}

/// Polls `f` every 20 ms until it holds or `limit` passes.
pub fn within(limit: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    for _ in 0..10_000 {
        if f() {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}
