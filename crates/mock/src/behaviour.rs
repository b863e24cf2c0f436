//! What a system's mock does that a stub file cannot say: the rules the real API applies to every
//! request. Each system implements it; the stub handler consults it around the scenario's stubs.

use std::time::Duration;

use harness_core::{MockResponse, RecordedRequest};

/// One instance per scenario run, so state such as issued tokens or created records never leaks
/// between scenarios.
pub trait MockBehaviour: Send + Sync {
    /// Checked before any stub, as the real API checks them first: authentication, required
    /// headers, request schemas. `Some` refuses the request with that answer.
    fn gate(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse>;
    /// Fill in what a stubbed answer leaves to the system (content type, generated ids), and
    /// take note of what it means for the system's state (a token issued, a session ended).
    fn render(&self, request: &RecordedRequest, response: MockResponse, at: Duration) -> MockResponse {
        let _ = (request, at);
        response
    }
    /// What the system does for a request no stub matched, by its own rules (a record created is
    /// stored; a stored one is read back).
    fn default_response(&self, request: &RecordedRequest, at: Duration) -> Option<MockResponse>;
    /// What the mock answers a request no stub and no rule answers, when it has a plausible guess
    /// (a SuiteQL query finds no rows), with the guess in a few words. Runs say so, and fail on it
    /// with `strict_stubs`: the scenario should state that answer.
    fn guess(&self, request: &RecordedRequest) -> Option<(MockResponse, &'static str)> {
        let _ = request;
        None
    }
    /// The system's own "no such endpoint" answer.
    fn not_found(&self, request: &RecordedRequest) -> MockResponse;
    /// The secrets the mock issued so far (access tokens, session ids), to mask wherever they
    /// appear in what the harness writes.
    fn issued(&self) -> Vec<String> {
        Vec::new()
    }
    /// Headers every answer carries (Shopify's call-limit header).
    fn decorate(&self, request: &RecordedRequest, response: &mut MockResponse) {
        let _ = (request, response);
    }
}
