//! What the service driver's unit tests share.

use std::time::Duration;

use harness_core::{Exchange, MockResponse, RecordedRequest, SystemId};

/// A `POST path` with `body` that NetSuite's mock answered 204, `at` into the case.
pub(super) fn exchange(path: &str, body: &str, at: Duration) -> Exchange {
    let request = RecordedRequest {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        headers: Vec::new(),
        body: bytes::Bytes::from(body.to_string()),
    };
    Exchange {
        system: SystemId::new("netsuite").unwrap(),
        seq: 0,
        request,
        response: MockResponse::new(204),
        answered_by: None,
        step: None,
        at,
    }
}
