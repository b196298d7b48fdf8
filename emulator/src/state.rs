//! The emulated world: one guild with its users, roles, channels (threads too, see `threads`),
//! messages with their attachments (bytes in `attachments`) and reactions, plus what the
//! emulator observed (requests, violations) and its pending faults and rate limits. Also
//! renders the model as the JSON objects Discord's API returns (`render`), starts threads
//! (`threads`) and makes webhooks (`webhooks`).

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::Value;

use crate::attachments::{AttachmentRec, FileStore};
use crate::faults::FaultQueue;
use crate::mentions::{self, Allowed};
use crate::ratelimit::RateLimiter;
use crate::snowflake;
use crate::threads::ThreadMeta;
use crate::webhooks::{WebhookAuthor, WebhookRec};
use crate::RecordedRequest;

mod render;
mod threads;
mod webhooks;

/// A user (person or bot).
#[derive(Clone, Debug)]
pub struct UserRec {
    /// Snowflake.
    pub id: u64,
    /// Username.
    pub username: String,
    /// Whether it is a bot account.
    pub bot: bool,
}

/// A guild text channel, or a thread under one.
#[derive(Clone, Debug)]
pub struct ChannelRec {
    /// Snowflake.
    pub id: u64,
    /// Channel name, without the `#`.
    pub name: String,
    /// Sorting position in the guild: the order channels were created in.
    pub position: i64,
    /// The bot cannot see it (answers 403 Missing Access).
    pub hidden: bool,
    /// `Some` for a thread (type 11): its parent channel and the rest.
    pub thread: Option<ThreadMeta>,
}

/// A guild member.
#[derive(Clone, Debug)]
pub struct MemberRec {
    /// Role ids, in the order they were granted.
    pub roles: Vec<u64>,
    /// When the user joined the guild, unix ms (`joined_at`).
    pub joined_ms: u64,
}

/// A reaction emoji: unicode (`id` none) or custom (`name:id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emoji {
    /// The unicode emoji itself, or a custom emoji's name.
    pub name: String,
    /// A custom emoji's snowflake; `None` for unicode emoji.
    pub id: Option<u64>,
}

impl Emoji {
    /// Parses an emoji as the API takes it in a path (already percent-decoded): unicode
    /// emoji, or `name:id` / `a:name:id` for custom ones. `None` is Discord's Unknown Emoji.
    pub fn parse(s: &str) -> Option<Emoji> {
        if s.contains(':') {
            let parts: Vec<&str> = s.split(':').collect();
            let (name, id) = match parts.as_slice() {
                [name, id] | ["a", name, id] => (*name, *id),
                _ => return None,
            };
            let id = snowflake::parse(id)?;
            let name_ok = (2..=32).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            return name_ok.then(|| Emoji {
                name: name.to_string(),
                id: Some(id),
            });
        }
        // Unicode emoji: something non-ASCII; ASCII only as keycap bases (0-9, #, *).
        let plausible = !s.is_empty()
            && s.chars().count() <= 16
            && !s.is_ascii()
            && s.chars()
                .all(|c| !c.is_ascii() || c.is_ascii_digit() || c == '#' || c == '*')
            && !s.chars().any(char::is_whitespace);
        plausible.then(|| Emoji {
            name: s.to_string(),
            id: None,
        })
    }
}

/// Users who reacted with one emoji, in the order they reacted.
#[derive(Clone, Debug)]
pub struct Reaction {
    /// The emoji reacted with.
    pub emoji: Emoji,
    /// Ids of the users holding this reaction, never empty, without duplicates.
    pub users: Vec<u64>,
}

/// A stored message.
#[derive(Clone, Debug)]
pub struct MessageRec {
    /// Snowflake; also gives the message's `timestamp`.
    pub id: u64,
    /// The channel it was posted in.
    pub channel_id: u64,
    /// The user who wrote it.
    pub author_id: u64,
    /// The text, as sent (never masked here; masking happens when rendering).
    pub content: String,
    /// Embeds in response form (`type` set, nulls dropped).
    pub embeds: Vec<Value>,
    /// Components in response form.
    pub components: Vec<Value>,
    /// The message replied to (type 19).
    pub reply_to: Option<u64>,
    /// Whether `@everyone` / `@here` pinged (`mention_everyone`).
    pub mention_everyone: bool,
    /// Users pinged (`mentions`), as computed by [`mentions::resolve`].
    pub mentions: Vec<u64>,
    /// Roles pinged (`mention_roles`).
    pub mention_roles: Vec<u64>,
    /// When it was last edited, unix ms (`edited_timestamp`); `None` if never.
    pub edited_ms: Option<u64>,
    /// Message flags (only the ones a bot may set are kept).
    pub flags: u64,
    /// Whether it was sent as text-to-speech.
    pub tts: bool,
    /// Reactions, in the order their first user reacted.
    pub reactions: Vec<Reaction>,
    /// Uploaded files, in the order sent.
    pub attachments: Vec<AttachmentRec>,
    /// For a thread's THREAD_STARTER_MESSAGE (type 21): the (channel, message) that started it.
    pub starter_of: Option<(u64, u64)>,
    /// For a message a webhook posted: the webhook and the name shown (`author_id` is then the
    /// webhook's id).
    pub webhook: Option<WebhookAuthor>,
}

