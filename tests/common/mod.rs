//! What the end-to-end test files share: fixture projects in temporary folders and the real
//! binary run on them.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod recorder;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else if kind.is_symlink() {
            // Kept a link (bad-input cases plant links leading outside the project).
            let _ = std::fs::remove_file(&target);
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
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

/// `harness impact --system SYSTEM --from FROM --to TO` and `more`, on the bundled project's day.
pub fn impact(dir: &Path, system: &str, from: &str, to: &str, more: &[&str]) -> Output {
    let mut args = vec!["impact", "--system", system, "--from", from, "--to", to];
    args.extend_from_slice(more);
    harness_on(BUNDLED_DAY, dir, &args)
}

/// Every finding of an impact JSON report, with the flow it is of.
pub fn impact_findings(report: &serde_json::Value) -> Vec<(&str, &serde_json::Value)> {
    let flows = report["flows"].as_array().unwrap();
    flows
        .iter()
        .flat_map(|f| {
            let scenarios = f["scenarios"].as_array().unwrap();
            scenarios.iter().flat_map(move |s| {
                s["findings"].as_array().unwrap().iter().map(move |x| (f["flow"].as_str().unwrap(), x))
            })
        })
        .collect()
}

/// With extra environment variables (`HARNESS_NOW` among them overrides the fixtures' day).
/// `harness serve scenarios/orders/simple.yaml` in `dir` with mocks from `port_base` on, its
/// standard output piped (it prints each mock's URL first).
/// The service fixture in its `late` mode as flow `svc-late` — its despatch comes 2 s after its
/// sales order, long after its 300 ms settle window — with an empty `scenarios/late/`.
pub fn late_service_project() -> tempfile::TempDir {
    const FLOW: &str = "description: Fixture service (late) whose despatch comes 2 s after its sales order
trigger: {system: shopify, event: orders/create, key: .name}
targets: [netsuite, peoplevox]
service:
  command: [python3, services/service.py, late]
  deliver: {path: /webhooks/orders}
  settle: 300ms
";
    let p = project(&["fixtures/services"]);
    std::fs::write(p.path().join("flows/svc-late.yaml"), FLOW).unwrap();
    std::fs::create_dir_all(p.path().join("scenarios/late")).unwrap();
    p
}

pub fn serve_simple_order(dir: &Path, port_base: u16) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["serve", "scenarios/orders/simple.yaml", "--port-base", &port_base.to_string()])
        .current_dir(dir)
        .env("HARNESS_NOW", FIXTURES_DAY)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

pub fn harness_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_harness"));
    // The CI's own variables would change what a run selects and where its summary goes.
    for name in CI_VARIABLES {
        command.env_remove(name);
    }
    let out = command
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

/// What `--partition auto` and the job summary read.
pub const CI_VARIABLES: [&str; 13] = [
    "GITHUB_STEP_SUMMARY",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "CI_NODE_INDEX",
    "CI_NODE_TOTAL",
    "BUILDKITE_PARALLEL_JOB",
    "BUILDKITE_PARALLEL_JOB_COUNT",
    "CIRCLE_NODE_INDEX",
    "CIRCLE_NODE_TOTAL",
    "TEST_SHARD_INDEX",
    "TEST_TOTAL_SHARDS",
    "TEST_SHARD_STATUS_FILE",
];

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

/// The JUnit report at `path` validates against the schema the dashboards' readers follow.
pub fn xmllint_validates(path: &Path) {
    let xsd = repo().join("tests/junit/junit-10.xsd");
    match Command::new("xmllint").args(["--noout", "--schema"]).arg(&xsd).arg(path).output() {
        Ok(out) => {
            assert!(out.status.success(), "JUnit report does not validate:\n{}", String::from_utf8_lossy(&out.stderr))
        }
        // .ci/run installs xmllint; a developer machine without it still runs the rest.
        Err(_) => eprintln!("xmllint not installed: JUnit schema validation skipped"),
    }
}

/// A CA made for one test and a TLS acceptor presenting a certificate it signs for `names`: the
/// acceptor, and the CA in PEM (for `--upstream-ca` or `SSL_CERT_FILE`).
pub fn test_tls(names: &[&str]) -> (tokio_rustls::TlsAcceptor, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    (tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(tls)), ca.pem())
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
