//! The verbs `post` (render, then create each part in order, each after the first as a reply
//! to the first) and `check` (token and channel), and the pieces `ask` builds on: the channel of
//! a call, rendering, delivering parts. Pure over a [`Transport`].

use serde::Deserialize;

use crate::bindings::{AlertError, ChannelInfo, CheckReport, Message, Params, PostReceipt};
use crate::config::Settings;
use crate::discord::{Client, Method, Transport};
use crate::render::{self, CreateMessage, Document, MessageReference};
use crate::snowflake;

/// The part of Discord's Message object the flavor reads.
#[derive(Debug, Clone, Deserialize)]
pub struct MessageRef {
    /// The message's id.
    pub id: String,
    /// The channel it is in.
    pub channel_id: String,
}

/// One configured Discord flavor instance, alive for one call.
pub struct Service<T: Transport> {
    /// The instance's settings.
    pub settings: Settings,
    /// The REST client every request goes through.
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
            return Err(snowflake::not_an_id("channel", channel));
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
        let now = self.client.unix_ms();
        render::render(doc, &mentions, &snowflake::rfc3339(now))
    }

    /// Create rendered parts in order, each after the first as a reply to the first.
    pub fn send_parts(
        &mut self,
        channel: &str,
        parts: Vec<CreateMessage>,
    ) -> Result<PostReceipt, AlertError> {
        let batch = self.client.random_u64();
        self.send_parts_as(channel, parts, batch)
    }

    /// [`Service::send_parts`] with the nonces of `batch` ([`nonce`]): a second post of the
    /// same batch within Discord's nonce window returns the first post's messages.
    pub fn send_parts_as(
        &mut self,
        channel: &str,
        parts: Vec<CreateMessage>,
        batch: u64,
    ) -> Result<PostReceipt, AlertError> {
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
        self.create(channel, &body)
    }

    /// Create one message exactly as given (its nonce, if any, included).
    pub fn create(
        &mut self,
        channel: &str,
        body: &CreateMessage,
    ) -> Result<MessageRef, AlertError> {
        let json = serde_json::to_value(body)
            .map_err(|e| AlertError::InvalidInput(format!("cannot encode message: {e}")))?;
        let path = format!("/channels/{channel}/messages");
        let route = format!("POST /channels/{channel}/messages");
        self.client
            .send_json::<MessageRef>(Method::Post, &path, &route, Some(&json))
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
        let me: Me = self.client.get_json("/users/@me", "GET /users/@me")?;
        let channel = channel.map(|c| {
            let id = c?;
            let path = format!("/channels/{id}");
            let ch: Chan = self.client.get_json(&path, &format!("GET {path}"))?;
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
}

/// A nonce of at most 25 characters: 16 hex digits of randomness per post, then the part.
pub fn nonce(batch: u64, index: usize) -> String {
    format!("{batch:016x}.{index}")
}

#[cfg(test)]
mod tests;
