//! The settings of one alerter as written down: the TOML format of a config file and of a
//! registered alerter's file. Unknown keys are rejected, so typos fail loudly. Turning a spec
//! into a call is [`crate::config`]'s job.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The only flavor built in.
pub const DISCORD_FLAVOR: &str = "discord";

/// The settings of one alerter: the config file format and a registered alerter's file.
/// `Debug` shows a `{{secret.key}}` reference but never a literal token.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlerterSpec {
    /// Only `discord` today.
    #[serde(default = "default_flavor")]
    pub flavor: String,
    /// The bot token, ideally a `{{secret.key}}` reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discord_token: Option<String>,
    /// A channel webhook URL, ideally a `{{secret.key}}` reference (it holds the webhook's
    /// token): `post` and the hooks go through it; `ask` still needs `discord_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discord_webhook_url: Option<String>,
    /// The channel posts and asks go to unless a call names another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_discord_channel_id: Option<String>,
    /// Defaults to `https://discord.com/api/v10`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<String>,
    /// Default wait of `ask` (300 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_timeout_seconds: Option<f64>,
    /// Bound on one delivery, retries included (30 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_deadline_seconds: Option<f64>,
    /// Largest file an alert may carry, in bytes (10 MiB: Discord's limit for servers without
    /// boosts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attachment_bytes: Option<u64>,
    /// A body that would need more messages than this (3) is sent as an excerpt plus a file;
    /// 0 splits it into as many messages as it takes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_body_max_parts: Option<u32>,
    /// Extra hosts (URLs) the component may reach besides the API base.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
}

impl std::fmt::Debug for AlerterSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = self.discord_token.as_deref().map(|t| {
            if crate::secrets::parse_reference(t).is_some() {
                t
            } else {
                "[redacted]"
            }
        });
        let webhook = self.discord_webhook_url.as_deref().map(|w| {
            if crate::secrets::parse_reference(w).is_some() {
                w.to_string()
            } else {
                crate::policy::redact_webhook(w)
            }
        });
        f.debug_struct("AlerterSpec")
            .field("flavor", &self.flavor)
            .field("discord_token", &token)
            .field("discord_webhook_url", &webhook)
            .field(
                "default_discord_channel_id",
                &self.default_discord_channel_id,
            )
            .field("api_base_url", &self.api_base_url)
            .field("ask_timeout_seconds", &self.ask_timeout_seconds)
            .field("delivery_deadline_seconds", &self.delivery_deadline_seconds)
            .field("max_attachment_bytes", &self.max_attachment_bytes)
            .field("long_body_max_parts", &self.long_body_max_parts)
            .field("allowed_hosts", &self.allowed_hosts)
            .finish()
    }
}

fn default_flavor() -> String {
    DISCORD_FLAVOR.into()
}

impl Default for AlerterSpec {
    /// The Discord flavor with nothing else set.
    fn default() -> Self {
        AlerterSpec {
            flavor: default_flavor(),
            discord_token: None,
            discord_webhook_url: None,
            default_discord_channel_id: None,
            api_base_url: None,
            ask_timeout_seconds: None,
            delivery_deadline_seconds: None,
            max_attachment_bytes: None,
            long_body_max_parts: None,
            allowed_hosts: Vec::new(),
        }
    }
}

/// Read a config file.
pub fn load_file(path: &Path) -> Result<AlerterSpec, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::Invalid(format!("cannot read config file {}: {e}", path.display()))
    })?;
    toml::from_str(&text).map_err(|e| {
        ConfigError::Invalid(format!("config file {}: {}", path.display(), e.message()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_literal_token_but_does_show_a_reference() {
        let mut spec = AlerterSpec {
            discord_token: Some("MTAx.literal-token.xyz".into()),
            ..AlerterSpec::default()
        };
        let shown = format!("{spec:?}");
        assert!(
            !shown.contains("literal-token") && shown.contains("[redacted]"),
            "{shown}"
        );
        spec.discord_token = Some("{{discord_secret.discord_token}}".into());
        assert!(format!("{spec:?}").contains("{{discord_secret.discord_token}}"));
    }
}
