//! Rate-limit knowledge shared by every call of a [`crate::Runtime`], so a host that posts many
//! alerts waits *before* a request Discord would refuse instead of collecting 429s (which also
//! count toward Cloudflare's ban on invalid requests).
//!
//! What it knows comes from Discord's own answers:
//! - Buckets: each response's `X-RateLimit-Limit`, `-Remaining` and `-Reset-After` describe
//!   the bucket of its route. A bucket here is keyed like Discord's: the server, the bot (a
//!   hash of the `Authorization` value; the token itself is never kept), the method and the
//!   route with its major parameter (`POST /channels/123/messages`; other ids become `:id`, emoji `:emoji`).
//!   Until a route's first answer arrives its requests go out one at a time; after that as many
//!   at once as the bucket has left, and none once it is spent, until its reset.
//! - A 429 spends the bucket until `Retry-After`; a global one (`X-RateLimit-Global`,
//!   `X-RateLimit-Scope: global`) pauses every request of that bot.
//! - The global limit, 50 requests per second per bot, is paced ahead of time.
//! - What is known stays bounded: past [`PRUNE_AT`] buckets (or bots), those that hold nothing
//!   a request would wait for (no request in flight or waiting, no window still running) are
//!   forgotten, so a guest that sends to ever new paths cannot grow the host's memory. A
//!   forgotten route's next request just goes alone first again.
//!
//! The guest keeps its own per-call limiter and still handles any 429 that gets through, so
//! this is an optimisation the contract does not depend on; other hosts run the component
//! without it.

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, StatusCode};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Requests per [`GLOBAL_WINDOW`] a bot may send over all routes (Discord's documented 50/s).
pub const GLOBAL_LIMIT: usize = 50;

/// The global limit's window, with a margin for requests that reach Discord later than they
/// leave here.
pub const GLOBAL_WINDOW: Duration = Duration::from_millis(1050);

/// Which bucket and which bot a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Hash of the bot (its `Authorization` value); 0 for requests without one (webhooks),
    /// which the global limit does not pace.
    bot: u64,
    /// Hash of the bot, method and route.
    bucket: u64,
}

impl Key {
    /// The key of a request.
    /// `origin` is the request's normalised `scheme://host:port` (as the egress hook computes
    /// it), so spellings of one server share its buckets.
    pub fn of(origin: &str, method: &http::Method, uri: &http::Uri, headers: &HeaderMap) -> Key {
        let bot = headers
            .get(http::header::AUTHORIZATION)
            .map_or(0, |v| hash(&v.as_bytes()).max(1));
        // Another server (another API base, the emulator on another port) has buckets of
        // its own.
        Key {
            bot,
            bucket: hash(&(bot, origin, method.as_str(), route(uri.path()))),
        }
    }
}

