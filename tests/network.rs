//! The host's network side end to end, with the Discord component and the emulator: calls of
//! one runtime share kept-alive connections, and what Discord's rate-limit headers said in
//! earlier calls paces later ones, so a burst meets no 429. (That each reused request is
//! still allow-listed is in `sandbox.rs`, with the hostile component.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use alerter_e2e::{message_posts, resolve_call, scratch, spec_for, Emulator, Options};
use alerter_host::runtime::{Instances, EMBEDDED_COMPONENT};
use alerter_host::types::{AskSettings, Decision, Message, Params};
use alerter_host::{CallConfig, Runtime};

fn call_config(emu: &Emulator) -> CallConfig {
    resolve_call(&spec_for(emu), &scratch("network-home"))
}

/// A runtime of the test's own (the connection and rate-limit counts are per runtime).
fn runtime() -> Runtime {
    Runtime::from_bytes_with(EMBEDDED_COMPONENT, Instances::OnDemand).expect("component loads")
}

fn text(s: &str) -> Message {
    Message::Text(s.into())
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_of_one_runtime_share_one_kept_alive_connection() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = call_config(&emu);
    let rt = runtime();
    for i in 0..5 {
        rt.post(&cfg, &text(&format!("alert {i}")), &Params::default())
            .await
            .expect("posted");
    }
    let requests = emu.requests();
    assert_eq!(message_posts(&emu).len(), 5);
    let first = requests[0].connection;
    assert!(
        requests.iter().all(|r| r.connection == first),
        "requests spread over connections {:?}",
        requests.iter().map(|r| r.connection).collect::<Vec<_>>()
    );
    assert_eq!(emu.connections(), 1);
    assert_eq!(rt.connections_opened(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ask_that_polls_for_seconds_uses_one_connection() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = call_config(&emu);
    let rt = runtime();
    let params = Params {
        ask: Some(AskSettings {
            timeout_ms: Some(3000),
            poll_interval_ms: Some(200),
            ..AskSettings::default()
        }),
        ..Params::default()
    };
    let answer = rt
        .ask(&cfg, &text("Deploy?"), &params, Duration::from_secs(3))
        .await
        .expect("asked");
    assert_eq!(answer.decision, Decision::TimedOut);
    let requests = emu.requests();
    assert!(requests.len() >= 8, "only {} requests", requests.len());
    assert_eq!(
        emu.connections(),
        1,
        "{} requests over {} connections",
        requests.len(),
        emu.connections()
    );
}

/// Ten posts to one channel at once against a limiter of 3 per second per channel.
async fn burst(emu: &Emulator, runtimes: &[Arc<Runtime>]) -> Duration {
    let cfg = call_config(emu);
    let started = Instant::now();
    let posts: Vec<_> = (0..10)
        .map(|i| {
            let rt = runtimes[i % runtimes.len()].clone();
            let cfg = cfg.clone();
            tokio::spawn(async move {
                rt.post(&cfg, &text(&format!("burst {i}")), &Params::default())
                    .await
            })
        })
        .collect();
    for p in posts {
        p.await.unwrap().expect("every post is delivered");
    }
    started.elapsed()
}

fn limited() -> Options {
    Options {
        rate_limiter: true,
        bucket_limit: 3,
        bucket_window_ms: 1000,
        ..Options::default()
    }
}

fn answered_429(emu: &Emulator) -> usize {
    emu.requests().iter().filter(|r| r.status == 429).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_over_one_runtime_waits_on_the_learned_bucket_and_meets_no_429() {
    let emu = Emulator::start(limited()).await.unwrap();
    let took = burst(&emu, &[Arc::new(runtime())]).await;
    assert_eq!(emu.messages(&emu.default_channel_id()).len(), 10);
    assert_eq!(message_posts(&emu).len(), 10, "one request per message");
    assert_eq!(answered_429(&emu), 0, "{:?}", emu.requests());
    // 10 creates at 3 per window need 4 windows: the waits really happened.
    assert!(took >= Duration::from_millis(2900), "took {took:?}");
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_burst_over_separate_runtimes_meets_429s() {
    // The control for the test above: without shared knowledge each call learns the bucket
    // from a 429 (the guest still waits it out and delivers).
    let emu = Emulator::start(limited()).await.unwrap();
    let runtimes: Vec<_> = (0..10).map(|_| Arc::new(runtime())).collect();
    burst(&emu, &runtimes).await;
    assert_eq!(emu.messages(&emu.default_channel_id()).len(), 10);
    assert!(answered_429(&emu) > 0, "no 429 without shared knowledge");
}
