//! A [`Document`] laid out as create-message bodies: plain text as content chunks, anything else
//! as embeds (title, description chunks, fields, images) packed in order into messages within
//! the per-message embed limits. Part markers and mentions are added by [`super::render`].

use super::body::{CreateMessage, Embed, Field, Image};
use super::limits::{self, DESCRIPTION_CHUNK, FIELD_CHUNK, INLINE_MAX, MESSAGE_BUDGET};
use super::split::{split_text, take_units};
use super::{color, len, Document};
use crate::bindings::Severity;

/// Plain text as content chunks of at most `chunk` (plus fence repairs): the ping line, the
/// text, then the trailer.
pub(super) fn plain_messages(
    text: &str,
    trailer: Option<&str>,
    ping: Option<&str>,
    chunk: usize,
) -> Vec<CreateMessage> {
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
    split_text(&full, chunk)
        .into_iter()
        .map(|chunk| CreateMessage {
            content: Some(chunk),
            ..CreateMessage::default()
        })
        .collect()
}

/// Everything else as embeds, packed into messages; the first embed carries `timestamp`.
pub(super) fn embed_messages(
    doc: &Document,
    timestamp: &str,
    ping: Option<&str>,
) -> Vec<CreateMessage> {
    let color = Some(color(doc.severity.unwrap_or(Severity::Info)));
    let (title, body) = title_and_body(doc);
    let mut chunks = if body.trim().is_empty() {
        Vec::new()
    } else {
        split_text(&body, DESCRIPTION_CHUNK)
    }
    .into_iter();
    let first = Embed {
        title,
        description: chunks.next(),
        color,
        timestamp: Some(timestamp.to_string()),
        image: doc.images.first().map(|u| Image { url: u.clone() }),
        ..Embed::default()
    };
    let fields = doc.fields.iter().flat_map(|(k, v)| fields_for(k, v));
    let mut embeds = embeds_in_order(doc, first, fields, color);
    // Body continuation comes after the fields, each chunk an embed of its own.
    embeds.extend(chunks.map(|chunk| Embed {
        description: Some(chunk),
        color,
        ..Embed::default()
    }));
    let mut messages = pack(embeds);
    if let Some(p) = ping {
        messages[0].content = Some(p.to_string());
    }
    messages
}

/// The first embed's title, cut to the limit with a mark, and the text of its description
/// and continuations: the full title when it was cut, the lead, the body (or the plain text
/// when there is no body), then the trailer.
fn title_and_body(doc: &Document) -> (Option<String>, String) {
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
    (title, body)
}

/// Whether `f` still fits in `e`: fewer than 25 fields, and the embed text within
/// [`MESSAGE_BUDGET`].
fn fits(e: &Embed, f: &Field) -> bool {
    e.fields.len() < limits::FIELDS && e.text_len() + len(&f.name) + len(&f.value) <= MESSAGE_BUDGET
}

/// `first` with the fields that fit in it, then an embed for each image after the first, then
/// the remaining fields in further embeds, each filled while they fit.
fn embeds_in_order(
    doc: &Document,
    mut first: Embed,
    fields: impl Iterator<Item = Field>,
    color: Option<u32>,
) -> Vec<Embed> {
    let mut fields = fields.peekable();
    // Fields go into the first embed while they fit, then into further embeds.
    while let Some(f) = fields.peek() {
        if !fits(&first, f) {
            break;
        }
        first.fields.extend(fields.next());
    }
    let mut embeds = vec![first];
    for url in doc.images.iter().skip(1) {
        embeds.push(Embed {
            image: Some(Image { url: url.clone() }),
            color,
            ..Embed::default()
        });
    }
    let blank = || Embed {
        color,
        ..Embed::default()
    };
    let mut extra = blank();
    for f in fields {
        if !fits(&extra, &f) {
            embeds.push(std::mem::replace(&mut extra, blank()));
        }
        extra.fields.push(f);
    }
    if !extra.fields.is_empty() {
        embeds.push(extra);
    }
    embeds
}

/// Pack embeds in order into messages: at most 10 each, and within [`MESSAGE_BUDGET`] of embed
/// text (below Discord's 6000, leaving room for the markers) unless one embed alone is over
/// it. Always at least one message (with no embeds when there are none).
fn pack(embeds: Vec<Embed>) -> Vec<CreateMessage> {
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
    // A run of blank lines can fill a whole chunk; Discord rejects a blank field value, and
    // such a chunk shows nothing, so it is left out.
    let parts: Vec<String> = split_text(value, FIELD_CHUNK)
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .collect();
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
