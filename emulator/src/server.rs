//! The HTTP server: accept loop (numbering connections), one hyper HTTP/1 connection task per
//! client (kept alive between requests), and per request the work around the handlers: reading
//! the body, recording the request, applying faults, checking the answer against the spec,
//! waiting out the emulated latency, and turning it into an HTTP response.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::faults::FaultKind;
use crate::multipart::{self, Form};
use crate::ratelimit::{self, BucketInfo};
use crate::reply::{Body, Reply};
use crate::routes::{self, ApiRequest};
use crate::stream::{EmuBody, Trickle};
use crate::{control, snowflake, validate, Inner, RecordedFile, RecordedRequest};

/// Largest request body accepted: Discord's maximum request size for a message, 25 MiB. A
/// bigger one is answered 413 (40005).
pub const MAX_BODY: usize = 25 * 1024 * 1024;
/// How much more of a too-large body is read and dropped before answering, so that the client,
/// still sending, gets to read the 413 instead of a reset connection.
const DRAIN_MAX: usize = 64 * 1024 * 1024;
/// How much of a body that is not valid multipart is recorded.
const RECORD_UNPARSED: usize = 64 * 1024;

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// Serves connections until `shutdown` turns true.
pub async fn serve(listener: TcpListener, inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    let for_connections = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let connection = inner.connections.fetch_add(1, Ordering::Relaxed) + 1;
                let inner = inner.clone();
                let mut stop = for_connections.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(inner.clone(), connection, req));
                    // hyper keeps HTTP/1 connections alive by default; clients rely on it.
                    let conn = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {}
                        () = stopped(&mut stop) => {}
                    }
                });
            }
            () = stopped(&mut shutdown) => break,
        }
    }
}

/// Resolves once shutdown is requested.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stopped| *stopped).await;
}

/// Whether a path is the control API's (never recorded, never delayed).
fn is_control(path: &str) -> bool {
    path == control::PREFIX || path.starts_with("/_emulator/")
}

/// One request on connection number `connection`: [`answer`], then for an API route the
/// emulated latency ([`Inner::latency_ms`]) before hyper sends the head (or drops the
/// connection for a fault).
async fn handle(
    inner: Arc<Inner>,
    connection: u64,
    req: Request<Incoming>,
) -> Result<Response<EmuBody>, Dropped> {
    let delayed = !is_control(req.uri().path());
    let result = answer(&inner, connection, req).await;
    let ms = inner.latency_ms.load(Ordering::Relaxed);
    if delayed && ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    result
}

/// A request's method, path, query and headers (names lowercased), as recorded.
struct Head {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    content_type: Option<String>,
}

impl Head {
    fn of(req: &Request<Incoming>) -> Head {
        let method = req.method().as_str().to_string();
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(str::to_string);
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let content_type = headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.clone());
        Head {
            method,
            path,
            query,
            headers,
            content_type,
        }
    }

    /// The record of this request, on connection number `connection`, now.
    fn record(
        &self,
        inner: &Inner,
        connection: u64,
        body: Option<Value>,
        files: Vec<RecordedFile>,
        status: u16,
    ) -> RecordedRequest {
        RecordedRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body,
            content_type: self.content_type.clone(),
            files,
            at_ms: inner.started.elapsed().as_millis() as u64,
            status,
            connection,
        }
    }
}

/// Reads, records and answers one request.
async fn answer(
    inner: &Inner,
    connection: u64,
    req: Request<Incoming>,
) -> Result<Response<EmuBody>, Dropped> {
    let head = Head::of(&req);
    let is_control = is_control(&head.path);
    let bytes = match read_body(req.into_body()).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            if !is_control {
                let (method, path) = (&head.method, &head.path);
                let mut s = inner.lock();
                s.record(head.record(inner, connection, None, Vec::new(), 413));
                s.violation(format!(
                    "{method} {path}: request body over {MAX_BODY} bytes (25 MiB, Discord's maximum request size)"
                ));
            }
            let reply = Reply::error(413, 40005, "Request entity too large");
            return Ok(to_response(reply));
        }
        Err(BodyError::Broken) => {
            return Ok(to_response(Reply::error(400, 0, "400: Bad Request")));
        }
    };
    let form = head
        .content_type
        .as_deref()
        .filter(|ct| multipart::is_form_data(ct) && !is_control)
        .map(|ct| multipart::parse_form(ct, &bytes));
    let body = json_body(form.as_ref(), &bytes);

    if is_control {
        let reply = control::handle(
            inner,
            &head.method,
            &head.path,
            body.unwrap_or(Ok(Value::Null)),
        );
        return Ok(to_response(reply));
    }

    let recorded_body = recorded_body(body.as_ref(), form.as_ref(), &bytes);
    let seq = inner.lock().record(head.record(
        inner,
        connection,
        recorded_body,
        recorded_files(form.as_ref()),
        0,
    ));
    let fault = inner.lock().faults.take(&head.method, &head.path);
    let Head {
        method,
        path,
        query,
        headers,
        ..
    } = head;
    let api = ApiRequest {
        method,
        path,
        query,
        headers,
        body,
        form,
    };
    let label = api.label();
    let (reply, send) = reply_to(inner, &api, &label, fault).await?;
    Ok(respond(inner, reply, &label, seq, send))
}

