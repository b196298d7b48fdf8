//! One poll round of a `wait`, and what the call remembers between its rounds ([`Watch`]; a
//! resume hint hands it on to the next call, see `hint.rs`).
//!
//! A round reads, in order:
//! 1. the messages after the cursor: `GET /channels/{c}/messages?after=<cursor>&limit=100`
//!    returns them newest first, so each page is read sorted by id and a full page is followed
//!    at once. A call's first round starts at the question (or where its hint says), so a new
//!    process catches up on everything; the cursor moves past each message once it is judged,
//!    so a catch-up that fails halfway keeps what it read. A full page that does not move the
//!    cursor (a proxy ignoring `after`) ends the reading for the round. The bot's own messages
//!    never answer; its replies to the question that are reminders or the escalation are
//!    counted. A message whose id says it was written after the deadline never counts.
//! 2. the question itself: if it carries an outcome record, that record is the answer (a
//!    cancelled question, or one whose record cannot be read, is an error); otherwise its
//!    reactions: the users of every deciding emoji that someone besides the bot used, paged by
//!    `after=<user id>` with the same stall guard. Approvals by reaction are recomputed from
//!    these lists every round, so a ✅ removed before the quorum is reached withdraws the
//!    approval; approvals by message stay. In a round where a list could not be read to its
//!    end (the stall guard), nobody's approval is withdrawn. One person counts once, however
//!    many ways they approved. Burst ("super") reactions are not read: Discord lists only
//!    normal reactions, so `count_details.normal` says whether there is anyone to list.
//! 3. if still undecided and before the deadline, the reminder or escalation that is due.
//!
//! Reactions carry no time, so they count only in rounds that start before the deadline or at
//! it: up to [`FINAL_ROUND_GRACE_MS`] after it, where a waiter's last round falls. A round that
//! starts later (a wait resumed long after the deadline, or `open` finding a question nobody
//! closed) reads no reactions: they may have been added after the deadline.
//!
//! A decision counts as soon as it is read: reads that fail later in the round do not lose it.
//! See <https://discord.com/developers/docs/resources/message#get-channel-messages> and
//! <https://discord.com/developers/docs/resources/message#get-reactions>.

use std::collections::HashSet;

use super::plan::{bot_id, guild_of, Plan, Roles, Target};
use super::record::{read_outcome, Outcome};
use super::remind::{ping_of, Ping, Sent};
use super::wire::{ChannelMessage, User};
use super::PAGE;
use crate::approval::{Rules, Verdict};
use crate::bindings::{AlertError, Answer, AnswerVia, Decision, Progress, Responder};
use crate::discord::{encode_emoji, short, Transport};
use crate::service::Service;
use crate::snowflake;

/// After a reminder or the escalation fails to send, wait this long before trying again.
const PING_RETRY_MS: u64 = 60_000;
/// How long after the deadline a round may start and still read reactions: a waiter's final
/// round at the deadline.
pub const FINAL_ROUND_GRACE_MS: u64 = 1_000;

/// One approval, or a disapproval, as it was read.
#[derive(Debug, Clone)]
pub(super) struct Approval {
    pub(super) user: Responder,
    pub(super) via: AnswerVia,
    pub(super) keyword: String,
    pub(super) at_ms: u64,
    /// Given by a message (lasting); else by a reaction (lasting while the reaction does).
    pub(super) by_message: bool,
}

/// A decision read in a round.
struct Decided {
    decision: Decision,
    by: Approval,
    approvers: Vec<Responder>,
}

/// What one `wait` call knows; only its hint outlives the call.
pub(super) struct Watch {
    pub(super) target: Target,
    pub(super) rules: Rules,
    /// The question's deadline (Unix ms).
    pub(super) deadline_ms: u64,
    /// The params' fingerprint, for the hint.
    pub(super) fingerprint: u64,
    pub(super) guild: Option<String>,
    pub(super) ready: bool,
    pub(super) cursor: u64,
    /// Approvals in the order they were first read, one per person.
    pub(super) approvals: Vec<Approval>,
    pub(super) sent: Sent,
    roles: Roles,
    pub(super) pings_paused_until_ms: u64,
    /// Consecutive failed rounds.
    pub(super) failures: u32,
    /// The earliest wall-clock time (Unix ms) the next round may start.
    pub(super) due_ms: u64,
}

impl Watch {
    /// Nothing read yet: the cursor at the question, which closes at `deadline_ms`.
    pub(super) fn new(target: Target, plan: &Plan, deadline_ms: u64) -> Watch {
        Watch {
            cursor: target.id,
            target,
            rules: plan.rules.clone(),
            deadline_ms,
            fingerprint: plan.fingerprint(),
            guild: None,
            ready: false,
            approvals: Vec::new(),
            sent: Sent::default(),
            roles: Roles::default(),
            pings_paused_until_ms: 0,
            failures: 0,
            due_ms: 0,
        }
    }

