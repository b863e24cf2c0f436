//! `harness init`: a working project in an existing repository — settings, an example
//! external-program flow in the repository's language, an example flow the harness runs itself,
//! their scenarios, a recorded webhook, and CI jobs — whose first run passes. The snapshots of that
//! first run are approved by `init` itself: they are what the examples send.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harness_core::{Error, Style, SystemId};
use harness_engine::events::{AnalysisResult, Suite};
use harness_engine::plan;
use harness_engine::runner::{self, RunOptions};
use harness_syntax::Project;
use harness_syntax::system_file::SupportStatus;
use harness_systems::Catalog;
use serde_json::{Value, json};

use crate::files::Written;

/// The language of the example program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Node,
}

impl Language {
    /// The repository's language, as its files show: Node when the project folder or the
    /// repository's root has a `package.json`.
    fn detect(dir: &Path, repository: &Path) -> Language {
        if [dir, repository].iter().any(|d| d.join("package.json").is_file()) {
            Language::Node
        } else {
            Language::Python
        }
    }

    fn program(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Language::Python => {
                ("python3", "flows/order_to_netsuite.py", include_str!("../templates/flows/order_to_netsuite.py"))
            }
            Language::Node => {
                ("node", "flows/order_to_netsuite.js", include_str!("../templates/flows/order_to_netsuite.js"))
            }
        }
    }

    /// How the CI jobs get the program's runtime: a GitHub Actions step, and a GitLab script line
    /// for the Rust image (Debian, with neither Node.js nor always Python).
    fn ci_runtime(self) -> (&'static str, &'static str) {
        match self {
            Language::Python => (
                "      - uses: actions/setup-python@v5\n        with:\n          python-version: \"3.12\"",
                "command -v python3 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends python3)",
            ),
            Language::Node => (
                "      - uses: actions/setup-node@v4\n        with:\n          node-version: 22",
                "command -v node || (apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs)",
            ),
        }
    }
}

pub struct InitOptions {
    pub dir: PathBuf,
    /// Only these systems (default: every built-in one).
    pub systems: Option<Vec<SystemId>>,
    /// The versions the team uses, by system (`--shopify 2026-01`); the others are those
    /// `harness.yaml` names when it exists, else the newest supported.
    pub versions: BTreeMap<SystemId, String>,
    /// Default: detected from the repository.
    pub language: Option<Language>,
    /// RFC 3339 UTC: which versions are supported today.
    pub now: String,
    /// Jobs for the first run.
    pub jobs: usize,
}

#[derive(Debug)]
pub struct InitReport {
    /// The project folder.
    pub dir: PathBuf,
    /// The repository root the CI files went to, when it is not the project folder.
    pub repository: PathBuf,
    pub files: Written,
    /// CI files, relative to the repository root.
    pub ci: Written,
    pub versions: BTreeMap<SystemId, String>,
    pub language: Language,
    /// Snapshots the first run approved.
    pub approved: usize,
    /// Scenario ids of the first run that did not pass, with why.
    pub failed: Vec<(String, String)>,
}

const SHOPIFY: &str = "shopify";
const NETSUITE: &str = "netsuite";
const PEOPLEVOX: &str = "peoplevox";

