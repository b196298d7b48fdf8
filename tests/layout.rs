//! The shape of the codebase, held by tests: the embeddable library stays lean, and the
//! typical source file of the host or the component stays short (the cap on every file, and
//! the other shape rules, are `tests/shape`'s).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `cargo tree` of the host library's normal dependencies with the given feature flags.
fn host_dependencies(features: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root())
        .args([
            "tree",
            "-p",
            "alerter-host",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--offline", "--format", "{p}"])
        .args(features)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn depends_on(tree: &str, krate: &str) -> bool {
    tree.lines()
        .any(|l| l.split_whitespace().next() == Some(krate))
}

#[test]
fn the_library_alone_compiles_neither_the_emulator_nor_the_cli() {
    let lean = host_dependencies(&["--no-default-features"]);
    assert!(depends_on(&lean, "wasmtime"), "the tree was read: {lean}");
    for heavy in ["alerter-emulator", "jsonschema", "clap"] {
        assert!(!depends_on(&lean, heavy), "the library pulls in {heavy}");
    }
    // The same check against the default features proves it can see them.
    let full = host_dependencies(&[]);
    for heavy in ["alerter-emulator", "jsonschema", "clap"] {
        assert!(
            depends_on(&full, heavy),
            "{heavy} missing from the default build"
        );
    }
}

/// Lines of every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<(PathBuf, usize)>) {
    for entry in std::fs::read_dir(dir).expect("read source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read source");
            out.push((path, text.lines().count()));
        }
    }
}

#[test]
fn host_and_component_sources_stay_readable_in_size() {
    let mut files = Vec::new();
    rust_files(&root().join("host/src"), &mut files);
    rust_files(&root().join("guest/src"), &mut files);
    // The 700-line cap on every file is `tests/shape`'s; this holds the typical file small.
    assert!(files.len() > 10, "found the sources: {files:?}");
    let mut sizes: Vec<usize> = files.iter().map(|(_, n)| *n).collect();
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2];
    assert!(
        (60..=300).contains(&median),
        "median file has {median} lines"
    );
}
