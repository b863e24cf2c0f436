//! Files written for the user, never over one that exists: each is created whole (written to a
//! temporary file, then renamed), so an interrupted write leaves nothing half-done.

use std::io::Write;
use std::path::{Path, PathBuf};

use harness_core::Error;

/// What happened to each file a command meant to write.
#[derive(Debug, Default)]
pub struct Written {
    /// Paths relative to the folder they were written in.
    pub written: Vec<String>,
    /// Files that existed and were left alone.
    pub skipped: Vec<String>,
}

impl Written {
    /// Write `contents` to `base/rel` unless something is there already.
    pub(crate) fn file(&mut self, base: &Path, rel: &str, contents: &[u8]) -> Result<(), Error> {
        let path = base.join(rel);
        if path.exists() {
            self.skipped.push(rel.to_string());
            return Ok(());
        }
        create_new(&path, contents).map_err(|e| Error::Environment(format!("cannot write {}: {e}", path.display())))?;
        self.written.push(rel.to_string());
        Ok(())
    }
}

fn create_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    // `persist_noclobber` refuses to replace a file that appeared meanwhile.
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_file_is_skipped_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "mine").unwrap();
        let mut w = Written::default();
        w.file(dir.path(), "a.txt", b"theirs").unwrap();
        w.file(dir.path(), "sub/b.txt", b"new").unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("a.txt")).unwrap(), "mine");
        assert_eq!(std::fs::read_to_string(dir.path().join("sub/b.txt")).unwrap(), "new");
        assert_eq!((w.written, w.skipped), (vec!["sub/b.txt".to_string()], vec!["a.txt".to_string()]));
    }
}
