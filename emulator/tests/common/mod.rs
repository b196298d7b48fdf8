//! A tiny HTTP/1 client over loopback for the emulator tests (hyper's low-level client, one
//! connection per request), helpers to start emulators, and the helpers several test files
//! share (posting a message, executing a webhook).
#![allow(dead_code)]

use std::net::SocketAddr;

use alerter_emulator::{Emulator, Options, Webhook};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// The User-Agent Discord asks for.
pub const UA: &str = "DiscordBot (https://example.invalid/alerter, 0.1.0)";

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: hyper::HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header value as a string.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }
}

/// Sends one request on a fresh connection. `Err` when the connection closes without a response.
pub async fn send_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Result<Resp, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let req = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| format!("request: {e}"))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// A bot client of one emulator: sends `Authorization: Bot <token>` and a proper User-Agent.
#[derive(Clone)]
pub struct Client {
    /// The emulator's address.
    pub addr: SocketAddr,
    /// The bot token sent.
    pub token: String,
}

impl Client {
    /// A client with the emulator's address and bot token.
    pub fn new(emu: &Emulator) -> Client {
        Client {
            addr: emu.addr(),
            token: emu.token(),
        }
    }

    /// `path` is relative to `/api/v10`.
    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Resp, String> {
        let auth = format!("Bot {}", self.token);
        let mut headers = vec![("authorization", auth.as_str()), ("user-agent", UA)];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let body = body.map(|b| serde_json::to_vec(b).expect("serializable"));
        send_raw(
            self.addr,
            method,
            &format!("/api/v10{path}"),
            &headers,
            body,
        )
        .await
    }

    /// Like [`Client::try_send`], panicking if the request gets no response.
    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.try_send(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// `GET path` (relative to `/api/v10`).
    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send("POST", path, Some(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send("PATCH", path, Some(body)).await
    }

    /// `POST path` with a `multipart/form-data` body made by [`form`] with [`BOUNDARY`].
    pub async fn post_form(&self, path: &str, body: Vec<u8>) -> Resp {
        let auth = format!("Bot {}", self.token);
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        let headers = [
            ("authorization", auth.as_str()),
            ("user-agent", UA),
            ("content-type", ct.as_str()),
        ];
        send_raw(
            self.addr,
            "POST",
            &format!("/api/v10{path}"),
            &headers,
            Some(body),
        )
        .await
        .unwrap_or_else(|e| panic!("POST {path} (multipart): {e}"))
    }

    /// `PUT path` without a body.
    pub async fn put(&self, path: &str) -> Resp {
        self.send("PUT", path, None).await
    }
}

/// Starts an emulator with default options and a client for it.
pub async fn start() -> (Emulator, Client) {
    start_with(Options::default()).await
}

/// Starts an emulator with these options and a client for it.
pub async fn start_with(opts: Options) -> (Emulator, Client) {
    let emu = Emulator::start(opts).await.expect("emulator starts");
    let client = Client::new(&emu);
    (emu, client)
}

/// The ids of a list of messages (or users), in order.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_string())
        .collect()
}

/// Asserts no violations were recorded, printing them if there are.
pub fn assert_clean(emu: &Emulator) {
    let v = emu.violations();
    assert!(v.is_empty(), "violations: {v:#?}");
}

/// The boundary [`form`] uses.
pub const BOUNDARY: &str = "emulator-test-boundary-7MA4YWxkTrZu0gW";

/// A file part for [`form`]: (field, filename, content type, bytes).
pub type FilePart<'a> = (&'a str, &'a str, &'a str, &'a [u8]);

/// A `multipart/form-data` body as Discord documents it: a `payload_json` part (if any) and the
/// file parts, CRLF framed, with [`BOUNDARY`].
pub fn form(payload: Option<&Value>, files: &[FilePart<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(p) = payload {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(&serde_json::to_vec(p).expect("serializable"));
        out.extend_from_slice(b"\r\n");
    }
    for (field, filename, ct, bytes) in files {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// The messages route of a channel.
pub fn msgs(channel: &str) -> String {
    format!("/channels/{channel}/messages")
}

/// Posts a text message as the bot; returns its id.
pub async fn post_text(c: &Client, channel: &str, text: &str) -> String {
    let r = c.post(&msgs(channel), &json!({ "content": text })).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    r.json()["id"].as_str().expect("id").to_string()
}

/// The path of a webhook URL (after `http://127.0.0.1:PORT`).
pub fn path_of(emu: &Emulator, w: &Webhook) -> String {
    w.url
        .strip_prefix(&format!("http://{}", emu.addr()))
        .expect("a URL of this emulator")
        .to_string()
}

/// POSTs a JSON body to a webhook, as a careful client does: a User-Agent, no Authorization.
pub async fn execute(emu: &Emulator, w: &Webhook, query: &str, body: &Value) -> Resp {
    execute_with(emu, w, query, body, &[]).await
}

/// Like [`execute`], with extra headers.
pub async fn execute_with(
    emu: &Emulator,
    w: &Webhook,
    query: &str,
    body: &Value,
    extra: &[(&str, &str)],
) -> Resp {
    let mut headers = vec![("user-agent", UA), ("content-type", "application/json")];
    headers.extend_from_slice(extra);
    send_raw(
        emu.addr(),
        "POST",
        &format!("{}{query}", path_of(emu, w)),
        &headers,
        Some(serde_json::to_vec(body).unwrap()),
    )
    .await
    .expect("an answer")
}

/// POSTs a `multipart/form-data` body (made by [`form`]) to a webhook.
pub async fn execute_form(emu: &Emulator, w: &Webhook, query: &str, body: Vec<u8>) -> Resp {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    send_raw(
        emu.addr(),
        "POST",
        &format!("{}{query}", path_of(emu, w)),
        &[("user-agent", UA), ("content-type", ct.as_str())],
        Some(body),
    )
    .await
    .expect("an answer")
}

/// The newest stored message of a channel.
pub fn last(emu: &Emulator, channel: &str) -> Value {
    emu.messages(channel).pop().expect("a message")
}
