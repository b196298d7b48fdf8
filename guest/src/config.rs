//! The flavor's settings, read from `wasi:config/store` keys and the `discord_token` secret.
//!
//! Parsing is pure: [`Settings::from_lookup`] takes any key -> value function, so the rules are
//! tested natively and the WASI layer only supplies the lookup.

use crate::bindings::AlertError;

/// Where Discord's REST API v10 lives unless config says otherwise.
pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";
/// Default wait for an answer to `ask` (ZenML's Slack flavor uses the same 300 s).
pub const DEFAULT_ASK_TIMEOUT_MS: u64 = 300_000;
/// Default bound on one delivery, retries and rate-limit waits included.
pub const DEFAULT_DELIVERY_DEADLINE_MS: u64 = 30_000;

/// The longest duration a setting accepts: a year, in seconds (the host checks the same).
pub const MAX_SECONDS: f64 = 31_536_000.0;

/// Config keys the flavor reads.
pub mod keys {
    /// The channel used when a call names none.
    pub const DEFAULT_CHANNEL: &str = "default_discord_channel_id";
    /// Where the REST API lives (tests point it at the emulator).
    pub const API_BASE: &str = "api_base_url";
    /// How long `ask` waits for an answer, in seconds.
    pub const ASK_TIMEOUT: &str = "ask_timeout_seconds";
    /// How long one delivery may take, retries and rate-limit waits included, in seconds.
    pub const DELIVERY_DEADLINE: &str = "delivery_deadline_seconds";
    /// Largest file, in bytes, an alert may carry (Discord's default: 10 MiB).
    pub const MAX_ATTACHMENT_BYTES: &str = "max_attachment_bytes";
    /// A body that would need more messages than this is sent as an excerpt and a file; 0
    /// splits it into as many messages as it takes.
    pub const LONG_BODY_MAX_PARTS: &str = "long_body_max_parts";
    /// The secret (not config) key of the bot token.
    pub const TOKEN: &str = "discord_token";
    /// The secret key of a channel webhook URL (it holds the webhook's token).
    pub const WEBHOOK_URL: &str = "discord_webhook_url";
}

/// Everything the flavor needs from its host except the token.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// API base without a trailing slash, e.g. `https://discord.com/api/v10`.
    pub api_base: String,
    /// The channel used when a call names none.
    pub default_channel: Option<String>,
    /// How long `ask` waits when the call does not say.
    pub ask_timeout_ms: u64,
    /// Bound on one delivery, retries and rate-limit waits included.
    pub delivery_deadline_ms: u64,
    /// Largest file an alert may carry, in bytes.
    pub max_attachment_bytes: u64,
    /// Most messages a long body is split into before it is sent as a file instead (0: never).
    pub long_body_max_parts: usize,
}

/// Messages a long body may take before it becomes a file, when the setting is not given.
pub const DEFAULT_LONG_BODY_MAX_PARTS: usize = 3;

impl Settings {
    /// Read settings through `get`, which returns `Ok(None)` for a key that is not set.
    pub fn from_lookup(
        get: impl Fn(&str) -> Result<Option<String>, String>,
    ) -> Result<Settings, AlertError> {
        let read = |key: &str| -> Result<Option<String>, AlertError> {
            get(key)
                .map(|v| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
                .map_err(|e| AlertError::InvalidConfig(format!("cannot read config `{key}`: {e}")))
        };
        let api_base = match read(keys::API_BASE)? {
            Some(url) => validate_api_base(&url)?,
            None => DEFAULT_API_BASE.to_string(),
        };
        Ok(Settings {
            api_base,
            default_channel: read(keys::DEFAULT_CHANNEL)?,
            ask_timeout_ms: seconds_ms(keys::ASK_TIMEOUT, read(keys::ASK_TIMEOUT)?)?
                .unwrap_or(DEFAULT_ASK_TIMEOUT_MS),
            delivery_deadline_ms: seconds_ms(
                keys::DELIVERY_DEADLINE,
                read(keys::DELIVERY_DEADLINE)?,
            )?
            .unwrap_or(DEFAULT_DELIVERY_DEADLINE_MS),
            max_attachment_bytes: count(
                keys::MAX_ATTACHMENT_BYTES,
                read(keys::MAX_ATTACHMENT_BYTES)?,
                1,
                crate::render::files::MAX_REQUEST_BYTES,
            )?
            .unwrap_or(crate::render::files::DEFAULT_MAX_FILE_BYTES),
            long_body_max_parts: count(
                keys::LONG_BODY_MAX_PARTS,
                read(keys::LONG_BODY_MAX_PARTS)?,
                0,
                100,
            )?
            .map_or(DEFAULT_LONG_BODY_MAX_PARTS, |n| n as usize),
        })
    }
}

/// A whole-number setting in `min..=max`, if set and valid.
fn count(key: &str, value: Option<String>, min: u64, max: u64) -> Result<Option<u64>, AlertError> {
    let Some(value) = value else { return Ok(None) };
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(AlertError::InvalidConfig(format!(
            "`{key}` must be a whole number from {min} to {max}, got `{value}`"
        ))),
    }
}

