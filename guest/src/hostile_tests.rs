//! Property tests: the client and `ask`'s `wait` against a hostile or broken server (or
//! something pretending to be Discord) that answers anything at all: any status, garbage
//! rate-limit headers, bodies that are not JSON, JSON of the wrong shape, huge strings, HTML.
//! Whatever it sends, nothing panics, every failure is a typed `AlertError`, every call ends
//! within its delivery deadline on the virtual clock, and a create is never sent again once
//! answered with a 2xx. 64 cases by default; `PROPTEST_CASES=N` for a longer hunt.
//!
//! At the crate's top, not inside `discord`: it drives `service` and `ask`, which stand above
//! `discord`, and a module of `discord` using them would make the layers use each other.

use proptest::prelude::*;
use serde_json::Value;

use crate::ask::wait;
use crate::bindings::AlertError;
use crate::bindings::{AskSettings, Params, QuestionRef, WaitStatus};
use crate::config::Settings;
use crate::discord::fake::{response, FakeTransport};
use crate::discord::*;
use crate::render::CreateMessage;
use crate::service::{MessageRef, Service};

const MS: u64 = 1_000_000;
const API: &str = "http://127.0.0.1:9/api/v10";
const CHANNEL: &str = "111111111111111111";
/// A question asked when the fake's clock starts (Unix ms 1_790_001_000_000).
const Q: u64 = (1_790_001_000_000 - crate::snowflake::DISCORD_EPOCH_MS) << 22;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// Header values a broken proxy might send.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "0",
            "-1",
            "-0",
            "1",
            "0.5",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "1e308",
            "-1e308",
            "1e-308",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "99999999999999999999999999999999",
            "true",
            "false",
            "abc",
            " 5 ",
            "0x10",
            "1,2",
        ])
        .prop_map(String::from),
        "[ -~]{0,20}",
        any::<f64>().prop_map(|f| f.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop::sample::select(words(
        "retry-after x-ratelimit-remaining x-ratelimit-reset-after x-ratelimit-reset \
         x-ratelimit-limit x-ratelimit-bucket x-ratelimit-global x-ratelimit-scope content-type",
    ));
    prop::collection::vec((name.prop_map(String::from), header_value()), 0..6)
}

/// The words of `s`.
fn words(s: &'static str) -> Vec<&'static str> {
    s.split_whitespace().collect()
}

/// A number as a hostile server might write one in JSON.
fn json_number() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(words(
            "0 -1 -5 1e308 -1e308 1e-308 0.05 18446744073709551616 99999999999999999999999999 \
             -0 3.5 1e400"
        ))
        .prop_map(String::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
    ]
}

/// Fixed bodies, one a line (and the empty body).
const BODIES: &str = r#"{
[
null
true
"x"
[]
{}
[[]]
[null]
[1,2,3]
<html><body><h1>502 Bad Gateway</h1></body></html>
<!DOCTYPE html><title>Attention Required! | Cloudflare</title>
{"id":123,"channel_id":456}
{"id":"1"}
{"id":null,"username":[]}
{"id":"222222222222222222","username":"b","bot":"yes"}
[{"id":12,"content":"approve"}]
[{"id":"x","author":null,"type":"0"}]
[{"content":"approve","author":{"id":"3"}}]
[{"id":"99999999999999999999999","author":{"id":"3","username":"a"}}]
{"id":"1","reactions":"✅"}
{"id":"1","reactions":[{"count":-1,"emoji":{}}]}
{"id":"1","reactions":[{"count":1e308,"me":true,"emoji":{"name":"✅"}}]}
{"id":"1","reactions":[{"count":18446744073709551615,"emoji":{"name":"❌"}}]}
{"code":130000,"message":"API overloaded"}
{"code":"50035","message":5,"errors":[]}
{"message":"x","errors":{"a":{"_errors":"no"}}}
{"retry_after":"soon","global":"yes"}
{"retry_after":null}
{"guild_id":7}"#;

/// Bodies: empty, not JSON, JSON of the wrong shape, Discord-like with odd values, huge.
fn body() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(
        std::iter::once("")
            .chain(BODIES.lines())
            .collect::<Vec<_>>(),
    )
    .prop_map(String::from);
    prop_oneof![
        4 => fixed,
        1 => "[ -~]{0,40}",
        1 => (json_number(), any::<bool>(), json_number()).prop_map(|(r, g, c)| format!(
            r#"{{"message":"rate limited","retry_after":{r},"global":{g},"code":{c}}}"#
        )),
        1 => (json_number(), json_number()).prop_map(|(id, count)| format!(
            r#"[{{"id":{id},"author":{{"id":"{count}"}}}},{{"id":"{Q}","reactions":[{{"count":{count},"emoji":{{"name":"✅"}}}}]}}]"#
        )),
        1 => (1usize..300_000, "[a-z\"{}\\[\\]]").prop_map(|(n, c)| c.repeat(n)),
    ]
}

