//! The Shopify Admin API mock: versioned paths (a request for another version is refused), the
//! access token, `X-Shopify-Shop-Api-Call-Limit` and `X-Shopify-API-Version` on every answer,
//! errors under `errors`, endpoints a version removed answering 404, request schemas answered with
//! 422 as Shopify validates, the GraphQL rules of the version's documented changes, the shop's
//! inventory, the query cost on GraphQL answers, and `X-Shopify-API-Deprecated-Reason` naming the
//! deprecated fields a query selects.
//!
//! Expiring offline access tokens are issued by the refresh exchange at `/admin/oauth/access_token`
//! (see `tokens`); the account's fixed `access_token` is taken too.
//!
//! A version past its accessible-until date is answered as Shopify does: by the oldest supported
//! version (`answering`), whose name `X-Shopify-API-Version` carries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use harness_core::{MockResponse, RecordedRequest};
use harness_mock::MockBehaviour;
use serde_json::{Value, json};

use super::inventory::Inventory;
use super::tokens::{self, Tokens};
use super::{UNAUTHORIZED, errors, graphql, is_graphql};
use crate::{MockSetup, SystemVersion};

/// Size of the REST leaky bucket reported in the call-limit header (standard plan).
const BUCKET: usize = 40;

pub(super) struct Mock {
    /// The version the flow asks for, in its paths.
    requested: Arc<SystemVersion>,
    /// The version whose rules answer: the requested one, or the one it falls forward to.
    serving: Arc<SystemVersion>,
    inventory: Inventory,
    tokens: Tokens,
    calls: AtomicUsize,
}

impl Mock {
    pub(super) fn new(requested: Arc<SystemVersion>, setup: &MockSetup) -> Self {
        let serving = setup.answering.clone().unwrap_or_else(|| requested.clone());
        let tokens = Tokens::new(serving.credential("refresh_token"));
        Mock { requested, serving, inventory: Inventory::new(setup.state.as_ref()), tokens, calls: AtomicUsize::new(0) }
    }

    /// `path` as the serving version names it.
    fn served_path(&self, path: &str) -> String {
        path.replacen(&format!("/{}/", self.requested.version), &format!("/{}/", self.serving.version), 1)
    }

    /// What the GraphQL layer refuses before any stub: what the version's documented changes rule out.
    fn refusal(&self, body: &Value) -> Option<MockResponse> {
        graphql::refusal(&graphql::breaches(body, &self.serving.in_force)).map(|r| MockResponse::json(200, &r))
    }

    /// An inventory mutation no stub answers, answered from the shop's inventory when it keeps
    /// the levels touched.
    fn inventory(&self, body: &Value) -> Option<MockResponse> {
        let variables = body.get("variables").cloned().unwrap_or(Value::Null);
        let op = graphql::operation(body)?;
        let [field] = op.fields.as_slice() else { return None };
        let input = match field.args.iter().find(|(name, _)| name == "input")?.1.strip_prefix('$') {
            Some(var) => variables.get(var)?.clone(),
            None => return None,
        };
        self.inventory.answer(&field.name, &input).map(|answer| MockResponse::json(200, &answer))
    }
}

impl MockBehaviour for Mock {
    fn gate(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse> {
        if request.path == tokens::TOKEN_PATH {
            // Unversioned, and needs no access token; answered by default unless stubbed.
            return None;
        }
        let Some(rest) = request.path.strip_prefix("/admin/api/") else {
            return Some(self.not_found(request));
        };
        let version = rest.split('/').next().unwrap_or("");
        if version != self.requested.version {
            // Mixing versions in one integration is a configuration bug worth failing loudly on.
            return Some(errors(404, json!(format!("Not Found (this mock serves API version {} only, not {version})", self.requested.version))));
        }
        let token = request.header("x-shopify-access-token").unwrap_or("");
        if token != self.serving.credential("access_token") && !self.tokens.valid(token, at) {
            return Some(errors(401, json!(UNAUTHORIZED)));
        }
        let endpoint = self.serving.endpoint(&request.method, &self.served_path(&request.path))?;
        if endpoint.removed.is_some() {
            return Some(self.not_found(request));
        }
        let schema = endpoint.request_schema.as_ref()?;
        let Some(body) = request.json() else {
            return Some(errors(400, json!("Bad Request: the body is not valid JSON")));
        };
        let violations = schema.violations(&body);
        if violations.is_empty() {
            return if is_graphql(&request.path) { self.refusal(&body) } else { None };
        }
        let mut fields = serde_json::Map::new();
        for v in violations {
            let field = v.instance_path.trim_start_matches('/').replace('/', ".");
            let field = if field.is_empty() { "base".to_string() } else { field };
            fields.entry(field).or_insert_with(|| json!([])).as_array_mut().expect("array").push(json!(v.message));
        }
        Some(errors(422, Value::Object(fields)))
    }

    fn render(&self, request: &RecordedRequest, mut response: MockResponse, _at: Duration) -> MockResponse {
        // A scripted 401 ends the token it refused, as its expiry would.
        if response.status == 401
            && let Some(token) = request.header("x-shopify-access-token")
        {
            self.tokens.revoke(token);
        }
        // Recorded `Link` headers name the real shop; point them at this mock so clients that
        // follow the URL as given stay on loopback.
        if let Some(link) = response.header_value("link").map(str::to_string) {
            let host = request.header("host").unwrap_or("localhost");
            let shop = format!("https://{}", self.serving.credential("shop_domain"));
            response.set_header("Link", link.replace(&shop, &format!("http://{host}")));
        }
        response
    }

    fn default_response(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse> {
        if request.path == tokens::TOKEN_PATH && request.method == "POST" {
            return Some(self.tokens.exchange(&self.serving, request, at));
        }
        if is_graphql(&request.path) { self.inventory(&request.json()?) } else { None }
    }

    fn not_found(&self, _request: &RecordedRequest) -> MockResponse {
        errors(404, json!("Not Found"))
    }

    fn decorate(&self, request: &RecordedRequest, response: &mut MockResponse) {
        if request.path == tokens::TOKEN_PATH {
            // The OAuth endpoint is not the Admin API: no version, no call limit.
            return;
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if is_graphql(&request.path) {
            add_query_cost(response);
            let query = request.json().and_then(|b| b.get("query")?.as_str().map(str::to_string)).unwrap_or_default();
            let deprecated = graphql::deprecated_fields(&query, &self.serving.in_force);
            if !deprecated.is_empty() {
                response.set_header("X-Shopify-API-Deprecated-Reason", deprecated.join(", "));
            }
        } else {
            response.set_header("X-Shopify-Shop-Api-Call-Limit", format!("{}/{BUCKET}", n.min(BUCKET)));
        }
        response.set_header("X-Shopify-API-Version", self.serving.version.clone());
        response.set_header("X-Request-Id", format!("00000000-0000-4000-8000-{n:012}"));
        if response.header_value("content-type").is_none() && !response.body.is_empty() {
            response.set_header("Content-Type", "application/json; charset=utf-8");
        }
    }
}

/// Every GraphQL answer carries the query cost and the throttle bucket, as Shopify's does; a
/// recorded answer that already has them keeps its own.
fn add_query_cost(response: &mut MockResponse) {
    let Ok(mut body) = serde_json::from_slice::<Value>(&response.body) else { return };
    if body.get("data").is_none() || body.get("extensions").is_some() {
        return;
    }
    body["extensions"] = json!({"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}});
    response.body = serde_json::to_vec(&body).expect("JSON").into();
}
