//! A scripted [`Transport`] with a virtual clock, for tests of everything above it: replies
//! are served in request order, every request takes a millisecond, and sleeping only moves the
//! clock.

use std::collections::VecDeque;

use super::{HttpRequest, HttpResponse, Transport, TransportError};

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

/// The scripted transport; its fields are the script and the record of what happened.
#[derive(Clone)]
pub struct FakeTransport {
    /// The monotonic clock, in nanoseconds.
    pub now: u64,
    /// Every request sent, with the clock when it was sent.
    pub sent: Vec<(HttpRequest, u64)>,
    /// Replies still to serve, in order.
    pub replies: VecDeque<Result<HttpResponse, TransportError>>,
    /// Every sleep, in nanoseconds.
    pub sleeps: Vec<u64>,
    /// When the script runs out, answer with this (e.g. an empty message list).
    pub fallback: Option<HttpResponse>,
    /// Every notice given.
    pub notices: Vec<String>,
    seed: u64,
}

impl Default for FakeTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeTransport {
    /// An empty script at 1000 s on the clock.
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
    /// Serve this status and body next (after the replies already scripted).
    pub fn reply(&mut self, status: u16, body: &str) -> &mut Self {
        self.replies.push_back(Ok(response(status, body, &[])));
        self
    }
    /// Serve this response or transport error next.
    pub fn reply_with(&mut self, r: Result<HttpResponse, TransportError>) -> &mut Self {
        self.replies.push_back(r);
        self
    }
}

/// A response with these headers.
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
