//! Answers given after the deadline never count, however late a wait resumes: a message by
//! its id's time, a reaction by the round that reads it (only rounds at the deadline or
//! before); and `open` with a key closes a question that was left open past its deadline.

use super::sim::*;
use crate::ask::{open, wait};
use crate::bindings::{AnswerVia, Decision, Params, WaitStatus};
use crate::snowflake;

const MINUTE: u64 = 60 * SEC;
const KEY: &str = "release-7";

fn done(svc: &mut crate::service::Service<Sim>, id: &str, p: &Params) -> crate::bindings::Answer {
    match wait(svc, &qref(id), p, 60_000, None).unwrap() {
        WaitStatus::Done(a) => a,
        open @ WaitStatus::Open(_) => panic!("past the deadline: {open:?}"),
    }
}

#[test]
fn a_wait_resumed_after_the_deadline_ignores_answers_given_after_it() {
    let p = params(|_| {});
    // A reply written a minute after the deadline.
    let mut svc = service(Sim::new(), 30_000);
    let id = open(&mut svc, &question(), &p).unwrap().question.message_id;
    of(&mut svc).now += 2 * MINUTE;
    of(&mut svc).say(ALICE, "LGTM", Some(id.parse().unwrap()));
    of(&mut svc).now += 3 * MINUTE;
    assert_eq!(done(&mut svc, &id, &p).decision, Decision::TimedOut);

    // A reaction found 5 minutes after the deadline: it cannot be dated, so it does not count,
    // and the reactions are not even listed.
    let mut svc = service(Sim::new(), 30_000);
    let id = open(&mut svc, &question(), &p).unwrap().question.message_id;
    of(&mut svc).now += 6 * MINUTE;
    let now = of(&mut svc).now;
    of(&mut svc).events.push((now, Event::React(ALICE, "✅")));
    let before = of(&mut svc).sent.len();
    assert_eq!(done(&mut svc, &id, &p).decision, Decision::TimedOut);
    assert!(
        !of(&mut svc).requests()[before..]
            .iter()
            .any(|r| r.contains("/reactions/%E2%9C%85?")),
        "{:?}",
        of(&mut svc).requests()
    );

    // A reply written by the deadline still counts, read late.
    let mut svc = service(Sim::new(), 30_000);
    let id = open(&mut svc, &question(), &p).unwrap().question.message_id;
    of(&mut svc).now += 59 * SEC;
    of(&mut svc).say(ALICE, "LGTM", None);
    of(&mut svc).now += 10 * MINUTE;
    assert_eq!(done(&mut svc, &id, &p).decision, Decision::Approved);
}

#[test]
fn the_final_round_at_the_deadline_still_counts_reactions() {
    // Rounds at 0 and 10 s, then the last one at the deadline (15 s): alice's ✅ at 12 s is
    // read there.
    let p = params(|s| {
        s.poll_interval_ms = Some(10_000);
        s.timeout_ms = Some(15_000);
    });
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let now = of(&mut svc).now;
    of(&mut svc)
        .events
        .push((now + 12 * SEC, Event::React(ALICE, "✅")));
    let WaitStatus::Done(answer) = wait(&mut svc, &o.question, &p, 60_000, None).unwrap() else {
        panic!("done");
    };
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.via, Some(AnswerVia::Reaction));
    let rounds = of(&mut svc)
        .requests()
        .iter()
        .filter(|r| r.contains("?after="))
        .count();
    assert_eq!(rounds, 3);
}

fn keyed(timeout_ms: u64) -> Params {
    params(|s| {
        s.key = Some(KEY.into());
        s.timeout_ms = Some(timeout_ms);
    })
}

/// Open with the key, let `f` act in the channel, then come back after the deadline and
/// open again: the first question, and what the second `open` said.
fn reopened_late(
    f: impl FnOnce(&mut Sim, u64),
) -> (crate::service::Service<Sim>, u64, crate::bindings::Opened) {
    let p = keyed(60_000);
    let mut svc = service(Sim::new(), 30_000);
    let first = open(&mut svc, &question(), &p).unwrap();
    let q: u64 = first.question.message_id.parse().unwrap();
    f(of(&mut svc), q);
    of(&mut svc).now += 10 * MINUTE; // nobody waited, nobody closed it
    let mut svc = restart(svc, 30_000);
    let again = open(&mut svc, &question(), &p).unwrap();
    (svc, q, again)
}

fn record_title(sim: &Sim, q: u64) -> String {
    let embeds = &sim.messages[&q].embeds;
    assert_eq!(embeds.len(), 2, "{embeds:?}");
    embeds[1]["title"].as_str().unwrap().to_string()
}

#[test]
fn open_with_a_key_answers_from_a_question_left_open_that_was_decided_in_time() {
    let (mut svc, q, again) = reopened_late(|sim, q| {
        sim.now += 30 * SEC;
        sim.say(ALICE, "LGTM", Some(q));
    });
    assert!(!again.posted);
    assert_eq!(again.question.message_id, q.to_string());
    let answer = again.answer.expect("alice approved in time");
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.via, Some(AnswerVia::Reply));
    assert_eq!(record_title(of(&mut svc), q), "✅ Approved");
    assert!(
        of(&mut svc).question().is_some_and(|m| m.id == q),
        "no new question"
    );
}

#[test]
fn open_with_a_key_closes_a_question_left_open_past_its_deadline_and_asks_again() {
    // Nothing, a reply after the deadline, or a reaction (which cannot be dated).
    type Act = fn(&mut Sim, u64);
    let acts: [(&str, Act); 3] = [
        ("nothing", |_, _| {}),
        ("a late reply", |sim, q| {
            sim.now += 2 * MINUTE;
            sim.say(ALICE, "LGTM", Some(q));
        }),
        ("a reaction", |sim, _| {
            let now = sim.now + 30 * SEC;
            sim.events.push((now, Event::React(ALICE, "✅")));
        }),
    ];
    for (what, act) in acts {
        let (mut svc, q, again) = reopened_late(act);
        assert!(again.posted, "{what}: a new question");
        assert_ne!(again.question.message_id, q.to_string(), "{what}");
        assert_eq!(again.answer, None, "{what}");
        let sim = of(&mut svc);
        assert_eq!(record_title(sim, q), "⌛ Timed out: no decision", "{what}");
        let at = &sim.messages[&q].embeds[1]["timestamp"];
        let deadline = snowflake::unix_ms(q) + 60_000;
        assert_eq!(
            at,
            &snowflake::rfc3339(deadline),
            "{what}: timed out at the deadline"
        );
    }
}

#[test]
fn open_with_a_key_still_reuses_a_question_before_its_deadline() {
    let p = keyed(60_000);
    let mut svc = service(Sim::new(), 30_000);
    let first = open(&mut svc, &question(), &p).unwrap();
    of(&mut svc).now += 59 * SEC;
    let again = open(&mut svc, &question(), &p).unwrap();
    assert_eq!((again.posted, again.question), (false, first.question));
}
