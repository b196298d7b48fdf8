//! The sandbox, in one place: which hosts the guest may reach, how much memory it may use, how
//! much CPU it may burn, and how long a call may take.
//!
//! - Egress: `wasi:http` requests go through [`EgressHooks::send_request`]; only the API base's
//!   host (plus hosts added explicitly) is allowed, every other request is denied and logged.
//!   `wasi:http` does not pass through `wasi:sockets`, so this hook is the only gate.
//! - Sockets, filesystem, environment, stdin: the guest's `WasiCtx` grants none of them.
//! - Memory: a `StoreLimits` cap on linear memory; and for what the host holds on the guest's
//!   behalf, caps on the resource table ([`Policy::max_resources`]), on each header set
//!   ([`Policy::max_header_bytes`]), on requests open at once
//!   ([`Policy::max_concurrent_requests`], each holding its slot until its body is read or
//!   dropped) and on the bytes of each response ([`Policy::max_response_bytes`]).
//! - CPU: fuel. Every executed wasm instruction costs fuel, and so does the host's own work in
//!   a host call ([`FUEL_PER_MS`] per millisecond); waiting in one (a sleep, an HTTP
//!   response) costs none. A call starts with [`Policy::cpu_budget`] and traps when it is
//!   spent; every second the call is blocked in a host call (at least [`MIN_EARNING_WAIT`] of
//!   it) earns back [`Policy::cpu_refill`], up to the budget. So a busy loop, in wasm or in
//!   host calls that compute, is stopped within the budget, while an `ask` that waits for
//!   days and computes a little after each wait never runs dry. What one host call may ask
//!   for is bounded too ([`MAX_RANDOM_BYTES`]). The host's work on its own tasks for a
//!   request (its connection's I/O) is not metered; the cap on requests open at once bounds
//!   it. Epoch interruption (a tick every
//!   [`EPOCH_TICK`]) makes a running guest yield to the executor, so the wall-clock deadline
//!   fires even in a loop.
//! - Wall clock: every call runs under a deadline (`tokio::time::timeout`), because epochs do
//!   not fire while the guest waits in host I/O. The deadline is derived from the guest's own
//!   bounds ([`Policy::call_bound`]): the time the call may wait plus one delivery deadline per
//!   step, plus [`Policy::slack`], so the guest always gets to report its own outcome first.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// Fuel per millisecond of CPU budget: roughly the wasm instructions a core runs in a
/// millisecond (Cranelift code runs near one simple instruction per nanosecond).
pub const FUEL_PER_MS: u64 = 1_000_000;

/// The shortest time blocked in one host call that earns CPU time back.
pub const MIN_EARNING_WAIT: Duration = Duration::from_millis(1);

/// Bytes one `wasi:random` call may ask for (wasmtime's default is 64 MiB, which the host
/// allocates and fills before the guest's memory cap sees it). A guest needs a few dozen.
pub const MAX_RANDOM_BYTES: u64 = 64 << 10;

/// How often the engine's epoch advances.
pub const EPOCH_TICK: Duration = Duration::from_millis(50);

