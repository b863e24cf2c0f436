//! `harness record webhook`: real webhook deliveries received on loopback (forwarded from a
//! tunnel or `shopify app webhook trigger`), their HMAC verified with the app's secret, each body
//! stored redacted as a trigger recording of its topic at the API version it was sent for:
//! `mocks/shopify/<version>/webhooks/<topic>/delivery.json`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use harness_core::{Error, SystemId};
use harness_syntax::Project;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use tokio::net::TcpListener;

use crate::capture::{Captured, header};
use crate::proxy::{Say, stopped};
use crate::session::{Drafts, Outcome, Session};
use crate::upstream::MAX_BODY;

/// Whether `signature` (base64, as in `X-Shopify-Hmac-Sha256`) is the HMAC-SHA256 of `body`
/// under `secret`; compared in constant time.
fn verified(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature.trim()) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

struct Receiver {
    project: Project,
    system: SystemId,
    secret: String,
    /// One session per API version deliveries arrive for.
    sessions: BTreeMap<String, Session>,
}

pub fn run(project: &Project, system: &SystemId, secret: &str, port: u16, say: Say) -> Result<(), Error> {
    if system.as_str() != "shopify" {
        return Err(Error::Usage(format!("harness record webhook receives Shopify deliveries; {system} sends none the harness can verify")));
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Error::Environment(e.to_string()))?;
    let receiver = Arc::new(Mutex::new(Receiver { project: project.clone(), system: system.clone(), secret: secret.to_string(), sessions: BTreeMap::new() }));
    runtime.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await.map_err(|e| Error::Environment(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let local = listener.local_addr().map_err(|e| Error::Environment(e.to_string()))?;
        say(&format!("receiving {system} webhooks on http://{local} (Ctrl-C to stop)"));
        let serve = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (receiver, say) = (receiver.clone(), say.clone());
                tokio::spawn(async move {
                    let handler = service_fn(move |req| delivery(req, receiver.clone(), say.clone()));
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), handler).await;
                });
            }
        };
        tokio::select! {
            () = serve => {}
            () = stopped() => {}
        }
        if let Ok(r) = receiver.lock() {
            for (version, session) in &r.sessions {
                say(&format!("redacted ({version}): {}", session.summary()));
            }
        }
        Ok(())
    })
}

async fn delivery(req: Request<hyper::body::Incoming>, receiver: Arc<Mutex<Receiver>>, say: Say) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let headers: Vec<(String, String)> = parts.headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let Ok(body) = Limited::new(body, MAX_BODY).collect().await.map(|b| b.to_bytes()) else { return Ok(answer(413, "body too large")) };
    let Ok(mut r) = receiver.lock() else { return Ok(answer(500, "receiver failed")) };
    let (topic, version) = (header(&headers, "x-shopify-topic").unwrap_or_default().to_string(), header(&headers, "x-shopify-api-version").unwrap_or_default().to_string());
    if topic.is_empty() || version.is_empty() {
        say("  delivery without X-Shopify-Topic and X-Shopify-API-Version: not a Shopify webhook, rejected");
        return Ok(answer(400, "not a Shopify webhook"));
    }
    if !header(&headers, "x-shopify-hmac-sha256").is_some_and(|sig| verified(&r.secret, &body, sig)) {
        say(&format!("  webhook {topic} ({version}): HMAC does not verify with the app secret, rejected"));
        return Ok(answer(401, "HMAC does not verify"));
    }
    let captured = Captured { method: "POST".into(), path: "/".into(), request_headers: headers, status: 200, response_headers: vec![("Content-Type".into(), "application/json".into())], response_body: body.to_vec(), ..Captured::default() };
    let base = format!("webhooks/{}/delivery", topic.replace('/', "-"));
    let Receiver { project, system, sessions, .. } = &mut *r;
    let session = match sessions.entry(version.clone()) {
        std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
        std::collections::btree_map::Entry::Vacant(v) => match Session::new(project, system.clone(), &version, "webhook delivery", Drafts::default()) {
            Ok(s) => v.insert(s),
            Err(e) => {
                say(&format!("  webhook {topic}: {e}"));
                return Ok(answer(500, "cannot record"));
            }
        },
    };
    match session.record_payload(&captured, &harness_core::clock::now_rfc3339(), Some(&format!("webhook {topic}")), &base) {
        Ok(Outcome::Written(file)) => say(&format!("  webhook {topic} ({version}) verified  {file}")),
        Ok(Outcome::Refused(labels)) => say(&format!("  webhook {topic} ({version}) NOT recorded: a credential ({}) would remain in it", labels.join(", "))),
        Err(e) => say(&format!("  webhook {topic}: not recorded: {e}")),
    }
    Ok(answer(200, "ok"))
}

fn answer(status: u16, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_is_checked() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"app-secret").unwrap();
        mac.update(b"{\"id\":1}");
        let good = STANDARD.encode(mac.finalize().into_bytes());
        assert!(verified("app-secret", b"{\"id\":1}", &good));
        assert!(!verified("app-secret", b"{\"id\":2}", &good));
        assert!(!verified("other", b"{\"id\":1}", &good));
        assert!(!verified("app-secret", b"{\"id\":1}", "not base64!"));
    }
}
