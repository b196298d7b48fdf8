//! Reminders and the escalation over the simulated channel and its virtual clock: sent on
//! time, pinging only the given ids with restrictive `allowed_mentions`, counted back from the
//! channel after a resume (not resent), one catch-up after a downtime, none after a decision.

use serde_json::{json, Value};

use super::sim::*;
use crate::ask::{ask, open, wait};
use crate::bindings::{Decision, Params, WaitStatus};
use crate::discord::fake::response;
use crate::snowflake;

const ROLE: &str = "777777777777777777";
const ESC: &str = "888888888888888888";

fn reminding(every_ms: u64) -> Params {
    let mut p = params(|s| s.remind_every_ms = Some(every_ms));
    p.mention_users = vec![ALICE.to_string()];
    p.mention_roles = vec![ROLE.into()];
    p
}

/// The bodies of the bot's replies to the question, as sent, with when they were sent (s
/// after the question was asked).
fn pings(sim: &Sim, question: u64) -> Vec<(u64, Value)> {
    let asked = snowflake::unix_ms(question);
    sim.replies(question)
        .iter()
        .map(|m| {
            let body = sim
                .sent
                .iter()
                .find_map(|(_, _, b, _)| {
                    b.as_ref()
                        .filter(|b| b["nonce"] == m.nonce.as_deref().unwrap_or(""))
                })
                .cloned()
                .unwrap();
            ((snowflake::unix_ms(m.id) - asked) / 1000, body)
        })
        .collect()
}

#[test]
fn reminders_go_out_on_time_and_ping_exactly_the_given_ids() {
    let mut svc = service(Sim::new(), 30_000);
    let answer = ask(&mut svc, &question(), &reminding(10_000)).unwrap();
    assert_eq!(answer.decision, Decision::TimedOut);
    assert_eq!(answer.reminders_sent, 5);
    assert!(!answer.escalated);
    let q: u64 = answer.question_message_id.parse().unwrap();
    let sent = pings(of(&mut svc), q);
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [10, 20, 30, 40, 50], "none at or after the deadline");
    for (_, body) in &sent {
        assert!(body["content"]
            .as_str()
            .unwrap()
            .starts_with("⏰ Reminder:"));
        assert!(body["content"]
            .as_str()
            .unwrap()
            .ends_with(&format!("<@&{ROLE}> <@{ALICE}>")));
        assert_eq!(
            body["allowed_mentions"],
            json!({"parse": [], "users": [ALICE.to_string()], "roles": [ROLE], "replied_user": false})
        );
        assert_eq!(
            body["message_reference"],
            json!({"message_id": q.to_string(), "fail_if_not_exists": false})
        );
    }
    // The record shows them.
    let record = of(&mut svc).messages[&q].embeds.last().unwrap().clone();
    assert!(record["description"]
        .as_str()
        .unwrap()
        .ends_with("⏰ Reminders sent: 5"));
}

#[test]
fn a_resumed_wait_counts_what_was_sent_and_does_not_resend() {
    let p = reminding(10_000);
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let q: u64 = o.question.message_id.parse().unwrap();
    let WaitStatus::Open(progress) = wait(&mut svc, &o.question, &p, 15_000, None).unwrap() else {
        panic!("open");
    };
    assert_eq!(progress.reminders_sent, 1);
    // A new process at 15 s: the next reminder is due at 20 s, not now.
    let mut svc = restart(svc, 30_000);
    let before = of(&mut svc).sent.len();
    let WaitStatus::Open(progress) = wait(&mut svc, &o.question, &p, 4_000, None).unwrap() else {
        panic!("open");
    };
    assert_eq!(progress.reminders_sent, 1, "counted back from the channel");
    let posts = of(&mut svc).sent[before..]
        .iter()
        .filter(|s| s.0 == crate::discord::Method::Post)
        .count();
    assert_eq!(
        posts, 0,
        "nothing resent (not even one a nonce would absorb)"
    );
    let mut svc = restart(svc, 30_000);
    let WaitStatus::Open(progress) = wait(&mut svc, &o.question, &p, 3_000, None).unwrap() else {
        panic!("open");
    };
    assert_eq!(progress.reminders_sent, 2);
    let times: Vec<u64> = pings(of(&mut svc), q).iter().map(|(t, _)| *t).collect();
    assert!(matches!(times[..], [10, 20 | 21]), "{times:?}");
}