fn reply() -> impl Strategy<Value = Result<HttpResponse, TransportError>> {
    prop_oneof![
        // Any status, with 2xx more often so the success paths get garbage too.
        12 => (prop_oneof![100u16..600, 200u16..205], headers(), body())
            .prop_map(|(status, headers, body)| Ok(HttpResponse { status, headers, body: body.into_bytes() })),
        1 => "[ -~]{0,20}".prop_map(|w| Err(TransportError::Failed(w))),
        1 => Just(Err(TransportError::Denied("no".into()))),
        1 => Just(Err(TransportError::Invalid("bad url".into()))),
    ]
}

/// A fake serving `replies`, then `fallback` (or "script exhausted" failures) for ever after.
fn transport(
    replies: Vec<Result<HttpResponse, TransportError>>,
    fallback: Option<HttpResponse>,
) -> FakeTransport {
    let mut t = FakeTransport::new();
    t.replies = replies.into();
    t.fallback = fallback;
    t
}

fn fallback() -> impl Strategy<Value = Option<HttpResponse>> {
    prop::option::of((100u16..600, body()).prop_map(|(s, b)| response(s, &b, &[])))
}

fn settings(delivery_deadline_ms: u64) -> Settings {
    Settings {
        api_base: API.into(),
        default_channel: Some(CHANNEL.into()),
        ask_timeout_ms: 60_000,
        delivery_deadline_ms,
        max_attachment_bytes: 10 << 20,
        long_body_max_parts: 3,
    }
}

