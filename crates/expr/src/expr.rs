//! jq expressions, via jaq: compiled once when a flow or scenario is loaded, run many times, and
//! read statically for the source paths they depend on (field lineage, missing-field detection).
//!
//! Every expression sees the same global variables, fixed when it is compiled (`$record`, `$now`,
//! the flow's lookup results, ...); [`Scope`] supplies their values at run time in that order.

use std::fmt;
use std::sync::Arc;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Ctx, Vars, data};
use jaq_json::Val;
use serde_json::Value;

use crate::evaluating::{Guard, Origin};
use crate::reads::{ReadPath, read_paths};
use crate::values::{from_val, to_val};

type Filter = jaq_core::Filter<data::JustLut<Val>>;

/// Definitions every expression may use.
/// `xref(table)` looks the input up in a cross-reference table and fails, naming the key, when the
/// table has no entry: a missing mapping must never turn into a silent null.
const PRELUDE: &str = r#"def xref($table): . as $key
  | ($xref[$table] // error("no cross-reference table named \($table)"))
  | if has($key | tostring) then .[$key | tostring]
    else error("cross-reference `\($table)` has no entry for \($key | tojson)") end;
def sql_quote: "'" + (tostring | gsub("'"; "''")) + "'";
"#;

/// Names of the variables every expression can read, in the order values are supplied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarNames(Arc<[String]>);

impl VarNames {
    /// `names` without the leading `$`; `xref` (the cross-reference tables) is always present.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut all = vec!["xref".to_string()];
        for n in names {
            if !all.iter().any(|a| a == n) {
                all.push(n.to_string());
            }
        }
        VarNames(all.into())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|n| n == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// A JSON document converted once for jq: evaluating many expressions over one record (or one
/// element of it) must not convert it again each time.
#[derive(Clone, Debug)]
pub struct Doc(Val);

impl Doc {
    pub fn new(v: &Value) -> Doc {
        Doc(to_val(v))
    }

    pub fn to_json(&self) -> Value {
        from_val(&self.0)
    }
}

/// Values for the variables of a [`VarNames`]; unset ones are `null`.
#[derive(Clone)]
pub struct Scope {
    names: VarNames,
    values: Vec<Val>,
}

impl Scope {
    pub fn new(names: &VarNames, xref: &Value) -> Self {
        let mut values = vec![Val::Null; names.0.len()];
        values[0] = to_val(xref);
        Scope { names: names.clone(), values }
    }

    pub fn set(&mut self, name: &str, value: &Value) {
        self.set_doc(name, &Doc::new(value));
    }

    pub fn set_doc(&mut self, name: &str, value: &Doc) {
        if let Some(i) = self.names.0.iter().position(|n| n == name) {
            self.values[i] = value.0.clone();
        }
    }
}

/// A compiled jq expression.
#[derive(Clone)]
pub struct Expr {
    text: Arc<str>,
    filter: Arc<Filter>,
    names: VarNames,
    reads: Arc<[ReadPath]>,
    /// Where it was written, to name it if its evaluation runs away.
    origin: Option<Arc<Origin>>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expr({:?})", self.text)
    }
}

/// Why an expression did not compile, with the byte offset inside the expression text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub message: String,
    pub offset: usize,
    pub len: usize,
}

/// How many values one evaluation may yield; a runaway generator must not exhaust memory.
const MAX_OUTPUTS: usize = 100_000;

