//! Checking an instance against a compiled schema. It runs on every mock request: a valid body
//! costs no allocation; messages and instance paths are written only for a violation.

use std::fmt::Write;

use serde_json::{Number, Value};

use super::Violation;
use super::compile::{Additional, Check, Node, Types};

/// Where in the instance: a chain on the stack, turned into a JSON pointer for a violation only.
#[derive(Clone, Copy)]
pub(super) enum Place<'a> {
    Root,
    Key(&'a Place<'a>, &'a str),
    Index(&'a Place<'a>, usize),
}

impl Place<'_> {
    fn pointer(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Place::Root => {}
            Place::Key(up, key) => {
                up.write(out);
                out.push('/');
                for c in key.chars() {
                    match c {
                        '~' => out.push_str("~0"),
                        '/' => out.push_str("~1"),
                        c => out.push(c),
                    }
                }
            }
            Place::Index(up, i) => {
                up.write(out);
                let _ = write!(out, "/{i}");
            }
        }
    }
}

/// Where violations go: every one into the list, or (None) only whether there is one, the first
/// ending the check.
type Out<'o> = Option<&'o mut Vec<Violation>>;

fn fail(out: &mut Out<'_>, place: &Place<'_>, message: impl FnOnce() -> String) -> bool {
    if let Some(list) = out {
        list.push(Violation { instance_path: place.pointer(), message: message() });
    }
    false
}

/// Whether `instance` (at `place`) satisfies `node`.
pub(super) fn check(node: &Node, refs: &[Node], instance: &Value, place: &Place<'_>, mut out: Out<'_>) -> bool {
    let mut valid = true;
    for c in &node.0 {
        valid &= check_one(c, refs, instance, place, &mut out);
        if !valid && out.is_none() {
            return false;
        }
    }
    valid
}

