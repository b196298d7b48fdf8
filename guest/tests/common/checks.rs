//! Checks of rendered output: valid per Discord's spec as the service sends it, part markers
//! where the renderer puts them, and nothing lost (every line of the input, in order, once the
//! fence repairs are removed).

use alerter_discord::bindings::{Message, Params};
use alerter_discord::render::{
    self, allowed_mentions, len, limits, render, CreateMessage, Document, MessageReference,
};
use proptest::prelude::*;
use serde_json::Value;

use super::spec;
use super::TIMESTAMP;

/// The bodies as the service sends them: nonce, `enforce_nonce`, parts 2.. reply to the first.
pub fn as_sent(parts: &[CreateMessage]) -> Vec<Value> {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut p = p.clone();
            p.nonce = Some(alerter_discord::service::nonce(u64::MAX, i));
            p.enforce_nonce = Some(true);
            p.message_reference = (i > 0).then(|| MessageReference {
                message_id: "1234567890123456789".into(),
                fail_if_not_exists: false,
            });
            serde_json::to_value(&p).expect("serializes")
        })
        .collect()
}

pub fn check_valid(parts: &[CreateMessage]) -> Result<(), TestCaseError> {
    for (i, body) in as_sent(parts).iter().enumerate() {
        let problems = spec::create_body_problems(body);
        prop_assert!(
            problems.is_empty(),
            "part {} of {}: {:#?}\nbody: {}",
            i + 1,
            parts.len(),
            problems,
            spec::truncate_for_log(&body.to_string())
        );
    }
    Ok(())
}

/// The part marker of part `k` of `n`, if the message carries it where the renderer puts them.
pub fn marked(m: &CreateMessage, k: usize, n: usize) -> bool {
    let mark = format!("({k}/{n})");
    match m.embeds.last() {
        Some(e) => e.footer.as_ref().is_some_and(|f| f.text.contains(&mark)),
        None => m.content.as_deref().is_some_and(|c| c.ends_with(&mark)),
    }
}

/// Remove `marker` from where the renderer puts it on the first message; false if absent.
pub fn unmark(m: &mut CreateMessage, marker: &str) -> bool {
    let shared = format!(" · {marker}");
    if let Some(e) = m.embeds.first_mut() {
        let Some(f) = e.footer.take() else {
            return false;
        };
        if f.text == marker {
            return true;
        }
        let rest = f.text.strip_suffix(&shared).map(str::to_string);
        e.footer = Some(render::Footer {
            text: rest.clone().unwrap_or(f.text),
        });
        return rest.is_some();
    }
    let Some(c) = m.content.as_mut() else {
        return false;
    };
    for suffix in [format!("\n-# {marker}"), shared] {
        if let Some(rest) = c.strip_suffix(&suffix) {
            *c = rest.to_string();
            return true;
        }
    }
    false
}

/// The text chunks of the output in order: each part's content (without the ping line and the
/// part marker), then its embed descriptions.
pub fn text_chunks(parts: &[CreateMessage], ping: Option<&str>) -> Vec<String> {
    let n = parts.len();
    let mut out = Vec::new();
    for (i, m) in parts.iter().enumerate() {
        if let Some(c) = &m.content {
            let mut c = c.as_str();
            if n > 1 {
                c = c
                    .strip_suffix(&format!("\n-# ({}/{n})", i + 1))
                    .unwrap_or(c);
            }
            if let Some(p) = ping {
                c = c
                    .strip_prefix(p)
                    .map_or(c, |r| r.strip_prefix('\n').unwrap_or(r));
            }
            if !c.is_empty() {
                out.push(c.to_string());
            }
        }
        out.extend(m.embeds.iter().filter_map(|e| e.description.clone()));
    }
    out
}

/// Concatenates chunks, removing fence repairs (the renderer's own inverse of `split_text`).
pub fn join_repaired(chunks: &[String]) -> String {
    alerter_discord::render::join_split(chunks)
}

/// Lines of `input` that must survive: non-blank and not a fence line (markup the renderer may
/// close and reopen).
pub fn content_lines(input: &str) -> impl Iterator<Item = &str> {
    input
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("```"))
}

pub fn check_lines_in_order(haystack: &str, input: &str, what: &str) -> Result<(), TestCaseError> {
    let mut at = 0;
    // Trailing whitespace is not content (Discord trims it too).
    for line in content_lines(input).map(str::trim_end) {
        match haystack[at..].find(line) {
            Some(p) => at += p + line.len(),
            None => {
                return Err(TestCaseError::fail(format!(
                    "{what}: line {line:?} is missing (or out of order) after byte {at} of the output:\n{}",
                    spec::truncate_for_log(haystack)
                )))
            }
        }
    }
    Ok(())
}

