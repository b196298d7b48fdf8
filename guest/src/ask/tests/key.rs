//! The idempotency key over the simulated channel: the marker on the question, reuse of an
//! open question, the answer of a decided one, a new question after a timeout, a cancel or an
//! unreadable record, the bounded search of the channel's history, and racing opens that post
//! one question.

use serde_json::json;

use super::sim::*;
use crate::ask::record::{outcome_embed, KEY_PREFIX};
use crate::ask::{ask, close, open, wait};
use crate::bindings::{AlertError, CloseReason, Decision, Message, Params, WaitStatus};
use crate::discord::fake::response;
use crate::discord::Method;
use crate::render::limits;

const KEY: &str = "deploy-42/prod";

fn keyed() -> Params {
    params(|s| s.key = Some(KEY.into()))
}

fn history(svc: &mut crate::service::Service<Sim>) -> Vec<String> {
    of(svc).requests()
}

fn search(query: &str) -> String {
    format!("GET /channels/{CHANNEL}/messages?limit=100{query}")
}

#[test]
fn the_key_is_shown_on_the_question_in_its_footer_or_last_line() {
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &keyed()).unwrap();
    let q = &of(&mut svc).messages[&o.question.message_id.parse().unwrap()];
    assert_eq!(q.embeds[0]["footer"]["text"], format!("alerter key: {KEY}"));

    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &Message::Text("Deploy?".into()), &keyed()).unwrap();
    let q = &of(&mut svc).messages[&o.question.message_id.parse().unwrap()];
    assert!(
        q.content.ends_with(&format!("\n-# alerter key: {KEY}")),
        "{}",
        q.content
    );

    // A long question: the first part shares its last line with the part marker and stays
    // within the content limit even with the longest key.
    let mut svc = service(Sim::new(), 30_000);
    svc.settings.long_body_max_parts = 0; // split, not sent as a file
    let long_key = "k".repeat(80);
    let p = params(|s| s.key = Some(long_key.clone()));
    let text = Message::Text("word ".repeat(1200));
    let o = open(&mut svc, &text, &p).unwrap();
    let q = &of(&mut svc).messages[&o.question.message_id.parse().unwrap()];
    let last = q.content.lines().last().unwrap();
    assert!(last.starts_with("-# (1/") && last.ends_with(&format!(" · alerter key: {long_key}")));
    assert!(crate::render::len(&q.content) <= limits::CONTENT);
}

#[test]
fn an_open_question_with_the_key_is_reused_without_posting_or_reacting() {
    let mut svc = service(Sim::new(), 30_000);
    let first = open(&mut svc, &question(), &keyed()).unwrap();
    assert!(first.posted);
    let mut svc = restart(svc, 30_000);
    let before = of(&mut svc).sent.len();
    let again = open(&mut svc, &question(), &keyed()).unwrap();
    assert!(!again.posted);
    assert_eq!(again.question, first.question);
    assert_eq!(
        again.asked_at, first.asked_at,
        "the original deadline holds"
    );
    assert_eq!(again.answer, None);
    assert_eq!(
        history(&mut svc)[before..],
        ["GET /users/@me".to_string(), search("")]
    );
}

#[test]
fn a_decided_question_with_the_key_returns_its_answer_at_once() {
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &keyed()).unwrap();
    let now = of(&mut svc).now;
    of(&mut svc)
        .events
        .push((now + 2 * SEC, Event::React(ALICE, "✅")));
    let WaitStatus::Done(answer) = wait(&mut svc, &o.question, &keyed(), 10_000, None).unwrap()
    else {
        panic!("alice decides");
    };
    close(
        &mut svc,
        &o.question,
        &keyed(),
        &CloseReason::Answered(answer.clone()),
    )
    .unwrap();

    let mut svc = restart(svc, 30_000);
    let again = open(&mut svc, &question(), &keyed()).unwrap();
    assert!(!again.posted);
    assert_eq!(
        again.answer.as_ref(),
        Some(&answer),
        "rebuilt from the record"
    );
    // `ask` with the key: the answer, after the search only.
    let before = of(&mut svc).sent.len();
    assert_eq!(ask(&mut svc, &question(), &keyed()).unwrap(), answer);
    assert_eq!(
        history(&mut svc)[before..],
        ["GET /users/@me".to_string(), search("")]
    );
}

