//! The `alerter` command line (see `cli/mod.rs`): alerts and approval gates through the
//! sandboxed Discord component. What a message looks like, Discord's limits, which answers
//! count and when to retry live in the component; the library holds the sandbox policy and
//! the Discord knowledge that must outlive one call (connection reuse and rate-limit pacing in
//! `net`, webhook-URL redaction in `policy`); the command line is in `cli/`.

mod cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(cli::run().await)
}
