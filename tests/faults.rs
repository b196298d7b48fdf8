//! Discord misbehaving under `alerter post`: rate limits, 5xx, lost and dropped responses,
//! Cloudflare bans and a delivery deadline. One alert in, exactly one message out (or a clear
//! failure), never a retry storm.

use std::time::{Duration, Instant};

use alerter_e2e::*;

fn on_create(kind: FaultKind) -> Fault {
    Fault {
        method: Some("POST".into()),
        path_contains: Some("/messages".into()),
        times: 1,
        kind,
    }
}

/// Posts one plain alert with the default config; returns the output.
async fn post(emu: &Emulator, tag: &str, body: &str) -> std::process::Output {
    let (home, cfg) = setup(emu, tag);
    run_async(&home, &["--config", &cfg, "post", "--body", body], None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_is_waited_out_then_delivered_once() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    emu.push_fault(on_create(FaultKind::RateLimited {
        retry_after: 0.8,
        global: false,
    }));
    let o = post(&emu, "fault-429", "after a rate limit").await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["content"], "after a rate limit");
    let posts = message_posts(&emu);
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    let waited = posts[1].at_ms - posts[0].at_ms;
    assert!(
        waited >= 800,
        "retried after {waited} ms, before retry_after (800 ms)"
    );
    assert!(waited < 5_000, "waited {waited} ms for a 0.8 s rate limit");
    assert_eq!(
        posts[0].body, posts[1].body,
        "the retry is the same request (same nonce)"
    );
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn global_rate_limit_is_waited_out_too() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    emu.push_fault(on_create(FaultKind::RateLimited {
        retry_after: 0.3,
        global: true,
    }));
    let o = post(&emu, "fault-429-global", "after a global rate limit").await;
    assert_exit(&o, 0);
    assert_eq!(emu.messages(&emu.default_channel_id()).len(), 1);
    let posts = message_posts(&emu);
    assert_eq!(posts.len(), 2);
    assert!(posts[1].at_ms - posts[0].at_ms >= 300);
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_until_delivered_once() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    emu.push_fault(on_create(FaultKind::Status {
        status: 500,
        code: None,
    }));
    emu.push_fault(on_create(FaultKind::Status {
        status: 502,
        code: None,
    }));
    let o = post(&emu, "fault-5xx", "after two server errors").await;
    assert_exit(&o, 0);
    assert_eq!(emu.messages(&emu.default_channel_id()).len(), 1);
    let statuses: Vec<u16> = message_posts(&emu).iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![500, 502, 200]);
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn overloaded_130000_is_retried() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    emu.push_fault(on_create(FaultKind::Status {
        status: 503,
        code: Some(130000),
    }));
    let o = post(&emu, "fault-130000", "after an overload").await;
    assert_exit(&o, 0);
    assert_eq!(emu.messages(&emu.default_channel_id()).len(), 1);
    assert_eq!(message_posts(&emu).len(), 2);
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_response_does_not_duplicate_the_message() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    emu.push_fault(on_create(FaultKind::LoseResponse));
    let o = post(&emu, "fault-lose", "response lost on the way back").await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(
        stored.len(),
        1,
        "the retry must not post a second copy: {stored:#?}"
    );
    let posts = message_posts(&emu);
    assert_eq!(posts.len(), 2, "the lost response is retried");
    assert_eq!(posts[0].status, 0);
    let nonce = |r: &RecordedRequest| r.body.as_ref().unwrap()["nonce"].clone();
    assert!(nonce(&posts[0]).is_string());
    assert_eq!(nonce(&posts[0]), nonce(&posts[1]));
    assert_eq!(posts[1].body.as_ref().unwrap()["enforce_nonce"], true);
    assert!(
        stdout(&o).contains(stored[0]["id"].as_str().unwrap()),
        "the receipt names the one stored message: {}",
        stdout(&o)
    );
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_response_of_a_later_part_does_not_duplicate_it() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    // Lose the response of the second create (the first continuation part).
    emu.push_fault(on_create(FaultKind::Delay { ms: 0 }));
    emu.push_fault(on_create(FaultKind::LoseResponse));
    let (home, cfg) = setup(&emu, "fault-lose-part");
    let body: String = (0..150)
        .map(|i| format!("log line {i:04}: all quiet on the western front\n"))
        .collect();
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--title",
            "Long log",
            "--body-file",
            "-",
            "--json",
        ],
        Some(&body),
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert!(stored.len() >= 2);
    assert_eq!(
        receipt_ids(&stdout_json(&o)),
        stored_ids(&stored),
        "no duplicate part was stored"
    );
    assert_lines_in_order(&descriptions(&stored), &body);
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_connection_is_retried() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    emu.push_fault(on_create(FaultKind::DropConnection));
    let o = post(&emu, "fault-drop", "after a dropped connection").await;
    assert_exit(&o, 0);
    assert_eq!(emu.messages(&emu.default_channel_id()).len(), 1);
    assert_eq!(message_posts(&emu).len(), 2);
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudflare_ban_fails_without_retrying() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    emu.push_fault(Fault {
        times: 50,
        ..on_create(FaultKind::CloudflareBan)
    });
    let o = post(&emu, "fault-cloudflare", "banned").await;
    assert_exit(&o, 3);
    let line = error_line(&o);
    assert!(line.contains("429"), "{line}");
    assert_eq!(emu.requests().len(), 1, "a Cloudflare ban is not retried");
    assert!(emu.messages(&emu.default_channel_id()).is_empty());
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_longer_than_the_deadline_fails_fast() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("fault-deadline");
    let cfg = config_with(
        &emu,
        &home,
        Some(&emu.token()),
        "delivery_deadline_seconds = 1",
    );
    let cfg = cfg.to_str().unwrap();
    // Warm the compile cache (a usage error sends nothing), so the timing below is the call's.
    let warm = run_async(&home, &["--config", cfg, "post"], None).await;
    assert_exit(&warm, 2);
    emu.push_fault(Fault {
        times: 50,
        ..on_create(FaultKind::RateLimited {
            retry_after: 5.0,
            global: false,
        })
    });
    let started = Instant::now();
    let o = run_async(&home, &["--config", cfg, "post", "--body", "x"], None).await;
    let took = started.elapsed();
    assert_exit(&o, 3);
    assert!(
        took < Duration::from_secs(3),
        "took {took:?} with a 1 s delivery deadline"
    );
    let line = error_line(&o).to_lowercase();
    assert!(line.contains("rate limited"), "{line}");
    assert!(emu.messages(&emu.default_channel_id()).is_empty());
    assert!(
        message_posts(&emu).len() <= 2,
        "{} requests",
        message_posts(&emu).len()
    );
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_response_is_a_transport_error_not_a_dead_guest() {
    // A 40 MB "answer": read whole, it would exhaust the component's 64 MiB of memory and
    // stop it. Capped at 8 MiB it is a transport error, retried like any other, and the
    // create's nonce keeps the retry from posting twice.
    let emu = Emulator::start(Options::default()).await.unwrap();
    emu.push_fault(on_create(FaultKind::Oversized { bytes: 40 << 20 }));
    let o = post(&emu, "fault-huge", "after a huge answer").await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["content"], "after a huge answer");
    assert_eq!(
        message_posts(&emu).len(),
        2,
        "the huge answer, then the retry"
    );
}