/// What a new message is made of.
pub struct NewMessage {
    /// The channel to post in; it must exist.
    pub channel_id: u64,
    /// The user writing it.
    pub author_id: u64,
    /// The text.
    pub content: String,
    /// Embeds, already in response form.
    pub embeds: Vec<Value>,
    /// Components, already in response form.
    pub components: Vec<Value>,
    /// The message replied to; it must be in the same channel.
    pub reply_to: Option<u64>,
    /// Who may be pinged, from the request's `allowed_mentions`.
    pub allowed: Allowed,
    /// Message flags, already filtered to the settable ones.
    pub flags: u64,
    /// Text-to-speech.
    pub tts: bool,
    /// Uploaded files.
    pub attachments: Vec<AttachmentRec>,
    /// Posted by a webhook (`author_id` is then the webhook's id).
    pub webhook: Option<WebhookAuthor>,
}

/// Requests kept for [`State::requests`] (a long-running demo must not grow without end).
pub const MAX_RECORDED: usize = 100_000;
/// Violations kept.
pub const MAX_VIOLATIONS: usize = 10_000;

/// How long `enforce_nonce` remembers a nonce.
pub const NONCE_WINDOW_MS: u64 = 5 * 60 * 1000;

/// Everything one emulator knows.
pub struct State {
    /// The one guild's id.
    pub guild_id: u64,
    /// The bot user the token belongs to.
    pub bot_id: u64,
    /// The `alerts` channel created at start.
    pub default_channel_id: u64,
    /// Every user, by id.
    pub users: BTreeMap<u64, UserRec>,
    /// Role names, by id.
    pub roles: BTreeMap<u64, String>,
    /// Guild members, by user id (every user is one).
    pub members: BTreeMap<u64, MemberRec>,
    /// Text channels and threads, by id.
    pub channels: BTreeMap<u64, ChannelRec>,
    /// Messages per channel, by id (so oldest first).
    pub messages: HashMap<u64, BTreeMap<u64, MessageRec>>,
    /// (channel, nonce) -> (message id, unix ms it was first used).
    pub nonces: HashMap<(u64, String), (u64, u64)>,
    /// Whether the bot has the privileged MESSAGE_CONTENT intent (see [`State::masked`]).
    pub message_content_intent: bool,
    /// The most recent [`MAX_RECORDED`] requests.
    pub requests: VecDeque<RecordedRequest>,
    /// How many older requests were let go.
    pub requests_dropped: u64,
    /// The most recent [`MAX_VIOLATIONS`] violations.
    pub violations: VecDeque<String>,
    /// Faults waiting for a matching request.
    pub faults: FaultQueue,
    /// Rate-limit buckets.
    pub limiter: RateLimiter,
    /// Bytes of uploaded files, by attachment id.
    pub files: FileStore,
    /// Incoming webhooks, by id.
    pub webhooks: BTreeMap<u64, WebhookRec>,
}

impl State {
    /// A guild with the bot as a member and one text channel, `alerts`.
    pub fn new(bot_name: &str, message_content_intent: bool) -> State {
        let guild_id = snowflake::next_id();
        let mut s = State {
            guild_id,
            bot_id: 0,
            default_channel_id: 0,
            users: BTreeMap::new(),
            roles: BTreeMap::new(),
            members: BTreeMap::new(),
            channels: BTreeMap::new(),
            messages: HashMap::new(),
            nonces: HashMap::new(),
            message_content_intent,
            requests: VecDeque::new(),
            requests_dropped: 0,
            violations: VecDeque::new(),
            faults: FaultQueue::default(),
            limiter: RateLimiter::default(),
            files: FileStore::default(),
            webhooks: BTreeMap::new(),
        };
        s.bot_id = s.add_user(bot_name, true).id;
        s.default_channel_id = s.add_channel("alerts");
        s
    }

    /// Creates a user who is also a guild member (with no roles); returns it.
    pub fn add_user(&mut self, username: &str, bot: bool) -> UserRec {
        let u = UserRec {
            id: snowflake::next_id(),
            username: username.to_string(),
            bot,
        };
        self.users.insert(u.id, u.clone());
        self.members.insert(
            u.id,
            MemberRec {
                roles: Vec::new(),
                joined_ms: snowflake::now_ms(),
            },
        );
        u
    }

