//! `open`, `wait` and `close` as separate steps over the simulated channel: stateless resume,
//! the shared deadline, the wait's slice, catching up page by page, the outcome record, and
//! each step bounded by one delivery.

use super::sim::*;
use crate::ask::close::with_outcome;
use crate::ask::{close, open, wait};
use crate::bindings::{AlertError, AnswerVia, CloseReason, Decision, Message, WaitStatus};
use crate::discord::fake::response;
use crate::discord::Method;
use crate::render::{limits, Embed, Footer};
use crate::snowflake;

const MS: u64 = 1_000_000;

fn opened_id(svc: &mut crate::service::Service<Sim>, p: &crate::bindings::Params) -> String {
    let o = open(svc, &question(), p).unwrap();
    assert!(o.posted && o.answer.is_none());
    o.question.message_id
}

#[test]
fn open_posts_once_with_reactions_and_shows_the_deadline_on_one_line() {
    let mut svc = service(Sim::new(), 30_000);
    let p = params(|_| {});
    let o = open(&mut svc, &question(), &p).unwrap();
    let sim = of(&mut svc);
    let id: u64 = o.question.message_id.parse().unwrap();
    assert_eq!(o.asked_at, snowflake::rfc3339(snowflake::unix_ms(id)));
    assert_eq!(o.question.channel_id, CHANNEL);
    assert_eq!(
        sim.requests(),
        [
            format!("POST /channels/{CHANNEL}/messages"),
            format!("PUT /channels/{CHANNEL}/messages/{id}/reactions/%E2%9C%85/@me"),
            format!("PUT /channels/{CHANNEL}/messages/{id}/reactions/%E2%9D%8C/@me"),
        ],
        "no key: nothing to look up first"
    );
    let q = &sim.messages[&id];
    let text = q.embeds[0]["description"].as_str().unwrap();
    let until = (snowflake::unix_ms(id) + 60_000) / 1000;
    assert!(
        text.ends_with(&format!("Open until <t:{until}:f> (<t:{until}:R>).")),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
}

#[test]
fn a_new_process_resumes_with_the_two_ids_and_reads_from_the_question_on() {
    let p = params(|s| s.required_approvals = Some(2));
    let mut svc = service(Sim::new(), 30_000);
    let id = opened_id(&mut svc, &p);
    let now = of(&mut svc).now;
    of(&mut svc).events.push((now, Event::React(ALICE, "✅")));
    let WaitStatus::Open(progress) = wait(&mut svc, &qref(&id), &p, 0, None).unwrap() else {
        panic!("one approval of two")
    };
    let names: Vec<&str> = progress
        .approvers
        .iter()
        .map(|r| r.username.as_str())
        .collect();
    assert_eq!(names, ["alice"]);

    // Another process, knowing only the channel and the question's id.
    let mut svc = restart(svc, 30_000);
    let now = of(&mut svc).now;
    of(&mut svc)
        .events
        .push((now + 3 * SEC, Event::Say(BOB, "LGTM", true)));
    let before = of(&mut svc).sent.len();
    let WaitStatus::Done(answer) = wait(&mut svc, &qref(&id), &p, 10_000, None).unwrap() else {
        panic!("bob's reply decides")
    };
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.via, Some(AnswerVia::Reply));
    let names: Vec<&str> = answer
        .approvers
        .iter()
        .map(|r| r.username.as_str())
        .collect();
    assert_eq!(names, ["alice", "bob"], "alice's reaction still counts");
    let requests = &of(&mut svc).requests()[before..];
    assert_eq!(requests[0], "GET /users/@me");
    assert_eq!(
        requests[1],
        format!("GET /channels/{CHANNEL}/messages?after={id}&limit=100")
    );
}

