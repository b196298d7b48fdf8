//! `alerter post` failures: the exit code, one clear line on stderr, and what reached Discord
//! (nothing for bad input; exactly one request, never retried, when Discord says no).

use alerter_e2e::*;

/// Runs `post` with `args` against a fresh emulator and asserts exit 2, an error line that
/// mentions every one of `needles` (case-insensitive), and that no request reached the emulator.
async fn rejected_before_sending(tag: &str, args: &[&str], config: Option<&str>, needles: &[&str]) {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let (home, default_cfg) = setup(&emu, tag);
    let cfg = match config {
        Some(extra) => config_with(&emu, &home, None, extra)
            .to_string_lossy()
            .into_owned(),
        None => default_cfg,
    };
    let mut full = vec!["--config", cfg.as_str(), "post"];
    full.extend_from_slice(args);
    let o = run_async(&home, &full, None).await;
    assert_exit(&o, 2);
    let line = error_line(&o).to_lowercase();
    for n in needles {
        assert!(
            line.contains(&n.to_lowercase()),
            "{tag}: error line lacks {n:?}: {line}"
        );
    }
    assert!(
        stdout(&o).trim().is_empty(),
        "{tag}: stdout {:?}",
        stdout(&o)
    );
    let requests = emu.requests();
    assert!(
        requests.is_empty(),
        "{tag}: {} request(s) reached Discord: {:?}",
        requests.len(),
        requests
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_message_is_a_usage_error() {
    rejected_before_sending("err-empty", &[], None, &["nothing to send"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn blank_body_is_a_usage_error() {
    rejected_before_sending("err-blank", &["--body", "   \n  "], None, &["empty"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn channel_that_is_not_a_snowflake_is_rejected() {
    rejected_before_sending(
        "err-channel",
        &["--channel", "general", "--body", "x"],
        None,
        &["general", "channel"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_token_is_a_config_error() {
    rejected_before_sending("err-token", &["--body", "x"], Some(""), &["token"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mention_user_that_is_not_an_id_is_rejected() {
    rejected_before_sending(
        "err-mention",
        &["--body", "x", "--mention-user", "abc"],
        None,
        &["abc", "user"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mention_role_that_is_not_an_id_is_rejected() {
    rejected_before_sending(
        "err-mention-role",
        &["--body", "x", "--mention-role", "@oncall"],
        None,
        &["@oncall", "role"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn file_image_url_is_rejected() {
    rejected_before_sending(
        "err-image",
        &["--title", "plot", "--image", "file:///etc/passwd"],
        None,
        &["file:///etc/passwd", "image"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_meta_is_rejected() {
    rejected_before_sending(
        "err-meta",
        &["--meta", "novalue"],
        None,
        &["novalue", "KEY=VALUE"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nonexistent_config_file_is_a_usage_error() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("err-config");
    let missing = home.join("does-not-exist.toml");
    let o = run_async(
        &home,
        &["--config", missing.to_str().unwrap(), "post", "--body", "x"],
        None,
    )
    .await;
    assert_exit(&o, 2);
    let line = error_line(&o);
    assert!(line.contains("does-not-exist.toml"), "{line}");
    assert!(emu.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_token_is_refused_once_and_never_printed() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("err-wrong-token");
    let wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4.wrong.token-that-must-not-leak";
    let cfg = config_with(&emu, &home, Some(wrong), "");
    let o = run_async(
        &home,
        &["--config", cfg.to_str().unwrap(), "post", "--body", "x"],
        None,
    )
    .await;
    assert_exit(&o, 3);
    let line = error_line(&o).to_lowercase();
    assert!(
        line.contains("token") && (line.contains("refused") || line.contains("401")),
        "{line}"
    );
    let requests = emu.requests();
    assert_eq!(requests.len(), 1, "a 401 is never retried: {requests:?}");
    assert_eq!(requests[0].status, 401);
    for (name, text) in [("stdout", stdout(&o)), ("stderr", stderr(&o))] {
        assert!(!text.contains(wrong), "{name} leaks the token: {text}");
        assert!(
            !text.contains("wrong.token-that"),
            "{name} leaks part of the token: {text}"
        );
    }
    assert!(emu.messages(&emu.default_channel_id()).is_empty());
    // The request itself was well-formed and carried the configured token.
    assert_clean(&emu, wrong);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_channel_says_it_does_not_exist() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let (home, cfg) = setup(&emu, "err-unknown-channel");
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--channel",
            "123456789012345678",
            "--body",
            "x",
        ],
        None,
    )
    .await;
    assert_exit(&o, 3);
    let line = error_line(&o).to_lowercase();
    assert!(
        line.contains("channel") && line.contains("does not exist"),
        "{line}"
    );
    let requests = emu.requests();
    assert_eq!(requests.len(), 1, "a 404 is never retried: {requests:?}");
    assert_eq!(requests[0].status, 404);
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn hidden_channel_says_the_bot_lacks_access() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let (home, cfg) = setup(&emu, "err-hidden-channel");
    emu.hide_channel(&emu.default_channel_id());
    let o = run_async(&home, &["--config", &cfg, "post", "--body", "x"], None).await;
    assert_exit(&o, 3);
    let line = error_line(&o).to_lowercase();
    assert!(
        line.contains("view channel") || line.contains("access"),
        "{line}"
    );
    let requests = emu.requests();
    assert_eq!(requests.len(), 1, "a 403 is never retried: {requests:?}");
    assert_eq!(requests[0].status, 403);
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn api_base_that_is_not_a_url_is_a_config_error() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("err-api-base");
    let cfg = home.join("bad-base.toml");
    std::fs::write(
        &cfg,
        format!(
            "discord_token = \"{}\"\ndefault_discord_channel_id = \"{}\"\napi_base_url = \"ftp://{}\"\n",
            emu.token(),
            emu.default_channel_id(),
            emu.addr()
        ),
    )
    .unwrap();
    let o = run_async(
        &home,
        &["--config", cfg.to_str().unwrap(), "post", "--body", "x"],
        None,
    )
    .await;
    assert_exit(&o, 2);
    assert!(error_line(&o).contains("api_base_url"), "{}", stderr(&o));
    assert!(emu.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_base_that_would_expose_the_token_is_a_config_error() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let (home, cfg) = setup(&emu, "err-clear-text");
    let with_userinfo = format!("http://ci:hunter2@{}/api/v10", emu.addr());
    for (base, needle) in [
        ("http://discord.com/api/v10", "unencrypted"),
        (with_userinfo.as_str(), "user name or password"),
    ] {
        let o = run_with_env(
            &home,
            &["--config", &cfg, "post", "--body", "x"],
            &[("ALERTER_API_BASE_URL", base)],
        );
        assert_exit(&o, 2);
        let line = error_line(&o);
        assert!(
            line.contains("api_base_url") && line.contains(needle),
            "{base}: {line}"
        );
        assert!(!stderr(&o).contains("hunter2"), "{}", stderr(&o));
    }
    assert!(emu.requests().is_empty());
}