/// The longest prefix of `s` with at most `max` UTF-16 units.
pub fn prefix_units(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// Whether field name `name` shows metadata key `key`, whole or visibly cut.
pub fn shows_key(name: &str, key: &str) -> bool {
    if len(key) <= limits::FIELD_NAME {
        name == key
    } else {
        name.strip_suffix('…')
            .is_some_and(|p| key.starts_with(p) && len(p) >= limits::FIELD_NAME - 8)
    }
}

/// `ids` without repeats, first occurrence kept.
pub fn dedup(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

pub fn is_blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|t| t.trim().is_empty())
}

/// Everything checked for one rendered message.
pub fn check_render(
    msg: &Message,
    params: &Params,
    trailer: Option<&str>,
) -> Result<(), TestCaseError> {
    check_render_marked(msg, params, trailer, None)
}

/// The same for a message carrying a marker (an ask's key): valid as sent, the marker on the
/// first message where the renderer promises it, and everything else as without it.
pub fn check_render_marked(
    msg: &Message,
    params: &Params,
    trailer: Option<&str>,
    marker: Option<&str>,
) -> Result<(), TestCaseError> {
    let mut doc = Document::from_message(msg, params).expect("from_message");
    doc.trailer = trailer.map(str::to_string);
    doc.marker = marker.map(str::to_string);
    let mentions = allowed_mentions(params).expect("valid ids");
    let result = render(&doc, &mentions, TIMESTAMP);
    let result = match (result, marker) {
        (Ok(mut parts), Some(marker)) => {
            check_valid(&parts)?;
            prop_assert!(
                unmark(&mut parts[0], marker),
                "marker missing: {:?}",
                parts[0]
            );
            Ok(parts)
        }
        (other, _) => other,
    };

    let (title, body, metadata, images) = match msg {
        Message::Text(t) => (None, Some(t.clone()), vec![], vec![]),
        Message::Structured(m) => (
            m.title.clone(),
            m.body.clone(),
            m.metadata.clone(),
            m.images.clone(),
        ),
    };
    let payload_shown = params.include_format_blocks.unwrap_or(true)
        && params.payload.as_ref().is_some_and(|p| {
            [&p.pipeline_name, &p.step_name, &p.stack_name]
                .iter()
                .any(|v| !is_blank(v))
        });
    let empty = is_blank(&title)
        && is_blank(&body)
        && metadata.is_empty()
        && images.is_empty()
        && !payload_shown;
    let parts = match result {
        Err(e) => {
            prop_assert!(empty, "a non-empty message was refused: {e:?}");
            return Ok(());
        }
        Ok(parts) => parts,
    };
    prop_assert!(!empty, "an empty message was rendered");
    prop_assert!(!parts.is_empty());

    // 1. Valid per the spec and Discord's limits, with the documented mentions.
    check_valid(&parts)?;
    let n = parts.len();
    for (i, m) in parts.iter().enumerate() {
        prop_assert!(m.allowed_mentions.parse.is_empty());
        prop_assert!(!m.allowed_mentions.replied_user);
        prop_assert_eq!(&m.allowed_mentions.users, &dedup(&params.mention_users));
        prop_assert_eq!(&m.allowed_mentions.roles, &dedup(&params.mention_roles));
        if n > 1 {
            prop_assert!(marked(m, i + 1, n), "part {} of {} is not marked", i + 1, n);
        }
    }

    // 2. Nothing lost: body (and trailer) lines in order, in the text of the parts.
    let pings: Vec<String> = mentions
        .roles
        .iter()
        .map(|r| format!("<@&{r}>"))
        .chain(mentions.users.iter().map(|u| format!("<@{u}>")))
        .collect();
    let ping = (!pings.is_empty()).then(|| pings.join(" "));
    let text = join_repaired(&text_chunks(&parts, ping.as_deref()));
    let mut expected = String::new();
    if let Some(b) = &body {
        expected.push_str(b);
    }
    if let Some(t) = trailer {
        expected.push('\n');
        expected.push_str(t);
    }
    check_lines_in_order(&text, &expected, "body")?;

    // 3. The title: whole as the embed title, or cut with a mark and shown whole in the text.
    let first = parts[0].embeds.first();
    if let Some(t) = title.as_ref().filter(|t| !t.trim().is_empty()) {
        let shown = first.and_then(|e| e.title.as_deref()).unwrap_or("");
        if len(t) <= limits::TITLE {
            prop_assert_eq!(shown, t.as_str());
        } else {
            let cut = shown.strip_suffix('…');
            prop_assert!(
                cut.is_some_and(|c| t.starts_with(c) && !c.is_empty()),
                "title {:?}",
                shown
            );
            prop_assert!(text.contains(t.trim()), "the long title is not shown whole");
        }
    }

    // 4. Every metadata key in order (cut with '…' if long), and every value's lines in order.
    let fields: Vec<&render::Field> = parts
        .iter()
        .flat_map(|m| &m.embeds)
        .flat_map(|e| &e.fields)
        .collect();
    let mut at = 0;
    for entry in metadata.iter().filter(|e| !e.key.trim().is_empty()) {
        let pos = fields[at..]
            .iter()
            .position(|f| shows_key(&f.name, &entry.key));
        prop_assert!(
            pos.is_some(),
            "metadata key {:?} missing or out of order; fields: {:?}",
            entry.key,
            fields.iter().map(|f| &f.name).collect::<Vec<_>>()
        );
        at += pos.unwrap_or(0) + 1;
    }
    prop_assert!(
        fields.len() >= metadata.len(),
        "{} fields for {} metadata entries",
        fields.len(),
        metadata.len()
    );
    let values: Vec<String> = fields.iter().map(|f| f.value.clone()).collect();
    let values = join_repaired(&values);
    let all_values: String = metadata
        .iter()
        .map(|e| render::metadata_text(&e.value) + "\n")
        .collect();
    check_lines_in_order(&values, &all_values, "metadata values")?;

    // 5. Every image, in order.
    let shown: Vec<&str> = parts
        .iter()
        .flat_map(|m| &m.embeds)
        .filter_map(|e| e.image.as_ref().map(|i| i.url.as_str()))
        .collect();
    prop_assert_eq!(shown, images.iter().map(String::as_str).collect::<Vec<_>>());

    // 6. Pings only from the first part's content, and only the ids asked for.
    if let Some(p) = &ping {
        prop_assert!(parts[0]
            .content
            .as_deref()
            .is_some_and(|c| c.starts_with(p.as_str())));
    }
    Ok(())
}

