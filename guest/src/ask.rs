//! `ask`: post a question, add ✅ / ❌, then poll REST until someone entitled answers or the
//! timeout passes, and finally edit the question to show the outcome.
//!
//! Polling (see `shared/notes/discord-rest.md`): `GET /channels/{c}/messages?after=<cursor>&limit=100`
//! returns newest first, so each page is processed reversed (oldest first) and the cursor moves
//! to the largest id; a full page is fetched again at once. Reactions have no timestamps: each
//! round reads the question's reactions and lists the users of every deciding emoji that
//! someone besides the bot used; users already seen are skipped. Within a round, messages (in
//! snowflake order) come before reactions. Transient
//! failures while polling are retried by the client and then skipped; 401/403/404 end the ask.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::json;

use crate::approval::{Rules, Verdict};
use crate::discord::{encode_emoji, Method, Transport};
use crate::render::{self, CreateMessage, Document, Embed};
use crate::service::Service;
use crate::snowflake;
use crate::wit::{AlertError, Answer, AnswerVia, Decision, Message, Params, Responder, Severity};

/// Default time between polls.
pub const DEFAULT_POLL_MS: u64 = 2_000;
/// Shortest poll interval allowed, to stay far below Discord's rate limits.
pub const MIN_POLL_MS: u64 = 200;
const PAGE: usize = 100;

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    username: String,
    #[serde(default)]
    bot: bool,
}

