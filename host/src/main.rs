//! The `alerter` command line: parses arguments, resolves configuration, and turns library
//! calls into output and exit codes (0 ok/approved, 1 disapproved, 2 usage/config/input,
//! 3 delivery failed, 4 timed out). All Discord logic lives in the component; all policy in the
//! library. Errors are one line; secrets never reach the output.

mod cli;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let code = cli::run().await;
    ExitCode::from(u8::try_from(code).unwrap_or(3))
}
