//! The host side of the `alerter:core/flavor` world, generated from `wit/` by wasmtime's
//! `bindgen!`. WASI and `wasi:http` reuse wasmtime-wasi(-http)'s types; a secret handle is the
//! host's own [`SecretHandle`](super::imports::SecretHandle). Nothing outside `runtime/` names a
//! generated path: the WIT types are re-exported as [`crate::types`].

#![allow(missing_docs)] // generated code

wasmtime::component::bindgen!({
    world: "flavor",
    path: "../wit",
    imports: { default: trappable },
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
        "wasmcloud:secrets/store.secret": super::imports::SecretHandle,
    },
});
