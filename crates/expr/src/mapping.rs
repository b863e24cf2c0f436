//! Body mappings of built-in flows: a YAML tree shaped like the target document whose leaves are jq
//! expressions, one per target field.
//!
//! ```yaml
//! body:
//!   externalId: '"SHOPIFY-" + (.id | tostring)'
//!   entity: '{id: $customer_id}'
//!   quantity: 2                      # numbers, booleans and null are literals
//!   item:
//!     items:
//!       each: .line_items[]          # one element per value of `each`...
//!       map:                         # ...built from this template, with `.` = the element
//!         item: '{id: (.sku | xref("item"))}'
//!         quantity: .quantity
//! ```
//!
//! A field whose expression yields nothing (`empty`) is left out. Every leaf knows which source
//! paths feed it, for lineage, for missing-field detection and for explaining snapshot changes.

use serde_json::{Map, Value};

use crate::evaluating::Origin;
use crate::{CompileError, Doc, Expr, ReadPath, Scope, Seg, VarNames, path_text};

#[derive(Debug, Clone)]
pub enum Template {
    Expr(Expr),
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Each { each: Expr, item: Box<Template> },
}

/// A compile error in a mapping: where the expression is in the mapping as written (a JSON
/// pointer, to locate it in the file), the target field, and what is wrong.
#[derive(Debug, Clone)]
pub struct TemplateError {
    pub pointer: String,
    pub field: String,
    pub error: CompileError,
}

/// What one target field is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLineage {
    /// `item.items[].item`
    pub target: String,
    /// The expression that computes it.
    pub expression: String,
    /// Source paths, rooted at the record (or at a variable).
    pub reads: Vec<ReadPath>,
}

/// A mapping failure at one field: `item.items[1].item: cross-reference ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    pub field: String,
    pub message: String,
}

impl Template {
    pub fn compile(spec: &Value, names: &VarNames) -> Result<Template, Vec<TemplateError>> {
        Template::compile_located(spec, names, &|_, _| None)
    }

    /// [`compile`](Self::compile), each expression given its origin by `origin(pointer, field)`
    /// (the JSON pointer of its place in `spec`, the target field it fills).
    pub fn compile_located(
        spec: &Value,
        names: &VarNames,
        origin: &dyn Fn(&str, &str) -> Option<Origin>,
    ) -> Result<Template, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let t = compile_at(spec, names, origin, &mut Vec::new(), &mut String::new(), &mut errors);
        if errors.is_empty() { Ok(t) } else { Err(errors) }
    }

    /// Build the document for `input`. `None` when the template yields nothing.
    pub fn render(&self, input: &Doc, scope: &Scope) -> Result<Option<Value>, MappingError> {
        render_at(self, input, scope, &mut String::new())
    }

    /// Target fields with their expressions and source paths; `base` is where `.` sits in the
    /// record.
    pub fn lineage(&self) -> Vec<FieldLineage> {
        let mut out = Vec::new();
        lineage_at(self, &[], &mut Vec::new(), &mut out);
        out
    }
}

