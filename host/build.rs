//! Builds the Discord flavor component (`guest/`) for `wasm32-wasip2` and hands its path to the
//! host, which embeds it so the `alerter` binary works from any directory.
//! Set `ALERTER_COMPONENT=/path/to/flavor.wasm` to embed a prebuilt component instead.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ALERTER_COMPONENT");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let dest = out.join("alerter_discord.wasm");
    if let Ok(prebuilt) = std::env::var("ALERTER_COMPONENT") {
        println!("cargo:rerun-if-changed={prebuilt}");
        std::fs::copy(&prebuilt, &dest)
            .unwrap_or_else(|e| panic!("ALERTER_COMPONENT={prebuilt}: {e}"));
        return;
    }
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    for watched in ["guest/src", "guest/Cargo.toml", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = root.join("target").join("guest");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "-p", "alerter-discord", "--profile", "guest"])
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
        .expect("failed to run cargo for the guest component");
    if !status.success() {
        panic!(
            "building the guest component failed; is the target installed? \
             run `rustup target add wasm32-wasip2` (the README's commands do)"
        );
    }
    let built = target_dir.join("wasm32-wasip2/guest/alerter_discord.wasm");
    std::fs::copy(&built, &dest).unwrap_or_else(|e| panic!("{}: {e}", built.display()));
}
