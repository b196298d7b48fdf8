//! `open`: post the question with its ✅ / ❌ reactions or, with a key, find the one already
//! asked. With a key the newest 1000 messages of the channel are searched (10 pages of
//! `GET /channels/{c}/messages?limit=100`, then `before=` the oldest seen) for a message of the
//! bot's carrying the key marker; the newest match decides:
//! - open, before its deadline (asked + the params' timeout) -> reused as it is;
//! - open past its deadline (nobody closed it) -> one last round, as `wait` would do it: a
//!   message written by the deadline still decides; reactions do not count, unless this is
//!   within `FINAL_ROUND_GRACE_MS` (1 s) of the deadline, where a waiter's last round would
//!   count them: they carry no time, and nobody was watching at the deadline (`poll.rs`).
//!   If that decides, the
//!   question is closed with that answer and `open` returns it; otherwise it is closed as
//!   timed out and a new question is posted;
//! - approved or declined -> its answer;
//! - timed out, cancelled, or closed with a record that cannot be read -> a new question.
//!
//! Posting with a key is made idempotent across processes: the question's create nonce is a
//! hash of the channel, the key and the id of the closed question with this key that was
//! found (0 when none was), so two `open`s racing past the search (neither saw the other's
//! question) post one question: Discord's `enforce_nonce` returns the first message to the
//! second caller within its nonce window (a few minutes), and both return the same question.
//! The channel is part of the hash because Discord checks nonces per author, across channels.
//!
//! **A question posted only in part** (a long question is several messages, and a later one
//! failed: the error is `incomplete`) must not be answered as if it were whole, nor reused by a
//! keyed retry. The choice here is to mark it, not to finish it later: its first part (the one
//! with the instructions and the key marker) gets the cancellation record `close` writes
//! (`PATCH /channels/{c}/messages/{m}`: "🛑 Cancelled … the question could not be posted whole:
//! K of its N parts were"), in a delivery of its own since the failure may have used up the
//! open's. A `wait` on it is then refused as cancelled, and a keyed retry finds it cancelled and
//! posts a new question with new nonces (a marked question is never finished, so its missing
//! parts are not posted into it). It has no reactions of the bot's to remove: ✅ / ❌ are added
//! only once every part was created. If marking fails too, a notice says so and the question
//! stays as it was, answerable though nobody waits on it, until a keyed retry: the key search
//! counts the question's further parts among the bot's replies it reads (each carries its part
//! marker `(K/N)`), and a question with parts missing is marked then and a new one posted, once
//! it is old enough that no `open` can still be posting it (two delivery deadlines and 10 s).
//! A younger one may be a racing `open`'s, still posting its parts, and is reused.

use super::close;
use super::plan::{bot_id, fnv1a, guild_of, Plan, Target};
use super::poll::{look, Found, Watch};
use super::record::{self, outcome_embed, Outcome};
use super::wire::ChannelMessage;
use super::PAGE;
use crate::bindings::{
    AlertError, Answer, CloseReason, Decision, IncompletePost, Message, Opened, Params, QuestionRef,
};
use crate::discord::{encode_emoji, short, Method, Transport};
use crate::render::{CreateMessage, Document};
use crate::service::Service;
use crate::snowflake;

/// Pages of history searched for a key.
const KEY_PAGES: usize = 10;
/// Room for clocks beyond the two delivery deadlines an `open` takes at most, before a
/// question with missing parts counts as left half-posted.
const POSTING_GRACE_MS: u64 = 10_000;

/// Validate everything, then post or find the question, as one delivery.
pub(super) fn open<T: Transport>(
    svc: &mut Service<T>,
    question: &Message,
    params: &Params,
) -> Result<Opened, AlertError> {
    let plan = Plan::new(&svc.settings, params)?;
    if params.thread_name.is_some() {
        return Err(AlertError::InvalidInput(
            "a question cannot start a thread: start one with `post` and a thread name, then \
             ask in it by its id (thread-id)"
                .into(),
        ));
    }
    let channel = svc.channel(params)?;
    let mut doc = Document::from_message(question, params)?;
    let until = svc.client.unix_ms().saturating_add(plan.timeout_ms);
    doc.trailer = Some(plan.trailer(until));
    doc.marker = plan.key.as_deref().map(record::key_marker);
    let parts = svc.render(&doc, params)?;
    svc.client.begin_delivery();
    let opened = find_or_post(svc, &plan, &channel, parts);
    svc.client.end_delivery();
    if let Err(AlertError::Incomplete(half)) = &opened {
        withdraw(svc, half);
    }
    opened
}

