//! Case workers: threads that each own a single-threaded runtime and an HTTP client and run one
//! case at a time. A case that never yields — a jq expression that never ends cannot be
//! interrupted — then holds only its own thread: the watchdog here gives it up, and the next
//! case gets a fresh worker instead of waiting behind it. Each worker has a memory budget
//! (`harness_core::budget`): past it, or once given up on, the thread is parked in the allocator,
//! so a runaway expression neither grows nor burns a CPU; and each names the expression it is
//! evaluating (`harness_expr::Evaluating`), for the report.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use harness_core::Error;
use harness_core::budget::ThreadBudget;
use harness_expr::{Evaluating, Evaluation};
use harness_systems::Registry;

use crate::execute::Shared;
use crate::secrets::Secrets;

type Job = Box<dyn FnOnce(&tokio::runtime::Runtime, &Arc<Shared>) + Send>;

/// Why a case gave no result.
#[derive(Debug)]
pub(crate) enum Abandoned {
    Panicked(String),
    /// Still busy this long after it started, evaluating this (when an expression).
    Stuck(Duration, Option<Evaluation>),
    /// Used more memory than a case may (bytes), evaluating this.
    OutOfMemory(usize, Option<Evaluation>),
    /// Recursed deeper than a case's stack allows, evaluating this.
    TooDeep(Option<Evaluation>),
    /// Not started: this many cases are stuck, one CPU each, and that is every CPU.
    NotRun {
        stuck: usize,
    },
}

/// Idle workers, started on demand and reused.
pub(crate) struct Workers {
    root: PathBuf,
    registry: Registry,
    secrets: Arc<Secrets>,
    limits: harness_mock::Limits,
    idle: Mutex<Vec<Worker>>,
}

struct Worker {
    jobs: mpsc::Sender<Job>,
    thread: std::thread::JoinHandle<()>,
    /// Its thread's id, to see whether it computes.
    tid: Arc<std::sync::atomic::AtomicI32>,
    budget: Arc<ThreadBudget>,
    evaluating: Arc<Evaluating>,
}

/// How much memory one case's thread may hold: far more than any flow needs, far less than the
/// machine has.
pub(crate) const CASE_MEMORY: usize = 256 << 20;

/// The stack of a case's thread, and how much of it is kept in reserve (see
/// `ThreadBudget::guard_stack`): address space, of which only what a case uses is ever touched.
/// Deep recursion — a jq function calling itself, a value built thousands of levels deep and then
/// compared, printed or dropped — is stopped at the reserve instead of aborting the run.
const CASE_STACK: usize = 1 << 30;
const CASE_STACK_RESERVE: usize = 768 << 20;

