//! jq expressions, via jaq: compiled once when a flow or scenario is loaded, run many times, and
//! read statically for the source paths they depend on (field lineage, missing-field detection).
//!
//! Every expression sees the same global variables, fixed when it is compiled (`$record`, `$now`,
//! the flow's lookup results, ...); [`Scope`] supplies their values at run time in that order.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use jaq_core::load::parse::{BinaryOp, Pattern, Term};
use jaq_core::load::{Arena, File, Loader, lex::StrPart};
use jaq_core::{Ctx, Vars, data};
use jaq_json::Val;
use serde_json::Value;

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
                    let found = if at.is_empty() { "end of expression".to_string() } else { format!("`{}`", at.chars().take(12).collect::<String>()) };
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
                let known = names.names().filter(|n| *n != "xref").map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
                let message = match kind.as_str() {
                    "variable" => format!("unknown variable `{name}` (known here: {known})"),
                    k => format!("unknown jq {k} `{name}`"),
                };
                located(name, message)
            })?;
        let reads = jaq_core::load::parse(text, |p| p.term()).map(|t| read_paths(&t)).unwrap_or_default();
        Ok(Expr { text: text.into(), filter: Arc::new(filter), names: names.clone(), reads: reads.into() })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The source paths this expression reads, as far as its text shows them.
    pub fn reads(&self) -> &[ReadPath] {
        &self.reads
    }

    /// The single value the expression yields; `None` when it yields nothing (`empty`).
    pub fn eval_one(&self, input: &Value, scope: &Scope) -> Result<Option<Value>, String> {
        self.eval_one_doc(&Doc::new(input), scope)
    }

    /// Every value the expression yields for `input` (converted once), or the first error.
    pub fn eval_doc(&self, input: &Doc, scope: &Scope) -> Result<Vec<Doc>, String> {
        debug_assert_eq!(scope.names, self.names, "scope built for another variable list");
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new(scope.values.iter().cloned()));
        let mut out = Vec::new();
        for item in self.filter.id.run((ctx, input.0.clone())).map(jaq_core::unwrap_valr) {
            // jaq keeps yielding the same error after the first one; stop there.
            let v = item.map_err(|e| error_text(e.into_val()))?;
            if out.len() == MAX_OUTPUTS {
                return Err(format!("expression yields more than {MAX_OUTPUTS} values"));
            }
            out.push(Doc(v));
        }
        Ok(out)
    }

    pub fn eval_one_doc(&self, input: &Doc, scope: &Scope) -> Result<Option<Value>, String> {
        let mut values = self.eval_doc(input, scope)?;
        match values.len() {
            0 => Ok(None),
            1 => Ok(values.pop().map(|d| d.to_json())),
            n => Err(format!("expression yields {n} values where one was expected")),
        }
    }

    /// Whether the expression's value counts as true (jq truthiness: not `false`, not `null`).
    pub fn eval_bool_doc(&self, input: &Doc, scope: &Scope) -> Result<bool, String> {
        Ok(self.eval_one_doc(input, scope)?.is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false))))
    }
}

fn error_text(v: Val) -> String {
    match &v {
        Val::TStr(_) | Val::BStr(_) => from_val(&v).as_str().unwrap_or_default().to_string(),
        _ => v.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Values

pub fn to_val(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::from(*b),
        Value::Number(n) => match (n.as_i64().and_then(|i| isize::try_from(i).ok()), n.as_f64()) {
            (Some(i), _) => Val::from(i),
            (None, Some(f)) if n.is_f64() => Val::from(f),
            _ => Val::Num(jaq_json::Num::from_dec_str(&n.to_string())),
        },
        Value::String(s) => Val::from(s.clone()),
        Value::Array(a) => a.iter().map(to_val).collect(),
        Value::Object(o) => {
            let mut map = jaq_json::Map::default();
            for (k, v) in o {
                map.insert(Val::from(k.clone()), to_val(v));
            }
            Val::obj(map)
        }
    }
}

pub fn from_val(v: &Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => num_to_json(n),
        Val::TStr(b) | Val::BStr(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Val::Arr(a) => Value::Array(a.iter().map(from_val).collect()),
        Val::Obj(o) => {
            let mut map = serde_json::Map::new();
            for (k, v) in o.iter() {
                let key = match k {
                    Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
                    other => other.to_string(),
                };
                map.insert(key, from_val(v));
            }
            Value::Object(map)
        }
    }
}

fn num_to_json(n: &jaq_json::Num) -> Value {
    use jaq_json::Num;
    match n {
        Num::Int(i) => Value::from(*i as i64),
        Num::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        other => {
            let text = other.to_string();
            text.parse::<serde_json::Number>()
                .map(Value::Number)
                .or_else(|_| text.parse::<f64>().map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)))
                .unwrap_or(Value::Null)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Read paths

/// One step of a source path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Key(String),
    Index(i64),
    /// `[]`: every element.
    Each,
}

/// A path an expression reads, rooted at its input (`.`) or at a variable (`$record`, a lookup).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReadPath {
    /// `None` for the expression's input, else the variable name without `$`.
    pub var: Option<String>,
    pub segs: Vec<Seg>,
    /// Read unconditionally (not behind `?`, `//`, `try`, `if`, `select`): the value must exist.
    pub required: bool,
}

