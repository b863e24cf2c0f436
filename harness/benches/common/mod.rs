//! What both benches start from: a project holding the bundled flows, mocks and settings.

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
