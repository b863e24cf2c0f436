//! Files written whole: a snapshot, a report or a recording is replaced in one rename, so a
//! killed run leaves the previous file or the new one, never a torn one — and, on Linux, no
//! temporary file either: the content is written to an unnamed file (`O_TMPFILE`) that gets a
//! name only for the instant before the rename. (Nothing is synced to disk: a killed process
//! loses nothing written; a machine losing power is not what this guards against, and 20,000
//! snapshots synced one by one would take long.)

use std::io::Write;
use std::path::{Path, PathBuf};

/// Write `content` to `path` atomically (its folder is made if missing). A symlink at the
/// temporary name is replaced, never written through.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, &mut |w| w.write_all(content))
}

/// [`write_atomic`] of what `write` writes, streamed to the file as it is made (a report of
/// thousands of cases is never held whole). `write` may be called a second time, from the
/// start, when the first file could not be given a name.
pub fn write_atomic_with(
    path: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = temporary(path);
    let _ = std::fs::remove_file(&tmp);
    #[cfg(target_os = "linux")]
    if let Some(linked) = unnamed(dir, &tmp, write) {
        linked?;
        return rename(&tmp, path);
    }
    let written = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).and_then(|f| {
        let mut w = std::io::BufWriter::new(f);
        write(&mut w)?;
        w.flush()
    });
    written.and_then(|()| rename(&tmp, path)).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The name a file is written under before it is renamed to `path`.
pub fn temporary(path: &Path) -> PathBuf {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

fn rename(tmp: &Path, path: &Path) -> std::io::Result<()> {
    std::fs::rename(tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(tmp);
    })
}

/// What `write` writes, in an unnamed file in `dir`, then linked as `tmp`; None where the file
/// system or kernel has no unnamed files (the caller writes a named one instead).
#[cfg(target_os = "linux")]
fn unnamed(
    dir: &Path,
    tmp: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Option<std::io::Result<()>> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().write(true).mode(0o644).custom_flags(libc::O_TMPFILE).open(dir).ok()?;
    let mut w = std::io::BufWriter::new(file);
    if let Err(e) = write(&mut w) {
        return Some(Err(e));
    }
    let file = match w.into_inner() {
        Ok(f) => f,
        Err(e) => return Some(Err(e.into_error())),
    };
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    let to = CString::new(tmp.as_os_str().as_bytes()).ok()?;
    // SAFETY: both paths are NUL-terminated strings that live across the call.
    let linked =
        unsafe { libc::linkat(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_SYMLINK_FOLLOW) };
    // Without /proc the link fails: a named file is written instead.
    (linked == 0).then_some(Ok(()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.snap");
        super::write_atomic(&path, b"first").unwrap();
        super::write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> =
            std::fs::read_dir(dir.path().join("sub")).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, ["a.snap"]);
    }
}
