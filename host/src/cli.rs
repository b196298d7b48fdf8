//! Argument definitions and command handlers for the `alerter` binary.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use alerter::config::{self, AlerterSpec, Registry, Resolved};
use alerter::types::{
    AlertError, AlerterMessage, AnswerVia, AskSettings, Decision, Message, MetadataEntry,
    MetadataValue, Params, Payload, Severity,
};
use alerter::{exit, CallError, ExceptionInfo, Redactor, RunContext, Runtime, SecretStore};
use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  alerter demo                                   # everything, against a built-in Discord emulator
  alerter secret create discord_secret --discord_token=...
  alerter register discord_alerter --flavor=discord \\
      --discord_token={{discord_secret.discord_token}} --default_discord_channel_id=123456789012345678
  alerter post --title 'Training finished' --body 'accuracy 0.93' --meta epoch=12
  alerter ask --title 'Deploy to prod?' --timeout 600 --approver-role 987654321098765432
  alerter hook failure --pipeline training --run run-42 --traceback-file trace.txt";

/// Send alerts to Discord and gate pipelines on a human's approval, from a wasm sandbox.
#[derive(Parser)]
#[command(name = "alerter", version, after_help = EXAMPLES)]
struct Cli {
    /// Config file (TOML: discord_token, default_discord_channel_id, api_base_url, ...).
    /// Default: $ALERTER_CONFIG, unless --alerter is given.
    #[arg(long, global = true, conflicts_with = "alerter")]
    config: Option<PathBuf>,
    /// A registered alerter to use (default: the only one registered).
    #[arg(long, global = true)]
    alerter: Option<String>,
    /// Load another flavor component instead of the built-in Discord one.
    #[arg(long, global = true)]
    component: Option<PathBuf>,
    /// Log what happens (secrets redacted) to stderr.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Post an alert.
    #[command(
        after_help = "Example:\n  alerter post --title 'Nightly ETL failed' --body-file log.txt --severity error --mention-role 123456789012345678"
    )]
    Post(PostArgs),
    /// Post a question and wait for approve / disapprove (exit 0 approved, 1 disapproved, 4 timed out).
    #[command(
        after_help = "Example:\n  alerter ask --title 'Promote model v7?' --timeout 900 --approver 123456789012345678 --json"
    )]
    Ask(AskArgs),
    /// ZenML-style success / failure notifications for a pipeline run.
    #[command(
        after_help = "Example:\n  alerter hook failure --pipeline training --run run-42 --step trainer \\\n      --exception-type ValueError --exception-message 'loss is NaN' --traceback-file -"
    )]
    Hook(HookArgs),
    /// Serve the Discord REST emulator on 127.0.0.1 until interrupted.
    #[command(after_help = "Example:\n  alerter emulator --port 8765")]
    Emulator(EmulatorArgs),
    /// Run the whole thing against an in-process emulator: no Discord needed.
    Demo,
    /// Validate the token and the channel without posting; says what to fix.
    #[command(
        after_help = "Example:\n  alerter --alerter discord_alerter check --channel 123456789012345678"
    )]
    Check(CheckArgs),
    /// Manage secrets (stored 0600 under $ALERTER_HOME/secrets; values are never printed).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Register an alerter (ZenML-style): `--flavor=discord --discord_token={{secret.key}} ...`.
    #[command(
        after_help = "Example:\n  alerter register discord_alerter --flavor=discord \\\n      --discord_token={{discord_secret.discord_token}} --default_discord_channel_id=123456789012345678"
    )]
    Register(RegisterArgs),
    /// List registered alerters.
    List(JsonFlag),
    /// Show a registered alerter (secrets masked).
    Describe(NameArgs),
    /// Delete a registered alerter.
    Delete(NameArgs),
    /// Print the WIT contract the component implements.
    Wit(WitArgs),
}

#[derive(Args)]
struct JsonFlag {
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct NameArgs {
    name: String,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// Channel to check (default: the configured default_discord_channel_id).
    #[arg(long)]
    channel: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct WitArgs {
    /// Print the component's imports instead (one per line).
    #[arg(long)]
    imports: bool,
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Create or replace a secret: `alerter secret create NAME --KEY=VALUE...`.
    #[command(
        after_help = "Example:\n  alerter secret create discord_secret --discord_token=\"$TOKEN\""
    )]
    Create {
        name: String,
        /// `--KEY=VALUE` pairs.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "--KEY=VALUE"
        )]
        values: Vec<String>,
    },
    /// List secret names (never values).
    List(JsonFlag),
    /// Delete a secret.
    Delete { name: String },
}

