//! Discord's size limits, each named once, and the budgets the renderer keeps below them.
//!
//! Limits: <https://discord.com/developers/docs/resources/message#create-message> (content,
//! embeds, nonce), <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>
//! (embed texts, summed over all of a message's embeds for [`EMBED_TOTAL`]) and
//! <https://discord.com/developers/docs/resources/message#allowed-mentions-object> (mentions);
//! the URL limit is the `maxLength` of Discord's OpenAPI spec. Discord counts characters; the
//! renderer counts UTF-16 units ([`super::len`]), which is never less.

/// Characters of a message's `content`.
pub const CONTENT: usize = 2000;
/// Embeds in one message.
pub const EMBEDS: usize = 10;
/// Characters of an embed title.
pub const TITLE: usize = 256;
/// Characters of an embed description.
pub const DESCRIPTION: usize = 4096;
/// Fields in one embed.
pub const FIELDS: usize = 25;
/// Characters of a field name.
pub const FIELD_NAME: usize = 256;
/// Characters of a field value.
pub const FIELD_VALUE: usize = 1024;
/// Characters of an embed footer.
pub const FOOTER: usize = 2048;
/// Characters of an embed author name.
pub const AUTHOR: usize = 256;
/// Characters of titles, descriptions, field names and values, footers and author names, summed
/// over all embeds of one message.
pub const EMBED_TOTAL: usize = 6000;
/// Characters of an embed image URL.
pub const URL: usize = 2048;
/// Characters of a message nonce.
pub const NONCE: usize = 25;
/// User ids, and separately role ids, in `allowed_mentions`.
pub const MENTIONS: usize = 100;

/// Characters of a message marker (an ask's key line), see `Document::marker`. Room for it is
/// kept: the part marker and it stay within [`FOOTER`], and within [`CONTENT`] and
/// [`EMBED_TOTAL`] on top of the budgets below.
pub const MARKER: usize = 100;

// The renderer's own budgets. Room is kept free for part markers and fence repairs, so a chunk
// never overflows once marked.

/// Content chunk of a plain-text message, below [`CONTENT`].
pub(super) const CONTENT_CHUNK: usize = 1900;
/// Description chunk of an embed, below [`DESCRIPTION`].
pub(super) const DESCRIPTION_CHUNK: usize = 3900;
/// Value chunk of a field, below [`FIELD_VALUE`].
pub(super) const FIELD_CHUNK: usize = 1000;
/// One message's embed text, below [`EMBED_TOTAL`] to leave room for the marker.
pub(super) const MESSAGE_BUDGET: usize = 5800;
/// Field values up to this long are shown side by side.
pub(super) const INLINE_MAX: usize = 40;
