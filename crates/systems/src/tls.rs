//! HTTPS to the live systems: HTTP/1.1 over rustls with the ring provider, the certificate
//! verified against the machine's roots (rustls-native-certs, so `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` are honoured) and any extra CA given; one connection per exchange, no redirect
//! followed, no proxy from the environment. Its own small client rather than reqwest's, so the
//! mocks' plain-HTTP clients keep building without TLS.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub use tokio_rustls::TlsConnector;

/// Largest answer body kept whole.
pub const MAX_BODY: usize = 64 << 20;

/// An answer: status, headers, body.
pub type Exchanged = (u16, Vec<(String, String)>, Bytes);

/// Why no TLS client can be made here.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsUnavailable {
    #[error("a certificate given cannot be a root: {0}")]
    BadRoot(rustls::Error),
    #[error(
        "no trusted root certificates on this machine: install the system's CA bundle (or name one in SSL_CERT_FILE)"
    )]
    NoRoots,
    #[error("TLS: {0}")]
    Protocols(rustls::Error),
}

/// Why an exchange over TLS got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect { host: String, port: u16, source: std::io::Error },
    #[error("{host}: {source}")]
    Name { host: String, source: rustls::pki_types::InvalidDnsNameError },
    /// The handshake failed; `hint` says what to do when the certificate is not trusted.
    #[error("TLS with {host}: {source}{hint}")]
    Handshake { host: String, source: std::io::Error, hint: &'static str },
    #[error("{0}")]
    Http(#[from] hyper::Error),
    #[error("reading the answer: {0}")]
    Body(String),
}

/// A TLS connector trusting the machine's roots and the `extra` certificates.
pub fn connector(extra: Vec<CertificateDer<'static>>) -> Result<TlsConnector, TlsUnavailable> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A root this rustls cannot use is left out, as browsers do; the others still verify.
        let _ = roots.add(cert);
    }
    for cert in extra {
        roots.add(cert).map_err(TlsUnavailable::BadRoot)?;
    }
    if roots.is_empty() {
        return Err(TlsUnavailable::NoRoots);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsUnavailable::Protocols)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Connect to `host:port` and, through `tls`, verify it is `host`: the stream to send on.
pub async fn connect(
    tls: &TlsConnector,
    host: &str,
    port: u16,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ExchangeError> {
    let stream = TcpStream::connect((host, port)).await.map_err(|source| ExchangeError::Connect {
        host: host.to_string(),
        port,
        source,
    })?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|source| ExchangeError::Name { host: host.to_string(), source })?;
    tls.connect(name, stream).await.map_err(|e| {
        let untrusted = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
        let hint = if untrusted {
            " (its certificate is not trusted here: the machine's roots, or SSL_CERT_FILE, must hold its CA)"
        } else {
            ""
        };
        ExchangeError::Handshake { host: host.to_string(), source: e, hint }
    })
}

/// Send `request` over `stream` (HTTP/1.1), keeping at most `max_body` bytes of the answer.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    request: hyper::Request<Full<Bytes>>,
    max_body: usize,
) -> Result<Exchanged, ExchangeError> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = Limited::new(response.into_body(), max_body)
        .collect()
        .await
        .map_err(|e| ExchangeError::Body(e.to_string()))?
        .to_bytes();
    Ok((status, headers, body))
}
