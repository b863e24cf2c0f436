//! Scheduled and polling jobs: a flow triggered by a `fetch` of its source (here Peoplevox's
//! stock report, read with `GetReportData` and answered with the scenario's recording) has the
//! rows of that answer as its records, so conservation holds for a job too — a row the job read
//! and silently skipped fails the scenario. The job is an external program
//! (`tests/fixtures/stock/flows/stock_sync.py`).

mod common;

use common::{available, harness, project};

#[test]
fn a_polling_job_accounts_for_every_row_it_read() {
    if !available("python3") {
        eprintln!("skipped: python3 is not available");
        return;
    }
    let p = project(&["fixtures/stock"]);
    let good = harness(p.path(), &["run", "--color", "never", "--no-times", "stock/nightly"]);
    assert_eq!(
        good.code, 0,
        "three rows read: two set in Shopify, one dead-lettered, as expected:\n{}{}",
        good.stdout, good.stderr
    );

    let buggy = harness(p.path(), &["run", "--color", "never", "--no-times", "stock/skips-zero"]);
    assert_eq!(buggy.code, 1, "{}{}", buggy.stdout, buggy.stderr);
    let said = "conservation: 1 of 3 records vanished (neither delivered, dead-lettered nor filtered with a reason): SOCKS-3PK";
    assert!(buggy.stdout.contains(said), "{}", buggy.stdout);
    assert!(buggy.stdout.contains("records in: 3; delivered 1, dead-lettered 1, filtered 0"), "{}", buggy.stdout);
}
