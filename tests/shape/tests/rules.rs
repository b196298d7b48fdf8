//! The shape of the codebase, held by tests: no source file over 700 lines, no function
//! outside the tests over 120 lines, and no import circle in any crate (a module graph that
//! reads one way is one a newcomer can learn bottom up).

use std::path::{Path, PathBuf};

use alerter_shape::{circles, code_only, crate_modules, functions, module_graph, rust_files};

const MAX_FILE_LINES: usize = 700;
const MAX_FUNCTION_LINES: usize = 120;

fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .expect("workspace root")
        .to_path_buf()
}

/// Every crate in the workspace with the directory its module tree starts in, and the names
/// its modules may call the crate's root by.
fn crates() -> Vec<(PathBuf, Vec<&'static str>)> {
    let r = root();
    vec![
        (r.join("host/src"), vec!["alerter_host"]),
        (r.join("guest/src"), vec!["alerter_discord"]),
        (r.join("emulator/src"), vec!["alerter_emulator"]),
        (r.join("tests/common"), vec!["alerter_e2e"]),
        (r.join("tests/bin"), vec![]),
        (r.join("tests/sandbox-guest/src"), vec![]),
        (r.join("tests/shape/src"), vec!["alerter_shape"]),
    ]
}

#[test]
fn no_source_file_is_over_700_lines() {
    let mut files = Vec::new();
    for dir in [
        "host",
        "guest",
        "emulator",
        "tests",
        "build-support",
        "examples",
    ] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 100, "found the sources: {}", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{} has {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "{long:#?}");
}

#[test]
fn no_function_outside_the_tests_is_over_120_lines() {
    let mut measured = 0;
    let mut long = Vec::new();
    let mut sources: Vec<PathBuf> = crates()
        .iter()
        .filter(|(dir, _)| {
            !dir.ends_with("tests/sandbox-guest/src") && !dir.ends_with("tests/common")
        })
        .flat_map(|(dir, _)| crate_modules(dir).into_iter().map(|(_, f)| f))
        .collect();
    rust_files(&root().join("build-support"), &mut sources);
    for file in &sources {
        let src = std::fs::read_to_string(file).expect("read source");
        for f in functions(&alerter_shape::without_tests(&code_only(&src))) {
            measured += 1;
            if f.lines > MAX_FUNCTION_LINES {
                long.push(format!(
                    "{}:{} fn {} has {} lines",
                    file.display(),
                    f.line,
                    f.name,
                    f.lines
                ));
            }
        }
    }
    assert!(measured > 500, "measured the functions: {measured}");
    assert!(long.is_empty(), "{long:#?}");
}

#[test]
fn no_crate_has_an_import_circle() {
    let mut found = Vec::new();
    for (dir, names) in crates() {
        let graph = module_graph(&dir, &names);
        assert!(!graph.is_empty(), "read {}", dir.display());
        for circle in circles(&graph) {
            found.push(format!("{}: {}", dir.display(), circle.join(" <-> ")));
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