fn validate_api_base(url: &str) -> Result<String, AlertError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            AlertError::InvalidConfig(format!(
                "`{}` must start with https:// or http://, got `{url}`",
                keys::API_BASE
            ))
        })?;
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AlertError::InvalidConfig(format!(
            "`{}` is not a valid URL: `{url}`",
            keys::API_BASE
        )));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// A duration setting in whole milliseconds, if set and valid.
fn seconds_ms(key: &str, value: Option<String>) -> Result<Option<u64>, AlertError> {
    let Some(value) = value else { return Ok(None) };
    match value.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= MAX_SECONDS => Ok(Some((s * 1000.0) as u64)),
        _ => Err(AlertError::InvalidConfig(format!(
            "`{key}` must be a positive number of seconds, got `{value}`"
        ))),
    }
}

/// A channel webhook: where its API lives and the path that posts through it.
#[derive(Clone, PartialEq)]
pub struct Webhook {
    /// Origin and API prefix, e.g. `https://discord.com/api/v10`.
    pub base: String,
    /// `/webhooks/{id}/{token}`.
    pub path: String,
    /// The webhook's id (not secret).
    pub id: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({}/webhooks/{}/[redacted])", self.base, self.id)
    }
}

/// Read a webhook URL as Discord shows it (`https://discord.com/api/webhooks/ID/TOKEN`, also
/// with `discordapp.com`, `canary.` or `ptb.`, or `/api/v10/...`). Errors never show the token.
pub fn parse_webhook(url: &str) -> Result<Webhook, AlertError> {
    let url = url.trim();
    let bad = |why: &str| {
        AlertError::InvalidConfig(format!(
            "`{}` is not a Discord webhook URL (https://discord.com/api/webhooks/ID/TOKEN): {why}",
            keys::WEBHOOK_URL
        ))
    };
    if let Some(rest) = url.strip_prefix("http://") {
        // Plain http only to this machine (the emulator, a local proxy): the URL is a secret.
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host == "[::1]"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(bad(
                "plain http:// would send its token unencrypted: use https://",
            ));
        }
    } else if !url.starts_with("https://") {
        return Err(bad("it must start with https://"));
    }
    let Some((prefix, rest)) = url.split_once("/webhooks/") else {
        return Err(bad("no /webhooks/ in it"));
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let mut segments = rest.split('/');
    let (id, token) = (segments.next().unwrap_or(""), segments.next().unwrap_or(""));
    if segments.any(|s| !s.is_empty()) {
        return Err(bad("extra path after the token"));
    }
    if !crate::snowflake::is_valid(id) {
        return Err(bad("the webhook id is not a Discord id"));
    }
    let token_ok = !token.is_empty()
        && token.len() <= 200
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !token_ok {
        return Err(bad(
            "the token part is missing or has characters a token never has",
        ));
    }
    let base = if prefix.ends_with("/api") {
        format!("{prefix}/v10")
    } else {
        prefix.to_string()
    };
    Ok(Webhook {
        base,
        path: format!("/webhooks/{id}/{token}"),
        id: id.to_string(),
    })
}

