//! Discord's REST API v10 over a [`Transport`]: every request goes through [`Client::call`],
//! which adds auth and User-Agent, honours rate limits (state kept in [`crate::ratelimit`]),
//! retries what is safe to retry within a delivery deadline, and maps failures onto the WIT
//! `alert-error`.
//!
//! Retry rules (Discord: <https://discord.com/developers/docs/topics/rate-limits>): a 429 waits
//! the body's `retry_after` (float seconds; the `Retry-After` header as fallback) and retries;
//! a 429 without Discord's JSON body comes from Cloudflare blocking the IP after too many
//! invalid requests and is never retried; 500/502/503/504/524, code 130000 (API overloaded)
//! and connection failures back off exponentially with jitter; 400/401/403/404 are never
//! retried (401/403/429 responses count towards that Cloudflare ban). A bucket whose
//! `X-RateLimit-Remaining` hit 0 is waited out before the next request to it. Creating a
//! message is safe to retry because every create carries a `nonce` with `enforce_nonce`, so
//! Discord returns the first message instead of creating a second.
//!
//! A delivery ([`Client::begin_delivery`]) gives several requests one shared deadline; notices
//! to the operator are bounded per call ([`notices`]).

mod errors;
#[cfg(test)]
pub mod fake;
mod json;
pub mod multipart;
pub mod notices;
#[cfg(test)]
mod tests;
mod transport;

use serde::Serialize;

use crate::bindings::{AlertError, RateLimit};
use crate::ratelimit::{BucketInfo, Permit, RateLimiter, TooLate};
use errors::{is_transient, rate_limit_error, retry_after_header_ms, ErrorBody};
use notices::{Line, Notices, SUPPRESSED};

pub use errors::{api_error, short};
pub use json::Json;
pub use transport::{redact_url, HttpRequest, HttpResponse, Method, Transport, TransportError};

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
/// First backoff after a transient failure; doubles each attempt up to [`MAX_BACKOFF_NS`].
const BASE_BACKOFF_NS: u64 = 250 * MS;
const MAX_BACKOFF_NS: u64 = 8 * SEC;
/// The shortest wait after a 429, whatever its `retry_after` says.
const MIN_RETRY_AFTER_S: f64 = 0.05;
/// Upper bound for a single request's connect / first byte / between bytes waits.
pub(crate) const REQUEST_TIMEOUT_NS: u64 = 15 * SEC;

/// How long one attempt may take: [`REQUEST_TIMEOUT_NS`], plus a second per MiB of body (a
/// 25 MiB upload at 1 MiB/s still fits). The delivery deadline bounds it in any case.
fn request_timeout(body_bytes: usize) -> u64 {
    REQUEST_TIMEOUT_NS.saturating_add((body_bytes as u64 >> 20).saturating_mul(SEC))
}

/// Why a webhook post is not sent again after an ambiguous failure.
const NOT_REPEATED: &str =
    "not retried: it may have been posted, and a webhook post cannot be deduplicated";

/// How the error for a request the host's policy denied starts (see [`is_denied`]).
pub const DENIED: &str = "request denied by the host: ";

/// Whether `e` says the host denied a request ([`TransportError::Denied`]): its policy will not
/// change by retrying, unlike a connection that failed.
pub fn is_denied(e: &AlertError) -> bool {
    matches!(e, AlertError::Transport(m) if m.starts_with(DENIED))
}

/// A 2xx's body as JSON, for [`Client::read`].
fn json_body<R: serde::de::DeserializeOwned>(r: &HttpResponse) -> Result<R, String> {
    serde_json::from_slice(&r.body).map_err(|e| e.to_string())
}

/// A JSON request body: anything `Serialize`, written straight to bytes (no `serde_json::Value`
/// in between). Taken as `&dyn JsonBody` so the request paths stay one copy each.
pub trait JsonBody {
    /// The body as JSON text.
    fn to_json(&self) -> Result<Vec<u8>, serde_json::Error>;
}

