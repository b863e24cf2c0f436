use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regex::Regex;
use serde_json::{Value, json};

use super::*;
use crate::tests::lint;

const KEY: [u8; 32] = [42; 32];

fn redactor() -> Redactor {
    Redactor::new(KEY, RedactionConfig::default())
}

/// A public address for the tests, built from its parts (no address literals in source).
fn public_v4() -> String {
    Ipv4Addr::new(81, 2, 69, 160).to_string()
}

fn private_v4() -> String {
    Ipv4Addr::new(10, 0, 0, 1).to_string()
}

fn public_v6() -> String {
    Ipv6Addr::new(0x2a00, 0x1450, 0x4009, 0x81f, 0, 0, 0, 0x200e).to_string()
}

fn address(first: &str, last: &str) -> Value {
    json!({
        "first_name": first, "last_name": last, "name": format!("{first} {last}"), "company": "Doe Design",
        "address1": "12 High Street", "address2": "Flat 3", "city": "London", "zip": "SW1A 1AA",
        "province": "England", "country_code": "GB", "phone": "07700 900123"
    })
}

fn shopify_order() -> Value {
    json!({
        "id": 5_551_234, "name": "#1001", "email": "Jane.Doe@Gmail.com", "contact_email": "jane.doe@gmail.com",
        "phone": "+44 7700 900123", "note": "Leave with neighbour; questions to jane.doe@gmail.com",
        "browser_ip": public_v4(), "client_details": { "browser_ip": public_v6(), "accept_language": "en-GB" },
        "checkout_token": "c1k2t3a4b5c6d7", "token": "b1946ac92492d2347c6235b4d2611184",
        "customer": {
            "id": 1, "email": "jane.doe@gmail.com", "first_name": "Jane", "last_name": "Doe", "phone": "+447700900123",
            "default_address": address("Jane", "Doe")
        },
        "billing_address": address("Jane", "Doe"),
        "shipping_address": address("Jane", "Doe"),
        "line_items": [{ "name": "Blue Mug", "sku": "MUG-1", "properties": [{ "name": "engraving", "value": "J.D." }] }],
        "note_attributes": [{ "name": "delivery", "value": "back door" }],
        "test": false, "total_price": "12.50"
    })
}

fn is_fake_email(s: &str) -> bool {
    Regex::new(r"^customer-[0-9a-f]{12}@example\.com$").unwrap().is_match(s)
}

#[test]
fn shopify_order_keeps_no_personal_data() {
    let mut r = redactor();
    let out =
        String::from_utf8(r.body("application/json; charset=utf-8", shopify_order().to_string().as_bytes())).unwrap();
    let lower = out.to_lowercase();
    for real in [
        "jane",
        "doe",
        "gmail",
        "high street",
        "flat 3",
        "7700 900123",
        "7700900123",
        "b1946ac9",
        &public_v4(),
        &public_v6(),
    ] {
        assert!(!lower.contains(&real.to_lowercase()), "{real} left in {out}");
    }

    let order: Value = serde_json::from_str(&out).unwrap();
    let email = order["email"].as_str().unwrap();
    assert!(is_fake_email(email), "{email}");
    assert_eq!(order["contact_email"], order["email"], "case-insensitively the same address");
    assert_eq!(order["customer"]["email"], order["email"]);
    assert!(order["note"].as_str().unwrap().ends_with(&format!("questions to {email}")));

    let phone = order["phone"].as_str().unwrap();
    assert!(phone.starts_with("+44 ") && phone.len() == "+44 7700 900123".len(), "{phone}");
    assert_eq!(order["customer"]["phone"].as_str().unwrap(), phone.replace(' ', ""), "one number, two spellings");

    let billing = &order["billing_address"];
    assert_eq!(
        billing["name"].as_str().unwrap(),
        format!("{} {}", billing["first_name"].as_str().unwrap(), billing["last_name"].as_str().unwrap())
    );
    assert_eq!(billing, &order["shipping_address"]);
    assert!(billing["address1"].as_str().unwrap().ends_with(" Street"));
    for (field, kept) in [("city", "London"), ("zip", "SW1A 1AA"), ("province", "England"), ("country_code", "GB")] {
        assert_eq!(billing[field], kept);
    }
    assert!(order["browser_ip"].as_str().unwrap().parse::<Ipv4Addr>().unwrap().is_documentation());
    let v6: Ipv6Addr = order["client_details"]["browser_ip"].as_str().unwrap().parse().unwrap();
    assert_eq!(v6.segments()[..2], [0x2001, 0x0db8], "documentation prefix");

    for (pointer, kept) in [
        ("/name", json!("#1001")),
        ("/checkout_token", json!("c1k2t3a4b5c6d7")),
        ("/line_items/0/name", json!("Blue Mug")),
        ("/line_items/0/properties/0/name", json!("engraving")),
        ("/note_attributes/0/value", json!("back door")),
        ("/test", json!(false)),
        ("/id", json!(5_551_234)),
    ] {
        assert_eq!(order.pointer(pointer), Some(&kept), "{pointer}");
    }
    assert_eq!(order["token"], REDACTED);

    let summary = r.summary();
    assert_eq!((summary.emails, summary.ips, summary.credentials), (4, 2, 1), "{summary}");
    assert!(summary.names >= 12 && summary.streets == 6 && summary.phones == 5, "{summary}");
    assert!(lint(&out, &[]).is_empty(), "{:?}", lint(&out, &[]));
}

