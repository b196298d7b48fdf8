//! The host side of the `alerter:core/flavor` world, generated from `wit/` by wasmtime's
//! `bindgen!`. WASI and `wasi:http` reuse wasmtime-wasi(-http)'s types; a secret handed to the
//! guest is a [`SecretHandle`]. Only `runtime` names the generated world and its host traits
//! (`Flavor`, `FlavorPre`, the `wasi:config` and `wasmcloud:secrets` imports); every other
//! module uses the types re-exported in the crate root ([`crate::types`],
//! [`crate::CheckReport`], ...).

#![allow(missing_docs)] // generated code

/// A secret handed to the guest: only its key; the value is looked up when revealed.
pub struct SecretHandle {
    pub(crate) key: String,
}

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
        "wasmcloud:secrets/store.secret": SecretHandle,
    },
});

pub use alerter::core::types;
pub use exports::alerter::core::alerter::{ChannelInfo, CheckReport};
pub use exports::alerter::core::hooks::{ExceptionInfo, RunContext};
