//! The project on disk: where its root is (the folder holding `harness.yaml`), where each kind of file
//! lives, and the project-wide settings from `harness.yaml`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness_core::{Diagnostic, Error, SystemId};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::loc::Loc;
use crate::yaml;

pub const CONFIG_FILE: &str = "harness.yaml";

/// Project-wide settings (`harness.yaml`). Every field is optional; the file may be empty.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
pub struct Settings {
    /// Wall-clock limit per scenario, e.g. `30s` (default) or `500ms`.
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// Data-loss findings fail scenarios (default `true`, what CI wants); `false` makes them warnings.
    pub strict: Option<bool>,
    /// Requests answered by a mock's guess (no stub, no rule: a SuiteQL query finding no rows)
    /// fail scenarios (`true`) rather than warn (default `false`); a scenario may say otherwise.
    pub strict_stubs: Option<bool>,
    /// Default API versions, used by scenarios that do not name one, e.g. `shopify: 2025-01`.
    #[serde(default)]
    pub systems: std::collections::BTreeMap<SystemId, Loc<String>>,
    /// `network`: the whole run — mocks and programs — in a fresh network namespace with only
    /// loopback, where the platform allows it.
    pub isolation: Option<Isolation>,
    /// Limits of each mock, so a runaway flow gets a clear finding instead of exhausting the machine.
    #[serde(default)]
    pub mocks: MockLimitsSpec,
    /// Recordings older than this (`180d`, `26w`, `36h`) are stale: `run` warns about the
    /// scenarios that use them, and fails them with `--strict-recordings`.
    #[schemars(with = "Option<String>")]
    #[serde(default, deserialize_with = "deserialize_age")]
    pub max_recording_age: Option<Loc<u64>>,
    /// What `record` and `import` redact beyond the built-in rules, and what they leave alone.
    #[serde(default)]
    pub redaction: RedactionSpec,
}

/// `redaction:` in `harness.yaml`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactionSpec {
    /// More values to replace by `[redacted]`, as dotted paths (`customer.note`,
    /// `line_items[].properties[].value`, `Envelope.Body.*.Notes`).
    #[serde(default)]
    pub redact: Vec<String>,
    /// Field names the personal-data rules never touch (`company`); credentials go regardless.
    #[serde(default)]
    pub keep: Vec<String>,
}

/// What a run is isolated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// Every network but loopback.
    Network,
}

/// `mocks:` in `harness.yaml`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MockLimitsSpec {
    /// Connections open at once to one mock (default 256); more are answered 503.
    pub max_connections: Option<usize>,
    /// Largest request body a mock reads, e.g. `16MiB` (default), `512KiB`, or a number of bytes;
    /// a larger one is answered 413.
    #[schemars(with = "Option<String>")]
    #[serde(default, deserialize_with = "deserialize_size")]
    pub max_body: Option<Loc<u64>>,
}

fn deserialize_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Loc<u64>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    let Some(raw) = Option::<Loc<Size>>::deserialize(d)? else { return Ok(None) };
    let bytes = match raw.value {
        Size::Bytes(n) => n,
        Size::Text(t) => parse_size(&t).map_err(serde::de::Error::custom)?,
    };
    Ok(Some(Loc { value: bytes, span: raw.span }))
}

fn deserialize_age<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Loc<u64>>, D::Error> {
    let Some(raw) = Option::<Loc<String>>::deserialize(d)? else { return Ok(None) };
    let seconds = parse_age(&raw.value).map_err(serde::de::Error::custom)?;
    Ok(Some(Loc { value: seconds, span: raw.span }))
}

/// An age [`parse_age`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an age: write e.g. `180d`, `26w` or `36h`")]
pub struct BadAge(String);

/// `180d`, `26w`, `36h` as seconds.
pub fn parse_age(text: &str) -> Result<u64, BadAge> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let bad = || BadAge(text.to_string());
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let factor = match unit {
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(factor).filter(|s| *s > 0).ok_or_else(bad)
}