/// What a guest may do. Build one with [`Policy::for_api_base`].
#[derive(Debug, Clone)]
pub struct Policy {
    /// Allowed origins as `scheme://host:port` (lower case): the scheme matters, so a request
    /// to an allowed host cannot downgrade to plain HTTP on the same port.
    pub allowed_origins: Vec<String>,
    /// Cap on the guest's linear memory, in bytes.
    pub memory_limit: usize,
    /// Wasm execution time a call may use without waiting, metered as fuel (see
    /// [`FUEL_PER_MS`]); also the most that waiting can earn back.
    pub cpu_budget: Duration,
    /// Execution time earned back per second spent waiting in a host call (sleeping, on the
    /// network), up to [`Policy::cpu_budget`]. Zero: one budget for the whole call.
    pub cpu_refill: Duration,
    /// Added to every call's wall-clock bound, on top of the guest's own (see
    /// [`Policy::call_bound`]).
    pub slack: Duration,
    /// Upper bound on any connect / first-byte / between-bytes timeout the guest asks for.
    pub max_request_timeout: Duration,
    /// Host resources (header sets, requests, bodies, streams, pollables) a guest may hold at
    /// once. Each lives in host memory, which the memory cap does not count.
    pub max_resources: usize,
    /// Bytes of one header set the guest creates or receives (in-memory size).
    pub max_header_bytes: usize,
    /// HTTP requests open at once: from the request until its response body has been read to
    /// the end or dropped. With the host's per-connection buffer this bounds the response bytes
    /// the host holds for the guest.
    pub max_concurrent_requests: usize,
    /// Bytes of one response body the guest may read; past them the stream fails with
    /// `HTTP-response-body-size`. Discord's largest answers are a few MB.
    pub max_response_bytes: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allowed_origins: Vec::new(),
            memory_limit: 64 << 20,
            cpu_budget: Duration::from_secs(10),
            cpu_refill: Duration::from_millis(100),
            slack: Duration::from_secs(10),
            max_request_timeout: Duration::from_secs(30),
            max_resources: 1024,
            max_header_bytes: 64 << 10,
            max_concurrent_requests: 8,
            max_response_bytes: 16 << 20,
        }
    }
}

impl Policy {
    /// A policy that allows exactly the host of `api_base` (e.g. `https://discord.com/api/v10`).
    /// The token travels to it, so plain `http://` is refused unless the host is loopback (the
    /// emulator, a local proxy).
    pub fn for_api_base(api_base: &str) -> Result<Policy, String> {
        let mut p = Policy::default();
        p.allow_secret_url(api_base)?;
        Ok(p)
    }

    /// Also allow the host of `url`, which secrets travel to (the API base, a webhook URL):
    /// plain `http://` is refused unless the host is loopback.
    pub fn allow_secret_url(&mut self, url: &str) -> Result<(), String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| format!("not an http(s) URL: {url}"))?;
        if uri
            .scheme_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("http"))
            && !uri.host().is_some_and(is_loopback)
        {
            return Err(format!(
                "{url} would send the bot token unencrypted: use https://, or http:// \
                 only to a loopback host (127.0.0.1, [::1], localhost)"
            ));
        }
        self.allow_url(url)
    }

    /// Also allow the host of `url`. A URL with a user name or password is refused: parsers
    /// disagree on where such an authority's host is, so the allow-list could check one host
    /// while the request goes to another.
    pub fn allow_url(&mut self, url: &str) -> Result<(), String> {
        if url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.authority().cloned())
            .is_some_and(|a| a.as_str().contains('@'))
        {
            return Err(format!(
                "{} holds a user name or password (`...@`): give the host alone",
                redact_userinfo(url)
            ));
        }
        let origin = origin_of(url)
            .ok_or_else(|| format!("not an http(s) URL: {}", redact_userinfo(url)))?;
        if !self.allowed_origins.contains(&origin) {
            self.allowed_origins.push(origin);
        }
        Ok(())
    }

    /// Whether a request to this URI (scheme, host and port) may leave the sandbox.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        self.allowed_origin(uri).is_some()
    }

    /// The URI's origin (`scheme://host:port`, lower case) if it is on the allow-list.
    fn allowed_origin(&self, uri: &http::Uri) -> Option<String> {
        origin_of_uri(uri).filter(|o| self.allowed_origins.contains(o))
    }

    /// The CPU budget as fuel.
    pub fn cpu_fuel(&self) -> u64 {
        (self.cpu_budget.as_millis() as u64)
            .saturating_mul(FUEL_PER_MS)
            .max(FUEL_PER_MS)
    }

    /// The fuel earned by being blocked for `waited` in one host call (see
    /// [`Policy::cpu_refill`]). Less than [`MIN_EARNING_WAIT`] earns nothing.
    pub fn fuel_earned(&self, waited: Duration) -> u64 {
        if waited < MIN_EARNING_WAIT {
            return 0;
        }
        let per_sec = self
            .cpu_refill
            .as_nanos()
            .saturating_mul(u128::from(FUEL_PER_MS))
            / 1_000_000;
        u64::try_from(waited.as_nanos().saturating_mul(per_sec) / 1_000_000_000).unwrap_or(u64::MAX)
    }

    /// The fuel left after earning `earned` with `left` unspent: never above the budget.
    pub fn refilled(&self, left: u64, earned: u64) -> u64 {
        left.saturating_add(earned).min(self.cpu_fuel().max(left))
    }

    /// The fuel left after a host call that found `left`, did `worked` of the host's own work
    /// for the guest and was blocked for `blocked`: the work is charged like wasm, the wait
    /// earns ([`Policy::fuel_earned`]), and the result is never above the budget.
    pub fn fuel_after_host_call(&self, left: u64, worked: Duration, blocked: Duration) -> u64 {
        let charged = u64::try_from(worked.as_nanos() * u128::from(FUEL_PER_MS) / 1_000_000)
            .unwrap_or(u64::MAX);
        let left = left.saturating_sub(charged);
        if self.cpu_refill.is_zero() {
            return left;
        }
        self.refilled(left, self.fuel_earned(blocked))
    }

    /// The wall-clock bound of a call that may wait `waiting` (an ask's timeout, a wait's
    /// slice; zero for a post) and runs `steps` deliveries of at most `delivery` each (the
    /// guest bounds every step by its delivery deadline), plus [`Policy::slack`].
    pub fn call_bound(&self, waiting: Duration, steps: u32, delivery: Duration) -> Duration {
        waiting
            .saturating_add(delivery.saturating_mul(steps))
            .saturating_add(self.slack)
    }
}

