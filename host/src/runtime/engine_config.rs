// The engine settings that shape compiled code: fuel metering and epoch checks are compiled
// into every function, and the memory reservation and guard decide how bounds checks are
// emitted. Shared by the runtime and by `build.rs` (which `include!`s this file and
// precompiles the embedded component with exactly these settings), so that artifact matches
// the engine that loads it. Settings that only affect allocation (the instance pool) are added
// by the runtime on top.

/// A wasmtime `Config` with the code-shaping settings of every alerter engine.
pub(crate) fn code_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    config.consume_fuel(true);
    // Keep virtual memory reservations small: the guest never needs 4 GiB.
    config.memory_reservation(256 << 20);
    config.memory_guard_size(32 << 20);
    config
}
