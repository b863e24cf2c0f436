//! End-to-end tests of `harness reconcile`: the real binary on the bundled example and on copies
//! of it, every system served on loopback (fixtures, or a tiny server the test starts).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use common::{copy_tree, harness_with, project, repo};

/// After the example's day, so every planted order is older than the lag.
const NOW: &str = "2026-12-07T08:00:00Z";
const DAY: [&str; 4] = ["--since", "2026-12-06T00:00Z", "--until", "2026-12-07T00:00Z"];

fn reconcile(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> common::Output {
    let mut args = vec!["reconcile", "--color", "never"];
    args.extend(DAY);
    args.extend(extra);
    let mut env = env.to_vec();
    env.push(("HARNESS_NOW", NOW));
    harness_with(dir, &args, &env)
}

/// A project holding the bundled example.
fn example() -> tempfile::TempDir {
    let p = project(&[]);
    std::fs::create_dir_all(p.path().join("reconcile")).unwrap();
    copy_tree(&repo().join("reconcile"), &p.path().join("reconcile"));
    p
}

#[test]
fn the_bundled_example_exits_1_naming_each_planted_discrepancy() {
    // On a copy: a run with findings leaves a pending baseline beside the file.
    let p = example();
    let out = reconcile(p.path(), &[], &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for planted in [
        "missing        netsuite sales orders  #1042",
        "duplicate      netsuite sales orders  #1077",
        "field differs  netsuite sales orders  #1150 shipping cost  5.95 in the source, 4.95 downstream",
        "field differs  peoplevox order lines  #1101 lines  2 line(s) in shopify, 1 in peoplevox",
        "total differs  peoplevox sales orders   day's total",
        "off by -10.00",
        "orders-daily: 5 new finding(s)",
    ] {
        assert!(out.stdout.contains(planted), "`{planted}` not in:\n{}", out.stdout);
    }
    // Every lister went through every page of its fixture.
    for listed in [
        "shopify (source): 250 record(s) in 3 page(s)",
        "netsuite sales orders: 250 record(s) in 3 page(s)",
        "peoplevox sales orders: 250 record(s) in 3 page(s)",
        "peoplevox order lines: 498 record(s) in 3 page(s)",
    ] {
        assert!(out.stdout.contains(listed), "`{listed}` not in:\n{}", out.stdout);
    }
}

#[test]
fn reports_go_to_junit_json_and_markdown() {
    let p = example();
    let out = reconcile(
        p.path(),
        &["--junit", "out/junit.xml", "--json", "out/report.json", "--markdown", "out/report.md"],
        &[],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let junit = std::fs::read_to_string(p.path().join("out/junit.xml")).unwrap();
    assert!(junit.contains(r#"<testcase name="missing" classname="orders-daily.netsuite sales orders" file="reconcile/orders-daily.yaml">"#), "{junit}");
    assert!(junit.contains(r#"failures="5""#), "{junit}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("out/report.json")).unwrap()).unwrap();
    let findings = json["checks"][0]["findings"].as_array().unwrap();
    let kinds: Vec<&str> = findings.iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["missing", "duplicate", "field-differs", "field-differs", "total-differs"]);
    assert_eq!(findings[2]["source"]["jq"], ".totalShippingPriceSet.shopMoney.amount");
    assert_eq!(findings[2]["target"]["value"], "4.95");
    let markdown = std::fs::read_to_string(p.path().join("out/report.md")).unwrap();
    assert!(markdown.contains("| ❌ | missing | netsuite sales orders | #1042 |"), "{markdown}");
}

/// `check-jsonschema --schemafile SCHEMA FILE`: None when the tool is not installed.
fn validates(schema: &Path, file: &Path) -> Option<Result<(), String>> {
    let out = std::process::Command::new("check-jsonschema").arg("--schemafile").arg(schema).arg(file).output().ok()?;
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    })
}

#[test]
fn the_json_report_validates_against_its_schema() {
    let p = example();
    let out = reconcile(p.path(), &["--json", "out/report.json"], &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let schema = harness_with(p.path(), &["schema", "--reconcile"], &[]);
    assert_eq!(schema.code, 0, "{}", schema.stderr);
    let parsed: serde_json::Value = serde_json::from_str(&schema.stdout).unwrap();
    assert_eq!(parsed["title"], "ReconcileReport", "{}", schema.stdout);
    let (schema_file, report) = (p.path().join("out/schema.json"), p.path().join("out/report.json"));
    std::fs::write(&schema_file, &schema.stdout).unwrap();
    // A report with a kind of finding the schema does not know must not validate.
    let tampered = p.path().join("out/tampered.json");
    std::fs::write(
        &tampered,
        std::fs::read_to_string(&report).unwrap().replacen("\"kind\": \"missing\"", "\"kind\": \"vanished\"", 1),
    )
    .unwrap();
    match (validates(&schema_file, &report), validates(&schema_file, &tampered)) {
        (Some(good), Some(bad)) => {
            assert_eq!(good, Ok(()), "the bundled example's report does not validate");
            assert!(bad.is_err(), "a finding of an unknown kind validates");
        }
        // .ci/run installs check-jsonschema; a developer machine without it still runs the rest.
        _ => eprintln!("check-jsonschema not installed: the reconcile report's schema check is skipped"),
    }
}

#[test]
fn accepted_discrepancies_are_not_reported_again() {
    let p = example();
    let accept = reconcile(p.path(), &["--accept"], &[]);
    assert_eq!(accept.code, 0, "{}{}", accept.stdout, accept.stderr);
    assert!(p.path().join("reconcile/orders-daily.baseline.json").is_file());
    let again = reconcile(p.path(), &[], &[]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("orders-daily: clean, 5 accepted in the baseline"), "{}", again.stdout);
    let listed = harness_with(p.path(), &["reconcile", "--baseline"], &[]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.contains("orders-daily: 5 accepted discrepancies"), "{}", listed.stdout);
    assert!(listed.stdout.contains("netsuite sales orders: missing #1042"), "{}", listed.stdout);
    // A new discrepancy still fails: the order in NetSuite after all is not in the source.
    let netsuite = p.path().join("reconcile/orders-daily/netsuite/page-3.json");
    let text = std::fs::read_to_string(&netsuite).unwrap().replacen("\"#1210\"", "\"#9999\"", 1);
    std::fs::write(&netsuite, text).unwrap();
    let new = reconcile(p.path(), &[], &[]);
    assert_eq!(new.code, 1, "{}{}", new.stdout, new.stderr);
    assert!(new.stdout.contains("orphan         netsuite sales orders  #9999"), "{}", new.stdout);
    assert!(new.stdout.contains("missing        netsuite sales orders  #1210"), "{}", new.stdout);
}

#[test]
fn review_shows_the_pending_baseline_and_accepts_or_rejects_it() {
    let p = example();
    let pending = p.path().join("reconcile/orders-daily.baseline.json.new");
    let approved = p.path().join("reconcile/orders-daily.baseline.json");
    let first = reconcile(p.path(), &[], &[]);
    assert_eq!(first.code, 1, "{}{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains("pending baseline: reconcile/orders-daily.baseline.json.new (`harness review`"),
        "{}",
        first.stdout
    );
    assert!(pending.is_file() && !approved.exists());
    let listed = harness_with(p.path(), &["review", "--list"], &[]);
    assert_eq!(
        (listed.code, listed.stdout.as_str()),
        (0, "reconcile/orders-daily.baseline.json.new\n"),
        "{}",
        listed.stderr
    );
    // Scenario folders filter it out; its own folder keeps it.
    assert!(harness_with(p.path(), &["review", "--list", "scenarios/"], &[]).stdout.contains("no pending snapshots"));
    assert!(
        harness_with(p.path(), &["review", "--list", "reconcile/"], &[])
            .stdout
            .contains("orders-daily.baseline.json.new")
    );

    let rejected = harness_with(p.path(), &["review", "--reject-all"], &[]);
    assert_eq!(rejected.code, 0, "{}", rejected.stderr);
    assert!(
        rejected.stdout.contains("[1/1] reconcile/orders-daily.baseline.json")
            && rejected.stdout.contains("+ netsuite sales orders: missing #1042"),
        "{}",
        rejected.stdout
    );
    assert!(rejected.stdout.contains("0 accepted, 1 rejected, 0 skipped"), "{}", rejected.stdout);
    assert!(!pending.exists() && !approved.exists(), "rejecting deletes the pending baseline only");

    assert_eq!(reconcile(p.path(), &[], &[]).code, 1);
    // Without an answer on standard input, review skips and changes nothing.
    let skipped = harness_with(p.path(), &["review"], &[]);
    assert!(skipped.stdout.contains("0 accepted, 0 rejected, 1 skipped") && pending.is_file(), "{}", skipped.stdout);
    let accepted = harness_with(p.path(), &["review", "--accept-all"], &[]);
    assert!(
        accepted.stdout.contains("accepted discrepancies: 0 now, 5 if accepted")
            && accepted.stdout.contains("1 accepted, 0 rejected"),
        "{}",
        accepted.stdout
    );
    assert!(approved.is_file() && !pending.exists());
    let clean = reconcile(p.path(), &[], &[]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(
        clean.stdout.contains("orders-daily: clean, 5 accepted in the baseline") && !pending.exists(),
        "{}",
        clean.stdout
    );

    // One fixed discrepancy and one new: review shows both, and the explanations written stay.
    let text = std::fs::read_to_string(&approved).unwrap().replacen(
        "\"explanation\": \"\"",
        "\"explanation\": \"test order, cancelled\"",
        1,
    );
    std::fs::write(&approved, text).unwrap();
    let netsuite = p.path().join("reconcile/orders-daily/netsuite/page-3.json");
    std::fs::write(&netsuite, std::fs::read_to_string(&netsuite).unwrap().replacen("\"#1210\"", "\"#9999\"", 1))
        .unwrap();
    assert_eq!(reconcile(p.path(), &[], &[]).code, 1);
    let shown = harness_with(p.path(), &["review", "--reject-all"], &[]);
    for line in
        ["+ netsuite sales orders: orphan #9999", "+ netsuite sales orders: missing #1210", "(test order, cancelled)"]
    {
        assert!(shown.stdout.contains(line), "`{line}` not in:\n{}", shown.stdout);
    }
}

#[test]
fn a_source_record_from_the_lag_before_the_window_answers_for_its_copies_but_is_not_due() {
    let p = example();
    let dir = p.path().join("reconcile/orders-daily");
    // #1001 was created 15 minutes before the window: in NetSuite (in the window) it is no orphan;
    // gone from Peoplevox, it is not missing there (it belongs to the day before).
    let page = dir.join("shopify/page-1.json");
    let mut shopify: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&page).unwrap()).unwrap();
    let order =
        shopify["data"]["orders"]["nodes"].as_array_mut().unwrap().iter_mut().find(|o| o["name"] == "#1001").unwrap();
    order["createdAt"] = "2026-12-05T23:45:00Z".into();
    std::fs::write(&page, shopify.to_string()).unwrap();
    for template in ["sales-orders", "sales-order-items"] {
        let page = dir.join(format!("peoplevox/{template}/page-1.xml"));
        let text = std::fs::read_to_string(&page).unwrap();
        let kept: Vec<&str> = text.split('\n').filter(|l| !l.starts_with("#1001,")).collect();
        assert!(kept.len() < text.split('\n').count(), "#1001 is in {template}");
        std::fs::write(&page, kept.join("\n")).unwrap();
    }
    let out = reconcile(p.path(), &[], &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("orders-daily: 5 new finding(s)") && !out.stdout.contains("#1001"),
        "only the planted findings:\n{}",
        out.stdout
    );
}

#[test]
fn netsuite_pages_read_several_at_once_give_the_same_check() {
    let p = example();
    let file = p.path().join("reconcile/orders-daily.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let (before, after) = text.split_once("      page_size: 100\n    key: .otherrefnum").unwrap();
    std::fs::write(&file, format!("{before}      page_size: 100\n      concurrency: 3\n    key: .otherrefnum{after}"))
        .unwrap();
    let limit = serde_json::json!({"title": "Bad Request", "status": 429, "o:errorDetails": [{"detail": "Concurrent request limit exceeded. Request blocked.", "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}]});
    std::fs::write(p.path().join("reconcile/orders-daily/netsuite/page-2.429.json"), limit.to_string()).unwrap();
    let sequential = reconcile(example().path(), &[], &[]);
    let concurrent = reconcile(p.path(), &[], &[]);
    assert_eq!(concurrent.code, 1, "{}{}", concurrent.stdout, concurrent.stderr);
    assert!(
        concurrent
            .stdout
            .contains("netsuite sales orders: 250 record(s) in 3 page(s), 4 request(s); throttled 1× 429 Retry-After"),
        "{}",
        concurrent.stdout
    );
    let findings = |out: &str| {
        out.lines()
            .skip_while(|l| !l.contains("reconcile orders-daily"))
            .filter(|l| l.contains("  ✗ "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(findings(&concurrent.stdout), findings(&sequential.stdout), "the same findings in the same order");
}

#[test]
fn throttling_answers_are_waited_out_and_reported() {
    let p = example();
    let dir = p.path().join("reconcile/orders-daily");
    // Shopify's THROTTLED with its cost: 100 points short at 100 a second is a second's wait.
    let throttled = serde_json::json!({
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": {"cost": {"requestedQueryCost": 102, "actualQueryCost": null, "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 2, "restoreRate": 100.0}}}
    });
    std::fs::write(dir.join("shopify/page-2.throttled.json"), throttled.to_string()).unwrap();
    let limit = serde_json::json!({"type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html", "title": "Bad Request", "status": 429, "o:errorCode": "USER_ERROR",
        "o:errorDetails": [{"detail": "Concurrent request limit exceeded. Request blocked.", "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}]});
    std::fs::write(dir.join("netsuite/page-3.429.json"), limit.to_string()).unwrap();
    let out = reconcile(p.path(), &[], &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "shopify (source): 250 record(s) in 3 page(s), 4 request(s); throttled 1× GraphQL throttle — waited 1s"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "netsuite sales orders: 250 record(s) in 3 page(s), 4 request(s); throttled 1× 429 Retry-After — waited 1s"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("orders-daily: 5 new finding(s)"), "the same findings after waiting:\n{}", out.stdout);
}

/// A project whose reconciliation reads Shopify at `url` with the token in SHOP_TOKEN.
fn live(url: &str) -> tempfile::TempDir {
    let p = example();
    let file = p.path().join("reconcile/orders-daily.yaml");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "    fixture: orders-daily/shopify\n",
        &format!("    url: {url}\n    credentials: {{access_token: SHOP_TOKEN}}\n"),
    );
    std::fs::write(&file, text).unwrap();
    p
}

#[test]
fn an_unreachable_system_is_exit_3_naming_it() {
    // A port nobody listens on: bound, then let go.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let p = live(&format!("http://127.0.0.1:{port}"));
    let out = reconcile(p.path(), &[], &[("SHOP_TOKEN", "shpat_0123456789abcdef")]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(&format!("shopify (http://127.0.0.1:{port}): unreachable")), "{}", out.stderr);
}

#[test]
fn a_refused_credential_is_exit_3_and_appears_in_no_output() {
    const TOKEN: &str = "shpat_planted5f2c9e71d04b8a63";
    // A Shopify that refuses the token, quoting it back as some servers do.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in server.incoming().flatten().take(4) {
            let mut reader = BufReader::new(&stream);
            let mut token = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("x-shopify-access-token:") {
                    token = line[line.len() - v.len()..].trim().to_string();
                }
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = format!(
                "{{\"errors\":\"[API] Invalid API key or access token (unrecognized login or wrong password): {token}\"}}"
            );
            let _ = (&stream).write_all(format!("HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}", answer.len()).as_bytes());
        }
    });
    let p = live(&url);
    let out = reconcile(p.path(), &["--json", "out.json", "--junit", "out.xml"], &[("SHOP_TOKEN", TOKEN)]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("shopify") && out.stderr.contains("credentials refused"), "{}", out.stderr);
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(!text.contains(TOKEN), "the token is in {name}:\n{text}");
    }
    for report in ["out.json", "out.xml"] {
        let text = std::fs::read_to_string(p.path().join(report)).unwrap_or_default();
        assert!(!text.contains(TOKEN), "the token is in {report}");
    }
}

/// The example's Shopify pages over HTTPS on loopback, with a certificate for `localhost` signed
/// by a CA made here; only a request carrying `token` is answered. Records each request's Host
/// and search.
struct HttpsShopify {
    port: u16,
    ca: tempfile::NamedTempFile,
    hosts: Arc<Mutex<Vec<String>>>,
    searches: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

fn https_shopify(token: &'static str) -> HttpsShopify {
    // The page each cursor leads to (the first page: no cursor), as the fixture pages say.
    let mut pages: HashMap<Option<String>, Bytes> = HashMap::new();
    let mut after = None;
    for n in 1.. {
        let Ok(text) = std::fs::read_to_string(repo().join(format!("reconcile/orders-daily/shopify/page-{n}.json")))
        else {
            break;
        };
        let page: serde_json::Value = serde_json::from_str(&text).unwrap();
        let next = page["data"]["orders"]["pageInfo"]["endCursor"].as_str().map(str::to_string);
        pages.insert(after, Bytes::from(text));
        after = next;
    }
    let pages = Arc::new(pages);
    let (acceptor, ca) = common::test_tls(&["localhost"]);
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    ca_file.write_all(ca.as_bytes()).unwrap();
    let (hosts, searches) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = (hosts.clone(), searches.clone());
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, pages, seen) = (acceptor.clone(), pages.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else { return };
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (pages, (seen, searched)) = (pages.clone(), seen.clone());
                    async move {
                        seen.lock().unwrap().push(
                            req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or_default().to_string(),
                        );
                        let authorized = req.headers().get("x-shopify-access-token").is_some_and(|t| t == token);
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let asked: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                        searched
                            .lock()
                            .unwrap()
                            .push(asked["variables"]["query"].as_str().unwrap_or_default().to_string());
                        let page = pages.get(&asked["variables"]["after"].as_str().map(str::to_string));
                        let (status, body) = match page {
                            Some(page) if authorized => (200, page.clone()),
                            Some(_) => {
                                (401, Bytes::from_static(br#"{"errors":"[API] Invalid API key or access token"}"#))
                            }
                            None => (404, Bytes::from_static(br#"{"errors":"Not Found"}"#)),
                        };
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .header("Content-Type", "application/json")
                                .body(Full::new(body))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
            });
        }
    });
    HttpsShopify { port, ca: ca_file, hosts, searches, _runtime: runtime }
}

#[test]
fn a_live_system_over_https_is_read_when_its_certificate_is_trusted_and_named_when_not() {
    const TOKEN: &str = "shpat_plantedtls7c41e0a9b2d8";
    let server = https_shopify(TOKEN);
    let url = format!("https://localhost:{}", server.port);
    let p = live(&url);
    let trusted = server.ca.path().to_str().unwrap();
    let out = reconcile(p.path(), &["--json", "out.json"], &[("SHOP_TOKEN", TOKEN), ("SSL_CERT_FILE", trusted)]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("shopify (source): 250 record(s) in 3 page(s)"), "{}", out.stdout);
    assert!(
        out.stdout.contains("orders-daily: 5 new finding(s)"),
        "the same findings as from the fixture:\n{}",
        out.stdout
    );
    let hosts = server.hosts.lock().unwrap().clone();
    assert_eq!(
        hosts,
        vec![format!("localhost:{}", server.port); 3],
        "every request to the declared host, one per page"
    );
    // The source is listed from the lag (30m) before the window, so nothing downstream from then is an orphan.
    let search = server.searches.lock().unwrap()[0].clone();
    assert_eq!(search, "created_at:>='2026-12-05T23:30:00Z' AND created_at:<'2026-12-07T00:00:00Z'");
    let report = std::fs::read_to_string(p.path().join("out.json")).unwrap();
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr), ("the JSON report", &report)] {
        assert!(!text.contains(TOKEN), "the token is in {name}");
    }

    // A CA that did not sign the server's certificate: the system is named, nothing is read.
    let (_, other) = common::test_tls(&["localhost"]);
    let mut untrusted = tempfile::NamedTempFile::new().unwrap();
    untrusted.write_all(other.as_bytes()).unwrap();
    let out = reconcile(p.path(), &[], &[("SHOP_TOKEN", TOKEN), ("SSL_CERT_FILE", untrusted.path().to_str().unwrap())]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!("shopify ({url}): unreachable")) && out.stderr.contains("not trusted"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN), "the token is in the output");
    assert_eq!(server.hosts.lock().unwrap().len(), 3, "no request went over the untrusted connection");
}

#[test]
fn a_write_in_the_file_is_refused_at_load_with_exit_2() {
    let p = example();
    let file = p.path().join("reconcile/orders-daily.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let mutation = text.replace("  list:\n    page_size: 100\n  key: .name", "  list:\n    graphql: 'mutation { orderCancel(orderId: \"gid://shopify/Order/1\") { job { id } } }'\n  key: .name");
    std::fs::write(&file, &mutation).unwrap();
    let out = reconcile(p.path(), &[], &[]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("a GraphQL mutation is a write") && out.stderr.contains("reconcile/orders-daily.yaml:24:"),
        "{}",
        out.stderr
    );
    let (before, after) = text.split_once("      suiteql: >-").unwrap();
    let post = format!(
        "{before}      method: POST\n      path: /services/rest/record/v1/salesOrder\n      page_size: 100{}",
        after.split_once("      page_size: 100").unwrap().1
    );
    std::fs::write(&file, post).unwrap();
    let out = reconcile(p.path(), &[], &[]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("a POST to /services/rest/record/v1/salesOrder is a write"), "{}", out.stderr);
}

#[test]
fn init_writes_a_starter_reconciliation_for_the_systems_it_sets_up() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir(repo.path().join(".git")).unwrap();
    let init = harness_with(
        repo.path(),
        &["init", "--systems", "shopify,netsuite", "--language", "python"],
        &[("HARNESS_NOW", common::BUNDLED_DAY)],
    );
    assert!(init.stdout.contains("reconcile/orders-daily.yaml"), "{}{}", init.stdout, init.stderr);
    let starter = std::fs::read_to_string(repo.path().join("reconcile/orders-daily.yaml")).unwrap();
    assert!(
        starter.contains("netsuite sales orders") && !starter.contains("peoplevox") && !starter.contains("{{"),
        "{starter}"
    );
    // It loads: what stops it is the credential not exported yet, named.
    let out = harness_with(repo.path(), &["reconcile"], &[]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("SHOPIFY_ACCESS_TOKEN is not set") || out.stderr.contains("NETSUITE_ACCOUNT_ID is not set"),
        "{}",
        out.stderr
    );
}
