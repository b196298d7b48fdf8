//! Approvals by reaction over the simulated channel: recomputed every round (a removed ✅
//! withdraws its approval), one per person however given, and paging that stops when a proxy
//! ignores `after`.

use serde_json::json;

use super::sim::*;
use crate::ask::{ask, open, wait};
use crate::bindings::{AnswerVia, Decision, WaitStatus};
use crate::discord::fake::response;

fn names(a: &[crate::bindings::Responder]) -> Vec<&str> {
    a.iter().map(|r| r.username.as_str()).collect()
}

#[test]
fn a_reaction_removed_before_the_quorum_withdraws_its_approval() {
    let p = params(|s| s.required_approvals = Some(2));
    let mut sim = Sim::new();
    let t = sim.now;
    sim.events = vec![
        (t + 1_500_000_000, Event::React(ALICE, "✅")),
        (t + 3_500_000_000, Event::Unreact(ALICE, "✅")),
        (t + 4_500_000_000, Event::React(BOB, "✅")),
        (t + 8_500_000_000, Event::React(CAROL, "✅")),
    ];
    let mut svc = service(sim, 30_000);
    let answer = ask(&mut svc, &question(), &p).unwrap();
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.responder.unwrap().username, "carol");
    assert_eq!(
        names(&answer.approvers),
        ["bob", "carol"],
        "alice took hers back"
    );
    let at = crate::snowflake::parse_rfc3339(&answer.answered_at).unwrap();
    assert!(at >= 1_790_000_000_000 + (t + 8_500_000_000) / 1_000_000);
}

#[test]
fn a_withdrawn_reaction_is_gone_from_the_progress_too() {
    let p = params(|s| s.required_approvals = Some(2));
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let t = of(&mut svc).now;
    of(&mut svc).events.push((t, Event::React(ALICE, "✅")));
    of(&mut svc)
        .events
        .push((t + 1_500_000_000, Event::Unreact(ALICE, "✅")));
    let WaitStatus::Open(progress) = wait(&mut svc, &o.question, &p, 3_000, None).unwrap() else {
        panic!("open");
    };
    assert_eq!(names(&progress.approvers), [] as [&str; 0]);
}

#[test]
fn one_person_approving_by_reply_and_by_reaction_counts_once() {
    let p = params(|s| s.required_approvals = Some(2));
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let sim = of(&mut svc);
    let t = sim.now;
    sim.events = vec![
        (t, Event::Say(ALICE, "LGTM", true)),
        (t, Event::React(ALICE, "✅")),
    ];
    let WaitStatus::Open(progress) = wait(&mut svc, &o.question, &p, 3_000, None).unwrap() else {
        panic!("one person is one approval");
    };
    assert_eq!(names(&progress.approvers), ["alice"]);
    let t = of(&mut svc).now;
    of(&mut svc).events.push((t, Event::React(BOB, "✅")));
    let WaitStatus::Done(answer) = wait(&mut svc, &o.question, &p, 3_000, None).unwrap() else {
        panic!("bob is the second");
    };
    assert_eq!(names(&answer.approvers), ["alice", "bob"]);
    assert_eq!(answer.via, Some(AnswerVia::Reaction));
}

#[test]
fn an_approval_by_message_stays_when_the_same_persons_reaction_goes() {
    let p = params(|s| s.required_approvals = Some(2));
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let sim = of(&mut svc);
    let t = sim.now;
    sim.events = vec![
        (t, Event::React(ALICE, "✅")),
        (t + 1_500_000_000, Event::Say(ALICE, "LGTM", true)),
        (t + 2_500_000_000, Event::Unreact(ALICE, "✅")),
        (t + 4_500_000_000, Event::React(BOB, "✅")),
    ];
    let WaitStatus::Done(answer) = wait(&mut svc, &o.question, &p, 10_000, None).unwrap() else {
        panic!("alice's reply and bob's reaction");
    };
    assert_eq!(names(&answer.approvers), ["alice", "bob"]);
}

