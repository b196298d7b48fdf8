//! What the Discord client needs from its environment, as plain data and one trait: HTTP
//! requests and responses, a monotonic clock, sleeping, the wall clock, randomness and a way to
//! tell the operator something. `platform.rs` implements [`Transport`] over WASI; tests use
//! `fake::FakeTransport`.

/// HTTP methods the flavor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`: read.
    Get,
    /// `POST`: create a message.
    Post,
    /// `PUT`: add a reaction.
    Put,
    /// `PATCH`: edit a message.
    Patch,
}

impl Method {
    /// The method as it appears on the request line.
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
/// `Debug` shows every header but `authorization` (the bot token) as `[redacted]`.
#[derive(Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL, query included.
    pub url: String,
    /// Header names in lower case, in the order they are sent.
    pub headers: Vec<(String, String)>,
    /// The body, if any (JSON, or a multipart form), shared by every attempt.
    pub body: Option<std::rc::Rc<Vec<u8>>>,
    /// Bound for connecting and for each wait on the response, in nanoseconds.
    pub timeout_ns: u64,
}

/// `url` with a webhook's token (`/webhooks/{id}/{token}`) replaced by `[redacted]`: the one
/// secret a URL the flavor builds can hold.
pub fn redact_url(url: &str) -> String {
    let Some((head, rest)) = url.split_once("/webhooks/") else {
        return url.to_string();
    };
    let Some((id, after)) = rest.split_once('/') else {
        return url.to_string();
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    format!("{head}/webhooks/{id}/[redacted]{}", &after[end..])
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let shown = if k.eq_ignore_ascii_case("authorization") {
                    "[redacted]"
                } else {
                    v
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &redact_url(&self.url))
            .field("headers", &headers)
            .field(
                "body",
                &self.body.as_ref().map(|b| {
                    // A form with files: its JSON part is enough to show.
                    let shown = &b[..b.len().min(4096)];
                    String::from_utf8_lossy(shown)
                }),
            )
            .field("timeout_ns", &self.timeout_ns)
            .finish()
    }
}

/// One HTTP response.
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (any case).
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
    /// Reset, timeout, a response cut short: the request may have been processed. Retried,
    /// except a request that must not be repeated (a webhook post).
    Failed(String),
    /// Connection refused, DNS, connect timeout: the request never left. Always retried.
    NotSent(String),
}

/// What the Discord logic needs from its environment: HTTP, a monotonic clock, sleeping, the
/// wall clock and randomness. `platform.rs` implements it over WASI; tests use fakes.
pub trait Transport {
    /// Send one request and wait for the whole response.
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
    /// Monotonic time in nanoseconds from an arbitrary origin.
    fn now_ns(&self) -> u64;
    /// Block for `ns` nanoseconds without burning CPU.
    fn sleep_ns(&mut self, ns: u64);
    /// Wall-clock time, Unix milliseconds.
    fn unix_ms(&self) -> u64;
    /// 64 random bits (nonces, backoff jitter).
    fn random_u64(&mut self) -> u64;
    /// Tell the operator something once (e.g. a missing intent); never contains secrets.
    fn notice(&mut self, text: &str);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let r = HttpRequest {
            method: Method::Get,
            url: "https://discord.com/api/v10/users/@me".into(),
            headers: vec![
                ("authorization".into(), "Bot MTAx.secret.tok".into()),
                ("user-agent".into(), "DiscordBot (x, 1)".into()),
            ],
            body: None,
            timeout_ns: 1,
        };
        let shown = format!("{r:?}");
        assert!(!shown.contains("MTAx.secret.tok"), "{shown}");
        assert!(
            shown.contains("[redacted]") && shown.contains("DiscordBot"),
            "{shown}"
        );
        let hook = HttpRequest {
            url: "https://discord.com/api/v10/webhooks/123/hook.SECRET?wait=true".into(),
            headers: vec![],
            ..r
        };
        let shown = format!("{hook:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(
            shown.contains("/webhooks/123/[redacted]?wait=true"),
            "{shown}"
        );
        assert_eq!(
            redact_url("https://x/api/v10/users/@me"),
            "https://x/api/v10/users/@me"
        );
    }
}
