//! The POST the component sends, recorded to replay it with curl or a native hyper client,
//! and the throughput rounds that set the library against that client.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alerter_emulator::{Emulator, RecordedRequest};
use alerter_host::runtime::CallConfig;
use alerter_host::types::{Message, Params};
use alerter_host::Runtime;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// The component's create-message request as the emulator recorded it, to replay natively.
pub struct Template {
    pub authority: String,
    pub path: String,
    /// Header names and values as received, minus `host` and `content-length`.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Template {
    pub fn from_recorded(r: &RecordedRequest, authority: String) -> Template {
        Template {
            authority,
            path: r.path.clone(),
            headers: r
                .headers
                .iter()
                .filter(|(k, _)| k != "host" && k != "content-length")
                .cloned()
                .collect(),
            body: r.body.clone().expect("create-message body"),
        }
    }

    /// The body with a fresh nonce of the component's shape (16 hex digits, `.0`), so the
    /// emulator creates a new message every time, as it does for the component.
    pub fn body_bytes(&self, n: u64) -> Bytes {
        let mut b = self.body.clone();
        if b.get("nonce").is_some() {
            b["nonce"] = Value::String(format!("{:016x}.0", 0xbe00_0000_0000_0000u64 | n));
        }
        Bytes::from(serde_json::to_vec(&b).expect("json"))
    }
}

pub fn last_create(emu: &Emulator) -> RecordedRequest {
    emu.requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .expect("a create-message request")
}

/// `curl` arguments for the same POST: the component's headers (curl's own `Accept` removed
/// unless the component sent one), the same body with a fresh nonce.
pub fn curl_args(t: &Template, base_url: &str, nonce: u64) -> Vec<String> {
    let origin = base_url.trim_end_matches('/');
    let origin = origin.strip_suffix("/api/v10").unwrap_or(origin);
    let mut a: Vec<String> = ["-sS", "--fail", "-o", "/dev/null", "-X", "POST"]
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    a.push(format!("{origin}{}", t.path));
    for (k, v) in &t.headers {
        a.push("-H".into());
        a.push(format!("{k}: {v}"));
    }
    if !t.headers.iter().any(|(k, _)| k == "accept") {
        a.push("-H".into());
        a.push("Accept:".into());
    }
    a.push("--data-binary".into());
    a.push(String::from_utf8(t.body_bytes(nonce).to_vec()).expect("utf-8"));
    a
}

/// Differences between two recorded requests, ignoring the nonce.
pub fn request_diff(a: &RecordedRequest, b: &RecordedRequest) -> Vec<String> {
    let mut d = Vec::new();
    if a.method != b.method || a.path != b.path {
        d.push(format!(
            "{} {} vs {} {}",
            a.method, a.path, b.method, b.path
        ));
    }
    let mut ha = a.headers.clone();
    let mut hb = b.headers.clone();
    ha.sort();
    hb.sort();
    for h in &ha {
        if !hb.contains(h) {
            d.push(format!("only the component sent {}: {}", h.0, h.1));
        }
    }
    for h in &hb {
        if !ha.contains(h) {
            d.push(format!("only the baseline sent {}: {}", h.0, h.1));
        }
    }
    let strip = |v: &Option<Value>| {
        let mut v = v.clone().unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("nonce");
        }
        v
    };
    if strip(&a.body) != strip(&b.body) {
        d.push("bodies differ beyond the nonce".into());
    }
    d
}

pub type Sender = SendRequest<Full<Bytes>>;

/// A new HTTP/1.1 connection: plain `TcpStream::connect(authority)` (no TCP_NODELAY), hyper's
/// default http1 handshake. The keep-alive baseline keeps one per worker; the new-connection
/// baseline opens one per request, as the host did before it pooled connections
/// (`wasmtime_wasi_http::default_send_request`).
pub async fn connect(authority: &str) -> Sender {
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("connect");
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

/// One create-message over `sender`; reads the whole answer and the new message's id, as the
/// component does.
pub async fn native_post(sender: &mut Sender, t: &Template, nonce: u64) {
    let body = t.body_bytes(nonce);
    let mut b = hyper::Request::post(t.path.as_str()).header("host", t.authority.as_str());
    for (k, v) in &t.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let req = b
        .header("content-length", body.len())
        .body(Full::new(body))
        .expect("request");
    sender.ready().await.expect("connection ready");
    let resp = sender.send_request(req).await.expect("send");
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("response body")
        .to_bytes();
    let v: Value = serde_json::from_slice(&bytes).expect("response json");
    assert!(
        status.is_success() && v["id"].is_string(),
        "native post answered {status}: {v}"
    );
}

/// Who sends a round's posts.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Mode {
    /// `Runtime::post`: a fresh instance per call; the host pools connections per origin.
    Library,
    /// The native client, one connection per worker, kept alive (the goal's baseline).
    NativeKeepAlive,
    /// The native client, a new connection per request (a second baseline).
    NativeNew,
}

pub struct Ctx {
    pub runtime: Runtime,
    pub cfg: CallConfig,
    pub template: Template,
    pub nonce: AtomicU64,
}

/// `n` posts with `conc` workers; returns elapsed time and every call's latency.
pub async fn round(ctx: &Arc<Ctx>, mode: Mode, n: usize, conc: usize) -> (Duration, Vec<Duration>) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..conc {
        let (ctx, next) = (ctx.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut keep: Option<Sender> = None;
            let message = Message::Text("bench alert".into());
            let params = Params::default();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let t = Instant::now();
                match mode {
                    Mode::Library => {
                        let r = ctx.runtime.post(&ctx.cfg, &message, &params).await;
                        assert!(
                            matches!(&r, Ok(r) if r.message_ids.len() == 1),
                            "library post: {r:?}"
                        );
                    }
                    Mode::NativeNew => {
                        let mut s = connect(&ctx.template.authority).await;
                        let nonce = ctx.nonce.fetch_add(1, Ordering::Relaxed);
                        native_post(&mut s, &ctx.template, nonce).await;
                    }
                    Mode::NativeKeepAlive => {
                        if keep.is_none() {
                            keep = Some(connect(&ctx.template.authority).await);
                        }
                        let nonce = ctx.nonce.fetch_add(1, Ordering::Relaxed);
                        native_post(keep.as_mut().expect("conn"), &ctx.template, nonce).await;
                    }
                }
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    ctx.runtime.take_guest_log();
    (elapsed, lat)
}
