//! The project's redaction key: what makes every fake consistent. The same key gives the same
//! fake for the same real value in every file and every recording session, so lookups by email
//! and references between recordings still hold on replay; without it nobody can test guesses of
//! the real values against the fakes.
//!
//! It lives in `.harness/redaction.key` at the project root (64 hex digits), made on first use;
//! `.harness/` carries its own `.gitignore`, so the key is never committed. A team that records
//! on several machines shares one key out of band, or sets `HARNESS_REDACTION_KEY` (64 hex digits)
//! in CI.

use std::path::{Path, PathBuf};

use harness_core::Error;
use ring::rand::{SecureRandom, SystemRandom};

const DIR: &str = ".harness";
const FILE: &str = "redaction.key";
pub(crate) const ENV: &str = "HARNESS_REDACTION_KEY";

/// The key of the project at `root`: `HARNESS_REDACTION_KEY` when set, else the key file, made
/// when missing.
pub(crate) fn project_key(root: &Path) -> Result<[u8; 32], Error> {
    if let Ok(hex) = std::env::var(ENV) {
        return parse(&hex).ok_or_else(|| Error::Usage(format!("{ENV} must be 64 hexadecimal digits")));
    }
    let path = key_path(root);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(text.trim()).ok_or_else(|| Error::Usage(format!("{}: not a redaction key (64 hexadecimal digits); delete it to make a new one, which changes every fake", shown(root, &path)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(root, &path),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn key_path(root: &Path) -> PathBuf {
    root.join(DIR).join(FILE)
}

fn shown(root: &Path, path: &Path) -> String {
    harness_syntax::project::display_path(root, path)
}

fn create(root: &Path, path: &Path) -> Result<[u8; 32], Error> {
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| Error::Environment("no source of randomness for the redaction key".into()))?;
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "# Local to this machine: the redaction key must never be committed.\n*\n")
            .map_err(|e| Error::io(&ignore, e))?;
    }
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(path, format!("{hex}\n")).map_err(|e| Error::io(path, e))?;
    restrict(path);
    Ok(key)
}

/// Readable by its owner only, where the platform says so.
fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

fn parse(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_ignored_and_kept() {
        let dir = std::env::temp_dir().join(format!("harness-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = create(&dir, &key_path(&dir)).unwrap();
        assert_eq!(parse(&std::fs::read_to_string(key_path(&dir)).unwrap()), Some(first));
        assert_eq!(std::fs::read_to_string(dir.join(".harness/.gitignore")).unwrap().lines().last(), Some("*"));
        assert_eq!(parse("zz"), None);
        assert_eq!(parse(&"0".repeat(63)), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