/// `16MiB`, `512KiB`, `1GiB`, `1000`.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 =
        digits.parse().map_err(|_| format!("`{text}` is not a size: write a number of bytes or e.g. `16MiB`"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}`: use B, KiB, MiB or GiB")),
    };
    n.checked_mul(factor).ok_or_else(|| format!("`{text}` is too large"))
}

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub settings: Settings,
    /// The text of `harness.yaml`, for diagnostics about its values.
    pub config_text: String,
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
        let text = read_text(root, &config)?;
        let settings =
            if text.trim().is_empty() || text.lines().all(|l| l.trim_start().starts_with('#') || l.trim().is_empty()) {
                Settings::default()
            } else {
                yaml::parse(&config, &text)
                    .map_err(|ds| Error::from(ds.into_iter().map(|d| d.relative_to(root)).collect::<Vec<_>>()))?
            };
        Ok(Project { root: root.to_path_buf(), settings, config_text: text })
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

    pub fn config_file(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    pub fn timeout(&self) -> Duration {
        self.settings.timeout.unwrap_or(Duration::from_secs(30))
    }

    pub fn strict(&self) -> bool {
        self.settings.strict.unwrap_or(true)
    }

    /// Whether `harness.yaml` or any flow file asks for `isolation: network`. Read on its own,
    /// leniently (the full load reports what else is wrong), because the answer is needed before
    /// the harness starts its first thread.
    pub fn wants_network_isolation(&self) -> bool {
        #[derive(Deserialize)]
        struct OnlyIsolation {
            isolation: Option<Isolation>,
        }
        let flows = std::fs::read_dir(self.flows_dir()).into_iter().flatten().flatten().map(|e| e.path());
        self.settings.isolation == Some(Isolation::Network)
            || flows
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                .filter_map(|p| read_text(&self.root, &p).ok())
                .any(|text| {
                    serde_saphyr::from_str_with_options::<OnlyIsolation>(&text, crate::yaml::options())
                        .is_ok_and(|f| f.isolation == Some(Isolation::Network))
                })
    }

    /// `rel`, a path a project file names, resolved against `base` (a folder of the project), when
    /// it stays inside the project — also after following symlinks, of the path itself and of the
    /// folders on the way. Absolute paths and paths that climb out (`/etc/passwd`, `../x`) are
    /// refused, so a scenario, flow or `harness.yaml` can never make the harness read, run in or
    /// echo something outside the project. The error is a message for the caller to locate.
    pub fn contained(&self, base: &Path, rel: &str) -> Result<PathBuf, OutsideProject> {
        contained(&self.root, base, rel)
    }
}

/// `path` relative to `root`, `/`-separated.
pub fn display_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Read a file of the project, as a diagnostic naming it when it cannot be read or when it
/// [leads outside the project](inside) (then nothing of it is read, so nothing of it is shown).
pub fn read_text(root: &Path, path: &Path) -> Result<String, Diagnostic> {
    inside(root, path).map_err(|e| Diagnostic::new(path, e.to_string()).relative_to(root))?;
    let bytes = std::fs::read(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            _ => e.to_string(),
        };
        let shown = path.strip_prefix(root).unwrap_or(path);
        Diagnostic::new(path, format!("cannot read {}: {reason}", shown.display())).relative_to(root)
    })?;
    decode(bytes).map_err(|(message, span)| Diagnostic::new(path, message).at(span).relative_to(root))
}

/// A file's bytes as text: a leading byte-order mark (editors on Windows write one) is dropped,
/// and bytes that are not UTF-8 are an error at their line and column.
fn decode(mut bytes: Vec<u8>) -> Result<String, (String, harness_core::SourceSpan)> {
    if bytes.starts_with("\u{feff}".as_bytes()) {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        let text = String::from_utf8_lossy(&bytes);
        // The lossy text has the same bytes up to `at`.
        let span = harness_core::SourceSpan::from_offset(&text, at, 1);
        (format!("the file is not UTF-8 text: byte 0x{:02X} does not belong here; save it as UTF-8", bytes[at]), span)
    })
}

/// Every file under `dir` as a path relative to it with `/` separators, sorted. Symlinked folders
/// are not entered, so a link cannot lead the walk out of the project or round in a loop.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    out.sort();
    out
}

/// Every `*.yaml` / `*.yml` file under `dir`, sorted, for deterministic loading order. A symlink
/// that leads outside `dir` is listed but never entered or read here: reading it is refused as
/// [leading outside the project](inside), so it is an error, not a file silently left out. A
/// symlinked folder inside is visited once, so a link to a parent cannot loop.
pub fn yaml_files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let real_dir = std::fs::canonicalize(dir)?;
    // The folder itself counts as visited, so a link back up to it is not walked again.
    let mut visited = std::collections::BTreeSet::from([real_dir.clone()]);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_symlink()
                && !std::fs::canonicalize(&path).is_ok_and(|real| real.starts_with(&real_dir))
            {
                if path.is_dir() || matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                    out.push(path);
                }
                continue;
            }
            if path.is_dir() {
                if !visited.insert(std::fs::canonicalize(&path)?) {
                    continue;
                }
                stack.push(path);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A path [`contained`] or [`inside`] refuses: one that would leave the project.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutsideProject {
    #[error("the path is empty")]
    Empty,
    #[error("`{0}` is an absolute path; paths in the project's files are relative and stay inside the project")]
    Absolute(String),
    #[error("`{0}` leads outside the project; paths in the project's files stay inside it")]
    Climbs(String),
    #[error(
        "`{0}` leads outside the project (a symlink to a file elsewhere); the harness reads and writes only files inside the project"
    )]
    Symlink(String),
}

/// [`Project::contained`] for a project rooted at `root`.
pub fn contained(root: &Path, base: &Path, rel: &str) -> Result<PathBuf, OutsideProject> {
    let path = Path::new(rel);
    if rel.is_empty() {
        return Err(OutsideProject::Empty);
    }
    if path.is_absolute() || path.has_root() || rel.contains('\0') {
        return Err(OutsideProject::Absolute(rel.to_string()));
    }
    let outside = || OutsideProject::Climbs(rel.to_string());
    // Lexically first: `..` must not climb above the root, whatever exists on disk.
    let mut joined = base.to_path_buf();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir if !joined.pop() || !joined.starts_with(root) => return Err(outside()),
            std::path::Component::ParentDir => {}
            std::path::Component::Normal(p) => joined.push(p),
            _ => {}
        }
    }
    if !joined.starts_with(root) {
        return Err(outside());
    }
    // Then on disk.
    inside(root, &joined).map_err(|_| outside())?;
    Ok(joined)
}

/// Whether `path`, a file of the project (to read, or to write: it need not exist yet), resolves
/// inside the project rooted at `root` after following symlinks — of the file itself and of the
/// folders on the way: the deepest part of it that exists, resolved, must be inside the resolved
/// root. Every file the harness reads from a project or writes into it passes here, so a link
/// to `/proc/self/environ` or a snapshot folder linked elsewhere is refused, never followed.
pub fn inside(root: &Path, path: &Path) -> Result<(), OutsideProject> {
    let Some(real) = path.ancestors().find_map(|a| std::fs::canonicalize(a).ok()) else { return Ok(()) };
    // The root is usually already resolved (discovery resolves it): one system call per file.
    if real.starts_with(root) || real.starts_with(std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf())) {
        return Ok(());
    }
    Err(OutsideProject::Symlink(display_path(root, path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(root: &Path) -> Project {
        Project { root: root.to_path_buf(), settings: Settings::default(), config_text: String::new() }
    }

    #[test]
    fn text_is_utf8_without_a_byte_order_mark() {
        assert_eq!(decode(b"\xEF\xBB\xBFflow: x\n".to_vec()).unwrap(), "flow: x\n");
        let (message, span) = decode(b"flow: x\nname: Zo\xEB\n".to_vec()).unwrap_err();
        assert_eq!((span.line, span.column), (2, 9));
        assert!(message.contains("0xEB"), "{message}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1PiB").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("180d"), Ok(180 * 86_400));
        assert_eq!(parse_age("2w"), Ok(14 * 86_400));
        assert_eq!(parse_age("36h"), Ok(36 * 3600));
        for bad in ["180", "0d", "6 months", "d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contained_paths_stay_in_the_project() {
        let dir = std::env::temp_dir().join(format!("harness-contained-{}", std::process::id()));
        let root = dir.join("p");
        std::fs::create_dir_all(root.join("flows/tables")).unwrap();
        std::fs::create_dir_all(dir.join("outside")).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        let p = project(&root);
        let flows = root.join("flows");
        assert_eq!(p.contained(&flows, "tables/x.csv").unwrap(), flows.join("tables/x.csv"));
        assert_eq!(p.contained(&flows, "../mocks/a.json").unwrap(), root.join("mocks/a.json"));
        assert_eq!(p.contained(&flows, "./tables/../x.csv").unwrap(), flows.join("x.csv"));
        for bad in ["/etc/passwd", "../../x", "../..", "", "tables/../../../x"] {
            assert!(p.contained(&flows, bad).is_err(), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("outside"), flows.join("link")).unwrap();
            let err = p.contained(&flows, "link/secret.csv").unwrap_err();
            assert_eq!(err, OutsideProject::Climbs("link/secret.csv".into()));
            assert!(err.to_string().contains("leads outside the project"), "{err}");
            std::os::unix::fs::symlink(&flows, flows.join("tables/loop")).unwrap();
            let found = yaml_files_under(&flows).unwrap();
            assert_eq!(found, [flows.join("link")], "listed, to be refused when read");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
