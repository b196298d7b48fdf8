use super::fake::*;
use super::*;

fn client(t: FakeTransport, deadline_ms: u64) -> Client<FakeTransport> {
    Client::new(t, "http://127.0.0.1:9/api/v10/", "tok.en", deadline_ms)
}

fn post(c: &mut Client<FakeTransport>) -> Result<HttpResponse, AlertError> {
    let body = serde_json::json!({"content": "hi"});
    c.call(
        Method::Post,
        "/channels/1/messages",
        "POST /channels/1/messages",
        Some(&body),
    )
}

#[test]
fn sends_auth_user_agent_and_length() {
    let mut t = FakeTransport::new();
    t.reply(200, "{}");
    let mut c = client(t, 30_000);
    post(&mut c).unwrap();
    let (req, _) = &c.transport_ref().sent[0];
    assert_eq!(req.url, "http://127.0.0.1:9/api/v10/channels/1/messages");
    let h = |n: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(h("authorization").as_deref(), Some("Bot tok.en"));
    assert!(h("user-agent").unwrap().starts_with("DiscordBot (https://"));
    assert_eq!(h("content-length").as_deref(), Some("16"));
    assert_eq!(h("content-type").as_deref(), Some("application/json"));
}

#[test]
fn waits_retry_after_on_429_then_succeeds() {
    let mut t = FakeTransport::new();
    t.reply(
        429,
        r#"{"message":"You are being rate limited.","retry_after":0.8,"global":false,"code":0}"#,
    )
    .reply(200, "{}");
    let mut c = client(t, 30_000);
    post(&mut c).unwrap();
    let t = c.transport_ref();
    assert_eq!(t.sent.len(), 2);
    assert!(t.sent[1].1 - t.sent[0].1 >= 800 * MS, "retried too early");
}

