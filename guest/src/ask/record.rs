//! What the channel itself records about a question, written so that any process can read it
//! back: the key marker on the question (and how many parts its part marker says it has), and
//! the outcome embed `close` appends. Pure.
//!
//! **Key marker**: `alerter key: KEY`, in the footer of the question's first embed (after the
//! part marker: `(1/3) · alerter key: KEY`), or, for a question without embeds, its last
//! content line `-# alerter key: KEY` (`-# (1/3) · alerter key: KEY` when split).
//!
//! **Outcome embed**: recognized by its footer [`OUTCOME_FOOTER`]; any such embed means the
//! question is closed. One this version cannot parse (written by another version, or edited by
//! hand) reads as [`Outcome::Unreadable`]: closed, with an outcome nobody can tell. Its title is
//! the kind, its timestamp the answer's time, its description one line per fact:
//!
//! ```text
//! ✅ Approved | ❌ Declined | ⌛ Timed out: no decision | 🛑 Cancelled      (title)
//! by <@ID> (NAME) reacting EMOJI | replying `KEYWORD` | writing `KEYWORD`
//!   or: nobody entitled to decide answered in time
//!   or: Nobody is waiting for an answer any more (REASON); answers given now are not read.
//! Approvals: <@ID> (NAME), <@ID> (NAME)    (or `none`; left out when they are just the responder
//!                                           of an approval, or nobody for the rest)
//! ⏰ Reminders sent: N                     (left out when 0)
//! 📣 Escalated                             (left out when not)
//! ```
//!
//! Names and keywords are cleaned on write ([`clean_name`], [`clean_keyword`]) so that parsing
//! is exact: reading a record gives back the answer as written, cleaned.

use crate::approval::MAX_APPROVALS;
use crate::bindings::{AlertError, Answer, AnswerVia, CloseReason, Decision, Responder, Severity};
use crate::render::{self, Embed, Footer};
use crate::snowflake;

/// What the key marker says before the key.
pub const KEY_PREFIX: &str = "alerter key: ";
/// The longest key.
pub const MAX_KEY: usize = 80;
/// The footer that marks an outcome embed.
pub const OUTCOME_FOOTER: &str = "alerter outcome";
/// Characters of a name kept in the record.
const NAME: usize = 40;
/// Characters of a keyword kept in the record.
const KEYWORD: usize = 100;
/// Characters of a cancellation reason kept in the record.
const REASON: usize = 200;

const APPROVED: &str = "✅ Approved";
const DECLINED: &str = "❌ Declined";
const TIMED_OUT: &str = "⌛ Timed out: no decision";
const CANCELLED: &str = "🛑 Cancelled";
const NOBODY: &str = "nobody entitled to decide answered in time";
const APPROVALS: &str = "Approvals: ";
const REMINDERS: &str = "⏰ Reminders sent: ";
const ESCALATED: &str = "📣 Escalated";

/// Check an idempotency key: 1-80 printable ASCII characters, no spaces or backticks.
pub fn validate_key(key: &str) -> Result<String, AlertError> {
    let bad = |why: String| Err(AlertError::InvalidInput(format!("the ask key {why}")));
    if key.is_empty() {
        return bad("must not be empty".into());
    }
    if let Some((i, c)) = key
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_graphic() || *c == '`')
    {
        return bad(format!(
            "may hold only printable ASCII without spaces or backticks; {c:?} at position {} is not allowed",
            i + 1
        ));
    }
    if key.len() > MAX_KEY {
        return bad(format!(
            "is {} characters long; at most {MAX_KEY} are allowed",
            key.len()
        ));
    }
    Ok(key.to_string())
}

/// The marker text for a (valid) key.
pub fn key_marker(key: &str) -> String {
    format!("{KEY_PREFIX}{key}")
}

/// Whether a message shows the marker of `key` where the renderer puts it.
pub fn carries_key(content: &str, embeds: &[Embed], key: &str) -> bool {
    let marker = key_marker(key);
    let shows = |text: &str| text == marker || text.ends_with(&format!(" · {marker}"));
    if let Some(first) = embeds.first() {
        if first.footer.as_ref().is_some_and(|f| shows(&f.text)) {
            return true;
        }
    }
    content
        .lines()
        .next_back()
        .and_then(|l| l.strip_prefix("-# "))
        .is_some_and(shows)
}

/// The part marker `(K/N)` on a message of a question posted in parts (in an embed's footer,
/// or its last content line `-# (K/N)`, as the renderer puts it): part `K` of `N`.
pub fn part_marker(content: &str, embeds: &[Embed]) -> Option<(usize, usize)> {
    let number = |n: &str| {
        n.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| n.parse().ok())?
    };
    let marker = |text: &str| -> Option<(usize, usize)> {
        let (k, n) = text.strip_prefix('(')?.split_once(')')?.0.split_once('/')?;
        Some((number(k)?, number(n)?)).filter(|&(k, n)| (1..=n).contains(&k))
    };
    let footers = embeds.iter().filter_map(|e| e.footer.as_ref());
    let last_line = content
        .lines()
        .next_back()
        .and_then(|l| l.strip_prefix("-# "));
    footers
        .map(|f| f.text.as_str())
        .chain(last_line)
        .find_map(marker)
}

