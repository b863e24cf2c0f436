//! Expiring offline access tokens: an access token lives an hour, and the app gets a new one by
//! exchanging its refresh token at `POST /admin/oauth/access_token`; every exchange rotates the
//! refresh token. The previous refresh token stays usable until the app first uses its
//! replacement (Shopify, August 2026), so an app that lost an answer can recover.
//!
//! The mock side keeps the tokens of one scenario; the client side ([`ExpiringToken`]) is the
//! auth mode `expiring-token` of built-in flows.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness_core::{MockResponse, RecordedRequest};
use serde_json::{Value, json};

use crate::SystemVersion;
use crate::client::{AuthError, AuthScheme, BoxFuture, HttpClient, OutgoingRequest};

pub(super) const TOKEN_PATH: &str = "/admin/oauth/access_token";
/// How long an expiring access token is valid.
const ACCESS_LIFETIME: Duration = Duration::from_secs(3600);
/// How long a refresh token is valid (90 days).
const REFRESH_LIFETIME: u64 = 90 * 24 * 3600;

/// The tokens one scenario's mock has issued.
pub(super) struct Tokens {
    state: Mutex<State>,
}

struct State {
    /// The refresh token the app holds now, and the one before it while the new one is unused.
    current: String,
    previous: Option<String>,
    /// Access tokens issued, with when (on the request clock).
    access: BTreeMap<String, Duration>,
    /// Access tokens a scripted 401 declared expired.
    revoked: std::collections::BTreeSet<String>,
    issued: usize,
}

impl Tokens {
    /// The tokens of an app installed with `refresh_token`.
    pub(super) fn new(refresh_token: &str) -> Tokens {
        Tokens { state: Mutex::new(State { current: refresh_token.to_string(), previous: None, access: BTreeMap::new(), revoked: Default::default(), issued: 0 }) }
    }

    /// Whether `token` is an expiring access token this mock issued and still honours at `at`.
    pub(super) fn valid(&self, token: &str, at: Duration) -> bool {
        let state = self.state.lock().expect("token lock");
        state.access.get(token).is_some_and(|issued| at < *issued + ACCESS_LIFETIME) && !state.revoked.contains(token)
    }

    /// A scripted answer refused `token`: later requests bearing it are refused too.
    pub(super) fn revoke(&self, token: &str) {
        self.state.lock().expect("token lock").revoked.insert(token.to_string());
    }

    /// The answer to a refresh exchange, as Shopify gives it.
    pub(super) fn exchange(&self, system: &SystemVersion, request: &RecordedRequest, at: Duration) -> MockResponse {
        let body = request.json().unwrap_or(Value::Null);
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
        let invalid = |description: &str| MockResponse::json(400, &json!({"error": "invalid_grant", "error_description": description}));
        if field("grant_type") != "refresh_token" {
            return invalid("grant_type must be refresh_token");
        }
        if field("client_id") != system.credential("client_id") || field("client_secret") != system.credential("app_secret") {
            return MockResponse::json(400, &json!({"error": "invalid_client", "error_description": "client_id or client_secret is wrong"}));
        }
        let mut state = self.state.lock().expect("token lock");
        let given = field("refresh_token");
        if given == state.current {
            // Its replacement is now in use: the one before it is done.
            state.previous = Some(state.current.clone());
        } else if state.previous.as_deref() != Some(given) {
            return invalid("The refresh token is invalid, expired or was already replaced");
        }
        state.issued += 1;
        let n = state.issued;
        let access = format!("shpat_expiring_{n:04}");
        state.current = format!("shprt_harness_{n:04}");
        state.access.insert(access.clone(), at);
        MockResponse::json(
            200,
            &json!({"access_token": access, "scope": "read_orders,write_inventory,write_fulfillments", "expires_in": ACCESS_LIFETIME.as_secs(),
                    "refresh_token": state.current, "refresh_token_expires_in": REFRESH_LIFETIME}),
        )
    }
}