#[derive(Args)]
struct RegisterArgs {
    name: String,
    #[arg(long, default_value = "discord")]
    flavor: String,
    /// Bot token; use a `{{secret_name.key}}` reference (a literal is stored with a warning).
    #[arg(long = "discord_token", alias = "discord-token")]
    discord_token: Option<String>,
    #[arg(
        long = "default_discord_channel_id",
        alias = "default-discord-channel-id"
    )]
    default_discord_channel_id: Option<String>,
    #[arg(long = "api_base_url", alias = "api-base-url")]
    api_base_url: Option<String>,
    #[arg(long = "ask_timeout_seconds", alias = "ask-timeout-seconds")]
    ask_timeout_seconds: Option<f64>,
    #[arg(
        long = "delivery_deadline_seconds",
        alias = "delivery-deadline-seconds"
    )]
    delivery_deadline_seconds: Option<f64>,
    /// Another host the component may reach (repeatable).
    #[arg(long = "allowed_host", alias = "allowed-host", value_name = "URL")]
    allowed_hosts: Vec<String>,
}

#[derive(Args, Clone)]
struct MessageArgs {
    /// Channel id (default: the configured default_discord_channel_id).
    #[arg(long)]
    channel: Option<String>,
    /// Title (makes the message structured: a Discord embed).
    #[arg(long)]
    title: Option<String>,
    /// Body text.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Read the body from a file, or `-` for stdin.
    #[arg(long, value_name = "PATH|-")]
    body_file: Option<PathBuf>,
    /// Metadata KEY=VALUE (repeatable; numbers, true/false and JSON are typed).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    meta: Vec<String>,
    /// Image URL (repeatable).
    #[arg(long = "image", value_name = "URL")]
    images: Vec<String>,
    /// Colour and tone.
    #[arg(long, value_enum)]
    severity: Option<SeverityArg>,
    /// A user id to ping (repeatable). Nobody else is ever pinged.
    #[arg(long = "mention-user", value_name = "ID")]
    mention_users: Vec<String>,
    /// A role id to ping (repeatable), e.g. the on-call role.
    #[arg(long = "mention-role", value_name = "ID")]
    mention_roles: Vec<String>,
    /// ZenML payload: pipeline name, shown as a field.
    #[arg(long)]
    pipeline: Option<String>,
    /// ZenML payload: step name.
    #[arg(long)]
    step: Option<String>,
    /// ZenML payload: stack name.
    #[arg(long)]
    stack: Option<String>,
    /// Do not render the payload as Pipeline / Step / Stack fields.
    #[arg(long)]
    no_format_blocks: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeverityArg {
    Info,
    Success,
    Warning,
    Error,
}

#[derive(Args)]
struct PostArgs {
    #[command(flatten)]
    message: MessageArgs,
}

#[derive(Args)]
struct AskArgs {
    #[command(flatten)]
    message: MessageArgs,
    /// Seconds to wait for an answer (default: config ask_timeout_seconds, else 300).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Seconds between looks for answers (default 2; fractions allowed).
    #[arg(long, value_name = "SECONDS")]
    poll_interval: Option<f64>,
    /// Approve keyword (repeatable; replaces the defaults approve, LGTM, ok, yes).
    #[arg(long = "approve", value_name = "WORD")]
    approve: Vec<String>,
    /// Disapprove keyword (repeatable; replaces the defaults decline, disapprove, no, reject).
    #[arg(long = "disapprove", value_name = "WORD")]
    disapprove: Vec<String>,
    /// A user id whose answer counts (repeatable). Default: anyone but bots.
    #[arg(long = "approver", value_name = "USER_ID")]
    approvers: Vec<String>,
    /// A role id whose members' answers count (repeatable).
    #[arg(long = "approver-role", value_name = "ROLE_ID")]
    approver_roles: Vec<String>,
    /// Trim answers and ignore case when matching keywords.
    #[arg(long)]
    ignore_case: bool,
    /// Distinct approvals needed (any disapproval still ends it).
    #[arg(long, value_name = "N")]
    required_approvals: Option<u32>,
}

#[derive(Args)]
struct HookArgs {
    #[arg(value_enum)]
    kind: HookKind,
    #[arg(long)]
    pipeline: String,
    #[arg(long)]
    run: String,
    #[arg(long)]
    run_id: Option<String>,
    #[arg(long)]
    step: Option<String>,
    #[arg(long)]
    stack: Option<String>,
    /// Run parameter KEY=VALUE (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    #[arg(long)]
    exception_type: Option<String>,
    #[arg(long)]
    exception_message: Option<String>,
    /// Traceback from a file, or `-` for stdin.
    #[arg(long, value_name = "PATH|-")]
    traceback_file: Option<PathBuf>,
    #[arg(long)]
    channel: Option<String>,
    #[arg(long = "mention-user", value_name = "ID")]
    mention_users: Vec<String>,
    #[arg(long = "mention-role", value_name = "ID")]
    mention_roles: Vec<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum HookKind {
    Success,
    Failure,
}

#[derive(Args)]
struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8765)]
    port: u16,
    /// Bot token the emulator accepts (default: a fixed test token, printed).
    #[arg(long, env = "ALERTER_EMULATOR_TOKEN")]
    token: Option<String>,
    /// Serve message content only to messages that mention the bot (as without the intent).
    #[arg(long)]
    no_message_content_intent: bool,
}

