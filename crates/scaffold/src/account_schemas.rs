//! `harness schemas import SYSTEM`: the account's own record definitions — a document the system
//! describes its accounts' records in, from a file or fetched from the account (reading only, with
//! credentials from the environment) — written as the project's schema extensions
//! (`mocks/<system>/<version>/system.yaml`, `schema_extensions:`) for the records the flows touch,
//! so scenarios validate what flows send against the account's real definitions. What the
//! document is, and which requests carry which record, is the system's
//! ([`harness_systems::account::AccountSchemas`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use harness_core::{Diagnostic, Diagnostics, Error, SourceSpan, Style, SystemId, did_you_mean};
use harness_engine::events::{AnalysisResult, Suite};
use harness_redact::SecretMask;
use harness_syntax::project::{self, Project};
use harness_systems::account::{AccountRecord, AccountSchemas};
use harness_systems::{Catalog, Registry, SystemVersion};
use serde_json::{Value, json};

/// Where the document comes from.
pub enum Source {
    File(PathBuf),
    /// The account's base URL and the authentication method (default: the system's first).
    Account {
        url: String,
        auth: Option<String>,
    },
}

pub struct SchemaImport {
    /// The system, as the user named it.
    pub system: String,
    pub source: Source,
    /// The version folder written (default: the project's newest, else the newest known).
    pub version: Option<String>,
}

/// What an import wrote.
#[derive(Debug)]
pub struct ImportedSchemas {
    pub system: SystemId,
    /// The file written, relative to the project.
    pub file: String,
    pub records: Vec<AccountRecord>,
    /// Records the flows touch that the import could not extend, each with why.
    pub left: Vec<String>,
}

/// Not a gate: no JUnit suites.
impl AnalysisResult for ImportedSchemas {
    fn title(&self) -> String {
        format!("schemas import {}", self.system)
    }

    fn terminal(&self, _style: Style) -> String {
        let mut out = String::new();
        for r in &self.records {
            let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
            out.push_str(&format!(
                "{}: custom fields {}; standard fields added {}; values checked {}\n",
                r.name,
                list(&r.custom_fields),
                list(&r.added_fields),
                list(&r.enumerated)
            ));
        }
        for l in &self.left {
            out.push_str(&format!("note: {l}\n"));
        }
        out.push_str(&format!(
            "wrote {} ({} record(s)); scenarios now validate against them\n",
            self.file,
            self.records.len()
        ));
        out
    }

    fn json(&self) -> Value {
        let records: Vec<Value> = self
            .records
            .iter()
            .map(|r| json!({"name": r.name, "custom_fields": r.custom_fields, "added_fields": r.added_fields}))
            .collect();
        json!({"file": self.file, "records": records, "left": self.left})
    }

    fn suites(&self) -> Vec<Suite> {
        Vec::new()
    }
}

/// Everything from this line on in `system.yaml` is the import's; importing again replaces it.
fn mark(system: &SystemId) -> String {
    format!("# Written by `harness schemas import {system}`")
}

