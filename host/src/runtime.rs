//! Loading and running flavor components: one [`Runtime`] (engine, linker, `InstancePre`) per
//! component, a fresh sandboxed `Store` per call. The host side of the `flavor` world lives here:
//! `wasi:config/store` (settings) and `wasmcloud:secrets` (the token) are served from the call's
//! [`CallConfig`]; WASI and `wasi:http` come from wasmtime-wasi(-http) with [`EgressHooks`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Store, StoreLimits, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::policy::{EgressHooks, Policy, EPOCH_TICK};
use crate::secrets::Redactor;

mod bindings {
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
            "wasmcloud:secrets/store.secret": super::SecretHandle,
        },
    });
}

pub use bindings::alerter::core::types;
pub use bindings::exports::alerter::core::alerter::{ChannelInfo, CheckReport};
pub use bindings::exports::alerter::core::hooks::{ExceptionInfo, RunContext};
use bindings::wasi::config::store as config_store;
use bindings::wasmcloud::secrets::{reveal, store as secret_store};
use bindings::FlavorPre;
use types::{AlertError, Answer, Message, Params, PostReceipt};

/// One export call.
enum Op<'a> {
    Post(&'a Message, &'a Params),
    Ask(&'a Message, &'a Params),
    Success(&'a RunContext, &'a Params),
    Failure(&'a RunContext, &'a ExceptionInfo, &'a Params),
    Check(&'a Params),
}

enum Out {
    Receipt(PostReceipt),
    Answer(Answer),
    Check(CheckReport),
}

/// The Discord flavor built from `guest/`, embedded at build time.
pub static EMBEDDED_COMPONENT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/alerter_discord.wasm"));

/// Lines of guest output kept for [`Runtime::take_guest_log`].
const GUEST_LOG_LINES: usize = 1000;

/// A secret handed to the guest: only its key; the value is looked up when revealed.
pub struct SecretHandle {
    key: String,
}

/// Settings and secrets for one call, plus the sandbox it runs in.
#[derive(Clone, Default)]
pub struct CallConfig {
    /// `wasi:config/store` keys (`default_discord_channel_id`, `api_base_url`, ...).
    pub settings: BTreeMap<String, String>,
    /// Secrets by key (`discord_token`); reach the guest only through `wasmcloud:secrets`.
    pub secrets: BTreeMap<String, String>,
    pub policy: Arc<Policy>,
}

impl std::fmt::Debug for CallConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallConfig")
            .field("settings", &self.settings)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("policy", &self.policy)
            .finish()
    }
}

/// Why a call produced no result from the flavor.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The flavor ran and reported an error (bad input, Discord said no, ...).
    #[error("{}", crate::describe(.0))]
    Alert(AlertError),
    /// The sandbox stopped the guest: memory cap, CPU budget, or a trap.
    #[error("the component was stopped: {0}")]
    Sandbox(String),
    /// The call ran past its wall-clock deadline.
    #[error("the call took longer than {0:?} and was cancelled")]
    Deadline(Duration),
}

struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    egress: EgressHooks,
    config: CallConfig,
    limits: StoreLimits,
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

/// A compiled flavor, ready to instantiate per call. Cheap to share (`Arc`).
pub struct Runtime {
    engine: Engine,
    pre: FlavorPre<HostState>,
    stop_ticker: Arc<AtomicBool>,
    /// Whether the compiled component came from the compile cache.
    pub from_cache: bool,
    /// Everything the guests printed, redacted, in order (drained by [`Runtime::take_guest_log`]).
    guest_log: Mutex<Vec<String>>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

fn engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.consume_fuel(true);
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(256)
        .total_memories(256)
        .total_tables(512)
        .max_memory_size(256 << 20)
        .total_core_instances(1024);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // Keep virtual memory reservations small: the guest never needs 4 GiB.
    config.memory_reservation(256 << 20);
    config.memory_guard_size(32 << 20);
    Ok(Engine::new(&config)?)
}

impl Runtime {
    /// The embedded Discord flavor.
    pub fn embedded() -> anyhow::Result<Runtime> {
        Runtime::from_bytes(EMBEDDED_COMPONENT)
    }

