//! A built-in flow file compiled: every jq expression, text template and mapping, checked against
//! the systems it calls, with every problem reported at its place in the file.

use std::collections::BTreeMap;
use std::sync::Arc;

use harness_core::Diagnostic;
use harness_expr::{CompileError, Expr, Template, TextTemplate, VarNames};
use harness_syntax::delivery::DeliverySpec;
use harness_syntax::flow::CallSpec;
use harness_syntax::{Loc, Mapping, Span};

use super::{Builtin, BuiltinFlow, Call, CallBody, Step, tables};
use crate::DeliveryPolicy;
use crate::driver::FlowDriver;
use crate::source::FlowSource;

/// Compile a built-in flow; every problem is reported at its place in the file.
pub(crate) fn compile(source: &FlowSource<'_>) -> Result<Arc<dyn FlowDriver>, Vec<Diagnostic>> {
    let spec = source.spec;
    let steps_spec = spec.steps.as_ref().map_or(&[][..], |s| s.as_slice());
    let mut bind_names: Vec<&str> = steps_spec.iter().flat_map(|s| s.bind.keys().map(String::as_str)).collect();
    bind_names.sort();
    let names = VarNames::new(["record", "now", "version", "status", "headers"].into_iter().chain(bind_names));
    let mut c = Compiler { source, names, errors: Vec::new() };

    let mut steps: Vec<Step> = Vec::new();
    for step in steps_spec {
        if steps.iter().any(|s| s.name == *step.name) {
            c.error(step.name.span, format!("two steps are named `{}`", step.name.value));
        }
        let when = step.when.as_ref().and_then(|w| c.expr(w, "`when`"));
        let filter =
            step.filter.as_ref().and_then(|f| c.expr(&f.condition, "`filter.if`").map(|e| (e, f.reason.clone())));
        let binds = step
            .bind
            .iter()
            .filter_map(|(name, e)| c.expr(e, &format!("bind `{name}`")).map(|x| (name.clone(), x)))
            .collect();
        let call = step.call.as_ref().and_then(|call| c.call(call, &step.name));
        steps.push(Step {
            name: step.name.value.clone(),
            when,
            filter,
            call,
            binds,
            allow_status: step.allow_status.clone(),
        });
    }
    let mut auth = BTreeMap::new();
    for (system, method) in &spec.auth {
        let named = Loc {
            value: system.clone(),
            span: harness_syntax::yaml::key_span(source.text, &["auth", system.as_str()]).unwrap_or_default(),
        };
        let Some(s) = c.system(&named) else { continue };
        if method.value != "none" && !s.auth_methods().contains(&method.as_str()) {
            c.error(method.span, format!("{system} does not support auth `{}`", method.value));
        }
        auth.insert(system.clone(), method.value.clone());
    }
    let xref = tables::load(source, &mut c.errors);
    let policy =
        DeliveryPolicy::merged(&DeliveryPolicy::default(), spec.delivery.as_ref().unwrap_or(&DeliverySpec::default()));
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let lineage = BuiltinFlow::compute_lineage(&steps);
    Ok(Arc::new(Builtin(Arc::new(BuiltinFlow { names: c.names, xref, steps, lineage, auth, policy }))))
}

struct Compiler<'a, 'b> {
    source: &'a FlowSource<'b>,
    names: VarNames,
    errors: Vec<Diagnostic>,
}

impl Compiler<'_, '_> {
    fn error(&mut self, span: Span, message: String) {
        self.errors
            .push(span.diagnostic(self.source.file, self.source.text, message).relative_to(&self.source.project.root));
    }

    /// A jq error `e` inside the value at `span`.
    fn error_inside(&mut self, span: Span, e: &CompileError, what: &str) {
        let d = span.diagnostic_inside(
            self.source.file,
            self.source.text,
            e.offset,
            e.len,
            format!("{what}: {}", e.message),
        );
        self.errors.push(d.relative_to(&self.source.project.root));
    }

    fn expr(&mut self, text: &Loc<String>, what: &str) -> Option<Expr> {
        Expr::compile(text, &self.names)
            .map(|e| e.with_origin(what, self.source.file, text.span.line(self.source.text)))
            .map_err(|e| self.error_inside(text.span, &e, what))
            .ok()
    }

    fn text(&mut self, text: &str, span: Span, what: &str) -> Option<TextTemplate> {
        TextTemplate::compile(text, &self.names).map_err(|e| self.error_inside(span, &e, what)).ok()
    }

