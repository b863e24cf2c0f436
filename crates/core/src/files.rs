//! Files written whole: a snapshot, a report or a recording is replaced in one rename, so a
//! killed run leaves the previous file or the new one, never a torn one — and no temporary file
//! either. On Linux the content is written to an unnamed file (`O_TMPFILE`): a new file is that
//! unnamed file linked under its name in one step; a file replaced gets a temporary name first,
//! and that name lives in the process's scratch folder (`.harness/tmp/<pid>/` in the project, see
//! [`use_scratch`]), which the guardian removes when the process dies — even by `kill -9` — and
//! every later start sweeps if the guardian could not. (Nothing is synced to disk: a killed
//! process loses nothing written; a machine losing power is not what this guards against, and
//! 20,000 snapshots synced one by one would take long.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where the project's processes keep their scratch folders, below the project root.
pub const SCRATCH_DIR: &str = ".harness/tmp";

/// This process's scratch folder, once [`use_scratch`] named it.
static SCRATCH: OnceLock<PathBuf> = OnceLock::new();

/// Temporary names of this process go to `<root>/.harness/tmp/<pid>/` from now on (made when
/// first needed); the folders there of processes no longer alive are removed first. Returns
/// this process's folder, for the guardian to remove when the process ends.
pub fn use_scratch(root: &Path) -> PathBuf {
    let parent = root.join(SCRATCH_DIR);
    sweep_scratch(&parent);
    SCRATCH.get_or_init(|| parent.join(std::process::id().to_string())).clone()
}

/// Removes the folders in `parent` named by the id of a process that is no longer alive.
fn sweep_scratch(parent: &Path) {
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let dead = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()).is_some_and(|pid| !alive(pid));
        if dead {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether a process with id `pid` exists (one of another user's counts as alive).
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
        // SAFETY: signal 0 only checks that the process exists; nothing is sent.
        pid > 0
            && (unsafe { libc::kill(pid, 0) } == 0
                || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Write `content` to `path` atomically (its folder is made if missing). A symlink at the
/// temporary name is replaced, never written through.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, &mut |w| w.write_all(content))
}

/// [`write_atomic`] of what `write` writes, streamed to the file as it is made (a report of
/// thousands of cases is never held whole). `write` may be called again, from the
/// start, when the first file could not be given a name.
pub fn write_atomic_with(
    path: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write_with_scratch(path, write, SCRATCH.get().map(PathBuf::as_path))
}

fn write_with_scratch(
    path: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    scratch: Option<&Path>,
) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    #[cfg(target_os = "linux")]
    if let Some(file) = unnamed(dir, write) {
        let file = file?;
        // A new file: its name appears with its whole content, no temporary name at all.
        match link(&file, path) {
            Some(Ok(())) => return Ok(()),
            Some(Err(e)) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            // Without /proc the link fails: a named file is written below instead.
            None => {}
            Some(Err(_)) => {
                for tmp in temporaries(path, scratch) {
                    let _ = std::fs::remove_file(&tmp);
                    if let Some(Ok(())) = link(&file, &tmp) {
                        match rename(&tmp, path) {
                            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => continue,
                            done => return done,
                        }
                    }
                }
            }
        }
    }
    let mut last = None;
    for tmp in temporaries(path, scratch) {
        let _ = std::fs::remove_file(&tmp);
        let written = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            write(&mut w)?;
            w.flush()
        });
        match written.and_then(|()| rename(&tmp, path)) {
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                last = Some(e);
            }
            done => return done,
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary name")))
}

/// The names a file is written under before it is renamed to `path`, best first: in this
/// process's scratch folder (made here), then beside `path` (a target on another file system
/// than the project, or no scratch folder named).
fn temporaries(path: &Path, scratch: Option<&Path>) -> Vec<PathBuf> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut out = Vec::with_capacity(2);
    if let Some(scratch) = scratch.filter(|s| make_scratch(s).is_ok()) {
        // Unique in the folder: two targets of one name in different folders may be written at once.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        out.push(scratch.join(format!("{n}.{name}")));
    }
    out.push(temporary(path));
    out
}