/// `scheme://host:port` of an http(s) URL, lower case, with the scheme's default port filled in.
pub fn origin_of(url: &str) -> Option<String> {
    origin_of_uri(&url.parse().ok()?)
}

fn origin_of_uri(uri: &http::Uri) -> Option<String> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let a = uri.authority()?;
    if a.host().is_empty() {
        return None;
    }
    Some(format!(
        "{scheme}://{}:{}",
        a.host().to_ascii_lowercase(),
        a.port_u16().unwrap_or(default)
    ))
}

/// Denied destinations kept per call: the first few are worth reading, the rest are counted.
pub const DENIALS_KEPT: usize = 32;
/// Characters of one denied destination kept (a guest picks the path's length).
pub const DENIAL_CHARS: usize = 200;

/// The requests a call's egress hook denied, for the host's log: the first [`DENIALS_KEPT`]
/// (each cut to [`DENIAL_CHARS`]) and how many more. A guest that loops on denied requests
/// grows a counter, not the host's memory.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Denials {
    /// `METHOD scheme://host:port/path` of the first denials, redacted and cut.
    pub first: Vec<String>,
    /// Denials past the first [`DENIALS_KEPT`].
    pub more: u64,
}

impl Denials {
    /// Record one denial; `line` is only called for the first [`DENIALS_KEPT`].
    fn record(&mut self, line: impl FnOnce() -> String) {
        if self.first.len() < DENIALS_KEPT {
            let mut l = line();
            if let Some((cut, _)) = l.char_indices().nth(DENIAL_CHARS) {
                l.truncate(cut);
                l.push('…');
            }
            self.first.push(l);
        } else {
            self.more = self.more.saturating_add(1);
        }
    }

    /// The log lines: one per kept denial, then "and N more" if any were only counted.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .first
            .iter()
            .map(|d| format!("egress denied: {d}"))
            .collect();
        if self.more > 0 {
            lines.push(format!("egress denied: and {} more", self.more));
        }
        lines
    }
}

/// The `wasi:http` hook that enforces the egress policy for one store.
pub struct EgressHooks {
    /// The policy whose allow-list and timeout cap apply.
    pub policy: Arc<Policy>,
    /// Denied destinations, for the host's log and for tests.
    pub denied: Arc<Mutex<Denials>>,
    /// Requests sent whose response has not arrived yet.
    pub in_flight: Arc<AtomicUsize>,
    /// Where admitted requests go: the runtime's connection pool and rate-limit pacing.
    pub net: Arc<crate::net::Net>,
}

