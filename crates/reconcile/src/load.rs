//! A reconciliation file compiled: jq expressions compiled, systems resolved, listers built — and
//! every write refused here, before anything is sent. Every problem names file:line:col (exit 2).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use harness_core::{Diagnostic, Error, SystemId};
use harness_expr::{Expr, VarNames};
use harness_syntax::{Loc, Project};
use harness_systems::records::{ListSpec, Lister};
use harness_systems::{Catalog, Registry, System, SystemVersion};

use crate::spec::{CompareSpec, ConnectionSpec, ReconcileFile};

/// The folder of reconciliation files in a project.
pub(crate) const FOLDER: &str = "reconcile";
const DEFAULT_LAG: Duration = Duration::from_secs(30 * 60);

pub(crate) struct Reconciliation {
    pub name: String,
    pub file: PathBuf,
    pub description: Option<String>,
    pub lag: Duration,
    pub systems: BTreeMap<SystemId, Connection>,
    pub source: Side,
    pub targets: Vec<Target>,
}

pub(crate) struct Connection {
    /// The system, which can be listed ([`System::records`]).
    pub system: Arc<dyn System>,
    pub version: Arc<SystemVersion>,
    pub reach: Reach,
}

pub(crate) enum Reach {
    /// Recorded listing answers, served on loopback.
    Fixture(PathBuf),
    /// The live system: its base URL, the authentication method and the environment variable
    /// of each credential.
    Live { url: String, auth: String, credentials: BTreeMap<String, String> },
}

impl Reconciliation {
    /// The source's own relation, for its duplicates and its listing.
    pub(crate) fn source_relation(&self) -> String {
        format!("{} (source)", self.source.system)
    }
}

pub(crate) struct Side {
    pub system: SystemId,
    pub lister: Box<dyn Lister>,
    pub key: Expr,
    pub at: Option<Expr>,
}

pub(crate) struct Target {
    pub name: String,
    pub side: Side,
    pub lines: Option<Expr>,
    pub fields: Vec<Compare>,
    pub totals: Vec<Compare>,
}

pub(crate) struct Compare {
    pub name: String,
    pub source: Expr,
    pub target: Expr,
    pub tolerance: f64,
}

/// The reconciliation files `names` asks for (all of reconcile/ when empty), compiled.
pub(crate) fn load_all(project: &Project, names: &[String]) -> Result<Vec<Reconciliation>, Error> {
    let dir = project.root.join(FOLDER);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let stem = |p: &PathBuf| p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if !names.is_empty() {
        if let Some(unknown) = names.iter().find(|n| !files.iter().any(|f| stem(f) == **n)) {
            let known: Vec<String> = files.iter().map(stem).collect();
            return Err(Error::Usage(format!(
                "no reconciliation `{unknown}` in {FOLDER}/ (there: {})",
                if known.is_empty() { "none".into() } else { known.join(", ") }
            )));
        }
        files.retain(|f| names.contains(&stem(f)));
    }
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "no reconciliation in {FOLDER}/: write {FOLDER}/<name>.yaml (see the README, \"The daily check\")"
        )));
    }
    let catalog = Catalog::new(project);
    let registry = Registry::for_project(&catalog)?;
    let mut problems = Vec::new();
    let mut loaded = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let shown = file.strip_prefix(&project.root).unwrap_or(&file).to_path_buf();
        match compile(&shown, &file, &text, &catalog, &registry) {
            Ok(r) => loaded.push(r),
            Err(d) => problems.extend(d),
        }
    }
    if !problems.is_empty() {
        return Err(Error::from(problems));
    }
    Ok(loaded)
}

