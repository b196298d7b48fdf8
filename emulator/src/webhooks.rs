//! Incoming webhooks: each belongs to a guild text channel (never a thread, as on Discord) and
//! has a secret token; `POST /webhooks/{id}/{token}` (see `routes::webhooks`) posts as the
//! webhook, into its channel or, with `?thread_id=`, into a thread of that channel. Messages a
//! webhook posts carry `webhook_id`, and their author is the webhook's pseudo-user (id = the
//! webhook's id, `bot: true`).
//!
//! This module is the plain data (a stored webhook, its author, its token); making one on a
//! channel is `state::webhooks`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use serde_json::{json, Value};

/// Length of a webhook token (Discord's are 68 characters).
pub const TOKEN_LEN: usize = 68;

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
    /// The name is empty or over `validate::WEBHOOK_NAME_MAX` (80) characters.
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
pub fn new_token(id: u64) -> String {
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
}
