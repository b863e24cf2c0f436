//! Comparing a replay at the new version with the baseline: every changed target field, how bad
//! it is, and the recorded changes that cause it.

use std::collections::{BTreeMap, BTreeSet};

use harness_core::{Exchange, SystemId};
use harness_engine::check::CheckKind;
use harness_engine::plan::Case;
use harness_engine::runner::Evaluated;
use harness_engine::snapshot::{self, Change};
use harness_expr::{Seg, path_text};
use harness_mock::Matcher;
use serde_json::Value;

use super::model::{FieldImpact, ImpactOptions, Severity, Traced, case_target, field_key};
use crate::diff::{ChangeKind, FieldChange, Source, VersionDiff};

pub(super) fn compare(
    base: &Evaluated,
    replay: &Evaluated,
    version_diff: &VersionDiff,
    schema_changes: &SchemaChanges,
    traced: Option<&Traced>,
    options: &ImpactOptions,
) -> Vec<FieldImpact> {
    let mut found: BTreeMap<(SystemId, String, String), FieldImpact> = BTreeMap::new();
    let mut add = |f: FieldImpact| {
        let key = (f.system.clone(), f.request.clone(), f.field.clone());
        match found.get_mut(&key) {
            Some(existing) => {
                existing.severity = existing.severity.min(f.severity);
                existing.causes.extend(f.causes);
                existing.causes = merge_causes(std::mem::take(&mut existing.causes));
            }
            None => {
                found.insert(key, f);
            }
        }
    };
    let case = &replay.case;
    let lineage = case.flow.lineage();
    let records_base = records_base(case);

    for (slot, produced) in case.snapshots.iter().zip(&replay.verdict.snapshots) {
        let approved = match &slot.approved {
            Some(a) => a.json(),
            None => base
                .verdict
                .snapshots
                .iter()
                .find(|s| s.system == slot.system)
                .map(|s| s.produced.json())
                .unwrap_or(Value::Null),
        };
        // The version in a request path changes by design; compare what the requests carry.
        let approved = with_version(approved, &format!("/{}/", options.from), &format!("/{}/", options.to));
        let sent: Vec<&Exchange> = replay.execution.exchanges.iter().filter(|e| e.system == slot.system).collect();
        for c in snapshot::changes(&approved, &produced.produced.json()) {
            let field = field_key(&c);
            let severity = classify(&c, options);
            let mut causes = Vec::new();
            // Traced by the mapping: the field's source paths that the diff changed.
            if let Some(step) = sent.get(c.entry).and_then(|e| e.step.clone()) {
                for (s, k, l) in lineage {
                    if *s == step
                        && *k == slot.system
                        && (field == l.target
                            || field.starts_with(&format!("{}.", l.target))
                            || field.starts_with(&format!("{}[", l.target)))
                    {
                        for read in l.reads.iter().filter(|r| matches!(r.var.as_deref(), None | Some("record"))) {
                            let segs: Vec<Seg> = records_base
                                .iter()
                                .chain(&read.segs)
                                .map(|s| if matches!(s, Seg::Index(_)) { Seg::Each } else { s.clone() })
                                .collect();
                            let path = path_text(&segs);
                            if let Some(scope) = &case.trigger_scope
                                && let Some(change) = version_diff.affecting(scope, &path)
                            {
                                causes.push(describe_cause(options, change, "traced by the mapping"));
                            }
                        }
                    }
                }
            }
            // Traced by ablation: the field changed when the source field alone was taken away.
            if let Some(t) = traced {
                for change in t.get(&(slot.system.clone(), field.clone())).into_iter().flatten() {
                    causes.push(describe_cause(options, change, "traced by ablation"));
                }
            }
            if severity == Severity::Breaking && slot.system == options.system {
                causes.extend(schema_changes.causes(options, &c.request));
            }
            let causes = merge_causes(causes);
            let evidence = match (&c.old, &c.new, c.field.is_empty()) {
                (_, None, true) => "request no longer sent".to_string(),
                (None, _, true) => "new request".to_string(),
                _ => format!("{} → {}", show(&c.old), show(&c.new)),
            };
            add(FieldImpact {
                system: slot.system.clone(),
                request: c.request.clone(),
                field,
                severity,
                causes,
                evidence,
            });
        }
    }

    // Schema violations and runs that now fail are breaking whatever the snapshot shows.
    let before: BTreeSet<(String, String)> =
        harness_engine::check::schema_breaches(&base.case, &base.execution.exchanges)
            .iter()
            .flat_map(|b| b.violations.iter().map(|v| (b.exchange.request.line(), v.message.clone())))
            .collect();
    for b in harness_engine::check::schema_breaches(case, &replay.execution.exchanges) {
        let request = b.exchange.request.line();
        for v in b.violations.iter().filter(|v| !before.contains(&(request.clone(), v.message.clone()))) {
            add(FieldImpact {
                system: b.exchange.system.clone(),
                request: format!("{} {}", b.exchange.request.method, b.exchange.request.path),
                field: body_field(&v.instance_path),
                severity: Severity::Breaking,
                causes: schema_changes.causes(options, &request),
                evidence: format!("{}: {}", b.schema.file, v.message),
            });
        }
    }
    // What the system says the flow now uses of what it deprecated.
    let said_before: BTreeSet<&str> =
        base.verdict.findings.iter().filter(|f| f.kind == CheckKind::Notice).map(|f| f.message.as_str()).collect();
    for notice in replay
        .verdict
        .findings
        .iter()
        .filter(|f| f.kind == CheckKind::Notice && !said_before.contains(f.message.as_str()))
    {
        let causes = version_diff
            .changes
            .iter()
            .filter(|c| {
                c.kind == ChangeKind::Deprecated
                    && notice.message.contains(&format!("{}.{}", c.scope.trim_start_matches("type "), c.path))
            })
            .map(|c| describe_cause(options, c, "named by the system"))
            .collect();
        add(FieldImpact {
            system: options.system.clone(),
            request: String::new(),
            field: "(deprecated use)".into(),
            severity: Severity::Deprecated,
            causes,
            evidence: notice.message.clone(),
        });
    }
    if base.execution.run.succeeded() && !replay.execution.run.succeeded() {
        let target = case_target(case);
        let mut causes: Vec<String> = traced
            .and_then(|t| t.get(&(target.clone(), "(flow outcome)".to_string())))
            .into_iter()
            .flatten()
            .map(|c| describe_cause(options, c, "traced by ablation"))
            .collect();
        for e in replay.execution.exchanges.iter().filter(|e| e.system == options.system && e.response.status >= 400) {
            causes.extend(schema_changes.causes(options, &format!("{} {}", e.request.method, e.request.path)));
        }
        let causes = merge_causes(causes);
        add(FieldImpact {
            system: target,
            request: String::new(),
            field: "(flow outcome)".into(),
            severity: Severity::Breaking,
            causes,
            evidence: replay.execution.run.failure_messages().join("; "),
        });
    }
    // A request the new version refuses for a documented change names that change.
    let registry = harness_systems::Registry::builtin();
    let breached: Vec<String> = match (registry.get(&options.system), case.systems.get(&options.system)) {
        (Some(system), Some(version)) => replay
            .execution
            .exchanges
            .iter()
            .filter(|e| e.system == options.system && !system.accepted(version, e))
            .flat_map(|e| system.breaches(version, &e.request))
            .map(|(since, change)| breach_cause(options, &since, &change))
            .collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<FieldImpact> = found.into_values().collect();
    for f in out.iter_mut().filter(|f| f.severity == Severity::Breaking) {
        f.causes.extend(breached.iter().cloned());
        f.causes = merge_causes(std::mem::take(&mut f.causes));
    }
    out
}

/// Whether a replay says nothing whatever its baseline: every snapshot approved and matched (the
/// version in request paths aside), the run succeeded, no schema breached, nothing deprecated
/// used. A baseline only ever takes findings away, so such a case needs none.
pub(super) fn quiet(
    replay: &Evaluated,
    version_diff: &VersionDiff,
    schema_changes: &SchemaChanges,
    options: &ImpactOptions,
) -> bool {
    replay.case.snapshots.iter().all(|s| s.approved.is_some())
        && replay.execution.run.succeeded()
        && !replay.verdict.findings.iter().any(|f| f.kind == CheckKind::Notice)
        && harness_engine::check::schema_breaches(&replay.case, &replay.execution.exchanges).is_empty()
        && compare(replay, replay, version_diff, schema_changes, None, options).is_empty()
}

/// `shopify mutation inventorySetQuantities: `@idempotent` newly required in 2026-04`.
fn breach_cause(options: &ImpactOptions, since: &str, change: &harness_syntax::system_file::KnownChange) -> String {
    use harness_syntax::system_file::ChangeSaid;
    let (what, path) = match change.what() {
        Some(ChangeSaid::Removed(p)) => ("removed", p.value.clone()),
        Some(ChangeSaid::Required(p)) => ("newly required", p.value.clone()),
        Some(ChangeSaid::Renamed(r)) => ("renamed", r.from.value.clone()),
        Some(ChangeSaid::Deprecated(p)) => ("deprecated", p.value.clone()),
        None => ("changed", String::new()),
    };
    let instead = change.instead.as_ref().map_or(String::new(), |i| format!(" (use `{i}` instead)"));
    format!(
        "{} {}: `{path}` {what} in {since}{instead}; the version refuses the request",
        options.system, change.scope.value
    )
}

fn with_version(mut entries: Value, from: &str, to: &str) -> Value {
    for e in entries.as_array_mut().into_iter().flatten() {
        if let Some(Value::String(line)) = e.get_mut("request") {
            *line = line.replace(from, to);
        }
    }
    entries
}

/// `/item/items/0/item` → `body.item.items[].item`.
fn body_field(instance: &str) -> String {
    let mut out = "body".to_string();
    for seg in instance.split('/').filter(|s| !s.is_empty()) {
        if seg.chars().all(|c| c.is_ascii_digit()) {
            out.push_str("[]");
        } else {
            out.push('.');
            out.push_str(seg);
        }
    }
    out
}

/// The upgraded system's request-schema changes, each with its route (`request POST /path/{key}`)
/// compiled once.
pub(super) struct SchemaChanges<'a> {
    routes: Vec<(Matcher, &'a FieldChange)>,
}

impl<'a> SchemaChanges<'a> {
    pub(super) fn new(version_diff: &'a VersionDiff) -> Self {
        let routes = version_diff
            .changes
            .iter()
            .filter(|c| c.source == Source::Schema)
            .filter_map(|c| {
                let (method, path) = c.scope.trim_start_matches("request ").split_once(' ')?;
                Some((Matcher::route(method, path).ok()?, c))
            })
            .collect();
        SchemaChanges { routes }
    }

    /// The changes to the schema of `request` (`POST /path`), as causes.
    fn causes(&self, options: &ImpactOptions, request: &str) -> Vec<String> {
        let request = request.replace(&options.from, "{version}").replace(&options.to, "{version}");
        let Some((method, path)) = request.split_once(' ') else { return Vec::new() };
        self.routes
            .iter()
            .filter(|(route, _)| route.matches_route(method, path))
            .map(|(_, c)| format!("{} {}: `{}` {} in {}", options.system, c.scope, c.path, c.kind.as_str(), options.to))
            .collect()
    }
}

/// Where the flow's records sit in the trigger payload (`orders[]` for a page of orders).
fn records_base(case: &Case) -> Vec<Seg> {
    case.flow.trigger.split.base_path().unwrap_or_default()
}

fn classify(c: &Change, options: &ImpactOptions) -> Severity {
    let top = c.field.split(['.', '[']).next().unwrap_or("");
    match (c.field.is_empty(), top) {
        (true, _) if c.new.is_none() => Severity::Breaking,
        (true, _) => Severity::Cosmetic,
        (false, "response") => {
            let status = |v: &Option<Value>| {
                v.as_ref().and_then(|v| v.as_u64().or_else(|| v.as_str()?.split(',').next()?.parse().ok())).unwrap_or(0)
            };
            let rejected = |v: &Option<Value>| {
                status(v) >= 400
                    || v.as_ref()
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.contains("ResponseId -1") || s.contains("rejected"))
            };
            if rejected(&c.new) && !rejected(&c.old) { Severity::Breaking } else { Severity::Cosmetic }
        }
        (false, "request") => {
            let same = c.old.as_ref().and_then(Value::as_str).map(|o| o.replace(&options.from, &options.to))
                == c.new.as_ref().and_then(Value::as_str).map(str::to_string);
            if same { Severity::Cosmetic } else { Severity::Breaking }
        }
        (false, "headers") => Severity::Cosmetic,
        _ => Severity::DataLoss,
    }
}