#[derive(Debug, Deserialize)]
struct Reference {
    message_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChannelMessage {
    id: String,
    #[serde(default)]
    content: String,
    author: User,
    #[serde(rename = "type", default)]
    kind: u8,
    #[serde(default)]
    message_reference: Option<Reference>,
    #[serde(default)]
    embeds: Vec<serde_json::Value>,
    #[serde(default)]
    attachments: Vec<serde_json::Value>,
    #[serde(default)]
    sticker_items: Vec<serde_json::Value>,
    #[serde(default)]
    reactions: Vec<Reaction>,
}

#[derive(Debug, Deserialize)]
struct Reaction {
    count: u32,
    #[serde(default)]
    me: bool,
    emoji: Emoji,
}

#[derive(Debug, Deserialize)]
struct Emoji {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Channel {
    guild_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Member {
    #[serde(default)]
    roles: Vec<String>,
}

/// One candidate answer, in the order it was seen.
struct Seen {
    user: Responder,
    is_bot: bool,
    verdict: Verdict,
    via: AnswerVia,
    at_ms: u64,
}

/// Everything the polling loop remembers between rounds.
struct Poll {
    channel: String,
    question: String,
    cursor: u64,
    seen_reactors: HashSet<(String, u64)>,
    roles: HashMap<u64, Option<Vec<String>>>,
    guild: Option<String>,
    approvals: Vec<Responder>,
    intent_warned: bool,
}

/// Post `question` and wait for a decision.
pub fn ask<T: Transport>(
    svc: &mut Service<T>,
    question: &Message,
    params: &Params,
) -> Result<Answer, AlertError> {
    // Everything that can be checked is checked before the first request.
    let channel = svc.channel(params)?;
    let settings = params.ask.as_ref();
    let timeout_ms = settings
        .and_then(|s| s.timeout_ms)
        .unwrap_or(svc.settings.ask_timeout_ms);
    if timeout_ms == 0 {
        return Err(AlertError::InvalidInput(
            "the ask timeout must be positive".into(),
        ));
    }
    let poll_ms = settings
        .and_then(|s| s.poll_interval_ms)
        .unwrap_or(DEFAULT_POLL_MS)
        .max(MIN_POLL_MS);
    let mut rules = Rules::from_params(params, 0)?;
    let mut doc = Document::from_message(question, params)?;
    doc.trailer = Some(rules.instructions(timeout_ms));
    let parts = svc.render(&doc, params)?;
    let first_part = parts[0].clone();

    let me: User = get_json(svc, "/users/@me", "GET /users/@me")?;
    rules.bot_id = snowflake::parse(&me.id).ok_or_else(|| {
        AlertError::Transport(format!("Discord returned a bad bot id `{}`", me.id))
    })?;
    let guild = if rules.approver_roles.is_empty() {
        None
    } else {
        let path = format!("/channels/{channel}");
        let c: Channel = get_json(svc, &path, &format!("GET /channels/{channel}"))?;
        Some(c.guild_id.ok_or_else(|| {
            AlertError::InvalidInput("approver roles need a server channel, not a DM".into())
        })?)
    };

    let start_ns = svc.client.transport_ref().now_ns();
    let deadline_ns = start_ns.saturating_add(timeout_ms.saturating_mul(1_000_000));
    let receipt = svc.send_parts(&channel, parts)?;
    let question_id = receipt.message_ids[0].clone();
    let last_part = receipt
        .message_ids
        .last()
        .and_then(|id| snowflake::parse(id))
        .unwrap_or(0);
    for emoji in rules.reaction_emoji().iter().take(2) {
        let path = format!(
            "/channels/{channel}/messages/{question_id}/reactions/{}/@me",
            encode_emoji(emoji)
        );
        let route = format!("PUT /channels/{channel}/messages/reactions");
        if let Err(e) = svc.client.call(Method::Put, &path, &route, None) {
            svc.client.transport().notice(&format!(
                "could not add the {emoji} reaction ({}); people can still react or reply",
                crate::discord::short(&e)
            ));
        }
    }

    let mut poll = Poll {
        channel: channel.clone(),
        question: question_id.clone(),
        cursor: last_part,
        seen_reactors: HashSet::new(),
        roles: HashMap::new(),
        guild,
        approvals: Vec::new(),
        intent_warned: false,
    };
    let answer = loop {
        match poll_round(svc, &rules, &mut poll) {
            Ok(Some(answer)) => break answer,
            Ok(None) => {}
            Err(
                e @ (AlertError::Unauthorized(_)
                | AlertError::Forbidden(_)
                | AlertError::NotFound(_)),
            ) => return Err(e),
            Err(e) => svc.client.transport().notice(&format!(
                "polling failed, will retry: {}",
                crate::discord::short(&e)
            )),
        }
        let now = svc.client.transport_ref().now_ns();
        if now >= deadline_ns {
            let at = svc.client.transport_ref().unix_ms();
            break Answer {
                approved: false,
                decision: Decision::TimedOut,
                responder: None,
                via: None,
                keyword: None,
                answered_at: snowflake::rfc3339(at),
                approvers: poll.approvals.clone(),
                channel_id: channel.clone(),
                question_message_id: question_id.clone(),
            };
        }
        let wait = (poll_ms.saturating_mul(1_000_000)).min(deadline_ns - now);
        svc.client.transport().sleep_ns(wait);
    };
    mark_outcome(svc, &channel, &question_id, first_part, &answer);
    Ok(answer)
}

fn get_json<T: Transport, R: serde::de::DeserializeOwned>(
    svc: &mut Service<T>,
    path: &str,
    route: &str,
) -> Result<R, AlertError> {
    let r = svc.client.call(Method::Get, path, route, None)?;
    serde_json::from_slice(&r.body)
        .map_err(|e| AlertError::Transport(format!("unreadable answer from {route}: {e}")))
}

/// One round: new messages, then the question's reactions. `Some` when decided. The cursor
/// and the reactors seen are committed only when the whole round worked, so an answer read in a
/// round that later fails is read again next round instead of being lost.
fn poll_round<T: Transport>(
    svc: &mut Service<T>,
    rules: &Rules,
    poll: &mut Poll,
) -> Result<Option<Answer>, AlertError> {
    let mut seen: Vec<Seen> = Vec::new();
    let mut cursor = poll.cursor;
    loop {
        let path = format!(
            "/channels/{}/messages?after={}&limit={PAGE}",
            poll.channel, cursor
        );
        let route = format!("GET /channels/{}/messages", poll.channel);
        let mut page: Vec<ChannelMessage> = get_json(svc, &path, &route)?;
        let full = page.len() == PAGE;
        page.sort_by_key(|m| snowflake::parse(&m.id).unwrap_or(0));
        for m in page {
            let Some(id) = snowflake::parse(&m.id) else {
                continue;
            };
            if id <= cursor {
                continue; // de-duplicate
            }
            cursor = id;
            let Some(author) = snowflake::parse(&m.author.id) else {
                continue;
            };
            // Only ordinary messages and replies: a system message (e.g. a thread named
            // "LGTM" being created) carries text nobody typed as an answer.
            if m.author.bot || author == rules.bot_id || !matches!(m.kind, 0 | 19) {
                continue;
            }
            if m.content.is_empty()
                && m.embeds.is_empty()
                && m.attachments.is_empty()
                && m.sticker_items.is_empty()
            {
                if !poll.intent_warned {
                    poll.intent_warned = true;
                    svc.client.transport().notice(
                        "messages from people arrive without text: keyword replies need the bot's \
                         MESSAGE_CONTENT intent (Developer Portal > Bot > Privileged Gateway Intents), \
                         or a reply that mentions the bot; reactions work without it",
                    );
                }
                continue;
            }
            if let Some(verdict) = rules.match_text(&m.content) {
                let reply = m.kind == 19
                    && m.message_reference
                        .as_ref()
                        .and_then(|r| r.message_id.as_deref())
                        == Some(poll.question.as_str());
                seen.push(Seen {
                    user: Responder {
                        id: m.author.id.clone(),
                        username: m.author.username.clone(),
                    },
                    is_bot: m.author.bot,
                    verdict,
                    via: if reply {
                        AnswerVia::Reply
                    } else {
                        AnswerVia::Message
                    },
                    at_ms: snowflake::unix_ms(id),
                });
            }
        }
        if !full {
            break;
        }
    }
    let mut reactors = poll.seen_reactors.clone();
    read_reactions(svc, rules, poll, &mut reactors, &mut seen)?;
    for s in seen {
        let user_id = snowflake::parse(&s.user.id).unwrap_or(0);
        let roles = if rules.open_to_all() || rules.approvers.contains(&user_id) {
            None
        } else {
            member_roles(svc, poll, user_id)?
        };
        if !rules.entitled(user_id, s.is_bot, roles.as_deref()) {
            continue;
        }
        let at = snowflake::rfc3339(s.at_ms);
        match s.verdict {
            Verdict::Disapprove(k) => {
                return Ok(Some(answer(
                    poll,
                    Decision::Disapproved,
                    s.user,
                    s.via,
                    k,
                    at,
                )))
            }
            Verdict::Approve(k) => {
                if !poll.approvals.iter().any(|r| r.id == s.user.id) {
                    poll.approvals.push(s.user.clone());
                }
                if poll.approvals.len() >= rules.required_approvals as usize {
                    return Ok(Some(answer(poll, Decision::Approved, s.user, s.via, k, at)));
                }
            }
        }
    }
    poll.cursor = cursor;
    poll.seen_reactors = reactors;
    Ok(None)
}

fn answer(
    poll: &Poll,
    decision: Decision,
    user: Responder,
    via: AnswerVia,
    keyword: String,
    at: String,
) -> Answer {
    Answer {
        approved: decision == Decision::Approved,
        decision,
        responder: Some(user),
        via: Some(via),
        keyword: Some(keyword),
        answered_at: at,
        approvers: poll.approvals.clone(),
        channel_id: poll.channel.clone(),
        question_message_id: poll.question.clone(),
    }
}

/// Add reactions that appeared since the last round to `seen`.
fn read_reactions<T: Transport>(
    svc: &mut Service<T>,
    rules: &Rules,
    poll: &Poll,
    reactors: &mut HashSet<(String, u64)>,
    seen: &mut Vec<Seen>,
) -> Result<(), AlertError> {
    let path = format!("/channels/{}/messages/{}", poll.channel, poll.question);
    let route = format!("GET /channels/{}/messages/id", poll.channel);
    let q: ChannelMessage = get_json(svc, &path, &route)?;
    for r in q.reactions {
        let name = match (&r.emoji.id, &r.emoji.name) {
            (Some(id), Some(name)) => format!("{name}:{id}"),
            (None, Some(name)) => name.clone(),
            _ => continue,
        };
        // A custom emoji matches only as `name:id`, so a server emoji called "ok" is not ✅.
        let Some(verdict) = rules.match_emoji(&name) else {
            continue;
        };
        // Only the bot's own reaction: nothing to read. Otherwise list the users every round:
        // an unchanged count can hide one person removing a reaction while another adds it.
        if r.count <= u32::from(r.me) {
            continue;
        }
        let now = svc.client.transport_ref().unix_ms();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!(
                "/channels/{}/messages/{}/reactions/{}?limit={PAGE}",
                poll.channel,
                poll.question,
                encode_emoji(&name)
            );
            if let Some(a) = &after {
                path.push_str(&format!("&after={a}"));
            }
            let route = format!("GET /channels/{}/messages/reactions", poll.channel);
            let users: Vec<User> = get_json(svc, &path, &route)?;
            let full = users.len() == PAGE;
            after = users.last().map(|u| u.id.clone());
            for u in users {
                let Some(uid) = snowflake::parse(&u.id) else {
                    continue;
                };
                if !reactors.insert((name.clone(), uid)) || u.bot || uid == rules.bot_id {
                    continue;
                }
                seen.push(Seen {
                    user: Responder {
                        id: u.id,
                        username: u.username,
                    },
                    is_bot: u.bot,
                    verdict: verdict.clone(),
                    via: AnswerVia::Reaction,
                    at_ms: now,
                });
            }
            if !full {
                break;
            }
        }
    }
    Ok(())
}

/// A member's roles (cached); `None` when the user is not a member of the guild.
fn member_roles<T: Transport>(
    svc: &mut Service<T>,
    poll: &mut Poll,
    user: u64,
) -> Result<Option<Vec<String>>, AlertError> {
    if let Some(r) = poll.roles.get(&user) {
        return Ok(r.clone());
    }
    let Some(guild) = poll.guild.clone() else {
        return Ok(None);
    };
    let path = format!("/guilds/{guild}/members/{user}");
    let route = format!("GET /guilds/{guild}/members");
    let roles = match get_json::<T, Member>(svc, &path, &route) {
        Ok(m) => Some(m.roles),
        Err(AlertError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    poll.roles.insert(user, roles.clone());
    Ok(roles)
}

/// Edit the question to show the outcome, so the channel tells the story afterwards. Failure
/// here is reported but does not change the answer.
fn mark_outcome<T: Transport>(
    svc: &mut Service<T>,
    channel: &str,
    question: &str,
    mut first: CreateMessage,
    answer: &Answer,
) {
    let (title, severity) = match answer.decision {
        Decision::Approved => ("✅ Approved", Severity::Success),
        Decision::Disapproved => ("❌ Declined", Severity::Error),
        Decision::TimedOut => ("⌛ Timed out: no decision", Severity::Warning),
    };
    let description = match (&answer.responder, answer.via, &answer.keyword) {
        (Some(r), Some(via), Some(k)) => {
            let how = match via {
                AnswerVia::Reaction => format!("reacting {k}"),
                AnswerVia::Reply => format!("replying `{k}`"),
                AnswerVia::Message => format!("writing `{k}`"),
            };
            let name: String = r.username.chars().take(40).collect();
            format!("by <@{}> ({name}) {how}", r.id)
        }
        _ => "nobody entitled to decide answered in time".to_string(),
    };
    let outcome = Embed {
        title: Some(title.into()),
        description: Some(description),
        color: Some(render::color(severity)),
        timestamp: Some(answer.answered_at.clone()),
        ..Embed::default()
    };
    if first.embeds.len() >= render::limits::EMBEDS {
        first.embeds.pop();
    }
    first.embeds.push(outcome);
    let body = json!({ "embeds": first.embeds, "allowed_mentions": { "parse": [] } });
    let path = format!("/channels/{channel}/messages/{question}");
    let route = format!("PATCH /channels/{channel}/messages/id");
    if let Err(e) = svc.client.call(Method::Patch, &path, &route, Some(&body)) {
        svc.client.transport().notice(&format!(
            "could not mark the question with its outcome: {}",
            crate::discord::short(&e)
        ));
    }
}

#[cfg(test)]
mod tests;
