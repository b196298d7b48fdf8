//! The parts of Discord's objects that an ask reads: messages from
//! `GET /channels/{c}/messages` (<https://discord.com/developers/docs/resources/message#get-channel-messages>),
//! the question with its reactions and embeds, the users of a reaction, the channel's guild
//! and a guild member's roles. Missing optional fields read as empty.

use serde::Deserialize;

use crate::render::Embed;

/// A user (an author, or someone who reacted).
#[derive(Debug, Deserialize)]
pub(super) struct User {
    pub(super) id: String,
    pub(super) username: String,
    #[serde(default)]
    pub(super) bot: bool,
}

/// What a reply refers to.
#[derive(Debug, Deserialize)]
pub(super) struct Reference {
    pub(super) message_id: Option<String>,
}

/// A message; `type` 0 is an ordinary message, 19 a reply.
#[derive(Debug, Deserialize)]
pub(super) struct ChannelMessage {
    pub(super) id: String,
    #[serde(default)]
    pub(super) content: String,
    pub(super) author: User,
    #[serde(rename = "type", default)]
    pub(super) kind: u8,
    #[serde(default)]
    pub(super) message_reference: Option<Reference>,
    #[serde(default)]
    pub(super) embeds: Vec<Embed>,
    #[serde(default)]
    pub(super) attachments: Vec<crate::discord::Json>,
    #[serde(default)]
    pub(super) sticker_items: Vec<crate::discord::Json>,
    #[serde(default)]
    pub(super) reactions: Vec<Reaction>,
}

/// One emoji's reactions on a message; `me` when the bot is among the normal ones. `count`
/// includes burst ("super") reactions; `count_details` splits it.
#[derive(Debug, Deserialize)]
pub(super) struct Reaction {
    pub(super) count: u32,
    #[serde(default)]
    pub(super) count_details: Option<CountDetails>,
    #[serde(default)]
    pub(super) me: bool,
    pub(super) emoji: Emoji,
}

impl Reaction {
    /// Normal reactions: the ones `GET .../reactions/{emoji}` lists (without `type`).
    pub(super) fn normal(&self) -> u32 {
        self.count_details.as_ref().map_or(self.count, |d| d.normal)
    }
}

/// How a reaction's count splits into normal and burst reactions.
#[derive(Debug, Deserialize)]
pub(super) struct CountDetails {
    #[serde(default)]
    pub(super) normal: u32,
}

/// A Unicode emoji (`name` only) or a custom one (`name` and `id`).
#[derive(Debug, Deserialize)]
pub(super) struct Emoji {
    pub(super) id: Option<String>,
    pub(super) name: Option<String>,
}

/// A channel; DMs have no guild.
#[derive(Debug, Deserialize)]
pub(super) struct Channel {
    pub(super) guild_id: Option<String>,
}

/// A guild member.
#[derive(Debug, Deserialize)]
pub(super) struct Member {
    #[serde(default)]
    pub(super) roles: Vec<String>,
}
