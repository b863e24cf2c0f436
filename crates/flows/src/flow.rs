//! Flows: the integration under test, loaded from `flows/<name>.yaml`. What every flow has — its
//! trigger, targets, redactions and invariants — is read here; what runs is a [`FlowDriver`] of
//! the kind the file declares.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use harness_core::{Diagnostic, SystemId};
use harness_expr::{Expr, VarNames};
use harness_syntax::flow::FlowSpec;
use harness_syntax::project::{self, Project};
use harness_syntax::{Loc, yaml};
use harness_systems::Registry;

use crate::driver::{FlowDriver, MappedField};
use crate::source::FlowSource;
use crate::{FlowTrigger, Reconcile, RecordSplit, builtin, command, service};

/// A loaded, compiled flow.
#[derive(Debug)]
pub struct Flow {
    pub name: String,
    pub file: PathBuf,
    pub description: Option<String>,
    pub trigger: FlowTrigger,
    /// Systems the flow writes to; their traffic is snapshotted unless a scenario says otherwise.
    pub targets: Vec<SystemId>,
    /// Redaction rules for snapshots of this flow's traffic.
    pub redact: Vec<String>,
    /// Invariants between source and targets checked in every scenario expecting success.
    pub reconcile: Vec<Reconcile>,
    /// Times a failed scenario of a program's flow is run again (`retries:`).
    pub retries: u32,
    /// Which kind the file declares, for messages about keys of another kind.
    pub kind: FlowKind,
    pub driver: Arc<dyn FlowDriver>,
}

/// The kinds of flow, each declared by its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    Builtin,
    Command,
    Service,
}

impl FlowKind {
    /// The key a flow file declares the kind with.
    pub fn key(self) -> &'static str {
        match self {
            FlowKind::Builtin => "steps",
            FlowKind::Command => "command",
            FlowKind::Service => "service",
        }
    }

    /// `a built-in flow (`steps`)`: what messages call it.
    pub fn describe(self) -> String {
        let what = match self {
            FlowKind::Builtin => "a built-in flow",
            FlowKind::Command => "an external program",
            FlowKind::Service => "a web service",
        };
        format!("{what} (`{}`)", self.key())
    }

    /// `built-in flows (`steps`)`, `external programs (`command`) or web services (`service`)`.
    pub fn list(kinds: &[FlowKind]) -> String {
        let plural = |k: &FlowKind| match k {
            FlowKind::Builtin => "built-in flows (`steps`)",
            FlowKind::Command => "external programs (`command`)",
            FlowKind::Service => "web services (`service`)",
        };
        kinds.iter().map(plural).collect::<Vec<_>>().join(" or ")
    }
}

impl Flow {
    /// Systems the flow talks to: its trigger's and its targets', plus any it calls.
    pub fn systems(&self) -> Vec<SystemId> {
        let mut all = vec![self.trigger.system.clone()];
        all.extend(self.targets.iter().cloned());
        all.extend(self.driver.called_systems());
        all.sort();
        all.dedup();
        all
    }

    /// Target fields and their sources as the flow's definition shows them.
    pub fn lineage(&self) -> &[MappedField] {
        self.driver.lineage()
    }

    /// The systems a run can contact, when the flow says so.
    pub fn contacted_systems(&self) -> Option<Vec<SystemId>> {
        self.driver.contacted_systems(&self.trigger)
    }
}

type Compile = fn(&FlowSource<'_>) -> Result<Arc<dyn FlowDriver>, Vec<Diagnostic>>;

/// Flows loaded from `flows/`, and the problems of those that did not load.
pub struct LoadedFlows {
    pub flows: BTreeMap<String, Arc<Flow>>,
    pub errors: Vec<Diagnostic>,
    /// Names of the flows whose files have errors (so scenarios using them are not blamed too).
    pub broken: Vec<String>,
}

/// Load every flow under `flows/` that `wanted` names (all when `None`).
pub fn load_flows(project: &Project, registry: &Registry, wanted: Option<&[String]>) -> LoadedFlows {
    let mut flows = BTreeMap::new();
    let mut errors = Vec::new();
    let mut broken = Vec::new();
    for file in flow_files(project) {
        let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if wanted.is_some_and(|w| !w.contains(&name)) {
            continue;
        }
        match load_flow(project, registry, &file, &name) {
            Ok(flow) => {
                flows.insert(name, Arc::new(flow));
            }
            Err(mut e) => {
                errors.append(&mut e);
                broken.push(name);
            }
        }
    }
    LoadedFlows { flows, errors, broken }
}

/// Names of the flows under `flows/`, for suggestions.
pub fn flow_names(project: &Project) -> Vec<String> {
    flow_files(project).iter().filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).collect()
}

fn flow_files(project: &Project) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(project.flows_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    files
}

