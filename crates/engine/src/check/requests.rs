//! What reached the mocks: request counts as expected, no request that nothing answers, and every
//! request body valid against its endpoint's schema and the scenario's extra ones.

use std::sync::Arc;

use harness_core::Exchange;
use harness_systems::{Schema, Violation};

use super::{CheckKind, Context, Finding};
use crate::plan::Case;

pub(super) fn check(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let (case, exchanges) = (cx.case, &cx.exec.exchanges);
    for ((matcher, label), spec) in case.expect.requests.iter().zip(&case.expect.spec.requests) {
        let n = exchanges.iter().filter(|e| e.system == spec.system.value && matcher.matches(&e.request)).count();
        let ok =
            spec.count.is_none_or(|c| n == c) && spec.min.is_none_or(|m| n >= m) && spec.max.is_none_or(|m| n <= m);
        if !ok {
            let want = match (spec.count, spec.min, spec.max) {
                (Some(c), _, _) => format!("{c}"),
                (None, Some(a), Some(b)) => format!("{a}–{b}"),
                (None, Some(a), None) => format!("at least {a}"),
                (None, None, Some(b)) => format!("at most {b}"),
                _ => "?".into(),
            };
            let mut f =
                Finding::new(CheckKind::Requests, format!("expected {want} × {} {label}, got {n}", spec.system.value));
            f.details = exchanges
                .iter()
                .filter(|e| e.system == spec.system.value)
                .map(|e| format!("{} → {}", e.request.line(), e.response.status))
                .collect();
            findings.push(f);
        }
    }
    let unmatched: Vec<&Exchange> = exchanges.iter().filter(|e| e.answered_by.is_none()).collect();
    if !unmatched.is_empty() {
        let mut f = Finding::new(
            CheckKind::Unmatched,
            format!("{} request(s) matched no stub and no behaviour of the mocks", unmatched.len()),
        );
        f.details = unmatched
            .iter()
            .map(|e| {
                format!(
                    "{} {} (answered {}: add a stub under `mocks.{}` or fix the flow)",
                    e.system,
                    e.request.line(),
                    e.response.status,
                    e.system
                )
            })
            .collect();
        findings.push(f);
    }
    let guessed: Vec<(&Exchange, &str)> = exchanges
        .iter()
        .filter_map(|e| Some((e, e.answered_by.as_deref()?.strip_prefix(harness_mock::GUESSED)?)))
        .collect();
    if !guessed.is_empty() {
        let mut f = Finding::new(
            CheckKind::Guessed,
            format!(
                "{} request(s) answered by default, as no stub and no rule of the mock answers them",
                guessed.len()
            ),
        );
        f.warning = !case.strict_stubs;
        f.details = guessed
            .iter()
            .map(|(e, guess)| {
                format!(
                    "{} {} → answered by default: {guess} (state the answer with a stub under `mocks.{}`)",
                    e.system,
                    e.request.line(),
                    e.system
                )
            })
            .collect();
        findings.push(f);
    }
    check_schemas(case, exchanges, findings);
}

/// A request that does not satisfy a schema it must.
pub struct SchemaBreach<'a> {
    pub exchange: &'a Exchange,
    pub schema: Arc<Schema>,
    /// Empty when the body is not JSON at all.
    pub violations: Vec<Violation>,
}

/// Every request of `exchanges` against its endpoint's schema and the scenario's extra ones.
pub fn schema_breaches<'a>(case: &Case, exchanges: &'a [Exchange]) -> Vec<SchemaBreach<'a>> {
    let mut out = Vec::new();
    for e in exchanges {
        let Some(system) = case.systems.get(&e.system) else { continue };
        let mut schemas = Vec::new();
        if let Some(s) = system.endpoint(&e.request.method, &e.request.path).and_then(|ep| ep.request_schema.clone()) {
            schemas.push(s);
        }
        for (kind, matcher, _, schema) in &case.expect.schemas {
            if *kind == e.system && matcher.matches(&e.request) {
                schemas.push(schema.clone());
            }
        }
        for schema in schemas {
            match e.request.json() {
                None => out.push(SchemaBreach { exchange: e, schema, violations: Vec::new() }),
                Some(body) => {
                    let violations = schema.violations(&body);
                    if !violations.is_empty() {
                        out.push(SchemaBreach { exchange: e, schema, violations });
                    }
                }
            }
        }
    }
    out
}

fn check_schemas(case: &Case, exchanges: &[Exchange], findings: &mut Vec<Finding>) {
    let at = |v: &Violation| if v.instance_path.is_empty() { "/".to_string() } else { v.instance_path.clone() };
    for b in schema_breaches(case, exchanges) {
        let e = b.exchange;
        let Some(first) = b.violations.first() else {
            findings.push(Finding::new(
                CheckKind::Schema,
                format!(
                    "{} {}: the body is not JSON, so it cannot satisfy {}",
                    e.system,
                    e.request.line(),
                    b.schema.file
                ),
            ));
            continue;
        };
        let mut f = Finding::new(
            CheckKind::Schema,
            format!("{} {} violates {} at {}", e.system, e.request.line(), b.schema.file, at(first)),
        );
        f.details = b.violations.iter().map(|v| format!("{}: {}", at(v), v.message)).collect();
        findings.push(f);
    }
}