fn compile_at(
    spec: &Value,
    names: &VarNames,
    origin: &dyn Fn(&str, &str) -> Option<Origin>,
    path: &mut Vec<Seg>,
    pointer: &mut String,
    errors: &mut Vec<TemplateError>,
) -> Template {
    let mut expr = |text: &str, path: &[Seg], pointer: &str| match Expr::compile(text, names) {
        Ok(e) => Some(match origin(pointer, &field_name(path)) {
            Some(o) => e.with_origin(o.what, &o.file, o.line),
            None => e,
        }),
        Err(error) => {
            errors.push(TemplateError { pointer: pointer.to_string(), field: field_name(path), error });
            None
        }
    };
    let child = |pointer: &mut String, key: &str, f: &mut dyn FnMut(&mut String) -> Template| {
        let len = pointer.len();
        pointer.push('/');
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
        let t = f(pointer);
        pointer.truncate(len);
        t
    };
    match spec {
        Value::String(text) => expr(text, path, pointer).map_or(Template::Literal(Value::Null), Template::Expr),
        Value::Object(o) if o.contains_key("each") => {
            let each_text = o.get("each").and_then(Value::as_str).unwrap_or("");
            let each_pointer = format!("{pointer}/each");
            let each = expr(each_text, path, &each_pointer);
            let unknown: Vec<&String> = o.keys().filter(|k| *k != "each" && *k != "map").collect();
            if !unknown.is_empty() || !o.contains_key("map") {
                errors.push(TemplateError {
                    pointer: each_pointer,
                    field: field_name(path),
                    error: CompileError {
                        message: "an `each:` block takes exactly `each` (jq) and `map` (the element's template)".into(),
                        offset: 0,
                        len: each_text.len().max(1),
                    },
                });
            }
            path.push(Seg::Each);
            let item = child(pointer, "map", &mut |p| {
                compile_at(o.get("map").unwrap_or(&Value::Null), names, origin, path, p, errors)
            });
            path.pop();
            match each {
                Some(each) => Template::Each { each, item: Box::new(item) },
                None => Template::Literal(Value::Null),
            }
        }
        Value::Object(o) => Template::Object(
            o.iter()
                .map(|(k, v)| {
                    path.push(Seg::Key(k.clone()));
                    let t = child(pointer, k, &mut |p| compile_at(v, names, origin, path, p, errors));
                    path.pop();
                    (k.clone(), t)
                })
                .collect(),
        ),
        Value::Array(items) => Template::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    path.push(Seg::Index(i as i64));
                    let t = child(pointer, &i.to_string(), &mut |p| compile_at(v, names, origin, path, p, errors));
                    path.pop();
                    t
                })
                .collect(),
        ),
        literal => Template::Literal(literal.clone()),
    }
}

fn field_name(path: &[Seg]) -> String {
    let text = path_text(path);
    if text.is_empty() { "(body)".into() } else { text }
}