impl Expr {
    pub fn compile(text: &str, names: &VarNames) -> Result<Expr, CompileError> {
        let code = format!("{PRELUDE}{text}");
        let shift = PRELUDE.len();
        let located = |part: &str, message: String| {
            let offset = jaq_core::load::span(&code, part).start.saturating_sub(shift);
            CompileError { message, offset: offset.min(text.len()), len: part.len().max(1) }
        };
        let arena = Arena::default();
        let defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
        let modules = Loader::new(defs).load(&arena, File { code: code.as_str(), path: () }).map_err(|errors| {
            let (_, error) = errors.into_iter().next().expect("a failed load reports an error");
            match error {
                jaq_core::load::Error::Lex(e) => {
                    let (expected, at) = e.into_iter().next().expect("lex error");
                    located(at, format!("jq syntax error: expected {}", expected.as_str()))
                }
                jaq_core::load::Error::Parse(e) => {
                    let (expected, at) = e.into_iter().next().expect("parse error");
                    let found = if at.is_empty() {
                        "end of expression".to_string()
                    } else {
                        format!("`{}`", at.chars().take(12).collect::<String>())
                    };
                    located(at, format!("jq syntax error: expected {}, found {found}", expected.as_str()))
                }
                jaq_core::load::Error::Io(e) => CompileError { message: format!("{e:?}"), offset: 0, len: text.len() },
            }
        })?;
        let globals: Vec<String> = names.names().map(|n| format!("${n}")).collect();
        let funs = jaq_core::funs().chain(jaq_std::funs()).chain(jaq_json::funs());
        let filter = jaq_core::Compiler::default()
            .with_funs(funs)
            .with_global_vars(globals.iter().map(String::as_str))
            .compile(modules)
            .map_err(|errors| {
                let (_, undefined) = errors.into_iter().next().expect("a failed compile reports an error");
                let (name, kind) = undefined.into_iter().next().expect("undefined symbol");
                // `$xref` carries the tables behind `xref()`; nobody writes it.
                let known =
                    names.names().filter(|n| *n != "xref").map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
                let message = match kind.as_str() {
                    "variable" => format!("unknown variable `{name}` (known here: {known})"),
                    k => format!("unknown jq {k} `{name}`"),
                };
                located(name, message)
            })?;
        let reads = jaq_core::load::parse(text, |p| p.term()).map(|t| read_paths(&t)).unwrap_or_default();
        Ok(Expr {
            text: text.into(),
            filter: Arc::new(filter),
            names: names.clone(),
            reads: reads.into(),
            origin: None,
        })
    }

    /// The expression, known to be `what` written at `file:line`.
    pub fn with_origin(mut self, what: impl Into<String>, file: &std::path::Path, line: usize) -> Expr {
        self.origin = Some(Arc::new(Origin { what: what.into(), file: file.to_path_buf(), line }));
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The source paths this expression reads, as far as its text shows them.
    pub fn reads(&self) -> &[ReadPath] {
        &self.reads
    }

    /// The single value the expression yields; `None` when it yields nothing (`empty`).
    pub fn eval_one(&self, input: &Value, scope: &Scope) -> Result<Option<Value>, EvalError> {
        self.eval_one_doc(&Doc::new(input), scope)
    }

    /// Every value the expression yields for `input` (converted once), or the first error.
    pub fn eval_doc(&self, input: &Doc, scope: &Scope) -> Result<Vec<Doc>, EvalError> {
        debug_assert_eq!(scope.names, self.names, "scope built for another variable list");
        let _evaluating = Guard::enter(&self.text, &self.origin);
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new(scope.values.iter().cloned()));
        let mut out = Vec::new();
        for item in self.filter.id.run((ctx, input.0.clone())).map(jaq_core::unwrap_valr) {
            // jaq keeps yielding the same error after the first one; stop there.
            let v = item.map_err(|e| EvalError::Raised(error_text(e.into_val())))?;
            if crate::values::too_deep(&v) {
                return Err(EvalError::TooDeep);
            }
            if out.len() == MAX_OUTPUTS {
                return Err(EvalError::TooMany);
            }
            out.push(Doc(v));
        }
        Ok(out)
    }

    pub fn eval_one_doc(&self, input: &Doc, scope: &Scope) -> Result<Option<Value>, EvalError> {
        let mut values = self.eval_doc(input, scope)?;
        match values.len() {
            0 => Ok(None),
            1 => Ok(values.pop().map(|d| d.to_json())),
            n => Err(EvalError::NotOne(n)),
        }
    }

