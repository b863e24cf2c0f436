//! Running a built-in flow for one case: the trigger payloads (the webhook, or every page the
//! poll fetched), split into records, each record walked through the steps — `filter`, `when`,
//! the call and its `bind`s — and how each ended.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use harness_core::{Outcome, SystemId, clock};
use harness_expr::{Doc, Scope, missing_key, path_text};
use harness_systems::client::{ClientAuth, HttpClient, NoAuth, OutgoingRequest};
use harness_systems::{Registry, System, SystemVersion};
use serde_json::{Value, json};

use super::{BuiltinFlow, Call, Step, codec};
use crate::driver::CaseContext;
use crate::policy::splitmix64;
use crate::{FlowRun, MissingField, Record, RecordOutcome, RunStatus, Wait};

/// One case's run of a built-in flow.
pub(super) struct Run<'a> {
    flow: &'a BuiltinFlow,
    registry: &'a Registry,
    pub(super) case: CaseContext<'a>,
    pub(super) http: HttpClient,
    pub(super) auth: BTreeMap<SystemId, ClientAuth>,
    /// Systems whose credentials could not be obtained: their deliveries stop with this reason.
    pub(super) broken: Mutex<BTreeMap<SystemId, String>>,
    pub(super) waits: Mutex<Vec<Wait>>,
    missing: Mutex<Vec<MissingField>>,
    /// The first thing the machine refused a request (see [`FlowRun::environment`]).
    pub(super) environment: Mutex<Option<String>>,
}

pub(super) async fn run(
    flow: &BuiltinFlow,
    registry: &Registry,
    reqwest: &reqwest::Client,
    case: CaseContext<'_>,
) -> FlowRun {
    let clock = std::sync::Arc::new(clock::VirtualClock::default());
    let http = HttpClient::new(reqwest.clone(), clock, case.policy.timeout);
    let auth = case
        .systems
        .iter()
        .map(|(id, version)| {
            let system = registry.system(id);
            let method = flow
                .auth
                .get(id)
                .cloned()
                .unwrap_or_else(|| system.auth_methods().first().map_or("none".to_string(), |m| m.to_string()));
            let base = case.base_urls.get(id).cloned().unwrap_or_default();
            let scheme = system.auth(&method, version.clone(), base).unwrap_or_else(|| Box::new(NoAuth));
            (id.clone(), ClientAuth::new(scheme))
        })
        .collect();
    let run = Run {
        flow,
        registry,
        case,
        http,
        auth,
        broken: Mutex::default(),
        waits: Mutex::default(),
        missing: Mutex::default(),
        environment: Mutex::default(),
    };

    let payloads = match run.trigger_payloads().await {
        Ok(p) => p,
        Err(message) => return FlowRun::failed(message),
    };
    let mut scope = Scope::new(&flow.names, &flow.xref);
    scope.set("now", &json!(clock::rfc3339(clock::EPOCH)));
    let records = match run.case.trigger.split.split(payloads.iter().map(|p| p.as_ref())) {
        Ok(r) => r,
        Err(e) => return FlowRun::failed(e.to_string()),
    };

    let stop = AtomicBool::new(false);
    let (run_ref, scope_ref, stop_ref) = (&run, &scope, &stop);
    let pending = records.iter().enumerate().map(|(i, record)| async move {
        if stop_ref.load(Ordering::SeqCst) {
            return RecordOutcome {
                key: record.key.clone(),
                outcome: Outcome::NotProcessed,
                reason: Some("the flow stopped at an earlier record".into()),
                last_response: None,
            };
        }
        let outcome = run_ref.record(i, record, scope_ref.clone()).await;
        if outcome.outcome == Outcome::DeadLettered
            && run_ref.case.policy.on_failure == harness_syntax::delivery::OnFailure::Stop
        {
            stop_ref.store(true, Ordering::SeqCst);
        }
        outcome
    });
    let outcomes: Vec<RecordOutcome> =
        futures_util::stream::iter(pending).buffered(run.case.policy.concurrency).collect().await;

    let stopped = outcomes.iter().any(|o| o.outcome == Outcome::NotProcessed);
    let mut missing = run.missing.into_inner().expect("missing lock");
    missing.sort();
    missing.dedup();
    FlowRun {
        status: if stopped {
            RunStatus::Failed("the flow stopped after a record failed (on_failure: stop)".into())
        } else {
            RunStatus::Completed
        },
        records: outcomes,
        missing,
        waits: run.waits.into_inner().expect("waits lock"),
        refreshes: run.auth.iter().map(|(k, a)| (k.clone(), a.refreshes())).filter(|(_, n)| *n > 0).collect(),
        output: String::new(),
        environment: run.environment.into_inner().expect("environment lock"),
        ..FlowRun::completed()
    }
}