#[test]
fn a_question_that_timed_out_or_was_cancelled_is_asked_again() {
    for reason in ["timed out", "cancelled"] {
        let p = params(|s| {
            s.key = Some(KEY.into());
            s.timeout_ms = Some(2_000);
        });
        let mut svc = service(Sim::new(), 30_000);
        let first = open(&mut svc, &question(), &p).unwrap();
        let close_with = if reason == "cancelled" {
            CloseReason::Cancelled("interrupted".into())
        } else {
            let WaitStatus::Done(a) = wait(&mut svc, &first.question, &p, 10_000, None).unwrap()
            else {
                panic!("times out");
            };
            assert_eq!(a.decision, Decision::TimedOut);
            CloseReason::Answered(a)
        };
        close(&mut svc, &first.question, &p, &close_with).unwrap();
        let again = open(&mut svc, &question(), &p).unwrap();
        assert!(again.posted, "{reason}: a new question");
        assert_ne!(again.question, first.question);
        assert_eq!(again.answer, None);
    }
}

#[test]
fn of_several_questions_with_the_key_the_newest_decides() {
    let mut svc = service(Sim::new(), 30_000);
    let older = open(&mut svc, &question(), &keyed()).unwrap();
    // A newer question with the same key, already approved.
    let sim = of(&mut svc);
    let mut newer = sim.messages[&older.question.message_id.parse().unwrap()].clone();
    sim.now += 5 * SEC;
    newer.id = sim.next_id();
    let answer = crate::bindings::Answer {
        approved: true,
        decision: Decision::Approved,
        responder: Some(crate::bindings::Responder {
            id: BOB.to_string(),
            username: "bob".into(),
        }),
        via: Some(crate::bindings::AnswerVia::Message),
        keyword: Some("LGTM".into()),
        answered_at: "2026-11-28T04:07:25.123Z".into(),
        approvers: vec![],
        channel_id: CHANNEL.into(),
        question_message_id: newer.id.to_string(),
        reminders_sent: 0,
        escalated: false,
    };
    let record = outcome_embed(&CloseReason::Answered(answer.clone()), "").unwrap();
    newer.embeds.push(serde_json::to_value(record).unwrap());
    sim.messages.insert(newer.id, newer);
    sim.say(CAROL, "chatter", None);
    let found = open(&mut svc, &question(), &keyed()).unwrap();
    assert_eq!(found.answer, Some(answer));
}

#[test]
fn the_search_reads_at_most_the_newest_1000_messages() {
    let mut svc = service(Sim::new(), 30_000);
    let first = open(&mut svc, &question(), &keyed()).unwrap();
    let sim = of(&mut svc);
    let ids: Vec<u64> = (0..1000).map(|_| sim.say(CAROL, "chatter", None)).collect();
    // Past Discord's nonce window: the same key's create is not answered with the first one.
    sim.now += 10 * 60 * SEC;
    let before = sim.sent.len();
    let again = open(&mut svc, &question(), &keyed()).unwrap();
    assert!(again.posted, "too far back: asked again");
    assert_ne!(again.question, first.question);
    let pages: Vec<String> = history(&mut svc)[before..]
        .iter()
        .filter(|r| r.contains("messages?limit"))
        .cloned()
        .collect();
    let mut expected = vec![search("")];
    expected.extend((1..10).map(|i| search(&format!("&before={}", ids[1000 - 100 * i]))));
    assert_eq!(pages, expected);

    // 150 messages back: found on the second page.
    let mut svc = service(Sim::new(), 30_000);
    let first = open(&mut svc, &question(), &keyed()).unwrap();
    let sim = of(&mut svc);
    for _ in 0..150 {
        sim.say(CAROL, "chatter", None);
    }
    let again = open(&mut svc, &question(), &keyed()).unwrap();
    assert_eq!((again.posted, again.question), (false, first.question));
}

#[test]
fn the_search_stops_at_a_short_page_or_a_page_that_does_not_move() {
    let mut svc = service(Sim::new(), 30_000);
    let sim = of(&mut svc);
    for _ in 0..30 {
        sim.say(CAROL, "chatter", None);
    }
    open(&mut svc, &question(), &keyed()).unwrap();
    let searches = |svc: &mut crate::service::Service<Sim>| {
        history(svc)
            .iter()
            .filter(|r| r.contains("messages?limit"))
            .count()
    };
    assert_eq!(
        searches(&mut svc),
        1,
        "a short page is the end of the channel"
    );

    // A proxy that ignores `before`: the same full page every time.
    let mut sim = Sim::new();
    let page: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            json!({"id": (1_500_000_000_000_000_000u64 - i).to_string(), "content": "x",
                   "author": {"id": CAROL.to_string(), "username": "carol"}})
        })
        .collect();
    let body = serde_json::Value::Array(page).to_string();
    sim.fault = Some(Box::new(move |r, _| {
        r.url
            .contains("messages?limit")
            .then(|| response(200, &body, &[]))
    }));
    let mut svc = service(sim, 30_000);
    assert!(open(&mut svc, &question(), &keyed()).unwrap().posted);
    assert_eq!(searches(&mut svc), 2);
}