/// The client side: exchanges the refresh token it holds (the account's `refresh_token` at
/// first, then the one each exchange returned) for an access token in `X-Shopify-Access-Token`.
pub(super) struct ExpiringToken {
    pub(super) system: Arc<SystemVersion>,
    pub(super) base_url: String,
    pub(super) refresh: Mutex<Option<String>>,
}

impl ExpiringToken {
    async fn exchange(&self, http: &HttpClient) -> Result<String, AuthError> {
        let refresh = self.refresh.lock().expect("refresh lock").clone().unwrap_or_else(|| self.system.credential("refresh_token").to_string());
        let mut request = OutgoingRequest::new(self.system.system.clone(), "POST", TOKEN_PATH);
        request.set_header("Content-Type", "application/json");
        let body = json!({"client_id": self.system.credential("client_id"), "client_secret": self.system.credential("app_secret"), "grant_type": "refresh_token", "refresh_token": refresh});
        request.body = serde_json::to_vec(&body).expect("JSON").into();
        let response = http.send(&self.base_url, &request).await.map_err(|source| AuthError::Unanswered { asking: "token exchange", source })?;
        let answer: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        if !response.is_success() {
            return Err(AuthError::Refused { asking: "token exchange", detail: format!("{} {}", response.status, answer.get("error").and_then(Value::as_str).unwrap_or("")) });
        }
        if let Some(rotated) = answer.get("refresh_token").and_then(Value::as_str) {
            *self.refresh.lock().expect("refresh lock") = Some(rotated.to_string());
        }
        answer.get("access_token").and_then(Value::as_str).map(str::to_string).ok_or_else(|| AuthError::Unusable("token exchange answered no access_token".into()))
    }
}

impl AuthScheme for ExpiringToken {
    fn obtain<'a>(&'a self, http: &'a HttpClient) -> BoxFuture<'a, Result<String, AuthError>> {
        Box::pin(self.exchange(http))
    }
    fn apply(&self, token: &str, request: &mut OutgoingRequest, _: u64, _: Duration) {
        request.set_header("X-Shopify-Access-Token", token);
    }
    fn refreshable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system() -> SystemVersion {
        SystemVersion::for_tests("shopify", "2026-10", &[("client_id", "app"), ("app_secret", "secret"), ("refresh_token", "shprt_installed")])
    }

    fn refresh(token: &str) -> RecordedRequest {
        let body = json!({"client_id": "app", "client_secret": "secret", "grant_type": "refresh_token", "refresh_token": token});
        RecordedRequest { method: "POST".into(), path: TOKEN_PATH.into(), query: String::new(), headers: Vec::new(), body: serde_json::to_vec(&body).unwrap().into() }
    }

    fn answer(r: &MockResponse) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn access_tokens_expire_after_an_hour_and_refresh_tokens_rotate() {
        let (sys, tokens) = (system(), Tokens::new("shprt_installed"));
        let first = answer(&tokens.exchange(&sys, &refresh("shprt_installed"), Duration::ZERO));
        let access = first["access_token"].as_str().unwrap();
        assert_eq!(first["expires_in"], 3600);
        assert!(tokens.valid(access, Duration::from_secs(3599)));
        assert!(!tokens.valid(access, Duration::from_secs(3600)), "an hour later it is refused");

        let rotated = first["refresh_token"].as_str().unwrap().to_string();
        assert_ne!(rotated, "shprt_installed");
        // The replaced token still works while its replacement is unused…
        let again = answer(&tokens.exchange(&sys, &refresh("shprt_installed"), Duration::ZERO));
        assert!(again.get("access_token").is_some());
        // …and not once the replacement has been used.
        let latest = again["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(tokens.exchange(&sys, &refresh(&latest), Duration::ZERO).status, 200);
        let stale = tokens.exchange(&sys, &refresh("shprt_installed"), Duration::ZERO);
        assert_eq!((stale.status, answer(&stale)["error"].as_str()), (400, Some("invalid_grant")));
    }
}
