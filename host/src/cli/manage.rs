//! Commands that manage local state and never start the component: `secret create|list|delete`
//! and `register`, `list`, `describe`, `delete` of registered alerters. Values of secrets are
//! never printed; a literal token in a registered alerter is masked.

use std::collections::BTreeMap;

use alerter_host::config::{self, AlerterSpec};
use alerter_host::registry::Registry;
use alerter_host::SecretStore;

use super::args::{JsonFlag, NameArgs, RegisterArgs, SecretCommand};
use super::{Failure, Outcome};

/// `alerter secret ...`.
pub fn secret(cmd: &SecretCommand) -> Result<Outcome, Failure> {
    let store = SecretStore::new(&config::home());
    match cmd {
        SecretCommand::Create { name, values } => {
            let map = secret_values(values, &mut std::io::stdin().lock())?;
            store.create(name, &map)?;
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            println!("secret {name} saved with keys: {}", keys.join(", "));
        }
        SecretCommand::List(j) => {
            let names = store.list()?;
            if j.json {
                println!("{}", serde_json::json!(names));
            } else {
                for n in names {
                    println!("{n}");
                }
            }
        }
        SecretCommand::Delete { name } => {
            if !store.delete(name)? {
                return Err(Failure::usage(format!("no secret `{name}`")));
            }
            println!("deleted secret {name}");
        }
    }
    Ok(Outcome::Done)
}

/// `--KEY=VALUE` or `--KEY VALUE` pairs after the secret's name; the value `-` is read from
/// `stdin` (one key at most), so it never sits in the process list. A value given on the
/// command line gets a warning saying so.
fn secret_values(
    values: &[String],
    stdin: &mut dyn std::io::BufRead,
) -> Result<BTreeMap<String, String>, Failure> {
    let mut map = BTreeMap::new();
    let mut read_stdin = false;
    let mut it = values.iter().enumerate();
    while let Some((n, arg)) = it.next() {
        // Never echo the argument: it may well be the secret itself.
        let Some(kv) = arg.strip_prefix("--") else {
            return Err(Failure::usage(format!(
                "value {} after the secret's name is not --KEY=VALUE (it is not shown, \
                 since it may be the secret)",
                n + 1
            )));
        };
        let (k, v) = match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => match it.next() {
                Some((_, v)) => (kv.to_string(), v.clone()),
                None => return Err(Failure::usage(format!("--{kv} needs a value"))),
            },
        };
        if k.is_empty() {
            return Err(Failure::usage("an empty secret key"));
        }
        let v = if v == "-" {
            if std::mem::replace(&mut read_stdin, true) {
                return Err(Failure::usage(format!(
                    "--{k} -: only one value can come from stdin"
                )));
            }
            line_from(stdin, &format!("--{k}"))?
        } else {
            eprintln!("warning: {}", argv_warning(&format!("--{k}")));
            v
        };
        map.insert(k, v);
    }
    if map.is_empty() {
        return Err(Failure::usage("give at least one --KEY=VALUE"));
    }
    Ok(map)
}

/// One line from `stdin` without its line ending: the value of `what` given as `-`.
fn line_from(stdin: &mut dyn std::io::BufRead, what: &str) -> Result<String, Failure> {
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("{what} -: cannot read stdin: {e}")))?;
    let value = line.strip_suffix('\n').unwrap_or(&line);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.trim().is_empty() {
        return Err(Failure::usage(format!(
            "{what} -: stdin gave no value (pipe it in, e.g. `printenv TOKEN | alerter ...`)"
        )));
    }
    Ok(value.to_string())
}

/// What to say when a secret value was typed on the command line.
fn argv_warning(flag: &str) -> String {
    format!(
        "the value of {flag} was given on the command line, where other users of this machine \
         can read it (/proc/PID/cmdline) and shells keep it in their history; give `{flag} -` \
         and pipe the value in instead"
    )
}

