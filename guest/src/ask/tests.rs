//! `ask` against a scripted [`FakeTransport`]: replies are served in request order and the
//! clock is virtual. Where the order of requests is the point, a test compares the whole list
//! of requests made (method and path, in order). The tests in the submodules run longer
//! scenarios against a simulated channel (`sim.rs`).

mod backoff;
mod faults;
mod half;
mod key;
mod late;
mod reactions;
mod remind;
mod resume;
mod sim;
mod steps;

use super::ask;
use crate::bindings::{
    AlertError, AlerterMessage, Answer, AnswerVia, AskSettings, Decision, Message, Params,
};
use crate::config::Settings;
use crate::discord::fake::FakeTransport;
use crate::discord::TransportError;
use crate::service::Service;

const API: &str = "http://127.0.0.1:1/api/v10";
const CHANNEL: &str = "111111111111111111";
const GUILD: &str = "666666666666666666";
const ROLE: &str = "777777777777777777";
const BOT: &str = "222222222222222222";
const ALICE: &str = "333333333333333333";
const BOB: &str = "444444444444444444";
const CAROL: &str = "555555555555555555";
/// The question's message id, asked when the fake's clock starts (Unix ms 1_790_001_000_000);
/// every answer's id is `Q + n`, in the same millisecond.
const Q: u64 = (1_790_001_000_000 - crate::snowflake::DISCORD_EPOCH_MS) << 22;
const SEC: u64 = 1_000_000_000;

fn settings(delivery_deadline_ms: u64) -> Settings {
    Settings {
        delivery_deadline_ms,
        ..Settings::from_lookup(|k| {
            Ok(match k {
                "api_base_url" => Some(API.into()),
                "default_discord_channel_id" => Some(CHANNEL.into()),
                _ => None,
            })
        })
        .unwrap()
    }
}

fn ask_settings() -> AskSettings {
    AskSettings {
        timeout_ms: Some(60_000),
        poll_interval_ms: Some(1_000),
        ..AskSettings::default()
    }
}

fn params(ask: AskSettings) -> Params {
    Params {
        ask: Some(ask),
        ..Params::default()
    }
}

fn question() -> Message {
    Message::Structured(AlerterMessage {
        title: Some("Deploy to prod?".into()),
        body: None,
        metadata: vec![],
        images: vec![],
    })
}