impl<'a> Run<'a> {
    pub(super) fn system(&self, id: &SystemId) -> &dyn System {
        self.registry.system(id).as_ref()
    }

    pub(super) fn version(&self, id: &SystemId) -> &SystemVersion {
        &self.case.systems[id]
    }

    /// The trigger payloads: the webhook or callback, or every page the poll fetched.
    async fn trigger_payloads(&self) -> Result<Vec<Cow<'a, Value>>, String> {
        let (trigger, input) = (self.case.trigger, self.case.input);
        let version = self.case.systems.get(&trigger.system).ok_or("the trigger system has no mock")?;
        let system = self.system(&trigger.system);
        let Some(fetch) = &trigger.fetch else {
            if trigger.verify_signature
                && let Some(webhooks) = system.webhooks()
                && system.verify_webhook(version, &input.headers, &input.body) == Some(false)
            {
                return Err(format!(
                    "webhook signature ({}) does not verify: the integration refuses the delivery",
                    webhooks.signature_header
                ));
            }
            if !input.params.is_empty() {
                return Ok(vec![Cow::Owned(serde_json::to_value(&input.params).unwrap_or(Value::Null))]);
            }
            return input
                .json
                .as_deref()
                .map(|j| vec![Cow::Borrowed(j)])
                .ok_or_else(|| "the trigger payload is not JSON".to_string());
        };
        let mut request = OutgoingRequest::new(trigger.system.clone(), &fetch.method, fetch.path_for(&version.version));
        request.query = fetch.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        request.set_header(clock::STEP_HEADER, "trigger");
        let mut pages = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        loop {
            let response = self
                .send(&request, "#trigger", "fetch")
                .await
                .map_err(|f| format!("fetching the trigger failed: {}", f.reason))?;
            let page: Value =
                serde_json::from_slice(&response.body).map_err(|_| "the fetched trigger is not JSON".to_string())?;
            let next = if fetch.paginate { system.next_page(version, &response.headers, &response.body) } else { None };
            pages.push(Cow::Owned(page));
            match next {
                Some(url) if pages.len() >= 1000 => {
                    return Err(format!("stopped after 1000 pages; the last asked for {url}"));
                }
                Some(url) if seen.contains(&url) => {
                    return Err(format!("pagination loops: the next page {url} was already fetched"));
                }
                Some(url) => {
                    seen.push(url.clone());
                    let (_, path, query) = harness_core::encoding::split_url(&url);
                    request.path = path.to_string();
                    request.query = harness_core::encoding::form_pairs(query.unwrap_or_default());
                }
                None => break,
            }
        }
        Ok(pages)
    }

    async fn record(&self, index: usize, rec: &Record<'_>, mut scope: Scope) -> RecordOutcome {
        let (key, record, doc) = (rec.key.as_str(), rec.json.as_ref(), &rec.doc);
        scope.set_doc("record", doc);
        let done = |outcome, reason: Option<String>, last_response| RecordOutcome {
            key: key.to_string(),
            outcome,
            reason,
            last_response,
        };
        for step in &self.flow.steps {
            if let Some((cond, reason)) = &step.filter {
                match cond.eval_bool_doc(doc, &scope) {
                    Ok(true) => return done(Outcome::Filtered, Some(reason.clone()), None),
                    Ok(false) => {}
                    Err(m) => {
                        return done(Outcome::DeadLettered, Some(format!("step {}: filter: {m}", step.name)), None);
                    }
                }
            }
            if let Some(when) = &step.when {
                match when.eval_bool_doc(doc, &scope) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(m) => return done(Outcome::DeadLettered, Some(format!("step {}: when: {m}", step.name)), None),
                }
            }
            let Some(call) = &step.call else { continue };
            if let Some(reason) = self.broken.lock().expect("broken lock").get(&call.system) {
                return done(
                    Outcome::DeadLettered,
                    Some(format!("step {}: {} deliveries stopped: {reason}", step.name, call.system)),
                    None,
                );
            }
            self.note_missing(key, step, call, record);
            let Some(version) = self.case.systems.get(&call.system) else {
                return done(
                    Outcome::DeadLettered,
                    Some(format!("step {}: no mock for {}", step.name, call.system)),
                    None,
                );
            };
            scope.set("version", &json!(version.version));
            let system = self.system(&call.system);
            let request = match codec::build(call, &step.name, system, version, doc, &scope) {
                Ok(r) => r,
                Err(m) => return done(Outcome::DeadLettered, Some(format!("step {}: {m}", step.name)), None),
            };
            let seed = self.case.seed
                ^ splitmix64(index as u64)
                ^ step.name.bytes().fold(0, |h, b| splitmix64(h ^ u64::from(b)));
            let response = match self.deliver(&request, key, &step.name, seed).await {
                Ok(r) => r,
                Err(f) => {
                    return done(
                        Outcome::DeadLettered,
                        Some(format!("step {}: {} {}: {}", step.name, request.method, request.path, f.reason)),
                        f.last_response,
                    );
                }
            };
            if let Err(reason) = self.accept(&request, step, &response) {
                let summary = system.error_summary(response.status, &response.body);
                return done(
                    Outcome::DeadLettered,
                    Some(format!("step {}: {} {}: {reason}", step.name, request.method, request.path)),
                    Some(summary),
                );
            }
            if let Some(reason) = unknown_column(system, version, &request, step) {
                return done(Outcome::DeadLettered, Some(format!("step {}: {reason}", step.name)), None);
            }
            let parsed = codec::answer(system, &response.body);
            scope.set("status", &json!(response.status));
            let headers: serde_json::Map<String, Value> =
                response.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), json!(v))).collect();
            scope.set("headers", &Value::Object(headers));
            self.note_missing_in_answer(key, step, call, &parsed);
            let parsed = Doc::new(&parsed);
            for (name, expr) in &step.binds {
                match expr.eval_one_doc(&parsed, &scope) {
                    Ok(v) => scope.set(name, &v.unwrap_or(Value::Null)),
                    Err(m) => {
                        return done(
                            Outcome::DeadLettered,
                            Some(format!("step {}: bind `{name}`: {m}", step.name)),
                            None,
                        );
                    }
                }
            }
        }
        done(Outcome::Delivered, None, None)
    }

    /// Record every source path the call's mapping reads unconditionally but the record lacks.
    fn note_missing(&self, key: &str, step: &Step, call: &Call, record: &Value) {
        let found: Vec<MissingField> = call
            .required_reads
            .iter()
            .filter_map(|(target, segs)| {
                missing_key(record, segs).map(|gap| MissingField {
                    record: key.to_string(),
                    step: step.name.clone(),
                    system: call.system.clone(),
                    target: target.clone(),
                    source: path_text(&gap),
                    from_answer: false,
                })
            })
            .collect();
        if !found.is_empty() {
            self.missing.lock().expect("missing lock").extend(found);
        }
    }
}

