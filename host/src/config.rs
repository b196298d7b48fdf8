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
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use crate::spec::{load_file, AlerterSpec, DISCORD_FLAVOR};

use crate::error::ConfigError;
use crate::policy::Policy;
use crate::registry::Registry;
use crate::runtime::CallConfig;
use crate::secrets::{parse_reference, Redactor, SecretStore};

/// Where Discord's REST API v10 lives unless configured otherwise.
pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";
/// The longest duration any setting or flag accepts: a year, in seconds.
pub const MAX_SECONDS: f64 = 31_536_000.0;
/// The ask timeout when neither the call nor the configuration sets one.
pub const DEFAULT_ASK_TIMEOUT: Duration = Duration::from_secs(300);
/// The bot token; beats `discord_token`.
pub const ENV_TOKEN: &str = "ALERTER_DISCORD_TOKEN";
/// The default channel; beats `default_discord_channel_id`.
pub const ENV_CHANNEL: &str = "ALERTER_DEFAULT_DISCORD_CHANNEL_ID";
/// The API base (and so the egress allow-list); beats `api_base_url`.
pub const ENV_API_BASE: &str = "ALERTER_API_BASE_URL";
/// A channel webhook URL (a secret: it holds the webhook's token); beats `discord_webhook_url`.
pub const ENV_WEBHOOK: &str = "ALERTER_DISCORD_WEBHOOK_URL";
/// Said whenever a literal webhook URL (not a `{{secret.key}}` reference) is configured.
pub const PLAIN_WEBHOOK_WARNING: &str = "the Discord webhook URL is written in the configuration \
     as plain text; prefer `alerter secret create NAME --discord_webhook_url=...` and a \
     {{NAME.discord_webhook_url}} reference";

/// An environment variable's value, unless unset or blank.
fn set(env: &dyn Fn(&str) -> Option<String>, key: &str) -> Option<String> {
    env(key).filter(|v| !v.trim().is_empty())
}

/// Said whenever a literal token (not a `{{secret.key}}` reference) is configured.
pub const PLAIN_TOKEN_WARNING: &str = "the Discord token is written in the configuration as plain \
     text; prefer `alerter secret create NAME --discord_token=...` and a {{NAME.discord_token}} \
     reference";

/// `Ok` for the built-in flavor, else a config error naming the flavor.
pub fn check_flavor(flavor: &str) -> Result<(), ConfigError> {
    if flavor == DISCORD_FLAVOR {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "unknown flavor `{flavor}`: only `{DISCORD_FLAVOR}` is built in (use --component for others)"
        )))
    }
}

/// Whether a configured token is a literal rather than a `{{secret.key}}` reference.
pub fn is_plain_token(token: &str) -> bool {
    parse_reference(token).is_none() && !token.trim().is_empty()
}

/// Validate a duration in seconds (`what` names the setting or flag in the error): finite,
/// positive, at most [`MAX_SECONDS`].
pub fn seconds(what: &str, s: f64) -> Result<Duration, ConfigError> {
    if s.is_finite() && s > 0.0 && s <= MAX_SECONDS {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(ConfigError::Invalid(format!(
            "{what} must be a positive number of seconds (at most a year), got {s}"
        )))
    }
}

/// The alerter home: `$ALERTER_HOME`, else `$XDG_CONFIG_HOME/alerter`, else
/// `~/.config/alerter`.
pub fn home() -> PathBuf {
    home_from(&|k| std::env::var_os(k))
}

/// [`home`] with the environment looked up through `env`.
pub fn home_from(env: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    if let Some(h) = env("ALERTER_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("alerter")
}

/// Which configuration the user chose on the command line (or an embedder on its own).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// `--alerter NAME`.
    pub alerter: Option<String>,
}

