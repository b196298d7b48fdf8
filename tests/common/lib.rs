//! Shared helpers for the end-to-end tests: an emulator per test, a config file pointing at it,
//! and a runner for the `alerter` binary that captures output and exit code.
//!
//! # Layout
//!
//! - this file and [`spec`] (every request and response checked against Discord's OpenAPI
//!   spec and documented limits, with its own copy of the limits) are the shared helpers;
//! - `cli_post.rs`, `cli_errors.rs`, `hooks.rs`, `setup_flow.rs`: the CLI end to end;
//! - `ask.rs`: approval gates through the library; `faults.rs`: rate limits, 5xx, lost
//!   responses, bans; `sandbox.rs`: the hostile component in `sandbox-guest/` against every
//!   limit; `component.rs`: the component's imports; `layout.rs`: the library's dependencies (the shape rules are the `tests/shape` crate);
//! - `bin/load.rs` (`./dev load`) and `bin/bench/` (`./dev bench`);
//! - `other-hosts/`: the same component in Node and Python.

pub mod spec;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use alerter_emulator::{Emulator, Fault, FaultKind, Options, RecordedRequest};
use serde_json::Value;

/// The `alerter` binary next to this test executable (`target/<profile>/alerter`).
pub fn alerter_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("alerter");
    assert!(
        bin.is_file(),
        "{} not built: run `cargo build -p alerter-host` with the same profile first",
        bin.display()
    );
    bin
}

/// A private scratch directory, also used as `ALERTER_HOME` and the compile cache.
pub fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("alerter-e2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// Write a config file for `emu` in `dir` and return its path.
pub fn config_for(emu: &Emulator, dir: &Path) -> PathBuf {
    let path = dir.join("alerter.toml");
    std::fs::write(
        &path,
        format!(
            "discord_token = \"{}\"\ndefault_discord_channel_id = \"{}\"\napi_base_url = \"{}\"\n",
            emu.token(),
            emu.default_channel_id(),
            emu.base_url()
        ),
    )
    .expect("write config");
    path
}

/// Start `alerter` with `args` as [`run`] does, stdin closed, output piped, and return at once
/// (for tests that signal or kill it).
pub fn spawn(home: &Path, args: &[&str]) -> std::process::Child {
    command(home, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn alerter")
}

fn command(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(alerter_bin());
    cmd.args(args)
        .env("ALERTER_HOME", home)
        .env("ALERTER_CACHE_DIR", shared_cache())
        .env_remove("ALERTER_CONFIG")
        .env_remove("ALERTER_DISCORD_TOKEN")
        .env_remove("ALERTER_DEFAULT_DISCORD_CHANNEL_ID")
        .env_remove("ALERTER_API_BASE_URL");
    cmd
}

/// Run `alerter` as [`run`] does, no stdin, with these environment variables set as well.
pub fn run_with_env(home: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = command(home, args);
    cmd.envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run alerter")
}

/// Run `alerter` with `args`, `ALERTER_HOME` and the cache in `home`, optional stdin.
pub fn run(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = command(home, args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn alerter");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("wait alerter")
}

/// One compile cache for the whole test run, so only the first CLI run compiles the component.
pub fn shared_cache() -> PathBuf {
    std::env::temp_dir().join(format!("alerter-e2e-cache-{}", std::process::id()))
}

/// A finished command's stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A finished command's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// [`run`] on a blocking thread, so the emulator keeps every async worker while the CLI runs.
pub async fn run_async(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let home = home.to_path_buf();
    let args: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
    let stdin = stdin.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&home, &args, stdin.as_deref())
    })
    .await
    .expect("alerter runner thread")
}

/// Write a config file for `emu` in `dir` with a chosen token (`None`: no `discord_token` line)
/// and extra TOML lines; returns its path.
pub fn config_with(emu: &Emulator, dir: &Path, token: Option<&str>, extra: &str) -> PathBuf {
    let path = dir.join("alerter-custom.toml");
    let mut text = String::new();
    if let Some(t) = token {
        text.push_str(&format!("discord_token = \"{t}\"\n"));
    }
    text.push_str(&format!(
        "default_discord_channel_id = \"{}\"\napi_base_url = \"{}\"\n{extra}\n",
        emu.default_channel_id(),
        emu.base_url()
    ));
    std::fs::write(&path, text).expect("write config");
    path
}

/// The scratch dir and config of a test: `scratch(tag)` plus `config_for(emu, ..)`.
pub fn setup(emu: &Emulator, tag: &str) -> (PathBuf, String) {
    let home = scratch(tag);
    let cfg = config_for(emu, &home);
    (home, cfg.to_string_lossy().into_owned())
}

/// `POST .../messages` requests received, in order.
pub fn message_posts(emu: &Emulator) -> Vec<RecordedRequest> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .collect()
}