    /// Where the question stands, with the hint for the next `wait`.
    pub(super) fn progress(&self) -> Progress {
        Progress {
            approvers: self.approvals.iter().map(|a| a.user.clone()).collect(),
            reminders_sent: self.sent.reminders,
            escalated: self.sent.escalated,
            resume: self.hint(),
        }
    }

    /// The answer when the deadline passed at `now_ms` without a decision.
    pub(super) fn timed_out(&self, now_ms: u64) -> Answer {
        let p = self.progress();
        Answer {
            approved: false,
            decision: Decision::TimedOut,
            responder: None,
            via: None,
            keyword: None,
            answered_at: snowflake::rfc3339(now_ms),
            approvers: p.approvers,
            channel_id: self.target.channel.clone(),
            question_message_id: self.target.message.clone(),
            reminders_sent: p.reminders_sent,
            escalated: p.escalated,
        }
    }

    fn answer(&self, d: Decided) -> Answer {
        Answer {
            approved: d.decision == Decision::Approved,
            decision: d.decision,
            responder: Some(d.by.user),
            via: Some(d.by.via),
            keyword: Some(d.by.keyword),
            answered_at: snowflake::rfc3339(d.by.at_ms),
            approvers: d.approvers,
            channel_id: self.target.channel.clone(),
            question_message_id: self.target.message.clone(),
            reminders_sent: self.sent.reminders,
            escalated: self.sent.escalated,
        }
    }

    /// The bot's id and, for approver roles, the channel's server: once per call.
    fn setup<T: Transport>(&mut self, svc: &mut Service<T>) -> Result<(), AlertError> {
        if self.ready {
            return Ok(());
        }
        if self.rules.bot_id == 0 {
            self.rules.bot_id = bot_id(svc)?;
        }
        if !self.rules.approver_roles.is_empty() {
            self.guild = Some(guild_of(svc, &self.target.channel)?);
        }
        self.ready = true;
        Ok(())
    }

    fn entitled<T: Transport>(
        &mut self,
        svc: &mut Service<T>,
        user: u64,
        is_bot: bool,
    ) -> Result<bool, AlertError> {
        let r = &self.rules;
        if is_bot || r.open_to_all() || r.approvers.contains(&user) {
            return Ok(r.entitled(user, is_bot, None));
        }
        let roles = match &self.guild {
            Some(g) => self.roles.of(svc, g, user)?,
            None => None,
        };
        Ok(self.rules.entitled(user, is_bot, roles.as_deref()))
    }

    /// A decision once the approvals that `counts` reach the quorum: the one that reached it
    /// decides, and the approvers are those counted up to it.
    fn quorum(&self, counts: impl Fn(&Approval) -> bool) -> Option<Decided> {
        let counted: Vec<&Approval> = self.approvals.iter().filter(|a| counts(a)).collect();
        let need = self.rules.required_approvals as usize;
        (counted.len() >= need).then(|| Decided {
            decision: Decision::Approved,
            by: counted[need - 1].clone(),
            approvers: counted[..need].iter().map(|a| a.user.clone()).collect(),
        })
    }

    fn disapproval(&self, by: Approval) -> Decided {
        Decided {
            decision: Decision::Disapproved,
            by,
            approvers: self.approvals.iter().map(|a| a.user.clone()).collect(),
        }
    }
}

/// What a round found.
pub(super) enum Found {
    /// Nothing decides yet.
    Undecided,
    /// A decision, read in this round.
    Decided(Answer),
    /// The question is closed: its record.
    Recorded(Outcome),
}

/// One round of `wait`; `Some` when decided (or already closed with an answer).
pub(super) fn round<T: Transport>(
    svc: &mut Service<T>,
    plan: &Plan,
    w: &mut Watch,
) -> Result<Option<Answer>, AlertError> {
    match look(svc, plan, w)? {
        Found::Undecided => Ok(None),
        Found::Decided(a) | Found::Recorded(Outcome::Answered(a)) => Ok(Some(a)),
        Found::Recorded(Outcome::Cancelled(why)) => Err(AlertError::InvalidInput(format!(
            "the question was cancelled{}; ask again: a new question is needed",
            if why.is_empty() {
                String::new()
            } else {
                format!(" ({why})")
            }
        ))),
        Found::Recorded(Outcome::Unreadable) => Err(AlertError::InvalidInput(
            "the question carries an outcome record that cannot be read (written by another \
             version, or edited), so it counts as closed; ask again: a new question is needed"
                .into(),
        )),
    }
}

