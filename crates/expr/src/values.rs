//! Between serde_json's values and jaq's: every record is converted once and kept as a [`Doc`] for
//! all the expressions that read it.

use jaq_json::Val;
use serde_json::Value;

pub(crate) fn to_val(v: &Value) -> Val {
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

/// How deeply a value an expression yields may nest: far more than any payload, and few enough
/// that a snapshot holding it (a few levels more) reads back (serde_json reads 128) and that
/// walking it recursively never strains a stack.
pub(crate) const MAX_DEPTH: usize = 100;

/// Whether `v` nests deeper than [`MAX_DEPTH`]; looks no deeper than that.
pub(crate) fn too_deep(v: &Val) -> bool {
    fn below(v: &Val, left: usize) -> bool {
        match v {
            Val::Arr(a) => left == 0 || a.iter().any(|x| below(x, left - 1)),
            Val::Obj(o) => left == 0 || o.iter().any(|(_, x)| below(x, left - 1)),
            _ => false,
        }
    }
    below(v, MAX_DEPTH)
}

pub(crate) fn from_val(v: &Val) -> Value {
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
                .or_else(|_| {
                    text.parse::<f64>().map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
                })
                .unwrap_or(Value::Null)
        }
    }
}
