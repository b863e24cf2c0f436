//! End-to-end: the mocks the real binary serves (`harness serve`) keep answering real requests
//! while trickling clients (slowloris) hold connections past the mocks' connection limit, and a
//! client that takes too long over its request's head is cut off. Loopback only; every loop here
//! is bounded in count and time.

mod common;

use std::io::{BufRead, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::project;

/// A base port with the next one free too (the scenario's two mocks listen on both).
fn two_free_ports() -> u16 {
    for _ in 0..50 {
        let Ok(first) = TcpListener::bind("127.0.0.1:0") else { continue };
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two free ports in a row on 127.0.0.1");
}

/// A client sending a request's head a line at a time and never finishing it.
struct Trickler(TcpStream);

impl Trickler {
    fn open(addr: &str) -> Trickler {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        s.write_all(b"GET /services/rest/record/v1/customer/77 HTTP/1.1\r\nhost: x\r\n").unwrap();
        Trickler(s)
    }

    /// One more header line; whether the mock still holds the connection open.
    fn trickle(&mut self) -> bool {
        if self.0.write_all(b"x-slow: 1\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 512];
        loop {
            match self.0.read(&mut buf) {
                Ok(0) => return false,
                // A `408` or the like before the close: read on to the close.
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return true,
                Err(_) => return false,
            }
        }
    }
}

/// A whole request; the status line of its answer.
fn real_request(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"GET /services/rest/record/v1/customer/77 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string()
}

#[test]
fn trickling_clients_neither_starve_real_requests_nor_keep_their_connections() {
    let p = project(&[]);
    // A low limit, so that a few dozen trickling clients are well past it.
    std::fs::write(p.path().join("harness.yaml"), "mocks: {max_connections: 8}\n").unwrap();
    let base = two_free_ports();
    let mut child = common::serve_simple_order(p.path(), base);
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut netsuite, mut shopify) = (None, None);
    for line in lines.by_ref().take(60) {
        let line = line.unwrap();
        let line = line.trim();
        let url = |prefix: &str| line.strip_prefix(prefix).map(|u| u.trim_start_matches("http://").to_string());
        netsuite = netsuite.or_else(|| url("HARNESS_NETSUITE_URL="));
        shopify = shopify.or_else(|| url("HARNESS_SHOPIFY_URL="));
        if netsuite.is_some() && shopify.is_some() {
            break;
        }
    }
    let (Some(netsuite), Some(shopify)) = (netsuite, shopify) else { panic!("serve printed no URL of its mocks") };
    // What the mocks print of each request is read away, so the pipe never fills.
    let printer = std::thread::spawn(move || lines.map_while(Result::ok).filter(|l| l.contains(" → ")).count());

    // Three times the limit trickling at one mock; they stay quiet long enough to give way.
    let mut trickling: Vec<Trickler> = (0..24).map(|_| Trickler::open(&netsuite)).collect();
    std::thread::sleep(Duration::from_millis(1500));
    for n in 0..4 {
        for t in &mut trickling {
            t.trickle();
        }
        let status = real_request(&netsuite);
        assert!(status.starts_with("HTTP/1.1 "), "real request {n} got no answer: {status:?}");
        assert!(!status.contains(" 503"), "real request {n} was refused while clients trickled: {status:?}");
    }

    // Below the other mock's limit nothing is evicted: only the time limit on a request's head
    // can close this one, which keeps trickling all along (for at most 30 s).
    let mut slow = Trickler::open(&shopify);
    let started = Instant::now();
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(30) {
        if !slow.trickle() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    assert!(closed, "a client trickling its request's head kept its connection for 30 s");

    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM is how serve ends");
    assert!(printer.join().unwrap() >= 4, "the mock printed the real requests it answered");
}
