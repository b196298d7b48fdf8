//! Builds the hostile test component (`sandbox-guest/`) for `wasm32-wasip2`, for the sandbox
//! tests. Same approach as host/build.rs: a nested cargo with its own target directory.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    for watched in ["tests/sandbox-guest", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = root.join("target").join("guest");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "-p", "alerter-sandbox-guest", "--profile", "guest"])
        .args(["--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .status()
        .expect("failed to run cargo for the sandbox test component");
    assert!(
        status.success(),
        "building the sandbox test component failed (rustup target add wasm32-wasip2)"
    );
    let built = target_dir.join("wasm32-wasip2/guest/alerter_sandbox_guest.wasm");
    println!("cargo:rustc-env=SANDBOX_COMPONENT={}", built.display());
}
