//! Mutation testing of the project's file formats: scenario, flow, recording, snapshot and
//! `harness.yaml` files of the base fixture are mutated (fixed seed) and the real binary is run on
//! each. Whatever the input, the harness must not panic or hang, must exit 0, 1, 2 or 3, and every
//! configuration error (exit 2) must be located (`--> file:line:col`) or, when it is about a whole
//! file, name the file.
//!
//! `HARNESS_FUZZ_CASES=2000 cargo test --test fuzz` runs a longer campaign (default 48 cases);
//! `HARNESS_FUZZ_SEED` picks another seed.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::copy_tree;

/// The files mutated, relative to the fixture's root.
const TARGETS: &[&str] = &[
    "scenarios/orders/simple.yaml",
    "flows/orders.yaml",
    "mocks/shopify/2025-01/webhooks/order.json",
    "snapshots/orders/simple.netsuite.snap",
    "harness.yaml",
    "mocks/netsuite/2025.1/system.yaml",
];

/// Text that often breaks parsers: YAML and JSON syntax, control characters, odd Unicode.
const INSERTS: &[&str] = &[
    ":",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "- ",
    "\n",
    "\t",
    "&a",
    "*a",
    "!!str ",
    "%",
    "\u{0}",
    "\u{7}",
    "é",
    "\u{202e}",
    "#",
    ",",
    "~",
    "{{",
    "{.x}",
    "../",
    "/etc/passwd",
    "99999999999999999999",
    "-1",
    "null",
    "true",
    "1e999",
    "\u{feff}",
    "\r",
];

/// A small xorshift generator: the same cases on every run and machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(text: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = rng.below(chars.len() + 1);
    let s = |v: &[char]| v.iter().collect::<String>();
    match rng.below(6) {
        0 => format!("{}{}{}", s(&chars[..at]), INSERTS[rng.below(INSERTS.len())], s(&chars[at..])),
        1 => {
            let end = (at + 1 + rng.below(16)).min(chars.len());
            format!("{}{}", s(&chars[..at]), s(&chars[end.max(at)..]))
        }
        2 => s(&chars[..at]),
        3 => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = rng.below(lines.len());
                lines.insert(rng.below(lines.len() + 1), lines[i]);
            }
            lines.join("\n")
        }
        4 => {
            let mut lines: Vec<&str> = text.lines().collect();
            if lines.len() > 1 {
                let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                lines.swap(i, j);
            }
            lines.join("\n")
        }
        _ => {
            // Re-indent one line, the mistake YAML punishes most.
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            if !lines.is_empty() {
                let i = rng.below(lines.len());
                lines[i] = format!("{}{}", " ".repeat(rng.below(5)), lines[i].trim_start());
            }
            lines.join("\n")
        }
    }
}

fn unlocated(stderr: &str) -> Vec<String> {
    let located = regex::Regex::new(r"--> [^\s:]+:\d+:\d+").unwrap();
    let names_file = regex::Regex::new(r"[\w./-]+\.(yaml|yml|json|snap|csv)\b").unwrap();
    let mut blocks: Vec<String> = Vec::new();
    for line in stderr.lines() {
        match line.strip_prefix("error: ") {
            Some(_) => blocks.push(format!("{line}\n")),
            None => {
                if let Some(b) = blocks.last_mut() {
                    b.push_str(line);
                    b.push('\n');
                }
            }
        }
    }
    // A message about a whole file names it in its first line or as its `-->` line.
    blocks
        .into_iter()
        .filter(|b| {
            !b.contains("problem(s) in the project's files")
                && !located.is_match(b)
                && !b.lines().take(2).any(|l| names_file.is_match(l))
        })
        .collect()
}

#[test]
fn mutated_project_files_never_panic_hang_or_go_unlocated() {
    let cases: usize = std::env::var("HARNESS_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(48);
    let seed: u64 =
        std::env::var("HARNESS_FUZZ_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(0x5eed_1234_abcd_0042);
    let base = common::repo().join("tests/fixtures/base");
    let mut rng = Rng(seed | 1);
    let mut problems = Vec::new();
    let started = Instant::now();
    for case in 0..cases {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&base, dir.path());
        let target = TARGETS[rng.below(TARGETS.len())];
        let path = dir.path().join(target);
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        for _ in 0..=rng.below(3) {
            text = mutate(&text, &mut rng);
        }
        std::fs::write(&path, &text).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["run", "--color", "never", "-j", "2"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut { stderr }, &mut s);
            s
        });
        // Bounded: a case that runs past the fixture's own scenario limits is a hang.
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stderr = reader.join().unwrap_or_default();
        let what = format!("case {case}: {target} mutated to:\n{text}\n--- stderr:\n{stderr}");
        match status.and_then(|s| s.code()) {
            None => problems.push(format!("hung or killed — {what}")),
            Some(_) if stderr.contains("panicked") => problems.push(format!("panicked — {what}")),
            Some(2) => {
                let bad = unlocated(&stderr);
                if !bad.is_empty() {
                    problems.push(format!("unlocated: {bad:?} — {what}"));
                }
            }
            Some(0..=3) => {}
            Some(code) => problems.push(format!("exit {code} — {what}")),
        }
    }
    println!("{cases} mutated projects in {:?}", started.elapsed());
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n=====\n"));
}

/// Runaway expressions — recursion without end, values nested far too deep and then printed,
/// compared, walked or parsed — fail their own case, naming the expression; the run goes on to
/// its other cases and writes every report.
#[test]
fn deep_nesting_and_recursion_fail_their_case_and_the_run_goes_on() {
    let runaways = [
        "def f: 1 + f; f",
        "reduce range(200000) as $i (0; [.]) | tojson",
        "reduce range(200000) as $i (0; [.]) | . == .",
        "reduce range(100000) as $i (0; {a: .}) | walk(.)",
        "[range(100000) | \"[\"] | add | fromjson",
        "reduce range(200000) as $i (0; [.])",
    ];
    for expression in runaways {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&common::repo().join("tests/fixtures/base"), dir.path());
        let flow = dir.path().join("flows/orders.yaml");
        let text = std::fs::read_to_string(&flow).unwrap();
        let runaway = format!("memo: 'if .line_items | length > 1 then ({expression}) else empty end'");
        std::fs::write(&flow, text.replace("memo: .note // empty", &runaway)).unwrap();
        let out = common::harness(
            dir.path(),
            &["run", "--color", "never", "-j", "2", "--junit", "junit.xml", "--json", "report.json"],
        );
        let shown = format!("{expression}:\n{}{}", out.stdout, out.stderr);
        assert_eq!(out.code, 1, "{shown}");
        assert!(out.stdout.contains("FAIL") && out.stdout.contains("memo"), "{shown}");
        let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
        assert_eq!(junit.matches("<testcase ").count(), 2, "{shown}\n{junit}");
        assert!(dir.path().join("report.json").is_file(), "{shown}");
    }
}
