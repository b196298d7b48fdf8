//! Which answers decide an ask: keyword matching, reaction emoji, and who is entitled to answer.
//! Pure functions; `ask` feeds them what it reads from Discord.

use crate::bindings::{AlertError, Params};
use crate::snowflake;

/// ZenML's default approve keywords.
pub const DEFAULT_APPROVE: [&str; 4] = ["approve", "LGTM", "ok", "yes"];
/// ZenML's default disapprove keywords.
pub const DEFAULT_DISAPPROVE: [&str; 4] = ["decline", "disapprove", "no", "reject"];
/// The most approvals a question may require: the outcome record lists every approver, and
/// that many fit in one embed whatever their names.
pub const MAX_APPROVALS: u32 = 50;
/// The reaction the bot adds to a question for approving.
pub const APPROVE_EMOJI: &str = "✅";
/// The reaction the bot adds to a question for declining.
pub const DISAPPROVE_EMOJI: &str = "❌";

/// Approve or disapprove, and the keyword or emoji that said so.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// An approval, by this keyword or emoji.
    Approve(String),
    /// A disapproval, by this keyword or emoji.
    Disapprove(String),
}

/// How a question is decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Keywords that approve.
    pub approve: Vec<String>,
    /// Keywords that disapprove.
    pub disapprove: Vec<String>,
    /// Compare trimmed and case-folded instead of exactly.
    pub ignore_case: bool,
    /// User ids whose answers count, each once. With neither approvers nor roles, any human
    /// counts.
    pub approvers: Vec<u64>,
    /// Role ids whose members' answers count, each once, as Discord writes them.
    pub approver_roles: Vec<String>,
    /// Distinct approvals needed.
    pub required_approvals: u32,
    /// The bot's own user id: it never answers.
    pub bot_id: u64,
}

impl Rules {
    /// Build the rules from params, validating keywords and ids before anything is sent.
    pub fn from_params(params: &Params, bot_id: u64) -> Result<Rules, AlertError> {
        let list = |given: &Option<Vec<String>>, default: &[&str], what: &str| {
            let words: Vec<String> = match given {
                Some(w) => w.clone(),
                None => default.iter().map(ToString::to_string).collect(),
            };
            if words.is_empty() || words.iter().any(|w| w.trim().is_empty()) {
                return Err(AlertError::InvalidInput(format!(
                    "{what} keywords must be a non-empty list of non-empty words"
                )));
            }
            Ok(words)
        };
        let approve = list(&params.approve_keywords, &DEFAULT_APPROVE, "approve")?;
        let disapprove = list(
            &params.disapprove_keywords,
            &DEFAULT_DISAPPROVE,
            "disapprove",
        )?;
        let settings = params.ask.as_ref();
        let ignore_case = settings.is_some_and(|s| s.ignore_case);
        let norm = |w: &str| normalize(w, ignore_case);
        if let Some(both) = approve
            .iter()
            .find(|a| disapprove.iter().any(|d| norm(d) == norm(a)))
        {
            return Err(AlertError::InvalidInput(format!(
                "`{both}` is both an approve and a disapprove keyword"
            )));
        }
        // Each list collapsed to its distinct ids first: every check below, and the
        // instructions line, count and show each person or role once.
        let (approvers, approver_roles) = match settings {
            Some(s) => (
                snowflake::distinct(&s.approvers).map_err(|id| {
                    AlertError::InvalidInput(format!("approver `{id}` is not a Discord user id"))
                })?,
                snowflake::distinct(&s.approver_roles).map_err(|id| {
                    AlertError::InvalidInput(format!(
                        "approver role `{id}` is not a Discord role id"
                    ))
                })?,
            ),
            None => (Vec::new(), Vec::new()),
        };
        let approver_roles: Vec<String> = approver_roles.iter().map(u64::to_string).collect();
        let required_approvals = settings.and_then(|s| s.required_approvals).unwrap_or(1);
        if required_approvals == 0 {
            return Err(AlertError::InvalidInput(
                "required approvals must be at least 1".into(),
            ));
        }
        if required_approvals > MAX_APPROVALS {
            return Err(AlertError::InvalidInput(format!(
                "required approvals must be at most {MAX_APPROVALS}"
            )));
        }
        if approver_roles.is_empty()
            && !approvers.is_empty()
            && (required_approvals as usize) > approvers.len()
        {
            return Err(AlertError::InvalidInput(format!(
                "{required_approvals} approvals are required but only {} distinct approvers \
                 are listed",
                approvers.len()
            )));
        }
        Ok(Rules {
            approve,
            disapprove,
            ignore_case,
            approvers,
            approver_roles,
            required_approvals,
            bot_id,
        })
    }

