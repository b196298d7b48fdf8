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
//! - CPU: fuel. Every executed wasm instruction costs fuel; waiting in a host call (a sleep, an
//!   HTTP response) costs none. A call starts with [`Policy::cpu_budget`] and traps when it is
//!   spent; every second the guest waits in a host call (one of at least [`MIN_EARNING_WAIT`])
//!   earns back [`Policy::cpu_refill`], up to the budget. So a busy loop is stopped within the budget, while an `ask` that waits for days
//!   and computes a little after each wait never runs dry. Epoch interruption (a tick every
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

/// The shortest host call that counts as waiting and earns CPU time back.
pub const MIN_EARNING_WAIT: Duration = Duration::from_millis(1);

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

    /// The fuel earned by waiting `waited` in one host call (see [`Policy::cpu_refill`]).
    /// A call shorter than [`MIN_EARNING_WAIT`] earns nothing: it was work (reading the clock,
    /// a stream write), not a wait, and a loop of such calls must not pay for itself.
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

/// The `wasi:http` hook that enforces the egress policy for one store.
pub struct EgressHooks {
    /// The policy whose allow-list and timeout cap apply.
    pub policy: Arc<Policy>,
    /// Denied destinations, for the host's log and for tests.
    pub denied: Arc<Mutex<Vec<String>>>,
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
                d.push(format!("{method} {}", redact_uri(uri)));
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
mod tests {
    use super::*;

    #[test]
    fn webhook_tokens_are_found_and_hidden() {
        let url = "https://discord.com/api/webhooks/123456789012345678/abc-DEF_ghi?wait=true";
        assert_eq!(webhook_token(url), Some("abc-DEF_ghi"));
        assert_eq!(
            redact_webhook(url),
            "https://discord.com/api/webhooks/123456789012345678/***?wait=true"
        );
        assert_eq!(webhook_token("https://discord.com/api/v10/users/@me"), None);
        let uri: http::Uri = url.parse().unwrap();
        assert_eq!(
            redact_uri(&uri),
            "https://discord.com/api/webhooks/123456789012345678/***"
        );
    }

