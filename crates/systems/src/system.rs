//! What the harness knows about one system beyond its recorded files: how its mock behaves, how a
//! client authenticates to it, how its answers read (success, transient, refused, credentials
//! expired), what a request creates (for duplicate detection), how it signs and verifies webhooks,
//! how it pages, what a snapshot and a recording keep of its traffic, and how its traffic is
//! recognised when imported. Every stage asks the [`Registry`] for the system by its id (or for
//! the system an exchange belongs to); none matches on which system it is.
//!
//! [`Registry`]: crate::Registry

use std::sync::Arc;
use std::time::Duration;

use harness_core::{Exchange, MockResponse, SystemId};
use harness_mock::MockBehaviour;
use harness_redact::TokenShape;
use harness_syntax::system_file::KnownChange;
use serde_json::Value;

use crate::SystemVersion;
use crate::account::AccountSchemas;
use crate::client::{AuthScheme, OutgoingRequest};
use crate::records::Records;

/// How a system answered, as a client must read it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The system took the request. `rejected` says which parts of it it refused on their own
    /// (Peoplevox rejects rows by reference while taking the call).
    Accepted { rejected: Option<String> },
    /// Worth trying again: a rate limit, a server error, a throttled query; with the wait the
    /// system asked for, and why.
    Transient { wait: Option<(Duration, &'static str)>, reason: String },
    /// The credential is no longer valid (expired token, ended session): refresh and replay.
    CredentialsExpired(String),
    /// Refused for good: a validation error, a GraphQL `userErrors`, a Peoplevox `ResponseId -1`.
    Refused(String),
}

impl Answer {
    pub fn accepted(&self) -> bool {
        matches!(self, Answer::Accepted { .. })
    }
}

/// The reading every HTTP API shares, for systems to start from: 2xx taken, 401 expired
/// credentials, 429 and 5xx transient (with `Retry-After`), other statuses refused.
pub fn http_answer(status: u16, headers: &[(String, String)], summary: impl FnOnce() -> String) -> Answer {
    match status {
        200..=299 => Answer::Accepted { rejected: None },
        401 => Answer::CredentialsExpired(summary()),
        429 | 500..=599 => {
            let wait = harness_core::find_header(headers, "retry-after")
                .and_then(harness_core::clock::retry_after)
                .map(|d| (d, "Retry-After"));
            Answer::Transient { wait, reason: summary() }
        }
        _ => Answer::Refused(summary()),
    }
}

/// A SOAP service's dialect, for systems that speak SOAP.
pub trait Soap: Send + Sync {
    /// A request for `operation` with `params` (the XML inside the operation element).
    fn request(&self, version: &SystemVersion, operation: &str, params: &str) -> OutgoingRequest;
    /// Element order the service's WSDL requires inside request type `element` (e.g. `getRequest`).
    fn element_order(&self, element: &str) -> &'static [&'static str];
}

/// How a system's webhook deliveries name their topic and API version and carry their signature
/// (headers as the system spells them; looked up in any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Webhooks {
    /// The system as its users write it (`Shopify`), for messages.
    pub name: &'static str,
    pub topic_header: &'static str,
    pub version_header: &'static str,
    pub signature_header: &'static str,
    /// The credential of a system file that signs deliveries (`app_secret`).
    pub secret_credential: &'static str,
    /// The environment variable the system's own tools keep that secret in, where
    /// `harness record webhook` reads it unless told another.
    pub secret_env: &'static str,
}

/// What one scenario's mock of a system starts from besides the version the flow asks for.
#[derive(Debug, Clone, Default)]
pub struct MockSetup {
    /// The version that answers when the one asked for is no longer served as itself (Shopify
    /// answers with its oldest supported version).
    pub answering: Option<Arc<SystemVersion>>,
    /// The state the scenario gives the mock to start from (`mocks.<system>.state`), as the
    /// system's [`System::check_state`] accepted it.
    pub state: Option<Value>,
}

/// Why a scenario's `mocks.<system>.state` cannot seed the system's mock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the {0} mock keeps no state a scenario can seed")]
    Stateless(SystemId),
    /// The system keeps state, but not of this shape: why, in the system's words.
    #[error("{0}")]
    Unreadable(String),
}

pub trait System: Send + Sync {
    fn id(&self) -> &SystemId;

    /// The mock behaviour for one scenario run at `version`.
    fn mock(&self, version: &Arc<SystemVersion>, setup: &MockSetup) -> Arc<dyn MockBehaviour>;

    /// Whether a call for a version past its accessible-until date is answered by the oldest
    /// supported version (Shopify) rather than refused.
    fn falls_forward(&self) -> bool {
        false
    }

    /// Why `state` (a scenario's `mocks.<system>.state`) cannot seed this system's mock, if it
    /// cannot; systems without state refuse any.
    fn check_state(&self, state: &Value) -> Result<(), StateError> {
        let _ = state;
        Err(StateError::Stateless(self.id().clone()))
    }

