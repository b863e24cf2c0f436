//! The harness's file formats and their strict parsing, apart from running them (as Hurl keeps
//! `hurl_core` apart from its runner): scenario files, flow files, stub sets, `system.yaml` and
//! recordings, `harness.yaml`. Values later stages may find wrong are kept with their place in the
//! file ([`Loc`]), so every error points at exactly what is wrong.

pub mod delivery;
pub mod flow;
pub mod json;
pub mod loc;
pub mod mapping;
pub mod project;
pub mod reconcile;
pub mod scenario;
pub mod service;
pub mod stub;
pub mod system_file;
pub mod yaml;

pub use loc::{Loc, Span};
pub use mapping::Mapping;
pub use project::Project;
