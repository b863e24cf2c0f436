//! Each subcommand carried out over the library: its arguments turned into options, its result
//! handed to the reporters. Each returns whether it passed; `main.rs` alone turns that, or the
//! error, into an exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use harness::events::Reporter;
use harness::report::{HtmlReporter, JsonReporter, JunitReporter, Links, SummaryReporter, TerminalReporter};
use harness::{Error, Project, RunOptions, Style, SystemId, plan, review, serve};

use super::args::{
    Cli, CoverageArgs, ImpactArgs, ImportArgs, InitArgs, LanguageChoice, LineageArgs, MergeArgs, ReconcileArgs,
    RecordArgs, RecordCommand, ReviewArgs, RunArgs, SchemasCommand, SelectArgs, ServeArgs,
};
use super::output::{Stdout, checked, env_var, out, render_analysis, say, summary_file, to_json};

/// Whether a command passed (exit 0) or found what it looks for (exit 1).
pub(crate) type Passed = bool;

/// `-j`: at least 1; the number of cores by default.
fn jobs(jobs: Option<usize>) -> Result<usize, Error> {
    match jobs {
        Some(0) => Err(Error::Usage("-j needs at least 1".into())),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(2, |n| n.get())),
    }
}

/// The instant support windows are judged at: `HARNESS_NOW` (a date or RFC 3339 UTC time, so
/// CI output can be pinned), else the clock.
fn now() -> Result<String, Error> {
    match std::env::var("HARNESS_NOW") {
        Ok(v) if v.len() == 10 && v.as_bytes()[4] == b'-' => Ok(format!("{v}T00:00:00Z")),
        Ok(v) if v.len() == 20 && v.ends_with('Z') => Ok(v),
        Ok(v) => Err(Error::Usage(format!("HARNESS_NOW=`{v}`: write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"))),
        Err(_) => Ok(harness::clock_now()),
    }
}

pub(crate) fn open_project(root: &Option<PathBuf>) -> Result<Project, Error> {
    match root {
        Some(r) => Project::open(&std::fs::canonicalize(r).map_err(|e| Error::io(r, e))?),
        None => Project::discover(&std::env::current_dir().map_err(|e| Error::io(&PathBuf::from("."), e))?),
    }
}

/// The cases `run` and `list` select (the plan chooses them), with each system version judged at
/// `now()`; the reasons cases were chosen by `--changed-since` go to standard error.
fn select(project: &Project, args: &SelectArgs) -> Result<plan::Plan, Error> {
    let selection = plan::Selection {
        tags: args.tags.clone(),
        share: args.partition,
        timings: args.timings.clone(),
        changed_since: args.changed_since.clone(),
    };
    let (plan, changed) = plan::build_selected(project, &args.paths, &selection, now()?, &env_var)?;
    if let (Some(changed), Some(since)) = (changed, &args.changed_since) {
        eprint!("{}", changed.render(since));
    }
    Ok(plan)
}

pub(crate) fn schema(report: bool, reconcile: bool) -> Result<Passed, Error> {
    let schema = if reconcile {
        harness::schema::reconcile()
    } else if report {
        harness::schema::report()
    } else {
        harness::schema::scenario()
    };
    out(&to_json(&schema))?;
    Ok(true)
}

pub(crate) fn completions(shell: clap_complete::Shell) -> Result<Passed, Error> {
    use clap::CommandFactory;
    clap_complete::generate(shell, &mut Cli::command(), "harness", &mut Stdout);
    Ok(true)
}

pub(crate) fn init(args: InitArgs, style: Style) -> Result<Passed, Error> {
    let language = args.language.map(|l| match l {
        LanguageChoice::Python => harness::scaffold::Language::Python,
        LanguageChoice::Node => harness::scaffold::Language::Node,
    });
    let versions = [("shopify", args.shopify), ("netsuite", args.netsuite), ("peoplevox", args.peoplevox)];
    let versions = versions.into_iter().filter_map(|(s, v)| Some((SystemId::new(s).ok()?, v?))).collect();
    let options = harness::scaffold::InitOptions {
        dir: args.dir,
        systems: args.systems,
        versions,
        language,
        now: now()?,
        jobs: jobs(None)?,
    };
    let report = harness::scaffold::init(&options)?;
    render_analysis(&report, style, &None, &args.json, &None, &None)?;
    Ok(report.failed.is_empty())
}