/// Well-formed answers to a first round's reads: the bot's id, (the channel's server,) no
/// messages, the question with the bot's ✅.
fn sane_start(roles: bool) -> Vec<HttpResponse> {
    let bot = r#"{"id":"222222222222222222","username":"alerter","bot":true}"#;
    let channel = format!(r#"{{"id":"{CHANNEL}","guild_id":"666666666666666666"}}"#);
    let question = format!(
        r#"{{"id":"{Q}","content":"","author":{bot},"reactions":[{{"count":2,"me":true,"emoji":{{"id":null,"name":"✅"}}}}]}}"#
    );
    let mut out = vec![response(200, bot, &[])];
    if roles {
        out.push(response(200, &channel, &[]));
    }
    out.extend([response(200, "[]", &[]), response(200, &question, &[])]);
    out
}

/// The call took no longer than its deadline plus one request timeout.
fn within(t: &FakeTransport, start: u64, deadline_ms: u64) -> Result<(), TestCaseError> {
    let took = t.now - start;
    prop_assert!(
        took <= deadline_ms * MS + REQUEST_TIMEOUT_NS,
        "took {} ms for a {deadline_ms} ms deadline; sleeps {:?}",
        took / MS,
        t.sleeps
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// `call` and `get_json` end in time with a 2xx or a typed error, whatever the server says.
    #[test]
    fn reads_survive_any_answer(
        replies in prop::collection::vec(reply(), 0..10),
        fallback in fallback(),
        deadline_ms in prop_oneof![Just(0u64), 1u64..5_000, 5_000u64..120_000],
        typed in any::<bool>(),
    ) {
        let mut c = Client::new(transport(replies, fallback), API, "tok.en", deadline_ms);
        let start = c.now_ns();
        let path = format!("/channels/{CHANNEL}/messages/{Q}");
        let route = format!("GET /channels/{CHANNEL}/messages/{{id}}");
        if typed {
            let _: Result<MessageRef, AlertError> = c.get_json(&path, &route);
        } else {
            match c.call(Method::Get, &path, &route, None) {
                Ok(r) => prop_assert!((200..300).contains(&r.status), "{}", r.status),
                Err(e) => { let _ = short(&e); }
            }
        }
        within(c.transport_ref(), start, deadline_ms)?;
    }

    /// A create ends in time, carries one nonce on every attempt, and is not sent again once a
    /// readable 2xx answered it. (After an unreadable 2xx it is sent again: the enforced nonce
    /// makes Discord return the message it made, and the caller needs its id.)
    #[test]
    fn a_create_is_never_sent_after_a_success(
        replies in prop::collection::vec(reply(), 0..10),
        fallback in fallback(),
        deadline_ms in prop_oneof![Just(0u64), 1u64..5_000, 5_000u64..120_000],
    ) {
        // Which request (counting from 0; the fallback's is the first after the script) got a
        // readable 2xx.
        let success = replies.iter().map(|r| r.as_ref().ok()).chain([fallback.as_ref()])
            .position(|r| r.is_some_and(|r| {
                (200..300).contains(&r.status)
                    && serde_json::from_slice::<MessageRef>(&r.body).is_ok()
            }));
        let mut svc = Service::new(settings(deadline_ms), "tok.en", transport(replies, fallback));
        let start = svc.client.now_ns();
        let body = CreateMessage { content: Some("hi".into()), ..CreateMessage::default() };
        let result = svc.create_message(CHANNEL, body, 7, 0, None);
        let t = svc.client.transport_ref();
        within(t, start, deadline_ms)?;
        let posts: Vec<Value> = t.sent.iter()
            .map(|(r, _)| serde_json::from_slice(r.body.as_deref().unwrap()).unwrap())
            .collect();
        prop_assert!(!posts.is_empty());
        prop_assert!(posts.iter().all(|p| p["nonce"] == posts[0]["nonce"] && p["enforce_nonce"] == true));
        if let Some(i) = success {
            prop_assert!(posts.len() <= i + 1, "{} POSTs, the {}th got a 2xx", posts.len(), i + 1);
        }
        if result.is_ok() {
            prop_assert!(success.is_some());
        }
    }

    /// One round of `wait` (max-wait 0) over garbage: an answer, progress, or a typed error,
    /// within one delivery deadline.
    #[test]
    fn a_wait_survives_any_answer(
        replies in prop::collection::vec(reply(), 0..16),
        fallback in fallback(),
        deadline_ms in prop_oneof![Just(0u64), 1u64..5_000, 5_000u64..120_000],
        roles in any::<bool>(),
        sane in 0usize..4,
    ) {
        // The first `sane` replies are well formed, so the garbage also reaches later reads.
        let mut script: Vec<_> = sane_start(roles).into_iter().take(sane).map(Ok).collect();
        script.extend(replies);
        let mut svc = Service::new(settings(deadline_ms), "tok", transport(script, fallback));
        let start = svc.client.now_ns();
        let params = Params {
            ask: Some(AskSettings {
                timeout_ms: Some(60_000),
                poll_interval_ms: Some(1_000),
                approver_roles: if roles { vec!["777777777777777777".into()] } else { vec![] },
                ..AskSettings::default()
            }),
            ..Params::default()
        };
        let q = QuestionRef { channel_id: CHANNEL.into(), message_id: Q.to_string() };
        match wait(&mut svc, &q, &params, 0, None) {
            Ok(WaitStatus::Open(_) | WaitStatus::Done(_)) => {}
            Err(e) => { let _ = short(&e); }
        }
        within(svc.client.transport_ref(), start, deadline_ms)?;
    }
}
