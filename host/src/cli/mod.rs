//! The `alerter` command line: arguments -> a typed [`Invocation`] -> a library call ->
//! output and an exit code.
//!
//! - `args`: every command and flag (clap), the help text's one source;
//! - `message`: flags -> message, params, ask settings, run context;
//! - `calls`: the commands that run the component (`post`, `ask`, `hook`, `check`, `wit`);
//! - `manage`: secrets and registered alerters;
//! - `demo`: the `demo` and `emulator` commands (feature `emulator`);
//! - `output`: what is printed on success;
//! - `rpc`: `call`, one call as JSON in and out (for programs in other languages).
//!
//! Exit codes are defined here ([`exit`]), and a command's outcome becomes one here
//! (`Kind::exit_code`, `run`), with one exception: a second signal while an ask marks its
//! question cancelled ends the process at once (`std::process::exit` in `calls::Stop` and
//! `rpc`), with the code `calls::Stop::exit_code` gives for that signal.

mod args;
mod calls;
#[cfg(feature = "emulator")]
mod demo;
mod manage;
mod message;
mod output;
#[cfg(feature = "emulator")]
mod plot;
mod rpc;

use std::time::Duration;

use clap::Parser;

use alerter_host::config::{self, Resolved, Selection};
use alerter_host::types::{AlertError, Decision, Params};
use alerter_host::{CallError, CheckReport, ConfigError, Runtime, SecretError, SecretStore};

use args::{Cli, Command, Global};

/// Process exit codes (the README's table).
pub(crate) mod exit {
    /// Posted, or approved.
    pub const OK: u8 = 0;
    /// The ask was answered with a disapproval.
    pub const DISAPPROVED: u8 = 1;
    /// Usage, configuration or invalid input: nothing was sent.
    pub const USAGE: u8 = 2;
    /// Delivery failed: Discord or the network said no, or the sandbox stopped the component.
    pub const DELIVERY: u8 = 3;
    /// Nobody entitled to decide answered before the timeout.
    pub const TIMED_OUT: u8 = 4;
    /// `ask` stopped by SIGINT (Ctrl-C): 128 + 2, as a shell reports it.
    pub const INTERRUPTED: u8 = 130;
    /// `ask` stopped by SIGTERM (a cancelled CI job): 128 + 15.
    pub const TERMINATED: u8 = 143;
}

/// How a command that ran to its end came out.
enum Outcome {
    /// It did what was asked.
    Done,
    /// `ask` got a decision (or timed out).
    Decided(Decision),
    /// It printed a report that names a problem of this kind (`check`).
    Problem(Kind),
}

impl Outcome {
    /// A `check` whose token works: done, unless the channel has a problem.
    fn of_check(report: &CheckReport) -> Outcome {
        match &report.channel {
            Some(Err(e)) => Outcome::Problem(kind_of(e)),
            _ => Outcome::Done,
        }
    }
}

/// The kinds of failure, as the exit codes tell them apart.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Usage, configuration or input: nothing was sent.
    Usage,
    /// Discord, the network or the sandbox said no.
    Delivery,
    /// A signal stopped the wait (the question was marked as cancelled if possible).
    Stopped(calls::Stop),
}

/// A failure the CLI reports: its kind and one line of text (never a secret).
struct Failure {
    kind: Kind,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            kind: Kind::Usage,
            message: message.into(),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::usage(e.to_string())
    }
}

impl From<CallError> for Failure {
    /// Not redacted: [`Invocation::finish`] redacts what a configured call returns.
    fn from(e: CallError) -> Self {
        Failure {
            kind: Kind::of_call(&e),
            message: e.to_string(),
        }
    }
}

impl From<SecretError> for Failure {
    fn from(e: SecretError) -> Self {
        Failure::usage(e.to_string())
    }
}

/// Which kind of failure an error from the flavor is.
fn kind_of(e: &AlertError) -> Kind {
    match e {
        AlertError::InvalidConfig(_) | AlertError::InvalidInput(_) => Kind::Usage,
        _ => Kind::Delivery,
    }
}

impl Kind {
    /// Which kind of failure a call's error is.
    fn of_call(e: &CallError) -> Kind {
        match e {
            CallError::Alert(a) => kind_of(a),
            CallError::Sandbox(_) | CallError::Deadline(_) => Kind::Delivery,
            CallError::Cancelled { reason, .. } => {
                calls::Stop::from_reason(reason).map_or(Kind::Delivery, Kind::Stopped)
            }
        }
    }

    fn exit_code(self) -> u8 {
        match self {
            Kind::Usage => exit::USAGE,
            Kind::Delivery => exit::DELIVERY,
            Kind::Stopped(stop) => stop.exit_code(),
        }
    }
}

/// Parse, run, print; returns the exit code.
pub async fn run() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // `--help` and `--version` also arrive here, on stdout, and are not failures.
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(&cli).await {
        Ok(Outcome::Done | Outcome::Decided(Decision::Approved)) => exit::OK,
        Ok(Outcome::Decided(Decision::Disapproved)) => exit::DISAPPROVED,
        Ok(Outcome::Decided(Decision::TimedOut)) => exit::TIMED_OUT,
        Ok(Outcome::Problem(kind)) => kind.exit_code(),
        Err(f) => {
            eprintln!("error: {}", f.message);
            f.kind.exit_code()
        }
    }
}

