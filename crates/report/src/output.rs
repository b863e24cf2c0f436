//! Where a report goes: standard output, or a file written whole — to a temporary file beside it,
//! then renamed — so a killed run leaves the previous report or none, never a truncated one.

use std::io::Write;
use std::path::{Path, PathBuf};

pub enum Destination {
    Stdout(Box<dyn Write>),
    File(PathBuf),
}

impl Destination {
    /// Write `text` as the whole report.
    pub fn deliver(&mut self, text: &str) -> std::io::Result<()> {
        match self {
            Destination::Stdout(out) => {
                out.write_all(text.as_bytes())?;
                out.flush()
            }
            Destination::File(path) => write_atomic(path, text).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
    }

    /// Whether a file can be written there, checked before a run so a bad path fails at once.
    pub fn check(&self) -> std::io::Result<()> {
        match self {
            Destination::Stdout(_) => Ok(()),
            Destination::File(path) => {
                let dir = parent(path);
                std::fs::create_dir_all(dir)?;
                let probe = harness_core::files::temporary(path);
                std::fs::write(&probe, b"")?;
                std::fs::remove_file(&probe)
            }
        }
    }
}

fn parent(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// `content` to `path` atomically (see [`harness_core::files`]).
pub fn write_atomic(path: &Path, content: &str) -> std::io::Result<()> {
    harness_core::files::write_atomic(path, content.as_bytes())
}
