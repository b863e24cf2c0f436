//! End-to-end: recordings from the real systems. A local upstream (plain HTTP, and HTTPS with a
//! certificate made here) answers like NetSuite, with credentials and personal data in its
//! answers; the harness records through its proxy, replays the draft scenario, imports a HAR
//! file, receives a webhook, flags stale recordings and planted tokens, and finds drift.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use common::recorder::{record, recorder};
use common::{harness, harness_with, project};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

// What the upstream plants: none of it may reach a file the harness writes.
const TOKEN: &str = "Zk3vT9qLm2Xw8RbN5yHc7DpA";
const CONSUMER_KEY: &str = "ck9f8e7d6c5b4a39281706";
const OAUTH_TOKEN: &str = "tk1a2b3c4d5e6f708192a3";
const SESSION: &str = "s3cr3tS3ss10nV4lu3xyz42";
const EMAIL: &str = "jane.realperson@gmail.com";
const FIRST: &str = "Janetta";
const LAST: &str = "Realperson";
const PHONE: &str = "7700 900123";
const STREET: &str = "Hidden Lane";
const COMMENT: &str = "leave it with the neighbour at number 9";
/// Peoplevox's password travels base64-encoded inside SOAP; its session comes back in the answer.
const PVX_PASSWORD: &str = "UGVvcGxldm94LXJlYWwtcGFzc3dvcmQ=";
const PVX_SESSION: &str = "7f3c9a2e5b8d4f16a0c3e9b7d2f5a814";
const PVX_PATH: &str = "/resources/integrationservicev4.asmx";

/// A public address, built from its parts (source files hold no such literal).
fn public_ip() -> String {
    format!("{}.{}.{}.{}", 81, 2, 69, 160)
}

fn planted() -> Vec<String> {
    [TOKEN, CONSUMER_KEY, OAUTH_TOKEN, SESSION, EMAIL, FIRST, LAST, PHONE, STREET, COMMENT, PVX_PASSWORD, PVX_SESSION]
        .iter()
        .map(|s| s.to_string())
        .chain([public_ip()])
        .collect()
}

/// The local NetSuite: answers only requests carrying the planted credentials.
struct Upstream {
    http: SocketAddr,
    https: SocketAddr,
    ca: tempfile::NamedTempFile,
    /// When set, SuiteQL answers carry `id` as a number and a new `externalId`.
    drift: Arc<AtomicBool>,
    _runtime: tokio::runtime::Runtime,
}

fn answer(status: u16, headers: &[(&str, String)], body: Option<Value>) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    let bytes = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
    r.header("Content-Type", "application/json").body(Full::new(Bytes::from(bytes))).unwrap()
}

fn soap(operation: &str, result: &str) -> hyper::Response<Full<Bytes>> {
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><{operation}Response xmlns="http://www.peoplevox.net/"><{operation}Result><ResponseId>0</ResponseId><TotalCount>1</TotalCount><Detail>{result}</Detail></{operation}Result></{operation}Response></soap:Body></soap:Envelope>"#
    );
    hyper::Response::builder()
        .status(200)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// The local Peoplevox: `Authenticate` with the password gives the session, `GetData` needs it.
fn peoplevox(action: &str, body: &str) -> hyper::Response<Full<Bytes>> {
    match action {
        "Authenticate" if body.contains(PVX_PASSWORD) => soap("Authenticate", &format!("acme,{PVX_SESSION}")),
        "GetData" if body.contains(PVX_SESSION) => {
            soap("GetData", &format!("Email,FirstName,LastName\n{EMAIL},{FIRST},{LAST}\n"))
        }
        _ => soap(action, "Authentication failed"),
    }
}

