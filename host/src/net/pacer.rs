//! Rate-limit knowledge shared by every call of a [`crate::Runtime`], so a host that posts many
//! alerts waits *before* a request Discord would refuse instead of collecting 429s (which also
//! count toward Cloudflare's ban on invalid requests).
//!
//! What it knows comes from Discord's own answers:
//! - Buckets: each response's `X-RateLimit-Limit`, `-Remaining` and `-Reset-After` describe
//!   the bucket of its route. A bucket here is keyed like Discord's: the bot (a hash of the
//!   `Authorization` value; the token itself is never kept), the method and the route with
//!   its major parameter (`POST /channels/123/messages`; other ids become `:id`, emoji `:emoji`).
//!   Until a route's first answer arrives its requests go out one at a time; after that as many
//!   at once as the bucket has left, and none once it is spent, until its reset.
//! - A 429 spends the bucket until `Retry-After`; a global one (`X-RateLimit-Global`,
//!   `X-RateLimit-Scope: global`) pauses every request of that bot.
//! - The global limit, 50 requests per second per bot, is paced ahead of time.
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
    pub fn of(method: &http::Method, uri: &http::Uri, headers: &HeaderMap) -> Key {
        let bot = headers
            .get(http::header::AUTHORIZATION)
            .map_or(0, |v| hash(&v.as_bytes()).max(1));
        Key {
            bot,
            bucket: hash(&(bot, method.as_str(), route(uri.path()))),
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
}

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
mod tests {
    use super::*;

    fn key(auth: Option<&str>, method: &str, path: &str) -> Key {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(http::header::AUTHORIZATION, a.parse().unwrap());
        }
        let uri: http::Uri = format!("https://discord.com{path}").parse().unwrap();
        Key::of(&method.parse().unwrap(), &uri, &h)
    }

    fn limits(limit: u32, remaining: u32, reset_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-limit", limit.into());
        h.insert("x-ratelimit-remaining", remaining.into());
        h.insert("x-ratelimit-reset-after", reset_after.parse().unwrap());
        h
    }

    const BOT: Option<&str> = Some("Bot a.b.c");
    const POST: &str = "/api/v10/channels/1/messages";

    fn held_until(r: Result<(), Hold>) -> Instant {
        match r {
            Err(Hold::Until(t)) => t,
            Err(Hold::Answer) => panic!("held for an answer, not a time"),
            Ok(()) => panic!("not held"),
        }
    }

    #[test]
    fn routes_keep_the_major_parameter_only() {
        for (path, want) in [
            ("/api/v10/channels/123/messages", "/channels/123/messages"),
            (
                "/api/v10/channels/123/messages/456/reactions/%E2%9C%85/@me",
                "/channels/123/messages/:id/reactions/:emoji/@me",
            ),
            ("/api/v10/guilds/9/members/77", "/guilds/9/members/:id"),
            ("/api/v10/webhooks/5/tok-en", "/webhooks/5/tok-en"),
            (
                "/api/v10/webhooks/5/tok/messages/8",
                "/webhooks/5/tok/messages/:id",
            ),
            ("/api/v10/users/@me", "/users/@me"),
            ("/channels/1/messages", "/channels/1/messages"),
            ("/api/other/1", "/other/:id"),
        ] {
            assert_eq!(route(path), want, "{path}");
        }
    }

    #[test]
    fn keys_separate_bots_methods_and_major_parameters_not_minor_ids() {
        let a = key(BOT, "POST", POST);
        assert_eq!(a, key(BOT, "POST", POST));
        assert_ne!(a, key(BOT, "POST", "/api/v10/channels/2/messages"));
        assert_ne!(a, key(BOT, "GET", POST));
        assert_ne!(a, key(Some("Bot other"), "POST", POST));
        assert_eq!(
            key(BOT, "GET", "/api/v10/channels/1/messages/10"),
            key(BOT, "GET", "/api/v10/channels/1/messages/11")
        );
        assert_eq!(key(None, "POST", POST).bot, 0);
        assert_ne!(a.bot, 0);
    }

    #[test]
    fn an_unknown_route_sends_one_request_then_the_bucket_paces_the_rest() {
        let mut s = State::default();
        let k = key(BOT, "POST", POST);
        let t0 = Instant::now();
        assert!(s.take(k, t0).is_ok());
        assert!(
            matches!(s.take(k, t0), Err(Hold::Answer)),
            "one probe at a time"
        );
        s.learn(k, StatusCode::OK, &limits(3, 2, "5"), t0);
        assert!(s.take(k, t0).is_ok());
        assert!(s.take(k, t0).is_ok());
        let reset = held_until(s.take(k, t0));
        assert_eq!(reset, t0 + Duration::from_secs(5));
        // Another channel has its own bucket.
        assert!(s
            .take(key(BOT, "POST", "/api/v10/channels/2/messages"), t0)
            .is_ok());
        // At the reset the bucket is full again.
        assert!(s.take(k, reset).is_ok());
    }

    #[test]
    fn requests_in_flight_are_counted_against_what_an_answer_reports() {
        let mut s = State::default();
        let k = key(BOT, "POST", POST);
        let t0 = Instant::now();
        s.take(k, t0).unwrap();
        s.learn(k, StatusCode::OK, &limits(5, 4, "5"), t0);
        for _ in 0..3 {
            s.take(k, t0).unwrap();
        }
        // The first of the three answers: Discord counted it, not the two still out.
        s.learn(k, StatusCode::OK, &limits(5, 3, "5"), t0);
        assert!(
            s.take(k, t0).is_ok(),
            "one left: 3 reported minus 2 in flight"
        );
        assert!(s.take(k, t0).is_err());
    }

    #[test]
    fn an_older_answer_arriving_late_does_not_raise_the_count() {
        let mut s = State::default();
        let k = key(BOT, "POST", POST);
        let t0 = Instant::now();
        s.take(k, t0).unwrap();
        s.learn(k, StatusCode::OK, &limits(3, 2, "1"), t0);
        s.take(k, t0).unwrap();
        s.take(k, t0).unwrap();
        // The second answer (0 left) overtakes the first (1 left).
        s.learn(k, StatusCode::OK, &limits(3, 0, "0.999"), t0);
        s.learn(k, StatusCode::OK, &limits(3, 1, "1"), t0);
        assert!(s.take(k, t0).is_err(), "the window is spent");
        // A later window's answer is taken as it is.
        let t1 = t0 + Duration::from_secs(1);
        s.take(k, t1).unwrap();
        s.learn(k, StatusCode::OK, &limits(3, 2, "1"), t1);
        assert!(s.take(k, t1).is_ok());
    }

    #[test]
    fn an_answer_that_overtakes_earlier_ones_leaves_the_slots_not_yet_used() {
        let mut s = State::default();
        let k = key(BOT, "POST", POST);
        let t0 = Instant::now();
        s.take(k, t0).unwrap();
        s.learn(k, StatusCode::OK, &limits(5, 4, "1"), t0);
        let t1 = t0 + Duration::from_secs(1);
        // A new window: four go out at once and the third's answer comes back first.
        for _ in 0..4 {
            s.take(k, t1).unwrap();
        }
        s.learn(k, StatusCode::OK, &limits(5, 2, "1"), t1);
        assert!(s.take(k, t1).is_ok(), "the fifth slot is still free");
        assert!(s.take(k, t1).is_err());
    }

    #[test]
    fn another_client_of_the_same_bot_lowers_the_count() {
        let mut s = State::default();
        let k = key(BOT, "POST", POST);
        let t0 = Instant::now();
        s.take(k, t0).unwrap();
        s.learn(k, StatusCode::OK, &limits(5, 4, "1"), t0);
        s.take(k, t0).unwrap();
        // Discord counted two more than we sent.
        s.learn(k, StatusCode::OK, &limits(5, 1, "1"), t0);
        assert!(s.take(k, t0).is_ok());
        assert!(s.take(k, t0).is_err());
    }

    #[test]
    fn a_spent_window_without_a_known_reset_waits_for_an_answer() {
        let mut s = State::default();
        let k = key(BOT, "POST", POST);
        let t0 = Instant::now();
        s.take(k, t0).unwrap();
        s.learn(k, StatusCode::OK, &limits(2, 1, "1"), t0);
        let t1 = t0 + Duration::from_secs(1);
        // The window ended: the full limit goes out, and then the next waits for an answer.
        s.take(k, t1).unwrap();
        s.take(k, t1).unwrap();
        assert!(matches!(s.take(k, t1), Err(Hold::Answer)));
        s.learn(k, StatusCode::OK, &limits(2, 0, "1"), t1);
        assert_eq!(held_until(s.take(k, t1)), t1 + Duration::from_secs(1));
    }

    #[test]
    fn answers_without_headers_leave_a_route_unpaced() {
        let mut s = State::default();
        let k = key(None, "GET", "/health");
        let t0 = Instant::now();
        s.take(k, t0).unwrap();
        s.learn(k, StatusCode::OK, &HeaderMap::new(), t0);
        for _ in 0..200 {
            s.take(k, t0)
                .expect("no limit known, no global limit without a bot");
        }
    }

    #[test]
    fn a_429_spends_its_bucket_until_retry_after() {
        let mut s = State::default();
        let k = key(BOT, "POST", POST);
        let t0 = Instant::now();
        s.take(k, t0).unwrap();
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2.5".parse().unwrap());
        s.learn(k, StatusCode::TOO_MANY_REQUESTS, &h, t0);
        assert_eq!(held_until(s.take(k, t0)), t0 + Duration::from_millis(2500));
        assert!(
            s.take(key(BOT, "GET", POST), t0).is_ok(),
            "other routes go on"
        );
    }

    #[test]
    fn a_global_429_pauses_every_route_of_that_bot_only() {
        let mut s = State::default();
        let k = key(BOT, "POST", POST);
        let t0 = Instant::now();
        s.take(k, t0).unwrap();
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        h.insert("x-ratelimit-global", "true".parse().unwrap());
        s.learn(k, StatusCode::TOO_MANY_REQUESTS, &h, t0);
        let other_route = key(BOT, "GET", "/api/v10/users/@me");
        assert_eq!(
            held_until(s.take(other_route, t0)),
            t0 + Duration::from_secs(3)
        );
        assert!(s.take(key(Some("Bot other"), "POST", POST), t0).is_ok());
        assert!(s.take(other_route, t0 + Duration::from_secs(3)).is_ok());
    }

    #[test]
    fn the_global_limit_is_paced_per_bot() {
        let mut s = State::default();
        let t0 = Instant::now();
        for i in 0..GLOBAL_LIMIT {
            s.take(
                key(BOT, "GET", &format!("/api/v10/channels/{i}/messages")),
                t0,
            )
            .unwrap();
        }
        let next = key(BOT, "GET", "/api/v10/channels/999/messages");
        assert_eq!(held_until(s.take(next, t0)), t0 + GLOBAL_WINDOW);
        assert!(s.take(key(Some("Bot other"), "GET", POST), t0).is_ok());
        assert!(s.take(next, t0 + GLOBAL_WINDOW).is_ok());
    }

    #[test]
    fn bogus_headers_never_park_requests_for_long() {
        let mut s = State::default();
        let k = key(BOT, "POST", POST);
        let t0 = Instant::now();
        for bad in ["-5", "NaN", "inf", "nope"] {
            s.take(k, t0).unwrap();
            s.learn(k, StatusCode::OK, &limits(1, 0, bad), t0);
        }
        // None of those set a reset; a huge one is cut to MAX_WAIT.
        s.take(k, t0).unwrap();
        s.learn(k, StatusCode::OK, &limits(1, 0, "1000000000"), t0);
        assert_eq!(held_until(s.take(k, t0)), t0 + MAX_WAIT);
    }

    #[tokio::test]
    async fn a_request_without_an_answer_gives_its_slot_back_and_wakes_the_next() {
        let pacer = Arc::new(Pacer::default());
        let k = key(BOT, "POST", POST);
        let probe = pacer.acquire(k).await;
        let p = pacer.clone();
        let next = tokio::spawn(async move { p.acquire(k).await });
        tokio::task::yield_now().await;
        assert!(
            !next.is_finished(),
            "the second waits for the probe's answer"
        );
        drop(probe);
        let second = tokio::time::timeout(Duration::from_secs(1), next)
            .await
            .expect("woken by the drop")
            .unwrap();
        // Answered: the bucket is spent for 0.3 s, and a waiter sleeps until then.
        second.answered(StatusCode::OK, &limits(1, 0, "0.3"));
        let t0 = Instant::now();
        let third = pacer.acquire(k).await;
        assert!(Instant::now() >= t0 + Duration::from_millis(300));
        drop(third);
    }

    #[test]
    fn a_waiting_request_keeps_its_turn_over_one_that_comes_later() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let pacer = Arc::new(Pacer::default());
            let k = key(BOT, "POST", POST);
            // One slot per 0.2 s window, spent.
            pacer
                .acquire(k)
                .await
                .answered(StatusCode::OK, &limits(1, 0, "0.2"));
            let first = tokio::spawn({
                let pacer = pacer.clone();
                async move { pacer.acquire(k).await }
            });
            tokio::task::yield_now().await;
            // Block this (only) thread past the reset, so the first waiter has not run yet
            // when a newcomer asks: without a line, the newcomer would take the slot.
            std::thread::sleep(Duration::from_millis(300));
            let late = tokio::time::timeout(Duration::from_millis(100), pacer.acquire(k)).await;
            assert!(late.is_err(), "a later request took the waiting one's slot");
            let ticket = first.await.unwrap();
            drop(ticket);
            // A waiter that gives up leaves the line: the next one is not stuck behind it.
            let next = tokio::time::timeout(Duration::from_secs(1), pacer.acquire(k)).await;
            assert!(next.is_ok(), "stuck behind a request that gave up");
        });
    }
}