fn check_one(keyword: &Check, refs: &[Node], instance: &Value, place: &Place<'_>, out: &mut Out<'_>) -> bool {
    match (keyword, instance) {
        (Check::False, _) => fail(out, place, || format!("False schema does not allow {instance}")),
        (Check::Type(types), _) => types.admits(instance) || fail(out, place, || type_message(*types, instance)),
        (Check::Properties(p), Value::Object(members)) => {
            let mut valid = true;
            let mut unexpected = Vec::new();
            for (key, value) in members {
                let here = Place::Key(place, key);
                let mut known = false;
                if let Some(named) = p.named.get(key) {
                    known = true;
                    valid &= check(&named.node, refs, value, &here, out.as_deref_mut());
                    for &i in &named.patterns {
                        valid &= check(&p.patterns[i].1, refs, value, &here, out.as_deref_mut());
                    }
                } else {
                    for (re, node) in &p.patterns {
                        if re.is_match(key) {
                            known = true;
                            valid &= check(node, refs, value, &here, out.as_deref_mut());
                        }
                    }
                }
                if !known {
                    match &p.additional {
                        Additional::Allowed => {}
                        Additional::Forbidden => {
                            valid = false;
                            if out.is_some() {
                                unexpected.push(key.as_str());
                            }
                        }
                        Additional::Checked(node) => valid &= check(node, refs, value, &here, out.as_deref_mut()),
                    }
                }
                if !valid && out.is_none() {
                    return false;
                }
            }
            if !unexpected.is_empty() {
                fail(out, place, || {
                    let names: Vec<String> = unexpected.iter().map(|k| format!("'{k}'")).collect();
                    format!("Additional properties are not allowed ({} {} unexpected)", names.join(", "), if names.len() == 1 { "was" } else { "were" })
                });
            }
            valid
        }
        (Check::Required(names), Value::Object(members)) => {
            let mut valid = true;
            for name in names.iter().filter(|n| !members.contains_key(*n)) {
                valid = fail(out, place, || format!("{} is a required property", Value::from(name.as_str())));
                if out.is_none() {
                    break;
                }
            }
            valid
        }
        (Check::MinProperties(n), Value::Object(members)) => {
            members.len() as u64 >= *n || fail(out, place, || format!("{instance} has less than {n} propert{}", if *n == 1 { "y" } else { "ies" }))
        }
        (Check::MaxProperties(n), Value::Object(members)) => {
            members.len() as u64 <= *n || fail(out, place, || format!("{instance} has more than {n} propert{}", if *n == 1 { "y" } else { "ies" }))
        }
        (Check::Items(node), Value::Array(items)) => {
            let mut valid = true;
            for (i, item) in items.iter().enumerate() {
                valid &= check(node, refs, item, &Place::Index(place, i), out.as_deref_mut());
                if !valid && out.is_none() {
                    return false;
                }
            }
            valid
        }
        (Check::MinItems(n), Value::Array(items)) => items.len() as u64 >= *n || fail(out, place, || format!("{instance} has less than {n} item{}", plural(*n))),
        (Check::MinLength(n), Value::String(s)) => s.chars().count() as u64 >= *n || fail(out, place, || format!("{instance} is shorter than {n} character{}", plural(*n))),
        (Check::MaxLength(n), Value::String(s)) => s.chars().count() as u64 <= *n || fail(out, place, || format!("{instance} is longer than {n} character{}", plural(*n))),
        (Check::Pattern(re), Value::String(s)) => re.is_match(s) || fail(out, place, || format!("{instance} does not match \"{}\"", re.as_str())),
        (Check::Format(f), Value::String(s)) => f.accepts(s) || fail(out, place, || format!("{instance} is not a \"{}\"", f.name())),
        (Check::Minimum(limit), Value::Number(n)) => !less(n, limit) || fail(out, place, || format!("{instance} is less than the minimum of {limit}")),
        (Check::Enum(options), _) => options.as_array().is_some_and(|o| o.iter().any(|v| equal(v, instance))) || fail(out, place, || enum_message(instance, options)),
        (Check::Const(expected), _) => equal(expected, instance) || fail(out, place, || format!("{expected} was expected")),
        (Check::AnyOf(nodes), _) => {
            nodes.iter().any(|n| check(n, refs, instance, place, None))
                || fail(out, place, || format!("{instance} is not valid under any of the schemas listed in the 'anyOf' keyword"))
        }
        (Check::AllOf(nodes), _) => {
            let mut valid = true;
            for node in nodes {
                valid &= check(node, refs, instance, place, out.as_deref_mut());
                if !valid && out.is_none() {
                    return false;
                }
            }
            valid
        }
        (Check::Ref(i), _) => check(&refs[*i], refs, instance, place, out.as_deref_mut()),
        // A keyword about one kind of value passes any other kind.
        _ => true,
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn type_message(types: Types, instance: &Value) -> String {
    let quoted: Vec<String> = types.names().map(|n| format!("\"{n}\"")).collect();
    if types.is_single() { format!("{instance} is not of type {}", quoted[0]) } else { format!("{instance} is not of types {}", quoted.join(", ")) }
}

/// Up to three options in full, else the first two and how many more.
fn enum_message(instance: &Value, options: &Value) -> String {
    let options = options.as_array().map_or(&[][..], Vec::as_slice);
    let mut out = format!("{instance} is not one of ");
    let shown = if options.len() <= 3 { options.len() } else { 2 };
    for (i, option) in options[..shown].iter().enumerate() {
        let sep = match i {
            0 => "",
            _ if i + 1 == options.len() => " or ",
            _ => ", ",
        };
        let _ = write!(out, "{sep}{option}");
    }
    if shown < options.len() {
        let _ = write!(out, " or {} other candidates", options.len() - shown);
    }
    out
}

/// Both integers: exactly; else as floating point.
fn integers(a: &Number, b: &Number) -> Option<(i128, i128)> {
    let int = |n: &Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    Some((int(a)?, int(b)?))
}

fn less(a: &Number, b: &Number) -> bool {
    match integers(a, b) {
        Some((x, y)) => x < y,
        None => a.as_f64().zip(b.as_f64()).is_some_and(|(x, y)| x < y),
    }
}

/// JSON equality, numbers by value (`1` equals `1.0`).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match integers(x, y) {
            Some((x, y)) => x == y,
            None => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(x, y)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w))),
        _ => a == b,
    }
}
