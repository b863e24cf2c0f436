//! Which expression a thread is evaluating, for a watchdog on another thread to name when the
//! evaluation runs away: the case's worker installs a slot ([`watch_this_thread`]), and every
//! evaluation of an [`Expr`](crate::Expr) fills it for as long as it runs.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where an expression was written: what it is (`reconcile`, `mapping body.memo`), the file and
/// the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub what: String,
    pub file: PathBuf,
    pub line: usize,
}

/// An expression being evaluated: its text, and its origin when known.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub text: Arc<str>,
    pub origin: Option<Arc<Origin>>,
}

/// The slot of one thread.
#[derive(Debug, Default)]
pub struct Evaluating(Mutex<Option<Evaluation>>);

impl Evaluating {
    /// What the thread is evaluating now, if anything.
    pub fn now(&self) -> Option<Evaluation> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn swap(&self, value: Option<Evaluation>) -> Option<Evaluation> {
        std::mem::replace(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()), value)
    }
}

thread_local! {
    static SLOT: RefCell<Option<Arc<Evaluating>>> = const { RefCell::new(None) };
}

/// Let evaluations on this thread be seen through `slot`.
pub fn watch_this_thread(slot: Arc<Evaluating>) {
    SLOT.with(|s| *s.borrow_mut() = Some(slot));
}

/// Fills the thread's slot while an evaluation runs, and restores what was there (an enclosing
/// evaluation) when it ends.
pub(crate) struct Guard {
    slot: Option<Arc<Evaluating>>,
    previous: Option<Evaluation>,
}

impl Guard {
    pub(crate) fn enter(text: &Arc<str>, origin: &Option<Arc<Origin>>) -> Guard {
        let slot = SLOT.with(|s| s.borrow().clone());
        let previous =
            slot.as_ref().and_then(|s| s.swap(Some(Evaluation { text: text.clone(), origin: origin.clone() })));
        Guard { slot, previous }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(slot) = &self.slot {
            slot.swap(self.previous.take());
        }
    }
}