#[test]
fn an_absurd_retry_after_never_makes_a_busy_loop() {
    // A server that answers every request with 429 and a retry_after that says nothing (or
    // 1 ns): the client backs off as after a server error, so a 2 s deadline sees a handful of
    // attempts (at most 2 s / 50 ms for the tiny positive one).
    for (retry_after, most) in [("-5", 6), ("0", 6), ("-1e308", 6), ("1e-9", 41)] {
        let mut t = FakeTransport::new();
        let body =
            format!(r#"{{"message":"x","retry_after":{retry_after},"global":false,"code":0}}"#);
        for _ in 0..1_000 {
            t.reply(429, &body);
        }
        let mut c = client(t, 2_000);
        assert!(matches!(post(&mut c), Err(AlertError::RateLimited(_))));
        let sent = c.transport_ref().sent.len();
        assert!(
            (2..=most).contains(&sent),
            "retry_after {retry_after}: {sent} requests in 2 s"
        );
    }
}

#[test]
fn an_unreadable_2xx_is_retried_and_the_readable_answer_kept() {
    // Cut short, wrong types, a proxy's HTML page: the create is sent again (its nonce makes
    // Discord return the message it made) and the id read from the second answer.
    for bad in [
        r#"{"id":"12"#,
        r#"{"id":5,"channel_id":[]}"#,
        "<html>hotel wi-fi</html>",
    ] {
        let mut t = FakeTransport::new();
        t.reply(200, bad);
        t.reply(200, r#"{"id":"42","channel_id":"1"}"#);
        let mut c = client(t, 30_000);
        let body = serde_json::json!({"content": "hi", "nonce": "n", "enforce_nonce": true});
        let got: Created = c
            .send_json(
                Method::Post,
                "/channels/1/messages",
                "POST /channels/1/messages",
                Some(&body),
            )
            .unwrap_or_else(|e| panic!("{bad}: {e:?}"));
        assert_eq!(got.id, "42");
        let sent = &c.transport_ref().sent;
        assert_eq!(sent.len(), 2, "{bad}");
        assert_eq!(
            sent[0].0.body, sent[1].0.body,
            "the retry is the same request"
        );
    }
    // Always unreadable: a transport error naming the route, at the deadline.
    let mut t = FakeTransport::new();
    for _ in 0..100 {
        t.reply(200, "<html>");
    }
    let mut c = client(t, 2_000);
    match c.get_json::<Created>("/users/@me", "GET /users/@me") {
        Err(AlertError::Transport(m)) => {
            assert!(
                m.starts_with("unreadable 200 answer from GET /users/@me"),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[derive(Debug, serde::Deserialize)]
struct Created {
    id: String,
}

#[test]
fn retry_after_longer_than_deadline_fails_at_once_as_rate_limited() {
    let mut t = FakeTransport::new();
    t.reply(
        429,
        r#"{"message":"slow down","retry_after":60,"global":true,"code":0}"#,
    );
    let mut c = client(t, 5_000);
    match post(&mut c) {
        Err(AlertError::RateLimited(r)) => {
            assert_eq!(r.retry_after_ms, 60_000);
            assert!(r.global);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.transport_ref().sleeps.len(), 0, "must not sleep in vain");
}

#[test]
fn json_429_without_retry_after_uses_the_header() {
    let mut t = FakeTransport::new();
    t.reply_with(Ok(response(
        429,
        r#"{"message":"slow","code":0}"#,
        &[("retry-after", "2")],
    )))
    .reply(200, "{}");
    let mut c = client(t, 30_000);
    post(&mut c).unwrap();
    let t = c.transport_ref();
    assert_eq!(t.sent.len(), 2);
    assert!(t.sent[1].1 - t.sent[0].1 >= 2 * SEC);
}

#[test]
fn cloudflare_ban_is_not_retried() {
    let mut t = FakeTransport::new();
    t.reply(429, "<html>error 1015</html>");
    let mut c = client(t, 30_000);
    assert!(
        matches!(post(&mut c), Err(AlertError::RateLimited(r)) if r.message.contains("Cloudflare"))
    );
    assert_eq!(c.transport_ref().sent.len(), 1);
}

#[test]
fn transient_errors_back_off_and_retry() {
    let mut t = FakeTransport::new();
    t.reply(500, r#"{"message":"boom","code":0}"#)
        .reply(502, "bad gateway")
        .reply_with(Err(TransportError::Failed("connection reset".into())))
        .reply(
            503,
            r#"{"message":"API resource is currently overloaded.","code":130000}"#,
        )
        .reply(200, "{}");
    let mut c = client(t, 30_000);
    post(&mut c).unwrap();
    let t = c.transport_ref();
    assert_eq!(t.sent.len(), 5);
    // Backoff grows: each sleep is at least half of 250 ms * 2^(n-1).
    for (n, s) in t.sleeps.iter().enumerate() {
        assert!(*s >= (BASE_BACKOFF_NS << n) / 2, "sleep {n} = {s}");
    }
}

#[test]
fn transient_errors_stop_at_the_deadline() {
    let mut t = FakeTransport::new();
    t.fallback = Some(response(502, "bad gateway", &[]));
    let mut c = client(t, 3_000);
    let start = c.transport_ref().now;
    assert!(matches!(post(&mut c), Err(AlertError::Api(e)) if e.status == 502));
    let t = c.transport_ref();
    assert!(t.now - start <= 3 * SEC, "overran the deadline");
    assert!(t.sent.len() >= 3, "gave up too early: {}", t.sent.len());
}

#[test]
fn client_errors_are_never_retried_and_keep_discords_code() {
    for (status, body) in [
        (401, r#"{"message":"401: Unauthorized","code":0}"#),
        (403, r#"{"message":"Missing Access","code":50001}"#),
        (404, r#"{"message":"Unknown Channel","code":10003}"#),
        (
            400,
            r#"{"message":"Invalid Form Body","code":50035,"errors":{"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 2000 or fewer in length."}]}}}"#,
        ),
    ] {
        let mut t = FakeTransport::new();
        t.reply(status, body);
        let mut c = client(t, 30_000);
        let err = post(&mut c).unwrap_err();
        assert_eq!(c.transport_ref().sent.len(), 1, "{status} retried");
        let ((AlertError::Unauthorized(e), 401)
        | (AlertError::Forbidden(e), 403)
        | (AlertError::NotFound(e), 404)
        | (AlertError::Api(e), 400)) = (&err, status)
        else {
            panic!("{status}: {err:?}");
        };
        assert_eq!(e.status, status);
        if status == 400 {
            assert_eq!(e.code, Some(50035));
            assert!(e.message.contains("content: Must be 2000"), "{}", e.message);
        }
    }
}

#[test]
fn exhausted_bucket_is_waited_out_before_the_next_request() {
    let mut t = FakeTransport::new();
    t.replies.push_back(Ok(response(
        200,
        "{}",
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset-after", "1.5"),
            ("x-ratelimit-bucket", "abc"),
        ],
    )));
    t.reply(200, "{}");
    let mut c = client(t, 30_000);
    post(&mut c).unwrap();
    post(&mut c).unwrap();
    let t = c.transport_ref();
    assert!(t.sent[1].1 - t.sent[0].1 >= 1_500 * MS);
}

#[test]
fn global_429_pauses_other_routes() {
    let mut t = FakeTransport::new();
    t.reply(
        429,
        r#"{"message":"global","retry_after":2.0,"global":true,"code":0}"#,
    )
    .reply(200, "{}");
    let mut c = client(t, 1_000);
    // The first call gives up (2 s > 1 s deadline) but remembers the global pause.
    assert!(post(&mut c).is_err());
    let mut c2 = c;
    c2.transport().reply(200, "[]");
    let res = c2.call(Method::Get, "/users/@me", "GET /users/@me", None);
    assert!(matches!(res, Err(AlertError::RateLimited(r)) if r.global));
}

#[test]
fn denied_requests_are_transport_errors_without_retry() {
    let mut t = FakeTransport::new();
    t.reply_with(Err(TransportError::Denied(
        "evil.example is not allowed".into(),
    )));
    let mut c = client(t, 30_000);
    assert!(matches!(post(&mut c), Err(AlertError::Transport(m)) if m.contains("denied")));
    assert_eq!(c.transport_ref().sent.len(), 1);
}

#[test]
fn emoji_are_percent_encoded() {
    assert_eq!(encode_emoji("✅"), "%E2%9C%85");
    assert_eq!(encode_emoji("👎"), "%F0%9F%91%8E");
    assert_eq!(encode_emoji("party:123"), "party:123");
}

#[test]
fn each_wait_on_a_request_is_at_most_15_s_and_never_past_the_deadline() {
    let mut t = FakeTransport::new();
    t.reply(200, "{}").reply(200, "{}");
    let mut c = client(t, 60_000);
    post(&mut c).unwrap();
    assert_eq!(c.transport_ref().sent[0].0.timeout_ns, 15 * SEC);
    let mut c = client(FakeTransport::new(), 4_000);
    c.transport().reply(200, "{}");
    post(&mut c).unwrap();
    assert_eq!(c.transport_ref().sent[0].0.timeout_ns, 4 * SEC);
}

#[test]
fn after_a_delivery_each_call_has_its_own_deadline_again() {
    let mut c = client(FakeTransport::new(), 5_000);
    c.begin_delivery();
    c.end_delivery();
    // Long after the delivery's deadline, a call still gets its own 5 s to retry a 502.
    c.transport().sleep_ns(60 * SEC);
    c.transport().reply(502, "bad gateway").reply(200, "{}");
    post(&mut c).expect("retried within its own deadline");
    assert_eq!(c.transport_ref().sent.len(), 2);
}

#[test]
fn backoff_waits_half_fixed_half_random_and_doubles_up_to_8_s() {
    let mut t = FakeTransport::new();
    t.fallback = Some(response(502, "bad gateway", &[]));
    let mut c = client(t, 120_000);
    assert!(post(&mut c).is_err());
    let sleeps = c.transport_ref().sleeps.clone();
    assert!(sleeps.len() >= 8, "{} retries", sleeps.len());
    let mut jitter = 0;
    let mut fixed = 0;
    for (n, s) in sleeps.iter().enumerate() {
        let full = (BASE_BACKOFF_NS << n.min(16)).min(MAX_BACKOFF_NS);
        assert!(
            *s >= full / 2 && *s <= full,
            "sleep {n} = {s} for a {full} backoff"
        );
        jitter += s - full / 2;
        fixed += full / 2;
    }
    // Uniform jitter over [0, full/2] averages a quarter of the backoff; a jitter that barely
    // moves would not spread retries from many callers.
    assert!(
        jitter > fixed / 4,
        "jitter {jitter} ns against {fixed} ns fixed"
    );
}

#[test]
fn a_global_rate_limit_header_pauses_every_route() {
    let mut t = FakeTransport::new();
    t.reply_with(Ok(response(
        429,
        r#"{"message":"slow","retry_after":2.0,"global":false,"code":0}"#,
        &[("x-ratelimit-global", "true")],
    )));
    let mut c = client(t, 1_000);
    assert!(post(&mut c).is_err(), "2 s is past the 1 s deadline");
    let res = c.call(Method::Get, "/users/@me", "GET /users/@me", None);
    assert!(matches!(res, Err(AlertError::RateLimited(r)) if r.global));
    assert_eq!(
        c.transport_ref().sent.len(),
        1,
        "the other route did not go"
    );
}

#[test]
fn a_bucket_reset_past_the_deadline_says_when_it_resets() {
    let mut t = FakeTransport::new();
    t.replies.push_back(Ok(response(
        200,
        "{}",
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset-after", "7.25"),
        ],
    )));
    let mut c = client(t, 2_000);
    post(&mut c).unwrap();
    match post(&mut c) {
        Err(AlertError::RateLimited(r)) => {
            assert!(!r.global);
            // Reset 7.25 s after the first answer, 1 ms of which the fake request took.
            assert!(
                (7_240..=7_250).contains(&r.retry_after_ms),
                "{}",
                r.retry_after_ms
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.transport_ref().sent.len(), 1);
}

#[test]
fn notices_describe_errors_briefly() {
    use crate::bindings::ApiError;
    let api = ApiError {
        status: 403,
        code: Some(50001),
        message: "Missing Access".into(),
    };
    assert_eq!(
        short(&AlertError::Forbidden(api)),
        "HTTP 403: Missing Access"
    );
    assert_eq!(
        short(&AlertError::Transport("connection refused".into())),
        "connection refused"
    );
    let rl = RateLimit {
        retry_after_ms: 10,
        global: false,
        message: "slow down".into(),
    };
    assert_eq!(short(&AlertError::RateLimited(rl)), "slow down");
}

#[test]
fn a_delivery_begun_inside_another_keeps_the_outer_deadline() {
    // Four requests that each fail once (a 500) and then work: alone each fits in a 400 ms
    // deadline, but inside one delivery of 400 ms they cannot all get through.
    let mut t = FakeTransport::new();
    for _ in 0..4 {
        t.reply(500, r#"{"message":"boom","code":0}"#)
            .reply(200, "{}");
    }
    let mut c = client(t, 400);
    c.begin_delivery();
    let start = c.now_ns();
    let mut results = Vec::new();
    for _ in 0..4 {
        c.begin_delivery(); // e.g. posting the parts, inside `open`
        results.push(post(&mut c).is_ok());
        c.end_delivery();
    }
    c.end_delivery();
    assert!(results.contains(&false), "{results:?}");
    assert!(c.now_ns() - start <= 400 * MS);
    // Once the outer delivery ended, a request gets a deadline of its own again.
    let mut t = FakeTransport::new();
    t.reply(500, r#"{"message":"boom","code":0}"#)
        .reply(200, "{}");
    *c.transport() = t;
    assert!(post(&mut c).is_ok());
}

#[test]
fn notices_are_told_once_each_and_at_most_twenty_then_summed_up() {
    let mut c = client(FakeTransport::new(), 1_000);
    for _ in 0..100 {
        c.notice("polling failed, will retry: HTTP 500: boom");
    }
    for i in 0..30 {
        c.notice(&format!("distinct {i}"));
    }
    c.finish_notices();
    let told = &c.transport_ref().notices;
    assert_eq!(told.len(), 1 + 19 + 1 + 1, "{told:#?}");
    assert_eq!(told[0], "polling failed, will retry: HTTP 500: boom");
    assert_eq!(told[20], "further warnings suppressed");
    assert_eq!(
        told[21],
        "110 more warnings not shown (repeats or past the first 20)"
    );
}
