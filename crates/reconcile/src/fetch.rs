//! Reading one system: the listing loop (page after page, each record handed on and dropped),
//! over the systems' own HTTP client and authentication, with their reading of answers —
//! rate limits and throttled answers waited out as asked, refused credentials and an
//! unreachable system reported by name, never with a secret.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use harness_core::clock::VirtualClock;
use harness_core::{Error, SystemId};
use harness_redact::SecretMask;
use harness_systems::client::{ClientAuth, HttpClient, HttpError, NoAuth, OutgoingRequest};
use harness_systems::records::{Lister, Page, Position};
use harness_systems::tls::TlsConnector;
use harness_systems::{Answer, System, SystemVersion};
use serde::Serialize;
use serde_json::Value;

use crate::load::{Connection, Reach};
use crate::window::Window;

/// Tries of one page before the system is reported as failing.
const MAX_ATTEMPTS: u32 = 8;
/// The longest single wait honoured; a system asking for more is waited this long and asked again.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// A listing that goes on this long is going in circles.
const MAX_PAGES: u64 = 1_000_000;

/// What reading one system took.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Stats {
    pub requests: u64,
    pub pages: u64,
    pub records: u64,
    /// Answers that asked to wait (429 with Retry-After, Shopify THROTTLED, the query cost
    /// bucket running low), by what asked.
    pub throttled: BTreeMap<String, u64>,
    /// The waits they asked for, in milliseconds.
    pub waited_ms: u64,
    /// How many records the system said the listing holds, when it says.
    pub reported_total: Option<u64>,
}

impl Stats {
    /// Add what reading one page at the same time as others took.
    fn absorb(&mut self, other: Stats) {
        self.requests += other.requests;
        self.waited_ms += other.waited_ms;
        for (why, n) in other.throttled {
            *self.throttled.entry(why).or_default() += n;
        }
    }

    fn wait(&mut self, why: &str, d: Duration) -> Duration {
        let d = d.min(MAX_WAIT);
        *self.throttled.entry(why.to_string()).or_default() += 1;
        self.waited_ms += d.as_millis() as u64;
        d
    }
}

/// The TLS of every system reached over HTTPS, made for the first (the machine's roots read once).
pub(crate) type Tls = std::sync::OnceLock<Result<TlsConnector, harness_systems::tls::TlsUnavailable>>;

pub(crate) struct Client {
    system: Arc<dyn System>,
    version: Arc<SystemVersion>,
    base: String,
    http: HttpClient,
    auth: ClientAuth,
    /// `netsuite (http://127.0.0.1:4000)`: how errors name the system.
    label: String,
    mask: Arc<SecretMask>,
}

impl Client {
    /// A client of `id` at `base` (its fixture's loopback address, or the live URL).
    pub(crate) fn new(
        id: &SystemId,
        connection: &Connection,
        base: String,
        http: reqwest::Client,
        tls: &Tls,
        mask: &mut Vec<String>,
    ) -> Result<Client, Error> {
        let system = connection.system.clone();
        let label = format!("{id} ({base})");
        let (version, auth): (Arc<SystemVersion>, ClientAuth) = match &connection.reach {
            Reach::Fixture(_) => (connection.version.clone(), ClientAuth::new(Box::new(NoAuth))),
            Reach::Live { auth, credentials, .. } => {
                let mut version = (*connection.version).clone();
                version.credentials.clear();
                for (key, var) in credentials {
                    let value = std::env::var(var).map_err(|_| {
                        Error::Environment(format!(
                            "{label}: credential `{key}`: the environment variable {var} is not set"
                        ))
                    })?;
                    mask.push(value.clone());
                    version.credentials.insert(key.clone(), value);
                }
                let version = Arc::new(version);
                let scheme = system
                    .auth(auth, version.clone(), base.clone())
                    .ok_or_else(|| Error::Usage(format!("{id} has no authentication `{auth}`")))?;
                (version, ClientAuth::new(scheme))
            }
        };
        let http = HttpClient::new(http, Arc::new(VirtualClock::default()), MAX_WAIT);
        let http = if base.starts_with("https:") {
            let tls = tls
                .get_or_init(|| harness_systems::tls::connector(Vec::new()))
                .as_ref()
                .map_err(|e| Error::Environment(format!("{label}: {e}")))?;
            http.with_tls(tls.clone())
        } else {
            http
        };
        Ok(Client { system, version, base, http, auth, label, mask: Arc::new(SecretMask::new(Vec::new())) })
    }

    /// Mask these values in every message from now on.
    pub(crate) fn masking(mut self, mask: Arc<SecretMask>) -> Client {
        self.mask = mask;
        self
    }

    fn environment(&self, message: impl std::fmt::Display) -> Error {
        Error::Environment(self.mask.mask(&format!("{}: {message}", self.label)).into_owned())
    }

    /// Whether `request` only reads: a GET, or what the system says reads. Checked again right
    /// before every send, whatever built the request.
    fn read_only(&self, request: &OutgoingRequest) -> Result<(), String> {
        if request.method == "GET" {
            return Ok(());
        }
        let records = self.system.records().expect("checked at load: the system can be listed");
        records.read_only(request).map_err(|why| {
            format!("{} {} refused before sending: {why}; reconcile only reads", request.method, request.path)
        })
    }

