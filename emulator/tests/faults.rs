//! Injected faults over real HTTP: 429s, Cloudflare bans, 5xx, dropped and lost responses,
//! delays, malformed JSON, and how faults are matched and consumed.

mod common;

use std::time::{Duration, Instant};

use alerter_emulator::{Fault, FaultKind};
use common::{assert_clean, start};
use serde_json::json;

fn on_post_messages(kind: FaultKind) -> Fault {
    Fault {
        method: Some("POST".into()),
        path_contains: Some("/messages".into()),
        times: 1,
        kind,
    }
}

#[tokio::test]
async fn rate_limited_fault_looks_like_discord() {
    let (emu, c) = start().await;
    let path = format!("/channels/{}/messages", emu.default_channel_id());
    emu.push_fault(on_post_messages(FaultKind::RateLimited {
        retry_after: 1.5,
        global: false,
    }));
    let r = c.post(&path, &json!({"content": "x"})).await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.json(),
        json!({"message": "You are being rate limited.", "retry_after": 1.5, "global": false, "code": 0})
    );
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.header("retry-after").as_deref(), Some("2"));
    assert_eq!(r.header("x-ratelimit-scope").as_deref(), Some("user"));
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(
        r.header("x-ratelimit-reset-after").as_deref(),
        Some("1.500")
    );
    assert!(r.header("x-ratelimit-limit").is_some());
    assert!(r.header("x-ratelimit-reset").is_some());
    assert!(r.header("x-ratelimit-bucket").is_some());
    assert!(r.header("x-ratelimit-global").is_none());
    assert!(
        emu.messages(&emu.default_channel_id()).is_empty(),
        "not processed"
    );

    emu.push_fault(Fault::new(FaultKind::RateLimited {
        retry_after: 0.25,
        global: true,
    }));
    let r = c.get("/users/@me").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["global"], true);
    assert_eq!(r.header("x-ratelimit-global").as_deref(), Some("true"));
    assert_eq!(r.header("x-ratelimit-scope").as_deref(), Some("global"));
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));

    // The fault was used up: the retry succeeds.
    assert_eq!(c.post(&path, &json!({"content": "x"})).await.status, 200);
    let statuses: Vec<u16> = emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 429, 200]);
    assert_clean(&emu);
}

#[tokio::test]
async fn cloudflare_ban_is_html_without_rate_limit_headers() {
    let (emu, c) = start().await;
    emu.push_fault(Fault::new(FaultKind::CloudflareBan));
    let r = c.get("/users/@me").await;
    assert_eq!(r.status, 429);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(String::from_utf8_lossy(&r.body).contains("<html"));
    for (name, _) in &r.headers {
        assert!(
            !name.as_str().starts_with("x-ratelimit") && name.as_str() != "retry-after",
            "unexpected {name}"
        );
    }
    assert_clean(&emu);
}

#[tokio::test]
async fn status_faults_give_json_errors() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let path = format!("/channels/{ch}/messages");
    emu.push_fault(Fault {
        times: 2,
        ..on_post_messages(FaultKind::Status {
            status: 500,
            code: None,
        })
    });
    for _ in 0..2 {
        let r = c.post(&path, &json!({"content": "x"})).await;
        assert_eq!(r.status, 500);
        assert_eq!(
            r.json(),
            json!({"code": 0, "message": "500: Internal Server Error"})
        );
        assert!(r.header("x-ratelimit-limit").is_some());
    }
    emu.push_fault(Fault::new(FaultKind::Status {
        status: 503,
        code: Some(130000),
    }));
    let r = c.post(&path, &json!({"content": "x"})).await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.json(),
        json!({"code": 130000, "message": "API resource is currently overloaded. Try again later"})
    );
    emu.push_fault(Fault::new(FaultKind::Status {
        status: 524,
        code: None,
    }));
    let r = c.get("/users/@me").await;
    assert_eq!(r.status, 524);
    assert_eq!(r.json()["message"], "524: A timeout occurred");
    assert!(
        emu.messages(&ch).is_empty(),
        "failed requests are not processed"
    );
    assert_eq!(c.post(&path, &json!({"content": "x"})).await.status, 200);
    assert_clean(&emu);
}

