//! The library's error type. The binary maps each variant to an exit code in one place
//! (`main.rs`); scenario failures are not errors, they are results.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: malformed or inconsistent scenario, flow, payload, schema or snapshot files.
    #[error("{0}")]
    Config(Diagnostics),
    #[error("no harness project at {} (a project has harness.yaml at its root; see the README)", .0.display())]
    NoProject(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The command line asked for something impossible (unknown scenario path, conflicting flags).
    #[error("{0}")]
    Usage(String),
    /// The machine would not let the harness work: no loopback port, a report file not writable.
    #[error("{0}")]
    Environment(String),
    /// Stopped by SIGINT (Ctrl-C) or SIGTERM, its programs killed.
    #[error("interrupted; the programs the scenarios had started were stopped")]
    Interrupted,
}

/// The message a panic carried, if it was text.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), source }
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Error::Config(Diagnostics(vec![d]))
    }
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Self {
        Error::Config(d.sorted())
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(v: Vec<Diagnostic>) -> Self {
        Diagnostics(v)
    }
}

impl From<Vec<Diagnostic>> for Error {
    fn from(v: Vec<Diagnostic>) -> Self {
        Error::from(Diagnostics(v))
    }
}