#[test]
fn only_the_bots_own_message_with_the_exact_key_counts() {
    let mut svc = service(Sim::new(), 30_000);
    let sim = of(&mut svc);
    sim.say(ALICE, &format!("Deploy?\n-# {KEY_PREFIX}{KEY}"), None);
    sim.say(BOT, &format!("Deploy?\n-# {KEY_PREFIX}{KEY}x"), None);
    assert!(open(&mut svc, &question(), &keyed()).unwrap().posted);
}

#[test]
fn a_bad_key_is_refused_before_any_request() {
    let mut svc = service(Sim::new(), 30_000);
    let p = params(|s| s.key = Some("two words".into()));
    let err = open(&mut svc, &question(), &p).unwrap_err();
    assert!(
        matches!(&err, AlertError::InvalidInput(m) if m.starts_with("the ask key may hold only")),
        "{err:?}"
    );
    assert!(of(&mut svc).sent.is_empty());
}

/// A fault that answers every key search with an empty channel: a second `open` whose search
/// ran before the first one posted.
fn search_sees_nothing() -> Fault {
    Box::new(|r, _| {
        r.url
            .contains("/messages?limit=")
            .then(|| response(200, "[]", &[]))
    })
}

fn questions(sim: &Sim) -> usize {
    sim.messages
        .values()
        .filter(|m| m.author == BOT && m.reference.is_none())
        .count()
}

#[test]
fn two_opens_racing_past_the_search_post_one_question() {
    let mut svc = service(Sim::new(), 30_000);
    let first = open(&mut svc, &question(), &keyed()).unwrap();
    let mut svc = restart(svc, 30_000);
    of(&mut svc).fault = Some(search_sees_nothing());
    let second = open(&mut svc, &question(), &keyed()).unwrap();
    assert_eq!(
        second.question, first.question,
        "Discord returned the first message"
    );
    assert_eq!(questions(of(&mut svc)), 1);
    let nonce = |svc: &mut crate::service::Service<Sim>, i: usize| {
        let posts: Vec<_> = of(svc)
            .sent
            .iter()
            .filter(|s| s.0 == Method::Post)
            .collect();
        posts[i].2.as_ref().unwrap()["nonce"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(nonce(&mut svc, 0), nonce(&mut svc, 1));
    assert!(nonce(&mut svc, 0).len() <= limits::NONCE);

    // After a cancel the same key asks anew: the nonce names the closed question.
    let reason = CloseReason::Cancelled("interrupted".into());
    close(&mut svc, &first.question, &keyed(), &reason).unwrap();
    of(&mut svc).fault = None;
    let third = open(&mut svc, &question(), &keyed()).unwrap();
    assert!(third.posted);
    assert_ne!(third.question, first.question);
    assert_ne!(nonce(&mut svc, 2), nonce(&mut svc, 0));

    // The same key in another channel is another question (Discord checks nonces per author).
    let mut svc = service(Sim::new(), 30_000);
    let here = open(&mut svc, &question(), &keyed()).unwrap();
    of(&mut svc).fault = Some(search_sees_nothing());
    let mut elsewhere = keyed();
    elsewhere.channel_id = Some("999999999999999999".into());
    let there = open(&mut svc, &question(), &elsewhere).unwrap();
    assert_ne!(there.question.message_id, here.question.message_id);
}

#[test]
fn a_question_whose_record_cannot_be_read_is_asked_again() {
    let mut svc = service(Sim::new(), 30_000);
    let first = open(&mut svc, &question(), &keyed()).unwrap();
    let q = of(&mut svc)
        .messages
        .get_mut(&first.question.message_id.parse().unwrap())
        .unwrap();
    q.embeds
        .push(json!({"title": "Closed by v9", "footer": {"text": "alerter outcome"}}));
    let again = open(&mut svc, &question(), &keyed()).unwrap();
    assert!(again.posted);
    assert_ne!(again.question, first.question);
    assert_eq!(again.answer, None);
}
