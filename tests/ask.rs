//! `ask` end to end: the library (Runtime) and the CLI, the Discord component, and the emulator
//! playing the people in the channel.

use std::time::{Duration, Instant};

use alerter_e2e::{config_for, run, scratch, stderr, stdout, Emulator, Options};
use alerter_emulator::{Fault, FaultKind};
use alerter_host::config::AlerterSpec;
use alerter_host::types::{AlerterMessage, AnswerVia, AskSettings, Decision, Message, Params};
use alerter_host::{CallConfig, Runtime};

fn runtime() -> &'static Runtime {
    static RT: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| Runtime::embedded().expect("component loads"))
}

fn call_config(emu: &Emulator) -> CallConfig {
    call_config_with(emu, None)
}

fn call_config_with(emu: &Emulator, delivery_deadline_seconds: Option<f64>) -> CallConfig {
    let spec = AlerterSpec {
        delivery_deadline_seconds,
        ..alerter_e2e::spec_for(emu)
    };
    alerter_e2e::resolve_call(&spec, &scratch("ask-home"))
}

fn question() -> Message {
    Message::Structured(AlerterMessage {
        title: Some("Deploy model v7 to production?".into()),
        body: Some("accuracy 0.93 on the holdout set".into()),
        metadata: vec![],
        images: vec![],
    })
}

fn settings(timeout_ms: u64) -> AskSettings {
    AskSettings {
        timeout_ms: Some(timeout_ms),
        poll_interval_ms: Some(200),
        ..AskSettings::default()
    }
}

fn params(s: AskSettings) -> Params {
    Params {
        ask: Some(s),
        ..Params::default()
    }
}