pub fn init(options: &InitOptions) -> Result<InitReport, Error> {
    let dir = &options.dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::Environment(format!("cannot create {}: {e}", dir.display())))?;
    let dir = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    let catalog = Catalog::builtin_only();
    let builtin: Vec<String> = catalog.systems();
    let selected: Vec<String> = match &options.systems {
        Some(list) => {
            if let Some(unknown) = list.iter().find(|s| !builtin.contains(&s.to_string())) {
                return Err(Error::Usage(format!(
                    "`{unknown}` is not a built-in system (built in: {}); a project declares its own under mocks/ after init",
                    builtin.join(", ")
                )));
            }
            list.iter().map(ToString::to_string).collect()
        }
        None => vec![SHOPIFY.into(), NETSUITE.into(), PEOPLEVOX.into()],
    };
    let has = |s: &str| selected.iter().any(|x| x == s);
    if !has(SHOPIFY) || !(has(NETSUITE) || has(PEOPLEVOX)) {
        return Err(Error::Usage(
            "the examples start from a Shopify order: --systems needs shopify and netsuite or peoplevox".into(),
        ));
    }
    let versions = team_versions(&catalog, &dir, &selected, options)?;
    let repository = repository_root(&dir);
    let language = options.language.unwrap_or_else(|| Language::detect(&dir, &repository));
    let shopify_version = &versions[&SystemId::new(SHOPIFY).expect("a valid name")];

    let mut files = Written::default();
    let systems_block: String = versions.iter().map(|(s, v)| format!("  {s}: \"{v}\"\n")).collect();
    files.file(
        &dir,
        "harness.yaml",
        include_str!("../templates/harness.yaml").replace("{{systems}}\n", &systems_block).as_bytes(),
    )?;
    files.file(
        &dir,
        &format!("mocks/{SHOPIFY}/{shopify_version}/webhooks/orders-create.json"),
        include_bytes!("../templates/orders-create.json"),
    )?;
    files.file(&dir, ".gitignore", b"# Pending snapshots of a failing run: review them (`harness review`), never commit them.\nsnapshots/**/*.snap.new\n")?;
    let mut scenarios = Vec::new();
    if has(NETSUITE) {
        let (interpreter, program, source) = language.program();
        let flow = include_str!("../templates/flows/order-to-netsuite.yaml")
            .replace("{{interpreter}}", interpreter)
            .replace("{{program}}", program);
        files.file(&dir, "flows/order-to-netsuite.yaml", flow.as_bytes())?;
        files.file(&dir, program, source.as_bytes())?;
        files.file(
            &dir,
            "scenarios/order-to-netsuite/new-customer.yaml",
            include_bytes!("../templates/scenarios/order-to-netsuite/new-customer.yaml"),
        )?;
        scenarios.push(PathBuf::from("scenarios/order-to-netsuite"));
    }
    // The flow the harness runs itself: to the warehouse when there is one, else to the ERP.
    let (builtin_flow, flow, scenario) = if has(PEOPLEVOX) {
        (
            "order-to-peoplevox",
            include_str!("../templates/flows/order-to-peoplevox.yaml"),
            include_str!("../templates/scenarios/order-to-peoplevox/new-order.yaml"),
        )
    } else {
        (
            "order-to-netsuite-steps",
            include_str!("../templates/flows/order-to-netsuite-steps.yaml"),
            include_str!("../templates/scenarios/order-to-netsuite-steps/new-order.yaml"),
        )
    };
    let reconciliation = sections(
        include_str!("../templates/reconcile/orders-daily.yaml"),
        &[("netsuite", has(NETSUITE)), ("peoplevox", has(PEOPLEVOX))],
    );
    files.file(&dir, "reconcile/orders-daily.yaml", reconciliation.as_bytes())?;
    let builtin_scenarios = format!("scenarios/{builtin_flow}");
    files.file(&dir, &format!("flows/{builtin_flow}.yaml"), flow.as_bytes())?;
    files.file(&dir, &format!("{builtin_scenarios}/new-order.yaml"), scenario.as_bytes())?;
    scenarios.push(PathBuf::from(builtin_scenarios));

    let root = relative(&repository, &dir);
    let snapshots = if root == "." { "snapshots".to_string() } else { format!("{root}/snapshots") };
    let (github_runtime, gitlab_runtime) = language.ci_runtime();
    let fill = |template: &str| {
        template
            .replace("{{github_runtime}}", github_runtime)
            .replace("{{gitlab_runtime}}", gitlab_runtime)
            .replace("{{root}}", &root)
            .replace("{{snapshots}}", &snapshots)
            .replace("{{git}}", env!("CARGO_PKG_REPOSITORY"))
            .replace("{{version}}", env!("CARGO_PKG_VERSION"))
    };
    let mut ci = Written::default();
    ci.file(&repository, ".github/workflows/harness.yml", fill(include_str!("../templates/ci/github.yml")).as_bytes())?;
    ci.file(&repository, ".gitlab-ci.yml", fill(include_str!("../templates/ci/gitlab.yml")).as_bytes())?;

    // The files stay written whatever the first run finds: the report says what to fix.
    let (approved, failed) =
        first_run(&dir, &scenarios, options.jobs).unwrap_or_else(|e| (0, vec![("first run".into(), e.to_string())]));
    Ok(InitReport { dir, repository, files, ci, versions, language, approved, failed })
}