    /// Creates an empty text channel at the end of the channel list; returns its id.
    pub fn add_channel(&mut self, name: &str) -> u64 {
        let id = snowflake::next_id();
        let position = self
            .channels
            .values()
            .filter(|c| c.thread.is_none())
            .count() as i64;
        self.channels.insert(
            id,
            ChannelRec {
                id,
                name: name.to_string(),
                position,
                hidden: false,
                thread: None,
            },
        );
        self.messages.insert(id, BTreeMap::new());
        id
    }

    /// Creates a role; returns its id.
    pub fn add_role(&mut self, name: &str) -> u64 {
        let id = snowflake::next_id();
        self.roles.insert(id, name.to_string());
        id
    }

    /// Gives a member a role; false if either is unknown.
    pub fn grant_role(&mut self, user_id: u64, role_id: u64) -> bool {
        if !self.roles.contains_key(&role_id) {
            return false;
        }
        match self.members.get_mut(&user_id) {
            Some(m) => {
                if !m.roles.contains(&role_id) {
                    m.roles.push(role_id);
                }
                true
            }
            None => false,
        }
    }

    /// A stored message, if it is in that channel.
    pub fn message(&self, channel_id: u64, message_id: u64) -> Option<&MessageRec> {
        self.messages.get(&channel_id)?.get(&message_id)
    }

    /// A stored message, mutably, if it is in that channel.
    pub fn message_mut(&mut self, channel_id: u64, message_id: u64) -> Option<&mut MessageRec> {
        self.messages.get_mut(&channel_id)?.get_mut(&message_id)
    }

    /// Stores a message and returns its id. The channel must exist (else `None`); a `reply_to`
    /// that is not in the channel is dropped by the caller beforehand.
    pub fn insert_message(&mut self, m: NewMessage) -> Option<u64> {
        let replied_author = m
            .reply_to
            .and_then(|r| self.message(m.channel_id, r))
            .map(|r| r.author_id);
        let pinged = mentions::resolve(
            &m.content,
            &m.allowed,
            replied_author,
            |id| self.users.contains_key(&id),
            |id| self.roles.contains_key(&id),
        );
        let id = snowflake::next_id();
        let rec = MessageRec {
            id,
            channel_id: m.channel_id,
            author_id: m.author_id,
            content: m.content,
            embeds: m.embeds,
            components: m.components,
            reply_to: m.reply_to,
            mention_everyone: pinged.everyone,
            mentions: pinged.users,
            mention_roles: pinged.roles,
            edited_ms: None,
            flags: m.flags,
            tts: m.tts,
            reactions: Vec::new(),
            attachments: m.attachments,
            starter_of: None,
            webhook: m.webhook,
        };
        self.messages.get_mut(&m.channel_id)?.insert(id, rec);
        Some(id)
    }

    /// A user (person or bot) writes in a channel, as a Discord client would: everything in the
    /// content pings, and a reply pings the replied-to author.
    pub fn say(
        &mut self,
        channel_id: u64,
        user_id: u64,
        content: &str,
        reply_to: Option<u64>,
    ) -> Result<u64, String> {
        if !self.channels.contains_key(&channel_id) {
            return Err(format!("unknown channel {channel_id}"));
        }
        if !self.users.contains_key(&user_id) {
            return Err(format!("unknown user {user_id}"));
        }
        if let Some(r) = reply_to {
            if self.message(channel_id, r).is_none() {
                return Err(format!("unknown message {r} in channel {channel_id}"));
            }
        }
        self.insert_message(NewMessage {
            channel_id,
            author_id: user_id,
            content: content.to_string(),
            embeds: Vec::new(),
            components: Vec::new(),
            reply_to,
            allowed: Allowed::all(),
            flags: 0,
            tts: false,
            attachments: Vec::new(),
            webhook: None,
        })
        .ok_or_else(|| format!("unknown channel {channel_id}"))
    }

    /// A user reacts to a message; `emoji` as written (unicode, or `name:id`).
    pub fn react_as(
        &mut self,
        channel_id: u64,
        message_id: u64,
        emoji: &str,
        user_id: u64,
    ) -> Result<(), String> {
        let e = Emoji::parse(emoji).ok_or_else(|| format!("not an emoji: {emoji:?}"))?;
        if !self.users.contains_key(&user_id) {
            return Err(format!("unknown user {user_id}"));
        }
        if self.react(channel_id, message_id, e, user_id) {
            Ok(())
        } else {
            Err(format!(
                "unknown message {message_id} in channel {channel_id}"
            ))
        }
    }