fn hash(value: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// The route of a path as Discord buckets it: the API prefix dropped, the major parameter
/// (the id after `channels`, `guilds` or `webhooks`, and a webhook's token) kept, other ids
/// `:id`, a reaction's emoji `:emoji`.
pub fn route(path: &str) -> String {
    let mut segments = path.split('/').filter(|s| !s.is_empty()).peekable();
    if segments.peek() == Some(&"api") {
        segments.next();
        if segments.peek().is_some_and(|s| is_version(s)) {
            segments.next();
        }
    }
    let mut out = String::new();
    let mut prev = "";
    let mut after_webhook_id = false;
    for seg in segments {
        let kept = if matches!(prev, "channels" | "guilds" | "webhooks") || after_webhook_id {
            seg
        } else if prev == "reactions" {
            ":emoji"
        } else if seg.bytes().all(|b| b.is_ascii_digit()) {
            ":id"
        } else {
            seg
        };
        after_webhook_id = prev == "webhooks";
        out.push('/');
        out.push_str(kept);
        prev = seg;
    }
    out
}

fn is_version(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[derive(Debug)]
struct Bucket {
    /// Whether any answer for this route has come back.
    learned: bool,
    limit: u32,
    remaining: u32,
    reset_at: Option<Instant>,
    in_flight: u32,
    /// Requests waiting for this bucket, by arrival: only the first may take a slot, so a
    /// request cannot lose the race for every window's slots to later ones.
    queue: VecDeque<u64>,
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket {
            learned: false,
            limit: u32::MAX,
            remaining: u32::MAX,
            reset_at: None,
            in_flight: 0,
            queue: VecDeque::new(),
        }
    }
}

#[derive(Debug, Default)]
struct Bot {
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<u64, Bucket>,
    bots: HashMap<u64, Bot>,
    /// The last number given to a waiting request.
    last_waiter: u64,
    /// The map size that triggers the next [`State::prune`] (0: [`PRUNE_AT`]).
    prune_at: usize,
}

/// How many buckets (and bots) are kept before idle ones are forgotten: a bot posting to a few
/// hundred channels stays under it; about 600 KB at most.
pub const PRUNE_AT: usize = 4096;

/// Why a request cannot go yet.
#[derive(Debug, Clone, Copy)]
enum Hold {
    /// Until this instant (a reset, the global window).
    Until(Instant),
    /// Until another request of the same route answers, or an earlier one takes its slot.
    Answer,
}

impl State {
    /// Take a slot for `key` now, or say how long to hold.
    fn take(&mut self, key: Key, now: Instant) -> Result<(), Hold> {
        if self.buckets.len().max(self.bots.len()) >= self.prune_at.max(PRUNE_AT) {
            self.prune(now);
        }
        if key.bot != 0 {
            let bot = self.bots.entry(key.bot).or_default();
            if let Some(until) = bot.paused_until.filter(|&t| t > now) {
                return Err(Hold::Until(until));
            }
            while bot.sent.front().is_some_and(|&t| now >= t + GLOBAL_WINDOW) {
                bot.sent.pop_front();
            }
            if bot.sent.len() >= GLOBAL_LIMIT {
                return Err(Hold::Until(bot.sent[0] + GLOBAL_WINDOW));
            }
        }
        let b = self.buckets.entry(key.bucket).or_default();
        if b.reset_at.is_some_and(|t| now >= t) {
            b.remaining = b.limit;
            b.reset_at = None;
        }
        if !b.learned {
            if b.in_flight > 0 {
                return Err(Hold::Answer);
            }
        } else if b.remaining == 0 {
            if let Some(reset) = b.reset_at {
                return Err(Hold::Until(reset));
            }
            // Spent in a window whose end no answer has told yet: the next answer will.
            if b.in_flight > 0 {
                return Err(Hold::Answer);
            }
        } else {
            b.remaining -= 1;
        }
        b.in_flight += 1;
        if key.bot != 0 {
            self.bots.entry(key.bot).or_default().sent.push_back(now);
        }
        Ok(())
    }

    /// [`State::take`] for waiter `id`, only when it is first in its bucket's line (and then
    /// out of the line).
    fn take_in_turn(&mut self, key: Key, id: u64, now: Instant) -> Result<(), Hold> {
        let first = self
            .buckets
            .get(&key.bucket)
            .is_none_or(|b| b.queue.front().is_none_or(|&w| w == id));
        if !first {
            return Err(Hold::Answer);
        }
        self.take(key, now)?;
        if let Some(b) = self.buckets.get_mut(&key.bucket) {
            b.queue.pop_front();
        }
        Ok(())
    }

    /// What one answer says about its bucket and bot.
    fn learn(&mut self, key: Key, status: StatusCode, headers: &HeaderMap, now: Instant) {
        let b = self.buckets.entry(key.bucket).or_default();
        b.in_flight = b.in_flight.saturating_sub(1);
        b.learned = true;
        let limit = number::<u32>(headers, "x-ratelimit-limit");
        let remaining = number::<u32>(headers, "x-ratelimit-remaining");
        let reset_after = seconds(headers, "x-ratelimit-reset-after");
        if let (Some(limit), Some(remaining), Some(after)) = (limit, remaining, reset_after) {
            b.limit = limit;
            // Our own count (the limit at the window's start, minus each request taken since)
            // already includes requests still in flight, which this answer may not; Discord's
            // count includes requests from elsewhere (another process with the same bot),
            // which ours does not. The lower of the two is right in both cases, and answers
            // that arrive out of order (an older one reporting more left) cannot raise it.
            b.remaining = b.remaining.min(remaining);
            let reset = now + after;
            if !b
                .reset_at
                .is_some_and(|known| known > now && reset <= known + SAME_WINDOW)
            {
                b.reset_at = Some(reset);
            }
        }
        if status != StatusCode::TOO_MANY_REQUESTS {
            return;
        }
        let retry = seconds(headers, "retry-after")
            .or(reset_after)
            .unwrap_or(Duration::from_secs(1));
        let global = headers
            .get("x-ratelimit-global")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
            || headers
                .get("x-ratelimit-scope")
                .is_some_and(|v| v.as_bytes() == b"global");
        if global && key.bot != 0 {
            self.bots.entry(key.bot).or_default().paused_until = Some(now + retry);
        } else {
            b.remaining = 0;
            b.reset_at = Some(now + retry);
        }
    }

    /// Forget the buckets and bots that would not hold any request now. If most are busy, the
    /// next prune waits until the maps have doubled, so pruning stays cheap per request.
    fn prune(&mut self, now: Instant) {
        self.buckets.retain(|_, b| {
            b.in_flight > 0 || !b.queue.is_empty() || b.reset_at.is_some_and(|t| t > now)
        });
        self.bots.retain(|_, bot| {
            bot.paused_until.is_some_and(|t| t > now)
                || bot.sent.back().is_some_and(|&t| now < t + GLOBAL_WINDOW)
        });
        self.prune_at = PRUNE_AT.max(2 * self.buckets.len().max(self.bots.len()));
    }

    /// A request that got no answer gives its slot back.
    fn release(&mut self, key: Key) {
        if let Some(b) = self.buckets.get_mut(&key.bucket) {
            b.in_flight = b.in_flight.saturating_sub(1);
        }
    }
}

/// Two answers whose resets are this close describe the same window (their `Reset-After`
/// differ by the time between them, a few ms).
const SAME_WINDOW: Duration = Duration::from_millis(100);

/// The longest wait a header can ask for: a bogus value must not park requests for days (the
/// guest's own deadlines would fire first anyway).
const MAX_WAIT: Duration = Duration::from_secs(60);

fn number<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn seconds(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let s: f64 = number(headers, name)?;
    (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s).min(MAX_WAIT))
}

