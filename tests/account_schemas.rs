//! `harness schemas import netsuite`: an account's metadata catalog (OpenAPI 3) becomes the
//! project's schema extensions, and scenarios validate against the account's own definitions.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::{harness, harness_with, project, repo};

fn document() -> PathBuf {
    repo().join("tests/fixtures/netsuite-metadata/metadata-catalog.json")
}

/// The fixture flow's sales order with `fields` added to its body and `line` to each line.
fn sending(dir: &Path, fields: &str, line: &str) {
    let flow = dir.join("flows/orders.yaml");
    let text = std::fs::read_to_string(&flow).unwrap();
    let changed = text
        .replace("        memo: .note // empty\n", &format!("        memo: .note // empty\n{fields}"))
        .replace("              rate: .price | tonumber\n", &format!("              rate: .price | tonumber\n{line}"));
    assert_ne!(changed, text);
    std::fs::write(&flow, changed).unwrap();
}

#[test]
fn the_accounts_custom_fields_are_validated_with_their_types() {
    let p = project(&[]);
    sending(p.path(), "        custbody_loyalty_points: '120'\n", "              custcol_gift_wrap: 'true'\n");
    let before = harness(p.path(), &["run", "--color", "never", "--no-times", "orders/simple"]);
    assert_eq!(
        before.code, 1,
        "the fixture's schema does not know the account's fields: {}{}",
        before.stdout, before.stderr
    );
    assert!(before.stdout.contains("custbody_loyalty_points"), "{}", before.stdout);

    let doc = document();
    let out = harness(p.path(), &["schemas", "import", "netsuite", doc.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("salesOrder: custom fields custbody_channel, custbody_gift_order, custbody_loyalty_points, item.custcol_engraving, item.custcol_gift_wrap; standard fields added orderStatus, otherRefNum, tranDate"),
        "{}",
        out.stdout
    );
    // The fixture's flow sends salesOrder only: customer is in the document but not imported.
    assert!(!out.stdout.contains("customer:"), "{}", out.stdout);
    assert!(out.stdout.contains("wrote mocks/netsuite/2025.1/system.yaml (1 record(s))"), "{}", out.stdout);
    let file = p.path().join("mocks/netsuite/2025.1/system.yaml");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.starts_with("system: netsuite\nversion: \"2025.1\"\ndescription: Fixture NetSuite account\n"),
        "the project's own lines are kept: {written}"
    );
    assert!(written.contains("schema_extensions:\n  schemas/salesOrder.schema.json:\n"), "{written}");

    // Importing again replaces what the first import wrote, byte for byte.
    assert_eq!(harness(p.path(), &["schemas", "import", "netsuite", doc.to_str().unwrap()]).code, 0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);

    let after = harness(p.path(), &["run", "--color", "never", "--no-times", "--accept", "orders/simple"]);
    assert_eq!(after.code, 0, "the account's fields with the account's types pass: {}{}", after.stdout, after.stderr);

    // A value of another type than the account's field is refused, naming the field.
    let p2 = project(&[]);
    sending(p2.path(), "        custbody_loyalty_points: '\"many\"'\n", "");
    assert_eq!(harness(p2.path(), &["schemas", "import", "netsuite", doc.to_str().unwrap()]).code, 0);
    let wrong = harness(p2.path(), &["run", "--color", "never", "--no-times", "orders/simple"]);
    assert_eq!(wrong.code, 1, "{}{}", wrong.stdout, wrong.stderr);
    assert!(wrong.stdout.contains("custbody_loyalty_points") && wrong.stdout.contains("integer"), "{}", wrong.stdout);
}

