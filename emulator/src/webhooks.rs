//! Incoming webhooks: each belongs to a guild text channel (never a thread, as on Discord) and
//! has a secret token; `POST /webhooks/{id}/{token}` (see `routes::webhooks`) posts as the
//! webhook, into its channel or, with `?thread_id=`, into a thread of that channel. Messages a
//! webhook posts carry `webhook_id`, and their author is the webhook's pseudo-user (id = the
//! webhook's id, `bot: true`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use serde_json::{json, Value};

use crate::snowflake;
use crate::state::State;

/// Length of a webhook token (Discord's are 68 characters).
pub const TOKEN_LEN: usize = 68;
/// Longest webhook name (and `username` override).
pub const NAME_MAX: usize = 80;

/// The characters of a token: 64 of them, 6 bits each.
const TOKEN_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A stored webhook.
#[derive(Clone, Debug)]
pub struct WebhookRec {
    /// Snowflake; also the id of the pseudo-user its messages are written by.
    pub id: u64,
    /// The secret in its URL: [`TOKEN_LEN`] characters of `[A-Za-z0-9_-]`.
    pub token: String,
    /// The text channel it posts into.
    pub channel_id: u64,
    /// Its name, the author name of its messages unless a `username` overrides it.
    pub name: String,
}

/// Who a webhook message is shown as written by.
#[derive(Clone, Debug)]
pub struct WebhookAuthor {
    /// The webhook's id (the message's `webhook_id` and `author.id`).
    pub webhook_id: u64,
    /// The name shown: the request's `username`, else the webhook's name.
    pub username: String,
}

impl WebhookAuthor {
    /// The `UserResponse` a webhook message shows as its author.
    pub fn user_json(&self) -> Value {
        json!({
            "id": self.webhook_id.to_string(),
            "username": self.username,
            "avatar": null,
            "discriminator": "0000",
            "public_flags": 0,
            "flags": 0,
            "bot": true,
            "banner": null,
            "accent_color": null,
            "global_name": null,
            "avatar_decoration_data": null,
            "collectibles": null,
            "primary_guild": null,
        })
    }
}

/// Why a webhook cannot be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookError {
    /// No such channel.
    UnknownChannel,
    /// The channel is a thread; webhooks belong to text channels.
    Thread,
    /// The name is empty or over [`NAME_MAX`] characters.
    BadName,
}

impl std::fmt::Display for WebhookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WebhookError::UnknownChannel => "unknown channel",
            WebhookError::Thread => {
                "the channel is a thread: a webhook belongs to a text channel (post into its threads with ?thread_id=)"
            }
            WebhookError::BadName => "the name must be 1-80 characters",
        })
    }
}

/// A fresh token: [`TOKEN_LEN`] characters of `[A-Za-z0-9_-]` from the process's random hash
/// keys (unguessable enough for a test double; no secrets ride on it).
fn new_token(id: u64) -> String {
    let keys = RandomState::new();
    let mut out = String::with_capacity(TOKEN_LEN);
    let mut round = 0u64;
    while out.len() < TOKEN_LEN {
        let mut h = keys.build_hasher();
        h.write_u64(id);
        h.write_u64(round);
        let mut bits = h.finish();
        // Ten 6-bit characters per 64-bit hash.
        for _ in 0..10 {
            if out.len() == TOKEN_LEN {
                break;
            }
            out.push(TOKEN_CHARS[(bits & 63) as usize] as char);
            bits >>= 6;
        }
        round += 1;
    }
    out
}

impl State {
    /// Makes a webhook on a text channel.
    pub fn add_webhook(&mut self, channel_id: u64, name: &str) -> Result<WebhookRec, WebhookError> {
        let c = self
            .channels
            .get(&channel_id)
            .ok_or(WebhookError::UnknownChannel)?;
        if c.thread.is_some() {
            return Err(WebhookError::Thread);
        }
        let n = name.chars().count();
        if n == 0 || n > NAME_MAX {
            return Err(WebhookError::BadName);
        }
        let id = snowflake::next_id();
        let w = WebhookRec {
            id,
            token: new_token(id),
            channel_id,
            name: name.to_string(),
        };
        self.webhooks.insert(id, w.clone());
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_discords() {
        let a = new_token(1);
        let b = new_token(1);
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b, "fresh keys every time");
    }

    #[test]
    fn webhooks_belong_to_text_channels() {
        let mut s = State::new("bot", true);
        let c = s.default_channel_id;
        let w = s.add_webhook(c, "alerts").unwrap();
        assert_eq!(w.channel_id, c);
        assert_eq!(s.webhooks[&w.id].token, w.token);
        let bot = s.bot_id;
        let t = s.start_thread(c, None, "t", bot, 60).unwrap();
        assert_eq!(s.add_webhook(t, "x").unwrap_err(), WebhookError::Thread);
        assert_eq!(
            s.add_webhook(1, "x").unwrap_err(),
            WebhookError::UnknownChannel
        );
        assert_eq!(s.add_webhook(c, "").unwrap_err(), WebhookError::BadName);
        assert_eq!(
            s.add_webhook(c, &"n".repeat(81)).unwrap_err(),
            WebhookError::BadName
        );
        let author = WebhookAuthor {
            webhook_id: w.id,
            username: "alerts".into(),
        };
        crate::validate::check_response("#/components/schemas/UserResponse", &author.user_json())
            .unwrap();
    }
}