pub fn import_schemas(project: &Project, options: &SchemaImport) -> Result<ImportedSchemas, Error> {
    let catalog = Catalog::new(project);
    let registry = Registry::for_project(&catalog).map_err(|d| Error::Config(Diagnostics(d)))?;
    let found = SystemId::new(&options.system).ok().and_then(|id| registry.get(&id).map(|s| (id, s)));
    let Some((id, kind, accounts)) = found.and_then(|(id, s)| s.account_schemas().map(|a| (id, s, a))) else {
        return Err(Error::Usage(format!(
            "schemas import {}: the harness imports the account's own record definitions of {} only",
            options.system,
            registry.names_where(|s| s.account_schemas().is_some()).join(", ")
        )));
    };
    let known = catalog.versions(&id);
    let folders: Vec<String> = project::files_under(&project.mocks_dir().join(id.as_str()))
        .iter()
        .filter_map(|f| f.split_once('/').map(|(v, _)| v.to_string()))
        .collect();
    let version = match &options.version {
        Some(v) if known.contains(v) || folders.contains(v) => v.clone(),
        Some(v) => {
            let hint = did_you_mean(v, known.iter().map(String::as_str))
                .map(|m| format!(" (did you mean {m}?)"))
                .unwrap_or_default();
            return Err(Error::Usage(format!("{id} has no version `{v}`{hint}; known: {}", known.join(", "))));
        }
        // The project's own folder first: that is the version its scenarios replay.
        None => folders
            .iter()
            .filter(|v| known.contains(v))
            .max()
            .or(known.last())
            .cloned()
            .ok_or_else(|| Error::Usage(format!("{id}: no version known")))?,
    };
    let system = catalog.system(&id, &version).map_err(|d| Error::Config(Diagnostics(d)))?;
    let touched = touched_records(project, accounts);
    let schemas = record_schemas(&system, accounts);

    let (shown, text) = match &options.source {
        Source::File(path) => (path.clone(), std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?),
        Source::Account { url, auth } => {
            let asked: Vec<String> = touched.iter().filter(|r| schemas.contains_key(*r)).cloned().collect();
            (
                PathBuf::from(format!("{url}{}", accounts.document_path())),
                fetch(&system, accounts, &kind.auth_methods(), url, auth.as_deref(), &asked)?,
            )
        }
    };
    let doc = accounts.read(&shown, &text)?;

    let mut records = Vec::new();
    let mut left = Vec::new();
    let mut extensions = BTreeMap::new();
    for record in &touched {
        let Some(rel) = schemas.get(record) else {
            left.push(format!(
                "{record}: the flows send it, but {id}@{version} has no request schema for it; not validated"
            ));
            continue;
        };
        if !doc.describes(record) {
            left.push(format!(
                "{record}: the flows send it, but the document does not describe it ({})",
                accounts.ask_for(record)
            ));
            continue;
        }
        let base = catalog.schema_source(&system, rel).map_err(|d| Error::Config(Diagnostics(d)))?;
        let found = doc.extension(record, &base);
        if !found.extension.is_empty() {
            extensions.insert(rel.clone(), Value::Object(found.extension.clone()));
        }
        records.push(found);
    }
    if touched.is_empty() {
        left.push(format!(
            "no flow sends a {} ({} in flows/ or snapshots/); nothing to extend",
            accounts.record_noun(),
            accounts.record_path()
        ));
    }
    let file = project.mocks_dir().join(id.as_str()).join(&version).join("system.yaml");
    write(project, &file, &id, &version, &source_line(&options.source), &extensions)?;
    Ok(ImportedSchemas { system: id, file: project.display_path(&file), records, left })
}

/// The record types the project's flows send, lower case: named in the flows (declared steps and
/// programs alike) or in the approved snapshots of what they sent, as the system recognises them.
fn touched_records(project: &Project, accounts: &dyn AccountSchemas) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for dir in [project.flows_dir(), project.snapshots_dir()] {
        for rel in project::files_under(&dir) {
            let Ok(text) = std::fs::read_to_string(dir.join(&rel)) else { continue };
            out.extend(accounts.records_sent(&text));
        }
    }
    out
}

/// The request schema of each record type the version validates, by lower-case name.
fn record_schemas(system: &SystemVersion, accounts: &dyn AccountSchemas) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in &system.endpoints {
        let (Some(record), Some(schema)) = (accounts.record_at(&e.path), &e.request_schema) else {
            continue;
        };
        if let Some(at) = schema.file.rfind("schemas/") {
            out.entry(record).or_insert_with(|| schema.file[at..].to_string());
        }
    }
    out
}