/// The shared knowledge; see the module docs.
#[derive(Debug, Default)]
pub struct Pacer {
    state: Mutex<State>,
    changed: Notify,
}

/// A request's slot in its bucket, from [`Pacer::acquire`] until its answer (or its end
/// without one).
pub struct Ticket {
    pacer: Arc<Pacer>,
    key: Key,
    open: bool,
}

impl Pacer {
    /// Wait until a request with `key` may go without meeting a known limit, and take its slot.
    /// Requests for one bucket take slots in the order they arrived.
    pub async fn acquire(self: &Arc<Self>, key: Key) -> Ticket {
        let mut waiting = Waiting {
            pacer: self,
            key,
            id: self.enqueue(key),
        };
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let hold = match self.state.lock() {
                Ok(mut s) => s.take_in_turn(key, waiting.id, Instant::now()),
                // A poisoned lock means a panic elsewhere; pacing is only an optimisation.
                Err(_) => Ok(()),
            };
            match hold {
                Ok(()) => {
                    waiting.id = 0;
                    // The next in line may go now too (if the bucket has slots left).
                    self.changed.notify_waiters();
                    return Ticket {
                        pacer: self.clone(),
                        key,
                        open: true,
                    };
                }
                Err(Hold::Until(t)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(t) => {}
                        () = &mut changed => {}
                    }
                }
                Err(Hold::Answer) => changed.await,
            }
        }
    }

    /// Put a new request at the end of its bucket's line; returns its number.
    fn enqueue(&self, key: Key) -> u64 {
        let Ok(mut s) = self.state.lock() else {
            return 0;
        };
        s.last_waiter += 1;
        let id = s.last_waiter;
        s.buckets.entry(key.bucket).or_default().queue.push_back(id);
        id
    }
}

/// A request in its bucket's line; leaving it (given up, or cancelled) lets the next one on.
struct Waiting<'a> {
    pacer: &'a Pacer,
    key: Key,
    /// 0 once the request has taken its slot.
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.id == 0 {
            return;
        }
        if let Ok(mut s) = self.pacer.state.lock() {
            if let Some(b) = s.buckets.get_mut(&self.key.bucket) {
                b.queue.retain(|&w| w != self.id);
            }
        }
        self.pacer.changed.notify_waiters();
    }
}

impl Ticket {
    /// Record the answer's rate-limit headers and free the slot.
    pub fn answered(mut self, status: StatusCode, headers: &HeaderMap) {
        if let Ok(mut s) = self.pacer.state.lock() {
            s.learn(self.key, status, headers, Instant::now());
        }
        self.open = false;
        self.pacer.changed.notify_waiters();
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.open {
            if let Ok(mut s) = self.pacer.state.lock() {
                s.release(self.key);
            }
            self.pacer.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
#[path = "pacer_tests.rs"]
mod tests;
