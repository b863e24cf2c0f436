//! The source paths an expression reads, worked out from its text: what field lineage, missing-field
//! detection and impact analysis know about a mapping without running it.

use std::collections::BTreeMap;
use std::fmt;

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Pattern, Term};
use serde_json::Value;

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
            None => ReadPath {
                var: None,
                segs: base.iter().cloned().chain(self.segs.iter().cloned()).collect(),
                required: self.required,
            },
            Some(_) => self.clone(),
        }
    }
}

impl fmt::Display for ReadPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.var {
            Some(v) if self.segs.first().is_some_and(|s| matches!(s, Seg::Key(_))) => {
                write!(f, "${v}.{}", path_text(&self.segs))
            }
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

pub(crate) fn read_paths(term: &Term<&str>) -> Vec<ReadPath> {
    let mut w = Walker { out: Vec::new(), bound: BTreeMap::new() };
    w.walk(term, Some(&(None, Vec::new())), true);
    let mut paths = w.out;
    paths.sort();
    paths.dedup();
    // A required read of `a.b` already covers `a`; keep the longest paths only.
    let covered = |p: &ReadPath, all: &[ReadPath]| {
        all.iter().any(|q| {
            q != p
                && q.var == p.var
                && q.segs.len() > p.segs.len()
                && q.segs.starts_with(&p.segs)
                && (q.required || !p.required)
        })
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
    use crate::{Expr, VarNames};
    use serde_json::json;

    fn reads(text: &str) -> Vec<String> {
        let e = Expr::compile(text, &VarNames::new(["record", "customer_id"])).unwrap();
        e.reads().iter().map(|r| format!("{}{}", r, if r.required { "" } else { "?" })).collect()
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
        assert_eq!(
            reads(".shipping_lines[] | select(.code) | .price"),
            ["shipping_lines[].code?", "shipping_lines[].price"]
        );
        assert_eq!(reads("\"SHOP-\\(.id)\""), ["id"]);
        assert_eq!(reads("{sku, quantity}"), ["quantity", "sku"]);
    }

    #[test]
    fn missing_keys_are_found_but_nulls_are_not_missing() {
        let order = json!({"line_items": [{"sku": "A"}, {"sku_code": "B"}], "shipping_address": null});
        let p = |s: &[Seg]| missing_key(&order, s).map(|m| path_text(&m));
        assert_eq!(
            p(&[Seg::Key("line_items".into()), Seg::Each, Seg::Key("sku".into())]).as_deref(),
            Some("line_items[].sku")
        );
        assert_eq!(p(&[Seg::Key("shipping_address".into()), Seg::Key("city".into())]), None);
        assert_eq!(p(&[Seg::Key("email".into())]).as_deref(), Some("email"));
    }
}
