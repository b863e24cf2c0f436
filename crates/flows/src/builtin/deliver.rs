//! Sending a built-in flow's requests as its delivery policy says: credentials added (and
//! refreshed once per expiry), transient failures retried after the wait the system asks for or a
//! seeded backoff, every wait recorded on the virtual clock.

use harness_systems::Answer;
use harness_systems::client::{HttpError, HttpResponse, OutgoingRequest};

use super::Step;
use super::run::Run;
use crate::Wait;

/// A failed delivery: why, and the last answer if there was one.
pub(super) struct Failure {
    pub(super) reason: String,
    pub(super) last_response: Option<String>,
}

impl Run<'_> {
    /// A request whose failure is fatal to the caller (the trigger fetch).
    pub(super) async fn send(&self, request: &OutgoingRequest, key: &str, step: &str) -> Result<HttpResponse, Failure> {
        let response = self.deliver(request, key, step, self.case.seed).await?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(Failure {
                reason: self.system(&request.system).error_summary(response.status, &response.body),
                last_response: None,
            })
        }
    }

    /// Send with authentication, refreshing expired credentials once and retrying transient
    /// failures as the policy says. Other answers come back for the caller to judge.
    pub(super) async fn deliver(
        &self,
        request: &OutgoingRequest,
        key: &str,
        step: &str,
        seed: u64,
    ) -> Result<HttpResponse, Failure> {
        let policy = self.case.policy;
        let id = &request.system;
        let (system, version) = (self.system(id), self.version(id));
        let auth =
            self.auth.get(id).ok_or_else(|| Failure { reason: format!("no mock for {id}"), last_response: None })?;
        let base = self.case.base_urls.get(id).cloned().unwrap_or_default();
        let mut attempt = 1u32;
        let mut refreshed = false;
        loop {
            let mut outgoing = request.clone();
            let generation = match auth.authorize(&self.http, &mut outgoing).await {
                Ok(g) => g,
                Err(reason) => {
                    self.broken.lock().expect("broken lock").insert(id.clone(), reason.to_string());
                    return Err(Failure {
                        reason: format!("{id} credentials unavailable: {reason}"),
                        last_response: None,
                    });
                }
            };
            let (wait, last) = match self.http.send(&base, &outgoing).await {
                Ok(r) => match system.classify(version, &outgoing.path, r.status, &r.headers, &r.body) {
                    Answer::CredentialsExpired(summary) => {
                        if refreshed || !auth.refreshable() {
                            // Fresh credentials refused too, or none to refresh: this system's
                            // deliveries stop here rather than every record trying again.
                            let reason = format!("credentials refused: {summary}");
                            self.broken.lock().expect("broken lock").insert(id.clone(), reason.clone());
                            return Err(Failure { reason, last_response: Some(summary) });
                        }
                        // One refresh per expiry, then the same request again (not counted as a retry).
                        auth.expired(generation).await;
                        refreshed = true;
                        continue;
                    }
                    Answer::Transient { wait, reason } => (wait.filter(|_| policy.honour_retry_after), reason),
                    Answer::Accepted { .. } | Answer::Refused(_) => return Ok(r),
                },
                // Never sent, and sending again would not change that.
                Err(HttpError::Refused(reason)) => return Err(Failure { reason, last_response: None }),
                Err(HttpError::Exhausted(reason)) => {
                    self.environment.lock().expect("environment lock").get_or_insert(reason.clone());
                    return Err(Failure { reason, last_response: None });
                }
                Err(e) => (None, e.to_string()),
            };
            if attempt >= policy.max_attempts {
                let reason = if policy.max_attempts > 1 {
                    format!("gave up after {attempt} attempts: {last}")
                } else {
                    last.clone()
                };
                return Err(Failure { reason, last_response: Some(last) });
            }
            attempt += 1;
            let (wait, why) = wait.unwrap_or_else(|| (policy.backoff_before(attempt, seed), "backoff"));
            self.http.clock().advance(wait);
            self.waits.lock().expect("waits lock").push(Wait {
                system: id.clone(),
                record: key.to_string(),
                step: step.to_string(),
                before_attempt: attempt,
                duration: wait,
                reason: why.to_string(),
            });
        }
    }

    /// Whether an answer counts as success for this step: its status (or one the step allows),
    /// then the system's own verdict in the body (GraphQL errors and userErrors, Peoplevox
    /// `ResponseId` and rejected references).
    pub(super) fn accept(&self, request: &OutgoingRequest, step: &Step, response: &HttpResponse) -> Result<(), String> {
        let system = self.system(&request.system);
        if !response.is_success() {
            return if step.allow_status.contains(&response.status) {
                Ok(())
            } else {
                Err(system.error_summary(response.status, &response.body))
            };
        }
        match system.classify(
            self.version(&request.system),
            &request.path,
            response.status,
            &response.headers,
            &response.body,
        ) {
            Answer::Refused(reason) | Answer::Accepted { rejected: Some(reason) } => Err(reason),
            _ => Ok(()),
        }
    }
}
