//! Other systems: nothing to kill, and the Linux-only parts report `Unsupported`.

use super::*;

fn unsupported(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, format!("{what} is only available on Linux"))
}

pub(super) fn kill_tagged(_prefix: &[u8]) -> usize {
    0
}

pub(super) fn small_pages() {}

pub(super) fn become_subreaper() -> io::Result<()> {
    Err(unsupported("becoming a child subreaper"))
}

pub(super) fn start_guardian(_run_prefix: &str, _scratch: Option<&Path>, _exe: &Path) -> io::Result<Guardian> {
    Err(unsupported("the guardian process"))
}

pub(super) fn guardian_prepare() {}

pub(super) fn isolate_network() -> Result<(), IsolationUnavailable> {
    Err(IsolationUnavailable::Unsupported)
}
