//! A declared API compiled from its `api:` block: credentials filled into the texts, jq compiled,
//! every problem located in the system file.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use harness_core::{Diagnostic, MockResponse};
use harness_expr::{Expr, VarNames};
use harness_syntax::Loc;
use harness_syntax::system_file::{ApiAuth, ApiPagination, ApiSpec};
use serde_json::{Value, json};

/// How requests prove who sends them, with the credentials filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Auth {
    None,
    /// A header and the exact value it must carry (a key, `Bearer …`, `Basic …`).
    Header {
        name: String,
        value: String,
    },
    ClientCredentials {
        token_path: String,
        client_id: String,
        client_secret: String,
        expires_in: Duration,
    },
}

impl Auth {
    /// The name a built-in flow's `auth:` uses for it.
    pub(crate) fn method(&self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Header { .. } => "declared",
            Auth::ClientCredentials { .. } => "client-credentials",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Pagination {
    LinkHeader,
    Next(Expr),
}

#[derive(Debug, Clone)]
pub struct DeclaredApi {
    pub(crate) base_path: String,
    pub(crate) auth: Auth,
    pub(crate) required_headers: Vec<(String, String)>,
    pub(crate) content_type: String,
    error_body: Value,
    error_detail: Option<Expr>,
    pub(crate) validation_status: u16,
    pub(crate) rate_limit: (u16, Duration, String),
    pub(crate) pagination: Option<Pagination>,
    identity: Option<Expr>,
}

impl DeclaredApi {
    /// Compile `spec` of the system file `file` (text `text`) with the version's credentials.
    pub(crate) fn compile(
        spec: &ApiSpec,
        credentials: &BTreeMap<String, String>,
        file: &Path,
        text: &str,
    ) -> Result<DeclaredApi, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let mut fill = |t: &Loc<String>| {
            fill(t, credentials)
                .map_err(|(at, len, m)| errors.push(t.span.diagnostic_inside(file, text, at, len, m)))
                .unwrap_or_default()
        };
        let auth = match &spec.auth {
            None => Auth::None,
            Some(ApiAuth::Bearer { token }) => {
                Auth::Header { name: "Authorization".into(), value: format!("Bearer {}", fill(token)) }
            }
            Some(ApiAuth::Header { name, value }) => Auth::Header { name: name.clone(), value: fill(value) },
            Some(ApiAuth::Basic { username, password }) => {
                use base64::Engine;
                let pair = format!("{}:{}", fill(username), fill(password));
                Auth::Header {
                    name: "Authorization".into(),
                    value: format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)),
                }
            }
            Some(ApiAuth::ClientCredentials { token_path, client_id, client_secret, expires_in }) => {
                Auth::ClientCredentials {
                    token_path: token_path.value.clone(),
                    client_id: fill(client_id),
                    client_secret: fill(client_secret),
                    expires_in: expires_in.unwrap_or(Duration::from_secs(3600)),
                }
            }
        };
        let required_headers = spec.required_headers.iter().map(|(k, v)| (k.clone(), fill(v))).collect();
        let mut jq = |e: &Loc<String>, what: &str| match Expr::compile(e, &VarNames::new([])) {
            Ok(x) => Some(x),
            Err(c) => {
                errors.push(e.span.diagnostic_inside(file, text, c.offset, c.len, format!("{what}: {}", c.message)));
                None
            }
        };
        let error_detail = spec.errors.as_ref().and_then(|e| e.detail.as_ref()).and_then(|d| jq(d, "errors.detail"));
        let identity = spec.identity.as_ref().and_then(|i| jq(i, "identity"));
        let pagination = match &spec.pagination {
            None => None,
            Some(ApiPagination::LinkHeader) => Some(Pagination::LinkHeader),
            Some(ApiPagination::Next(e)) => jq(e, "pagination.next").map(Pagination::Next),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let rate = spec.rate_limit.as_ref();
        Ok(DeclaredApi {
            base_path: spec.base_path.as_ref().map_or(String::new(), |b| b.value.trim_end_matches('/').to_string()),
            auth,
            required_headers,
            content_type: spec.content_type.clone().unwrap_or_else(|| "application/json".into()),
            // Without a declared shape, errors are `{"error": {...}}` with what is known.
            error_body: spec.errors.as_ref().map_or_else(
                || json!({"error": {"status": "{status}", "code": "{code}", "detail": "{detail}"}}),
                |e| e.body.clone(),
            ),
            error_detail,
            validation_status: spec.errors.as_ref().and_then(|e| e.validation_status).unwrap_or(400),
            rate_limit: (
                rate.and_then(|r| r.status).unwrap_or(429),
                rate.and_then(|r| r.retry_after).unwrap_or(Duration::from_secs(1)),
                rate.and_then(|r| r.code.clone()).unwrap_or_else(|| "throttled".into()),
            ),
            pagination,
            identity,
        })
    }

