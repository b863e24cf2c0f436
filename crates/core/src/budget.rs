//! A memory budget per thread, enforced by the global allocator: a case's worker thread that
//! allocates past its budget — a jq expression building a value without end — is *parked* inside
//! the allocator (it sleeps there for good: nothing unwinds, nothing more is allocated), so it stops
//! growing and stops using the CPU, and the run's watchdog reports its case. Threads cannot be
//! killed; this is how one runaway expression is kept from taking the run down. A thread the
//! watchdog gave up on (past its time limit) is parked at its next allocation the same way.
//!
//! A budgeted thread may also guard its stack ([`ThreadBudget::guard_stack`]): an allocation made
//! with less than the reserve left — deep recursion, such as a jq function calling itself without
//! end — parks the thread the same way, before the stack overflows (which would abort the whole
//! process), and the watchdog reports the case.
//!
//! The binary installs [`Counting`] as its global allocator; without it budgets are never
//! enforced and everything else still works.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The budget of one thread, shared with whoever watches it.
#[derive(Debug)]
pub struct ThreadBudget {
    limit: usize,
    exceeded: AtomicBool,
    abandoned: AtomicBool,
    /// The lowest stack address an allocation may be made from (0: not guarded).
    stack_floor: AtomicUsize,
    stack_exhausted: AtomicBool,
}

thread_local! {
    /// The budget of this thread, if it has one (a pointer leaked from an `Arc`: it lives as long
    /// as the thread). Const-initialised and without destructor, so reading it never allocates.
    static CURRENT: Cell<*const ThreadBudget> = const { Cell::new(std::ptr::null()) };
    /// Bytes allocated minus bytes freed on this thread since [`ThreadBudget::start`].
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

impl ThreadBudget {
    /// A budget of `limit` bytes, for the thread that [`install`](Self::install)s it.
    pub fn new(limit: usize) -> Arc<ThreadBudget> {
        Arc::new(ThreadBudget {
            limit,
            exceeded: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
            stack_floor: AtomicUsize::new(0),
            stack_exhausted: AtomicBool::new(false),
        })
    }

    /// Apply `budget` to the calling thread, from now on and for as long as it runs.
    pub fn install(budget: &Arc<ThreadBudget>) {
        let leaked = Arc::into_raw(budget.clone());
        CURRENT.with(|c| c.set(leaked));
    }

    /// Guard the calling thread's stack, `size` bytes (as the thread was built with; call first
    /// thing on it): an allocation with less than `reserve` bytes of it left parks the thread. The
    /// reserve is what recursion that does not allocate (dropping or comparing a deep value) may
    /// still use.
    pub fn guard_stack(&self, size: usize, reserve: usize) {
        let floor = stack_pointer().saturating_sub(size.saturating_sub(reserve));
        self.stack_floor.store(floor, Ordering::SeqCst);
    }

    /// Whether the thread ran out of stack (and is parked).
    pub fn stack_exhausted(&self) -> bool {
        self.stack_exhausted.load(Ordering::SeqCst)
    }

    /// Count from zero again (a new case on the same thread); call on the budgeted thread.
    pub fn start(&self) {
        LIVE.with(|l| l.set(0));
    }

    /// Whether the thread went past its budget (and is parked).
    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::SeqCst)
    }

    /// Park the thread at its next allocation: it was given up on.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::SeqCst);
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// Sleeps for good. Used inside the allocator, so it must neither allocate nor unwind.
fn park() -> ! {
    loop {
        let second = libc::timespec { tv_sec: 1, tv_nsec: 0 };
        // SAFETY: nanosleep reads the timespec (a live local) and may write the remainder to the
        // null pointer it is given, which it does not do for null.
        unsafe { libc::nanosleep(&second, std::ptr::null_mut()) };
    }
}

/// Account `delta` bytes to the calling thread; park it if it is over budget or abandoned.
fn account(delta: isize) {
    let Ok(budget) = CURRENT.try_with(Cell::get) else { return };
    if budget.is_null() {
        return;
    }
    let live = LIVE.try_with(|l| {
        let now = l.get().saturating_add(delta);
        l.set(now);
        now
    });
    // SAFETY: the pointer came from `Arc::into_raw` and that count is never released.
    let budget = unsafe { &*budget };
    if budget.abandoned.load(Ordering::Relaxed) {
        park();
    }
    if delta > 0 && live.is_ok_and(|l| l > budget.limit as isize) {
        budget.exceeded.store(true, Ordering::SeqCst);
        park();
    }
    if delta > 0 && stack_pointer() < budget.stack_floor.load(Ordering::Relaxed) {
        budget.stack_exhausted.store(true, Ordering::SeqCst);
        park();
    }
}

/// About where the calling thread's stack is now (stacks grow down on every platform Rust runs
/// the harness on).
#[inline(always)]
fn stack_pointer() -> usize {
    let here = 0u8;
    std::ptr::addr_of!(here) as usize
}

/// A global allocator that counts each thread's live bytes on top of `A`.
pub struct Counting<A>(pub A);

// SAFETY: every call is passed on to `A` unchanged; the accounting around it only reads and writes
// this thread's own counters, and never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: the caller's guarantees about `layout` hold for `A` too.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: as in `alloc`.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Freeing never parks: it only lowers the count.
        let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(layout.size() as isize)));
        // SAFETY: `ptr` was allocated by `A` with `layout`, as the caller guarantees.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        account(new_size as isize - layout.size() as isize);
        // SAFETY: as in `dealloc`, and `new_size` is the caller's valid size.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}