impl Run<'_> {
    /// Record every path a `bind:` reads unconditionally from the answer that the answer lacks:
    /// the variable would be silently null wherever the flow uses it, as a trigger's missing field.
    fn note_missing_in_answer(&self, key: &str, step: &Step, call: &Call, answer: &Value) {
        let found: Vec<MissingField> = step
            .binds
            .iter()
            .flat_map(|(name, expr)| expr.reads().iter().map(move |r| (name, r)))
            .filter(|(_, r)| r.required && r.var.is_none() && r.segs.first() != Some(&harness_expr::Seg::Each))
            .filter_map(|(name, r)| {
                let gap = missing_key(answer, &r.segs)?;
                Some(MissingField {
                    record: key.to_string(),
                    step: step.name.clone(),
                    system: call.system.clone(),
                    target: format!("${name}"),
                    source: path_text(&gap),
                    from_answer: true,
                })
            })
            .collect();
        if !found.is_empty() {
            self.missing.lock().expect("missing lock").extend(found);
        }
    }
}

/// A `bind:` reading a column of the answer's rows (`.rows[].PackageTrackingNumber`) that what
/// defines them (a Peoplevox template) does not have: named here, where it is read, rather than
/// by whatever the missing values make go wrong further on.
fn unknown_column(
    system: &dyn System,
    version: &SystemVersion,
    request: &OutgoingRequest,
    step: &Step,
) -> Option<String> {
    let (what, columns) = system.answer_columns(version, request)?;
    step.binds.iter().find_map(|(name, expr)| {
        expr.reads().iter().filter(|r| r.var.is_none()).find_map(|r| match r.segs.as_slice() {
            [
                harness_expr::Seg::Key(rows),
                harness_expr::Seg::Each | harness_expr::Seg::Index(_),
                harness_expr::Seg::Key(column),
                ..,
            ] if rows == "rows" && !columns.contains(column) => {
                let near = harness_core::did_you_mean(column, columns.iter().map(String::as_str))
                    .map(|m| format!("; did you mean `{m}`?"))
                    .unwrap_or_default();
                Some(format!(
                    "bind `{name}` reads column `{column}`, which the {} {what} does not have{near} (its columns: {})",
                    system.id(),
                    columns.join(", ")
                ))
            }
            _ => None,
        })
    })
}
