//! `harness record`: a proxy on loopback in front of one real system. Each request is forwarded
//! to the upstream, its answer relayed unchanged, and the exchange recorded (redacted) by the
//! session. It runs until Ctrl-C or SIGTERM, then prints the redaction summary.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use harness_core::Error;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::capture::Captured;
use crate::session::{Recorded, Session};
use crate::upstream::{Upstream, forwarded};

/// Where lines for the user go (the command's standard output).
pub type Say = Arc<dyn Fn(&str) + Send + Sync>;

pub struct ProxyOptions {
    pub port: u16,
    pub upstream: String,
    pub upstream_ca: Option<std::path::PathBuf>,
}

/// Serves until interrupted; every exchange is recorded by `session`.
pub fn run(session: Session, options: &ProxyOptions, say: Say) -> Result<(), Error> {
    let upstream = Arc::new(Upstream::new(&options.upstream, options.upstream_ca.as_deref())?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the proxy: {e}")))?;
    let session = Arc::new(Mutex::new(session));
    runtime.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], options.port)))
            .await
            .map_err(|e| Error::Environment(format!("cannot listen on 127.0.0.1:{}: {e}", options.port)))?;
        let local = listener.local_addr().map_err(|e| Error::Environment(e.to_string()))?;
        say(&format!("recording through http://{local} → {} (Ctrl-C to stop)", upstream.base()));
        let serve = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (upstream, session, say) = (upstream.clone(), session.clone(), say.clone());
                tokio::spawn(async move {
                    let handler = service_fn(move |req| exchange(req, upstream.clone(), session.clone(), say.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), handler)
                        .await;
                });
            }
        };
        tokio::select! {
            () = serve => {}
            () = stopped() => {}
        }
        let summary = session.lock().map(|s| s.summary()).unwrap_or_default();
        say(&format!("redacted: {summary}"));
        Ok(())
    })
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn exchange(
    req: Request<hyper::body::Incoming>,
    upstream: Arc<Upstream>,
    session: Arc<Mutex<Session>>,
    say: Say,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let request = match Captured::received(req).await {
        Ok(r) => r,
        Err(e) => return Ok(plain(413, format!("harness record: cannot read the request: {e}"))),
    };
    let answered = match upstream.call(&request).await {
        Ok(a) => a,
        Err(why) => {
            say(&format!("  {} → not answered: {why}", request.endpoint()));
            return Ok(plain(502, format!("harness record: {} did not answer: {why}", upstream.base())));
        }
    };
    let recorded = match session.lock() {
        Ok(mut s) => s.record(&answered, &harness_core::clock::now_rfc3339()),
        Err(_) => Err(Error::Environment("an earlier exchange failed while recording".into())),
    };
    let status = answered.status;
    say(&match recorded {
        Ok(Recorded::Written(file)) => format!("  {} → {status}  {file}", request.endpoint()),
        Ok(Recorded::Refused(labels)) => format!(
            "  {} → {status}  NOT recorded: a forwarded credential ({}) would remain in it",
            request.endpoint(),
            labels.join(", ")
        ),
        Err(e) => format!("  {} → {status}  not recorded: {e}", request.endpoint()),
    });
    let mut response = Response::builder().status(answered.status);
    for (k, v) in answered.response_headers.iter().filter(|(k, _)| forwarded(k)) {
        response = response.header(k, v);
    }
    Ok(response
        .body(Full::new(Bytes::from(answered.response_body)))
        .unwrap_or_else(|e| plain(502, format!("harness record: the answer cannot be relayed: {e}"))))
}

fn plain(status: u16, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    r
}