impl<B: Serialize + ?Sized> JsonBody for B {
    fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// `json` as bytes; a body that cannot be encoded is the caller's error.
fn encode(json: &dyn JsonBody) -> Result<Vec<u8>, AlertError> {
    json.to_json()
        .map_err(|e| AlertError::InvalidInput(format!("cannot encode message: {e}")))
}

/// A request body, encoded once and sent as it is on every attempt.
struct Payload {
    bytes: std::rc::Rc<Vec<u8>>,
    content_type: String,
}

impl Payload {
    fn json(v: &dyn JsonBody) -> Result<Payload, AlertError> {
        Ok(Payload {
            bytes: std::rc::Rc::new(encode(v)?),
            content_type: "application/json".into(),
        })
    }
}

/// A request body before it is encoded.
#[derive(Clone, Copy)]
enum Body<'a> {
    None,
    Json(&'a dyn JsonBody),
    /// Multipart: the JSON as `payload_json`, then the files.
    Form(&'a dyn JsonBody, &'a [crate::render::FilePart]),
}

/// The error for a 2xx taken without its answer read (cannot happen: `accept` reads it).
fn not_read(route: &str) -> AlertError {
    AlertError::Transport(format!("{route}: no answer was read"))
}

/// `User-Agent` Discord requires of bots: `DiscordBot ($url, $version)`.
pub const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/alerter-dev/alerter, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

/// A Discord REST client bound to one token and one API base.
pub struct Client<T: Transport> {
    transport: T,
    api_base: String,
    /// `Bot <token>`; `None` for a client that only posts through a webhook.
    authorization: Option<String>,
    /// Where `/webhooks/...` paths go (the webhook URL's origin and API prefix).
    webhook_base: Option<String>,
    deadline_ns: u64,
    limits: RateLimiter,
    /// While set, every request shares this absolute deadline (one delivery of several parts).
    delivery_until_ns: Option<u64>,
    /// Deliveries begun and not yet ended: only the outermost sets and clears the deadline.
    delivery_depth: u32,
    /// What was told to the operator in this call.
    notices: Notices,
}

impl<T: Transport> Client<T> {
    /// `token` must already be validated (see `config::validate_token`); an empty one makes a
    /// client without a bot, for webhook posts only.
    pub fn new(transport: T, api_base: &str, token: &str, deadline_ms: u64) -> Self {
        Client {
            transport,
            api_base: api_base.trim_end_matches('/').to_string(),
            authorization: (!token.is_empty()).then(|| format!("Bot {token}")),
            webhook_base: None,
            deadline_ns: deadline_ms.saturating_mul(MS),
            limits: RateLimiter::new(),
            delivery_until_ns: None,
            delivery_depth: 0,
            notices: Notices::new(),
        }
    }

    /// Start one delivery: until [`Client::end_delivery`], all requests together must finish
    /// within the delivery deadline (instead of each request getting its own). Deliveries
    /// nest: inside one, beginning another keeps the outer deadline, so a step made of several
    /// deliveries (the question's parts, then its reactions) is still bounded by one.
    pub fn begin_delivery(&mut self) {
        if self.delivery_depth == 0 {
            let now = self.transport.now_ns();
            self.delivery_until_ns = Some(now.saturating_add(self.deadline_ns));
        }
        self.delivery_depth += 1;
    }

    /// End the delivery begun by the matching [`Client::begin_delivery`].
    pub fn end_delivery(&mut self) {
        self.delivery_depth = self.delivery_depth.saturating_sub(1);
        if self.delivery_depth == 0 {
            self.delivery_until_ns = None;
        }
    }

    /// Monotonic time in nanoseconds.
    pub fn now_ns(&self) -> u64 {
        self.transport.now_ns()
    }

    /// Wall-clock time, Unix milliseconds.
    pub fn unix_ms(&self) -> u64 {
        self.transport.unix_ms()
    }

    /// Wait `ns` nanoseconds.
    pub fn sleep_ns(&mut self, ns: u64) {
        self.transport.sleep_ns(ns);
    }

    /// 64 random bits.
    pub fn random_u64(&mut self) -> u64 {
        self.transport.random_u64()
    }

