//! Rate-limit buckets and the `X-RateLimit-*` headers.
//!
//! Each route has a bucket keyed like Discord's: method + route template with the major
//! parameter (channel or guild id) kept, e.g. `POST /channels/123/messages`. A bucket allows
//! [`BUCKET_LIMIT`] requests per [`BUCKET_WINDOW_MS`]; all routes together allow
//! [`GLOBAL_LIMIT`] per [`GLOBAL_WINDOW_MS`]. Windows are fixed and start at a bucket's first
//! request.
//!
//! With the limiter off (the default) the same counting feeds the headers, but nothing is
//! refused and `X-RateLimit-Remaining` never drops below 1, so clients that honour the headers
//! never wait.

use std::collections::HashMap;

/// Requests per bucket window.
pub const BUCKET_LIMIT: u32 = 5;
/// Length of a bucket window.
pub const BUCKET_WINDOW_MS: u64 = 1000;
/// Requests per global window, over all routes.
pub const GLOBAL_LIMIT: u32 = 50;
/// Length of the global window.
pub const GLOBAL_WINDOW_MS: u64 = 1000;

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: u64,
    count: u32,
}

impl Window {
    /// The window as of `now`: a fresh one if the old one has ended.
    fn current(self, now_ms: u64, len_ms: u64) -> Window {
        if now_ms >= self.start_ms + len_ms {
            Window {
                start_ms: now_ms,
                count: 0,
            }
        } else {
            self
        }
    }
}

/// What the headers of a response say about its bucket.
#[derive(Debug, Clone)]
pub struct BucketInfo {
    /// `X-RateLimit-Limit`.
    pub limit: u32,
    /// `X-RateLimit-Remaining`.
    pub remaining: u32,
    /// When the window ends, unix ms (`X-RateLimit-Reset`).
    pub reset_ms: u64,
    /// Milliseconds until then (`X-RateLimit-Reset-After`).
    pub reset_after_ms: u64,
    /// `X-RateLimit-Bucket`: a hash of the route template, shared across channels.
    pub bucket: String,
}

/// A refused request.
#[derive(Debug, Clone)]
pub struct Limited {
    /// The bucket's state (remaining 0).
    pub info: BucketInfo,
    /// Seconds until a retry can succeed.
    pub retry_after: f64,
    /// Whether the global limit was hit.
    pub global: bool,
}

/// All buckets of one emulator.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: HashMap<String, Window>,
    global: Option<Window>,
    /// Requests per bucket per window.
    pub bucket_limit: u32,
    /// Length of a bucket window, ms ([`BUCKET_WINDOW_MS`] unless set: Discord's message
    /// creates are about 5 per 5 s per channel).
    pub bucket_window_ms: u64,
    /// Requests per [`GLOBAL_WINDOW_MS`] over all buckets.
    pub global_limit: u32,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(BUCKET_LIMIT, GLOBAL_LIMIT)
    }
}

