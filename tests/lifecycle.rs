//! An approval gate through a real pipeline's life, against the emulator: the CLI stopped by
//! SIGINT / SIGTERM, a runner killed with -9 and the step retried with the same key, the steps
//! (`open`, `wait`, `close`) driven by separate runtimes as separate processes would, a
//! Cloudflare ban while polling, and reminders and escalation pings.

use std::time::{Duration, Instant};

use alerter_e2e::{
    assert_exit, embeds, run_async, setup, spawn, stderr, stdout_json, Emulator, Fault, FaultKind,
    Options,
};
use alerter_host::types::{
    AskSettings, CloseReason, Decision, Message, Params, QuestionRef, WaitStatus,
};
use alerter_host::{CallConfig, Runtime};
use serde_json::Value;

async fn emulator() -> Emulator {
    Emulator::start(Options::default()).await.expect("emulator")
}

fn runtime() -> Runtime {
    Runtime::embedded().expect("component loads")
}

fn call_config(emu: &Emulator) -> CallConfig {
    alerter_e2e::resolve_call(&alerter_e2e::spec_for(emu), &alerter_e2e::scratch("life"))
}

fn ask_params(s: AskSettings) -> Params {
    Params {
        ask: Some(AskSettings {
            poll_interval_ms: Some(200),
            ..s
        }),
        ..Params::default()
    }
}

/// The bot's messages in the default channel.
fn bot_messages(emu: &Emulator) -> Vec<Value> {
    let bot = emu.bot().id;
    emu.messages(&emu.default_channel_id())
        .into_iter()
        .filter(|m| m["author"]["id"] == bot.as_str())
        .collect()
}

