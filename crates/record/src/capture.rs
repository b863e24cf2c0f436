//! One exchange as it was captured — by the proxy, the webhook receiver or from a HAR file —
//! and the same exchange redacted, ready to be written.

use std::collections::BTreeMap;

use harness_redact::Redactor;
use harness_syntax::system_file::{RecordedCall, RecordingFile, RecordingMeta};
use http_body_util::{BodyExt, Limited};
use hyper::Request;
use serde_json::Value;

/// A request and its answer, with everything the system and the client sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Captured {
    pub(crate) method: String,
    /// Without the query.
    pub(crate) path: String,
    /// The raw query string, without `?`.
    pub(crate) query: Option<String>,
    pub(crate) request_headers: Vec<(String, String)>,
    pub(crate) request_body: Vec<u8>,
    pub(crate) status: u16,
    pub(crate) response_headers: Vec<(String, String)>,
    pub(crate) response_body: Vec<u8>,
}

/// Request headers that shape the answer and are kept with the recorded request, besides the
/// system's own (`System::recorded_headers`).
const KEPT_REQUEST_HEADERS: &[&str] = &["content-type", "soapaction", "accept", "prefer"];

/// Response headers a replay needs (what the answer is, where the next page or the created record
/// is, how long to wait), besides the system's own; the rest (dates, lengths, cookies, tracing
/// ids) vary by call.
const KEPT_RESPONSE_HEADERS: &[&str] = &["content-type", "location", "link", "retry-after", "www-authenticate"];

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

impl Captured {
    /// A request received on loopback (by the proxy, by the webhook receiver), read whole: its
    /// method, path, query, headers and body, which may be at most `MAX_BODY` long.
    pub(crate) async fn received(req: Request<hyper::body::Incoming>) -> Result<Captured, String> {
        let (parts, body) = req.into_parts();
        let request_headers = parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = Limited::new(body, crate::upstream::MAX_BODY).collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Captured {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            request_headers,
            request_body: body.to_vec(),
            ..Captured::default()
        })
    }

    /// The request line as recordings name their endpoint: `POST /services/rest/query/v1/suiteql`.
    pub(crate) fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Every part redacted by one session's redactor. Headers are redacted in full before the
    /// ones kept are picked, so the redactor has seen every credential that was forwarded (and
    /// can tell if one survived elsewhere).
    pub(crate) fn redact(&self, redactor: &mut Redactor) -> Captured {
        let mut request_headers = self.request_headers.clone();
        redactor.headers(&mut request_headers);
        let mut response_headers = self.response_headers.clone();
        redactor.headers(&mut response_headers);
        let path = String::from_utf8_lossy(&redactor.body("text/plain", self.path.as_bytes())).into_owned();
        let query = self.query.as_deref().map(|q| redactor.query(q));
        let request_body = redactor.body(header(&request_headers, "content-type").unwrap_or(""), &self.request_body);
        let response_body = redactor.body(header(&response_headers, "content-type").unwrap_or(""), &self.response_body);
        Captured {
            method: self.method.clone(),
            path,
            query,
            request_headers,
            request_body,
            status: self.status,
            response_headers,
            response_body,
        }
    }

    /// The recording file of this (redacted) exchange, keeping the common headers and `own`, the
    /// system's.
    pub(crate) fn recording(&self, meta: RecordingMeta, own: &[&str]) -> RecordingFile {
        let kept = |headers: &[(String, String)], names: &[&str]| -> BTreeMap<String, String> {
            headers
                .iter()
                .filter(|(k, _)| names.iter().chain(own).any(|n| k.eq_ignore_ascii_case(n)))
                .map(|(k, v)| (canonical(k), v.clone()))
                .collect()
        };
        let (body, body_text) = split_body(&self.response_body);
        let (request_body, request_text) = split_body(&self.request_body);
        let path = match &self.query {
            Some(q) if !q.is_empty() => format!("{}?{q}", self.path),
            _ => self.path.clone(),
        };
        let request = RecordedCall {
            method: self.method.clone(),
            path,
            headers: kept(&self.request_headers, KEPT_REQUEST_HEADERS),
            body: request_body,
            body_text: request_text,
        };
        RecordingFile {
            recording: RecordingMeta { request: Some(request), ..meta },
            status: Some(self.status),
            headers: kept(&self.response_headers, KEPT_RESPONSE_HEADERS),
            body,
            body_text,
        }
    }
}

/// A body as JSON when it is JSON, else as text; nothing for an empty body.
pub(crate) fn split_body(bytes: &[u8]) -> (Option<Value>, Option<String>) {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return (None, None);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => (Some(v), None),
        Err(_) => (None, Some(String::from_utf8_lossy(bytes).into_owned())),
    }
}

/// `content-type` → `Content-Type`, as recordings spell headers.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_headers_and_bodies() {
        let c = Captured {
            method: "POST".into(),
            path: "/services/rest/query/v1/suiteql".into(),
            query: Some("limit=5".into()),
            request_headers: vec![
                ("authorization".into(), "Bearer x".into()),
                ("content-type".into(), "application/json".into()),
            ],
            request_body: br#"{"q": "SELECT 1"}"#.to_vec(),
            status: 200,
            response_headers: vec![("content-type".into(), "application/json".into()), ("date".into(), "today".into())],
            response_body: br#"{"items": []}"#.to_vec(),
        };
        let file = c.recording(RecordingMeta::default(), &[]);
        assert_eq!(file.headers.keys().collect::<Vec<_>>(), ["Content-Type"]);
        let own = c.recording(RecordingMeta::default(), &["date"]);
        assert_eq!(
            own.headers.keys().collect::<Vec<_>>(),
            ["Content-Type", "Date"],
            "the system's own headers kept too"
        );
        let request = file.recording.request.unwrap();
        assert_eq!(request.path, "/services/rest/query/v1/suiteql?limit=5");
        assert_eq!(request.headers.keys().collect::<Vec<_>>(), ["Content-Type"], "no Authorization kept");
        assert_eq!(request.body, Some(serde_json::json!({"q": "SELECT 1"})));
        assert_eq!(split_body(b"<a/>"), (None, Some("<a/>".into())));
        assert_eq!(split_body(b" \n"), (None, None));
    }
}
