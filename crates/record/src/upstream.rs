//! The client that talks to the real systems: HTTP/1.1 over TLS verified against the machine's
//! roots (and a private CA when given), rustls with the ring provider; no redirect followed (a
//! redirect is an answer to record), no proxy from the environment. It is its own small client
//! rather than reqwest's so that the mocks' plain-HTTP clients keep building without TLS.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use harness_core::Error;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::capture::Captured;

/// How long one call to the real system may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest body kept (and relayed) whole.
pub(crate) const MAX_BODY: usize = 64 << 20;

/// Request headers never forwarded: hop-by-hop ones, those recomputed for the upstream, and
/// `Accept-Encoding`, so answers come uncompressed and are recorded as the text they are.
const NOT_FORWARDED: &[&str] = &["host", "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "accept-encoding"];

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
        let bad = || Error::Usage(format!("--upstream {base}: write the system's address as https://host[:port], without a path"));
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
                (host, if after.is_empty() { default_port } else { after.strip_prefix(':').and_then(|p| p.parse().ok()).ok_or_else(bad)? })
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
        tokio::time::timeout(CALL_TIMEOUT, self.exchange(request)).await.map_err(|_| format!("no answer within {}s", CALL_TIMEOUT.as_secs()))?
    }

    async fn exchange(&self, request: &Captured) -> Result<Captured, String> {
        let target = match request.query.as_deref() {
            Some(q) if !q.is_empty() => format!("{}?{q}", request.path),
            _ => request.path.clone(),
        };
        let default_port = if self.tls.is_some() { 443 } else { 80 };
        let host_header = if self.port == default_port { self.host.clone() } else { format!("{}:{}", self.host, self.port) };
        let mut builder = hyper::Request::builder().method(request.method.as_str()).uri(&target).header("Host", host_header);
        for (k, v) in request.request_headers.iter().filter(|(k, _)| forwarded(k)) {
            builder = builder.header(k, v);
        }
        let req = builder.body(Full::new(Bytes::from(request.request_body.clone()))).map_err(|e| format!("cannot send this request on: {e}"))?;
        let stream = TcpStream::connect((self.host.as_str(), self.port)).await.map_err(|e| format!("cannot connect to {}:{}: {e}", self.host, self.port))?;
        let (status, response_headers, body) = match &self.tls {
            Some(tls) => {
                let name = ServerName::try_from(self.host.clone()).map_err(|e| format!("{}: {e}", self.host))?;
                let stream = tls.connect(name, stream).await.map_err(|e| format!("TLS with {}: {e}", self.host))?;
                send(stream, req).await?
            }
            None => send(stream, req).await?,
        };
        Ok(Captured { status, response_headers, response_body: body, ..request.clone() })
    }
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

async fn send<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(stream: S, req: hyper::Request<Full<Bytes>>) -> Result<Answer, String> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response.headers().iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let body = Limited::new(response.into_body(), MAX_BODY).collect().await.map_err(|e| format!("reading the answer: {e}"))?.to_bytes();
    Ok((status, headers, body.to_vec()))
}

/// TLS trusting the machine's roots and the PEM certificates in `extra_ca`.
fn connector(extra_ca: Option<&Path>) -> Result<TlsConnector, Error> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem).collect::<Result<_, _>>().map_err(|e| Error::Usage(format!("--upstream-ca {}: not PEM certificates: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(Error::Usage(format!("--upstream-ca {}: no certificate in it", path.display())));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| Error::Usage(format!("--upstream-ca {}: {e}", path.display())))?;
        }
    }
    if roots.is_empty() {
        return Err(Error::Environment("no trusted root certificates on this machine: install the system's CA bundle, or give --upstream-ca FILE".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Environment(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
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
        for bad in ["ftp://x", "http://host/path", "host:443", "http://", "http://u@host", "http://host:port", "http://[::1"] {
            assert!(Upstream::new(bad, None).is_err(), "{bad}");
        }
    }
}