/// A body as JSON: `None` for no body (or a form without `payload_json`, or a broken form),
/// `Some(Err)` for one that is not JSON. For a form, its `payload_json` part.
fn json_body(form: Option<&Result<Form, String>>, bytes: &[u8]) -> Option<Result<Value, String>> {
    let json_of = |b: &[u8]| serde_json::from_slice(b).map_err(|e| e.to_string());
    match form {
        Some(Ok(f)) => f.payload_json.as_deref().map(json_of),
        Some(Err(_)) => None,
        None if bytes.is_empty() => None,
        None => Some(json_of(bytes)),
    }
}

/// What is recorded of a body: its JSON, else its text (a broken form's only the first
/// [`RECORD_UNPARSED`] bytes).
fn recorded_body(
    body: Option<&Result<Value, String>>,
    form: Option<&Result<Form, String>>,
    bytes: &[u8],
) -> Option<Value> {
    match (body, form) {
        (Some(Ok(v)), _) => Some(v.clone()),
        (Some(Err(_)), Some(Ok(f))) => f
            .payload_json
            .as_deref()
            .map(|b| Value::String(String::from_utf8_lossy(b).into_owned())),
        (Some(Err(_)), _) => Some(Value::String(String::from_utf8_lossy(bytes).into_owned())),
        (None, Some(Err(_))) => {
            let cut = &bytes[..bytes.len().min(RECORD_UNPARSED)];
            Some(Value::String(String::from_utf8_lossy(cut).into_owned()))
        }
        (None, _) => None,
    }
}

/// The answer to an API request, as `fault` (if any) makes it, and how its body goes out;
/// `Err` to drop the connection instead.
async fn reply_to(
    inner: &Inner,
    api: &ApiRequest,
    label: &str,
    fault: Option<FaultKind>,
) -> Result<(Reply, Send), Dropped> {
    // How the body is sent: whole, unless a fault makes it endless or slow.
    let mut send = Send::Whole;
    let reply = match fault {
        None => routes::handle(inner, api),
        Some(FaultKind::DropConnection) => return Err(Dropped),
        Some(FaultKind::LoseResponse) => {
            let reply = routes::handle(inner, api);
            check(inner, &reply, label);
            return Err(Dropped);
        }
        Some(FaultKind::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            routes::handle(inner, api)
        }
        Some(FaultKind::MalformedJson) => {
            let reply = routes::handle(inner, api);
            check(inner, &reply, label);
            truncate(reply)
        }
        Some(FaultKind::RateLimited {
            retry_after,
            global,
        }) => rate_limited(retry_after, global, label),
        Some(FaultKind::Oversized { bytes }) => {
            let mut body = Vec::with_capacity(bytes.max(2));
            body.push(b'"');
            body.resize(bytes.saturating_sub(1).max(1), b'a');
            body.push(b'"');
            raw_json(body)
        }
        Some(FaultKind::EndlessBody) => {
            send = Send::Endless;
            raw_json(Vec::new())
        }
        Some(FaultKind::SlowBody { byte_every_ms }) => {
            send = Send::Slow(Duration::from_millis(byte_every_ms.max(1)));
            routes::handle(inner, api)
        }
        Some(FaultKind::Raw {
            status,
            content_type,
            headers,
            body,
            process,
        }) => {
            if process {
                let reply = routes::handle(inner, api);
                check(inner, &reply, label);
            }
            Reply {
                status,
                body: Body::Raw {
                    content_type: content_type.into(),
                    bytes: body.into_bytes(),
                },
                headers,
                schema: None,
                no_rate_limit_headers: true,
            }
        }
        Some(FaultKind::CloudflareBan) => Reply {
            status: 429,
            body: Body::Raw {
                content_type: "text/html; charset=UTF-8".into(),
                bytes: CLOUDFLARE_BAN.as_bytes().to_vec(),
            },
            headers: Vec::new(),
            schema: None,
            no_rate_limit_headers: true,
        },
        Some(FaultKind::Status { status, code }) => status_error(status, code),
    };
    Ok((reply, send))
}

