//! Where an alerter's configuration comes from, and how it becomes a [`CallConfig`].
//!
//! Sources, highest precedence first:
//! 1. command-line flags (`--channel`, `--timeout`, ...), applied per call by the CLI;
//! 2. environment: `ALERTER_DISCORD_TOKEN` (the token), `ALERTER_API_BASE_URL`;
//! 3. one source of the rest: `--config FILE`, else `--alerter NAME`, else the file in
//!    `ALERTER_CONFIG`, else the only registered alerter (`$ALERTER_HOME/alerters/NAME.toml`).
//!
//! Values of the form `{{secret_name.key}}` are resolved from the secret store at run time and
//! reach the guest only through the secrets import. `$ALERTER_HOME` defaults to
//! `~/.config/alerter`.

use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::policy::Policy;
use crate::runtime::CallConfig;
use crate::secrets::{parse_reference, Redactor, SecretError, SecretStore};

/// The settings of one alerter: the config file format and a registered alerter's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlerterSpec {
    /// Only `discord` today.
    #[serde(default = "default_flavor")]
    pub flavor: String,
    /// The bot token, ideally a `{{secret.key}}` reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discord_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_discord_channel_id: Option<String>,
    /// Defaults to `https://discord.com/api/v10`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_timeout_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_deadline_seconds: Option<f64>,
    /// Extra hosts (URLs) the component may reach besides the API base.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
}

fn default_flavor() -> String {
    "discord".into()
}

impl Default for AlerterSpec {
    /// The Discord flavor with nothing else set.
    fn default() -> Self {
        AlerterSpec {
            flavor: default_flavor(),
            discord_token: None,
            default_discord_channel_id: None,
            api_base_url: None,
            ask_timeout_seconds: None,
            delivery_deadline_seconds: None,
            allowed_hosts: Vec::new(),
        }
    }
}

/// A configuration problem: exit code 2, nothing sent.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// The alerter home: `$ALERTER_HOME`, else `~/.config/alerter`.
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("ALERTER_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("alerter")
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

/// Registered alerters: `$ALERTER_HOME/alerters/<name>.toml`.
pub struct Registry {
    dir: PathBuf,
}

impl Registry {
    pub fn new(home: &Path) -> Registry {
        Registry {
            dir: home.join("alerters"),
        }
    }

    fn path(&self, name: &str) -> Result<PathBuf, ConfigError> {
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(ConfigError::Invalid(format!(
                "invalid alerter name `{name}`: use letters, digits, `-` and `_`"
            )));
        }
        Ok(self.dir.join(format!("{name}.toml")))
    }

    pub fn save(&self, name: &str, spec: &AlerterSpec) -> Result<(), ConfigError> {
        let path = self.path(name)?;
        let io = |e: std::io::Error| ConfigError::Invalid(format!("{}: {e}", path.display()));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io)?;
        let text = toml::to_string(spec).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        // An existing file keeps its mode on open: it may hold a literal token, force 0600.
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(io)?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(io)
    }

    pub fn load(&self, name: &str) -> Result<AlerterSpec, ConfigError> {
        let path = self.path(name)?;
        if !path.is_file() {
            return Err(ConfigError::Invalid(format!(
                "no alerter `{name}` is registered (see `alerter list`)"
            )));
        }
        load_file(&path)
    }

    pub fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".toml")
                    .map(String::from)
            })
            .collect();
        names.sort();
        names
    }

    pub fn delete(&self, name: &str) -> Result<bool, ConfigError> {
        let path = self.path(name)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ConfigError::Invalid(format!("{}: {e}", path.display()))),
        }
    }
}

/// An alerter ready to call: what the guest gets, and what the host must keep out of output.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub call: CallConfig,
    /// Hides every secret value in anything printed.
    pub redactor: Redactor,
    /// Things the user should know (e.g. a literal token in a file).
    pub warnings: Vec<String>,
    /// The default ask timeout.
    pub ask_timeout: Duration,
}