/// Answers like NetSuite, and like Peoplevox on its SOAP path.
async fn netsuite(
    req: hyper::Request<hyper::body::Incoming>,
    drift: Arc<AtomicBool>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    if req.uri().path() == PVX_PATH {
        let action = req
            .headers()
            .get("soapaction")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim_matches('"')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        return Ok(peoplevox(&action, &body));
    }
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a == format!("Bearer {TOKEN}") || (a.contains(CONSUMER_KEY) && a.contains(OAUTH_TOKEN)));
    let (method, path) = (req.method().as_str().to_string(), req.uri().path().to_string());
    let _ = req.into_body().collect().await;
    if !authorized {
        return Ok(answer(401, &[], Some(json!({"title": "Unauthorized"}))));
    }
    let person = json!({"email": EMAIL, "firstname": FIRST, "lastname": LAST, "phone": format!("+44 {PHONE}"), "addr1": format!("12 {STREET}"), "lastLoginIp": public_ip()});
    let cookie = [("Set-Cookie", format!("JSESSIONID={SESSION}; Path=/; HttpOnly"))];
    Ok(match (method.as_str(), path.as_str()) {
        ("POST", "/services/rest/query/v1/suiteql") => {
            let mut item = json!({"links": [], "id": "77", "comments": COMMENT, "note": format!("issued for {TOKEN}")});
            item.as_object_mut().unwrap().extend(person.as_object().unwrap().clone());
            if drift.load(Ordering::SeqCst) {
                item["id"] = json!(77);
                item["externalId"] = json!("CUST-77");
            }
            answer(
                200,
                &cookie,
                Some(
                    json!({"links": [], "count": 1, "hasMore": false, "items": [item], "offset": 0, "totalResults": 1}),
                ),
            )
        }
        ("GET", "/services/rest/record/v1/customer/77") => {
            let mut customer = json!({"id": "77"});
            customer.as_object_mut().unwrap().extend(person.as_object().unwrap().clone());
            answer(200, &cookie, Some(customer))
        }
        ("POST", "/services/rest/record/v1/salesOrder") => {
            answer(204, &[("Location", "/services/rest/record/v1/salesOrder/501".into())], None)
        }
        _ => answer(404, &[], Some(json!({"title": "Not Found"}))),
    })
}

fn upstream() -> Upstream {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let drift = Arc::new(AtomicBool::new(false));
    // A CA made for this test, and a certificate it signs for 127.0.0.1.
    let (acceptor, ca) = common::test_tls(&["127.0.0.1"]);
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut ca_file, ca.as_bytes()).unwrap();
    let (http, https) = runtime.block_on(async {
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let secure = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addrs = (plain.local_addr().unwrap(), secure.local_addr().unwrap());
        let d = drift.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = plain.accept().await {
                let d = d.clone();
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(move |r| netsuite(r, d.clone()))),
                );
            }
        });
        let d = drift.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = secure.accept().await {
                let (d, acceptor) = (d.clone(), acceptor.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service_fn(move |r| netsuite(r, d.clone())))
                            .await;
                    }
                });
            }
        });
        addrs
    });
    Upstream { http, https, ca: ca_file, drift, _runtime: runtime }
}

/// `GET <url>/services/rest/record/v1/customer/77` with the planted token: the status.
fn get_customer(rt: &tokio::runtime::Runtime, http: &reqwest::Client, url: &str) -> u16 {
    rt.block_on(async {
        http.get(format!("{url}/services/rest/record/v1/customer/77"))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

fn client() -> (tokio::runtime::Runtime, reqwest::Client) {
    (
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
        reqwest::Client::builder().no_proxy().build().unwrap(),
    )
}

/// Every file under `dir` with its text.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((
                    e.path().display().to_string(),
                    String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned(),
                ));
            }
        }
    }
    out
}

