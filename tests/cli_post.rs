//! `alerter post` against the emulator: what arrives, where, and that it is valid Discord.

use alerter_e2e::*;

fn opts() -> Options {
    Options::default()
}

#[tokio::test(flavor = "multi_thread")]
async fn structured_post_json_receipt_matches_the_stored_embed() {
    let emu = Emulator::start(opts()).await.unwrap();
    let (home, cfg) = setup(&emu, "post-structured");
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--title",
            "Training finished",
            "--body",
            "accuracy 0.93 on the holdout set",
            "--meta",
            "epoch=12",
            "--meta",
            "version=1.10",
            "--meta",
            "threshold=2.0",
            "--meta",
            "loss=0.25",
            "--json",
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let receipt = stdout_json(&o);
    let channel = emu.default_channel_id();
    assert_eq!(receipt["channel_id"], channel.as_str());
    let stored = emu.messages(&channel);
    assert_eq!(stored.len(), 1);
    assert_eq!(receipt_ids(&receipt), stored_ids(&stored));
    let e = &embeds(&stored[0])[0];
    assert_eq!(e["title"], "Training finished");
    assert_eq!(e["description"], "accuracy 0.93 on the holdout set");
    // Values arrive as written: a version 1.10 is not the number 1.1.
    let shown = [
        ("epoch", "12"),
        ("version", "1.10"),
        ("threshold", "2.0"),
        ("loss", "0.25"),
    ];
    assert_eq!(
        fields(&stored),
        shown
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(stored[0]["author"]["id"], emu.bot().id.as_str());
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_body_becomes_content() {
    let emu = Emulator::start(opts()).await.unwrap();
    let (home, cfg) = setup(&emu, "post-plain");
    let o = run_async(
        &home,
        &["--config", &cfg, "post", "--body", "deploy finished"],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["content"], "deploy finished");
    assert!(embeds(&stored[0]).is_empty());
    // The human-readable receipt names the channel and the message.
    let out = stdout(&o);
    assert!(out.contains(&emu.default_channel_id()), "{out}");
    assert!(out.contains(stored[0]["id"].as_str().unwrap()), "{out}");
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn body_file_from_stdin_and_from_a_path() {
    let emu = Emulator::start(opts()).await.unwrap();
    let (home, cfg) = setup(&emu, "post-body-file");
    let from_stdin = "line one from stdin\nline two: ünïcödé ✅";
    let o = run_async(
        &home,
        &["--config", &cfg, "post", "--body-file", "-"],
        Some(from_stdin),
    )
    .await;
    assert_exit(&o, 0);
    let path = home.join("body.txt");
    let from_file = "from a file\n\twith a tab";
    std::fs::write(&path, from_file).unwrap();
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--body-file",
            path.to_str().unwrap(),
            "--json",
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0]["content"], from_stdin);
    assert_eq!(stored[1]["content"], from_file);
    assert_eq!(
        receipt_ids(&stdout_json(&o)),
        vec![stored[1]["id"].as_str().unwrap().to_string()]
    );
    assert_clean(&emu, &emu.token());
}

/// A Python-like traceback of at least `min_chars` characters; every line is distinct and no
/// line is a substring of another.
fn traceback(min_chars: usize) -> String {
    let mut s = String::from("Traceback (most recent call last):\n");
    let mut i = 0;
    while s.len() < min_chars {
        s.push_str(&format!(
            "  File \"/srv/pipelines/training/step_{i:04}.py\", line {}, in run_step_{i:04}\n    \
             result = trainer.fit(batch_{i:04}, lr=0.001, epochs=12)  # frame {i:04}\n",
            100 + i
        ));
        i += 1;
    }
    s.push_str("ValueError: loss is NaN after step 4242 (frame end)");
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn long_body_and_many_metadata_arrive_complete_in_ordered_replies() {
    let emu = Emulator::start(opts()).await.unwrap();
    let (home, cfg) = setup(&emu, "post-long");
    let body = traceback(12_000);
    assert!(body.chars().count() >= 12_000);
    let metas: Vec<String> = (0..40)
        .map(|i| format!("metric_{i:02}=value {i} of a fairly descriptive metadata entry"))
        .collect();
    let mut args: Vec<&str> = vec!["--config", &cfg, "post", "--title", "Nightly ETL failed"];
    for m in &metas {
        args.extend(["--meta", m.as_str()]);
    }
    args.extend(["--body-file", "-", "--json"]);
    let o = run_async(&home, &args, Some(&body)).await;
    assert_exit(&o, 0);

    let stored = emu.messages(&emu.default_channel_id());
    let n = stored.len();
    assert!(
        n >= 2,
        "a 12,000-character body needs several messages, got {n}"
    );
    assert_eq!(
        receipt_ids(&stdout_json(&o)),
        stored_ids(&stored),
        "receipt lists every message"
    );
    let first = stored[0]["id"].as_str().unwrap();
    assert!(stored[0].get("message_reference").is_none());
    for (k, m) in stored.iter().enumerate() {
        if k > 0 {
            assert_eq!(
                m["message_reference"]["message_id"],
                first,
                "part {} replies to the first",
                k + 1
            );
        }
        let last = embeds(m).pop().expect("every part has embeds");
        let footer = last["footer"]["text"].as_str().unwrap_or("");
        assert!(
            footer.contains(&format!("({}/{n})", k + 1)),
            "part {} footer {footer:?}",
            k + 1
        );
    }
    // Every metadata key, in order, with its value.
    let got: Vec<(String, String)> = fields(&stored)
        .into_iter()
        .filter(|(k, _)| k.starts_with("metric_"))
        .collect();
    let want: Vec<(String, String)> = metas
        .iter()
        .map(|m| {
            let (k, v) = m.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    assert_eq!(got, want);
    // The body: every line, in order.
    assert_lines_in_order(&descriptions(&stored), &body);
    assert_eq!(stored[0]["embeds"][0]["title"], "Nightly ETL failed");
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn mentions_in_text_ping_nobody() {
    let emu = Emulator::start(opts()).await.unwrap();
    let (home, cfg) = setup(&emu, "post-mentions");
    let alice = emu.add_user("alice", false);
    let role = emu.add_role("oncall");
    let text = format!(
        "@everyone @here look: <@{}> <@!{}> <@&{role}>",
        alice.id, alice.id
    );
    let o = run_async(&home, &["--config", &cfg, "post", "--body", &text], None).await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 1);
    let m = &stored[0];
    assert_eq!(m["content"], text.as_str(), "the text still shows");
    assert_eq!(m["mention_everyone"], false);
    assert_eq!(m["mentions"], serde_json::json!([]));
    assert_eq!(m["mention_roles"], serde_json::json!([]));
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn mention_role_pings_only_that_role() {
    let emu = Emulator::start(opts()).await.unwrap();
    let (home, cfg) = setup(&emu, "post-mention-role");
    let alice = emu.add_user("alice", false);
    let oncall = emu.add_role("oncall");
    let other = emu.add_role("everyone-else");
    let text = format!("@everyone <@{}> <@&{other}> disk full", alice.id);
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--body",
            &text,
            "--mention-role",
            &oncall,
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 1);
    let m = &stored[0];
    // The text, pings included, is in the content: where Discord would parse them.
    assert!(
        m["content"].as_str().unwrap().contains(&text),
        "{}",
        m["content"]
    );
    assert_eq!(m["mention_roles"], serde_json::json!([oncall]));
    assert_eq!(m["mention_everyone"], false);
    assert_eq!(m["mentions"], serde_json::json!([]));
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn mention_user_pings_only_that_user() {
    let emu = Emulator::start(opts()).await.unwrap();
    let (home, cfg) = setup(&emu, "post-mention-user");
    let alice = emu.add_user("alice", false);
    let bob = emu.add_user("bob", false);
    let text = format!("@everyone <@{}> please look", bob.id);
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--body",
            &text,
            "--mention-user",
            &alice.id,
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 1);
    let m = &stored[0];
    let pinged: Vec<&str> = m["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(pinged, vec![alice.id.as_str()]);
    assert_eq!(m["mention_everyone"], false);
    assert_eq!(m["mention_roles"], serde_json::json!([]));
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn channel_flag_overrides_the_default_and_images_arrive() {
    let emu = Emulator::start(opts()).await.unwrap();
    let (home, cfg) = setup(&emu, "post-channel");
    let other = emu.add_channel("ml-alerts");
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--channel",
            &other,
            "--title",
            "Plots",
            "--image",
            "https://example.com/loss.png",
            "--image",
            "https://example.com/acc.png",
            "--severity",
            "warning",
            "--json",
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    assert!(emu.messages(&emu.default_channel_id()).is_empty());
    let stored = emu.messages(&other);
    assert_eq!(stored.len(), 1);
    assert_eq!(stdout_json(&o)["channel_id"], other.as_str());
    let urls: Vec<String> = embeds(&stored[0])
        .iter()
        .filter_map(|e| e["image"]["url"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        urls,
        [
            "https://example.com/loss.png",
            "https://example.com/acc.png"
        ]
    );
    assert_clean(&emu, &emu.token());
}

/// A body with a code fence followed by a long token on the same line (minified JSON right after
/// ```) is one alert, and must stay a handful of messages.
#[tokio::test(flavor = "multi_thread")]
async fn fence_with_a_long_info_string_stays_a_few_messages() {
    let emu = Emulator::start(opts()).await.unwrap();
    let (home, cfg) = setup(&emu, "post-fence-info");
    let json: String = (0..320).map(|i| format!("{{\"k{i:03}\":{i}}},")).collect();
    let body = format!("payload:\n```{json}\nend\n```");
    assert!(
        body.len() > 3900,
        "long enough to be split inside the fence line"
    );
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--title",
            "Bad payload",
            "--body-file",
            "-",
        ],
        Some(&body),
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert!(
        stored.len() <= 3,
        "{} messages for a {}-character body",
        stored.len(),
        body.len()
    );
    assert_eq!(descriptions(&stored), body, "the body is recovered exactly");
    assert_clean(&emu, &emu.token());
}
