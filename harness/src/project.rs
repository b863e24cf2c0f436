//! The project on disk: where its root is (the folder holding `harness.yaml`), where each kind of file
//! lives, and the project-wide settings from `harness.yaml`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::yaml;

pub const CONFIG_FILE: &str = "harness.yaml";

/// Project-wide settings (`harness.yaml`). Every field is optional; the file may be empty.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Wall-clock limit per scenario, e.g. `30s` (default) or `500ms`.
    #[serde(default, deserialize_with = "crate::duration::deserialize_opt")]
    pub timeout: Option<Duration>,
    /// Data-loss findings fail scenarios (default `true`, what CI wants); `false` makes them warnings.
    pub strict: Option<bool>,
    /// Default API versions, used by scenarios that do not name one, e.g. `shopify: 2025-01`.
    #[serde(default)]
    pub systems: std::collections::BTreeMap<crate::systems::SystemKind, String>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub settings: Settings,
}

impl Project {
    /// Find the project by walking up from `start` to the first folder holding `harness.yaml`.
    pub fn discover(start: &Path) -> Result<Project, Error> {
        let start = std::fs::canonicalize(start).map_err(|e| Error::io(start, e))?;
        let root = start
            .ancestors()
            .find(|dir| dir.join(CONFIG_FILE).is_file())
            .ok_or_else(|| Error::NoProject(start.clone()))?;
        Self::open(root)
    }

    /// Open the project whose root is `root`.
    pub fn open(root: &Path) -> Result<Project, Error> {
        let config = root.join(CONFIG_FILE);
        if !config.is_file() {
            return Err(Error::NoProject(root.to_path_buf()));
        }
        let text = std::fs::read_to_string(&config).map_err(|e| Error::io(&config, e))?;
        let settings = if text.trim().is_empty() || text.lines().all(|l| l.trim_start().starts_with('#') || l.trim().is_empty()) {
            Settings::default()
        } else {
            yaml::parse(&config, &text).map_err(|d| Error::Config(vec![d.relative_to(root)].into()))?
        };
        Ok(Project { root: root.to_path_buf(), settings })
    }

    pub fn scenarios_dir(&self) -> PathBuf {
        self.root.join("scenarios")
    }
    pub fn flows_dir(&self) -> PathBuf {
        self.root.join("flows")
    }
    pub fn mocks_dir(&self) -> PathBuf {
        self.root.join("mocks")
    }
    pub fn snapshots_dir(&self) -> PathBuf {
        self.root.join("snapshots")
    }

    /// `path` relative to the root, with `/` separators, for reports and snapshot headers
    /// (identical on every machine and OS).
    pub fn display_path(&self, path: &Path) -> String {
        display_path(&self.root, path)
    }

    pub fn timeout(&self) -> Duration {
        self.settings.timeout.unwrap_or(Duration::from_secs(30))
    }

    pub fn strict(&self) -> bool {
        self.settings.strict.unwrap_or(true)
    }
}

/// `path` relative to `root`, `/`-separated.
pub fn display_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Read a file the user pointed at, as a diagnostic naming it when it cannot be read.
pub fn read_text(root: &Path, path: &Path) -> Result<String, Diagnostic> {
    std::fs::read_to_string(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            std::io::ErrorKind::InvalidData => "file is not valid UTF-8".to_string(),
            _ => e.to_string(),
        };
        let shown = path.strip_prefix(root).unwrap_or(path);
        Diagnostic::new(path, format!("cannot read {}: {reason}", shown.display())).relative_to(root)
    })
}

/// Every `*.yaml` / `*.yml` file under `dir`, sorted, for deterministic loading order.
pub fn yaml_files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
