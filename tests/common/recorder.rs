//! `harness record …` running in the background, what it prints read line by line.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// How long a recorder may take to say something.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running recorder and the proxy URL it printed.
pub struct Recorder {
    pub child: Child,
    pub url: String,
    lines: Receiver<String>,
    /// Every line it printed so far.
    pub seen: Vec<String>,
}

/// `harness <args>` in `dir` with `env` added, once it printed its address.
pub fn recorder(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Recorder {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = match lines.recv_timeout(WAIT) {
        Ok(l) => l,
        Err(e) => {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("the recorder printed no address ({e:?}): {}", String::from_utf8_lossy(&out.stderr));
        }
    };
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {first}"))
        .to_string();
    Recorder { child, url, lines, seen: vec![first] }
}

/// `harness record --system … --version … --upstream … --stubs …` and `more` in `dir`.
pub fn record(dir: &Path, system: &str, version: &str, upstream: &str, stubs: &str, more: &[&str]) -> Recorder {
    let args = ["record", "--system", system, "--version", version, "--upstream", upstream, "--stubs", stubs];
    recorder(dir, &[&args[..], more].concat(), &[])
}

impl Recorder {
    /// Waits for the next line that says something was recorded (or refused).
    pub fn next_line(&mut self) -> String {
        let line = self
            .lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no line from the recorder ({e:?}); so far: {:?}", self.seen));
        self.seen.push(line.clone());
        line
    }

    /// Ctrl-C, then everything it printed.
    pub fn stop(mut self) -> String {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "the recorder did not stop on Ctrl-C");
            std::thread::sleep(Duration::from_millis(50));
        };
        // The rest of its output, until it closes standard output (bounded: it has exited).
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        assert!(status.success(), "{status}: {:?}", self.seen);
        self.seen.join("\n")
    }
}
