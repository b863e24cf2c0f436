//! `harness review`: walk the pending snapshots (`.snap.new`), show what changed against the
//! approved one, and accept (rename over it), reject (delete the pending file) or skip each; then
//! the other pending files the layers above hand in (a reconciliation's pending baseline), alike.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use harness_core::{Error, Style};
use harness_syntax::Project;

use crate::snapshot::{self, Snapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Interactive,
    AcceptAll(Confirm),
    RejectAll,
    List,
}

/// Whether `--accept-all` may approve snapshots that lose data (a field that had a value has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// `--yes`.
    Given,
    /// Asked on the terminal.
    Ask,
    /// No terminal to ask on, and no `--yes`: a usage error, nothing approved.
    Refused,
}

/// Something beside snapshots that awaits review as a whole (a reconciliation's pending
/// baseline): shown, then accepted (it replaces the approved file) or rejected (deleted).
pub trait Pending {
    /// The pending file, as listed.
    fn pending(&self) -> String;
    /// The approved file it would replace.
    fn approved(&self) -> String;
    /// What accepting it changes, line by line.
    fn describe(&self, style: Style) -> Result<Vec<String>, Error>;
    fn accept(&self) -> Result<(), Error>;
    fn reject(&self) -> Result<(), Error>;
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reviewed {
    pub accepted: usize,
    pub rejected: usize,
    pub skipped: usize,
}

/// Every `.snap.new` under `snapshots/`, sorted; `filters` keep those whose path (relative to
/// `snapshots/` or the project) starts with one of them.
pub fn pending(project: &Project, filters: &[PathBuf]) -> Vec<PathBuf> {
    let dir = project.snapshots_dir();
    let mut out: Vec<PathBuf> = harness_syntax::project::files_under(&dir)
        .into_iter()
        .filter(|f| f.ends_with(".snap.new"))
        .map(|f| dir.join(f))
        .collect();
    out.retain(|p| {
        filters.is_empty()
            || filters.iter().any(|f| {
                let f = f.to_string_lossy();
                let f = f.trim_start_matches("./");
                let rel = p.strip_prefix(&dir).unwrap_or(p).to_string_lossy().into_owned();
                rel.starts_with(f) || project.display_path(p).starts_with(f)
            })
    });
    out.sort();
    out
}

/// Review the pending snapshots `filters` keep, then `others`.
pub fn review(
    project: &Project,
    filters: &[PathBuf],
    others: &[Box<dyn Pending>],
    mode: Mode,
    style: Style,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<Reviewed, Error> {
    let files = pending(project, filters);
    let io = |e: std::io::Error| Error::Environment(format!("cannot write to the terminal: {e}"));
    let mut done = Reviewed::default();
    let total = files.len() + others.len();
    if total == 0 {
        writeln!(out, "no pending snapshots").map_err(io)?;
        return Ok(done);
    }
    if let Mode::AcceptAll(confirm) = mode {
        let mut losing = 0;
        for pending_path in &files {
            let (new, old) = load_pair(project, pending_path)?;
            losing += usize::from(
                old.is_some_and(|old| snapshot::changes(&old.json(), &new.json()).iter().any(|c| c.emptied())),
            );
        }
        if losing > 0 && !confirmed(losing, files.len(), confirm, input, out)? {
            writeln!(out, "nothing accepted").map_err(io)?;
            return Ok(done);
        }
    }
    for (i, pending_path) in files.iter().enumerate() {
        let approved_path = approved_path(pending_path);
        let shown = project.display_path(pending_path);
        if mode == Mode::List {
            writeln!(out, "{shown}").map_err(io)?;
            continue;
        }
        let (new, old) = load_pair(project, pending_path)?;
        writeln!(out, "{}", style.bold(&format!("[{}/{total}] {}", i + 1, project.display_path(&approved_path))))
            .map_err(io)?;
        writeln!(out, "  source: {}", new.source).map_err(io)?;
        match &old {
            None => {
                writeln!(out, "  new snapshot:").map_err(io)?;
                for line in new.body.lines() {
                    writeln!(out, "    {}", style.green(&format!("+{line}"))).map_err(io)?;
                }
            }
            Some(old) => {
                for change in snapshot::changes(&old.json(), &new.json()) {
                    writeln!(out, "  • {}", change.describe()).map_err(io)?;
                }
                for line in snapshot::line_diff(&old.body, &new.body, style.color).lines() {
                    writeln!(out, "    {line}").map_err(io)?;
                }
            }
        }
        let accept = || snapshot::accept_pending(&approved_path).map_err(|e| Error::io(pending_path, e));
        let reject = || std::fs::remove_file(pending_path).map_err(|e| Error::io(pending_path, e));
        decide(mode, style, input, out, &mut done, accept, reject)?;
    }
    for (i, other) in others.iter().enumerate() {
        if mode == Mode::List {
            writeln!(out, "{}", other.pending()).map_err(io)?;
            continue;
        }
        writeln!(out, "{}", style.bold(&format!("[{}/{total}] {}", files.len() + i + 1, other.approved())))
            .map_err(io)?;
        for line in other.describe(style)? {
            writeln!(out, "  {line}").map_err(io)?;
        }
        decide(mode, style, input, out, &mut done, || other.accept(), || other.reject())?;
    }
    if mode != Mode::List {
        writeln!(out, "\n{} accepted, {} rejected, {} skipped", done.accepted, done.rejected, done.skipped)
            .map_err(io)?;
    }
    Ok(done)
}

/// Ask (or take the mode's answer) and act on one pending item.
fn decide(
    mode: Mode,
    style: Style,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    done: &mut Reviewed,
    accept: impl FnOnce() -> Result<(), Error>,
    reject: impl FnOnce() -> Result<(), Error>,
) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Environment(format!("cannot write to the terminal: {e}"));
    let decision = match mode {
        Mode::AcceptAll(_) => 'a',
        Mode::RejectAll => 'r',
        Mode::List => unreachable!("listed, not decided"),
        Mode::Interactive => ask(input, out).map_err(io)?,
    };
    match decision {
        'a' => {
            accept()?;
            writeln!(out, "  {}", style.green("accepted")).map_err(io)?;
            done.accepted += 1;
        }
        'r' => {
            reject()?;
            writeln!(out, "  {}", style.red("rejected")).map_err(io)?;
            done.rejected += 1;
        }
        _ => {
            writeln!(out, "  skipped").map_err(io)?;
            done.skipped += 1;
        }
    }
    Ok(())
}

/// A pending snapshot and the approved one it would replace, if any.
fn load_pair(project: &Project, pending_path: &Path) -> Result<(Snapshot, Option<Snapshot>), Error> {
    let approved_path = approved_path(pending_path);
    let text = harness_syntax::project::read_text(&project.root, pending_path)?;
    harness_syntax::project::inside(&project.root, &approved_path)
        .map_err(|m| harness_core::Diagnostic::new(&approved_path, m.to_string()).relative_to(&project.root))?;
    let new = Snapshot::parse(pending_path, &text).map_err(|d| Error::from(d.relative_to(&project.root)))?;
    Ok((new, snapshot::load(&project.root, &approved_path)?))
}

/// Says how many of the snapshots `--accept-all` approves lose data, and whether it may.
fn confirmed(
    losing: usize,
    total: usize,
    confirm: Confirm,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<bool, Error> {
    let io = |e: std::io::Error| Error::Environment(format!("cannot write to the terminal: {e}"));
    let what = format!("{losing} of the {total} pending snapshot(s) lose data: a field that had a value has none");
    match confirm {
        Confirm::Given => {
            writeln!(out, "approving {what}").map_err(io)?;
            Ok(true)
        }
        Confirm::Refused => Err(Error::Usage(format!(
            "review --accept-all: {what}; add --yes to approve them without a terminal, or review them one by one (`harness review`)"
        ))),
        Confirm::Ask => {
            write!(out, "{what}. Approve them all (y/N)? ").map_err(io)?;
            out.flush().map_err(io)?;
            let mut line = String::new();
            input.read_line(&mut line).map_err(io)?;
            Ok(matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
        }
    }
}

/// `x.snap.new` → `x.snap`
fn approved_path(pending: &Path) -> PathBuf {
    PathBuf::from(pending.to_string_lossy().trim_end_matches(".new"))
}

/// Ask until the answer is a, r or s; end of input means skip.
fn ask(input: &mut dyn BufRead, out: &mut dyn Write) -> std::io::Result<char> {
    loop {
        write!(out, "  accept (a), reject (r), skip (s)? ")?;
        out.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            writeln!(out)?;
            return Ok('s');
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "a" | "accept" => return Ok('a'),
            "r" | "reject" => return Ok('r'),
            "s" | "skip" | "" => return Ok('s'),
            _ => continue,
        }
    }
}
