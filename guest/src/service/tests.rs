//! `post`, `check` and delivery over the scripted transport, and the golden request bodies.

use super::*;
use crate::bindings::AlerterMessage;
use crate::discord::fake::FakeTransport;

fn settings() -> Settings {
    Settings::from_lookup(|k| {
        Ok(match k {
            "api_base_url" => Some("http://127.0.0.1:1/api/v10".into()),
            "default_discord_channel_id" => Some("111111111111111111".into()),
            _ => None,
        })
    })
    .unwrap()
}

fn params(channel: Option<&str>) -> Params {
    Params {
        channel_id: channel.map(String::from),
        ..Params::default()
    }
}

fn created(id: &str) -> String {
    format!(r#"{{"id":"{id}","channel_id":"111111111111111111"}}"#)
}

#[test]
fn channel_param_beats_default_and_is_validated_before_any_request() {
    let svc = Service::new(settings(), "t", FakeTransport::new());
    assert_eq!(svc.channel(&params(None)).unwrap(), "111111111111111111");
    assert_eq!(
        svc.channel(&params(Some("222222222222222222"))).unwrap(),
        "222222222222222222"
    );
    let mut svc = Service::new(settings(), "t", FakeTransport::new());
    let err = svc
        .post(&Message::Text("x".into()), &params(Some("general")))
        .unwrap_err();
    assert!(matches!(err, AlertError::InvalidInput(m) if m.contains("general")));
    assert!(svc.client.transport_ref().sent.is_empty());
}

#[test]
fn no_channel_anywhere_is_a_config_error() {
    let s = Settings {
        default_channel: None,
        ..settings()
    };
    let svc = Service::new(s, "t", FakeTransport::new());
    assert!(matches!(
        svc.channel(&params(None)),
        Err(AlertError::InvalidConfig(_))
    ));
}

#[test]
fn long_post_sends_parts_in_order_as_replies_with_distinct_nonces() {
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001"))
        .reply(200, &created("900000000000000002"))
        .reply(200, &created("900000000000000003"));
    let mut svc = Service::new(settings(), "t", t);
    let body = "x".repeat(12_000); // 4 chunks of <= 3900: 1 + 1 + 2 per message
    let msg = Message::Structured(AlerterMessage {
        title: Some("big".into()),
        body: Some(body),
        metadata: vec![],
        images: vec![],
    });
    let receipt = svc.post(&msg, &params(None)).unwrap();
    assert_eq!(receipt.message_ids.len(), 3);
    let sent = &svc.client.transport_ref().sent;
    let bodies: Vec<serde_json::Value> = sent
        .iter()
        .map(|(r, _)| serde_json::from_slice(r.body.as_ref().unwrap()).unwrap())
        .collect();
    assert!(bodies[0].get("message_reference").is_none());
    for b in &bodies[1..] {
        assert_eq!(b["message_reference"]["message_id"], "900000000000000001");
    }
    let nonces: std::collections::HashSet<_> = bodies
        .iter()
        .map(|b| b["nonce"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(nonces.len(), 3);
    assert!(nonces.iter().all(|n| n.len() <= 25));
    assert!(bodies.iter().all(|b| b["enforce_nonce"] == true));
}

#[test]
fn the_delivery_deadline_bounds_all_parts_together() {
    // Part 1 spends 3 s waiting out a 429; part 2 then meets nothing but 502s. Per-request
    // deadlines would allow ~3 + 5 s; one delivery deadline stops at 5 s.
    let mut t = FakeTransport::new();
    t.reply(
        429,
        r#"{"message":"slow","retry_after":3.0,"global":false,"code":0}"#,
    )
    .reply(200, &created("900000000000000001"));
    t.fallback = Some(crate::discord::fake::response(502, "bad gateway", &[]));
    let s = Settings {
        delivery_deadline_ms: 5_000,
        // Split into parts, not sent as a file.
        long_body_max_parts: 0,
        ..settings()
    };
    let mut svc = Service::new(s, "t", t);
    let start = svc.client.transport_ref().now;
    let msg = Message::Structured(AlerterMessage {
        title: Some("big".into()),
        body: Some("y".repeat(20_000)),
        metadata: vec![],
        images: vec![],
    });
    assert!(svc.post(&msg, &params(None)).is_err());
    let spent = svc.client.transport_ref().now - start;
    assert!(spent <= 5_000_000_000, "took {spent} ns for a 5 s deadline");
}

/// The exact bytes of every create-message request of one structured post (fixed clock
/// and nonce), against `guest/tests/golden/post_structured.json`: a JSON array whose
/// elements are the request bodies exactly as sent.
#[test]
fn a_structured_post_sends_the_golden_request_bodies() {
    use crate::bindings::{MetadataEntry, MetadataValue, Payload, Severity};
    const GOLDEN: &str = include_str!("../../tests/golden/post_structured.json");
    let log: String = (1..=240)
        .map(|i| format!("epoch {i:03}: loss {:.4}\n", 1.0 / f64::from(i)))
        .collect();
    let entry = |key: &str, value: MetadataValue| MetadataEntry {
        key: key.into(),
        value,
    };
    let msg = Message::Structured(AlerterMessage {
        title: Some("Nightly training failed".into()),
        body: Some(format!(
            "Loss diverged, <@333333333333333333> please look (@everyone stays quiet).\n\
             ```python\nTraceback (most recent call last):\n  File \"train.py\", line 42\n\
             ValueError: loss is NaN\n```\n{log}"
        )),
        metadata: vec![
            entry("epoch", MetadataValue::Integer(7)),
            entry("learning rate", MetadataValue::Float(0.0003)),
            entry("resumed", MetadataValue::Boolean(false)),
            entry("config", MetadataValue::Json(r#"{"batch":32}"#.into())),
            entry("owner", MetadataValue::Text("ml-team".into())),
        ],
        images: vec!["https://example.com/plots/loss.png".into()],
    });
    let p = Params {
        severity: Some(Severity::Error),
        payload: Some(Payload {
            pipeline_name: Some("training".into()),
            step_name: Some("trainer".into()),
            stack_name: Some("prod".into()),
        }),
        mention_users: vec!["333333333333333333".into()],
        ..params(None)
    };
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001"))
        .reply(200, &created("900000000000000002"));
    let mut svc = Service::new(settings(), "t", t);
    let receipt = svc.post(&msg, &p).unwrap();
    assert_eq!(
        receipt.message_ids.len(),
        2,
        "the golden post has two parts"
    );
    let bodies: Vec<String> = svc
        .client
        .transport_ref()
        .sent
        .iter()
        .map(|(r, _)| String::from_utf8(r.body.as_deref().unwrap().clone()).unwrap())
        .collect();
    let actual = format!("[\n{}\n]\n", bodies.join(",\n"));
    if actual != GOLDEN {
        let path = std::env::temp_dir().join("post_structured.json");
        std::fs::write(&path, &actual).unwrap();
        panic!(
            "the request bodies changed; if that is intended, copy {} over \
             guest/tests/golden/post_structured.json",
            path.display()
        );
    }
}

#[test]
fn retried_create_reuses_its_nonce() {
    let mut t = FakeTransport::new();
    t.reply(502, "bad gateway")
        .reply(200, &created("900000000000000001"));
    let mut svc = Service::new(settings(), "t", t);
    svc.post(&Message::Text("hi".into()), &params(None))
        .unwrap();
    let sent = &svc.client.transport_ref().sent;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0.body, sent[1].0.body);
}