    /// Whether the expression's value counts as true (jq truthiness: not `false`, not `null`).
    pub fn eval_bool_doc(&self, input: &Doc, scope: &Scope) -> Result<bool, EvalError> {
        Ok(self.eval_one_doc(input, scope)?.is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false))))
    }
}

/// Why evaluating an expression gave no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The expression itself failed (`error(…)`, a type error): jq's message.
    #[error("{0}")]
    Raised(String),
    #[error("expression yields a value nested deeper than {} levels", crate::values::MAX_DEPTH)]
    TooDeep,
    #[error("expression yields more than {MAX_OUTPUTS} values")]
    TooMany,
    #[error("expression yields {0} values where one was expected")]
    NotOne(usize),
}

fn error_text(v: Val) -> String {
    match &v {
        Val::TStr(_) | Val::BStr(_) => from_val(&v).as_str().unwrap_or_default().to_string(),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> VarNames {
        VarNames::new(["record", "customer_id"])
    }

    #[test]
    fn evaluates_with_variables_and_xref() {
        let names = names();
        let mut scope = Scope::new(&names, &json!({"item": {"SKU-1": "501"}}));
        scope.set("customer_id", &json!("77"));
        let e = Expr::compile(r#"{id: $customer_id, item: (.sku | xref("item"))}"#, &names).unwrap();
        assert_eq!(e.eval_one(&json!({"sku": "SKU-1"}), &scope).unwrap(), Some(json!({"id": "77", "item": "501"})));
        let err = e.eval_one(&json!({"sku": "NOPE"}), &scope).unwrap_err();
        assert_eq!(err.to_string(), "cross-reference `item` has no entry for \"NOPE\"");
    }

    #[test]
    fn numbers_round_trip() {
        let names = names();
        let scope = Scope::new(&names, &json!({}));
        let e = Expr::compile(".price | tonumber", &names).unwrap();
        assert_eq!(e.eval_one(&json!({"price": "24.50"}), &scope).unwrap(), Some(json!(24.5)));
        let e = Expr::compile(".id", &names).unwrap();
        assert_eq!(
            e.eval_one(&json!({"id": 820982911946154508u64}), &scope).unwrap(),
            Some(json!(820982911946154508u64))
        );
    }

    #[test]
    fn errors_stop_at_the_first() {
        let names = names();
        let scope = Scope::new(&names, &json!({}));
        let e = Expr::compile(".a | tonumber", &names).unwrap();
        assert!(e.eval_doc(&Doc::new(&json!({"a": "x"})), &scope).unwrap_err().to_string().contains("cannot parse"));
    }

    #[test]
    fn values_nested_too_deeply_are_errors() {
        let names = names();
        let scope = Scope::new(&names, &json!({}));
        let e = Expr::compile("reduce range(100) as $i (0; [.])", &names).unwrap();
        assert!(e.eval_one(&json!({}), &scope).is_ok());
        // On a stack as large as a case's thread has: dropping the deep value recurses.
        let deep = std::thread::Builder::new().stack_size(256 << 20).spawn(move || {
            let e = Expr::compile("reduce range(5000) as $i (0; {a: .})", &names).unwrap();
            e.eval_one(&json!({}), &scope).unwrap_err()
        });
        assert_eq!(
            deep.unwrap().join().unwrap().to_string(),
            "expression yields a value nested deeper than 100 levels"
        );
    }

    #[test]
    fn compile_errors_point_into_the_expression() {
        let err = Expr::compile(".a | ", &names()).unwrap_err();
        assert_eq!(err.offset, 5);
        assert!(err.message.starts_with("jq syntax error"), "{}", err.message);
        let err = Expr::compile(".a + $nope", &names()).unwrap_err();
        assert_eq!((err.offset, err.len), (5, 5));
        assert!(err.message.contains("unknown variable `$nope`"), "{}", err.message);
        let err = Expr::compile("frobnicate(1)", &names()).unwrap_err();
        assert_eq!(err.offset, 0);
    }
}
