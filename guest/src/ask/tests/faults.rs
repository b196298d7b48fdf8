//! Over the scripted transport: a request the host denies ends the wait at once, and burst
//! ("super") reactions, which Discord does not list, are not listed.

use super::*;
use crate::ask::wait;
use crate::bindings::{QuestionRef, WaitStatus};

#[test]
fn a_request_the_host_denies_ends_the_wait_instead_of_polling_on() {
    let mut t = started(false);
    t.reply_with(Err(TransportError::Denied(
        "the host's egress policy does not allow this destination".into(),
    )));
    let (answer, t) = run(t, &params(ask_settings()), 30_000);
    assert_eq!(
        answer.unwrap_err(),
        AlertError::Transport(
            "request denied by the host: the host's egress policy does not allow this \
             destination"
                .into()
        )
    );
    let mut expected = start_requests();
    expected.push(messages_after(Q));
    assert_eq!(requests(&t), expected, "no retry, no other round, no edit");
    assert!(t.sleeps.is_empty(), "{:?}", t.sleeps);
}

/// The question with a ✅ counted `count` times, `normal` of them normal (the bot's among them).
fn question_with_burst(count: u32, normal: u32) -> String {
    format!(
        r#"{{"id":"{Q}","content":"","author":{},"reactions":[{{"count":{count},
            "count_details":{{"normal":{normal},"burst":{}}},"me":true,"me_burst":false,
            "burst_colors":[],"emoji":{{"id":null,"name":"✅"}}}}]}}"#,
        user(BOT, "alerter", true),
        count - normal
    )
}

#[test]
fn burst_reactions_are_not_listed() {
    let q = QuestionRef {
        channel_id: CHANNEL.into(),
        message_id: Q.to_string(),
    };
    let users = format!("GET /channels/{CHANNEL}/messages/{Q}/reactions/%E2%9C%85?limit=100");
    // The bot's normal ✅ and someone's burst ✅: nobody to list.
    let mut t = FakeTransport::new();
    t.reply(200, &user(BOT, "alerter", true))
        .reply(200, "[]")
        .reply(200, &question_with_burst(2, 1));
    let mut svc = Service::new(settings(30_000), "tok", t);
    let status = wait(&mut svc, &q, &params(ask_settings()), 0, None).unwrap();
    assert!(matches!(status, WaitStatus::Open(_)), "{status:?}");
    let t = svc.client.transport_ref();
    assert!(!requests(t).contains(&users), "{:?}", requests(t));
    assert!(t.notices.is_empty(), "{:?}", t.notices);
    // A second normal ✅: listed.
    let mut t = FakeTransport::new();
    t.reply(200, &user(BOT, "alerter", true))
        .reply(200, "[]")
        .reply(200, &question_with_burst(3, 2))
        .reply(200, &format!("[{}]", user(ALICE, "alice", false)));
    let mut svc = Service::new(settings(30_000), "tok", t);
    let status = wait(&mut svc, &q, &params(ask_settings()), 0, None).unwrap();
    assert!(
        matches!(status, WaitStatus::Done(ref a) if a.approved),
        "{status:?}"
    );
    assert!(requests(svc.client.transport_ref()).contains(&users));
}
