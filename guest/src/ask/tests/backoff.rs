//! Never hammering: failed rounds back the polling off, a rate limit's wait is honoured, a
//! Cloudflare ban makes the request rate fall off, and no sleep passes the deadline.

use super::sim::*;
use crate::ask::{next_round_in_ms, open, wait, MAX_BACKOFF_MS};
use crate::bindings::{Decision, WaitStatus};
use crate::discord::fake::response;

const MINUTE: u64 = 60 * SEC;

#[test]
fn the_interval_doubles_per_failed_round_up_to_a_minute_or_a_longer_rate_limit() {
    assert_eq!(next_round_in_ms(2_000, 0, 0), 2_000);
    assert_eq!(next_round_in_ms(2_000, 1, 0), 4_000);
    assert_eq!(next_round_in_ms(2_000, 2, 0), 8_000);
    assert_eq!(next_round_in_ms(2_000, 5, 0), MAX_BACKOFF_MS);
    assert_eq!(next_round_in_ms(2_000, 500, 0), MAX_BACKOFF_MS);
    assert_eq!(next_round_in_ms(2_000, 1, 90_000), 90_000);
    assert_eq!(next_round_in_ms(2_000, 3, 1_000), 16_000);
    assert_eq!(
        next_round_in_ms(120_000, 2, 0),
        120_000,
        "a long interval is not shortened"
    );
}

#[test]
fn a_cloudflare_ban_makes_the_polling_fall_off_and_it_recovers_after() {
    let p = params(|s| s.timeout_ms = Some(3_600_000));
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let start = of(&mut svc).now;
    let lifts = start + 10 * MINUTE;
    of(&mut svc).fault = Some(Box::new(move |_, now| {
        (now < lifts).then(|| response(429, "<html>error code: 1015</html>", &[]))
    }));
    let WaitStatus::Open(_) = wait(&mut svc, &o.question, &p, 12 * 60_000, None).unwrap() else {
        panic!("open");
    };
    let sim = of(&mut svc);
    let banned = sim
        .sent
        .iter()
        .filter(|s| s.3 >= start && s.3 < lifts)
        .count();
    // One poll a second would be 600 rounds; doubling up to a minute is about 15.
    assert!(banned <= 20, "{banned} requests during the ban");
    assert!(banned >= 8, "it kept trying: {banned}");
    let after: Vec<u64> = sim
        .sent
        .iter()
        .filter(|s| s.3 >= lifts && s.1.contains("?after="))
        .map(|s| s.3)
        .collect();
    assert!(after.len() >= 30, "back to one round a second: {after:?}");
    assert!(after.windows(2).skip(1).all(|w| w[1] - w[0] < 2 * SEC));
    let told = sim
        .notices
        .iter()
        .filter(|n| n.contains("Cloudflare"))
        .count();
    assert_eq!(told, 1, "the same warning once: {:?}", sim.notices);
}

#[test]
fn a_rate_limit_longer_than_the_backoff_is_waited_out() {
    // A global limit of 90 s (longer than the delivery deadline): the next round waits it.
    let p = params(|s| s.timeout_ms = Some(3_600_000));
    let mut svc = service(Sim::new(), 5_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let mut once = true;
    of(&mut svc).fault = Some(Box::new(move |_, _| {
        std::mem::take(&mut once).then(|| {
            response(
                429,
                r#"{"message":"You are being rate limited.","retry_after":90,"global":true}"#,
                &[],
            )
        })
    }));
    let start = of(&mut svc).now;
    let WaitStatus::Open(_) = wait(&mut svc, &o.question, &p, 100_000, None).unwrap() else {
        panic!("open");
    };
    let sim = of(&mut svc);
    let second = sim.sent.iter().filter(|s| s.3 >= start).nth(1).unwrap().3;
    assert!(second - start >= 90 * SEC, "{} s", (second - start) / SEC);
    // And no longer: the next round is due when the limit lifts, not after a backoff.
    assert!(
        second - start < 91 * SEC,
        "{} ms",
        (second - start) / 1_000_000
    );
}

#[test]
fn backing_off_never_sleeps_past_the_deadline() {
    let p = params(|s| s.timeout_ms = Some(30_000));
    let mut svc = service(Sim::new(), 1_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    of(&mut svc).fault = Some(Box::new(|_, _| {
        Some(response(500, r#"{"message":"down","code":0}"#, &[]))
    }));
    let WaitStatus::Done(answer) = wait(&mut svc, &o.question, &p, 3_600_000, None).unwrap() else {
        panic!("times out");
    };
    assert_eq!(answer.decision, Decision::TimedOut);
    let asked = crate::snowflake::unix_ms(o.question.message_id.parse().unwrap());
    let ended = crate::snowflake::parse_rfc3339(&answer.answered_at).unwrap();
    assert!(
        ended - asked < 30_000 + 1_100,
        "ended {} ms after the question",
        ended - asked
    );
}