/// How many parts a question has, by the part marker of its first message: 1 without one.
pub fn parts_of(content: &str, embeds: &[Embed]) -> usize {
    match part_marker(content, embeds) {
        Some((1, n)) => n,
        _ => 1,
    }
}

/// A closed question's record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Approved, declined or timed out (`channel_id` and `question_message_id` filled in by
    /// the reader).
    Answered(Answer),
    /// Cancelled, with the reason given.
    Cancelled(String),
    /// An outcome embed whose text cannot be read: closed, the outcome unknown.
    Unreadable,
}

/// A name as the record keeps it: letters, digits, spaces and `._-'`; anything else becomes
/// `_`; at most 40 characters; `unknown` when nothing is left.
pub fn clean_name(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '\'') {
                c
            } else if c.is_whitespace() {
                ' '
            } else {
                '_'
            }
        })
        .collect();
    let words: Vec<&str> = mapped.split_whitespace().collect();
    let joined: String = words.join(" ").chars().take(NAME).collect();
    let trimmed = joined.trim_end();
    if trimmed.is_empty() {
        "unknown".into()
    } else {
        trimmed.to_string()
    }
}

/// A keyword or emoji as the record keeps it: one line, no backticks (they become `'`), at
/// most 100 characters; `?` when nothing is left.
pub fn clean_keyword(keyword: &str) -> String {
    one_line(&keyword.replace('`', "'"), KEYWORD, "?")
}

fn one_line(text: &str, max: usize, empty: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cut: String = spaced.trim().chars().take(max).collect();
    let cut = cut.trim_end();
    if cut.is_empty() {
        empty.into()
    } else {
        cut.to_string()
    }
}

/// The answer as the record gives it back: names, keyword and time cleaned as on write.
#[cfg(test)]
pub fn normalized(a: &Answer) -> Answer {
    let person = |r: &Responder| Responder {
        id: r.id.clone(),
        username: clean_name(&r.username),
    };
    let at = snowflake::parse_rfc3339(&a.answered_at)
        .map_or_else(|| a.answered_at.clone(), snowflake::rfc3339);
    let decided = a.decision != Decision::TimedOut;
    Answer {
        approved: a.decision == Decision::Approved,
        responder: a.responder.as_ref().filter(|_| decided).map(person),
        via: a.via.filter(|_| decided),
        keyword: a.keyword.as_deref().filter(|_| decided).map(clean_keyword),
        answered_at: at,
        approvers: a.approvers.iter().map(person).collect(),
        ..a.clone()
    }
}

fn who(r: &Responder) -> String {
    format!("<@{}> ({})", r.id, clean_name(&r.username))
}

/// The outcome embed for `reason`; `now` (RFC 3339) dates a cancellation. An answer must be
/// complete: a decision with its responder (a Discord id), how and the keyword, approvers with
/// Discord ids, and an RFC 3339 time.
pub fn outcome_embed(reason: &CloseReason, now: &str) -> Result<Embed, AlertError> {
    let (title, severity, lines, at) = match reason {
        CloseReason::Cancelled(why) => {
            let why = one_line(why, REASON, "");
            let why = if why.is_empty() {
                String::new()
            } else {
                format!(" ({why})")
            };
            let line = format!(
                "Nobody is waiting for an answer any more{why}; answers given now are not read."
            );
            (CANCELLED, Severity::Warning, vec![line], now.to_string())
        }
        CloseReason::Answered(a) => answered(a)?,
    };
    Ok(Embed {
        title: Some(title.into()),
        description: Some(lines.join("\n")),
        color: Some(render::color(severity)),
        timestamp: Some(at),
        footer: Some(Footer {
            text: OUTCOME_FOOTER.into(),
        }),
        ..Embed::default()
    })
}