/// How often the watchdog looks at a busy case's memory.
const WATCH_EVERY: Duration = Duration::from_millis(50);
/// A case past its patience is given up once its thread has been computing (running or waiting
/// for a CPU at every look) this long: a thread that sleeps waits for a program or a service,
/// which its own limit ends on a clock load cannot cut short.
const COMPUTING: Duration = Duration::from_secs(1);
/// A case past this many times its patience is given up whatever its thread does.
const PATIENCE_CAP: u32 = 4;

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Workers {
    pub(crate) fn new(
        root: PathBuf,
        registry: Registry,
        secrets: Arc<Secrets>,
        limits: harness_mock::Limits,
    ) -> Workers {
        Workers { root, registry, secrets, limits, idle: Mutex::new(Vec::new()) }
    }

    /// Run `task` on a worker and wait for it: past `patience` while its thread computes, or
    /// past [`PATIENCE_CAP`] times `patience` in any case, it is given up on. A worker whose task
    /// panicked or overran is not reused.
    pub(crate) async fn run<T, Fut>(
        &self,
        patience: Duration,
        task: impl FnOnce(Arc<Shared>) -> Fut + Send + 'static,
    ) -> Result<Result<T, Abandoned>, Error>
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
            let _ = reply
                .send(outcome.map_err(|payload| Abandoned::Panicked(harness_core::error::panic_message(&*payload))));
        });
        worker.jobs.send(job).map_err(|_| Error::Environment("a case worker thread has died".into()))?;
        let deadline = Instant::now() + patience;
        let cap = Instant::now() + patience.saturating_mul(PATIENCE_CAP);
        let mut computing_since: Option<Instant> = None;
        tokio::pin!(answer);
        let answered = loop {
            tokio::select! {
                a = &mut answer => break a,
                _ = tokio::time::sleep(WATCH_EVERY) => {
                    // Parked in the allocator already: it will not answer.
                    if worker.budget.exceeded() {
                        return Ok(Err(Abandoned::OutOfMemory(worker.budget.limit(), self.shown(worker.evaluating.now()))));
                    }
                    if worker.budget.stack_exhausted() {
                        return Ok(Err(Abandoned::TooDeep(self.shown(worker.evaluating.now()))));
                    }
                    let now = Instant::now();
                    // Its thread's id is known once it has started.
                    let tid = worker.tid.load(std::sync::atomic::Ordering::SeqCst);
                    let busy = harness_procs::Activity::new(0, vec![tid]).busy();
                    computing_since = if busy { computing_since.or(Some(now)) } else { None };
                    let computing = computing_since.is_some_and(|since| now - since >= COMPUTING);
                    if now >= deadline && (computing || now >= cap || !cfg!(target_os = "linux")) {
                        // Parked at its next allocation, so it stops growing and computing.
                        worker.budget.abandon();
                        return Ok(Err(Abandoned::Stuck(patience, self.shown(worker.evaluating.now()))));
                    }
                }
            }
        };
        match answered {
            Ok(Ok(result)) => {
                self.idle.lock().expect("idle workers").push(worker);
                result.map(Ok)
            }
            Ok(Err(panicked)) => Ok(Err(panicked)),
            Err(_) => Ok(Err(Abandoned::Panicked("the case worker thread died".into()))),
        }
    }

    /// Once every case has run: what the flows of each worker's job report at its end (requests
    /// a service sent after its job's last case), from all workers at once.
    pub(crate) async fn finish(&self) -> Vec<harness_mock::LateRequest> {
        let idle = std::mem::take(&mut *self.idle.lock().expect("idle workers"));
        let mut answers = Vec::new();
        for worker in &idle {
            let (reply, answer) = oneshot::channel();
            let job: Job = Box::new(move |runtime, shared| {
                let _ = reply.send(runtime.block_on(shared.finish()));
            });
            if worker.jobs.send(job).is_ok() {
                answers.push(answer);
            }
        }
        self.idle.lock().expect("idle workers").extend(idle);
        let mut late = Vec::new();
        for answer in answers {
            late.extend(answer.await.unwrap_or_default());
        }
        late
    }

    /// End the idle workers, and wait until what their jobs kept running has stopped: when the
    /// run ends, no service it started outlives it. Workers given up on are not waited for.
    fn stop(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().expect("idle workers"));
        for Worker { jobs, thread, .. } in idle {
            drop(jobs);
            let _ = thread.join();
        }
    }

    /// An evaluation as reports show it: its file relative to the project.
    fn shown(&self, evaluation: Option<Evaluation>) -> Option<Evaluation> {
        let mut e = evaluation?;
        if let Some(origin) = &e.origin
            && origin.file.is_absolute()
        {
            let mut relative = (**origin).clone();
            relative.file = harness_syntax::project::display_path(&self.root, &origin.file).into();
            e.origin = Some(Arc::new(relative));
        }
        Some(e)
    }

    fn start(&self) -> Result<Worker, Error> {
        let environment = |what: &str, e: &dyn std::fmt::Display| {
            Error::Environment(format!("cannot start a case worker ({what}): {e}"))
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| environment("runtime", &e))?;
        let shared =
            Arc::new(Shared::new(self.root.clone(), self.registry.clone(), self.secrets.clone(), self.limits)?);
        let (jobs, queue) = mpsc::channel::<Job>();
        let (budget, evaluating) = (ThreadBudget::new(CASE_MEMORY), Arc::new(Evaluating::default()));
        let (thread_budget, thread_slot) = (budget.clone(), evaluating.clone());
        let tid = Arc::new(std::sync::atomic::AtomicI32::new(0));
        let thread_tid = tid.clone();
        let thread = std::thread::Builder::new()
            .name("harness-case".into())
            .stack_size(CASE_STACK)
            .spawn(move || {
                thread_tid.store(harness_procs::current_thread_id(), std::sync::atomic::Ordering::SeqCst);
                thread_budget.guard_stack(CASE_STACK, CASE_STACK_RESERVE);
                ThreadBudget::install(&thread_budget);
                harness_expr::watch_this_thread(thread_slot);
                // Ends when its sender is dropped: at the end of the run, or when given up.
                for job in queue {
                    thread_budget.start();
                    job(&runtime, &shared);
                }
                // What the job's flows keep running (a service, its mocks) stops with it.
                drop(shared);
            })
            .map_err(|e| environment("thread", &e))?;
        Ok(Worker { jobs, thread, tid, budget, evaluating })
    }
}