fn header<'a>(r: &'a RecordedRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Every request carried `User-Agent: DiscordBot (...)` and `Authorization: Bot <token>`, every
/// create-message body is valid per the spec and Discord's limits, and the emulator saw no
/// violation.
pub fn assert_clean(emu: &Emulator, token: &str) {
    let requests = emu.requests();
    for r in &requests {
        let ua = header(r, "user-agent").unwrap_or("");
        assert!(
            ua.starts_with("DiscordBot ("),
            "{} {}: user-agent {ua:?}",
            r.method,
            r.path
        );
        assert_eq!(
            header(r, "authorization"),
            Some(format!("Bot {token}").as_str()),
            "{} {}: authorization",
            r.method,
            r.path
        );
        if r.method == "POST" && r.path.ends_with("/messages") {
            let body = r
                .body
                .as_ref()
                .expect("a create-message request has a body");
            spec::assert_valid_create_body(body);
        }
    }
    let v = emu.violations();
    assert!(v.is_empty(), "emulator violations: {v:#?}");
}

/// The single line a failed command printed about its failure: stderr, apart from `warning:`
/// lines, must be exactly one line starting with `error: `. Returns it.
pub fn error_line(o: &Output) -> String {
    let err = stderr(o);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("warning:"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one error line, stderr was:\n{err}"
    );
    assert!(lines[0].starts_with("error: "), "stderr: {err}");
    lines[0].to_string()
}

/// Panics with the command's output unless it exited with `code`.
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status; stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// The embeds of a stored message.
pub fn embeds(m: &Value) -> Vec<Value> {
    m["embeds"].as_array().cloned().unwrap_or_default()
}

/// Descriptions of every embed of `messages`, in order, concatenated.
pub fn descriptions(messages: &[Value]) -> String {
    let parts: Vec<String> = messages
        .iter()
        .flat_map(embeds)
        .filter_map(|e| e["description"].as_str().map(str::to_string))
        .collect();
    // Undo the renderer's code-fence repairs at split points.
    alerter_discord::render::join_split(&parts)
}

/// `(name, value)` of every embed field of `messages`, in order.
pub fn fields(messages: &[Value]) -> Vec<(String, String)> {
    messages
        .iter()
        .flat_map(embeds)
        .flat_map(|e| e["fields"].as_array().cloned().unwrap_or_default())
        .map(|f| {
            (
                f["name"].as_str().unwrap_or("").to_string(),
                f["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Asserts every non-blank line of `expected` occurs in `haystack`, in order (each after the
/// previous one's end).
pub fn assert_lines_in_order(haystack: &str, expected: &str) {
    let mut at = 0;
    for (i, line) in expected.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match haystack[at..].find(line) {
            Some(p) => at += p + line.len(),
            None => panic!(
                "line {i} of the input ({line:?}) is missing from the output after byte {at}; \
                 output:\n{}",
                spec::truncate_for_log(haystack)
            ),
        }
    }
}

/// The stdout of a `--json` command, parsed.
pub fn stdout_json(o: &Output) -> Value {
    serde_json::from_str(stdout(o).trim())
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}

/// `message_ids` of a `--json` receipt as strings.
pub fn receipt_ids(receipt: &Value) -> Vec<String> {
    receipt["message_ids"]
        .as_array()
        .expect("message_ids array")
        .iter()
        .map(|v| v.as_str().expect("id string").to_string())
        .collect()
}

/// Ids of the stored messages of a channel, oldest first.
pub fn stored_ids(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The alerter config a library test or benchmark uses against `emu`: its token, its default
/// channel and its base URL.
pub fn spec_for(emu: &Emulator) -> alerter_host::config::AlerterSpec {
    alerter_host::config::AlerterSpec {
        flavor: "discord".into(),
        discord_token: Some(emu.token()),
        default_discord_channel_id: Some(emu.default_channel_id()),
        api_base_url: Some(emu.base_url()),
        ..alerter_host::config::AlerterSpec::default()
    }
}

/// `spec` resolved into one call's config, with its secrets store in `home`.
pub fn resolve_call(
    spec: &alerter_host::config::AlerterSpec,
    home: &Path,
) -> alerter_host::CallConfig {
    alerter_host::config::resolve(spec, &alerter_host::SecretStore::new(home), &|_| None)
        .expect("config")
        .call
}

#[cfg(test)]
mod tests {
    use super::assert_lines_in_order;

    #[test]
    fn lines_in_order_accepts_split_and_joined_text() {
        assert_lines_in_order("a\nb\n\nc", "a\n\nb\nc\n");
        assert_lines_in_order("xxaby", "a\nb");
    }

    #[test]
    #[should_panic(expected = "missing")]
    fn lines_in_order_catches_a_lost_line() {
        assert_lines_in_order("a\nc", "a\nb\nc");
    }

    #[test]
    #[should_panic(expected = "missing")]
    fn lines_in_order_catches_reordering() {
        assert_lines_in_order("b\na", "a\nb");
    }
}
