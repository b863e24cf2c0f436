//! Builds the harness's own catalog of system versions into the binary: every file under a
//! built-in system's `src/<system>/catalog/` becomes an entry `<system>/<path>` of a table the
//! catalog reads when a project has no file of its own.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let src = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("src");
    println!("cargo:rerun-if-changed={}", src.display());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src/ is readable").flatten() {
        let catalog = entry.path().join("catalog");
        if catalog.is_dir() {
            let system = entry.file_name().to_string_lossy().into_owned();
            println!("cargo:rerun-if-changed={}", catalog.display());
            let mut found = Vec::new();
            walk(&catalog, &mut found);
            files.extend(found.into_iter().map(|file| {
                let rel = file
                    .strip_prefix(&catalog)
                    .expect("under catalog/")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                (format!("{system}/{rel}"), file)
            }));
        }
    }
    files.sort();
    let mut table = String::from(
        "/// Every file of the built-in catalog: `<system>/<path under its catalog/>`, and its text.\npub(crate) static FILES: &[(&str, &str)] = &[\n",
    );
    for (rel, file) in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        writeln!(table, "    ({rel:?}, include_str!({:?})),", file.display().to_string()).expect("writing to a string");
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_catalog.rs");
    std::fs::write(out, table).expect("OUT_DIR is writable");
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            println!("cargo:rerun-if-changed={}", dir.display());
            out.push(path);
        }
    }
}
