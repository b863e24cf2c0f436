//! `harness import FILE…`: captured traffic brought into the project, redacted like a recording
//! session. HAR 1.2 files (browser devtools, mitmproxy, Charles, Proxyman, Fiddler) give whole
//! exchanges; any other file is one payload — a webhook body, a Shopify REST envelope, a NetSuite
//! REST answer, a Peoplevox SOAP envelope — recorded as the answer it is.
//!
//! The system and version come from each exchange's host, path and headers (each system says
//! what it recognises: `System::recognises`, `System::version_named`), else from `--system` /
//! `--version`, else from the defaults in `harness.yaml`. HAR entries for
//! hosts the harness does not know are skipped and listed.

use std::collections::{BTreeMap, btree_map::Entry};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use harness_core::{Error, Style, SystemId};
use harness_engine::events::{AnalysisResult, Suite};
use harness_syntax::Project;
use harness_systems::Registry;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::capture::Captured;
use crate::session::{Drafts, Recorded, Session};

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub files: Vec<PathBuf>,
    /// For exchanges and payloads that do not say.
    pub system: Option<SystemId>,
    pub version: Option<String>,
    /// When the payloads were captured (RFC 3339); default: HAR entries' own times, else now.
    pub now: String,
}

/// What an import did, for the terminal.
#[derive(Debug, Default)]
pub struct Imported {
    pub lines: Vec<String>,
    /// Hosts of skipped HAR entries, with how many entries each.
    pub skipped: BTreeMap<String, usize>,
    pub written: usize,
    pub refused: usize,
    /// Redaction counts over every session, by system version.
    pub summaries: Vec<(String, harness_redact::Redactions)>,
}

/// Not a gate: no JUnit suites; the exit code says whether a payload was refused.
impl AnalysisResult for Imported {
    fn title(&self) -> String {
        "import".into()
    }

    fn terminal(&self, _style: Style) -> String {
        let mut out: String = self.lines.iter().map(|l| format!("{l}\n")).collect();
        if !self.skipped.is_empty() {
            let hosts: Vec<String> = self.skipped.iter().map(|(h, n)| format!("{h} ({n})")).collect();
            out.push_str(&format!("skipped entries for hosts the harness does not know: {}\n", hosts.join(", ")));
        }
        for (label, summary) in &self.summaries {
            out.push_str(&format!("redacted ({label}): {summary}\n"));
        }
        out.push_str(&format!(
            "imported {} recording(s){}\n",
            self.written,
            if self.refused > 0 { format!(", {} refused", self.refused) } else { String::new() }
        ));
        out
    }

    fn json(&self) -> Value {
        let redacted: Vec<Value> = self.summaries.iter().map(|(label, s)| json!({"version": label, "credentials": s.credentials, "emails": s.emails, "phones": s.phones, "names": s.names, "streets": s.streets, "ips": s.ips, "custom": s.custom})).collect();
        json!({"written": self.written, "refused": self.refused, "lines": self.lines, "skipped_hosts": self.skipped, "redacted": redacted})
    }

    fn suites(&self) -> Vec<Suite> {
        Vec::new()
    }
}

#[derive(Deserialize)]
struct Har {
    log: HarLog,
}