#[test]
fn after_a_downtime_one_reminder_catches_up() {
    let p = reminding(10_000);
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    of(&mut svc).now += 45 * SEC; // nobody was waiting
    let WaitStatus::Open(progress) = wait(&mut svc, &o.question, &p, 5_000, None).unwrap() else {
        panic!("open");
    };
    assert_eq!(progress.reminders_sent, 1, "one, not four");
}

#[test]
fn the_escalation_goes_once_to_its_roles_only_and_restarts_the_reminders() {
    let mut p = reminding(15_000);
    let ask_settings = p.ask.as_mut().unwrap();
    ask_settings.escalate_after_ms = Some(20_000);
    ask_settings.escalate_roles = vec![ESC.into()];
    ask_settings.timeout_ms = Some(45_000);
    let mut svc = service(Sim::new(), 30_000);
    let answer = ask(&mut svc, &question(), &p).unwrap();
    assert!(answer.escalated);
    assert_eq!(answer.reminders_sent, 2);
    let q: u64 = answer.question_message_id.parse().unwrap();
    let sent = pings(of(&mut svc), q);
    let kinds: Vec<(u64, char)> = sent
        .iter()
        .map(|(t, b)| (*t, b["content"].as_str().unwrap().chars().next().unwrap()))
        .collect();
    assert_eq!(kinds, [(15, '⏰'), (20, '📣'), (35, '⏰')]);
    let (_, escalation) = &sent[1];
    assert_eq!(
        escalation["content"],
        format!("📣 Escalation: no decision after 20 s. <@&{ESC}>")
    );
    assert_eq!(
        escalation["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": [ESC], "replied_user": false})
    );
}

#[test]
fn an_escalation_role_given_twice_is_pinged_once() {
    let p = params(|s| {
        s.escalate_after_ms = Some(20_000);
        s.escalate_roles = vec![ESC.into(), format!(" {ESC} "), format!("0{ESC}")];
        s.timeout_ms = Some(25_000);
    });
    let mut svc = service(Sim::new(), 30_000);
    let answer = ask(&mut svc, &question(), &p).unwrap();
    assert!(answer.escalated);
    let q: u64 = answer.question_message_id.parse().unwrap();
    let sent = pings(of(&mut svc), q);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].1["content"],
        format!("📣 Escalation: no decision after 20 s. <@&{ESC}>")
    );
    assert_eq!(sent[0].1["allowed_mentions"]["roles"], json!([ESC]));
}

#[test]
fn no_reminder_once_decided() {
    // Bob answers just before the first reminder is due; the round that reads his answer is
    // the first in which it would be due.
    let p = reminding(10_000);
    let mut sim = Sim::new();
    let t = sim.now;
    sim.events
        .push((t + 9_990_000_000, Event::Say(BOB, "LGTM", false)));
    let mut svc = service(sim, 30_000);
    let answer = ask(&mut svc, &question(), &p).unwrap();
    assert_eq!(answer.decision, Decision::Approved);
    let at = snowflake::parse_rfc3339(&answer.answered_at).unwrap();
    let asked = snowflake::unix_ms(answer.question_message_id.parse().unwrap());
    assert!(
        at - asked >= 10_000,
        "read in a round where a reminder was due"
    );
    assert_eq!(answer.reminders_sent, 0);
    let q: u64 = answer.question_message_id.parse().unwrap();
    assert!(of(&mut svc).replies(q).is_empty());
}

