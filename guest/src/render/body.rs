//! The request body of `POST /channels/{id}/messages` as serde types, holding only the fields the
//! flavor sends; `None` and empty lists are left out of the JSON. Field names are Discord's:
//! <https://discord.com/developers/docs/resources/message#create-message>.
//!
//! Embeds also deserialize from a message Discord returns, keeping only these fields and the
//! embed's `type` (Discord adds `proxy_url`, sizes and the like), so a question read back can be
//! sent again in an edit exactly as it was posted. The `type` is read, never sent: Discord adds
//! embeds of its own to a message (`link`, `image`, `video`, `gifv`, `article` previews of the
//! URLs in its text), and those must not be sent back as if they were the bot's own (`rich`).
//!
//! The fields of every type sent are declared in the order of their JSON names, so the bytes
//! sent have sorted keys, exactly as when bodies went through `serde_json::Value` (the golden
//! test `service::tests::a_structured_post_sends_the_golden_request_bodies` pins them).

use serde::{Deserialize, Deserializer, Serialize};

use super::len;

/// A value Discord may send as `null`: read as its default.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `POST /channels/{id}/messages` body.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CreateMessage {
    /// Who may be pinged; always sent.
    pub allowed_mentions: AllowedMentions,
    /// One entry per file, `id` the `n` of its `files[n]` part.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRef>,
    /// Plain text (the only place where pings work).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Rich embeds, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<Embed>,
    /// With a nonce: a second create with the same nonce returns the first message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_nonce: Option<bool>,
    /// Makes the message a reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    /// Identifies one logical message across retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The files themselves, sent as `files[n]` parts of a multipart request.
    #[serde(skip)]
    pub files: Vec<super::FilePart>,
}

/// An `attachments` entry: which `files[n]` part, under which name, with which alt text.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AttachmentRef {
    /// Alt text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The file's name.
    pub filename: String,
    /// `n` of `files[n]`, as a string (Discord's spec types it as a snowflake).
    pub id: String,
}

impl CreateMessage {
    /// Carry `files`, each with its `attachments` entry.
    pub fn attach(&mut self, files: Vec<super::FilePart>) {
        self.attachments = files
            .iter()
            .enumerate()
            .map(|(i, f)| AttachmentRef {
                id: i.to_string(),
                filename: f.filename.clone(),
                description: f.description.clone(),
            })
            .collect();
        self.files = files;
    }
}

/// One embed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Embed {
    /// The side bar's colour, `0xRRGGBB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
    /// The text under the title (markdown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Name/value pairs.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub fields: Vec<Field>,
    /// Small text at the bottom (the part marker, a question's key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<Footer>,
    /// A large image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// RFC 3339, shown in the footer line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The title line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The embed's type as Discord reports it (`rich` for the bot's own); never sent.
    #[serde(rename = "type", skip_serializing, deserialize_with = "nullable")]
    pub kind: Option<String>,
}

impl Embed {
    /// Whether the embed is the bot's own (`rich`, or of no stated type) rather than a preview
    /// Discord generated for a link in the text.
    pub fn is_rich(&self) -> bool {
        self.kind.as_deref().is_none_or(|k| k == "rich")
    }

    /// Whether the embed shows anything (Discord refuses one that shows nothing).
    pub fn shows_something(&self) -> bool {
        self.title.is_some()
            || self.description.is_some()
            || !self.fields.is_empty()
            || self.image.is_some()
            || self.footer.as_ref().is_some_and(|f| !f.text.is_empty())
    }

    /// The text Discord counts towards [`super::limits::EMBED_TOTAL`].
    pub fn text_len(&self) -> usize {
        self.title.as_deref().map_or(0, len)
            + self.description.as_deref().map_or(0, len)
            + self.footer.as_ref().map_or(0, |f| len(&f.text))
            + self
                .fields
                .iter()
                .map(|f| len(&f.name) + len(&f.value))
                .sum::<usize>()
    }
}

/// One embed field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Field {
    /// Shown side by side with its inline neighbours.
    #[serde(deserialize_with = "nullable")]
    pub inline: bool,
    /// The field's name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// The field's value.
    #[serde(deserialize_with = "nullable")]
    pub value: String,
}

/// An embed image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Image {
    /// An http(s) URL.
    #[serde(deserialize_with = "nullable")]
    pub url: String,
}

/// An embed footer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Footer {
    /// The footer's text.
    #[serde(deserialize_with = "nullable")]
    pub text: String,
}

/// Who may be pinged: nobody but the ids listed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AllowedMentions {
    /// Mention kinds parsed from the text; always empty, so `@everyone` and the like ping nobody.
    pub parse: Vec<String>,
    /// Whether a reply pings the author of the message it replies to.
    pub replied_user: bool,
    /// Role ids that may be pinged.
    pub roles: Vec<String>,
    /// User ids that may be pinged.
    pub users: Vec<String>,
}

/// The message a reply refers to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MessageReference {
    /// Post anyway if that message is gone.
    pub fail_if_not_exists: bool,
    /// Its id.
    pub message_id: String,
}