    fn template(&mut self, mapping: &Mapping, what: &str) -> Option<Template> {
        let (file, text) = (self.source.file, self.source.text);
        let origin = |pointer: &str, field: &str| {
            mapping.leaf(pointer).map(|span| harness_expr::Origin {
                what: format!("mapping {what}.{field}"),
                file: file.to_path_buf(),
                line: span.line(text),
            })
        };
        Template::compile_located(&mapping.value, &self.names, &origin)
            .map_err(|errs| {
                for e in errs {
                    let span = mapping.leaf(&e.pointer).unwrap_or(mapping.span);
                    self.error_inside(span, &e.error, &format!("{what} field `{}`", e.field));
                }
            })
            .ok()
    }

    /// The system a file names; an error where it is named otherwise.
    fn system(&mut self, id: &Loc<harness_core::SystemId>) -> Option<Arc<dyn harness_systems::System>> {
        match self.source.registry.lookup(id, self.source.file, self.source.text) {
            Ok(s) => Some(s.clone()),
            Err(d) => {
                self.errors.push(d.relative_to(&self.source.project.root));
                None
            }
        }
    }

    fn call(&mut self, c: &CallSpec, step: &Loc<String>) -> Option<Call> {
        let system = self.system(&c.system)?;
        let bodies = [c.body.is_some(), c.graphql.is_some(), c.soap.is_some()].iter().filter(|b| **b).count();
        if bodies > 1 {
            self.error(step.span, "a call has one of `body`, `graphql` or `soap`".into());
            return None;
        }
        let speaking = |has: fn(&dyn harness_systems::System) -> bool| self.source.registry.names_where(has).join(", ");
        if let Some(s) = &c.soap
            && system.soap().is_none()
        {
            let those = speaking(|s| s.soap().is_some());
            self.error(s.operation.span, format!("`soap` calls go to {those}, not {}", c.system.value));
            return None;
        }
        if c.graphql.is_some() && system.graphql_path().is_none() && c.path.is_none() {
            let those = speaking(|s| s.graphql_path().is_some());
            self.error(
                c.system.span,
                format!(
                    "`graphql` calls go to {those}, or name their `path`; {} has no GraphQL endpoint",
                    c.system.value
                ),
            );
            return None;
        }
        let default_path = match (&c.graphql, &c.soap) {
            (Some(_), _) => system.graphql_path().map(|p| (p.to_string(), step.span)),
            (_, Some(_)) => Some((String::new(), step.span)),
            _ => None,
        };
        let Some((path_text, path_span)) = c.path.as_ref().map(|p| (p.value.clone(), p.span)).or(default_path) else {
            self.error(step.span, format!("step `{}`: the call needs a `path`", step.value));
            return None;
        };
        // A path that does not start at the root would be glued to the mock's address (`@host`
        // makes it another host's): refused here when written so, and at run time when rendered so.
        if c.path.is_some() && !path_text.starts_with('/') && !path_text.starts_with('{') {
            self.error(path_span, format!("step `{}`: a call's `path` starts with `/`", step.value));
            return None;
        }
        let path = self.text(&path_text, path_span, "`path`")?;
        let query: Vec<(String, TextTemplate)> = c
            .query
            .iter()
            .filter_map(|(k, v)| self.text(v, v.span, &format!("query `{k}`")).map(|t| (k.clone(), t)))
            .collect();
        let headers = c
            .headers
            .iter()
            .filter_map(|(k, v)| self.text(v, v.span, &format!("header `{k}`")).map(|t| (k.clone(), t)))
            .collect();
        let body = if let Some(b) = &c.body {
            CallBody::Json(self.template(b, "body")?)
        } else if let Some(g) = &c.graphql {
            let variables = match &g.variables {
                Some(v) => Some(self.template(v, "variables")?),
                None => None,
            };
            CallBody::Graphql { document: g.query.clone(), variables }
        } else if let Some(s) = &c.soap {
            let params = match &s.params {
                Some(p) => Some(self.template(p, "params")?),
                None => None,
            };
            let save = match &s.save {
                Some(save) => Some((save.template.clone(), self.template(&save.rows, "rows")?, save.action)),
                None => None,
            };
            CallBody::Soap { operation: s.operation.value.clone(), params, save }
        } else {
            CallBody::None
        };
        let method = c.method.clone().unwrap_or_else(|| "POST".into()).to_ascii_uppercase();
        let required_reads = Call::required_reads(&path, &query, &body);
        Some(Call { system: c.system.value.clone(), method, path, query, headers, body, required_reads })
    }
}
