//! The verbs: `post` (render, then create each part in order as replies to the first) and
//! `ask` (post the question, then wait for an answer; see `ask.rs`). Pure over a [`Transport`].

use serde::Deserialize;

use crate::config::Settings;
use crate::discord::{Client, Method, Transport};
use crate::exports::alerter::core::alerter::{ChannelInfo, CheckReport};
use crate::render::{self, CreateMessage, Document, MessageReference};
use crate::snowflake;
use crate::wit::{AlertError, Answer, Message, Params, PostReceipt};

/// The part of Discord's Message object the flavor reads.
#[derive(Debug, Clone, Deserialize)]
pub struct MessageRef {
    pub id: String,
    pub channel_id: String,
}

/// One configured Discord flavor instance, alive for one call.
pub struct Service<T: Transport> {
    pub settings: Settings,
    pub client: Client<T>,
}

impl<T: Transport> Service<T> {
    /// `token` must be validated (`config::validate_token`).
    pub fn new(settings: Settings, token: &str, transport: T) -> Self {
        let client = Client::new(
            transport,
            &settings.api_base,
            token,
            settings.delivery_deadline_ms,
        );
        Service { settings, client }
    }

    /// The channel for a call: the per-call param, else the configured default.
    pub fn channel(&self, params: &Params) -> Result<String, AlertError> {
        let channel = params
            .channel_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .or(self.settings.default_channel.as_deref())
            .ok_or_else(|| {
                AlertError::InvalidConfig(
                    "no channel: pass a channel id or configure `default_discord_channel_id`"
                        .into(),
                )
            })?;
        if !snowflake::is_valid(channel) {
            return Err(AlertError::InvalidInput(format!(
                "channel id `{channel}` is not a Discord id (17-20 digits)"
            )));
        }
        Ok(channel.to_string())
    }

    /// Post a message and return every message id created.
    pub fn post(&mut self, message: &Message, params: &Params) -> Result<PostReceipt, AlertError> {
        let doc = Document::from_message(message, params)?;
        self.post_document(&doc, params)
    }

    /// Render and deliver a document; every part after the first replies to the first.
    pub fn post_document(
        &mut self,
        doc: &Document,
        params: &Params,
    ) -> Result<PostReceipt, AlertError> {
        let channel = self.channel(params)?;
        let parts = self.render(doc, params)?;
        self.send_parts(&channel, parts)
    }

    /// Render a document for this call (validating mentions and content).
    pub fn render(
        &self,
        doc: &Document,
        params: &Params,
    ) -> Result<Vec<CreateMessage>, AlertError> {
        let mentions = render::allowed_mentions(params)?;
        let now = self.client.transport_ref().unix_ms();
        render::render(doc, &mentions, &snowflake::rfc3339(now))
    }

    /// Create rendered parts in order, each after the first as a reply to the first.
    pub fn send_parts(
        &mut self,
        channel: &str,
        parts: Vec<CreateMessage>,
    ) -> Result<PostReceipt, AlertError> {
        let batch = self.client.transport().random_u64();
        let mut ids: Vec<String> = Vec::with_capacity(parts.len());
        // All parts share one delivery deadline.
        self.client.begin_delivery();
        let mut outcome = Ok(());
        for (i, part) in parts.into_iter().enumerate() {
            match self.create_message(channel, part, batch, i, ids.first()) {
                Ok(created) => ids.push(created.id),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        self.client.end_delivery();
        outcome.map(|()| PostReceipt {
            channel_id: channel.to_string(),
            message_ids: ids,
        })
    }

    /// Create one message with a nonce unique to this logical message, so a retry after a
    /// lost response returns the first message instead of posting a second.
    pub fn create_message(
        &mut self,
        channel: &str,
        mut body: CreateMessage,
        batch: u64,
        index: usize,
        reply_to: Option<&String>,
    ) -> Result<MessageRef, AlertError> {
        body.nonce = Some(nonce(batch, index));
        body.enforce_nonce = Some(true);
        body.message_reference = reply_to.map(|id| MessageReference {
            message_id: id.clone(),
            fail_if_not_exists: false,
        });
        let json = serde_json::to_value(&body)
            .map_err(|e| AlertError::InvalidInput(format!("cannot encode message: {e}")))?;
        let path = format!("/channels/{channel}/messages");
        let route = format!("POST /channels/{channel}/messages");
        let response = self.client.call(Method::Post, &path, &route, Some(&json))?;
        serde_json::from_slice::<MessageRef>(&response.body).map_err(|e| {
            AlertError::Transport(format!(
                "Discord answered 200 with an unreadable message: {e}"
            ))
        })
    }

    /// Validate the token (`GET /users/@me`) and the channel (`GET /channels/{id}`).
    pub fn check(&mut self, params: &Params) -> Result<CheckReport, AlertError> {
        #[derive(Deserialize)]
        struct Me {
            id: String,
            username: String,
        }
        #[derive(Deserialize)]
        struct Chan {
            id: String,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            guild_id: Option<String>,
        }
        let channel = match self.channel(params) {
            Ok(c) => Some(Ok(c)),
            Err(AlertError::InvalidConfig(_)) => None,
            Err(e) => Some(Err(e)),
        };
        let r = self
            .client
            .call(Method::Get, "/users/@me", "GET /users/@me", None)?;
        let me: Me = serde_json::from_slice(&r.body)
            .map_err(|e| AlertError::Transport(format!("unreadable /users/@me answer: {e}")))?;
        let channel = channel.map(|c| {
            let id = c?;
            let path = format!("/channels/{id}");
            let r = self
                .client
                .call(Method::Get, &path, &format!("GET {path}"), None)?;
            let ch: Chan = serde_json::from_slice(&r.body)
                .map_err(|e| AlertError::Transport(format!("unreadable channel answer: {e}")))?;
            Ok(ChannelInfo {
                id: ch.id,
                name: ch.name.unwrap_or_default(),
                guild_id: ch.guild_id,
            })
        });
        Ok(CheckReport {
            bot_id: me.id,
            bot_name: me.username,
            channel,
        })
    }

    /// Post a question and wait for the answer (see `ask.rs`).
    pub fn ask(&mut self, question: &Message, params: &Params) -> Result<Answer, AlertError> {
        crate::ask::ask(self, question, params)
    }
}

/// A nonce of at most 25 characters: 16 hex digits of randomness per post, then the part.
pub fn nonce(batch: u64, index: usize) -> String {
    format!("{batch:016x}.{index}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::fake::FakeTransport;
    use crate::wit::AlerterMessage;

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
        use crate::wit::{MetadataEntry, MetadataValue, Payload, Severity};
        const GOLDEN: &str = include_str!("../tests/golden/post_structured.json");
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
            .map(|(r, _)| String::from_utf8(r.body.clone().unwrap()).unwrap())
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
}
