//! `close`: read the question back, then edit it with the outcome embed appended after its own
//! embeds (footer and key marker kept). Closing is done once: a question that already carries
//! an outcome, even one this version cannot read, is left as it is, so a retried `close`, or
//! one racing another process, changes nothing. Only the question's own (`rich`) embeds are
//! sent back: the previews Discord added for links in its text (`link`, `image`, `video`,
//! `gifv`, `article`) are left out, as is any embed with nothing to show. The edit stays within
//! Discord's limits: at most 10 embeds (the question's last ones give way) and 6000 characters
//! of embed text (the question's descriptions are cut, marked with `…`, then its fields and its
//! later embeds give way); the first embed, with the key, always stays.

use super::plan::Target;
use super::record::{outcome_embed, read_outcome};
use super::wire::ChannelMessage;
use crate::bindings::{AlertError, CloseReason, QuestionRef};
use crate::discord::{Method, Transport};
use crate::render::{len, limits, Embed};
use crate::service::Service;
use crate::snowflake;

/// Mark `question` with `reason`, as one delivery.
pub(super) fn close<T: Transport>(
    svc: &mut Service<T>,
    question: &QuestionRef,
    reason: &CloseReason,
) -> Result<(), AlertError> {
    let q = Target::new(question)?;
    let now = snowflake::rfc3339(svc.client.unix_ms());
    let outcome = outcome_embed(reason, &now)?;
    svc.client.begin_delivery();
    let result = edit(svc, &q, outcome);
    svc.client.end_delivery();
    result
}

/// Read `q` back and, unless it is closed already, append `outcome` to it (within the caller's
/// delivery).
pub(super) fn edit<T: Transport>(
    svc: &mut Service<T>,
    q: &Target,
    outcome: Embed,
) -> Result<(), AlertError> {
    let (path, route) = q.path();
    let current: ChannelMessage = svc.client.get_json(&path, &route)?;
    if read_outcome(&current.embeds, &q.channel, &q.message).is_some() {
        return Ok(());
    }
    let embeds = with_outcome(current.embeds, outcome);
    let body = Edit {
        allowed_mentions: NoMentions { parse: [] },
        embeds,
    };
    let route = format!("PATCH /channels/{}/messages/id", q.channel);
    svc.client
        .call(Method::Patch, &path, &route, Some(&body))
        .map(drop)
}

/// The question's embeds with `outcome` appended, trimmed to Discord's limits.
pub(super) fn with_outcome(embeds: Vec<Embed>, outcome: Embed) -> Vec<Embed> {
    let mut embeds: Vec<Embed> = embeds.into_iter().filter(Embed::is_rich).collect();
    embeds.truncate(limits::EMBEDS - 1);
    let total = |e: &[Embed]| e.iter().map(Embed::text_len).sum::<usize>();
    let budget = limits::EMBED_TOTAL - outcome.text_len();
    // Cut descriptions, the last embed's first; one too short to cut goes whole.
    for i in (0..embeds.len()).rev() {
        let over = total(&embeds).saturating_sub(budget);
        if over == 0 {
            break;
        }
        if let Some(d) = embeds[i].description.take() {
            let n = len(&d);
            if n > over + 1 {
                embeds[i].description = Some(format!("{}…", cut_units(&d, n - over - 1)));
            }
        }
    }
    // Then fields, then whole embeds after the first.
    while total(&embeds) > budget {
        if let Some(e) = embeds.iter_mut().rev().find(|e| !e.fields.is_empty()) {
            e.fields.pop();
        } else if embeds.len() > 1 {
            embeds.pop();
        } else {
            break;
        }
    }
    // An embed left with nothing to show would be refused (the first one keeps its footer).
    embeds.retain(Embed::shows_something);
    embeds.push(outcome);
    embeds
}

/// The longest prefix of `s` with at most `max` UTF-16 units.
fn cut_units(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// The edit's body: `{"allowed_mentions": {"parse": []}, "embeds": [...]}` (keys in this order,
/// as before; see `render::body`).
#[derive(serde::Serialize)]
struct Edit {
    allowed_mentions: NoMentions,
    embeds: Vec<Embed>,
}

/// `{"parse": []}`: the edit pings nobody.
#[derive(serde::Serialize)]
struct NoMentions {
    parse: [&'static str; 0],
}