fn assert_nothing_planted(dir: &Path, outputs: &[&str]) {
    for (file, text) in files(dir) {
        for value in planted() {
            assert!(!text.contains(&value), "`{value}` is in {file}:\n{text}");
        }
    }
    for out in outputs {
        for value in planted() {
            assert!(!out.contains(value.as_str()), "`{value}` printed:\n{out}");
        }
    }
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[test]
fn record_redact_replay_and_check_for_drift() {
    let p = project(&["fixtures/recording"]);
    let up = upstream();
    let ca = up.ca.path().to_str().unwrap().to_string();
    let https = format!("https://{}", up.https);
    let (rt, http) = client();

    // Through the proxy over HTTPS: the lookup and the order the fixture flow makes.
    let draft = ["--upstream-ca", &ca, "--scenario", "orders/recorded", "--trigger", "webhooks/order.json"];
    let mut rec = record(p.path(), "netsuite", "2025.1", &https, "recorded", &draft);
    let lookup = rt.block_on(async {
        let r = http
            .post(format!("{}/services/rest/query/v1/suiteql", rec.url))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Prefer", "transient")
            .json(&json!({"q": "SELECT id FROM customer WHERE email = 'sam.cole@example.com'"}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(lookup.0, 200, "{}", lookup.1);
    assert!(lookup.1.contains(EMAIL), "answered unchanged: {}", lookup.1);
    assert!(
        rec.next_line().contains("mocks/netsuite/2025.1/recorded/post-services-rest-query-v1-suiteql.json"),
        "{:?}",
        rec.seen
    );
    let oauth = format!(
        r#"OAuth realm="TSTDRV0000001", oauth_consumer_key="{CONSUMER_KEY}", oauth_token="{OAUTH_TOKEN}", oauth_signature_method="HMAC-SHA256", oauth_signature="c2lnbmF0dXJlLWZvci10ZXN0cw%3D%3D""#
    );
    let order = rt.block_on(async {
        let r = http
            .post(format!("{}/services/rest/record/v1/salesOrder", rec.url))
            .header("Authorization", oauth)
            .json(&json!({"externalId": "SHOPIFY-9001", "entity": {"id": "77"}}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.headers().get("location").map(|l| l.to_str().unwrap().to_string()))
    });
    assert_eq!(order, (204, Some("/services/rest/record/v1/salesOrder/501".into())));
    assert!(rec.next_line().contains("recorded/post-services-rest-record-v1-salesorder.json"), "{:?}", rec.seen);
    let first_session = rec.stop();
    assert!(first_session.contains("redacted: credentials "), "{first_session}");

    // Another session, over plain HTTP: the customer record, with the same person in it.
    let mut rec = record(p.path(), "netsuite", "2025.1", &format!("http://{}", up.http), "lookup", &[]);
    let customer = get_customer(&rt, &http, &rec.url);
    assert_eq!(customer, 200);
    assert!(rec.next_line().contains("recorded/get-services-rest-record-v1-customer-77.json"), "{:?}", rec.seen);
    let second_session = rec.stop();

    assert_nothing_planted(p.path(), &[&first_session, &second_session]);
    let version = p.path().join("mocks/netsuite/2025.1");
    let lookup = json_file(&version.join("recorded/post-services-rest-query-v1-suiteql.json"));
    let record = json_file(&version.join("recorded/get-services-rest-record-v1-customer-77.json"));
    let fake = lookup["body"]["items"][0]["email"].as_str().unwrap();
    assert!(fake.ends_with("@example.com"), "{fake}");
    assert_eq!(record["body"]["email"], fake, "the same person has the same fake in both files");
    assert_eq!(lookup["body"]["items"][0]["comments"], "[redacted]", "harness.yaml's extra path");
    assert_eq!(lookup["recording"]["source"].as_str(), Some(https.as_str()));
    assert!(lookup["recording"]["recorded_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(
        std::fs::read_to_string(p.path().join(".harness/.gitignore")).unwrap().contains('*'),
        "the key stays out of git"
    );

    // The draft replays green.
    let stubs = std::fs::read_to_string(version.join("stubs/recorded.yaml")).unwrap();
    assert!(stubs.contains(r#"respond: {"file":"recorded/post-services-rest-query-v1-suiteql.json"}"#), "{stubs}");
    let accepted = harness(p.path(), &["run", "--accept", "--color", "never", "scenarios/orders/recorded.yaml"]);
    assert_eq!(accepted.code, 0, "{}{}", accepted.stdout, accepted.stderr);
    let again = harness(p.path(), &["run", "--color", "never", "scenarios/orders/recorded.yaml"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("1 passed"), "{}", again.stdout);
    let lint = harness(p.path(), &["lint"]);
    assert_eq!(lint.code, 0, "recordings lint clean: {}", lint.stdout);

    // The live answers change: the field the flow binds is retyped, one is added.
    up.drift.store(true, Ordering::SeqCst);
    let auth = format!("Authorization: Bearer {TOKEN}");
    let check_args = [
        "record",
        "--check",
        "--system",
        "netsuite",
        "--version",
        "2025.1",
        "--upstream",
        &https,
        "--upstream-ca",
        &ca,
        "--header",
        &auth,
    ];
    let reports = ["--html", "report/drift.html", "--json", "report/drift.json", "--junit", "report/drift.xml"];
    let check = harness(p.path(), &[&check_args[..], &reports].concat());
    assert_eq!(check.code, 1, "{}{}", check.stdout, check.stderr);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("report/drift.json")).unwrap()).unwrap();
    assert!(json["checked"].as_array().unwrap().iter().any(|c| c["breaks_a_flow"] == true), "{json}");
    let junit = std::fs::read_to_string(p.path().join("report/drift.xml")).unwrap();
    assert!(junit.contains("<failure") && !junit.contains(TOKEN), "{junit}");
    let page = std::fs::read_to_string(p.path().join("report/drift.html")).unwrap();
    assert!(
        page.contains("<h1>harness record --check netsuite 2025.1: <span class=\"failed\">failed</span></h1>"),
        "{page}"
    );
    assert!(
        page.contains("type changed items[].id (string → number)\n  read by orders → netsuite body.entity"),
        "{page}"
    );
    assert!(page.contains("not sent: it writes") && !page.contains(TOKEN), "{page}");
    assert!(check.stdout.contains("type changed items[].id (string → number)"), "{}", check.stdout);
    assert!(check.stdout.contains("read by orders → netsuite body.entity"), "{}", check.stdout);
    assert!(check.stdout.contains("added items[].externalId"), "{}", check.stdout);
    assert!(check.stdout.contains("not sent: it writes"), "the sales order is not created again: {}", check.stdout);
    assert!(!check.stdout.contains(TOKEN), "{}", check.stdout);

    up.drift.store(false, Ordering::SeqCst);
    let quiet = harness(p.path(), &check_args);
    assert_eq!(quiet.code, 0, "{}{}", quiet.stdout, quiet.stderr);
    assert!(quiet.stdout.contains("0 changed field(s) read by flows"), "{}", quiet.stdout);
}

#[test]
fn peoplevox_soap_sessions_are_recorded_without_credentials() {
    let p = project(&["fixtures/recording"]);
    let up = upstream();
    let (rt, http) = client();
    let mut rec = record(p.path(), "peoplevox", "v4", &format!("http://{}", up.http), "warehouse", &[]);
    let envelope = |header: &str, body: &str| {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">{header}<soap:Body>{body}</soap:Body></soap:Envelope>"#
        )
    };
    let call = |action: &str, text: String| {
        rt.block_on(async {
            let r = http
                .post(format!("{}{PVX_PATH}", rec.url))
                .header("Content-Type", "text/xml; charset=utf-8")
                .header("SOAPAction", format!("\"http://www.peoplevox.net/{action}\""))
                .body(text)
                .send()
                .await
                .unwrap();
            r.text().await.unwrap()
        })
    };
    let auth = call(
        "Authenticate",
        envelope(
            "",
            &format!(
                r#"<Authenticate xmlns="http://www.peoplevox.net/"><clientId>acme</clientId><username>integration</username><password>{PVX_PASSWORD}</password></Authenticate>"#
            ),
        ),
    );
    assert!(auth.contains(PVX_SESSION), "relayed unchanged: {auth}");
    let session = format!(
        r#"<soap:Header><UserSessionCredentials xmlns="http://www.peoplevox.net/"><UserId>0</UserId><ClientId>acme</ClientId><SessionId>{PVX_SESSION}</SessionId></UserSessionCredentials></soap:Header>"#
    );
    let data = call(
        "GetData",
        envelope(
            &session,
            r#"<GetData xmlns="http://www.peoplevox.net/"><getRequest><TemplateName>Customers</TemplateName><PageNo>1</PageNo><ItemsPerPage>10</ItemsPerPage></getRequest></GetData>"#,
        ),
    );
    assert!(data.contains(EMAIL), "{data}");
    for _ in 0..2 {
        assert!(
            rec.next_line().contains("mocks/peoplevox/v4/recorded/post-resources-integrationservicev4-asmx"),
            "{:?}",
            rec.seen
        );
    }
    let out = rec.stop();
    assert_nothing_planted(p.path(), &[&out]);
    let stubs = std::fs::read_to_string(p.path().join("mocks/peoplevox/v4/stubs/warehouse.yaml")).unwrap();
    assert!(
        stubs.contains(r#""soap_action":"Authenticate""#) && stubs.contains(r#""soap_action":"GetData""#),
        "told apart by operation: {stubs}"
    );
    let answer = json_file(&p.path().join("mocks/peoplevox/v4/recorded/post-resources-integrationservicev4-asmx.json"));
    assert!(answer["body_text"].as_str().unwrap().contains("<Detail>acme,[redacted]</Detail>"), "{answer}");
}

#[test]
fn an_untrusted_upstream_is_not_recorded() {
    let p = project(&["fixtures/recording"]);
    let up = upstream();
    let (rt, http) = client();
    let mut rec = record(p.path(), "netsuite", "2025.1", &format!("https://{}", up.https), "untrusted", &[]);
    let status = get_customer(&rt, &http, &rec.url);
    assert_eq!(status, 502);
    assert!(rec.next_line().contains("not answered: TLS with 127.0.0.1"), "{:?}", rec.seen);
    rec.stop();
    assert!(!p.path().join("mocks/netsuite/2025.1/recorded").exists());
}

#[test]
fn import_a_har_file() {
    let p = project(&["fixtures/recording"]);
    let har = json!({"log": {"version": "1.2", "creator": {"name": "devtools", "version": "1"}, "entries": [
        {
            "startedDateTime": "2026-03-02T11:15:00.123+01:00",
            "request": {"method": "GET", "url": "https://acme-retail.myshopify.com/admin/api/2025-01/orders/9001.json?fields=id,email", "headers": [{"name": "X-Shopify-Access-Token", "value": format!("shpat_{TOKEN}")}, {"name": ":authority", "value": "acme-retail.myshopify.com"}]},
            "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"}, {"name": "Set-Cookie", "value": format!("_secure_session_id={SESSION}")}],
                "content": {"mimeType": "application/json", "text": json!({"order": {"id": 9001, "email": EMAIL, "customer": {"first_name": FIRST, "last_name": LAST, "phone": format!("+44 {PHONE}")}, "browser_ip": public_ip()}}).to_string()}}
        },
        {
            "startedDateTime": "2026-03-02T10:15:01Z",
            "request": {"method": "GET", "url": "https://www.google-analytics.com/collect?v=1", "headers": []},
            "response": {"status": 204, "headers": [], "content": {"text": ""}}
        }
    ]}});
    let file = p.path().join("capture.har");
    std::fs::write(&file, har.to_string()).unwrap();
    let out = harness(p.path(), &["import", "capture.har"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("skipped entries for hosts the harness does not know: www.google-analytics.com (1)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("imported 1 recording(s)"), "{}", out.stdout);
    std::fs::remove_file(&file).unwrap();
    assert_nothing_planted(p.path(), &[&out.stdout]);
    let recorded = json_file(&p.path().join("mocks/shopify/2025-01/recorded/get-admin-api-orders-9001.json"));
    assert_eq!(recorded["recording"]["recorded_at"], "2026-03-02T10:15:00Z");
    assert_eq!(recorded["recording"]["request"]["path"], "/admin/api/2025-01/orders/9001.json?fields=id,email");
    assert!(recorded["body"]["order"]["email"].as_str().unwrap().ends_with("@example.com"));

    // A bare payload: a Shopify REST envelope, its version from harness.yaml.
    let order = p.path().join("order-9003.json");
    std::fs::write(&order, json!({"order": {"id": 9003, "email": EMAIL, "billing_address": {"address1": format!("12 {STREET}"), "phone": format!("+44 {PHONE}")}}}).to_string()).unwrap();
    let out = harness(p.path(), &["import", "order-9003.json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    std::fs::remove_file(&order).unwrap();
    assert_nothing_planted(p.path(), &[&out.stdout]);
    let imported = json_file(&p.path().join("mocks/shopify/2025-01/imported/order-9003.json"));
    assert!(imported["recording"].get("request").is_none(), "a payload alone has no request to send again: {imported}");
    assert_eq!(
        imported["body"]["order"]["email"], recorded["body"]["order"]["email"],
        "the same customer, the same fake"
    );
}

#[test]
fn webhook_deliveries_are_verified_and_stored() {
    use base64::Engine;
    use hmac::Mac;
    let p = project(&["fixtures/recording"]);
    let secret = "fixture-app-secret-for-webhooks";
    let mut rec = recorder(
        p.path(),
        &["record", "webhook", "--system", "shopify", "--secret-env", "FIXTURE_APP_SECRET"],
        &[("FIXTURE_APP_SECRET", secret)],
    );
    let body =
        json!({"id": 9002, "name": "#2002", "email": EMAIL, "customer": {"first_name": FIRST, "last_name": LAST}})
            .to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let (rt, http) = client();
    let url = rec.url.clone();
    let deliver = |sig: &str| {
        rt.block_on(async {
            http.post(&url)
                .header("X-Shopify-Topic", "orders/create")
                .header("X-Shopify-API-Version", "2025-01")
                .header("X-Shopify-Hmac-Sha256", sig)
                .body(body.clone())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    assert_eq!(deliver("dGFtcGVyZWQ="), 401);
    assert!(rec.next_line().contains("HMAC does not verify"), "{:?}", rec.seen);
    assert_eq!(deliver(&signature), 200);
    assert!(rec.next_line().contains("mocks/shopify/2025-01/webhooks/orders-create/delivery.json"), "{:?}", rec.seen);
    let out = rec.stop();
    assert_nothing_planted(p.path(), &[&out]);
    let stored = json_file(&p.path().join("mocks/shopify/2025-01/webhooks/orders-create/delivery.json"));
    assert_eq!(stored["recording"]["endpoint"], "webhook orders/create");
    assert_eq!(stored["body"]["name"], "#2002");
}

#[test]
fn stale_recordings_warn_and_fail_when_strict() {
    let p = project(&["fixtures/stale"]);
    let run = harness(p.path(), &["run", "--color", "never", "scenarios/orders/simple.yaml"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("mocks/netsuite/2025.1/responses/customer-found.json was recorded 507 days ago (2024-01-10T09:00:00Z), older than max_recording_age"), "{}", run.stdout);
    let strict = harness(p.path(), &["run", "--color", "never", "--strict-recordings", "scenarios/orders/simple.yaml"]);
    assert_eq!(strict.code, 1, "{}{}", strict.stdout, strict.stderr);
    let listed = harness(p.path(), &["recordings"]);
    assert_eq!(listed.code, 0, "{}{}", listed.stdout, listed.stderr);
    assert!(listed.stdout.contains("mocks/netsuite/2025.1/responses/customer-found.json  STALE"), "{}", listed.stdout);
    assert!(listed.stdout.contains("used by orders/simple, orders/unknown-sku"), "{}", listed.stdout);
    let unsupported = harness_with(
        p.path(),
        &["run", "--color", "never", "scenarios/orders/simple.yaml"],
        &[("HARNESS_NOW", "2026-06-01")],
    );
    assert!(unsupported.stdout.contains("shopify@2025-01 is past its end of support"), "{}", unsupported.stdout);
}

#[test]
fn lint_finds_a_planted_token() {
    let p = project(&[]);
    let token = format!("shpat_{}", "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d");
    let leaky = format!("{{\n  \"body\": {{\n    \"access_token\": \"{token}\"\n  }}\n}}\n");
    std::fs::write(p.path().join("mocks/netsuite/2025.1/responses/leaky.json"), leaky).unwrap();
    let lint = harness(p.path(), &["lint"]);
    assert_eq!(lint.code, 1, "{}{}", lint.stdout, lint.stderr);
    assert!(
        lint.stdout.contains("mocks/netsuite/2025.1/responses/leaky.json:3:22: Shopify token `shpa…`"),
        "{}",
        lint.stdout
    );
    assert!(!lint.stdout.contains(&token), "{}", lint.stdout);
    let run = harness(p.path(), &["run", "--color", "never"]);
    assert!(run.stderr.contains("warning: mocks/netsuite/2025.1/responses/leaky.json:3:22"), "{}", run.stderr);
}