pub(crate) fn versions_add(
    root: &Option<PathBuf>,
    system: SystemId,
    new: String,
    from: String,
    json: Option<PathBuf>,
    style: Style,
) -> Result<Passed, Error> {
    let project = open_project(root)?;
    if new == from {
        return Err(Error::Usage(format!("the new version and --from are both {new}")));
    }
    let added = harness::scaffold::add_version(&project, &system, &from, &new)?;
    render_analysis(&added, style, &None, &json, &None, &None)?;
    Ok(true)
}

pub(crate) fn schemas_import(root: &Option<PathBuf>, command: SchemasCommand, style: Style) -> Result<Passed, Error> {
    let SchemasCommand::Import { system, file, from_account, auth, version, json } = command;
    let project = open_project(root)?;
    let source = match (file, from_account) {
        (Some(file), _) => harness::scaffold::Source::File(file),
        (None, Some(url)) => harness::scaffold::Source::Account { url, auth },
        (None, None) => return Err(Error::Usage("give FILE or --from-account URL".into())),
    };
    let imported =
        harness::scaffold::import_schemas(&project, &harness::scaffold::SchemaImport { system, source, version })?;
    render_analysis(&imported, style, &None, &json, &None, &None)?;
    Ok(true)
}

pub(crate) fn systems(root: &Option<PathBuf>, json: bool, style: Style) -> Result<Passed, Error> {
    // Outside a project the built-in catalog alone is listed.
    let catalog = match open_project(root) {
        Ok(project) => harness::Catalog::new(&project),
        Err(Error::NoProject(_)) if root.is_none() => harness::Catalog::builtin_only(),
        Err(e) => return Err(e),
    };
    let listing = catalog.listing();
    let now = now()?;
    out(&if json {
        to_json(&harness::report::systems_json(&listing, &now))
    } else {
        harness::report::systems_text(&listing, &now, &style)
    })?;
    Ok(true)
}

pub(crate) fn serve(root: &Option<PathBuf>, args: ServeArgs) -> Result<Passed, Error> {
    let project = open_project(root)?;
    let plan = select(
        &project,
        &SelectArgs {
            paths: vec![args.scenario],
            tags: Vec::new(),
            partition: None,
            timings: None,
            changed_since: None,
        },
    )?;
    let case = plan.cases.first().ok_or_else(|| Error::Usage("no scenario to serve".into()))?;
    serve::serve(&project, case, &plan.registry, args.port_base, &mut |line| out(line))?;
    Ok(true)
}

pub(crate) fn record(root: &Option<PathBuf>, args: RecordArgs, style: Style) -> Result<Passed, Error> {
    use harness::record::{drift, proxy, session};
    let project = open_project(root)?;
    if let Some(RecordCommand::Webhook(w)) = args.webhook {
        harness::record::webhook::run(&project, &w.system, w.secret_env.as_deref(), w.port, Arc::new(say))?;
        return Ok(true);
    }
    let missing = |flag: &str| Error::Usage(format!("harness record needs {flag}"));
    let system = args.system.ok_or_else(|| missing("--system"))?;
    let version = args.version.ok_or_else(|| missing("--version"))?;
    let upstream = args.upstream.ok_or_else(|| missing("--upstream"))?;
    if args.check {
        let options = drift::DriftOptions {
            system,
            version,
            upstream,
            upstream_ca: args.upstream_ca,
            allow_writes: args.allow_writes,
            headers: args.headers,
            jobs: jobs(None)?,
        };
        let drift = drift::check(&project, &options)?;
        render_analysis(&drift, style, &None, &args.json, &args.junit, &args.html)?;
        return Ok(!drift.breaks_a_flow());
    }
    let drafts = session::Drafts::new(args.stubs, args.scenario.zip(args.trigger), &now()?)?;
    let session = session::Session::new(&project, system, &version, &upstream, drafts)?;
    proxy::run(
        session,
        &proxy::ProxyOptions { port: args.port, upstream, upstream_ca: args.upstream_ca },
        Arc::new(say),
    )?;
    Ok(true)
}

