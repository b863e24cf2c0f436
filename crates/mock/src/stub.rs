//! A stub ready to serve: its matcher compiled, its answers loaded, call after call.

use harness_core::MockResponse;

use crate::Matcher;

#[derive(Debug, Clone)]
pub struct Stub {
    pub name: String,
    pub matcher: Matcher,
    /// Answers for call 1, 2, ...; the last repeats.
    pub responses: Vec<MockResponse>,
    /// Stop matching after this many calls.
    pub times: Option<usize>,
}

impl Stub {
    pub fn response_for_call(&self, call: usize) -> &MockResponse {
        &self.responses[call.min(self.responses.len() - 1)]
    }
}