fn compile(
    shown: &Path,
    file: &Path,
    text: &str,
    catalog: &Catalog,
    registry: &Registry,
) -> Result<Reconciliation, Vec<Diagnostic>> {
    let spec: ReconcileFile = harness_syntax::yaml::parse(shown, text)?;
    let mut problems = Vec::new();
    let lag = match &spec.lag {
        None => DEFAULT_LAG,
        Some(l) => harness_core::duration::parse(l).unwrap_or_else(|e| {
            problems.push(l.error(shown, text, format!("lag: {e}")));
            DEFAULT_LAG
        }),
    };
    let folder = file.parent().unwrap_or(Path::new("."));
    let mut systems = BTreeMap::new();
    for (id, c) in &spec.systems {
        match connection(shown, text, folder, id, c, catalog, registry) {
            Ok(conn) => {
                systems.insert(id.clone(), conn);
            }
            Err(d) => problems.extend(d),
        }
    }
    let declared: Vec<&SystemId> = spec.systems.keys().collect();
    let s = &spec.source;
    let scope = SideScope { shown, text, registry, declared: &declared };
    let source = side(&scope, &s.system, &s.list, &s.key, &s.at);
    let mut targets = Vec::new();
    for t in &spec.targets {
        let side = side(&scope, &t.system, &t.list, &t.key, &t.at);
        let lines = t.lines.as_ref().map(|l| expr(shown, text, l, "lines"));
        let compares = |list: &[CompareSpec]| list.iter().map(|c| compare(shown, text, c)).collect::<Vec<_>>();
        let (fields, totals) = (compares(&t.fields), compares(&t.totals));
        let mut ok = |r: Result<Compare, Diagnostic>| r.map_err(|d| problems.push(d)).ok();
        let fields: Vec<Compare> = fields.into_iter().filter_map(&mut ok).collect();
        let totals: Vec<Compare> = totals.into_iter().filter_map(&mut ok).collect();
        let lines = match lines.transpose() {
            Ok(l) => l,
            Err(d) => {
                problems.push(d);
                None
            }
        };
        match side {
            Ok(side) => targets.push(Target {
                name: t.name.clone().unwrap_or_else(|| side.system.to_string()),
                side,
                lines,
                fields,
                totals,
            }),
            Err(d) => problems.extend(d),
        }
    }
    if spec.targets.is_empty() {
        problems
            .push(Diagnostic::new(shown, "targets: list at least one downstream system to reconcile with the source"));
    }
    let source = match source {
        Ok(s) => Some(s),
        Err(d) => {
            problems.extend(d);
            None
        }
    };
    match source {
        Some(source) if problems.is_empty() => {
            let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Ok(Reconciliation {
                name,
                file: shown.to_path_buf(),
                description: spec.description,
                lag,
                systems,
                source,
                targets,
            })
        }
        _ => Err(problems),
    }
}

