//! The counting allocator: a thread past its budget is parked and flagged; others go on.

use std::time::{Duration, Instant};

use harness_core::budget::{Counting, ThreadBudget};

#[global_allocator]
static ALLOCATOR: Counting<std::alloc::System> = Counting(std::alloc::System);

fn within(limit: Duration, f: impl Fn() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn a_thread_over_its_budget_is_parked_and_flagged() {
    let budget = ThreadBudget::new(8 << 20);
    let theirs = budget.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        ThreadBudget::install(&theirs);
        theirs.start();
        // Freed memory does not count: this stays under the budget.
        for _ in 0..100 {
            drop(vec![0u8; 1 << 20]);
        }
        let _ = tx.send(());
        let mut hoard = Vec::new();
        for _ in 0..1_000 {
            hoard.push(vec![1u8; 1 << 20]);
        }
        unreachable!("parked before holding 1 GiB");
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("allocating and freeing stays within the budget");
    assert!(within(Duration::from_secs(10), || budget.exceeded()), "the thread was not stopped");
    // This thread has no budget and allocates freely.
    assert_eq!(vec![0u8; 64 << 20].len(), 64 << 20);
}

#[test]
fn an_abandoned_thread_is_parked_at_its_next_allocation() {
    let budget = ThreadBudget::new(usize::MAX >> 1);
    let theirs = budget.clone();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = counter.clone();
    std::thread::spawn(move || {
        ThreadBudget::install(&theirs);
        for _ in 0..10_000_000 {
            drop(std::hint::black_box(vec![0u8; 64]));
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(Duration::from_micros(100));
        }
    });
    assert!(within(Duration::from_secs(5), || counter.load(std::sync::atomic::Ordering::SeqCst) > 10));
    budget.abandon();
    std::thread::sleep(Duration::from_millis(100));
    let after = counter.load(std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    assert!(counter.load(std::sync::atomic::Ordering::SeqCst) <= after + 1, "still running after being abandoned");
}
