//! Posting through a channel webhook (no bot): `discord_webhook_url` in a config file or the
//! environment, its host on the allow-list, its token hidden everywhere, and `ask` refused.

use alerter_e2e::*;

fn webhook_config(dir: &std::path::Path, url: &str, extra: &str) -> String {
    let path = dir.join("webhook.toml");
    std::fs::write(
        &path,
        format!("discord_webhook_url = \"{url}\"\nlong_body_max_parts = 0\n{extra}\n"),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

/// No request carried an Authorization header, and every execute body is spec-valid.
fn assert_webhook_clean(emu: &Emulator) {
    for r in emu.requests() {
        assert!(
            !r.headers.iter().any(|(k, _)| k == "authorization"),
            "{} {} carried an Authorization header",
            r.method,
            r.path
        );
    }
    let v = emu.violations();
    assert!(v.is_empty(), "emulator violations: {v:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_alone_posts_long_alerts_and_files_and_its_host_is_allowed() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let hook = emu.add_webhook(&emu.default_channel_id(), "CI alerts");
    let home = scratch("webhook-post");
    // No api_base_url: the API base stays discord.com; the webhook's host (the emulator) is
    // what the allow-list gains, and where the post goes.
    let cfg = webhook_config(&home, &hook.url, "");
    let log = home.join("run.log");
    std::fs::write(&log, "all good\n".repeat(20)).unwrap();
    let body = "metric within bounds\n".repeat(300);
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--title",
            "Nightly",
            "--body",
            &body,
            "--attach",
            log.to_str().unwrap(),
            "--json",
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let ids = receipt_ids(&stdout_json(&o));
    assert!(ids.len() >= 2, "{ids:?}");
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored_ids(&stored), ids);
    for m in &stored {
        assert_eq!(m["webhook_id"], hook.id.as_str());
        assert_eq!(m["author"]["username"], "CI alerts");
    }
    assert_eq!(stored[0]["attachments"][0]["filename"], "run.log");
    assert_lines_in_order(&descriptions(&stored), &body);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        !all.contains(&hook.token),
        "the webhook token leaked: {all}"
    );
    assert!(stderr(&o).contains("webhook URL is written in the configuration as plain text"));
    assert_webhook_clean(&emu);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environment_alone_configures_a_webhook_job_and_ask_is_refused() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let hook = emu.add_webhook(&emu.default_channel_id(), "CI");
    let home = scratch("webhook-env");
    let env = [("ALERTER_DISCORD_WEBHOOK_URL", hook.url.as_str())];
    let o = run_with_env(&home, &["post", "--body", "deploy done"], &env);
    assert_exit(&o, 0);
    assert!(emu
        .messages(&emu.default_channel_id())
        .iter()
        .any(|m| m["content"] == "deploy done"));
    let o = run_with_env(
        &home,
        &["ask", "--body", "Ship it?", "--timeout", "5"],
        &env,
    );
    assert_exit(&o, 2);
    let line = error_line(&o);
    assert!(line.contains("ask needs a bot token"), "{line}");
    // A failure names the webhook without its token.
    emu.push_fault(Fault {
        method: Some("POST".into()),
        path_contains: Some("/webhooks/".into()),
        times: 1,
        kind: FaultKind::Status {
            status: 500,
            code: None,
        },
    });
    let o = run_with_env(&home, &["post", "--body", "x"], &env);
    assert_exit(&o, 3);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        !all.contains(&hook.token),
        "the webhook token leaked: {all}"
    );
    assert_eq!(
        emu.requests()
            .iter()
            .filter(|r| r.path.contains("/webhooks/"))
            .count(),
        2,
        "the first post, then the 500, not retried (a webhook post cannot be deduplicated)"
    );
    assert_webhook_clean(&emu);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registered_webhook_is_read_from_stdin_and_never_shown() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let hook = emu.add_webhook(&emu.default_channel_id(), "CI");
    let home = scratch("webhook-register");
    let o = run(
        &home,
        &[
            "register",
            "ci",
            "--flavor=discord",
            "--discord_webhook_url",
            "-",
        ],
        Some(&format!("{}\n", hook.url)),
    );
    assert_exit(&o, 0);
    let o = run(&home, &["describe", "ci", "--json"], None);
    assert_exit(&o, 0);
    assert!(!stdout(&o).contains(&hook.token), "{}", stdout(&o));
    let o = run(
        &home,
        &["--alerter", "ci", "post", "--body", "from the registry"],
        None,
    );
    assert_exit(&o, 0);
    assert!(emu
        .messages(&emu.default_channel_id())
        .iter()
        .any(|m| m["content"] == "from the registry"));
    assert_webhook_clean(&emu);
}