/// One round: what the channel says now.
pub(super) fn look<T: Transport>(
    svc: &mut Service<T>,
    plan: &Plan,
    w: &mut Watch,
) -> Result<Found, AlertError> {
    let reactions_count =
        svc.client.unix_ms() <= w.deadline_ms.saturating_add(FINAL_ROUND_GRACE_MS);
    w.setup(svc)?;
    let held = read_messages(svc, w)?;
    let (path, route) = w.target.path();
    let q: ChannelMessage = match svc.client.get_json(&path, &route) {
        Ok(q) => q,
        Err(e) => return held.map(|d| Found::Decided(w.answer(d))).ok_or(e),
    };
    if let Some(outcome) = read_outcome(&q.embeds, &w.target.channel, &w.target.message) {
        return Ok(Found::Recorded(outcome));
    }
    if let Some(d) = held {
        return Ok(Found::Decided(w.answer(d)));
    }
    if reactions_count {
        if let Some(d) = read_reactions(svc, w, &q)? {
            return Ok(Found::Decided(w.answer(d)));
        }
    }
    send_due_ping(svc, plan, w);
    Ok(Found::Undecided)
}

/// Read the messages after the cursor, page after page, until one decides.
fn read_messages<T: Transport>(
    svc: &mut Service<T>,
    w: &mut Watch,
) -> Result<Option<Decided>, AlertError> {
    let channel = w.target.channel.clone();
    let route = format!("GET /channels/{channel}/messages");
    loop {
        let before = w.cursor;
        let path = format!("/channels/{channel}/messages?after={before}&limit={PAGE}");
        let page: Vec<ChannelMessage> = svc.client.get_json(&path, &route)?;
        let full = page.len() == PAGE;
        let page = crate::order::sort_by_u64(page, |m| snowflake::parse(&m.id).unwrap_or(0));
        for m in &page {
            let Some(id) = snowflake::parse(&m.id).filter(|&id| id > w.cursor) else {
                continue; // de-duplicate
            };
            let decided = judge_message(svc, w, m, id)?;
            w.cursor = id;
            if decided.is_some() {
                return Ok(decided);
            }
        }
        if !full {
            return Ok(None);
        }
        if w.cursor <= before {
            svc.client.notice(
                "Discord returned a full page of messages that does not move past the last one \
                 read; reading on next round",
            );
            return Ok(None);
        }
    }
}

/// What one message says, if it decides; counts the bot's own reminders and escalation.
fn judge_message<T: Transport>(
    svc: &mut Service<T>,
    w: &mut Watch,
    m: &ChannelMessage,
    id: u64,
) -> Result<Option<Decided>, AlertError> {
    let Some(author) = snowflake::parse(&m.author.id) else {
        return Ok(None);
    };
    let to_question = m
        .message_reference
        .as_ref()
        .and_then(|r| r.message_id.as_deref())
        == Some(w.target.message.as_str());
    if author == w.rules.bot_id {
        if let Some(ping) = ping_of(&m.content).filter(|_| to_question) {
            w.sent.saw(id, ping, snowflake::unix_ms(id));
        }
        return Ok(None);
    }
    // Written after the deadline: too late, whenever it is read.
    if snowflake::unix_ms(id) > w.deadline_ms {
        return Ok(None);
    }
    // Only ordinary messages and replies: a system message (e.g. a thread named "LGTM" being
    // created) carries text nobody typed as an answer.
    if m.author.bot || !matches!(m.kind, 0 | 19) {
        return Ok(None);
    }
    if m.content.is_empty()
        && m.embeds.is_empty()
        && m.attachments.is_empty()
        && m.sticker_items.is_empty()
    {
        svc.client.notice(
            "messages from people arrive without text: keyword replies need the bot's \
             MESSAGE_CONTENT intent (Developer Portal > Bot > Privileged Gateway Intents), \
             or a reply that mentions the bot; reactions work without it",
        );
        return Ok(None);
    }
    let Some(verdict) = w.rules.match_text(&m.content) else {
        return Ok(None);
    };
    if !w.entitled(svc, author, false)? {
        return Ok(None);
    }
    let (approve, keyword) = match verdict {
        Verdict::Approve(k) => (true, k),
        Verdict::Disapprove(k) => (false, k),
    };
    let by = Approval {
        user: Responder {
            id: m.author.id.clone(),
            username: m.author.username.clone(),
        },
        via: if m.kind == 19 && to_question {
            AnswerVia::Reply
        } else {
            AnswerVia::Message
        },
        keyword,
        at_ms: snowflake::unix_ms(id),
        by_message: true,
    };
    if !approve {
        return Ok(Some(w.disapproval(by)));
    }
    match w.approvals.iter_mut().find(|a| a.user.id == by.user.id) {
        Some(earlier) => earlier.by_message = true,
        None => w.approvals.push(by),
    }
    Ok(w.quorum(|a| a.by_message))
}

