//! What a webhook execute is checked against, over real HTTP: what is a violation (the bot
//! token, create-only fields such as `nonce`, ...), bodies checked like creates, rate-limit
//! buckets per webhook, and faults.

mod common;

use alerter_emulator::{Fault, FaultKind, Options, Webhook};
use common::{assert_clean, execute, execute_with, last, path_of, send_raw, start, start_with, UA};
use serde_json::json;

#[tokio::test]
async fn the_bot_token_on_a_webhook_is_a_violation() {
    let (emu, _c) = start().await;
    let ch = emu.default_channel_id();
    let w = emu.add_webhook(&ch, "Alerter");
    let auth = format!("Bot {}", emu.token());
    let r = execute_with(
        &emu,
        &w,
        "?wait=true",
        &json!({"content": "x"}),
        &[("authorization", auth.as_str())],
    )
    .await;
    assert_eq!(r.status, 200, "accepted");
    assert_eq!(emu.messages(&ch).len(), 1);
    let v = emu.violations();
    assert_eq!(v.len(), 1, "{v:#?}");
    assert!(
        v[0].contains("a webhook execute carried the bot token"),
        "{v:#?}"
    );
    assert!(!v[0].contains(&w.token), "the token stays out: {v:#?}");
    assert!(!v[0].contains(&emu.token()), "{v:#?}");

    // Any other Authorization is noted too; the bot token is never needed.
    let r = execute_with(
        &emu,
        &w,
        "",
        &json!({"content": "y"}),
        &[("authorization", "Bearer abc")],
    )
    .await;
    assert_eq!(r.status, 204);
    let v = emu.violations();
    assert_eq!(v.len(), 2, "{v:#?}");
    assert!(v[1].contains("Authorization header"), "{v:#?}");
    // Even when the webhook is unknown.
    let unknown = Webhook {
        url: format!("{}/webhooks/1/{}", emu.base_url(), w.token),
        ..w.clone()
    };
    let r = execute_with(
        &emu,
        &unknown,
        "",
        &json!({"content": "z"}),
        &[("authorization", auth.as_str())],
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(emu.violations().len(), 3);
}

#[tokio::test]
async fn create_only_fields_are_violations_but_accepted() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let w = emu.add_webhook(&ch, "Alerter");
    let bot_msg = c
        .post(
            &format!("/channels/{ch}/messages"),
            &json!({"content": "a"}),
        )
        .await
        .json()["id"]
        .clone();
    let body = json!({
        "content": "x",
        "nonce": "k-1",
        "enforce_nonce": true,
        "message_reference": {"message_id": bot_msg},
    });
    let r = execute(&emu, &w, "?wait=true", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let m = r.json();
    assert!(m.get("nonce").is_none());
    assert_eq!(m["type"], 0, "not a reply: webhooks cannot reply");
    assert!(m.get("message_reference").is_none());
    let v = emu.violations();
    assert_eq!(v.len(), 3, "{v:#?}");
    for key in ["nonce", "enforce_nonce", "message_reference"] {
        assert!(
            v.iter().any(|s| s.contains(&format!("\"{key}\""))),
            "{key}: {v:#?}"
        );
    }
    // No deduplication: the same nonce again posts again.
    let r = execute(
        &emu,
        &w,
        "",
        &json!({"content": "x", "nonce": "k-1", "enforce_nonce": true}),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(emu.messages(&ch).len(), 3);
}

#[tokio::test]
async fn bodies_are_checked_like_creates() {
    let (emu, _c) = start().await;
    let ch = emu.default_channel_id();
    let w = emu.add_webhook(&ch, "Alerter");
    let cases = [
        (json!({"content": "x".repeat(2001)}), 50035, "content"),
        (json!({"content": ""}), 50006, ""),
        (json!({}), 50006, ""),
        (
            json!({"content": "x", "username": "u".repeat(81)}),
            50035,
            "username",
        ),
        (json!({"content": "x", "username": ""}), 50035, "username"),
        (json!({"content": 5}), 50035, "content"),
        (
            json!({"embeds": (0..11).map(|i| json!({"title": format!("t{i}")})).collect::<Vec<_>>()}),
            50035,
            "embeds",
        ),
        (
            json!({"embeds": [{"description": "d".repeat(4096)}, {"description": "e".repeat(2000)}]}),
            50035,
            "embeds",
        ),
    ];
    for (i, (body, code, field)) in cases.iter().enumerate() {
        let r = execute(&emu, &w, "?wait=true", body).await;
        assert_eq!(r.status, 400, "case {i}");
        assert_eq!(r.json()["code"], *code, "case {i}: {:?}", r.json());
        if !field.is_empty() {
            assert!(
                r.json()["errors"][field].is_object(),
                "case {i}: {:?}",
                r.json()
            );
        }
        assert_eq!(emu.violations().len(), i + 1, "case {i}");
    }
    assert!(emu.messages(&ch).is_empty());

    // Components need ?with_components=true; without it they are ignored (and noted).
    let row = json!([{"type": 1, "components": [{"type": 2, "style": 5, "label": "runbook", "url": "https://example.com/rb"}]}]);
    let before = emu.violations().len();
    let r = execute(
        &emu,
        &w,
        "?wait=true",
        &json!({"content": "x", "components": row}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["components"], json!([]));
    assert_eq!(emu.violations().len(), before + 1);
    let r = execute(
        &emu,
        &w,
        "?wait=true&with_components=true",
        &json!({"content": "x", "components": row}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["components"][0]["components"][0]["label"],
        "runbook"
    );
    assert_eq!(emu.violations().len(), before + 1);
}

#[tokio::test]
async fn each_webhook_has_its_own_bucket() {
    let (emu, c) = start_with(Options {
        rate_limiter: true,
        ..Options::default()
    })
    .await;
    let ch = emu.default_channel_id();
    let w1 = emu.add_webhook(&ch, "one");
    let w2 = emu.add_webhook(&ch, "two");
    let mut remaining = Vec::new();
    for i in 0..5 {
        let r = execute(&emu, &w1, "", &json!({"content": format!("m{i}")})).await;
        assert_eq!(r.status, 204, "{i}");
        remaining.push(r.header("x-ratelimit-remaining").unwrap());
    }
    assert_eq!(remaining, ["4", "3", "2", "1", "0"]);
    let limited = execute(&emu, &w1, "", &json!({"content": "m5"})).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["global"], false);
    assert!(limited.header("retry-after").is_some());
    // Another webhook on the same channel, and the bot's creates there, are other buckets.
    let r = execute(&emu, &w2, "?wait=true", &json!({"content": "w2"})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("4"));
    assert_eq!(
        r.header("x-ratelimit-bucket"),
        limited.header("x-ratelimit-bucket"),
        "one route, one bucket hash"
    );
    let create = c
        .post(
            &format!("/channels/{ch}/messages"),
            &json!({"content": "bot"}),
        )
        .await;
    assert_eq!(create.status, 200);
    assert_ne!(
        create.header("x-ratelimit-bucket"),
        r.header("x-ratelimit-bucket")
    );
    // A wrong token does not use up the bucket.
    let bad = Webhook {
        url: format!("{}/webhooks/{}/nope", emu.base_url(), w2.id),
        ..w2.clone()
    };
    for _ in 0..6 {
        assert_eq!(
            execute(&emu, &bad, "", &json!({"content": "x"}))
                .await
                .status,
            401
        );
    }
    let r = execute(&emu, &w2, "", &json!({"content": "w2 again"})).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("3"));
    assert_eq!(emu.messages(&ch).len(), 8);
    assert_clean(&emu);
}

#[tokio::test]
async fn faults_apply_to_webhook_executes() {
    let (emu, _c) = start().await;
    let ch = emu.default_channel_id();
    let w = emu.add_webhook(&ch, "Alerter");
    emu.push_fault(Fault {
        method: Some("POST".into()),
        path_contains: Some("/webhooks/".into()),
        times: 1,
        kind: FaultKind::Status {
            status: 503,
            code: None,
        },
    });
    emu.push_fault(Fault {
        method: Some("POST".into()),
        path_contains: Some(format!("/webhooks/{}", w.id)),
        times: 1,
        kind: FaultKind::RateLimited {
            retry_after: 0.5,
            global: false,
        },
    });
    let r = execute(&emu, &w, "?wait=true", &json!({"content": "x"})).await;
    assert_eq!(r.status, 503);
    let r = execute(&emu, &w, "?wait=true", &json!({"content": "x"})).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["retry_after"], 0.5);
    assert!(emu.messages(&ch).is_empty(), "not processed");
    // A lost response: processed, never answered.
    emu.push_fault(Fault::new(FaultKind::LoseResponse));
    let lost = send_raw(
        emu.addr(),
        "POST",
        &format!("{}?wait=true", path_of(&emu, &w)),
        &[("user-agent", UA), ("content-type", "application/json")],
        Some(br#"{"content":"lost"}"#.to_vec()),
    )
    .await;
    assert!(lost.is_err());
    assert_eq!(last(&emu, &ch)["content"], "lost");
    let r = execute(&emu, &w, "?wait=true", &json!({"content": "fine"})).await;
    assert_eq!(r.status, 200);
    assert_clean(&emu);
}
