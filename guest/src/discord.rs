//! Discord's REST API v10 over a [`Transport`]: every request goes through [`Client::call`],
//! which adds auth and User-Agent, honours rate limits, retries what is safe to retry within a
//! delivery deadline, and maps failures onto the WIT `alert-error`.
//!
//! Retry rules (see `shared/notes/discord-rest.md`): 429 waits the body's `retry_after` (the
//! `Retry-After` header as fallback) and retries; a 429 without Discord's JSON is a Cloudflare ban
//! and is never retried; 500/502/503/504/524, code 130000 and connection failures back off
//! exponentially with jitter; 400/401/403/404 are never retried. A bucket whose
//! `X-RateLimit-Remaining` hit 0 is waited out before the next request to it. Creating a message
//! is safe to retry because every create carries a nonce with `enforce_nonce`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::wit::{AlertError, ApiError, RateLimit};

/// HTTP methods the flavor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
        }
    }
}

/// One HTTP request, fully formed.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Bound for connecting and for each wait on the response, in nanoseconds.
    pub timeout_ns: u64,
}

/// One HTTP response.
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request produced no response.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportError {
    /// The host's policy refused the request: never retried.
    Denied(String),
    /// The URL or request could not be formed: never retried.
    Invalid(String),
    /// Connection refused or reset, DNS, timeout, a response cut short: retried.
    Failed(String),
}

/// What the Discord logic needs from its environment: HTTP, a monotonic clock, sleeping, the
/// wall clock and randomness. `platform.rs` implements it over WASI; tests use fakes.
pub trait Transport {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
    /// Monotonic time in nanoseconds from an arbitrary origin.
    fn now_ns(&self) -> u64;
    /// Block for `ns` nanoseconds without burning CPU.
    fn sleep_ns(&mut self, ns: u64);
    /// Wall-clock time, Unix milliseconds.
    fn unix_ms(&self) -> u64;
    fn random_u64(&mut self) -> u64;
    /// Tell the operator something once (e.g. a missing intent); never contains secrets.
    fn notice(&mut self, text: &str);
}

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
/// First backoff after a transient failure; doubles each attempt up to [`MAX_BACKOFF_NS`].
const BASE_BACKOFF_NS: u64 = 250 * MS;
const MAX_BACKOFF_NS: u64 = 8 * SEC;
/// Upper bound for a single request's connect / first byte / between bytes waits.
const REQUEST_TIMEOUT_NS: u64 = 15 * SEC;

/// `User-Agent` Discord requires of bots.
pub const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/alerter-dev/alerter, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

/// Rate-limit state of one bucket, learned from response headers.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    remaining: u64,
    reset_at_ns: u64,
}

/// A Discord REST client bound to one token and one API base.
pub struct Client<T: Transport> {
    transport: T,
    api_base: String,
    authorization: String,
    deadline_ns: u64,
    /// Keyed by our route key until Discord names the bucket, then also by its bucket id.
    buckets: HashMap<String, Bucket>,
    route_bucket: HashMap<String, String>,
    global_until_ns: u64,
    /// While set, every request shares this absolute deadline (one delivery of several parts).
    delivery_until_ns: Option<u64>,
}

/// Discord's error body: `{"code": 50035, "message": "...", "errors": {...}}`.
#[derive(Deserialize)]
struct ErrorBody {
    code: Option<u64>,
    message: Option<String>,
    errors: Option<Value>,
    retry_after: Option<f64>,
    global: Option<bool>,
}

impl<T: Transport> Client<T> {
    /// `token` must already be validated (see `config::validate_token`).
    pub fn new(transport: T, api_base: &str, token: &str, deadline_ms: u64) -> Self {
        Client {
            transport,
            api_base: api_base.trim_end_matches('/').to_string(),
            authorization: format!("Bot {token}"),
            deadline_ns: deadline_ms.saturating_mul(MS),
            buckets: HashMap::new(),
            route_bucket: HashMap::new(),
            global_until_ns: 0,
            delivery_until_ns: None,
        }
    }

