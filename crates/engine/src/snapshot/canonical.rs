//! The canonical form of what a flow sent to a system: one entry per request with its method and
//! path, query, the headers that matter, and the body made comparable — JSON with sorted keys, form
//! bodies as fields, SOAP envelopes as element trees with their CSV as rows keyed by column — and
//! volatile values (credentials, signatures, declared fields) redacted.

use harness_core::encoding::form_pairs;
use harness_core::{Exchange, xml};
use harness_redact::{REDACTED, is_credential_name};
use harness_systems::Registry;
use serde_json::{Map, Value, json};

/// Headers kept in snapshots besides the system's own (`System::snapshot_headers`); every other
/// header is transport detail. Those that hold credentials (`is_credential_name`) are kept to show
/// they were sent, their value redacted.
const KEPT_HEADERS: &[&str] = &["content-type", "prefer", "soapaction", "authorization", "idempotency-key"];

/// The canonical entries for `exchanges` (all sent to one system), redacted by `rules`.
pub fn entries(exchanges: &[&Exchange], rules: &[String], registry: &Registry) -> Value {
    let rules: Vec<Vec<RuleSeg>> = rules.iter().map(|r| parse_rule(r)).collect();
    Value::Array(exchanges.iter().map(|e| redact_entry(entry(e, registry), &rules)).collect())
}

fn entry(exchange: &Exchange, registry: &Registry) -> Value {
    let req = &exchange.request;
    let mut out = Map::new();
    out.insert("request".into(), json!(format!("{} {}", req.method, req.path)));
    if !req.query.is_empty() {
        out.insert("query".into(), pairs_object(&req.query_pairs()));
    }
    let mut headers = Map::new();
    let own = registry.get(&exchange.system).map(|s| s.snapshot_headers()).unwrap_or_default();
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        if !KEPT_HEADERS.contains(&name.as_str()) && !own.contains(&name) {
            continue;
        }
        let shown = if name == "authorization" {
            // The scheme says how the flow authenticates (a change worth seeing); the rest is secret.
            format!("{} {REDACTED}", value.split_whitespace().next().unwrap_or(""))
        } else if is_credential_name(&name) {
            REDACTED.to_string()
        } else {
            value.clone()
        };
        headers.insert(name, json!(shown));
    }
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Object(headers));
    }
    if let Some(body) = body(req.header("content-type").unwrap_or(""), &req.body) {
        out.insert("body".into(), body);
    }
    out.insert("response".into(), response(exchange, registry));
    // Where a redirect pointed is part of the answer: the harness never follows it, the flow may.
    if (300..400).contains(&exchange.response.status)
        && let Some(location) = harness_core::find_header(&exchange.response.headers, "location")
    {
        out.insert("response_headers".into(), json!({"location": location}));
    }
    Value::Object(out)
}

/// The answer's status — or the fault that replaced it — and what the system says its verdict
/// was when the status alone would hide it (a SOAP answer is HTTP 200 whatever happened).
fn response(exchange: &Exchange, registry: &Registry) -> Value {
    let status = exchange.response.status;
    match exchange.response.fault {
        Some(f) if f.after_commit() => return json!(format!("{status}, {}", f.describe())),
        Some(f) => return json!(f.describe()),
        None => {}
    }
    match registry.get(&exchange.system).and_then(|s| s.response_summary(&exchange.response)) {
        Some(summary) => json!(summary),
        None => json!(status),
    }
}

fn pairs_object(pairs: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        let v = if is_credential_name(k) { REDACTED.to_string() } else { v.clone() };
        match map.get_mut(k) {
            Some(Value::Array(items)) => items.push(json!(v)),
            Some(existing) => *existing = json!([existing.clone(), v]),
            None => {
                map.insert(k.clone(), json!(v));
            }
        }
    }
    Value::Object(map)
}

/// The body in comparable form, `None` when empty.
pub fn body(content_type: &str, raw: &[u8]) -> Option<Value> {
    if raw.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(raw);
    if let Ok(mut json) = serde_json::from_slice::<Value>(raw) {
        redact_secrets(&mut json);
        return Some(json);
    }
    if content_type.contains("x-www-form-urlencoded") {
        return Some(pairs_object(&form_pairs(&text)));
    }
    if text.trim_start().starts_with('<')
        && let Ok(root) = xml::parse(&text)
    {
        let mut map = Map::new();
        map.insert(root.name.clone(), element(&root));
        return Some(Value::Object(map));
    }
    Some(Value::String(text.into_owned()))
}

