//! Messages -> Discord "create message" bodies that respect every documented limit.
//!
//! Nothing is dropped and nothing is cut without a visible mark: long text continues in
//! follow-up messages marked `(2/3)`, code blocks are closed and reopened across a split, surplus
//! fields continue in further embeds, and every request carries `allowed_mentions` so that text
//! from artifacts (`@everyone`, `<@&role>`) pings nobody unless the caller named them.
//! Lengths are counted in UTF-16 units, which is never less than Discord's count.

use serde::Serialize;

use crate::snowflake;
use crate::wit::{AlertError, Message, MetadataValue, Params, Severity};

/// Discord's documented limits.
pub mod limits {
    pub const CONTENT: usize = 2000;
    pub const EMBEDS: usize = 10;
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4096;
    pub const FIELDS: usize = 25;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FOOTER: usize = 2048;
    pub const AUTHOR: usize = 256;
    pub const EMBED_TOTAL: usize = 6000;
    pub const URL: usize = 2048;
    pub const NONCE: usize = 25;
}

/// Room kept free for part markers and fence repairs, so a chunk never overflows once marked.
const CONTENT_CHUNK: usize = 1900;
const DESCRIPTION_CHUNK: usize = 3900;
const FIELD_CHUNK: usize = 1000;
/// Budget for one message's embed text, below the 6000 limit to leave room for the marker.
const MESSAGE_BUDGET: usize = 5800;
/// Field values up to this long are shown side by side.
const INLINE_MAX: usize = 40;

/// Length as Discord may count it: UTF-16 units (>= Unicode scalar values).
pub fn len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `POST /channels/{id}/messages` body.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CreateMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<Embed>,
    pub allowed_mentions: AllowedMentions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_nonce: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Embed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<Footer>,
}

