//! The `harness` command: a thin layer over the library. This file is the one place where errors
//! become exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use harness::error::Error;
use harness::project::Project;
use harness::report::{JsonReporter, JunitReporter, Reporter, Style, TerminalReporter};
use harness::{plan, review, run, scenario};

// The run path allocates many small short-lived values on several threads (JSON documents, jq
// values, HTTP buffers); mimalloc measured faster than the system allocator there (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in the README.
const EXIT_PASSED: u8 = 0;
const EXIT_FAILED: u8 = 1;
const EXIT_CONFIG: u8 = 2;
const EXIT_ENVIRONMENT: u8 = 3;
/// As shells report a process ended by SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser)]
#[command(name = "harness", version, about = "Replay recorded Shopify, NetSuite and Peoplevox traffic through mocks, run the integration, and catch what its output lost or changed.")]
struct Cli {
    /// Project root (the folder with harness.yaml); default: found upwards from the current folder.
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Colours: auto (default; off when NO_COLOR is set or output is not a terminal), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios (all under scenarios/, or the files and folders given).
    Run(RunArgs),
    /// Review pending snapshots (.snap.new): show each diff, then accept, reject or skip.
    Review(ReviewArgs),
    /// List the scenario cases that `run` would run, with their flow and API versions.
    List(SelectArgs),
    /// Before an upgrade: replay every scenario using SYSTEM@FROM at TO and report, per flow and
    /// target field, what breaks or loses data and which changed source field causes it.
    Impact(ImpactArgs),
    /// For every target field of every flow, the source fields it depends on: read from the
    /// mapping, and with --ablate found by removing each source field in turn.
    Lineage(LineageArgs),
    /// Which recorded source fields the flows read, which none reads, and which mapped target
    /// fields no scenario fills.
    Coverage(CoverageArgs),
    /// Print the JSON Schema of scenario files, for editors (validation, completion).
    Schema,
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(clap::Args)]
struct SelectArgs {
    /// Scenario files or folders (default: scenarios/).
    paths: Vec<PathBuf>,
    /// Only scenarios with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Only the K-th of N equal shares of the cases, e.g. `2/4`, to split a suite across CI machines.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    partition: Option<(usize, usize)>,
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Scenarios run at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// Approve new and changed snapshots of scenarios that otherwise pass.
    #[arg(long)]
    accept: bool,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a JSON report to FILE (`-` for standard output, replacing the terminal report).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Report silent data loss as warnings instead of failures (strict is the default).
    #[arg(long)]
    no_strict: bool,
    /// Leave timings out of the terminal report (for comparing outputs).
    #[arg(long, hide = true)]
    no_times: bool,
}

#[derive(clap::Args)]
struct ImpactArgs {
    /// The system being upgraded: shopify, netsuite or peoplevox.
    #[arg(long, value_parser = parse_system)]
    system: harness::systems::SystemKind,
    /// The API version in use (recorded under mocks/<system>/<from>).
    #[arg(long)]
    from: String,
    /// The API version to move to (recorded under mocks/<system>/<to>).
    #[arg(long)]
    to: String,
    /// Scenarios run at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// Write the report as Markdown to FILE (`-` for standard output), e.g. for a pull-request comment.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write the report as JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit report to FILE: one test case per flow and affected target field.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

#[derive(clap::Args)]
struct LineageArgs {
    /// Only these flows (repeatable).
    #[arg(long = "flow", value_name = "FLOW")]
    flows: Vec<String>,
    /// Also trace by ablation: run each flow's first scenarios once per source field removed
    /// (always done for external flows, whose mapping cannot be read).
    #[arg(long)]
    ablate: bool,
    /// Scenarios per flow to ablate on.
    #[arg(long, default_value_t = 1, value_name = "N")]
    scenarios: usize,
    /// Write JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Scenarios run at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
}

#[derive(clap::Args)]
struct CoverageArgs {
    /// Write JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Scenarios run at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
}

/// `-j`: at least 1; the number of cores by default.
fn jobs(jobs: Option<usize>) -> Result<usize, Error> {
    match jobs {
        Some(0) => Err(Error::Usage("-j needs at least 1".into())),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(2, |n| n.get())),
    }
}

/// Standard output that quietly drops what it is given once its reader has gone
/// (`harness list | head -1`): no panic, and a run still finishes, writes its other reports and
/// exits with its real code.
struct Stdout;

impl std::io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::io::stdout().write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match std::io::stdout().flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

fn out(text: &str) -> Result<(), Error> {
    use std::io::Write;
    Stdout.write_all(text.as_bytes()).map_err(|e| Error::Environment(format!("cannot write to standard output: {e}")))
}