    /// Whether anyone may answer (no approver list and no roles).
    pub fn open_to_all(&self) -> bool {
        self.approvers.is_empty() && self.approver_roles.is_empty()
    }

    /// Match a message's text. Leading mentions of the bot (`<@id>`, `<@!id>`) are ignored, so
    /// people without the message-content intent can write `@bot LGTM`.
    pub fn match_text(&self, content: &str) -> Option<Verdict> {
        let text = strip_bot_mentions(content, self.bot_id);
        let text = normalize(text, self.ignore_case);
        if let Some(k) = self
            .approve
            .iter()
            .find(|k| normalize(k, self.ignore_case) == text)
        {
            return Some(Verdict::Approve(k.clone()));
        }
        self.disapprove
            .iter()
            .find(|k| normalize(k, self.ignore_case) == text)
            .map(|k| Verdict::Disapprove(k.clone()))
    }

    /// Match a reaction: ✅ / ❌, or an emoji that is itself a keyword.
    pub fn match_emoji(&self, emoji: &str) -> Option<Verdict> {
        if emoji == APPROVE_EMOJI || self.approve.iter().any(|k| k == emoji) {
            return Some(Verdict::Approve(emoji.to_string()));
        }
        if emoji == DISAPPROVE_EMOJI || self.disapprove.iter().any(|k| k == emoji) {
            return Some(Verdict::Disapprove(emoji.to_string()));
        }
        None
    }

    /// Emoji whose reactions may decide (the bot adds the first two).
    pub fn reaction_emoji(&self) -> Vec<String> {
        let mut out = vec![APPROVE_EMOJI.to_string(), DISAPPROVE_EMOJI.to_string()];
        for k in self.approve.iter().chain(&self.disapprove) {
            if is_single_emoji(k) && !out.contains(k) {
                out.push(k.clone());
            }
        }
        out
    }

    /// Entitlement of a user who is not a bot: listed, or (`roles` known) holding a listed role.
    pub fn entitled(&self, user_id: u64, is_bot: bool, roles: Option<&[String]>) -> bool {
        if is_bot || user_id == self.bot_id {
            return false;
        }
        if self.open_to_all() || self.approvers.contains(&user_id) {
            return true;
        }
        roles.is_some_and(|r| r.iter().any(|role| self.approver_roles.contains(role)))
    }

    /// One line telling people how to answer and until when (`until_ms`, Unix milliseconds,
    /// shown in each reader's own time zone with Discord's `<t:…>` markup, so a question resumed
    /// later still shows its one deadline).
    pub fn instructions(&self, until_ms: u64) -> String {
        let quote = |w: &[String]| {
            w.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let who = if self.open_to_all() {
            String::new()
        } else {
            let mut names: Vec<String> = self.approvers.iter().map(|u| format!("<@{u}>")).collect();
            names.extend(self.approver_roles.iter().map(|r| format!("<@&{r}>")));
            format!(" Only {} can decide.", names.join(", "))
        };
        let need = if self.required_approvals > 1 {
            format!(" {} approvals needed.", self.required_approvals)
        } else {
            String::new()
        };
        format!(
            "**Answer** with {APPROVE_EMOJI} / {DISAPPROVE_EMOJI}, or reply {} to approve or {} to decline{}. \
             Open until <t:{until}:f> (<t:{until}:R>).{who}{need}",
            quote(&self.approve),
            quote(&self.disapprove),
            if self.ignore_case { " (any case)" } else { "" },
            until = until_ms / 1000,
        )
    }
}

fn normalize(s: &str, ignore_case: bool) -> String {
    if ignore_case {
        s.trim().to_lowercase()
    } else {
        s.to_string()
    }
}

fn strip_bot_mentions(content: &str, bot_id: u64) -> &str {
    let plain = format!("<@{bot_id}>");
    let nick = format!("<@!{bot_id}>");
    let mut text = content;
    loop {
        let t = text.trim_start();
        if let Some(rest) = t.strip_prefix(&plain).or_else(|| t.strip_prefix(&nick)) {
            text = rest.trim_start();
        } else {
            return if text.len() == content.len() {
                content
            } else {
                text
            };
        }
    }
}

/// A keyword that is one emoji (possibly with modifiers), usable as a reaction.
fn is_single_emoji(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if (c as u32) >= 0x2190 && !c.is_alphanumeric() => {
            chars.all(|c| (c as u32) >= 0x1F000 || matches!(c as u32, 0x200D | 0xFE0F | 0x20E3))
        }
        _ => false,
    }
}

/// "5 min", "90 s", "2 h".
pub fn human_duration(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{} h", s / 3600)
    } else if s >= 120 && s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else if ms.is_multiple_of(1000) {
        format!("{s} s")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests;
