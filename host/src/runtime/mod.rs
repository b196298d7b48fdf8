//! Loading and running flavor components: one [`Runtime`] (engine, linker, `InstancePre`) per
//! component, a fresh sandboxed `Store` per call.
//!
//! - `imports`: the per-call store state and the `wasi:config` / `wasmcloud:secrets` imports;
//! - `cache`: the on-disk compile cache;
//! - `pipe`: the guest's bounded stdout / stderr, which drop output instead of failing;
//! - `meter`: CPU metering (wasm and the host's work in host calls cost fuel, time blocked
//!   earns it back);
//! - `redact`: every string a guest hands back, redacted before it is returned;
//! - `lifecycle`: an ask in steps (`open`, `wait`, `close`) and [`Runtime::ask_until`], which
//!   drives them and marks the question when the caller cancels;
//! - this file: [`Runtime`], the one-call exports, and the one call path every export goes
//!   through (fresh store, metered fuel, a wall-clock bound derived from the guest's own,
//!   redacted results and a capped guest log).

mod cache;
mod engine_config;
mod imports;
mod lifecycle;
mod meter;
mod pipe;
mod redact;
mod ticker;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::Linker;
use wasmtime::{Engine, InstanceAllocationStrategy, Store, UpdateDeadline};

use imports::HostState;
use pipe::LogPipe;
use redact::Redact;

use crate::bindings::types::{AlertError, Answer, Message, Params, PostReceipt};
use crate::bindings::{ExceptionInfo, Flavor, FlavorPre, RunContext};
use crate::CheckReport;

use crate::error::CallError;
use crate::policy::{Denials, Policy};
use crate::secrets::Redactor;

/// The Discord flavor built from `guest/`, embedded at build time.
pub static EMBEDDED_COMPONENT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/alerter_discord.wasm"));

/// [`EMBEDDED_COMPONENT`] compiled to native code at build time, for the build machine's CPU
/// and the runtime's code settings; empty if the build skipped it (`ALERTER_PRECOMPILE=0`).
/// A runtime uses it when wasmtime accepts it for the running engine and CPU, and otherwise
/// compiles (see [`CodeSource`]).
pub static PRECOMPILED_COMPONENT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/alerter_discord.cwasm"));

/// Where a runtime's native code came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeSource {
    /// Compiled at build time and embedded in the binary ([`PRECOMPILED_COMPONENT`]).
    Precompiled,
    /// Loaded from the compile cache on disk.
    Cache,
    /// Compiled now by Cranelift (and written to the cache when it is usable).
    Compiled,
}

impl std::fmt::Display for CodeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CodeSource::Precompiled => "precompiled at build time",
            CodeSource::Cache => "compile cache hit",
            CodeSource::Compiled => "compile cache miss",
        })
    }
}

