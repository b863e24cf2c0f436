//! The client that talks to the real systems: HTTPS verified against the machine's roots (and a
//! private CA when given), rustls with the ring provider, no redirects followed (a redirect is an
//! answer to record), no proxy from the environment.

use std::path::Path;
use std::time::Duration;

use harness_core::Error;

use crate::capture::Captured;

/// How long one call to the real system may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest answer kept (and relayed) whole.
pub(crate) const MAX_BODY: usize = 64 << 20;

/// Request headers never forwarded: hop-by-hop ones, those the client recomputes, and
/// `Accept-Encoding`, so answers come uncompressed and are recorded as the text they are.
const NOT_FORWARDED: &[&str] = &["host", "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "accept-encoding"];

pub(crate) fn forwarded(name: &str) -> bool {
    !NOT_FORWARDED.contains(&name.to_ascii_lowercase().as_str())
}

pub(crate) struct Upstream {
    client: reqwest::Client,
    /// `https://acme.suitetalk.api.netsuite.com`, without a trailing `/`.
    base: String,
}

impl Upstream {
    pub(crate) fn new(base: &str, extra_ca: Option<&Path>) -> Result<Upstream, Error> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) || base.splitn(4, '/').nth(3).is_some_and(|p| !p.is_empty()) {
            return Err(Error::Usage(format!("--upstream {base}: write the system's address as https://host[:port], without a path")));
        }
        // Installed once per process; a second install is refused and harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().timeout(CALL_TIMEOUT);
        if let Some(path) = extra_ca {
            let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Usage(format!("--upstream-ca {}: not PEM certificates: {e}", path.display())))?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(|e| Error::Environment(format!("cannot set up TLS to {base}: {e}")))?;
        Ok(Upstream { client, base: base.to_string() })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Sends `request` (its answer fields ignored) and fills in the answer.
    pub(crate) async fn call(&self, request: &Captured) -> Result<Captured, String> {
        let url = match request.query.as_deref() {
            Some(q) if !q.is_empty() => format!("{}{}?{q}", self.base, request.path),
            _ => format!("{}{}", self.base, request.path),
        };
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut builder = self.client.request(method, &url);
        for (k, v) in request.request_headers.iter().filter(|(k, _)| forwarded(k)) {
            builder = builder.header(k, v);
        }
        let response = builder.body(request.request_body.clone()).send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let response_headers = response.headers().iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
        let body = response.bytes().await.map_err(|e| describe(&e))?;
        if body.len() > MAX_BODY {
            return Err(format!("the answer is larger than {} MiB", MAX_BODY >> 20));
        }
        Ok(Captured { status, response_headers, response_body: body.to_vec(), ..request.clone() })
    }
}

/// The error with its causes (reqwest's own message names only the outermost).
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
