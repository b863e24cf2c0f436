//! A schema document turned into checks, once: the subset of JSON Schema (draft 2020-12, and
//! drafts 06 and 07 where they differ in `$ref`) that request schemas use. Any other keyword is
//! refused rather than ignored, so a schema never checks less than it says.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;
use serde_json::{Map, Number, Value};

use super::format::Format;

/// Why a schema does not compile, and where in it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct CompileError {
    /// JSON pointer into the schema document.
    pub(crate) pointer: String,
    /// The member's name is the problem (an unsupported keyword), not its value.
    pub(crate) at_key: bool,
    message: String,
}

impl CompileError {
    fn value(pointer: &str, message: String) -> CompileError {
        CompileError { pointer: pointer.to_string(), at_key: false, message }
    }

    fn key(pointer: &str, message: String) -> CompileError {
        CompileError { pointer: pointer.to_string(), at_key: true, message }
    }
}

/// A compiled schema: its checks, and those of every schema `$ref` points at.
#[derive(Debug)]
pub(super) struct Compiled {
    pub(super) root: Node,
    /// By the index in `Check::Ref`.
    pub(super) refs: Vec<Node>,
}

/// A (sub)schema: every check must pass. `true` has none; `false` is `[Check::False]`.
#[derive(Debug, Default)]
pub(super) struct Node(pub(super) Vec<Check>);

#[derive(Debug)]
pub(super) enum Check {
    False,
    Type(Types),
    Properties(Box<Properties>),
    Required(Vec<String>),
    MinProperties(u64),
    MaxProperties(u64),
    Items(Box<Node>),
    MinItems(u64),
    MinLength(u64),
    MaxLength(u64),
    Pattern(Regex),
    Format(Format),
    Minimum(Number),
    /// The options, as written (an array).
    Enum(Value),
    Const(Value),
    AnyOf(Vec<Node>),
    AllOf(Vec<Node>),
    Ref(usize),
}

/// `properties`, `patternProperties` and `additionalProperties` together: what is additional
/// depends on the other two.
#[derive(Debug, Default)]
pub(super) struct Properties {
    pub(super) named: BTreeMap<String, Named>,
    pub(super) patterns: Vec<(Regex, Node)>,
    pub(super) additional: Additional,
}

/// A property `properties` names, and the `patternProperties` its name matches, found once here
/// rather than on every request.
#[derive(Debug)]
pub(super) struct Named {
    pub(super) node: Node,
    pub(super) patterns: Vec<usize>,
}

#[derive(Debug, Default)]
pub(super) enum Additional {
    #[default]
    Allowed,
    Forbidden,
    Checked(Node),
}

/// A set of JSON types, in the order messages list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Types(u8);

const TYPE_NAMES: [&str; 7] = ["null", "boolean", "integer", "number", "string", "array", "object"];

impl Types {
    fn named(name: &str) -> Option<Types> {
        TYPE_NAMES.iter().position(|n| *n == name).map(|i| Types(1 << i))
    }

    pub(super) fn admits(self, instance: &Value) -> bool {
        let bit = match instance {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(n) if self.0 & (1 << 3) == 0 && is_integer(n) => 2,
            Value::Number(_) => 3,
            Value::String(_) => 4,
            Value::Array(_) => 5,
            Value::Object(_) => 6,
        };
        self.0 & (1 << bit) != 0
    }

    pub(super) fn names(self) -> impl Iterator<Item = &'static str> {
        TYPE_NAMES.into_iter().enumerate().filter(move |(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| n)
    }

    pub(super) fn is_single(self) -> bool {
        self.0.count_ones() == 1
    }
}

/// Drafts 06 onwards: `1.0` is an integer.
pub(super) fn is_integer(n: &Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// Keywords that describe and never constrain.
const ANNOTATIONS: &[&str] = &["$schema", "$comment", "title", "description", "examples", "default", "readOnly", "writeOnly", "deprecated"];

pub(super) fn compile(doc: &Value) -> Result<Compiled, CompileError> {
    let legacy_ref = match doc.get("$schema") {
        None => false,
        Some(Value::String(uri)) => match uri.trim_end_matches('#').trim_start_matches("https://").trim_start_matches("http://") {
            "json-schema.org/draft/2020-12/schema" | "json-schema.org/draft/2019-09/schema" => false,
            "json-schema.org/draft-07/schema" | "json-schema.org/draft-06/schema" => true,
            _ => return Err(CompileError::value("/$schema", format!("unsupported JSON Schema draft `{uri}` (2020-12, 2019-09, draft-07 and draft-06 are)"))),
        },
        Some(other) => return Err(CompileError::value("/$schema", format!("{other} is not of type \"string\""))),
    };
    let mut c = Compiler { doc, legacy_ref, refs: Vec::new(), targets: Vec::new(), by_pointer: HashMap::new() };
    let root = c.node(doc, "")?;
    let refs: Vec<Node> = c.refs.into_iter().map(|n| n.expect("every reference target compiled")).collect();
    no_loops(&refs, &c.targets)?;
    Ok(Compiled { root, refs })
}

struct Compiler<'d> {
    doc: &'d Value,
    /// Drafts 06 and 07: a `$ref` replaces its siblings.
    legacy_ref: bool,
    /// None while the target is being compiled (it may refer to itself).
    refs: Vec<Option<Node>>,
    /// Each reference target's pointer, by index.
    targets: Vec<String>,
    by_pointer: HashMap<String, usize>,
}

