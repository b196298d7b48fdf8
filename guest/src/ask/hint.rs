//! The resume hint: what one `wait` hands to the next (`progress.resume`), so that a host
//! calling `wait` in short slices in a loop polls no faster, backs off no less and re-reads no
//! more than one long wait would.
//!
//! **Format**: `v1.` followed by the base64url (RFC 4648 §5, no padding) of a compact JSON
//! object with one-letter keys; at most [`MAX_LEN`] bytes. It carries:
//! - the question's id, and a fingerprint of the params that change how it is waited for
//!   (timeout, poll interval, keywords, case, approvers and roles, required approvals,
//!   reminders, escalation, mentions): a hint is only used with both unchanged;
//! - the bot's user id, and the channel's server when approver roles need it (so
//!   `GET /users/@me` and `GET /channels/{c}` are not repeated);
//! - the message cursor, the approvals seen so far and the reminders and the escalation
//!   counted (so the catch-up from the question is not read again). Every approval by message
//!   is carried: its message is behind the cursor, so a hint that dropped it would lose it.
//!   Approvals by reaction (with when each was first seen) fill the rest, in the order read, up
//!   to `required-approvals` in all; the ones left out are read again with the reactions.
//!   Approvals by message stay below `required-approvals` (reaching it decides), so a hint
//!   carries at most `required-approvals` approvals, at most 50;
//! - the consecutive failed rounds and the earliest wall-clock time (Unix ms) the next round
//!   may start, so backing off goes on across calls; when a reminder may be retried.
//!
//! Reaction lists are not carried: they are read whole every round, as in one long wait.
//!
//! **Reading one**: an empty hint is none. A hint for another question, written with other
//! params, or of another version (`v2.`…) is ignored with a notice: the wait reads the channel
//! from the question, which is always correct. Text that is not a hint this flavor writes at
//! all (no `vN.` prefix, not base64url, not the JSON it writes, longer than [`MAX_LEN`]) is
//! `invalid-input`, naming the problem. Nothing in the hint is needed for a correct answer: a
//! hint only saves reading again what a wait already read.

use serde::{Deserialize, Serialize};

use super::poll::{Approval, Watch};
use super::remind::Sent;
use crate::approval::{APPROVE_EMOJI, MAX_APPROVALS};
use crate::bindings::{AlertError, AnswerVia, Responder};
use crate::discord::Transport;
use crate::service::Service;

/// The version this flavor writes and reads.
const VERSION: &str = "v1";
/// The longest hint accepted (50 approvals with the longest names fit with room to spare).
pub const MAX_LEN: usize = 32 * 1024;
/// Characters of a name kept (Discord's usernames have at most 32).
const NAME: usize = 40;
/// Ping ids after the cursor kept (a round reads back the one it may have sent).
const SEEN: usize = 8;

/// The hint's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hint {
    #[serde(rename = "q")]
    question: u64,
    #[serde(rename = "p")]
    plan: u64,
    #[serde(rename = "b", default, skip_serializing_if = "is_default")]
    bot: u64,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    guild: Option<String>,
    #[serde(rename = "c")]
    cursor: u64,
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    approvals: Vec<Carried>,
    #[serde(rename = "r", default, skip_serializing_if = "is_default")]
    reminders: u32,
    #[serde(rename = "e", default, skip_serializing_if = "is_default")]
    escalated: bool,
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    last_ping_ms: Option<u64>,
    #[serde(rename = "s", default, skip_serializing_if = "Vec::is_empty")]
    seen: Vec<u64>,
    #[serde(rename = "z", default, skip_serializing_if = "is_default")]
    pings_paused_until_ms: u64,
    #[serde(rename = "f", default, skip_serializing_if = "is_default")]
    failures: u32,
    #[serde(rename = "n", default, skip_serializing_if = "is_default")]
    due_ms: u64,
}

/// One approval carried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Carried {
    #[serde(rename = "u")]
    user: u64,
    #[serde(rename = "n")]
    name: String,
    /// Index in the approve keywords; their count stands for ✅.
    #[serde(rename = "k")]
    keyword: usize,
    /// 0: message, 1: reply, 2: reaction.
    #[serde(rename = "v")]
    via: u8,
    #[serde(rename = "t")]
    at_ms: u64,
    #[serde(rename = "m", default, skip_serializing_if = "is_default")]
    by_message: bool,
}

fn is_default<N: Default + PartialEq>(n: &N) -> bool {
    *n == N::default()
}