#[derive(Deserialize)]
struct HarLog {
    #[serde(default)]
    entries: Vec<HarEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarEntry {
    started_date_time: Option<String>,
    request: HarRequest,
    response: HarResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarRequest {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<HarHeader>,
    post_data: Option<HarPostData>,
}

#[derive(Deserialize)]
struct HarHeader {
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct HarPostData {
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct HarResponse {
    status: u16,
    #[serde(default)]
    headers: Vec<HarHeader>,
    content: HarContent,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarContent {
    #[serde(default)]
    text: String,
    encoding: Option<String>,
}

/// Sessions by system version, made as exchanges of each arrive.
struct Sessions<'p> {
    project: &'p Project,
    /// The systems whose traffic is recognised.
    registry: Registry,
    open: BTreeMap<(SystemId, String), Session>,
}

impl Sessions<'_> {
    /// An exchange, or with `payload` (its file name) a payload on its own.
    fn record(
        &mut self,
        at_version: (SystemId, String),
        source: &str,
        captured: &Captured,
        at: &str,
        payload: Option<&str>,
        out: &mut Imported,
    ) -> Result<(), Error> {
        let session = match self.open.entry(at_version) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let (system, version) = v.key().clone();
                v.insert(Session::new(self.project, system, &version, source, Drafts::default())?)
            }
        };
        session.set_source(source);
        let label = payload.map_or_else(|| captured.endpoint(), str::to_string);
        let outcome = match payload {
            Some(name) => session.record_payload(captured, at, None, &format!("imported/{name}"))?,
            None => session.record(captured, at)?,
        };
        match outcome {
            Recorded::Written(file) => {
                out.written += 1;
                out.lines.push(format!("  {label} → {file}"));
            }
            Recorded::Refused(labels) => {
                out.refused += 1;
                out.lines
                    .push(format!("  {label} NOT imported: a credential ({}) would remain in it", labels.join(", ")));
            }
        }
        Ok(())
    }
}

pub fn import(project: &Project, options: &ImportOptions) -> Result<Imported, Error> {
    let mut out = Imported::default();
    let mut sessions = Sessions { project, registry: Registry::builtin(), open: BTreeMap::new() };
    for file in &options.files {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.lines.push(format!("{}:", file.display()));
        match serde_json::from_str::<Har>(&text) {
            Ok(har) => import_har(&mut sessions, options, &name, har, &mut out)?,
            Err(_) if text.trim_start().starts_with("{\"log\"") => {
                return Err(Error::Usage(format!(
                    "{}: not a HAR 1.2 file (`log.entries` with `request` and `response`)",
                    file.display()
                )));
            }
            Err(_) => import_payload(&mut sessions, options, file, &text, &mut out)?,
        }
    }
    out.summaries = sessions.open.iter().map(|((s, v), session)| (format!("{s} {v}"), session.summary())).collect();
    Ok(out)
}

fn import_har(
    sessions: &mut Sessions<'_>,
    options: &ImportOptions,
    name: &str,
    har: Har,
    out: &mut Imported,
) -> Result<(), Error> {
    for entry in har.log.entries {
        let (host, path, query) = harness_core::encoding::split_url(&entry.request.url);
        let Some(system) =
            options.system.clone().or_else(|| sessions.registry.recognise(host, path).map(|s| s.id().clone()))
        else {
            *out.skipped.entry(host.to_string()).or_default() += 1;
            continue;
        };
        let (host, path, query) = (host.to_string(), path.to_string(), query.map(str::to_string));
        let body = match entry.response.content.encoding.as_deref() {
            Some("base64") => STANDARD.decode(entry.response.content.text.trim()).unwrap_or_default(),
            _ => entry.response.content.text.into_bytes(),
        };
        let headers = |h: Vec<HarHeader>| {
            h.into_iter().filter(|h| !h.name.starts_with(':')).map(|h| (h.name, h.value)).collect::<Vec<_>>()
        };
        let captured = Captured {
            method: entry.request.method,
            path,
            query,
            request_headers: headers(entry.request.headers),
            request_body: entry.request.post_data.map(|p| p.text.into_bytes()).unwrap_or_default(),
            status: entry.response.status,
            response_headers: headers(entry.response.headers),
            response_body: body,
        };
        let Some(version) = version_of(sessions, options, &system, &captured) else {
            out.lines.push(format!(
                "  {} skipped: no API version in it for {system}; name one with --version",
                captured.endpoint()
            ));
            continue;
        };
        let at = entry.started_date_time.as_deref().and_then(utc_seconds).unwrap_or_else(|| options.now.clone());
        sessions.record((system, version), &format!("{host} (HAR file {name})"), &captured, &at, None, out)?;
    }
    Ok(())
}

/// A file holding one payload, recorded as the answer it is.
fn import_payload(
    sessions: &mut Sessions<'_>,
    options: &ImportOptions,
    file: &Path,
    text: &str,
    out: &mut Imported,
) -> Result<(), Error> {
    let system =
        options.system.clone().or_else(|| sessions.registry.sender_of(text).map(|s| s.id().clone())).ok_or_else(
            || Error::Usage(format!("{}: cannot tell which system sent it; name it with --system", file.display())),
        )?;
    let name = file.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let captured = Captured {
        method: "GET".into(),
        path: format!("/{name}"),
        status: 200,
        response_headers: vec![(
            "Content-Type".into(),
            if text.trim_start().starts_with('<') { "text/xml; charset=utf-8" } else { "application/json" }.into(),
        )],
        response_body: text.as_bytes().to_vec(),
        ..Captured::default()
    };
    let version = version_of(sessions, options, &system, &captured).ok_or_else(|| {
        Error::Usage(format!(
            "{}: no API version for {system}: name it with --version, or set one under `systems:` in harness.yaml",
            file.display()
        ))
    })?;
    let source =
        format!("imported from {}", file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    sessions.record((system, version), &source, &captured, &options.now, Some(&name), out)
}

fn version_of(sessions: &Sessions<'_>, options: &ImportOptions, system: &SystemId, c: &Captured) -> Option<String> {
    let named = || {
        sessions.registry.get(system).and_then(|s| s.version_named(&c.path, &c.response_headers, &c.request_headers))
    };
    options
        .version
        .clone()
        .or_else(named)
        .or_else(|| sessions.project.settings.systems.get(system).map(|v| v.value.clone()))
}

/// HAR times (`2026-03-02T10:15:00.123Z`, `…+00:00`) as the harness writes them; other offsets
/// are converted to UTC.
fn utc_seconds(time: &str) -> Option<String> {
    let base = harness_core::clock::unix_seconds(&format!("{}Z", time.get(..19)?))?;
    let zone = time[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset: i64 = match zone {
        "Z" | "" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (h, m) = z.get(1..)?.split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    Some(harness_core::clock::rfc3339(u64::try_from(base as i64 - offset).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(utc_seconds("2026-03-02T10:15:00.123Z").as_deref(), Some("2026-03-02T10:15:00Z"));
        assert_eq!(utc_seconds("2026-03-02T11:15:00+01:00").as_deref(), Some("2026-03-02T10:15:00Z"));
    }
}