    #[test]
    fn allows_only_the_api_base_host_and_port() {
        let p = Policy::for_api_base("https://discord.com/api/v10").unwrap();
        assert!(p.allows(&"https://discord.com/api/v10/users/@me".parse().unwrap()));
        assert!(p.allows(&"https://DISCORD.com:443/x".parse().unwrap()));
        assert!(!p.allows(&"https://discord.com:8443/x".parse().unwrap()));
        assert!(!p.allows(&"http://discord.com/x".parse().unwrap()));
        assert!(
            !p.allows(&"http://discord.com:443/x".parse().unwrap()),
            "plain HTTP to the TLS port would send the token unencrypted"
        );
        assert!(!p.allows(&"https://evil.example/x".parse().unwrap()));
        assert!(!p.allows(&"https://discord.com.evil.example/x".parse().unwrap()));
        assert!(!p.allows(&"/relative".parse().unwrap()));
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback() {
        for ok in [
            "http://127.0.0.1:5000/api/v10",
            "http://127.8.9.10/",
            "http://localhost:8765/api/v10",
            "http://[::1]:8765/api/v10",
            "https://discord.com/api/v10",
        ] {
            assert!(Policy::for_api_base(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://discord.com/api/v10",
            "http://10.0.0.5:8080/",
            "HTTP://proxy.example/",
        ] {
            let e = Policy::for_api_base(bad).unwrap_err();
            assert!(
                e.contains("unencrypted") && e.contains("https://"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn urls_with_user_info_are_refused_without_echoing_it() {
        for bad in [
            "https://user:hunter2@discord.com/api/v10",
            "https://evil.example@discord.com/",
            "http://x@127.0.0.1:5000/",
        ] {
            let e = Policy::for_api_base(bad).unwrap_err();
            assert!(e.contains("user name or password"), "{bad}: {e}");
            assert!(!e.contains("hunter2") && !e.contains("evil.example"), "{e}");
        }
        let mut p = Policy::default();
        assert!(p.allow_url("https://a:b@hooks.example.com/").is_err());
        assert!(p.allowed_origins.is_empty());
    }

    #[test]
    fn denied_requests_are_logged_without_user_info_or_query() {
        let uri: http::Uri = "https://user:pw@evil.example:8443/x?token=abc"
            .parse()
            .unwrap();
        assert_eq!(redact_uri(&uri), "https://evil.example:8443/x");
    }

    #[test]
    fn loopback_base_allows_that_port_only() {
        let mut p = Policy::for_api_base("http://127.0.0.1:5000/api/v10").unwrap();
        assert!(p.allows(&"http://127.0.0.1:5000/api/v10/x".parse().unwrap()));
        assert!(!p.allows(&"http://127.0.0.1:5001/".parse().unwrap()));
        assert!(!p.allows(&"https://127.0.0.1:5000/".parse().unwrap()));
        p.allow_url("https://hooks.example.com").unwrap();
        assert!(p.allows(&"https://hooks.example.com/a".parse().unwrap()));
        assert!(p.allow_url("ftp://x").is_err());
    }

    #[test]
    fn waiting_earns_fuel_back_up_to_the_budget() {
        let p = Policy {
            cpu_budget: Duration::from_millis(50),
            cpu_refill: Duration::from_millis(100),
            ..Policy::default()
        };
        assert_eq!(p.fuel_earned(Duration::from_secs(1)), 100 * FUEL_PER_MS);
        assert_eq!(p.fuel_earned(Duration::from_millis(10)), FUEL_PER_MS);
        assert_eq!(p.fuel_earned(MIN_EARNING_WAIT), FUEL_PER_MS / 10);
        assert_eq!(
            p.fuel_earned(Duration::from_micros(999)),
            0,
            "a short host call is work, not a wait"
        );
        assert_eq!(p.refilled(10, 20), 30);
        assert_eq!(
            p.refilled(40 * FUEL_PER_MS, 20 * FUEL_PER_MS),
            50 * FUEL_PER_MS
        );
        let none = Policy {
            cpu_refill: Duration::ZERO,
            ..p
        };
        assert_eq!(none.fuel_earned(Duration::from_secs(3600)), 0);
    }

    #[test]
    fn call_bounds_add_a_delivery_per_step_and_the_slack() {
        let p = Policy {
            slack: Duration::from_secs(10),
            ..Policy::default()
        };
        let d = Duration::from_secs(30);
        assert_eq!(p.call_bound(Duration::ZERO, 1, d), Duration::from_secs(40));
        assert_eq!(
            p.call_bound(Duration::from_secs(600), 3, d),
            Duration::from_secs(700)
        );
        assert_eq!(p.call_bound(Duration::MAX, 3, d), Duration::MAX);
    }

    #[test]
    fn cpu_budget_as_fuel() {
        let p = Policy {
            cpu_budget: Duration::from_millis(250),
            ..Policy::default()
        };
        assert_eq!(p.cpu_fuel(), 250 * FUEL_PER_MS);
    }

    #[test]
    fn the_hook_denies_and_records_or_caps_the_timeouts() {
        let hooks = EgressHooks {
            policy: Arc::new(Policy {
                max_request_timeout: Duration::from_secs(30),
                ..Policy::for_api_base("https://discord.com/api/v10").unwrap()
            }),
            denied: Arc::default(),
            in_flight: Arc::default(),
            net: Arc::default(),
        };
        let get = http::Method::GET;
        let evil: http::Uri = "https://evil.example/x?token=abc".parse().unwrap();
        assert!(hooks.admit(&get, &evil, None).is_none());
        assert_eq!(
            *hooks.denied.lock().unwrap(),
            ["GET https://evil.example/x"],
            "recorded without the query"
        );
        let ok: http::Uri = "https://discord.com/api/v10/users/@me".parse().unwrap();
        let asked = RequestOptions {
            connect_timeout: Some(Duration::from_secs(5)),
            first_byte_timeout: Some(Duration::from_secs(600)),
            between_bytes_timeout: None,
        };
        let (origin, o) = hooks.admit(&get, &ok, Some(asked)).expect("allowed");
        assert_eq!(origin, "https://discord.com:443");
        assert_eq!(o.connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(o.first_byte_timeout, Some(Duration::from_secs(30)));
        assert_eq!(o.between_bytes_timeout, Some(Duration::from_secs(30)));
        let (_, o) = hooks.admit(&get, &ok, None).expect("allowed");
        assert_eq!(o.connect_timeout, Some(Duration::from_secs(30)));
        assert_eq!(
            hooks.denied.lock().unwrap().len(),
            1,
            "allowed requests are not recorded"
        );
    }

    #[test]
    fn requests_in_flight_are_capped_and_released_when_dropped() {
        let count = Arc::new(AtomicUsize::new(0));
        let a = InFlight::start(&count, 2).expect("first");
        let b = InFlight::start(&count, 2).expect("second");
        assert!(
            InFlight::start(&count, 2).is_none(),
            "a third waits for none"
        );
        drop(a);
        let c = InFlight::start(&count, 2).expect("a slot was freed");
        drop((b, c));
        assert_eq!(count.load(Ordering::Acquire), 0);
    }

    #[test]
    fn origins_fill_in_default_ports_and_reject_other_schemes() {
        assert_eq!(
            origin_of("https://Discord.com/api").as_deref(),
            Some("https://discord.com:443")
        );
        assert_eq!(origin_of("http://h/").as_deref(), Some("http://h:80"));
        assert_eq!(origin_of("http://h:8080").as_deref(), Some("http://h:8080"));
        assert_eq!(origin_of("ftp://h/"), None);
        assert_eq!(origin_of("not a url"), None);
        assert!(Policy::for_api_base("ftp://h/").is_err());
        let mut p = Policy::default();
        p.allow_url("https://a.example").unwrap();
        p.allow_url("https://a.example/other/path").unwrap();
        assert_eq!(
            p.allowed_origins,
            ["https://a.example:443"],
            "no duplicates"
        );
    }
}