/// Give back the resident pages of `data`, part of this binary's read-only image, that lie
/// wholly inside it (about 2 MiB of RSS for the precompiled component). They are clean
/// file-backed pages: touching them again reads them back from the binary.
fn release_pages(data: &'static [u8]) {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let start = (data.as_ptr() as usize).next_multiple_of(page);
    let end = (data.as_ptr() as usize + data.len()) / page * page;
    if end > start {
        // SAFETY: the range is page-aligned and inside a `'static` slice of the binary's
        // read-only data, a private file mapping nothing writes: MADV_DONTNEED only drops the
        // resident copies, and a later read refaults the same bytes from the file.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Lines of guest output kept for [`Runtime::take_guest_log`].
const GUEST_LOG_LINES: usize = 1000;
/// Bytes of guest output kept for [`Runtime::take_guest_log`] (a line may be as long as a
/// pipe's whole output).
const GUEST_LOG_BYTES: usize = 1 << 20;
/// Bytes of stdout and of stderr kept per call.
const GUEST_PIPE_BYTES: usize = 64 << 10;

/// Settings and secrets for one call, plus the sandbox it runs in.
#[derive(Clone, Default)]
pub struct CallConfig {
    /// `wasi:config/store` keys (`default_discord_channel_id`, `api_base_url`, ...).
    pub settings: BTreeMap<String, String>,
    /// Secrets by key (`discord_token`); reach the guest only through `wasmcloud:secrets`.
    pub secrets: BTreeMap<String, String>,
    /// The sandbox: egress allow-list, memory, CPU and time limits.
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

/// A compiled flavor, ready to instantiate per call. Cheap to share (`Arc`).
pub struct Runtime {
    engine: Engine,
    pre: FlavorPre<HostState>,
    ticker: ticker::Ticker,
    /// Connections and rate-limit knowledge shared by every call.
    net: Arc<crate::net::Net>,
    /// Where the component's native code came from.
    pub code: CodeSource,
    /// Everything the guests printed, redacted, in order (drained by [`Runtime::take_guest_log`]).
    guest_log: Mutex<Vec<String>>,
}

/// How a [`Runtime`] allocates each call's instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Instances {
    /// Reserve slots for 256 concurrent calls when the runtime is made: about 72 GiB of
    /// address space (little real memory), and the fastest instantiation. For a long-lived host
    /// making many calls.
    #[default]
    Pooled,
    /// Allocate each call's memory when the call starts (288 MiB of address space per call).
    /// For a process that makes a few calls, like the CLI; works under a tight `ulimit -v`.
    OnDemand,
}

/// Slots a pooled runtime reserves.
const POOLED_INSTANCES: u32 = 256;

/// The engine every runtime uses: fuel and epochs on, small virtual-memory reservations, and
/// the pooling allocator when `instances` asks for it.
fn engine(instances: Instances) -> anyhow::Result<Engine> {
    let mut config = engine_config::code_config();
    if instances == Instances::Pooled {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_component_instances(POOLED_INSTANCES)
            .total_memories(POOLED_INSTANCES)
            .total_tables(2 * POOLED_INSTANCES)
            .max_memory_size(256 << 20)
            .total_core_instances(4 * POOLED_INSTANCES);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    // The configuration is fixed, so a pooled engine fails only when its pool cannot be
    // mapped ("failed to create memory pool mapping"): say what to do about it.
    Engine::new(&config).map_err(|e| {
        let e = anyhow::Error::from(e);
        if instances == Instances::Pooled {
            e.context(format!(
                "cannot reserve address space for {POOLED_INSTANCES} pooled instances (is \
                 `ulimit -v` set?); a process making few calls can use Instances::OnDemand"
            ))
        } else {
            e
        }
    })
}

impl Runtime {
    /// The embedded Discord flavor, pooled (see [`Instances`]).
    pub fn embedded() -> anyhow::Result<Runtime> {
        Runtime::from_bytes(EMBEDDED_COMPONENT)
    }

    /// A flavor component from a file (`--component PATH`), pooled.
    pub fn from_file(path: &Path) -> anyhow::Result<Runtime> {
        Runtime::from_file_with(path, Instances::Pooled)
    }

    /// A flavor component from a file, allocating instances as `instances` says.
    pub fn from_file_with(path: &Path, instances: Instances) -> anyhow::Result<Runtime> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Runtime::from_bytes_with(&bytes, instances)
    }

    /// Compile (or load from the compile cache) and link a component, pooled.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Runtime> {
        Runtime::from_bytes_with(bytes, Instances::Pooled)
    }

    /// Compile (or load from the compile cache) and link a component, allocating instances as
    /// `instances` says.
    pub fn from_bytes_with(bytes: &[u8], instances: Instances) -> anyhow::Result<Runtime> {
        let engine = engine(instances)?;
        // The embedded component has native code built with it; any other is compiled.
        let precompiled = if std::ptr::eq(bytes, EMBEDDED_COMPONENT) {
            PRECOMPILED_COMPONENT
        } else {
            &[]
        };
        let dir = cache::cache_dir();
        let (component, code) = cache::load(&engine, bytes, precompiled, dir.as_deref())?;
        if code == CodeSource::Precompiled {
            // wasmtime copied the code into memory of its own; the copy in the binary's image
            // is not needed again.
            release_pages(PRECOMPILED_COMPONENT);
        }
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        imports::add_to_linker(&mut linker)?;
        let pre = FlavorPre::new(
            linker
                .instantiate_pre(&component)
                .map_err(anyhow::Error::from)
                .context("the component does not fit the alerter:core/flavor world")?,
        )?;
        let ticker = ticker::Ticker::start(engine.clone())?;
        Ok(Runtime {
            engine,
            pre,
            ticker,
            net: Arc::default(),
            code,
            guest_log: Mutex::new(Vec::new()),
        })
    }

    /// TCP connections this runtime has opened so far, over all its calls (connections are
    /// pooled per origin and reused).
    pub fn connections_opened(&self) -> u64 {
        self.net.pool.connections_opened()
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

    /// `post` a message: one delivery.
    pub async fn post(
        &self,
        cfg: &CallConfig,
        message: &Message,
        params: &Params,
    ) -> Result<PostReceipt, CallError> {
        files_fit(params)?;
        self.call(cfg, bound(cfg, Duration::ZERO, 1), async |f, s| {
            f.alerter_core_alerter().call_post(s, message, params).await
        })
        .await
    }

    /// `ask` a question and wait for the answer, in one guest call (open, wait, close). The
    /// call is bounded by `timeout` plus three deliveries (see [`Policy::call_bound`]).
    /// Dropping the future leaves the question open; [`Runtime::ask_until`] marks it.
    ///
    /// [`Policy::call_bound`]: crate::Policy::call_bound
    pub async fn ask(
        &self,
        cfg: &CallConfig,
        question: &Message,
        params: &Params,
        timeout: Duration,
    ) -> Result<Answer, CallError> {
        files_fit(params)?;
        self.call(cfg, bound(cfg, timeout, 3), async |f, s| {
            f.alerter_core_alerter().call_ask(s, question, params).await
        })
        .await
    }

    /// Post "Pipeline Success Notification".
    pub async fn on_success(
        &self,
        cfg: &CallConfig,
        ctx: &RunContext,
        params: &Params,
    ) -> Result<PostReceipt, CallError> {
        files_fit(params)?;
        self.call(cfg, bound(cfg, Duration::ZERO, 1), async |f, s| {
            f.alerter_core_hooks().call_on_success(s, ctx, params).await
        })
        .await
    }

    /// Post "Pipeline Failure Alert".
    pub async fn on_failure(
        &self,
        cfg: &CallConfig,
        ctx: &RunContext,
        exc: &ExceptionInfo,
        params: &Params,
    ) -> Result<PostReceipt, CallError> {
        files_fit(params)?;
        self.call(cfg, bound(cfg, Duration::ZERO, 1), async |f, s| {
            f.alerter_core_hooks()
                .call_on_failure(s, ctx, exc, params)
                .await
        })
        .await
    }

    /// Validate the token and the channel without posting (two requests, each its own
    /// delivery).
    pub async fn check(&self, cfg: &CallConfig, params: &Params) -> Result<CheckReport, CallError> {
        self.call(cfg, bound(cfg, Duration::ZERO, 2), async |f, s| {
            f.alerter_core_alerter().call_check(s, params).await
        })
        .await
    }

    /// Instantiate the component in a fresh sandboxed store, run one export with it under
    /// `deadline`, and keep what the guest printed.
    async fn call<R: Redact>(
        &self,
        cfg: &CallConfig,
        deadline: Duration,
        export: impl AsyncFnOnce(
            &Flavor,
            &mut Store<HostState>,
        ) -> wasmtime::Result<Result<R, AlertError>>,
    ) -> Result<R, CallError> {
        let stdout = LogPipe::new(GUEST_PIPE_BYTES);
        let stderr = LogPipe::new(GUEST_PIPE_BYTES);
        let state = HostState::new(
            cfg,
            stdout.clone(),
            stderr.clone(),
            self.ticker.handle(),
            self.net.clone(),
        );
        let denied = state.egress.denied.clone();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        // CPU is metered in fuel (executed wasm instructions). Waiting in a host call costs
        // nothing and earns some back (`meter_cpu`). Epochs only make a running guest yield,
        // so deadlines fire even in a loop.
        store
            .set_fuel(cfg.policy.cpu_fuel())
            .map_err(|e| CallError::Sandbox(format!("cannot meter the call: {e}")))?;
        let blocked = Arc::new(meter::BlockedClock::default());
        meter::meter_cpu(&mut store, cfg.policy.clone(), blocked.clone());
        store.epoch_deadline_callback(|mut ctx| {
            ctx.data_mut().yielded = true;
            Ok(UpdateDeadline::Yield(1))
        });
        let run = async {
            let flavor = self.pre.instantiate_async(&mut store).await?;
            export(&flavor, &mut store).await
        };
        let outcome = tokio::time::timeout(deadline, meter::Metered::new(run, blocked)).await;
        let redactor = Redactor::new(cfg.secrets.values());
        self.keep_guest_log(&redactor, &[&stdout, &stderr], &denied);
        match outcome {
            Err(_) => Err(CallError::Deadline(deadline)),
            Ok(Err(trap)) => Err(CallError::Sandbox(redactor.redact(&trap_reason(&trap)))),
            Ok(Ok(Err(e))) => Err(CallError::Alert(e.redact(&redactor))),
            Ok(Ok(Ok(r))) => Ok(r.redact(&redactor)),
        }
    }

    /// Add one line of the host's own to the guest log (a step that failed after the answer),
    /// with the call's secrets redacted.
    fn note(&self, cfg: &CallConfig, line: &str) {
        let line = Redactor::new(cfg.secrets.values()).redact(line);
        if let Ok(mut log) = self.guest_log.lock() {
            log.push(line);
            cap_log(&mut log);
        }
    }

    /// Append a call's output and egress denials to the guest log, redacted and capped.
    fn keep_guest_log(&self, redactor: &Redactor, pipes: &[&LogPipe], denied: &Mutex<Denials>) {
        let Ok(mut log) = self.guest_log.lock() else {
            return;
        };
        for pipe in pipes {
            let (kept, dropped) = pipe.contents();
            let text = String::from_utf8_lossy(&kept).into_owned();
            log.extend(text.lines().map(|l| redactor.redact(l)));
            if dropped > 0 {
                log.push(format!(
                    "warning: the guest wrote {dropped} more bytes of output than the {} KiB kept",
                    GUEST_PIPE_BYTES >> 10
                ));
            }
        }
        if let Ok(d) = denied.lock() {
            log.extend(d.lines());
        }
        cap_log(&mut log);
    }
}

/// Keep only the newest lines of `log` that fit [`GUEST_LOG_LINES`] and [`GUEST_LOG_BYTES`]:
/// a long-lived embedder may never drain it.
fn cap_log(log: &mut Vec<String>) {
    let mut bytes = 0usize;
    let kept = log
        .iter()
        .rev()
        .take(GUEST_LOG_LINES)
        .take_while(|l| {
            bytes += l.len();
            bytes <= GUEST_LOG_BYTES
        })
        .count();
    let excess = log.len() - kept;
    log.drain(..excess);
}

/// A call's files must fit one message (25 MiB, Discord's request limit) before they are
/// handed over: more would not fit the component's memory, and it would trap instead of
/// naming the problem. The component checks every other file rule itself.
pub(crate) fn files_fit(params: &Params) -> Result<(), CallError> {
    let total: usize = params.attachments.iter().map(|a| a.data.len()).sum();
    if total as u64 > MAX_FILE_BYTES_PER_MESSAGE {
        return Err(CallError::Alert(AlertError::InvalidInput(format!(
            "the files add up to {total} bytes, over Discord's {MAX_FILE_BYTES_PER_MESSAGE} bytes \
             per message"
        ))));
    }
    Ok(())
}

/// Bytes of files one message may carry: Discord's request limit, checked by the host before
/// it hands files to the component (see `files_fit`).
pub const MAX_FILE_BYTES_PER_MESSAGE: u64 = 25 << 20;

/// The wall-clock bound of a call that may wait `waiting` and runs `steps` deliveries, with
/// the delivery deadline the guest reads from the call's settings.
fn bound(cfg: &CallConfig, waiting: Duration, steps: u32) -> Duration {
    cfg.policy
        .call_bound(waiting, steps, cfg.delivery_deadline())
}

/// The guest's bound on one delivery when `delivery_deadline_seconds` is not set (the WIT's
/// default).
pub const DEFAULT_DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

impl CallConfig {
    /// The bound the guest puts on one delivery: the `delivery_deadline_seconds` setting it
    /// reads (the configuration validated it when it was written), else its default. The host
    /// derives every call's wall-clock bound from it, so it reads the same setting.
    pub fn delivery_deadline(&self) -> Duration {
        self.settings
            .get("delivery_deadline_seconds")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(DEFAULT_DELIVERY_DEADLINE)
    }
}

/// Why the sandbox stopped the guest, in words.
fn trap_reason(e: &wasmtime::Error) -> String {
    if e.chain().any(|c| {
        c.downcast_ref::<wasmtime::component::ResourceTableError>()
            .is_some()
    }) {
        return format!(
            "it held more host resources at once (header sets, requests, streams) than the \
             policy allows ({e:#})"
        );
    }
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::OutOfFuel) => "it used more CPU time than the policy allows".into(),
        Some(wasmtime::Trap::UnreachableCodeReached) => format!(
            "the guest panicked or aborted ({e:#}); it may have run out of its configured memory cap"
        ),
        _ => format!("{e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_native_code_is_used_when_the_engine_accepts_it_and_refused_when_not() {
        assert!(
            !PRECOMPILED_COMPONENT.is_empty(),
            "the build script precompiles the embedded component"
        );
        for instances in [Instances::Pooled, Instances::OnDemand] {
            let e = engine(instances).unwrap();
            let (_, code) =
                cache::load(&e, EMBEDDED_COMPONENT, PRECOMPILED_COMPONENT, None).unwrap();
            assert_eq!(code, CodeSource::Precompiled, "{instances:?}");
        }
        // Other code settings (no fuel metering compiled in): the artifact would run the guest
        // unmetered, so wasmtime must refuse it and the component is compiled instead.
        let mut config = engine_config::code_config();
        config.consume_fuel(false);
        let other = Engine::new(&config).unwrap();
        // SAFETY: our own build's artifact; the point is that wasmtime refuses it here.
        assert!(unsafe {
            wasmtime::component::Component::deserialize(&other, PRECOMPILED_COMPONENT)
        }
        .is_err());
        let (_, code) =
            cache::load(&other, EMBEDDED_COMPONENT, PRECOMPILED_COMPONENT, None).unwrap();
        assert_ne!(code, CodeSource::Precompiled);
        // Bytes that are not an artifact at all fall back the same way.
        let e = engine(Instances::OnDemand).unwrap();
        let (_, code) = cache::load(&e, EMBEDDED_COMPONENT, b"not native code", None).unwrap();
        assert_ne!(code, CodeSource::Precompiled);
    }

    #[test]
    fn the_first_run_keeps_the_embedded_code_in_the_cache_for_the_next() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("alerter-first-run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let e = engine(Instances::OnDemand).unwrap();
        let load = || cache::load(&e, EMBEDDED_COMPONENT, PRECOMPILED_COMPONENT, Some(&dir));
        assert_eq!(load().unwrap().1, CodeSource::Precompiled);
        // The next run maps the file (only the code that runs is paged in) instead of copying.
        assert_eq!(load().unwrap().1, CodeSource::Cache);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_guest_log_keeps_the_newest_lines_within_its_line_and_byte_caps() {
        let mut log: Vec<String> = (0..5000).map(|i| format!("line {i}")).collect();
        cap_log(&mut log);
        assert_eq!(log.len(), GUEST_LOG_LINES);
        assert_eq!(log.last().map(String::as_str), Some("line 4999"));
        // Long lines: the byte cap binds first.
        let mut log: Vec<String> = (0..100)
            .map(|i| format!("{i:03}{}", "x".repeat(60 << 10)))
            .collect();
        cap_log(&mut log);
        let bytes: usize = log.iter().map(String::len).sum();
        assert!(bytes <= GUEST_LOG_BYTES, "{bytes}");
        assert_eq!(log.len(), GUEST_LOG_BYTES / ((60 << 10) + 3));
        assert!(log.last().is_some_and(|l| l.starts_with("099")));
    }

    /// Set for the child that runs [`a_pool_that_cannot_be_reserved_says_what_to_do`] under a
    /// tight `ulimit -v`.
    const PROBE: &str = "ALERTER_POOL_PROBE";

    #[test]
    fn a_pool_that_cannot_be_reserved_says_what_to_do() {
        if std::env::var_os(PROBE).is_some() {
            match engine(Instances::Pooled) {
                Ok(_) => println!("PROBE pooled engine made"),
                Err(e) => println!("PROBE {e:#}"),
            }
            match engine(Instances::OnDemand) {
                Ok(_) => println!("PROBE on-demand engine made"),
                Err(e) => println!("PROBE on-demand failed: {e:#}"),
            }
            return;
        }
        // This test again, in a child process whose address space is too small for the pool.
        let exe = std::env::current_exe().expect("test binary");
        let out = std::process::Command::new("bash")
            .args(["-c", "ulimit -v 4000000 && exec \"$0\" \"$@\""])
            .arg(&exe)
            .args([
                "--exact",
                "runtime::tests::a_pool_that_cannot_be_reserved_says_what_to_do",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PROBE, "1")
            .output()
            .expect("run the probe");
        let text = String::from_utf8_lossy(&out.stdout);
        // The harness prints `test NAME ... ` on the probe's first line.
        let lines: Vec<&str> = text
            .lines()
            .filter_map(|l| l.find("PROBE ").map(|i| &l[i..]))
            .collect();
        assert_eq!(
            lines.len(),
            2,
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            lines[0].starts_with("PROBE cannot reserve address space for 256 pooled instances")
                && lines[0].contains("ulimit -v")
                && lines[0].contains("Instances::OnDemand")
                && lines[0].contains("memory pool"),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], "PROBE on-demand engine made");
    }
}