type Parts = (&'static str, Severity, Vec<String>, String);

fn answered(a: &Answer) -> Result<Parts, AlertError> {
    let invalid =
        |what: &str| AlertError::InvalidInput(format!("cannot record the answer: {what}"));
    let check = |r: &Responder| {
        if snowflake::is_valid(&r.id) {
            Ok(())
        } else {
            Err(snowflake::not_an_id("responder", &r.id))
        }
    };
    let at_ms = snowflake::parse_rfc3339(&a.answered_at)
        .ok_or_else(|| invalid("answered-at is not an RFC 3339 time"))?;
    a.approvers.iter().try_for_each(check)?;
    if a.approvers.len() > MAX_APPROVALS as usize {
        return Err(invalid(&format!("more than {MAX_APPROVALS} approvers")));
    }
    let (title, severity, first, default) = match a.decision {
        Decision::TimedOut => (TIMED_OUT, Severity::Warning, NOBODY.to_string(), vec![]),
        decision => {
            let (Some(r), Some(via), Some(k)) = (&a.responder, a.via, &a.keyword) else {
                return Err(invalid(
                    "a decision needs its responder, how and the keyword",
                ));
            };
            check(r)?;
            let k = clean_keyword(k);
            let how = match via {
                AnswerVia::Reaction => format!("reacting {k}"),
                AnswerVia::Reply => format!("replying `{k}`"),
                AnswerVia::Message => format!("writing `{k}`"),
            };
            let line = format!("by {} {how}", who(r));
            if decision == Decision::Approved {
                (APPROVED, Severity::Success, line, vec![who(r)])
            } else {
                (DECLINED, Severity::Error, line, vec![])
            }
        }
    };
    let mut lines = vec![first];
    // Left out when it says no more than the first line: the responder of an approval.
    let listed: Vec<String> = a.approvers.iter().map(who).collect();
    if listed != default {
        let list = if listed.is_empty() {
            "none".to_string()
        } else {
            listed.join(", ")
        };
        lines.push(format!("{APPROVALS}{list}"));
    }
    if a.reminders_sent > 0 {
        lines.push(format!("{REMINDERS}{}", a.reminders_sent));
    }
    if a.escalated {
        lines.push(ESCALATED.into());
    }
    Ok((title, severity, lines, snowflake::rfc3339(at_ms)))
}

/// The record among a question's embeds, if it is closed; `None` while open (no embed with
/// the outcome footer). The first record that parses counts; when none does,
/// [`Outcome::Unreadable`].
pub fn read_outcome(embeds: &[Embed], channel: &str, question: &str) -> Option<Outcome> {
    let mut records = embeds
        .iter()
        .filter(|e| e.footer.as_ref().is_some_and(|f| f.text == OUTCOME_FOOTER))
        .peekable();
    records.peek()?;
    Some(
        records
            .find_map(|e| parse(e, channel, question))
            .unwrap_or(Outcome::Unreadable),
    )
}

fn parse(e: &Embed, channel: &str, question: &str) -> Option<Outcome> {
    let description = e.description.as_deref().unwrap_or("");
    let mut lines = description.lines();
    let first = lines.next()?;
    let decision = match e.title.as_deref()? {
        CANCELLED => {
            let why = first
                .strip_prefix("Nobody is waiting for an answer any more")
                .and_then(|r| r.strip_prefix(" ("))
                .and_then(|r| r.rsplit_once(");"))
                .map_or("", |(why, _)| why);
            return Some(Outcome::Cancelled(why.to_string()));
        }
        APPROVED => Decision::Approved,
        DECLINED => Decision::Disapproved,
        TIMED_OUT => Decision::TimedOut,
        _ => return None,
    };
    let (responder, via, keyword) = if decision == Decision::TimedOut {
        (first == NOBODY).then_some((None, None, None))?
    } else {
        let (r, rest) = person(first.strip_prefix("by ")?)?;
        let (via, k) = if let Some(k) = rest.strip_prefix(" reacting ") {
            (AnswerVia::Reaction, k)
        } else if let Some(k) = rest.strip_prefix(" replying `") {
            (AnswerVia::Reply, k.strip_suffix('`')?)
        } else {
            (
                AnswerVia::Message,
                rest.strip_prefix(" writing `")?.strip_suffix('`')?,
            )
        };
        (Some(r), Some(via), Some(k.to_string()))
    };
    let mut approvers = match (&responder, decision) {
        (Some(r), Decision::Approved) => vec![r.clone()],
        _ => vec![],
    };
    let (mut reminders_sent, mut escalated) = (0, false);
    for line in lines {
        if let Some(list) = line.strip_prefix(APPROVALS) {
            approvers = people(list)?;
        } else if let Some(n) = line.strip_prefix(REMINDERS) {
            reminders_sent = n.parse().ok()?;
        } else if line == ESCALATED {
            escalated = true;
        } else {
            return None;
        }
    }
    let at = snowflake::parse_rfc3339(e.timestamp.as_deref()?)?;
    Some(Outcome::Answered(Answer {
        approved: decision == Decision::Approved,
        decision,
        responder,
        via,
        keyword,
        answered_at: snowflake::rfc3339(at),
        approvers,
        channel_id: channel.to_string(),
        question_message_id: question.to_string(),
        reminders_sent,
        escalated,
    }))
}

/// `<@ID> (NAME)` at the start of `s`, and what follows it.
fn person(s: &str) -> Option<(Responder, &str)> {
    let (id, rest) = s.strip_prefix("<@")?.split_once("> (")?;
    let (name, rest) = rest.split_once(')')?;
    snowflake::is_valid(id).then_some(())?;
    let r = Responder {
        id: id.to_string(),
        username: name.to_string(),
    };
    Some((r, rest))
}

/// `none`, or `<@ID> (NAME)` joined by `, `.
fn people(mut s: &str) -> Option<Vec<Responder>> {
    if s == "none" {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    loop {
        let (r, rest) = person(s)?;
        out.push(r);
        if rest.is_empty() {
            return Some(out);
        }
        s = rest.strip_prefix(", ")?;
    }
}

#[cfg(test)]
mod tests;
