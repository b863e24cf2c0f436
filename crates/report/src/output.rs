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
                let probe = temporary(path);
                std::fs::write(&probe, b"")?;
                std::fs::remove_file(&probe)
            }
        }
    }
}

fn parent(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    parent(path).join(format!(".{name}.{}.tmp", std::process::id()))
}

/// `content` to `path` atomically: a temporary file in the same folder, then a rename.
pub fn write_atomic(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(parent(path))?;
    let tmp = temporary(path);
    let written = std::fs::File::create(&tmp).and_then(|f| {
        let mut w = std::io::BufWriter::new(f);
        w.write_all(content.as_bytes())?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    written.and_then(|()| std::fs::rename(&tmp, path)).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
