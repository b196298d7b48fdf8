//! The command line's shape: every command, flag and help text, in one place (clap derive).
//! Handlers never parse; they get these structs. The README's CLI tables are checked against
//! this file by the test at the bottom.

use std::path::PathBuf;

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
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Args)]
pub struct Global {
    /// Config file (TOML: discord_token, default_discord_channel_id, api_base_url, ...).
    /// Default: $ALERTER_CONFIG, unless --alerter is given.
    #[arg(long, global = true, conflicts_with = "alerter")]
    pub config: Option<PathBuf>,
    /// A registered alerter to use (default: the only one registered).
    #[arg(long, global = true)]
    pub alerter: Option<String>,
    /// Load another flavor component instead of the built-in Discord one.
    #[arg(long, global = true)]
    pub component: Option<PathBuf>,
    /// Log what happens (secrets redacted) to stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Subcommand)]
pub enum Command {
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
    #[cfg(feature = "emulator")]
    #[command(after_help = "Example:\n  alerter emulator --port 8765")]
    Emulator(EmulatorArgs),
    /// Run the whole thing against an in-process emulator: no Discord needed.
    #[cfg(feature = "emulator")]
    Demo,
    /// Validate the token and the channel without posting; says what to fix.
    #[command(
        after_help = "Example:\n  alerter --alerter discord_alerter check --channel 123456789012345678"
    )]
    Check(CheckArgs),
    /// One call as JSON on stdin, its result or error as JSON on stdout (for other languages).
    #[command(
        after_help = "Example:\n  echo '{\"verb\": \"post\", \"message\": {\"title\": \"Run finished\", \"metadata\": [[\"epoch\", 12]]}}' | alerter call"
    )]
    Call(CallArgs),
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
pub struct JsonFlag {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct NameArgs {
    pub name: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Channel to check (default: the configured default_discord_channel_id).
    #[arg(long)]
    pub channel: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct CallArgs {
    /// Read the request from stdin's first line, then stop an `ask` when stdin closes (the
    /// calling program went away), marking the question as cancelled.
    #[arg(long)]
    pub stop_on_eof: bool,
}

#[derive(Args)]
pub struct WitArgs {
    /// Print the component's imports instead (one per line).
    #[arg(long)]
    pub imports: bool,
}

#[derive(Subcommand)]
pub enum SecretCommand {
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
pub struct RegisterArgs {
    pub name: String,
    #[arg(long, default_value = "discord")]
    pub flavor: String,
    /// Bot token; use a `{{secret_name.key}}` reference (a literal is stored with a warning).
    #[arg(long = "discord_token", alias = "discord-token")]
    pub discord_token: Option<String>,
    /// A channel webhook URL, ideally `{{secret.key}}`: post without a bot.
    #[arg(long = "discord_webhook_url", alias = "discord-webhook-url")]
    pub discord_webhook_url: Option<String>,
    #[arg(
        long = "default_discord_channel_id",
        alias = "default-discord-channel-id"
    )]
    pub default_discord_channel_id: Option<String>,
    #[arg(long = "api_base_url", alias = "api-base-url")]
    pub api_base_url: Option<String>,
    #[arg(long = "ask_timeout_seconds", alias = "ask-timeout-seconds")]
    pub ask_timeout_seconds: Option<f64>,
    #[arg(
        long = "delivery_deadline_seconds",
        alias = "delivery-deadline-seconds"
    )]
    pub delivery_deadline_seconds: Option<f64>,
    /// Largest file an alert may carry, in bytes (default 10 MiB).
    #[arg(long = "max_attachment_bytes", alias = "max-attachment-bytes")]
    pub max_attachment_bytes: Option<u64>,
    /// Messages a long body may take before it is sent as a file (default 3; 0: never).
    #[arg(long = "long_body_max_parts", alias = "long-body-max-parts")]
    pub long_body_max_parts: Option<u32>,
    /// Another host the component may reach (repeatable).
    #[arg(long = "allowed_host", alias = "allowed-host", value_name = "URL")]
    pub allowed_hosts: Vec<String>,
}

