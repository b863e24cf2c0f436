//! Where a report goes: standard output, or a file written whole (see [`harness_core::files`]),
//! so a killed run leaves the previous report or none, never a truncated one.

use std::io::Write;
use std::path::{Path, PathBuf};

pub enum Destination {
    Stdout(Box<dyn Write>),
    File(PathBuf),
}

impl Destination {
    /// Write `text` as the whole report.
    pub fn deliver(&mut self, text: &str) -> std::io::Result<()> {
        self.deliver_with(&mut |w| w.write_all(text.as_bytes()))
    }

    /// Write what `write` writes as the whole report, as it is made: a file is still replaced
    /// whole (`write` may be called again from the start, see
    /// [`harness_core::files::write_atomic_with`]).
    pub fn deliver_with(
        &mut self,
        write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        match self {
            Destination::Stdout(out) => {
                let mut buffered = std::io::BufWriter::new(out);
                write(&mut buffered)?;
                buffered.flush()
            }
            Destination::File(path) => harness_core::files::write_atomic_with(path, write)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
    }

    /// Whether a file can be written there, checked before a run so a bad path fails at once.
    pub fn check(&self) -> std::io::Result<()> {
        match self {
            Destination::Stdout(_) => Ok(()),
            Destination::File(path) => harness_core::files::check_writable(path),
        }
    }
}

/// `content` to `path` atomically (see [`harness_core::files`]).
pub fn write_atomic(path: &Path, content: &str) -> std::io::Result<()> {
    harness_core::files::write_atomic(path, content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_file_is_checked_then_written_whole() {
        let dir = std::env::temp_dir().join(format!("harness-report-output-{}", std::process::id()));
        let path = dir.join("nested/report.json");
        let mut d = Destination::File(path.clone());
        d.check().unwrap();
        assert!(path.parent().unwrap().is_dir(), "the check makes the folder");
        assert!(std::fs::read_dir(path.parent().unwrap()).unwrap().next().is_none(), "and leaves no probe behind");
        d.deliver("first").unwrap();
        d.deliver("second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second", "each report replaces the last");
        let blocked = Destination::File(path.join("under-a-file"));
        assert!(blocked.check().is_err(), "a file cannot be a folder");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn standard_output_is_written_and_flushed() {
        struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut d = Destination::Stdout(Box::new(Shared(seen.clone())));
        d.check().unwrap();
        d.deliver("{}\n").unwrap();
        assert_eq!(seen.borrow().as_slice(), b"{}\n");
    }
}