fn connection(
    shown: &Path,
    text: &str,
    folder: &Path,
    id: &SystemId,
    c: &ConnectionSpec,
    catalog: &Catalog,
    registry: &Registry,
) -> Result<Connection, Vec<Diagnostic>> {
    let at_key = || harness_syntax::yaml::key_span(text, &["systems", id.as_str()]).unwrap_or_default();
    let Some(system) = registry.get(id) else {
        return Err(vec![at_key().diagnostic(
            shown,
            text,
            format!("unknown system `{id}` (known: {})", registry.names().join(", ")),
        )]);
    };
    if system.records().is_none() {
        let listed = registry.names_where(|s| s.records().is_some());
        let listed = match listed.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, others)) => format!("{} and {last}", others.join(", ")),
            None => "none".to_string(),
        };
        return Err(vec![at_key().diagnostic(
            shown,
            text,
            format!("the harness has no lister for `{id}`: reconcile reads {listed}"),
        )]);
    }
    let version = match &c.version {
        Some(v) => catalog.system(id, v).map_err(|_| {
            vec![v.error(
                shown,
                text,
                format!("{id} has no version `{}` (known: {})", v.value, catalog.versions(id).join(", ")),
            )]
        })?,
        None => {
            let newest = catalog.versions(id).into_iter().rfind(|v| Catalog::is_builtin(id, v));
            let newest =
                newest.ok_or_else(|| vec![at_key().diagnostic(shown, text, format!("no version of {id} is known"))])?;
            catalog.system(id, &newest)?
        }
    };
    let reach = match (&c.fixture, &c.url) {
        (Some(f), None) => {
            let dir = folder.join(&f.value);
            if !dir.is_dir() {
                return Err(vec![f.error(shown, text, format!("fixture: no folder {}", dir.display()))]);
            }
            Reach::Fixture(dir)
        }
        (None, Some(u)) => {
            let parsed = reqwest::Url::parse(&u.value).map_err(|e| vec![u.error(shown, text, format!("url: {e}"))])?;
            // Plain HTTP is for a system on loopback (or behind a proxy there); the live systems are HTTPS.
            if !matches!(parsed.scheme(), "https" | "http")
                || parsed.host().is_none()
                || parsed.path() != "/"
                || parsed.query().is_some()
                || parsed.fragment().is_some()
                || !parsed.username().is_empty()
                || parsed.password().is_some()
            {
                return Err(vec![u.error(
                    shown,
                    text,
                    "url: write the system's base address only, `https://host[:port]`",
                )]);
            }
            let methods = system.auth_methods();
            let auth = match &c.auth {
                Some(a) if methods.contains(&a.value.as_str()) => a.value.clone(),
                Some(a) => {
                    return Err(vec![a.error(shown, text, format!("{id} authenticates by {}", methods.join(" or ")))]);
                }
                None => methods.first().map(|m| m.to_string()).unwrap_or_default(),
            };
            Reach::Live { url: u.value.trim_end_matches('/').to_string(), auth, credentials: c.credentials.clone() }
        }
        _ => {
            return Err(vec![at_key().diagnostic(
                shown,
                text,
                format!("{id}: give either `fixture:` (a folder of recorded answers) or `url:` (the live system)"),
            )]);
        }
    };
    Ok(Connection { system: system.clone(), version, reach })
}

/// What every side of a reconciliation is read against: its file and the systems it may name.
struct SideScope<'a> {
    shown: &'a Path,
    text: &'a str,
    registry: &'a Registry,
    declared: &'a [&'a SystemId],
}

fn side(
    scope: &SideScope,
    system: &Loc<SystemId>,
    list: &ListSpec,
    key: &Loc<String>,
    at: &Option<Loc<String>>,
) -> Result<Side, Vec<Diagnostic>> {
    let SideScope { shown, text, registry, declared } = *scope;
    let mut problems = Vec::new();
    if !declared.contains(&&system.value) {
        problems.push(system.error(
            shown,
            text,
            format!("`{}` is not under systems: (declare how to reach it)", system.value),
        ));
    }
    let lister = match registry.get(&system.value).and_then(|s| s.records()) {
        Some(records) => harness_systems::records::compile(records, &system.value, list, shown, text),
        None => Err(Diagnostic::new(shown, format!("the harness has no lister for `{}`", system.value))),
    };
    let lister = lister.map_err(|d| problems.push(d)).ok();
    let key = expr(shown, text, key, "key").map_err(|d| problems.push(d)).ok();
    let at = at.as_ref().map(|a| expr(shown, text, a, "at")).transpose().map_err(|d| problems.push(d)).ok().flatten();
    match (lister, key) {
        (Some(lister), Some(key)) if problems.is_empty() => Ok(Side { system: system.value.clone(), lister, key, at }),
        _ => Err(problems),
    }
}

fn compare(shown: &Path, text: &str, c: &CompareSpec) -> Result<Compare, Diagnostic> {
    let what = format!("`{}`", c.name);
    Ok(Compare {
        name: c.name.clone(),
        source: expr(shown, text, &c.source, &what)?,
        target: expr(shown, text, &c.target, &what)?,
        tolerance: c.tolerance.unwrap_or(0.005),
    })
}

fn expr(shown: &Path, text: &str, e: &Loc<String>, what: &str) -> Result<Expr, Diagnostic> {
    Expr::compile(e, &VarNames::new([]))
        .map(|x| x.with_origin(format!("reconcile {what}"), shown, e.span.line(text)))
        .map_err(|err| e.span.diagnostic_inside(shown, text, err.offset, err.len, format!("{what}: {}", err.message)))
}
