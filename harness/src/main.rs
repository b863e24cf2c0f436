//! The `harness` command: a thin layer over the library. The command line is declared in
//! `cli/args.rs`, each command carried out in `cli/commands.rs`; this file dispatches, and is the
//! one place where results and errors become exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use harness::{Error, Style};

mod cli;

use cli::args::{Cli, ColorChoice, Command, VersionsCommand};
use cli::commands::{self, Passed, open_project};

// The run path allocates many small short-lived values on several threads (JSON documents, jq
// values, HTTP buffers); mimalloc measured faster than the system allocator there (BENCHMARKS.md).
// Counting each thread's bytes on top is what enforces a case's memory budget: a runaway jq
// expression is parked instead of exhausting the machine (harness_core::budget).
#[global_allocator]
static ALLOCATOR: harness_core::budget::Counting<mimalloc::MiMalloc> =
    harness_core::budget::Counting(mimalloc::MiMalloc);

/// Exit codes, documented in the README.
const EXIT_PASSED: u8 = 0;
const EXIT_FAILED: u8 = 1;
const EXIT_CONFIG: u8 = 2;
const EXIT_ENVIRONMENT: u8 = 3;
/// As shells report a process ended by SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    // The guardian is this binary started again by itself (see `guard`): before anything else, so
    // it needs no command line of the user's and starts no thread.
    harness_procs::small_pages();
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == harness_procs::GUARDIAN_ARG) {
        match args.next().and_then(|p| p.into_string().ok()) {
            Some(prefix) => harness_procs::guardian_main(&prefix, args.next().map(std::path::PathBuf::from).as_deref()),
            None => return ExitCode::from(EXIT_CONFIG),
        }
    }
    let cli = Cli::parse();
    let style = Style {
        color: match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
            }
        },
    };
    // Still single-threaded here: the only moment a network namespace can be entered.
    let guardian = match guard(&cli) {
        Ok(g) => g,
        Err(e) => return fail(e),
    };
    let code = match dispatch(cli, style) {
        Ok(true) => ExitCode::from(EXIT_PASSED),
        Ok(false) => ExitCode::from(EXIT_FAILED),
        Err(e) => fail(e),
    };
    // Last: dropping it kills whatever of the run's programs is still alive.
    drop(guardian);
    code
}

/// For the commands that run scenarios: isolate the network when the project asks for it, become
/// the subreaper of the programs' orphans, and start the guardian that kills every program of
/// the run when the harness ends — also by `kill -9`. For them and the other commands that write
/// project files, the guardian also removes this process's scratch folder of temporary names
/// (see `harness_core::files`). Must run before any thread starts.
fn guard(cli: &Cli) -> Result<Option<harness_procs::Guardian>, Error> {
    let require_isolation = match &cli.command {
        Command::Run(args) => Some(args.require_isolation),
        Command::Impact(_) | Command::Lineage(_) | Command::Coverage(_) => Some(false),
        Command::Record(_)
        | Command::Review(_)
        | Command::Versions(_)
        | Command::Schemas(_)
        | Command::Import(_)
        | Command::Reconcile(_)
        | Command::Lint { .. } => None,
        _ => return Ok(None),
    };
    // A project that cannot be opened is reported by the command itself.
    let project = open_project(&cli.root).ok();
    let scratch = project.as_ref().map(|p| harness_core::files::use_scratch(&p.root));
    let guardian = || {
        harness_procs::start_guardian(
            harness_procs::run_id(),
            scratch.as_deref(),
            std::path::Path::new("/proc/self/exe"),
        )
        .ok()
    };
    let Some(require_isolation) = require_isolation else {
        return Ok(guardian());
    };
    if project.is_some_and(|p| p.wants_network_isolation()) {
        match harness_procs::isolate_network() {
            Ok(()) => {}
            Err(e @ harness_procs::IsolationUnavailable::Stranded(_)) => {
                return Err(Error::Environment(format!("isolation: network: {e}")));
            }
            Err(e) if require_isolation => {
                return Err(Error::Environment(format!(
                    "isolation: network is required (--require-isolation) but not available: {e}"
                )));
            }
            Err(e) => eprintln!("note: isolation: network is not available here, so this run is not isolated: {e}"),
        }
    } else if require_isolation {
        return Err(Error::Usage("--require-isolation: the project asks for no isolation (set `isolation: network` in harness.yaml or a flow file)".into()));
    }
    // Without these (not Linux) programs are still killed by their tags at the end of each case.
    let _ = harness_procs::become_subreaper();
    Ok(guardian())
}

/// The exit code of an error, after saying what it is.
fn fail(e: Error) -> ExitCode {
    let code = match &e {
        Error::Config(_) | Error::NoProject(_) | Error::Io { .. } | Error::Usage(_) => EXIT_CONFIG,
        Error::Environment(_) => EXIT_ENVIRONMENT,
        Error::Interrupted => EXIT_INTERRUPTED,
    };
    match &e {
        Error::Config(diagnostics) => eprintln!(
            "{diagnostics}\n\nerror: {} problem(s) in the project's files; nothing was run",
            diagnostics.0.len()
        ),
        other => eprintln!("error: {other}"),
    }
    ExitCode::from(code)
}

/// Runs the command; `Ok` holds whether it passed.
fn dispatch(cli: Cli, style: Style) -> Result<Passed, Error> {
    let root = &cli.root;
    match cli.command {
        Command::Schema { report, reconcile } => commands::schema(report, reconcile),
        Command::Completions { shell } => commands::completions(shell),
        Command::Init(args) => commands::init(args, style),
        Command::Versions(VersionsCommand::Add { system, new, from, json }) => {
            commands::versions_add(root, system, new, from, json, style)
        }
        Command::Schemas(command) => commands::schemas_import(root, command, style),
        Command::Systems { json } => commands::systems(root, json, style),
        Command::Serve(args) => commands::serve(root, args),
        Command::Record(args) => commands::record(root, args, style),
        Command::Reconcile(args) => commands::reconcile(root, args, style),
        Command::Import(args) => commands::import(root, args, style),
        Command::Recordings { json } => commands::recordings(root, json, style),
        Command::Lint { json, junit } => commands::lint(root, json, junit, style),
        Command::List(args) => commands::list(root, args),
        Command::Merge(args) => commands::merge(args),
        Command::Review(args) => commands::review(root, args, style),
        Command::Lineage(args) => commands::lineage(root, args, style),
        Command::Coverage(args) => commands::coverage(root, args, style),
        Command::Impact(args) => commands::impact(root, args, style),
        Command::Run(args) => commands::run(root, args, style),
    }
}
