//! jq expressions as the harness uses them, via jaq: compiled once when a file is loaded, run many
//! times, and read statically for the source paths they depend on. Body mappings ([`Template`]) and
//! text with jq holes ([`TextTemplate`]) are built from them. Nothing here knows about files or
//! systems.

mod evaluating;
mod expr;
mod mapping;
mod reads;
mod template_text;
mod values;

pub use evaluating::{Evaluating, Evaluation, Origin, watch_this_thread};
pub use expr::{CompileError, Doc, EvalError, Expr, Scope, VarNames};
pub use mapping::{FieldLineage, MappingError, Template, TemplateError, template_field};
pub use reads::{ReadPath, Seg, missing_key, path_text};
pub use template_text::{RenderError, TextTemplate};
