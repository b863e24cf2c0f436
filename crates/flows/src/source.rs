//! A flow file as its kind's compiler gets it: the text and the parsed format, where it lives,
//! and the systems that can be named in it.

use std::path::Path;

use harness_core::Diagnostic;
use harness_syntax::flow::FlowSpec;
use harness_syntax::{Loc, Project};
use harness_systems::Registry;

/// What compiling a flow of some kind is given: the file as written and where it lives.
pub(crate) struct FlowSource<'a> {
    pub project: &'a Project,
    pub registry: &'a Registry,
    pub file: &'a Path,
    pub text: &'a str,
    pub spec: &'a FlowSpec,
}

impl FlowSource<'_> {
    /// A diagnostic about this file, pointing at `loc`.
    pub(crate) fn error<T>(&self, loc: &Loc<T>, message: impl Into<String>) -> Diagnostic {
        loc.error(self.file, self.text, message).relative_to(&self.project.root)
    }
}