    /// Send a read, as often as the system asks to wait (up to [`MAX_ATTEMPTS`]).
    async fn send(&self, request: OutgoingRequest, stats: &mut Stats) -> Result<Bytes, Error> {
        self.read_only(&request).map_err(|e| Error::Usage(format!("{}: {e}", self.label)))?;
        let mut refreshed = false;
        for attempt in 1..=MAX_ATTEMPTS {
            let mut sent = request.clone();
            let generation = self
                .auth
                .authorize(&self.http, &mut sent)
                .await
                .map_err(|e| self.environment(format!("credentials refused: {e}")))?;
            stats.requests += 1;
            let response = match self.http.send(&self.base, &sent).await {
                Ok(response) => response,
                // A read that got no answer in time is asked again, as a server error would be.
                Err(HttpError::Timeout(_)) if attempt < MAX_ATTEMPTS => {
                    tokio::time::sleep(stats.wait("no answer in time", Duration::from_secs(1))).await;
                    continue;
                }
                Err(e) => return Err(self.environment(format!("unreachable: {e}"))),
            };
            match self.system.classify(&self.version, &sent.path, response.status, &response.headers, &response.body) {
                Answer::Accepted { .. } => return Ok(response.body),
                Answer::Transient { wait, .. } if attempt < MAX_ATTEMPTS => {
                    let (wait, why) = wait.unwrap_or((Duration::from_secs(1), "server error"));
                    let why = if response.status == 429 { format!("429 {why}") } else { why.to_string() };
                    tokio::time::sleep(stats.wait(&why, wait)).await;
                }
                Answer::Transient { reason, .. } => {
                    return Err(
                        self.environment(format!("still throttled or failing after {MAX_ATTEMPTS} tries: {reason}"))
                    );
                }
                Answer::CredentialsExpired(_) if self.auth.refreshable() && !refreshed => {
                    refreshed = true;
                    self.auth.expired(generation).await;
                }
                Answer::CredentialsExpired(reason) => {
                    return Err(self.environment(format!("credentials refused: {reason}")));
                }
                Answer::Refused(reason) if matches!(response.status, 401 | 403) => {
                    return Err(self.environment(format!("credentials refused: {reason}")));
                }
                Answer::Refused(reason) => {
                    return Err(self.environment(format!("refused the listing request: {reason}")));
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// List every record of `lister` for `window`, page by page, handing each to `each` in the
    /// order the system lists them. Pages known ahead (NetSuite's, by offset) are read as many at
    /// once as the lister allows, and handed on in order.
    pub(crate) async fn list(
        &self,
        lister: &dyn Lister,
        window: &Window,
        mut each: impl FnMut(Value),
        mut progress: impl FnMut(&Stats),
    ) -> Result<Stats, Error> {
        let mut stats = Stats::default();
        let mut at = Position::Start;
        loop {
            let page = self.page(lister, window, &at, stats.pages + 1, &mut stats).await?;
            let mut next = self.hand_on(page, &mut stats, &mut each, &mut progress).await;
            if let Some((ahead, concurrency)) = next.as_ref().and_then(|n| lister.ahead(n, stats.reported_total)) {
                let first = stats.pages + 1;
                let mut pages = futures_util::stream::iter(ahead.into_iter().enumerate())
                    .map(|(i, position)| async move {
                        let mut own = Stats::default();
                        let page = self.page(lister, window, &position, first + i as u64, &mut own).await;
                        (position, own, page)
                    })
                    .buffered(concurrency);
                while let Some((position, own, page)) = pages.next().await {
                    stats.absorb(own);
                    at = position;
                    next = self.hand_on(page?, &mut stats, &mut each, &mut progress).await;
                }
            }
            match next {
                Some(next) if next != at && stats.pages < MAX_PAGES => at = next,
                Some(_) => {
                    return Err(self.environment("the listing does not advance (the same page was offered again)"));
                }
                None => return Ok(stats),
            }
        }
    }

    /// The page at `at` (the `number`th), read.
    async fn page(
        &self,
        lister: &dyn Lister,
        window: &Window,
        at: &Position,
        number: u64,
        stats: &mut Stats,
    ) -> Result<Page, Error> {
        let body = self.send(lister.request(&self.version, &window.period(), at), stats).await?;
        lister.read(at, &body).map_err(|e| self.environment(format!("page {number}: {e}")))
    }

    /// Hand a page's records on, count them, and wait as long as the page asked: where the next starts.
    async fn hand_on(
        &self,
        page: Page,
        stats: &mut Stats,
        each: &mut impl FnMut(Value),
        progress: &mut impl FnMut(&Stats),
    ) -> Option<Position> {
        stats.pages += 1;
        stats.records += page.records.len() as u64;
        stats.reported_total = page.total.or(stats.reported_total);
        page.records.into_iter().for_each(each);
        progress(stats);
        if let Some(pause) = page.pause {
            tokio::time::sleep(stats.wait("query cost", pause)).await;
        }
        page.next
    }
}