impl Watch {
    /// The hint for the next `wait`.
    pub(super) fn hint(&self) -> String {
        let approve = &self.rules.approve;
        let carry = |a: &Approval| {
            let keyword = approve
                .iter()
                .position(|k| *k == a.keyword)
                .unwrap_or(approve.len());
            debug_assert!(keyword < approve.len() || a.keyword == APPROVE_EMOJI);
            Carried {
                user: crate::snowflake::parse(&a.user.id).unwrap_or(0),
                name: a.user.username.chars().take(NAME).collect(),
                keyword,
                via: match a.via {
                    AnswerVia::Message => 0,
                    AnswerVia::Reply => 1,
                    AnswerVia::Reaction => 2,
                },
                at_ms: a.at_ms,
                by_message: a.by_message,
            }
        };
        let hint = Hint {
            question: self.target.id,
            plan: self.fingerprint,
            bot: self.rules.bot_id,
            guild: self.guild.clone(),
            cursor: self.cursor,
            approvals: self.carried().map(carry).collect(),
            reminders: self.sent.reminders,
            escalated: self.sent.escalated,
            last_ping_ms: self.sent.last_ping_ms,
            seen: self
                .sent
                .seen_after(self.cursor)
                .into_iter()
                .take(SEEN)
                .collect(),
            pings_paused_until_ms: self.pings_paused_until_ms,
            failures: self.failures,
            due_ms: self.due_ms,
        };
        let json = serde_json::to_vec(&hint).unwrap_or_default();
        format!("{VERSION}.{}", base64url(&json))
    }

    /// The approvals a hint carries, in the order read: every approval by message (its message
    /// is behind the cursor and is never read again, so dropping it would lose it), and
    /// approvals by reaction, which every round reads again, while the two together are fewer
    /// than `required-approvals`. Approvals by message alone stay below it (reaching it decides
    /// the wait), so a hint carries at most `required-approvals`, at most [`MAX_APPROVALS`].
    fn carried(&self) -> impl Iterator<Item = &Approval> {
        let need = self.rules.required_approvals as usize;
        let by_message = self.approvals.iter().filter(|a| a.by_message).count();
        let mut room = need.saturating_sub(by_message);
        self.approvals.iter().filter(move |a| {
            if a.by_message {
                return true;
            }
            let fits = room > 0;
            room = room.saturating_sub(1);
            fits
        })
    }

    /// Take up what `text`, a hint from an earlier `wait`, says; see the module docs for what
    /// is ignored and what is an error.
    pub(super) fn resume<T: Transport>(
        &mut self,
        svc: &mut Service<T>,
        text: &str,
    ) -> Result<(), AlertError> {
        let ignore = |svc: &mut Service<T>, why: &str| {
            svc.client.notice(&format!(
                "ignoring the resume hint ({why}); reading the channel from the question"
            ));
        };
        let Some(hint) = decode(text)? else {
            ignore(svc, "written by another version of the flavor");
            return Ok(());
        };
        if hint.question != self.target.id {
            ignore(svc, "it is for another question");
            return Ok(());
        }
        if hint.plan != self.fingerprint {
            ignore(svc, "it was written with other params");
            return Ok(());
        }
        let approve = &self.rules.approve;
        let mut approvals: Vec<Approval> = Vec::new();
        if hint.approvals.len() > MAX_APPROVALS as usize {
            return Err(damaged("it carries more approvals than any question needs"));
        }
        for c in hint.approvals {
            let keyword = match c.keyword {
                k if k < approve.len() => approve[k].clone(),
                k if k == approve.len() => APPROVE_EMOJI.to_string(),
                _ => return Err(damaged("an approval's keyword is not one of the params'")),
            };
            let via = match c.via {
                0 => AnswerVia::Message,
                1 => AnswerVia::Reply,
                2 => AnswerVia::Reaction,
                _ => return Err(damaged("an approval's way of answering is unknown")),
            };
            let id = c.user.to_string();
            if c.user == 0 || approvals.iter().any(|a| a.user.id == id) {
                return Err(damaged("an approval's user is missing or repeated"));
            }
            approvals.push(Approval {
                user: Responder {
                    id,
                    username: c.name,
                },
                via,
                keyword,
                at_ms: c.at_ms,
                by_message: c.by_message,
            });
        }
        self.rules.bot_id = hint.bot;
        let needs_guild = !self.rules.approver_roles.is_empty();
        self.guild = hint.guild.filter(|_| needs_guild);
        self.ready = hint.bot != 0 && (!needs_guild || self.guild.is_some());
        self.cursor = hint.cursor.max(self.target.id);
        self.approvals = approvals;
        self.sent = Sent::restore(
            hint.reminders,
            hint.escalated,
            hint.last_ping_ms,
            &hint.seen,
        );
        self.pings_paused_until_ms = hint.pings_paused_until_ms;
        self.failures = hint.failures;
        self.due_ms = hint.due_ms.min(self.deadline_ms);
        Ok(())
    }
}

/// The error for a hint that is not one this flavor wrote.
fn damaged(why: &str) -> AlertError {
    AlertError::InvalidInput(format!(
        "the resume hint is not one this flavor wrote: {why}; pass the `resume` of the last \
         progress unchanged, or none"
    ))
}