fn join(at: &str, name: &str) -> String {
    format!("{at}/{}", name.replace('~', "~0").replace('/', "~1"))
}

impl Compiler<'_> {
    fn node(&mut self, schema: &Value, at: &str) -> Result<Node, CompileError> {
        let map = match schema {
            Value::Bool(true) => return Ok(Node::default()),
            Value::Bool(false) => return Ok(Node(vec![Check::False])),
            Value::Object(map) => map,
            other => return Err(CompileError::value(at, format!("{other} is not of types \"boolean\", \"object\""))),
        };
        if self.legacy_ref
            && let Some(target) = map.get("$ref")
        {
            return Ok(Node(vec![self.reference(target, &join(at, "$ref"))?]));
        }
        let mut checks = Vec::new();
        let mut properties = Properties::default();
        let mut has_properties = false;
        for (key, value) in map {
            let here = join(at, key);
            let check = match key.as_str() {
                "type" => Check::Type(types(value, &here)?),
                "properties" => {
                    for (name, sub) in object(value, &here)? {
                        properties.named.insert(name.clone(), Named { node: self.node(sub, &join(&here, name))?, patterns: Vec::new() });
                    }
                    has_properties = true;
                    continue;
                }
                "patternProperties" => {
                    for (pattern, sub) in object(value, &here)? {
                        let there = join(&here, pattern);
                        let re = Regex::new(pattern).map_err(|_| CompileError::key(&there, format!("{} is not a \"regex\"", Value::from(pattern.as_str()))))?;
                        properties.patterns.push((re, self.node(sub, &there)?));
                    }
                    has_properties = true;
                    continue;
                }
                "additionalProperties" => {
                    properties.additional = match value {
                        Value::Bool(true) => Additional::Allowed,
                        Value::Bool(false) => Additional::Forbidden,
                        sub => Additional::Checked(self.node(sub, &here)?),
                    };
                    has_properties = true;
                    continue;
                }
                "required" => Check::Required(strings(value, &here)?),
                "minProperties" => Check::MinProperties(count(value, &here)?),
                "maxProperties" => Check::MaxProperties(count(value, &here)?),
                "items" => Check::Items(Box::new(self.node(value, &here)?)),
                "minItems" => Check::MinItems(count(value, &here)?),
                "minLength" => Check::MinLength(count(value, &here)?),
                "maxLength" => Check::MaxLength(count(value, &here)?),
                "pattern" => {
                    let pattern = value.as_str().ok_or_else(|| not_of_type(value, "string", &here))?;
                    Check::Pattern(Regex::new(pattern).map_err(|_| CompileError::value(&here, format!("{value} is not a \"regex\"")))?)
                }
                "format" => {
                    let name = value.as_str().ok_or_else(|| not_of_type(value, "string", &here))?;
                    Check::Format(Format::named(name).ok_or_else(|| CompileError::value(&here, format!("unsupported JSON Schema format `{name}`")))?)
                }
                "minimum" => match value {
                    Value::Number(n) => Check::Minimum(n.clone()),
                    other => return Err(not_of_type(other, "number", &here)),
                },
                "enum" => match value {
                    Value::Array(_) => Check::Enum(value.clone()),
                    other => return Err(not_of_type(other, "array", &here)),
                },
                "const" => Check::Const(value.clone()),
                "anyOf" => Check::AnyOf(self.nodes(value, &here)?),
                "allOf" => Check::AllOf(self.nodes(value, &here)?),
                "$ref" => self.reference(value, &here)?,
                "$defs" | "definitions" => {
                    // Compiled whether used or not: a mistake in an unused definition still shows.
                    for name in object(value, &here)?.keys() {
                        self.target(&join(&here, name), &here)?;
                    }
                    continue;
                }
                // An identifier moves the base `$ref`s resolve against, except at the top.
                "$id" if at.is_empty() => continue,
                annotation if ANNOTATIONS.contains(&annotation) => continue,
                unsupported => return Err(CompileError::key(&here, format!("unsupported JSON Schema keyword `{unsupported}`"))),
            };
            checks.push(check);
        }
        if has_properties {
            for (name, named) in &mut properties.named {
                named.patterns = properties.patterns.iter().enumerate().filter(|(_, (re, _))| re.is_match(name)).map(|(i, _)| i).collect();
            }
            checks.push(Check::Properties(Box::new(properties)));
        }
        Ok(Node(checks))
    }

    fn nodes(&mut self, value: &Value, at: &str) -> Result<Vec<Node>, CompileError> {
        let items = value.as_array().ok_or_else(|| not_of_type(value, "array", at))?;
        if items.is_empty() {
            return Err(CompileError::value(at, "[] has less than 1 item".to_string()));
        }
        items.iter().enumerate().map(|(i, sub)| self.node(sub, &format!("{at}/{i}"))).collect()
    }

    /// `"$ref": "#/$defs/name"`: only pointers into the same document.
    fn reference(&mut self, value: &Value, at: &str) -> Result<Check, CompileError> {
        let uri = value.as_str().ok_or_else(|| not_of_type(value, "string", at))?;
        let fragment = uri.strip_prefix('#').filter(|f| f.is_empty() || f.starts_with('/'));
        let Some(fragment) = fragment else {
            return Err(CompileError::value(at, format!("unsupported `$ref` `{uri}`: only references within the file (`#/$defs/…`) are")));
        };
        let pointer = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy();
        self.target(&pointer, at).map(Check::Ref)
    }

    /// The index of the schema at `pointer`, compiled the first time it is named.
    fn target(&mut self, pointer: &str, at: &str) -> Result<usize, CompileError> {
        if let Some(&i) = self.by_pointer.get(pointer) {
            return Ok(i);
        }
        let Some(schema) = self.doc.pointer(pointer) else {
            return Err(CompileError::value(at, format!("`$ref` `#{pointer}` names nothing in this file")));
        };
        let i = self.refs.len();
        self.refs.push(None);
        self.targets.push(pointer.to_string());
        self.by_pointer.insert(pointer.to_string(), i);
        self.refs[i] = Some(self.node(schema, pointer)?);
        Ok(i)
    }
}

