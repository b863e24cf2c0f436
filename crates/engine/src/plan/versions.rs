//! Which API version of each system a scenario runs at: named in the scenario (a list means one
//! case per version), else the project's default, else the only one recorded.

use harness_core::{Diagnostic, SystemId};
use harness_flows::Flow;
use harness_syntax::scenario::ScenarioFile;
use harness_systems::{Catalog, Registry};

use super::relative;
use harness_syntax::Project;

/// Every system a case of `s` needs, with the versions to run it at.
pub(super) fn choose(
    project: &Project,
    catalog: &Catalog,
    registry: &Registry,
    s: &ScenarioFile,
    flow: &Flow,
) -> Result<Vec<(SystemId, Vec<String>)>, Vec<Diagnostic>> {
    let spec = &s.spec;
    let (file, text) = (&s.path, &s.text);
    let mut errors = Vec::new();
    let mut needed: Vec<SystemId> = flow.systems();
    needed.extend(spec.mocks.keys().cloned());
    needed.extend(spec.expect.requests.iter().map(|r| r.system.value.clone()));
    needed.extend(spec.expect.snapshots.iter().flatten().map(|k| k.value.clone()));
    needed.sort();
    needed.dedup();
    let mut choices = Vec::new();
    for id in &needed {
        let versions = match spec.systems.get_key_value(id) {
            Some((key, v)) => {
                let list = v.list();
                if list.is_empty() {
                    errors.push(s.key(&["systems", key.as_str()]).diagnostic(
                        file,
                        text,
                        format!("`{id}` lists no version"),
                    ));
                    continue;
                }
                list
            }
            None => match project.settings.systems.get(id) {
                Some(v) => vec![v.value.clone()],
                None => {
                    let recorded = catalog.versions(id);
                    if recorded.len() == 1 {
                        recorded
                    } else {
                        // Point at where a version would go: the first system named, else the flow.
                        let at = spec.systems.keys().next().map_or(spec.flow.span, |k| s.key(&["systems", k.as_str()]));
                        errors.push(at.diagnostic(
                            file,
                            text,
                            format!(
                                "which {id} API version? add `{id}: <version>` under `systems:` (recorded: {})",
                                recorded.join(", ")
                            ),
                        ));
                        continue;
                    }
                }
            },
        };
        choices.push((id.clone(), versions));
    }
    for key in spec.systems.keys() {
        if registry.contains(key) && !needed.contains(key) {
            errors.push(s.key(&["systems", key.as_str()]).diagnostic(
                file,
                text,
                format!("flow `{}` does not use {key}", flow.name),
            ));
        }
    }
    if errors.is_empty() { Ok(choices) } else { Err(relative(&project.root, errors)) }
}

/// Every combination of one version per system.
pub(super) fn combinations(choices: &[(SystemId, Vec<String>)]) -> Vec<Vec<(SystemId, String)>> {
    let mut out: Vec<Vec<(SystemId, String)>> = vec![Vec::new()];
    for (id, versions) in choices {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                versions.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push((id.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    out
}
