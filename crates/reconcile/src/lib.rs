//! `harness reconcile`: the daily check across the live systems. A reconciliation
//! (`reconcile/<name>.yaml`) lists the source system's records for a window and each downstream
//! system's, read-only and page by page, reduces each record to its key and the values compared
//! as it arrives (memory grows with the number of keys, not the size of the records), joins them
//! by key and reports what is missing, duplicated, orphaned, different, off in total or late —
//! through the same reporters as runs. `fixture:` folders of recorded listings are served by the
//! harness's own loopback mocks, so the check runs hermetically too.

mod baseline;
mod fetch;
mod fixture;
mod join;
mod load;
mod report;
mod spec;
mod window;

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use harness_core::Error;
use harness_mock::{Limits, Listener};
use harness_redact::SecretMask;
use harness_syntax::Project;
use harness_systems::client::HttpClient;

pub use baseline::pending as pending_baselines;
pub use fetch::Stats;
pub use join::{Finding, Kind, Observed};
pub use report::{Checked, Listed, ReconcileReport, schema};
pub use window::Window;

use crate::fetch::Client;
use crate::join::{Reduced, SourceReducer, TargetReducer};
use crate::load::{Reach, Reconciliation};

pub struct ReconcileOptions {
    /// Reconciliation names (file stems under reconcile/); all when empty.
    pub names: Vec<String>,
    pub window: Window,
    /// Write each baseline to accept the current findings.
    pub accept: bool,
    /// Show compared text values (personal data, perhaps) instead of the join key alone.
    pub show_values: bool,
    /// The instant `--accept` records.
    pub now: String,
}

/// Run the reconciliations `options` names.
pub fn reconcile(project: &Project, options: &ReconcileOptions) -> Result<ReconcileReport, Error> {
    let loaded = load::load_all(project, &options.names)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("harness-reconcile")
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the runtime: {e}")))?;
    // Made when a system is first reached over HTTPS: the machine's roots are read only then.
    let tls = std::sync::OnceLock::new();
    let progress = Progress::new(std::io::stderr().is_terminal());
    let mut checks = Vec::new();
    for r in &loaded {
        let mut checked = runtime.block_on(check(r, options, &tls, &progress))?;
        let path = baseline::path(&project.root, &r.file);
        let base = baseline::read(&path)?;
        if options.accept {
            baseline::accept(&path, &base, &checked.findings, &options.now)?;
            checked.baseline_written = Some(path.strip_prefix(&project.root).unwrap_or(&path).display().to_string());
        }
        let accepted = if options.accept { baseline::read(&path)? } else { base };
        baseline::apply(&accepted, &mut checked.findings);
        // New findings leave what --accept would write, for `harness review`; else none is left.
        if checked.findings.iter().any(|f| f.accepted.is_none()) {
            let pending = baseline::pending_path(&path);
            baseline::accept(&pending, &accepted, &checked.findings, &options.now)?;
            checked.pending_baseline =
                Some(pending.strip_prefix(&project.root).unwrap_or(&pending).display().to_string());
        } else {
            baseline::clear_pending(&path)?;
        }
        checks.push(checked);
    }
    progress.clear();
    Ok(ReconcileReport::new(checks))
}

/// The accepted discrepancies of the reconciliations named (all when none), as text.
pub fn baselines(project: &Project, names: &[String]) -> Result<String, Error> {
    let mut out = String::new();
    for r in load::load_all(project, names)? {
        let path = baseline::path(&project.root, &r.file);
        let shown = path.strip_prefix(&project.root).unwrap_or(&path).to_path_buf();
        out.push_str(&baseline::render(&r.name, &shown, &baseline::read(&path)?));
    }
    Ok(out)
}