/// A `$ref` that comes back to itself without moving into the instance would never finish.
fn no_loops(refs: &[Node], targets: &[String]) -> Result<(), CompileError> {
    fn same_place(node: &Node, out: &mut Vec<usize>) {
        for check in &node.0 {
            match check {
                Check::Ref(i) => out.push(*i),
                Check::AnyOf(nodes) | Check::AllOf(nodes) => nodes.iter().for_each(|n| same_place(n, out)),
                _ => {}
            }
        }
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        No,
        Visiting,
        Done,
    }
    fn visit(i: usize, refs: &[Node], seen: &mut [Seen]) -> Option<usize> {
        match seen[i] {
            Seen::Done => return None,
            Seen::Visiting => return Some(i),
            Seen::No => {}
        }
        seen[i] = Seen::Visiting;
        let mut next = Vec::new();
        same_place(&refs[i], &mut next);
        for j in next {
            if let Some(looped) = visit(j, refs, seen) {
                return Some(looped);
            }
        }
        seen[i] = Seen::Done;
        None
    }
    let mut seen = vec![Seen::No; refs.len()];
    for i in 0..refs.len() {
        if let Some(looped) = visit(i, refs, &mut seen) {
            let pointer = &targets[looped];
            return Err(CompileError::value(pointer, format!("`#{pointer}` refers to itself through `$ref` without descending into the instance")));
        }
    }
    Ok(())
}

fn not_of_type(value: &Value, name: &str, at: &str) -> CompileError {
    CompileError::value(at, format!("{value} is not of type \"{name}\""))
}

fn object<'v>(value: &'v Value, at: &str) -> Result<&'v Map<String, Value>, CompileError> {
    value.as_object().ok_or_else(|| not_of_type(value, "object", at))
}

fn types(value: &Value, at: &str) -> Result<Types, CompileError> {
    let one = |v: &Value| v.as_str().and_then(Types::named);
    let types = match value {
        Value::Array(items) if !items.is_empty() => items.iter().try_fold(Types(0), |set, v| one(v).filter(|t| set.0 & t.0 == 0).map(|t| Types(set.0 | t.0))),
        single => one(single),
    };
    // Worded as the draft's meta-schema words it: `type` is a type name or a list of them.
    types.ok_or_else(|| CompileError::value(at, format!("{value} is not valid under any of the schemas listed in the 'anyOf' keyword")))
}

fn strings(value: &Value, at: &str) -> Result<Vec<String>, CompileError> {
    let items = value.as_array().ok_or_else(|| not_of_type(value, "array", at))?;
    let names = items.iter().enumerate().map(|(i, v)| v.as_str().map(str::to_string).ok_or_else(|| not_of_type(v, "string", &format!("{at}/{i}"))));
    names.collect()
}

/// A non-negative integer (`minLength`, `maxProperties`…).
fn count(value: &Value, at: &str) -> Result<u64, CompileError> {
    match value {
        Value::Number(n) if is_integer(n) => match n.as_u64() {
            Some(count) => Ok(count),
            // `2.0` counts; `-1` does not.
            None => n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64).ok_or_else(|| CompileError::value(at, format!("{value} is less than the minimum of 0"))),
        },
        other => Err(not_of_type(other, "integer", at)),
    }
}
