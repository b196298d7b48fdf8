//! The emulated world rendered as the JSON objects Discord's API returns: users, the bot,
//! channels, members, messages (with their reactions, replies and threads).

use serde_json::{json, Map, Value};

use super::{ChannelRec, Emoji, MessageRec, State};
use crate::attachments::AttachmentRec;
use crate::snowflake;
use crate::threads::HAS_THREAD;

impl Emoji {
    /// The emoji object of a reaction.
    fn json(&self) -> Value {
        json!({ "id": self.id.map(|i| i.to_string()), "name": self.name })
    }
}

impl State {
    /// Every message of a channel, oldest first, unmasked.
    pub fn messages_json(&self, channel_id: u64) -> Option<Vec<Value>> {
        let all = self.messages.get(&channel_id)?;
        Some(all.values().map(|m| self.message_json(m, false)).collect())
    }

    /// A `UserResponse` (no PII), for a known user; a deleted-user stand-in otherwise.
    pub fn user_json(&self, id: u64) -> Value {
        let (username, bot) = match self.users.get(&id) {
            Some(u) => (u.username.as_str(), u.bot),
            None => ("Deleted User", false),
        };
        let mut v = json!({
            "id": id.to_string(),
            "username": username,
            "avatar": null,
            "discriminator": "0",
            "public_flags": 0,
            "flags": 0,
            "banner": null,
            "accent_color": null,
            "global_name": null,
            "avatar_decoration_data": null,
            "collectibles": null,
            "primary_guild": null,
        });
        if bot {
            v["bot"] = json!(true);
        }
        v
    }

    /// The bot as `GET /users/@me` returns it (`UserPIIResponse`).
    pub fn me_json(&self) -> Value {
        let mut v = self.user_json(self.bot_id);
        v["bot"] = json!(true);
        v["mfa_enabled"] = json!(false);
        v["locale"] = json!("en-US");
        v["verified"] = json!(true);
        v["email"] = Value::Null;
        v
    }

    /// A guild text channel object.
    pub fn channel_json(&self, c: &ChannelRec) -> Value {
        let last = self
            .messages
            .get(&c.id)
            .and_then(|m| m.keys().next_back())
            .map(ToString::to_string);
        json!({
            "id": c.id.to_string(),
            "type": 0,
            "last_message_id": last,
            "flags": 0,
            "guild_id": self.guild_id.to_string(),
            "name": c.name,
            "parent_id": null,
            "rate_limit_per_user": 0,
            "topic": null,
            "position": c.position,
            "permission_overwrites": [],
            "nsfw": false,
            "last_pin_timestamp": null,
        })
    }

    /// A `GuildMemberResponse`, if the user is a member.
    pub fn member_json(&self, user_id: u64) -> Option<Value> {
        let m = self.members.get(&user_id)?;
        Some(json!({
            "avatar": null,
            "banner": null,
            "communication_disabled_until": null,
            "flags": 0,
            "joined_at": snowflake::rfc3339(m.joined_ms),
            "nick": null,
            "pending": false,
            "premium_since": null,
            "roles": m.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "user": self.user_json(user_id),
            "mute": false,
            "deaf": false,
        }))
    }

    /// The message fields shared by `MessageResponse` and `BasicMessageResponse`.
    fn basic_message_json(&self, m: &MessageRec, mask: bool) -> Map<String, Value> {
        let hide = mask && self.masked(m);
        let mut o = Map::new();
        let kind = if m.starter_of.is_some() {
            21
        } else if m.reply_to.is_some() {
            19
        } else {
            0
        };
        o.insert("type".into(), json!(kind));
        o.insert(
            "content".into(),
            json!(if hide { "" } else { m.content.as_str() }),
        );
        o.insert(
            "mentions".into(),
            Value::Array(m.mentions.iter().map(|u| self.user_json(*u)).collect()),
        );
        o.insert(
            "mention_roles".into(),
            json!(m
                .mention_roles
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()),
        );
        let attachments: Vec<Value> = if hide {
            Vec::new()
        } else {
            m.attachments
                .iter()
                .filter(|a| !a.in_embed)
                .map(AttachmentRec::json)
                .collect()
        };
        o.insert("attachments".into(), Value::Array(attachments));
        o.insert(
            "embeds".into(),
            if hide { json!([]) } else { json!(m.embeds) },
        );
        o.insert("timestamp".into(), json!(snowflake::id_timestamp(m.id)));
        o.insert(
            "edited_timestamp".into(),
            json!(m.edited_ms.map(snowflake::rfc3339)),
        );
        let thread = self.thread_of(m);
        let flags = m.flags | if thread.is_some() { HAS_THREAD } else { 0 };
        o.insert("flags".into(), json!(flags));
        o.insert(
            "components".into(),
            if hide { json!([]) } else { json!(m.components) },
        );
        o.insert("id".into(), json!(m.id.to_string()));
        o.insert("channel_id".into(), json!(m.channel_id.to_string()));
        match &m.webhook {
            Some(w) => {
                o.insert("author".into(), w.user_json());
                o.insert("webhook_id".into(), json!(w.webhook_id.to_string()));
            }
            None => {
                o.insert("author".into(), self.user_json(m.author_id));
            }
        }
        o.insert("pinned".into(), json!(false));
        o.insert("mention_everyone".into(), json!(m.mention_everyone));
        o.insert("tts".into(), json!(m.tts));
        let reference = m
            .starter_of
            .or_else(|| m.reply_to.map(|r| (m.channel_id, r)));
        if let Some((rc, r)) = reference {
            o.insert(
                "message_reference".into(),
                json!({
                    "type": 0,
                    "channel_id": rc.to_string(),
                    "message_id": r.to_string(),
                    "guild_id": self.guild_id.to_string(),
                }),
            );
        }
        if let Some(t) = thread.and_then(|t| self.thread_json(t)) {
            o.insert("thread".into(), t);
        }
        o
    }

    /// A `MessageResponse`. With `mask`, the message content intent rule applies.
    pub fn message_json(&self, m: &MessageRec, mask: bool) -> Value {
        let mut o = self.basic_message_json(m, mask);
        if !m.reactions.is_empty() {
            let reactions: Vec<Value> = m
                .reactions
                .iter()
                .map(|r| {
                    json!({
                        "emoji": r.emoji.json(),
                        "count": r.users.len(),
                        "count_details": { "burst": 0, "normal": r.users.len() },
                        "burst_colors": [],
                        "me_burst": false,
                        "me": r.users.contains(&self.bot_id),
                    })
                })
                .collect();
            o.insert("reactions".into(), Value::Array(reactions));
        }
        let reference = m
            .starter_of
            .or_else(|| m.reply_to.map(|r| (m.channel_id, r)));
        if let Some((rc, r)) = reference {
            let referenced = self.message(rc, r).map_or(Value::Null, |rm| {
                Value::Object(self.basic_message_json(rm, mask))
            });
            o.insert("referenced_message".into(), referenced);
        }
        Value::Object(o)
    }
}