#[derive(Args, Clone)]
pub struct MessageArgs {
    /// Channel id (default: the configured default_discord_channel_id).
    #[arg(long)]
    pub channel: Option<String>,
    /// Title (makes the message structured: a Discord embed).
    #[arg(long)]
    pub title: Option<String>,
    /// Body text.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the body from a file, or `-` for stdin.
    #[arg(long, value_name = "PATH|-")]
    pub body_file: Option<PathBuf>,
    /// Metadata KEY=VALUE (repeatable; numbers, true/false and JSON are typed).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Image shown in the alert (repeatable): an http(s) URL, or a local .png/.jpg/.gif/.webp
    /// file, uploaded with the message.
    #[arg(long = "image", value_name = "URL|PATH")]
    pub images: Vec<String>,
    /// A file to send with the message (repeatable; at most 10 files in all).
    #[arg(long = "attach", value_name = "PATH")]
    pub attach: Vec<PathBuf>,
    /// Post into this thread (its id) instead of the channel; `ask` reads answers there too.
    #[arg(long = "thread", value_name = "ID")]
    pub thread: Option<String>,
    /// Colour and tone.
    #[arg(long, value_enum)]
    pub severity: Option<SeverityArg>,
    /// A user id to ping (repeatable). Nobody else is ever pinged.
    #[arg(long = "mention-user", value_name = "ID")]
    pub mention_users: Vec<String>,
    /// A role id to ping (repeatable), e.g. the on-call role.
    #[arg(long = "mention-role", value_name = "ID")]
    pub mention_roles: Vec<String>,
    /// ZenML payload: pipeline name, shown as a field.
    #[arg(long)]
    pub pipeline: Option<String>,
    /// ZenML payload: step name.
    #[arg(long)]
    pub step: Option<String>,
    /// ZenML payload: stack name.
    #[arg(long)]
    pub stack: Option<String>,
    /// Do not render the payload as Pipeline / Step / Stack fields.
    #[arg(long)]
    pub no_format_blocks: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SeverityArg {
    Info,
    Success,
    Warning,
    Error,
}

#[derive(Args)]
pub struct PostArgs {
    #[command(flatten)]
    pub message: MessageArgs,
    /// Start a thread with this name from the alert (e.g. one per pipeline run); the rest of a
    /// long alert goes into it and its id is printed.
    #[arg(long = "thread-name", value_name = "NAME", conflicts_with = "thread")]
    pub thread_name: Option<String>,
    /// Idempotency key: running the same post again with this key within a few minutes
    /// creates only the parts that are missing.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}

#[derive(Args)]
pub struct AskArgs {
    #[command(flatten)]
    pub message: MessageArgs,
    /// Seconds to wait for an answer (default: config ask_timeout_seconds, else 300).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Seconds between looks for answers (default 2; fractions allowed).
    #[arg(long, value_name = "SECONDS")]
    pub poll_interval: Option<f64>,
    /// Approve keyword (repeatable; replaces the defaults approve, LGTM, ok, yes).
    #[arg(long = "approve", value_name = "WORD")]
    pub approve: Vec<String>,
    /// Disapprove keyword (repeatable; replaces the defaults decline, disapprove, no, reject).
    #[arg(long = "disapprove", value_name = "WORD")]
    pub disapprove: Vec<String>,
    /// A user id whose answer counts (repeatable). Default: anyone but bots.
    #[arg(long = "approver", value_name = "USER_ID")]
    pub approvers: Vec<String>,
    /// A role id whose members' answers count (repeatable).
    #[arg(long = "approver-role", value_name = "ROLE_ID")]
    pub approver_roles: Vec<String>,
    /// Trim answers and ignore case when matching keywords.
    #[arg(long)]
    pub ignore_case: bool,
    /// Distinct approvals needed (any disapproval still ends it).
    #[arg(long, value_name = "N")]
    pub required_approvals: Option<u32>,
    /// Idempotency key: reuse the open question with this key, or return its decision.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// While open, reply to the question every SECONDS, pinging the mentioned users and roles.
    #[arg(long, value_name = "SECONDS")]
    pub remind_every: Option<f64>,
    /// After SECONDS without a decision, reply once pinging the --escalate-role roles.
    #[arg(long, value_name = "SECONDS", requires = "escalate_roles")]
    pub escalate_after: Option<f64>,
    /// A role id pinged by the escalation (repeatable; needs --escalate-after).
    #[arg(
        long = "escalate-role",
        value_name = "ROLE_ID",
        requires = "escalate_after"
    )]
    pub escalate_roles: Vec<String>,
}