    /// A flavor component from a file (`--component PATH`).
    pub fn from_file(path: &Path) -> anyhow::Result<Runtime> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Runtime::from_bytes(&bytes)
    }

    /// Compile (or load from the compile cache) and link a component.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Runtime> {
        let engine = engine()?;
        let (component, from_cache) = load_cached(&engine, bytes)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        config_store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        secret_store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        reveal::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        let pre = FlavorPre::new(
            linker
                .instantiate_pre(&component)
                .map_err(anyhow::Error::from)
                .context("the component does not fit the alerter:core/flavor world")?,
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let (e, s) = (engine.clone(), stop.clone());
        std::thread::Builder::new()
            .name("alerter-epoch".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    e.increment_epoch();
                }
            })?;
        Ok(Runtime {
            engine,
            pre,
            stop_ticker: stop,
            from_cache,
            guest_log: Mutex::new(Vec::new()),
        })
    }

    /// The component's imports, as `name` strings (for audits and tests).
    pub fn imports(&self) -> Vec<String> {
        self.pre
            .instance_pre()
            .component()
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// Lines the guest wrote to stdout/stderr since the last call, with secrets redacted.
    pub fn take_guest_log(&self) -> Vec<String> {
        self.guest_log
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }

    /// `post` a message.
    pub async fn post(
        &self,
        cfg: &CallConfig,
        message: &Message,
        params: &Params,
    ) -> Result<PostReceipt, CallError> {
        match self
            .call(cfg, cfg.policy.post_deadline, Op::Post(message, params))
            .await?
        {
            Out::Receipt(r) => Ok(r),
            _ => unreachable!("post returns a receipt"),
        }
    }

    /// `ask` a question and wait for the answer; the call is bounded by `timeout` plus the
    /// policy's margin.
    pub async fn ask(
        &self,
        cfg: &CallConfig,
        question: &Message,
        params: &Params,
        timeout: Duration,
    ) -> Result<Answer, CallError> {
        let deadline = timeout + cfg.policy.ask_margin;
        match self.call(cfg, deadline, Op::Ask(question, params)).await? {
            Out::Answer(a) => Ok(a),
            _ => unreachable!("ask returns an answer"),
        }
    }

    /// Post "Pipeline Success Notification".
    pub async fn on_success(
        &self,
        cfg: &CallConfig,
        ctx: &RunContext,
        params: &Params,
    ) -> Result<PostReceipt, CallError> {
        match self
            .call(cfg, cfg.policy.post_deadline, Op::Success(ctx, params))
            .await?
        {
            Out::Receipt(r) => Ok(r),
            _ => unreachable!("hooks return a receipt"),
        }
    }

    /// Post "Pipeline Failure Alert".
    pub async fn on_failure(
        &self,
        cfg: &CallConfig,
        ctx: &RunContext,
        exc: &ExceptionInfo,
        params: &Params,
    ) -> Result<PostReceipt, CallError> {
        match self
            .call(cfg, cfg.policy.post_deadline, Op::Failure(ctx, exc, params))
            .await?
        {
            Out::Receipt(r) => Ok(r),
            _ => unreachable!("hooks return a receipt"),
        }
    }

    /// Validate the token and the channel without posting.
    pub async fn check(&self, cfg: &CallConfig, params: &Params) -> Result<CheckReport, CallError> {
        match self
            .call(cfg, cfg.policy.post_deadline, Op::Check(params))
            .await?
        {
            Out::Check(r) => Ok(r),
            _ => unreachable!("check returns a report"),
        }
    }

    /// Instantiate the component in a fresh sandboxed store and run one export.
    async fn call(
        &self,
        cfg: &CallConfig,
        deadline: Duration,
        op: Op<'_>,
    ) -> Result<Out, CallError> {
        let stdout = MemoryOutputPipe::new(64 << 10);
        let stderr = MemoryOutputPipe::new(64 << 10);
        // No preopens, no environment, no arguments, no stdin, no sockets.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let policy = cfg.policy.clone();
        let state = HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            egress: EgressHooks {
                policy: policy.clone(),
                denied: Arc::default(),
            },
            config: cfg.clone(),
            limits: wasmtime::StoreLimitsBuilder::new()
                .memory_size(policy.memory_limit)
                .trap_on_grow_failure(true)
                .build(),
        };
        let denied = state.egress.denied.clone();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        // CPU is metered in fuel (executed wasm instructions; waiting in host calls costs
        // nothing). Epochs only make a running guest yield, so deadlines fire even in a loop.
        store
            .set_fuel(policy.cpu_fuel())
            .map_err(|e| CallError::Sandbox(format!("cannot meter the call: {e}")))?;
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        let run = async {
            let flavor = self.pre.instantiate_async(&mut store).await?;
            let s = &mut store;
            wasmtime::Result::Ok(match op {
                Op::Post(m, p) => flavor
                    .alerter_core_alerter()
                    .call_post(s, m, p)
                    .await?
                    .map(Out::Receipt),
                Op::Ask(m, p) => flavor
                    .alerter_core_alerter()
                    .call_ask(s, m, p)
                    .await?
                    .map(Out::Answer),
                Op::Success(c, p) => flavor
                    .alerter_core_hooks()
                    .call_on_success(s, c, p)
                    .await?
                    .map(Out::Receipt),
                Op::Failure(c, e, p) => flavor
                    .alerter_core_hooks()
                    .call_on_failure(s, c, e, p)
                    .await?
                    .map(Out::Receipt),
                Op::Check(p) => flavor
                    .alerter_core_alerter()
                    .call_check(s, p)
                    .await?
                    .map(Out::Check),
            })
        };
        let outcome = tokio::time::timeout(deadline, run).await;
        let redactor = Redactor::new(cfg.secrets.values());
        if let Ok(mut log) = self.guest_log.lock() {
            for pipe in [&stdout, &stderr] {
                let text = String::from_utf8_lossy(&pipe.contents()).into_owned();
                log.extend(text.lines().map(|l| redactor.redact(l)));
            }
            for d in denied.lock().map(|d| d.clone()).unwrap_or_default() {
                log.push(format!("egress denied: {d}"));
            }
            // A long-lived embedder may never drain the log: keep only the newest lines.
            let excess = log.len().saturating_sub(GUEST_LOG_LINES);
            log.drain(..excess);
        }
        match outcome {
            Err(_) => Err(CallError::Deadline(deadline)),
            Ok(Err(trap)) => Err(CallError::Sandbox(redactor.redact(&trap_reason(&trap)))),
            Ok(Ok(Err(e))) => Err(CallError::Alert(e)),
            Ok(Ok(Ok(r))) => Ok(r),
        }
    }
}

