//! Process hygiene for the programs the harness starts (the module documentation in procs.rs says
//! what each part is for and why). Everything is at the crate root.
#![warn(clippy::undocumented_unsafe_blocks)]

mod procs;

pub use procs::*;
