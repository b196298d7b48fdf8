//! Discord's answers read as errors: which statuses are worth retrying, and how a failed
//! response maps onto the WIT `alert-error` with Discord's code and message kept. Error bodies
//! look like `{"code": 50035, "message": "Invalid Form Body", "errors": {...}}`, with field
//! errors nested down to `{"_errors": [{"code": ..., "message": ...}]}`; see
//! <https://discord.com/developers/docs/topics/opcodes-and-status-codes#json>.

use serde::Deserialize;

use super::json::Json;
use super::transport::HttpResponse;
use crate::bindings::{AlertError, ApiError, RateLimit};

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

/// Discord's error body; a 429 adds `retry_after` (seconds) and `global`.
#[derive(Deserialize)]
pub(super) struct ErrorBody {
    pub(super) code: Option<u64>,
    message: Option<String>,
    errors: Option<Json>,
    pub(super) retry_after: Option<f64>,
    pub(super) global: Option<bool>,
}

impl ErrorBody {
    /// The body of `response` if it is Discord's JSON.
    pub(super) fn of(response: &HttpResponse) -> Option<ErrorBody> {
        serde_json::from_slice(&response.body).ok()
    }
}

/// Worth retrying after a backoff: a gateway or server error, or code 130000 (API overloaded).
pub(super) fn is_transient(status: u16, response: &HttpResponse) -> bool {
    matches!(status, 500 | 502 | 503 | 504 | 524)
        || ErrorBody::of(response).and_then(|b| b.code) == Some(130_000)
}

/// The `Retry-After` header (whole seconds, as Discord sends it), in milliseconds.
pub(super) fn retry_after_header_ms(response: &HttpResponse) -> Option<u64> {
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|s| (s * 1000.0) as u64)
}

/// A 429 whose wait is longer than the deadline allows (`wait_ns` 0: a 429 that said nothing
/// usable about how long, retried until the deadline).
pub(super) fn rate_limit_error(response: &HttpResponse, wait_ns: u64) -> AlertError {
    let message = if wait_ns == 0 {
        "still rate limited at the delivery deadline (the 429s gave no usable retry_after)"
            .to_string()
    } else {
        format!(
            "rate limited for {:.2} s, longer than the delivery deadline allows",
            wait_ns as f64 / SEC as f64
        )
    };
    AlertError::RateLimited(RateLimit {
        retry_after_ms: wait_ns / MS,
        global: ErrorBody::of(response)
            .and_then(|b| b.global)
            .unwrap_or(false),
        message,
    })
}

/// Map a non-success response onto the WIT error, keeping Discord's code and message.
pub fn api_error(response: &HttpResponse) -> AlertError {
    let (code, mut message) = match ErrorBody::of(response) {
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
        message = text.trim().chars().take(200).collect();
    }
    if message.is_empty() {
        message = "no error message in the answer".into();
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
        AlertError::Incomplete(i) => i.reason.clone(),
    }
}

/// Flatten Discord's nested `errors` object into `path: message` lines.
fn field_errors(errors: &Json) -> Vec<String> {
    fn walk(value: &Json, path: &mut Vec<String>, out: &mut Vec<String>) {
        let Json::Object(map) = value else { return };
        for (key, child) in map {
            if key == "_errors" {
                for e in child.as_array().into_iter().flatten() {
                    let msg = e.get("message").and_then(Json::as_str).unwrap_or("invalid");
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
