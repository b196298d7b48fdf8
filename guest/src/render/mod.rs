//! Messages -> Discord "create message" bodies that respect every documented limit.
//!
//! Nothing is dropped and nothing is cut without a visible mark: long text continues in
//! follow-up messages marked `(2/3)`, code blocks are closed and reopened across a split, surplus
//! fields continue in further embeds, and every request carries `allowed_mentions` so that text
//! from artifacts (`@everyone`, `<@&role>`) pings nobody unless the caller named them.
//! Lengths are counted in UTF-16 units, which is never less than Discord's count.
//!
//! Here: [`Document`] (what every verb reduces to) and [`render`], the entry point. The request
//! body types are in `body.rs`, the layout as embeds or content in `embeds.rs`, text splitting in
//! `split.rs`, and every size rule in [`limits`].

mod body;
mod embeds;
pub mod files;
pub mod limits;
pub mod long;
mod split;
#[cfg(test)]
mod tests;

use crate::bindings::{AlertError, Message, MetadataValue, Params, Severity};
use crate::snowflake;

pub use body::{
    AllowedMentions, AttachmentRef, CreateMessage, Embed, Field, Footer, Image, MessageReference,
};
pub use files::FilePart;
pub use split::{join_split, split_text};

/// Length as Discord may count it: UTF-16 units (>= Unicode scalar values).
pub fn len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// A message ready to render: what `post`, `ask` and the hooks all reduce to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// Plain text, sent as content (the old string form without format blocks).
    pub plain: Option<String>,
    /// The title.
    pub title: Option<String>,
    /// Shown first and kept whole in the first message (e.g. a traceback's last lines).
    pub lead: Option<String>,
    /// The body; continues in follow-up messages when long.
    pub body: Option<String>,
    /// Name/value pairs, in order.
    pub fields: Vec<(String, String)>,
    /// Image URLs, in order (`attachment://NAME` for one of the call's files).
    pub images: Vec<String>,
    /// The name of the file the body becomes when it is too long to show, and the text to put
    /// in it when that is not the body itself (a traceback without its markdown); see
    /// [`long::attach_long_text`].
    pub body_file: Option<(String, String)>,
    /// Sets the colour.
    pub severity: Option<Severity>,
    /// A line appended after the body (e.g. how to answer an ask).
    pub trailer: Option<String>,
    /// A short note identifying the message (an ask's key), at most [`limits::MARKER`]
    /// characters on one line: the first message carries it in its first embed's footer, or
    /// without embeds as its last content line (`-# ` subtext), after the part marker.
    pub marker: Option<String>,
}

impl Document {
    /// Turn a WIT message and params into a document, applying ZenML's format blocks.
    pub fn from_message(message: &Message, params: &Params) -> Result<Document, AlertError> {
        let mut doc = Document {
            severity: params.severity,
            ..Document::default()
        };
        match message {
            Message::Text(text) => doc.plain = Some(text.clone()),
            Message::Structured(m) => {
                doc.title = m.title.clone();
                doc.body = m.body.clone();
                for entry in &m.metadata {
                    let value = metadata_text(&entry.value);
                    if entry.key.eq_ignore_ascii_case("severity") && doc.severity.is_none() {
                        doc.severity = parse_severity(&value);
                    }
                    doc.fields.push((entry.key.clone(), value));
                }
                doc.images = m.images.clone();
            }
        }
        if params.include_format_blocks.unwrap_or(true) {
            if let Some(p) = &params.payload {
                let mut blocks = Vec::new();
                for (name, value) in [
                    ("Pipeline", &p.pipeline_name),
                    ("Step", &p.step_name),
                    ("Stack", &p.stack_name),
                ] {
                    if let Some(v) = value.as_ref().filter(|v| !v.trim().is_empty()) {
                        blocks.push((name.to_string(), v.clone()));
                    }
                }
                if !blocks.is_empty() {
                    // ZenML shows the text as a "Message" block beside the payload.
                    if let Some(text) = doc.plain.take() {
                        doc.body = Some(text);
                    }
                    blocks.append(&mut doc.fields);
                    doc.fields = blocks;
                }
            }
        }
        Ok(doc)
    }

    fn is_empty(&self) -> bool {
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|t| t.trim().is_empty());
        blank(&self.plain)
            && blank(&self.title)
            && blank(&self.lead)
            && blank(&self.body)
            && self.fields.is_empty()
            && self.images.is_empty()
    }
}

/// Text shown for a metadata value.
pub fn metadata_text(value: &MetadataValue) -> String {
    match value {
        MetadataValue::Text(s) | MetadataValue::Json(s) => s.clone(),
        MetadataValue::Integer(i) => i.to_string(),
        MetadataValue::Float(f) => f.to_string(),
        MetadataValue::Boolean(b) => b.to_string(),
    }
}

/// `info`, `success`, `warning` (or `warn`), `error` (or `critical`, `failure`), any case.
pub fn parse_severity(s: &str) -> Option<Severity> {
    match s.trim().to_ascii_lowercase().as_str() {
        "info" => Some(Severity::Info),
        "success" | "ok" => Some(Severity::Success),
        "warning" | "warn" => Some(Severity::Warning),
        "error" | "critical" | "failure" | "fatal" => Some(Severity::Error),
        _ => None,
    }
}

