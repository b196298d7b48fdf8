//! The epoch ticker: it advances the engine's epoch every [`EPOCH_TICK`] so a running guest
//! yields (and a call's wall-clock bound can fire even in a loop), but only while some call's
//! guest is executing wasm. A waiting `ask` is inside a host call (a sleep, an HTTP response),
//! so it costs no wakeups at all.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::Thread;

use wasmtime::Engine;

use crate::policy::EPOCH_TICK;

struct Shared {
    /// Stores whose guest is executing wasm right now.
    running: AtomicUsize,
    /// The thread is parked (or about to be): the next `enter` must wake it. Guests enter and
    /// leave wasm on every host call, so only a wake-up that is needed costs a system call.
    parked: AtomicBool,
    stop: AtomicBool,
    #[cfg(test)]
    ticks: std::sync::atomic::AtomicU64,
}

/// One runtime's ticker thread; stopped when dropped.
pub(super) struct Ticker {
    shared: Arc<Shared>,
    thread: Thread,
}

impl Ticker {
    /// Start the thread, parked until a guest runs.
    pub(super) fn start(engine: Engine) -> std::io::Result<Ticker> {
        let shared = Arc::new(Shared {
            running: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            #[cfg(test)]
            ticks: std::sync::atomic::AtomicU64::new(0),
        });
        let s = shared.clone();
        let handle = std::thread::Builder::new()
            .name("alerter-epoch".into())
            .spawn(move || {
                while !s.stop.load(Ordering::SeqCst) {
                    if s.running.load(Ordering::Acquire) == 0 {
                        // Say so, then look again: an `enter` either sees the flag and
                        // unparks us (an unpark before the park makes it return at once), or
                        // came first and the second look sees it.
                        s.parked.store(true, Ordering::SeqCst);
                        if s.running.load(Ordering::SeqCst) == 0 && !s.stop.load(Ordering::SeqCst) {
                            std::thread::park();
                        }
                        s.parked.store(false, Ordering::SeqCst);
                        continue;
                    }
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                    #[cfg(test)]
                    s.ticks.fetch_add(1, Ordering::Relaxed);
                }
            })?;
        Ok(Ticker {
            shared,
            thread: handle.thread().clone(),
        })
    }

    /// What one call's store uses to say when its guest runs.
    pub(super) fn handle(&self) -> InWasm {
        InWasm {
            shared: self.shared.clone(),
            thread: self.thread.clone(),
            inside: false,
        }
    }

    #[cfg(test)]
    fn ticks(&self) -> u64 {
        self.shared.ticks.load(Ordering::Relaxed)
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// One store's view of the ticker: [`InWasm::enter`] when its guest starts executing wasm,
/// [`InWasm::leave`] when it stops (or calls the host). Dropping it leaves.
pub(super) struct InWasm {
    shared: Arc<Shared>,
    thread: Thread,
    inside: bool,
}

impl InWasm {
    pub(super) fn enter(&mut self) {
        if !self.inside {
            self.inside = true;
            self.shared.running.fetch_add(1, Ordering::SeqCst);
            if self.shared.parked.swap(false, Ordering::SeqCst) {
                self.thread.unpark();
            }
        }
    }

    pub(super) fn leave(&mut self) {
        if self.inside {
            self.inside = false;
            self.shared.running.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for InWasm {
    fn drop(&mut self) {
        self.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn it_ticks_only_while_a_guest_runs() {
        let ticker = Ticker::start(Engine::default()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(ticker.ticks(), 0, "idle: no ticks");
        let mut a = ticker.handle();
        let mut b = ticker.handle();
        a.enter();
        b.enter();
        a.leave();
        std::thread::sleep(Duration::from_millis(300));
        let running = ticker.ticks();
        assert!(
            running >= 3,
            "{running} ticks in 300 ms with a guest running"
        );
        drop(b); // a store dropped mid-wasm (a call cut by its deadline) leaves too
        std::thread::sleep(Duration::from_millis(120));
        let settled = ticker.ticks();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            ticker.ticks(),
            settled,
            "idle again after the last guest left"
        );
    }
}
