//! One system at one API version, as its `system.yaml` describes it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use harness_core::SystemId;
use harness_mock::Matcher;
use harness_syntax::system_file::{KnownChange, Support, TemplateSpec};
use serde_json::Value;

use super::Schema;
use crate::declared::DeclaredApi;

#[derive(Debug, Clone)]
pub struct SystemVersion {
    pub system: SystemId,
    pub version: String,
    /// `mocks/<system>/<version>`
    pub dir: PathBuf,
    pub description: Option<String>,
    pub credentials: BTreeMap<String, String>,
    pub endpoints: Vec<Endpoint>,
    /// Peoplevox import/export templates by name.
    pub templates: BTreeMap<String, TemplateSpec>,
    /// The events it pushes, as its `system.yaml` files list them (see [`crate::Catalog::events`]).
    pub events: std::collections::BTreeSet<String>,
    pub support: Option<Support>,
    /// Properties the project adds to request schemas, by schema file.
    pub schema_extensions: BTreeMap<String, Value>,
    /// The built-in version this one lays over: itself, or — for a version the harness does not
    /// know yet — the latest one before it.
    pub builtin: Option<String>,
    /// What this version changed since the one before it.
    pub changes: Vec<KnownChange>,
    /// For a system the project declares: how its API behaves.
    pub api: Option<Arc<DeclaredApi>>,
    /// Every documented change of this version and the built-in ones before it, with the version
    /// that made it: the rules a mock of this version applies.
    pub in_force: Vec<(String, KnownChange)>,
    /// The recordings `harness versions add` carried over to this version without provenance of
    /// their own to say so (its `carried-over.txt`), with the hash their bytes had then.
    pub carried: BTreeMap<String, String>,
}

impl SystemVersion {
    /// `netsuite@2025.1`
    pub fn label(&self) -> String {
        format!("{}@{}", self.system, self.version)
    }

    pub fn credential(&self, key: &str) -> &str {
        self.credentials.get(key).map_or("", String::as_str)
    }

    /// The endpoint a request goes to, if the version declares it.
    pub fn endpoint(&self, method: &str, path: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.method == method && e.route.matches_route(method, path))
    }

    /// Credentials as environment variables for external programs (`HARNESS_NETSUITE_ACCOUNT_ID`, ...).
    pub fn credential_env(&self) -> BTreeMap<String, String> {
        self.credentials
            .iter()
            .map(|(k, v)| (format!("{}_{}", self.system.env_prefix(), k.to_ascii_uppercase()), v.clone()))
            .collect()
    }
}

/// An endpoint of a system version, with the schema its request bodies must satisfy.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
    pub(crate) route: Matcher,
    pub request_schema: Option<Arc<Schema>>,
    /// When set, this version no longer serves the endpoint; the text says what replaced it.
    pub removed: Option<String>,
    /// A declared system's answer when no stub matches.
    pub answer: Option<harness_core::MockResponse>,
}

#[cfg(test)]
impl SystemVersion {
    /// A version with just these credentials, for unit tests of a system.
    pub(crate) fn for_tests(system: &str, version: &str, credentials: &[(&str, &str)]) -> SystemVersion {
        SystemVersion {
            system: SystemId::new(system).expect("a valid name"),
            version: version.to_string(),
            dir: PathBuf::from("x"),
            description: None,
            credentials: credentials.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            endpoints: Vec::new(),
            templates: BTreeMap::new(),
            events: Default::default(),
            support: None,
            schema_extensions: BTreeMap::new(),
            builtin: None,
            changes: Vec::new(),
            api: None,
            in_force: Vec::new(),
            carried: BTreeMap::new(),
        }
    }
}
