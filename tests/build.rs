//! Builds the hostile test component (`sandbox-guest/`) for `wasm32-wasip2`, for the sandbox
//! tests, and passes its path as `SANDBOX_COMPONENT`.

include!("../build-support/component.rs");

fn main() {
    let root = workspace_root();
    for watched in ["tests/sandbox-guest", "wit", "build-support"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let built = build_component(&root, "alerter-sandbox-guest", "alerter_sandbox_guest");
    println!("cargo:rustc-env=SANDBOX_COMPONENT={}", built.display());
}
