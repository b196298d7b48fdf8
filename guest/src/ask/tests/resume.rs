//! The resume hint over the simulated channel: short waits in a loop poll, back off and read
//! like one long wait; a hint for another question, other params or another version is
//! ignored; text that is not a hint is refused.

use super::sim::*;
use crate::ask::{open, wait};
use crate::bindings::{AlertError, Decision, Params, QuestionRef, WaitStatus};
use crate::discord::fake::response;

const MINUTE: u64 = 60 * SEC;
const MS: u64 = 1_000_000;

/// `wait` in slices of `slice_ms`, each passing the last hint on, until done or `until` (ns
/// on the sim's clock); the last status.
fn loop_waits(
    svc: &mut crate::service::Service<Sim>,
    q: &QuestionRef,
    p: &Params,
    slice_ms: u64,
    until: u64,
) -> WaitStatus {
    let mut resume: Option<String> = None;
    loop {
        let status = wait(svc, q, p, slice_ms, resume.as_deref()).unwrap();
        match &status {
            WaitStatus::Open(progress) if of(svc).now < until => {
                resume = Some(progress.resume.clone());
            }
            _ => return status,
        }
    }
}

#[test]
fn short_waits_in_a_loop_back_off_under_a_ban_like_one_long_wait() {
    let p = params(|s| s.timeout_ms = Some(3_600_000));
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let start = of(&mut svc).now;
    let lifts = start + 10 * MINUTE;
    of(&mut svc).fault = Some(Box::new(move |_, now| {
        (now < lifts).then(|| response(429, "<html>error code: 1015</html>", &[]))
    }));
    let status = loop_waits(&mut svc, &o.question, &p, 500, start + 12 * MINUTE);
    assert!(matches!(status, WaitStatus::Open(_)), "{status:?}");
    let sim = of(&mut svc);
    let banned = sim
        .sent
        .iter()
        .filter(|s| s.3 >= start && s.3 < lifts)
        .count();
    // A round every 500 ms would be 1200; doubling up to a minute, across calls, about 15.
    assert!(banned <= 20, "{banned} requests during the ban");
    assert!(banned >= 8, "it kept trying: {banned}");
    let rounds: Vec<u64> = sim
        .sent
        .iter()
        .filter(|s| s.3 >= lifts && s.1.contains("?after="))
        .map(|s| s.3)
        .collect();
    assert!(rounds.len() >= 30, "back to one round a second: {rounds:?}");
    assert!(
        rounds.windows(2).skip(1).all(|w| w[1] - w[0] >= SEC),
        "no faster than the poll interval"
    );
    let me_after = sim
        .sent
        .iter()
        .filter(|s| s.3 >= lifts && s.1 == "/users/@me")
        .count();
    assert_eq!(me_after, 1, "the bot's id, once known, travels in the hint");
}

#[test]
fn short_waits_on_a_busy_channel_read_each_message_once_and_the_bots_id_once() {
    let p = params(|s| {
        s.required_approvals = Some(2);
        s.timeout_ms = Some(600_000);
    });
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let q: u64 = o.question.message_id.parse().unwrap();
    let sim = of(&mut svc);
    let t = sim.now;
    sim.events = (1..200)
        .map(|i| (t + i * 300 * MS, Event::Say(CAROL, "chatter", false)))
        .collect();
    sim.events
        .push((t + 5 * SEC, Event::Say(ALICE, "LGTM", true)));
    sim.events
        .push((t + 50 * SEC, Event::Say(BOB, "LGTM", false)));
    let status = loop_waits(&mut svc, &o.question, &p, 500, t + 10 * MINUTE);
    let WaitStatus::Done(answer) = status else {
        panic!("bob's approval is the second: {status:?}");
    };
    assert_eq!(answer.decision, Decision::Approved);
    let names: Vec<&str> = answer
        .approvers
        .iter()
        .map(|r| r.username.as_str())
        .collect();
    assert_eq!(
        names,
        ["alice", "bob"],
        "alice's, read 45 s earlier, was carried"
    );
    let sim = of(&mut svc);
    let requests = sim.requests();
    let me = requests.iter().filter(|r| *r == "GET /users/@me").count();
    assert_eq!(me, 1);
    let cursors: Vec<u64> = requests
        .iter()
        .filter_map(|r| r.split("?after=").nth(1))
        .map(|rest| rest.split('&').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        cursors.windows(2).all(|w| w[0] <= w[1]),
        "never back: {cursors:?}"
    );
    assert_eq!(cursors[0], q, "from the question on");
    // Something new arrives between any two rounds, but before the first chatter.
    let repeats = cursors.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(
        repeats <= 1,
        "{repeats} rounds read from where the last one did"
    );
    // About 50 s at one round a second, not two rounds per 500 ms call.
    assert!(
        (45..=56).contains(&cursors.len()),
        "{} rounds",
        cursors.len()
    );
}

