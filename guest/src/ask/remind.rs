//! Reminders and the escalation: when they are due (pure), what they say, and how the bot's
//! own replies to the question are recognized, so a resumed wait counts what was sent.
//!
//! - A reminder is due while the question is open once `remind-every-ms` has passed since the
//!   last ping (a reminder or the escalation), else since the question was asked. It replies
//!   to the question as `⏰ Reminder: …`, pinging exactly the params' `mention-users` and
//!   `mention-roles`. After a downtime only one reminder catches up: the clock restarts at
//!   each ping.
//! - The escalation is due once, `escalate-after-ms` after the question was asked. It replies
//!   as `📣 Escalation: …`, pinging only `escalate-roles`. When both are due, the escalation
//!   goes and the reminder waits a full period.
//!
//! Nothing is remembered between calls but what a resume hint carries: the counts are read back
//! from the channel (the bot's replies to the question whose content starts with [`REMINDER`]
//! or [`ESCALATION`]). Every ping carries a nonce derived from the question and its number, so
//! a retried create, or a second process sending the same ping, yields one message. Every ping
//! is one message: params whose pings would not fit in Discord's 2000 characters are refused
//! before anything is sent ([`Pings::check`]).

use std::collections::HashSet;

use crate::approval::human_duration;
use crate::bindings::AlertError;
use crate::render::{self, limits, AllowedMentions, CreateMessage, MessageReference};

/// How a reminder's content starts.
pub const REMINDER: &str = "⏰ Reminder:";
/// How the escalation's content starts.
pub const ESCALATION: &str = "📣 Escalation:";

/// Who is pinged, and when (validated ids).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pings {
    /// Remind every this many milliseconds while open.
    pub every_ms: Option<u64>,
    /// Escalate once this many milliseconds after the question was asked.
    pub escalate_after_ms: Option<u64>,
    /// Roles the escalation pings.
    pub escalate_roles: Vec<String>,
    /// Users a reminder pings (the params' `mention-users`).
    pub users: Vec<String>,
    /// Roles a reminder pings (the params' `mention-roles`).
    pub roles: Vec<String>,
}

/// A reply to the question that pings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    /// A reminder.
    Reminder,
    /// The escalation.
    Escalation,
}

/// What the channel shows was sent so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sent {
    /// Reminders sent.
    pub reminders: u32,
    /// Whether the escalation was sent.
    pub escalated: bool,
    /// When the last ping was sent (Unix ms), if any was.
    pub last_ping_ms: Option<u64>,
    /// Message ids already counted.
    seen: HashSet<u64>,
}

impl Sent {
    /// Count the ping message `id`, sent at `at_ms`; a message counted before is not counted again.
    pub fn saw(&mut self, id: u64, ping: Ping, at_ms: u64) {
        if !self.seen.insert(id) {
            return;
        }
        match ping {
            Ping::Reminder => self.reminders += 1,
            Ping::Escalation => self.escalated = true,
        }
        self.last_ping_ms = Some(self.last_ping_ms.map_or(at_ms, |t| t.max(at_ms)));
    }

    /// What was counted as of a resume hint: the counts, the last ping, and the ids counted
    /// that a wait may still read (those after its cursor).
    pub fn restore(
        reminders: u32,
        escalated: bool,
        last_ping_ms: Option<u64>,
        seen: &[u64],
    ) -> Sent {
        Sent {
            reminders,
            escalated,
            last_ping_ms,
            seen: seen.iter().copied().collect(),
        }
    }

    /// The ids counted that are newer than `cursor`, in order: the pings a wait sent but has
    /// not read back yet.
    pub fn seen_after(&self, cursor: u64) -> Vec<u64> {
        let ids: Vec<u64> = self
            .seen
            .iter()
            .copied()
            .filter(|&id| id > cursor)
            .collect();
        crate::order::sort_by_u64(ids, |&id| id)
    }
}

