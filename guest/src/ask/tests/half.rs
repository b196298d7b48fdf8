//! An `open` that fails part-way over the simulated channel: the first part, the only one
//! with the instructions and the key marker, is marked as cancelled (no half question can be
//! answered as if it were whole), and a keyed retry posts a whole new question; when marking
//! failed too, the keyed retry marks it (once no `open` can still be posting it).

use super::sim::*;
use crate::ask::record::{read_outcome, Outcome};
use crate::ask::{open, wait};
use crate::bindings::{AlertError, Message, Params};
use crate::discord::fake::response;
use crate::discord::Method;
use crate::render::Embed;

const KEY: &str = "deploy-43/prod";

/// A question of several messages (split, not sent as a file).
fn long_question() -> Message {
    Message::Text(format!("Deploy?\n{}", "line of log\n".repeat(300)))
}

/// A service whose long questions are split into parts.
fn splitting(sim: Sim) -> crate::service::Service<Sim> {
    let mut svc = service(sim, 30_000);
    svc.settings.long_body_max_parts = 0;
    svc
}

/// Every create that continues a question (a reply) fails, as an outage would, until lifted.
fn continuations_fail(svc: &mut crate::service::Service<Sim>) {
    of(svc).fault = Some(Box::new(|r, _| {
        let reply = r
            .body
            .as_ref()
            .is_some_and(|b| String::from_utf8_lossy(b).contains("message_reference"));
        (r.method == Method::Post && reply)
            .then(|| response(500, r#"{"message":"Internal Server Error","code":0}"#, &[]))
    }));
}

/// The first part's id and the number of parts, after an open that must fail with
/// `incomplete`.
fn failed_open(svc: &mut crate::service::Service<Sim>, p: &Params) -> (u64, usize) {
    continuations_fail(svc);
    let half = match open(svc, &long_question(), p) {
        Err(AlertError::Incomplete(half)) => half,
        other => panic!("{other:?}"),
    };
    of(svc).fault = None;
    assert_eq!(half.message_ids.len(), 1, "only the first part");
    assert!(half.parts >= 2, "{half:?}");
    (half.message_ids[0].parse().unwrap(), half.parts as usize)
}

fn embeds(sim: &Sim, id: u64) -> Vec<Embed> {
    serde_json::from_value(serde_json::Value::Array(sim.messages[&id].embeds.clone())).unwrap()
}

#[test]
fn a_question_posted_only_in_part_is_marked_cancelled_and_cannot_be_answered() {
    let p = params(|_| {});
    let mut svc = splitting(Sim::new());
    let (first, _) = failed_open(&mut svc, &p);
    let sim = of(&mut svc);
    let why = match read_outcome(&embeds(sim, first), CHANNEL, &first.to_string()) {
        Some(Outcome::Cancelled(why)) => why,
        other => panic!("not marked: {other:?}"),
    };
    assert_eq!(
        why,
        "the question could not be posted whole: 1 of its 2 parts were"
    );
    assert!(
        sim.messages[&first].reactions.is_empty(),
        "no ✅ / ❌ of the bot's"
    );
    assert!(sim
        .requests()
        .contains(&format!("PATCH /channels/{CHANNEL}/messages/{first}")));
    assert!(
        sim.notices
            .iter()
            .any(|n| n.contains("its first part is marked as cancelled")),
        "{:?}",
        sim.notices
    );
    // An answer to it is not read: the question is closed.
    of(&mut svc).say(ALICE, "LGTM", Some(first));
    match wait(&mut svc, &qref(&first.to_string()), &p, 0, None) {
        Err(AlertError::InvalidInput(m)) => {
            assert!(m.starts_with("the question was cancelled"), "{m}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_keyed_retry_after_an_open_that_failed_part_way_posts_a_whole_new_question() {
    let p = params(|s| s.key = Some(KEY.into()));
    let mut svc = splitting(Sim::new());
    let (first, parts) = failed_open(&mut svc, &p);
    let mut svc = splitting(restart(svc, 30_000).client.into_transport());
    let again = open(&mut svc, &long_question(), &p).unwrap();
    let id: u64 = again.question.message_id.parse().unwrap();
    assert!(again.posted, "not the half question: {again:?}");
    assert_ne!(id, first);
    let sim = of(&mut svc);
    assert_eq!(sim.replies(id).len(), parts - 1, "all its other parts");
    assert_eq!(sim.replies(first).len(), 0, "the half one is not finished");
    let reactions: Vec<&str> = sim.messages[&id]
        .reactions
        .iter()
        .map(|(e, _)| e.as_str())
        .collect();
    assert_eq!(reactions, ["✅", "❌"]);
    // And a third open with the key finds the whole one.
    let third = open(&mut svc, &long_question(), &p).unwrap();
    assert!(!third.posted);
    assert_eq!(third.question, again.question);
}

#[test]
fn a_mark_that_fails_too_is_a_notice_and_the_error_stays_incomplete() {
    let p = params(|_| {});
    let mut svc = splitting(Sim::new());
    of(&mut svc).fault = Some(Box::new(|r, _| {
        let reply = r
            .body
            .as_ref()
            .is_some_and(|b| String::from_utf8_lossy(b).contains("message_reference"));
        ((r.method == Method::Post && reply) || r.method == Method::Patch).then(|| {
            response(
                403,
                r#"{"message":"Missing Permissions","code":50013}"#,
                &[],
            )
        })
    }));
    let half = match open(&mut svc, &long_question(), &p) {
        Err(AlertError::Incomplete(half)) => half,
        other => panic!("{other:?}"),
    };
    let first: u64 = half.message_ids[0].parse().unwrap();
    let sim = of(&mut svc);
    assert!(sim.messages[&first].embeds.is_empty(), "not marked");
    assert!(
        sim.notices.iter().any(|n| n.contains(
            "marking its first part as cancelled failed too (HTTP 403: Missing Permissions)"
        )),
        "{:?}",
        sim.notices
    );
}

/// An `open` with `p` whose further parts fail and whose mark fails too: the first part's id
/// and the number of parts.
fn failed_open_left_unmarked(svc: &mut crate::service::Service<Sim>, p: &Params) -> (u64, u32) {
    of(svc).fault = Some(Box::new(|r, _| {
        let reply = r
            .body
            .as_ref()
            .is_some_and(|b| String::from_utf8_lossy(b).contains("message_reference"));
        ((r.method == Method::Post && reply) || r.method == Method::Patch)
            .then(|| response(500, r#"{"message":"Internal Server Error","code":0}"#, &[]))
    }));
    let half = match open(svc, &long_question(), p) {
        Err(AlertError::Incomplete(half)) => half,
        other => panic!("{other:?}"),
    };
    of(svc).fault = None;
    let first: u64 = half.message_ids[0].parse().unwrap();
    assert!(of(svc).messages[&first].embeds.is_empty(), "left unmarked");
    (first, half.parts)
}

#[test]
fn a_keyed_retry_marks_a_half_question_left_unmarked_and_posts_a_whole_new_one() {
    let p = params(|s| {
        s.key = Some(KEY.into());
        s.timeout_ms = Some(3_600_000);
    });
    let mut svc = splitting(Sim::new());
    let (first, parts) = failed_open_left_unmarked(&mut svc, &p);
    // Two delivery deadlines (30 s each) and the grace later, no open can still be posting it.
    of(&mut svc).now += 71 * SEC;
    let again = open(&mut svc, &long_question(), &p).unwrap();
    let id: u64 = again.question.message_id.parse().unwrap();
    assert!(again.posted && id != first, "{again:?}");
    let sim = of(&mut svc);
    match read_outcome(&embeds(sim, first), CHANNEL, &first.to_string()) {
        Some(Outcome::Cancelled(why)) => assert_eq!(
            why,
            format!("the question could not be posted whole: 1 of its {parts} parts were")
        ),
        other => panic!("not marked: {other:?}"),
    }
    assert_eq!(
        sim.replies(id).len() + 1,
        parts as usize,
        "the new one is whole"
    );
    assert!(
        sim.notices
            .iter()
            .any(|n| n.ends_with("it is now marked as cancelled, and a new one is posted")),
        "{:?}",
        sim.notices
    );
    // A whole question with the key, however old, is reused as it is.
    sim.now += 10 * 60 * SEC;
    let before = sim.sent.len();
    let third = open(&mut svc, &long_question(), &p).unwrap();
    assert!(!third.posted);
    assert_eq!(third.question, again.question);
    let sim = of(&mut svc);
    assert!(sim.sent[before..].iter().all(|s| s.0 == Method::Get));
    assert!(read_outcome(&embeds(sim, id), CHANNEL, &id.to_string()).is_none());
}

#[test]
fn a_keyed_retry_soon_after_reuses_a_half_question_a_racing_open_may_still_be_posting() {
    let p = params(|s| s.key = Some(KEY.into()));
    let mut svc = splitting(Sim::new());
    let (first, _) = failed_open_left_unmarked(&mut svc, &p);
    let again = open(&mut svc, &long_question(), &p).unwrap();
    assert!(!again.posted);
    assert_eq!(again.question.message_id, first.to_string());
}

#[test]
fn the_mark_has_a_delivery_of_its_own_when_the_failure_used_up_the_opens() {
    // Part 2 meets a global rate limit of 1.5 s, twice: the second wait would end past the
    // open's delivery deadline of 2 s, so the open gives up. Marking waits the limit out in a
    // delivery of its own; within the open's it could not.
    let p = params(|_| {});
    let mut svc = service(Sim::new(), 2_000);
    svc.settings.long_body_max_parts = 0;
    of(&mut svc).fault = Some(Box::new(|r, _| {
        let reply = r
            .body
            .as_ref()
            .is_some_and(|b| String::from_utf8_lossy(b).contains("message_reference"));
        (r.method == Method::Post && reply).then(|| {
            response(
                429,
                r#"{"message":"You are being rate limited.","retry_after":1.5,"global":true}"#,
                &[],
            )
        })
    }));
    let half = match open(&mut svc, &long_question(), &p) {
        Err(AlertError::Incomplete(half)) => half,
        other => panic!("{other:?}"),
    };
    assert!(half.retry_after_ms.is_some(), "{half:?}");
    let first: u64 = half.message_ids[0].parse().unwrap();
    let sim = of(&mut svc);
    assert!(
        matches!(
            read_outcome(&embeds(sim, first), CHANNEL, &first.to_string()),
            Some(Outcome::Cancelled(_))
        ),
        "{:?}",
        sim.notices
    );
}