/// Read the question's deciding reactions; approvals by reaction are replaced by what the
/// lists show now once every list was read to its end.
fn read_reactions<T: Transport>(
    svc: &mut Service<T>,
    w: &mut Watch,
    q: &ChannelMessage,
) -> Result<Option<Decided>, AlertError> {
    let mut current: HashSet<String> = HashSet::new();
    let mut whole = true;
    for r in &q.reactions {
        let name = match (&r.emoji.id, &r.emoji.name) {
            (Some(id), Some(name)) => format!("{name}:{id}"),
            (None, Some(name)) => name.clone(),
            _ => continue,
        };
        // A custom emoji matches only as `name:id`, so a server emoji called "ok" is not ✅.
        let Some(verdict) = w.rules.match_emoji(&name) else {
            continue;
        };
        // Only the bot's own reaction (burst reactions are not listed): nothing to read.
        // Otherwise list the users every round: an unchanged count can hide one person
        // removing a reaction while another adds it.
        if r.normal() <= u32::from(r.me) {
            continue;
        }
        let now = svc.client.unix_ms();
        let (users, complete) = reactors(svc, &w.target, &name)?;
        whole &= complete;
        for u in users {
            let Some(uid) = snowflake::parse(&u.id) else {
                continue;
            };
            if u.bot || uid == w.rules.bot_id || !w.entitled(svc, uid, u.bot)? {
                continue;
            }
            let by = Approval {
                user: Responder {
                    id: u.id.clone(),
                    username: u.username,
                },
                via: AnswerVia::Reaction,
                keyword: name.clone(),
                at_ms: now,
                by_message: false,
            };
            if matches!(verdict, Verdict::Disapprove(_)) {
                return Ok(Some(w.disapproval(by)));
            }
            current.insert(u.id);
            if !w.approvals.iter().any(|a| a.user.id == by.user.id) {
                w.approvals.push(by);
            }
            if let Some(d) = w.quorum(|a| a.by_message || current.contains(&a.user.id)) {
                return Ok(Some(d));
            }
        }
    }
    // Every list was read to its end: an approval by reaction lasts only while the reaction
    // does. A list cut short may hide reactions that are still there.
    if whole {
        w.approvals
            .retain(|a| a.by_message || current.contains(&a.user.id));
    }
    Ok(None)
}

/// Everyone who reacted with `emoji`, page after page, and whether the list was read to its
/// end (not cut short by a page that does not move).
fn reactors<T: Transport>(
    svc: &mut Service<T>,
    q: &Target,
    emoji: &str,
) -> Result<(Vec<User>, bool), AlertError> {
    let route = format!("GET /channels/{}/messages/reactions", q.channel);
    let mut out: Vec<User> = Vec::new();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut after: Option<u64> = None;
    loop {
        let mut path = format!(
            "/channels/{}/messages/{}/reactions/{}?limit={PAGE}",
            q.channel,
            q.message,
            encode_emoji(emoji)
        );
        if let Some(a) = after {
            path.push_str(&format!("&after={a}"));
        }
        let users: Vec<User> = svc.client.get_json(&path, &route)?;
        let full = users.len() == PAGE;
        let last = users.iter().filter_map(|u| snowflake::parse(&u.id)).max();
        for u in users {
            if snowflake::parse(&u.id).is_some_and(|id| seen.insert(id)) {
                out.push(u);
            }
        }
        if !full {
            return Ok((out, true));
        }
        match last {
            Some(l) if after.is_none_or(|a| l > a) => after = Some(l),
            _ => {
                svc.client.notice(
                    "Discord returned a full page of reactions that does not move past the last \
                     one read; reading on next round",
                );
                return Ok((out, false));
            }
        }
    }
}

/// Send the reminder or escalation that is due, if any. A failure is a notice, and pauses
/// pings for a while; it never fails the round.
fn send_due_ping<T: Transport>(svc: &mut Service<T>, plan: &Plan, w: &mut Watch) {
    let now = svc.client.unix_ms();
    let deadline_ms = w.deadline_ms;
    if now >= deadline_ms || now < w.pings_paused_until_ms {
        return;
    }
    let Some(ping) = plan.pings.due(w.target.asked_ms(), &w.sent, now) else {
        return;
    };
    let body = plan.pings.message(ping, w.target.id, &w.sent, deadline_ms);
    match svc.create(&w.target.channel, &body) {
        Ok(created) => {
            let id = snowflake::parse(&created.id).unwrap_or(0);
            let at = if id == 0 { now } else { snowflake::unix_ms(id) };
            w.sent.saw(id, ping, at);
        }
        Err(e) => {
            let what = match ping {
                Ping::Reminder => "reminder",
                Ping::Escalation => "escalation",
            };
            svc.client
                .notice(&format!("could not send the {what}: {}", short(&e)));
            w.pings_paused_until_ms = now.saturating_add(PING_RETRY_MS);
        }
    }
}
