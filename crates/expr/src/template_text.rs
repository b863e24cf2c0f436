//! Text with jq holes, for paths, query values and headers of built-in flows:
//! `/admin/api/{$version}/orders/{.order_id}/fulfillment_orders.json`.

use serde_json::Value;

use crate::{CompileError, Doc, EvalError, Expr, ReadPath, Scope, VarNames};

#[derive(Debug, Clone)]
pub struct TextTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Hole(Expr),
}

impl TextTemplate {
    /// Compile `text`; errors carry offsets into `text`.
    pub fn compile(text: &str, names: &VarNames) -> Result<TextTemplate, CompileError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                return Err(CompileError {
                    message: "unclosed `{` (write `{expression}`)".into(),
                    offset: offset + open,
                    len: 1,
                });
            };
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let inner = &rest[open + 1..open + close];
            let expr =
                Expr::compile(inner, names).map_err(|e| CompileError { offset: offset + open + 1 + e.offset, ..e })?;
            parts.push(Part::Hole(expr));
            offset += open + close + 1;
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(TextTemplate { parts })
    }

    pub fn render(&self, input: &Doc, scope: &Scope) -> Result<String, RenderError> {
        self.render_with(input, scope, |s| s.to_string())
    }

    /// For a URL path: a hole's value is percent-encoded, so a `#` or `?` in it (an order name
    /// like `#1001`) stays part of its segment.
    pub fn render_path(&self, input: &Doc, scope: &Scope) -> Result<String, RenderError> {
        const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
            .add(b' ')
            .add(b'"')
            .add(b'#')
            .add(b'<')
            .add(b'>')
            .add(b'?')
            .add(b'`')
            .add(b'{')
            .add(b'}')
            .add(b'/')
            .add(b'%')
            .add(b'\\');
        self.render_with(input, scope, |s| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string())
    }

    fn render_with(&self, input: &Doc, scope: &Scope, encode: impl Fn(&str) -> String) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Hole(e) => match e.eval_one_doc(input, scope)? {
                    Some(Value::String(s)) => out.push_str(&encode(&s)),
                    Some(Value::Null) | None => return Err(RenderError::Empty(e.text().to_string())),
                    Some(other) => out.push_str(&encode(&other.to_string())),
                },
            }
        }
        Ok(out)
    }

    pub fn reads(&self) -> impl Iterator<Item = &ReadPath> {
        self.parts.iter().flat_map(|p| match p {
            Part::Hole(e) => e.reads(),
            Part::Literal(_) => &[],
        })
    }
}

/// Why a text template gave no text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// A hole whose expression (the text inside the braces) yields nothing or `null`.
    #[error("`{{{0}}}` is empty")]
    Empty(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_holes() {
        let names = VarNames::new(["version"]);
        let t = TextTemplate::compile("/admin/api/{$version}/orders/{.id}.json", &names).unwrap();
        let mut scope = Scope::new(&names, &json!({}));
        scope.set("version", &json!("2025-01"));
        assert_eq!(t.render(&Doc::new(&json!({"id": 42})), &scope).unwrap(), "/admin/api/2025-01/orders/42.json");
        assert!(t.render(&Doc::new(&json!({})), &scope).unwrap_err().to_string().contains("is empty"));
        let p = TextTemplate::compile("/orders/{.name}/x", &names).unwrap();
        assert_eq!(
            p.render_path(&Doc::new(&json!({"name": "#1001 a/b"})), &scope).unwrap(),
            "/orders/%231001%20a%2Fb/x"
        );
    }

    #[test]
    fn errors_point_inside_the_hole() {
        let err = TextTemplate::compile("/x/{.a |}", &VarNames::new([])).unwrap_err();
        assert_eq!(err.offset, 8);
        assert!(TextTemplate::compile("/x/{.a", &VarNames::new([])).is_err());
    }
}
