//! CPU metering for one call: fuel for the wasm the guest runs, the same fuel for the work
//! the host does inside the guest's host calls, and fuel earned back only for the time the
//! call was blocked (a sleep, an HTTP response, a pollable).
//!
//! Blocked time is measured on the call's own future ([`Metered`]): from a poll that returned
//! `Pending` to the next poll. A host call that computes (a random fill, a large copy) never
//! leaves the poll, so its thread's CPU time is charged as work and it earns nothing; one that
//! waits leaves it, and earns back [`Policy::cpu_refill`] per second of that wait. An epoch
//! yield also leaves the poll, but it is the guest's running wasm being paused, so it neither
//! costs nor earns. Work the host does on its own tasks (a request's connection I/O) is not
//! metered here: the policy bounds it by the requests a guest may have open.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::{CallHook, Store};

use super::imports::HostState;
use crate::policy::Policy;

/// The time a call's future has spent blocked, summed over its `Pending` returns.
#[derive(Default)]
pub(super) struct BlockedClock(Mutex<Blocked>);

#[derive(Default)]
struct Blocked {
    /// When the future last returned `Pending`, while it waits to be polled again.
    since: Option<Instant>,
    total: Duration,
}

impl BlockedClock {
    /// Blocked time so far; read inside a poll, so no wait is under way.
    fn total(&self) -> Duration {
        self.0.lock().map(|b| b.total).unwrap_or_default()
    }

    fn woke(&self) {
        if let Ok(mut b) = self.0.lock() {
            if let Some(since) = b.since.take() {
                b.total += since.elapsed();
            }
        }
    }

    fn blocked(&self) {
        if let Ok(mut b) = self.0.lock() {
            b.since = Some(Instant::now());
        }
    }
}

/// A future that tells its [`BlockedClock`] when it waits and when it is woken.
pub(super) struct Metered<F> {
    inner: Pin<Box<F>>,
    clock: Arc<BlockedClock>,
}

impl<F: Future> Metered<F> {
    pub(super) fn new(inner: F, clock: Arc<BlockedClock>) -> Self {
        Metered {
            inner: Box::pin(inner),
            clock,
        }
    }
}

impl<F: Future> Future for Metered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.clock.woke();
        let polled = self.inner.as_mut().poll(cx);
        if polled.is_pending() {
            self.clock.blocked();
        }
        polled
    }
}

/// What the meter keeps between hooks.
struct Meter {
    clock: Arc<BlockedClock>,
    /// For each level of the current nesting, whether it runs host code (`true`) or wasm. A
    /// host call can run wasm (the guest's `cabi_realloc` while a result is lowered), and that
    /// wasm can call the host again (a `memory.grow`).
    modes: Vec<bool>,
    /// The host code running now, since it started or since its nested wasm returned.
    segment: Option<Segment>,
}

/// Where a stretch of host code began.
struct Segment {
    at: Instant,
    blocked: Duration,
    thread: std::thread::ThreadId,
    cpu: Duration,
}

impl Segment {
    fn start(clock: &BlockedClock) -> Segment {
        Segment {
            at: Instant::now(),
            blocked: clock.total(),
            thread: std::thread::current().id(),
            cpu: thread_cpu(),
        }
    }

    /// The host's own work in this stretch and the time it was blocked. Without a wait it
    /// ran on one thread, whose CPU time is the work (time the OS gave to others is not);
    /// with one, the rest of the wall time is.
    fn end(&self, clock: &BlockedClock) -> (Duration, Duration) {
        let blocked = clock.total().saturating_sub(self.blocked);
        let wall = self.at.elapsed();
        let worked = if blocked.is_zero() && std::thread::current().id() == self.thread {
            thread_cpu().saturating_sub(self.cpu).min(wall)
        } else {
            wall.saturating_sub(blocked)
        };
        (worked, blocked)
    }
}

/// This thread's CPU time.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

impl Meter {
    fn in_host(&self) -> bool {
        self.modes.last().copied().unwrap_or(false)
    }