/// Check a bot token before it goes into a header. The error never contains the token.
pub fn validate_token(token: &str) -> Result<&str, AlertError> {
    let token = token.trim();
    let token = token.strip_prefix("Bot ").unwrap_or(token).trim();
    if token.is_empty() {
        return Err(AlertError::InvalidConfig(format!(
            "the secret `{}` is empty",
            keys::TOKEN
        )));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AlertError::InvalidConfig(format!(
            "the secret `{}` contains spaces or control characters; it is not a bot token",
            keys::TOKEN
        )));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, AlertError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| Ok(map.get(k).cloned()))
    }

    #[test]
    fn webhook_urls_in_every_form_discord_shows() {
        let id = "123456789012345678";
        for (url, base) in [
            (
                "https://discord.com/api/webhooks/ID/tok_en-1",
                "https://discord.com/api/v10",
            ),
            (
                "https://discordapp.com/api/webhooks/ID/tok_en-1",
                "https://discordapp.com/api/v10",
            ),
            (
                "https://ptb.discord.com/api/v10/webhooks/ID/tok_en-1?wait=true",
                "https://ptb.discord.com/api/v10",
            ),
            (
                "http://127.0.0.1:5000/api/v10/webhooks/ID/tok_en-1/",
                "http://127.0.0.1:5000/api/v10",
            ),
        ] {
            let w = parse_webhook(&url.replace("ID", id)).unwrap();
            assert_eq!(w.base, base, "{url}");
            assert_eq!(w.path, format!("/webhooks/{id}/tok_en-1"));
            assert!(!format!("{w:?}").contains("tok_en"), "{w:?}");
        }
        for bad in [
            "discord.com/api/webhooks/123456789012345678/secrettoken",
            "https://discord.com/api/channels/1",
            "https://discord.com/api/webhooks/general/secrettoken",
            "https://discord.com/api/webhooks/123456789012345678/",
            "https://discord.com/api/webhooks/123456789012345678/secret token",
            "https://discord.com/api/webhooks/123456789012345678/secrettoken/extra",
            "http://discord.com/api/webhooks/123456789012345678/secrettoken",
            "http://127.0.0.1.evil.example/api/webhooks/123456789012345678/secrettoken",
        ] {
            match parse_webhook(bad) {
                Err(AlertError::InvalidConfig(m)) => assert!(!m.contains("secret"), "{m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.api_base, DEFAULT_API_BASE);
        assert_eq!(s.default_channel, None);
        assert_eq!(s.ask_timeout_ms, 300_000);
        assert_eq!(s.delivery_deadline_ms, 30_000);
        assert_eq!(s.max_attachment_bytes, 10 << 20);
        assert_eq!(s.long_body_max_parts, 3);
    }

    #[test]
    fn counts_are_whole_numbers_in_range() {
        let s = settings(&[
            ("max_attachment_bytes", "26214400"),
            ("long_body_max_parts", "0"),
        ])
        .unwrap();
        assert_eq!(
            (s.max_attachment_bytes, s.long_body_max_parts),
            (25 << 20, 0)
        );
        for (k, v) in [
            ("max_attachment_bytes", "0"),
            ("max_attachment_bytes", "26214401"),
            ("max_attachment_bytes", "1.5"),
            ("long_body_max_parts", "101"),
            ("long_body_max_parts", "-1"),
        ] {
            match settings(&[(k, v)]) {
                Err(AlertError::InvalidConfig(m)) => assert!(m.contains(k) && m.contains(v), "{m}"),
                other => panic!("{k}={v}: {other:?}"),
            }
        }
    }

    #[test]
    fn reads_every_key_and_trims_the_base() {
        let s = settings(&[
            ("api_base_url", "http://127.0.0.1:5000/api/v10/"),
            ("default_discord_channel_id", " 123456789012345678 "),
            ("ask_timeout_seconds", "1.5"),
            ("delivery_deadline_seconds", "10"),
        ])
        .unwrap();
        assert_eq!(s.api_base, "http://127.0.0.1:5000/api/v10");
        assert_eq!(s.default_channel.as_deref(), Some("123456789012345678"));
        assert_eq!(s.ask_timeout_ms, 1500);
        assert_eq!(s.delivery_deadline_ms, 10_000);
    }

    #[test]
    fn rejects_bad_values_naming_the_key() {
        for (key, value) in [
            ("api_base_url", "ftp://x"),
            ("api_base_url", "https:///nohost"),
            ("ask_timeout_seconds", "-1"),
            ("delivery_deadline_seconds", "soon"),
        ] {
            match settings(&[(key, value)]) {
                Err(AlertError::InvalidConfig(msg)) => assert!(msg.contains(key), "{msg}"),
                other => panic!("{key}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn lookup_failures_are_config_errors() {
        let err = Settings::from_lookup(|_| Err("store down".into())).unwrap_err();
        assert!(matches!(err, AlertError::InvalidConfig(m) if m.contains("store down")));
    }

    #[test]
    fn token_checks_never_echo_the_token() {
        assert_eq!(validate_token(" Bot abc.def ").unwrap(), "abc.def");
        for bad in ["", "  ", "abc def", "abc\ndef"] {
            match validate_token(bad) {
                Err(AlertError::InvalidConfig(msg)) => {
                    assert!(bad.trim().is_empty() || !msg.contains(bad.trim()), "{msg}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn api_bases_with_spaces_or_control_characters_are_rejected() {
        for bad in ["http://a b/api", "http://a/\u{7}api", "https://x/a\tpi"] {
            let e = settings(&[(keys::API_BASE, bad)]).unwrap_err();
            assert!(
                matches!(e, AlertError::InvalidConfig(m) if m.contains("not a valid URL")),
                "{bad}"
            );
        }
        assert!(settings(&[(keys::API_BASE, "http://127.0.0.1:1/api/v10")]).is_ok());
    }

    #[test]
    fn durations_must_be_positive_and_at_most_a_year() {
        for bad in ["0", "-1", "31536001", "NaN", "inf", "soon"] {
            assert!(settings(&[(keys::ASK_TIMEOUT, bad)]).is_err(), "{bad}");
        }
        let s = settings(&[
            (keys::ASK_TIMEOUT, "31536000"),
            (keys::DELIVERY_DEADLINE, "0.5"),
        ])
        .unwrap();
        assert_eq!(s.ask_timeout_ms, 31_536_000_000);
        assert_eq!(s.delivery_deadline_ms, 500);
    }
}
