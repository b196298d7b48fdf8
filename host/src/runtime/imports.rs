//! What the host gives one guest instance: the per-call store state ([`HostState`]) and the two
//! imports wasmtime does not provide, `wasi:config/store` (settings) and `wasmcloud:secrets`
//! (the token), both served from the call's [`CallConfig`]. WASI and `wasi:http` come from
//! wasmtime-wasi(-http); `wasi:http` requests pass the egress hook in [`crate::policy`].

use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::pipe::LogPipe;
use super::CallConfig;
use crate::bindings::wasi::config::store as config_store;
use crate::bindings::wasmcloud::secrets::{reveal, store as secret_store};
use crate::bindings::SecretHandle;
use crate::policy::EgressHooks;

/// Everything one store holds: the guest's WASI context (no files, no environment, no
/// sockets), the HTTP context with its egress hook, the call's settings and secrets, and the
/// memory cap.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    pub(super) egress: EgressHooks,
    config: CallConfig,
    pub(super) limits: StoreLimits,
    /// Tells the epoch ticker when this call's guest runs wasm.
    pub(super) in_wasm: super::ticker::InWasm,
    /// Set by the epoch callback when it makes the guest yield, for the CPU meter.
    pub(super) yielded: bool,
}

impl HostState {
    /// State for one call; the guest's stdout and stderr go to the given pipes.
    pub fn new(
        cfg: &CallConfig,
        stdout: LogPipe,
        stderr: LogPipe,
        in_wasm: super::ticker::InWasm,
        net: Arc<crate::net::Net>,
    ) -> Self {
        // No preopens, no environment, no arguments, no stdin, no sockets.
        let wasi = WasiCtx::builder()
            .stdout(stdout)
            .stderr(stderr)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .max_random_size(crate::policy::MAX_RANDOM_BYTES)
            .build();
        let policy = cfg.policy.clone();
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(policy.max_header_bytes);
        let mut table = ResourceTable::new();
        table.set_max_capacity(policy.max_resources);
        HostState {
            wasi,
            http,
            table,
            egress: EgressHooks {
                policy: policy.clone(),
                denied: Arc::default(),
                in_flight: Arc::default(),
                net,
            },
            config: cfg.clone(),
            limits: StoreLimitsBuilder::new()
                .memory_size(policy.memory_limit)
                .trap_on_grow_failure(true)
                .build(),
            in_wasm,
            yielded: false,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.egress,
        }
    }
}

impl config_store::Host for HostState {
    fn get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<String>, config_store::Error>> {
        Ok(Ok(self.config.settings.get(&key).cloned()))
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, config_store::Error>> {
        Ok(Ok(self.config.settings.clone().into_iter().collect()))
    }
}

impl secret_store::Host for HostState {
    fn get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Resource<SecretHandle>, secret_store::SecretsError>> {
        if !self.config.secrets.contains_key(&key) {
            return Ok(Err(secret_store::SecretsError::NotFound));
        }
        Ok(Ok(self.table.push(SecretHandle { key })?))
    }
}

impl secret_store::HostSecret for HostState {
    fn drop(&mut self, rep: Resource<SecretHandle>) -> wasmtime::Result<()> {
        self.table.delete(rep)?;
        Ok(())
    }
}

impl reveal::Host for HostState {
    fn reveal(&mut self, s: Resource<SecretHandle>) -> wasmtime::Result<secret_store::SecretValue> {
        let key = &self.table.get(&s)?.key;
        let value = self.config.secrets.get(key).cloned().unwrap_or_default();
        Ok(secret_store::SecretValue::String(value))
    }
}

/// Link the two non-WASI imports into `linker`.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> wasmtime::Result<()> {
    use wasmtime::component::HasSelf;
    config_store::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    secret_store::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    reveal::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}