/// Which ping a message of the bot's is, by its content.
pub fn ping_of(content: &str) -> Option<Ping> {
    if content.starts_with(REMINDER) {
        Some(Ping::Reminder)
    } else if content.starts_with(ESCALATION) {
        Some(Ping::Escalation)
    } else {
        None
    }
}

impl Pings {
    /// The ping due at `now_ms` for a question asked at `asked_ms`, if any (at most one).
    pub fn due(&self, asked_ms: u64, sent: &Sent, now_ms: u64) -> Option<Ping> {
        if let Some(after) = self.escalate_after_ms {
            if !sent.escalated && now_ms >= asked_ms.saturating_add(after) {
                return Some(Ping::Escalation);
            }
        }
        let every = self.every_ms?;
        let since = sent.last_ping_ms.unwrap_or(asked_ms).max(asked_ms);
        (now_ms >= since.saturating_add(every)).then_some(Ping::Reminder)
    }

    /// The reply for `ping` to `question`; `until_ms` is the question's deadline and `sent`
    /// what was sent before (it numbers the nonce).
    pub fn message(&self, ping: Ping, question: u64, sent: &Sent, until_ms: u64) -> CreateMessage {
        let (text, nonce, users, roles) = match ping {
            Ping::Reminder => (
                format!(
                    "{REMINDER} still waiting for an answer (closes <t:{}:R>).",
                    until_ms / 1000
                ),
                format!("{question:016x}.r{}", sent.reminders + 1),
                self.users.clone(),
                self.roles.clone(),
            ),
            Ping::Escalation => (
                format!(
                    "{ESCALATION} no decision after {}.",
                    human_duration(self.escalate_after_ms.unwrap_or(0))
                ),
                format!("{question:016x}.e"),
                Vec::new(),
                self.escalate_roles.clone(),
            ),
        };
        let pings: Vec<String> = roles
            .iter()
            .map(|r| format!("<@&{r}>"))
            .chain(users.iter().map(|u| format!("<@{u}>")))
            .collect();
        let content = if pings.is_empty() {
            text
        } else {
            format!("{text} {}", pings.join(" "))
        };
        CreateMessage {
            content: Some(content),
            allowed_mentions: AllowedMentions {
                parse: Vec::new(),
                users,
                roles,
                replied_user: false,
            },
            message_reference: Some(MessageReference {
                message_id: question.to_string(),
                fail_if_not_exists: false,
            }),
            nonce: Some(nonce),
            enforce_nonce: Some(true),
            ..CreateMessage::default()
        }
    }

    /// Refuse pings that would not fit in one message: a reminder names every mentioned user
    /// and role, the escalation every escalation role.
    pub fn check(&self) -> Result<(), AlertError> {
        let longest = |ping| {
            // The largest numbers the text can show: the deadline and the nonce's count.
            let sent = Sent {
                reminders: u32::MAX - 1,
                ..Sent::default()
            };
            let m = self.message(ping, u64::MAX, &sent, u64::MAX);
            render::len(m.content.as_deref().unwrap_or(""))
        };
        if self.every_ms.is_some() {
            let n = longest(Ping::Reminder);
            if n > limits::CONTENT {
                return Err(AlertError::InvalidInput(format!(
                    "a reminder pings every mention-users and mention-roles id ({} users, {} \
                     roles): {n} characters, more than the {} of one Discord message; mention \
                     fewer ids or leave out remind-every-ms",
                    self.users.len(),
                    self.roles.len(),
                    limits::CONTENT
                )));
            }
        }
        if self.escalate_after_ms.is_some() {
            let n = longest(Ping::Escalation);
            if n > limits::CONTENT {
                return Err(AlertError::InvalidInput(format!(
                    "the escalation pings every escalate-roles id ({} roles): {n} characters, \
                     more than the {} of one Discord message; list fewer roles",
                    self.escalate_roles.len(),
                    limits::CONTENT
                )));
            }
        }
        Ok(())
    }