fn load_flow(project: &Project, registry: &Registry, file: &Path, name: &str) -> Result<Flow, Vec<Diagnostic>> {
    let root = &project.root;
    let text = project::read_text(root, file).map_err(|d| vec![d])?;
    let spec: FlowSpec =
        yaml::parse(file, &text).map_err(|ds| ds.into_iter().map(|d| d.relative_to(root)).collect::<Vec<_>>())?;
    let source = FlowSource { project, registry, file, text: &text, spec: &spec };
    let mut errors = Vec::new();

    for system in std::iter::once(&spec.trigger.system).chain(&spec.targets) {
        if let Err(d) = registry.lookup(system, file, &text) {
            errors.push(d.relative_to(root));
        }
    }
    if let Some(fetch) = &spec.trigger.fetch
        && let Err(m) =
            harness_mock::Matcher::compile(&harness_syntax::stub::MatchSpec::route(Some(&fetch.method), &fetch.path))
    {
        errors.push(source.error(&fetch.path, m.to_string()));
    }
    let names = VarNames::new([]);
    let mut split_expr = |expr: &Option<Loc<String>>, what: &str| {
        let e = expr.as_ref()?;
        Expr::compile(e, &names)
            .map_err(|err| {
                errors.push(
                    e.span
                        .diagnostic_inside(
                            file,
                            &text,
                            err.offset,
                            err.len,
                            format!("trigger `{what}`: {}", err.message),
                        )
                        .relative_to(root),
                )
            })
            .ok()
    };
    let split = RecordSplit {
        records: split_expr(&spec.trigger.records, "records"),
        key: split_expr(&spec.trigger.key, "key"),
    };
    let trigger = FlowTrigger {
        system: spec.trigger.system.value.clone(),
        event: spec.trigger.event.clone(),
        fetch: spec.trigger.fetch.clone(),
        verify_signature: spec.trigger.verify_signature.unwrap_or(spec.trigger.fetch.is_none()),
        split,
    };
    if !errors.is_empty() {
        return Err(errors);
    }

    // The kinds of flow: the key a file declares one with, and how it compiles. One key, one kind.
    let kinds: [(FlowKind, bool, Compile); 3] = [
        (FlowKind::Builtin, spec.steps.is_some(), builtin::compile),
        (FlowKind::Command, spec.command.is_some(), command::compile),
        (FlowKind::Service, spec.service.is_some(), service::compile),
    ];
    let declared: Vec<&(FlowKind, bool, Compile)> = kinds.iter().filter(|k| k.1).collect();
    let (kind, compile) = match declared.as_slice() {
        [] => {
            return Err(vec![
            Diagnostic::new(
                file,
                "a flow needs `steps` (a built-in flow), `command` (an external program) or `service` (a web service)",
            )
            .relative_to(root),
        ]);
        }
        [(kind, _, compile)] => (*kind, compile),
        [_, (second, _, _), ..] => {
            let keys: Vec<&str> = declared.iter().map(|k| k.0.key()).collect();
            let at = yaml::key_span(&text, &[second.key()]).unwrap_or_default();
            return Err(vec![
                at.diagnostic(file, &text, format!("a flow is of one kind: `{}`, not both", keys.join("` or `")))
                    .relative_to(root),
            ]);
        }
    };
    // A key of one kind of flow in a flow of another would silently do nothing.
    const PROGRAMS: &[FlowKind] = &[FlowKind::Command, FlowKind::Service];
    let kind_keys: [(&[&str], bool, &[FlowKind]); 9] = [
        (&["env"], !spec.env.is_empty(), PROGRAMS),
        (&["cwd"], spec.cwd.is_some(), PROGRAMS),
        (&["pass_env"], !spec.pass_env.is_empty(), PROGRAMS),
        (&["retries"], spec.retries.is_some(), PROGRAMS),
        (&["timeout"], spec.timeout.is_some(), &[FlowKind::Command]),
        (&["auth"], !spec.auth.is_empty(), &[FlowKind::Builtin]),
        (&["tables"], !spec.tables.is_empty(), &[FlowKind::Builtin]),
        (&["delivery"], spec.delivery.is_some(), &[FlowKind::Builtin]),
        // A built-in flow's poll is a plain request; a program makes its own SOAP call.
        (
            &["trigger", "fetch", "soap_action"],
            spec.trigger.fetch.as_ref().is_some_and(|f| f.soap_action.is_some()),
            PROGRAMS,
        ),
    ];
    if let Some((key, _, for_kinds)) =
        kind_keys.iter().find(|(_, given, for_kinds)| *given && !for_kinds.contains(&kind))
    {
        let at = yaml::key_span(&text, key).unwrap_or_default();
        return Err(vec![
            at.diagnostic(
                file,
                &text,
                format!("`{}` is for {}; this flow is {}", key.join("."), FlowKind::list(for_kinds), kind.describe()),
            )
            .relative_to(root),
        ]);
    }
    let driver = compile(&source)?;
    let mut reconcile = Vec::new();
    for r in &spec.reconcile {
        match Reconcile::compile(r, file, &text) {
            Ok(c) => reconcile.push(c),
            Err(d) => errors.push(d.relative_to(root)),
        }
        if let Err(d) = registry.lookup(&r.system, file, &text) {
            errors.push(d.relative_to(root));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Flow {
        name: name.to_string(),
        file: file.to_path_buf(),
        description: spec.description.clone(),
        trigger,
        targets: spec.targets.iter().map(|t| t.value.clone()).collect(),
        redact: spec.redact.clone(),
        reconcile,
        retries: spec.retries.unwrap_or(0),
        kind,
        driver,
    })
}