/// Causes traced both ways are one cause: `… (webhook orders/create; traced by the mapping and by ablation)`.
fn merge_causes(causes: Vec<String>) -> Vec<String> {
    let mut merged: Vec<(String, Vec<String>)> = Vec::new();
    for c in causes {
        let (what, how) = match c.rsplit_once("; traced by ") {
            Some((w, h)) => (w.to_string(), h.trim_end_matches(')').to_string()),
            None => (c.clone(), String::new()),
        };
        match merged.iter_mut().find(|(w, _)| *w == what) {
            Some((_, hows)) if !hows.contains(&how) => hows.push(how),
            Some(_) => {}
            None => merged.push((what, vec![how])),
        }
    }
    merged
        .into_iter()
        .map(|(what, mut hows)| {
            hows.sort();
            if hows.iter().all(String::is_empty) {
                what
            } else {
                format!("{what}; traced by {})", hows.join(" and by "))
            }
        })
        .collect()
}

fn describe_cause(options: &ImpactOptions, change: &FieldChange, how: &str) -> String {
    let what = match (&change.kind, &change.detail) {
        (ChangeKind::Renamed, Some(new)) => format!("renamed to `{new}`"),
        (ChangeKind::TypeChanged, Some(d)) => format!("type changed ({d})"),
        (kind, _) => kind.as_str().to_string(),
    };
    let since = change.since.as_deref().unwrap_or(&options.to);
    let instead = change.instead.as_ref().map_or(String::new(), |i| format!(" (use `{i}` instead)"));
    format!("{} `{}` {what} in {since}{instead} ({}; {how})", options.system, change.path, change.scope)
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 60 { format!("{}…", s.chars().take(59).collect::<String>()) } else { s }
        }
    }
}