impl ReadPath {
    /// This path seen from a context that is itself at `base` (for `each:` blocks).
    pub fn rebased(&self, base: &[Seg]) -> ReadPath {
        match &self.var {
            None => ReadPath { var: None, segs: base.iter().cloned().chain(self.segs.iter().cloned()).collect(), required: self.required },
            Some(_) => self.clone(),
        }
    }
}

impl fmt::Display for ReadPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.var {
            Some(v) if self.segs.first().is_some_and(|s| matches!(s, Seg::Key(_))) => write!(f, "${v}.{}", path_text(&self.segs)),
            Some(v) => write!(f, "${v}{}", path_text(&self.segs)),
            None => write!(f, "{}", path_text(&self.segs)),
        }
    }
}

/// `line_items[].sku`, `shipping_lines[0].title`.
pub fn path_text(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
            Seg::Each => s.push_str("[]"),
        }
    }
    s
}

/// Where a term's output sits, when it is a plain path: the root variable (`None` = input) and segments.
type Loc = (Option<String>, Vec<Seg>);

struct Walker {
    out: Vec<ReadPath>,
    /// `$name` bound by `as` to a location.
    bound: BTreeMap<String, Loc>,
}

fn read_paths(term: &Term<&str>) -> Vec<ReadPath> {
    let mut w = Walker { out: Vec::new(), bound: BTreeMap::new() };
    w.walk(term, Some(&(None, Vec::new())), true);
    let mut paths = w.out;
    paths.sort();
    paths.dedup();
    // A required read of `a.b` already covers `a`; keep the longest paths only.
    let covered = |p: &ReadPath, all: &[ReadPath]| {
        all.iter().any(|q| q != p && q.var == p.var && q.segs.len() > p.segs.len() && q.segs.starts_with(&p.segs) && (q.required || !p.required))
    };
    let keep: Vec<ReadPath> = paths.iter().filter(|p| !covered(p, &paths)).cloned().collect();
    keep.into_iter().filter(|p| p.var.is_some() || !p.segs.is_empty()).collect()
}

impl Walker {
    fn record(&mut self, loc: &Loc, required: bool) {
        self.out.push(ReadPath { var: loc.0.clone(), segs: loc.1.clone(), required });
    }

