//! Run alerter components (Discord alerts and approval gates) in a wasmtime sandbox.
//!
//! - [`Runtime`]: one compiled flavor component (the embedded Discord flavor by default),
//!   instantiated per call in a fresh sandboxed store.
//! - [`CallConfig`]: settings (`wasi:config/store`), secrets (`wasmcloud:secrets`) and the
//!   sandbox [`Policy`] for a call; [`config::resolve`] builds one from a config file or a
//!   registered alerter, resolving `{{secret.key}}` references.
//!
//! ```no_run
//! use alerter::{config, CallConfig, Runtime};
//! use alerter::types::{AlerterMessage, Message, Params};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let runtime = Runtime::embedded()?;
//! let spec = config::AlerterSpec {
//!     flavor: "discord".into(),
//!     discord_token: Some("{{discord_secret.discord_token}}".into()),
//!     default_discord_channel_id: Some("123456789012345678".into()),
//!     ..Default::default()
//! };
//! let home = config::home();
//! let resolved = config::resolve(&spec, &alerter::SecretStore::new(&home), &|k| std::env::var(k).ok())?;
//! let message = Message::Structured(AlerterMessage {
//!     title: Some("Training finished".into()),
//!     body: Some("accuracy 0.93".into()),
//!     metadata: vec![],
//!     images: vec![],
//! });
//! let receipt = runtime.post(&resolved.call, &message, &Params::default()).await?;
//! println!("{:?}", receipt.message_ids);
//! # Ok(()) }
//! ```

pub mod config;
pub mod policy;
pub mod runtime;
pub mod secrets;

pub use policy::Policy;
pub use runtime::{types, CallConfig, CallError, ExceptionInfo, RunContext, Runtime};
pub use secrets::{Redactor, SecretStore};

use types::AlertError;

/// Process exit codes of the `alerter` CLI.
pub mod exit {
    /// Posted, or approved.
    pub const OK: i32 = 0;
    /// The ask was answered with a disapproval.
    pub const DISAPPROVED: i32 = 1;
    /// Usage, configuration or invalid input: nothing was sent.
    pub const USAGE: i32 = 2;
    /// Delivery failed: Discord or the network said no, or the sandbox stopped the component.
    pub const DELIVERY: i32 = 3;
    /// Nobody entitled to decide answered before the timeout.
    pub const TIMED_OUT: i32 = 4;
}

impl Default for types::Params {
    fn default() -> Self {
        types::Params {
            channel_id: None,
            approve_keywords: None,
            disapprove_keywords: None,
            payload: None,
            include_format_blocks: None,
            severity: None,
            mention_users: Vec::new(),
            mention_roles: Vec::new(),
            ask: None,
        }
    }
}

/// The exit code for a failed call.
pub fn exit_code(e: &CallError) -> i32 {
    match e {
        CallError::Alert(AlertError::InvalidConfig(_) | AlertError::InvalidInput(_)) => exit::USAGE,
        _ => exit::DELIVERY,
    }
}

/// One line a person can act on.
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
            "rate limited by Discord{} for {:.1} s: {}",
            if r.global { " (global limit)" } else { "" },
            r.retry_after_ms as f64 / 1000.0,
            r.message
        ),
        AlertError::Transport(m) => format!("could not reach Discord: {m}"),
        AlertError::Api(a) => format!(
            "Discord answered HTTP {}{}: {}",
            a.status,
            code_text(a.code),
            a.message
        ),
    }
}

fn code_text(code: Option<u32>) -> String {
    code.map(|c| format!(", code {c}")).unwrap_or_default()
}