/// Mark the first part of a question posted only in part as cancelled, in a delivery of its
/// own (the failure may have used up the open's).
fn withdraw<T: Transport>(svc: &mut Service<T>, half: &IncompletePost) {
    let Some(first) = half.message_ids.first() else {
        return;
    };
    let q = QuestionRef {
        channel_id: half.channel_id.clone(),
        message_id: first.clone(),
    };
    let parts = usize::try_from(half.parts).unwrap_or(usize::MAX);
    svc.client.begin_delivery();
    let marked = mark_half(svc, &q, half.message_ids.len(), parts);
    svc.client.end_delivery();
    match marked {
        Ok(()) => svc.client.notice(
            "the question could not be posted whole; its first part is marked as cancelled, \
             so ask again",
        ),
        Err(e) => svc.client.notice(&format!(
            "the question could not be posted whole, and marking its first part as cancelled \
             failed too ({}): people can still answer it, but nobody waits on it",
            short(&e)
        )),
    }
}

/// Mark `q`, of which `posted` of `parts` messages were created, as cancelled, so nobody
/// answers a question nobody waits on and a keyed retry asks afresh (within the caller's
/// delivery).
fn mark_half<T: Transport>(
    svc: &mut Service<T>,
    q: &QuestionRef,
    posted: usize,
    parts: usize,
) -> Result<(), AlertError> {
    let reason = CloseReason::Cancelled(format!(
        "the question could not be posted whole: {posted} of its {parts} parts were"
    ));
    let now = snowflake::rfc3339(svc.client.unix_ms());
    let target = Target::new(q)?;
    let outcome = outcome_embed(&reason, &now)?;
    close::edit(svc, &target, outcome)
}

/// What to do with the question a key found.
enum Keyed {
    /// Open: use it.
    Reuse,
    /// Decided: this answer.
    Answered(Answer),
    /// Closed without a decision: ask again.
    AskAgain,
}

fn find_or_post<T: Transport>(
    svc: &mut Service<T>,
    plan: &Plan,
    channel: &str,
    parts: Vec<CreateMessage>,
) -> Result<Opened, AlertError> {
    // Fail before posting a question nobody could answer.
    let guild = if plan.rules.approver_roles.is_empty() {
        None
    } else {
        Some(guild_of(svc, channel)?)
    };
    let mut batch = None;
    if let Some(key) = &plan.key {
        let bot = bot_id(svc)?;
        let mut closed: u64 = 0;
        if let Some((found, continued)) = find_by_key(svc, channel, bot, key)? {
            let q = QuestionRef {
                channel_id: channel.to_string(),
                message_id: found.id.clone(),
            };
            let opened = |answer| Opened {
                question: q.clone(),
                posted: false,
                asked_at: asked_at(&found.id),
                answer,
            };
            if is_half(svc, &found, continued) {
                let parts = record::parts_of(&found.content, &found.embeds);
                let marked = mark_half(svc, &q, 1 + continued, parts);
                svc.client.notice(&match marked {
                    Ok(()) => format!(
                        "the question with this key, {}, was posted only in part; it is now \
                         marked as cancelled, and a new one is posted",
                        q.message_id
                    ),
                    Err(e) => format!(
                        "the question with this key, {}, was posted only in part, and marking \
                         it as cancelled failed ({}); a new one is posted",
                        q.message_id,
                        short(&e)
                    ),
                });
                closed = snowflake::parse(&found.id).unwrap_or(0);
            } else {
                match settle(svc, plan, &q, &found, bot, guild)? {
                    Keyed::Reuse => return Ok(opened(None)),
                    Keyed::Answered(a) => return Ok(opened(Some(a))),
                    Keyed::AskAgain => closed = snowflake::parse(&found.id).unwrap_or(0),
                }
            }
        }
        batch = Some(fnv1a(&[
            channel.as_bytes(),
            key.as_bytes(),
            closed.to_string().as_bytes(),
        ]));
    }
    let receipt = match batch {
        Some(b) => svc.send_parts_as(channel, parts, b)?,
        None => svc.send_parts(channel, parts)?,
    };
    let question = receipt.message_ids[0].clone();
    for emoji in plan.rules.reaction_emoji().iter().take(2) {
        let path = format!(
            "/channels/{channel}/messages/{question}/reactions/{}/@me",
            encode_emoji(emoji)
        );
        let route = format!("PUT /channels/{channel}/messages/reactions");
        if let Err(e) = svc.client.call(Method::Put, &path, &route, None) {
            svc.client.notice(&format!(
                "could not add the {emoji} reaction ({}); people can still react or reply",
                short(&e)
            ));
        }
    }
    Ok(Opened {
        question: QuestionRef {
            channel_id: channel.to_string(),
            message_id: question.clone(),
        },
        posted: true,
        asked_at: asked_at(&question),
        answer: None,
    })
}

