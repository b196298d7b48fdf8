//! Discord's rate limits as state, with no HTTP in sight: the client asks [`RateLimiter::acquire`]
//! before each request, reports what the response's headers said with
//! [`RateLimiter::complete`], and a global 429 pauses every route with [`RateLimiter::global`].
//! Time is whatever monotonic nanoseconds the caller passes in, so tests run on a virtual clock.
//!
//! Discord names buckets in the `X-RateLimit-Bucket` header; several routes can share one. Until
//! a route's bucket is known, the route key itself names its bucket. A bucket whose
//! `X-RateLimit-Remaining` reached 0 is waited out until its reset. See
//! <https://discord.com/developers/docs/topics/rate-limits>.

use std::collections::HashMap;

/// What one response's rate-limit headers said about its bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketInfo {
    /// `X-RateLimit-Bucket`: the bucket's id, shared by all routes in it.
    pub bucket: Option<String>,
    /// `X-RateLimit-Remaining`: requests left before the reset.
    pub remaining: u64,
    /// `X-RateLimit-Reset-After`, in nanoseconds from the response.
    pub reset_after_ns: u64,
}

/// When a request may go: now, or after waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Nothing is exhausted: send now.
    Now,
    /// Wait this many nanoseconds, then send (and call [`RateLimiter::waited`]).
    After(u64),
}

/// The wait would end after the caller's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLate {
    /// How long the wait would be, in nanoseconds.
    pub wait_ns: u64,
    /// Whether the global limit (not the route's bucket) is what blocks.
    pub global: bool,
}

/// Rate-limit state of one bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    remaining: u64,
    reset_at_ns: u64,
}

/// Every bucket seen so far and the global pause, for one client.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Keyed by route until Discord names the bucket, then also by its bucket id.
    buckets: HashMap<String, Bucket>,
    route_bucket: HashMap<String, String>,
    global_until_ns: u64,
}

impl RateLimiter {
    /// A limiter that knows nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// May a request on `route` go at `now_ns`? Waits for the global pause and for the route's
    /// exhausted bucket; a reset already in the past does not wait. A wait that would end after
    /// `deadline_ns` is [`TooLate`].
    pub fn acquire(&self, route: &str, now_ns: u64, deadline_ns: u64) -> Result<Permit, TooLate> {
        let mut until = self.global_until_ns;
        if let Some(b) = self.buckets.get(self.key(route)) {
            if b.remaining == 0 && b.reset_at_ns > until {
                until = b.reset_at_ns;
            }
        }
        if until <= now_ns {
            return Ok(Permit::Now);
        }
        if until > deadline_ns {
            return Err(TooLate {
                wait_ns: until - now_ns,
                global: until == self.global_until_ns,
            });
        }
        Ok(Permit::After(until - now_ns))
    }

    /// The caller waited out a [`Permit::After`] for `route`: its bucket has room again.
    pub fn waited(&mut self, route: &str) {
        let key = self.key(route).to_string();
        if let Some(b) = self.buckets.get_mut(&key) {
            b.remaining = b.remaining.max(1);
        }
    }

    /// A response on `route` arrived at `now_ns` carrying `info`. A named bucket is remembered
    /// for the route, so routes that share it share its state.
    pub fn complete(&mut self, route: &str, info: BucketInfo, now_ns: u64) {
        let key = match info.bucket {
            Some(id) => {
                self.route_bucket.insert(route.to_string(), id.clone());
                id
            }
            None => route.to_string(),
        };
        self.buckets.insert(
            key,
            Bucket {
                remaining: info.remaining,
                reset_at_ns: now_ns.saturating_add(info.reset_after_ns),
            },
        );
    }

    /// A global 429: no route may send before `until_ns`.
    pub fn global(&mut self, until_ns: u64) {
        self.global_until_ns = until_ns;
    }

