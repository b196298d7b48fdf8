//! The product component's contract with its hosts: what it imports (nothing beyond HTTP,
//! clocks, random, the cli bits Rust's std links, config and secrets) and that it loads.

use alerter::Runtime;

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
