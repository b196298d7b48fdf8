//! `alerter call`: one call as JSON on stdin, one JSON line on stdout. The interface the Python
//! package drives, so its promises are checked here from the outside: inline config with the
//! token never printed, typed metadata, typed errors with their fields and exit codes, and an
//! ask that stops (and marks its question) when the caller's stdin closes.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use alerter_e2e::*;
use serde_json::{json, Value};

/// The inline config for `emu`, with its token as a literal (as a Python caller sends it).
fn config(emu: &Emulator) -> Value {
    json!({
        "discord_token": emu.token(),
        "default_discord_channel_id": emu.default_channel_id(),
        "api_base_url": emu.base_url(),
    })
}

/// Run `alerter call` with `request` on stdin; returns (exit code, the stdout line as JSON,
/// stdout and stderr as text).
async fn call(home: &std::path::Path, request: &Value) -> (i32, Value, String) {
    let o = run_async(home, &["call"], Some(&request.to_string())).await;
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "one line on stdout: {out}\nstderr: {}",
        stderr(&o)
    );
    let v: Value = serde_json::from_str(lines[0]).expect("stdout is JSON");
    (
        o.status.code().unwrap_or(-1),
        v,
        format!("{out}{}", stderr(&o)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_structured_post_keeps_metadata_types_and_never_prints_the_token() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("call-post");
    let request = json!({
        "verb": "post",
        "config": config(&emu),
        "message": {"title": "Run finished", "body": "all good",
                    "metadata": [["version", "1.10"], ["epoch", 12], ["accuracy", 0.93], ["ok", true]]},
        "params": {"severity": "success", "payload": {"pipeline_name": "training"}},
    });
    let (code, v, all) = call(&home, &request).await;
    assert_eq!(code, 0, "{all}");
    assert_eq!(v["ok"], true);
    let ids = receipt_ids(&v["result"]);
    assert_eq!(ids.len(), 1);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored_ids(&stored), ids);
    let f = fields(&stored);
    for (k, want) in [
        ("version", "1.10"),
        ("epoch", "12"),
        ("accuracy", "0.93"),
        ("Pipeline", "training"),
    ] {
        assert!(
            f.iter().any(|(n, val)| n.contains(k) && val.contains(want)),
            "field {k}={want} missing from {f:?}"
        );
    }
    assert!(!all.contains(&emu.token()), "the token was printed: {all}");
    // A literal token inline is expected: no warning about plain tokens in files.
    assert!(!all.contains("warning:"), "{all}");
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_typed_with_their_fields_and_exit_codes() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("call-errors");
    let hidden = emu.add_channel("secret-plans");
    emu.hide_channel(&hidden);
    let cases = [
        // (request changes, exit code, kind, a field that must be set)
        (
            json!({"params": {"channel_id": hidden}}),
            3,
            "forbidden",
            Some(("code", json!(50001))),
        ),
        (
            json!({"params": {"channel_id": "general"}}),
            2,
            "invalid-input",
            None,
        ),
        (json!({"message": ""}), 2, "invalid-input", None),
        (
            json!({"config": {"discord_token": "not-the-token", "api_base_url": emu.base_url(),
                           "default_discord_channel_id": emu.default_channel_id()}}),
            3,
            "unauthorized",
            Some(("status", json!(401))),
        ),
        (
            json!({"config": {"discord_token": emu.token(), "api_base_url": emu.base_url()}}),
            2,
            "invalid-config",
            None,
        ),
        (
            json!({"config": {"discord_token": "{{nope.discord_token}}", "api_base_url": emu.base_url()}}),
            2,
            "invalid-config",
            None,
        ),
        (json!({"mesage": "typo"}), 2, "invalid-input", None),
    ];
    for (change, want_code, want_kind, field) in cases {
        let mut request = json!({"verb": "post", "config": config(&emu), "message": "hello"});
        for (k, v) in change.as_object().unwrap() {
            request[k] = v.clone();
        }
        let (code, v, all) = call(&home, &request).await;
        assert_eq!(
            (code, &v["ok"]),
            (want_code, &json!(false)),
            "{request}: {all}"
        );
        assert_eq!(v["error"]["kind"], want_kind, "{request}: {all}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        if let Some((name, want)) = field {
            assert_eq!(v["error"][name], want, "{request}: {all}");
        }
        assert!(!all.contains(&emu.token()), "the token was printed: {all}");
    }
}

