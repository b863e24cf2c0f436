//! What the benches start from: a project holding the bundled flows, mocks and settings, and the
//! generated scenarios the throughput and scale benches run.

use std::path::{Path, PathBuf};

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Copies the repository's `flows/`, `mocks/` and `harness.yaml` into `root`.
pub(crate) fn bundled_project(root: &Path) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    copy_tree(&repo.join("flows"), &root.join("flows"));
    copy_tree(&repo.join("mocks"), &root.join("mocks"));
    std::fs::copy(repo.join("harness.yaml"), root.join("harness.yaml")).unwrap();
}

const ORDERS: [(&str, &str); 8] = [
    ("simple-order", "customer-found"),
    ("several-lines-discount", "customer-missing"),
    ("free-shipping", "customer-found"),
    ("multi-currency", "customer-missing"),
    ("gift-card-payment", "customer-found"),
    ("non-ascii-names", "customer-missing"),
    ("norwegian-address", "customer-missing"),
    ("simple-order", "customer-missing"),
];

/// The bundled project with `n` scenarios of `shopify-order-to-netsuite` in `scenarios/bench/`,
/// cycling through the recorded orders and both customer lookups.
#[allow(dead_code, reason = "the service bench has its own scenarios")]
pub(crate) fn generate(root: &Path, n: usize) {
    bundled_project(root);
    let dir = root.join("scenarios/bench");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..n {
        let (order, stub) = ORDERS[i % ORDERS.len()];
        let text = format!(
            "description: generated bench case {i}\nflow: shopify-order-to-netsuite\nsystems:\n  shopify: 2026-01\n  netsuite: \"2026.2\"\ntrigger:\n  file: webhooks/orders-create/{order}.json\nmocks:\n  netsuite:\n    use: [{stub}]\n"
        );
        std::fs::write(dir.join(format!("case-{i:04}.yaml")), text).unwrap();
    }
}
