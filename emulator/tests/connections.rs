//! Connection accounting (kept-alive connections, their numbers in the recorded requests) and
//! the emulated network latency (`Options::latency_ms`).

mod common;

use std::time::{Duration, Instant};

use alerter_emulator::{Emulator, Fault, FaultKind, Options};
use bytes::Bytes;
use common::{assert_clean, send_raw, start, start_with, UA};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET /api/v10/users/@me` with the bot's credentials.
fn me_request(emu: &Emulator) -> Request<Full<Bytes>> {
    Request::builder()
        .uri("/api/v10/users/@me")
        .header("host", emu.addr().to_string())
        .header("authorization", format!("Bot {}", emu.token()))
        .header("user-agent", UA)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

#[tokio::test]
async fn requests_on_one_kept_alive_connection_share_its_number() {
    let (emu, c) = start().await;
    assert_eq!(emu.connections(), 0);

    // Connection 1: two requests through one hyper client connection.
    let stream = TcpStream::connect(emu.addr()).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    for _ in 0..2 {
        sender.ready().await.expect("the connection is still open");
        let resp = sender.send_request(me_request(&emu)).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let me: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(me["id"], json!(emu.bot().id));
    }
    assert_eq!(emu.connections(), 1);
    let recorded: Vec<u64> = emu.requests().iter().map(|r| r.connection).collect();
    assert_eq!(recorded, [1, 1]);
    drop(sender);
    let _ = conn.await;

    // Connection 2: two pipelined requests written at once on a raw socket; the second asks
    // the server to close, so the socket reads to its end.
    let mut raw = TcpStream::connect(emu.addr()).await.unwrap();
    let head = |close: &str| {
        format!(
            "GET /api/v10/users/@me HTTP/1.1\r\nhost: {}\r\nauthorization: Bot {}\r\nuser-agent: {UA}\r\n{close}\r\n",
            emu.addr(),
            emu.token()
        )
    };
    let both = head("") + &head("connection: close\r\n");
    raw.write_all(both.as_bytes()).await.unwrap();
    let mut answers = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), raw.read_to_end(&mut answers))
        .await
        .expect("the server closes after the second answer")
        .unwrap();
    let answers = String::from_utf8_lossy(&answers);
    assert_eq!(
        answers.matches("HTTP/1.1 200 OK\r\n").count(),
        2,
        "{answers}"
    );
    assert_eq!(emu.connections(), 2);
    let recorded: Vec<u64> = emu.requests().iter().map(|r| r.connection).collect();
    assert_eq!(recorded, [1, 1, 2, 2]);

    // Connection 3 and 4: one request each, the way `send_raw` connects. The control API's
    // connections count; its requests are not recorded.
    let listed = send_raw(c.addr, "GET", "/_emulator/requests", &[], None)
        .await
        .unwrap()
        .json();
    let listed: Vec<Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["connection"].clone())
        .collect();
    assert_eq!(listed, [json!(1), json!(1), json!(2), json!(2)]);
    assert_eq!(emu.connections(), 3);
    c.get("/users/@me").await;
    assert_eq!(emu.connections(), 4);
    assert_eq!(emu.requests().last().unwrap().connection, 4);
    let state = send_raw(c.addr, "GET", "/_emulator/state", &[], None)
        .await
        .unwrap()
        .json();
    assert_eq!(state["connections"], 5);
    assert_clean(&emu);
}

/// How long `f` takes.
async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let t = Instant::now();
    let out = f.await;
    (out, t.elapsed())
}

const LATENCY: Duration = Duration::from_millis(200);

#[tokio::test]
async fn latency_delays_every_api_answer_but_not_the_control_api() {
    let (emu, c) = start_with(Options {
        latency_ms: 200,
        ..Options::default()
    })
    .await;
    let (r, took) = timed(c.get("/users/@me")).await;
    assert_eq!(r.status, 200);
    assert!(took >= LATENCY, "a 200 took {took:?}");
    // Errors are delayed too: a route Discord does not have, and an injected 429.
    let (r, took) = timed(c.get("/nowhere")).await;
    assert_eq!(r.status, 404);
    assert!(took >= LATENCY, "a 404 took {took:?}");
    emu.push_fault(Fault {
        method: None,
        path_contains: Some("/users/@me".into()),
        times: 1,
        kind: FaultKind::RateLimited {
            retry_after: 0.5,
            global: false,
        },
    });
    let (r, took) = timed(c.get("/users/@me")).await;
    assert_eq!(r.status, 429);
    assert!(took >= LATENCY, "a 429 took {took:?}");

    let (state, took) = timed(send_raw(c.addr, "GET", "/_emulator/state", &[], None)).await;
    assert_eq!(state.unwrap().json()["latency_ms"], 200);
    assert!(took < LATENCY, "the control API took {took:?}");

    // Changed while serving, from Rust and through the control API.
    emu.set_latency_ms(0);
    let (r, took) = timed(c.get("/users/@me")).await;
    assert_eq!(r.status, 200);
    assert!(took < LATENCY, "without latency a 200 took {took:?}");
    let set = send_raw(
        c.addr,
        "PUT",
        "/_emulator/latency",
        &[("content-type", "application/json")],
        Some(br#"{"ms": 200}"#.to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(set.status, 204);
    let (_, took) = timed(c.get("/users/@me")).await;
    assert!(took >= LATENCY, "after PUT /latency a 200 took {took:?}");
    let bad = send_raw(
        c.addr,
        "PUT",
        "/_emulator/latency",
        &[("content-type", "application/json")],
        Some(br#"{"ms": -1}"#.to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(bad.status, 400);
    // The 404 above is a violation; nothing else is.
    assert_eq!(emu.violations().len(), 1, "{:?}", emu.violations());
}

#[tokio::test]
async fn no_latency_by_default() {
    let (emu, c) = start().await;
    let (r, took) = timed(c.get("/users/@me")).await;
    assert_eq!(r.status, 200);
    assert!(took < LATENCY, "a 200 took {took:?}");
    assert_clean(&emu);
}

#[tokio::test]
async fn latency_applies_on_a_kept_alive_connection_per_response() {
    let emu = Emulator::start(Options {
        latency_ms: 200,
        ..Options::default()
    })
    .await
    .unwrap();
    let stream = TcpStream::connect(emu.addr()).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let t = Instant::now();
    for _ in 0..2 {
        sender.ready().await.unwrap();
        let resp = sender.send_request(me_request(&emu)).await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.into_body().collect().await.unwrap();
    }
    let took = t.elapsed();
    assert!(took >= 2 * LATENCY, "two answers took {took:?}");
    assert_eq!(emu.connections(), 1);
    assert_clean(&emu);
}