#[test]
fn the_deadline_counts_from_when_the_question_was_asked() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let id = opened_id(&mut svc, &p);
    let asked = snowflake::unix_ms(id.parse().unwrap());
    of(&mut svc).now += 50 * SEC; // another process waited before, or nobody did
    let WaitStatus::Done(answer) = wait(&mut svc, &qref(&id), &p, 3_600_000, None).unwrap() else {
        panic!("the timeout passes");
    };
    assert_eq!(answer.decision, Decision::TimedOut);
    let ended = snowflake::parse_rfc3339(&answer.answered_at).unwrap();
    assert!(
        (asked + 60_000..asked + 60_100).contains(&ended),
        "ended {} ms after the question, not 60 s after the wait began",
        ended - asked
    );
}

#[test]
fn past_the_deadline_one_last_round_still_finds_an_earlier_answer() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let id = opened_id(&mut svc, &p);
    of(&mut svc).now += 30 * SEC;
    of(&mut svc).say(ALICE, "LGTM", None);
    of(&mut svc).now += 5 * 60 * SEC; // the waiting process was down past the deadline
    let WaitStatus::Done(answer) = wait(&mut svc, &qref(&id), &p, 60_000, None).unwrap() else {
        panic!("done");
    };
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(of(&mut svc).sleeps, [] as [u64; 0], "one round, no waiting");

    let mut svc = service(Sim::new(), 30_000);
    let id = opened_id(&mut svc, &p);
    of(&mut svc).now += 5 * 60 * SEC;
    let WaitStatus::Done(answer) = wait(&mut svc, &qref(&id), &p, 60_000, None).unwrap() else {
        panic!("done");
    };
    assert_eq!(answer.decision, Decision::TimedOut);
    let gets = of(&mut svc)
        .requests()
        .iter()
        .filter(|r| r.contains("messages?after="))
        .count();
    assert_eq!(gets, 1, "exactly one last round");
}

#[test]
fn ask_ends_at_its_timeout_even_when_discords_clock_runs_ahead() {
    // Discord's ids say the question was asked 3 s later than our clock: the deadline by the
    // wall clock is 3 s late, but `ask` still waits no longer than its timeout.
    let p = params(|s| s.timeout_ms = Some(5_000));
    let mut sim = Sim::new();
    sim.skew_ms = 3_000;
    let start = sim.now;
    let mut svc = service(sim, 30_000);
    let answer = crate::ask::ask(&mut svc, &question(), &p).unwrap();
    assert_eq!(answer.decision, Decision::TimedOut);
    let took = of(&mut svc).now - start;
    assert!(took <= 5 * SEC + 20 * MS, "took {} ms", took / MS);
    let q = &of(&mut svc).messages[&answer.question_message_id.parse().unwrap()];
    assert_eq!(
        q.embeds.last().unwrap()["title"],
        "⌛ Timed out: no decision"
    );
}

#[test]
fn a_wait_returns_open_when_its_slice_runs_out_and_zero_means_one_round() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let id = opened_id(&mut svc, &p);
    let start = of(&mut svc).now;
    let status = wait(&mut svc, &qref(&id), &p, 5_000, None).unwrap();
    assert!(matches!(status, WaitStatus::Open(ref p) if p.approvers.is_empty()));
    let sim = of(&mut svc);
    assert!(
        sim.sleeps.iter().sum::<u64>() <= 5 * SEC,
        "{:?}",
        sim.sleeps
    );
    assert!((5 * SEC..=5 * SEC + 20 * MS).contains(&(sim.now - start)));
    let rounds = sim
        .requests()
        .iter()
        .filter(|r| r.contains("?after="))
        .count();
    assert_eq!(
        rounds, 5,
        "at 0, 1, 2, 3 and 4 s: the one due just after 5 s is the next call's"
    );

    // A poll interval longer than what is left of the slice: no round is started early.
    let slow = params(|s| s.poll_interval_ms = Some(2_000));
    let mark = of(&mut svc).sleeps.len();
    assert!(matches!(
        wait(&mut svc, &qref(&id), &slow, 3_000, None).unwrap(),
        WaitStatus::Open(_)
    ));
    let slept: u64 = of(&mut svc).sleeps[mark..].iter().sum();
    assert!(slept <= 3 * SEC, "slept {} ms in a 3 s slice", slept / MS);

    let before = of(&mut svc).sent.len();
    assert!(matches!(
        wait(&mut svc, &qref(&id), &p, 0, None).unwrap(),
        WaitStatus::Open(_)
    ));
    let sim = of(&mut svc);
    let rounds = sim.requests()[before..]
        .iter()
        .filter(|r| r.contains("?after="))
        .count();
    assert_eq!(rounds, 1);
}

