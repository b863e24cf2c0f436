//! What the benches start from: a project holding the bundled flows, mocks and settings, and the
//! generated scenarios the throughput and scale benches run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Wall clock, peak RSS (KiB) and exit code of the real `harness ARGS` run in `root`.
#[allow(
    dead_code,
    clippy::zombie_processes,
    reason = "for the benches that run the binary; reaped by wait4, which also gives its peak RSS"
)]
pub(crate) fn measure(root: &Path, args: &[&str]) -> (Duration, u64, i32) {
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .args(["--color", "never"])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start harness");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own unwaited child; status and usage are live locals.
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert!(
        waited > 0 && libc::WIFEXITED(status),
        "harness {args:?} in {} did not exit (status {status})",
        root.display()
    );
    (wall, usage.ru_maxrss as u64, libc::WEXITSTATUS(status))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Copies the repository's `flows/`, `mocks/` and `harness.yaml` into `root`.
pub(crate) fn bundled_project(root: &Path) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    copy_tree(&repo.join("flows"), &root.join("flows"));
    copy_tree(&repo.join("mocks"), &root.join("mocks"));
    std::fs::copy(repo.join("harness.yaml"), root.join("harness.yaml")).unwrap();
}

const ORDERS: [(&str, &str); 8] = [
    ("simple-order", "customer-found"),
    ("several-lines-discount", "customer-missing"),
    ("free-shipping", "customer-found"),
    ("multi-currency", "customer-missing"),
    ("gift-card-payment", "customer-found"),
    ("non-ascii-names", "customer-missing"),
    ("norwegian-address", "customer-missing"),
    ("simple-order", "customer-missing"),
];

/// The bundled project with `n` scenarios of `shopify-order-to-netsuite` in `scenarios/bench/`,
/// cycling through the recorded orders and both customer lookups.
#[allow(dead_code, reason = "the service bench has its own scenarios")]
pub(crate) fn generate(root: &Path, n: usize) {
    bundled_project(root);
    let dir = root.join("scenarios/bench");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..n {
        let (order, stub) = ORDERS[i % ORDERS.len()];
        let text = format!(
            "description: generated bench case {i}\nflow: shopify-order-to-netsuite\nsystems:\n  shopify: 2026-01\n  netsuite: \"2026.2\"\ntrigger:\n  file: webhooks/orders-create/{order}.json\nmocks:\n  netsuite:\n    use: [{stub}]\n"
        );
        std::fs::write(dir.join(format!("case-{i:04}.yaml")), text).unwrap();
    }
}