/// Turn a spec into a call configuration: resolve secret references, apply the environment,
/// and derive the sandbox policy from the API base.
pub fn resolve(
    spec: &AlerterSpec,
    secrets: &SecretStore,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, ConfigError> {
    if spec.flavor != "discord" {
        return Err(ConfigError::Invalid(format!(
            "unknown flavor `{}`: only `discord` is built in (use --component for others)",
            spec.flavor
        )));
    }
    let mut warnings = Vec::new();
    let token =
        match env("ALERTER_DISCORD_TOKEN").filter(|t| !t.trim().is_empty()) {
            Some(t) => t,
            None => match &spec.discord_token {
                Some(v) if parse_reference(v).is_some() => secrets.resolve(v)?,
                Some(v) if !v.trim().is_empty() => {
                    warnings.push(
                        "the Discord token is written in the configuration as plain text; \
                     prefer `alerter secret create` and a {{secret.key}} reference"
                            .into(),
                    );
                    v.clone()
                }
                _ => return Err(ConfigError::Invalid(
                    "no Discord token: set `discord_token` (ideally `{{secret_name.key}}`) in the \
                     configuration, or the environment variable ALERTER_DISCORD_TOKEN"
                        .into(),
                )),
            },
        };
    let mut settings = BTreeMap::new();
    let api_base = env("ALERTER_API_BASE_URL")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| spec.api_base_url.clone())
        .unwrap_or_else(|| "https://discord.com/api/v10".into());
    let mut policy = Policy::for_api_base(&api_base)
        .map_err(|e| ConfigError::Invalid(format!("api_base_url: {e}")))?;
    for h in &spec.allowed_hosts {
        policy
            .allow_url(h)
            .map_err(|e| ConfigError::Invalid(format!("allowed_hosts: {e}")))?;
    }
    settings.insert("api_base_url".to_string(), api_base);
    if let Some(c) = &spec.default_discord_channel_id {
        settings.insert("default_discord_channel_id".into(), c.clone());
    }
    let seconds = |key: &str, v: Option<f64>| -> Result<Option<f64>, ConfigError> {
        match v {
            Some(s) if !(s.is_finite() && s > 0.0 && s <= 31_536_000.0) => {
                Err(ConfigError::Invalid(format!(
                    "`{key}` must be a positive number of seconds (at most a year), got {s}"
                )))
            }
            other => Ok(other),
        }
    };
    let ask_seconds = seconds("ask_timeout_seconds", spec.ask_timeout_seconds)?;
    let deadline_seconds = seconds("delivery_deadline_seconds", spec.delivery_deadline_seconds)?;
    if let Some(s) = ask_seconds {
        settings.insert("ask_timeout_seconds".into(), s.to_string());
    }
    if let Some(s) = deadline_seconds {
        settings.insert("delivery_deadline_seconds".into(), s.to_string());
    }
    let ask_timeout = Duration::from_secs_f64(ask_seconds.unwrap_or(300.0));
    let mut secret_map = BTreeMap::new();
    secret_map.insert("discord_token".to_string(), token);
    let redactor = Redactor::new(secret_map.values());
    Ok(Resolved {
        call: CallConfig {
            settings,
            secrets: secret_map,
            policy: Arc::new(policy),
        },
        redactor,
        warnings,
        ask_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> SecretStore {
        SecretStore::new(Path::new("/nonexistent-alerter-home"))
    }

    #[test]
    fn env_token_beats_the_file_and_literal_tokens_warn() {
        let spec = AlerterSpec {
            flavor: "discord".into(),
            discord_token: Some("file.token".into()),
            default_discord_channel_id: Some("123456789012345678".into()),
            ..AlerterSpec::default()
        };
        let r = resolve(&spec, &store(), &|_| None).unwrap();
        assert_eq!(r.call.secrets["discord_token"], "file.token");
        assert_eq!(r.warnings.len(), 1);
        assert!(!r.call.settings.values().any(|v| v.contains("file.token")));
        let r = resolve(&spec, &store(), &|k| {
            (k == "ALERTER_DISCORD_TOKEN").then(|| "env.token".into())
        })
        .unwrap();
        assert_eq!(r.call.secrets["discord_token"], "env.token");
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn missing_token_and_bad_references_are_config_errors() {
        let spec = AlerterSpec {
            flavor: "discord".into(),
            ..AlerterSpec::default()
        };
        assert!(resolve(&spec, &store(), &|_| None)
            .unwrap_err()
            .to_string()
            .contains("no Discord token"));
        let spec = AlerterSpec {
            discord_token: Some("{{missing.discord_token}}".into()),
            ..spec
        };
        let e = resolve(&spec, &store(), &|_| None).unwrap_err().to_string();
        assert!(e.contains("{{missing.discord_token}}"), "{e}");
    }

    #[test]
    fn out_of_range_seconds_are_config_errors_not_panics() {
        for bad in [f64::INFINITY, f64::NAN, -1.0, 0.0, 1e20] {
            let spec = AlerterSpec {
                discord_token: Some("t.t.t".into()),
                ask_timeout_seconds: Some(bad),
                ..AlerterSpec::default()
            };
            let e = resolve(&spec, &store(), &|_| None).unwrap_err().to_string();
            assert!(e.contains("ask_timeout_seconds"), "{bad}: {e}");
        }
    }

    #[test]
    fn policy_follows_the_api_base() {
        let spec = AlerterSpec {
            flavor: "discord".into(),
            discord_token: Some("t.t.t".into()),
            api_base_url: Some("http://127.0.0.1:4000/api/v10".into()),
            ..AlerterSpec::default()
        };
        let r = resolve(&spec, &store(), &|_| None).unwrap();
        assert_eq!(r.call.policy.allowed_origins, ["http://127.0.0.1:4000"]);
        assert!(
            toml::from_str::<AlerterSpec>("discord_tokn = 'x'").is_err(),
            "typos are rejected"
        );
    }
}
