//! Posts through a channel webhook, over the scripted transport: the request's shape, what is
//! (never) retried, and what a webhook alone cannot do.

use super::*;
use crate::config::parse_webhook;
use crate::discord::fake::{response, FakeTransport};
use crate::discord::{HttpRequest, TransportError};

const HOOK: &str = "https://discord.com/api/webhooks/333333333333333333/hook-SECRET_token";
const CHANNEL: &str = "111111111111111111";

fn settings() -> Settings {
    Settings::from_lookup(|k| {
        Ok(match k {
            "api_base_url" => Some("http://127.0.0.1:1/api/v10".into()),
            "default_discord_channel_id" => Some(CHANNEL.into()),
            _ => None,
        })
    })
    .unwrap()
}

/// A service with the webhook, and a bot token only when `token` is not empty.
fn service(t: FakeTransport, token: &str) -> Service<FakeTransport> {
    let mut svc = Service::new(settings(), token, t);
    svc.set_webhook(parse_webhook(HOOK).unwrap());
    svc
}

fn created(id: &str) -> String {
    format!(r#"{{"id":"{id}","channel_id":"{CHANNEL}"}}"#)
}

fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn text(s: &str) -> Message {
    Message::Text(s.into())
}

#[test]
fn a_post_goes_to_the_webhook_without_the_bot_token_nonce_or_reply() {
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001"))
        .reply(200, &created("900000000000000002"));
    let mut svc = service(t, "bot.token");
    let s = Settings {
        long_body_max_parts: 0,
        ..settings()
    };
    svc.settings = s;
    let r = svc
        .post(&text(&"word ".repeat(600)), &Params::default())
        .unwrap();
    assert_eq!(r.message_ids, ["900000000000000001", "900000000000000002"]);
    assert_eq!(r.channel_id, CHANNEL);
    for (req, _) in &svc.client.transport_ref().sent {
        assert_eq!(
            req.url,
            "https://discord.com/api/v10/webhooks/333333333333333333/hook-SECRET_token?wait=true"
        );
        assert_eq!(
            header(req, "authorization"),
            None,
            "no bot token to a webhook"
        );
        let body: serde_json::Value = serde_json::from_slice(req.body.as_deref().unwrap()).unwrap();
        for absent in ["nonce", "enforce_nonce", "message_reference"] {
            assert!(body.get(absent).is_none(), "{absent} in {body}");
        }
        assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    }
}

#[test]
fn only_what_surely_never_arrived_is_sent_again() {
    // Retried: a refused connection, a 429. Each then succeeds.
    for first in [
        Err(TransportError::NotSent("connection refused".into())),
        Ok(response(
            429,
            r#"{"message":"slow","retry_after":0.1,"global":false,"code":0}"#,
            &[],
        )),
    ] {
        let mut t = FakeTransport::new();
        t.reply_with(first)
            .reply(200, &created("900000000000000001"));
        let mut svc = service(t, "");
        let r = svc.post(&text("x"), &Params::default());
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(svc.client.transport_ref().sent.len(), 2);
    }
    // Not retried: a lost response, a 500, a 502, an unreadable 200. The error never shows
    // the token.
    for first in [
        Err(TransportError::Failed("response cut short".into())),
        Ok(response(500, r#"{"code":0,"message":"oops"}"#, &[])),
        Ok(response(502, "bad gateway", &[])),
        Ok(response(503, "", &[])),
        Ok(response(200, "<html>", &[])),
    ] {
        let mut t = FakeTransport::new();
        t.reply_with(first)
            .reply(200, &created("900000000000000001"));
        let mut svc = service(t, "");
        let e = svc.post(&text("x"), &Params::default()).unwrap_err();
        assert_eq!(svc.client.transport_ref().sent.len(), 1, "{e:?}");
        assert!(!format!("{e:?}").contains("SECRET"), "{e:?}");
    }
}

#[test]
fn a_webhook_alone_posts_but_cannot_ask_check_or_go_elsewhere() {
    let svc = service(FakeTransport::new(), "");
    for what in ["ask", "check"] {
        match svc.require_bot(what) {
            Err(AlertError::InvalidConfig(m)) => {
                assert!(m.starts_with(what) && m.contains("discord_token"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }
    for (p, expected) in [
        (
            Params {
                channel_id: Some("222222222222222222".into()),
                ..Params::default()
            },
            "own channel",
        ),
        (
            Params {
                thread_name: Some("run".into()),
                ..Params::default()
            },
            "thread",
        ),
        (
            Params {
                idempotency_key: Some("k".into()),
                ..Params::default()
            },
            "deduplicated",
        ),
    ] {
        let mut svc = service(FakeTransport::new(), "");
        match svc.post(&text("x"), &p) {
            Err(AlertError::InvalidInput(m)) => assert!(m.contains(expected), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(svc.client.transport_ref().sent.is_empty());
    }
    // Into a thread of its channel.
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001"));
    let mut svc = service(t, "");
    let p = Params {
        thread_id: Some("444444444444444444".into()),
        ..Params::default()
    };
    let r = svc.post(&text("x"), &p).unwrap();
    assert_eq!(r.thread_id.as_deref(), Some("444444444444444444"));
    assert!(svc.client.transport_ref().sent[0]
        .0
        .url
        .ends_with("?wait=true&thread_id=444444444444444444"));
}

#[test]
fn with_a_bot_too_a_named_channel_goes_through_the_bot() {
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001"));
    let mut svc = service(t, "bot.token");
    let p = Params {
        channel_id: Some("222222222222222222".into()),
        ..Params::default()
    };
    svc.post(&text("x"), &p).unwrap();
    let req = &svc.client.transport_ref().sent[0].0;
    assert!(
        req.url
            .ends_with("/api/v10/channels/222222222222222222/messages"),
        "{}",
        req.url
    );
    assert_eq!(header(req, "authorization"), Some("Bot bot.token"));
}

#[test]
fn a_keyed_post_goes_through_the_bot_when_there_is_one() {
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001"));
    let mut svc = service(t, "bot.token");
    let p = Params {
        idempotency_key: Some("nightly".into()),
        ..Params::default()
    };
    svc.post(&text("x"), &p).unwrap();
    let req = &svc.client.transport_ref().sent[0].0;
    assert!(
        req.url.ends_with("/channels/111111111111111111/messages"),
        "{}",
        req.url
    );
}
