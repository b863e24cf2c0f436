//! The client that talks to the real systems when recording: HTTP/1.1, over the systems' TLS
//! (verified against the machine's roots, and a private CA when given); no redirect followed (a
//! redirect is an answer to record), no proxy from the environment.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use harness_core::Error;
use harness_systems::tls::{self, TlsConnector};
use http_body_util::Full;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpStream;

use crate::capture::Captured;

/// How long one call to the real system may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest body kept (and relayed) whole.
pub(crate) use harness_systems::tls::MAX_BODY;

/// Request headers never forwarded: hop-by-hop ones, those recomputed for the upstream, and
/// `Accept-Encoding`, so answers come uncompressed and are recorded as the text they are.
const NOT_FORWARDED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "accept-encoding",
];

pub(crate) fn forwarded(name: &str) -> bool {
    !NOT_FORWARDED.contains(&name.to_ascii_lowercase().as_str())
}

pub(crate) struct Upstream {
    /// `https://acme.suitetalk.api.netsuite.com`, without a trailing `/`.
    base: String,
    host: String,
    port: u16,
    /// None for plain HTTP.
    tls: Option<TlsConnector>,
}

impl Upstream {
    pub(crate) fn new(base: &str, extra_ca: Option<&Path>) -> Result<Upstream, Error> {
        let base = base.trim_end_matches('/');
        let bad = || {
            Error::Usage(format!(
                "--upstream {base}: write the system's address as https://host[:port], without a path"
            ))
        };
        let (scheme, authority) = base.split_once("://").ok_or_else(bad)?;
        let https = match scheme {
            "https" => true,
            "http" => false,
            _ => return Err(bad()),
        };
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return Err(bad());
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = match authority.strip_prefix('[') {
            // An IPv6 literal: `[::1]:8443`.
            Some(rest) => {
                let (host, after) = rest.split_once(']').ok_or_else(bad)?;
                (
                    host,
                    if after.is_empty() {
                        default_port
                    } else {
                        after.strip_prefix(':').and_then(|p| p.parse().ok()).ok_or_else(bad)?
                    },
                )
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, port.parse().map_err(|_| bad())?),
                None => (authority, default_port),
            },
        };
        let host = host.to_string();
        let tls = https.then(|| connector(extra_ca)).transpose()?;
        Ok(Upstream { base: base.to_string(), host, port, tls })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Sends `request` (its answer fields ignored) and fills in the answer.
    pub(crate) async fn call(&self, request: &Captured) -> Result<Captured, String> {
        tokio::time::timeout(CALL_TIMEOUT, self.exchange(request))
            .await
            .map_err(|_| format!("no answer within {}s", CALL_TIMEOUT.as_secs()))?
    }

    async fn exchange(&self, request: &Captured) -> Result<Captured, String> {
        let target = match request.query.as_deref() {
            Some(q) if !q.is_empty() => format!("{}?{q}", request.path),
            _ => request.path.clone(),
        };
        let default_port = if self.tls.is_some() { 443 } else { 80 };
        let host_header =
            if self.port == default_port { self.host.clone() } else { format!("{}:{}", self.host, self.port) };
        let mut builder =
            hyper::Request::builder().method(request.method.as_str()).uri(&target).header("Host", host_header);
        for (k, v) in request.request_headers.iter().filter(|(k, _)| forwarded(k)) {
            builder = builder.header(k, v);
        }
        let req = builder
            .body(Full::new(Bytes::from(request.request_body.clone())))
            .map_err(|e| format!("cannot send this request on: {e}"))?;
        let exchanged = async {
            match &self.tls {
                Some(tls) => tls::exchange(tls::connect(tls, &self.host, self.port).await?, req, MAX_BODY).await,
                None => {
                    let stream = TcpStream::connect((self.host.as_str(), self.port)).await.map_err(|source| {
                        tls::ExchangeError::Connect { host: self.host.clone(), port: self.port, source }
                    })?;
                    tls::exchange(stream, req, MAX_BODY).await
                }
            }
        };
        let (status, response_headers, body) = exchanged.await.map_err(|e| e.to_string())?;
        Ok(Captured { status, response_headers, response_body: body.to_vec(), ..request.clone() })
    }
}

/// TLS trusting the machine's roots and the PEM certificates in `extra_ca`.
fn connector(extra_ca: Option<&Path>) -> Result<TlsConnector, Error> {
    let mut extra = Vec::new();
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        extra = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Usage(format!("--upstream-ca {}: not PEM certificates: {e}", path.display())))?;
        if extra.is_empty() {
            return Err(Error::Usage(format!("--upstream-ca {}: no certificate in it", path.display())));
        }
    }
    tls::connector(extra).map_err(|e| Error::Environment(format!("{e}, or give --upstream-ca FILE")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_addresses() {
        let u = Upstream::new("http://127.0.0.1:8080/", None).unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls.is_none()), ("127.0.0.1", 8080, true));
        let u = Upstream::new("http://localhost", None).unwrap();
        assert_eq!(u.port, 80);
        let u = Upstream::new("http://[::1]:8443", None).unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 8443));
        for bad in
            ["ftp://x", "http://host/path", "host:443", "http://", "http://u@host", "http://host:port", "http://[::1"]
        {
            assert!(Upstream::new(bad, None).is_err(), "{bad}");
        }
    }
}
