//! Delivering a case's trigger to a service as its source system would: a Shopify webhook POSTed
//! with the headers Shopify sends (signed with the app secret), a Peoplevox callback as the GET or
//! POST of its filled URL template; the whole payload at once or record by record; as many times
//! as the scenario says (a redelivery is identical); again after a 5xx or no answer in time, as
//! Shopify retries. "In time" is counted on the clock load cannot cut short (the caller's limit).

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use harness_core::Diagnostic;
use harness_syntax::service::{DeliverSpec, RecordDelivery};

use crate::driver::{CaseContext, JobContext};
use crate::source::FlowSource;
use crate::{DeliveryAnswer, RunStatus};

/// How long a service may take to answer, by default: what Shopify waits.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Deliveries made again after a failed one, by default.
const RETRIES: u32 = 2;
/// The client's cap on a delivery, far beyond any `limit` it is given.
const UNCAPPED: Duration = Duration::from_secs(24 * 3600);
/// Most of an answer's body kept.
const BODY_LIMIT: usize = 4096;

#[derive(Debug)]
pub(super) struct Deliver {
    /// With `{Param}` holes.
    path: String,
    post: bool,
    each: bool,
    timeout: Duration,
    retries: u32,
}

/// One request to deliver.
struct Delivery {
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Deliver {
    pub(super) fn compile(source: &FlowSource<'_>, spec: &DeliverSpec) -> Result<Deliver, Diagnostic> {
        let post = match spec.method.as_ref().map(|m| m.to_ascii_uppercase()) {
            None => true,
            Some(m) if m == "POST" => true,
            Some(m) if m == "GET" => false,
            Some(m) => {
                return Err(source.error(
                    spec.method.as_ref().expect("given"),
                    format!("`deliver.method`: `{m}` is not GET or POST"),
                ));
            }
        };
        if !spec.path.starts_with('/') {
            return Err(
                source.error(&spec.path, format!("`deliver.path`: `{}` should start with `/`", spec.path.value))
            );
        }
        if spec.path.matches('{').count() != spec.path.matches('}').count() {
            return Err(source.error(&spec.path, "`deliver.path`: a `{` without its `}` (holes are `{Param}`)"));
        }
        Ok(Deliver {
            path: spec.path.value.clone(),
            post,
            each: spec.records == RecordDelivery::Each,
            timeout: spec.timeout.unwrap_or(TIMEOUT),
            retries: spec.retries.unwrap_or(RETRIES),
        })
    }

    /// Deliver the case's trigger to the service at `url`; how it answered each delivery. `limit`
    /// resolves once the time given has passed on the service's load-proof clock.
    pub(super) async fn deliver<F: Future<Output = ()>>(
        &self,
        job: &JobContext,
        case: &CaseContext<'_>,
        url: &str,
        limit: impl Fn(Duration) -> F,
    ) -> Result<Vec<DeliveryAnswer>, RunStatus> {
        let deliveries = self.deliveries(job, case).map_err(RunStatus::Failed)?;
        let mut answers = Vec::new();
        for _ in 0..case.input.times.max(1) {
            for d in &deliveries {
                answers.push(self.send(job, url, d, &limit).await);
            }
        }
        Ok(answers)
    }

    fn deliveries(&self, job: &JobContext, case: &CaseContext<'_>) -> Result<Vec<Delivery>, String> {
        let input = case.input;
        let path = fill(&self.path, &input.params)?;
        if !self.each {
            return Ok(vec![Delivery {
                path,
                headers: input.headers.clone(),
                body: if self.post { input.body.clone() } else { Bytes::new() },
            }]);
        }
        let payload = input.json.as_deref().ok_or("`deliver.records: each` needs a JSON trigger payload")?;
        let records = case.trigger.split.split([payload]).map_err(|e| e.to_string())?;
        let system = job.registry.system(&case.trigger.system);
        let version = case
            .systems
            .get(&case.trigger.system)
            .ok_or_else(|| format!("the scenario runs no {} version", case.trigger.system))?;
        Ok(records
            .into_iter()
            .map(|r| {
                let body = Bytes::from(serde_json::to_vec(&*r.json).expect("JSON"));
                // Each record is a webhook of its own, with its own signature.
                let headers = system
                    .webhook_headers(version, case.trigger.topic(), &body, case.id)
                    .unwrap_or_else(|| input.headers.clone());
                Delivery { path: path.clone(), headers, body }
            })
            .collect())
    }

    async fn send<F: Future<Output = ()>>(
        &self,
        job: &JobContext,
        url: &str,
        d: &Delivery,
        limit: &impl Fn(Duration) -> F,
    ) -> DeliveryAnswer {
        let shown = format!("{} {}", if self.post { "POST" } else { "GET" }, d.path);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut request = if self.post {
                job.reqwest.post(format!("{url}{}", d.path)).body(d.body.clone())
            } else {
                job.reqwest.get(format!("{url}{}", d.path))
            };
            for (name, value) in &d.headers {
                request = request.header(name, value);
            }
            // Ended by `limit`, not by the client's own cap on the wall clock.
            let exchange = async {
                let response = request.timeout(UNCAPPED).send().await?;
                let status = response.status().as_u16();
                let body = response
                    .bytes()
                    .await
                    .map(|b| String::from_utf8_lossy(&b[..b.len().min(BODY_LIMIT)]).into_owned())
                    .unwrap_or_default();
                Ok::<_, reqwest::Error>((status, body))
            };
            let answered = tokio::select! {
                answered = exchange => answered.map_err(|e| format!("the connection failed ({})", root_cause(&e))),
                () = limit(self.timeout) => Err(format!("no answer within {}", harness_core::duration::format(self.timeout))),
            };
            let answer = match answered {
                Ok((status, body)) => DeliveryAnswer { request: shown.clone(), status: Some(status), body, attempts },
                Err(why) => DeliveryAnswer { request: shown.clone(), status: None, body: why, attempts },
            };
            let retry = answer.status.is_none_or(|s| s >= 500);
            if !retry || attempts > self.retries {
                return answer;
            }
        }
    }
}

/// `{Param}` holes of `path` filled from the callback's parameters, URL-encoded.
fn fill(path: &str, params: &std::collections::BTreeMap<String, String>) -> Result<String, String> {
    let (mut out, mut rest) = (String::new(), path);
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c).ok_or("`deliver.path`: a `{` without its `}`")?;
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let value = params.get(name).ok_or_else(|| format!("`deliver.path` fills `{{{name}}}`, but the trigger has no parameter `{name}` (add it to the scenario's `trigger.params`)"))?;
        out.push_str(&harness_core::encoding::encode(value));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The innermost cause of a client error: what went wrong on the wire.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_templates_are_filled_encoded_and_missing_parameters_named() {
        let params = [("TrackingNumber".to_string(), "TRK 1".to_string())].into_iter().collect();
        assert_eq!(
            fill("/pvx/despatch?TrackingNumber={TrackingNumber}", &params).unwrap(),
            "/pvx/despatch?TrackingNumber=TRK%201"
        );
        assert!(fill("/pvx?n={SalesOrderNumber}", &params).unwrap_err().contains("no parameter `SalesOrderNumber`"));
    }
}