/// Whether a file can be written at `path` (its folder is made if missing), checked by writing
/// one that is never named on Linux, so a kill during the check leaves nothing either.
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    #[cfg(target_os = "linux")]
    if let Some(probe) = unnamed(dir, &mut |_| Ok(())) {
        return probe.map(drop);
    }
    let probe = temporary(path);
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// Makes the scratch folder `dir`; the folder of all of them git-ignores itself.
fn make_scratch(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    if let Some(ignore) = dir.parent().map(|p| p.join(".gitignore")).filter(|i| !i.exists()) {
        let _ = std::fs::write(ignore, "# Scratch files of running commands: never committed.\n*\n");
    }
    Ok(())
}

/// The temporary name beside `path`: where a file is written when the scratch folder cannot
/// take it.
fn temporary(path: &Path) -> PathBuf {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

fn rename(tmp: &Path, path: &Path) -> std::io::Result<()> {
    std::fs::rename(tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(tmp);
    })
}

/// What `write` writes, in an unnamed file in `dir`; None where the file system or kernel has no unnamed
/// files (the caller writes a named one instead).
#[cfg(target_os = "linux")]
fn unnamed(
    dir: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Option<std::io::Result<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().write(true).mode(0o644).custom_flags(libc::O_TMPFILE).open(dir).ok()?;
    let mut w = std::io::BufWriter::new(file);
    if let Err(e) = write(&mut w) {
        return Some(Err(e));
    }
    Some(w.into_inner().map_err(|e| e.into_error()))
}

/// Gives the unnamed `file` the name `to`, failing when `to` exists; None where that cannot be
/// done at all (no /proc).
#[cfg(target_os = "linux")]
fn link(file: &std::fs::File, to: &Path) -> Option<std::io::Result<()>> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    let to = CString::new(to.as_os_str().as_bytes()).ok()?;
    // SAFETY: both paths are NUL-terminated strings that live across the call.
    let linked =
        unsafe { libc::linkat(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_SYMLINK_FOLLOW) };
    if linked == 0 {
        return Some(Ok(()));
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOENT) if std::path::Path::new("/proc/self/fd").is_dir() => Some(Err(e)),
        Some(libc::ENOENT | libc::EPERM | libc::EXDEV) => None,
        _ => Some(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut out: Vec<_> =
            std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        out.sort();
        out
    }

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.snap");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(names(&dir.path().join("sub")), ["a.snap"]);
    }

    #[test]
    fn a_new_file_needs_no_temporary_name_and_a_replaced_one_takes_it_in_the_scratch_folder() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join(".harness/tmp/1");
        let path = dir.path().join("recorded/a.json");
        write_with_scratch(&path, &mut |w| w.write_all(b"first"), Some(&scratch)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        #[cfg(target_os = "linux")]
        assert!(!scratch.exists(), "a new file is linked under its name directly");
        write_with_scratch(&path, &mut |w| w.write_all(b"second"), Some(&scratch)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(names(&dir.path().join("recorded")), ["a.json"]);
        assert!(names(&scratch).is_empty(), "the temporary name was renamed away");
    }

    #[test]
    fn without_a_usable_scratch_folder_the_file_is_still_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        let path = dir.path().join("a.snap");
        for content in [&b"first"[..], b"second"] {
            write_with_scratch(&path, &mut |w| w.write_all(content), Some(&blocker.join("scratch"))).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["a.snap", "file"]);
    }

    #[test]
    fn the_sweep_removes_the_scratch_folders_of_dead_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let own = std::process::id();
        for name in [dead.to_string(), own.to_string(), "notes".into()] {
            std::fs::create_dir_all(dir.path().join(&name)).unwrap();
            std::fs::write(dir.path().join(&name).join("0.a.snap"), b"").unwrap();
        }
        sweep_scratch(dir.path());
        let mut kept = vec![own.to_string(), "notes".to_string()];
        kept.sort();
        assert_eq!(names(dir.path()), kept);
    }
}
