//! The only WASI code: [`Transport`] over `wasi:http/outgoing-handler`, `wasi:clocks` and
//! `wasi:random`, settings from `wasi:config/store`, the token from `wasmcloud:secrets`.

use std::io::Write;

use wasip2::clocks::{monotonic_clock, wall_clock};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, Method as WasiMethod, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};
use wasip2::io::poll;
use wasip2::io::streams::StreamError;

use crate::bindings::{config_store, reveal, secrets, AlertError};
use crate::config::{self, Settings};
use crate::discord::{redact_url, HttpRequest, HttpResponse, Method, Transport, TransportError};
use crate::service::Service;

/// Build a [`Service`] from the host's config and secrets, then run `f` with it; notices held
/// back during the call are summed up in one closing line.
pub fn run<R>(
    f: impl FnOnce(&mut Service<WasiTransport>) -> Result<R, AlertError>,
) -> Result<R, AlertError> {
    let mut service = service()?;
    let result = f(&mut service);
    service.client.finish_notices();
    result
}

/// The [`Service`] the host's config and secrets describe. Not generic, so the one copy
/// serves every export (inlined into [`run`], it was repeated for each of them).
#[inline(never)]
fn service() -> Result<Service<WasiTransport>, AlertError> {
    let settings =
        Settings::from_lookup(|key| config_store::get(key).map_err(|e| format!("{e:?}")))?;
    let token = read_secret(config::keys::TOKEN)?;
    let webhook = read_secret(config::keys::WEBHOOK_URL)?
        .map(|w| config::parse_webhook(&w))
        .transpose()?;
    let token = match (&token, &webhook) {
        (Some(t), _) => config::validate_token(t)?,
        (None, Some(_)) => "",
        (None, None) => {
            return Err(AlertError::InvalidConfig(format!(
                "no Discord token: the host supplied no secret `{}` (nor a `{}`)",
                config::keys::TOKEN,
                config::keys::WEBHOOK_URL
            )))
        }
    };
    let mut service = Service::new(settings, token, WasiTransport);
    if let Some(w) = webhook {
        service.set_webhook(w);
    }
    Ok(service)
}

/// A secret by key; `None` when the host has none under it.
fn read_secret(key: &str) -> Result<Option<String>, AlertError> {
    let secret = match secrets::get(key) {
        Ok(s) => s,
        Err(secrets::SecretsError::NotFound) => return Ok(None),
        Err(secrets::SecretsError::Upstream(m) | secrets::SecretsError::Io(m)) => {
            return Err(AlertError::InvalidConfig(format!(
                "cannot read the secret `{key}`: {m}"
            )))
        }
    };
    match reveal::reveal(&secret) {
        secrets::SecretValue::String(s) => Ok(Some(s)),
        secrets::SecretValue::Bytes(b) => String::from_utf8(b).map(Some).map_err(|_| {
            AlertError::InvalidConfig(format!("the secret `{key}` is not UTF-8 text"))
        }),
    }
}

/// The largest response body read: a page of 100 messages at Discord's limits is about 4 MB.
const MAX_RESPONSE_BYTES: usize = 8 << 20;

/// WASI 0.2 implementation of the flavor's environment.
pub struct WasiTransport;

impl Transport for WasiTransport {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        send(request)
    }

    fn now_ns(&self) -> u64 {
        monotonic_clock::now()
    }

    fn sleep_ns(&mut self, ns: u64) {
        if ns > 0 {
            monotonic_clock::subscribe_duration(ns).block();
        }
    }

    fn unix_ms(&self) -> u64 {
        let t = wall_clock::now();
        t.seconds * 1000 + u64::from(t.nanoseconds / 1_000_000)
    }

    fn random_u64(&mut self) -> u64 {
        wasip2::random::random::get_random_u64()
    }

    fn notice(&mut self, text: &str) {
        // Never panic over a closed or full stderr (`eprintln!` would): a notice is not worth
        // losing the call's result.
        let _ = writeln!(std::io::stderr(), "warning: {text}");
    }
}