#[test]
fn a_reminder_that_cannot_be_sent_is_tried_again_a_minute_later_not_every_round() {
    let p = params(|s| {
        s.remind_every_ms = Some(5_000);
        s.timeout_ms = Some(200_000);
    });
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    of(&mut svc).fault = Some(Box::new(|r, _| {
        (r.method == crate::discord::Method::Post).then(|| {
            response(
                403,
                r#"{"message":"Missing Permissions","code":50013}"#,
                &[],
            )
        })
    }));
    let WaitStatus::Open(progress) = wait(&mut svc, &o.question, &p, 150_000, None).unwrap() else {
        panic!("open");
    };
    assert_eq!(progress.reminders_sent, 0);
    let sim = of(&mut svc);
    let posts = sim
        .sent
        .iter()
        .filter(|s| s.0 == crate::discord::Method::Post)
        .count();
    assert_eq!(posts, 1 + 3, "the question, then tries at 5, 65 and 125 s");
    let told = sim
        .notices
        .iter()
        .filter(|n| n.contains("reminder"))
        .count();
    assert_eq!(told, 1, "told once: {:?}", sim.notices);
}

#[test]
fn reminder_and_escalation_settings_are_validated() {
    let check = |f: &dyn Fn(&mut crate::bindings::AskSettings), expect: &str| {
        let mut svc = service(Sim::new(), 30_000);
        let p = params(f);
        match open(&mut svc, &question(), &p) {
            Err(crate::bindings::AlertError::InvalidInput(m)) => assert_eq!(m, expect),
            other => panic!("{expect}: {other:?}"),
        }
        assert!(of(&mut svc).sent.is_empty());
    };
    check(
        &|s| s.remind_every_ms = Some(999),
        "remind-every-ms must be at least 1000 (1 s), got 999",
    );
    check(
        &|s| s.escalate_after_ms = Some(60_000),
        "escalate-after-ms needs at least one role id in escalate-roles",
    );
    check(
        &|s| s.escalate_roles = vec![ESC.into()],
        "escalate-roles need escalate-after-ms: when to escalate",
    );
    check(
        &|s| {
            s.escalate_after_ms = Some(60_000);
            s.escalate_roles = vec!["oncall".into()];
        },
        "escalation role id `oncall` is not a Discord id (17-20 digits)",
    );
}

