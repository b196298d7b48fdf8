//! `alerter hook success|failure`: ZenML's run notifications, delivered whole and valid.

use alerter_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn success_hook_names_the_run() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let (home, cfg) = setup(&emu, "hook-success");
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "hook",
            "success",
            "--pipeline",
            "training",
            "--run",
            "run-42",
            "--step",
            "trainer",
            "--stack",
            "prod-k8s",
            "--param",
            "lr=0.1",
            "--json",
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 1);
    assert_eq!(receipt_ids(&stdout_json(&o)), stored_ids(&stored));
    let e = &embeds(&stored[0])[0];
    assert_eq!(e["title"], "Pipeline Success Notification");
    let f = fields(&stored);
    for (name, value) in [
        ("Pipeline", "training"),
        ("Run", "run-42"),
        ("Step", "trainer"),
        ("Stack", "prod-k8s"),
    ] {
        assert!(
            f.iter().any(|(n, v)| n == name && v == value),
            "no field {name}={value}: {f:?}"
        );
    }
    assert!(
        f.iter().any(|(n, v)| n.contains("lr") && v == "0.1"),
        "parameter missing: {f:?}"
    );
    assert_clean(&emu, &emu.token());
}

/// A ~`chars`-character traceback with distinct lines, ending in the exception line.
fn traceback(chars: usize) -> String {
    let mut s = String::from("Traceback (most recent call last):\n");
    let mut i = 0;
    while s.len() < chars {
        s.push_str(&format!(
            "  File \"/srv/app/model/layer_{i:03}.py\", line {}, in forward_{i:03}\n    \
             out = self.block_{i:03}(x) * scale  # depth {i:03}\n",
            10 + i
        ));
        i += 1;
    }
    s.push_str("ValueError: loss is NaN (raised at depth end)");
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn failure_hook_delivers_the_whole_traceback_in_balanced_code_blocks() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let (home, cfg) = setup(&emu, "hook-failure");
    let tb = traceback(8000);
    let last_line = tb.lines().last().unwrap().to_string();
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "hook",
            "failure",
            "--pipeline",
            "training",
            "--run",
            "run-43",
            "--exception-type",
            "ValueError",
            "--exception-message",
            "loss is NaN",
            "--traceback-file",
            "-",
            "--json",
        ],
        Some(&tb),
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert!(!stored.is_empty());
    assert_eq!(receipt_ids(&stdout_json(&o)), stored_ids(&stored));
    assert_eq!(stored[0]["embeds"][0]["title"], "Pipeline Failure Alert");

    // The first message alone tells what happened.
    let first = descriptions(&stored[..1]);
    assert!(first.contains("ValueError"), "{first}");
    assert!(
        first.contains(&last_line),
        "first message lacks the last traceback line"
    );
    assert!(fields(&stored[..1])
        .iter()
        .any(|(n, v)| n == "Pipeline" && v == "training"));

    // Nothing lost: every traceback line, in order, across the parts.
    assert_lines_in_order(&descriptions(&stored), &tb);
    // Every description is valid markdown as far as code blocks go.
    for (k, m) in stored.iter().enumerate() {
        for e in embeds(m) {
            if let Some(d) = e["description"].as_str() {
                assert_eq!(
                    d.matches("```").count() % 2,
                    0,
                    "part {}: unbalanced ``` in {d}",
                    k + 1
                );
            }
        }
    }
    // 8000 characters cannot fit one message (two descriptions of at most 4096 plus the
    // lead exceed 6000 per message), so this always checks the replies.
    assert!(
        stored.len() > 1,
        "an 8000-character traceback fit one message"
    );
    let first_id = stored[0]["id"].as_str().unwrap();
    for m in &stored[1..] {
        assert_eq!(m["message_reference"]["message_id"], first_id);
    }
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn failure_hook_without_traceback_still_names_the_exception() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let (home, cfg) = setup(&emu, "hook-failure-short");
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "hook",
            "failure",
            "--pipeline",
            "etl",
            "--run",
            "nightly",
            "--exception-type",
            "KeyError",
            "--exception-message",
            "'customer_id'",
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 1);
    let d = descriptions(&stored);
    assert!(d.contains("KeyError") && d.contains("'customer_id'"), "{d}");
    assert_clean(&emu, &emu.token());
}
