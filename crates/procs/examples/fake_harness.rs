//! Plays the harness for the integration tests: a test fixture, built by them (see
//! `tests/common/mod.rs`), never installed with the crate.
//!
//! * `fake_harness __guardian <prefix>`: the hidden guardian subcommand, as
//!   the real harness must dispatch it (first thing in `main`).
//! * `fake_harness run <run-id> <nonce> [--no-guardian] [--clean]`: becomes a
//!   subreaper, starts a guardian (re-executing itself), spawns one tagged
//!   shell program that double-forks `setsid sleep 300.<nonce>` and then
//!   execs `sleep 301.<nonce>`, prints `READY ...` once both run, and waits
//!   (at most 120 s). With `--clean` it drops the guardian and exits instead.
//! * `fake_harness netns-probe [--with-thread]`: isolates the network and
//!   checks what works inside (loopback) and what fails (anything else).

#[cfg(target_os = "linux")]
#[path = "../tests/common/mod.rs"]
mod common;

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("fake_harness only runs on Linux");
    std::process::exit(2)
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
    use std::time::{Duration, Instant};

    pub(super) fn main() {
        let args: Vec<String> = std::env::args().collect();
        let rest = args.get(2..).unwrap_or(&[]);
        let code = match args.get(1).map(String::as_str) {
            Some(harness_procs::GUARDIAN_ARG) => match args.get(2) {
                Some(prefix) => harness_procs::guardian_main(prefix, args.get(3).map(std::path::Path::new)),
                None => 2,
            },
            Some("run") => run(rest),
            Some("netns-probe") => netns_probe(rest),
            _ => {
                eprintln!(
                    "usage: fake_harness (run <run-id> <nonce> [--no-guardian] [--clean] | netns-probe [--with-thread])"
                );
                2
            }
        };
        std::process::exit(code)
    }

    fn run(args: &[String]) -> i32 {
        let (Some(run_id), Some(nonce)) = (args.first(), args.get(1)) else {
            eprintln!("run needs <run-id> <nonce>");
            return 2;
        };
        let flag = |f: &str| args.iter().any(|a| a == f);
        if let Err(e) = harness_procs::become_subreaper() {
            eprintln!("fake_harness: cannot become a subreaper: {e}");
            return 1;
        }
        let guardian = if flag("--no-guardian") {
            None
        } else {
            // /proc/self/exe still works if the binary was replaced meanwhile.
            // `--scratch=<dir>`: a folder the guardian removes when this process ends.
            let scratch = args.iter().find_map(|a| a.strip_prefix("--scratch=")).map(std::path::Path::new);
            let started = harness_procs::start_guardian(run_id, scratch, std::path::Path::new("/proc/self/exe"));
            match started {
                Ok(g) => Some(g),
                Err(e) => {
                    eprintln!("fake_harness: cannot start the guardian: {e}");
                    return 1;
                }
            }
        };
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("fake_harness: no runtime: {e}");
                return 1;
            }
        };
        match runtime.block_on(run_case(run_id, nonce, guardian, flag("--clean"))) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("fake_harness: {e}");
                1
            }
        }
    }

    async fn run_case(
        run_id: &str,
        nonce: &str,
        guardian: Option<harness_procs::Guardian>,
        clean: bool,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let spawner = harness_procs::Spawner::start()?;
        let tag = harness_procs::Tag::new(run_id, "case1")?;
        let daemon_arg = format!("300.{nonce}");
        let program_arg = format!("301.{nonce}");
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(format!("( setsid sleep {daemon_arg} & ) ; exec sleep {program_arg}"))
            .env_clear()
            .envs(harness_procs::minimal_env(&[]))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        let mut child = spawner.spawn(cmd, &tag).await?;
        let running = || {
            !crate::common::pids_with_arg(&daemon_arg).is_empty()
                && !crate::common::pids_with_arg(&program_arg).is_empty()
        };
        if !crate::common::wait_until(Duration::from_secs(5), running) {
            return Err("the program's daemon did not start within 5 s".into());
        }
        let guardian_pid = guardian.as_ref().map_or("-".to_owned(), |g| g.id().to_string());
        let mut out = std::io::stdout().lock();
        writeln!(out, "READY harness={} guardian={guardian_pid}", std::process::id())?;
        out.flush()?;
        drop(out);
        if clean {
            drop(guardian); // closes the pipe: the guardian kills the run's processes
            let _ = child.wait().await;
            return Ok(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(120), child.wait()).await;
        drop(guardian);
        Ok(())
    }

    /// Exit codes: 0 all checks passed, 3 isolation unavailable (reason printed),
    /// 4 isolation claimed but not verified (nothing was sent), 5 a check failed.
    fn netns_probe(args: &[String]) -> i32 {
        // Only for the test that isolation refuses a multi-threaded process.
        let _extra_thread = args
            .iter()
            .any(|a| a == "--with-thread")
            .then(|| std::thread::spawn(|| std::thread::park_timeout(Duration::from_secs(10))));
        let ns = |kind: &str| std::fs::read_link(format!("/proc/self/ns/{kind}")).map(|p| p.display().to_string());
        let (net_before, user_before) = (ns("net"), ns("user"));
        if let Err(e) = harness_procs::isolate_network() {
            println!("UNAVAILABLE: {e}");
            return 3;
        }
        let (net_after, user_after) = (ns("net"), ns("user"));
        // Refuse to try any non-loopback address unless we are provably in a
        // namespace of our own with no route at all.
        let routes = std::fs::read_to_string("/proc/net/route").map(|t| t.lines().count().saturating_sub(1));
        let links: Vec<String> = std::fs::read_to_string("/proc/net/dev")
            .map(|t| t.lines().skip(2).filter_map(|l| Some(l.split(':').next()?.trim().to_owned())).collect())
            .unwrap_or_default();
        match (&net_before, &net_after, &routes) {
            (Ok(b), Ok(a), Ok(0)) if a != b && links == ["lo"] => {
                println!("ok: new network namespace {b} -> {a}, links {links:?}, no IPv4 routes");
            }
            _ => {
                println!(
                    "NOT VERIFIED: net {net_before:?} -> {net_after:?}, routes {routes:?}, links {links:?}; not testing"
                );
                return 4;
            }
        }
        let via_userns = matches!((&user_before, &user_after), (Ok(b), Ok(a)) if a != b);
        // SAFETY: getuid/geteuid have no preconditions.
        let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
        println!("ok: via user namespace: {via_userns}; uid {uid} euid {euid}");

        let mut failed = false;
        let mut check = |what: &str, result: Result<String, String>| match result {
            Ok(detail) => println!("ok: {what}: {detail}"),
            Err(detail) => {
                println!("FAIL: {what}: {detail}");
                failed = true;
            }
        };
        check("TCP over 127.0.0.1", loopback_round_trip(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
        match loopback_round_trip(SocketAddr::from((Ipv6Addr::LOCALHOST, 0))) {
            Ok(d) => println!("ok: TCP over [::1]: {d}"),
            Err(d) => println!("note: TCP over [::1] unavailable: {d}"),
        }
        // TEST-NET-1 (RFC 5737), assembled here so no address literal is needed.
        let test_net: [u8; 4] = [192, 0, 2, 1];
        let outside = SocketAddr::from((Ipv4Addr::from(test_net), 9));
        let started = Instant::now();
        let tcp = TcpStream::connect_timeout(&outside, Duration::from_secs(2));
        check("TCP to TEST-NET-1 fails at once with ENETUNREACH", expect_unreachable(tcp.map(|_| ()), started));
        let started = Instant::now();
        let udp = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).and_then(|s| s.send_to(b"x", outside).map(|_| ()));
        check("UDP to TEST-NET-1 fails with ENETUNREACH", expect_unreachable(udp, started));
        let child_ns = std::process::Command::new("readlink").arg("/proc/self/ns/net").output();
        check(
            "a child process shares the namespace",
            match (&child_ns, &net_after) {
                (Ok(o), Ok(mine)) if String::from_utf8_lossy(&o.stdout).trim() == mine => Ok(mine.clone()),
                _ => Err(format!("{child_ns:?}")),
            },
        );
        if failed {
            return 5;
        }
        println!("PASS");
        0
    }

    fn loopback_round_trip(bind: SocketAddr) -> Result<String, String> {
        let listener = TcpListener::bind(bind).map_err(|e| format!("bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut client =
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| format!("connect: {e}"))?;
        let (mut server, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        client.write_all(b"ping").map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        server.set_read_timeout(Some(Duration::from_secs(2))).map_err(|e| e.to_string())?;
        server.read_exact(&mut buf).map_err(|e| format!("read: {e}"))?;
        if &buf == b"ping" { Ok(format!("round trip via {addr}")) } else { Err(format!("got {buf:?}")) }
    }

    fn expect_unreachable(result: std::io::Result<()>, started: Instant) -> Result<String, String> {
        let took = started.elapsed();
        match result {
            Err(e) if e.raw_os_error() == Some(libc::ENETUNREACH) && took < Duration::from_millis(500) => {
                Ok(format!("{e} after {took:?}"))
            }
            Err(e) => Err(format!("{e} after {took:?}")),
            Ok(()) => Err("it worked".to_owned()),
        }
    }
}
