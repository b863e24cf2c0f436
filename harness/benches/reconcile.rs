//! `cargo bench --bench reconcile`: the daily check over a large window. Generates one day of
//! 100,000 orders per system (`HARNESS_BENCH_ORDERS` to choose) as `fixture:` folders — Shopify
//! 250 orders a page, NetSuite 1,000 sales orders a page, Peoplevox 1,000 orders and 1,000 order
//! lines a page, at most a few hundred pages each — with a few planted discrepancies, then runs the
//! real `harness reconcile` on them (the fixtures served on loopback) and prints records listed
//! per second and the peak RSS, as a Markdown row for BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;

mod common;

const RECONCILIATION: &str = "systems:
  shopify: {fixture: big/shopify}
  netsuite: {fixture: big/netsuite}
  peoplevox: {fixture: big/peoplevox}
lag: 30m
source: {system: shopify, key: .name, at: .createdAt, list: {page_size: 250}}
targets:
  - name: netsuite sales orders
    system: netsuite
    list: {page_size: 1000}
    key: .otherrefnum
    at: .createddate
    fields:
      - {name: shipping cost, source: .totalShippingPriceSet.shopMoney.amount, target: .shippingcost}
    totals:
      - {name: day's total, source: .totalPriceSet.shopMoney.amount, target: .foreigntotal}
  - name: peoplevox sales orders
    system: peoplevox
    list: {template: Sales orders, page_size: 1000}
    key: .SalesOrderNumber
    at: .CreatedDate
  - name: peoplevox order lines
    system: peoplevox
    list: {template: Sales order items, page_size: 1000}
    key: .SalesOrderNumber
    lines: .lineItems.nodes | length
";

fn stamp(second: usize) -> String {
    format!("2026-12-06T{:02}:{:02}:{:02}", second / 3600 % 24, second / 60 % 60, second % 60)
}

fn envelope(total: usize, csv: &str) -> String {
    let detail = csv.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><GetDataResponse xmlns=\"http://www.peoplevox.net/\"><GetDataResult><ResponseId>0</ResponseId><TotalCount>{total}</TotalCount><Detail>{detail}</Detail></GetDataResult></GetDataResponse></soap:Body></soap:Envelope>"
    )
}

fn write_pages(dir: &Path, ext: &str, pages: impl Iterator<Item = String>) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, page) in pages.enumerate() {
        std::fs::write(dir.join(format!("page-{}.{ext}", i + 1)), page).unwrap();
    }
}

/// One day of `n` orders in all three systems; every 10,000th is missing from NetSuite.
fn generate(root: &Path, n: usize) {
    std::fs::write(root.join("harness.yaml"), "timeout: 30s\n").unwrap();
    std::fs::create_dir_all(root.join("reconcile")).unwrap();
    std::fs::write(root.join("reconcile/big.yaml"), RECONCILIATION).unwrap();
    let big = root.join("reconcile/big");
    let lines = |i: usize| 1 + i % 3;
    let total = |i: usize| format!("{:.2}", 19.90 * lines(i) as f64 + 5.95);
    let second = |i: usize| i * 86_000 / n;
    let chunks = |size: usize| (0..n.div_ceil(size)).map(move |p| (p, p * size..((p + 1) * size).min(n)));

    write_pages(
        &big.join("shopify"),
        "json",
        chunks(250).map(|(p, range)| {
            let last = range.end == n;
            let mut nodes = String::new();
            for i in range {
                let items: Vec<String> = (0..lines(i)).map(|k| format!("{{\"sku\":\"SKU-{k}\",\"quantity\":1}}")).collect();
                let _ = write!(
                    nodes,
                    "{}{{\"id\":\"gid://shopify/Order/{i}\",\"name\":\"#{i}\",\"createdAt\":\"{}Z\",\"totalPriceSet\":{{\"shopMoney\":{{\"amount\":\"{}\"}}}},\"totalShippingPriceSet\":{{\"shopMoney\":{{\"amount\":\"5.95\"}}}},\"lineItems\":{{\"nodes\":[{}]}}}}",
                    if nodes.is_empty() { "" } else { "," },
                    stamp(second(i)),
                    total(i),
                    items.join(",")
                );
            }
            format!("{{\"data\":{{\"orders\":{{\"nodes\":[{nodes}],\"pageInfo\":{{\"hasNextPage\":{},\"endCursor\":\"c{p}\"}}}}}},\"extensions\":{{\"cost\":{{\"requestedQueryCost\":252,\"actualQueryCost\":252,\"throttleStatus\":{{\"maximumAvailable\":20000.0,\"currentlyAvailable\":19000,\"restoreRate\":1000.0}}}}}}}}", !last)
        }),
    );
    let in_netsuite: Vec<usize> = (0..n).filter(|i| i % 10_000 != 42).collect();
    let ns = in_netsuite.len();
    write_pages(
        &big.join("netsuite"),
        "json",
        (0..ns.div_ceil(1000)).map(|p| {
            let range = p * 1000..((p + 1) * 1000).min(ns);
            let last = range.end == ns;
            let items: Vec<String> = in_netsuite[range.clone()]
                .iter()
                .map(|&i| format!("{{\"id\":\"{i}\",\"otherrefnum\":\"#{i}\",\"createddate\":\"{}\",\"foreigntotal\":\"{}\",\"shippingcost\":\"5.95\"}}", stamp(second(i) + 120).replace('T', " "), total(i)))
                .collect();
            format!("{{\"links\":[],\"count\":{},\"hasMore\":{},\"offset\":{},\"totalResults\":{ns},\"items\":[{}]}}", items.len(), !last, range.start, items.join(","))
        }),
    );
    write_pages(
        &big.join("peoplevox/sales-orders"),
        "xml",
        chunks(1000).map(|(_, range)| {
            let mut csv = String::from("SalesOrderNumber,CreatedDate,TotalSale\n");
            for i in range {
                let _ = writeln!(csv, "#{i},{},{}", stamp(second(i) + 300), total(i));
            }
            envelope(n, &csv)
        }),
    );
    let rows: Vec<(usize, usize)> = (0..n).flat_map(|i| (0..lines(i)).map(move |k| (i, k))).collect();
    write_pages(
        &big.join("peoplevox/sales-order-items"),
        "xml",
        rows.chunks(1000).map(|chunk| {
            let mut csv = String::from("SalesOrderNumber,ItemCode,QuantityOrdered,Line\n");
            for (i, k) in chunk {
                let _ = writeln!(csv, "#{i},SKU-{k},1,{}", k + 1);
            }
            envelope(rows.len(), &csv)
        }),
    );
}

fn main() {
    let n: usize = std::env::var("HARNESS_BENCH_ORDERS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), n);
    let listed = n * 3 + (0..n).map(|i| 1 + i % 3).sum::<usize>() - n.div_ceil(10_000).min(n);
    let args = ["reconcile", "--since", "2026-12-06", "--until", "2026-12-07"];
    let (wall, rss, code) = common::measure(dir.path(), &args);
    // Exit 1: the planted missing orders are found. Otherwise run it again to say why.
    if code != 1 {
        let again = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(args)
            .args(["--color", "never"])
            .current_dir(dir.path())
            .output()
            .expect("start harness");
        panic!(
            "harness reconcile exited {code}; again: {:?}\n{}",
            again.status.code(),
            String::from_utf8_lossy(&again.stderr)
        );
    }
    println!("| orders per system | records listed | wall | records/s | peak RSS |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| {n} | {listed} | {:.2}s | {:.0} | {} MiB |",
        wall.as_secs_f64(),
        listed as f64 / wall.as_secs_f64(),
        rss / 1024
    );
}