/// Splits `chunks` back into `text`: each chunk is a piece of the text, except that a chunk may
/// end with a closing fence repair ("```" or "\n```") exactly when the next one starts with a
/// reopening fence line. Returns the heads (the pieces of `text`) or `None`.
pub fn unrepair(chunks: &[String], text: &str) -> Option<Vec<(usize, usize)>> {
    // States after each chunk: (position in text, next chunk is reopened, parent state index,
    // head range).
    type State = (usize, bool, usize, (usize, usize));
    let mut layers: Vec<Vec<State>> = vec![vec![(0, false, 0, (0, 0))]];
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let mut next: Vec<State> = Vec::new();
        for (si, &(pos, reopened, _, _)) in layers[i].iter().enumerate() {
            let mut c = chunk.as_str();
            if reopened {
                if !c.starts_with("```") {
                    continue;
                }
                match c.find('\n') {
                    Some(nl) => c = &c[nl + 1..],
                    None => continue,
                }
            }
            let rest = &text[pos..];
            let mut candidates: Vec<(&str, bool)> = vec![(c, false)];
            if !last {
                // The repair is "```" after a head ending in a newline, or "\n```".
                if let Some(h) = c.strip_suffix("```").filter(|h| h.ends_with('\n')) {
                    candidates.push((h, true));
                    candidates.push((&h[..h.len() - 1], true));
                }
            }
            for (head, repaired) in candidates {
                if rest.starts_with(head) {
                    let state = (pos + head.len(), repaired, si, (pos, pos + head.len()));
                    if !next.iter().any(|s| s.0 == state.0 && s.1 == state.1) {
                        next.push(state);
                    }
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        layers.push(next);
    }
    let end = layers
        .last()?
        .iter()
        .position(|s| s.0 == text.len() && !s.1)?;
    let mut heads = Vec::with_capacity(chunks.len());
    let mut idx = end;
    for layer in (1..layers.len()).rev() {
        let s = layers[layer][idx];
        heads.push(s.3);
        idx = s.2;
    }
    heads.reverse();
    Some(heads)
}

pub fn joins_its_predecessor(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0xFE0F | 0x1F3FB..=0x1F3FF)
}