#[test]
fn an_early_call_sleeps_until_the_round_is_due_or_returns_the_same_hint_without_a_request() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let WaitStatus::Open(first) = wait(&mut svc, &o.question, &p, 0, None).unwrap() else {
        panic!("open");
    };
    assert!(first.resume.starts_with("v1."), "{}", first.resume);
    let (before, start) = (of(&mut svc).sent.len(), of(&mut svc).now);
    let WaitStatus::Open(again) =
        wait(&mut svc, &o.question, &p, 300, Some(&first.resume)).unwrap()
    else {
        panic!("open");
    };
    assert_eq!(again, first, "the same progress and hint");
    assert_eq!(of(&mut svc).sent.len(), before, "no request");
    assert_eq!(of(&mut svc).now - start, 300 * MS, "the whole slice slept");
    let WaitStatus::Open(_) = wait(&mut svc, &o.question, &p, 0, Some(&again.resume)).unwrap()
    else {
        panic!("open");
    };
    assert_eq!(of(&mut svc).sent.len(), before, "0: still not due");
    let WaitStatus::Open(_) = wait(&mut svc, &o.question, &p, 5_000, Some(&again.resume)).unwrap()
    else {
        panic!("open");
    };
    let sim = of(&mut svc);
    let next = sim.sent[before].3;
    assert!(
        (start + SEC - 10 * MS..start + SEC + 10 * MS).contains(&next),
        "the next round a poll interval after the last: {} ms",
        (next - start) / MS
    );
}

#[test]
fn a_hint_for_another_question_other_params_or_another_version_is_ignored() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let first = open(&mut svc, &question(), &p).unwrap();
    let second = open(&mut svc, &question(), &p).unwrap();
    let WaitStatus::Open(progress) = wait(&mut svc, &first.question, &p, 0, None).unwrap() else {
        panic!("open");
    };
    let other = params(|s| s.required_approvals = Some(2));
    for (q, params, hint, why) in [
        (
            &second.question,
            &p,
            progress.resume.as_str(),
            "it is for another question",
        ),
        (
            &first.question,
            &other,
            progress.resume.as_str(),
            "it was written with other params",
        ),
        (
            &first.question,
            &p,
            "v2.eyJ4IjoxfQ",
            "written by another version of the flavor",
        ),
    ] {
        let before = of(&mut svc).sent.len();
        let status = wait(&mut svc, q, params, 0, Some(hint)).unwrap();
        assert!(matches!(status, WaitStatus::Open(_)), "{why}: {status:?}");
        let sim = of(&mut svc);
        assert_eq!(
            sim.requests()[before..before + 2],
            [
                "GET /users/@me".to_string(),
                format!(
                    "GET /channels/{CHANNEL}/messages?after={}&limit=100",
                    q.message_id
                )
            ],
            "{why}: read afresh from the question"
        );
        assert!(
            sim.notices
                .iter()
                .any(|n| n.starts_with(&format!("ignoring the resume hint ({why})"))),
            "{why}: {:?}",
            sim.notices
        );
    }
    // An empty hint is none.
    let before = of(&mut svc).sent.len();
    wait(&mut svc, &first.question, &p, 0, Some("")).unwrap();
    assert_eq!(of(&mut svc).requests()[before], "GET /users/@me");
}

#[test]
fn text_that_is_not_a_hint_is_refused_naming_the_problem() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let before = of(&mut svc).sent.len();
    for (hint, problem) in [
        ("garbage", "it does not start with a version such as `v1.`"),
        ("v1.not base64!", "the text after `v1.` is not base64url"),
        ("v1.eyJ4IjoxfQ", "its content does not read"),
    ] {
        match wait(&mut svc, &o.question, &p, 0, Some(hint)) {
            Err(AlertError::InvalidInput(m)) => assert!(
                m.starts_with(&format!(
                    "the resume hint is not one this flavor wrote: {problem}"
                )),
                "{m}"
            ),
            other => panic!("{hint}: {other:?}"),
        }
    }
    assert_eq!(
        of(&mut svc).sent.len(),
        before,
        "refused before any request"
    );
}