/// A failure the CLI reports: its one-line message and exit code.
struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: exit::USAGE,
            message: message.into(),
        }
    }
}

impl From<config::ConfigError> for Failure {
    fn from(e: config::ConfigError) -> Self {
        Failure::usage(e.to_string())
    }
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Self {
        Failure {
            code: alerter::exit_code(&e),
            message: e.to_string(),
        }
    }
}

/// Parse, run, print; returns the exit code.
pub async fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    let mut redactor = Redactor::default();
    match dispatch(&cli, &mut redactor).await {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", redactor.redact(&f.message));
            f.code
        }
    }
}

async fn dispatch(cli: &Cli, redactor: &mut Redactor) -> Result<i32, Failure> {
    match &cli.command {
        Command::Post(a) => {
            let (runtime, resolved) = setup(cli, redactor)?;
            let message = build_message(&a.message)?;
            let params = build_params(&a.message, None)?;
            let receipt = runtime.post(&resolved.call, &message, &params).await;
            flush_guest_log(cli, &runtime, &resolved.redactor);
            let receipt = receipt?;
            if a.message.json {
                println!(
                    "{}",
                    receipt_json(&receipt.channel_id, &receipt.message_ids)
                );
            } else {
                println!(
                    "posted to channel {}: {} message{} ({})",
                    receipt.channel_id,
                    receipt.message_ids.len(),
                    if receipt.message_ids.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    receipt.message_ids.join(", ")
                );
            }
            Ok(exit::OK)
        }
        Command::Ask(a) => ask(cli, a, redactor).await,
        Command::Hook(h) => hook(cli, h, redactor).await,
        Command::Emulator(e) => emulator(e).await,
        Command::Demo => demo().await,
        Command::Check(c) => check(cli, c, redactor).await,
        Command::Secret(s) => secret(s),
        Command::Register(r) => register(r),
        Command::List(j) => {
            let names = Registry::new(&config::home()).list();
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
            Ok(exit::OK)
        }
        Command::Describe(n) => {
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
                            v.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string())
                        );
                    }
                }
            }
            Ok(exit::OK)
        }
        Command::Delete(n) => {
            if Registry::new(&config::home()).delete(&n.name)? {
                println!("deleted alerter {}", n.name);
                Ok(exit::OK)
            } else {
                Err(Failure::usage(format!(
                    "no alerter `{}` is registered",
                    n.name
                )))
            }
        }
        Command::Wit(w) => {
            if w.imports {
                let runtime = load_component(cli)?;
                if cli.verbose {
                    let cache = if runtime.from_cache { "hit" } else { "miss" };
                    eprintln!("alerter: compile cache {cache}");
                }
                for i in runtime.imports() {
                    println!("{i}");
                }
            } else {
                print!("{}", alerter::WIT);
            }
            Ok(exit::OK)
        }
    }
}

/// A spec as JSON with a literal token masked (references are not secret and stay visible).
fn masked_spec(spec: &AlerterSpec) -> serde_json::Value {
    let mut v = serde_json::to_value(spec).unwrap_or_default();
    if let Some(t) = spec.discord_token.as_deref() {
        if alerter::secrets::parse_reference(t).is_none() {
            v["discord_token"] = serde_json::json!("********");
        }
    }
    v
}