#[test]
fn graphql_and_netsuite_shapes() {
    let mut r = redactor();
    let mut graphql = json!({ "data": {
        "customers": { "edges": [{ "node": { "displayName": "Jane Doe", "defaultPhoneNumber": { "phoneNumber": "+447700900123" },
            "defaultAddress": { "name": "Jane Doe", "formatted": ["Jane Doe", "12 High Street", "London"] } } }] },
        "locations": { "nodes": [{ "name": "Main Warehouse" }] },
        "productVariants": { "edges": [{ "node": { "displayName": "Blue Mug - Large" } }] }
    } });
    r.json(&mut graphql);
    let text = graphql.to_string();
    assert!(!text.contains("Jane") && !text.contains("High Street") && !text.contains("7700900123"), "{text}");
    assert!(text.contains("Main Warehouse") && text.contains("Blue Mug - Large"), "{text}");

    let mut customer = json!({ "entityId": "CUS1001", "firstName": "Jane", "companyName": "Doe Design", "altPhone": "020 7946 0958",
        "addressBook": { "items": [{ "addressBookAddress": { "addressee": "Jane Doe", "addr1": "12 High Street", "addrPhone": "020 7946 0958", "city": "London", "zip": "SW1A 1AA", "addrText": "Jane Doe\n12 High Street\nLondon" } }] } });
    r.json(&mut customer);
    let text = customer.to_string();
    assert!(
        !text.contains("Jane") && !text.contains("Doe") && !text.contains("High Street") && !text.contains("7946 0958"),
        "{text}"
    );
    assert!(text.contains("CUS1001") && text.contains("London") && text.contains("SW1A 1AA"), "{text}");
}

#[test]
fn fakes_are_consistent_across_bodies_and_redactors() {
    let mut first = redactor();
    let order: Value =
        serde_json::from_slice(&first.body("application/json", shopify_order().to_string().as_bytes())).unwrap();
    let customer =
        json!({ "customer": { "email": "JANE.DOE@GMAIL.COM", "first_name": "Jane", "phone": "+44 7700 900123" } });
    let mut again = Redactor::new(KEY, RedactionConfig::default());
    let mut customer_value = customer.clone();
    again.json(&mut customer_value);
    assert_eq!(customer_value["customer"]["email"], order["email"]);
    assert_eq!(customer_value["customer"]["first_name"], order["customer"]["first_name"]);
    assert_eq!(customer_value["customer"]["phone"], order["phone"]);

    let mut other_key = Redactor::new([1; 32], RedactionConfig::default());
    let mut other = customer;
    other_key.json(&mut other);
    assert_ne!(other["customer"]["email"], order["email"]);
}

const SOAP_OPEN: &str =
    r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">"#;
const SESSION: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

