//! `harness record webhook`: real webhook deliveries received on loopback (forwarded from a
//! tunnel or `shopify app webhook trigger`), their signature verified with the app's secret, each
//! body stored redacted as a trigger recording of its topic at the API version it was sent for:
//! `mocks/<system>/<version>/webhooks/<topic>/delivery.json`. What a delivery looks like and how
//! it is signed is the system's to say (`System::webhooks`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use harness_core::{Error, SystemId};
use harness_syntax::Project;
use harness_systems::{Registry, System, Webhooks};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::capture::{Captured, header};
use crate::proxy::{Say, stopped};
use crate::session::{Drafts, Recorded, Session};

struct Receiver {
    project: Project,
    system: Arc<dyn System>,
    webhooks: Webhooks,
    secret: String,
    /// One session per API version deliveries arrive for.
    sessions: BTreeMap<String, Session>,
}

/// Deliveries are verified with the secret in the environment variable `secret_env`, by default
/// the one the sending system's own tools use.
pub fn run(project: &Project, system: &SystemId, secret_env: Option<&str>, port: u16, say: Say) -> Result<(), Error> {
    let registry = Registry::builtin();
    let Some((sender, webhooks)) = registry.get(system).and_then(|s| Some((s.clone(), s.webhooks()?))) else {
        let senders: Vec<&str> = registry.all().filter_map(|s| s.webhooks()).map(|w| w.name).collect();
        return Err(Error::Usage(format!(
            "harness record webhook receives {} deliveries; {system} sends none the harness can verify",
            senders.join(" or ")
        )));
    };
    let secret_env = secret_env.unwrap_or(webhooks.secret_env);
    let secret = std::env::var(secret_env).map_err(|_| {
        Error::Usage(format!("set {secret_env} to the app's client secret: it verifies each delivery's HMAC"))
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(e.to_string()))?;
    let receiver = Arc::new(Mutex::new(Receiver {
        project: project.clone(),
        system: sender,
        webhooks,
        secret,
        sessions: BTreeMap::new(),
    }));
    runtime.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .map_err(|e| Error::Environment(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let local = listener.local_addr().map_err(|e| Error::Environment(e.to_string()))?;
        say(&format!("receiving {system} webhooks on http://{local} (Ctrl-C to stop)"));
        let serve = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (receiver, say) = (receiver.clone(), say.clone());
                tokio::spawn(async move {
                    let handler = service_fn(move |req| delivery(req, receiver.clone(), say.clone()));
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
        if let Ok(r) = receiver.lock() {
            for (version, session) in &r.sessions {
                say(&format!("redacted ({version}): {}", session.summary()));
            }
        }
        Ok(())
    })
}

async fn delivery(
    req: Request<hyper::body::Incoming>,
    receiver: Arc<Mutex<Receiver>>,
    say: Say,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let Ok(Captured { request_headers: headers, request_body: body, .. }) = Captured::received(req).await else {
        return Ok(answer(413, "body too large"));
    };
    let Ok(mut r) = receiver.lock() else { return Ok(answer(500, "receiver failed")) };
    let w = r.webhooks;
    let (topic, version) = (
        header(&headers, w.topic_header).unwrap_or_default().to_string(),
        header(&headers, w.version_header).unwrap_or_default().to_string(),
    );
    if topic.is_empty() || version.is_empty() {
        say(&format!(
            "  delivery without {} and {}: not a {} webhook, rejected",
            w.topic_header, w.version_header, w.name
        ));
        return Ok(answer(400, format!("not a {} webhook", w.name)));
    }
    if !header(&headers, w.signature_header)
        .is_some_and(|sig| r.system.webhook_signature_verifies(&r.secret, &body, sig))
    {
        say(&format!("  webhook {topic} ({version}): HMAC does not verify with the app secret, rejected"));
        return Ok(answer(401, "HMAC does not verify"));
    }
    let captured = Captured {
        method: "POST".into(),
        path: "/".into(),
        request_headers: headers,
        status: 200,
        response_headers: vec![("Content-Type".into(), "application/json".into())],
        response_body: body,
        ..Captured::default()
    };
    let base = format!("webhooks/{}/delivery", topic.replace('/', "-"));
    let Receiver { project, system, sessions, .. } = &mut *r;
    let session = match sessions.entry(version.clone()) {
        std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
        std::collections::btree_map::Entry::Vacant(v) => {
            match Session::new(project, system.id().clone(), &version, "webhook delivery", Drafts::default()) {
                Ok(s) => v.insert(s),
                Err(e) => {
                    say(&format!("  webhook {topic}: {e}"));
                    return Ok(answer(500, "cannot record"));
                }
            }
        }
    };
    match session.record_payload(
        &captured,
        &harness_core::clock::now_rfc3339(),
        Some(&format!("webhook {topic}")),
        &base,
    ) {
        Ok(Recorded::Written(file)) => say(&format!("  webhook {topic} ({version}) verified  {file}")),
        Ok(Recorded::Refused(labels)) => say(&format!(
            "  webhook {topic} ({version}) NOT recorded: a credential ({}) would remain in it",
            labels.join(", ")
        )),
        Err(e) => say(&format!("  webhook {topic}: not recorded: {e}")),
    }
    Ok(answer(200, "ok"))
}

fn answer(status: u16, text: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(text.into()));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r
}