/// Print `text` as asked: to FILE, to stdout for `-`, else the terminal rendering.
fn emit_report(json: &Option<PathBuf>, json_text: impl FnOnce() -> String, terminal: impl FnOnce() -> String) -> Result<(), Error> {
    match json {
        Some(p) if p.as_os_str() == "-" => out(&json_text()),
        Some(p) => {
            write_file(p, &json_text())?;
            out(&terminal())
        }
        None => out(&terminal()),
    }
}

fn parse_system(s: &str) -> Result<harness::systems::SystemKind, String> {
    harness::systems::SystemKind::parse(s).ok_or_else(|| format!("unknown system `{s}` (shopify, netsuite or peoplevox)"))
}

#[derive(clap::Args)]
struct ReviewArgs {
    /// Only pending snapshots under these folders or of these scenario ids.
    paths: Vec<PathBuf>,
    /// Accept every pending snapshot without asking.
    #[arg(long, conflicts_with_all = ["reject_all", "list"])]
    accept_all: bool,
    /// Reject (delete) every pending snapshot without asking.
    #[arg(long, conflicts_with = "list")]
    reject_all: bool,
    /// Only list pending snapshots.
    #[arg(long)]
    list: bool,
}

fn parse_partition(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s.split_once('/').ok_or("write K/N, e.g. 1/3")?;
    let (k, n): (usize, usize) = (k.parse().map_err(|_| "K is not a number")?, n.parse().map_err(|_| "N is not a number")?);
    if n == 0 || k == 0 || k > n {
        return Err(format!("partition {k}/{n} is out of range: need 1 ≤ K ≤ N"));
    }
    Ok((k, n))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let style = Style {
        color: match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal(),
        },
    };
    match dispatch(cli, style) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = match &e {
                Error::Config(_) | Error::NoProject(_) | Error::Io { .. } | Error::Usage(_) => EXIT_CONFIG,
                Error::Environment(_) => EXIT_ENVIRONMENT,
                Error::Interrupted => EXIT_INTERRUPTED,
            };
            match &e {
                Error::Config(diagnostics) => eprintln!("{diagnostics}\n\nerror: {} problem(s) in the project's files; nothing was run", diagnostics.0.len()),
                other => eprintln!("error: {other}"),
            }
            ExitCode::from(code)
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("reports serialise");
    text.push('\n');
    text
}