#[test]
fn peoplevox_authenticate_and_save_data() {
    let mut r = redactor();
    let request = format!(
        r#"{SOAP_OPEN}<soap:Body><Authenticate xmlns="http://www.peoplevox.net/"><clientId>acme</clientId><username>integration</username><password>UGEkJHcwcmQtcmVhbA==</password></Authenticate></soap:Body></soap:Envelope>"#
    );
    let out = String::from_utf8(r.body("text/xml; charset=utf-8", request.as_bytes())).unwrap();
    assert_eq!(out, request.replace("UGEkJHcwcmQtcmVhbA==", REDACTED), "only the password changes");

    let response = format!(
        r#"{SOAP_OPEN}<soap:Body><AuthenticateResponse xmlns="http://www.peoplevox.net/"><AuthenticateResult><ResponseId>0</ResponseId><TotalCount>1</TotalCount><Detail>acme,{SESSION}</Detail></AuthenticateResult></AuthenticateResponse></soap:Body></soap:Envelope>"#
    );
    let out = String::from_utf8(r.body("text/xml; charset=utf-8", response.as_bytes())).unwrap();
    assert!(out.contains("<Detail>acme,[redacted]</Detail>"), "{out}");

    let csv = "SalesOrderNumber,Email,ContactName,ShippingAddressLine1,ShippingAddressCity,ShippingAddressPostcode,Customer\n\
               #1001,Jane.Doe@gmail.com,Jane Doe,\"12 High Street, Flat 3\",Stoke &amp; Trent,ST1 1AA,jane.doe@gmail.com\n";
    let save = format!(
        r#"{SOAP_OPEN}<soap:Header><UserSessionCredentials xmlns="http://www.peoplevox.net/"><UserId>0</UserId><ClientId>acme</ClientId><SessionId>{SESSION}</SessionId></UserSessionCredentials></soap:Header><soap:Body><SaveData xmlns="http://www.peoplevox.net/"><saveRequest><TemplateName>Sales orders</TemplateName><CsvData>{csv}</CsvData><Action>0</Action></saveRequest></SaveData></soap:Body></soap:Envelope>"#
    );
    assert_eq!(r.leaked(&save), ["SessionId"], "the session from the answer is known");
    let out = String::from_utf8(r.body("text/xml", save.as_bytes())).unwrap();
    assert!(r.leaked(&out).is_empty());
    for real in ["jane", "Jane", "High Street", SESSION, "UGEkJHcwcmQtcmVhbA"] {
        assert!(!out.contains(real), "{real} left in {out}");
    }
    assert!(out.contains("<SessionId>[redacted]</SessionId>") && out.contains("<ClientId>acme</ClientId>"), "{out}");
    assert!(out.contains("<TemplateName>Sales orders</TemplateName>"));

    let csv_out = &out[out.find("<CsvData>").unwrap() + 9..out.find("</CsvData>").unwrap()];
    let csv_out = quick_xml::escape::unescape(csv_out).unwrap();
    let mut rows = csv::Reader::from_reader(csv_out.as_bytes());
    let row = rows.records().next().unwrap().unwrap();
    assert_eq!(&row[0], "#1001");
    assert!(is_fake_email(&row[1]) && row[1] == row[6], "{row:?}");
    assert_eq!(row[1], {
        let mut order = shopify_order();
        r.json(&mut order);
        order["email"].as_str().unwrap().to_string()
    });
    assert!(row[3].ends_with(" Street"));
    assert_eq!((&row[4], &row[5]), ("Stoke & Trent", "ST1 1AA"));
}

#[test]
fn peoplevox_detail_csv_and_messages() {
    let mut r = redactor();
    let answer = format!(
        r#"{SOAP_OPEN}<soap:Body><GetDataResponse><GetDataResult><ResponseId>0</ResponseId><Detail>Code,Email,Phone&#xD;
C1,jane@gmail.com,+44 7700 900123&#xD;
</Detail></GetDataResult></GetDataResponse></soap:Body></soap:Envelope>"#
    );
    let out = String::from_utf8(r.body("text/xml", answer.as_bytes())).unwrap();
    assert!(!out.contains("jane@") && !out.contains("7700 900123") && out.contains("C1,customer-"), "{out}");
    let message = format!(
        "{SOAP_OPEN}<soap:Body><SaveDataResponse><SaveDataResult><Detail>No customer jane@gmail.com, sorry</Detail></SaveDataResult></SaveDataResponse></soap:Body></soap:Envelope>"
    );
    let out = String::from_utf8(r.body("text/xml", message.as_bytes())).unwrap();
    assert!(out.contains("<Detail>No customer customer-") && out.contains(", sorry</Detail>"), "{out}");
}