/// `template` with each `{{#name}}`…`{{/name}}` block kept (without its markers) or dropped.
fn sections(template: &str, keep: &[(&str, bool)]) -> String {
    let mut out = String::new();
    let mut dropping = false;
    for line in template.split_inclusive('\n') {
        let marker = line.trim().strip_prefix("{{").and_then(|m| m.strip_suffix("}}"));
        match marker {
            Some(m) if m.starts_with('#') => dropping = !keep.iter().any(|(name, on)| *on && m[1..] == **name),
            Some(m) if m.starts_with('/') => dropping = false,
            _ if !dropping => out.push_str(line),
            _ => {}
        }
    }
    out
}

/// For each selected system the version the team uses: given on the command line, else named by
/// an existing `harness.yaml` (which init leaves alone, so the examples must run at its versions),
/// else the newest supported. Each must be a version the harness has built in.
fn team_versions(
    catalog: &Catalog,
    dir: &Path,
    selected: &[String],
    options: &InitOptions,
) -> Result<BTreeMap<SystemId, String>, Error> {
    if let Some(other) = options.versions.keys().find(|s| !selected.contains(&s.to_string())) {
        return Err(Error::Usage(format!(
            "a version for {other}, which is not among the systems set up ({})",
            selected.join(", ")
        )));
    }
    let existing =
        if dir.join("harness.yaml").is_file() { Project::open(dir)?.settings.systems } else { BTreeMap::new() };
    let mut versions = current_versions(catalog, selected, &options.now);
    for (system, version) in versions.iter_mut() {
        let Some(wanted) = options.versions.get(system).or(existing.get(system).map(|v| &v.value)) else { continue };
        let known = catalog.versions(system);
        if !known.contains(wanted) {
            return Err(Error::Usage(format!(
                "{system} {wanted} is not a version the harness has built in (it knows {}); `harness versions add` makes others once the project exists",
                known.join(", ")
            )));
        }
        version.clone_from(wanted);
    }
    Ok(versions)
}

/// For each system, the newest built-in version supported at `now` (else the newest stable one).
fn current_versions(catalog: &Catalog, systems: &[String], now: &str) -> BTreeMap<SystemId, String> {
    let listing = catalog.listing();
    let mut out = BTreeMap::new();
    for system in systems {
        let of_system: Vec<_> = listing.iter().filter(|l| &l.system == system).collect();
        let status =
            |l: &&harness_systems::Listed| l.support.as_ref().map_or(SupportStatus::Unknown, |s| s.status(now));
        let pick = of_system
            .iter()
            .rev()
            .find(|l| matches!(status(l), SupportStatus::Supported { .. }))
            .or_else(|| of_system.iter().rev().find(|l| status(l) != SupportStatus::ReleaseCandidate))
            .or(of_system.last());
        if let (Some(l), Ok(id)) = (pick, SystemId::new(system)) {
            out.insert(id, l.version.clone());
        }
    }
    out
}

/// The nearest folder at or above `dir` holding `.git`, else `dir`.
fn repository_root(dir: &Path) -> PathBuf {
    dir.ancestors().find(|d| d.join(".git").exists()).unwrap_or(dir).to_path_buf()
}