    /// Start one delivery: until [`Client::end_delivery`], all requests together must finish
    /// within the delivery deadline (instead of each request getting its own).
    pub fn begin_delivery(&mut self) {
        let now = self.transport.now_ns();
        self.delivery_until_ns = Some(now.saturating_add(self.deadline_ns));
    }

    pub fn end_delivery(&mut self) {
        self.delivery_until_ns = None;
    }

    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    pub fn transport_ref(&self) -> &T {
        &self.transport
    }

    /// Send one logical request and return its successful response. `path` starts with `/`;
    /// `route` is the rate-limit key (method + path with ids other than the channel replaced).
    pub fn call(
        &mut self,
        method: Method,
        path: &str,
        route: &str,
        body: Option<&Value>,
    ) -> Result<HttpResponse, AlertError> {
        let start = self.transport.now_ns();
        let deadline = self
            .delivery_until_ns
            .unwrap_or_else(|| start.saturating_add(self.deadline_ns));
        let body = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let mut headers = vec![
            ("authorization".to_string(), self.authorization.clone()),
            ("user-agent".to_string(), USER_AGENT.to_string()),
        ];
        if let Some(b) = &body {
            headers.push(("content-type".into(), "application/json".into()));
            headers.push(("content-length".into(), b.len().to_string()));
        }
        let mut attempt: u32 = 0;
        loop {
            self.wait_for_bucket(route, deadline)?;
            let now = self.transport.now_ns();
            let request = HttpRequest {
                method,
                url: format!("{}{}", self.api_base, path),
                headers: headers.clone(),
                body: body.clone(),
                timeout_ns: REQUEST_TIMEOUT_NS.min(deadline.saturating_sub(now)).max(MS),
            };
            let outcome = self.transport.send(&request);
            attempt += 1;
            let response = match outcome {
                Ok(r) => r,
                Err(TransportError::Failed(why)) => {
                    let what = format!("{} {}: {why}", method.as_str(), path);
                    self.backoff(attempt, deadline, || AlertError::Transport(what.clone()))?;
                    continue;
                }
                Err(TransportError::Denied(why)) => {
                    return Err(AlertError::Transport(format!(
                        "request denied by the host: {why}"
                    )))
                }
                Err(TransportError::Invalid(why)) => return Err(AlertError::InvalidConfig(why)),
            };
            self.learn_bucket(route, &response);
            match response.status {
                200..=299 => return Ok(response),
                429 => {
                    let wait_ns = self.rate_limited(&response)?;
                    let now = self.transport.now_ns();
                    if now.saturating_add(wait_ns) > deadline {
                        return Err(rate_limit_error(&response, wait_ns));
                    }
                    self.transport.sleep_ns(wait_ns);
                }
                status if is_transient(status, &response) => {
                    self.backoff(attempt, deadline, || api_error(&response))?;
                }
                _ => return Err(api_error(&response)),
            }
        }
    }

