//! JSON Schemas of request bodies, compiled once: the whole of JSON Schema (drafts 4, 6, 7,
//! 2019-09 and 2020-12, as the document's `$schema` says; 2020-12 when it says nothing) through
//! the `jsonschema` crate. Formats are asserted (a target refuses `2025-13-40` whatever the draft
//! says formats are); keywords the drafts do not define are annotations, as the drafts say, so a
//! project's schema extension may carry its own. References stay within the document: nothing is
//! fetched from a file or the network.
//!
//! A schema whose root says `"x-property-names": "case-insensitive"` matches member names in any
//! case, as NetSuite matches field ids (`otherrefnum` is `otherRefNum`); violations still name the
//! members as the body spells them.

use serde_json::Value;

pub struct Schema {
    /// Project-relative path, for messages.
    pub file: String,
    pub json: Value,
    validator: jsonschema::Validator,
    /// Member names are matched in any case: the validator sees schema and body in lower case.
    fold_case: bool,
}

/// The root annotation that makes member names match in any case.
const PROPERTY_NAMES: &str = "x-property-names";

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Schema({})", self.file)
    }
}

/// One schema violation: where in the instance, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub instance_path: String,
    pub message: String,
    /// The members the object at `instance_path` may not have, as the instance spells them
    /// (an `additionalProperties: false` refusing them); empty for any other violation.
    pub unexpected: Vec<String>,
}

/// Why a schema does not compile, and where in it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct CompileError {
    /// JSON pointer into the schema document.
    pub(crate) pointer: String,
    /// The member's name is the problem (a reference that leads nowhere is shown at its `$ref`).
    pub(crate) at_key: bool,
    message: String,
}

impl Schema {
    /// `json` compiled; `file` names it in messages.
    pub(crate) fn compile(file: String, json: Value) -> Result<Schema, CompileError> {
        let options = jsonschema::options().should_validate_formats(true);
        let fold_case = json.get(PROPERTY_NAMES).and_then(Value::as_str) == Some("case-insensitive");
        let built = if fold_case { options.build(&fold::schema(json.clone())) } else { options.build(&json) };
        let validator = built.map_err(|e| compile_error(&json, &e))?;
        Ok(Schema { file, json, validator, fold_case })
    }

    /// Every violation, sorted by where and what, so reports are the same run after run.
    pub fn violations(&self, instance: &Value) -> Vec<Violation> {
        let folded;
        let checked = if self.fold_case {
            folded = fold::instance(instance);
            &folded
        } else {
            instance
        };
        if self.validator.is_valid(checked) {
            return Vec::new();
        }
        let path = |e: &jsonschema::ValidationError<'_>| {
            let at = e.instance_path().as_str();
            if self.fold_case { fold::as_written(instance, at) } else { at.to_string() }
        };
        let message = |e: &jsonschema::ValidationError<'_>| match e.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } if self.fold_case => {
                fold::unexpected(instance, e.instance_path().as_str(), unexpected)
            }
            _ => e.to_string(),
        };
        let unexpected = |e: &jsonschema::ValidationError<'_>| match e.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } if self.fold_case => {
                fold::names_as_written(instance, e.instance_path().as_str(), unexpected)
            }
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => unexpected.clone(),
            _ => Vec::new(),
        };
        let mut out: Vec<Violation> = self
            .validator
            .iter_errors(checked)
            .map(|e| Violation { instance_path: path(&e), message: message(&e), unexpected: unexpected(&e) })
            .collect();
        out.sort_by(|a, b| (&a.instance_path, &a.message).cmp(&(&b.instance_path, &b.message)));
        out.dedup();
        out
    }
}

/// Schema and body with member names in lower case, and the way back to the body's spelling.
mod fold {
    use serde_json::{Map, Value};

    /// Every property name (`properties`, `required`) of `schema` and its subschemas in lower case.
    pub(super) fn schema(mut schema: Value) -> Value {
        subschema(&mut schema);
        schema
    }