    /// The documented changes in force at `version` that `request` breaks, each with the version
    /// that made it: what impact analysis names as the cause of a refusal.
    fn breaches(&self, version: &SystemVersion, request: &harness_core::RecordedRequest) -> Vec<(String, KnownChange)> {
        let _ = (version, request);
        Vec::new()
    }

    /// Whether `request` asks the system for a credential (a token, a session): every such call
    /// after the first is a refresh, counted for `expect.refreshes` of flows the harness does not
    /// run itself.
    fn credential_call(&self, version: &SystemVersion, request: &harness_core::RecordedRequest) -> bool {
        let _ = (version, request);
        false
    }

    /// What a run should be told about how the system answered (a version answered by another, a
    /// deprecated feature used), each once, from the exchanges with it.
    fn notices(&self, exchanges: &[&Exchange]) -> Vec<String> {
        let _ = exchanges;
        Vec::new()
    }

    /// A canned answer a scenario names (`preset: rate-limited`).
    fn preset(&self, version: &SystemVersion, name: &str) -> Option<MockResponse>;
    /// Names of the presets, for messages and the README.
    fn presets(&self, version: &SystemVersion) -> Vec<String>;

    /// Auth methods a built-in flow may name for this system; the first is the default.
    fn auth_methods(&self) -> Vec<&'static str>;
    /// The scheme behind `method` (one of [`System::auth_methods`], or `none`).
    fn auth(&self, method: &str, version: Arc<SystemVersion>, base_url: String) -> Option<Box<dyn AuthScheme>>;

    /// How an answer to a request for `path` reads.
    fn classify(
        &self,
        version: &SystemVersion,
        path: &str,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Answer;
    /// The system's own words for an error answer, in one line (`INVALID_CONTENT at item.items[0].item: …`).
    fn error_detail(&self, body: &[u8]) -> Option<String>;

    /// What an accepted request created, as identities: two committed requests creating the same
    /// identity are a duplicate (a retried create the system had already carried out).
    fn created_identities(&self, exchange: &Exchange) -> Vec<String>;

    /// The headers the system sends with a webhook delivery of `body` on `topic` for the event
    /// `event` (the scenario: each is an event of its own, whose redeliveries share its ids);
    /// `None` when it does not push webhooks.
    fn webhook_headers(
        &self,
        version: &SystemVersion,
        topic: &str,
        body: &[u8],
        event: &str,
    ) -> Option<Vec<(String, String)>> {
        let _ = (version, topic, body, event);
        None
    }
    /// The member of a recording that holds the webhook payload, when the recording is another
    /// shape of it (Shopify webhooks carry the resource itself: a REST answer `{"order": {…}}`
    /// holds it under `order`). Read through [`webhook_payload`], the one place that unwraps.
    fn webhook_envelope(&self, topic: &str, recorded: &Value) -> Option<String> {
        let _ = (topic, recorded);
        None
    }

    /// How the system's webhook deliveries say what they are and who signed them; `None` when it
    /// sends none the harness can verify.
    fn webhooks(&self) -> Option<Webhooks> {
        None
    }

    /// Whether `signature` (the value of [`Webhooks::signature_header`]) signs `body` under
    /// `secret`; only asked of systems with [`System::webhooks`].
    fn webhook_signature_verifies(&self, secret: &str, body: &[u8], signature: &str) -> bool {
        let _ = (secret, body, signature);
        false
    }

    /// Whether an exchange with `host` (lower case, without its port) at `path` went to this
    /// system: how imported traffic is told apart.
    fn recognises(&self, host: &str, path: &str) -> bool {
        let _ = (host, path);
        false
    }

    /// The API version an exchange with the system names, in its path or its answer's or
    /// request's headers; `None` when it names none.
    fn version_named(
        &self,
        path: &str,
        response_headers: &[(String, String)],
        request_headers: &[(String, String)],
    ) -> Option<String> {
        let _ = (path, response_headers, request_headers);
        None
    }

    /// Whether `text`, a payload on its own (a webhook body, an answer saved to a file), is one
    /// this system sends.
    fn sent(&self, text: &str) -> bool {
        let _ = text;
        false
    }

    /// Request and response headers a recording keeps for this system beyond the common ones
    /// (lower case): those that shape or describe the answer.
    fn recorded_headers(&self) -> &'static [&'static str] {
        &[]
    }

    /// The next page of a paginated read, from its answer.
    fn next_page(&self, version: &SystemVersion, headers: &[(String, String)], body: &[u8]) -> Option<String> {
        let _ = (version, headers, body);
        None
    }

    /// How the daily check lists the system's records; `None` when the harness cannot list them.
    fn records(&self) -> Option<&dyn Records> {
        None
    }

    /// How `harness schemas import` reads an account's own record definitions; `None` when the
    /// system's accounts do not describe them.
    fn account_schemas(&self) -> Option<&dyn AccountSchemas> {
        None
    }

