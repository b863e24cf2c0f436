//! Reconciliations, compiled: jq over the source payload on one side, jq over what a target
//! received on the other; they must agree within the tolerance. Declared by flows (their
//! invariants) and by scenarios.

use std::path::Path;

use harness_core::{Diagnostic, SystemId};
use harness_expr::{Expr, VarNames};
use harness_syntax::Loc;
use harness_syntax::reconcile::ReconcileSpec;

#[derive(Debug, Clone)]
pub struct Reconcile {
    pub name: String,
    pub system: SystemId,
    pub source: Expr,
    pub target: Expr,
    pub tolerance: f64,
}

impl Reconcile {
    /// Compile both sides of `spec`, written in `file` (whose text is `text`); an error points
    /// into the expression.
    pub fn compile(spec: &ReconcileSpec, file: &Path, text: &str) -> Result<Reconcile, Diagnostic> {
        let names = VarNames::new([]);
        let compile = |expr: &Loc<String>| {
            Expr::compile(expr, &names).map(|e| e.with_origin("reconcile", file, expr.span.line(text))).map_err(|e| {
                expr.span.diagnostic_inside(
                    file,
                    text,
                    e.offset,
                    e.len,
                    format!("reconcile `{}`: {}", spec.name, e.message),
                )
            })
        };
        Ok(Reconcile {
            name: spec.name.clone(),
            system: spec.system.value.clone(),
            source: compile(&spec.source)?,
            target: compile(&spec.target)?,
            tolerance: spec.tolerance.unwrap_or(0.005),
        })
    }
}