/// Wait until the bot has posted `n` messages; returns the first one's id.
async fn first_bot_message(emu: &Emulator, n: usize) -> String {
    for _ in 0..500 {
        let mine = bot_messages(emu);
        if mine.len() >= n {
            return mine[0]["id"].as_str().expect("id").to_string();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the bot never posted {n} messages");
}

/// The question as it is stored now.
fn stored(emu: &Emulator, id: &str) -> Value {
    emu.messages(&emu.default_channel_id())
        .into_iter()
        .find(|m| m["id"] == id)
        .expect("the question is in the channel")
}

/// The outcome embed the guest appended to the question (its last embed), as text.
fn outcome_text(question: &Value) -> String {
    embeds(question)
        .last()
        .map(|e| {
            format!(
                "{} | {}",
                e["title"].as_str().unwrap_or(""),
                e["description"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_default()
}

/// Wait for a child process at most `limit`; kill it if it is still running.
async fn wait_child(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("alerter still running after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.wait_with_output().expect("output")
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_and_sigterm_stop_the_wait_and_mark_the_question_cancelled() {
    for (signal, code, word) in [("-INT", 130, "interrupted"), ("-TERM", 143, "terminated")] {
        let emu = emulator().await;
        let (home, cfg) = setup(&emu, &format!("signal{code}"));
        let child = spawn(
            &home,
            &[
                "--config",
                &cfg,
                "ask",
                "--title",
                "Deploy?",
                "--timeout",
                "600",
                "--poll-interval",
                "0.2",
            ],
        );
        let pid = child.id().to_string();
        let qid = first_bot_message(&emu, 1).await;
        tokio::time::sleep(Duration::from_millis(400)).await; // polling by now
        let sent = Instant::now();
        let kill = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(kill.success());
        let out = wait_child(child, Duration::from_secs(10)).await;
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "{signal}: took {:?}",
            sent.elapsed()
        );
        assert_exit(&out, code);
        assert!(stderr(&out).contains(word), "{signal}: {}", stderr(&out));
        let text = outcome_text(&stored(&emu, &qid));
        assert!(
            text.contains("Cancelled") && text.contains(word),
            "{signal}: the question does not say it was cancelled: {text}"
        );
        assert_eq!(bot_messages(&emu).len(), 1, "nothing else was posted");
        assert!(emu.violations().is_empty(), "{:?}", emu.violations());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_ask_resumes_by_key_and_a_decided_key_answers_at_once() {
    let emu = emulator().await;
    let (home, cfg) = setup(&emu, "resume");
    let alice = emu.add_user("alice", false);
    let args = [
        "--config",
        &cfg,
        "ask",
        "--title",
        "Deploy build 42?",
        "--timeout",
        "600",
        "--poll-interval",
        "0.2",
        "--key",
        "deploy-42",
        "--json",
    ];
    // The runner dies (kill -9) while the question is open; alice approves while nothing waits.
    let mut first = spawn(&home, &args);
    let qid = first_bot_message(&emu, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill().expect("kill -9");
    let _ = first.wait();
    emu.react(&emu.default_channel_id(), &qid, "✅", &alice.id);

    // The retried step finds the open question by its key and the approval given meanwhile.
    let retry = run_async(&home, &args, None).await;
    assert_exit(&retry, 0);
    let answer = stdout_json(&retry);
    assert_eq!(answer["decision"], "approved", "{answer}");
    assert_eq!(answer["responder"]["id"], alice.id.as_str());
    assert_eq!(answer["responder"]["username"], "alice");
    assert_eq!(answer["question_message_id"], qid.as_str());
    assert_eq!(bot_messages(&emu).len(), 1, "no second question");
    assert!(outcome_text(&stored(&emu, &qid)).contains("Approved"));

    // A third run with the key answers from the question itself, at once.
    let polls_before = emu.requests().len();
    let start = Instant::now();
    let third = run_async(&home, &args, None).await;
    assert_exit(&third, 0);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let again = stdout_json(&third);
    assert_eq!(again["responder"], answer["responder"]);
    assert_eq!(again["via"], "reaction");
    assert_eq!(again["keyword"], "✅");
    assert_eq!(bot_messages(&emu).len(), 1, "still one question");
    let patches = emu.requests()[polls_before..]
        .iter()
        .filter(|r| r.method != "GET")
        .count();
    assert_eq!(patches, 0, "a decided key changes nothing in the channel");
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_steps_resume_in_another_runtime_and_a_withdrawn_reaction_does_not_count() {
    let emu = emulator().await;
    let cfg = call_config(&emu);
    let (alice, bob) = (emu.add_user("alice", false), emu.add_user("bob", false));
    let params = ask_params(AskSettings {
        timeout_ms: Some(60_000),
        required_approvals: Some(2),
        ..AskSettings::default()
    });
    let question = Message::Text("Ship it? Two approvals needed.".into());
    let opened = runtime()
        .open(&cfg, &question, &params)
        .await
        .expect("open");
    assert!(opened.posted && opened.answer.is_none());
    let q: QuestionRef = opened.question;
    let ch = emu.default_channel_id();

    // Alice approves and takes it back; bob approves. One approval now: still open.
    emu.react(&ch, &q.message_id, "✅", &alice.id);
    let first = runtime()
        .wait(&cfg, &q, &params, Duration::ZERO, None)
        .await
        .expect("wait");
    let WaitStatus::Open(p) = first else {
        panic!("decided with one of two: {first:?}")
    };
    assert_eq!(p.approvers.len(), 1);
    emu.unreact(&ch, &q.message_id, "✅", &alice.id);
    emu.react(&ch, &q.message_id, "✅", &bob.id);
    // With the first wait's resume hint: the round is due a poll interval after the last.
    let second = runtime()
        .wait(&cfg, &q, &params, Duration::from_secs(1), Some(&p.resume))
        .await
        .expect("wait");
    let WaitStatus::Open(p) = second else {
        panic!("alice's withdrawn reaction still counted: {second:?}")
    };
    assert_eq!(
        p.approvers
            .iter()
            .map(|r| r.username.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );

    // Alice replies LGTM: two approvals. A fresh runtime (another process) with no hint sees
    // it, from the channel alone.
    emu.say(&ch, &alice.id, "LGTM", Some(&q.message_id));
    let done = runtime()
        .wait(&cfg, &q, &params, Duration::from_secs(5), None)
        .await
        .expect("wait");
    let WaitStatus::Done(answer) = done else {
        panic!("not decided: {done:?}")
    };
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.approvers.len(), 2);
    runtime()
        .close(&cfg, &q, &params, &CloseReason::Answered(answer))
        .await
        .expect("close");
    assert!(outcome_text(&stored(&emu, &q.message_id)).contains("Approved"));
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloudflare_ban_while_polling_backs_off_and_never_traps() {
    let emu = emulator().await;
    let cfg = call_config(&emu);
    let rt = runtime();
    let params = ask_params(AskSettings {
        timeout_ms: Some(12_000),
        ..AskSettings::default()
    });
    let opened = rt
        .open(&cfg, &Message::Text("Deploy?".into()), &params)
        .await
        .expect("open");
    // From now on every read of the channel is refused the way Cloudflare refuses a banned IP.
    emu.push_fault(Fault {
        method: Some("GET".into()),
        path_contains: Some("/channels/".into()),
        times: 10_000,
        kind: FaultKind::CloudflareBan,
    });
    let before = emu.requests().len();
    // One long wait, then the same as a host with an event loop drives it: 500 ms waits in a
    // loop, each passing on the last one's resume hint, so the backoff carries over.
    let long = rt
        .wait(
            &cfg,
            &opened.question,
            &params,
            Duration::from_secs(6),
            None,
        )
        .await
        .expect("a ban is waited out, not an error");
    let WaitStatus::Open(progress) = long else {
        panic!("{long:?}")
    };
    let mut resume = progress.resume;
    let answer = loop {
        match rt
            .wait(
                &cfg,
                &opened.question,
                &params,
                Duration::from_millis(500),
                Some(&resume),
            )
            .await
            .expect("not an error")
        {
            WaitStatus::Open(p) => resume = p.resume,
            WaitStatus::Done(a) => break a,
        }
    };
    assert_eq!(answer.decision, Decision::TimedOut);
    let reads = emu.requests().len() - before;
    // Without backoff: a read every 200 ms, 60 in 12 s (and 2 a second for the 500 ms waits
    // if they forgot the backoff). With it, the gaps grow.
    assert!(reads <= 15, "{reads} requests in 12 s of a ban");
    let log = rt.take_guest_log();
    let warnings = log.iter().filter(|l| l.starts_with("warning")).count();
    assert!((1..=12).contains(&warnings), "warnings: {log:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_and_the_escalation_ping_only_the_ids_given() {
    let emu = emulator().await;
    let (home, cfg) = setup(&emu, "remind");
    let oncall = emu.add_user("oncall", false);
    let leads = emu.add_role("leads");
    let out = run_async(
        &home,
        &[
            "--config",
            &cfg,
            "ask",
            "--title",
            "Deploy?",
            "--timeout",
            "3.5",
            "--poll-interval",
            "0.2",
            "--mention-user",
            &oncall.id,
            "--remind-every",
            "1",
            "--escalate-after",
            "2",
            "--escalate-role",
            &leads,
            "--json",
        ],
        None,
    )
    .await;
    assert_exit(&out, 4);
    let answer = stdout_json(&out);
    let replies: Vec<Value> = emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .filter_map(|r| r.body)
        .filter(|b| b.get("message_reference").is_some())
        .collect();
    let pinging = |role: bool| {
        replies
            .iter()
            .filter(|b| {
                let m = &b["allowed_mentions"];
                assert_eq!(m["parse"], serde_json::json!([]), "{b}");
                assert_eq!(m["replied_user"], false, "{b}");
                if role {
                    m["roles"] == serde_json::json!([leads.as_str()])
                } else {
                    m["users"] == serde_json::json!([oncall.id.as_str()])
                        && m["roles"].as_array().is_none_or(Vec::is_empty)
                }
            })
            .count()
    };
    let reminders = pinging(false);
    assert!(
        (2..=3).contains(&reminders),
        "{reminders} reminders in 3.5 s: {replies:?}"
    );
    assert_eq!(pinging(true), 1, "one escalation: {replies:?}");
    assert_eq!(reminders + 1, replies.len(), "nothing else was replied");
    assert_eq!(answer["reminders_sent"], reminders as u64);
    assert_eq!(answer["escalated"], true);
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}

/// `call_config` with another CPU budget and refill rate.
fn with_cpu(emu: &Emulator, budget: Duration, refill: Duration) -> CallConfig {
    let mut cfg = call_config(emu);
    let mut policy = (*cfg.policy).clone();
    policy.cpu_budget = budget;
    policy.cpu_refill = refill;
    cfg.policy = std::sync::Arc::new(policy);
    cfg
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_ask_outlives_a_cpu_budget_its_rounds_add_up_to() {
    let emu = emulator().await;
    // A busy channel: people chat (deciding nothing) while the question waits, so every
    // round reads and matches new messages.
    let chatter = {
        let (emu, dev) = (emu.clone(), emu.add_user("dev", false));
        tokio::spawn(async move {
            for i in 0.. {
                emu.say(
                    &emu.default_channel_id(),
                    &dev.id,
                    &format!("build {i} is green"),
                    None,
                );
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        })
    };
    let params = ask_params(AskSettings {
        timeout_ms: Some(6_000),
        ..AskSettings::default()
    });
    let budget = Duration::from_millis(BUDGET_MS);
    let question = Message::Text("Deploy?".into());
    let rt = runtime();
    let refilled = with_cpu(&emu, budget, Duration::from_millis(100));
    let answer = rt
        .ask(&refilled, &question, &params, Duration::from_secs(6))
        .await
        .expect("waiting earns the CPU that 30 rounds need");
    assert_eq!(answer.decision, Decision::TimedOut);
    // The same ask on one purse runs dry: the rounds really add up to more than the budget.
    let one_purse = with_cpu(&emu, budget, Duration::ZERO);
    let start = Instant::now();
    match rt
        .ask(&one_purse, &question, &params, Duration::from_secs(6))
        .await
    {
        Err(alerter_host::CallError::Sandbox(m)) => {
            assert!(m.contains("CPU"), "{m}");
            // Well before the end: the margin that keeps this test meaningful.
            assert!(
                start.elapsed() < Duration::from_millis(4_500),
                "ran dry only after {:?}",
                start.elapsed()
            );
        }
        other => panic!("30 rounds fit {budget:?} without refill; lower it: {other:?}"),
    }
    chatter.abort();
}

/// A CPU budget a little above what opening a question takes, and far below what 30 rounds
/// with chatter take.
const BUDGET_MS: u64 = 3;

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_discord_still_lets_the_guest_report_its_outcome() {
    // The host's bound is the ask's timeout plus one delivery deadline per step (open, last
    // round, final edit) plus the slack, so a last round and an edit that each take most of a
    // delivery deadline still end in the guest's own answer, not a host deadline.
    let emu = emulator().await;
    let mut cfg = call_config(&emu);
    cfg.settings
        .insert("delivery_deadline_seconds".into(), "2".into());
    let mut policy = (*cfg.policy).clone();
    policy.slack = Duration::from_millis(300);
    cfg.policy = std::sync::Arc::new(policy);
    let params = ask_params(AskSettings {
        timeout_ms: Some(1_500),
        ..AskSettings::default()
    });
    for path in ["/messages", "/messages/"] {
        emu.push_fault(Fault {
            method: Some(if path == "/messages" { "GET" } else { "PATCH" }.into()),
            path_contains: Some(path.into()),
            times: 1_000,
            kind: FaultKind::Delay { ms: 800 },
        });
    }
    let start = Instant::now();
    let answer = runtime()
        .ask(
            &cfg,
            &Message::Text("Deploy?".into()),
            &params,
            Duration::from_millis(1_500),
        )
        .await
        .expect("the guest's own timeout, not the host's deadline");
    assert_eq!(answer.decision, Decision::TimedOut);
    assert!(
        start.elapsed() > Duration::from_millis(1_500 + 800),
        "{:?}",
        start.elapsed()
    );
    let q = stored(&emu, &answer.question_message_id);
    assert!(
        outcome_text(&q).contains("Timed out"),
        "the slow edit landed: {q}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_that_came_before_the_ask_posts_nothing() {
    // The caller is gone before the ask starts (its cancel is ready): nothing is sent, and
    // the error says no question was posted.
    let emu = emulator().await;
    let cfg = call_config(&emu);
    let rt = runtime();
    let params = ask_params(AskSettings::default());
    let question = Message::Text("Deploy?".into());
    let r = rt
        .ask_until(&cfg, &question, &params, Duration::from_secs(60), async {
            "the caller went away".to_string()
        })
        .await;
    match r {
        Err(e @ alerter_host::CallError::Cancelled { question: None, .. }) => {
            assert!(
                e.to_string().contains("before its question was posted"),
                "{e}"
            );
        }
        other => panic!("expected a cancel with nothing posted: {other:?}"),
    }
    assert!(emu.requests().is_empty(), "{:?}", emu.requests());
}