#[derive(Args)]
pub struct HookArgs {
    #[arg(value_enum)]
    pub kind: HookKind,
    #[arg(long)]
    pub pipeline: String,
    #[arg(long)]
    pub run: String,
    #[arg(long)]
    pub run_id: Option<String>,
    #[arg(long)]
    pub step: Option<String>,
    #[arg(long)]
    pub stack: Option<String>,
    /// Run parameter KEY=VALUE (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    #[arg(long)]
    pub exception_type: Option<String>,
    #[arg(long)]
    pub exception_message: Option<String>,
    /// Traceback from a file, or `-` for stdin.
    #[arg(long, value_name = "PATH|-")]
    pub traceback_file: Option<PathBuf>,
    #[arg(long)]
    pub channel: Option<String>,
    /// Post into this thread (its id).
    #[arg(long = "thread", value_name = "ID")]
    pub thread: Option<String>,
    /// Start a thread with this name from the alert (e.g. the run's name).
    #[arg(long = "thread-name", value_name = "NAME", conflicts_with = "thread")]
    pub thread_name: Option<String>,
    #[arg(long = "mention-user", value_name = "ID")]
    pub mention_users: Vec<String>,
    #[arg(long = "mention-role", value_name = "ID")]
    pub mention_roles: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum HookKind {
    Success,
    Failure,
}

#[cfg(feature = "emulator")]
#[derive(Args)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// Bot token the emulator accepts (default: a fixed test token, printed).
    #[arg(long, env = "ALERTER_EMULATOR_TOKEN")]
    pub token: Option<String>,
    /// Serve message content only to messages that mention the bot (as without the intent).
    #[arg(long)]
    pub no_message_content_intent: bool,
    /// Delay every API response by this many milliseconds, like a client far from Discord's
    /// edge (e.g. 20).
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

/// The README documents the CLI by hand; these tests hold it to the clap definitions above, so
/// a flag added, renamed or removed here fails until the README says the same.
#[cfg(all(test, feature = "emulator"))]
mod readme {
    use std::collections::BTreeSet;

    use clap::CommandFactory;

    use super::Cli;

    const README: &str = include_str!("../../../README.md");

    /// The README text from the heading `start` up to the next heading.
    fn section(start: &str) -> &'static str {
        let from = README
            .find(start)
            .unwrap_or_else(|| panic!("README has no `{start}`"));
        let rest = &README[from + start.len()..];
        let end = rest.find("\n#").unwrap_or(rest.len());
        &rest[..end]
    }

    /// Every `--flag` named in a piece of the README.
    fn flags_in(text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (i, _) in text.match_indices("--") {
            let name: String = text[i + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            // `| --- |` table rules are not flags.
            if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                out.insert(name);
            }
        }
        out
    }

    /// The long flags of a subcommand, without the global ones and `--help`.
    fn flags_of(path: &[&str]) -> BTreeSet<String> {
        let mut cmd = Cli::command();
        cmd.build();
        let mut sub = &cmd;
        for name in path {
            sub = sub
                .find_subcommand(name)
                .unwrap_or_else(|| panic!("no subcommand {name}"));
        }
        sub.get_arguments()
            .filter(|a| !a.is_global_set())
            .filter_map(|a| a.get_long().map(String::from))
            .filter(|l| l != "help")
            .collect()
    }

    #[test]
    fn message_and_ask_flag_tables_match_the_cli() {
        let message = flags_in(section("### `post` and `ask` (message flags)"));
        let post_only = flags_in(section("### `post` (additional flags)"));
        let ask_only = flags_in(section("### `ask` (additional flags)"));
        let post: BTreeSet<String> = message.union(&post_only).cloned().collect();
        assert_eq!(post, flags_of(&["post"]), "README's post flag tables");
        let ask: BTreeSet<String> = message.union(&ask_only).cloned().collect();
        assert_eq!(ask, flags_of(&["ask"]), "README's ask flag tables");
    }

    #[test]
    fn hook_and_emulator_flags_match_the_cli() {
        let hook_table = section("### `hook`");
        assert_eq!(
            flags_in(hook_table),
            flags_of(&["hook"]),
            "README's hook table"
        );
        let emulator = section("### `emulator`");
        assert_eq!(
            flags_in(emulator),
            flags_of(&["emulator"]),
            "README's emulator flags"
        );
    }

    #[test]
    fn global_flags_and_every_command_are_documented() {
        let reference = section("## CLI reference");
        let global_line = reference
            .split("\n\n")
            .find(|p| p.contains("Global flags"))
            .expect("a Global flags paragraph");
        let mut cmd = Cli::command();
        cmd.build();
        let globals: BTreeSet<String> = cmd
            .get_arguments()
            .filter_map(|a| a.get_long().map(String::from))
            .filter(|l| l != "help" && l != "version")
            .collect();
        assert_eq!(flags_in(global_line), globals, "README's global flags");
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let row = format!("| `{}", sub.get_name());
            assert!(
                reference.contains(&row),
                "README's command table lacks `{}`",
                sub.get_name()
            );
        }
    }

    #[test]
    fn exit_code_table_matches_the_codes() {
        use crate::cli::exit;
        let table = section("### Exit codes");
        let codes: Vec<u8> = table
            .lines()
            .filter_map(|l| l.strip_prefix("| ")?.split(' ').next()?.parse().ok())
            .collect();
        assert_eq!(
            codes,
            [
                exit::OK,
                exit::DISAPPROVED,
                exit::USAGE,
                exit::DELIVERY,
                exit::TIMED_OUT,
                exit::INTERRUPTED,
                exit::TERMINATED
            ]
        );
    }
}