/// Someone the approver list leaves out.
const DAVE: u64 = 666_666_666_666_666_667;

/// `wait` for one round (the clock moved past any backoff first), with `hint` if any.
fn one_round(
    svc: &mut crate::service::Service<Sim>,
    q: &QuestionRef,
    p: &Params,
    hint: Option<&str>,
) -> WaitStatus {
    of(svc).now += MINUTE + SEC;
    let before = of(svc).sent.len();
    let status = wait(svc, q, p, 0, hint).unwrap();
    assert!(of(svc).sent.len() > before, "a round ran");
    status
}

/// The round's progress, which must still be open.
fn progress(status: WaitStatus) -> crate::bindings::Progress {
    match status {
        WaitStatus::Open(p) => p,
        done @ WaitStatus::Done(_) => panic!("still open: {done:?}"),
    }
}

/// The issue's case: a hint listing stale reaction approvals ahead of an approval by message.
/// Alice's ✅ is read, then withdrawn in a round whose reaction lists cannot all be read (so
/// nobody's approval is withdrawn yet: Alice stays listed, Carol's new ✅ is added), then Bob
/// approves by message in a round that fails after reading him. Bob's message is behind the
/// cursor: the hint must carry his approval, which with Carol's ✅ makes the quorum of 2.
fn stale_reactions_then_an_approval_by_message(carry_hints: bool) -> WaitStatus {
    let p = params(|s| {
        s.approvers = vec![ALICE.to_string(), BOB.to_string(), CAROL.to_string()];
        s.required_approvals = Some(2);
        s.timeout_ms = Some(3_600_000);
    });
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let q = o.question.clone();
    let hint = |s: &crate::bindings::Progress| carry_hints.then(|| s.resume.clone());
    let now = of(&mut svc).now + MINUTE;
    of(&mut svc).events = vec![
        (now, Event::React(ALICE, "✅")),
        // Dave may not decide: his ❌ only makes the ❌ list one to read.
        (now, Event::React(DAVE, "❌")),
    ];
    let first = progress(one_round(&mut svc, &q, &p, None));
    assert_eq!(first.approvers.len(), 1, "alice's ✅");
    let now = of(&mut svc).now + MINUTE;
    of(&mut svc).events = vec![
        (now, Event::Unreact(ALICE, "✅")),
        (now, Event::React(CAROL, "✅")),
    ];
    let cross = "/reactions/%E2%9D%8C";
    of(&mut svc).fault = Some(Box::new(move |r, _| {
        r.url
            .contains(cross)
            .then(|| response(500, r#"{"message":"oops","code":0}"#, &[]))
    }));
    let second = progress(one_round(&mut svc, &q, &p, hint(&first).as_deref()));
    let now = of(&mut svc).now + MINUTE;
    of(&mut svc).events = vec![(now, Event::Say(BOB, "LGTM", true))];
    let question_path = format!("/channels/{CHANNEL}/messages/{}", q.message_id);
    of(&mut svc).fault = Some(Box::new(move |r, _| {
        (r.url.ends_with(&question_path) || r.url.contains(cross))
            .then(|| response(500, r#"{"message":"oops","code":0}"#, &[]))
    }));
    let third = progress(one_round(&mut svc, &q, &p, hint(&second).as_deref()));
    of(&mut svc).fault = None;
    wait(&mut svc, &q, &p, 10_000, hint(&third).as_deref()).unwrap()
}

#[test]
fn an_approval_by_message_behind_the_cursor_survives_stale_reactions_in_the_hint() {
    for carry_hints in [false, true] {
        let status = stale_reactions_then_an_approval_by_message(carry_hints);
        let WaitStatus::Done(answer) = status else {
            panic!("hints carried: {carry_hints}: bob's approval was lost: {status:?}");
        };
        assert_eq!(answer.decision, Decision::Approved, "hints: {carry_hints}");
        let mut names: Vec<&str> = answer
            .approvers
            .iter()
            .map(|r| r.username.as_str())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["bob", "carol"], "hints: {carry_hints}");
    }
}
