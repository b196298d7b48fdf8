//! An ask's params, validated before the first request ([`Plan`], with the fingerprint a
//! resume hint is checked against), the question a `wait` or `close` names ([`Target`]), the
//! lookups every step may need (the bot's own id, the channel's server, a member's roles), and
//! the stable hash ([`fnv1a`]) behind the fingerprint and a keyed question's nonces.

use std::collections::HashMap;

use super::record::validate_key;
use super::remind::Pings;
use super::wire::{Channel, Member, User};
use super::{DEFAULT_POLL_MS, MIN_POLL_MS, MIN_REMIND_MS};
use crate::approval::Rules;
use crate::bindings::{AlertError, Params, QuestionRef};
use crate::config::Settings;
use crate::discord::Transport;
use crate::render::{self, limits};
use crate::service::Service;
use crate::snowflake;

/// Everything the params say about an ask.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Plan {
    /// How long the question stays open, from when it was asked.
    pub(super) timeout_ms: u64,
    /// Time between rounds while nothing fails.
    pub(super) poll_ms: u64,
    /// Who decides and how (the bot's id is filled in once known).
    pub(super) rules: Rules,
    /// The idempotency key.
    pub(super) key: Option<String>,
    /// Reminders and the escalation.
    pub(super) pings: Pings,
}

impl Plan {
    /// Validate `params` (and `settings`' default timeout) without sending anything.
    pub(super) fn new(settings: &Settings, params: &Params) -> Result<Plan, AlertError> {
        let ask = params.ask.clone().unwrap_or_default();
        let timeout_ms = ask.timeout_ms.unwrap_or(settings.ask_timeout_ms);
        if timeout_ms == 0 {
            return Err(AlertError::InvalidInput(
                "the ask timeout must be positive".into(),
            ));
        }
        let poll_ms = ask
            .poll_interval_ms
            .unwrap_or(DEFAULT_POLL_MS)
            .max(MIN_POLL_MS);
        let rules = Rules::from_params(params, 0)?;
        let key = ask.key.as_deref().map(validate_key).transpose()?;
        if let Some(every) = ask.remind_every_ms.filter(|&ms| ms < MIN_REMIND_MS) {
            return Err(AlertError::InvalidInput(format!(
                "remind-every-ms must be at least {MIN_REMIND_MS} (1 s), got {every}"
            )));
        }
        // Each role once (compared as numbers), written as Discord writes it.
        let escalate_roles: Vec<String> = snowflake::distinct(&ask.escalate_roles)
            .map_err(|id| snowflake::not_an_id("escalation role", id.trim()))?
            .iter()
            .map(u64::to_string)
            .collect();
        match (ask.escalate_after_ms, escalate_roles.len()) {
            (Some(_), 0) => {
                return Err(AlertError::InvalidInput(
                    "escalate-after-ms needs at least one role id in escalate-roles".into(),
                ))
            }
            (None, n) if n > 0 => {
                return Err(AlertError::InvalidInput(
                    "escalate-roles need escalate-after-ms: when to escalate".into(),
                ))
            }
            (_, n) if n > limits::MENTIONS => {
                return Err(AlertError::InvalidInput(format!(
                    "at most {} escalation roles can be pinged",
                    limits::MENTIONS
                )))
            }
            _ => {}
        }
        let mentions = render::allowed_mentions(params)?;
        let pings = Pings {
            every_ms: ask.remind_every_ms,
            escalate_after_ms: ask.escalate_after_ms,
            escalate_roles,
            users: mentions.users,
            roles: mentions.roles,
        };
        pings.check()?;
        Ok(Plan {
            timeout_ms,
            poll_ms,
            rules,
            key,
            pings,
        })
    }

    /// The fingerprint of the params: all that changes how a question is waited for (not the
    /// key, which only `open` reads). A resume hint is used only with the same fingerprint.
    pub(super) fn fingerprint(&self) -> u64 {
        let waiting = format!(
            "{}/{}/{:?}/{:?}",
            self.timeout_ms, self.poll_ms, self.rules, self.pings
        );
        fnv1a(&[waiting.as_bytes()])
    }

    /// The question's instructions line for a deadline of `until_ms` (Unix ms).
    pub(super) fn trailer(&self, until_ms: u64) -> String {
        format!(
            "{}{}",
            self.rules.instructions(until_ms),
            self.pings.describe()
        )
    }
}

/// FNV-1a over `parts`, each followed by a 0 byte: a stable 64-bit hash (the same in every
/// build and on every host), for the params' fingerprint and a keyed question's nonces.
pub(super) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// A question named by a `question-ref`, its ids checked.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Target {
    /// The channel's id.
    pub(super) channel: String,
    /// The question's message id.
    pub(super) message: String,
    /// The same, as a number.
    pub(super) id: u64,
}

impl Target {
    /// Check both ids of `q`.
    pub(super) fn new(q: &QuestionRef) -> Result<Target, AlertError> {
        let channel = q.channel_id.trim();
        let message = q.message_id.trim();
        if !snowflake::is_valid(channel) {
            return Err(snowflake::not_an_id("channel", channel));
        }
        let id = snowflake::parse(message)
            .filter(|_| snowflake::is_valid(message))
            .ok_or_else(|| snowflake::not_an_id("question message", message))?;
        Ok(Target {
            channel: channel.to_string(),
            message: message.to_string(),
            id,
        })
    }

    /// When the question was asked (Unix ms), from its id.
    pub(super) fn asked_ms(&self) -> u64 {
        snowflake::unix_ms(self.id)
    }

    /// `/channels/{c}/messages/{q}` and its rate-limit route.
    pub(super) fn path(&self) -> (String, String) {
        (
            format!("/channels/{}/messages/{}", self.channel, self.message),
            format!("GET /channels/{}/messages/id", self.channel),
        )
    }
}

/// The bot's own user id (`GET /users/@me`).
pub(super) fn bot_id<T: Transport>(svc: &mut Service<T>) -> Result<u64, AlertError> {
    let me: User = svc.client.get_json("/users/@me", "GET /users/@me")?;
    snowflake::parse(&me.id)
        .ok_or_else(|| AlertError::Transport(format!("Discord returned a bad bot id `{}`", me.id)))
}

/// The server a channel belongs to; approver roles need one.
pub(super) fn guild_of<T: Transport>(
    svc: &mut Service<T>,
    channel: &str,
) -> Result<String, AlertError> {
    let path = format!("/channels/{channel}");
    let c: Channel = svc
        .client
        .get_json(&path, &format!("GET /channels/{channel}"))?;
    c.guild_id.ok_or_else(|| {
        AlertError::InvalidInput("approver roles need a server channel, not a DM".into())
    })
}

/// Members' roles, looked up once per call; `None` for a user who is not a member.
#[derive(Debug, Default)]
pub(super) struct Roles {
    known: HashMap<u64, Option<Vec<String>>>,
}

impl Roles {
    /// `user`'s roles in `guild`.
    pub(super) fn of<T: Transport>(
        &mut self,
        svc: &mut Service<T>,
        guild: &str,
        user: u64,
    ) -> Result<Option<Vec<String>>, AlertError> {
        if let Some(r) = self.known.get(&user) {
            return Ok(r.clone());
        }
        let path = format!("/guilds/{guild}/members/{user}");
        let route = format!("GET /guilds/{guild}/members");
        let roles = match svc.client.get_json::<Member>(&path, &route) {
            Ok(m) => Some(m.roles),
            Err(AlertError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        self.known.insert(user, roles.clone());
        Ok(roles)
    }
}