fn render_at(t: &Template, input: &Doc, scope: &Scope, field: &mut String) -> Result<Option<Value>, MappingError> {
    let fail = |field: &str, message: String| MappingError {
        field: if field.is_empty() { "(body)".into() } else { field.to_string() },
        message,
    };
    match t {
        Template::Literal(v) => Ok(Some(v.clone())),
        Template::Expr(e) => e.eval_one_doc(input, scope).map_err(|m| fail(field, m.to_string())),
        Template::Object(fields) => {
            let mut out = Map::new();
            for (k, sub) in fields {
                let len = field.len();
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(k);
                let v = render_at(sub, input, scope, field)?;
                field.truncate(len);
                if let Some(v) = v {
                    out.insert(k.clone(), v);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        Template::Array(items) => {
            let mut out = Vec::new();
            for (i, sub) in items.iter().enumerate() {
                let len = field.len();
                field.push_str(&format!("[{i}]"));
                let v = render_at(sub, input, scope, field)?;
                field.truncate(len);
                out.extend(v);
            }
            Ok(Some(Value::Array(out)))
        }
        Template::Each { each, item } => {
            let elements = each.eval_doc(input, scope).map_err(|m| fail(field, m.to_string()))?;
            let mut out = Vec::new();
            for (i, element) in elements.iter().enumerate() {
                let len = field.len();
                field.push_str(&format!("[{i}]"));
                let v = render_at(item, element, scope, field)?;
                field.truncate(len);
                out.extend(v);
            }
            Ok(Some(Value::Array(out)))
        }
    }
}

fn lineage_at(t: &Template, base: &[Seg], target: &mut Vec<Seg>, out: &mut Vec<FieldLineage>) {
    match t {
        Template::Literal(_) => {}
        Template::Expr(e) => out.push(FieldLineage {
            target: field_name(target),
            expression: e.text().to_string(),
            reads: e.reads().iter().map(|r| r.rebased(base)).collect(),
        }),
        Template::Object(fields) => {
            for (k, sub) in fields {
                target.push(Seg::Key(k.clone()));
                lineage_at(sub, base, target, out);
                target.pop();
            }
        }
        Template::Array(items) => {
            for (i, sub) in items.iter().enumerate() {
                target.push(Seg::Index(i as i64));
                lineage_at(sub, base, target, out);
                target.pop();
            }
        }
        Template::Each { each, item } => {
            // Elements sit where `each` points when it is a plain path, e.g. `.line_items[]`.
            let element_base = each
                .reads()
                .iter()
                .filter(|r| r.var.is_none() && r.required)
                .max_by_key(|r| r.segs.len())
                .map(|r| base.iter().cloned().chain(r.segs.iter().cloned()).collect::<Vec<_>>());
            target.push(Seg::Each);
            out.push(FieldLineage {
                target: field_name(target),
                expression: each.text().to_string(),
                reads: each.reads().iter().map(|r| r.rebased(base)).collect(),
            });
            match element_base {
                Some(b) => lineage_at(item, &b, target, out),
                // Elements of a computed stream: their own reads cannot be placed in the record.
                None => lineage_at(item, &[Seg::Each], target, out),
            }
            target.pop();
        }
    }
}

/// Normalise a concrete body path (`item.items[2].item`) to its template field (`item.items[].item`).
pub fn template_field(concrete: &str) -> String {
    let mut out = String::new();
    let mut chars = concrete.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '[' {
            let mut inner = String::new();
            for d in chars.by_ref() {
                if d == ']' {
                    break;
                }
                inner.push(d);
            }
            out.push_str(if inner.chars().all(|d| d.is_ascii_digit()) { "[]" } else { "" });
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> VarNames {
        VarNames::new(["record", "customer_id"])
    }

    fn template(spec: Value) -> Template {
        Template::compile(&spec, &names()).unwrap()
    }

    #[test]
    fn renders_nested_bodies_and_omits_empty_fields() {
        let t = template(json!({
            "externalId": "\"SHOP-\" + (.id | tostring)",
            "entity": "{id: $customer_id}",
            "memo": ".note // empty",
            "isTaxable": true,
            "item": {"items": {"each": ".line_items[]", "map": {"item": "{id: (.sku | xref(\"item\"))}", "quantity": ".quantity"}}}
        }));
        let mut scope = Scope::new(&names(), &json!({"item": {"A": "501", "B": "502"}}));
        scope.set("customer_id", &json!("77"));
        let order =
            json!({"id": 9, "note": null, "line_items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 3}]});
        let body = t.render(&Doc::new(&order), &scope).unwrap().unwrap();
        assert_eq!(
            body,
            json!({"externalId": "SHOP-9", "entity": {"id": "77"}, "isTaxable": true,
                   "item": {"items": [{"item": {"id": "501"}, "quantity": 1}, {"item": {"id": "502"}, "quantity": 3}]}})
        );
    }

    #[test]
    fn errors_name_the_concrete_field() {
        let t =
            template(json!({"item": {"items": {"each": ".line_items[]", "map": {"item": ".sku | xref(\"item\")"}}}}));
        let scope = Scope::new(&names(), &json!({"item": {"A": "501"}}));
        let err = t.render(&Doc::new(&json!({"line_items": [{"sku": "A"}, {"sku": "ZZ"}]})), &scope).unwrap_err();
        assert_eq!(err.field, "item.items[1].item");
        assert!(err.message.contains("\"ZZ\""), "{}", err.message);
    }

    #[test]
    fn lineage_rebases_element_reads_onto_the_record() {
        let t = template(
            json!({"entity": "{id: $customer_id}", "item": {"items": {"each": ".line_items[]", "map": {"rate": ".price | tonumber"}}}}),
        );
        let lineage: Vec<(String, Vec<String>)> =
            t.lineage().into_iter().map(|l| (l.target, l.reads.iter().map(ToString::to_string).collect())).collect();
        assert_eq!(
            lineage,
            vec![
                ("entity".to_string(), vec!["$customer_id".to_string()]),
                ("item.items[]".to_string(), vec!["line_items[]".to_string()]),
                ("item.items[].rate".to_string(), vec!["line_items[].price".to_string()]),
            ]
        );
    }

    #[test]
    fn compile_errors_name_field_and_expression() {
        let errs = Template::compile(&json!({"a": {"b": ".x |"}}), &names()).unwrap_err();
        assert_eq!(errs[0].field, "a.b");
        assert_eq!(errs[0].pointer, "/a/b");
    }

    #[test]
    fn concrete_paths_normalise_to_template_fields() {
        assert_eq!(template_field("item.items[2].item.id"), "item.items[].item.id");
    }
}
