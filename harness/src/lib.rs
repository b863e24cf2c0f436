//! The harness library: what the `harness` command and its benchmarks use.
//!
//! A run goes `load → plan → execute → check → report`:
//!
//! ```no_run
//! use harness::{Project, RunOptions, plan, report::TerminalReporter, run};
//!
//! let project = Project::discover(std::path::Path::new("."))?;
//! let plan = plan::build(&project, &[])?;
//! let mut terminal = TerminalReporter::new(std::io::stdout(), harness::Style::default(), true);
//! let summary = run(&project, &plan, &RunOptions::new(2, true), &mut [&mut terminal])?;
//! assert!(summary.all_passed());
//! # Ok::<(), harness::Error>(())
//! ```
//!
//! Analyses over many runs — [`impact`], [`lineage`], [`coverage`] — produce results the same
//! reporters render ([`events::Event::AnalysisFinished`]).

pub use harness_analysis::{coverage, impact, lineage};
pub use harness_core::{Error, Style, SystemId};
pub use harness_engine::runner::{RunOptions, evaluate, run};
pub use harness_engine::{events, leaks, plan, review, serve};
pub use harness_flows::flow_names;
pub use harness_reconcile as reconcile;
pub use harness_record as record;
pub use harness_report as report;
pub use harness_scaffold as scaffold;
pub use harness_syntax::Project;
pub use harness_systems::Catalog;

/// The wall clock as RFC 3339 UTC text.
pub fn clock_now() -> String {
    harness_core::clock::now_rfc3339()
}

/// The JSON Schemas of the file formats and reports, for editors and tools.
pub mod schema {
    /// Scenario files (`harness schema`).
    pub fn scenario() -> serde_json::Value {
        harness_syntax::scenario::json_schema()
    }

    /// The JSON run report (`harness schema --report`).
    pub fn report() -> serde_json::Value {
        harness_report::report_schema()
    }

    /// The JSON reconcile report (`harness schema --reconcile`).
    pub fn reconcile() -> serde_json::Value {
        harness_reconcile::schema()
    }
}