    fn subschema(v: &mut Value) {
        let Value::Object(map) = v else { return };
        for (keyword, value) in map.iter_mut() {
            match keyword.as_str() {
                "properties" => {
                    if let Value::Object(named) = value {
                        *named = std::mem::take(named)
                            .into_iter()
                            .map(|(k, mut s)| {
                                (k.to_lowercase(), {
                                    subschema(&mut s);
                                    s
                                })
                            })
                            .collect::<Map<_, _>>();
                    }
                }
                "required" => value.as_array_mut().into_iter().flatten().for_each(|n| {
                    if let Value::String(name) = n {
                        *name = name.to_lowercase();
                    }
                }),
                "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                    value.as_object_mut().into_iter().flat_map(|m| m.values_mut()).for_each(subschema)
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    value.as_array_mut().into_iter().flatten().for_each(subschema)
                }
                "items" if value.is_array() => value.as_array_mut().into_iter().flatten().for_each(subschema),
                "items"
                | "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "additionalItems" => subschema(value),
                _ => {}
            }
        }
    }

    /// `v` with every member name in lower case.
    pub(super) fn instance(v: &Value) -> Value {
        match v {
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.to_lowercase(), instance(v))).collect()),
            Value::Array(items) => Value::Array(items.iter().map(instance).collect()),
            other => other.clone(),
        }
    }

    /// The message of `additionalProperties` with the names as the body spells them.
    pub(super) fn unexpected(original: &Value, folded: &str, names: &[String]) -> String {
        let written: Vec<String> = names_as_written(original, folded, names).iter().map(|n| format!("'{n}'")).collect();
        format!(
            "Additional properties are not allowed ({} {} unexpected)",
            written.join(", "),
            if written.len() == 1 { "was" } else { "were" }
        )
    }

    /// `names` (lower case) of the object at `folded` as `original` spells them.
    pub(super) fn names_as_written(original: &Value, folded: &str, names: &[String]) -> Vec<String> {
        let object = original.pointer(&as_written(original, folded)).and_then(Value::as_object);
        names
            .iter()
            .map(|n| object.and_then(|o| o.keys().find(|k| k.to_lowercase() == *n)).unwrap_or(n).clone())
            .collect()
    }

    /// The JSON pointer `folded` (into the lower-cased body) spelt as `original` spells its members.
    pub(super) fn as_written(original: &Value, folded: &str) -> String {
        let mut out = String::new();
        let mut here = Some(original);
        for segment in folded.split('/').skip(1) {
            let name = segment.replace("~1", "/").replace("~0", "~");
            let (written, next) = match here {
                Some(Value::Object(map)) => match map.iter().find(|(k, _)| k.to_lowercase() == name) {
                    Some((k, v)) => (k.replace('~', "~0").replace('/', "~1"), Some(v)),
                    None => (segment.to_string(), None),
                },
                Some(Value::Array(items)) => {
                    (segment.to_string(), segment.parse::<usize>().ok().and_then(|i| items.get(i)))
                }
                _ => (segment.to_string(), None),
            };
            out.push('/');
            out.push_str(&written);
            here = next;
        }
        out
    }
}

/// A schema the meta-schema refuses is located at the refused value; a reference that leads
/// nowhere at the first `$ref` that names it.
fn compile_error(doc: &Value, e: &jsonschema::ValidationError<'_>) -> CompileError {
    if let jsonschema::error::ValidationErrorKind::Referencing(r) = e.kind() {
        let message = r.to_string();
        let pointer = find_ref(doc, "", &|uri| message.contains(uri.trim_start_matches('#'))).unwrap_or_default();
        return CompileError {
            pointer,
            at_key: false,
            message: format!("unresolvable `$ref`: {message} (references stay within the file)"),
        };
    }
    CompileError { pointer: e.instance_path().as_str().to_string(), at_key: false, message: e.to_string() }
}

