//! The commands that run the component: `post`, `ask`, `hook`, `check` and `wit --imports`.
//! Each builds its inputs from flags (`message.rs`), prepares an [`Invocation`], makes one
//! library call, and prints the result (`output.rs`).

use std::io::IsTerminal;

use alerter_host::types::{AlertError, Params};

use super::args::{AskArgs, CheckArgs, Global, HookArgs, PostArgs, WitArgs};
use super::{load_component, message, output, Failure, Invocation, Outcome};

/// `alerter post`.
pub async fn post(g: &Global, a: &PostArgs) -> Result<Outcome, Failure> {
    let inv = Invocation::prepare(g)?;
    let msg = message::message(&a.message)?;
    let params = Params {
        thread_name: a.thread_name.clone(),
        idempotency_key: a.key.clone(),
        ..message::params(&a.message)?
    };
    let result = inv.runtime.post(&inv.resolved.call, &msg, &params).await;
    if let (true, Err(alerter_host::CallError::Alert(AlertError::Incomplete(i)))) =
        (a.message.json, &result)
    {
        // The ids made exist whatever the error line says: print them where scripts read.
        output::incomplete(i);
    }
    let receipt = inv.finish(result)?;
    output::posted(&receipt, a.message.json);
    Ok(Outcome::Done)
}

/// `alerter ask`: waits, with a spinner on a terminal, and ends with the decision.
pub async fn ask(g: &Global, a: &AskArgs) -> Result<Outcome, Failure> {
    let question = message::message(&a.message)?;
    let params = message::ask_params(a)?;
    let inv = Invocation::prepare(g)?;
    let timeout = inv.ask_timeout(&params);
    let spinner = std::io::stderr()
        .is_terminal()
        .then(|| output::spawn_spinner(timeout));
    let stop = Stop::first()?;
    let answer = inv
        .runtime
        .ask_until(&inv.resolved.call, &question, &params, timeout, async {
            let stop = stop.await;
            let fresh_line = if std::io::stderr().is_terminal() {
                "\n"
            } else {
                ""
            };
            eprintln!("{fresh_line}alerter: {}: stopping the wait", stop.reason());
            stop.reason().to_string()
        })
        .await;
    output::stop_spinner(spinner);
    let answer = inv.finish(answer)?;
    output::answer(&answer, a.message.json);
    Ok(Outcome::Decided(answer.decision))
}

/// A signal that stops `ask`: the question is edited to say so, and the exit code tells which.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stop {
    /// SIGINT (Ctrl-C).
    Interrupted,
    /// SIGTERM (a cancelled CI job, `docker stop`, `kill`).
    Terminated,
}

impl Stop {
    /// The words shown in the question and passed as the cancel reason.
    pub fn reason(self) -> &'static str {
        match self {
            Stop::Interrupted => "interrupted",
            Stop::Terminated => "terminated",
        }
    }

    /// The signal a cancel reason came from, if it came from one.
    pub fn from_reason(reason: &str) -> Option<Stop> {
        [Stop::Interrupted, Stop::Terminated]
            .into_iter()
            .find(|s| s.reason() == reason)
    }

    /// 128 + the signal number, as shells report a process a signal ended.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupted => super::exit::INTERRUPTED,
            Stop::Terminated => super::exit::TERMINATED,
        }
    }

    /// Listen for SIGINT and SIGTERM from now on; the future resolves on the first. A second
    /// signal while the question is being marked exits at once with that signal's code.
    #[cfg(unix)]
    pub(super) fn first() -> Result<impl std::future::Future<Output = Stop>, Failure> {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind| {
            signal(kind).map_err(|e| Failure {
                kind: super::Kind::Delivery,
                message: format!("cannot listen for signals: {e}"),
            })
        };
        let mut int = listen(SignalKind::interrupt())?;
        let mut term = listen(SignalKind::terminate())?;
        Ok(async move {
            let first = tokio::select! {
                _ = int.recv() => Stop::Interrupted,
                _ = term.recv() => Stop::Terminated,
            };
            tokio::spawn(async move {
                let again = tokio::select! {
                    _ = int.recv() => Stop::Interrupted,
                    _ = term.recv() => Stop::Terminated,
                };
                std::process::exit(i32::from(again.exit_code()));
            });
            first
        })
    }

    /// Elsewhere only Ctrl-C is caught.
    #[cfg(not(unix))]
    pub(super) fn first() -> Result<impl std::future::Future<Output = Stop>, Failure> {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            Stop::Interrupted
        })
    }
}

/// `alerter hook success|failure`.
pub async fn hook(g: &Global, h: &HookArgs) -> Result<Outcome, Failure> {
    let (ctx, params, exception) = message::hook(h)?;
    let inv = Invocation::prepare(g)?;
    let call = &inv.resolved.call;
    let receipt = match &exception {
        None => inv.runtime.on_success(call, &ctx, &params).await,
        Some(exc) => inv.runtime.on_failure(call, &ctx, exc, &params).await,
    };
    let receipt = inv.finish(receipt)?;
    output::hooked(&receipt, h.json);
    Ok(Outcome::Done)
}

/// `alerter check`: the token must work; a channel problem is reported and sets the exit code.
pub async fn check(g: &Global, c: &CheckArgs) -> Result<Outcome, Failure> {
    let inv = Invocation::prepare(g)?;
    let params = Params {
        channel_id: c.channel.clone(),
        ..Params::default()
    };
    let report = inv.finish(inv.runtime.check(&inv.resolved.call, &params).await)?;
    output::check_report(&report, c.json);
    Ok(Outcome::of_check(&report))
}

/// `alerter wit`: the contract, or with `--imports` what the component imports.
pub fn wit(g: &Global, w: &WitArgs) -> Result<Outcome, Failure> {
    if !w.imports {
        print!("{}", alerter_host::WIT);
        return Ok(Outcome::Done);
    }
    let runtime = load_component(g)?;
    if g.verbose {
        eprintln!("alerter: native code {}", runtime.code);
    }
    for i in runtime.imports() {
        println!("{i}");
    }
    Ok(Outcome::Done)
}