/// The hint in `text`; `None` for another version's.
fn decode(text: &str) -> Result<Option<Hint>, AlertError> {
    if text.len() > MAX_LEN {
        return Err(damaged(&format!(
            "it is {} bytes long, and hints have at most {MAX_LEN}",
            text.len()
        )));
    }
    let versioned = text.split_once('.').filter(|(v, _)| {
        v.len() > 1 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit())
    });
    let Some((version, body)) = versioned else {
        return Err(damaged("it does not start with a version such as `v1.`"));
    };
    if version != VERSION {
        return Ok(None);
    }
    let json = unbase64url(body).ok_or_else(|| damaged("the text after `v1.` is not base64url"))?;
    serde_json::from_slice(&json)
        .map(Some)
        .map_err(|e| damaged(&format!("its content does not read ({e})")))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding.
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n =
            (chunk.iter().enumerate()).fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// The bytes of base64url text without padding; `None` if it is not that.
fn unbase64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = ALPHABET.iter().position(|a| a == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ask::plan::{fnv1a, Plan, Target};
    use crate::bindings::{AskSettings, Params, QuestionRef};
    use crate::discord::fake::FakeTransport;

    #[test]
    fn the_largest_hint_fits_and_reads_back_as_written() {
        let settings = crate::config::Settings::from_lookup(|k| {
            Ok((k == "api_base_url").then(|| "http://127.0.0.1:1/api/v10".to_string()))
        })
        .unwrap();
        let params = Params {
            ask: Some(AskSettings {
                required_approvals: Some(MAX_APPROVALS),
                approver_roles: vec!["777777777777777777".into()],
                ..AskSettings::default()
            }),
            ..Params::default()
        };
        let plan = Plan::new(&settings, &params).unwrap();
        let q = QuestionRef {
            channel_id: "111111111111111111".into(),
            message_id: "1551601395314982913".into(),
        };
        let target = Target::new(&q).unwrap();
        let mut w = Watch::new(target.clone(), &plan, u64::MAX);
        w.rules.bot_id = u64::MAX;
        w.guild = Some("18446744073709551615".into());
        w.cursor = u64::MAX;
        // More approvals than needed, with the longest names in the costliest JSON escapes:
        // six by reaction read first, then the most by message a wait can hold undecided.
        w.approvals = (0..u64::from(MAX_APPROVALS) + 5)
            .map(|i| Approval {
                user: Responder {
                    id: (u64::MAX - i).to_string(),
                    username: "\u{1}".repeat(60),
                },
                via: AnswerVia::Reaction,
                keyword: APPROVE_EMOJI.into(),
                at_ms: u64::MAX,
                by_message: i >= 6,
            })
            .collect();
        w.sent = Sent::restore(u32::MAX, true, Some(u64::MAX), &[u64::MAX; 20]);
        (w.pings_paused_until_ms, w.failures, w.due_ms) = (u64::MAX, u32::MAX, u64::MAX);
        let hint = w.hint();
        assert!(hint.len() <= MAX_LEN, "{} bytes", hint.len());
        let mut svc = Service::new(settings, "tok", FakeTransport::new());
        let mut back = Watch::new(target, &plan, u64::MAX);
        back.resume(&mut svc, &hint).unwrap();
        assert_eq!(
            back.approvals.len(),
            MAX_APPROVALS as usize,
            "capped at the quorum"
        );
        let by_message = back.approvals.iter().filter(|a| a.by_message).count();
        assert_eq!(
            by_message,
            MAX_APPROVALS as usize - 1,
            "every one by message"
        );
        assert_eq!(back.approvals[0].user.id, u64::MAX.to_string(), "in order");
        assert_eq!(back.hint(), hint, "read back, it writes the same hint");
        assert!(svc.client.transport_ref().notices.is_empty());
    }

    #[test]
    fn base64url_round_trips_every_length_and_refuses_other_text() {
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n)
                .map(|i| i.wrapping_mul(37).wrapping_add(250))
                .collect();
            let text = base64url(&bytes);
            assert!(!text.contains('=') && !text.contains('+') && !text.contains('/'));
            assert_eq!(unbase64url(&text), Some(bytes), "{text}");
        }
        assert_eq!(base64url(b"hint"), "aGludA");
        for bad in ["a", "abcde", "ab=c", "a+b/", "ab c"] {
            assert_eq!(unbase64url(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_this_versions_hints_are_read_and_garbage_is_named() {
        let err = |text: &str| match decode(text) {
            Err(AlertError::InvalidInput(m)) => m,
            other => panic!("{text}: {other:?}"),
        };
        assert!(err("hello").contains("does not start with a version such as `v1.`"));
        assert!(err("v1.@@@").contains("the text after `v1.` is not base64url"));
        assert!(err(&format!("v1.{}", base64url(b"{\"x\":1}"))).contains("does not read"));
        assert!(err(&"v1.".repeat(20_000)).contains("bytes long"));
        assert_eq!(
            decode("v2.anything at all").unwrap(),
            None,
            "another version"
        );
        assert_ne!(fnv1a(&[b"a", b"bc"]), fnv1a(&[b"ab", b"c"]));
    }
}
