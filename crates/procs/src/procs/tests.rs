use super::*;

fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn minimal_env_keeps_only_the_allow_list_and_passed_names() {
    let input = vars(&[
        ("PATH", "/usr/bin"),
        ("HOME", "/root"),
        ("GITHUB_TOKEN", "secret"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("LC_ALL", "C.UTF-8"),
        ("TERM", "xterm"),
        ("MYAPP_PORT", "1"),
        ("MYAPP_MODE", "x"),
        ("MYAPPX", "no"),
        ("EXTRA", "yes"),
        ("EXTRA2", "no"),
        (TAG_VAR, "outer/run"),
        ("TMPDIR", "/tmp"),
    ]);
    let pass = vec!["MYAPP_*".to_owned(), "EXTRA".to_owned()];
    let kept = filter_env(input, &pass);
    let names: Vec<&str> = kept.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["EXTRA", "HOME", "LC_ALL", "MYAPP_MODE", "MYAPP_PORT", "PATH", "TMPDIR"]);
}

#[test]
fn star_alone_passes_everything_but_the_tag() {
    let kept = filter_env(vars(&[("A", "1"), ("B", "2"), (TAG_VAR, "x/y")]), &["*".to_owned()]);
    assert_eq!(kept, vars(&[("A", "1"), ("B", "2")]));
}

#[test]
fn star_inside_a_name_is_literal() {
    assert!(env_pattern_matches("A*B", "A*B"));
    assert!(!env_pattern_matches("A*B", "AxB"));
    assert!(env_pattern_matches("A*", "A"));
}

#[test]
fn minimal_env_reads_the_real_environment() {
    // PATH is set for every test run; secrets named like this are not kept.
    let kept = minimal_env(&[]);
    assert!(kept.iter().all(|(k, _)| k == "PATH" || ENV_KEEP_EXACT.contains(&k.as_str()) || k.starts_with("LC_")));
}

#[test]
fn tags_are_validated() {
    let tag = Tag::new("r1", "case a").expect("valid");
    assert_eq!(tag.as_str(), "r1/case a");
    assert_eq!(tag.run_id(), "r1");
    assert_eq!(tag.to_string(), "r1/case a");
    assert_eq!(Tag::new("", "c"), Err(TagError::Empty { what: "run id" }));
    assert!(matches!(Tag::new("r", "a/b"), Err(TagError::BadChar { what: "case id", .. })));
    assert!(matches!(Tag::new("r\0", "a"), Err(TagError::BadChar { what: "run id", .. })));
}

#[test]
fn run_ids_differ() {
    assert_ne!(unique_run_id(), unique_run_id());
}

#[test]
fn tag_prefixes_match_on_slash_boundaries() {
    assert!(tag_matches(b"r1/c3", b"r1"));
    assert!(tag_matches(b"r1/c3", b"r1/"));
    assert!(tag_matches(b"r1/c3", b"r1/c3"));
    assert!(!tag_matches(b"r12/c3", b"r1"));
    assert!(!tag_matches(b"r1/c30", b"r1/c3"));
    assert!(!tag_matches(b"r1/c3", b""));
    assert!(!tag_matches(b"r", b"r1"));
}

#[test]
fn environ_blocks_are_searched_entry_by_entry() {
    let env = b"PATH=/bin\0HARNESS_PROCESS_TAGX=r1/c\0HARNESS_PROCESS_TAG=r2/c\0";
    assert!(environ_has_tag(env, b"r2"));
    assert!(!environ_has_tag(env, b"r1"));
    assert!(environ_has_tag(b"HARNESS_PROCESS_TAG=a/b\0HARNESS_PROCESS_TAG=r/c", b"r"));
    assert!(!environ_has_tag(b"", b"r"));
    assert!(!environ_has_tag(b"X=HARNESS_PROCESS_TAG=r/c\0", b"r"));
}

#[test]
fn guardian_ready_line_is_checked() {
    assert!(check_guardian_ready(GUARDIAN_READY).is_ok());
    assert!(check_guardian_ready(b"usage: harness\n").is_err());
}

#[test]
fn eof_ends_the_wait_and_data_is_ignored() {
    let mut input: &[u8] = b"some bytes that are ignored";
    wait_for_eof(&mut input);
    assert!(input.is_empty());
}

/// `THP_enabled` of a process's status: 1 unless huge pages are turned off for it.
#[cfg(target_os = "linux")]
fn huge_pages_allowed(status: &str) -> Option<bool> {
    status.lines().find_map(|l| l.strip_prefix("THP_enabled:")).map(|v| v.trim() == "1")
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn huge_pages_are_off_for_the_harness_and_as_before_for_its_programs() {
    let Some(before) = huge_pages_allowed(&std::fs::read_to_string("/proc/self/status").unwrap()) else {
        return; // A kernel older than 5.0 does not show it.
    };
    small_pages();
    let after = huge_pages_allowed(&std::fs::read_to_string("/proc/self/status").unwrap());
    assert_eq!(after, Some(false));
    let mut cmd = tokio::process::Command::new("cat");
    cmd.arg("/proc/self/status").stdout(std::process::Stdio::piped());
    configure_command(&mut cmd, &Tag::new(run_id(), "huge-pages").unwrap());
    let out = cmd.output().await.unwrap();
    assert_eq!(huge_pages_allowed(&String::from_utf8_lossy(&out.stdout)), Some(before), "the program's as it was");
}
