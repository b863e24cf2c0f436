//! What the catalog holds, version by version, for `harness systems`: where each version comes
//! from (built in, the project, or both) and its support window.

use harness_syntax::system_file::Support;
use serde::Serialize;

use super::{Catalog, builtin};

/// Where a version's description comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    BuiltIn,
    /// The project's files laid over the built-in ones.
    BuiltInAndProject,
    Project,
}

#[derive(Debug, Clone)]
pub struct Listed {
    pub system: String,
    pub version: String,
    pub origin: Origin,
    /// For a project version the harness does not know: the built-in one it lays over.
    pub based_on: Option<String>,
    pub description: Option<String>,
    pub support: Option<Support>,
    /// Why the version could not be loaded, when it could not.
    pub problem: Option<String>,
}

impl Catalog {
    /// Every system and version the harness and the project know, by system (the built-in three
    /// first) then version.
    pub fn listing(&self) -> Vec<Listed> {
        let mut out = Vec::new();
        let mut systems: Vec<harness_core::SystemId> =
            self.systems().iter().filter_map(|s| harness_core::SystemId::new(s).ok()).collect();
        systems.sort();
        for id in systems {
            let system = id.to_string();
            for version in self.versions(&id) {
                let builtin = builtin::file(&format!("{system}/{version}/system.yaml")).is_some();
                let project =
                    self.mocks.as_ref().is_some_and(|m| m.join(&system).join(&version).join("system.yaml").is_file());
                let origin = match (builtin, project) {
                    (true, true) => Origin::BuiltInAndProject,
                    (true, false) => Origin::BuiltIn,
                    _ => Origin::Project,
                };
                let mut listed = Listed {
                    system: system.clone(),
                    version: version.clone(),
                    origin,
                    based_on: None,
                    description: None,
                    support: None,
                    problem: None,
                };
                match self.system(&id, &version) {
                    Ok(v) => {
                        listed.based_on = v.builtin.clone().filter(|b| *b != version);
                        listed.description.clone_from(&v.description);
                        listed.support.clone_from(&v.support);
                    }
                    Err(ds) => listed.problem = ds.first().map(|d| format!("{}: {}", d.location(), d.message)),
                }
                out.push(listed);
            }
        }
        out
    }
}
