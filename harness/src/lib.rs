//! The harness library: load scenarios, run flows against mocked systems, check and report.

// A diagnostic (file, span, snippet) is large, but only ever built on the error path of loading.
#![allow(clippy::result_large_err)]

pub mod check;
pub mod clock;
pub mod coverage;
pub mod diagnostic;
pub mod duration;
pub mod error;
pub mod execute;
pub mod expr;
pub mod flow;
pub mod http;
pub mod impact;
pub mod mock;
pub mod plan;
pub mod project;
pub mod report;
pub mod review;
pub mod run;
pub mod scenario;
pub mod snapshot;
pub mod soap;
pub mod systems;
pub mod workers;
pub mod yaml;
