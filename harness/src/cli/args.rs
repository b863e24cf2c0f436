//! The command line: every subcommand and flag, parsed by clap. Commands are carried out in
//! `commands.rs`; adding one is a variant here and a line in `main.rs`'s `dispatch`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use harness::{SystemId, plan};

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Replay recorded Shopify, NetSuite and Peoplevox traffic through mocks, run the integration, and catch what its output lost or changed."
)]
pub(crate) struct Cli {
    /// Project root (the folder with harness.yaml); default: found upwards from the current folder.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
    /// Colours: auto (default; off when NO_COLOR is set or output is not a terminal), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    Recordings {
        /// Write the listing as JSON to FILE (`-` for standard output, replacing the terminal's).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Find credentials and personal data left in recordings, stubs, scenarios and snapshots
    /// (token shapes, bearer tokens, high-entropy values under credential names, emails outside
    /// the test domains); exit 1 when any is found.
    Lint {
        /// Write the findings as JSON to FILE (`-` for standard output, replacing the terminal's).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write a JUnit report to FILE: a test case per finding.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
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
pub(crate) struct ServeArgs {
    /// The scenario file (its first case, when it runs at several versions).
    pub(crate) scenario: PathBuf,
    /// The port of the first mock; the next ones follow, in the order printed.
    #[arg(long, default_value_t = 18000)]
    pub(crate) port_base: u16,
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct RecordArgs {
    #[command(subcommand)]
    pub(crate) webhook: Option<RecordCommand>,
    /// The system recorded: shopify, netsuite, peoplevox or one the project declares.
    #[arg(long, value_parser = parse_system)]
    pub(crate) system: Option<SystemId>,
    /// Its API version: recordings go to mocks/SYSTEM/VERSION/.
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// The real system's address, e.g. https://1234567.suitetalk.api.netsuite.com.
    #[arg(long, value_name = "URL")]
    pub(crate) upstream: Option<String>,
    /// PEM certificates of a private CA the upstream's certificate is signed by (besides the system's roots).
    #[arg(long, value_name = "FILE")]
    pub(crate) upstream_ca: Option<PathBuf>,
    /// The local port on 127.0.0.1 (default: any free one; the URL is printed).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// The draft stub set, mocks/SYSTEM/VERSION/stubs/NAME.yaml (default: recorded-<date>-<time>).
    #[arg(long, value_name = "NAME")]
    pub(crate) stubs: Option<String>,
    /// Also write a draft scenario scenarios/FLOW/NAME.yaml replaying the recordings (needs --trigger).
    #[arg(long, value_name = "FLOW/NAME", requires = "trigger")]
    pub(crate) scenario: Option<String>,
    /// The draft scenario's trigger payload, relative to the trigger system's version folder.
    #[arg(long, value_name = "FILE", requires = "scenario")]
    pub(crate) trigger: Option<String>,
    /// Replay the recorded requests against the upstream and report what the answers add, remove
    /// or retype, and which flows read it (exit 1 when a field a flow reads changed).
    #[arg(long, conflicts_with_all = ["scenario", "stubs"])]
    pub(crate) check: bool,
    /// With --check: send recorded writes too (default: read-only calls only).
    #[arg(long, requires = "check")]
    pub(crate) allow_writes: bool,
    /// With --check: a header sent with every request, `Name: value` (the credentials the
    /// recordings no longer hold); repeatable.
    #[arg(long = "header", value_name = "NAME: VALUE", requires = "check", value_parser = parse_header)]
    pub(crate) headers: Vec<(String, String)>,
    /// With --check: write a self-contained HTML page of the report to FILE.
    #[arg(long, value_name = "FILE", requires = "check")]
    pub(crate) html: Option<PathBuf>,
    /// With --check: write the report as JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE", requires = "check")]
    pub(crate) json: Option<PathBuf>,
    /// With --check: write a JUnit report to FILE, a test case per recording.
    #[arg(long, value_name = "FILE", requires = "check")]
    pub(crate) junit: Option<PathBuf>,
}

#[derive(clap::Args)]
pub(crate) struct ReconcileArgs {
    /// Reconciliations to check (names of reconcile/NAME.yaml; default: all).
    pub(crate) names: Vec<String>,
    /// The window's start, e.g. 2026-12-06T00:00Z or 2026-12-06 (UTC).
    #[arg(long, value_name = "TIME", conflicts_with = "last")]
    pub(crate) since: Option<String>,
    /// The window's end (default: now).
    #[arg(long, value_name = "TIME")]
    pub(crate) until: Option<String>,
    /// The window as a span before its end: 24h (the default), 7d, 90m.
    #[arg(long, value_name = "SPAN")]
    pub(crate) last: Option<String>,
    /// Accept the current findings: write them to reconcile/NAME.baseline.json, so later runs
    /// report only new ones.
    #[arg(long)]
    pub(crate) accept: bool,
    /// List the accepted discrepancies instead of checking.
    #[arg(long, conflicts_with = "accept")]
    pub(crate) baseline: bool,
    /// Show the compared text values in findings (default: only the join key and amounts).
    #[arg(long)]
    pub(crate) show_values: bool,
    /// Write a JUnit report to FILE: a test case per relation and finding kind.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Write the report as JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Write the report as Markdown to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub(crate) markdown: Option<PathBuf>,
    /// Write a self-contained HTML page of the report to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum RecordCommand {
    /// Receive real webhook deliveries (forwarded from a tunnel or the Shopify CLI), verify their
    /// HMAC with the app secret, and store each body as a trigger recording.
    Webhook(WebhookArgs),
}

#[derive(clap::Args)]
pub(crate) struct WebhookArgs {
    /// The system sending them (shopify).
    #[arg(long, value_parser = parse_system)]
    pub(crate) system: SystemId,
    /// The local port on 127.0.0.1 (default: any free one; the URL is printed).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// The environment variable holding the app's client secret, which signs the deliveries
    /// (default: the one the system's own tools read).
    #[arg(long, value_name = "NAME")]
    pub(crate) secret_env: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// HAR files, or files holding one payload each.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// The system, for payloads and entries that do not say.
    #[arg(long, value_parser = parse_system)]
    pub(crate) system: Option<SystemId>,
    /// The API version, for payloads and entries that do not say (else harness.yaml's).
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// Write what was imported as JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once(':').ok_or("write `Name: value`")?;
    Ok((name.trim().to_string(), value.trim().to_string()))
}

#[derive(clap::Args)]
pub(crate) struct InitArgs {
    /// The project folder (created when missing).
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// Only these systems, comma-separated (default: shopify,netsuite,peoplevox).
    #[arg(long, value_delimiter = ',', value_parser = parse_system)]
    pub(crate) systems: Option<Vec<SystemId>>,
    /// The example program's language (default: node when the folder has a package.json, else python).
    #[arg(long, value_enum)]
    pub(crate) language: Option<LanguageChoice>,
    /// The Shopify API version the team uses (default: harness.yaml's, else the newest supported).
    #[arg(long, value_name = "VERSION")]
    pub(crate) shopify: Option<String>,
    /// The NetSuite version the team uses (default: harness.yaml's, else the newest supported).
    #[arg(long, value_name = "VERSION")]
    pub(crate) netsuite: Option<String>,
    /// The Peoplevox version the team uses (default: harness.yaml's, else the newest supported).
    #[arg(long, value_name = "VERSION")]
    pub(crate) peoplevox: Option<String>,
    /// Write what was done as JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LanguageChoice {
    Python,
    Node,
}

#[derive(Subcommand)]
pub(crate) enum VersionsCommand {
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
        /// Write what was done as JSON to FILE (`-` for standard output).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub(crate) enum SchemasCommand {
    /// From the document a system describes its accounts' records in (OpenAPI 3 from the REST
    /// metadata catalog, for the built-in systems): the records the flows send, custom fields
    /// included, written to mocks/SYSTEM/VERSION/system.yaml `schema_extensions:`.
    Import {
        /// The system whose account it is (one whose accounts describe their records).
        system: String,
        /// The saved metadata document (`metadata-catalog?select=salesorder,customer`).
        #[arg(required_unless_present = "from_account", conflicts_with = "from_account")]
        file: Option<PathBuf>,
        /// Fetch it from the account at URL (read-only GET), with the credentials in
        /// HARNESS_<SYSTEM>_<KEY> (a missing one is named).
        #[arg(long, value_name = "URL")]
        from_account: Option<String>,
        /// The authentication for --from-account (default: the system's first).
        #[arg(long, requires = "from_account")]
        auth: Option<String>,
        /// The version folder written (default: the project's newest version of the system).
        #[arg(long)]
        version: Option<String>,
        /// Write what was imported as JSON to FILE (`-` for standard output).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
pub(crate) struct SelectArgs {
    /// Scenario files or folders (default: scenarios/).
    pub(crate) paths: Vec<PathBuf>,
    /// Only scenarios with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,
    /// Only the K-th of N shares of the cases, e.g. `2/4`, to split a suite across CI machines;
    /// `auto` reads the share from GitLab, Buildkite, CircleCI or Bazel variables.
    #[arg(long, value_name = "K/N", value_parser = plan::parse_share)]
    pub(crate) partition: Option<plan::ShareSpec>,
    /// Balance the shares by the durations an earlier run recorded (its JSON or JUnit report).
    #[arg(long, value_name = "FILE", requires = "partition")]
    pub(crate) timings: Option<PathBuf>,
    /// Only scenarios whose inputs changed since the git ref REF (files changed, staged or new).
    #[arg(long, value_name = "REF")]
    pub(crate) changed_since: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct MergeArgs {
    /// The shards' JSON reports.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Write the merged JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Write the merged JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Append a Markdown summary to FILE (default: `GITHUB_STEP_SUMMARY` when set).
    #[arg(long, value_name = "FILE")]
    pub(crate) summary: Option<PathBuf>,
    /// Write a self-contained HTML page of the run to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
}

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// Scenarios run at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// Approve new and changed snapshots of scenarios that otherwise pass.
    #[arg(long)]
    pub(crate) accept: bool,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Write a JSON report to FILE (`-` for standard output, replacing the terminal report).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Append a Markdown summary to FILE (default: `GITHUB_STEP_SUMMARY` when set).
    #[arg(long, value_name = "FILE")]
    pub(crate) summary: Option<PathBuf>,
    /// Write a self-contained HTML page of the run to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
    /// Report silent data loss as warnings instead of failures (strict is the default).
    #[arg(long)]
    pub(crate) no_strict: bool,
    /// Run a failing scenario again up to N times; one that passes then is reported as flaky.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) retries: u32,
    /// Mask the value of environment variable NAME wherever it would appear in snapshots, reports
    /// and output (repeatable), besides the credentials and secret-looking variables masked anyway.
    #[arg(long = "secret", value_name = "NAME")]
    pub(crate) secrets: Vec<String>,
    /// Fail (exit 3) instead of running without it when `isolation: network` is asked for and the
    /// platform cannot isolate the run.
    #[arg(long)]
    pub(crate) require_isolation: bool,
    /// Fail scenarios that rely on a recording older than `max_recording_age` (harness.yaml)
    /// instead of warning.
    #[arg(long)]
    pub(crate) strict_recordings: bool,
    /// Leave timings out of the terminal report (for comparing outputs).
    #[arg(long, hide = true)]
    pub(crate) no_times: bool,
}

#[derive(clap::Args)]
pub(crate) struct ImpactArgs {
    /// The system being upgraded: shopify, netsuite, peoplevox or one the project declares.
    #[arg(long, value_parser = parse_system)]
    pub(crate) system: SystemId,
    /// The API version in use (recorded under mocks/<system>/<from>).
    #[arg(long)]
    pub(crate) from: String,
    /// The API version to move to (recorded under mocks/<system>/<to>).
    #[arg(long)]
    pub(crate) to: String,
    /// Scenarios run at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// Write the report as Markdown to FILE (`-` for standard output), e.g. for a pull-request comment.
    #[arg(long, value_name = "FILE")]
    pub(crate) markdown: Option<PathBuf>,
    /// Write a self-contained HTML page of the report to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
    /// Write the report as JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Write a JUnit report to FILE: one test case per flow and affected target field.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Warn about topics and endpoints whose changes nothing tells (no catalog knowledge, no
    /// recordings at both versions) instead of failing.
    #[arg(long)]
    pub(crate) allow_unverified: bool,
}

#[derive(clap::Args)]
pub(crate) struct LineageArgs {
    /// Only these flows (repeatable).
    #[arg(long = "flow", value_name = "FLOW")]
    pub(crate) flows: Vec<String>,
    /// Also trace by ablation: run each flow's first scenarios once per source field removed
    /// (always done for external flows, whose mapping cannot be read).
    #[arg(long)]
    pub(crate) ablate: bool,
    /// Scenarios per flow to ablate on.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) scenarios: usize,
    /// Write JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Scenarios run at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub(crate) jobs: Option<usize>,
}

#[derive(clap::Args)]
pub(crate) struct CoverageArgs {
    /// Write JSON to FILE (`-`, or no FILE, for standard output).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    pub(crate) json: Option<PathBuf>,
    /// Scenarios run at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub(crate) jobs: Option<usize>,
}

fn parse_system(s: &str) -> Result<SystemId, harness_core::system_id::BadSystemName> {
    SystemId::new(s)
}

#[derive(clap::Args)]
pub(crate) struct ReviewArgs {
    /// Only pending snapshots under these folders or of these scenario ids.
    pub(crate) paths: Vec<PathBuf>,
    /// Accept every pending snapshot without asking; those that lose data (a field that had a
    /// value has none) are counted, and confirmed on a terminal or by --yes.
    #[arg(long, conflicts_with_all = ["reject_all", "list"])]
    pub(crate) accept_all: bool,
    /// With --accept-all: approve snapshots that lose data without asking (needed without a terminal).
    #[arg(long, requires = "accept_all")]
    pub(crate) yes: bool,
    /// Reject (delete) every pending snapshot without asking.
    #[arg(long, conflicts_with = "list")]
    pub(crate) reject_all: bool,
    /// Only list pending snapshots.
    #[arg(long)]
    pub(crate) list: bool,
}