/// Create a report file, and its folder if needed.
fn create_file(path: &std::path::Path) -> Result<std::fs::File, Error> {
    let fail = |e: std::io::Error| Error::Environment(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::File::create(path).map_err(fail)
}

fn write_file(path: &std::path::Path, text: &str) -> Result<(), Error> {
    use std::io::Write;
    create_file(path)?.write_all(text.as_bytes()).map_err(|e| Error::Environment(format!("cannot write {}: {e}", path.display())))
}

fn open_project(root: &Option<PathBuf>) -> Result<Project, Error> {
    match root {
        Some(r) => Project::open(&std::fs::canonicalize(r).map_err(|e| Error::io(r, e))?),
        None => Project::discover(&std::env::current_dir().map_err(|e| Error::io(&PathBuf::from("."), e))?),
    }
}

fn select(project: &Project, args: &SelectArgs) -> Result<plan::Plan, Error> {
    let mut plan = plan::build(project, &args.paths)?;
    if !args.tags.is_empty() {
        plan.cases.retain(|c| c.scenario.spec.tags.iter().any(|t| args.tags.contains(t)));
        if plan.cases.is_empty() {
            return Err(Error::Usage(format!("no scenario has the tag {}", args.tags.join(" or "))));
        }
    }
    if let Some((k, n)) = args.partition {
        plan.cases = plan.cases.into_iter().enumerate().filter(|(i, _)| i % n == k - 1).map(|(_, c)| c).collect();
    }
    Ok(plan)
}

fn dispatch(cli: Cli, style: Style) -> Result<u8, Error> {
    match cli.command {
        Command::Schema => {
            out(&to_json(&scenario::json_schema()))?;
            Ok(EXIT_PASSED)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "harness", &mut Stdout);
            Ok(EXIT_PASSED)
        }
        Command::List(args) => {
            let project = open_project(&cli.root)?;
            let plan = select(&project, &args)?;
            out(&plan.cases.iter().map(|case| format!("{}  [{}]  {}\n", case.id, case.flow.name, case.versions_label())).collect::<String>())?;
            Ok(EXIT_PASSED)
        }
        Command::Review(args) => {
            let project = open_project(&cli.root)?;
            let mode = if args.list {
                review::Mode::List
            } else if args.accept_all {
                review::Mode::AcceptAll
            } else if args.reject_all {
                review::Mode::RejectAll
            } else {
                review::Mode::Interactive
            };
            let stdin = std::io::stdin();
            review::review(&project, &args.paths, mode, style, &mut stdin.lock(), &mut Stdout)?;
            Ok(EXIT_PASSED)
        }
        Command::Lineage(args) => {
            let project = open_project(&cli.root)?;
            let known = harness::flow::flow_names(&project);
            if let Some(unknown) = args.flows.iter().find(|f| !known.contains(f)) {
                return Err(Error::Usage(format!("unknown flow `{unknown}` (flows: {})", known.join(", "))));
            }
            let options = harness::impact::lineage::LineageOptions { flows: args.flows, ablate: args.ablate, cases_per_flow: args.scenarios.max(1), jobs: jobs(args.jobs)? };
            let lineage = harness::impact::lineage::compute(&project, &options)?;
            emit_report(&args.json, || to_json(&lineage), || harness::impact::lineage::render(&lineage))?;
            Ok(EXIT_PASSED)
        }
        Command::Coverage(args) => {
            let project = open_project(&cli.root)?;
            let coverage = harness::coverage::coverage(&project, jobs(args.jobs)?)?;
            emit_report(&args.json, || to_json(&coverage), || harness::coverage::render(&coverage))?;
            Ok(EXIT_PASSED)
        }
        Command::Impact(args) => {
            let project = open_project(&cli.root)?;
            let outputs = [&args.markdown, &args.json, &args.junit];
            if outputs.iter().filter(|o| o.as_ref().is_some_and(|p| p.as_os_str() == "-")).count() > 1 {
                return Err(Error::Usage("only one of --markdown, --json and --junit can write to standard output (-)".into()));
            }
            if args.from == args.to {
                return Err(Error::Usage(format!("--from and --to are both {}: name the version you are upgrading to", args.from)));
            }
            let options = harness::impact::ImpactOptions { system: args.system, from: args.from, to: args.to, jobs: jobs(args.jobs)? };
            let report = harness::impact::analyse(&project, &options)?;
            let mut to_stdout = false;
            for (target, text) in [
                (&args.markdown, Some(harness::impact::report::markdown(&report))),
                (&args.json, Some(harness::impact::report::json(&report))),
                (&args.junit, harness::impact::report::junit(&report).map_err(Error::Environment).map(Some)?),
            ] {
                match (target, text) {
                    (Some(path), Some(text)) if path.as_os_str() == "-" => {
                        out(&text)?;
                        to_stdout = true;
                    }
                    (Some(path), Some(text)) => write_file(path, &text)?,
                    _ => {}
                }
            }
            if !to_stdout {
                out(&harness::impact::report::terminal(&report, style))?;
            }
            Ok(if report.blocks_upgrade() { EXIT_FAILED } else { EXIT_PASSED })
        }
        Command::Run(args) => {
            let project = open_project(&cli.root)?;
            let plan = select(&project, &args.select)?;
            let jobs = jobs(args.jobs)?;
            if args.junit.as_ref().is_some_and(|p| p.as_os_str() == "-") {
                return Err(Error::Usage("--junit needs a file; `--json -` prints a report on standard output".into()));
            }
            let options = run::RunOptions { jobs, accept: args.accept, strict: project.strict() && !args.no_strict };
            let json_to_stdout = args.json.as_deref() == Some(std::path::Path::new("-"));
            let mut terminal = TerminalReporter::new(Stdout, style, !args.no_times);
            // Written at the end; a path that cannot be written should stop the run before it starts.
            if let Some(p) = &args.junit {
                create_file(p)?;
            }
            let mut junit = args.junit.clone().map(|p| JunitReporter::new(p, "harness"));
            let mut json_file = match &args.json {
                Some(p) if !json_to_stdout => Some(JsonReporter::new(create_file(p)?)),
                _ => None,
            };
            let mut json_stdout = json_to_stdout.then(|| JsonReporter::new(Stdout));
            let mut reporters: Vec<&mut dyn Reporter> = Vec::new();
            if let Some(j) = json_stdout.as_mut() {
                reporters.push(j);
            } else {
                reporters.push(&mut terminal);
            }
            if let Some(j) = junit.as_mut() {
                reporters.push(j);
            }
            if let Some(j) = json_file.as_mut() {
                reporters.push(j);
            }
            let summary = run::run(&project, &plan, &options, &mut reporters)?;
            Ok(if summary.all_passed() { EXIT_PASSED } else { EXIT_FAILED })
        }
    }
}