async fn check(
    r: &Reconciliation,
    options: &ReconcileOptions,
    tls: &fetch::Tls,
    progress: &Progress,
) -> Result<Checked, Error> {
    // Fixtures are served for as long as the check runs; dropping the listeners stops them.
    let mut listeners: Vec<Listener> = Vec::new();
    let mut bases = std::collections::BTreeMap::new();
    for (id, connection) in &r.systems {
        let base = match &connection.reach {
            Reach::Fixture(dir) => {
                let fixture = fixture::Fixture::open(connection.system.clone(), dir)?;
                let listener =
                    Listener::bind(([127, 0, 0, 1], 0).into(), Arc::new(fixture), Limits::default())
                        .await
                        .map_err(|e| Error::Environment(format!("cannot serve the {id} fixture on loopback: {e}")))?;
                let url = listener.base_url();
                listeners.push(listener);
                url
            }
            Reach::Live { url, .. } => url.clone(),
        };
        bases.insert(id.clone(), base);
    }
    let mut secrets = Vec::new();
    let mut clients = Vec::new();
    for side in std::iter::once(&r.source).chain(r.targets.iter().map(|t| &t.side)) {
        // A client of its own per listing: its connections are driven by the listing's own runtime.
        let http = HttpClient::shared_reqwest()?;
        clients.push(Client::new(
            &side.system,
            &r.systems[&side.system],
            bases[&side.system].clone(),
            http,
            tls,
            &mut secrets,
        )?);
    }
    let mask = Arc::new(SecretMask::new(secrets));
    let clients: Vec<Client> = clients.into_iter().map(|c| c.masking(mask.clone())).collect();
    let window = &options.window;

    let source_label = r.source_relation();
    let mut source = SourceReducer::new(r, window);
    let source_window = window.reaching_back(r.lag.as_secs());
    let mut targets: Vec<TargetReducer> = r.targets.iter().map(TargetReducer::new).collect();
    let (source_stats, target_stats) = std::thread::scope(|scope| {
        let source = &mut source;
        let source_thread = scope.spawn(|| {
            listing(
                &clients[0],
                r.source.lister.as_ref(),
                &source_window,
                |rec| source.add(rec),
                &source_label,
                progress,
            )
        });
        let target_threads: Vec<_> = targets
            .iter_mut()
            .zip(&r.targets)
            .zip(&clients[1..])
            .map(|((reducer, t), client)| {
                scope.spawn(move || {
                    listing(client, t.side.lister.as_ref(), window, |rec| reducer.add(rec), &t.name, progress)
                })
            })
            .collect();
        let joined = |h: std::thread::ScopedJoinHandle<'_, Result<Stats, Error>>| {
            h.join().unwrap_or_else(|_| Err(Error::Environment("a listing thread stopped unexpectedly".into())))
        };
        (joined(source_thread), target_threads.into_iter().map(joined).collect::<Vec<_>>())
    });
    drop(listeners);
    let mut listed = vec![Listed { relation: source_label, system: r.source.system.to_string(), stats: source_stats? }];
    for (t, stats) in r.targets.iter().zip(target_stats) {
        listed.push(Listed { relation: t.name.clone(), system: t.side.system.to_string(), stats: stats? });
    }
    let source = source.out;
    let targets: Vec<Reduced> = targets.into_iter().map(|t| t.out).collect();
    let findings = join::findings(r, &source, &targets, window, options.show_values);
    let mut notes = Vec::new();
    for (l, reduced) in listed.iter().zip(std::iter::once(&source).chain(&targets)) {
        if reduced.unkeyed > 0 {
            notes.push(format!("{}: {} record(s) without a key were left out", l.relation, reduced.unkeyed));
        }
        if let Some(first) = &reduced.first_failure {
            notes.push(format!("{}: jq failed on {} value(s), first {first}", l.relation, reduced.failed));
        }
    }
    let pending = pending(r, &source, &targets, window);
    Ok(Checked {
        name: r.name.clone(),
        file: r.file.display().to_string(),
        description: r.description.clone(),
        since: window.since_text(),
        until: window.until_text(),
        lag: join::human(r.lag.as_secs()),
        listed,
        pending,
        findings,
        notes,
        baseline_written: None,
        pending_baseline: None,
    })
}

/// One system's listing on a thread and runtime of its own: reducing one system's pages (CPU work,
/// between two of its requests) never holds up the answer another system is sending, which would
/// then time out on a loaded machine.
fn listing(
    client: &Client,
    lister: &dyn harness_systems::records::Lister,
    window: &Window,
    each: impl FnMut(serde_json::Value),
    label: &str,
    progress: &Progress,
) -> Result<Stats, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(client.list(lister, window, each, |s| progress.update(label, s)))
}

/// Source records not downstream yet but younger than the lag, over all relations.
fn pending(r: &Reconciliation, source: &Reduced, targets: &[Reduced], window: &Window) -> u64 {
    let judged_at = window.until.min(window.now);
    let lag = r.lag.as_secs();
    let young = |at: Option<u64>| at.is_some_and(|at| at + lag > judged_at);
    targets
        .iter()
        .map(|t| source.records.iter().filter(|(k, s)| young(s.at) && !t.records.contains_key(*k)).count() as u64)
        .sum()
}

/// Records listed so far, on one line of standard error, when it is a terminal.
struct Progress {
    on: bool,
    counts: Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Progress {
    fn new(on: bool) -> Self {
        Progress { on, counts: Mutex::default() }
    }

    fn update(&self, label: &str, stats: &Stats) {
        if !self.on {
            return;
        }
        let mut counts = self.counts.lock().expect("progress");
        counts.insert(label.to_string(), stats.records);
        let line: Vec<String> = counts.iter().map(|(l, n)| format!("{l} {n}")).collect();
        eprint!("\r\x1b[2Klisting… {}", line.join(" · "));
    }

    fn clear(&self) {
        if self.on && !self.counts.lock().expect("progress").is_empty() {
            eprint!("\r\x1b[2K");
        }
    }
}