fn secret(cmd: &SecretCommand) -> Result<i32, Failure> {
    let store = SecretStore::new(&config::home());
    let err = |e: alerter::secrets::SecretError| Failure::usage(e.to_string());
    match cmd {
        SecretCommand::Create { name, values } => {
            let mut map = std::collections::BTreeMap::new();
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
                map.insert(k, v);
            }
            if map.is_empty() {
                return Err(Failure::usage("give at least one --KEY=VALUE"));
            }
            store.create(name, &map).map_err(err)?;
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            println!("secret {name} saved with keys: {}", keys.join(", "));
            Ok(exit::OK)
        }
        SecretCommand::List(j) => {
            let names = store.list().map_err(err)?;
            if j.json {
                println!("{}", serde_json::json!(names));
            } else {
                for n in names {
                    println!("{n}");
                }
            }
            Ok(exit::OK)
        }
        SecretCommand::Delete { name } => {
            if store.delete(name).map_err(err)? {
                println!("deleted secret {name}");
                Ok(exit::OK)
            } else {
                Err(Failure::usage(format!("no secret `{name}`")))
            }
        }
    }
}

fn register(r: &RegisterArgs) -> Result<i32, Failure> {
    let spec = AlerterSpec {
        flavor: r.flavor.clone(),
        discord_token: r.discord_token.clone(),
        default_discord_channel_id: r.default_discord_channel_id.clone(),
        api_base_url: r.api_base_url.clone(),
        ask_timeout_seconds: r.ask_timeout_seconds,
        delivery_deadline_seconds: r.delivery_deadline_seconds,
        allowed_hosts: r.allowed_hosts.clone(),
    };
    if spec.flavor != "discord" {
        return Err(Failure::usage(format!(
            "unknown flavor `{}`: only `discord` is built in",
            spec.flavor
        )));
    }
    if let Some(t) = spec.discord_token.as_deref() {
        if alerter::secrets::parse_reference(t).is_none() {
            eprintln!(
                "warning: the token is stored as plain text in the alerter's file (0600); prefer \
                 `alerter secret create NAME --discord_token=...` and --discord_token={{{{NAME.discord_token}}}}"
            );
        }
    }
    Registry::new(&config::home()).save(&r.name, &spec)?;
    println!("registered alerter {} (flavor {})", r.name, spec.flavor);
    Ok(exit::OK)
}

async fn check(cli: &Cli, c: &CheckArgs, redactor: &mut Redactor) -> Result<i32, Failure> {
    let (runtime, resolved) = setup(cli, redactor)?;
    let params = Params {
        channel_id: c.channel.clone(),
        ..Params::default()
    };
    let report = runtime.check(&resolved.call, &params).await;
    flush_guest_log(cli, &runtime, &resolved.redactor);
    let report = report?;
    let channel_code = match &report.channel {
        Some(Err(AlertError::InvalidInput(_) | AlertError::InvalidConfig(_))) => exit::USAGE,
        Some(Err(_)) => exit::DELIVERY,
        _ => exit::OK,
    };
    if c.json {
        let channel = match &report.channel {
            None => serde_json::Value::Null,
            Some(Ok(ch)) => {
                serde_json::json!({"ok": true, "id": ch.id, "name": ch.name, "guild_id": ch.guild_id})
            }
            Some(Err(e)) => serde_json::json!({"ok": false, "problem": alerter::describe(e)}),
        };
        println!(
            "{}",
            serde_json::json!({"token": {"ok": true, "bot_id": report.bot_id, "bot_name": report.bot_name}, "channel": channel})
        );
    } else {
        println!("token:   OK, bot {} ({})", report.bot_name, report.bot_id);
        match &report.channel {
            None => println!(
                "channel: none configured (pass --channel or set default_discord_channel_id)"
            ),
            Some(Ok(ch)) => println!("channel: OK, #{} ({})", ch.name, ch.id),
            Some(Err(e)) => println!("channel: PROBLEM: {}", alerter::describe(e)),
        }
    }
    Ok(channel_code)
}

/// The built-in Discord flavor, or the component given with `--component`.
fn load_component(cli: &Cli) -> Result<Runtime, Failure> {
    match &cli.component {
        Some(path) => Runtime::from_file(path),
        None => Runtime::embedded(),
    }
    .map_err(|e| Failure::usage(format!("cannot load the component: {e:#}")))
}

