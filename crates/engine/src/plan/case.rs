//! One scenario resolved into its cases: the systems it names checked, a case per combination of
//! versions, and for each its trigger payload, stubs, expectations and snapshots.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use harness_core::{Diagnostic, MockResponse, SystemId, did_you_mean};
use harness_flows::{DeliveryPolicy, Flow, FlowKind, TriggerInput};
use harness_mock::{Matcher, Stub};
use harness_syntax::scenario::{MockSpec, ScenarioFile};
use harness_syntax::stub::{MatchSpec, StubSpec};
use harness_syntax::{Loc, Project};
use harness_systems::{Catalog, MockSetup, Registry, SystemVersion};
use serde_json::Value;

use super::{Case, Replay, SnapshotSlot, UsedRecording, expectations, freshness, relative, versions};
use crate::snapshot;

pub(super) struct Resolver<'a> {
    pub(super) project: &'a Project,
    pub(super) catalog: &'a Catalog,
    pub(super) registry: &'a Registry,
}

impl Resolver<'_> {
    pub(super) fn resolve(
        &self,
        s: &Arc<ScenarioFile>,
        flow: &Arc<Flow>,
        replay: Option<&Replay>,
    ) -> Result<Vec<Arc<Case>>, Vec<Diagnostic>> {
        let unknown = self.unknown_systems(s);
        if !unknown.is_empty() {
            return Err(unknown);
        }
        let choices = versions::choose(self.project, self.catalog, self.registry, s, flow)?;
        let multi: Vec<SystemId> = choices.iter().filter(|(_, v)| v.len() > 1).map(|(k, _)| k.clone()).collect();
        let mut errors = Vec::new();
        let mut cases = Vec::new();
        for combo in versions::combinations(&choices) {
            if let Some(r) = replay
                && !combo.iter().any(|(k, v)| *k == r.system && *v == r.from)
            {
                continue;
            }
            let mut systems = BTreeMap::new();
            for (id, version) in &combo {
                match self.catalog.system(id, version) {
                    Ok(sys) => {
                        systems.insert(id.clone(), sys);
                    }
                    Err(ds) => errors.extend(self.at_version(s, id, version, ds)),
                }
            }
            if systems.len() != combo.len() {
                continue;
            }
            let suffix: Vec<String> = multi.iter().map(|k| format!("{k}-{}", systems[k].version)).collect();
            let id = if suffix.is_empty() { s.id.clone() } else { format!("{}@{}", s.id, suffix.join("+")) };
            if let Some(r) = replay {
                match self.catalog.system(&r.system, &r.to) {
                    Ok(to) => {
                        systems.insert(r.system.clone(), to);
                    }
                    Err(ds) => {
                        errors.extend(ds);
                        continue;
                    }
                }
            }
            match self.case(s, flow, systems, id, None) {
                Ok(c) => cases.push(Arc::new(c)),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() { Ok(cases) } else { Err(errors) }
    }

    /// Every place the scenario names a system the registry does not know. Map keys carry no
    /// span, so only an unknown one is looked up in the text (a lookup parses the file).
    fn unknown_systems(&self, s: &ScenarioFile) -> Vec<Diagnostic> {
        let spec = &s.spec;
        let expect = &spec.expect;
        let maps: [(&[&str], Vec<&SystemId>); 3] = [
            (&["systems"], spec.systems.keys().collect()),
            (&["mocks"], spec.mocks.keys().collect()),
            (&["expect", "refreshes"], expect.refreshes.keys().collect()),
        ];
        let keys = maps
            .into_iter()
            .flat_map(|(map, ids)| ids.into_iter().map(move |id| (map, id)))
            .filter(|(_, id)| !self.registry.contains(id))
            .map(|(map, id)| s.system_key(&[map, &[id.as_str()]].concat(), id));
        let values = expect
            .requests
            .iter()
            .map(|r| &r.system)
            .chain(expect.snapshots.iter().flatten())
            .chain(expect.schemas.iter().map(|r| &r.system))
            .chain(expect.waits.iter().map(|w| &w.system))
            .chain(expect.reconcile.iter().map(|r| &r.system))
            .filter(|id| !self.registry.contains(id))
            .cloned();
        let unknown: Vec<Diagnostic> =
            keys.chain(values).map(|id| self.registry.unknown(&id, &s.path, &s.text)).collect();
        relative(&self.project.root, unknown)
    }

    /// A version the catalog could not load: problems inside its files stay there; a missing
    /// version is reported where the scenario names it.
    fn at_version(&self, s: &ScenarioFile, id: &SystemId, version: &str, ds: Vec<Diagnostic>) -> Vec<Diagnostic> {
        let named = s.spec.systems.get_key_value(id).map(|(_, v)| v.span_of(&s.text, version));
        ds.into_iter()
            .map(|d| match named {
                Some(span) if d.span.is_none() => {
                    let mut local =
                        span.diagnostic(&s.path, &s.text, d.message.clone()).relative_to(&self.project.root);
                    local.help = d.help.clone();
                    local
                }
                _ => d,
            })
            .collect()
    }

    /// The case of `s` at `systems`; with `payload`, delivering that trigger payload instead of the
    /// scenario's (a variant an analysis runs).
    pub(super) fn case(
        &self,
        s: &Arc<ScenarioFile>,
        flow: &Arc<Flow>,
        systems: BTreeMap<SystemId, Arc<SystemVersion>>,
        id: String,
        payload: Option<&Value>,
    ) -> Result<Case, Vec<Diagnostic>> {
        let spec = &s.spec;
        let mut errors = Vec::new();
        let setups = self.setups(s, &systems, &mut errors);
        let serving = setups
            .get(&flow.trigger.system)
            .and_then(|m| m.answering.clone())
            .unwrap_or_else(|| systems[&flow.trigger.system].clone());
        let (trigger, trigger_scope, trigger_stub) = self.trigger(s, flow, &systems, &serving, payload, &mut errors);
        let mut recordings = Vec::new();
        if let (Some(file), Some(scope)) = (&spec.trigger.file, &trigger_scope) {
            recordings.push(UsedRecording {
                system: flow.trigger.system.clone(),
                version: systems[&flow.trigger.system].version.clone(),
                file: file.value.clone(),
                scope: scope.clone(),
            });
        }

        // Stubs: the scenario's own first (they may script the poll too), then the recorded answer
        // to the trigger's poll, then shared sets.
        let mut stubs: BTreeMap<SystemId, Vec<Stub>> = BTreeMap::new();
        let mut trigger_stub = trigger_stub;
        let no_mocks = MockSpec::default();
        let mut named: Vec<&SystemId> = spec.mocks.keys().collect();
        if trigger_stub.is_some() && !named.contains(&&flow.trigger.system) {
            named.push(&flow.trigger.system);
        }
        for id in named {
            let mock = spec.mocks.get(id).unwrap_or(&no_mocks);
            let (system, version) = (self.registry.system(id), &systems[id]);
            recordings.extend(stub_recordings(version, &mock.stubs));
            match self.catalog.resolve_stubs(system.as_ref(), version, &mock.stubs, &s.path, &s.text) {
                Ok(mut own) => stubs.entry(id.clone()).or_default().append(&mut own),
                Err(mut e) => errors.append(&mut e),
            }
            if *id == flow.trigger.system
                && let Some(t) = trigger_stub.take()
            {
                stubs.entry(id.clone()).or_default().push(t);
            }
            for set in &mock.use_sets {
                match self.shared_stubs(s, version, set, &mut recordings) {
                    Ok(mut shared) => stubs.entry(id.clone()).or_default().append(&mut shared),
                    Err(mut e) => errors.append(&mut e),
                }
            }
        }

        let mut expect = expectations::resolve(&self.project.root, self.catalog, s, &systems, &mut errors);
        // The flow's own invariants hold for every scenario that expects it to succeed.
        if spec.expect.expects_delivery() {
            expect.reconcile.splice(0..0, flow.reconcile.iter().filter(|r| systems.contains_key(&r.system)).cloned());
        }
        let snapshot_systems: Vec<SystemId> = spec
            .expect
            .snapshots
            .as_ref()
            .map_or_else(|| flow.targets.clone(), |s| s.iter().map(|k| k.value.clone()).collect());
        let mut snapshots = Vec::new();
        for system in snapshot_systems {
            let path = snapshot::path_for(&self.project.snapshots_dir(), &id, &system);
            match snapshot::load(&self.project.root, &path) {
                Ok(approved) => {
                    snapshots.push(SnapshotSlot { system, display: self.project.display_path(&path), path, approved })
                }
                Err(d) => errors.push(d),
            }
        }
        errors.extend(flow.driver.check_versions(&systems));
        errors.extend(super::events::check(self.project, s, flow, &systems[&flow.trigger.system]));
        let redact = flow.redact.iter().chain(&spec.redact).cloned().collect();
        let timeout = spec.timeout.unwrap_or(self.project.timeout());
        let flow_policy = flow.driver.policy();
        let policy = match &spec.delivery {
            Some(d) => DeliveryPolicy::merged(&flow_policy, d),
            None => flow_policy,
        };
        // Keys only one kind of flow reads would silently do nothing in a scenario of another.
        let kind_keys: [(&[&str], bool, FlowKind); 4] = [
            (&["delivery"], spec.delivery.is_some(), FlowKind::Builtin),
            (&["settle"], spec.settle.is_some(), FlowKind::Service),
            (&["trigger", "times"], spec.trigger.times.is_some(), FlowKind::Service),
            (&["expect", "answer"], spec.expect.answer.is_some(), FlowKind::Service),
        ];
        if let Some((key, _, for_kind)) = kind_keys.iter().find(|(_, given, for_kind)| *given && *for_kind != flow.kind)
        {
            let message = format!(
                "`{}` is for scenarios of {}; flow `{}` is {}",
                key.join("."),
                FlowKind::list(&[*for_kind]),
                flow.name,
                flow.kind.describe()
            );
            errors.push(s.key(key).diagnostic(&s.path, &s.text, message).relative_to(&self.project.root));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let stale = freshness::stale(self.project, self.catalog, &systems, &recordings);
        Ok(Case {
            id,
            scenario: s.clone(),
            flow: flow.clone(),
            systems,
            stubs: stubs.into_iter().map(|(k, v)| (k, Arc::from(v))).collect(),
            setups,
            trigger: Arc::new(trigger),
            trigger_scope,
            recordings,
            stale,
            expect,
            snapshots,
            redact,
            timeout,
            settle: spec.settle,
            policy,
            strict_stubs: spec.strict_stubs.or(self.project.settings.strict_stubs).unwrap_or(false),
        })
    }

    /// What each system's mock starts from: the state the scenario seeds (checked by the system),
    /// and — for a system that falls forward, at a version no longer served on the catalog's day —
    /// the version that answers instead.
    fn setups(
        &self,
        s: &ScenarioFile,
        systems: &BTreeMap<SystemId, Arc<SystemVersion>>,
        errors: &mut Vec<Diagnostic>,
    ) -> BTreeMap<SystemId, MockSetup> {
        let mut setups = BTreeMap::new();
        for (id, version) in systems {
            let system = self.registry.system(id);
            let mut setup = MockSetup {
                answering: system.falls_forward().then(|| self.catalog.answering(version)).flatten(),
                state: None,
            };
            if let Some(state) = s.spec.mocks.get(id).and_then(|m| m.state.as_ref()) {
                match system.check_state(&state.value) {
                    Ok(()) => setup.state = Some(state.value.clone()),
                    Err(e) => errors.push(state.error(&s.path, &s.text, e.to_string()).relative_to(&self.project.root)),
                }
            }
            setups.insert(id.clone(), setup);
        }
        setups
    }

    /// The trigger input of a case, the recorded endpoint it comes from, and — for a flow that
    /// polls — the stub answering its poll with the recorded payload (or `instead`, when given).
    /// A webhook is signed and labelled by the version `serving` it, then given the recorded and
    /// the scenario's headers.
    fn trigger(
        &self,
        s: &ScenarioFile,
        flow: &Flow,
        systems: &BTreeMap<SystemId, Arc<SystemVersion>>,
        serving: &SystemVersion,
        instead: Option<&Value>,
        errors: &mut Vec<Diagnostic>,
    ) -> (TriggerInput, Option<String>, Option<Stub>) {
        let root = &self.project.root;
        let spec = &s.spec.trigger;
        let here = |loc_span: harness_syntax::Span, message: String| {
            loc_span.diagnostic(&s.path, &s.text, message).relative_to(root)
        };
        let version = &systems[&flow.trigger.system];
        let mut input = TriggerInput {
            body: Bytes::new(),
            json: None,
            headers: Vec::new(),
            params: spec.params.clone(),
            times: spec.times.unwrap_or(1),
        };
        let mut scope = None;
        let mut stub = None;
        let payload = match (&spec.file, &spec.body) {
            (Some(_), Some(body)) => {
                errors.push(here(body.span, "a trigger has `file` or `body`, not both".into()));
                None
            }
            (Some(file), None) => match self.catalog.recording(version, file) {
                Ok(r) => {
                    scope = Some(r.scope().unwrap_or_else(|| flow.trigger.scope()));
                    Some((r.body.clone(), r.json.clone(), r.headers.clone()))
                }
                Err(d) if d.span.is_some() => {
                    errors.push(d);
                    None
                }
                Err(d) => {
                    errors.push(
                        here(file.span, d.message)
                            .help(format!("trigger files are relative to {}", self.catalog.show(&version.dir))),
                    );
                    None
                }
            },
            (None, Some(body)) => Some((
                Bytes::from(serde_json::to_vec(&body.value).expect("JSON")),
                Some(Arc::new(body.value.clone())),
                BTreeMap::new(),
            )),
            (None, None) if !spec.params.is_empty() => None,
            (None, None) => {
                errors.push(here(
                    s.spec.trigger.span,
                    "the trigger needs a `file`, a `body` or callback `params`".into(),
                ));
                None
            }
        };
        let payload = match instead {
            // An answer that is not JSON (a SOAP GetData) is varied in its own encoding, and read
            // back from it below as the recorded one is.
            Some(v) => payload.map(|(body, json, recorded_headers)| {
                let own = json.is_none().then(|| self.registry.system(&flow.trigger.system).answer_with(&body, v));
                match own.flatten() {
                    Some(varied) => (Bytes::from(varied), None, recorded_headers),
                    None => {
                        (Bytes::from(serde_json::to_vec(v).expect("JSON")), Some(Arc::new(v.clone())), recorded_headers)
                    }
                }
            }),
            None => payload,
        };
        match (payload, &flow.trigger.fetch) {
            (Some((body, json, recorded_headers)), Some(fetch)) => {
                let mut response = MockResponse::new(200).header("Content-Type", "application/json; charset=utf-8");
                for (k, v) in &recorded_headers {
                    response.set_header(k, v.clone());
                }
                // An answer that is not JSON (a SOAP GetData) holds its records as the system reads it.
                let json = json.or_else(|| {
                    self.registry
                        .system(&flow.trigger.system)
                        .answer_value(&body)
                        .filter(|v| !v.is_null())
                        .map(Arc::new)
                });
                response.body = body;
                let route = MatchSpec {
                    method: Some(fetch.method.clone()),
                    path: Loc::unlocated(fetch.path_for(&version.version)),
                    soap_action: fetch.soap_action.clone(),
                    ..MatchSpec::default()
                };
                match Matcher::compile(&route) {
                    Ok(matcher) => {
                        stub = Some(Stub { name: "trigger".into(), matcher, responses: vec![response], times: None })
                    }
                    // The flow's loading checked the path; a version can still make it unmatchable.
                    Err(m) => errors.push(Diagnostic::new(&flow.file, m.to_string()).relative_to(root)),
                }
                // The flow fetches it itself; the checks still see it as the source payload.
                input.json = json;
            }
            (Some((body, json, recorded_headers)), None) => {
                let topic = flow.trigger.topic();
                let system = self.registry.system(&flow.trigger.system);
                // A REST answer recorded for a webhook (`{"order": {…}}`) is delivered as the webhook carries it.
                let inner = json.as_ref().and_then(|j| {
                    let (payload, envelope) =
                        harness_systems::webhook_payload(&flow.trigger.system, &format!("webhook {topic}"), j);
                    envelope.map(|_| payload.clone())
                });
                let (body, json) = match inner {
                    Some(inner) => (Bytes::from(serde_json::to_vec(&inner).expect("JSON")), Some(Arc::new(inner))),
                    None => (body, json),
                };
                input.headers = system.webhook_headers(serving, topic, &body, &s.id).unwrap_or_default();
                for (k, v) in recorded_headers.iter().chain(&spec.headers) {
                    harness_core::set_header(&mut input.headers, k, v.clone());
                }
                input.body = body;
                input.json = json;
            }
            (None, _) if !spec.params.is_empty() => {
                let params = instead.cloned().unwrap_or_else(|| serde_json::to_value(&spec.params).unwrap_or_default());
                input.body = Bytes::from(serde_json::to_vec(&params).expect("JSON"));
                input.json = Some(Arc::new(params));
            }
            (None, _) => {}
        }
        (input, scope, stub)
    }

    /// A shared stub set the scenario uses, resolved; an unknown one is reported where it is named.
    fn shared_stubs(
        &self,
        s: &ScenarioFile,
        version: &SystemVersion,
        set: &Loc<String>,
        recordings: &mut Vec<UsedRecording>,
    ) -> Result<Vec<Stub>, Vec<Diagnostic>> {
        let system = self.registry.system(&version.system);
        match self.catalog.stub_set(version, set) {
            Ok((path, shared)) => {
                let (text, specs) = &*shared;
                recordings.extend(stub_recordings(version, specs));
                self.catalog.resolve_stubs(system.as_ref(), version, specs, &path, text)
            }
            Err(ds) if ds.iter().any(|d| d.span.is_some()) => Err(ds),
            Err(ds) => {
                let available = self.catalog.stub_set_names(version);
                let local = set.error(&s.path, &s.text, format!("no stub set `{}` for {}", set.value, version.label()));
                let local = match did_you_mean(set, available.iter().map(String::as_str)) {
                    Some(near) => local.label(format!("did you mean `{near}`?")),
                    None => {
                        let message = ds.first().map_or(String::new(), |d| d.message.clone());
                        local.help(format!(
                            "{message} (sets: {})",
                            if available.is_empty() { "none".into() } else { available.join(", ") }
                        ))
                    }
                };
                Err(vec![local.relative_to(&self.project.root)])
            }
        }
    }
}

/// The recordings stubs answer with, standing for the request each stub matches.
fn stub_recordings<'a>(version: &'a SystemVersion, specs: &'a [StubSpec]) -> impl Iterator<Item = UsedRecording> + 'a {
    specs.iter().flat_map(move |spec| {
        let scope = format!("{} {}", spec.matcher.method.as_deref().unwrap_or("*"), spec.matcher.path.value);
        spec.respond.iter().chain(spec.sequence.iter().flat_map(|s| s.iter())).filter_map(move |answer| {
            let file = answer.file.as_ref()?;
            Some(UsedRecording {
                system: version.system.clone(),
                version: version.version.clone(),
                file: file.value.clone(),
                scope: scope.clone(),
            })
        })
    })
}
