//! Every error the library returns, and the one-line text a person can act on.
//!
//! - [`CallError`]: a call to the component produced no result (the flavor's own
//!   [`AlertError`], or the sandbox stopped it);
//! - [`ConfigError`]: the configuration cannot be used (nothing was sent);
//! - [`SecretError`]: a `{{name.key}}` reference or the secret store failed.
//!
//! Messages start lower case and never contain a secret value. Which exit code an error maps
//! to is the CLI's business, not the library's.

use std::time::Duration;

use crate::types::AlertError;

/// Why a call produced no result from the flavor.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The flavor ran and reported an error (bad input, Discord said no, ...).
    #[error("{}", describe(.0))]
    Alert(AlertError),
    /// The sandbox stopped the guest: memory cap, CPU budget, or a trap.
    #[error("the component was stopped: {0}")]
    Sandbox(String),
    /// The call ran past its wall-clock deadline.
    #[error("the call took longer than {0:?} and was cancelled")]
    Deadline(Duration),
    /// The caller cancelled an ask ([`crate::Runtime::ask_until`]); the question was marked
    /// as cancelled (`marked`), or marking it failed.
    #[error("{}", cancelled_text(.reason, .question.is_some(), *.marked))]
    Cancelled {
        /// Why, as the caller said (for example "interrupted").
        reason: String,
        /// The question, if it had been posted.
        question: Option<crate::types::QuestionRef>,
        /// Whether the question now says it was cancelled.
        marked: bool,
    },
}

/// A configuration problem: nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration is missing something or holds a bad value; the text says which.
    #[error("{0}")]
    Invalid(String),
    /// A secret reference could not be resolved.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// A `{{name.key}}` reference that could not be resolved, or a store failure.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No secret of that name.
    #[error("secret reference `{{{{{0}.{1}}}}}` cannot be resolved: there is no secret `{0}` (create it with `alerter secret create {0} --{1}=...`)")]
    NoSecret(String, String),
    /// The secret exists but lacks the key.
    #[error(
        "secret reference `{{{{{0}.{1}}}}}` cannot be resolved: secret `{0}` has no key `{1}`"
    )]
    NoKey(String, String),
    /// A secret name that could escape the store's directory or is empty.
    #[error("invalid secret name `{0}`: use letters, digits, `-` and `_`")]
    BadName(String),
    /// The store's directory or a secret's file could have been changed by someone else (or
    /// is a symlink): the text names the path, what is wrong and the fix.
    #[error("secret store: {0}")]
    Unsafe(String),
    /// Reading or writing the store failed.
    #[error("secret store {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// The line for [`CallError::Cancelled`].
fn cancelled_text(reason: &str, posted: bool, marked: bool) -> String {
    match (posted, marked) {
        (false, _) => format!("the ask was cancelled before its question was posted ({reason})"),
        (true, true) => format!("the ask was cancelled ({reason})"),
        (true, false) => format!(
            "the ask was cancelled ({reason}); the question could not be marked as cancelled"
        ),
    }
}

/// One line a person can act on, for an error the flavor reported.
pub fn describe(e: &AlertError) -> String {
    match e {
        AlertError::InvalidConfig(m) => format!("configuration: {m}"),
        AlertError::InvalidInput(m) => format!("invalid input: {m}"),
        AlertError::Unauthorized(_) => "Discord refused the bot token (HTTP 401): check `discord_token`; \
             if it was reset or leaked, copy the new one from the Developer Portal (Bot > Reset Token)"
            .into(),
        AlertError::Forbidden(a) => match a.code {
            Some(50001) => "the bot cannot see this channel (HTTP 403, Missing Access 50001): invite the bot to \
                 the server and give it View Channel in this channel"
                .into(),
            Some(50013) => "the bot lacks a permission (HTTP 403, Missing Permissions 50013): give it Send \
                 Messages, Embed Links, Add Reactions and Read Message History in this channel"
                .into(),
            _ => format!("Discord refused the request (HTTP 403{}): {}", code_text(a.code), a.message),
        },
        AlertError::NotFound(a) => match a.code {
            Some(10003) => "the channel does not exist (HTTP 404, Unknown Channel 10003): check the channel id \
                 (Discord: right-click the channel > Copy Channel ID)"
                .into(),
            Some(10008) => "the message no longer exists (HTTP 404, Unknown Message 10008)".into(),
            _ => format!("not found (HTTP 404{}): {}", code_text(a.code), a.message),
        },
        AlertError::RateLimited(r) => format!(
            "rate limited by Discord{}{}: {}",
            if r.global { " (global limit)" } else { "" },
            if r.retry_after_ms > 0 {
                format!(" for {:.1} s", r.retry_after_ms as f64 / 1000.0)
            } else {
                String::new()
            },
            r.message
        ),
        AlertError::Transport(m) => format!("could not reach Discord: {m}"),
        AlertError::Incomplete(i) => format!(
            "only {} of {} parts were posted (message ids {}{}) before one failed: {}; a post \
             made with an idempotency key (--key) posts only the rest when run again with the \
             same key, while one without a key would post every part again",
            i.message_ids.len(),
            i.parts,
            i.message_ids.join(", "),
            if i.channel_id.is_empty() {
                String::new()
            } else {
                format!(" in channel {}", i.channel_id)
            },
            i.reason
        ),
        AlertError::Api(a) => format!(
            "Discord answered HTTP {}{}: {}",
            a.status,
            code_text(a.code),
            a.message
        ),
    }
}

/// `, code N` when Discord sent a JSON error code.
fn code_text(code: Option<u32>) -> String {
    code.map(|c| format!(", code {c}")).unwrap_or_default()
}