    /// Tell the operator something (never a secret), bounded per call: a text already told is
    /// only counted, and past [`notices::MAX_DISTINCT`] texts the rest is suppressed.
    pub fn notice(&mut self, text: &str) {
        match self.notices.admit(text) {
            Some(Line::Text) => self.transport.notice(text),
            Some(Line::Suppressed) => self.transport.notice(SUPPRESSED),
            None => {}
        }
    }

    /// At the end of a call: one line about the notices held back, if any were.
    pub fn finish_notices(&mut self) {
        if let Some(line) = self.notices.summary() {
            self.transport.notice(&line);
        }
    }

    /// Send `/webhooks/...` paths to `base` (e.g. `https://discord.com/api/v10`).
    pub fn set_webhook_base(&mut self, base: &str) {
        self.webhook_base = Some(base.trim_end_matches('/').to_string());
    }

    /// Whether this client has a bot token.
    pub fn has_bot(&self) -> bool {
        self.authorization.is_some()
    }

    /// [`Client::send_json`] (or [`Client::send_form`] with files) for a request that must not
    /// be repeated once it may have been processed: a webhook post, which has no nonce. Only a
    /// request that surely never arrived (a refused connection, a 429) is retried; anything
    /// else, even a 5xx or an unreadable 2xx, is an error at once.
    pub fn post_once<R: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        route: &str,
        json: &dyn JsonBody,
        files: &[crate::render::FilePart],
    ) -> Result<R, AlertError> {
        let body = if files.is_empty() {
            Body::Json(json)
        } else {
            Body::Form(json, files)
        };
        self.read(Method::Post, path, route, body, true)
    }

    /// A multipart body: `json` as `payload_json`, then `files`.
    fn form(
        &mut self,
        json: &dyn JsonBody,
        files: &[crate::render::FilePart],
    ) -> Result<Payload, AlertError> {
        let bytes = encode(json)?;
        let boundary =
            multipart::boundary(self.transport.random_u64(), self.transport.random_u64());
        Ok(Payload {
            bytes: std::rc::Rc::new(multipart::encode(&bytes, files, &boundary)),
            content_type: multipart::content_type(&boundary),
        })
    }

    /// The transport, to script it.
    #[cfg(test)]
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// The transport, to see what happened.
    #[cfg(test)]
    pub fn transport_ref(&self) -> &T {
        &self.transport
    }