/// `alerter register NAME --flavor=discord ...`.
pub fn register(r: &RegisterArgs) -> Result<Outcome, Failure> {
    let discord_token = match r.discord_token.as_deref() {
        Some("-") => Some(line_from(&mut std::io::stdin().lock(), "--discord_token")?),
        Some(t) if config::is_plain_token(t) => {
            eprintln!("warning: {}", argv_warning("--discord_token"));
            Some(t.to_string())
        }
        other => other.map(str::to_string),
    };
    // The webhook URL holds a token: the same care as for `--discord_token`.
    let discord_webhook_url = match r.discord_webhook_url.as_deref() {
        Some("-") => Some(line_from(
            &mut std::io::stdin().lock(),
            "--discord_webhook_url",
        )?),
        Some(u) if alerter_host::secrets::parse_reference(u).is_none() => {
            eprintln!("warning: {}", argv_warning("--discord_webhook_url"));
            Some(u.to_string())
        }
        other => other.map(str::to_string),
    };
    let spec = AlerterSpec {
        flavor: r.flavor.clone(),
        discord_token,
        discord_webhook_url,
        default_discord_channel_id: r.default_discord_channel_id.clone(),
        api_base_url: r.api_base_url.clone(),
        ask_timeout_seconds: r.ask_timeout_seconds,
        delivery_deadline_seconds: r.delivery_deadline_seconds,
        max_attachment_bytes: r.max_attachment_bytes,
        long_body_max_parts: r.long_body_max_parts,
        allowed_hosts: r.allowed_hosts.clone(),
    };
    config::check_flavor(&spec.flavor)?;
    if spec
        .discord_token
        .as_deref()
        .is_some_and(config::is_plain_token)
    {
        eprintln!("warning: {}", config::PLAIN_TOKEN_WARNING);
    }
    if spec
        .discord_webhook_url
        .as_deref()
        .is_some_and(|u| alerter_host::secrets::parse_reference(u).is_none())
    {
        eprintln!("warning: {}", config::PLAIN_WEBHOOK_WARNING);
    }
    Registry::new(&config::home()).save(&r.name, &spec)?;
    println!("registered alerter {} (flavor {})", r.name, spec.flavor);
    Ok(Outcome::Done)
}

/// `alerter list`.
pub fn list(j: &JsonFlag) -> Result<Outcome, Failure> {
    let names = Registry::new(&config::home()).list()?;
    if j.json {
        println!("{}", serde_json::json!(names));
    } else if names.is_empty() {
        println!("no alerters registered (see `alerter register --help`)");
    } else {
        for n in &names {
            let default = if names.len() == 1 { "  (default)" } else { "" };
            println!("{n}{default}");
        }
    }
    Ok(Outcome::Done)
}

/// `alerter describe NAME`.
pub fn describe(n: &NameArgs) -> Result<Outcome, Failure> {
    let spec = Registry::new(&config::home()).load(&n.name)?;
    let masked = masked_spec(&spec);
    if n.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&masked).unwrap_or_default()
        );
    } else {
        println!("alerter {}", n.name);
        if let Some(map) = masked.as_object() {
            for (k, v) in map {
                println!(
                    "  {k}: {}",
                    v.as_str().map_or_else(|| v.to_string(), String::from)
                );
            }
        }
    }
    Ok(Outcome::Done)
}

/// `alerter delete NAME`.
pub fn delete(n: &NameArgs) -> Result<Outcome, Failure> {
    if !Registry::new(&config::home()).delete(&n.name)? {
        return Err(Failure::usage(format!(
            "no alerter `{}` is registered",
            n.name
        )));
    }
    println!("deleted alerter {}", n.name);
    Ok(Outcome::Done)
}

/// A spec as JSON with a literal token masked (references are not secret and stay visible).
fn masked_spec(spec: &AlerterSpec) -> serde_json::Value {
    let mut v = serde_json::to_value(spec).unwrap_or_default();
    if spec
        .discord_token
        .as_deref()
        .is_some_and(config::is_plain_token)
    {
        v["discord_token"] = serde_json::json!("********");
    }
    if let Some(w) = spec
        .discord_webhook_url
        .as_deref()
        .filter(|w| alerter_host::secrets::parse_reference(w).is_none())
    {
        v["discord_webhook_url"] = serde_json::json!(alerter_host::policy::redact_webhook(w));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_dash_reads_the_value_from_stdin_without_its_line_ending() {
        let mut stdin: &[u8] = b"tok.en-123\r\nignored\n";
        let map = secret_values(&args(&["--discord_token", "-", "--other=x"]), &mut stdin)
            .unwrap_or_else(|f| panic!("{}", f.message));
        assert_eq!(map["discord_token"], "tok.en-123");
        assert_eq!(map["other"], "x");
        let mut stdin: &[u8] = b"abc";
        let map = secret_values(&args(&["--k=-"]), &mut stdin).ok().unwrap();
        assert_eq!(map["k"], "abc", "no line ending at all is fine");
    }

    #[test]
    fn stdin_gives_one_value_and_must_give_one() {
        let mut stdin: &[u8] = b"a\nb\n";
        let e = secret_values(&args(&["--a", "-", "--b", "-"]), &mut stdin)
            .err()
            .unwrap();
        assert!(e.message.contains("only one value"), "{}", e.message);
        let mut empty: &[u8] = b"\n";
        let e = secret_values(&args(&["--a", "-"]), &mut empty)
            .err()
            .unwrap();
        assert!(e.message.contains("stdin gave no value"), "{}", e.message);
    }
}
