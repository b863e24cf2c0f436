//! A scenario's `expect:` made checkable: request routes compiled, extra schemas loaded,
//! reconciliations compiled — each problem at its place in the scenario file.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use harness_core::{Diagnostic, SystemId};
use harness_flows::Reconcile;
use harness_mock::Matcher;
use harness_syntax::Loc;
use harness_syntax::scenario::{ExpectedOutcome, ScenarioFile};
use harness_syntax::stub::MatchSpec;
use harness_systems::{Catalog, SystemVersion};

use super::Expectations;

pub(super) fn resolve(
    root: &Path,
    catalog: &Catalog,
    s: &ScenarioFile,
    systems: &BTreeMap<SystemId, Arc<SystemVersion>>,
    errors: &mut Vec<Diagnostic>,
) -> Expectations {
    let spec = &s.spec.expect;
    let (file, text) = (&s.path, &s.text);
    let here = |errors: &mut Vec<Diagnostic>, d: Diagnostic| errors.push(d.relative_to(root));
    let mut out = Expectations { spec: spec.clone(), ..Expectations::default() };
    if spec.error.is_some() && spec.outcome != Some(ExpectedOutcome::Failed) {
        here(
            errors,
            s.key(&["expect", "error"]).diagnostic(file, text, "`error` describes a failure: add `outcome: failed`"),
        );
    }
    for r in &spec.requests {
        if r.count.is_none() && r.min.is_none() && r.max.is_none() {
            here(errors, r.path.error(file, text, "say how many: `count`, `min` or `max`"));
        }
        let path = match systems.get(&r.system.value).map(|v| catalog.versioned_path(v, &r.path)) {
            Some(Err(e)) => {
                here(errors, r.path.error(file, text, e.to_string()));
                continue;
            }
            Some(Ok(p)) => Loc { value: p, span: r.path.span },
            None => r.path.clone(),
        };
        let route = MatchSpec {
            method: r.method.clone(),
            path,
            graphql_operation: r.graphql_operation.clone(),
            soap_action: r.soap_action.clone(),
            ..MatchSpec::default()
        };
        let operation =
            r.graphql_operation.as_ref().or(r.soap_action.as_ref()).map_or(String::new(), |o| format!(" ({o})"));
        match Matcher::compile(&route) {
            Ok(m) => {
                out.requests.push((m, format!("{} {}{operation}", r.method.as_deref().unwrap_or("*"), r.path.value)))
            }
            Err(e) => here(errors, r.path.error(file, text, e.to_string())),
        }
    }
    for r in &spec.reconcile {
        match Reconcile::compile(r, file, text) {
            Ok(c) => out.reconcile.push(c),
            Err(d) => here(errors, d),
        }
    }
    for sc in &spec.schemas {
        let Some(system) = systems.get(&sc.system.value) else {
            here(errors, sc.system.error(file, text, format!("this scenario does not use {}", sc.system.value)));
            continue;
        };
        let matcher = match catalog
            .versioned_path(system, &sc.path)
            .map_err(|e| e.to_string())
            .and_then(|p| Matcher::compile(&MatchSpec::route(sc.method.as_deref(), &p)).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(e) => {
                here(errors, sc.path.error(file, text, e));
                continue;
            }
        };
        match catalog.schema(system, &sc.schema.value, false) {
            Ok(schema) => out.schemas.push((sc.system.value.clone(), matcher, sc.path.value.clone(), schema)),
            Err(ds) => ds.into_iter().for_each(|d| {
                if d.span.is_some() {
                    errors.push(d)
                } else {
                    errors.push(sc.schema.error(file, text, d.message).relative_to(root))
                }
            }),
        }
    }
    out
}