/// A fault that answers every request whose URL contains `part` with the same full page of
/// 100 `items`, then (to end a test that would loop) with a 500 after `limit` times.
fn same_page(part: &'static str, items: Vec<serde_json::Value>, limit: usize) -> Fault {
    let body = serde_json::Value::Array(items).to_string();
    let mut n = 0;
    Box::new(move |r, _| {
        if !r.url.contains(part) {
            return None;
        }
        n += 1;
        Some(if n <= limit {
            response(200, &body, &[])
        } else {
            response(500, r#"{"message":"loop","code":0}"#, &[])
        })
    })
}

#[test]
fn message_paging_stops_when_a_full_page_does_not_move_the_cursor() {
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let q: u64 = o.question.message_id.parse().unwrap();
    let page: Vec<serde_json::Value> = (1..=100)
        .rev()
        .map(|n| {
            json!({"id": (q + n).to_string(), "content": "chatter", "type": 0,
                   "author": {"id": CAROL.to_string(), "username": "carol"}})
        })
        .collect();
    of(&mut svc).fault = Some(same_page("messages?after=", page, 5));
    let status = wait(&mut svc, &o.question, &p, 0, None).unwrap();
    assert!(matches!(status, WaitStatus::Open(_)), "{status:?}");
    let sim = of(&mut svc);
    let reads = sim
        .requests()
        .iter()
        .filter(|r| r.contains("?after="))
        .count();
    assert_eq!(reads, 2, "the second, unmoved page ends the reading");
    assert!(sim.notices.iter().any(|n| n.contains("does not move past")));
}

#[test]
fn reaction_paging_stops_when_a_full_page_does_not_move() {
    // Only carol decides, and she is not on the page the proxy keeps sending.
    let p = params(|s| s.approvers = vec![CAROL.to_string()]);
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let t = of(&mut svc).now;
    of(&mut svc).events.push((t, Event::React(ALICE, "✅")));
    let users: Vec<serde_json::Value> = (0..100u64)
        .map(|i| json!({"id": (700_000_000_000_000_000 + i).to_string(), "username": "x"}))
        .collect();
    of(&mut svc).fault = Some(same_page("/reactions/%E2%9C%85?", users, 5));
    let status = wait(&mut svc, &o.question, &p, 0, None).unwrap();
    assert!(matches!(status, WaitStatus::Open(_)), "{status:?}");
    let sim = of(&mut svc);
    let reads = sim
        .requests()
        .iter()
        .filter(|r| r.contains("/reactions/%E2%9C%85?"))
        .count();
    assert_eq!(reads, 2);
}

#[test]
fn a_reaction_list_cut_short_withdraws_nobodys_approval() {
    // Alice's ✅ is read in the first round; in the second, the list stalls on a page of
    // people who may not decide: alice may be on a page never read, so she still counts.
    let p = params(|s| {
        s.approvers = vec![ALICE.to_string(), CAROL.to_string()];
        s.required_approvals = Some(2);
    });
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let t = of(&mut svc).now;
    of(&mut svc).events.push((t, Event::React(ALICE, "✅")));
    let users: Vec<serde_json::Value> = (0..100u64)
        .map(|i| json!({"id": (700_000_000_000_000_000 + i).to_string(), "username": "x"}))
        .collect();
    let mut stalled = same_page("/reactions/%E2%9C%85?", users, 10);
    of(&mut svc).fault = Some(Box::new(move |r, now| {
        if now < t + 500_000_000 {
            None
        } else {
            stalled(r, now)
        }
    }));
    let WaitStatus::Open(progress) = wait(&mut svc, &o.question, &p, 1_500, None).unwrap() else {
        panic!("open");
    };
    assert_eq!(names(&progress.approvers), ["alice"]);
    assert!(of(&mut svc)
        .notices
        .iter()
        .any(|n| n.contains("full page of reactions")));
}

#[test]
fn reactions_are_read_page_after_page_to_the_end_of_the_list() {
    // 250 people react before carol, the one approver: she is on the third page.
    let p = params(|s| s.approvers = vec![CAROL.to_string()]);
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let t = of(&mut svc).now;
    for i in 0..250u64 {
        let id = 100_000_000_000_000_000 + i;
        of(&mut svc).events.push((t, Event::React(id, "✅")));
    }
    of(&mut svc).events.push((t, Event::React(CAROL, "✅")));
    let WaitStatus::Done(answer) = wait(&mut svc, &o.question, &p, 0, None).unwrap() else {
        panic!("decided");
    };
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(names(&answer.approvers), ["carol"]);
    let sim = of(&mut svc);
    let reads = sim
        .requests()
        .iter()
        .filter(|r| r.contains("/reactions/%E2%9C%85?"))
        .count();
    assert_eq!(reads, 3);
    assert!(sim.notices.is_empty(), "{:?}", sim.notices);
}

#[test]
fn a_listed_approver_counts_without_a_member_lookup_even_with_approver_roles() {
    let p = params(|s| {
        s.approvers = vec![ALICE.to_string()];
        s.approver_roles = vec!["777777777777777777".into()];
    });
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let t = of(&mut svc).now;
    of(&mut svc)
        .events
        .push((t, Event::Say(ALICE, "LGTM", true)));
    // Member lookups fail: a listed approver needs none.
    of(&mut svc).fault = Some(Box::new(|r, _| {
        r.url
            .contains("/members/")
            .then(|| response(500, r#"{"message":"down","code":0}"#, &[]))
    }));
    let WaitStatus::Done(answer) = wait(&mut svc, &o.question, &p, 0, None).unwrap() else {
        panic!("decided");
    };
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(names(&answer.approvers), ["alice"]);
    let sim = of(&mut svc);
    assert!(
        !sim.requests().iter().any(|r| r.contains("/members/")),
        "{:?}",
        sim.requests()
    );
}