    /// Follow one hook; when it ends a stretch of host code, return that stretch's work and
    /// blocked time (see [`Segment::end`]).
    fn on(&mut self, hook: CallHook) -> Option<(Duration, Duration)> {
        let settled = match hook {
            CallHook::CallingWasm | CallHook::CallingHost if self.in_host() => self.settle(),
            CallHook::ReturningFromHost => self.settle(),
            _ => None,
        };
        match hook {
            CallHook::CallingWasm => self.modes.push(false),
            CallHook::CallingHost => self.modes.push(true),
            CallHook::ReturningFromWasm | CallHook::ReturningFromHost => {
                self.modes.pop();
            }
        }
        if self.in_host() {
            // Host code starts, or resumes after its nested wasm (or host call) returned.
            if !matches!(hook, CallHook::CallingWasm) {
                self.segment = Some(Segment::start(&self.clock));
            }
        }
        settled
    }

    fn settle(&mut self) -> Option<(Duration, Duration)> {
        self.segment.take().map(|s| s.end(&self.clock))
    }
}

/// Tell the epoch ticker when the guest runs wasm (it ticks only then), and meter host code:
/// when a stretch of it ends (the host call returns, or runs wasm of the guest's), charge the
/// host's work in it ([`Policy::fuel_after_host_call`]) and add what the time it was blocked
/// earned, never above the budget. A guest that spins, in wasm or in host calls, earns
/// nothing and is stopped when its budget is spent. An epoch yield neither costs nor earns:
/// the guest was running wasm, and the time until its task is polled again (the run queue of
/// a busy runtime) is no wait of its own.
pub(super) fn meter_cpu(
    store: &mut Store<HostState>,
    policy: Arc<Policy>,
    clock: Arc<BlockedClock>,
) {
    let mut m = Meter {
        clock,
        modes: Vec::new(),
        segment: None,
    };
    store.call_hook(move |mut ctx, hook| {
        match hook {
            CallHook::CallingWasm => ctx.data_mut().in_wasm.enter(),
            CallHook::ReturningFromWasm | CallHook::CallingHost => ctx.data_mut().in_wasm.leave(),
            CallHook::ReturningFromHost => ctx.data_mut().in_wasm.enter(),
        }
        if let Some((worked, blocked)) = m.on(hook) {
            if !std::mem::take(&mut ctx.data_mut().yielded) {
                let left = ctx.get_fuel()?;
                let after = policy.fuel_after_host_call(left, worked, blocked);
                if after != left {
                    ctx.set_fuel(after)?;
                }
            }
        }
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_time_spent_waiting_to_be_polled_counts_as_blocked() {
        let clock = Arc::new(BlockedClock::default());
        let c = clock.clone();
        Metered::new(
            async move {
                // Work inside the poll: not blocked.
                let t = Instant::now();
                while t.elapsed() < Duration::from_millis(30) {
                    std::hint::spin_loop();
                }
                assert_eq!(c.total(), Duration::ZERO);
                tokio::time::sleep(Duration::from_millis(50)).await;
                let waited = c.total();
                assert!(
                    waited >= Duration::from_millis(45) && waited < Duration::from_millis(500),
                    "{waited:?}"
                );
            },
            clock.clone(),
        )
        .await;
    }

    /// Compute for `d` of this thread's CPU time (however long the machine makes it take).
    fn spin(d: Duration) {
        let t = thread_cpu();
        while thread_cpu().saturating_sub(t) < d {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn a_host_call_that_runs_wasm_is_metered_in_both_its_stretches() {
        // The outer host call computes 20 ms, lowers its result through the guest's realloc
        // (which grows memory: a nested host call), then computes 20 ms more. Every
        // millisecond of it is work, none of it blocked.
        let mut m = Meter {
            clock: Arc::default(),
            modes: vec![false],
            segment: None,
        };
        let mut worked = Duration::ZERO;
        let mut add = |s: Option<(Duration, Duration)>| {
            if let Some((w, b)) = s {
                assert_eq!(b, Duration::ZERO);
                worked += w;
            }
        };
        add(m.on(CallHook::CallingHost));
        spin(Duration::from_millis(20));
        add(m.on(CallHook::CallingWasm));
        add(m.on(CallHook::CallingHost));
        add(m.on(CallHook::ReturningFromHost));
        add(m.on(CallHook::ReturningFromWasm));
        spin(Duration::from_millis(20));
        add(m.on(CallHook::ReturningFromHost));
        assert_eq!(m.modes, [false], "back in the guest's wasm");
        assert!(m.segment.is_none());
        assert!(
            worked >= Duration::from_millis(40) && worked < Duration::from_millis(400),
            "{worked:?}"
        );
    }
}
