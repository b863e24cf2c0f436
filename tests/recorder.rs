//! The recording proxy as a user runs it: a recorded draft scenario runs as written, and a
//! recorder killed with `kill -9` while writing leaves no temporary file. The upstream is a
//! minimal HTTP server on loopback answering every call with the same JSON.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use common::recorder::{WAIT, record};
use common::{harness, project};

/// An upstream on loopback answering every request `200` with a NetSuite-like query answer;
/// returns its address. The thread ends with the test process.
fn upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    addr
}

fn answer(mut stream: std::net::TcpStream) {
    let _ = stream.set_read_timeout(Some(WAIT));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    // One request per connection: the head, then a body of Content-Length bytes.
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let json = r#"{"links":[],"count":1,"hasMore":false,"items":[{"links":[],"id":"77"}],"offset":0,"totalResults":1}"#;
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
}

/// `POST <url>/services/rest/query/v1/suiteql` through the recorder, by hand (one connection).
fn query(url: &str) -> bool {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return false };
    let _ = stream.set_read_timeout(Some(WAIT));
    let body = r#"{"q": "SELECT id FROM customer WHERE email = 'sam.cole@example.com'"}"#;
    let sent = write!(
        stream,
        "POST /services/rest/query/v1/suiteql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nPrefer: transient\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut answer = String::new();
    sent.is_ok() && stream.read_to_string(&mut answer).is_ok() && answer.starts_with("HTTP/1.1 200")
}

/// The project's harness.yaml without default versions: a draft must name them itself.
fn without_default_versions(dir: &Path) {
    std::fs::write(dir.join("harness.yaml"), "timeout: 10s\n").unwrap();
}

#[test]
fn a_recorded_draft_scenario_runs_as_written() {
    let p = project(&["fixtures/recording"]);
    without_default_versions(p.path());
    let up = format!("http://{}", upstream());
    let draft = ["--scenario", "orders/recorded", "--trigger", "webhooks/order.json"];
    let mut rec = record(p.path(), "netsuite", "2025.1", &up, "recorded", &draft);
    assert!(query(&rec.url), "the call went through");
    let line = rec.next_line();
    assert!(line.contains("recorded/"), "{line}");
    rec.stop();
    let draft = std::fs::read_to_string(p.path().join("scenarios/orders/recorded.yaml")).unwrap();
    assert!(
        draft.contains("  netsuite: \"2025.1\"\n") && draft.contains("  shopify: \"2025-01\"\n"),
        "every system the flow involves has its version:\n{draft}"
    );
    let run = harness(p.path(), &["run", "--color", "never", "scenarios/orders/recorded.yaml"]);
    assert_ne!(run.code, 2, "the draft runs as written:\n{draft}\n{}{}", run.stdout, run.stderr);
}

/// Files in `dir` and below whose name says they are temporary or unfinished.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            out.extend(leftovers(&path));
        } else if name.contains(".tmp") || name.starts_with(".tmp") || name.ends_with('~') || name.contains(".partial")
        {
            out.push(path.display().to_string());
        }
    }
    out
}

#[test]
fn a_recorder_killed_while_writing_leaves_no_temporary_file() {
    let p = project(&["fixtures/recording"]);
    let up = format!("http://{}", upstream());
    for trial in 0..10 {
        let stubs = format!("kill{trial}");
        let mut rec = record(p.path(), "netsuite", "2025.1", &up, &stubs, &[]);
        // A few calls recorded (each writes a recording and the draft stub set), then SIGKILL
        // while the next ones are being written.
        for _ in 0..3 {
            query(&rec.url);
        }
        let url = rec.url.clone();
        let busy = std::thread::spawn(move || {
            (0..20).for_each(|_| {
                query(&url);
            })
        });
        std::thread::sleep(Duration::from_millis(5 * trial));
        rec.child.kill().unwrap();
        let _ = rec.child.wait();
        let _ = busy.join();
        let left = leftovers(p.path());
        assert!(left.is_empty(), "trial {trial}: {left:?}");
    }
}