    /// Walk `t` evaluated at `input`; returns where its output sits when it is a plain path.
    fn walk(&mut self, t: &Term<&str>, input: Option<&Loc>, required: bool) -> Option<Loc> {
        match t {
            Term::Id => input.cloned(),
            Term::Recurse | Term::Num(_) | Term::Break(_) => None,
            Term::Str(_, parts) => {
                for p in parts {
                    if let StrPart::Term(t) = p {
                        self.walk(t, input, required);
                    }
                }
                None
            }
            Term::Arr(inner) => {
                if let Some(t) = inner {
                    self.walk(t, input, required);
                }
                None
            }
            Term::Obj(pairs) => {
                for (k, v) in pairs {
                    match (k, v) {
                        // `{sku}` is short for `{sku: .sku}`
                        (k, None) => {
                            if let (Some(name), Some(base)) = (literal_str(k), input) {
                                let mut loc = base.clone();
                                loc.1.push(Seg::Key(name));
                                self.record(&loc, required);
                            } else {
                                self.walk(k, input, required);
                            }
                        }
                        (k, Some(v)) => {
                            self.walk(k, input, required);
                            self.walk(v, input, required);
                        }
                    }
                }
                None
            }
            Term::Neg(t) => {
                self.walk(t, input, required);
                None
            }
            Term::BinOp(l, op, r) => match op {
                BinaryOp::Pipe(None) => {
                    let mid = self.walk(l, input, required);
                    self.walk(r, mid.as_ref(), required)
                }
                BinaryOp::Pipe(Some(pattern)) => {
                    let value = self.walk(l, input, required);
                    if let (Pattern::Var(name), Some(loc)) = (pattern, value) {
                        self.bound.insert(name.trim_start_matches('$').to_string(), loc);
                    }
                    self.walk(r, input, required)
                }
                BinaryOp::Alt => {
                    self.walk(l, input, false);
                    self.walk(r, input, false);
                    None
                }
                _ => {
                    self.walk(l, input, required);
                    self.walk(r, input, required);
                    None
                }
            },
            Term::Label(_, t) => self.walk(t, input, required),
            Term::Fold(_, xs, pattern, fs) => {
                let each = self.walk(xs, input, required);
                if let (Pattern::Var(name), Some(loc)) = (pattern, each) {
                    self.bound.insert(name.trim_start_matches('$').to_string(), loc);
                }
                for f in fs {
                    self.walk(f, None, false);
                }
                None
            }
            Term::TryCatch(t, c) => {
                self.walk(t, input, false);
                if let Some(c) = c {
                    self.walk(c, None, false);
                }
                None
            }
            Term::IfThenElse(branches, otherwise) => {
                for (cond, then) in branches {
                    self.walk(cond, input, false);
                    self.walk(then, input, false);
                }
                if let Some(e) = otherwise {
                    self.walk(e, input, false);
                }
                None
            }
            Term::Def(_, body) => self.walk(body, input, required),
            Term::Call(name, args) => self.call(name, args, input, required),
            Term::Var(name) => {
                let name = name.trim_start_matches('$');
                if let Some(loc) = self.bound.get(name) {
                    return Some(loc.clone());
                }
                let loc = (Some(name.to_string()), Vec::new());
                self.record(&loc, required);
                Some(loc)
            }
            Term::Path(base, path) => {
                let mut loc = self.walk(base, input, required);
                let mut req = required;
                for (part, opt) in &path.0 {
                    if matches!(opt, jaq_core::path::Opt::Optional) {
                        req = false;
                    }
                    let seg = match part {
                        jaq_core::path::Part::Index(i) => match (literal_str(i), i) {
                            (Some(k), _) => Some(Seg::Key(k)),
                            (None, Term::Num(n)) => n.parse::<i64>().ok().map(Seg::Index),
                            (None, Term::Neg(inner)) if matches!(**inner, Term::Num(_)) => None,
                            (None, other) => {
                                self.walk(other, input, req);
                                None
                            }
                        },
                        jaq_core::path::Part::Range(None, None) => Some(Seg::Each),
                        // A slice (`.created_at[0:10]`) reads the field itself.
                        jaq_core::path::Part::Range(from, to) => {
                            for t in [from, to].into_iter().flatten() {
                                self.walk(t, input, req);
                            }
                            continue;
                        }
                    };
                    loc = match (loc, seg) {
                        (Some(mut l), Some(s)) => {
                            l.1.push(s);
                            Some(l)
                        }
                        _ => None,
                    };
                }
                if let Some(l) = &loc {
                    self.record(l, req);
                }
                loc
            }
        }
    }

    fn call(&mut self, name: &str, args: &[Term<&str>], input: Option<&Loc>, required: bool) -> Option<Loc> {
        let each = input.map(|(v, s)| (v.clone(), s.iter().cloned().chain([Seg::Each]).collect::<Vec<_>>()));
        match (name, args) {
            ("map" | "any" | "all" | "group_by" | "sort_by" | "unique_by" | "min_by" | "max_by", [f]) => {
                self.walk(f, each.as_ref(), required);
                None
            }
            ("select", [cond]) => {
                self.walk(cond, input, false);
                input.cloned()
            }
            ("first" | "last", [f]) => {
                self.walk(f, input, required);
                None
            }
            ("has" | "in" | "contains" | "inside" | "test" | "startswith" | "endswith", _) => {
                for a in args {
                    self.walk(a, input, false);
                }
                None
            }
            (_, args) => {
                for a in args {
                    self.walk(a, input, required);
                }
                None
            }
        }
    }
}

fn literal_str(t: &Term<&str>) -> Option<String> {
    match t {
        Term::Str(None, parts) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    StrPart::Str(x) => s.push_str(x),
                    StrPart::Char(c) => s.push(*c),
                    StrPart::Term(_) => return None,
                }
            }
            Some(s)
        }
        _ => None,
    }
}