/// The document from the account: credentials from `HARNESS_<SYSTEM>_<KEY>`, never shown.
fn fetch(
    system: &Arc<SystemVersion>,
    accounts: &dyn AccountSchemas,
    methods: &[&str],
    url: &str,
    auth: Option<&str>,
    records: &[String],
) -> Result<String, Error> {
    let id = &system.system;
    let parsed = url.strip_suffix('/').unwrap_or(url);
    let host = parsed.strip_prefix("https://").or_else(|| parsed.strip_prefix("http://"));
    if host.is_none_or(|h| h.is_empty() || h.contains('/')) {
        return Err(Error::Usage(format!(
            "--from-account {url}: write the account's base address only, {}",
            accounts.account_url()
        )));
    }
    let auth = auth.or(methods.first().copied()).unwrap_or_default();
    let needed = accounts.credentials_for(auth);
    if needed.is_empty() {
        return Err(Error::Usage(format!("--auth {auth}: {id} authenticates with {}", methods.join(" or "))));
    }
    if records.is_empty() {
        return Err(Error::Usage(format!(
            "--from-account: no flow sends a {} the harness validates, so there is nothing to ask {} for",
            accounts.record_noun(),
            accounts.describer()
        )));
    }
    let mut account = (**system).clone();
    account.credentials.clear();
    let mut secrets = Vec::new();
    for key in needed {
        let var = format!("{}_{}", system.system.env_prefix(), key.to_ascii_uppercase());
        let value = std::env::var(&var).map_err(|_| {
            Error::Environment(format!(
                "--from-account: credential `{key}` ({auth}): the environment variable {var} is not set"
            ))
        })?;
        secrets.push(value.clone());
        account.credentials.insert(key.to_string(), value);
    }
    let mask = SecretMask::new(secrets);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the client: {e}")))?;
    runtime
        .block_on(accounts.fetch(Arc::new(account), auth, parsed, records))
        .map_err(|e| Error::Environment(mask.mask(&format!("{id} ({parsed}): {e}")).into_owned()))
}

fn source_line(source: &Source) -> String {
    match source {
        Source::File(path) => format!("from {}", path.display()),
        Source::Account { url, .. } => format!("from the metadata catalog of {url}"),
    }
}

/// Write the extensions as the last part of `system.yaml`: after the project's own lines, from
/// [`mark`] on (replacing an earlier import). Extensions written by hand in the same file are
/// refused, located: two `schema_extensions:` keys would not read.
fn write(
    project: &Project,
    file: &Path,
    system: &SystemId,
    version: &str,
    source: &str,
    extensions: &BTreeMap<String, Value>,
) -> Result<(), Error> {
    let existing = match file.is_file() {
        true => project::read_text(&project.root, file)?,
        false => format!("system: {system}\nversion: \"{version}\"\n"),
    };
    let mark = mark(system);
    let own = existing.find(&mark).map_or(existing.as_str(), |at| &existing[..at]);
    if let Some(at) = own.lines().position(|l| l.starts_with("schema_extensions:")) {
        let offset: usize = own.lines().take(at).map(|l| l.len() + 1).sum();
        let d = Diagnostic::new(file, "schema_extensions written by hand: move them into schemas/ files, or remove them, before importing the account's definitions (the import writes this key)")
            .at(SourceSpan::from_offset(own, offset, "schema_extensions".len()))
            .relative_to(&project.root);
        return Err(Error::Config(Diagnostics(vec![d])));
    }
    let mut out = own.trim_end().to_string();
    out.push_str(&format!("\n\n{mark} {source}; importing again replaces\n# everything from the line above on: the account's own record definitions, custom fields included.\n"));
    if extensions.is_empty() {
        out.push_str("# (the schemas already take every field the account defines)\n");
    } else {
        out.push_str("schema_extensions:\n");
        for (rel, extension) in extensions {
            let json = serde_json::to_string_pretty(extension).expect("JSON");
            out.push_str(&format!("  {rel}:\n    {}\n", json.replace('\n', "\n    ")));
        }
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    harness_core::files::write_atomic(file, out.as_bytes()).map_err(|e| Error::io(file, e))
}
