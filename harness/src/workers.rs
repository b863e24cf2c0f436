//! Case workers: threads that each own a single-threaded runtime and an HTTP client and run one
//! case at a time. A case that never yields — a jq expression that never ends cannot be
//! interrupted — then holds only its own thread: the caller's watchdog gives it up, and the next
//! case gets a fresh worker instead of waiting behind it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::Error;
use crate::execute::Shared;

type Job = Box<dyn FnOnce(&tokio::runtime::Runtime, &Arc<Shared>) + Send>;

/// Why a case gave no result.
#[derive(Debug)]
pub enum Abandoned {
    Panicked(String),
    /// Still busy this long after it started.
    Stuck(Duration),
    /// Not started: this many cases are stuck, one CPU each, and that is every CPU.
    NotRun { stuck: usize },
}

/// Idle workers, started on demand and reused.
pub struct Workers {
    root: PathBuf,
    idle: Mutex<Vec<Worker>>,
}

struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Workers {
    pub fn new(root: PathBuf) -> Workers {
        Workers { root, idle: Mutex::new(Vec::new()) }
    }

    /// Run `task` on a worker and wait for it, at most `patience`. A worker whose task panicked
    /// or overran is not reused.
    pub async fn run<T, Fut>(&self, patience: Duration, task: impl FnOnce(Arc<Shared>) -> Fut + Send + 'static) -> Result<Result<T, Abandoned>, Error>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T, Error>>,
    {
        let worker = self.idle.lock().expect("idle workers").pop();
        let worker = match worker {
            Some(w) => w,
            None => self.start()?,
        };
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |runtime, shared| {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(task(shared.clone()))));
            let _ = reply.send(outcome.map_err(|payload| Abandoned::Panicked(crate::error::panic_message(&*payload))));
        });
        worker.jobs.send(job).map_err(|_| Error::Environment("a case worker thread has died".into()))?;
        match tokio::time::timeout(patience, answer).await {
            Ok(Ok(Ok(result))) => {
                self.idle.lock().expect("idle workers").push(worker);
                result.map(Ok)
            }
            Ok(Ok(Err(panicked))) => Ok(Err(panicked)),
            Ok(Err(_)) => Ok(Err(Abandoned::Panicked("the case worker thread died".into()))),
            Err(_) => Ok(Err(Abandoned::Stuck(patience))),
        }
    }

    fn start(&self) -> Result<Worker, Error> {
        let environment = |what: &str, e: &dyn std::fmt::Display| Error::Environment(format!("cannot start a case worker ({what}): {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| environment("runtime", &e))?;
        let shared = Arc::new(Shared::new(self.root.clone())?);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("harness-case".into())
            .spawn(move || {
                // Ends when its sender is dropped: at the end of the run, or when given up.
                for job in queue {
                    job(&runtime, &shared);
                }
            })
            .map_err(|e| environment("thread", &e))?;
        Ok(Worker { jobs })
    }
}