pub(crate) fn reconcile(root: &Option<PathBuf>, args: ReconcileArgs, style: Style) -> Result<Passed, Error> {
    let project = open_project(root)?;
    if args.baseline {
        out(&harness::reconcile::baselines(&project, &args.names)?)?;
        return Ok(true);
    }
    let now = now()?;
    let window =
        harness::reconcile::Window::new(args.since.as_deref(), args.until.as_deref(), args.last.as_deref(), &now)?;
    let options = harness::reconcile::ReconcileOptions {
        names: args.names,
        window,
        accept: args.accept,
        show_values: args.show_values,
        now,
    };
    let report = harness::reconcile::reconcile(&project, &options)?;
    render_analysis(&report, style, &args.markdown, &args.json, &args.junit, &args.html)?;
    Ok(report.new_findings() == 0)
}

pub(crate) fn import(root: &Option<PathBuf>, args: ImportArgs, style: Style) -> Result<Passed, Error> {
    let project = open_project(root)?;
    let options = harness::record::import::ImportOptions {
        files: args.files,
        system: args.system,
        version: args.version,
        now: now()?,
    };
    let imported = harness::record::import::import(&project, &options)?;
    render_analysis(&imported, style, &None, &args.json, &None, &None)?;
    Ok(imported.refused == 0)
}

pub(crate) fn recordings(root: &Option<PathBuf>, json: Option<PathBuf>, style: Style) -> Result<Passed, Error> {
    let project = open_project(root)?;
    let plan = select(
        &project,
        &SelectArgs { paths: Vec::new(), tags: Vec::new(), partition: None, timings: None, changed_since: None },
    )?;
    let listed = harness::record::inventory::list(&project, &plan, &now()?)?;
    render_analysis(&listed, style, &None, &json, &None, &None)?;
    Ok(true)
}

pub(crate) fn lint(
    root: &Option<PathBuf>,
    json: Option<PathBuf>,
    junit: Option<PathBuf>,
    style: Style,
) -> Result<Passed, Error> {
    let project = open_project(root)?;
    let lint = harness::leaks::lint_project(&project)?;
    render_analysis(&lint, style, &None, &json, &junit, &None)?;
    Ok(lint.passed())
}

pub(crate) fn list(root: &Option<PathBuf>, args: SelectArgs) -> Result<Passed, Error> {
    let project = open_project(root)?;
    let plan = select(&project, &args)?;
    out(&plan
        .cases
        .iter()
        .map(|case| format!("{}  [{}]  {}\n", case.id, case.flow.name, case.versions_label()))
        .collect::<String>())?;
    Ok(true)
}

pub(crate) fn merge(args: MergeArgs) -> Result<Passed, Error> {
    let merged = harness::report::merge_files(&args.files)?;
    let written = |e: std::io::Error| Error::Environment(format!("cannot write a report: {e}"));
    if let Some(p) = &args.json {
        checked(p)?.deliver(&to_json(&merged)).map_err(written)?;
    }
    if let Some(p) = &args.junit {
        checked(p)?.deliver(&harness::report::run_junit("harness", &merged, None)?).map_err(written)?;
    }
    if let Some(p) = &args.html {
        checked(p)?.deliver(&harness::report::html_page(&merged)).map_err(written)?;
    }
    if let Some(p) = summary_file(args.summary) {
        harness::report::append_summary(
            &p,
            &harness::report::summary_markdown(
                &merged,
                &Links::from_env(&env_var, args.html.as_deref()),
                harness::report::SUMMARY_LIMIT,
            ),
        )
        .map_err(written)?;
    }
    out(&format!(
        "merged {} report(s): {} passed, {} failed, {} total\n",
        args.files.len(),
        merged.passed,
        merged.failed,
        merged.total
    ))?;
    Ok(merged.all_passed())
}

pub(crate) fn review(root: &Option<PathBuf>, args: ReviewArgs, style: Style) -> Result<Passed, Error> {
    let project = open_project(root)?;
    let stdin = std::io::stdin();
    let mode = if args.list {
        review::Mode::List
    } else if args.accept_all {
        // Snapshots that lose data are approved without a terminal only with --yes.
        let confirm = if args.yes {
            review::Confirm::Given
        } else if stdin.is_terminal() {
            review::Confirm::Ask
        } else {
            review::Confirm::Refused
        };
        review::Mode::AcceptAll(confirm)
    } else if args.reject_all {
        review::Mode::RejectAll
    } else {
        review::Mode::Interactive
    };
    let baselines = harness::reconcile::pending_baselines(&project, &args.paths);
    review::review(&project, &args.paths, &baselines, mode, style, &mut stdin.lock(), &mut Stdout)?;
    Ok(true)
}