    /// Sleep before retry `attempt`, or return `give_up()` if the deadline would pass first.
    fn backoff(
        &mut self,
        attempt: u32,
        deadline: u64,
        give_up: impl FnOnce() -> AlertError,
    ) -> Result<(), AlertError> {
        let full = BASE_BACKOFF_NS
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(16))
            .min(MAX_BACKOFF_NS);
        // "Equal jitter": half fixed, half random, so retries from many callers spread out.
        let jitter = self.transport.random_u64() % (full / 2 + 1);
        let wait = full / 2 + jitter;
        let now = self.transport.now_ns();
        if now.saturating_add(wait) >= deadline {
            return Err(give_up());
        }
        self.transport.sleep_ns(wait);
        Ok(())
    }

    /// How long a 429 asks us to wait; a ban page (not Discord's JSON) is an error at once.
    fn rate_limited(&mut self, response: &HttpResponse) -> Result<u64, AlertError> {
        let body: Option<ErrorBody> = serde_json::from_slice(&response.body).ok();
        let Some(body) = body else {
            return Err(AlertError::RateLimited(RateLimit {
                retry_after_ms: retry_after_header_ms(response).unwrap_or(0),
                global: true,
                message: "HTTP 429 without Discord's JSON body: Cloudflare is blocking this IP \
                          (too many invalid requests); not retrying"
                    .into(),
            }));
        };
        let secs = body
            .retry_after
            .or_else(|| retry_after_header_ms(response).map(|ms| ms as f64 / 1000.0))
            .unwrap_or(1.0)
            .max(0.0);
        let wait = (secs * SEC as f64) as u64;
        let global = body.global.unwrap_or(false)
            || response
                .header("x-ratelimit-global")
                .is_some_and(|v| v == "true");
        if global {
            self.global_until_ns = self.transport.now_ns().saturating_add(wait);
        }
        Ok(wait)
    }

    fn learn_bucket(&mut self, route: &str, response: &HttpResponse) {
        let remaining = response
            .header("x-ratelimit-remaining")
            .and_then(|v| v.parse::<u64>().ok());
        let reset_after = response
            .header("x-ratelimit-reset-after")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0);
        let (Some(remaining), Some(reset_after)) = (remaining, reset_after) else {
            return;
        };
        let key = match response.header("x-ratelimit-bucket") {
            Some(id) => {
                self.route_bucket.insert(route.to_string(), id.to_string());
                id.to_string()
            }
            None => route.to_string(),
        };
        let reset_at_ns = self
            .transport
            .now_ns()
            .saturating_add((reset_after * SEC as f64) as u64);
        self.buckets.insert(
            key,
            Bucket {
                remaining,
                reset_at_ns,
            },
        );
    }

    /// Wait while the global limit or this route's bucket is exhausted.
    fn wait_for_bucket(&mut self, route: &str, deadline: u64) -> Result<(), AlertError> {
        let key = self
            .route_bucket
            .get(route)
            .cloned()
            .unwrap_or_else(|| route.to_string());
        let now = self.transport.now_ns();
        let mut until = self.global_until_ns;
        if let Some(b) = self.buckets.get(&key) {
            if b.remaining == 0 && b.reset_at_ns > until {
                until = b.reset_at_ns;
            }
        }
        if until <= now {
            return Ok(());
        }
        if until > deadline {
            return Err(AlertError::RateLimited(RateLimit {
                retry_after_ms: (until - now) / MS,
                global: until == self.global_until_ns,
                message: format!("rate limit on {route} resets after the delivery deadline"),
            }));
        }
        self.transport.sleep_ns(until - now);
        if let Some(b) = self.buckets.get_mut(&key) {
            b.remaining = b.remaining.max(1);
        }
        Ok(())
    }
}

fn is_transient(status: u16, response: &HttpResponse) -> bool {
    matches!(status, 500 | 502 | 503 | 504 | 524)
        || serde_json::from_slice::<ErrorBody>(&response.body)
            .ok()
            .and_then(|b| b.code)
            == Some(130_000)
}

fn retry_after_header_ms(response: &HttpResponse) -> Option<u64> {
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|s| (s * 1000.0) as u64)
}

fn rate_limit_error(response: &HttpResponse, wait_ns: u64) -> AlertError {
    let body: Option<ErrorBody> = serde_json::from_slice(&response.body).ok();
    AlertError::RateLimited(RateLimit {
        retry_after_ms: wait_ns / MS,
        global: body.as_ref().and_then(|b| b.global).unwrap_or(false),
        message: format!(
            "rate limited for {:.2} s, longer than the delivery deadline allows",
            wait_ns as f64 / SEC as f64
        ),
    })
}

