//! The product component's contract with its hosts: what it imports (nothing beyond HTTP,
//! clocks, random, the cli bits Rust's std links, config and secrets) and that it loads.

use alerter_host::Runtime;

#[test]
fn imports_only_what_the_flavor_world_allows() {
    let runtime = Runtime::embedded().expect("the embedded component loads");
    let imports = runtime.imports();
    let allowed = [
        "wasi:http/types@",
        "wasi:http/outgoing-handler@",
        "wasi:io/",
        "wasi:clocks/",
        "wasi:random/",
        "wasi:cli/",
        "wasi:config/store@0.2.0-rc.1",
        "wasmcloud:secrets/store@0.1.0-draft",
        "wasmcloud:secrets/reveal@0.1.0-draft",
        "alerter:core/types@",
    ];
    for name in &imports {
        assert!(
            allowed.iter().any(|a| name.starts_with(a)),
            "unexpected import {name}"
        );
        assert!(
            !name.contains("filesystem") && !name.contains("sockets"),
            "{name}"
        );
    }
    for needed in [
        "wasi:http/outgoing-handler@0.2.12",
        "wasi:config/store@0.2.0-rc.1",
        "wasmcloud:secrets/reveal@0.1.0-draft",
    ] {
        assert!(
            imports.iter().any(|i| i == needed),
            "{needed} missing from {imports:?}"
        );
    }
}

/// The compile cache holds native code: a cache directory others can write is never trusted.
#[test]
fn a_cache_others_can_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    // A component from a file: the embedded one brings its own native code (tested below).
    let wasm = alerter_e2e::scratch("cache-component").join("flavor.wasm");
    std::fs::write(&wasm, alerter_host::runtime::EMBEDDED_COMPONENT).unwrap();
    let cache_state = |dir: &std::path::Path| {
        let out = std::process::Command::new(alerter_e2e::alerter_bin())
            .args(["-v", "--component"])
            .arg(&wasm)
            .args(["wit", "--imports"])
            .env("ALERTER_CACHE_DIR", dir)
            .output()
            .expect("run alerter");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let private = alerter_e2e::scratch("cache-private");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(cache_state(&private).contains("compile cache miss"));
    assert!(cache_state(&private).contains("compile cache hit"));
    let shared = alerter_e2e::scratch("cache-shared");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert!(cache_state(&shared).contains("compile cache miss"));
    let again = cache_state(&shared);
    assert!(
        again.contains("compile cache miss"),
        "a world-writable cache was trusted: {again}"
    );
    // Nor written to: anyone could have planted files there.
    let written: Vec<_> = std::fs::read_dir(&shared).unwrap().collect();
    assert!(
        written.is_empty(),
        "wrote into a shared directory: {written:?}"
    );
}

/// The CLI makes a call or three: it must not reserve a pool of 256 slots (about 72 GiB of
/// address space), so it works under a tight `ulimit -v`.
#[test]
fn the_cli_runs_under_a_tight_address_space_limit() {
    let bin = alerter_e2e::alerter_bin();
    let out = std::process::Command::new("bash")
        .args(["-c", "ulimit -v 4000000 && exec \"$0\" wit --imports"])
        .arg(&bin)
        .env("ALERTER_CACHE_DIR", "")
        .output()
        .expect("run alerter under ulimit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first run on a fresh machine (no cache, none writable) loads the native code built into
/// the binary instead of compiling.
#[test]
fn the_embedded_component_needs_no_compile_and_no_cache() {
    let out = std::process::Command::new(alerter_e2e::alerter_bin())
        .args(["-v", "wit", "--imports"])
        .env("ALERTER_CACHE_DIR", "")
        .output()
        .expect("run alerter");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("native code precompiled at build time"),
        "{err}"
    );
}