/// An injected 429: Discord's body and `Retry-After`, and rate-limit headers saying the
/// bucket is empty until then.
fn rate_limited(retry_after: f64, global: bool, label: &str) -> Reply {
    let retry_after = if retry_after.is_finite() {
        retry_after.max(0.0)
    } else {
        1.0
    };
    let after_ms = (retry_after * 1000.0).ceil() as u64;
    let info = BucketInfo {
        limit: ratelimit::BUCKET_LIMIT,
        remaining: 0,
        reset_ms: snowflake::now_ms().saturating_add(after_ms),
        reset_after_ms: after_ms,
        bucket: ratelimit::bucket_hash(label),
    };
    let mut reply = routes::rate_limited(retry_after, global);
    reply.headers.extend(ratelimit::headers(&info));
    reply
}

/// A 200 whose body is these bytes, labelled JSON.
fn raw_json(bytes: Vec<u8>) -> Reply {
    Reply {
        status: 200,
        body: Body::Raw {
            content_type: "application/json".into(),
            bytes,
        },
        headers: Vec::new(),
        schema: None,
        no_rate_limit_headers: false,
    }
}

/// An injected error status with Discord's error body (`code` 130000: overloaded).
fn status_error(status: u16, code: Option<u32>) -> Reply {
    // Informational and out-of-range statuses make no sense here: 500 instead.
    let status = if (200..=599).contains(&status) {
        status
    } else {
        500
    };
    let message = match code {
        Some(130_000) => "API resource is currently overloaded. Try again later".to_string(),
        _ => status_message(status),
    };
    Reply::error(status, code.unwrap_or(0), &message)
}

/// The HTTP response for `reply` to recorded request `seq`: rate-limit headers (unless it
/// has them, or must not), the answer checked against the spec, its status recorded, and
/// the body sent as `send` says.
fn respond(
    inner: &Inner,
    mut reply: Reply,
    label: &str,
    seq: u64,
    send: Send,
) -> Response<EmuBody> {
    if !reply.no_rate_limit_headers && !reply.headers.iter().any(|(k, _)| k == "X-RateLimit-Limit")
    {
        let info = inner
            .lock()
            .limiter
            .peek(label, label, snowflake::now_ms(), inner.rate_limiter);
        reply.headers.extend(ratelimit::headers(&info));
    }
    if !matches!(reply.body, Body::Raw { .. }) {
        check(inner, &reply, label);
    }
    inner.lock().set_status(seq, reply.status);
    let response = to_response(reply);
    match send {
        Send::Whole => response,
        Send::Endless => response.map(|_| EmuBody::Trickle(Trickle::endless(endless_chunk()))),
        Send::Slow(every) => response.map(|body| match body {
            EmuBody::Whole(Some(bytes)) => EmuBody::Trickle(Trickle::slow(bytes, every)),
            other => other,
        }),
    }
}

/// Why a request body could not be read.
enum BodyError {
    /// Over [`MAX_BODY`].
    TooLarge,
    /// The connection failed while reading.
    Broken,
}

/// Reads a body of at most [`MAX_BODY`] bytes. A longer one is read on, up to [`DRAIN_MAX`]
/// more, and dropped.
async fn read_body(mut body: Incoming) -> Result<Bytes, BodyError> {
    let mut buf: Vec<u8> = Vec::new();
    let mut over = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if over > 0 || buf.len() + data.len() > MAX_BODY {
            over += data.len();
            buf = Vec::new();
            if over > DRAIN_MAX {
                break;
            }
        } else {
            buf.extend_from_slice(&data);
        }
    }
    if over > 0 {
        Err(BodyError::TooLarge)
    } else {
        Ok(Bytes::from(buf))
    }
}

/// What is recorded of a form's file parts.
fn recorded_files(form: Option<&Result<Form, String>>) -> Vec<RecordedFile> {
    let Some(Ok(form)) = form else {
        return Vec::new();
    };
    form.files
        .iter()
        .map(|p| RecordedFile {
            field: p.name.clone(),
            filename: p.filename.clone().unwrap_or_default(),
            content_type: p.content_type.clone(),
            size: p.body.len(),
        })
        .collect()
}

