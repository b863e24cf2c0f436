//! JSON Schemas of request bodies, compiled once.

mod compile;
mod format;
mod validate;

use serde_json::Value;

pub(crate) use compile::CompileError;

pub struct Schema {
    /// Project-relative path, for messages.
    pub file: String,
    pub json: Value,
    compiled: compile::Compiled,
}

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
}

impl Schema {
    /// `json` compiled; `file` names it in messages.
    pub(crate) fn compile(file: String, json: Value) -> Result<Schema, CompileError> {
        let compiled = compile::compile(&json)?;
        Ok(Schema { file, json, compiled })
    }

    pub fn violations(&self, instance: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        validate::check(&self.compiled.root, &self.compiled.refs, instance, &validate::Place::Root, Some(&mut out));
        out.sort_by(|a, b| (&a.instance_path, &a.message).cmp(&(&b.instance_path, &b.message)));
        out
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

    fn refused(json: Value) -> (String, bool, String) {
        let e = Schema::compile("test.schema.json".into(), json).expect_err("refused");
        (e.pointer.clone(), e.at_key, e.to_string())
    }

    #[test]
    fn types_single_listed_and_integer_versus_number() {
        let s = schema(json!({"properties": {"n": {"type": "integer"}, "x": {"type": "number"}, "o": {"type": ["string", "null"]}, "b": {"type": "boolean"}}}));
        assert!(check(&s, json!({"n": 3, "x": 3.5, "o": null, "b": true})).is_empty());
        assert!(check(&s, json!({"n": 3.0, "x": 3, "o": "s"})).is_empty(), "3.0 is an integer; an integer is a number");
        assert_eq!(
            check(&s, json!({"n": 3.5, "x": "3", "o": 1, "b": "yes"})),
            [r#"/b: "yes" is not of type "boolean""#, r#"/n: 3.5 is not of type "integer""#, r#"/o: 1 is not of types "null", "string""#, r#"/x: "3" is not of type "number""#]
        );
        assert_eq!(check(&schema(json!({"type": "object"})), json!([1])), [r#": [1] is not of type "object""#]);
        assert_eq!(check(&schema(json!({"type": ["array"]})), json!({})), [r#": {} is not of type "array""#]);
    }

    #[test]
    fn required_and_additional_properties() {
        let s = schema(json!({"type": "object", "required": ["entity", "item"], "additionalProperties": false, "properties": {"entity": {"type": "object"}, "item": {}}}));
        assert!(check(&s, json!({"entity": {}, "item": 1})).is_empty());
        assert_eq!(check(&s, json!({"memo": "x"})), [r#": "entity" is a required property"#, r#": "item" is a required property"#, ": Additional properties are not allowed ('memo' was unexpected)"]);
        assert_eq!(check(&s, json!({"entity": {}, "item": 1, "a": 1, "b": 2})), [": Additional properties are not allowed ('a', 'b' were unexpected)"]);
        let typed = schema(json!({"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}}));
        assert!(check(&typed, json!({"a": "x", "b": 2})).is_empty());
        assert_eq!(check(&typed, json!({"a": "x", "b": "y"})), [r#"/b: "y" is not of type "integer""#]);
        assert!(check(&schema(json!({"additionalProperties": true})), json!({"z": 1})).is_empty());
    }

    #[test]
    fn pattern_properties_count_as_known() {
        let s = schema(json!({"properties": {"memo": {"type": "string"}}, "patternProperties": {"^custbody[a-z0-9_]+$": {"type": "string"}}, "additionalProperties": false}));
        assert!(check(&s, json!({"memo": "m", "custbody_channel": "web"})).is_empty());
        assert_eq!(check(&s, json!({"custbody_x": 1, "custbodyX": "y"})), [r#": Additional properties are not allowed ('custbodyX' was unexpected)"#, r#"/custbody_x: 1 is not of type "string""#]);
        let both = schema(json!({"properties": {"code_a": {"type": "string"}}, "patternProperties": {"^code_": {"maxLength": 2}}}));
        assert_eq!(check(&both, json!({"code_a": "abc", "code_b": "abc"})), [r#"/code_a: "abc" is longer than 2 characters"#, r#"/code_b: "abc" is longer than 2 characters"#], "a named property is checked against the patterns it matches too");
    }

    #[test]
    fn items_and_counts() {
        let s = schema(json!({"type": "array", "minItems": 1, "items": {"type": "object", "minProperties": 1, "maxProperties": 2}}));
        assert!(check(&s, json!([{"a": 1}])).is_empty());
        assert_eq!(check(&s, json!([])), [": [] has less than 1 item"]);
        assert_eq!(check(&s, json!([{"a": 1}, {}, {"a": 1, "b": 2, "c": 3}, 4])), [
            "/1: {} has less than 1 property",
            r#"/2: {"a":1,"b":2,"c":3} has more than 2 properties"#,
            r#"/3: 4 is not of type "object""#,
        ]);
        assert_eq!(check(&schema(json!({"minItems": 2})), json!([1])), [": [1] has less than 2 items"]);
    }

    #[test]
    fn strings_lengths_patterns_and_formats() {
        let s = schema(json!({"properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 3},
            "currency": {"pattern": "^[A-Z]{3}$"},
            "day": {"format": "date"},
            "at": {"format": "date-time"},
            "mail": {"format": "email"},
        }}));
        assert!(check(&s, json!({"name": "Åse", "currency": "NOK", "day": "2025-04-30", "at": "2025-04-30T12:00:00Z", "mail": "a@example.com"})).is_empty(), "lengths count characters");
        assert!(check(&s, json!({"currency": 1, "day": 2})).is_empty(), "string keywords pass other values");
        assert_eq!(check(&s, json!({"name": "", "currency": "nok", "day": "2025-13-40", "at": "2025-04-30", "mail": "nobody"})), [
            r#"/at: "2025-04-30" is not a "date-time""#,
            r#"/currency: "nok" does not match "^[A-Z]{3}$""#,
            r#"/day: "2025-13-40" is not a "date""#,
            r#"/mail: "nobody" is not a "email""#,
            r#"/name: "" is shorter than 1 character"#,
        ]);
        assert_eq!(check(&s, json!({"name": "abcd"})), [r#"/name: "abcd" is longer than 3 characters"#]);
    }

    #[test]
    fn minimum_enum_and_const() {
        let s = schema(json!({"properties": {"q": {"minimum": 1}, "f": {"minimum": 0.5}, "s": {"enum": ["A", "B", "C"]}, "m": {"enum": [1, 2, 3, 4]}, "t": {"const": "event"}}}));
        assert!(check(&s, json!({"q": 1, "f": 0.5, "s": "B", "m": 4.0, "t": "event"})).is_empty());
        assert_eq!(check(&s, json!({"q": 0, "f": 0, "s": "D", "m": 5, "t": "metric"})), [
            "/f: 0 is less than the minimum of 0.5",
            "/m: 5 is not one of 1, 2 or 2 other candidates",
            "/q: 0 is less than the minimum of 1",
            r#"/s: "D" is not one of "A", "B" or "C""#,
            r#"/t: "event" was expected"#,
        ]);
    }

    #[test]
    fn any_of_all_of_and_references() {
        let s = schema(json!({
            "properties": {"status": {"anyOf": [{"$ref": "#/$defs/ref"}, {"type": "string", "enum": ["A"]}]}, "country": {"$ref": "#/definitions/country"}},
            "$defs": {"ref": {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": false, "minProperties": 1}},
            "definitions": {"country": {"allOf": [{"$ref": "#/$defs/ref"}, {"properties": {"id": {"pattern": "^[A-Z]{2}$"}}}]}},
        }));
        assert!(check(&s, json!({"status": "A", "country": {"id": "GB"}})).is_empty());
        assert!(check(&s, json!({"status": {"id": "1"}})).is_empty());
        assert_eq!(check(&s, json!({"status": "B", "country": {"id": "gb", "x": 1}})), [
            r#"/country: Additional properties are not allowed ('x' was unexpected)"#,
            r#"/country/id: "gb" does not match "^[A-Z]{2}$""#,
            r#"/status: "B" is not valid under any of the schemas listed in the 'anyOf' keyword"#,
        ]);
    }

    #[test]
    fn recursive_references_descend() {
        let s = schema(json!({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "properties": {"children": {"items": {"$ref": "#/$defs/node"}}}}}}));
        assert_eq!(check(&s, json!({"children": [{"children": [1]}]})), [r#"/children/0/children/0: 1 is not of type "object""#]);
        assert!(check(&schema(json!({"properties": {"self": {"$ref": "#"}}, "type": "object"})), json!({"self": {"self": {}}})).is_empty());
    }

    #[test]
    fn boolean_schemas_and_escaped_paths() {
        let s = schema(json!({"properties": {"never": false, "any": true, "a/b~c": {"type": "string"}}}));
        assert_eq!(check(&s, json!({"never": 1, "any": 1, "a/b~c": 2})), [r#"/a~1b~0c: 2 is not of type "string""#, "/never: False schema does not allow 1"]);
    }

    #[test]
    fn legacy_drafts_let_ref_replace_its_siblings() {
        let doc = |draft: &str| json!({"$schema": draft, "$ref": "#/definitions/s", "type": "integer", "definitions": {"s": {"type": "string"}}});
        assert!(check(&schema(doc("http://json-schema.org/draft-07/schema#")), json!("x")).is_empty());
        assert_eq!(check(&schema(doc("https://json-schema.org/draft/2020-12/schema")), json!("x")), [r#": "x" is not of type "integer""#]);
    }

    #[test]
    fn unsupported_keywords_are_refused_where_they_stand() {
        assert_eq!(refused(json!({"properties": {"a": {"oneOf": [true]}}})), ("/properties/a/oneOf".into(), true, "unsupported JSON Schema keyword `oneOf`".into()));
        assert_eq!(refused(json!({"$defs": {"x": {"maximum": 3}}})), ("/$defs/x/maximum".into(), true, "unsupported JSON Schema keyword `maximum`".into()));
        assert_eq!(refused(json!({"properties": {"a": {"$id": "a"}}})).2, "unsupported JSON Schema keyword `$id`");
        let annotated = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x", "title": "t", "description": "d", "examples": [1], "default": 1, "readOnly": true, "$comment": "c"});
        assert!(check(&schema(annotated), json!(1)).is_empty());
    }

    #[test]
    fn invalid_keyword_values_are_refused() {
        assert_eq!(refused(json!({"properties": {"memo": {"type": "strng"}}})), ("/properties/memo/type".into(), false, r#""strng" is not valid under any of the schemas listed in the 'anyOf' keyword"#.into()));
        assert_eq!(refused(json!({"type": ["string", "string"]})).2, r#"["string","string"] is not valid under any of the schemas listed in the 'anyOf' keyword"#);
        assert_eq!(refused(json!({"format": "uri"})), ("/format".into(), false, "unsupported JSON Schema format `uri`".into()));
        assert_eq!(refused(json!({"pattern": "("})).2, r#""(" is not a "regex""#);
        assert_eq!(refused(json!({"patternProperties": {"(": {}}})), ("/patternProperties/(".into(), true, r#""(" is not a "regex""#.into()));
        assert_eq!(refused(json!({"minLength": -1})).2, "-1 is less than the minimum of 0");
        assert_eq!(refused(json!({"minItems": "1"})).2, r#""1" is not of type "integer""#);
        assert_eq!(refused(json!({"required": ["a", 1]})), ("/required/1".into(), false, r#"1 is not of type "string""#.into()));
        assert_eq!(refused(json!({"anyOf": []})).2, "[] has less than 1 item");
        assert_eq!(refused(json!({"items": [{}]})).2, r#"[{}] is not of types "boolean", "object""#);
        assert_eq!(refused(json!({"$schema": "http://json-schema.org/draft-04/schema#"})).0, "/$schema");
        assert!(Schema::compile("x".into(), json!({"minLength": 2.0})).is_ok(), "2.0 is an integer");
    }

    #[test]
    fn references_stay_in_the_file_and_lead_somewhere() {
        assert_eq!(refused(json!({"$ref": "other.json#/a"})).2, "unsupported `$ref` `other.json#/a`: only references within the file (`#/$defs/…`) are");
        assert_eq!(refused(json!({"properties": {"a": {"$ref": "#/$defs/nope"}}})), ("/properties/a/$ref".into(), false, "`$ref` `#/$defs/nope` names nothing in this file".into()));
        assert_eq!(refused(json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}}})).2, "`#/$defs/a` refers to itself through `$ref` without descending into the instance");
        assert!(Schema::compile("x".into(), json!({"$defs": {"a b": {"type": "string"}}, "$ref": "#/$defs/a%20b"})).is_ok(), "fragments are percent-decoded");
    }
}