/// Where the question a key found stands; one left open past its deadline gets its last round
/// and is closed.
fn settle<T: Transport>(
    svc: &mut Service<T>,
    plan: &Plan,
    q: &QuestionRef,
    found: &ChannelMessage,
    bot: u64,
    guild: Option<String>,
) -> Result<Keyed, AlertError> {
    let decided = |a: Answer| match a.decision {
        Decision::TimedOut => Keyed::AskAgain,
        _ => Keyed::Answered(a),
    };
    match record::read_outcome(&found.embeds, &q.channel_id, &q.message_id) {
        Some(Outcome::Answered(a)) => return Ok(decided(a)),
        Some(_) => return Ok(Keyed::AskAgain),
        None => {}
    }
    let Ok(target) = Target::new(q) else {
        return Ok(Keyed::AskAgain);
    };
    let deadline_ms = target.asked_ms().saturating_add(plan.timeout_ms);
    if svc.client.unix_ms() <= deadline_ms {
        return Ok(Keyed::Reuse);
    }
    let mut w = Watch::new(target.clone(), plan, deadline_ms);
    w.rules.bot_id = bot;
    w.guild = guild;
    w.ready = true;
    let (answer, verdict) = match look(svc, plan, &mut w)? {
        Found::Recorded(Outcome::Answered(a)) => return Ok(decided(a)),
        Found::Recorded(_) => return Ok(Keyed::AskAgain),
        Found::Decided(a) => (a.clone(), Keyed::Answered(a)),
        Found::Undecided => (w.timed_out(deadline_ms), Keyed::AskAgain),
    };
    let now = snowflake::rfc3339(svc.client.unix_ms());
    let closed = outcome_embed(&CloseReason::Answered(answer), &now)
        .and_then(|outcome| close::edit(svc, &target, outcome));
    if let Err(e) = closed {
        svc.client.notice(&format!(
            "could not mark the question the key found, open past its deadline, with its \
             outcome: {}",
            short(&e)
        ));
    }
    Ok(verdict)
}

/// Whether `found`, a question with the key, was posted only in part and left unmarked (the
/// mark after its failed `open` failed too): its part marker says more parts than its first
/// and the `continued` further parts found, and it is old enough that no `open` can
/// still be posting it (one delivery for the parts, one for the mark, and
/// [`POSTING_GRACE_MS`] for clocks). A younger one may be a racing `open`'s, still posting:
/// it is reused.
fn is_half<T: Transport>(svc: &Service<T>, found: &ChannelMessage, continued: usize) -> bool {
    let parts = record::parts_of(&found.content, &found.embeds);
    let Some(id) = snowflake::parse(&found.id) else {
        return false;
    };
    let settled_ms = snowflake::unix_ms(id)
        .saturating_add(svc.settings.delivery_deadline_ms.saturating_mul(2))
        .saturating_add(POSTING_GRACE_MS);
    parts > continued.saturating_add(1)
        && svc.client.unix_ms() > settled_ms
        && record::read_outcome(&found.embeds, "", "").is_none()
}

fn asked_at(id: &str) -> String {
    snowflake::rfc3339(snowflake::parse(id).map_or(0, snowflake::unix_ms))
}

/// The newest message of the bot's in the channel's recent history that carries `key`, and
/// how many of its further parts (the bot's replies to it with a part marker `(K/N)`, K > 1,
/// counted once per K) were read.
fn find_by_key<T: Transport>(
    svc: &mut Service<T>,
    channel: &str,
    bot: u64,
    key: &str,
) -> Result<Option<(ChannelMessage, usize)>, AlertError> {
    let route = format!("GET /channels/{channel}/messages");
    let mut before: Option<u64> = None;
    // The bot's replies read so far (every message newer than the match) that are further
    // parts of a question: the question's id and the part's number.
    let mut parts: Vec<(u64, usize)> = Vec::new();
    for _ in 0..KEY_PAGES {
        let mut path = format!("/channels/{channel}/messages?limit={PAGE}");
        if let Some(b) = before {
            path.push_str(&format!("&before={b}"));
        }
        let page: Vec<ChannelMessage> = svc.client.get_json(&path, &route)?;
        let full = page.len() == PAGE;
        // Newest first (`!id` sorts descending, ties kept in order).
        let mut page = crate::order::sort_by_u64(page, |m| !snowflake::parse(&m.id).unwrap_or(0));
        let oldest = page.iter().filter_map(|m| snowflake::parse(&m.id)).min();
        let by_bot = |m: &ChannelMessage| snowflake::parse(&m.author.id) == Some(bot);
        let found = page.iter().position(|m| {
            by_bot(m)
                && before.is_none_or(|b| snowflake::parse(&m.id).is_some_and(|id| id < b))
                && record::carries_key(&m.content, &m.embeds, key)
        });
        let newer = found.map_or(&page[..], |i| &page[..i]);
        parts.extend(newer.iter().filter(|m| by_bot(m)).filter_map(|m| {
            let to = m.message_reference.as_ref()?.message_id.as_deref()?;
            let (k, _) = record::part_marker(&m.content, &m.embeds).filter(|&(k, _)| k > 1)?;
            Some((snowflake::parse(to)?, k))
        }));
        if let Some(i) = found {
            let found = page.swap_remove(i);
            let id = snowflake::parse(&found.id).unwrap_or(0);
            let mut seen: Vec<usize> = (parts.iter())
                .filter(|(to, _)| *to == id)
                .map(|&(_, k)| k)
                .collect();
            seen.sort_unstable();
            seen.dedup();
            return Ok(Some((found, seen.len())));
        }
        match oldest {
            Some(o) if full && before.is_none_or(|b| o < b) => before = Some(o),
            _ => break,
        }
    }
    Ok(None)
}
