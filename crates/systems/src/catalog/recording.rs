//! Recorded payloads: what a system sent or answered, with where it came from — and how an old
//! recording is carried to a new version by a version diff when the new version has none.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use harness_core::{Diagnostic, SourceSpan, SystemId};
use harness_syntax::system_file::RecordingMeta;
use serde_json::Value;

use super::SystemVersion;

#[derive(Debug)]
pub struct Recording {
    /// Project-relative path, for messages.
    pub file: String,
    /// The version folder it lives in.
    pub version: String,
    pub meta: RecordingMeta,
    pub status: Option<u16>,
    pub headers: BTreeMap<String, String>,
    /// The body as JSON, when it is JSON; shared by every case that uses the recording.
    pub json: Option<Arc<Value>>,
    pub body: Bytes,
}

impl Recording {
    /// What was called or delivered, without the version (`GET /admin/api/{version}/orders.json`,
    /// `webhook orders/create`), when the recording says; otherwise the stub or trigger that uses
    /// it says (see `used` in a case).
    pub fn scope(&self) -> Option<String> {
        self.meta.endpoint.as_ref().map(|e| endpoint_scope(e, &self.version))
    }
}

/// What a recording's provenance says when `harness versions add` carried it from an older
/// version: it was not recorded at its own, so it tells nothing about that version.
pub const CARRIED: &str = "carried over by `harness versions add`";

/// The file `harness versions add` writes in the new version's folder naming the bare recordings
/// it carried over (a bare body has no provenance of its own to say so): one `<sha256>  <path>`
/// line each. A file whose bytes no longer match was recorded again since.
pub const CARRIED_LIST: &str = "carried-over.txt";

/// A line of [`CARRIED_LIST`] for a recording carried over with `contents`.
pub fn carried_line(rel: &str, contents: &[u8]) -> String {
    format!("{}  {rel}\n", content_hash(contents))
}

/// The SHA-256 of a recording's bytes, as [`CARRIED_LIST`] names it (hex).
pub(crate) fn content_hash(contents: &[u8]) -> String {
    crate::crypto::hex(&crate::crypto::sha256(contents))
}

/// The recordings a [`CARRIED_LIST`] (`file`, holding `text`) names, each with the hash its bytes
/// had when carried over. A line that is not `<sha256>  <path>` is an error located at it: were
/// it skipped, the recording it meant would pass for one recorded at the new version.
pub(crate) fn carried_list(file: &Path, text: &str) -> Result<BTreeMap<String, String>, Diagnostic> {
    let mut list = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        match line.split_once("  ") {
            Some((hash, rel))
                if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) && !rel.trim().is_empty() =>
            {
                list.insert(rel.to_string(), hash.to_ascii_lowercase());
            }
            _ => {
                let span = SourceSpan::from_line_col(text, i + 1, 1, line.chars().count());
                return Err(Diagnostic::new(
                    file,
                    format!("cannot read this line of {CARRIED_LIST}: it is not `<sha256>  <path>`"),
                )
                .help(format!(
                    "`harness versions add` writes one line per recording it carried over: the SHA-256 of its \
                     bytes (64 hex digits), two spaces, its path in this folder; delete {CARRIED_LIST} if every \
                     recording here was recorded at this version"
                ))
                .at(span));
            }
        }
    }
    Ok(list)
}

/// `endpoint` with `version` replaced by `{version}` and the query left out.
pub fn endpoint_scope(endpoint: &str, version: &str) -> String {
    let e = endpoint.replace(version, "{version}");
    e.split('?').next().unwrap_or(&e).trim().to_string()
}

/// Turns a payload of the old version into one of the new (a version diff does).
pub trait Migrate: Send + Sync {
    /// `body`, a payload recorded for `scope` at the old version, as the new version sends it.
    fn migrate(&self, scope: &str, body: &Value) -> Value;
}

/// How to make a payload of `to` from one recorded at `from`.
#[derive(Clone)]
pub struct Migration {
    pub system: SystemId,
    pub from: Arc<SystemVersion>,
    pub to: String,
    pub diff: Arc<dyn Migrate>,
    /// The endpoint each recording of the system stands for, by path in its version folder.
    pub scopes: BTreeMap<String, String>,
}

/// An old recording carried to the new version: removed fields dropped, renamed ones moved.
/// Added fields cannot be invented, so they stay absent.
pub(crate) fn migrate(old: &Recording, rel: &str, system: &SystemVersion, m: &Migration) -> Recording {
    let scope = old.scope().or_else(|| m.scopes.get(rel).cloned()).unwrap_or_default();
    let json = old.json.as_ref().map(|j| Arc::new(m.diff.migrate(&scope, j)));
    let body = match &json {
        Some(j) => Bytes::from(serde_json::to_vec(j.as_ref()).expect("JSON values serialise")),
        None => old.body.clone(),
    };
    let mut meta = old.meta.clone();
    meta.version = Some(system.version.clone());
    meta.endpoint = meta.endpoint.map(|e| e.replace(&m.from.version, &system.version));
    meta.provenance =
        Some(format!("migrated from {} by the version diff: {}", old.file, meta.provenance.as_deref().unwrap_or("")));
    // Links in headers (Shopify's `Link` to the next page) name the version in their path.
    let (from, to) = (format!("/{}/", m.from.version), format!("/{}/", system.version));
    let headers = old.headers.iter().map(|(k, v)| (k.clone(), v.replace(&from, &to))).collect();
    Recording {
        file: format!("{} (migrated)", old.file),
        version: system.version.clone(),
        meta,
        status: old.status,
        headers,
        json,
        body,
    }
}