/// Load the component and resolve the configuration for a call.
fn setup(cli: &Cli, redactor: &mut Redactor) -> Result<(Runtime, Resolved), Failure> {
    let home = config::home();
    // --config, else --alerter, else $ALERTER_CONFIG, else the only registered alerter.
    let env_config = std::env::var_os("ALERTER_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let config_file = cli.config.clone().or(if cli.alerter.is_none() {
        env_config
    } else {
        None
    });
    let spec: AlerterSpec =
        match (&config_file, &cli.alerter) {
            (Some(path), _) => config::load_file(path)?,
            (None, Some(name)) => Registry::new(&home).load(name)?,
            (None, None) => {
                let names = Registry::new(&home).list();
                match names.as_slice() {
                    [one] => Registry::new(&home).load(one)?,
                    [] => return Err(Failure::usage(
                        "no configuration: pass --config FILE (or ALERTER_CONFIG), or register an \
                         alerter with `alerter register NAME --flavor=discord ...`",
                    )),
                    _ => {
                        return Err(Failure::usage(format!(
                            "several alerters are registered ({}); choose one with --alerter NAME",
                            names.join(", ")
                        )))
                    }
                }
            }
        };
    let resolved = config::resolve(&spec, &SecretStore::new(&home), &|k| std::env::var(k).ok())?;
    *redactor = resolved.redactor.clone();
    for w in &resolved.warnings {
        eprintln!("warning: {w}");
    }
    let started = std::time::Instant::now();
    let runtime = load_component(cli)?;
    if cli.verbose {
        eprintln!(
            "alerter: component ready in {:?} (compile cache {})",
            started.elapsed(),
            if runtime.from_cache { "hit" } else { "miss" }
        );
        eprintln!(
            "alerter: settings {:?}; secrets {:?}; egress allowed to {:?}",
            resolved.call.settings,
            resolved.call.secrets.keys().collect::<Vec<_>>(),
            resolved.call.policy.allowed_origins
        );
    }
    Ok((runtime, resolved))
}

fn flush_guest_log(cli: &Cli, runtime: &Runtime, redactor: &Redactor) {
    for line in runtime.take_guest_log() {
        if cli.verbose || line.starts_with("egress denied") || line.starts_with("warning:") {
            eprintln!("guest: {}", redactor.redact(&line));
        }
    }
}

fn read_source(path: &PathBuf) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))
    }
}

fn key_value(s: &str, what: &str) -> Result<(String, String), Failure> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| Failure::usage(format!("{what} `{s}` must look like KEY=VALUE")))
}