    /// A sentence for the question's instructions, or "" with no reminders and no escalation.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(every) = self.every_ms {
            out.push_str(&format!(" Reminders every {}.", human_duration(every)));
        }
        if let Some(after) = self.escalate_after_ms {
            let roles: Vec<String> = self
                .escalate_roles
                .iter()
                .map(|r| format!("<@&{r}>"))
                .collect();
            out.push_str(&format!(
                " Escalates to {} after {}.",
                roles.join(", "),
                human_duration(after)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASKED: u64 = 1_790_000_000_000;
    const MIN: u64 = 60_000;
    const Q: u64 = 0x1234_5678_9abc_def0;

    fn pings() -> Pings {
        Pings {
            every_ms: Some(10 * MIN),
            escalate_after_ms: Some(30 * MIN),
            escalate_roles: vec!["777777777777777777".into()],
            users: vec!["333333333333333333".into()],
            roles: vec!["888888888888888888".into()],
        }
    }

    #[test]
    fn a_reminder_is_due_a_period_after_the_question_then_after_the_last_ping() {
        let p = Pings {
            escalate_after_ms: None,
            ..pings()
        };
        let mut sent = Sent::default();
        assert_eq!(p.due(ASKED, &sent, ASKED + 10 * MIN - 1), None);
        assert_eq!(p.due(ASKED, &sent, ASKED + 10 * MIN), Some(Ping::Reminder));
        sent.saw(1, Ping::Reminder, ASKED + 10 * MIN + 500);
        assert_eq!(p.due(ASKED, &sent, ASKED + 20 * MIN), None);
        assert_eq!(
            p.due(ASKED, &sent, ASKED + 20 * MIN + 500),
            Some(Ping::Reminder)
        );
    }

    #[test]
    fn after_a_downtime_one_reminder_catches_up_not_a_burst() {
        let p = Pings {
            escalate_after_ms: None,
            ..pings()
        };
        let mut sent = Sent::default();
        // Nobody polled for an hour and a half: one reminder is due, then none for a period.
        let now = ASKED + 90 * MIN;
        assert_eq!(p.due(ASKED, &sent, now), Some(Ping::Reminder));
        sent.saw(7, Ping::Reminder, now);
        assert_eq!(p.due(ASKED, &sent, now + 9 * MIN), None);
    }

    #[test]
    fn the_escalation_goes_once_and_restarts_the_reminder_clock() {
        let p = Pings {
            every_ms: Some(30 * MIN),
            ..pings()
        };
        let mut sent = Sent::default();
        assert_eq!(p.due(ASKED, &sent, ASKED + 29 * MIN), None);
        // Both are due at 30 min: the escalation goes first.
        assert_eq!(
            p.due(ASKED, &sent, ASKED + 30 * MIN),
            Some(Ping::Escalation)
        );
        sent.saw(9, Ping::Escalation, ASKED + 30 * MIN);
        assert!(sent.escalated);
        assert_eq!(p.due(ASKED, &sent, ASKED + 59 * MIN), None);
        assert_eq!(p.due(ASKED, &sent, ASKED + 60 * MIN), Some(Ping::Reminder));
    }

    #[test]
    fn nothing_is_due_without_settings() {
        let p = Pings::default();
        assert_eq!(p.due(ASKED, &Sent::default(), ASKED + 1000 * MIN), None);
    }

    #[test]
    fn a_message_counted_twice_counts_once() {
        let mut sent = Sent::default();
        sent.saw(5, Ping::Reminder, ASKED);
        sent.saw(5, Ping::Reminder, ASKED);
        sent.saw(6, Ping::Reminder, ASKED - 5);
        assert_eq!(sent.reminders, 2);
        assert_eq!(
            sent.last_ping_ms,
            Some(ASKED),
            "the latest ping, not the last read"
        );
    }

    #[test]
    fn a_reminder_pings_exactly_the_mentioned_users_and_roles() {
        let m = pings().message(Ping::Reminder, Q, &Sent::default(), 1_790_000_600_000);
        assert_eq!(
            m.content.as_deref(),
            Some(
                "⏰ Reminder: still waiting for an answer (closes <t:1790000600:R>). \
                 <@&888888888888888888> <@333333333333333333>"
            )
        );
        let body = serde_json::to_value(&m).unwrap();
        assert_eq!(
            body["allowed_mentions"],
            serde_json::json!({"parse": [], "users": ["333333333333333333"],
                "roles": ["888888888888888888"], "replied_user": false})
        );
        assert_eq!(
            body["message_reference"],
            serde_json::json!({"message_id": Q.to_string(), "fail_if_not_exists": false})
        );
        assert_eq!(body["nonce"], "123456789abcdef0.r1");
        assert_eq!(body["enforce_nonce"], true);
        assert_eq!(ping_of(m.content.as_deref().unwrap()), Some(Ping::Reminder));
    }

    #[test]
    fn the_escalation_pings_only_the_escalation_roles() {
        let m = pings().message(Ping::Escalation, Q, &Sent::default(), 0);
        assert_eq!(
            m.content.as_deref(),
            Some("📣 Escalation: no decision after 30 min. <@&777777777777777777>")
        );
        assert!(m.allowed_mentions.users.is_empty());
        assert_eq!(m.allowed_mentions.roles, ["777777777777777777"]);
        assert!(m.allowed_mentions.parse.is_empty() && !m.allowed_mentions.replied_user);
        assert_eq!(m.nonce.as_deref(), Some("123456789abcdef0.e"));
        assert_eq!(
            ping_of(m.content.as_deref().unwrap()),
            Some(Ping::Escalation)
        );
        assert_eq!(ping_of("⏰ Reminders are great"), None);
    }

    #[test]
    fn pings_that_would_not_fit_in_one_message_are_refused() {
        let ids =
            |base: u64, n: u64| -> Vec<String> { (0..n).map(|i| (base + i).to_string()).collect() };
        let many = Pings {
            users: ids(10_000_000_000_000_000_000, 100),
            roles: ids(11_000_000_000_000_000_000, 100),
            ..pings()
        };
        let err = many.check().unwrap_err();
        assert!(
            matches!(&err, AlertError::InvalidInput(m)
                if m.starts_with("a reminder pings every mention-users and mention-roles id \
                                  (100 users, 100 roles): ")
                    && m.contains("more than the 2000 of one Discord message")),
            "{err:?}"
        );
        // Without reminders the mentions ping nobody again: nothing to refuse.
        let quiet = Pings {
            every_ms: None,
            ..many.clone()
        };
        assert_eq!(quiet.check(), Ok(()));
        let escalating = Pings {
            escalate_roles: ids(12_000_000_000_000_000_000, 100),
            ..quiet
        };
        let err = escalating.check().unwrap_err();
        assert!(
            matches!(&err, AlertError::InvalidInput(m)
                if m.starts_with("the escalation pings every escalate-roles id (100 roles): ")),
            "{err:?}"
        );
        // As many ids as fit: accepted, and the longest reminder is within the limit.
        let fitting = Pings {
            users: ids(10_000_000_000_000_000_000, 35),
            roles: ids(11_000_000_000_000_000_000, 35),
            ..pings()
        };
        assert_eq!(fitting.check(), Ok(()));
        let m = fitting.message(Ping::Reminder, u64::MAX, &Sent::default(), u64::MAX);
        assert!(render::len(m.content.as_deref().unwrap()) <= limits::CONTENT);
    }

    #[test]
    fn the_instructions_mention_reminders_and_the_escalation() {
        assert_eq!(
            pings().describe(),
            " Reminders every 10 min. Escalates to <@&777777777777777777> after 30 min."
        );
        assert_eq!(Pings::default().describe(), "");
    }
}