/// `alerter --component <the hostile one> call` with `egress URL` as the post's text: the
/// component sends a GET to `url`.
async fn hostile_egress(home: &std::path::Path, emu: &Emulator, url: &str) -> std::process::Output {
    let request =
        json!({"verb": "post", "config": config(emu), "message": format!("egress {url}")});
    run_async(
        home,
        &["--component", env!("SANDBOX_COMPONENT"), "call"],
        Some(&request.to_string()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_off_the_policy_is_denied_and_logged_and_never_sent() {
    // The hostile component asks for a host the policy does not allow (another server on
    // this machine): the request is denied, the denial logged, and nothing reaches it.
    let emu = Emulator::start(Options::default()).await.unwrap();
    let other = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("call-egress");
    let target = format!("{}/users/@me", other.base_url());
    let o = hostile_egress(&home, &emu, &target).await;
    let all = format!("{}{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).expect("stdout is JSON");
    assert_eq!(v["error"]["kind"], "transport", "{all}");
    assert_eq!(o.status.code(), Some(3), "{all}");
    assert!(
        stderr(&o).contains(&format!("egress denied: GET {target}")),
        "{all}"
    );
    assert!(other.requests().is_empty(), "the denied request was sent");
    // The same call to the API base is let through, so the denial was the policy's.
    let o = hostile_egress(&home, &emu, &format!("{}/users/@me", emu.base_url())).await;
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(!emu.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_base_off_the_policy_is_refused_before_anything_is_sent() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("call-denied");
    // Plain http to a host that is not loopback is refused before anything is sent.
    let mut cfg = config(&emu);
    cfg["api_base_url"] = json!("http://10.255.255.1:9/api/v10");
    let (code, v, all) = call(
        &home,
        &json!({"verb": "post", "config": cfg, "message": "x"}),
    )
    .await;
    assert_eq!(code, 2, "{all}");
    assert_eq!(v["error"]["kind"], "invalid-config");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api_base_url"),
        "{all}"
    );
    assert!(emu.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ask_whose_caller_is_already_gone_posts_nothing() {
    // stdin is closed before the ask starts: nothing is posted, no reaction, no ping, and
    // the result says why.
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("call-gone");
    let request = json!({
        "verb": "ask", "config": config(&emu), "message": {"title": "Deploy?"},
        "params": {"ask": {"timeout_seconds": 60}},
    });
    let o = run_async(
        &home,
        &["call", "--stop-on-eof"],
        Some(&format!("{request}\n")),
    )
    .await;
    let all = format!("{}{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).expect("JSON");
    assert_eq!(v["error"]["kind"], "cancelled", "{all}");
    assert_eq!(v["error"]["reason"], "the caller went away", "{all}");
    assert_eq!(v["error"]["question"], Value::Null, "{all}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("before its question was posted")),
        "{all}"
    );
    assert!(
        emu.messages(&emu.default_channel_id()).is_empty(),
        "a question was posted for a caller already gone"
    );
    let writes: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ask_stops_and_marks_its_question_when_the_caller_goes_away() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("call-eof");
    let request = json!({
        "verb": "ask", "config": config(&emu), "message": {"title": "Deploy?"},
        "params": {"ask": {"timeout_seconds": 60, "poll_interval_seconds": 0.2}},
    });
    let mut child = std::process::Command::new(alerter_bin())
        .args(["call", "--stop-on-eof"])
        .env("ALERTER_HOME", &home)
        .env("ALERTER_CACHE_DIR", shared_cache())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{request}").unwrap();
    // Wait until the question is up, then go away.
    let started = Instant::now();
    while emu.messages(&emu.default_channel_id()).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no question posted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stdin);
    let o = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the ask kept waiting"
    );
    let v: Value = serde_json::from_str(stdout(&o).trim()).expect("JSON");
    assert_eq!(v["error"]["kind"], "cancelled", "{v}");
    assert_eq!(v["error"]["reason"], "the caller went away");
    assert_eq!(v["error"]["marked"], true);
    let q = &emu.messages(&emu.default_channel_id())[0];
    let text = q.to_string().to_lowercase();
    assert!(
        text.contains("cancelled"),
        "the question was not marked: {q}"
    );
}