/// FNV-1a of the route template, as a hex bucket id.
pub fn bucket_hash(template: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in template.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl RateLimiter {
    /// No buckets yet; limits below 1 count as 1.
    pub fn new(bucket_limit: u32, global_limit: u32) -> Self {
        RateLimiter {
            buckets: HashMap::new(),
            global: None,
            bucket_limit: bucket_limit.max(1),
            bucket_window_ms: BUCKET_WINDOW_MS,
            global_limit: global_limit.max(1),
        }
    }

    fn info(&self, w: Window, now_ms: u64, template: &str, enforce: bool) -> BucketInfo {
        let reset_ms = w.start_ms + self.bucket_window_ms;
        let mut remaining = self.bucket_limit.saturating_sub(w.count);
        if !enforce {
            remaining = remaining.max(1);
        }
        BucketInfo {
            limit: self.bucket_limit,
            remaining,
            reset_ms,
            reset_after_ms: reset_ms.saturating_sub(now_ms),
            bucket: bucket_hash(template),
        }
    }

    /// The bucket's state without counting a request (for answers that do not count, like 401).
    pub fn peek(&self, key: &str, template: &str, now_ms: u64, enforce: bool) -> BucketInfo {
        let w = self
            .buckets
            .get(key)
            .copied()
            .unwrap_or(Window {
                start_ms: now_ms,
                count: 0,
            })
            .current(now_ms, self.bucket_window_ms);
        self.info(w, now_ms, template, enforce)
    }

    /// Counts a request in bucket `key`. With `enforce`, a request over the bucket's or the
    /// global limit is refused (and not counted).
    pub fn take(
        &mut self,
        key: &str,
        template: &str,
        now_ms: u64,
        enforce: bool,
    ) -> Result<BucketInfo, Limited> {
        let fresh = Window {
            start_ms: now_ms,
            count: 0,
        };
        let w = self
            .buckets
            .get(key)
            .copied()
            .unwrap_or(fresh)
            .current(now_ms, self.bucket_window_ms);
        let g = self
            .global
            .unwrap_or(fresh)
            .current(now_ms, GLOBAL_WINDOW_MS);
        if enforce {
            if g.count >= self.global_limit {
                let reset = g.start_ms + GLOBAL_WINDOW_MS;
                return Err(Limited {
                    info: self.info(w, now_ms, template, enforce),
                    retry_after: reset.saturating_sub(now_ms) as f64 / 1000.0,
                    global: true,
                });
            }
            if w.count >= self.bucket_limit {
                let info = self.info(w, now_ms, template, enforce);
                return Err(Limited {
                    retry_after: info.reset_after_ms as f64 / 1000.0,
                    info,
                    global: false,
                });
            }
        }
        let w = Window {
            count: w.count + 1,
            ..w
        };
        self.buckets.insert(key.to_string(), w);
        self.global = Some(Window {
            count: g.count + 1,
            ..g
        });
        Ok(self.info(w, now_ms, template, enforce))
    }
}

/// Seconds with three decimals, as Discord writes `Reset` and `Reset-After`.
pub fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The five `X-RateLimit-*` headers of every API response.
pub fn headers(info: &BucketInfo) -> Vec<(String, String)> {
    vec![
        ("X-RateLimit-Limit".into(), info.limit.to_string()),
        ("X-RateLimit-Remaining".into(), info.remaining.to_string()),
        ("X-RateLimit-Reset".into(), secs(info.reset_ms)),
        ("X-RateLimit-Reset-After".into(), secs(info.reset_after_ms)),
        ("X-RateLimit-Bucket".into(), info.bucket.clone()),
    ]
}

/// The extra headers of a 429: `Retry-After` (whole seconds, rounded up), scope, global flag.
pub fn limited_headers(retry_after: f64, global: bool) -> Vec<(String, String)> {
    let mut h = vec![
        (
            "Retry-After".into(),
            (retry_after.max(0.0).ceil() as u64).to_string(),
        ),
        (
            "X-RateLimit-Scope".into(),
            if global { "global" } else { "user" }.into(),
        ),
    ];
    if global {
        h.push(("X-RateLimit-Global".into(), "true".into()));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refuses_sixth_request_in_window() {
        let mut rl = RateLimiter::default();
        for i in 0..BUCKET_LIMIT {
            let info = rl.take("k", "t", 1000, true).expect("allowed");
            assert_eq!(info.remaining, BUCKET_LIMIT - i - 1);
        }
        let err = rl.take("k", "t", 1400, true).expect_err("limited");
        assert!(!err.global);
        assert!((err.retry_after - 0.6).abs() < 1e-9);
        // Another bucket is independent; the window ends and the bucket refills.
        assert!(rl.take("other", "t", 1400, true).is_ok());
        assert_eq!(
            rl.take("k", "t", 2000, true).expect("new window").remaining,
            4
        );
    }

    #[test]
    fn unenforced_never_reports_zero() {
        let mut rl = RateLimiter::default();
        for _ in 0..20 {
            let info = rl.take("k", "t", 0, false).expect("never refused");
            assert!(info.remaining >= 1);
        }
    }

    #[test]
    fn global_limit() {
        let mut rl = RateLimiter::default();
        for i in 0..GLOBAL_LIMIT {
            rl.take(&format!("k{i}"), "t", 0, true).expect("allowed");
        }
        let err = rl.take("fresh", "t", 10, true).expect_err("global");
        assert!(err.global);
    }

    #[test]
    fn header_values() {
        assert_eq!(secs(1_700_000_000_123), "1700000000.123");
        assert_eq!(secs(5), "0.005");
        let h = limited_headers(0.2, true);
        assert!(h.contains(&("Retry-After".into(), "1".into())));
        assert!(h.contains(&("X-RateLimit-Global".into(), "true".into())));
    }
}