#[test]
fn reminders_that_would_not_fit_in_one_message_are_refused_before_any_request() {
    let mut p = reminding(10_000);
    p.mention_users = (0..100).map(|i| (ALICE + i).to_string()).collect();
    p.mention_roles = (0..100).map(|i| (BOB + i).to_string()).collect();
    let mut svc = service(Sim::new(), 30_000);
    match open(&mut svc, &question(), &p) {
        Err(crate::bindings::AlertError::InvalidInput(m)) => assert!(
            m.starts_with("a reminder pings every mention-users and mention-roles id"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(of(&mut svc).sent.is_empty());
}

/// When the reminders went out (s after the question, by their ids) while Discord's clock runs
/// 10 s ahead of ours: in one long wait, or in waits of 5 s by new processes that read
/// everything back from the channel.
fn reminder_times_with_discord_ahead(sliced: bool) -> Vec<u64> {
    let p = params(|s| {
        s.remind_every_ms = Some(30_000);
        s.timeout_ms = Some(120_000);
    });
    let mut sim = Sim::new();
    sim.skew_ms = 10_000;
    let mut svc = service(sim, 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let q: u64 = o.question.message_id.parse().unwrap();
    loop {
        if sliced {
            svc = restart(svc, 30_000);
        }
        let slice = if sliced { 5_000 } else { 600_000 };
        if let WaitStatus::Done(_) = wait(&mut svc, &o.question, &p, slice, None).unwrap() {
            break;
        }
    }
    pings(of(&mut svc), q).iter().map(|(t, _)| *t).collect()
}

#[test]
fn a_long_wait_spaces_reminders_as_waits_resumed_from_the_channel_do() {
    let one = reminder_times_with_discord_ahead(false);
    let sliced = reminder_times_with_discord_ahead(true);
    assert_eq!(one.len(), 3, "{one:?}");
    assert_eq!(one.len(), sliced.len(), "{one:?} {sliced:?}");
    assert!(
        // Within the few ms each restart's reads take on the sim's clock, not a skew apart.
        one.iter().zip(&sliced).all(|(a, b)| a.abs_diff(*b) <= 3),
        "{one:?} {sliced:?}"
    );
}

#[test]
fn a_failed_reminder_is_tried_again_as_soon_as_the_minute_is_over() {
    const MS: u64 = 1_000_000;
    let p = params(|s| {
        s.remind_every_ms = Some(5_000);
        s.timeout_ms = Some(200_000);
    });
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let mut once = true;
    of(&mut svc).fault = Some(Box::new(move |r, _| {
        (r.method == crate::discord::Method::Post && std::mem::take(&mut once)).then(|| {
            response(
                403,
                r#"{"message":"Missing Permissions","code":50013}"#,
                &[],
            )
        })
    }));
    let posted = |sim: &Sim| -> Vec<u64> {
        sim.sent
            .iter()
            .filter(|s| s.0 == crate::discord::Method::Post)
            .map(|s| s.3)
            .collect()
    };
    of(&mut svc).now += 5 * SEC;
    let step = |svc: &mut crate::service::Service<Sim>, hint: Option<&str>| match wait(
        svc,
        &o.question,
        &p,
        0,
        hint,
    )
    .unwrap()
    {
        WaitStatus::Open(progress) => progress,
        done @ WaitStatus::Done(_) => panic!("{done:?}"),
    };
    let failed = step(&mut svc, None);
    let tried = *posted(of(&mut svc)).last().unwrap();
    // Half a minute later: not yet. This round's reads take `reads` ms on the sim's clock.
    of(&mut svc).now = tried + 30 * SEC;
    let before = of(&mut svc).sent.len();
    let paused = step(&mut svc, Some(&failed.resume));
    let reads = (of(&mut svc).sent.len() - before) as u64;
    assert_eq!(
        posted(of(&mut svc)).len(),
        2,
        "the question and the failed try"
    );
    // A round that reaches the reminder exactly a minute after the failed try sends it.
    of(&mut svc).now = tried + 60 * SEC - reads * MS;
    let sent = step(&mut svc, Some(&paused.resume));
    assert_eq!(posted(of(&mut svc))[2..], [tried + 60 * SEC]);
    assert_eq!(sent.reminders_sent, 1);
}

#[test]
fn a_page_that_repeats_the_last_message_read_does_not_count_it_twice() {
    let p = params(|s| {
        s.remind_every_ms = Some(5_000);
        s.timeout_ms = Some(200_000);
    });
    let mut svc = service(Sim::new(), 30_000);
    let o = open(&mut svc, &question(), &p).unwrap();
    let q: u64 = o.question.message_id.parse().unwrap();
    of(&mut svc).now += 5 * SEC;
    // The reminder goes out in the first round and is read back in the second.
    let WaitStatus::Open(progress) = wait(&mut svc, &o.question, &p, 1_500, None).unwrap() else {
        panic!("open");
    };
    assert_eq!(progress.reminders_sent, 1);
    let sim = of(&mut svc);
    let reminder = &sim.replies(q)[0];
    let page = json!([{
        "id": reminder.id.to_string(), "content": reminder.content, "type": 19,
        "author": {"id": BOT.to_string(), "username": "alerter", "bot": true},
        "message_reference": {"message_id": q.to_string()},
    }])
    .to_string();
    // A proxy that serves `after=<id>` with that message included.
    sim.fault = Some(Box::new(move |r, _| {
        r.url
            .contains("messages?after=")
            .then(|| response(200, &page, &[]))
    }));
    sim.now += 2 * SEC;
    let WaitStatus::Open(progress) =
        wait(&mut svc, &o.question, &p, 0, Some(&progress.resume)).unwrap()
    else {
        panic!("open");
    };
    assert_eq!(progress.reminders_sent, 1);
}
