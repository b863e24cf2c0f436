//! The `harness` command: a thin layer over the library. This file is the one place where errors
//! become exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use harness::events::{AnalysisResult, Event, Reporter};
use harness::report::{Destination, HtmlReporter, JsonReporter, JunitReporter, Links, MarkdownReporter, SummaryReporter, TerminalReporter};
use harness::{Error, Project, RunOptions, Style, SystemId, plan, review, serve};

// The run path allocates many small short-lived values on several threads (JSON documents, jq
// values, HTTP buffers); mimalloc measured faster than the system allocator there (BENCHMARKS.md).
// Counting each thread's bytes on top is what enforces a case's memory budget: a runaway jq
// expression is parked instead of exhausting the machine (harness_core::budget).
#[global_allocator]
static ALLOCATOR: harness_core::budget::Counting<mimalloc::MiMalloc> = harness_core::budget::Counting(mimalloc::MiMalloc);

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
    /// Start one scenario's mocks on fixed ports and print their URLs and each request as it
    /// arrives, until Ctrl-C: for an integration the harness cannot start (in a debugger, a
    /// container, another machine).
    Serve(ServeArgs),
    /// Review pending snapshots (.snap.new): show each diff, then accept, reject or skip.
    Review(ReviewArgs),
    /// List the scenario cases that `run` would run, with their flow and API versions.
    List(SelectArgs),
    /// Combine the JSON reports of a plan's shards (`run --partition … --json`) into one run's
    /// reports; exit 2, merging nothing, when they do not make one whole run.
    Merge(MergeArgs),
    /// Before an upgrade: replay every scenario using SYSTEM@FROM at TO and report, per flow and
    /// target field, what breaks or loses data and which changed source field causes it.
    Impact(ImpactArgs),
    /// For every target field of every flow, the source fields it depends on: read from the
    /// mapping, and with --ablate found by removing each source field in turn.
    Lineage(LineageArgs),
    /// Which recorded source fields the flows read, which none reads, and which mapped target
    /// fields no scenario fills.
    Coverage(CoverageArgs),
    /// Write a working harness project into DIR (default: here): settings, example flows and
    /// scenarios, a recorded webhook, CI jobs. Never overwrites a file; the first run's
    /// snapshots are approved.
    Init(InitArgs),
    /// Manage the project's API-version folders.
    #[command(subcommand)]
    Versions(VersionsCommand),
    /// Bring an account's own record definitions into the project's schema extensions.
    #[command(subcommand)]
    Schemas(SchemasCommand),
    /// List the systems and API versions the harness and the project know, with where each
    /// stands today (supported until, unsupported, release candidate).
    Systems {
        /// Print JSON instead, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// The daily check across the live systems: list each reconciliation's records for a window
    /// (read-only), join them by key and report what is missing, duplicated, orphaned, different,
    /// off in total or late (exit 1), against the accepted baseline.
    Reconcile(ReconcileArgs),
    /// Record a real system through a proxy on loopback: each exchange forwarded, answered
    /// unchanged and written (redacted) under mocks/SYSTEM/VERSION/, with a draft stub set and
    /// scenario; with --check, compare the live answers with the recordings instead.
    Record(RecordArgs),
    /// Bring captured traffic into the project, redacted: HAR files, webhook bodies, REST
    /// answers, SOAP envelopes.
    Import(ImportArgs),
    /// List every recording with its age, version, support status and the scenarios using it.
    Recordings,
    /// Find credentials and personal data left in recordings, stubs, scenarios and snapshots
    /// (token shapes, bearer tokens, high-entropy values under credential names, emails outside
    /// the test domains); exit 1 when any is found.
    Lint,
    /// Print the JSON Schema of scenario files, for editors (validation, completion); with
    /// --report, that of the JSON run report; with --reconcile, that of the reconcile report.
    Schema {
        /// The JSON run report's schema instead.
        #[arg(long)]
        report: bool,
        /// The JSON reconcile report's schema instead (`harness reconcile --json`).
        #[arg(long, conflicts_with = "report")]
        reconcile: bool,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// The scenario file (its first case, when it runs at several versions).
    scenario: PathBuf,
    /// The port of the first mock; the next ones follow, in the order printed.
    #[arg(long, default_value_t = 18000)]
    port_base: u16,
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct RecordArgs {
    #[command(subcommand)]
    webhook: Option<RecordCommand>,
    /// The system recorded: shopify, netsuite, peoplevox or one the project declares.
    #[arg(long, value_parser = parse_system)]
    system: Option<SystemId>,
    /// Its API version: recordings go to mocks/SYSTEM/VERSION/.
    #[arg(long)]
    version: Option<String>,
    /// The real system's address, e.g. https://1234567.suitetalk.api.netsuite.com.
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// PEM certificates of a private CA the upstream's certificate is signed by (besides the system's roots).
    #[arg(long, value_name = "FILE")]
    upstream_ca: Option<PathBuf>,
    /// The local port on 127.0.0.1 (default: any free one; the URL is printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The draft stub set, mocks/SYSTEM/VERSION/stubs/NAME.yaml (default: recorded-<date>-<time>).
    #[arg(long, value_name = "NAME")]
    stubs: Option<String>,
    /// Also write a draft scenario scenarios/FLOW/NAME.yaml replaying the recordings (needs --trigger).
    #[arg(long, value_name = "FLOW/NAME", requires = "trigger")]
    scenario: Option<String>,
    /// The draft scenario's trigger payload, relative to the trigger system's version folder.
    #[arg(long, value_name = "FILE", requires = "scenario")]
    trigger: Option<String>,
    /// Replay the recorded requests against the upstream and report what the answers add, remove
    /// or retype, and which flows read it (exit 1 when a field a flow reads changed).
    #[arg(long, conflicts_with_all = ["scenario", "stubs"])]
    check: bool,
    /// With --check: send recorded writes too (default: read-only calls only).
    #[arg(long, requires = "check")]
    allow_writes: bool,
    /// With --check: a header sent with every request, `Name: value` (the credentials the
    /// recordings no longer hold); repeatable.
    #[arg(long = "header", value_name = "NAME: VALUE", requires = "check", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// With --check: write a self-contained HTML page of the report to FILE.
    #[arg(long, value_name = "FILE", requires = "check")]
    html: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ReconcileArgs {
    /// Reconciliations to check (names of reconcile/NAME.yaml; default: all).
    names: Vec<String>,
    /// The window's start, e.g. 2026-12-06T00:00Z or 2026-12-06 (UTC).
    #[arg(long, value_name = "TIME", conflicts_with = "last")]
    since: Option<String>,
    /// The window's end (default: now).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// The window as a span before its end: 24h (the default), 7d, 90m.
    #[arg(long, value_name = "SPAN")]
    last: Option<String>,
    /// Accept the current findings: write them to reconcile/NAME.baseline.json, so later runs
    /// report only new ones.
    #[arg(long)]
    accept: bool,
    /// List the accepted discrepancies instead of checking.
    #[arg(long, conflicts_with = "accept")]
    baseline: bool,
    /// Show the compared text values in findings (default: only the join key and amounts).
    #[arg(long)]
    show_values: bool,
    /// Write a JUnit report to FILE: a test case per relation and finding kind.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the report as JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the report as Markdown to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write a self-contained HTML page of the report to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

#[derive(Subcommand)]
enum RecordCommand {
    /// Receive real webhook deliveries (forwarded from a tunnel or the Shopify CLI), verify their
    /// HMAC with the app secret, and store each body as a trigger recording.
    Webhook(WebhookArgs),
}

#[derive(clap::Args)]
struct WebhookArgs {
    /// The system sending them (shopify).
    #[arg(long, value_parser = parse_system)]
    system: SystemId,
    /// The local port on 127.0.0.1 (default: any free one; the URL is printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The environment variable holding the app's client secret, which signs the deliveries.
    #[arg(long, value_name = "NAME", default_value = "SHOPIFY_API_SECRET")]
    secret_env: String,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// HAR files, or files holding one payload each.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The system, for payloads and entries that do not say.
    #[arg(long, value_parser = parse_system)]
    system: Option<SystemId>,
    /// The API version, for payloads and entries that do not say (else harness.yaml's).
    #[arg(long)]
    version: Option<String>,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once(':').ok_or("write `Name: value`")?;
    Ok((name.trim().to_string(), value.trim().to_string()))
}

/// Prints a line on standard output at once (a proxy's user watches it as it records).
fn say(line: &str) {
    let _ = out(&format!("{line}\n"));
    let _ = std::io::Write::flush(&mut Stdout);
}

#[derive(clap::Args)]
struct InitArgs {
    /// The project folder (created when missing).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Only these systems, comma-separated (default: shopify,netsuite,peoplevox).
    #[arg(long, value_delimiter = ',', value_parser = parse_system)]
    systems: Option<Vec<SystemId>>,
    /// The example program's language (default: node when the folder has a package.json, else python).
    #[arg(long, value_enum)]
    language: Option<LanguageChoice>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LanguageChoice {
    Python,
    Node,
}

#[derive(Subcommand)]
enum VersionsCommand {
    /// Make mocks/SYSTEM/NEW from the project's folder for an older version: every file copied,
    /// recordings migrated by the changes the catalog knows between the two, then listed.
    Add {
        #[arg(value_parser = parse_system)]
        system: SystemId,
        /// The new version.
        new: String,
        /// The version whose folder is copied.
        #[arg(long)]
        from: String,
    },
}

#[derive(Subcommand)]
enum SchemasCommand {
    /// From NetSuite's REST metadata catalog (OpenAPI 3, `Accept: application/swagger+json`):
    /// the records the flows send, custom fields included, written to
    /// mocks/netsuite/VERSION/system.yaml `schema_extensions:`.
    Import {
        /// netsuite
        #[arg(value_parser = ["netsuite"])]
        system: String,
        /// The saved metadata document (`metadata-catalog?select=salesorder,customer`).
        #[arg(required_unless_present = "from_account", conflicts_with = "from_account")]
        file: Option<PathBuf>,
        /// Fetch it from the account at URL (read-only GET), with the credentials in
        /// HARNESS_NETSUITE_<KEY> (oauth2: CLIENT_ID, CERTIFICATE_ID, CERTIFICATE_PRIVATE_KEY).
        #[arg(long, value_name = "URL")]
        from_account: Option<String>,
        /// The authentication for --from-account: oauth2 or tba.
        #[arg(long, default_value = "oauth2", requires = "from_account")]
        auth: String,
        /// The version folder written (default: the project's newest NetSuite version).
        #[arg(long)]
        version: Option<String>,
    },
}

#[derive(clap::Args)]
struct SelectArgs {
    /// Scenario files or folders (default: scenarios/).
    paths: Vec<PathBuf>,
    /// Only scenarios with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Only the K-th of N shares of the cases, e.g. `2/4`, to split a suite across CI machines;
    /// `auto` reads the share from GitLab, Buildkite, CircleCI or Bazel variables.
    #[arg(long, value_name = "K/N", value_parser = plan::parse_share)]
    partition: Option<plan::ShareSpec>,
    /// Balance the shares by the durations an earlier run recorded (its JSON or JUnit report).
    #[arg(long, value_name = "FILE", requires = "partition")]
    timings: Option<PathBuf>,
    /// Only scenarios whose inputs changed since the git ref REF (files changed, staged or new).
    #[arg(long, value_name = "REF")]
    changed_since: Option<String>,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// The shards' JSON reports.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write the merged JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the merged JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Append a Markdown summary to FILE (default: `GITHUB_STEP_SUMMARY` when set).
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Write a self-contained HTML page of the run to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
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
    /// Append a Markdown summary to FILE (default: `GITHUB_STEP_SUMMARY` when set).
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Write a self-contained HTML page of the run to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Report silent data loss as warnings instead of failures (strict is the default).
    #[arg(long)]
    no_strict: bool,
    /// Run a failing scenario again up to N times; one that passes then is reported as flaky.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
    /// Mask the value of environment variable NAME wherever it would appear in snapshots, reports
    /// and output (repeatable), besides the credentials and secret-looking variables masked anyway.
    #[arg(long = "secret", value_name = "NAME")]
    secrets: Vec<String>,
    /// Fail (exit 3) instead of running without it when `isolation: network` is asked for and the
    /// platform cannot isolate the run.
    #[arg(long)]
    require_isolation: bool,
    /// Fail scenarios that rely on a recording older than `max_recording_age` (harness.yaml)
    /// instead of warning.
    #[arg(long)]
    strict_recordings: bool,
    /// Leave timings out of the terminal report (for comparing outputs).
    #[arg(long, hide = true)]
    no_times: bool,
}

#[derive(clap::Args)]
struct ImpactArgs {
    /// The system being upgraded: shopify, netsuite, peoplevox or one the project declares.
    #[arg(long, value_parser = parse_system)]
    system: SystemId,
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
    /// Write a self-contained HTML page of the report to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the report as JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit report to FILE: one test case per flow and affected target field.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Warn about topics and endpoints whose changes nothing tells (no catalog knowledge, no
    /// recordings at both versions) instead of failing.
    #[arg(long)]
    allow_unverified: bool,
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

/// Where a report option sends its report: standard output for `-`, else the file.
fn destination(path: &std::path::Path) -> Destination {
    if path.as_os_str() == "-" { Destination::Stdout(Box::new(Stdout)) } else { Destination::File(path.to_path_buf()) }
}

/// A file a report will be written to, checked before anything runs.
fn checked(path: &std::path::Path) -> Result<Destination, Error> {
    let d = destination(path);
    d.check().map_err(|e| Error::Environment(format!("cannot write {}: {e}", path.display())))?;
    Ok(d)
}

/// The reporters for an analysis: each report option that is given, and the terminal unless one of
/// them writes to standard output.
fn render_analysis(result: &dyn AnalysisResult, style: Style, markdown: &Option<PathBuf>, json: &Option<PathBuf>, junit: &Option<PathBuf>, html: &Option<PathBuf>) -> Result<(), Error> {
    let to_stdout = [markdown, json, junit, html].iter().filter(|o| o.as_ref().is_some_and(|p| p.as_os_str() == "-")).count();
    if to_stdout > 1 {
        return Err(Error::Usage("only one of --markdown, --json, --junit and --html can write to standard output (-)".into()));
    }
    let mut reporters: Vec<Box<dyn Reporter>> = Vec::new();
    if let Some(p) = markdown {
        reporters.push(Box::new(MarkdownReporter::new(checked(p)?)));
    }
    if let Some(p) = json {
        reporters.push(Box::new(JsonReporter::new(checked(p)?)));
    }
    if let Some(p) = junit {
        reporters.push(Box::new(JunitReporter::new(checked(p)?, result.title())));
    }
    if let Some(p) = html {
        reporters.push(Box::new(HtmlReporter::new(checked(p)?)));
    }
    if to_stdout == 0 {
        reporters.push(Box::new(TerminalReporter::new(Stdout, style, true)));
    }
    let event = Event::AnalysisFinished { result };
    for r in &mut reporters {
        r.report(&event).map_err(|e| Error::Environment(format!("cannot write a report: {e}")))?;
    }
    Ok(())
}

/// `--summary FILE`, else the job summary of GitHub Actions.
fn summary_file(given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()).map(PathBuf::from))
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn parse_system(s: &str) -> Result<SystemId, String> {
    SystemId::new(s)
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

fn main() -> ExitCode {
    // The guardian is this binary started again by itself (see `guard`): before anything else, so
    // it needs no command line of the user's and starts no thread.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == harness_procs::GUARDIAN_ARG) {
        match args.next().and_then(|p| p.into_string().ok()) {
            Some(prefix) => harness_procs::guardian_main(&prefix),
            None => return ExitCode::from(EXIT_CONFIG),
        }
    }
    let cli = Cli::parse();
    let style = Style {
        color: match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal(),
        },
    };
    // Still single-threaded here: the only moment a network namespace can be entered.
    let guardian = match guard(&cli) {
        Ok(g) => g,
        Err(e) => return fail(e),
    };
    let code = match dispatch(cli, style) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(e),
    };
    // Last: dropping it kills whatever of the run's programs is still alive.
    drop(guardian);
    code
}

/// For the commands that run scenarios: isolate the network when the project asks for it, become
/// the subreaper of the programs' orphans, and start the guardian that kills every program of
/// the run when the harness ends — also by `kill -9`. Must run before any thread starts.
fn guard(cli: &Cli) -> Result<Option<harness_procs::Guardian>, Error> {
    let require_isolation = match &cli.command {
        Command::Run(args) => args.require_isolation,
        Command::Impact(_) | Command::Lineage(_) | Command::Coverage(_) => false,
        _ => return Ok(None),
    };
    // A project that cannot be opened is reported by the command itself.
    if open_project(&cli.root).is_ok_and(|p| p.wants_network_isolation()) {
        match harness_procs::isolate_network() {
            Ok(()) => {}
            Err(e @ harness_procs::IsolationUnavailable::Stranded(_)) => return Err(Error::Environment(format!("isolation: network: {e}"))),
            Err(e) if require_isolation => return Err(Error::Environment(format!("isolation: network is required (--require-isolation) but not available: {e}"))),
            Err(e) => eprintln!("note: isolation: network is not available here, so this run is not isolated: {e}"),
        }
    } else if require_isolation {
        return Err(Error::Usage("--require-isolation: the project asks for no isolation (set `isolation: network` in harness.yaml or a flow file)".into()));
    }
    // Without these (not Linux) programs are still killed by their tags at the end of each case.
    let _ = harness_procs::become_subreaper();
    Ok(harness_procs::start_guardian(harness_procs::run_id(), std::path::Path::new("/proc/self/exe")).ok())
}

/// The exit code of an error, after saying what it is.
fn fail(e: Error) -> ExitCode {
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

fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("reports serialise");
    text.push('\n');
    text
}

fn open_project(root: &Option<PathBuf>) -> Result<Project, Error> {
    match root {
        Some(r) => Project::open(&std::fs::canonicalize(r).map_err(|e| Error::io(r, e))?),
        None => Project::discover(&std::env::current_dir().map_err(|e| Error::io(&PathBuf::from("."), e))?),
    }
}

/// The cases `run` and `list` select, with each system version judged at `now()`: one past its
/// accessible-until date is answered as the system answers it then.
fn select(project: &Project, args: &SelectArgs) -> Result<plan::Plan, Error> {
    let catalog = std::sync::Arc::new(harness::Catalog::new(project).at(now()?));
    let mut plan = plan::build_with(project, &args.paths, catalog, None)?;
    let selection = plan::Selection { tags: args.tags.clone(), share: args.partition, timings: args.timings.clone(), changed_since: args.changed_since.clone() };
    if let (Some(changed), Some(since)) = (plan.select(project, &selection, &env_var)?, &args.changed_since) {
        eprint!("{}", changed.render(since));
    }
    Ok(plan)
}

fn record(root: &Option<PathBuf>, args: RecordArgs) -> Result<u8, Error> {
    use harness::record::{drift, proxy, session};
    let project = open_project(root)?;
    if let Some(RecordCommand::Webhook(w)) = args.webhook {
        let secret = std::env::var(&w.secret_env).map_err(|_| Error::Usage(format!("set {} to the app's client secret: it verifies each delivery's HMAC", w.secret_env)))?;
        harness::record::webhook::run(&project, &w.system, &secret, w.port, std::sync::Arc::new(say))?;
        return Ok(EXIT_PASSED);
    }
    let missing = |flag: &str| Error::Usage(format!("harness record needs {flag}"));
    let system = args.system.ok_or_else(|| missing("--system"))?;
    let version = args.version.ok_or_else(|| missing("--version"))?;
    let upstream = args.upstream.ok_or_else(|| missing("--upstream"))?;
    if args.check {
        let options = drift::DriftOptions { system, version, upstream, upstream_ca: args.upstream_ca, allow_writes: args.allow_writes, headers: args.headers, jobs: jobs(None)? };
        let drift = drift::check(&project, &options)?;
        out(&drift.render(&format!("{} {} against {}", options.system, options.version, options.upstream)))?;
        if let Some(p) = &args.html {
            HtmlReporter::new(checked(p)?).report(&Event::AnalysisFinished { result: &drift }).map_err(|e| Error::Environment(format!("cannot write a report: {e}")))?;
        }
        return Ok(if drift.breaks_a_flow() { EXIT_FAILED } else { EXIT_PASSED });
    }
    let drafts = session::Drafts::new(args.stubs, args.scenario.zip(args.trigger), &now()?)?;
    let session = session::Session::new(&project, system, &version, &upstream, drafts)?;
    proxy::run(session, &proxy::ProxyOptions { port: args.port, upstream, upstream_ca: args.upstream_ca }, std::sync::Arc::new(say))?;
    Ok(EXIT_PASSED)
}

fn dispatch(cli: Cli, style: Style) -> Result<u8, Error> {
    match cli.command {
        Command::Schema { report, reconcile } => {
            let schema = if reconcile { harness::schema::reconcile() } else if report { harness::schema::report() } else { harness::schema::scenario() };
            out(&to_json(&schema))?;
            Ok(EXIT_PASSED)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "harness", &mut Stdout);
            Ok(EXIT_PASSED)
        }
        Command::Init(args) => {
            let language = args.language.map(|l| match l {
                LanguageChoice::Python => harness::scaffold::Language::Python,
                LanguageChoice::Node => harness::scaffold::Language::Node,
            });
            let options = harness::scaffold::InitOptions { dir: args.dir, systems: args.systems, language, now: now()?, jobs: jobs(None)? };
            let report = harness::scaffold::init(&options)?;
            out(&report.render())?;
            Ok(if report.failed.is_empty() { EXIT_PASSED } else { EXIT_FAILED })
        }
        Command::Versions(VersionsCommand::Add { system, new, from }) => {
            let project = open_project(&cli.root)?;
            if new == from {
                return Err(Error::Usage(format!("the new version and --from are both {new}")));
            }
            let added = harness::scaffold::add_version(&project, &system, &from, &new)?;
            out(&added.render())?;
            Ok(EXIT_PASSED)
        }
        Command::Schemas(SchemasCommand::Import { system: _, file, from_account, auth, version }) => {
            let project = open_project(&cli.root)?;
            let source = match (file, from_account) {
                (Some(file), _) => harness::scaffold::Source::File(file),
                (None, Some(url)) => harness::scaffold::Source::Account { url, auth },
                (None, None) => return Err(Error::Usage("give FILE or --from-account URL".into())),
            };
            let imported = harness::scaffold::import_schemas(&project, &harness::scaffold::SchemaImport { source, version })?;
            out(&imported.render())?;
            Ok(EXIT_PASSED)
        }
        Command::Systems { json } => {
            // Outside a project the built-in catalog alone is listed.
            let catalog = match open_project(&cli.root) {
                Ok(project) => harness::Catalog::new(&project),
                Err(Error::NoProject(_)) if cli.root.is_none() => harness::Catalog::builtin_only(),
                Err(e) => return Err(e),
            };
            let listing = catalog.listing();
            let now = now()?;
            out(&if json { to_json(&harness::report::systems_json(&listing, &now)) } else { harness::report::systems_text(&listing, &now, &style) })?;
            Ok(EXIT_PASSED)
        }
        Command::Serve(args) => {
            let project = open_project(&cli.root)?;
            let plan = select(&project, &SelectArgs { paths: vec![args.scenario], tags: Vec::new(), partition: None, timings: None, changed_since: None })?;
            let case = plan.cases.first().ok_or_else(|| Error::Usage("no scenario to serve".into()))?;
            serve::serve(&project, case, &plan.registry, args.port_base, &mut |line| out(line))?;
            Ok(EXIT_PASSED)
        }
        Command::Record(args) => record(&cli.root, args),
        Command::Reconcile(args) => {
            let project = open_project(&cli.root)?;
            if args.baseline {
                out(&harness::reconcile::baselines(&project, &args.names)?)?;
                return Ok(EXIT_PASSED);
            }
            let now = now()?;
            let window = harness::reconcile::Window::new(args.since.as_deref(), args.until.as_deref(), args.last.as_deref(), &now).map_err(Error::Usage)?;
            let options = harness::reconcile::ReconcileOptions { names: args.names, window, accept: args.accept, show_values: args.show_values, now };
            let report = harness::reconcile::reconcile(&project, &options)?;
            render_analysis(&report, style, &args.markdown, &args.json, &args.junit, &args.html)?;
            Ok(if report.new_findings() == 0 { EXIT_PASSED } else { EXIT_FAILED })
        }
        Command::Import(args) => {
            let project = open_project(&cli.root)?;
            let options = harness::record::import::ImportOptions { files: args.files, system: args.system, version: args.version, now: now()? };
            let imported = harness::record::import::import(&project, &options)?;
            out(&imported.render())?;
            Ok(if imported.refused > 0 { EXIT_FAILED } else { EXIT_PASSED })
        }
        Command::Recordings => {
            let project = open_project(&cli.root)?;
            let plan = select(&project, &SelectArgs { paths: Vec::new(), tags: Vec::new(), partition: None, timings: None, changed_since: None })?;
            let listed = harness::record::inventory::list(&project, &plan, &now()?)?;
            out(&harness::record::inventory::render(&listed))?;
            Ok(EXIT_PASSED)
        }
        Command::Lint => {
            let project = open_project(&cli.root)?;
            let leaks = harness::leaks::leaks(&project, &harness::Catalog::new(&project));
            let mut text: String = leaks.iter().map(|l| format!("{l}\n")).collect();
            text.push_str(&match leaks.len() {
                0 => "lint: no credentials or personal data in mocks/, scenarios/ or snapshots/\n".to_string(),
                n => format!("lint: {n} finding(s): replace them (`harness record` and `harness import` redact on the way in)\n"),
            });
            let off_version = harness::plan::off_version_recordings(&harness::plan::build(&project, &[])?);
            text.push_str(&harness::plan::render_off_version(&off_version));
            out(&text)?;
            Ok(if leaks.is_empty() && off_version.iter().all(|o| o.trimmed) { EXIT_PASSED } else { EXIT_FAILED })
        }
        Command::List(args) => {
            let project = open_project(&cli.root)?;
            let plan = select(&project, &args)?;
            out(&plan.cases.iter().map(|case| format!("{}  [{}]  {}\n", case.id, case.flow.name, case.versions_label())).collect::<String>())?;
            Ok(EXIT_PASSED)
        }
        Command::Merge(args) => {
            let merged = harness::report::merge_files(&args.files)?;
            let written = |e: std::io::Error| Error::Environment(format!("cannot write a report: {e}"));
            if let Some(p) = &args.json {
                checked(p)?.deliver(&to_json(&merged)).map_err(written)?;
            }
            if let Some(p) = &args.junit {
                checked(p)?.deliver(&harness::report::run_junit("harness", &merged, None).map_err(Error::Environment)?).map_err(written)?;
            }
            if let Some(p) = &args.html {
                checked(p)?.deliver(&harness::report::html_page(&merged)).map_err(written)?;
            }
            if let Some(p) = summary_file(args.summary) {
                harness::report::append_summary(&p, &harness::report::summary_markdown(&merged, &Links::from_env(&env_var, args.html.as_deref()), harness::report::SUMMARY_LIMIT)).map_err(written)?;
            }
            out(&format!("merged {} report(s): {} passed, {} failed, {} total\n", args.files.len(), merged.passed, merged.failed, merged.total))?;
            Ok(if merged.all_passed() { EXIT_PASSED } else { EXIT_FAILED })
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
            review::review(&project, &args.paths, &harness::reconcile::pending_baselines(&project, &args.paths), mode, style, &mut stdin.lock(), &mut Stdout)?;
            Ok(EXIT_PASSED)
        }
        Command::Lineage(args) => {
            let project = open_project(&cli.root)?;
            let known = harness::flow_names(&project);
            if let Some(unknown) = args.flows.iter().find(|f| !known.contains(f)) {
                return Err(Error::Usage(format!("unknown flow `{unknown}` (flows: {})", known.join(", "))));
            }
            let options = harness::lineage::LineageOptions { flows: args.flows, ablate: args.ablate, cases_per_flow: args.scenarios.max(1), jobs: jobs(args.jobs)? };
            let lineage = harness::lineage::compute(&project, &options)?;
            render_analysis(&lineage, style, &None, &args.json, &None, &None)?;
            Ok(EXIT_PASSED)
        }
        Command::Coverage(args) => {
            let project = open_project(&cli.root)?;
            let coverage = harness::coverage::coverage(&project, jobs(args.jobs)?)?;
            render_analysis(&coverage, style, &None, &args.json, &None, &None)?;
            Ok(EXIT_PASSED)
        }
        Command::Impact(args) => {
            let project = open_project(&cli.root)?;
            if args.from == args.to {
                return Err(Error::Usage(format!("--from and --to are both {}: name the version you are upgrading to", args.from)));
            }
            let options = harness::impact::ImpactOptions { system: args.system, from: args.from, to: args.to, jobs: jobs(args.jobs)?, allow_unverified: args.allow_unverified };
            let report = harness::impact::analyse(&project, &options)?;
            render_analysis(&report, style, &args.markdown, &args.json, &args.junit, &args.html)?;
            Ok(if report.fails() { EXIT_FAILED } else { EXIT_PASSED })
        }
        Command::Run(args) => {
            let project = open_project(&cli.root)?;
            let plan = select(&project, &args.select)?;
            for leak in harness::leaks::leaks(&project, &plan.catalog) {
                eprintln!("warning: {leak} (see `harness lint`)");
            }
            if args.junit.as_ref().is_some_and(|p| p.as_os_str() == "-") {
                return Err(Error::Usage("--junit needs a file; `--json -` prints a report on standard output".into()));
            }
            let secrets = args.secrets.iter().map(|name| std::env::var(name).map_err(|_| Error::Usage(format!("--secret {name}: no environment variable {name} is set")))).collect::<Result<_, _>>()?;
            let options = RunOptions { accept: args.accept, retries: args.retries, secrets, strict_recordings: args.strict_recordings, ..RunOptions::new(jobs(args.jobs)?, project.strict() && !args.no_strict) };
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
            Ok(if summary.all_passed() { EXIT_PASSED } else { EXIT_FAILED })
        }
    }
}