#[test]
fn what_was_imported_is_reported_as_json() {
    let p = project(&[]);
    let out = harness(p.path(), &["schemas", "import", "netsuite", document().to_str().unwrap(), "--json", "-"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on standard output, nothing else");
    assert_eq!(report["file"], "mocks/netsuite/2025.1/system.yaml");
    assert_eq!(report["records"].as_array().map(Vec::len), Some(1), "{report}");
    let order = &report["records"][0];
    assert_eq!(order["name"], "salesOrder");
    assert!(order["custom_fields"].as_array().unwrap().iter().any(|f| f == "item.custcol_gift_wrap"), "{report}");
    assert!(order["added_fields"].as_array().unwrap().iter().any(|f| f == "tranDate"), "{report}");
    assert!(report["left"].is_array(), "{report}");
}

#[test]
fn extensions_written_by_hand_are_not_overwritten() {
    let p = project(&[]);
    let file = p.path().join("mocks/netsuite/2025.1/system.yaml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("schema_extensions:\n  schemas/salesOrder.schema.json: {properties: {custbody_x: {type: string}}}\n");
    std::fs::write(&file, &text).unwrap();
    let out = harness(p.path(), &["schemas", "import", "netsuite", document().to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("mocks/netsuite/2025.1/system.yaml:12:1")
            && out.stderr.contains("schema_extensions written by hand"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "nothing was written");
}

/// One exchange on a loopback listener: the request's head as text, then `answer`.
fn serve_once(listener: TcpListener, answer: &'static str) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let length: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let text = std::fs::read_to_string(document()).unwrap();
        let reply = if answer.is_empty() {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/swagger+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            )
        } else {
            format!("HTTP/1.1 {answer}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        };
        stream.write_all(reply.as_bytes()).unwrap();
        head
    })
}

const TBA: [(&str, &str); 5] = [
    ("HARNESS_NETSUITE_ACCOUNT_ID", "TSTDRV7654321"),
    ("HARNESS_NETSUITE_CONSUMER_KEY", "planted-consumer-key-9f2c"),
    ("HARNESS_NETSUITE_CONSUMER_SECRET", "planted-consumer-secret-41be"),
    ("HARNESS_NETSUITE_TOKEN_ID", "planted-token-id-77aa"),
    ("HARNESS_NETSUITE_TOKEN_SECRET", "planted-token-secret-0d13"),
];

#[test]
fn from_the_account_a_signed_get_of_the_records_the_flows_send() {
    let p = project(&[]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = serve_once(listener, "");
    let out = harness_with(p.path(), &["schemas", "import", "netsuite", "--from-account", &url, "--auth", "tba"], &TBA);
    let head = server.join().unwrap();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        head.starts_with("GET /services/rest/record/v1/metadata-catalog?select=salesorder HTTP/1.1\r\n"),
        "read-only, the flows' records: {head}"
    );
    assert!(head.to_ascii_lowercase().contains("accept: application/swagger+json"), "{head}");
    assert!(
        head.contains("OAuth realm=\"TSTDRV7654321\"") && head.contains("oauth_token=\"planted-token-id-77aa\""),
        "signed with the account's credentials: {head}"
    );
    assert!(out.stdout.contains("salesOrder: custom fields custbody_channel"), "{}", out.stdout);
    for (_, secret) in TBA.iter().filter(|(k, _)| k.ends_with("SECRET")) {
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret), "a secret was shown");
        assert!(!head.contains(secret), "a secret was sent as such");
    }
    let written = std::fs::read_to_string(p.path().join("mocks/netsuite/2025.1/system.yaml")).unwrap();
    assert!(written.contains(&format!("from the metadata catalog of {url}")), "{written}");
}

#[test]
fn from_the_account_refused_or_without_credentials_is_an_environment_error_showing_no_secret() {
    let p = project(&[]);
    let missing = harness_with(
        p.path(),
        &["schemas", "import", "netsuite", "--from-account", "http://127.0.0.1:9", "--auth", "tba"],
        &TBA[..4],
    );
    assert_eq!(missing.code, 3, "{}{}", missing.stdout, missing.stderr);
    assert!(missing.stderr.contains("HARNESS_NETSUITE_TOKEN_SECRET is not set"), "{}", missing.stderr);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = serve_once(listener, "401 Unauthorized");
    let refused =
        harness_with(p.path(), &["schemas", "import", "netsuite", "--from-account", &url, "--auth", "tba"], &TBA);
    server.join().unwrap();
    assert_eq!(refused.code, 3, "{}{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("metadata-catalog answered 401"), "{}", refused.stderr);
    for (_, value) in &TBA[1..] {
        assert!(!refused.stderr.contains(value) && !refused.stdout.contains(value), "{}", refused.stderr);
    }
    let file = std::fs::read_to_string(p.path().join("mocks/netsuite/2025.1/system.yaml")).unwrap();
    assert!(!file.contains("schema_extensions"), "nothing was written: {file}");
}

#[test]
fn from_the_account_over_https_when_its_certificate_is_trusted() {
    let p = project(&[]);
    let (acceptor, ca) = common::test_tls(&["localhost"]);
    let ca_file = p.path().join("test-ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("https://localhost:{}", listener.local_addr().unwrap().port());
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else { return };
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    seen.lock().unwrap().push(format!("{} {}", req.method(), req.uri()));
                    let text = std::fs::read_to_string(document()).unwrap();
                    async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from(text),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    let ca_path = ca_file.to_str().unwrap().to_string();
    let mut env: Vec<(&str, &str)> = TBA.to_vec();
    env.push(("SSL_CERT_FILE", &ca_path));
    let out = harness_with(p.path(), &["schemas", "import", "netsuite", "--from-account", &url, "--auth", "tba"], &env);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        *asked.lock().unwrap(),
        ["GET /services/rest/record/v1/metadata-catalog?select=salesorder"],
        "one read-only GET"
    );
    assert!(out.stdout.contains("salesOrder: custom fields custbody_channel"), "{}", out.stdout);
    for (_, secret) in TBA.iter().filter(|(k, _)| k.ends_with("SECRET")) {
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret), "a secret was shown");
    }
}

/// A project on the built-in salesOrder schema, which takes any `custbody_…` id until the
/// account's own definitions are imported.
fn on_the_builtin_schema(fields: &str) -> tempfile::TempDir {
    let p = project(&[]);
    std::fs::remove_file(p.path().join("mocks/netsuite/2025.1/schemas/salesOrder.schema.json")).unwrap();
    sending(p.path(), fields, "");
    p
}

#[test]
fn after_import_a_custom_field_the_account_lacks_is_refused_at_that_field() {
    let p = on_the_builtin_schema("        custbody_not_in_account: '\"x\"'\n        custbody_loyalty_points: '120'\n");
    let run = |p: &Path| harness(p, &["run", "--color", "never", "--no-times", "--accept", "orders/simple"]);
    let before = run(p.path());
    assert_eq!(
        before.code, 0,
        "without the account's definitions any custom field id passes: {}{}",
        before.stdout, before.stderr
    );

    let doc = document();
    let out = harness(p.path(), &["schemas", "import", "netsuite", doc.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let written = std::fs::read_to_string(p.path().join("mocks/netsuite/2025.1/system.yaml")).unwrap();
    assert!(written.contains("\"patternProperties\": null"), "the built-in leniency is taken away: {written}");

    let after = run(p.path());
    assert_eq!(after.code, 1, "{}{}", after.stdout, after.stderr);
    assert!(
        after.stdout.contains("400 INVALID_CONTENT at custbody_not_in_account: Error while accessing resource: Invalid content for field custbody_not_in_account"),
        "NetSuite's error, located at the field: {}",
        after.stdout
    );

    // The account's own custom fields still pass.
    let p = on_the_builtin_schema("        custbody_loyalty_points: '120'\n        custbody_channel: '\"web\"'\n");
    assert_eq!(harness(p.path(), &["schemas", "import", "netsuite", doc.to_str().unwrap()]).code, 0);
    let ok = run(p.path());
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
}

#[test]
fn the_values_a_select_field_allows_are_checked_after_import() {
    let doc = document();
    for (status, passes) in [("B", true), ("Z", false)] {
        let p = on_the_builtin_schema(&format!("        orderStatus: '{{id: \"{status}\"}}'\n"));
        let out = harness(p.path(), &["schemas", "import", "netsuite", doc.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("values checked orderStatus"), "{}", out.stdout);
        let run = harness(p.path(), &["run", "--color", "never", "--no-times", "--accept", "orders/simple"]);
        assert_eq!(run.code == 0, passes, "orderStatus {status}: {}{}", run.stdout, run.stderr);
        if !passes {
            assert!(run.stdout.contains("INVALID_CONTENT at orderStatus.id"), "{}", run.stdout);
        }
    }
}
