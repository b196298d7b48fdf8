//! One poll round of an ask, and what it remembers between rounds.
//!
//! `GET /channels/{c}/messages?after=<cursor>&limit=100` returns the messages after the cursor
//! newest first, so each page is read sorted by id (oldest first) and the cursor moves to the
//! largest id; a full page means there may be more, so the next page is fetched at once.
//! Reactions carry no timestamps: each round reads the question's reactions and lists the
//! users of every deciding emoji that someone besides the bot used; users already seen are
//! skipped. Within a round, messages (in id order) come before reactions.
//! See <https://discord.com/developers/docs/resources/message#get-channel-messages> and
//! <https://discord.com/developers/docs/resources/message#get-reactions>.

use std::collections::{HashMap, HashSet};

use super::wire::{ChannelMessage, Member, User};
use super::PAGE;
use crate::approval::{Rules, Verdict};
use crate::bindings::{AlertError, Answer, AnswerVia, Decision, Responder};
use crate::discord::{encode_emoji, Transport};
use crate::service::Service;
use crate::snowflake;

/// Everything the polling loop remembers between rounds.
pub(super) struct Poll {
    pub(super) channel: String,
    pub(super) question: String,
    pub(super) cursor: u64,
    pub(super) seen_reactors: HashSet<(String, u64)>,
    pub(super) roles: HashMap<u64, Option<Vec<String>>>,
    pub(super) guild: Option<String>,
    pub(super) approvals: Vec<Responder>,
    pub(super) intent_warned: bool,
}

/// One candidate answer, in the order it was seen.
struct Seen {
    user: Responder,
    is_bot: bool,
    verdict: Verdict,
    via: AnswerVia,
    at_ms: u64,
}

/// One round: new messages, then the question's reactions. `Some` when decided. The cursor
/// and the reactors seen are committed only when the whole round worked, so an answer read in a
/// round that later fails is read again next round instead of being lost.
pub(super) fn poll_round<T: Transport>(
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
        let mut page: Vec<ChannelMessage> = svc.client.get_json(&path, &route)?;
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
                    svc.client.notice(
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
    let q: ChannelMessage = svc.client.get_json(&path, &route)?;
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
        let now = svc.client.unix_ms();
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
            let users: Vec<User> = svc.client.get_json(&path, &route)?;
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
    let roles = match svc.client.get_json::<Member>(&path, &route) {
        Ok(m) => Some(m.roles),
        Err(AlertError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    poll.roles.insert(user, roles.clone());
    Ok(roles)
}