#[test]
fn xml_attributes_comments_and_netsuite_passport() {
    let mut r = redactor();
    let xml = r#"<r xmlns:x="urn:x"><!-- for jane@gmail.com --><x:customer email="jane@gmail.com" id="7"/><tokenPassport><account>123_SB1</account><consumerKey>ck-0123456789abcdef</consumerKey><token>tk-0123456789abcdef</token><nonce>n0nc3n0nc3</nonce><timestamp>1700000000</timestamp><signature algorithm="HMAC-SHA256">c2lnbmF0dXJlLWJ5dGVz</signature></tokenPassport></r>"#;
    let out = String::from_utf8(r.body("application/xml", xml.as_bytes())).unwrap();
    assert!(
        !out.contains("jane")
            && !out.contains("0123456789abcdef")
            && !out.contains("n0nc3")
            && !out.contains("c2lnbmF0"),
        "{out}"
    );
    assert!(out.contains(r#"<x:customer email="customer-"#) && out.contains(r#" id="7"/>"#), "{out}");
    assert!(
        out.contains("<account>123_SB1</account>")
            && out.contains("<timestamp>1700000000</timestamp>")
            && out.contains(r#"<signature algorithm="HMAC-SHA256">[redacted]</signature>"#),
        "{out}"
    );
}

#[test]
fn form_body_with_client_assertion() {
    let mut r = redactor();
    let assertion =
        "eyJhbGciOiJQUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJjbGllbnQtaWQiLCJhdWQiOiJ0b2tlbiJ9.c2lnbmF0dXJlLWJ5dGVz";
    let form = format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
    );
    let out = String::from_utf8(r.body("application/x-www-form-urlencoded", form.as_bytes())).unwrap();
    assert_eq!(out, form.replace(assertion, REDACTED));
    assert_eq!(r.leaked(&form), ["client_assertion"]);

    let response = json!({ "access_token": "eyJraWQiOiJhYmMifQ.eyJzdWIiOiJ4eXoifQ.sig-0123456789", "token_type": "Bearer", "expires_in": "3600" });
    let out: Value = serde_json::from_slice(&r.body("application/json", response.to_string().as_bytes())).unwrap();
    assert_eq!(out, json!({ "access_token": REDACTED, "token_type": "Bearer", "expires_in": "3600" }));
}

#[test]
fn query_strings_keep_order_and_encoding() {
    let mut r = redactor();
    let out = r.query("query=email:Jane.Doe%40gmail.com&limit=5&fields=id,email&access_token=abc123def456&flag&shop=acme.myshopify.com");
    let email = {
        let mut v = json!({ "email": "jane.doe@gmail.com" });
        r.json(&mut v);
        v["email"].as_str().unwrap().to_string()
    };
    assert_eq!(
        out,
        format!(
            "query=email%3A{}&limit=5&fields=id,email&access_token=[redacted]&flag&shop=acme.myshopify.com",
            email.replace('@', "%40")
        )
    );
    let out = r.query("email=jane.doe@gmail.com&phone=%2B44%207700%20900123&name=a+b");
    assert!(
        out.starts_with(&format!("email={email}&phone=%2B44%20"))
            && out.ends_with("&name=a+b")
            && !out.contains("900123"),
        "{out}"
    );
    assert_eq!(out.len(), "email=&phone=%2B44%207700%20900123&name=a+b".len() + email.len());
    let unchanged = "a=1&b=%E2%9C%93&c=x+y&d=";
    assert_eq!(r.query(unchanged), unchanged);
}

#[test]
fn headers_keep_schemes_and_names() {
    let mut r = redactor();
    let basic = STANDARD.encode("api-user:s3cr3t-pass");
    let mut headers: Vec<(String, String)> = [
        ("Authorization", "Bearer shpat_live_0123456789abcdef".to_string()),
        ("Proxy-Authorization", format!("Basic {basic}")),
        ("X-Shopify-Access-Token", format!("shpat_{}", "0123456789abcdef".repeat(2))),
        ("X-Shopify-Hmac-Sha256", "bWFjLXZhbHVlLWJhc2U2NA==".to_string()),
        ("Cookie", "_session_id=abcdef123456; theme=dark-mode-1".to_string()),
        ("Set-Cookie", "_session_id=abcdef123456; Path=/; HttpOnly".to_string()),
        ("X-Forwarded-For", format!("{}, {}", public_v4(), private_v4())),
        ("Content-Type", "application/json".to_string()),
        ("X-Note", "sent by abcdef123456".to_string()),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v))
    .collect();
    r.headers(&mut headers);
    let values: Vec<&str> = headers.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(
        values[..6],
        [
            "Bearer [redacted]",
            "Basic [redacted]",
            "[redacted]",
            "[redacted]",
            "_session_id=[redacted]; theme=[redacted]",
            "_session_id=[redacted]; Path=/; HttpOnly"
        ]
    );
    assert!(values[6].ends_with(&format!(", {}", private_v4())) && !values[6].contains(&public_v4()), "{}", values[6]);
    assert_eq!(values[7..], ["application/json", "sent by [redacted]"]);

    let other_user = STANDARD.encode("someone:s3cr3t-pass");
    assert_eq!(r.leaked(&format!("replayed with Basic {other_user}")), ["proxy-authorization"]);
    assert_eq!(r.leaked("theme=dark-mode-1"), ["cookie"]);
    let once = headers.clone();
    r.headers(&mut headers);
    assert_eq!(headers, once, "redacting twice changes nothing");
}

#[test]
fn oauth1_authorization_header() {
    let mut r = redactor();
    let mut headers = vec![(
        "Authorization".to_string(),
        r#"OAuth realm="1234567_SB1",oauth_consumer_key="ck0123456789",oauth_token="tk0123456789",oauth_signature_method="HMAC-SHA256",oauth_timestamp="1700000000",oauth_nonce="n0nce0123",oauth_version="1.0",oauth_signature="c2lnbmF0dXJl%2Bc2ln%3D""#.to_string(),
    )];
    r.headers(&mut headers);
    assert_eq!(
        headers[0].1,
        r#"OAuth realm="[redacted]",oauth_consumer_key="[redacted]",oauth_token="[redacted]",oauth_signature_method="HMAC-SHA256",oauth_timestamp="1700000000",oauth_nonce="[redacted]",oauth_version="1.0",oauth_signature="[redacted]""#
    );
    assert_eq!(r.leaked(r#"{"k":"ck0123456789","t":"tk0123456789"}"#), ["oauth_consumer_key", "oauth_token"]);
    assert!(r.leaked("c2lnbmF0dXJl+c2ln= n0nce0123").is_empty(), "single-use values are not remembered");
    assert!(r.leaked("account 1234567_SB1").is_empty(), "the realm is not remembered");
}

#[test]
fn leaked_finds_surviving_tokens_in_any_form() {
    let mut r = redactor();
    let token = "tok/live+8f14e45fceea167a5a36";
    let mut headers = vec![("Authorization".to_string(), format!("Bearer {token}"))];
    r.headers(&mut headers);
    let percent = "tok%2Flive%2B8f14e45fceea167a5a36";
    for text in
        [format!("body: {{\"echo\": \"{token}\"}}"), format!("url: /x?t={percent}"), json!({ "t": token }).to_string()]
    {
        assert_eq!(r.leaked(&text), ["authorization"], "{text}");
    }
    assert!(r.leaked("nothing here but tok/live").is_empty());
    // Every later body loses it too, whatever field it sits in.
    let body = json!({ "note": format!("retry with {token}"), "url": format!("https://x.test/cb?t={percent}") });
    let out = String::from_utf8(r.body("application/json", body.to_string().as_bytes())).unwrap();
    assert!(r.leaked(&out).is_empty(), "{out}");
}

#[test]
fn malformed_bodies_are_treated_as_text() {
    let mut r = redactor();
    let mut headers = vec![("X-Api-Key".to_string(), "key-0123456789".to_string())];
    r.headers(&mut headers);
    for (content_type, body) in [
        ("application/json", r#"{"email": "jane@gmail.com", "k": "key-0123456789""#.to_string()),
        ("text/xml", "<a><email>jane@gmail.com</b> key-0123456789".to_string()),
        ("text/xml", "<a>&custom; jane@gmail.com key-0123456789</a>".to_string()),
        ("text/plain", format!("jane@gmail.com from {} key-0123456789", public_v4())),
        ("text/csv", "just jane@gmail.com, key-0123456789".to_string()),
    ] {
        let out = String::from_utf8(r.body(content_type, body.as_bytes())).unwrap();
        assert!(
            !out.contains("jane@gmail.com")
                && !out.contains("key-0123456789")
                && !out.contains(&public_v4())
                && out.contains("@example.com"),
            "{content_type}: {out}"
        );
    }
    let binary = [0xff, 0xfe, b'a', 0x00];
    assert_eq!(r.body("application/octet-stream", &binary), binary, "nothing to redact: bytes unchanged");
}

#[test]
fn extra_paths_and_kept_fields() {
    let config = RedactionConfig {
        extra_paths: vec![
            "customer.note".into(),
            "line_items[].properties[].value".into(),
            "*.tags".into(),
            "x-request-id".into(),
        ],
        keep_fields: vec!["company".into(), "client_details".into()],
        token_shapes: Vec::new(),
    };
    let mut r = Redactor::new(KEY, config);
    let mut order = json!({
        "order": { "customer": { "note": "VIP", "tags": ["a", "b"] }, "line_items": [{ "properties": [{ "name": "n", "value": "Happy birthday Jane" }] }],
                   "billing_address": { "company": "Doe Design", "name": "Jane Doe" }, "client_details": { "browser_ip": public_v4() } },
        "note": "not this one"
    });
    r.json(&mut order);
    assert_eq!(order["order"]["customer"], json!({ "note": REDACTED, "tags": [REDACTED, REDACTED] }));
    assert_eq!(order["order"]["line_items"][0]["properties"][0], json!({ "name": "n", "value": REDACTED }));
    assert_eq!(order["order"]["billing_address"]["company"], "Doe Design");
    assert_ne!(order["order"]["billing_address"]["name"], "Jane Doe");
    assert_eq!(order["order"]["client_details"]["browser_ip"], public_v4());
    assert_eq!(order["note"], "not this one");
    assert_eq!(r.summary().custom, 4);

    let mut headers = vec![("X-Request-Id".to_string(), "req-1".to_string())];
    r.headers(&mut headers);
    assert_eq!(headers[0].1, REDACTED);
}

#[test]
fn path_patterns() {
    assert_eq!(
        parse_path("line_items[].properties[*].value[2]"),
        [
            PathPattern::Key("lineitems".into()),
            PathPattern::Index(None),
            PathPattern::Key("properties".into()),
            PathPattern::Index(None),
            PathPattern::Key("value".into()),
            PathPattern::Index(Some(2))
        ]
    );
    let path = [Seg::Key("order"), Seg::Key("lines"), Seg::Index(3), Seg::Key("sku")];
    assert!(matches_within(&parse_path("lines[].sku"), &path));
    assert!(matches_within(&parse_path("lines[3]"), &path), "a container redacts what is inside");
    assert!(!matches_within(&parse_path("lines[2].sku"), &path));
    assert!(!matches_within(&parse_path("order.sku"), &path));
}

/// A small deterministic generator: the garbage is the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn garbage_never_panics() {
    const PIECES: &[&str] = &[
        "<",
        ">",
        "</",
        "/>",
        "{",
        "}",
        "[",
        "]",
        "\"",
        "'",
        ":",
        ",",
        "=",
        "&",
        ";",
        "%",
        "%4",
        "@",
        ".",
        "\n",
        "\r\n",
        " ",
        "&amp;",
        "&#x",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "email",
        "Email",
        "CsvData",
        "Detail",
        "password",
        "a@b.com",
        "+44 ",
        "Bearer ",
        "Basic ",
        "eyJ",
        "shpat_",
        concat!("-----BEGIN ", "PRIVATE", " KEY-----"),
        "é",
        "\u{0}",
        "1.2",
        "::",
        "name",
        "address1",
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let fixtures = [
        shopify_order().to_string(),
        format!(
            "{SOAP_OPEN}<soap:Body><SaveData><CsvData>Email,Name\na@b.com,x</CsvData></SaveData></soap:Body></soap:Envelope>"
        ),
    ];
    let mut r = redactor();
    let mask = SecretMask::new(["secret-value".to_string()]);
    for round in 0..400 {
        let bytes: Vec<u8> = if round % 2 == 0 {
            let mut text = String::new();
            for _ in 0..rng.below(60) {
                text.push_str(PIECES[rng.below(PIECES.len())]);
            }
            text.into_bytes()
        } else {
            let mut bytes = fixtures[rng.below(fixtures.len())].clone().into_bytes();
            for _ in 0..=rng.below(8) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            bytes
        };
        for content_type in
            ["application/json", "text/xml", "application/x-www-form-urlencoded", "text/csv", "text/plain", ""]
        {
            r.body(content_type, &bytes);
        }
        let text = String::from_utf8_lossy(&bytes);
        r.query(&text);
        // A fresh redactor: every round's garbage would otherwise pile up as remembered secrets.
        let mut fresh = redactor();
        let mut headers =
            vec![("Authorization".to_string(), text.to_string()), ("Cookie".to_string(), text.to_string())];
        fresh.headers(&mut headers);
        fresh.leaked(&text);
        r.leaked(&text);
        mask.mask(&text);
        for finding in lint(&text, &[]) {
            assert!(finding.line >= 1 && finding.column >= 1);
        }
    }
}