#[test]
fn a_long_catch_up_keeps_every_page_read_when_a_later_page_fails() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 300);
    let id = opened_id(&mut svc, &p);
    let sim = of(&mut svc);
    let ids: Vec<u64> = (0..350).map(|_| sim.say(CAROL, "chatter", None)).collect();
    sim.say(ALICE, "LGTM", None);
    // The fourth page fails on its first two tries: the round ends there.
    let failing = format!("after={}&", ids[299]);
    let mut tries = 0;
    sim.fault = Some(Box::new(move |r, _| {
        (r.url.contains(&failing) && {
            tries += 1;
            tries <= 2
        })
        .then(|| response(500, r#"{"message":"boom","code":0}"#, &[]))
    }));
    let WaitStatus::Done(answer) = wait(&mut svc, &qref(&id), &p, 30_000, None).unwrap() else {
        panic!("alice decides");
    };
    assert_eq!(answer.decision, Decision::Approved);
    let pages: Vec<String> = of(&mut svc)
        .requests()
        .into_iter()
        .filter(|r| r.contains("?after="))
        .collect();
    let after = |id: &dyn std::fmt::Display| {
        format!("GET /channels/{CHANNEL}/messages?after={id}&limit=100")
    };
    assert_eq!(
        pages,
        [
            after(&id),
            after(&ids[99]),
            after(&ids[199]),
            after(&ids[299]),
            after(&ids[299]),
            after(&ids[299]),
        ],
        "the second round starts where the first one failed"
    );
}

#[test]
fn the_bots_own_messages_never_answer_continuation_parts_included() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let long = Message::Text(format!("Deploy?\n{}", "line of log\n".repeat(300)));
    let o = open(&mut svc, &long, &p).unwrap();
    let id: u64 = o.question.message_id.parse().unwrap();
    assert_eq!(of(&mut svc).replies(id).len(), 1, "a second part");
    of(&mut svc).say(BOT, "LGTM", Some(id));
    let WaitStatus::Open(progress) = wait(&mut svc, &o.question, &p, 0, None).unwrap() else {
        panic!("nobody answered");
    };
    assert!(progress.approvers.is_empty());
    assert!(
        of(&mut svc).notices.is_empty(),
        "{:?}",
        of(&mut svc).notices
    );
}

#[test]
fn a_cancelled_question_says_so_and_a_later_wait_is_refused() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let id = opened_id(&mut svc, &p);
    let posted = of(&mut svc).messages[&id.parse().unwrap()].embeds.clone();
    close(
        &mut svc,
        &qref(&id),
        &p,
        &CloseReason::Cancelled("interrupted".into()),
    )
    .unwrap();
    let embeds = of(&mut svc).messages[&id.parse().unwrap()].embeds.clone();
    assert_eq!(embeds.len(), 2);
    assert_eq!(embeds[0], posted[0], "the question stays as it was");
    assert_eq!(embeds[1]["title"], "🛑 Cancelled");
    assert_eq!(
        embeds[1]["description"],
        "Nobody is waiting for an answer any more (interrupted); answers given now are not read."
    );
    let err = wait(&mut svc, &qref(&id), &p, 0, None).unwrap_err();
    assert_eq!(
        err,
        AlertError::InvalidInput(
            "the question was cancelled (interrupted); ask again: a new question is needed".into()
        )
    );
}