/// Secret fields of a JSON body (a token exchange's `client_secret`, `refresh_token`) shown redacted.
fn redact_secrets(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                if is_credential_name(k) && child.is_string() {
                    *child = Value::String(REDACTED.to_string());
                } else {
                    redact_secrets(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

/// An element as JSON: text for leaves, an object of children otherwise (repeated names become
/// arrays); CSV text becomes rows keyed by column header.
fn element(e: &xml::Element) -> Value {
    if e.children.is_empty() {
        if is_credential_name(&e.name) && !e.text.is_empty() {
            return json!(REDACTED);
        }
        if (e.name == "CsvData" || looks_like_csv(&e.text))
            && let Ok(rows) = harness_core::csv_text::csv_rows(&e.text)
        {
            return Value::Array(rows.into_iter().map(Value::Object).collect());
        }
        return json!(e.text);
    }
    let mut map = Map::new();
    let mut repeated: Vec<&str> = Vec::new();
    for c in &e.children {
        let v = element(c);
        match map.get_mut(&c.name) {
            Some(Value::Array(items)) if repeated.contains(&c.name.as_str()) => items.push(v),
            Some(existing) => {
                *existing = json!([existing.clone(), v]);
                repeated.push(&c.name);
            }
            None => {
                map.insert(c.name.clone(), v);
            }
        }
    }
    Value::Object(map)
}

/// CSV with a header row and at least one data row of the same width.
fn looks_like_csv(text: &str) -> bool {
    let mut lines = text.trim().lines();
    match (lines.next(), lines.next()) {
        (Some(header), Some(row)) => header.contains(',') && header.split(',').count() == row.split(',').count(),
        _ => false,
    }
}

/// Apply redaction rules: `body.tranDate`, `body.item.items[].custcol_sync_id`, `headers.x-request-id`,
/// `query.nonce`. `[]` or `[*]` match every element, `*` every key.
fn redact_entry(mut entry: Value, rules: &[Vec<RuleSeg>]) -> Value {
    for rule in rules {
        redact_at(&mut entry, rule);
    }
    entry
}

#[derive(Debug, PartialEq)]
enum RuleSeg {
    Key(String),
    AnyKey,
    AnyIndex,
    Index(usize),
}

fn parse_rule(rule: &str) -> Vec<RuleSeg> {
    let mut segs = Vec::new();
    for part in rule.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if name == "*" {
            segs.push(RuleSeg::AnyKey);
        } else if !name.is_empty() {
            segs.push(RuleSeg::Key(name.to_string()));
        }
        while !rest.is_empty() {
            let (inner, after) = rest.split_once(']').unwrap_or((rest, ""));
            segs.push(match inner.parse::<usize>() {
                Ok(i) => RuleSeg::Index(i),
                Err(_) => RuleSeg::AnyIndex,
            });
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    segs
}

fn redact_at(v: &mut Value, segs: &[RuleSeg]) {
    let Some((first, rest)) = segs.split_first() else {
        *v = json!(REDACTED);
        return;
    };
    match (first, v) {
        (RuleSeg::Key(k), Value::Object(o)) => {
            if let Some(child) = o.get_mut(k) {
                redact_at(child, rest);
            }
        }
        (RuleSeg::AnyKey, Value::Object(o)) => o.values_mut().for_each(|c| redact_at(c, rest)),
        (RuleSeg::AnyIndex, Value::Array(items)) => items.iter_mut().for_each(|c| redact_at(c, rest)),
        (RuleSeg::Index(i), Value::Array(items)) => {
            if let Some(c) = items.get_mut(*i) {
                redact_at(c, rest);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_core::{MockResponse, RecordedRequest, SystemId};

    fn exchange(headers: &[(&str, &str)], body: &str) -> Exchange {
        Exchange {
            system: SystemId::new("netsuite").unwrap(),
            seq: 0,
            request: RecordedRequest {
                method: "POST".into(),
                path: "/x".into(),
                query: "b=2&a=1".into(),
                headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                body: body.to_string().into(),
            },
            response: MockResponse::new(204),
            answered_by: None,
            step: None,
            at: Default::default(),
        }
    }

    #[test]
    fn json_bodies_sorted_and_redacted() {
        let e = exchange(
            &[("authorization", "Bearer abc.def"), ("user-agent", "x"), ("content-type", "application/json")],
            r#"{"z": 1, "tranDate": "2025-01-01", "item": {"items": [{"sync": 1}, {"sync": 2}]}}"#,
        );
        let v = entries(&[&e], &["body.tranDate".into(), "body.item.items[].sync".into()], &Registry::builtin());
        assert_eq!(
            v,
            json!([{
                "request": "POST /x",
                "query": {"a": "1", "b": "2"},
                "headers": {"authorization": "Bearer [redacted]", "content-type": "application/json"},
                "body": {"item": {"items": [{"sync": "[redacted]"}, {"sync": "[redacted]"}]}, "tranDate": "[redacted]", "z": 1},
                "response": 204
            }])
        );
    }

    #[test]
    fn a_systems_own_headers_are_kept_and_credentials_redacted_by_name() {
        let mut e = exchange(
            &[("X-Shopify-Access-Token", "shpat_x"), ("x-request-id", "1")],
            "client_secret=s&refresh_token=r&grant_type=refresh_token",
        );
        e.request.query = String::new();
        e.system = SystemId::new("shopify").unwrap();
        let v = entries(&[&e], &[], &Registry::builtin());
        assert_eq!(
            v[0]["headers"],
            json!({"x-shopify-access-token": REDACTED}),
            "the header is Shopify's own: kept, value redacted"
        );
        e.system = SystemId::new("netsuite").unwrap();
        assert_eq!(
            entries(&[&e], &[], &Registry::builtin())[0].get("headers"),
            None,
            "another system's traffic does not keep it"
        );
        let form =
            body("application/x-www-form-urlencoded", b"client_secret=s&refresh_token=r&grant_type=refresh_token")
                .unwrap();
        assert_eq!(form, json!({"client_secret": REDACTED, "refresh_token": REDACTED, "grant_type": "refresh_token"}));
    }

    #[test]
    fn soap_csv_becomes_rows_and_sessions_are_redacted() {
        let xml = "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Header><UserSessionCredentials><UserId>0</UserId><ClientId>acme</ClientId><SessionId>s-123</SessionId></UserSessionCredentials></soap:Header><soap:Body><SaveData><saveRequest><TemplateName>Sales orders</TemplateName><CsvData>SalesOrderNumber,Email\n#1001,a@b.c</CsvData></saveRequest></SaveData></soap:Body></soap:Envelope>";
        let e = exchange(&[("content-type", "text/xml")], xml);
        let v = entries(&[&e], &[], &Registry::builtin());
        assert_eq!(v[0]["body"]["Envelope"]["Header"]["UserSessionCredentials"]["SessionId"], json!(REDACTED));
        assert_eq!(
            v[0]["body"]["Envelope"]["Body"]["SaveData"]["saveRequest"]["CsvData"],
            json!([{"SalesOrderNumber": "#1001", "Email": "a@b.c"}])
        );
    }

    #[test]
    fn form_bodies_hide_secrets() {
        let e = exchange(
            &[("content-type", "application/x-www-form-urlencoded")],
            "grant_type=client_credentials&client_assertion=eyJ",
        );
        let v = entries(&[&e], &[], &Registry::builtin());
        assert_eq!(v[0]["body"], json!({"client_assertion": REDACTED, "grant_type": "client_credentials"}));
    }

    #[test]
    fn rules_parse() {
        assert_eq!(
            parse_rule("body.items[].sku"),
            vec![
                RuleSeg::Key("body".into()),
                RuleSeg::Key("items".into()),
                RuleSeg::AnyIndex,
                RuleSeg::Key("sku".into())
            ]
        );
        assert_eq!(
            parse_rule("body.lines[2].*"),
            vec![RuleSeg::Key("body".into()), RuleSeg::Key("lines".into()), RuleSeg::Index(2), RuleSeg::AnyKey]
        );
    }
}