/// Embed colour for a severity.
pub fn color(severity: Severity) -> u32 {
    match severity {
        Severity::Info => 0x3498DB,
        Severity::Success => 0x2ECC71,
        Severity::Warning => 0xF1C40F,
        Severity::Error => 0xE74C3C,
    }
}

/// Check mention ids and build the allowed-mentions object every request carries.
pub fn allowed_mentions(params: &Params) -> Result<AllowedMentions, AlertError> {
    // Each id once (compared as numbers), written as Discord writes it.
    let check = |ids: &[String], what: &str| -> Result<Vec<String>, AlertError> {
        let out: Vec<String> = snowflake::distinct(ids)
            .map_err(|id| snowflake::not_an_id(what, id.trim()))?
            .iter()
            .map(u64::to_string)
            .collect();
        if out.len() > limits::MENTIONS {
            return Err(AlertError::InvalidInput(format!(
                "at most {} {what}s can be mentioned",
                limits::MENTIONS
            )));
        }
        Ok(out)
    };
    Ok(AllowedMentions {
        parse: Vec::new(),
        users: check(&params.mention_users, "user")?,
        roles: check(&params.mention_roles, "role")?,
        replied_user: false,
    })
}

/// Render a document into one or more create-message bodies, in order. The first is the
/// alert; the rest continue it (the caller makes them replies to the first and adds nonces).
/// `timestamp` (RFC 3339) goes on the first embed.
pub fn render(
    doc: &Document,
    mentions: &AllowedMentions,
    timestamp: &str,
) -> Result<Vec<CreateMessage>, AlertError> {
    if doc.is_empty() {
        return Err(AlertError::InvalidInput(
            "the message is empty: give a title, a body, metadata or an image".into(),
        ));
    }
    for url in &doc.images {
        // `attachment://NAME` is checked against the call's files by the caller.
        if let Some(name) = url.strip_prefix("attachment://") {
            files::check_filename(name)?;
            continue;
        }
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && len(url) <= limits::URL
            && url.len() > 8
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(AlertError::InvalidInput(format!(
                "image `{}` is not an http(s) URL of at most {} characters, nor \
                 attachment://NAME",
                url.chars().take(80).collect::<String>(),
                limits::URL
            )));
        }
    }
    let marker = match doc.marker.as_deref() {
        Some(m) if len(m) > limits::MARKER || m.contains(['\n', '\r']) || m.trim().is_empty() => {
            return Err(AlertError::InvalidInput(format!(
                "a message marker must be one line of at most {} characters",
                limits::MARKER
            )))
        }
        other => other,
    };
    let ping_line = ping_line(mentions);
    let mut messages = match &doc.plain {
        Some(text)
            if doc.title.is_none()
                && doc.body.is_none()
                && doc.lead.is_none()
                && doc.fields.is_empty()
                && doc.images.is_empty() =>
        {
            // Room for the marker line in every chunk keeps the first one within the limit.
            let chunk = limits::CONTENT_CHUNK - marker.map_or(0, |_| limits::MARKER + 6);
            embeds::plain_messages(text, doc.trailer.as_deref(), ping_line.as_deref(), chunk)
        }
        _ => embeds::embed_messages(doc, timestamp, ping_line.as_deref()),
    };
    let total = messages.len();
    if total > 1 {
        for (i, m) in messages.iter_mut().enumerate() {
            mark_part(m, i + 1, total);
        }
    }
    if let Some(marker) = marker {
        add_marker(&mut messages[0], marker);
    }
    for m in &mut messages {
        m.allowed_mentions = mentions.clone();
    }
    Ok(messages)
}

/// Put `marker` on a message: its first embed's footer (after a part marker already there), or
/// without embeds its last content line, as subtext.
fn add_marker(m: &mut CreateMessage, marker: &str) {
    match m.embeds.first_mut() {
        Some(e) => {
            let text = match e.footer.take() {
                Some(f) => format!("{} · {marker}", f.text),
                None => marker.to_string(),
            };
            e.footer = Some(Footer { text });
        }
        None => {
            let c = m.content.get_or_insert_with(String::new);
            match c.rfind("\n-# ") {
                // The part marker, `-# (1/3)`, is the last line: share it.
                Some(at) if c[at..].starts_with("\n-# (") && !c[at + 1..].contains('\n') => {
                    c.push_str(" · ");
                }
                _ => c.push_str("\n-# "),
            }
            c.push_str(marker);
        }
    }
}

/// `<@&role> <@user>` for the ids the caller wants pinged; pings only work from content.
fn ping_line(m: &AllowedMentions) -> Option<String> {
    let parts: Vec<String> = m
        .roles
        .iter()
        .map(|r| format!("<@&{r}>"))
        .chain(m.users.iter().map(|u| format!("<@{u}>")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Mark part `n` of `total`: in the last embed's footer, else at the end of the content.
fn mark_part(m: &mut CreateMessage, n: usize, total: usize) {
    let mark = format!("({n}/{total})");
    match m.embeds.last_mut() {
        Some(e) => e.footer = Some(Footer { text: mark }),
        None => {
            let c = m.content.get_or_insert_with(String::new);
            c.push_str("\n-# ");
            c.push_str(&mark);
        }
    }
}