#[tokio::test]
async fn lose_response_stores_the_message_but_answers_nothing() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let path = format!("/channels/{ch}/messages");
    emu.push_fault(on_post_messages(FaultKind::LoseResponse));
    let r = c
        .try_send("POST", &path, Some(&json!({"content": "lost"})))
        .await;
    assert!(r.is_err(), "expected no response, got {r:?}");
    let stored = emu.messages(&ch);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["content"], "lost");
    assert_eq!(emu.requests()[0].status, 0);
    // A retry with an enforced nonce would then find the message; without one it duplicates.
    assert_eq!(c.post(&path, &json!({"content": "lost"})).await.status, 200);
    assert_eq!(emu.messages(&ch).len(), 2);
    assert_clean(&emu);
}

#[tokio::test]
async fn lose_response_then_nonce_retry_is_deduplicated() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let path = format!("/channels/{ch}/messages");
    let body = json!({"content": "alert", "nonce": "a1", "enforce_nonce": true});
    emu.push_fault(on_post_messages(FaultKind::LoseResponse));
    assert!(c.try_send("POST", &path, Some(&body)).await.is_err());
    let r = c.post(&path, &body).await;
    assert_eq!(r.status, 200);
    let stored = emu.messages(&ch);
    assert_eq!(stored.len(), 1);
    assert_eq!(r.json()["id"], stored[0]["id"]);
    assert_clean(&emu);
}

#[tokio::test]
async fn drop_connection_does_not_process() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let path = format!("/channels/{ch}/messages");
    emu.push_fault(on_post_messages(FaultKind::DropConnection));
    let r = c
        .try_send("POST", &path, Some(&json!({"content": "dropped"})))
        .await;
    assert!(r.is_err(), "expected no response, got {r:?}");
    assert!(emu.messages(&ch).is_empty());
    let recorded = emu.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].status, 0);
    assert_eq!(recorded[0].body, Some(json!({"content": "dropped"})));
    assert_eq!(
        c.post(&path, &json!({"content": "again"})).await.status,
        200
    );
    assert_clean(&emu);
}

#[tokio::test]
async fn delay_then_normal_answer() {
    let (emu, c) = start().await;
    emu.push_fault(Fault::new(FaultKind::Delay { ms: 300 }));
    let t = Instant::now();
    let r = c.get("/users/@me").await;
    assert_eq!(r.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_clean(&emu);
}

#[tokio::test]
async fn malformed_json_is_a_truncated_200() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    emu.push_fault(on_post_messages(FaultKind::MalformedJson));
    let r = c
        .post(
            &format!("/channels/{ch}/messages"),
            &json!({"content": "x"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert!(!r.body.is_empty());
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    assert_eq!(emu.messages(&ch).len(), 1, "processed");
    assert_clean(&emu);
}

#[tokio::test]
async fn faults_match_by_filter_in_push_order() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    emu.push_fault(on_post_messages(FaultKind::Status {
        status: 502,
        code: None,
    }));
    emu.push_fault(Fault {
        method: Some("get".into()),
        path_contains: None,
        times: 1,
        kind: FaultKind::Status {
            status: 504,
            code: None,
        },
    });
    emu.push_fault(Fault::new(FaultKind::Status {
        status: 500,
        code: None,
    }));
    // A GET skips the POST-only fault and takes the GET one.
    assert_eq!(c.get("/users/@me").await.status, 504);
    // The next GET takes the catch-all.
    assert_eq!(c.get("/users/@me").await.status, 500);
    // The POST one is still waiting.
    assert_eq!(c.get("/users/@me").await.status, 200);
    let r = c
        .post(
            &format!("/channels/{ch}/messages"),
            &json!({"content": "x"}),
        )
        .await;
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["message"], "502: Bad Gateway");
    assert_clean(&emu);
}