impl Embed {
    /// The text Discord counts towards the 6000-character total.
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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Image {
    pub url: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Footer {
    pub text: String,
}

/// Who may be pinged: nobody but the ids listed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AllowedMentions {
    pub parse: Vec<String>,
    pub users: Vec<String>,
    pub roles: Vec<String>,
    pub replied_user: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MessageReference {
    pub message_id: String,
    pub fail_if_not_exists: bool,
}

/// A message ready to render: what `post`, `ask` and the hooks all reduce to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// Plain text, sent as content (the old string form without format blocks).
    pub plain: Option<String>,
    pub title: Option<String>,
    /// Shown first and kept whole in the first message (e.g. a traceback's last lines).
    pub lead: Option<String>,
    /// The body; continues in follow-up messages when long.
    pub body: Option<String>,
    pub fields: Vec<(String, String)>,
    pub images: Vec<String>,
    pub severity: Option<Severity>,
    /// A line appended after the body (e.g. how to answer an ask).
    pub trailer: Option<String>,
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
    let check = |ids: &[String], what: &str| -> Result<Vec<String>, AlertError> {
        let mut out: Vec<String> = Vec::new();
        for id in ids {
            let id = id.trim();
            if !snowflake::is_valid(id) {
                return Err(AlertError::InvalidInput(format!(
                    "{what} id `{id}` is not a Discord id (17-20 digits)"
                )));
            }
            if !out.iter().any(|o| o == id) {
                out.push(id.to_string());
            }
        }
        if out.len() > 100 {
            return Err(AlertError::InvalidInput(format!(
                "at most 100 {what}s can be mentioned"
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
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && len(url) <= limits::URL
            && url.len() > 8
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(AlertError::InvalidInput(format!(
                "image `{}` is not an http(s) URL of at most {} characters",
                url.chars().take(80).collect::<String>(),
                limits::URL
            )));
        }
    }
    let ping_line = ping_line(mentions);
    let mut messages = match &doc.plain {
        Some(text)
            if doc.title.is_none()
                && doc.body.is_none()
                && doc.lead.is_none()
                && doc.fields.is_empty()
                && doc.images.is_empty() =>
        {
            plain_messages(text, doc.trailer.as_deref(), ping_line.as_deref())
        }
        _ => embed_messages(doc, timestamp, ping_line.as_deref()),
    };
    let total = messages.len();
    if total > 1 {
        for (i, m) in messages.iter_mut().enumerate() {
            mark_part(m, i + 1, total);
        }
    }
    for m in &mut messages {
        m.allowed_mentions = mentions.clone();
    }
    Ok(messages)
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

fn plain_messages(text: &str, trailer: Option<&str>, ping: Option<&str>) -> Vec<CreateMessage> {
    let mut full = String::new();
    if let Some(p) = ping {
        full.push_str(p);
        full.push('\n');
    }
    full.push_str(text);
    if let Some(t) = trailer {
        full.push_str("\n\n");
        full.push_str(t);
    }
    split_text(&full, CONTENT_CHUNK)
        .into_iter()
        .map(|chunk| CreateMessage {
            content: Some(chunk),
            ..CreateMessage::default()
        })
        .collect()
}

fn embed_messages(doc: &Document, timestamp: &str, ping: Option<&str>) -> Vec<CreateMessage> {
    let color = Some(color(doc.severity.unwrap_or(Severity::Info)));
    let mut embeds: Vec<Embed> = Vec::new();

    // The title: cut to the limit with a mark; the full title then opens the body.
    let mut body = String::new();
    let title = doc
        .title
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            if len(t) <= limits::TITLE {
                t.to_string()
            } else {
                body.push_str(&format!("**{}**\n\n", t.trim()));
                format!("{}…", take_units(t, limits::TITLE - 1))
            }
        });
    if let Some(lead) = &doc.lead {
        body.push_str(lead);
        if doc.body.is_some() {
            body.push_str("\n\n");
        }
    }
    if let Some(plain) = doc.plain.as_deref().filter(|_| doc.body.is_none()) {
        body.push_str(plain);
    }
    if let Some(b) = &doc.body {
        body.push_str(b);
    }
    if let Some(t) = &doc.trailer {
        if !body.trim().is_empty() {
            body.push_str("\n\n");
        }
        body.push_str(t);
    }
    let mut chunks = if body.trim().is_empty() {
        Vec::new()
    } else {
        split_text(&body, DESCRIPTION_CHUNK)
    }
    .into_iter();

    let mut first = Embed {
        title,
        description: chunks.next(),
        color,
        timestamp: Some(timestamp.to_string()),
        image: doc.images.first().map(|u| Image { url: u.clone() }),
        ..Embed::default()
    };
    let mut fields = doc
        .fields
        .iter()
        .flat_map(|(k, v)| fields_for(k, v))
        .peekable();
    // Fields go into the first embed while they fit, then into further embeds.
    while let Some(f) = fields.peek() {
        if first.fields.len() == limits::FIELDS
            || first.text_len() + len(&f.name) + len(&f.value) > MESSAGE_BUDGET
        {
            break;
        }
        first.fields.extend(fields.next());
    }
    embeds.push(first);
    for url in doc.images.iter().skip(1) {
        embeds.push(Embed {
            image: Some(Image { url: url.clone() }),
            color,
            ..Embed::default()
        });
    }
    let mut extra = Embed {
        color,
        ..Embed::default()
    };
    for f in fields {
        if extra.fields.len() == limits::FIELDS
            || extra.text_len() + len(&f.name) + len(&f.value) > MESSAGE_BUDGET
        {
            embeds.push(std::mem::replace(
                &mut extra,
                Embed {
                    color,
                    ..Embed::default()
                },
            ));
        }
        extra.fields.push(f);
    }
    if !extra.fields.is_empty() {
        embeds.push(extra);
    }
    // Body continuation comes after the fields, each chunk an embed of its own.
    for chunk in chunks {
        embeds.push(Embed {
            description: Some(chunk),
            color,
            ..Embed::default()
        });
    }

    // Pack embeds in order into messages: at most 10 each and 6000 characters in all.
    let mut messages: Vec<CreateMessage> = Vec::new();
    let mut current: Vec<Embed> = Vec::new();
    let mut current_len = 0;
    for e in embeds {
        let l = e.text_len();
        if !current.is_empty()
            && (current.len() == limits::EMBEDS || current_len + l > MESSAGE_BUDGET)
        {
            messages.push(CreateMessage {
                embeds: std::mem::take(&mut current),
                ..CreateMessage::default()
            });
            current_len = 0;
        }
        current_len += l;
        current.push(e);
    }
    messages.push(CreateMessage {
        embeds: current,
        ..CreateMessage::default()
    });
    if let Some(p) = ping {
        messages[0].content = Some(p.to_string());
    }
    messages
}

/// One metadata entry as one or more fields; a long value continues in fields marked `(cont.)`.
fn fields_for(key: &str, value: &str) -> Vec<Field> {
    let name = if key.trim().is_empty() {
        "(no name)".to_string()
    } else if len(key) > limits::FIELD_NAME {
        format!("{}…", take_units(key, limits::FIELD_NAME - 1))
    } else {
        key.to_string()
    };
    if value.trim().is_empty() {
        return vec![Field {
            name,
            value: "(empty)".into(),
            inline: true,
        }];
    }
    let parts = split_text(value, FIELD_CHUNK);
    let inline = parts.len() == 1 && len(value) <= INLINE_MAX && !value.contains('\n');
    let cont = format!("{} (cont.)", take_units(&name, limits::FIELD_NAME - 10));
    parts
        .into_iter()
        .enumerate()
        .map(|(i, v)| Field {
            name: if i == 0 { name.clone() } else { cont.clone() },
            value: v,
            inline,
        })
        .collect()
}

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

/// The longest prefix of `s` of at most `max` UTF-16 units, on a char boundary.
fn take_units(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// Marks that must stay with the character before them.
fn is_joiner(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
        | 0x200C | 0x200D | 0xFE00..=0xFE0F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

/// Split text into chunks of at most `max` UTF-16 units (plus a fence repair of at most 20),
/// preferring line breaks, then spaces, never inside a grapheme's combining marks. A chunk that
/// ends inside a ``` code block is closed, and the next one reopens it with the same language.
/// Concatenating the chunks with the fence repairs removed gives back `text`.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut reopen: Option<String> = None;
    while !rest.is_empty() {
        let prefix = reopen
            .as_ref()
            .map(|f| format!("{f}\n"))
            .unwrap_or_default();
        let budget = max.saturating_sub(len(&prefix)).max(1);
        let cut = if len(rest) <= budget {
            rest.len()
        } else {
            split_point(rest, budget)
        };
        let (head, tail) = rest.split_at(cut);
        let mut chunk = prefix + head;
        reopen = open_fence(&chunk);
        if reopen.is_some() && !tail.is_empty() {
            // Always "\n```", so that `join_split` can undo it exactly.
            chunk.push_str("\n```");
        }
        out.push(chunk);
        rest = tail;
    }
    out
}

/// The inverse of [`split_text`]: concatenate chunks, dropping each fence repair (a closing
/// "\n```" where the next chunk reopens, and that reopening fence line).
pub fn join_split(chunks: &[String]) -> String {
    let mut out = String::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut c = chunk.as_str();
        if i > 0 && chunks[i - 1].ends_with("\n```") && c.starts_with("```") {
            c = c.split_once('\n').map_or("", |(_, rest)| rest);
        }
        if chunks.get(i + 1).is_some_and(|n| n.starts_with("```")) {
            c = c.strip_suffix("\n```").unwrap_or(c);
        }
        out.push_str(c);
    }
    out
}

/// Byte index at which to cut `s` so the head has at most `budget` UTF-16 units.
fn split_point(s: &str, budget: usize) -> usize {
    let hard = take_units(s, budget).len();
    let window = &s[..hard];
    // Prefer the last newline in the second half of the window, then the last space.
    let floor = hard / 2;
    let at = window
        .rfind('\n')
        .filter(|&i| i >= floor)
        .map(|i| i + 1)
        .or_else(|| window.rfind(' ').filter(|&i| i >= floor).map(|i| i + 1))
        .unwrap_or(hard);
    // Never separate a combining mark, variation selector or joiner from its base.
    let mut cut = at;
    while cut > 0 {
        let next = s[cut..].chars().next();
        let prev = s[..cut].chars().next_back();
        if next.is_some_and(is_joiner) || prev == Some('\u{200D}') {
            cut -= prev.map_or(1, char::len_utf8);
        } else {
            break;
        }
    }
    if cut == 0 {
        // A single grapheme longer than the budget: cut hard rather than loop forever.
        cut = s.chars().next().map_or(s.len(), char::len_utf8).max(hard);
    }
    cut
}

/// If `chunk` ends inside a ``` block, the fence that reopens it: "```lang" when the opening
/// line names a plausible language (at most 20 of `A-Za-z0-9+#._-`), else a bare "```", so a
/// long line after the fence is never copied into every chunk.
fn open_fence(chunk: &str) -> Option<String> {
    let mut open: Option<String> = None;
    for line in chunk.lines() {
        let Some(rest) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        open = match open {
            Some(_) => None,
            // ```code``` on one line opens and closes.
            None if rest.contains("```") => None,
            None => {
                let lang = rest.trim();
                let plausible = lang.len() <= 20
                    && lang
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+#._-".contains(&b));
                Some(format!("```{}", if plausible { lang } else { "" }))
            }
        };
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::{AlerterMessage, MetadataEntry, Payload};

    fn params() -> Params {
        Params::default()
    }

    fn structured(title: &str, body: &str, meta: &[(&str, &str)]) -> Message {
        Message::Structured(AlerterMessage {
            title: Some(title.into()),
            body: Some(body.into()),
            metadata: meta
                .iter()
                .map(|(k, v)| MetadataEntry {
                    key: k.to_string(),
                    value: MetadataValue::Text(v.to_string()),
                })
                .collect(),
            images: vec![],
        })
    }

    fn render_msg(m: &Message, p: &Params) -> Result<Vec<CreateMessage>, AlertError> {
        let doc = Document::from_message(m, p)?;
        render(&doc, &allowed_mentions(p)?, "2026-11-28T00:00:00.000Z")
    }

    #[test]
    fn plain_text_becomes_content_with_no_pings() {
        let out = render_msg(&Message::Text("deploy done @everyone".into()), &params()).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].content.as_deref(), Some("deploy done @everyone"));
        assert!(out[0].embeds.is_empty());
        let json = serde_json::to_value(&out[0]).unwrap();
        assert_eq!(json["allowed_mentions"]["parse"], serde_json::json!([]));
    }

    #[test]
    fn structured_message_becomes_one_embed() {
        let m = structured(
            "Run failed",
            "loss diverged",
            &[("epoch", "7"), ("severity", "error")],
        );
        let out = render_msg(&m, &params()).unwrap();
        assert_eq!(out.len(), 1);
        let e = &out[0].embeds[0];
        assert_eq!(e.title.as_deref(), Some("Run failed"));
        assert_eq!(e.description.as_deref(), Some("loss diverged"));
        assert_eq!(e.color, Some(0xE74C3C));
        assert_eq!(e.fields[0].name, "epoch");
        assert!(e.fields[0].inline);
        assert!(e.footer.is_none());
    }

    #[test]
    fn payload_becomes_zenml_format_blocks_first() {
        let mut p = params();
        p.payload = Some(Payload {
            pipeline_name: Some("training".into()),
            step_name: Some("evaluate".into()),
            stack_name: Some("prod".into()),
        });
        let out = render_msg(&Message::Text("accuracy 0.93".into()), &p).unwrap();
        let e = &out[0].embeds[0];
        let names: Vec<_> = e.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Pipeline", "Step", "Stack"]);
        assert_eq!(e.description.as_deref(), Some("accuracy 0.93"));
        p.include_format_blocks = Some(false);
        let out = render_msg(&Message::Text("accuracy 0.93".into()), &p).unwrap();
        assert_eq!(out[0].content.as_deref(), Some("accuracy 0.93"));
    }

    #[test]
    fn empty_message_is_invalid_input() {
        for m in [Message::Text("  ".into()), structured("", "", &[])] {
            assert!(matches!(
                render_msg(&m, &params()),
                Err(AlertError::InvalidInput(_))
            ));
        }
    }

    #[test]
    fn long_text_continues_in_marked_parts_and_loses_nothing() {
        let text: String = (0..500).map(|i| format!("line {i} of the log\n")).collect();
        let out = render_msg(&Message::Text(text.clone()), &params()).unwrap();
        assert!(out.len() > 1);
        let n = out.len();
        let mut joined = String::new();
        for (i, m) in out.iter().enumerate() {
            let c = m.content.as_deref().unwrap();
            assert!(len(c) <= limits::CONTENT);
            let mark = format!("\n-# ({}/{n})", i + 1);
            assert!(c.ends_with(&mark), "part {i} unmarked");
            joined.push_str(c.strip_suffix(&mark).unwrap());
        }
        assert_eq!(joined, text);
    }

    #[test]
    fn code_blocks_stay_balanced_across_splits() {
        let code: String = (0..400).map(|i| format!("    frame {i}\n")).collect();
        let text = format!("Traceback:\n```python\n{code}```\nend");
        for chunk in split_text(&text, 1900) {
            assert_eq!(chunk.matches("```").count() % 2, 0, "unbalanced: {chunk}");
        }
        let chunks = split_text(&text, 1900);
        assert!(chunks[1].starts_with("```python\n"));
    }

    #[test]
    fn join_split_undoes_split_text_exactly() {
        let code: String = (0..300).map(|i| format!("    frame {i}\n")).collect();
        for text in [
            format!("Traceback:\n```python\n{code}```\nend"),
            format!("x\n```{}\n```", "j".repeat(5000)),
            "plain ".repeat(2000),
        ] {
            let chunks = split_text(&text, 1000);
            assert!(chunks.len() > 1);
            assert!(chunks.iter().all(|c| len(c) <= 1000 + 20));
            assert_eq!(join_split(&chunks), text);
        }
    }

    #[test]
    fn splits_never_separate_combining_marks() {
        let text = "e\u{301}".repeat(3000);
        for chunk in split_text(&text, 1000) {
            assert!(!chunk.starts_with('\u{301}'));
            assert!(len(&chunk) <= 1000);
        }
    }

    #[test]
    fn many_fields_continue_in_further_embeds() {
        let meta: Vec<(String, String)> = (0..40)
            .map(|i| (format!("key{i}"), format!("value {i}")))
            .collect();
        let meta_ref: Vec<(&str, &str)> =
            meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = render_msg(&structured("t", "b", &meta_ref), &params()).unwrap();
        let fields: Vec<_> = out
            .iter()
            .flat_map(|m| &m.embeds)
            .flat_map(|e| &e.fields)
            .map(|f| f.name.clone())
            .collect();
        assert_eq!(fields.len(), 40);
        assert_eq!(fields[39], "key39");
        for m in &out {
            for e in &m.embeds {
                assert!(e.fields.len() <= limits::FIELDS);
            }
        }
    }

    #[test]
    fn long_titles_and_values_are_marked_not_lost() {
        let title = "T".repeat(300);
        let value = "v".repeat(2500);
        let out = render_msg(&structured(&title, "body", &[("big", &value)]), &params()).unwrap();
        let e = &out[0].embeds[0];
        assert!(e.title.as_deref().unwrap().ends_with('…'));
        assert!(e.description.as_deref().unwrap().contains(&title));
        let big: String = out
            .iter()
            .flat_map(|m| &m.embeds)
            .flat_map(|e| &e.fields)
            .filter(|f| f.name.starts_with("big"))
            .map(|f| f.value.clone())
            .collect();
        assert_eq!(big, value);
    }

    #[test]
    fn mentions_ping_only_named_ids_from_content() {
        let mut p = params();
        p.mention_roles = vec!["222222222222222222".into()];
        let out = render_msg(&structured("Oncall", "@everyone look", &[]), &p).unwrap();
        assert_eq!(out[0].content.as_deref(), Some("<@&222222222222222222>"));
        assert_eq!(out[0].allowed_mentions.roles, ["222222222222222222"]);
        assert!(out[0].allowed_mentions.parse.is_empty());
        p.mention_users = vec!["not-an-id".into()];
        assert!(
            matches!(render_msg(&structured("a", "b", &[]), &p), Err(AlertError::InvalidInput(m)) if m.contains("not-an-id"))
        );
    }

    #[test]
    fn images_first_in_main_embed_rest_in_their_own() {
        let m = Message::Structured(AlerterMessage {
            title: Some("plots".into()),
            body: None,
            metadata: vec![],
            images: vec!["https://e.x/a.png".into(), "https://e.x/b.png".into()],
        });
        let out = render_msg(&m, &params()).unwrap();
        assert_eq!(out[0].embeds.len(), 2);
        assert_eq!(
            out[0].embeds[1].image.as_ref().unwrap().url,
            "https://e.x/b.png"
        );
        let bad = Message::Structured(AlerterMessage {
            title: Some("x".into()),
            body: None,
            metadata: vec![],
            images: vec!["file:///etc/passwd".into()],
        });
        assert!(matches!(
            render_msg(&bad, &params()),
            Err(AlertError::InvalidInput(_))
        ));
    }
}