/// The pointer to the first `$ref` value (depth first, in document order) that `names` accepts.
fn find_ref(v: &Value, at: &str, names: &dyn Fn(&str) -> bool) -> Option<String> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, sub)| {
            let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
            match (k.as_str(), sub) {
                ("$ref", Value::String(uri)) if names(uri) => Some(here),
                _ => find_ref(sub, &here, names),
            }
        }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, sub)| find_ref(sub, &format!("{at}/{i}"), names)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(json: Value) -> Schema {
        Schema::compile("test.schema.json".into(), json).expect("compiles")
    }

    /// Each violation as `path: message`.
    fn check(schema: &Schema, instance: Value) -> Vec<String> {
        schema.violations(&instance).into_iter().map(|v| format!("{}: {}", v.instance_path, v.message)).collect()
    }

    fn refused(json: Value) -> (String, String) {
        let e = Schema::compile("test.schema.json".into(), json).expect_err("refused");
        (e.pointer.clone(), e.to_string())
    }

    #[test]
    fn types_required_and_additional_properties() {
        let s = schema(json!({"type": "object", "required": ["entity"], "additionalProperties": false,
                              "properties": {"entity": {"type": "object"}, "n": {"type": "integer"}, "o": {"type": ["string", "null"]}}}));
        assert!(check(&s, json!({"entity": {}, "n": 3.0, "o": null})).is_empty(), "3.0 is an integer");
        assert_eq!(
            check(&s, json!({"n": 3.5, "o": 1, "memo": "x"})),
            [
                r#": "entity" is a required property"#,
                ": Additional properties are not allowed ('memo' was unexpected)",
                r#"/n: 3.5 is not of type "integer""#,
                r#"/o: 1 is not of types "null", "string""#,
            ]
        );
    }

    /// The keywords a hand-written subset once refused, as a project's own extension uses them.
    #[test]
    fn every_keyword_of_the_draft_checks() {
        let s = schema(json!({"properties": {
            "kind": {"oneOf": [{"const": "a"}, {"const": "b"}]},
            "memo": {"not": {"pattern": "^TEST"}},
            "quantity": {"maximum": 100, "exclusiveMinimum": 0, "multipleOf": 1},
            "tags": {"uniqueItems": true, "maxItems": 2},
            "shipMethod": {"type": "object"},
        },
        "if": {"properties": {"shipMethod": {"const": {"id": "4"}}}, "required": ["shipMethod"]},
        "then": {"required": ["shipDate"]}}));
        assert!(
            check(
                &s,
                json!({"kind": "a", "memo": "gift", "quantity": 3, "tags": ["x", "y"], "shipMethod": {"id": "5"}})
            )
            .is_empty()
        );
        assert_eq!(
            check(
                &s,
                json!({"kind": "c", "memo": "TEST order", "quantity": 101, "tags": ["x", "x", "y"], "shipMethod": {"id": "4"}})
            ),
            [
                r#": "shipDate" is a required property"#,
                r#"/kind: "c" is not valid under any of the schemas listed in the 'oneOf' keyword"#,
                r#"/memo: {"pattern":"^TEST"} is not allowed for "TEST order""#,
                "/quantity: 101 is greater than the maximum of 100",
                r#"/tags: ["x","x","y"] has more than 2 items"#,
                r#"/tags: ["x","x","y"] has non-unique elements"#,
            ]
        );
    }

    #[test]
    fn formats_are_asserted_and_unknown_ones_pass() {
        let s = schema(
            json!({"properties": {"day": {"format": "date"}, "at": {"format": "date-time"}, "mail": {"format": "email"}, "x": {"format": "netsuite-internal-id"}}}),
        );
        assert!(
            check(
                &s,
                json!({"day": "2025-04-30", "at": "2025-04-30T12:00:00Z", "mail": "a@example.com", "x": "anything"})
            )
            .is_empty()
        );
        assert_eq!(
            check(&s, json!({"day": "2025-13-40", "at": "2025-04-30", "mail": "nobody"})),
            [
                r#"/at: "2025-04-30" is not a "date-time""#,
                r#"/day: "2025-13-40" is not a "date""#,
                r#"/mail: "nobody" is not a "email""#,
            ]
        );
    }

    #[test]
    fn drafts_follow_the_schema_keyword() {
        let doc = |draft: &str| json!({"$schema": draft, "$ref": "#/definitions/s", "type": "integer", "definitions": {"s": {"type": "string"}}});
        assert!(
            check(&schema(doc("http://json-schema.org/draft-07/schema#")), json!("x")).is_empty(),
            "draft 7: $ref replaces its siblings"
        );
        assert_eq!(
            check(&schema(doc("https://json-schema.org/draft/2020-12/schema")), json!("x")),
            [r#": "x" is not of type "integer""#]
        );
        let recursive = schema(
            json!({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "properties": {"children": {"items": {"$ref": "#/$defs/node"}}}}}}),
        );
        assert_eq!(
            check(&recursive, json!({"children": [{"children": [1]}]})),
            [r#"/children/0/children/0: 1 is not of type "object""#]
        );
    }

    #[test]
    fn keywords_no_draft_defines_are_annotations() {
        let s = schema(
            json!({"x-netsuite-label": "Channel", "properties": {"custbody_channel": {"type": "string", "x-field-help": "Where the order came from"}}}),
        );
        assert_eq!(check(&s, json!({"custbody_channel": 1})), [r#"/custbody_channel: 1 is not of type "string""#]);
    }

    #[test]
    fn names_match_in_any_case_when_the_schema_says_so() {
        let doc = json!({"x-property-names": "case-insensitive", "required": ["entity"], "additionalProperties": false,
                         "properties": {"entity": {"type": "object"}, "otherRefNum": {"type": "string"}, "shipDate": {"format": "date"}}});
        let s = schema(doc.clone());
        assert!(check(&s, json!({"Entity": {}, "otherrefnum": "PO-1", "SHIPDATE": "2025-04-30"})).is_empty());
        assert_eq!(
            check(&s, json!({"entity": {}, "ShipDate": "30/04/2025", "Memo": "x"})),
            [
                ": Additional properties are not allowed ('Memo' was unexpected)",
                r#"/ShipDate: "30/04/2025" is not a "date""#,
            ]
        );
        assert_eq!(s.json, doc, "the document is kept as written");
        let exact = schema(json!({"additionalProperties": false, "properties": {"otherRefNum": {}}}));
        assert_eq!(
            check(&exact, json!({"otherrefnum": "x"})),
            [": Additional properties are not allowed ('otherrefnum' was unexpected)"]
        );
    }

    #[test]
    fn invalid_schemas_are_refused_where_they_are_wrong() {
        assert_eq!(refused(json!({"properties": {"memo": {"type": "strng"}}})).0, "/properties/memo/type");
        assert_eq!(refused(json!({"minItems": "1"})), ("/minItems".into(), r#""1" is not of type "integer""#.into()));
        let (at, message) = refused(json!({"properties": {"a": {"$ref": "#/$defs/nope"}}}));
        assert_eq!(at, "/properties/a/$ref");
        assert!(message.starts_with("unresolvable `$ref`") && message.contains("/$defs/nope"), "{message}");
        let (at, message) = refused(json!({"allOf": [{"$ref": "other.json#/a"}]}));
        assert_eq!(at, "/allOf/0/$ref", "{message}");
    }
}