fn relative(base: &Path, path: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(p) if p.as_os_str().is_empty() => ".".into(),
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

/// Run the example scenarios once, approving their snapshots: what they send is the example.
fn first_run(dir: &Path, scenarios: &[PathBuf], jobs: usize) -> Result<(usize, Vec<(String, String)>), Error> {
    let project = Project::open(dir)?;
    let paths: Vec<PathBuf> = scenarios.iter().map(|s| dir.join(s)).collect();
    let plan = plan::build(&project, &paths)?;
    let options = RunOptions { accept: true, ..RunOptions::new(jobs, project.strict()) };
    let summary = runner::run(&project, &plan, &options, &mut [])?;
    let approved = summary
        .cases
        .iter()
        .flat_map(|c| &c.snapshots)
        .filter(|s| s.action == harness_engine::events::SnapshotAction::Accepted)
        .count();
    let failed = summary
        .cases
        .iter()
        .filter(|c| !c.passed)
        .map(|c| (c.id.clone(), c.findings.iter().find(|f| !f.warning).map_or_else(String::new, |f| f.message.clone())))
        .collect();
    Ok((approved, failed))
}

/// Not a gate: no JUnit suites; the exit code says whether the first run passed.
impl AnalysisResult for InitReport {
    fn title(&self) -> String {
        "init".into()
    }

    fn terminal(&self, _style: Style) -> String {
        let mut out = String::new();
        let versions: Vec<String> = self.versions.iter().map(|(s, v)| format!("{s} {v}")).collect();
        let language = match self.language {
            Language::Python => "Python",
            Language::Node => "Node.js",
        };
        out.push_str(&format!(
            "harness project in {} ({}; example program in {language})\n",
            self.dir.display(),
            versions.join(", ")
        ));
        for f in &self.files.written {
            out.push_str(&format!("  wrote {f}\n"));
        }
        // CI files live at the repository's root, which may be above the project.
        let in_repository = |f: &String| {
            if self.repository == self.dir { f.clone() } else { self.repository.join(f).display().to_string() }
        };
        for f in &self.ci.written {
            out.push_str(&format!("  wrote {}\n", in_repository(f)));
        }
        let skipped: Vec<String> =
            self.files.skipped.iter().cloned().chain(self.ci.skipped.iter().map(in_repository)).collect();
        if !skipped.is_empty() {
            out.push_str("left alone (they exist already):\n");
            for f in skipped {
                out.push_str(&format!("  {f}\n"));
            }
        }
        if self.failed.is_empty() {
            out.push_str(&format!(
                "first run passed; {} snapshot(s) approved: what the examples send, under snapshots/\n",
                self.approved
            ));
            out.push_str(&format!("next: `harness run` in {}", self.dir.display()));
            if self.files.written.iter().chain(&self.files.skipped).any(|f| f == "flows/order-to-netsuite.yaml") {
                out.push_str("; make flows/order-to-netsuite.yaml run your own program");
            }
            out.push_str("; commit everything but snapshots/**/*.snap.new\n");
        } else {
            out.push_str("the first run did not pass:\n");
            for (id, why) in &self.failed {
                out.push_str(&format!("  {id}: {why}\n"));
            }
        }
        out
    }

    fn json(&self) -> Value {
        let language = match self.language {
            Language::Python => "python",
            Language::Node => "node",
        };
        let failed: Vec<Value> = self.failed.iter().map(|(id, why)| json!({"scenario": id, "why": why})).collect();
        json!({"dir": self.dir, "repository": self.repository, "versions": self.versions, "language": language, "written": self.files.written, "ci_written": self.ci.written, "skipped": self.files.skipped, "ci_skipped": self.ci.skipped, "approved": self.approved, "failed": failed})
    }

    fn suites(&self) -> Vec<Suite> {
        Vec::new()
    }
}
