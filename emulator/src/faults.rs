//! Injected faults: what they are, how they match requests, and the queue that hands them out.
//!
//! Faults are consumed in push order: the first queued fault whose filter matches a request
//! applies to it; its `times` is decremented and it leaves the queue at zero. Faults apply only
//! to the Discord API (`/api/...`), never to the `/_emulator` control API, and are checked
//! before authentication, like an outage in front of Discord would be.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// One queued fault: a filter and what happens to the requests it matches.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Fault {
    /// Only requests with this method (case-insensitive); `None` matches any.
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose path (without query) contains this; `None` matches any.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// How many matching requests it hits (default 1; 0 never hits).
    #[serde(default = "one")]
    pub times: u32,
    /// What happens.
    pub kind: FaultKind,
}

fn one() -> u32 {
    1
}

/// What a fault does to a request.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 with Discord's JSON body, `Retry-After` (whole seconds, rounded up) and the
    /// `X-RateLimit-*` headers (`Scope` user or global, `Global: true` when global). Not processed.
    RateLimited {
        /// Seconds, fractional, as in the body.
        retry_after: f64,
        /// A global rate limit rather than a per-route one.
        global: bool,
    },
    /// 429 with an HTML body and no rate-limit headers, like a Cloudflare ban. Not processed.
    CloudflareBan,
    /// This status with a JSON error body; `code` 130000 gives "API resource is currently
    /// overloaded. Try again later". Not processed.
    Status {
        /// HTTP status, e.g. 500, 502, 503, 504, 524.
        status: u16,
        /// Discord error code in the body (0 if absent).
        #[serde(default)]
        code: Option<u32>,
    },
    /// The connection is closed without a response; the request is not processed.
    DropConnection,
    /// The request is processed normally (a message is stored), then the connection is closed
    /// without a response.
    LoseResponse,
    /// Waits this long, then processes the request normally.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// The request is processed normally, but the 200 body is truncated JSON.
    MalformedJson,
    /// The request is not processed; a 200 comes back whose JSON body (one string) is this
    /// many bytes long, as a hostile or broken server might send.
    Oversized {
        /// Body size in bytes.
        bytes: usize,
    },
    /// The request is not processed; a 200 `application/json` body comes back that never
    /// ends, as fast as the client reads it.
    EndlessBody,
    /// The request is processed normally; its answer then arrives one byte every
    /// `byte_every_ms` (a slow-loris server).
    SlowBody {
        /// Milliseconds between two bytes of the body.
        byte_every_ms: u64,
    },
    /// Any answer at all: this status, content type, headers and body text, with no
    /// rate-limit headers added (a 200 HTML page, wrong JSON types, a 429 without headers or
    /// with an absurd `retry_after`). The request is processed first when `process` is true.
    Raw {
        /// HTTP status (100-999; anything hyper cannot send becomes 500).
        status: u16,
        /// The `Content-Type` header.
        #[serde(default = "json_type")]
        content_type: String,
        /// Extra headers, in order.
        #[serde(default)]
        headers: Vec<(String, String)>,
        /// The body, sent as is.
        #[serde(default)]
        body: String,
        /// Store the message (or do whatever the request asks) before answering.
        #[serde(default)]
        process: bool,
    },
}

fn json_type() -> String {
    "application/json".into()
}

impl Fault {
    /// A fault hitting the next `times` requests, any method and path.
    pub fn new(kind: FaultKind) -> Fault {
        Fault {
            method: None,
            path_contains: None,
            times: 1,
            kind,
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

/// The queue of pending faults.
#[derive(Debug, Default)]
pub struct FaultQueue {
    queue: VecDeque<Fault>,
}

impl FaultQueue {
    /// Queues a fault (one with `times == 0` is dropped: it would never hit).
    pub fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.queue.push_back(fault);
        }
    }

    /// The fault for this request, if any, consuming one of its `times`.
    pub fn take(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        let idx = self.queue.iter().position(|f| f.matches(method, path))?;
        let fault = self.queue.get_mut(idx)?;
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            self.queue.remove(idx);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumed_in_order_with_filters() {
        let mut q = FaultQueue::default();
        q.push(Fault {
            method: Some("post".into()),
            path_contains: Some("/messages".into()),
            times: 2,
            kind: FaultKind::CloudflareBan,
        });
        q.push(Fault::new(FaultKind::DropConnection));
        assert_eq!(
            q.take("GET", "/api/v10/users/@me"),
            Some(FaultKind::DropConnection)
        );
        assert_eq!(q.take("GET", "/api/v10/users/@me"), None);
        assert_eq!(
            q.take("POST", "/api/v10/channels/1/messages"),
            Some(FaultKind::CloudflareBan)
        );
        assert_eq!(
            q.take("POST", "/api/v10/channels/1/messages"),
            Some(FaultKind::CloudflareBan)
        );
        assert_eq!(q.take("POST", "/api/v10/channels/1/messages"), None);
    }

    #[test]
    fn deserializes_the_documented_shape() {
        let f: Fault = serde_json::from_str(
            r#"{"path_contains":"/messages","kind":{"type":"rate_limited","retry_after":0.5,"global":false}}"#,
        )
        .expect("parses");
        assert_eq!(f.times, 1);
        assert_eq!(
            f.kind,
            FaultKind::RateLimited {
                retry_after: 0.5,
                global: false
            }
        );
        let f: Fault =
            serde_json::from_str(r#"{"times":3,"kind":{"type":"status","status":503}}"#).unwrap();
        assert_eq!(
            f.kind,
            FaultKind::Status {
                status: 503,
                code: None
            }
        );
        let f: Fault = serde_json::from_str(
            r#"{"kind":{"type":"raw","status":200,"body":"<html>","content_type":"text/html"}}"#,
        )
        .unwrap();
        assert_eq!(
            f.kind,
            FaultKind::Raw {
                status: 200,
                content_type: "text/html".into(),
                headers: vec![],
                body: "<html>".into(),
                process: false
            }
        );
    }
}