/// Type a metadata value: exact integers, floats, booleans and JSON objects/arrays; else text.
fn typed_value(v: &str) -> MetadataValue {
    if let Ok(i) = v.parse::<i64>() {
        if i.to_string() == v {
            return MetadataValue::Integer(i);
        }
    }
    if let Ok(f) = v.parse::<f64>() {
        if f.is_finite() && v.contains('.') && !v.starts_with('.') && !v.ends_with('.') {
            return MetadataValue::Float(f);
        }
    }
    match v {
        "true" => return MetadataValue::Boolean(true),
        "false" => return MetadataValue::Boolean(false),
        _ => {}
    }
    if (v.starts_with('{') || v.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(v).is_ok()
    {
        return MetadataValue::Json(v.to_string());
    }
    MetadataValue::Text(v.to_string())
}

fn build_message(a: &MessageArgs) -> Result<Message, Failure> {
    let body = match (&a.body, &a.body_file) {
        (Some(b), _) => Some(b.clone()),
        (None, Some(path)) => Some(read_source(path)?),
        (None, None) => None,
    };
    let metadata = a
        .meta
        .iter()
        .map(|m| {
            key_value(m, "--meta").map(|(key, v)| MetadataEntry {
                key,
                value: typed_value(&v),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if a.title.is_none() && metadata.is_empty() && a.images.is_empty() {
        return match body {
            Some(b) => Ok(Message::Text(b)),
            None => Err(Failure::usage(
                "nothing to send: give --title, --body, --body-file, --meta or --image",
            )),
        };
    }
    Ok(Message::Structured(AlerterMessage {
        title: a.title.clone(),
        body,
        metadata,
        images: a.images.clone(),
    }))
}

fn build_params(a: &MessageArgs, ask: Option<AskSettings>) -> Result<Params, Failure> {
    let payload =
        (a.pipeline.is_some() || a.step.is_some() || a.stack.is_some()).then(|| Payload {
            pipeline_name: a.pipeline.clone(),
            step_name: a.step.clone(),
            stack_name: a.stack.clone(),
        });
    Ok(Params {
        channel_id: a.channel.clone(),
        payload,
        include_format_blocks: Some(!a.no_format_blocks),
        severity: a.severity.map(|s| match s {
            SeverityArg::Info => Severity::Info,
            SeverityArg::Success => Severity::Success,
            SeverityArg::Warning => Severity::Warning,
            SeverityArg::Error => Severity::Error,
        }),
        mention_users: a.mention_users.clone(),
        mention_roles: a.mention_roles.clone(),
        ask,
        ..Params::default()
    })
}

fn seconds(v: f64, flag: &str) -> Result<u64, Failure> {
    if v.is_finite() && v > 0.0 && v <= 31_536_000.0 {
        Ok((v * 1000.0).round() as u64)
    } else {
        Err(Failure::usage(format!(
            "{flag} must be a positive number of seconds, got {v}"
        )))
    }
}

fn receipt_json(channel: &str, ids: &[String]) -> serde_json::Value {
    serde_json::json!({ "channel_id": channel, "message_ids": ids })
}

async fn ask(cli: &Cli, a: &AskArgs, redactor: &mut Redactor) -> Result<i32, Failure> {
    let message = build_message(&a.message)?;
    let timeout_ms = a.timeout.map(|t| seconds(t, "--timeout")).transpose()?;
    let poll_ms = a
        .poll_interval
        .map(|t| seconds(t, "--poll-interval"))
        .transpose()?;
    let settings = AskSettings {
        timeout_ms,
        poll_interval_ms: poll_ms,
        approvers: a.approvers.clone(),
        approver_roles: a.approver_roles.clone(),
        ignore_case: a.ignore_case,
        required_approvals: a.required_approvals,
    };
    let mut params = build_params(&a.message, Some(settings))?;
    params.approve_keywords = (!a.approve.is_empty()).then(|| a.approve.clone());
    params.disapprove_keywords = (!a.disapprove.is_empty()).then(|| a.disapprove.clone());
    let (runtime, resolved) = setup(cli, redactor)?;
    let timeout = timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(resolved.ask_timeout);
    let spinner = std::io::stderr()
        .is_terminal()
        .then(|| spawn_spinner(timeout));
    let answer = runtime
        .ask(&resolved.call, &message, &params, timeout)
        .await;
    if let Some(s) = spinner {
        s.abort();
        eprint!("\r\x1b[2K");
    }
    flush_guest_log(cli, &runtime, &resolved.redactor);
    let answer = answer?;
    if a.message.json {
        let responder =
            |r: &alerter::types::Responder| serde_json::json!({"id": r.id, "username": r.username});
        println!(
            "{}",
            serde_json::json!({
                "approved": answer.approved,
                "decision": decision_name(answer.decision),
                "responder": answer.responder.as_ref().map(responder),
                "via": answer.via.map(via_name),
                "keyword": answer.keyword,
                "answered_at": answer.answered_at,
                "approvers": answer.approvers.iter().map(responder).collect::<Vec<_>>(),
                "channel_id": answer.channel_id,
                "question_message_id": answer.question_message_id,
            })
        );
    } else {
        let who = answer
            .responder
            .as_ref()
            .map(|r| format!(" by {} ({})", r.username, r.id))
            .unwrap_or_default();
        match answer.decision {
            Decision::Approved => println!("approved{who} at {}", answer.answered_at),
            Decision::Disapproved => println!("disapproved{who} at {}", answer.answered_at),
            Decision::TimedOut => println!(
                "timed out at {}: nobody entitled to decide answered",
                answer.answered_at
            ),
        }
    }
    Ok(match answer.decision {
        Decision::Approved => exit::OK,
        Decision::Disapproved => exit::DISAPPROVED,
        Decision::TimedOut => exit::TIMED_OUT,
    })
}

/// The WIT name of a decision, as printed in JSON.
fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Approved => "approved",
        Decision::Disapproved => "disapproved",
        Decision::TimedOut => "timed-out",
    }
}

/// The WIT name of how an answer was given.
fn via_name(v: AnswerVia) -> &'static str {
    match v {
        AnswerVia::Reply => "reply",
        AnswerVia::Message => "message",
        AnswerVia::Reaction => "reaction",
    }
}

/// A terminal spinner with the time left, on stderr.
fn spawn_spinner(timeout: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let start = std::time::Instant::now();
        let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        for i in 0.. {
            let left = timeout.saturating_sub(start.elapsed()).as_secs();
            eprint!(
                "\r{} waiting for an answer ({}m{:02}s left)",
                frames[i % frames.len()],
                left / 60,
                left % 60
            );
            tokio::time::sleep(Duration::from_millis(120)).await;
        }
    })
}

