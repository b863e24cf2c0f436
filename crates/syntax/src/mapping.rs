//! A body mapping as written: a YAML tree shaped like the target document whose text leaves are
//! jq expressions. It is kept as plain JSON for the compiler, with the place of every text leaf,
//! so an error inside any expression of a nested mapping points into that expression.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::loc::{Loc, Span};

#[derive(Debug, Clone, Default)]
pub struct Mapping {
    pub value: Value,
    /// JSON pointer of each text leaf (`/item/items/map/quantity`) → where its text stands.
    leaves: BTreeMap<String, Span>,
    /// Where the mapping as a whole starts.
    pub span: Span,
}

impl Mapping {
    /// Where the text leaf at `pointer` stands.
    pub fn leaf(&self, pointer: &str) -> Option<Span> {
        self.leaves.get(pointer).copied()
    }
}

/// The tree as parsed, each node with its place.
enum Tree {
    Map(Vec<(String, Loc<Tree>)>),
    Seq(Vec<Loc<Tree>>),
    Text(String),
    Other(Value),
}

impl Tree {
    fn flatten(self, span: Span, pointer: &mut String, leaves: &mut BTreeMap<String, Span>) -> Value {
        match self {
            Tree::Text(t) => {
                leaves.insert(pointer.clone(), span);
                Value::String(t)
            }
            Tree::Other(v) => v,
            Tree::Seq(items) => Value::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let len = pointer.len();
                        pointer.push_str(&format!("/{i}"));
                        let v = item.value.flatten(item.span, pointer, leaves);
                        pointer.truncate(len);
                        v
                    })
                    .collect(),
            ),
            Tree::Map(entries) => {
                let mut out = Map::new();
                for (k, v) in entries {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    let value = v.value.flatten(v.span, pointer, leaves);
                    pointer.truncate(len);
                    out.insert(k, value);
                }
                Value::Object(out)
            }
        }
    }
}

impl<'de> Deserialize<'de> for Mapping {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let tree = Loc::<Tree>::deserialize(d)?;
        let mut leaves = BTreeMap::new();
        let value = tree.value.flatten(tree.span, &mut String::new(), &mut leaves);
        Ok(Mapping { value, leaves, span: tree.span })
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Tree;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping: jq expressions in a tree shaped like the target document")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Tree::Map(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Tree::Seq(items))
            }
            fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
                Ok(Tree::Text(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
                Ok(Tree::Other(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
                Ok(Tree::Other(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
                Ok(Tree::Other(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Tree, E> {
                Ok(Tree::Other(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)))
            }
            fn visit_unit<E>(self) -> Result<Tree, E> {
                Ok(Tree::Other(Value::Null))
            }
            fn visit_none<E>(self) -> Result<Tree, E> {
                Ok(Tree::Other(Value::Null))
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for Mapping {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Mapping".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A tree shaped like the target document: text leaves are jq expressions, numbers, booleans and null are literals, `{each, map}` builds an array."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, schemars::JsonSchema)]
    struct Call {
        body: Mapping,
    }

    #[test]
    fn every_text_leaf_is_located() {
        let text = "body:\n  id: .id\n  item:\n    items:\n      each: .line_items[]\n      map:\n        qty: '.quantity'\n  flag: true\n";
        let call: Call = crate::yaml::parse(std::path::Path::new("f.yaml"), text).unwrap();
        assert_eq!(call.body.value["item"]["items"]["map"]["qty"], ".quantity");
        let at = |p: &str| {
            let s = call.body.leaf(p).unwrap();
            &text[s.offset..s.offset + s.len]
        };
        assert_eq!(at("/id"), ".id");
        assert_eq!(at("/item/items/each"), ".line_items[]");
        assert_eq!(at("/item/items/map/qty"), "'.quantity'");
        assert!(call.body.leaf("/flag").is_none());
    }
}
