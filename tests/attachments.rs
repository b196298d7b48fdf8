//! Files, long logs, threads and partial receipts through `alerter post` (and `ask` in a
//! thread) against the emulator, every request checked against Discord's spec.

use std::path::Path;
use std::time::{Duration, Instant};

use alerter_e2e::*;
use serde_json::Value;

/// A tiny PNG (its signature and a header chunk): the emulator stores bytes, it does not decode.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

fn attachments(m: &Value) -> Vec<Value> {
    m["attachments"].as_array().cloned().unwrap_or_default()
}

/// The id in an emulator file URL (`.../_emulator/files/{channel}/{id}/{name}`).
fn file_id(url: &str) -> String {
    let parts: Vec<&str> = url.rsplit('/').collect();
    parts[1].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_170_kb_log_arrives_whole_in_one_message_under_discords_pace() {
    // Message creates at Discord's documented pace, 5 per 5 s per channel: split into dozens
    // of messages, this log ran into the delivery deadline after about 25 and failed.
    let emu = Emulator::start(Options {
        rate_limiter: true,
        bucket_limit: 5,
        bucket_window_ms: 5_000,
        ..Options::default()
    })
    .await
    .unwrap();
    let (home, cfg) = setup(&emu, "attach-log");
    let log: String = (0..4700)
        .map(|i| {
            format!(
                "epoch {i:05} step {:06} loss {:.5}\n",
                i * 100,
                2.0 / f64::from(i + 1)
            )
        })
        .collect::<String>()
        + "Traceback (most recent call last):\nRuntimeError: CUDA out of memory\n";
    assert!(log.len() > 170_000, "{}", log.len());
    let path = write(&home, "train.log", log.as_bytes());
    let started = Instant::now();
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--title",
            "Training failed",
            "--body-file",
            &path,
            "--json",
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 1, "{} messages", stored.len());
    let first = &stored[0];
    let description = first["embeds"][0]["description"].as_str().unwrap();
    assert!(description.starts_with("epoch 00000"), "{description}");
    assert!(
        description
            .trim_end()
            .ends_with("RuntimeError: CUDA out of memory"),
        "{description}"
    );
    let files = attachments(first);
    assert_eq!(files.len(), 1, "{first}");
    assert_eq!(files[0]["filename"], "body.txt");
    let (_, bytes) = emu
        .attachment(files[0]["id"].as_str().unwrap())
        .expect("stored");
    assert_eq!(bytes, log.as_bytes(), "the whole log, byte for byte");
    assert_eq!(receipt_ids(&stdout_json(&o)), stored_ids(&stored));
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_plot_shows_in_the_embed_and_files_ride_along() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let (home, cfg) = setup(&emu, "attach-plot");
    let plot = write(&home, "confusion_matrix.png", PNG);
    let csv = write(&home, "metrics.csv", b"epoch,loss\n1,0.5\n2,0.25\n");
    let o = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "post",
            "--title",
            "Evaluation",
            "--body",
            "accuracy 0.93",
            "--image",
            &plot,
            "--image",
            "https://example.com/remote.png",
            "--attach",
            &csv,
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored.len(), 1);
    let embeds = embeds(&stored[0]);
    let shown = embeds[0]["image"]["url"].as_str().unwrap();
    assert!(
        shown.ends_with("/confusion_matrix.png") && shown.contains("/_emulator/files/"),
        "{shown}"
    );
    let (ct, bytes) = emu.attachment(&file_id(shown)).expect("the plot is stored");
    assert_eq!((ct.as_str(), bytes.as_slice()), ("image/png", PNG));
    assert!(
        embeds
            .iter()
            .any(|e| e["image"]["url"] == "https://example.com/remote.png"),
        "URLs keep working: {embeds:?}"
    );
    let listed = attachments(&stored[0]);
    assert!(listed
        .iter()
        .any(|a| a["filename"] == "metrics.csv" && a["content_type"] == "text/csv"));
    let form = message_posts(&emu).pop().unwrap();
    let mut names: Vec<&str> = form.files.iter().map(|f| f.filename.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["confusion_matrix.png", "metrics.csv"]);
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn each_file_limit_is_refused_before_any_request() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("attach-limits");
    let cfg = config_with(
        &emu,
        &home,
        Some(&emu.token()),
        "max_attachment_bytes = 1000",
    );
    let cfg = cfg.to_str().unwrap();
    let small = write(&home, "ok.txt", b"fine");
    let big = write(&home, "big.bin", &[7u8; 1001]);
    let spaced = write(&home, "my plot.png", PNG);
    let svg = write(&home, "chart.svg", b"<svg/>");
    let eleven: Vec<String> = (0..11)
        .map(|i| write(&home, &format!("f{i}.txt"), b"x"))
        .collect();
    let mut cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--attach".into(), big], "1000 bytes per file"),
        (vec!["--attach".into(), spaced], "`my_plot.png`"),
        (vec!["--image".into(), svg], ".png"),
        (
            vec![
                "--attach".into(),
                home.join("missing.txt").to_string_lossy().into(),
            ],
            "cannot read --attach",
        ),
        (
            vec!["--attach".into(), home.to_string_lossy().into()],
            "not a regular file",
        ),
    ];
    cases.push((
        eleven
            .iter()
            .flat_map(|p| ["--attach".to_string(), p.clone()])
            .collect(),
        "at most 10",
    ));
    for (flags, expected) in cases {
        let mut args = vec!["--config", cfg, "post", "--title", "t", "--attach", &small];
        args.extend(flags.iter().map(String::as_str));
        let o = run_async(&home, &args, None).await;
        assert_exit(&o, 2);
        let line = error_line(&o);
        assert!(line.contains(expected), "{expected:?} not in {line}");
    }
    assert!(emu.requests().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_cut_short_names_its_parts_and_a_keyed_retry_posts_only_the_rest() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("attach-partial");
    // Split, not sent as a file: five parts.
    let cfg = config_with(&emu, &home, Some(&emu.token()), "long_body_max_parts = 0");
    let cfg = cfg.to_str().unwrap();
    let body: String = (0..480)
        .map(|i| format!("line {i:04} of a long report, nothing to see\n"))
        .collect();
    let path = write(&home, "report.txt", body.as_bytes());
    // The 3rd create fails for good (the bot lost Send Messages mid-post).
    let on_create = |kind| Fault {
        method: Some("POST".into()),
        path_contains: Some("/messages".into()),
        times: 1,
        kind,
    };
    emu.push_fault(Fault {
        times: 2,
        ..on_create(FaultKind::Delay { ms: 0 })
    });
    emu.push_fault(on_create(FaultKind::Status {
        status: 403,
        code: Some(50013),
    }));
    let args = [
        "--config",
        cfg,
        "post",
        "--title",
        "Report",
        "--body-file",
        &path,
        "--key",
        "report-2026-12-01",
        "--json",
    ];
    let o = run_async(&home, &args, None).await;
    assert_exit(&o, 3);
    let line = error_line(&o);
    let stored = emu.messages(&emu.default_channel_id());
    let first_two = stored_ids(&stored);
    assert_eq!(first_two.len(), 2, "{line}");
    assert!(line.contains("only 2 of 5 parts were posted"), "{line}");
    assert!(line.contains(&first_two.join(", ")), "{line}");
    assert!(line.contains("--key"), "{line}");
    let partial = stdout_json(&o);
    assert_eq!(partial["complete"], false);
    assert_eq!(partial["parts"], 5);
    assert_eq!(
        receipt_ids(&partial),
        first_two,
        "--json prints the ids made"
    );
    // Retried with the same key: the two made are returned, the three missing are created.
    let o = run_async(&home, &args, None).await;
    assert_exit(&o, 0);
    let ids = receipt_ids(&stdout_json(&o));
    assert_eq!(ids.len(), 5);
    assert_eq!(ids[..2], first_two[..]);
    let stored = emu.messages(&emu.default_channel_id());
    assert_eq!(stored_ids(&stored), ids, "nothing posted twice");
    assert_lines_in_order(&descriptions(&stored), &body);
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thread_is_started_per_run_and_a_post_can_go_into_one() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("attach-thread");
    let cfg = config_with(&emu, &home, Some(&emu.token()), "long_body_max_parts = 0");
    let cfg = cfg.to_str().unwrap();
    let body = "metrics look fine\n".repeat(500);
    let o = run_async(
        &home,
        &[
            "--config",
            cfg,
            "post",
            "--title",
            "Run 42",
            "--body",
            &body,
            "--thread-name",
            "run 42",
            "--json",
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let receipt = stdout_json(&o);
    let ids = receipt_ids(&receipt);
    assert!(ids.len() >= 2);
    let thread = receipt["thread_id"]
        .as_str()
        .expect("a thread id")
        .to_string();
    assert_eq!(thread, ids[0], "a thread started from a message has its id");
    let in_channel = emu.messages(&emu.default_channel_id());
    assert_eq!(
        stored_ids(&in_channel),
        ids[..1],
        "only the alert stays in the channel"
    );
    let in_thread: Vec<String> = stored_ids(&emu.messages(&thread))
        .into_iter()
        .filter(|id| ids.contains(id))
        .collect();
    assert_eq!(in_thread, ids[1..], "the rest went into the thread");
    // Into an existing thread.
    let existing = emu.add_thread(&emu.default_channel_id(), "deploys");
    let o = run_async(
        &home,
        &[
            "--config",
            cfg,
            "post",
            "--body",
            "deployed v3",
            "--thread",
            &existing,
            "--json",
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    assert_eq!(stdout_json(&o)["thread_id"], existing.as_str());
    assert!(emu
        .messages(&existing)
        .iter()
        .any(|m| m["content"] == "deployed v3"));
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ask_in_a_thread_is_answered_there() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let (home, cfg) = setup(&emu, "attach-ask-thread");
    let thread = emu.add_thread(&emu.default_channel_id(), "release 3.1");
    let alice = emu.add_user("alice", false);
    let child = spawn(
        &home,
        &[
            "--config",
            &cfg,
            "ask",
            "--body",
            "Ship 3.1?",
            "--thread",
            &thread,
            "--timeout",
            "20",
            "--poll-interval",
            "0.2",
            "--json",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let question = loop {
        if let Some(q) = emu
            .messages(&thread)
            .into_iter()
            .find(|m| m["author"]["id"] == emu.bot().id.as_str())
        {
            break q["id"].as_str().unwrap().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the question never arrived in the thread"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    emu.say(&thread, &alice.id, "LGTM", Some(&question));
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_exit(&out, 0);
    let answer = stdout_json(&out);
    assert_eq!(answer["decision"], "approved");
    assert_eq!(answer["responder"]["username"], "alice");
    assert_eq!(answer["channel_id"], thread.as_str());
    assert_clean(&emu, &emu.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_upload_fits_the_sandbox_and_too_much_is_refused_before_reading() {
    let emu = Emulator::start(Options {
        max_file_bytes: 12 << 20,
        ..Options::default()
    })
    .await
    .unwrap();
    let home = scratch("attach-large");
    let cfg = config_with(
        &emu,
        &home,
        Some(&emu.token()),
        "max_attachment_bytes = 12582912",
    );
    let cfg = cfg.to_str().unwrap();
    // 2 x 11 MiB: the component holds them and their form (about 44 MiB) within its 64 MiB.
    let a: Vec<u8> = (0..11u32 << 20).map(|i| (i % 251) as u8).collect();
    let big_a = write(&home, "a.bin", &a);
    let big_b = write(&home, "b.bin", &a[..(11 << 20) - 7]);
    let o = run_async(
        &home,
        &[
            "--config",
            cfg,
            "post",
            "--body",
            "two big files",
            "--attach",
            &big_a,
            "--attach",
            &big_b,
        ],
        None,
    )
    .await;
    assert_exit(&o, 0);
    let stored = emu.messages(&emu.default_channel_id());
    let files = attachments(&stored[0]);
    assert_eq!(files.len(), 2);
    let (_, got) = emu.attachment(files[0]["id"].as_str().unwrap()).unwrap();
    assert_eq!(got, a, "11 MiB arrive byte for byte");
    // Three of them add up past 25 MiB: refused before anything is read or sent.
    let before = emu.requests().len();
    let big_c = write(&home, "c.bin", &a);
    let o = run_async(
        &home,
        &[
            "--config", cfg, "post", "--body", "x", "--attach", &big_a, "--attach", &big_b,
            "--attach", &big_c,
        ],
        None,
    )
    .await;
    assert_exit(&o, 2);
    assert!(error_line(&o).contains("add up to"), "{}", error_line(&o));
    assert_eq!(emu.requests().len(), before);
    assert_clean(&emu, &emu.token());
}