/// Map a non-success response onto the WIT error, keeping Discord's code and message.
pub fn api_error(response: &HttpResponse) -> AlertError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(&response.body).ok();
    let (code, mut message) = match parsed {
        Some(b) => (
            b.code.and_then(|c| u32::try_from(c).ok()),
            match (b.message, b.errors) {
                (Some(m), Some(errors)) => format!("{m} ({})", field_errors(&errors).join("; ")),
                (Some(m), None) => m,
                (None, _) => String::new(),
            },
        ),
        None => (None, String::new()),
    };
    if message.is_empty() {
        let text = String::from_utf8_lossy(&response.body);
        message = text.chars().take(200).collect();
    }
    let err = ApiError {
        status: response.status,
        code,
        message,
    };
    match response.status {
        401 => AlertError::Unauthorized(err),
        403 => AlertError::Forbidden(err),
        404 => AlertError::NotFound(err),
        _ => AlertError::Api(err),
    }
}

/// A short description of an error for notices.
pub fn short(e: &AlertError) -> String {
    match e {
        AlertError::InvalidConfig(m) | AlertError::InvalidInput(m) | AlertError::Transport(m) => {
            m.clone()
        }
        AlertError::Unauthorized(a)
        | AlertError::Forbidden(a)
        | AlertError::NotFound(a)
        | AlertError::Api(a) => {
            format!("HTTP {}: {}", a.status, a.message)
        }
        AlertError::RateLimited(r) => r.message.clone(),
    }
}