    /// The shapes of the credentials the system issues, which recordings and `harness lint` look
    /// for in free text besides the vendor-neutral ones.
    fn token_shapes(&self) -> &'static [TokenShape] {
        &[]
    }

    /// Request headers a snapshot keeps for this system beyond the common ones (lower case): what
    /// the API requires of every request, so a change in them shows.
    fn snapshot_headers(&self) -> Vec<String> {
        Vec::new()
    }

    /// What a snapshot keeps of an answer besides its status, when the status alone would hide
    /// the verdict (a SOAP answer is HTTP 200 whatever happened).
    fn response_summary(&self, response: &MockResponse) -> Option<String> {
        let _ = response;
        None
    }

    /// The path of its GraphQL endpoint (with `{$version}`), for systems with one.
    fn graphql_path(&self) -> Option<&'static str> {
        None
    }
    /// Its SOAP dialect, for systems that speak SOAP.
    fn soap(&self) -> Option<&dyn Soap> {
        None
    }
    /// An answer as a flow's `bind` expressions see it, when it is not plain JSON.
    fn answer_value(&self, body: &[u8]) -> Option<Value> {
        let _ = body;
        None
    }
    /// The answer `recorded` (one [`System::answer_value`] reads) carrying `value` instead — a
    /// varied reading of it — in the system's own encoding; `None` when it cannot be.
    fn answer_with(&self, recorded: &[u8], value: &Value) -> Option<Vec<u8>> {
        let _ = (recorded, value);
        None
    }
    /// The columns the rows of `request`'s answer (`rows[]` of [`System::answer_value`]) can
    /// have, and what defines them (`template Despatches`), when the version says: a flow reading
    /// another column is told so by name at the step, not by what goes wrong after.
    fn answer_columns(&self, version: &SystemVersion, request: &OutgoingRequest) -> Option<(String, Vec<String>)> {
        let _ = (version, request);
        None
    }
}

impl dyn System + '_ {
    /// An error answer in one line: status and the system's words for it.
    pub fn error_summary(&self, status: u16, body: &[u8]) -> String {
        match self.error_detail(body) {
            Some(d) => format!("{status} {d}"),
            None if body.is_empty() => format!("{status}"),
            None => format!("{status} {}", String::from_utf8_lossy(&body[..body.len().min(200)])),
        }
    }

    /// Whether a delivery's signature verifies with the secret its system file holds; `None` when
    /// the system does not sign deliveries.
    pub fn verify_webhook(&self, version: &SystemVersion, headers: &[(String, String)], body: &[u8]) -> Option<bool> {
        let webhooks = self.webhooks()?;
        let secret = version.credential(webhooks.secret_credential);
        Some(
            harness_core::find_header(headers, webhooks.signature_header)
                .is_some_and(|signature| self.webhook_signature_verifies(secret, body, signature)),
        )
    }

    /// Whether the system took the request an exchange carried.
    pub fn accepted(&self, version: &SystemVersion, exchange: &Exchange) -> bool {
        let response = &exchange.response;
        if response.fault.is_some_and(|f| !f.after_commit()) {
            return false;
        }
        (200..300).contains(&response.status)
            && self
                .classify(version, &exchange.request.path, response.status, &response.headers, &response.body)
                .accepted()
    }
}

/// The webhook payload a recording for `scope` (`webhook orders/create`) holds, and the member it
/// sits under when the recording is another shape of it (`{"order": {…}}`, the REST answer). Every
/// reader of webhook recordings — delivery, version diff, migration, cause tracing, lineage, the
/// version check — unwraps through this one function, so they all see the same payload.
pub fn webhook_payload<'a>(system: &SystemId, scope: &str, recorded: &'a Value) -> (&'a Value, Option<String>) {
    static BUILTIN: std::sync::OnceLock<crate::Registry> = std::sync::OnceLock::new();
    let Some(topic) = scope.strip_prefix("webhook ") else { return (recorded, None) };
    let registry = BUILTIN.get_or_init(crate::Registry::builtin);
    match registry.get(system).and_then(|s| s.webhook_envelope(topic, recorded)) {
        Some(key) => (&recorded[key.as_str()], Some(key)),
        None => (recorded, None),
    }
}

/// The `rel="next"` URL of a `Link` header (RFC 8288), as Shopify and many REST APIs page.
pub(crate) fn next_link(header: &str) -> Option<String> {
    header.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let (_, rest) = part.split_once('<')?;
        let (url, _) = rest.split_once('>')?;
        Some(url.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        let h = r#"<https://shop.myshopify.com/admin/api/2025-01/orders.json?limit=50&page_info=abc>; rel="next", <https://x/y?page_info=z>; rel="previous""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://shop.myshopify.com/admin/api/2025-01/orders.json?limit=50&page_info=abc")
        );
        assert_eq!(next_link(r#"<https://x/y?page_info=z>; rel="previous""#), None);
        assert_eq!(next_link(r#">broken<; rel="next""#), None);
    }
}
