// Shared by the build scripts (`include!`d): build a workspace package as a wasm32-wasip2
// component with the size-tuned `guest` profile, in its own target directory so the nested
// cargo never waits on the outer build's lock, and return the path of the .wasm file.

/// Build `package` (a cdylib in this workspace) and return `target/guest/.../<lib>.wasm`.
fn build_component(root: &std::path::Path, package: &str, lib_name: &str) -> std::path::PathBuf {
    let target_dir = root.join("target").join("guest");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(root)
        .args(["build", "-p", package, "--profile", "guest"])
        .args(["--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        // Flags meant for the host build must not leak into the component build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .status()
        .unwrap_or_else(|e| panic!("failed to run cargo for {package}: {e}"));
    assert!(
        status.success(),
        "building {package} for wasm32-wasip2 failed; is the target installed? \
         run `rustup target add wasm32-wasip2` (the README's commands do)"
    );
    target_dir.join(format!("wasm32-wasip2/guest/{lib_name}.wasm"))
}

/// The workspace root, one level above the crate being built.
fn workspace_root() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}