    /// The transport back, to hand it to another client (another process, in a test).
    #[cfg(test)]
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// `GET path` and decode the JSON answer.
    pub fn get_json<R: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        route: &str,
    ) -> Result<R, AlertError> {
        self.read(Method::Get, path, route, Body::None, false)
    }

    /// Send one logical request and decode its JSON answer. A 2xx whose body does not decode
    /// (cut short, wrong types, a proxy's HTML page) is retried like a lost response: every
    /// request the flavor sends is safe to repeat (reads, edits, reactions, and creates carrying
    /// an enforced nonce).
    pub fn send_json<R: serde::de::DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        route: &str,
        body: Option<&dyn JsonBody>,
    ) -> Result<R, AlertError> {
        let body = body.map_or(Body::None, Body::Json);
        self.read(method, path, route, body, false)
    }

    /// [`Client::send_json`] as a multipart form: `json` as `payload_json`, then `files`.
    pub fn send_form<R: serde::de::DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        route: &str,
        json: &dyn JsonBody,
        files: &[crate::render::FilePart],
    ) -> Result<R, AlertError> {
        self.read(method, path, route, Body::Form(json, files), false)
    }

    /// Send one logical request and return its successful response. `path` starts with `/`;
    /// `route` is the rate-limit key (method + path with ids other than the channel replaced).
    pub fn call(
        &mut self,
        method: Method,
        path: &str,
        route: &str,
        body: Option<&dyn JsonBody>,
    ) -> Result<HttpResponse, AlertError> {
        let body = body.map_or(Body::None, Body::Json);
        self.exchange(method, path, route, body, false, &mut |_| Ok(()))
    }

    /// [`Client::exchange`], a 2xx accepted only once its body decodes as JSON into `R`. The
    /// only code repeated for each answer type: the rest is reached through `dyn`.
    fn read<R: serde::de::DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        route: &str,
        body: Body<'_>,
        once: bool,
    ) -> Result<R, AlertError> {
        let mut read = None;
        self.exchange(method, path, route, body, once, &mut |r| {
            read = Some(json_body(r)?);
            Ok(())
        })?;
        read.ok_or_else(|| not_read(route))
    }

    /// Encode `body`, then [`Client::call_once_or_retry`]; with `once`, nothing that may have
    /// been processed is repeated.
    fn exchange(
        &mut self,
        method: Method,
        path: &str,
        route: &str,
        body: Body<'_>,
        once: bool,
        accept: &mut dyn FnMut(&HttpResponse) -> Result<(), String>,
    ) -> Result<HttpResponse, AlertError> {
        let body = match body {
            Body::None => None,
            Body::Json(json) => Some(Payload::json(json)?),
            Body::Form(json, files) => Some(self.form(json, files)?),
        };
        self.call_once_or_retry(method, path, route, body, once, accept)
    }

    /// The request loop of [`Client::exchange`]: returns the 2xx that `accept` took.
    fn call_once_or_retry(
        &mut self,
        method: Method,
        path: &str,
        route: &str,
        body: Option<Payload>,
        once: bool,
        accept: &mut dyn FnMut(&HttpResponse) -> Result<(), String>,
    ) -> Result<HttpResponse, AlertError> {
        let webhook = path.starts_with("/webhooks/");
        let base = match (&self.webhook_base, webhook) {
            (Some(b), true) => b.clone(),
            _ => self.api_base.clone(),
        };
        // Never the webhook's token in an error: the path is shown without it.
        let shown = if webhook {
            route.to_string()
        } else {
            format!("{} {path}", method.as_str())
        };
        let start = self.transport.now_ns();
        let deadline = self
            .delivery_until_ns
            .unwrap_or_else(|| start.saturating_add(self.deadline_ns));
        let mut headers = vec![("user-agent".to_string(), USER_AGENT.to_string())];
        // A webhook needs no token, and the bot's must not travel to a webhook URL.
        if let (Some(a), false) = (&self.authorization, webhook) {
            headers.insert(0, ("authorization".to_string(), a.clone()));
        }
        if let Some(b) = &body {
            headers.push(("content-type".into(), b.content_type.clone()));
            headers.push(("content-length".into(), b.bytes.len().to_string()));
        }
        let body = body.map(|b| b.bytes);
        let mut attempt: u32 = 0;
        loop {
            self.wait_for_limits(route, deadline)?;
            let now = self.transport.now_ns();
            let request = HttpRequest {
                method,
                url: format!("{base}{path}"),
                headers: headers.clone(),
                body: body.clone(),
                timeout_ns: request_timeout(body.as_ref().map_or(0, |b| b.len()))
                    .min(deadline.saturating_sub(now))
                    .max(MS),
            };
            let outcome = self.transport.send(&request);
            attempt += 1;
            let response = match outcome {
                Ok(r) => r,
                Err(TransportError::Failed(why)) if once => {
                    return Err(AlertError::Transport(format!(
                        "{shown}: {why}; {NOT_REPEATED}"
                    )))
                }
                Err(TransportError::Failed(why) | TransportError::NotSent(why)) => {
                    let what = format!("{shown}: {why}");
                    self.backoff(attempt, deadline, || AlertError::Transport(what.clone()))?;
                    continue;
                }
                Err(TransportError::Denied(why)) => {
                    return Err(AlertError::Transport(format!("{DENIED}{why}")))
                }
                Err(TransportError::Invalid(why)) => return Err(AlertError::InvalidConfig(why)),
            };
            if let Some(info) = bucket_info(&response) {
                let now = self.transport.now_ns();
                self.limits.complete(route, info, now);
            }
            match response.status {
                200..=299 => match accept(&response) {
                    Ok(()) => return Ok(response),
                    Err(e) if once => {
                        return Err(AlertError::Transport(format!(
                            "{route} answered {} but its answer was unreadable ({e}); the message \
                             was probably posted; {NOT_REPEATED}",
                            response.status
                        )))
                    }
                    Err(e) => {
                        let what =
                            format!("unreadable {} answer from {route}: {e}", response.status);
                        self.backoff(attempt, deadline, || AlertError::Transport(what.clone()))?;
                    }
                },
                429 => match self.rate_limited(&response)? {
                    Some(wait_ns) => {
                        let now = self.transport.now_ns();
                        if now.saturating_add(wait_ns) > deadline {
                            return Err(rate_limit_error(&response, wait_ns));
                        }
                        self.transport.sleep_ns(wait_ns);
                    }
                    // No usable wait in the answer: back off as after a server error.
                    None => self.backoff(attempt, deadline, || rate_limit_error(&response, 0))?,
                },
                // Even a 502 or 503 may follow a request Discord processed.
                _ if once => return Err(api_error(&response)),
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

    /// How long a 429 asks us to wait (`None`: it gives no usable wait); a ban page (not
    /// Discord's JSON) is an error at once. A global 429 pauses every route.
    fn rate_limited(&mut self, response: &HttpResponse) -> Result<Option<u64>, AlertError> {
        let Some(body) = ErrorBody::of(response) else {
            return Err(AlertError::RateLimited(RateLimit {
                retry_after_ms: retry_after_header_ms(response).unwrap_or(0),
                global: true,
                message: "HTTP 429 without Discord's JSON body: Cloudflare is blocking this IP \
                          (too many invalid requests); not retrying"
                    .into(),
            }));
        };
        // A zero, negative or NaN `retry_after` (a broken proxy, a hostile server) says
        // nothing: the header is asked next, then the caller backs off. A tiny positive one
        // still waits MIN_RETRY_AFTER_S, so no answer can turn the retry into a busy loop.
        let usable = |s: f64| (s.is_finite() && s > 0.0).then_some(s);
        let Some(secs) = body
            .retry_after
            .and_then(usable)
            .or_else(|| retry_after_header_ms(response).and_then(|ms| usable(ms as f64 / 1000.0)))
        else {
            return Ok(None);
        };
        let wait = (secs.max(MIN_RETRY_AFTER_S) * SEC as f64) as u64;
        let global = body.global.unwrap_or(false)
            || response
                .header("x-ratelimit-global")
                .is_some_and(|v| v == "true");
        if global {
            let until = self.transport.now_ns().saturating_add(wait);
            self.limits.global(until);
        }
        Ok(Some(wait))
    }

    /// Wait while the global limit or this route's bucket is exhausted.
    fn wait_for_limits(&mut self, route: &str, deadline: u64) -> Result<(), AlertError> {
        let now = self.transport.now_ns();
        match self.limits.acquire(route, now, deadline) {
            Ok(Permit::Now) => Ok(()),
            Ok(Permit::After(wait_ns)) => {
                self.transport.sleep_ns(wait_ns);
                self.limits.waited(route);
                Ok(())
            }
            Err(TooLate { wait_ns, global }) => Err(AlertError::RateLimited(RateLimit {
                retry_after_ms: wait_ns / MS,
                global,
                message: format!("rate limit on {route} resets after the delivery deadline"),
            })),
        }
    }
}

/// The bucket state a response's headers report, if they report one: `X-RateLimit-Remaining`
/// and `X-RateLimit-Reset-After` (float seconds) both present, `X-RateLimit-Bucket` optional.
fn bucket_info(response: &HttpResponse) -> Option<BucketInfo> {
    let remaining = response
        .header("x-ratelimit-remaining")
        .and_then(|v| v.parse::<u64>().ok());
    let reset_after = response
        .header("x-ratelimit-reset-after")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0);
    let (Some(remaining), Some(reset_after)) = (remaining, reset_after) else {
        return None;
    };
    Some(BucketInfo {
        bucket: response.header("x-ratelimit-bucket").map(String::from),
        remaining,
        reset_after_ns: (reset_after * SEC as f64) as u64,
    })
}

/// Percent-encode a reaction emoji for a URL path (`✅` -> `%E2%9C%85`; custom `name:id` kept).
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