    /// An error answer in the system's words.
    pub(crate) fn error(&self, status: u16, code: &str, title: &str, detail: &str, pointer: &str) -> MockResponse {
        let fields = [
            ("status", status.to_string()),
            ("code", code.into()),
            ("title", title.into()),
            ("detail", detail.into()),
            ("pointer", pointer.into()),
        ];
        let body = substitute(&self.error_body, &fields, status);
        MockResponse::json(status, &body).header("Content-Type", self.content_type.clone())
    }

    /// The reason an error answer gives, by the declared `detail` expression.
    pub(crate) fn detail(&self, body: &[u8]) -> Option<String> {
        let json: Value = serde_json::from_slice(body).ok()?;
        let names = VarNames::new([]);
        match self.error_detail.as_ref()?.eval_one(&json, &harness_expr::Scope::new(&names, &Value::Null)).ok()?? {
            Value::String(s) => Some(s),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// What an accepted POST with `body` creates.
    pub(crate) fn identity(&self, body: &Value) -> Option<Value> {
        let Some(expr) = &self.identity else { return Some(body.clone()) };
        let names = VarNames::new([]);
        expr.eval_one(body, &harness_expr::Scope::new(&names, &Value::Null)).ok().flatten()
    }

    /// The next page's URL from a read's answer.
    pub(crate) fn next_page(&self, headers: &[(String, String)], body: &[u8]) -> Option<String> {
        match self.pagination.as_ref()? {
            Pagination::LinkHeader => harness_core::find_header(headers, "link").and_then(crate::system::next_link),
            Pagination::Next(expr) => {
                let json: Value = serde_json::from_slice(body).ok()?;
                let names = VarNames::new([]);
                expr.eval_one(&json, &harness_expr::Scope::new(&names, &Value::Null))
                    .ok()??
                    .as_str()
                    .map(str::to_string)
            }
        }
    }
}

/// `template` with `{name}` replaced by the credential `name`; an unknown name is an error at its
/// place inside the text.
fn fill(template: &str, credentials: &BTreeMap<String, String>) -> Result<String, (usize, usize, String)> {
    let mut out = String::new();
    let mut rest = template;
    let mut at = 0;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        let name = &rest[open + 1..open + close];
        let value = credentials.get(name).ok_or_else(|| {
            let known: Vec<&str> = credentials.keys().map(String::as_str).collect();
            (
                at + open,
                close + 1,
                format!(
                    "no credential `{name}` (credentials: {})",
                    if known.is_empty() { "none".into() } else { known.join(", ") }
                ),
            )
        })?;
        out.push_str(&rest[..open]);
        out.push_str(value);
        at += open + close + 1;
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The error body with its placeholders filled; `"{status}"` alone becomes the number.
fn substitute(v: &Value, fields: &[(&str, String)], status: u16) -> Value {
    match v {
        Value::String(s) if s == "{status}" => json!(status),
        Value::String(s) => {
            Value::String(fields.iter().fold(s.clone(), |acc, (k, val)| acc.replace(&format!("{{{k}}}"), val)))
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| substitute(i, fields, status)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), substitute(x, fields, status))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_fill_texts_and_unknown_ones_are_located() {
        let creds: BTreeMap<String, String> = [("api_key".to_string(), "pk_test".to_string())].into();
        assert_eq!(fill("Klaviyo-API-Key {api_key}", &creds).unwrap(), "Klaviyo-API-Key pk_test");
        assert_eq!(fill("{api_kee} x", &creds).unwrap_err().0, 0);
        let (at, len, message) = fill("Key {secret}", &creds).unwrap_err();
        assert_eq!((at, len), (4, 8));
        assert!(message.contains("api_key"), "{message}");
    }

    #[test]
    fn error_bodies_fill_placeholders_and_keep_the_status_a_number() {
        let body = json!({"errors": [{"status": "{status}", "code": "{code}", "detail": "{detail}", "source": {"pointer": "{pointer}"}}]});
        let got = substitute(
            &body,
            &[
                ("status", "429".into()),
                ("code", "throttled".into()),
                ("detail", "slow down".into()),
                ("pointer", "/data".into()),
            ],
            429,
        );
        assert_eq!(
            got,
            json!({"errors": [{"status": 429, "code": "throttled", "detail": "slow down", "source": {"pointer": "/data"}}]})
        );
    }
}