async fn hook(cli: &Cli, h: &HookArgs, redactor: &mut Redactor) -> Result<i32, Failure> {
    let parameters = h
        .params
        .iter()
        .map(|p| key_value(p, "--param"))
        .collect::<Result<Vec<_>, _>>()?;
    let ctx = RunContext {
        pipeline_name: h.pipeline.clone(),
        run_name: h.run.clone(),
        run_id: h.run_id.clone(),
        step_name: h.step.clone(),
        stack_name: h.stack.clone(),
        parameters,
    };
    let params = Params {
        channel_id: h.channel.clone(),
        mention_users: h.mention_users.clone(),
        mention_roles: h.mention_roles.clone(),
        ..Params::default()
    };
    let exception = if h.kind == HookKind::Failure {
        Some(ExceptionInfo {
            type_name: h
                .exception_type
                .clone()
                .unwrap_or_else(|| "Exception".into()),
            message: h.exception_message.clone().unwrap_or_default(),
            traceback: h.traceback_file.as_ref().map(read_source).transpose()?,
        })
    } else {
        None
    };
    let (runtime, resolved) = setup(cli, redactor)?;
    let receipt = match &exception {
        None => runtime.on_success(&resolved.call, &ctx, &params).await,
        Some(exc) => runtime.on_failure(&resolved.call, &ctx, exc, &params).await,
    };
    flush_guest_log(cli, &runtime, &resolved.redactor);
    let receipt = receipt?;
    if h.json {
        println!(
            "{}",
            receipt_json(&receipt.channel_id, &receipt.message_ids)
        );
    } else {
        println!(
            "posted to channel {}: {}",
            receipt.channel_id,
            receipt.message_ids.join(", ")
        );
    }
    Ok(exit::OK)
}

async fn emulator(e: &EmulatorArgs) -> Result<i32, Failure> {
    let opts = alerter_emulator::Options {
        port: e.port,
        token: e
            .token
            .clone()
            .unwrap_or_else(|| alerter_emulator::Options::default().token),
        message_content_intent: !e.no_message_content_intent,
        ..alerter_emulator::Options::default()
    };
    let emu = alerter_emulator::Emulator::start(opts)
        .await
        .map_err(|err| {
            Failure::usage(format!(
                "cannot start the emulator on port {}: {err}",
                e.port
            ))
        })?;
    println!("Discord emulator listening on {}", emu.base_url());
    println!(
        "  guild {}  channel {}  bot {}",
        emu.guild_id(),
        emu.default_channel_id(),
        emu.bot().username
    );
    println!("  control API: http://{}/_emulator/state", emu.addr());
    if e.token.is_none() {
        println!(
            "  it accepts the emulator's fixed test token (not a real Discord token): {}",
            emu.token()
        );
    }
    println!("Try:");
    println!("  ALERTER_DISCORD_TOKEN=<token> ALERTER_API_BASE_URL={} alerter --config <file> post --body hi", emu.base_url());
    let _ = tokio::signal::ctrl_c().await;
    Ok(exit::OK)
}