/// Wait until a new question from the bot (after `known` messages) is in the channel.
async fn question_id(emu: &Emulator, known: usize) -> String {
    let bot = emu.bot().id;
    for _ in 0..200 {
        if let Some(m) = emu
            .messages(&emu.default_channel_id())
            .into_iter()
            .skip(known)
            .find(|m| m["author"]["id"] == bot.as_str())
        {
            return m["id"].as_str().expect("id").to_string();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the question never arrived");
}

/// Run an ask in the background while `people` act in the channel.
async fn ask_with<F, Fut>(emu: &Emulator, p: Params, people: F) -> alerter_host::types::Answer
where
    F: FnOnce(Emulator, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let cfg = call_config(emu);
    let q = question();
    let timeout =
        Duration::from_millis(p.ask.as_ref().and_then(|a| a.timeout_ms).unwrap_or(300_000));
    let known = emu.messages(&emu.default_channel_id()).len();
    let task = tokio::spawn(async move { runtime().ask(&cfg, &q, &p, timeout).await });
    let qid = question_id(emu, known).await;
    people(emu.clone(), qid).await;
    let answer = task.await.expect("join").expect("ask succeeds");
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
    answer
}

async fn emulator() -> Emulator {
    Emulator::start(Options::default()).await.expect("emulator")
}

fn ch(emu: &Emulator) -> String {
    emu.default_channel_id()
}

#[tokio::test(flavor = "multi_thread")]
async fn bots_and_the_bot_itself_are_ignored_then_a_person_approves() {
    let emu = emulator().await;
    let other_bot = emu.add_user("ci-bot", true);
    let alice = emu.add_user("alice", false);
    let alice_id = alice.id.clone();
    let answer = ask_with(&emu, params(settings(20_000)), |emu, _q| async move {
        emu.say(&ch(&emu), &other_bot.id, "LGTM", None);
        emu.say(&ch(&emu), &emu.bot().id, "LGTM", None);
        tokio::time::sleep(Duration::from_millis(500)).await;
        emu.say(&ch(&emu), &alice.id, "LGTM", None);
    })
    .await;
    assert!(answer.approved);
    assert_eq!(answer.decision, Decision::Approved);
    let who = answer.responder.expect("responder");
    assert_eq!(
        (who.id.as_str(), who.username.as_str()),
        (alice_id.as_str(), "alice")
    );
    assert_eq!(answer.via, Some(AnswerVia::Message));
    assert_eq!(answer.keyword.as_deref(), Some("LGTM"));
    // The bot added its two reactions and edited the question with the outcome.
    let q = &emu.messages(&ch(&emu))[0];
    let names: Vec<&str> = q["reactions"]
        .as_array()
        .expect("reactions")
        .iter()
        .map(|r| r["emoji"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["✅", "❌"]);
    assert!(!q["edited_timestamp"].is_null());
    let last = q["embeds"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["title"], "✅ Approved");
    assert!(last["description"].as_str().unwrap().contains("alice"));
    assert!(
        q["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("`LGTM`"),
        "instructions shown"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lower_case_is_ignored_by_default_and_accepted_with_ignore_case() {
    let emu = emulator().await;
    let bob = emu.add_user("bob", false);
    let b = bob.clone();
    let answer = ask_with(&emu, params(settings(1_500)), |emu, _| async move {
        emu.say(&ch(&emu), &b.id, "lgtm", None);
    })
    .await;
    assert_eq!(answer.decision, Decision::TimedOut);
    assert!(!answer.approved);
    assert!(answer.responder.is_none());

    let mut s = settings(20_000);
    s.ignore_case = true;
    let answer = ask_with(&emu, params(s), |emu, _| async move {
        emu.say(&ch(&emu), &bob.id, "  lgtm ", None);
    })
    .await;
    assert_eq!(answer.decision, Decision::Approved);
}

#[tokio::test(flavor = "multi_thread")]
async fn reactions_approve_and_disapprove() {
    let emu = emulator().await;
    let carol = emu.add_user("carol", false);
    let c = carol.clone();
    let answer = ask_with(&emu, params(settings(20_000)), |emu, q| async move {
        emu.react(&ch(&emu), &q, "✅", &c.id);
    })
    .await;
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.via, Some(AnswerVia::Reaction));
    assert_eq!(answer.keyword.as_deref(), Some("✅"));
    assert_eq!(answer.responder.unwrap().id, carol.id);

    let answer = ask_with(&emu, params(settings(20_000)), |emu, q| async move {
        emu.react(&ch(&emu), &q, "❌", &carol.id);
    })
    .await;
    assert_eq!(answer.decision, Decision::Disapproved);
    assert!(!answer.approved);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_multi_word_keywords_replace_the_defaults() {
    let emu = emulator().await;
    let dan = emu.add_user("dan", false);
    let mut p = params(settings(20_000));
    p.approve_keywords = Some(vec!["ship it".into()]);
    p.disapprove_keywords = Some(vec!["hold the release".into()]);
    let answer = ask_with(&emu, p, |emu, q| async move {
        emu.say(&ch(&emu), &dan.id, "LGTM", Some(&q));
        emu.say(&ch(&emu), &dan.id, "hold the release", Some(&q));
    })
    .await;
    assert_eq!(answer.decision, Decision::Disapproved);
    assert_eq!(answer.keyword.as_deref(), Some("hold the release"));
    assert_eq!(answer.via, Some(AnswerVia::Reply));
}

/// The `after=` cursor of a message-list request, if it is one.
fn list_cursor(r: &alerter_emulator::RecordedRequest) -> Option<String> {
    if r.method != "GET" || !r.path.ends_with("/messages") {
        return None;
    }
    let query = r.query.as_deref()?;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("after="))
        .map(String::from)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_after_300_unrelated_messages_is_found_by_following_full_pages_at_once() {
    // 300 messages arrive faster than a poll interval; however the polls fall between them,
    // some round meets at least 100 new messages, so some page comes back full.
    let emu = emulator().await;
    let erin = emu.add_user("erin", false);
    let chatty = emu.add_user("chatty", false);
    let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let said = ids.clone();
    let answer = ask_with(&emu, params(settings(20_000)), |emu, qid| async move {
        let mut ids = said.lock().expect("ids");
        ids.push(qid);
        for i in 0..300 {
            ids.push(emu.say(
                &ch(&emu),
                &chatty.id,
                &format!("unrelated message {i}"),
                None,
            ));
        }
        ids.push(emu.say(&ch(&emu), &erin.id, "yes", None));
    })
    .await;
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.responder.unwrap().username, "erin");
    let ids = ids.lock().expect("ids").clone();
    let requests = emu.requests();
    let lists: Vec<_> = requests
        .iter()
        .filter(|r| list_cursor(r).is_some())
        .collect();
    assert!(lists.len() >= 2, "{} list requests", lists.len());
    assert!(
        lists
            .iter()
            .all(|r| r.query.as_deref().is_some_and(|q| q.contains("limit=100"))),
        "every page asks for 100"
    );
    // A full page is followed at once: the next request (before the round reads reactions)
    // lists again, from the 100th message of the full page.
    let followed = requests.windows(2).any(|w| {
        let (Some(from), Some(next)) = (list_cursor(&w[0]), list_cursor(&w[1])) else {
            return false;
        };
        let start = ids.iter().position(|id| *id == from);
        start.is_some_and(|i| ids.get(i + 100) == Some(&next))
    });
    assert!(
        followed,
        "no full page was followed by a list from its 100th message in the same round"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_listed_approvers_count() {
    let emu = emulator().await;
    let lead = emu.add_user("lead", false);
    let intern = emu.add_user("intern", false);
    let mut s = settings(20_000);
    s.approvers = vec![lead.id.clone()];
    let answer = ask_with(&emu, params(s), |emu, q| async move {
        emu.say(&ch(&emu), &intern.id, "LGTM", None);
        emu.react(&ch(&emu), &q, "❌", &intern.id);
        tokio::time::sleep(Duration::from_millis(600)).await;
        emu.say(&ch(&emu), &lead.id, "approve", None);
    })
    .await;
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.responder.unwrap().username, "lead");
}

#[tokio::test(flavor = "multi_thread")]
async fn role_based_approvers_are_checked_through_the_guild_member() {
    let emu = emulator().await;
    let sre = emu.add_role("sre");
    let oncall = emu.add_user("oncall", false);
    let dev = emu.add_user("dev", false);
    emu.grant_role(&oncall.id, &sre);
    let mut s = settings(20_000);
    s.approver_roles = vec![sre.clone()];
    let answer = ask_with(&emu, params(s), |emu, q| async move {
        emu.react(&ch(&emu), &q, "✅", &dev.id);
        tokio::time::sleep(Duration::from_millis(600)).await;
        emu.react(&ch(&emu), &q, "✅", &oncall.id);
    })
    .await;
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.responder.unwrap().username, "oncall");
    assert!(emu.requests().iter().any(|r| r.path.contains("/members/")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_approver_reaction_is_seen_when_the_count_does_not_change() {
    // An unentitled reaction is replaced by an entitled one between two polls: the count of
    // the emoji stays the same, and the approval must still be found.
    let emu = emulator().await;
    let lead = emu.add_user("lead", false);
    let intern = emu.add_user("intern", false);
    let mut s = settings(20_000);
    s.approvers = vec![lead.id.clone()];
    s.poll_interval_ms = Some(1_000);
    let answer = ask_with(&emu, params(s), |emu, q| async move {
        emu.react(&ch(&emu), &q, "✅", &intern.id);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        emu.unreact(&ch(&emu), &q, "✅", &intern.id);
        emu.react(&ch(&emu), &q, "✅", &lead.id);
    })
    .await;
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.responder.unwrap().username, "lead");
}

#[tokio::test(flavor = "multi_thread")]
async fn required_approvals_need_distinct_people() {
    let emu = emulator().await;
    let a = emu.add_user("a", false);
    let b = emu.add_user("b", false);
    let mut s = settings(20_000);
    s.required_approvals = Some(2);
    let answer = ask_with(&emu, params(s), |emu, q| async move {
        emu.say(&ch(&emu), &a.id, "LGTM", None);
        emu.say(&ch(&emu), &a.id, "yes", None);
        emu.react(&ch(&emu), &q, "✅", &a.id);
        tokio::time::sleep(Duration::from_millis(600)).await;
        emu.react(&ch(&emu), &q, "✅", &b.id);
    })
    .await;
    assert_eq!(answer.decision, Decision::Approved);
    let names: Vec<String> = answer
        .approvers
        .iter()
        .map(|r| r.username.clone())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_during_polling_is_waited_out() {
    let emu = emulator().await;
    let frank = emu.add_user("frank", false);
    emu.push_fault(Fault {
        method: Some("GET".into()),
        path_contains: Some("/messages".into()),
        times: 2,
        kind: FaultKind::RateLimited {
            retry_after: 0.5,
            global: false,
        },
    });
    let answer = ask_with(&emu, params(settings(20_000)), |emu, _| async move {
        emu.say(&ch(&emu), &frank.id, "ok", None);
    })
    .await;
    assert_eq!(answer.decision, Decision::Approved);
    let requests = emu.requests();
    let limited: Vec<usize> = (0..requests.len())
        .filter(|&i| requests[i].status == 429)
        .collect();
    assert_eq!(limited.len(), 2, "both faults bit");
    for i in limited {
        // The client waits retry_after (0.5 s), then sends the same request again.
        let (hit, next) = (&requests[i], &requests[i + 1]);
        assert_eq!(
            (&next.path, &next.query),
            (&hit.path, &hit.query),
            "the retry"
        );
        let waited = next.at_ms - hit.at_ms;
        assert!(
            waited >= 495,
            "retried after {waited} ms, before retry_after"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_read_in_a_failing_round_is_not_lost() {
    // Every read of the question (its reactions, its outcome record) fails from now on (502
    // past a 1 s delivery deadline) while the approver's reply arrives: the reply, read
    // earlier in a round whose later read fails, must decide. Throwing it away with the
    // failed round would lose it for good, since the cursor has moved past it.
    let emu = emulator().await;
    let ivy = emu.add_user("ivy", false);
    let cfg = call_config_with(&emu, Some(1.0));
    let q = question();
    let p = params(settings(30_000));
    let known = emu.messages(&ch(&emu)).len();
    let task =
        tokio::spawn(async move { runtime().ask(&cfg, &q, &p, Duration::from_secs(30)).await });
    let qid = question_id(&emu, known).await;
    emu.push_fault(Fault {
        method: Some("GET".into()),
        path_contains: Some(format!("/messages/{qid}")),
        times: 10_000,
        kind: FaultKind::Status {
            status: 502,
            code: None,
        },
    });
    emu.say(&ch(&emu), &ivy.id, "LGTM", None);
    let answer = task.await.expect("join").expect("ask succeeds");
    assert_eq!(answer.decision, Decision::Approved, "the reply was lost");
    assert_eq!(answer.responder.unwrap().username, "ivy");
    let failed = emu.requests().iter().filter(|r| r.status == 502).count();
    assert!(failed >= 1, "the faults did not bite: {failed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_intent_reactions_still_work() {
    let emu = emulator().await;
    emu.set_message_content_intent(false);
    let gina = emu.add_user("gina", false);
    let answer = ask_with(&emu, params(settings(20_000)), |emu, q| async move {
        emu.say(&ch(&emu), &gina.id, "LGTM", None); // arrives with empty content
        tokio::time::sleep(Duration::from_millis(500)).await;
        emu.react(&ch(&emu), &q, "✅", &gina.id);
    })
    .await;
    assert_eq!(answer.via, Some(AnswerVia::Reaction));
    let log = runtime().take_guest_log().join("\n");
    assert!(log.contains("MESSAGE_CONTENT"), "no intent notice in {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_exit_codes_and_json_record() {
    let emu = emulator().await;
    let home = scratch("ask-cli");
    let cfg = config_for(&emu, &home);
    let cfg = cfg.to_str().unwrap();

    // Timeout: exit 4, within a second of the limit. The component is compiled (into the
    // shared cache) first, so the time measured is the ask's, not the compiler's.
    assert!(run(&home, &["wit", "--imports"], None).status.success());
    let start = Instant::now();
    let out = run(
        &home,
        &[
            "--config",
            cfg,
            "ask",
            "--title",
            "Go?",
            "--timeout",
            "2",
            "--poll-interval",
            "0.25",
            "--json",
        ],
        None,
    );
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        took >= Duration::from_secs(2)
            && took < Duration::from_secs(3) + Duration::from_millis(500),
        "{took:?}"
    );
    let record: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(record["decision"], "timed-out");
    assert_eq!(record["approved"], false);

    // Disapproved: exit 1; the JSON record names who and how.
    let hank = emu.add_user("hank", false);
    let emu2 = emu.clone();
    let hank_id = hank.id.clone();
    let helper = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let before = emu2.messages(&emu2.default_channel_id()).len();
            loop {
                let msgs = emu2.messages(&emu2.default_channel_id());
                if msgs.len() > before {
                    let q = msgs.last().unwrap()["id"].as_str().unwrap().to_string();
                    emu2.say(&emu2.default_channel_id(), &hank_id, "reject", Some(&q));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    });
    let out = run(
        &home,
        &[
            "--config",
            cfg,
            "ask",
            "--title",
            "Go?",
            "--timeout",
            "30",
            "--poll-interval",
            "0.25",
            "--json",
        ],
        None,
    );
    helper.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let record: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(record["decision"], "disapproved");
    assert_eq!(record["responder"]["username"], "hank");
    assert_eq!(record["via"], "reply");
    assert_eq!(record["keyword"], "reject");
    assert!(record["question_message_id"].as_str().is_some());
    assert!(!stdout(&out).contains(&emu.token()) && !stderr(&out).contains(&emu.token()));

    // Invalid input: exit 2 and no request.
    let before = emu.requests().len();
    let out = run(
        &home,
        &[
            "--config",
            cfg,
            "ask",
            "--title",
            "Go?",
            "--approver",
            "alice",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("alice"));
    assert_eq!(emu.requests().len(), before);
}