pub(crate) fn lineage(root: &Option<PathBuf>, args: LineageArgs, style: Style) -> Result<Passed, Error> {
    let project = open_project(root)?;
    let known = harness::flow_names(&project);
    if let Some(unknown) = args.flows.iter().find(|f| !known.contains(f)) {
        return Err(Error::Usage(format!("unknown flow `{unknown}` (flows: {})", known.join(", "))));
    }
    let options = harness::lineage::LineageOptions {
        flows: args.flows,
        ablate: args.ablate,
        cases_per_flow: args.scenarios.max(1),
        jobs: jobs(args.jobs)?,
    };
    let lineage = harness::lineage::compute(&project, &options)?;
    render_analysis(&lineage, style, &None, &args.json, &None, &None)?;
    Ok(true)
}

pub(crate) fn coverage(root: &Option<PathBuf>, args: CoverageArgs, style: Style) -> Result<Passed, Error> {
    let project = open_project(root)?;
    let coverage = harness::coverage::coverage(&project, jobs(args.jobs)?)?;
    render_analysis(&coverage, style, &None, &args.json, &None, &None)?;
    Ok(true)
}

pub(crate) fn impact(root: &Option<PathBuf>, args: ImpactArgs, style: Style) -> Result<Passed, Error> {
    let project = open_project(root)?;
    if args.from == args.to {
        return Err(Error::Usage(format!(
            "--from and --to are both {}: name the version you are upgrading to",
            args.from
        )));
    }
    let options = harness::impact::ImpactOptions {
        system: args.system,
        from: args.from,
        to: args.to,
        jobs: jobs(args.jobs)?,
        allow_unverified: args.allow_unverified,
    };
    let report = harness::impact::analyse(&project, &options)?;
    render_analysis(&report, style, &args.markdown, &args.json, &args.junit, &args.html)?;
    Ok(!report.fails())
}

pub(crate) fn run(root: &Option<PathBuf>, args: RunArgs, style: Style) -> Result<Passed, Error> {
    let project = open_project(root)?;
    let plan = select(&project, &args.select)?;
    for leak in harness::leaks::leaks(&project, &plan.catalog) {
        eprintln!("warning: {leak} (see `harness lint`)");
    }
    if args.junit.as_ref().is_some_and(|p| p.as_os_str() == "-") {
        return Err(Error::Usage("--junit needs a file; `--json -` prints a report on standard output".into()));
    }
    let secrets = args
        .secrets
        .iter()
        .map(|name| {
            std::env::var(name)
                .map_err(|_| Error::Usage(format!("--secret {name}: no environment variable {name} is set")))
        })
        .collect::<Result<_, _>>()?;
    let options = RunOptions {
        accept: args.accept,
        retries: args.retries,
        secrets,
        strict_recordings: args.strict_recordings,
        ..RunOptions::new(jobs(args.jobs)?, project.strict() && !args.no_strict)
    };
    let json_to_stdout = args.json.as_deref() == Some(std::path::Path::new("-"));
    // Report files that cannot be written stop the run before it starts.
    let mut reporters: Vec<Box<dyn Reporter>> = Vec::new();
    if !json_to_stdout {
        reporters.push(Box::new(TerminalReporter::new(Stdout, style, !args.no_times)));
    }
    if let Some(p) = &args.junit {
        reporters.push(Box::new(JunitReporter::new(checked(p)?, "harness")));
    }
    if let Some(p) = &args.json {
        reporters.push(Box::new(JsonReporter::new(checked(p)?)));
    }
    if let Some(p) = &args.html {
        reporters.push(Box::new(HtmlReporter::new(checked(p)?)));
    }
    if let Some(p) = summary_file(args.summary) {
        reporters.push(Box::new(SummaryReporter::new(p, Links::from_env(&env_var, args.html.as_deref()))));
    }
    let mut borrowed: Vec<&mut dyn Reporter> = reporters.iter_mut().map(|r| r.as_mut() as &mut dyn Reporter).collect();
    let summary = harness::run(&project, &plan, &options, &mut borrowed)?;
    Ok(summary.all_passed())
}