/// Pick the one source of settings, by precedence: `--config FILE`, else `--alerter NAME`,
/// else the file named by `ALERTER_CONFIG` (looked up through `env`), else the only alerter
/// registered under `home`. Nothing is merged between sources.
pub fn load(
    selection: &Selection,
    home: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AlerterSpec, ConfigError> {
    let from_env = || {
        env("ALERTER_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let file = match (&selection.config_file, &selection.alerter) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(_)) => None,
        (None, None) => from_env(),
    };
    let registry = Registry::new(home);
    match (file, &selection.alerter) {
        (Some(path), _) => load_file(&path),
        (None, Some(name)) => registry.load(name),
        (None, None) => match registry.list()?.as_slice() {
            [one] => registry.load(one),
            // Nothing chosen and nothing registered: the environment alone (CI) is enough.
            [] if set(env, ENV_TOKEN).is_some() || set(env, ENV_WEBHOOK).is_some() => {
                Ok(AlerterSpec {
                    flavor: DISCORD_FLAVOR.into(),
                    ..AlerterSpec::default()
                })
            }
            [] => Err(ConfigError::Invalid(
                "no configuration: pass --config FILE (or ALERTER_CONFIG), register an \
                 alerter with `alerter register NAME --flavor=discord ...`, or set \
                 ALERTER_DISCORD_TOKEN and ALERTER_DEFAULT_DISCORD_CHANNEL_ID"
                    .into(),
            )),
            names => Err(ConfigError::Invalid(format!(
                "several alerters are registered ({}); choose one with --alerter NAME",
                names.join(", ")
            ))),
        },
    }
}

/// An alerter ready to call: what the guest gets, and what the host must keep out of output.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// What the component gets: settings, secrets and the sandbox policy.
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
    check_flavor(&spec.flavor)?;
    let mut warnings = Vec::new();
    let webhook = match set(env, ENV_WEBHOOK) {
        Some(u) => Some(u.trim().to_string()),
        None => match &spec.discord_webhook_url {
            Some(v) if parse_reference(v).is_some() => Some(secrets.resolve(v)?.trim().to_string()),
            Some(v) if !v.trim().is_empty() => {
                warnings.push(PLAIN_WEBHOOK_WARNING.into());
                Some(v.trim().to_string())
            }
            _ => None,
        },
    };
    let token =
        match set(env, ENV_TOKEN) {
            Some(t) => Some(t),
            None => match &spec.discord_token {
                Some(v) if parse_reference(v).is_some() => Some(secrets.resolve(v)?),
                Some(v) if is_plain_token(v) => {
                    warnings.push(PLAIN_TOKEN_WARNING.into());
                    Some(v.clone())
                }
                // A webhook alone can post (not ask): the flavor says so when asked to.
                _ if webhook.is_some() => None,
                _ => return Err(ConfigError::Invalid(
                    "no Discord token: set `discord_token` (ideally `{{secret_name.key}}`) in the \
                     configuration, or the environment variable ALERTER_DISCORD_TOKEN (or, to \
                     post only, a channel webhook: `discord_webhook_url`)"
                        .into(),
                )),
            },
        };
    let mut settings = BTreeMap::new();
    let api_base = set(env, ENV_API_BASE)
        .or_else(|| spec.api_base_url.clone())
        .unwrap_or_else(|| DEFAULT_API_BASE.into());
    let mut policy = Policy::for_api_base(&api_base)
        .map_err(|e| ConfigError::Invalid(format!("api_base_url: {e}")))?;
    if let Some(w) = &webhook {
        // The webhook's host joins the allow-list. Its URL is a secret: errors show it redacted.
        policy.allow_secret_url(w).map_err(|_| {
            ConfigError::Invalid(format!(
                "discord_webhook_url: {} is not an https:// URL (http:// only to a loopback \
                     host) without a user name",
                crate::policy::redact_webhook(w)
            ))
        })?;
    }
    for h in &spec.allowed_hosts {
        policy
            .allow_url(h)
            .map_err(|e| ConfigError::Invalid(format!("allowed_hosts: {e}")))?;
    }
    settings.insert("api_base_url".to_string(), api_base);
    if let Some(c) = set(env, ENV_CHANNEL).or_else(|| spec.default_discord_channel_id.clone()) {
        settings.insert("default_discord_channel_id".into(), c);
    }
    // A duration setting, validated, handed to the guest as it was written.
    let mut duration = |key: &str, value: Option<f64>| -> Result<Option<Duration>, ConfigError> {
        let Some(s) = value else { return Ok(None) };
        let d = seconds(&format!("`{key}`"), s)?;
        settings.insert(key.into(), s.to_string());
        Ok(Some(d))
    };
    let ask_timeout =
        duration("ask_timeout_seconds", spec.ask_timeout_seconds)?.unwrap_or(DEFAULT_ASK_TIMEOUT);
    duration("delivery_deadline_seconds", spec.delivery_deadline_seconds)?;
    // Counts are checked by the flavor, which knows Discord's limits.
    if let Some(n) = spec.max_attachment_bytes {
        settings.insert("max_attachment_bytes".into(), n.to_string());
    }
    if let Some(n) = spec.long_body_max_parts {
        settings.insert("long_body_max_parts".into(), n.to_string());
    }
    let mut secret_map = BTreeMap::new();
    if let Some(t) = token {
        secret_map.insert("discord_token".to_string(), t);
    }
    if let Some(w) = webhook {
        secret_map.insert("discord_webhook_url".to_string(), w);
    }
    // Hides a webhook URL's bare token too (see `Redactor::new`).
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
    fn a_clear_text_webhook_is_refused_without_showing_its_token() {
        let spec = AlerterSpec {
            discord_webhook_url: Some(
                "http://example.com/api/webhooks/123456789012345678/hook-SECRET".into(),
            ),
            ..AlerterSpec::default()
        };
        let e = resolve(&spec, &store(), &|_| None).unwrap_err().to_string();
        assert!(
            e.starts_with("discord_webhook_url:") || e.contains("discord_webhook_url: "),
            "{e}"
        );
        assert!(!e.contains("SECRET"), "{e}");
        let local = AlerterSpec {
            discord_webhook_url: Some(
                "http://127.0.0.1:9/api/v10/webhooks/123456789012345678/hook-SECRET".into(),
            ),
            ..AlerterSpec::default()
        };
        let r = resolve(&local, &store(), &|_| None).unwrap();
        assert!(r
            .call
            .policy
            .allows(&"http://127.0.0.1:9/x".parse().unwrap()));
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
    fn a_blank_configured_token_is_no_token() {
        let spec = AlerterSpec {
            discord_token: Some("   ".into()),
            ..AlerterSpec::default()
        };
        let e = resolve(&spec, &store(), &|_| None).unwrap_err().to_string();
        assert!(e.contains("no Discord token"), "{e}");
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

    #[test]
    fn only_the_discord_flavor_is_built_in() {
        assert!(check_flavor("discord").is_ok());
        let e = check_flavor("slack").unwrap_err().to_string();
        assert!(e.contains("unknown flavor `slack`"), "{e}");
        let spec = AlerterSpec {
            flavor: "slack".into(),
            discord_token: Some("t.t.t".into()),
            ..AlerterSpec::default()
        };
        assert!(resolve(&spec, &store(), &|_| None).is_err());
    }

    #[test]
    fn literal_tokens_are_told_from_references() {
        assert!(is_plain_token("abc.def.ghi"));
        assert!(!is_plain_token("{{discord_secret.discord_token}}"));
        assert!(!is_plain_token("   "));
        assert!(!is_plain_token(""));
    }

    #[test]
    fn seconds_accept_exactly_the_range_up_to_a_year() {
        assert_eq!(seconds("x", 0.25).unwrap(), Duration::from_millis(250));
        assert_eq!(
            seconds("x", MAX_SECONDS).unwrap(),
            Duration::from_secs(31_536_000)
        );
        for bad in [0.0, -0.5, MAX_SECONDS + 1.0, f64::NAN, f64::INFINITY] {
            let e = seconds("`t`", bad).unwrap_err().to_string();
            assert!(e.starts_with("`t` must be a positive"), "{bad}: {e}");
        }
    }

    #[test]
    fn settings_reach_the_guest_and_the_ask_timeout_follows_its_key_only() {
        let spec = AlerterSpec {
            discord_token: Some("t.t.t".into()),
            default_discord_channel_id: Some("123456789012345678".into()),
            delivery_deadline_seconds: Some(12.5),
            ..AlerterSpec::default()
        };
        let r = resolve(&spec, &store(), &|_| None).unwrap();
        assert_eq!(
            r.ask_timeout, DEFAULT_ASK_TIMEOUT,
            "the deadline is not the ask timeout"
        );
        assert_eq!(r.call.settings["delivery_deadline_seconds"], "12.5");
        assert_eq!(r.call.settings["api_base_url"], DEFAULT_API_BASE);
        assert_eq!(
            r.call.settings["default_discord_channel_id"],
            "123456789012345678"
        );
        assert!(!r.call.settings.contains_key("ask_timeout_seconds"));
        let spec = AlerterSpec {
            ask_timeout_seconds: Some(90.0),
            ..spec
        };
        let r = resolve(&spec, &store(), &|_| None).unwrap();
        assert_eq!(r.ask_timeout, Duration::from_secs(90));
        assert_eq!(r.call.settings["ask_timeout_seconds"], "90");
        // The environment's API base wins, and a blank one is ignored.
        let env = |k: &str| (k == "ALERTER_API_BASE_URL").then(|| "http://127.0.0.1:9/api".into());
        let r = resolve(&spec, &store(), &env).unwrap();
        assert_eq!(r.call.settings["api_base_url"], "http://127.0.0.1:9/api");
        let blank = |k: &str| (k == "ALERTER_API_BASE_URL").then(|| "  ".into());
        let r = resolve(&spec, &store(), &blank).unwrap();
        assert_eq!(r.call.settings["api_base_url"], DEFAULT_API_BASE);
    }

    #[test]
    fn a_blank_env_token_falls_back_to_the_configured_one() {
        let spec = AlerterSpec {
            discord_token: Some("file.token".into()),
            ..AlerterSpec::default()
        };
        let env = |k: &str| (k == "ALERTER_DISCORD_TOKEN").then(|| " ".into());
        let r = resolve(&spec, &store(), &env).unwrap();
        assert_eq!(r.call.secrets["discord_token"], "file.token");
        assert_eq!(r.redactor.redact("Bot file.token"), "Bot [redacted]");
    }

    #[test]
    fn the_home_follows_alerter_home_then_xdg_then_home() {
        const ALL: &[(&str, &str)] = &[
            ("ALERTER_HOME", "/a"),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/h"),
        ];
        const NO_ALERTER: &[(&str, &str)] = &[
            ("ALERTER_HOME", ""),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/h"),
        ];
        const HOME_ONLY: &[(&str, &str)] = &[("HOME", "/h")];
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert_eq!(home_from(&env(ALL)), PathBuf::from("/a"));
        assert_eq!(home_from(&env(NO_ALERTER)), PathBuf::from("/x/alerter"));
        assert_eq!(
            home_from(&env(HOME_ONLY)),
            PathBuf::from("/h/.config/alerter")
        );
        assert_eq!(home_from(&env(&[])), PathBuf::from("./alerter"));
    }

    /// A fresh alerter home with the given registered alerters and a config file.
    fn home_with(tag: &str, registered: &[&str]) -> (PathBuf, PathBuf) {
        let home = std::env::temp_dir().join(format!("alerter-load-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        let registry = Registry::new(&home);
        for name in registered {
            let spec = AlerterSpec {
                default_discord_channel_id: Some(format!("{name}-channel")),
                ..AlerterSpec::default()
            };
            registry.save(name, &spec).unwrap();
        }
        let file = home.join("file.toml");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(&file, "default_discord_channel_id = 'file-channel'\n").unwrap();
        (home, file)
    }

    fn channel_of(r: Result<AlerterSpec, ConfigError>) -> String {
        match r {
            Ok(spec) => spec.default_discord_channel_id.unwrap_or_default(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn one_source_is_chosen_by_precedence() {
        let (home, file) = home_with("precedence", &["one"]);
        let env_file = file.display().to_string();
        let with_env = move |k: &str| (k == "ALERTER_CONFIG").then(|| env_file.clone());
        let no_env = |_: &str| None;
        let sel = |config_file: Option<&Path>, alerter: Option<&str>| Selection {
            config_file: config_file.map(Path::to_path_buf),
            alerter: alerter.map(String::from),
        };
        // --config beats --alerter and the environment.
        let r = load(&sel(Some(&file), Some("one")), &home, &with_env);
        assert_eq!(channel_of(r), "file-channel");
        // --alerter beats ALERTER_CONFIG.
        let r = load(&sel(None, Some("one")), &home, &with_env);
        assert_eq!(channel_of(r), "one-channel");
        // ALERTER_CONFIG beats the only registered alerter.
        let r = load(&sel(None, None), &home, &with_env);
        assert_eq!(channel_of(r), "file-channel");
        // Else the only registered alerter; an empty ALERTER_CONFIG counts as unset.
        assert_eq!(
            channel_of(load(&sel(None, None), &home, &no_env)),
            "one-channel"
        );
        let empty = |k: &str| (k == "ALERTER_CONFIG").then(String::new);
        assert_eq!(
            channel_of(load(&sel(None, None), &home, &empty)),
            "one-channel"
        );
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn the_environment_alone_is_a_configuration_when_nothing_else_is_there() {
        let (home, _) = home_with("env-only", &[]);
        let env = |k: &str| match k {
            ENV_TOKEN => Some("env.token".to_string()),
            ENV_CHANNEL => Some("223456789012345678".to_string()),
            _ => None,
        };
        let spec = load(&Selection::default(), &home, &env).expect("env is enough");
        let r = resolve(&spec, &store(), &env).expect("resolves");
        assert_eq!(r.call.secrets["discord_token"], "env.token");
        assert_eq!(
            r.call.settings["default_discord_channel_id"],
            "223456789012345678"
        );
        assert!(r.warnings.is_empty());
        // A blank token is no token: still "no configuration".
        let blank = |k: &str| (k == ENV_TOKEN).then(|| " ".to_string());
        let e = channel_of(load(&Selection::default(), &home, &blank));
        assert!(e.contains("ALERTER_DEFAULT_DISCORD_CHANNEL_ID"), "{e}");
        // The channel variable also beats a configured channel.
        let (home2, file) = home_with("env-channel", &["one"]);
        let spec = load_file(&file).unwrap();
        let r = resolve(&spec, &store(), &env).unwrap();
        assert_eq!(
            r.call.settings["default_discord_channel_id"],
            "223456789012345678"
        );
        let _ = std::fs::remove_dir_all(&home);
        let _ = std::fs::remove_dir_all(&home2);
    }

    #[test]
    fn no_or_several_registered_alerters_need_a_choice() {
        let no_env = |_: &str| None;
        let (home, _) = home_with("none", &[]);
        let e = channel_of(load(&Selection::default(), &home, &no_env));
        assert!(e.contains("no configuration"), "{e}");
        let (home2, _) = home_with("several", &["a", "b"]);
        let e = channel_of(load(&Selection::default(), &home2, &no_env));
        assert!(e.contains("several alerters are registered (a, b)"), "{e}");
        let e = channel_of(load(
            &Selection {
                alerter: Some("c".into()),
                ..Selection::default()
            },
            &home2,
            &no_env,
        ));
        assert!(e.contains("no alerter `c`"), "{e}");
        let _ = std::fs::remove_dir_all(&home);
        let _ = std::fs::remove_dir_all(&home2);
    }
}