fn user(id: &str, name: &str, bot: bool) -> String {
    format!(r#"{{"id":"{id}","username":"{name}","bot":{bot}}}"#)
}

/// A message `Q + n` in the channel; `kind` 0 is ordinary, 19 a reply to the question.
fn msg(n: u64, author: &str, name: &str, content: &str) -> String {
    format!(
        r#"{{"id":"{}","content":"{content}","author":{},"type":0}}"#,
        Q + n,
        user(author, name, false)
    )
}

fn reply(n: u64, author: &str, name: &str, content: &str) -> String {
    format!(
        r#"{{"id":"{}","content":"{content}","author":{},"type":19,"message_reference":{{"message_id":"{Q}"}}}}"#,
        Q + n,
        user(author, name, false)
    )
}

fn page(messages: &[String]) -> String {
    format!("[{}]", messages.join(","))
}

/// The question as `GET /channels/{c}/messages/{q}` returns it, with a ✅ reaction counted
/// `count` times (0: none), `me` included.
fn question_with_checks(count: u32) -> String {
    let reactions = if count == 0 {
        String::new()
    } else {
        format!(r#"{{"count":{count},"me":true,"emoji":{{"id":null,"name":"✅"}}}}"#)
    };
    format!(
        r#"{{"id":"{Q}","content":"","author":{},"reactions":[{reactions}]}}"#,
        user(BOT, "alerter", true)
    )
}

/// Replies up to the first poll: `open` posts the question and adds its two reactions (with
/// approver roles it first checks the channel is a server's), then `wait` reads the bot's id
/// (and the channel's server).
fn started(roles: bool) -> FakeTransport {
    let mut t = FakeTransport::new();
    let channel = format!(r#"{{"id":"{CHANNEL}","guild_id":"{GUILD}"}}"#);
    if roles {
        t.reply(200, &channel);
    }
    t.reply(200, &format!(r#"{{"id":"{Q}","channel_id":"{CHANNEL}"}}"#))
        .reply(204, "")
        .reply(204, "")
        .reply(200, &user(BOT, "alerter", true));
    if roles {
        t.reply(200, &channel);
    }
    t
}

/// Replies to `close`: the question read back (still open), then the edit.
fn closed(t: &mut FakeTransport) {
    t.reply(200, &question_with_checks(1)).reply(200, "{}");
}

/// One quiet poll round: these messages, no reactions but the bot's.
fn round(t: &mut FakeTransport, messages: &[String]) {
    t.reply(200, &page(messages))
        .reply(200, &question_with_checks(1));
}

fn run(
    t: FakeTransport,
    p: &Params,
    deadline_ms: u64,
) -> (Result<Answer, AlertError>, FakeTransport) {
    let mut svc = Service::new(settings(deadline_ms), "tok", t);
    let answer = ask(&mut svc, &question(), p);
    (answer, svc.client.transport_ref().clone())
}

/// "METHOD /path" of every request, in order.
fn requests(t: &FakeTransport) -> Vec<String> {
    t.sent
        .iter()
        .map(|(r, _)| format!("{} {}", r.method.as_str(), r.url.strip_prefix(API).unwrap()))
        .collect()
}

fn messages_after(id: u64) -> String {
    format!("GET /channels/{CHANNEL}/messages?after={id}&limit=100")
}

fn question_get() -> String {
    format!("GET /channels/{CHANNEL}/messages/{Q}")
}

fn patch() -> String {
    format!("PATCH /channels/{CHANNEL}/messages/{Q}")
}

/// The requests up to the first poll.
fn start_requests() -> Vec<String> {
    vec![
        format!("POST /channels/{CHANNEL}/messages"),
        format!("PUT /channels/{CHANNEL}/messages/{Q}/reactions/%E2%9C%85/@me"),
        format!("PUT /channels/{CHANNEL}/messages/{Q}/reactions/%E2%9D%8C/@me"),
        "GET /users/@me".into(),
    ]
}

/// The requests of `close`.
fn close_requests() -> [String; 2] {
    [question_get(), patch()]
}

fn patch_body(t: &FakeTransport) -> serde_json::Value {
    let (last, _) = t.sent.last().unwrap();
    assert_eq!(last.method.as_str(), "PATCH");
    serde_json::from_slice(last.body.as_ref().unwrap()).unwrap()
}

fn responder(a: &Answer) -> &str {
    &a.responder.as_ref().unwrap().id
}

#[test]
fn a_full_page_is_followed_at_once_in_the_same_round() {
    let mut t = started(false);
    // 100 messages, newest first as Discord returns them; the answer is on the next page.
    let full: Vec<String> = (1..=100)
        .rev()
        .map(|n| msg(n, CAROL, "carol", "chatter"))
        .collect();
    t.reply(200, &page(&full))
        .reply(200, &page(&[msg(101, ALICE, "alice", "LGTM")]))
        .reply(200, &question_with_checks(1));
    closed(&mut t);
    let (answer, t) = run(t, &params(ask_settings()), 30_000);
    let answer = answer.unwrap();
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(responder(&answer), ALICE);
    let mut expected = start_requests();
    expected.extend([messages_after(Q), messages_after(Q + 100), question_get()]);
    expected.extend(close_requests());
    assert_eq!(requests(&t), expected);
    assert!(
        t.sleeps.is_empty(),
        "waited before the second page: {:?}",
        t.sleeps
    );
}

#[test]
fn the_cursor_moves_to_the_largest_id_and_the_next_round_starts_there() {
    let mut t = started(false);
    round(
        &mut t,
        &[
            msg(3, CAROL, "carol", "hi"),
            msg(1, CAROL, "carol", "hey"),
            msg(2, CAROL, "carol", "yo"),
        ],
    );
    round(&mut t, &[msg(4, ALICE, "alice", "LGTM")]);
    closed(&mut t);
    let (answer, t) = run(t, &params(ask_settings()), 30_000);
    assert_eq!(responder(&answer.unwrap()), ALICE);
    let mut expected = start_requests();
    expected.extend([messages_after(Q), question_get()]);
    expected.extend([messages_after(Q + 3), question_get()]);
    expected.extend(close_requests());
    assert_eq!(requests(&t), expected);
    assert_eq!(t.sleeps, [SEC], "one poll interval between the rounds");
}

#[test]
fn a_page_is_read_oldest_first() {
    // Discord lists newest first: the older "no" must be read before the newer "LGTM".
    let mut t = started(false);
    round(
        &mut t,
        &[msg(2, BOB, "bob", "LGTM"), msg(1, ALICE, "alice", "no")],
    );
    closed(&mut t);
    let (answer, _) = run(t, &params(ask_settings()), 30_000);
    let answer = answer.unwrap();
    assert_eq!(answer.decision, Decision::Disapproved);
    assert_eq!(responder(&answer), ALICE);
}

#[test]
fn a_reaction_answers_and_the_bots_own_reaction_is_not_listed() {
    let mut t = started(false);
    // Round 1: only the bot's own ✅ (count 1, me): nobody to list.
    round(&mut t, &[]);
    // Round 2: someone else added ✅: its users are listed; the bot among them does not count.
    t.reply(200, "[]")
        .reply(200, &question_with_checks(2))
        .reply(
            200,
            &format!(
                "[{},{}]",
                user(BOT, "alerter", true),
                user(ALICE, "alice", false)
            ),
        );
    closed(&mut t);
    let (answer, t) = run(t, &params(ask_settings()), 30_000);
    let answer = answer.unwrap();
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.via, Some(AnswerVia::Reaction));
    assert_eq!(answer.keyword.as_deref(), Some("✅"));
    assert_eq!(responder(&answer), ALICE);
    let mut expected = start_requests();
    expected.extend([messages_after(Q), question_get()]);
    expected.extend([
        messages_after(Q),
        question_get(),
        format!("GET /channels/{CHANNEL}/messages/{Q}/reactions/%E2%9C%85?limit=100"),
    ]);
    expected.extend(close_requests());
    assert_eq!(requests(&t), expected);
}

#[test]
fn two_distinct_approvers_are_needed_and_the_same_person_twice_counts_once() {
    let mut s = ask_settings();
    s.approvers = vec![ALICE.into(), BOB.into()];
    s.required_approvals = Some(2);
    let mut t = started(false);
    round(
        &mut t,
        &[
            msg(3, ALICE, "alice", "yes"),
            msg(2, CAROL, "carol", "LGTM"), // not an approver
            msg(1, ALICE, "alice", "LGTM"),
        ],
    );
    round(&mut t, &[msg(4, BOB, "bob", "ok")]);
    closed(&mut t);
    let (answer, t) = run(t, &params(s), 30_000);
    let answer = answer.unwrap();
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(responder(&answer), BOB);
    assert_eq!(answer.keyword.as_deref(), Some("ok"));
    let approvers: Vec<&str> = answer.approvers.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(approvers, [ALICE, BOB]);
    assert_eq!(t.sleeps.len(), 1, "decided in the second round");
}

#[test]
fn a_disapproval_ends_the_ask_even_with_approvals_pending() {
    let mut s = ask_settings();
    s.approvers = vec![ALICE.into(), BOB.into()];
    s.required_approvals = Some(2);
    let mut t = started(false);
    round(
        &mut t,
        &[msg(2, BOB, "bob", "reject"), msg(1, ALICE, "alice", "LGTM")],
    );
    closed(&mut t);
    let (answer, t) = run(t, &params(s), 30_000);
    let answer = answer.unwrap();
    assert!(!answer.approved);
    assert_eq!(answer.decision, Decision::Disapproved);
    assert_eq!(responder(&answer), BOB);
    assert_eq!(answer.keyword.as_deref(), Some("reject"));
    assert_eq!(answer.approvers.len(), 1, "alice's approval is reported");
    assert!(t.sleeps.is_empty());
    assert_eq!(patch_body(&t)["embeds"][0]["title"], "❌ Declined");
}

#[test]
fn an_answer_read_in_a_round_counts_even_if_a_later_read_fails() {
    // The messages page holds the answer, then reading the question fails (a 500, and the
    // delivery deadline of 300 ms allows one retry). The answer read stands: no second round.
    let mut t = started(false);
    t.reply(200, &page(&[msg(1, ALICE, "alice", "LGTM")]))
        .reply(500, r#"{"message":"boom","code":0}"#)
        .reply(500, r#"{"message":"boom","code":0}"#);
    closed(&mut t);
    let (answer, t) = run(t, &params(ask_settings()), 300);
    let answer = answer.unwrap();
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(responder(&answer), ALICE);
    let mut expected = start_requests();
    expected.extend([messages_after(Q), question_get(), question_get()]);
    expected.extend(close_requests());
    assert_eq!(requests(&t), expected);
    assert!(
        t.sleeps.iter().all(|s| *s < SEC),
        "no poll interval slept: {:?}",
        t.sleeps
    );
}

#[test]
fn a_round_that_fails_after_reading_a_reaction_reads_it_again() {
    // An approver role: a reactor's roles are looked up, and that lookup fails with a
    // connection error twice (the retry budget). The reactor must be read again next round.
    let mut s = ask_settings();
    s.approver_roles = vec![ROLE.into()];
    let mut t = started(true);
    let reactors = format!(
        "[{},{}]",
        user(BOT, "alerter", true),
        user(CAROL, "carol", false)
    );
    let reset = || Err(TransportError::Failed("connection reset".into()));
    t.reply(200, "[]")
        .reply(200, &question_with_checks(2))
        .reply(200, &reactors)
        .reply_with(reset())
        .reply_with(reset());
    t.reply(200, "[]")
        .reply(200, &question_with_checks(2))
        .reply(200, &reactors)
        .reply(200, &format!(r#"{{"roles":["{ROLE}"]}}"#));
    closed(&mut t);
    let (answer, t) = run(t, &params(s), 300);
    let answer = answer.unwrap();
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.via, Some(AnswerVia::Reaction));
    assert_eq!(responder(&answer), CAROL);
    let users = format!("GET /channels/{CHANNEL}/messages/{Q}/reactions/%E2%9C%85?limit=100");
    let member = format!("GET /guilds/{GUILD}/members/{CAROL}");
    let mut expected = start_requests();
    expected.insert(0, format!("GET /channels/{CHANNEL}"));
    expected.push(format!("GET /channels/{CHANNEL}"));
    expected.extend([messages_after(Q), question_get(), users.clone()]);
    expected.extend([member.clone(), member.clone()]);
    expected.extend([messages_after(Q), question_get(), users, member]);
    expected.extend(close_requests());
    assert_eq!(requests(&t), expected);
    assert!(
        t.notices
            .iter()
            .any(|n| n.starts_with("polling failed, will retry")),
        "{:?}",
        t.notices
    );
}

#[test]
fn unauthorized_forbidden_and_not_found_while_polling_end_the_ask() {
    for status in [401, 403, 404] {
        let mut t = started(false);
        t.reply(status, r#"{"message":"no","code":0}"#);
        let mut s = ask_settings();
        s.timeout_ms = Some(5_000);
        let (answer, t) = run(t, &params(s), 30_000);
        let err = answer.unwrap_err();
        let ((AlertError::Unauthorized(e), 401)
        | (AlertError::Forbidden(e), 403)
        | (AlertError::NotFound(e), 404)) = (&err, status)
        else {
            panic!("{status}: {err:?}");
        };
        assert_eq!(e.status, status);
        let mut expected = start_requests();
        expected.push(messages_after(Q));
        assert_eq!(requests(&t), expected, "{status}: no retry, no edit");
        assert!(t.sleeps.is_empty());
    }
}

#[test]
fn nobody_answering_times_out_at_the_deadline() {
    let mut s = ask_settings();
    s.timeout_ms = Some(5_000);
    s.poll_interval_ms = Some(2_000);
    let mut t = started(false);
    for _ in 0..4 {
        round(&mut t, &[]);
    }
    closed(&mut t);
    let start = t.now;
    let (answer, t) = run(t, &params(s), 30_000);
    let answer = answer.unwrap();
    assert!(!answer.approved);
    assert_eq!(answer.decision, Decision::TimedOut);
    assert_eq!(
        (answer.responder, answer.via, answer.keyword),
        (None, None, None)
    );
    assert!(answer.approvers.is_empty());
    // Rounds at 0, 2, 4 s and at the deadline (5 s): the last wait is cut short.
    assert_eq!(t.sleeps.len(), 3, "{:?}", t.sleeps);
    assert_eq!(t.sleeps[..2], [2 * SEC, 2 * SEC]);
    assert!(t.sleeps[2] < SEC, "{:?}", t.sleeps);
    let (last_round, at) = &t.sent[t.sent.len() - 4];
    assert_eq!(
        format!("GET {}", last_round.url.strip_prefix(API).unwrap()),
        messages_after(Q)
    );
    assert!(*at - start >= 5 * SEC && *at - start < 5 * SEC + SEC / 100);
    let outcome = &patch_body(&t)["embeds"][0];
    assert_eq!(outcome["title"], "⌛ Timed out: no decision");
    assert_eq!(
        outcome["description"],
        "nobody entitled to decide answered in time"
    );
}

#[test]
fn the_question_is_read_back_and_edited_to_show_the_outcome() {
    let mut t = started(false);
    round(&mut t, &[reply(1, ALICE, "alice", "LGTM")]);
    // The question as Discord returns it: with fields of its own that an edit must not send.
    let embed = r#"{"type":"rich","title":"Deploy to prod?","description":"Answer","color":3447003,
        "timestamp":"2026-11-28T04:07:25.123000+00:00","fields":[{"name":"k","value":"v","inline":true}],
        "image":{"url":"https://example.com/a.png","proxy_url":"https://media.example/a","width":8,"height":8},
        "footer":{"text":"alerter key: k1","icon_url":null}}"#;
    let question = format!(
        r#"{{"id":"{Q}","content":"","author":{},"embeds":[{embed}],"reactions":[]}}"#,
        user(BOT, "alerter", true)
    );
    t.reply(200, &question).reply(200, "{}");
    let (answer, t) = run(t, &params(ask_settings()), 30_000);
    let answer = answer.unwrap();
    assert_eq!(answer.via, Some(AnswerVia::Reply));
    let body = patch_body(&t);
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["allowed_mentions", "embeds"]
    );
    assert_eq!(body["allowed_mentions"], serde_json::json!({"parse": []}));
    let embeds = body["embeds"].as_array().unwrap();
    assert_eq!(embeds.len(), 2);
    assert_eq!(
        embeds[0],
        serde_json::json!({"title": "Deploy to prod?", "description": "Answer", "color": 3447003,
            "timestamp": "2026-11-28T04:07:25.123000+00:00",
            "fields": [{"name": "k", "value": "v", "inline": true}],
            "image": {"url": "https://example.com/a.png"}, "footer": {"text": "alerter key: k1"}}),
        "the question stays as it was, key marker included"
    );
    assert_eq!(embeds[1]["title"], "✅ Approved");
    assert_eq!(
        embeds[1]["description"],
        format!("by <@{ALICE}> (alice) replying `LGTM`")
    );
    assert_eq!(embeds[1]["color"], 0x2E_CC71);
    assert_eq!(embeds[1]["timestamp"], answer.answered_at.as_str());
    assert_eq!(embeds[1]["footer"]["text"], "alerter outcome");
    sim::check(&body, "MessageEditRequestPartial");
}

#[test]
fn a_failed_edit_is_a_notice_not_an_error() {
    let mut t = started(false);
    round(&mut t, &[msg(1, ALICE, "alice", "LGTM")]);
    t.reply(200, &question_with_checks(1))
        .reply(403, r#"{"message":"Missing Permissions","code":50013}"#);
    let (answer, t) = run(t, &params(ask_settings()), 30_000);
    assert_eq!(answer.unwrap().decision, Decision::Approved);
    assert!(
        t.notices
            .iter()
            .any(|n| n.starts_with("could not mark the question")),
        "{:?}",
        t.notices
    );
}

/// A message of another `kind` (a system message), as Discord lists them.
fn typed(n: u64, author: &str, kind: u8, content: &str) -> String {
    format!(
        r#"{{"id":"{}","content":"{content}","author":{},"type":{kind}}}"#,
        Q + n,
        user(author, "alice", false)
    )
}

#[test]
fn a_system_message_never_answers_even_with_a_keyword_as_its_text() {
    let mut t = started(false);
    // Type 18 (thread created) named "LGTM" by a person, then type 7 (member join) "yes".
    round(
        &mut t,
        &[typed(1, ALICE, 18, "LGTM"), typed(2, ALICE, 7, "yes")],
    );
    t.reply(200, &page(&[msg(3, ALICE, "alice", "no")]))
        .reply(200, &question_with_checks(1));
    closed(&mut t);
    let (answer, _) = run(t, &params(ask_settings()), 30_000);
    let answer = answer.unwrap();
    assert_eq!(answer.decision, Decision::Disapproved, "{answer:?}");
    assert_eq!(answer.keyword.as_deref(), Some("no"));
}

#[test]
fn only_a_reply_to_the_question_counts_as_a_reply() {
    let mut t = started(false);
    let to_other = format!(
        r#"{{"id":"{}","content":"LGTM","author":{},"type":19,"message_reference":{{"message_id":"{}"}}}}"#,
        Q + 1,
        user(ALICE, "alice", false),
        Q - 5
    );
    t.reply(200, &page(&[to_other]))
        .reply(200, &question_with_checks(1));
    closed(&mut t);
    let (answer, _) = run(t, &params(ask_settings()), 30_000);
    assert_eq!(
        answer.unwrap().via,
        Some(AnswerVia::Message),
        "a reply to another message"
    );
}

#[test]
fn messages_without_text_warn_about_the_intent_once() {
    let mut t = started(false);
    round(
        &mut t,
        &[msg(1, ALICE, "alice", ""), msg(2, ALICE, "alice", "")],
    );
    round(&mut t, &[msg(3, ALICE, "alice", "")]);
    t.reply(200, &page(&[msg(4, ALICE, "alice", "yes")]))
        .reply(200, &question_with_checks(1));
    closed(&mut t);
    let (answer, t) = run(t, &params(ask_settings()), 30_000);
    assert_eq!(answer.unwrap().decision, Decision::Approved);
    let warnings = t
        .notices
        .iter()
        .filter(|n| n.contains("MESSAGE_CONTENT"))
        .count();
    assert_eq!(warnings, 1, "{:?}", t.notices);
}

#[test]
fn a_custom_emoji_keyword_answers_by_reaction_as_name_and_id() {
    let mut t = started(false);
    let party = format!(
        r#"{{"id":"{Q}","content":"","author":{},"reactions":[{{"count":1,"me":false,"emoji":{{"id":"123456789012345678","name":"party"}}}}]}}"#,
        user(BOT, "alerter", true)
    );
    t.reply(200, "[]")
        .reply(200, &party)
        .reply(200, &format!("[{}]", user(ALICE, "alice", false)));
    closed(&mut t);
    let mut p = params(ask_settings());
    p.approve_keywords = Some(vec!["party:123456789012345678".into()]);
    let (answer, t) = run(t, &p, 30_000);
    let answer = answer.unwrap();
    assert_eq!(answer.decision, Decision::Approved);
    assert_eq!(answer.keyword.as_deref(), Some("party:123456789012345678"));
    assert!(requests(&t).contains(&format!(
        "GET /channels/{CHANNEL}/messages/{Q}/reactions/party:123456789012345678?limit=100"
    )));
}