/// One request counted in [`EgressHooks::in_flight`] until it is dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Count one more request, unless `max` are already waiting.
    fn start(count: &Arc<AtomicUsize>, max: usize) -> Option<InFlight> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| InFlight(count.clone()))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that holds its request's in-flight slot until it ends or is dropped, and
/// fails once more than `max` bytes have passed through it.
struct CappedBody {
    body: WasiBody,
    slot: Option<InFlight>,
    left: u64,
    max: u64,
}

impl http_body::Body for CappedBody {
    type Data = bytes::Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        use std::task::Poll;
        let this = &mut *self;
        let frame = std::task::ready!(std::pin::Pin::new(&mut this.body).poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                let len = f.data_ref().map_or(0, |d| d.len() as u64);
                if len > this.left {
                    this.slot = None;
                    this.left = 0;
                    return Poll::Ready(Some(Err(
                        wasmtime_wasi_http::Error::HttpResponseBodySize(Some(this.max)),
                    )));
                }
                this.left -= len;
            }
            Some(Err(_)) | None => this.slot = None,
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl EgressHooks {
    /// The decision for one request: `None` (recorded as denied) unless the policy allows its
    /// origin; else that origin and the guest's timeouts, each capped at the policy's maximum
    /// (and the maximum where the guest asked for none).
    fn admit(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        asked: Option<RequestOptions>,
    ) -> Option<(String, RequestOptions)> {
        let Some(origin) = self.policy.allowed_origin(uri) else {
            if let Ok(mut d) = self.denied.lock() {
                d.record(|| format!("{method} {}", redact_uri(uri)));
            }
            return None;
        };
        let max = self.policy.max_request_timeout;
        let clamp = |t: Option<Duration>| Some(t.unwrap_or(max).min(max));
        Some((
            origin,
            RequestOptions {
                connect_timeout: clamp(asked.and_then(|o| o.connect_timeout)),
                first_byte_timeout: clamp(asked.and_then(|o| o.first_byte_timeout)),
                between_bytes_timeout: clamp(asked.and_then(|o| o.between_bytes_timeout)),
            },
        ))
    }
}

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                )>,
            > + Send,
    > {
        drop(fut);
        let Some((origin, options)) = self.admit(request.method(), request.uri(), options) else {
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        };
        let Some(counted) = InFlight::start(&self.in_flight, self.policy.max_concurrent_requests)
        else {
            return Box::new(async { Err(wasmtime_wasi_http::Error::ConnectionLimitReached) });
        };
        let max_bytes = self.policy.max_response_bytes;
        let net = self.net.clone();
        Box::new(async move {
            use http_body_util::BodyExt;
            // `counted` is dropped with the request if it fails or is dropped; else it moves
            // into the response body and is released when that is read or dropped.
            let res = net.send(&origin, request, options).await?;
            // The connection's I/O runs on its own task (it outlives this request).
            let io = async { Ok(()) };
            Ok((
                res.map(|body| {
                    CappedBody {
                        body: body.boxed_unsync(),
                        slot: Some(counted),
                        left: max_bytes,
                        max: max_bytes,
                    }
                    .boxed_unsync()
                }),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// Scheme, host, port and path of a URI: no user info, no query and no webhook token (each
/// could carry a secret).
fn redact_uri(uri: &http::Uri) -> String {
    let host = uri.host().unwrap_or("");
    let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
    redact_webhook(&format!(
        "{}://{host}{port}{}",
        uri.scheme_str().unwrap_or("?"),
        uri.path()
    ))
}

/// The token of a webhook URL (`.../webhooks/{id}/{token}`), if it is one.
pub fn webhook_token(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("/webhooks/")?;
    let (_, token) = rest.split_once('/')?;
    let token = token.split(['/', '?', '#']).next()?;
    (!token.is_empty()).then_some(token)
}

/// `url` with a webhook token (and user info) replaced by `***`.
pub fn redact_webhook(url: &str) -> String {
    let url = redact_userinfo(url);
    match webhook_token(&url) {
        Some(t) => url.replacen(t, "***", 1),
        None => url,
    }
}

/// `url` with anything between `://` and an `@` in its authority replaced by `***`.
fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Whether `host` (as `http::Uri` gives it, IPv6 in brackets) is this machine.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
