//! Builds the Discord flavor component (`guest/`) for `wasm32-wasip2` and hands its path to the
//! host, which embeds it so the `alerter` binary works from any directory.
//! Set `ALERTER_COMPONENT=/path/to/flavor.wasm` to embed a prebuilt component instead.
//!
//! It also compiles the component to native code for this machine, with the runtime's own
//! engine settings (`src/runtime/engine_config.rs`), and embeds that too: the first run on a
//! fresh machine then loads code instead of running Cranelift. A runtime whose engine or CPU
//! does not match refuses the artifact and compiles as before. `ALERTER_PRECOMPILE=0` skips it.

include!("../build-support/component.rs");
include!("src/runtime/engine_config.rs");

/// Compile `wasm` with the runtime's code settings into `dest` (empty when skipped).
fn precompile(wasm: &std::path::Path, dest: &std::path::Path) {
    println!("cargo:rerun-if-env-changed=ALERTER_PRECOMPILE");
    println!("cargo:rerun-if-changed=src/runtime/engine_config.rs");
    let code = if std::env::var("ALERTER_PRECOMPILE").as_deref() == Ok("0") {
        Vec::new()
    } else {
        let bytes = std::fs::read(wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
        let engine = wasmtime::Engine::new(&code_config()).expect("the runtime's engine settings");
        engine
            .precompile_component(&bytes)
            .unwrap_or_else(|e| panic!("precompiling {}: {e:?}", wasm.display()))
    };
    std::fs::write(dest, code).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}

fn main() {
    println!("cargo:rerun-if-env-changed=ALERTER_COMPONENT");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let dest = out.join("alerter_discord.wasm");
    let built = match std::env::var("ALERTER_COMPONENT") {
        Ok(prebuilt) => {
            println!("cargo:rerun-if-changed={prebuilt}");
            std::path::PathBuf::from(prebuilt)
        }
        Err(_) => {
            let root = workspace_root();
            for watched in [
                "guest/src",
                "guest/Cargo.toml",
                "wit",
                "Cargo.lock",
                "build-support",
            ] {
                println!("cargo:rerun-if-changed={}", root.join(watched).display());
            }
            build_component(&root, "alerter-discord", "alerter_discord")
        }
    };
    std::fs::copy(&built, &dest).unwrap_or_else(|e| panic!("{}: {e}", built.display()));
    precompile(&dest, &out.join("alerter_discord.cwasm"));
}