fn trap_reason(e: &wasmtime::Error) -> String {
    let text = format!("{e:#}");
    if let Some(wasmtime::Trap::OutOfFuel) = e.downcast_ref::<wasmtime::Trap>() {
        return "it used more CPU time than the policy allows".into();
    }
    if let Some(t) = e.downcast_ref::<wasmtime::Trap>() {
        if *t == wasmtime::Trap::UnreachableCodeReached {
            return format!(
                "the guest panicked or aborted ({text}); it may have run out of its {} memory cap",
                "configured"
            );
        }
    }
    text
}

/// Where compiled components are cached: `$ALERTER_CACHE_DIR`, else `$XDG_CACHE_HOME/alerter`,
/// else `~/.cache/alerter`. `None` disables the cache.
fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("ALERTER_CACHE_DIR") {
        return (!d.is_empty()).then(|| PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("alerter"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("alerter"))
}

/// Compile a component, or load it precompiled from the cache. The cache key covers the
/// component's bytes and the engine's compatibility hash (wasmtime version and settings).
fn load_cached(engine: &Engine, bytes: &[u8]) -> anyhow::Result<(Component, bool)> {
    use std::hash::{Hash, Hasher};
    let Some(dir) = cache_dir() else {
        return Ok((Component::new(engine, bytes)?, false));
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    let path = dir.join(format!("{:016x}.cwasm", h.finish()));
    if path.is_file() && private_to_us(&dir) && private_to_us(&path) {
        // SAFETY: the file was written by `serialize` of an engine with the same compatibility
        // hash, and it and its directory are owned by this user and writable by nobody else.
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok((c, true));
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Ok(serialized) = component.serialize() {
        let _ = write_private(&dir, &path, &serialized);
    }
    Ok((component, false))
}

/// A cached file holds native code: trust it only if this user owns it (and its directory) and
/// nobody else can write it. Otherwise the component is compiled again.
fn private_to_us(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    std::fs::metadata(path).is_ok_and(|m| m.uid() == me && m.mode() & 0o022 == 0)
}

fn write_private(dir: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    std::io::Write::write_all(&mut f, data)?;
    std::fs::rename(&tmp, path)
}
