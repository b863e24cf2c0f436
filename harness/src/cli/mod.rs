//! The command line of the `harness` binary.

pub(crate) mod args;
pub(crate) mod commands;
mod output;