/// Flatten Discord's nested `errors` object into `path: message` lines.
fn field_errors(errors: &Value) -> Vec<String> {
    fn walk(value: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
        let Value::Object(map) = value else { return };
        for (key, child) in map {
            if key == "_errors" {
                for e in child.as_array().into_iter().flatten() {
                    let msg = e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("invalid");
                    out.push(format!("{}: {msg}", path.join(".")));
                }
            } else {
                path.push(key.clone());
                walk(child, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    walk(errors, &mut Vec::new(), &mut out);
    out
}

/// Percent-encode a reaction emoji for a URL path (`✅` -> `%E2%9C%85`; `name:id` kept).
pub fn encode_emoji(emoji: &str) -> String {
    let mut out = String::new();
    for b in emoji.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
pub mod fake {
    //! A scripted [`Transport`] with a virtual clock, for tests of everything above it.
    use super::*;
    use std::collections::VecDeque;

    #[derive(Clone)]
    pub struct FakeTransport {
        pub now: u64,
        pub sent: Vec<(HttpRequest, u64)>,
        pub replies: VecDeque<Result<HttpResponse, TransportError>>,
        pub sleeps: Vec<u64>,
        /// When the script runs out, answer with this (e.g. an empty message list).
        pub fallback: Option<HttpResponse>,
        pub notices: Vec<String>,
        seed: u64,
    }

    impl Default for FakeTransport {
        fn default() -> Self {
            Self::new()
        }
    }

    impl FakeTransport {
        pub fn new() -> Self {
            FakeTransport {
                now: 1_000 * SEC,
                sent: Vec::new(),
                replies: VecDeque::new(),
                sleeps: Vec::new(),
                fallback: None,
                notices: Vec::new(),
                seed: 42,
            }
        }
        pub fn reply(&mut self, status: u16, body: &str) -> &mut Self {
            self.replies.push_back(Ok(response(status, body, &[])));
            self
        }
        pub fn reply_with(&mut self, r: Result<HttpResponse, TransportError>) -> &mut Self {
            self.replies.push_back(r);
            self
        }
    }

    pub fn response(status: u16, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    impl Transport for FakeTransport {
        fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
            self.sent.push((request.clone(), self.now));
            self.now += MS; // every request takes a millisecond
            match self.replies.pop_front() {
                Some(r) => r,
                None => self
                    .fallback
                    .clone()
                    .ok_or_else(|| TransportError::Failed("script exhausted".into())),
            }
        }
        fn now_ns(&self) -> u64 {
            self.now
        }
        fn sleep_ns(&mut self, ns: u64) {
            self.sleeps.push(ns);
            self.now += ns;
        }
        fn unix_ms(&self) -> u64 {
            1_790_000_000_000 + self.now / MS
        }
        fn random_u64(&mut self) -> u64 {
            self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            self.seed >> 11
        }
        fn notice(&mut self, text: &str) {
            self.notices.push(text.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::*;
    use super::*;

    fn client(t: FakeTransport, deadline_ms: u64) -> Client<FakeTransport> {
        Client::new(t, "http://127.0.0.1:9/api/v10/", "tok.en", deadline_ms)
    }

    fn post(c: &mut Client<FakeTransport>) -> Result<HttpResponse, AlertError> {
        let body = serde_json::json!({"content": "hi"});
        c.call(
            Method::Post,
            "/channels/1/messages",
            "POST /channels/1/messages",
            Some(&body),
        )
    }

    #[test]
    fn sends_auth_user_agent_and_length() {
        let mut t = FakeTransport::new();
        t.reply(200, "{}");
        let mut c = client(t, 30_000);
        post(&mut c).unwrap();
        let (req, _) = &c.transport_ref().sent[0];
        assert_eq!(req.url, "http://127.0.0.1:9/api/v10/channels/1/messages");
        let h = |n: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(h("authorization").as_deref(), Some("Bot tok.en"));
        assert!(h("user-agent").unwrap().starts_with("DiscordBot (https://"));
        assert_eq!(h("content-length").as_deref(), Some("16"));
        assert_eq!(h("content-type").as_deref(), Some("application/json"));
    }

    #[test]
    fn waits_retry_after_on_429_then_succeeds() {
        let mut t = FakeTransport::new();
        t.reply(429, r#"{"message":"You are being rate limited.","retry_after":0.8,"global":false,"code":0}"#)
            .reply(200, "{}");
        let mut c = client(t, 30_000);
        post(&mut c).unwrap();
        let t = c.transport_ref();
        assert_eq!(t.sent.len(), 2);
        assert!(t.sent[1].1 - t.sent[0].1 >= 800 * MS, "retried too early");
    }

    #[test]
    fn retry_after_longer_than_deadline_fails_at_once_as_rate_limited() {
        let mut t = FakeTransport::new();
        t.reply(
            429,
            r#"{"message":"slow down","retry_after":60,"global":true,"code":0}"#,
        );
        let mut c = client(t, 5_000);
        match post(&mut c) {
            Err(AlertError::RateLimited(r)) => {
                assert_eq!(r.retry_after_ms, 60_000);
                assert!(r.global);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.transport_ref().sleeps.len(), 0, "must not sleep in vain");
    }

    #[test]
    fn json_429_without_retry_after_uses_the_header() {
        let mut t = FakeTransport::new();
        t.reply_with(Ok(response(
            429,
            r#"{"message":"slow","code":0}"#,
            &[("retry-after", "2")],
        )))
        .reply(200, "{}");
        let mut c = client(t, 30_000);
        post(&mut c).unwrap();
        let t = c.transport_ref();
        assert_eq!(t.sent.len(), 2);
        assert!(t.sent[1].1 - t.sent[0].1 >= 2 * SEC);
    }

    #[test]
    fn cloudflare_ban_is_not_retried() {
        let mut t = FakeTransport::new();
        t.reply(429, "<html>error 1015</html>");
        let mut c = client(t, 30_000);
        assert!(
            matches!(post(&mut c), Err(AlertError::RateLimited(r)) if r.message.contains("Cloudflare"))
        );
        assert_eq!(c.transport_ref().sent.len(), 1);
    }

    #[test]
    fn transient_errors_back_off_and_retry() {
        let mut t = FakeTransport::new();
        t.reply(500, r#"{"message":"boom","code":0}"#)
            .reply(502, "bad gateway")
            .reply_with(Err(TransportError::Failed("connection reset".into())))
            .reply(
                503,
                r#"{"message":"API resource is currently overloaded.","code":130000}"#,
            )
            .reply(200, "{}");
        let mut c = client(t, 30_000);
        post(&mut c).unwrap();
        let t = c.transport_ref();
        assert_eq!(t.sent.len(), 5);
        // Backoff grows: each sleep is at least half of 250 ms * 2^(n-1).
        for (n, s) in t.sleeps.iter().enumerate() {
            assert!(*s >= (BASE_BACKOFF_NS << n) / 2, "sleep {n} = {s}");
        }
    }

    #[test]
    fn transient_errors_stop_at_the_deadline() {
        let mut t = FakeTransport::new();
        t.fallback = Some(response(502, "bad gateway", &[]));
        let mut c = client(t, 3_000);
        let start = c.transport_ref().now;
        assert!(matches!(post(&mut c), Err(AlertError::Api(e)) if e.status == 502));
        let t = c.transport_ref();
        assert!(t.now - start <= 3 * SEC, "overran the deadline");
        assert!(t.sent.len() >= 3, "gave up too early: {}", t.sent.len());
    }

    #[test]
    fn client_errors_are_never_retried_and_keep_discords_code() {
        for (status, body) in [
            (401, r#"{"message":"401: Unauthorized","code":0}"#),
            (403, r#"{"message":"Missing Access","code":50001}"#),
            (404, r#"{"message":"Unknown Channel","code":10003}"#),
            (
                400,
                r#"{"message":"Invalid Form Body","code":50035,"errors":{"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 2000 or fewer in length."}]}}}"#,
            ),
        ] {
            let mut t = FakeTransport::new();
            t.reply(status, body);
            let mut c = client(t, 30_000);
            let err = post(&mut c).unwrap_err();
            assert_eq!(c.transport_ref().sent.len(), 1, "{status} retried");
            let e = match (&err, status) {
                (AlertError::Unauthorized(e), 401)
                | (AlertError::Forbidden(e), 403)
                | (AlertError::NotFound(e), 404)
                | (AlertError::Api(e), 400) => e,
                _ => panic!("{status}: {err:?}"),
            };
            assert_eq!(e.status, status);
            if status == 400 {
                assert_eq!(e.code, Some(50035));
                assert!(e.message.contains("content: Must be 2000"), "{}", e.message);
            }
        }
    }

    #[test]
    fn exhausted_bucket_is_waited_out_before_the_next_request() {
        let mut t = FakeTransport::new();
        t.replies.push_back(Ok(response(
            200,
            "{}",
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset-after", "1.5"),
                ("x-ratelimit-bucket", "abc"),
            ],
        )));
        t.reply(200, "{}");
        let mut c = client(t, 30_000);
        post(&mut c).unwrap();
        post(&mut c).unwrap();
        let t = c.transport_ref();
        assert!(t.sent[1].1 - t.sent[0].1 >= 1_500 * MS);
    }

    #[test]
    fn global_429_pauses_other_routes() {
        let mut t = FakeTransport::new();
        t.reply(
            429,
            r#"{"message":"global","retry_after":2.0,"global":true,"code":0}"#,
        )
        .reply(200, "{}");
        let mut c = client(t, 1_000);
        // The first call gives up (2 s > 1 s deadline) but remembers the global pause.
        assert!(post(&mut c).is_err());
        let mut c2 = c;
        c2.transport().reply(200, "[]");
        let res = c2.call(Method::Get, "/users/@me", "GET /users/@me", None);
        assert!(matches!(res, Err(AlertError::RateLimited(r)) if r.global));
    }

    #[test]
    fn denied_requests_are_transport_errors_without_retry() {
        let mut t = FakeTransport::new();
        t.reply_with(Err(TransportError::Denied(
            "evil.example is not allowed".into(),
        )));
        let mut c = client(t, 30_000);
        assert!(matches!(post(&mut c), Err(AlertError::Transport(m)) if m.contains("denied")));
        assert_eq!(c.transport_ref().sent.len(), 1);
    }

    #[test]
    fn emoji_are_percent_encoded() {
        assert_eq!(encode_emoji("✅"), "%E2%9C%85");
        assert_eq!(encode_emoji("👎"), "%F0%9F%91%8E");
        assert_eq!(encode_emoji("party:123"), "party:123");
    }
}