/// How a response body goes out.
#[derive(Clone, Copy)]
enum Send {
    Whole,
    /// Endless JSON-looking bytes instead of the body.
    Endless,
    /// The body, one byte per this interval.
    Slow(Duration),
}

/// 64 KiB of `{"id":"0"},` for an endless body: it looks like the start of a message list.
fn endless_chunk() -> Bytes {
    Bytes::from(br#"{"id":"0"},"#.repeat(64 * 1024 / 10))
}

/// Records a violation if a JSON answer does not match its spec schema (an emulator bug).
fn check(inner: &Inner, reply: &Reply, label: &str) {
    if !inner.validate {
        return;
    }
    if let (Some(schema), Body::Json(v)) = (&reply.schema, &reply.body) {
        if let Err(e) = validate::check_response(schema, v) {
            inner.lock().violation(format!(
                "emulator bug: the {} answer to {label} does not match {schema}: {e}",
                reply.status
            ));
        }
    }
}

/// The JSON body cut in half, still labelled JSON.
fn truncate(mut reply: Reply) -> Reply {
    let bytes = match &reply.body {
        Body::Json(v) => serde_json::to_vec(v).unwrap_or_default(),
        Body::Raw { bytes, .. } => bytes.clone(),
        Body::Empty => b"{}".to_vec(),
    };
    let cut = (bytes.len() / 2).max(1).min(bytes.len());
    reply.body = Body::Raw {
        content_type: "application/json".into(),
        bytes: bytes[..cut].to_vec(),
    };
    reply.status = 200;
    reply
}

fn status_message(status: u16) -> String {
    let reason = match status {
        524 => Some("A timeout occurred"),
        _ => StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason()),
    };
    format!("{status}: {}", reason.unwrap_or("Error"))
}

const CLOUDFLARE_BAN: &str = "<!DOCTYPE html>\n<html><head><title>Access denied | discord.com used Cloudflare to restrict access</title></head>\n<body><h1>Error 1015</h1><h2>You are being rate limited</h2>\n<p>The owner of this website (discord.com) has banned you temporarily from accessing this website.</p></body></html>\n";

fn to_response(reply: Reply) -> Response<EmuBody> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = Response::builder().status(status);
    for (k, v) in &reply.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let bytes = match reply.body {
        Body::Empty => Vec::new(),
        Body::Json(v) => {
            builder = builder.header("content-type", "application/json");
            serde_json::to_vec(&v).unwrap_or_default()
        }
        Body::Raw {
            content_type,
            bytes,
        } => {
            builder = builder.header("content-type", &*content_type);
            bytes
        }
    };
    builder
        .body(EmuBody::whole(Bytes::from(bytes)))
        .unwrap_or_else(|_| {
            let mut r = Response::new(EmuBody::whole(Bytes::from_static(
                b"{\"code\":0,\"message\":\"emulator: bad response header\"}",
            )));
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_failing_their_schema_are_recorded_as_emulator_bugs() {
        let (emu, _rx) = crate::Emulator::new(
            crate::Options::default(),
            std::net::SocketAddr::from(([127, 0, 0, 1], 9)),
        );
        let t = std::time::Instant::now();
        validate::warm_up().expect("validators build");
        eprintln!("warm_up took {:?}", t.elapsed());
        let good = Reply::ok(
            emu.inner.lock().me_json(),
            validate::ok_schema("/users/@me", "get"),
        );
        check(&emu.inner, &good, "GET /users/@me");
        assert!(emu.violations().is_empty(), "{:?}", emu.violations());
        let bad = Reply::ok(json!({"id": "1"}), validate::ok_schema("/users/@me", "get"));
        check(&emu.inner, &bad, "GET /users/@me");
        let v = emu.violations();
        assert_eq!(v.len(), 1);
        assert!(v[0].starts_with("emulator bug:"), "{v:?}");
    }

    #[test]
    fn truncated_json_does_not_parse() {
        let r = truncate(Reply::json(
            200,
            json!({"id": "123456", "content": "hello"}),
        ));
        match r.body {
            Body::Raw { bytes, .. } => {
                assert!(serde_json::from_slice::<Value>(&bytes).is_err());
            }
            other => panic!("not raw: {other:?}"),
        }
    }
}
