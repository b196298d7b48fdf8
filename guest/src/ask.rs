//! `ask`: post a question, add ✅ / ❌, then poll REST until someone entitled answers or the
//! timeout passes, and finally edit the question to show the outcome.
//!
//! Each round (`poll.rs`) reads the new messages, then the question's reactions; [`approval`]
//! decides which of them count. Transient failures while polling are retried by the client and
//! then skipped (the round is read again next time); 401/403/404 end the ask. Reading messages'
//! text needs the bot's privileged MESSAGE_CONTENT intent, except for messages that mention the
//! bot; reactions need no intent (<https://discord.com/developers/docs/events/gateway#message-content-intent>).
//!
//! [`approval`]: crate::approval

mod poll;
#[cfg(test)]
mod tests;
mod wire;

use std::collections::{HashMap, HashSet};

use serde_json::json;

use crate::approval::Rules;
use crate::bindings::{AlertError, Answer, AnswerVia, Decision, Message, Params, Severity};
use crate::discord::{encode_emoji, short, Method, Transport};
use crate::render::{self, CreateMessage, Document, Embed};
use crate::service::Service;
use crate::snowflake;
use poll::{poll_round, Poll};
use wire::{Channel, User};

/// Default time between polls.
pub const DEFAULT_POLL_MS: u64 = 2_000;
/// Shortest poll interval allowed, to stay far below Discord's rate limits.
pub const MIN_POLL_MS: u64 = 200;
/// Messages or reaction users per page: Discord's maximum `limit`.
const PAGE: usize = 100;

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

    let me: User = svc.client.get_json("/users/@me", "GET /users/@me")?;
    rules.bot_id = snowflake::parse(&me.id).ok_or_else(|| {
        AlertError::Transport(format!("Discord returned a bad bot id `{}`", me.id))
    })?;
    let guild = if rules.approver_roles.is_empty() {
        None
    } else {
        let path = format!("/channels/{channel}");
        let c: Channel = svc
            .client
            .get_json(&path, &format!("GET /channels/{channel}"))?;
        Some(c.guild_id.ok_or_else(|| {
            AlertError::InvalidInput("approver roles need a server channel, not a DM".into())
        })?)
    };

    let start_ns = svc.client.now_ns();
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
            svc.client.notice(&format!(
                "could not add the {emoji} reaction ({}); people can still react or reply",
                short(&e)
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
            Err(e) => svc
                .client
                .notice(&format!("polling failed, will retry: {}", short(&e))),
        }
        let now = svc.client.now_ns();
        if now >= deadline_ns {
            let at = svc.client.unix_ms();
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
        svc.client.sleep_ns(wait);
    };
    mark_outcome(svc, &channel, &question_id, first_part, &answer);
    Ok(answer)
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
        svc.client.notice(&format!(
            "could not mark the question with its outcome: {}",
            short(&e)
        ));
    }
}
