//! The `alerter` command line (see `cli/mod.rs`): alerts and approval gates through the
//! sandboxed Discord component. All Discord logic lives in the component, all policy in the
//! library, and exit codes in `cli/mod.rs`.

mod cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(cli::run().await)
}