    /// The bucket key of a route: its bucket id once known, else the route itself.
    fn key<'a>(&'a self, route: &'a str) -> &'a str {
        self.route_bucket.get(route).map_or(route, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;
    const FAR: u64 = u64::MAX;
    const CREATE: &str = "POST /channels/1/messages";
    const READ: &str = "GET /channels/1/messages";

    fn info(bucket: Option<&str>, remaining: u64, reset_after_ns: u64) -> BucketInfo {
        BucketInfo {
            bucket: bucket.map(String::from),
            remaining,
            reset_after_ns,
        }
    }

    #[test]
    fn an_unknown_route_goes_at_once() {
        assert_eq!(
            RateLimiter::new().acquire(CREATE, 5 * SEC, FAR),
            Ok(Permit::Now)
        );
    }

    #[test]
    fn an_exhausted_bucket_is_waited_out_then_has_room() {
        let mut l = RateLimiter::new();
        l.complete(CREATE, info(Some("abc"), 0, 3 * SEC / 2), 10 * SEC);
        assert_eq!(
            l.acquire(CREATE, 10 * SEC, FAR),
            Ok(Permit::After(3 * SEC / 2))
        );
        assert_eq!(l.acquire(CREATE, 11 * SEC, FAR), Ok(Permit::After(SEC / 2)));
        l.waited(CREATE);
        assert_eq!(l.acquire(CREATE, 11 * SEC, FAR), Ok(Permit::Now));
    }

    #[test]
    fn a_bucket_with_room_does_not_wait() {
        let mut l = RateLimiter::new();
        l.complete(CREATE, info(Some("abc"), 4, 5 * SEC), 10 * SEC);
        assert_eq!(l.acquire(CREATE, 10 * SEC, FAR), Ok(Permit::Now));
    }

    #[test]
    fn a_bucket_id_learned_on_one_route_is_shared_with_another() {
        let mut l = RateLimiter::new();
        // Both routes turn out to be in bucket "chan"; the second exhausts it.
        l.complete(READ, info(Some("chan"), 3, SEC), 10 * SEC);
        l.complete(CREATE, info(Some("chan"), 0, 2 * SEC), 10 * SEC);
        assert_eq!(l.acquire(READ, 10 * SEC, FAR), Ok(Permit::After(2 * SEC)));
        // A route that never named a bucket is not affected.
        assert_eq!(l.acquire("GET /users/@me", 10 * SEC, FAR), Ok(Permit::Now));
    }

    #[test]
    fn without_a_bucket_id_the_route_is_its_own_bucket() {
        let mut l = RateLimiter::new();
        l.complete(CREATE, info(None, 0, SEC), 10 * SEC);
        assert_eq!(l.acquire(CREATE, 10 * SEC, FAR), Ok(Permit::After(SEC)));
        assert_eq!(l.acquire(READ, 10 * SEC, FAR), Ok(Permit::Now));
    }

    #[test]
    fn a_global_limit_pauses_every_route() {
        let mut l = RateLimiter::new();
        l.global(12 * SEC);
        for route in [CREATE, READ, "GET /users/@me"] {
            assert_eq!(l.acquire(route, 10 * SEC, FAR), Ok(Permit::After(2 * SEC)));
        }
        assert_eq!(l.acquire(CREATE, 12 * SEC, FAR), Ok(Permit::Now));
    }

    #[test]
    fn the_later_of_the_global_pause_and_the_bucket_reset_wins() {
        let mut l = RateLimiter::new();
        l.complete(CREATE, info(Some("abc"), 0, 5 * SEC), 10 * SEC);
        l.global(12 * SEC);
        assert_eq!(l.acquire(CREATE, 10 * SEC, FAR), Ok(Permit::After(5 * SEC)));
        l.global(20 * SEC);
        assert_eq!(
            l.acquire(CREATE, 10 * SEC, FAR),
            Ok(Permit::After(10 * SEC))
        );
    }

    #[test]
    fn a_reset_in_the_past_is_ignored() {
        let mut l = RateLimiter::new();
        l.complete(CREATE, info(Some("abc"), 0, SEC), 10 * SEC);
        assert_eq!(l.acquire(CREATE, 11 * SEC, FAR), Ok(Permit::Now));
        assert_eq!(l.acquire(CREATE, 60 * SEC, FAR), Ok(Permit::Now));
    }

    #[test]
    fn a_wait_past_the_deadline_is_reported_and_says_which_limit() {
        let mut l = RateLimiter::new();
        l.complete(CREATE, info(Some("abc"), 0, 5 * SEC), 10 * SEC);
        assert_eq!(
            l.acquire(CREATE, 10 * SEC, 14 * SEC),
            Err(TooLate {
                wait_ns: 5 * SEC,
                global: false
            })
        );
        // Ending exactly at the deadline is still in time.
        assert_eq!(
            l.acquire(CREATE, 10 * SEC, 15 * SEC),
            Ok(Permit::After(5 * SEC))
        );
        l.global(30 * SEC);
        assert_eq!(
            l.acquire(READ, 10 * SEC, 14 * SEC),
            Err(TooLate {
                wait_ns: 20 * SEC,
                global: true
            })
        );
    }
}