/// The first place where `path` (rooted at `root`) names a key its parent object does not have:
/// the field a renamed or removed source field would leave behind. A `null` parent is an explicit
/// empty value, not a missing field.
pub fn missing_key(root: &Value, segs: &[Seg]) -> Option<Vec<Seg>> {
    fn go(v: &Value, segs: &[Seg], done: &mut Vec<Seg>) -> bool {
        let Some((first, rest)) = segs.split_first() else { return false };
        match (first, v) {
            (Seg::Key(k), Value::Object(o)) => {
                done.push(first.clone());
                match o.get(k) {
                    Some(child) => go(child, rest, done),
                    None => true,
                }
            }
            (Seg::Each, Value::Array(items)) => each(items.iter(), rest, done),
            (Seg::Each, Value::Object(o)) => each(o.values(), rest, done),
            (Seg::Index(i), Value::Array(items)) => {
                done.push(first.clone());
                let idx = if *i < 0 { items.len() as i64 + i } else { *i };
                usize::try_from(idx).ok().and_then(|i| items.get(i)).is_some_and(|item| go(item, rest, done))
            }
            _ => false,
        }
    }
    fn each<'a>(items: impl Iterator<Item = &'a Value>, rest: &[Seg], done: &mut Vec<Seg>) -> bool {
        done.push(Seg::Each);
        let depth = done.len();
        items.into_iter().any(|item| {
            done.truncate(depth);
            go(item, rest, done)
        })
    }
    let mut done = Vec::new();
    go(root, segs, &mut done).then_some(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> VarNames {
        VarNames::new(["record", "customer_id"])
    }

    fn reads(text: &str) -> Vec<String> {
        let e = Expr::compile(text, &names()).unwrap();
        e.reads().iter().map(|r| format!("{}{}", r, if r.required { "" } else { "?" })).collect()
    }

    #[test]
    fn evaluates_with_variables_and_xref() {
        let names = names();
        let mut scope = Scope::new(&names, &json!({"item": {"SKU-1": "501"}}));
        scope.set("customer_id", &json!("77"));
        let e = Expr::compile(r#"{id: $customer_id, item: (.sku | xref("item"))}"#, &names).unwrap();
        assert_eq!(e.eval_one(&json!({"sku": "SKU-1"}), &scope).unwrap(), Some(json!({"id": "77", "item": "501"})));
        let err = e.eval_one(&json!({"sku": "NOPE"}), &scope).unwrap_err();
        assert_eq!(err, "cross-reference `item` has no entry for \"NOPE\"");
    }

    #[test]
    fn numbers_round_trip() {
        let names = names();
        let scope = Scope::new(&names, &json!({}));
        let e = Expr::compile(".price | tonumber", &names).unwrap();
        assert_eq!(e.eval_one(&json!({"price": "24.50"}), &scope).unwrap(), Some(json!(24.5)));
        let e = Expr::compile(".id", &names).unwrap();
        assert_eq!(e.eval_one(&json!({"id": 820982911946154508u64}), &scope).unwrap(), Some(json!(820982911946154508u64)));
    }

    #[test]
    fn errors_stop_at_the_first() {
        let names = names();
        let scope = Scope::new(&names, &json!({}));
        let e = Expr::compile(".a | tonumber", &names).unwrap();
        assert!(e.eval_doc(&Doc::new(&json!({"a": "x"})), &scope).unwrap_err().contains("cannot parse"));
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

    #[test]
    fn static_reads() {
        assert_eq!(reads(".customer.first_name"), ["customer.first_name"]);
        assert_eq!(reads(".price | tonumber"), ["price"]);
        assert_eq!(reads("(.price | tonumber) * .quantity"), ["price", "quantity"]);
        assert_eq!(reads(".line_items | map(.sku) | join(\",\")"), ["line_items[].sku"]);
        assert_eq!(reads(".note // \"\""), ["note?"]);
        assert_eq!(reads(".discount_codes[0].code?"), ["discount_codes[0].code?"]);
        assert_eq!(reads("if .gift_card then 1 else .price end"), ["gift_card?", "price?"]);
        assert_eq!(reads("{id: $customer_id}"), ["$customer_id"]);
        assert_eq!(reads("$record.email"), ["$record.email"]);
        assert_eq!(reads(".shipping_lines[] | select(.code) | .price"), ["shipping_lines[].code?", "shipping_lines[].price"]);
        assert_eq!(reads("\"SHOP-\\(.id)\""), ["id"]);
        assert_eq!(reads("{sku, quantity}"), ["quantity", "sku"]);
    }

    #[test]
    fn missing_keys_are_found_but_nulls_are_not_missing() {
        let order = json!({"line_items": [{"sku": "A"}, {"sku_code": "B"}], "shipping_address": null});
        let p = |s: &[Seg]| missing_key(&order, s).map(|m| path_text(&m));
        assert_eq!(p(&[Seg::Key("line_items".into()), Seg::Each, Seg::Key("sku".into())]).as_deref(), Some("line_items[].sku"));
        assert_eq!(p(&[Seg::Key("shipping_address".into()), Seg::Key("city".into())]), None);
        assert_eq!(p(&[Seg::Key("email".into())]).as_deref(), Some("email"));
    }
}
