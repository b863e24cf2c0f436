//! JSON Schemas of request bodies, compiled once.

use serde_json::Value;

pub struct Schema {
    /// Project-relative path, for messages.
    pub file: String,
    pub json: Value,
    pub(crate) validator: jsonschema::Validator,
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
    pub fn violations(&self, instance: &Value) -> Vec<Violation> {
        let mut out: Vec<Violation> = self
            .validator
            .iter_errors(instance)
            .map(|e| Violation { instance_path: e.instance_path().to_string(), message: e.to_string() })
            .collect();
        out.sort_by(|a, b| (&a.instance_path, &a.message).cmp(&(&b.instance_path, &b.message)));
        out
    }
}