async fn demo() -> Result<i32, Failure> {
    let emu = alerter_emulator::Emulator::start(alerter_emulator::Options::default())
        .await
        .map_err(|e| Failure::usage(format!("cannot start the emulator: {e}")))?;
    println!("1. Started a Discord REST emulator at {}", emu.base_url());
    let spec = AlerterSpec {
        flavor: "discord".into(),
        discord_token: Some(emu.token()),
        default_discord_channel_id: Some(emu.default_channel_id()),
        api_base_url: Some(emu.base_url()),
        ..AlerterSpec::default()
    };
    let mut resolved = config::resolve(&spec, &SecretStore::new(&config::home()), &|_| None)?;
    resolved.warnings.clear();
    let started = std::time::Instant::now();
    let runtime = Runtime::embedded().map_err(|e| Failure::usage(format!("{e:#}")))?;
    println!(
        "2. Loaded the Discord flavor component ({} KiB) in {:?}",
        alerter::runtime::EMBEDDED_COMPONENT.len() / 1024,
        started.elapsed()
    );
    let message = Message::Structured(AlerterMessage {
        title: Some("Training run finished".into()),
        body: Some("Model `resnet50-v7` finished training. @everyone is mentioned in this text but nobody is pinged.".into()),
        metadata: vec![
            MetadataEntry { key: "accuracy".into(), value: MetadataValue::Float(0.934) },
            MetadataEntry { key: "epochs".into(), value: MetadataValue::Integer(12) },
            MetadataEntry { key: "severity".into(), value: MetadataValue::Text("success".into()) },
        ],
        images: vec![],
    });
    let params = Params {
        payload: Some(Payload {
            pipeline_name: Some("training".into()),
            step_name: Some("evaluate".into()),
            stack_name: Some("local".into()),
        }),
        ..Params::default()
    };
    let started = std::time::Instant::now();
    let receipt = runtime.post(&resolved.call, &message, &params).await?;
    println!(
        "3. Posted through the sandboxed component in {:?}: message {}",
        started.elapsed(),
        receipt.message_ids.join(", ")
    );
    println!("4. The channel now shows:");
    for m in emu.messages(&receipt.channel_id) {
        print_message(&m);
    }
    // The approval gate: a simulated reviewer answers after a moment.
    let reviewer = emu.add_user("reviewer", false);
    let (emu2, channel) = (emu.clone(), receipt.channel_id.clone());
    let known = emu.messages(&channel).len();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let msgs = emu2.messages(&channel);
            if let Some(q) = msgs.get(known) {
                let q = q["id"].as_str().unwrap_or_default().to_string();
                tokio::time::sleep(Duration::from_millis(700)).await;
                emu2.say(&channel, &reviewer.id, "LGTM", Some(&q));
                return;
            }
        }
    });
    let question = Message::Structured(AlerterMessage {
        title: Some("Promote resnet50-v7 to production?".into()),
        body: Some("The candidate beats production by 1.2 points.".into()),
        metadata: vec![],
        images: vec![],
    });
    let ask_params = Params {
        ask: Some(AskSettings {
            timeout_ms: Some(30_000),
            poll_interval_ms: Some(250),
            approvers: vec![],
            approver_roles: vec![],
            ignore_case: false,
            required_approvals: None,
        }),
        ..Params::default()
    };
    println!("5. Asking for approval; a simulated reviewer will reply `LGTM`...");
    let answer = runtime
        .ask(
            &resolved.call,
            &question,
            &ask_params,
            Duration::from_secs(30),
        )
        .await?;
    let who = answer
        .responder
        .as_ref()
        .map(|r| r.username.as_str())
        .unwrap_or("nobody");
    println!(
        "   -> {} by {who} via {} `{}` at {}",
        decision_name(answer.decision),
        answer.via.map_or("-", via_name),
        answer.keyword.as_deref().unwrap_or(""),
        answer.answered_at
    );
    if let Some(q) = emu.messages(&receipt.channel_id).get(1) {
        println!("   The question now reads:");
        print_message(q);
    }
    let violations = emu.violations();
    if violations.is_empty() && answer.approved {
        println!("6. Every request matched Discord's OpenAPI spec and documented limits.");
        Ok(exit::OK)
    } else {
        Err(Failure {
            code: exit::DELIVERY,
            message: format!("spec violations: {violations:?}"),
        })
    }
}

fn print_message(m: &serde_json::Value) {
    let author = m["author"]["username"].as_str().unwrap_or("?");
    println!("   ┌─ {author} ({})", m["id"].as_str().unwrap_or("?"));
    if let Some(c) = m["content"].as_str().filter(|c| !c.is_empty()) {
        for line in c.lines() {
            println!("   │ {line}");
        }
    }
    for e in m["embeds"].as_array().into_iter().flatten() {
        if let Some(t) = e["title"].as_str() {
            println!("   │ ▌ {t}");
        }
        if let Some(d) = e["description"].as_str() {
            for line in d.lines() {
                println!("   │ ▌ {line}");
            }
        }
        for f in e["fields"].as_array().into_iter().flatten() {
            println!(
                "   │ ▌ {}: {}",
                f["name"].as_str().unwrap_or(""),
                f["value"].as_str().unwrap_or("")
            );
        }
    }
    println!(
        "   └─ pinged: everyone={} users={} roles={}",
        m["mention_everyone"],
        m["mentions"].as_array().map_or(0, Vec::len),
        m["mention_roles"].as_array().map_or(0, Vec::len)
    );
}