async fn dispatch(cli: &Cli) -> Result<Outcome, Failure> {
    let g = &cli.global;
    match &cli.command {
        Command::Post(a) => calls::post(g, a).await,
        Command::Ask(a) => calls::ask(g, a).await,
        Command::Hook(h) => calls::hook(g, h).await,
        Command::Check(c) => calls::check(g, c).await,
        Command::Call(c) => rpc::call(g, c).await,
        Command::Wit(w) => calls::wit(g, w),
        #[cfg(feature = "emulator")]
        Command::Emulator(e) => demo::emulator(e).await,
        #[cfg(feature = "emulator")]
        Command::Demo => demo::demo().await,
        Command::Secret(s) => manage::secret(s),
        Command::Register(r) => manage::register(r),
        Command::List(j) => manage::list(j),
        Command::Describe(n) => manage::describe(n),
        Command::Delete(n) => manage::delete(n),
    }
}

/// Everything a command that runs the component needs: the loaded component, the resolved
/// configuration (with its redactor), and how much to say.
struct Invocation {
    runtime: Runtime,
    resolved: Resolved,
    verbose: bool,
}

impl Invocation {
    /// Resolve the configuration the global flags select, then load the component.
    fn prepare(g: &Global) -> Result<Invocation, Failure> {
        Invocation::prepare_inline(g, None)
    }

    /// Like [`Invocation::prepare`], or with the configuration given inline (`call`'s
    /// `config`), which replaces the file or registered alerter the flags would choose. A
    /// literal token inline is expected there (it never touches a disk), so not warned about.
    fn prepare_inline(
        g: &Global,
        inline: Option<config::AlerterSpec>,
    ) -> Result<Invocation, Failure> {
        let env = |k: &str| std::env::var(k).ok();
        let home = config::home();
        let inline_given = inline.is_some();
        let spec = match inline {
            Some(spec) => spec,
            None => {
                let selection = Selection {
                    config_file: g.config.clone(),
                    alerter: g.alerter.clone(),
                };
                config::load(&selection, &home, &env)?
            }
        };
        let resolved = config::resolve(&spec, &SecretStore::new(&home), &env)?;
        let about_files = [config::PLAIN_TOKEN_WARNING, config::PLAIN_WEBHOOK_WARNING];
        for w in &resolved.warnings {
            if !(inline_given && about_files.contains(&w.as_str())) {
                eprintln!("warning: {w}");
            }
        }
        let started = std::time::Instant::now();
        let runtime = load_component(g)?;
        if g.verbose {
            eprintln!(
                "alerter: component ready in {:?} (native code {})",
                started.elapsed(),
                runtime.code
            );
            eprintln!(
                "alerter: settings {:?}; secrets {:?}; egress allowed to {:?}",
                resolved.call.settings,
                resolved.call.secrets.keys().collect::<Vec<_>>(),
                resolved.call.policy.allowed_origins
            );
        }
        Ok(Invocation {
            runtime,
            resolved,
            verbose: g.verbose,
        })
    }

    /// After a call: show what the guest printed (all of it with `-v`, else its warnings and
    /// egress denials), and turn an error into a failure, both with secrets redacted.
    fn finish<T>(&self, result: Result<T, CallError>) -> Result<T, Failure> {
        let redactor = &self.resolved.redactor;
        self.log(result).map_err(|e| {
            let f = Failure::from(e);
            Failure {
                message: redactor.redact(&f.message),
                ..f
            }
        })
    }

    /// How long an ask with these params waits: its own timeout, else the configured one.
    fn ask_timeout(&self, params: &Params) -> Duration {
        params
            .ask
            .as_ref()
            .and_then(|s| s.timeout_ms)
            .map_or(self.resolved.ask_timeout, Duration::from_millis)
    }

    /// Show what the guest printed (all of it with `-v`, else its warnings and egress
    /// denials), secrets redacted; the result passes through.
    fn log<T>(&self, result: Result<T, CallError>) -> Result<T, CallError> {
        let redactor = &self.resolved.redactor;
        for line in self.runtime.take_guest_log() {
            if self.verbose || line.starts_with("egress denied") || line.starts_with("warning:") {
                eprintln!("guest: {}", redactor.redact(&line));
            }
        }
        result
    }
}

/// The built-in Discord flavor, or the component given with `--component`.
fn load_component(g: &Global) -> Result<Runtime, Failure> {
    // One process, a call or three: no pool of 256 slots (72 GiB of address space) needed.
    let instances = alerter_host::Instances::OnDemand;
    match &g.component {
        Some(path) => Runtime::from_file_with(path, instances),
        None => Runtime::from_bytes_with(alerter_host::runtime::EMBEDDED_COMPONENT, instances),
    }
    .map_err(|e| Failure::usage(format!("cannot load the component: {e:#}")))
}
