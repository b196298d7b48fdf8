// The `flavor` world's binding recipe, written once for the two crates that implement the world:
// this guest (`mod world` in lib.rs, used by `bindings.rs`) and the hostile test guest
// (tests/sandbox-guest, which `include!`s this file). WASI interfaces are taken from the `wasip2`
// crate so that `platform.rs` can use its types; every other import is generated. wit-bindgen
// 0.62 keys `with:` by whole interface names only (no package-level keys), so every import is
// listed; listing the generated ones too (instead of `generate_all`) keeps an import added to
// the WIT from silently getting a second copy of a WASI interface.
//
// Plain `//` comments only: an `include!`d file cannot carry inner doc comments.

/// `wit_bindgen::generate!` for the `flavor` world. The first argument is the `wit/` directory
/// relative to the calling crate's manifest; any further `generate!` options follow it.
macro_rules! generate_flavor {
    ($wit:tt $(, $($option:tt)*)?) => {
        wit_bindgen::generate!({
            world: "flavor",
            path: $wit,
            with: {
                "wasi:http/types@0.2.12": wasip2::http::types,
                "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
                "wasi:io/poll@0.2.12": wasip2::io::poll,
                "wasi:io/streams@0.2.12": wasip2::io::streams,
                "wasi:io/error@0.2.12": wasip2::io::error,
                "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
                "wasi:clocks/wall-clock@0.2.12": wasip2::clocks::wall_clock,
                "wasi:random/random@0.2.12": wasip2::random::random,
                "wasi:config/store@0.2.0-rc.1": generate,
                "wasmcloud:secrets/store@0.1.0-draft": generate,
                "wasmcloud:secrets/reveal@0.1.0-draft": generate,
                "alerter:core/types@0.1.0": generate,
                "alerter:core/alerter@0.1.0": generate,
                "alerter:core/hooks@0.1.0": generate,
            },
            $($($option)*)?
        });
    };
}