#[test]
fn a_question_is_closed_once_and_its_record_is_what_wait_returns() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let id = opened_id(&mut svc, &p);
    let now = of(&mut svc).now;
    of(&mut svc).events.push((now, Event::React(ALICE, "✅")));
    let WaitStatus::Done(answer) = wait(&mut svc, &qref(&id), &p, 5_000, None).unwrap() else {
        panic!("alice decides");
    };
    close(
        &mut svc,
        &qref(&id),
        &p,
        &CloseReason::Answered(answer.clone()),
    )
    .unwrap();
    let patches = |svc: &mut crate::service::Service<Sim>| {
        of(svc).sent.iter().filter(|s| s.0 == Method::Patch).count()
    };
    assert_eq!(patches(&mut svc), 1);
    // A late cancel (or a retried close) changes nothing.
    close(
        &mut svc,
        &qref(&id),
        &p,
        &CloseReason::Cancelled("late".into()),
    )
    .unwrap();
    assert_eq!(patches(&mut svc), 1);
    // Alice takes her ✅ back and bob declines afterwards: another process resuming still
    // gets the recorded answer, not what the reactions would say now.
    let now = of(&mut svc).now;
    of(&mut svc).events.push((now, Event::Unreact(ALICE, "✅")));
    of(&mut svc).events.push((now, Event::React(BOB, "❌")));
    let mut svc = restart(svc, 30_000);
    let WaitStatus::Done(again) = wait(&mut svc, &qref(&id), &p, 5_000, None).unwrap() else {
        panic!("closed");
    };
    assert_eq!(again, answer);
}

#[test]
fn a_gate_only_one_repeated_approver_could_pass_is_refused_before_any_request() {
    let p = params(|s| {
        s.approvers = vec![ALICE.to_string(), ALICE.to_string()];
        s.required_approvals = Some(2);
    });
    let mut svc = service(Sim::new(), 30_000);
    match open(&mut svc, &question(), &p) {
        Err(AlertError::InvalidInput(m)) => assert_eq!(
            m,
            "2 approvals are required but only 1 distinct approvers are listed"
        ),
        other => panic!("{other:?}"),
    }
    assert!(of(&mut svc).sent.is_empty());
}

#[test]
fn bad_question_ids_are_refused_before_any_request() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let mut q = qref("abc");
    let err = wait(&mut svc, &q, &p, 0, None).unwrap_err();
    assert_eq!(
        err,
        AlertError::InvalidInput(
            "question message id `abc` is not a Discord id (17-20 digits)".into()
        )
    );
    q.message_id = "222222222222222222".into();
    q.channel_id = "general".into();
    let reason = CloseReason::Cancelled(String::new());
    assert!(matches!(
        close(&mut svc, &q, &p, &reason),
        Err(AlertError::InvalidInput(m)) if m.starts_with("channel id `general`")
    ));
    assert!(of(&mut svc).sent.is_empty());
}