fn send(request: &HttpRequest) -> Result<HttpResponse, TransportError> {
    // The request's timeout bounds all of it, the body included: a server that trickles its
    // answer a byte at a time (never tripping the between-bytes timeout) is cut off too.
    let deadline = monotonic_clock::now().saturating_add(request.timeout_ns);
    let (scheme, rest) = if let Some(r) = request.url.strip_prefix("https://") {
        (Scheme::Https, r)
    } else if let Some(r) = request.url.strip_prefix("http://") {
        (Scheme::Http, r)
    } else {
        return Err(TransportError::Invalid(format!(
            "unsupported URL scheme in {}",
            redact_url(&request.url)
        )));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let headers: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&headers)
        .map_err(|e| TransportError::Invalid(format!("bad request header: {e:?}")))?;
    let out = OutgoingRequest::new(fields);
    let method = match request.method {
        Method::Get => WasiMethod::Get,
        Method::Post => WasiMethod::Post,
        Method::Put => WasiMethod::Put,
        Method::Patch => WasiMethod::Patch,
    };
    let invalid = |what: &str| {
        TransportError::Invalid(format!("invalid {what} in {}", redact_url(&request.url)))
    };
    out.set_method(&method).map_err(|()| invalid("method"))?;
    out.set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    out.set_authority(Some(authority))
        .map_err(|()| invalid("authority"))?;
    out.set_path_with_query(Some(path))
        .map_err(|()| invalid("path"))?;

    let options = RequestOptions::new();
    // A host may refuse to set timeouts; then its own defaults apply.
    let _ = options.set_connect_timeout(Some(request.timeout_ns));
    let _ = options.set_first_byte_timeout(Some(request.timeout_ns));
    let _ = options.set_between_bytes_timeout(Some(request.timeout_ns));

    let body = out.body().map_err(|()| invalid("body"))?;
    let future = outgoing_handler::handle(out, Some(options)).map_err(map_error)?;
    // Writing fails first when the host denies the request; the response future says why.
    let mut write_ok = true;
    if let Some(bytes) = &request.body {
        match body.write() {
            Ok(mut stream) => {
                write_ok = stream
                    .write_all(bytes)
                    .and_then(|()| Write::flush(&mut stream))
                    .is_ok();
            }
            Err(()) => write_ok = false,
        }
    }
    let finished = OutgoingBody::finish(body, None);
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(code))) => return Err(map_error(code)),
        Some(Err(())) | None => {
            return Err(TransportError::Failed(
                "the response was already taken".into(),
            ))
        }
    };
    if let Err(code) = finished {
        if write_ok {
            return Err(map_error(code));
        }
    }
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    let incoming = response
        .consume()
        .map_err(|()| TransportError::Failed("response body unavailable".into()))?;
    let bytes = read_body(&incoming, deadline)?;
    drop(incoming);
    Ok(HttpResponse {
        status,
        headers,
        body: bytes,
    })
}

/// The whole body, read until `deadline` (monotonic ns) and at most [`MAX_RESPONSE_BYTES`]:
/// an endless, huge or slow-loris body is an error, not a guest that runs out of memory or
/// time.
fn read_body(incoming: &IncomingBody, deadline: u64) -> Result<Vec<u8>, TransportError> {
    let stream = incoming
        .stream()
        .map_err(|()| TransportError::Failed("response body unavailable".into()))?;
    let ready = stream.subscribe();
    let mut bytes = Vec::new();
    let outcome = loop {
        if monotonic_clock::now() >= deadline {
            break Err(TransportError::Failed(format!(
                "the response body was still arriving at the request's timeout ({} bytes read)",
                bytes.len()
            )));
        }
        let timer = monotonic_clock::subscribe_instant(deadline);
        poll::poll(&[&ready, &timer]);
        match stream.read(64 * 1024) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_RESPONSE_BYTES {
                    break Err(TransportError::Failed(format!(
                        "the response body is larger than {} MiB, more than any Discord answer",
                        MAX_RESPONSE_BYTES >> 20
                    )));
                }
            }
            Err(StreamError::Closed) => break Ok(()),
            Err(StreamError::LastOperationFailed(e)) => {
                break Err(TransportError::Failed(format!(
                    "response cut short: {}",
                    e.to_debug_string()
                )))
            }
        }
    };
    // The pollable is a child of the stream, the stream of the body: drop in that order.
    drop(ready);
    drop(stream);
    outcome.map(|()| bytes)
}

fn map_error(code: ErrorCode) -> TransportError {
    match code {
        ErrorCode::HttpRequestDenied => TransportError::Denied(
            "the host's egress policy does not allow this destination".into(),
        ),
        ErrorCode::HttpRequestUriInvalid => TransportError::Invalid("invalid request URI".into()),
        ErrorCode::DnsError(_) | ErrorCode::DnsTimeout => {
            TransportError::NotSent(format!("DNS lookup failed ({code:?})"))
        }
        ErrorCode::ConnectionRefused => TransportError::NotSent("connection refused".into()),
        ErrorCode::ConnectionTimeout => {
            TransportError::NotSent("timed out connecting (ConnectionTimeout)".into())
        }
        ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => TransportError::Failed(format!("timed out ({code:?})")),
        ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_) => {
            TransportError::Failed(format!("TLS failed ({code:?})"))
        }
        other => TransportError::Failed(format!("{other:?}")),
    }
}