    /// Recomputes who a message pings after its content changed.
    pub fn repoint_mentions(&mut self, channel_id: u64, message_id: u64, allowed: &Allowed) {
        let Some(m) = self.message(channel_id, message_id) else {
            return;
        };
        let replied_author = m
            .reply_to
            .and_then(|r| self.message(channel_id, r))
            .map(|r| r.author_id);
        let pinged = mentions::resolve(
            &m.content,
            allowed,
            replied_author,
            |id| self.users.contains_key(&id),
            |id| self.roles.contains_key(&id),
        );
        if let Some(m) = self.message_mut(channel_id, message_id) {
            m.mention_everyone = pinged.everyone;
            m.mentions = pinged.users;
            m.mention_roles = pinged.roles;
        }
    }

    /// Adds a reaction (idempotent per user and emoji); false if the message is unknown.
    pub fn react(&mut self, channel_id: u64, message_id: u64, emoji: Emoji, user_id: u64) -> bool {
        let Some(m) = self.message_mut(channel_id, message_id) else {
            return false;
        };
        match m.reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(r) => {
                if !r.users.contains(&user_id) {
                    r.users.push(user_id);
                }
            }
            None => m.reactions.push(Reaction {
                emoji,
                users: vec![user_id],
            }),
        }
        true
    }

    /// Removes a user's reaction (a reaction nobody holds any more disappears); false if the
    /// message is unknown.
    pub fn unreact(
        &mut self,
        channel_id: u64,
        message_id: u64,
        emoji: &Emoji,
        user_id: u64,
    ) -> bool {
        let Some(m) = self.message_mut(channel_id, message_id) else {
            return false;
        };
        for r in m.reactions.iter_mut().filter(|r| &r.emoji == emoji) {
            r.users.retain(|u| *u != user_id);
        }
        m.reactions.retain(|r| !r.users.is_empty());
        true
    }

    /// Whether the bot sees this message's content blanked (no message content intent, not the
    /// bot's own message, and the bot is not pinged, a reply to the bot counting as a ping).
    pub fn masked(&self, m: &MessageRec) -> bool {
        !self.message_content_intent
            && m.author_id != self.bot_id
            && !m.mentions.contains(&self.bot_id)
    }

    /// Records a violation (a client breaking the spec or Discord's limits, or an emulator bug).
    pub fn violation(&mut self, v: String) {
        if self.violations.len() >= MAX_VIOLATIONS {
            self.violations.pop_front();
        }
        self.violations.push_back(v);
    }

    /// Records a request; returns its sequence number for [`State::set_status`].
    pub fn record(&mut self, r: RecordedRequest) -> u64 {
        if self.requests.len() >= MAX_RECORDED {
            self.requests.pop_front();
            self.requests_dropped += 1;
        }
        self.requests.push_back(r);
        self.requests_dropped + self.requests.len() as u64 - 1
    }

    /// Sets the status answered to a recorded request (if it is still kept).
    pub fn set_status(&mut self, seq: u64, status: u16) {
        let Some(index) = seq.checked_sub(self.requests_dropped) else {
            return;
        };
        if let Some(r) = self.requests.get_mut(index as usize) {
            r.status = status;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_forms() {
        assert_eq!(
            Emoji::parse("✅"),
            Some(Emoji {
                name: "✅".into(),
                id: None
            })
        );
        assert!(Emoji::parse("👍").is_some());
        assert!(Emoji::parse("1️⃣").is_some());
        assert_eq!(Emoji::parse("party:123").and_then(|e| e.id), Some(123));
        assert!(Emoji::parse("a:party:123").is_some());
        assert!(Emoji::parse("party:abc").is_none());
        assert!(Emoji::parse("abc").is_none());
        assert!(Emoji::parse("").is_none());
        assert!(Emoji::parse("x:y:z:1").is_none());
    }

    #[test]
    fn reply_to_bot_counts_as_mention_for_masking() {
        let mut s = State::new("bot", false);
        let human = s.add_user("alice", false).id;
        let c = s.default_channel_id;
        let new = |author, content: &str, reply_to| NewMessage {
            channel_id: c,
            author_id: author,
            content: content.into(),
            embeds: vec![],
            components: vec![],
            reply_to,
            allowed: Allowed::all(),
            flags: 0,
            tts: false,
            attachments: vec![],
            webhook: None,
        };
        let bot_msg = s.insert_message(new(s.bot_id, "alert", None)).unwrap();
        let plain = s.insert_message(new(human, "hello", None)).unwrap();
        let reply = s.insert_message(new(human, "ok", Some(bot_msg))).unwrap();
        let ping = s
            .insert_message(new(human, &format!("<@{}> go", s.bot_id), None))
            .unwrap();
        let view = |id| s.message_json(s.message(c, id).unwrap(), true)["content"].clone();
        assert_eq!(view(bot_msg), "alert");
        assert_eq!(view(plain), "");
        assert_eq!(view(reply), "ok");
        assert_eq!(view(ping), format!("<@{}> go", s.bot_id));
    }
}