/// Every request fails once with a 500, then works: each retry backs off 125-250 ms.
fn flaky() -> Fault {
    let mut seen = std::collections::HashSet::new();
    Box::new(move |r, _| {
        seen.insert(format!("{:?} {}", r.method, r.url))
            .then(|| response(500, r#"{"message":"boom","code":0}"#, &[]))
    })
}

#[test]
fn open_and_each_round_are_one_delivery_each() {
    // Three requests that each need a retry take longer than one delivery deadline of 300 ms
    // together: the step is cut there instead of every request getting its own 300 ms.
    let p = params(|_| {});
    let mut sim = Sim::new();
    sim.fault = Some(flaky());
    let mut svc = service(sim, 300);
    let start = of(&mut svc).now;
    let opened = open(&mut svc, &question(), &p);
    let took = of(&mut svc).now - start;
    assert!(took <= 300 * MS, "open took {} ms", took / MS);
    assert!(opened.is_ok(), "the post itself got through: {opened:?}");
    assert!(
        of(&mut svc).notices.iter().any(|n| n.contains("reaction")),
        "a reaction ran out of time: {:?}",
        of(&mut svc).notices
    );
    let id = opened.unwrap().question.message_id;
    let start = of(&mut svc).now;
    let status = wait(&mut svc, &qref(&id), &p, 0, None).unwrap();
    assert!(matches!(status, WaitStatus::Open(_)));
    let took = of(&mut svc).now - start;
    assert!(took <= 300 * MS, "the round took {} ms", took / MS);
}

fn text_embed(description: usize, fields: usize) -> Embed {
    Embed {
        title: Some("t".into()),
        description: Some("d".repeat(description)),
        fields: (0..fields)
            .map(|i| crate::render::Field {
                name: format!("f{i}"),
                value: "v".repeat(100),
                inline: false,
            })
            .collect(),
        ..Embed::default()
    }
}

fn outcome(len: usize) -> Embed {
    Embed {
        title: Some("✅ Approved".into()),
        description: Some("x".repeat(len)),
        footer: Some(Footer {
            text: "alerter outcome".into(),
        }),
        ..Embed::default()
    }
}

#[test]
fn the_outcome_makes_room_within_discords_limits_keeping_the_first_embed() {
    let total = |e: &[Embed]| e.iter().map(Embed::text_len).sum::<usize>();
    // Ten embeds: the last of the question gives way.
    let mut ten: Vec<Embed> = (0..10).map(|_| text_embed(10, 0)).collect();
    ten[0].footer = Some(Footer {
        text: "alerter key: k".into(),
    });
    let out = with_outcome(ten.clone(), outcome(50));
    assert_eq!(out.len(), limits::EMBEDS);
    assert_eq!(out[..9], ten[..9]);
    // A question near 6000 characters: descriptions are cut, the last one's first, with a mark.
    let full = vec![text_embed(3000, 0), text_embed(2900, 0)];
    let out = with_outcome(full, outcome(500));
    assert!(total(&out) <= limits::EMBED_TOTAL, "{}", total(&out));
    assert_eq!(out[0].description.as_deref().unwrap().len(), 3000);
    assert!(out[1].description.as_deref().unwrap().ends_with('…'));
    assert_eq!(out[2], outcome(500));
    // Nothing left to cut but fields: they go, then the later embeds; the first stays.
    let fields = vec![text_embed(1, 25), text_embed(1, 25)];
    let out = with_outcome(fields, outcome(3500));
    assert!(total(&out) <= limits::EMBED_TOTAL, "{}", total(&out));
    assert_eq!(out[0].title.as_deref(), Some("t"));
    assert_eq!(out.last(), Some(&outcome(3500)));
}

/// An outcome whose embed text is `len` long.
fn outcome_of(len: usize) -> Embed {
    outcome(len - outcome(0).text_len())
}

#[test]
fn a_cut_description_fills_the_6000_characters_exactly_and_never_splits_a_character() {
    let total = |e: &[Embed]| e.iter().map(Embed::text_len).sum::<usize>();
    let body = |e: &Embed| e.description.clone().unwrap();
    // 427 over: the last description loses 428 characters and gets the mark.
    let out = with_outcome(vec![text_embed(3000, 0), text_embed(2900, 0)], outcome(500));
    assert_eq!(total(&out), limits::EMBED_TOTAL);
    assert_eq!(body(&out[1]), format!("{}…", "d".repeat(2900 - 428)));
    // Two UTF-16 units a character: an odd room left keeps one unit free.
    let mut emoji = text_embed(0, 0);
    emoji.description = Some("😀".repeat(1450));
    let out = with_outcome(vec![text_embed(3000, 0), emoji], outcome(501));
    assert_eq!(total(&out), limits::EMBED_TOTAL - 1);
    assert_eq!(body(&out[1]), format!("{}…", "😀".repeat(1235)));
    // Over by one less than the description: cut, it would be only the mark, so it goes.
    let q = vec![text_embed(3000, 0), text_embed(40, 0)];
    let out = with_outcome(q.clone(), outcome_of(limits::EMBED_TOTAL - 3003));
    assert_eq!(out[0], q[0]);
    assert_eq!(out[1].description, None, "{:?}", out[1]);
    assert_eq!(out[1].title.as_deref(), Some("t"));
    assert_eq!(total(&out), limits::EMBED_TOTAL - 1);
}

#[test]
fn embeds_without_descriptions_or_fields_give_way_last_first_but_never_the_first() {
    let q: Vec<Embed> = (0..5)
        .map(|i| Embed {
            title: Some(format!("{i}").repeat(256)),
            footer: (i == 0).then(|| Footer {
                text: "alerter key: k".into(),
            }),
            ..Embed::default()
        })
        .collect();
    // 1294 characters with room for 800: the last two go.
    let out = with_outcome(q.clone(), outcome_of(limits::EMBED_TOTAL - 800));
    assert_eq!(out[..3], q[..3]);
    assert_eq!(out[3], outcome_of(limits::EMBED_TOTAL - 800));
    assert_eq!(out.len(), 4);
    // Room for less than the first alone: the first, with the key, stays all the same.
    let out = with_outcome(q.clone(), outcome_of(limits::EMBED_TOTAL - 100));
    assert_eq!(out, [q[0].clone(), outcome_of(limits::EMBED_TOTAL - 100)]);
}

#[test]
fn close_sends_back_only_the_questions_own_embeds_not_discords_link_previews() {
    let p = params(|_| {});
    for text_only in [false, true] {
        let mut svc = service(Sim::new(), 30_000);
        let message = if text_only {
            Message::Text("Deploy https://example.com/build/7 ?".into())
        } else {
            question()
        };
        let id = open(&mut svc, &message, &p).unwrap().question.message_id;
        let q = of(&mut svc).messages.get_mut(&id.parse().unwrap()).unwrap();
        // As Discord returns them: its own embeds typed, and previews for the link.
        for e in &mut q.embeds {
            e["type"] = "rich".into();
        }
        let own = q.embeds.clone();
        q.embeds.push(
            serde_json::json!({"type": "link", "url": "https://example.com/build/7",
            "title": "Build 7", "description": "CI", "provider": {"name": "CI"}}),
        );
        q.embeds.push(
            serde_json::json!({"type": "image", "url": "https://example.com/a.png",
            "thumbnail": {"url": "https://example.com/a.png", "width": 8, "height": 8}}),
        );
        let reason = CloseReason::Cancelled("interrupted".into());
        close(&mut svc, &qref(&id), &p, &reason).unwrap();
        let (_, _, body, _) = of(&mut svc)
            .sent
            .iter()
            .rev()
            .find(|s| s.0 == Method::Patch)
            .unwrap()
            .clone();
        let sent = body.unwrap()["embeds"].as_array().unwrap().clone();
        assert_eq!(sent.len(), own.len() + 1, "{text_only}: {sent:?}");
        for (s, o) in sent.iter().zip(&own) {
            let mut o = o.clone();
            o.as_object_mut().unwrap().remove("type");
            assert_eq!(s, &o, "the question's own embed, as posted");
        }
        assert_eq!(sent.last().unwrap()["title"], "🛑 Cancelled");
        assert!(sent
            .iter()
            .all(|e| e.get("type").is_none() && e != &serde_json::json!({})));
    }
    // An embed with nothing to show is never sent.
    let out = with_outcome(vec![Embed::default(), text_embed(5, 0)], outcome(5));
    assert_eq!(out, [text_embed(5, 0), outcome(5)]);
}

#[test]
fn a_record_that_cannot_be_read_closes_the_question_wait_says_so_and_close_leaves_it() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let id = opened_id(&mut svc, &p);
    let q = of(&mut svc).messages.get_mut(&id.parse().unwrap()).unwrap();
    q.embeds.push(
        serde_json::json!({"title": "✅ Approved", "description": "by somebody",
        "footer": {"text": "alerter outcome"}}),
    );
    let err = wait(&mut svc, &qref(&id), &p, 60_000, None).unwrap_err();
    assert_eq!(
        err,
        AlertError::InvalidInput(
            "the question carries an outcome record that cannot be read (written by another \
             version, or edited), so it counts as closed; ask again: a new question is needed"
                .into()
        )
    );
    let reason = CloseReason::Cancelled("interrupted".into());
    close(&mut svc, &qref(&id), &p, &reason).unwrap();
    let sim = of(&mut svc);
    assert!(
        !sim.sent.iter().any(|s| s.0 == Method::Patch),
        "no second record"
    );
    assert_eq!(sim.messages[&id.parse().unwrap()].embeds.len(), 2);
}
