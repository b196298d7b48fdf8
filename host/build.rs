//! Builds the Discord flavor component (`guest/`) for `wasm32-wasip2` and hands its path to the
//! host, which embeds it so the `alerter` binary works from any directory.
//! Set `ALERTER_COMPONENT=/path/to/flavor.wasm` to embed a prebuilt component instead.

include!("../build-support/component.rs");

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
}
