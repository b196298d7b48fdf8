//! The pacer's unit tests (a file of their own to keep `pacer.rs` readable).

use super::*;

fn key(auth: Option<&str>, method: &str, path: &str) -> Key {
    let mut h = HeaderMap::new();
    if let Some(a) = auth {
        h.insert(http::header::AUTHORIZATION, a.parse().unwrap());
    }
    let uri: http::Uri = format!("https://discord.com{path}").parse().unwrap();
    Key::of(
        "https://discord.com:443",
        &method.parse().unwrap(),
        &uri,
        &h,
    )
}

fn limits(limit: u32, remaining: u32, reset_after: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-ratelimit-limit", limit.into());
    h.insert("x-ratelimit-remaining", remaining.into());
    h.insert("x-ratelimit-reset-after", reset_after.parse().unwrap());
    h
}

const BOT: Option<&str> = Some("Bot a.b.c");
const POST: &str = "/api/v10/channels/1/messages";

fn held_until(r: Result<(), Hold>) -> Instant {
    match r {
        Err(Hold::Until(t)) => t,
        Err(Hold::Answer) => panic!("held for an answer, not a time"),
        Ok(()) => panic!("not held"),
    }
}

#[test]
fn routes_keep_the_major_parameter_only() {
    for (path, want) in [
        ("/api/v10/channels/123/messages", "/channels/123/messages"),
        (
            "/api/v10/channels/123/messages/456/reactions/%E2%9C%85/@me",
            "/channels/123/messages/:id/reactions/:emoji/@me",
        ),
        ("/api/v10/guilds/9/members/77", "/guilds/9/members/:id"),
        ("/api/v10/webhooks/5/tok-en", "/webhooks/5/tok-en"),
        (
            "/api/v10/webhooks/5/tok/messages/8",
            "/webhooks/5/tok/messages/:id",
        ),
        ("/api/v10/users/@me", "/users/@me"),
        ("/channels/1/messages", "/channels/1/messages"),
        ("/api/other/1", "/other/:id"),
    ] {
        assert_eq!(route(path), want, "{path}");
    }
}

#[test]
fn keys_separate_bots_methods_and_major_parameters_not_minor_ids() {
    let a = key(BOT, "POST", POST);
    assert_eq!(a, key(BOT, "POST", POST));
    assert_ne!(a, key(BOT, "POST", "/api/v10/channels/2/messages"));
    assert_ne!(a, key(BOT, "GET", POST));
    assert_ne!(a, key(Some("Bot other"), "POST", POST));
    let elsewhere: http::Uri = format!("http://127.0.0.1:8765{POST}").parse().unwrap();
    let mut h = HeaderMap::new();
    h.insert(http::header::AUTHORIZATION, BOT.unwrap().parse().unwrap());
    assert_ne!(
        a,
        Key::of("http://127.0.0.1:8765", &http::Method::POST, &elsewhere, &h),
        "another server"
    );
    assert_eq!(
        key(BOT, "GET", "/api/v10/channels/1/messages/10"),
        key(BOT, "GET", "/api/v10/channels/1/messages/11")
    );
    assert_eq!(key(None, "POST", POST).bot, 0);
    assert_ne!(a.bot, 0);
}

#[test]
fn an_unknown_route_sends_one_request_then_the_bucket_paces_the_rest() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    assert!(s.take(k, t0).is_ok());
    assert!(
        matches!(s.take(k, t0), Err(Hold::Answer)),
        "one probe at a time"
    );
    s.learn(k, StatusCode::OK, &limits(3, 2, "5"), t0);
    assert!(s.take(k, t0).is_ok());
    assert!(s.take(k, t0).is_ok());
    let reset = held_until(s.take(k, t0));
    assert_eq!(reset, t0 + Duration::from_secs(5));
    // Another channel has its own bucket.
    assert!(s
        .take(key(BOT, "POST", "/api/v10/channels/2/messages"), t0)
        .is_ok());
    // At the reset the bucket is full again.
    assert!(s.take(k, reset).is_ok());
}

#[test]
fn requests_in_flight_are_counted_against_what_an_answer_reports() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    s.learn(k, StatusCode::OK, &limits(5, 4, "5"), t0);
    for _ in 0..3 {
        s.take(k, t0).unwrap();
    }
    // The first of the three answers: Discord counted it, not the two still out.
    s.learn(k, StatusCode::OK, &limits(5, 3, "5"), t0);
    assert!(
        s.take(k, t0).is_ok(),
        "one left: 3 reported minus 2 in flight"
    );
    assert!(s.take(k, t0).is_err());
}

#[test]
fn an_older_answer_arriving_late_does_not_raise_the_count() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    s.learn(k, StatusCode::OK, &limits(3, 2, "1"), t0);
    s.take(k, t0).unwrap();
    s.take(k, t0).unwrap();
    // The second answer (0 left) overtakes the first (1 left).
    s.learn(k, StatusCode::OK, &limits(3, 0, "0.999"), t0);
    s.learn(k, StatusCode::OK, &limits(3, 1, "1"), t0);
    assert!(s.take(k, t0).is_err(), "the window is spent");
    // A later window's answer is taken as it is.
    let t1 = t0 + Duration::from_secs(1);
    s.take(k, t1).unwrap();
    s.learn(k, StatusCode::OK, &limits(3, 2, "1"), t1);
    assert!(s.take(k, t1).is_ok());
}

#[test]
fn an_answer_that_overtakes_earlier_ones_leaves_the_slots_not_yet_used() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    s.learn(k, StatusCode::OK, &limits(5, 4, "1"), t0);
    let t1 = t0 + Duration::from_secs(1);
    // A new window: four go out at once and the third's answer comes back first.
    for _ in 0..4 {
        s.take(k, t1).unwrap();
    }
    s.learn(k, StatusCode::OK, &limits(5, 2, "1"), t1);
    assert!(s.take(k, t1).is_ok(), "the fifth slot is still free");
    assert!(s.take(k, t1).is_err());
}

#[test]
fn another_client_of_the_same_bot_lowers_the_count() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    s.learn(k, StatusCode::OK, &limits(5, 4, "1"), t0);
    s.take(k, t0).unwrap();
    // Discord counted two more than we sent.
    s.learn(k, StatusCode::OK, &limits(5, 1, "1"), t0);
    assert!(s.take(k, t0).is_ok());
    assert!(s.take(k, t0).is_err());
}

#[test]
fn a_spent_window_without_a_known_reset_waits_for_an_answer() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    s.learn(k, StatusCode::OK, &limits(2, 1, "1"), t0);
    let t1 = t0 + Duration::from_secs(1);
    // The window ended: the full limit goes out, and then the next waits for an answer.
    s.take(k, t1).unwrap();
    s.take(k, t1).unwrap();
    assert!(matches!(s.take(k, t1), Err(Hold::Answer)));
    s.learn(k, StatusCode::OK, &limits(2, 0, "1"), t1);
    assert_eq!(held_until(s.take(k, t1)), t1 + Duration::from_secs(1));
}

#[test]
fn answers_without_headers_leave_a_route_unpaced() {
    let mut s = State::default();
    let k = key(None, "GET", "/health");
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    s.learn(k, StatusCode::OK, &HeaderMap::new(), t0);
    for _ in 0..200 {
        s.take(k, t0)
            .expect("no limit known, no global limit without a bot");
    }
}

#[test]
fn a_429_spends_its_bucket_until_retry_after() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    let mut h = HeaderMap::new();
    h.insert("retry-after", "2.5".parse().unwrap());
    s.learn(k, StatusCode::TOO_MANY_REQUESTS, &h, t0);
    assert_eq!(held_until(s.take(k, t0)), t0 + Duration::from_millis(2500));
    assert!(
        s.take(key(BOT, "GET", POST), t0).is_ok(),
        "other routes go on"
    );
}

#[test]
fn a_global_429_pauses_every_route_of_that_bot_only() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    let mut h = HeaderMap::new();
    h.insert("retry-after", "3".parse().unwrap());
    h.insert("x-ratelimit-global", "true".parse().unwrap());
    s.learn(k, StatusCode::TOO_MANY_REQUESTS, &h, t0);
    let other_route = key(BOT, "GET", "/api/v10/users/@me");
    assert_eq!(
        held_until(s.take(other_route, t0)),
        t0 + Duration::from_secs(3)
    );
    assert!(s.take(key(Some("Bot other"), "POST", POST), t0).is_ok());
    assert!(s.take(other_route, t0 + Duration::from_secs(3)).is_ok());
}

#[test]
fn the_global_limit_is_paced_per_bot() {
    let mut s = State::default();
    let t0 = Instant::now();
    for i in 0..GLOBAL_LIMIT {
        s.take(
            key(BOT, "GET", &format!("/api/v10/channels/{i}/messages")),
            t0,
        )
        .unwrap();
    }
    let next = key(BOT, "GET", "/api/v10/channels/999/messages");
    assert_eq!(held_until(s.take(next, t0)), t0 + GLOBAL_WINDOW);
    assert!(s.take(key(Some("Bot other"), "GET", POST), t0).is_ok());
    assert!(s.take(next, t0 + GLOBAL_WINDOW).is_ok());
}

#[test]
fn bogus_headers_never_park_requests_for_long() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    for bad in ["-5", "NaN", "inf", "nope"] {
        s.take(k, t0).unwrap();
        s.learn(k, StatusCode::OK, &limits(1, 0, bad), t0);
    }
    // None of those set a reset; a huge one is cut to MAX_WAIT.
    s.take(k, t0).unwrap();
    s.learn(k, StatusCode::OK, &limits(1, 0, "1000000000"), t0);
    assert_eq!(held_until(s.take(k, t0)), t0 + MAX_WAIT);
}

#[tokio::test]
async fn a_request_without_an_answer_gives_its_slot_back_and_wakes_the_next() {
    let pacer = Arc::new(Pacer::default());
    let k = key(BOT, "POST", POST);
    let probe = pacer.acquire(k).await;
    let p = pacer.clone();
    let next = tokio::spawn(async move { p.acquire(k).await });
    tokio::task::yield_now().await;
    assert!(
        !next.is_finished(),
        "the second waits for the probe's answer"
    );
    drop(probe);
    let second = tokio::time::timeout(Duration::from_secs(1), next)
        .await
        .expect("woken by the drop")
        .unwrap();
    // Answered: the bucket is spent for 0.3 s, and a waiter sleeps until then.
    second.answered(StatusCode::OK, &limits(1, 0, "0.3"));
    let t0 = Instant::now();
    let third = pacer.acquire(k).await;
    assert!(Instant::now() >= t0 + Duration::from_millis(300));
    drop(third);
}

#[test]
fn a_waiting_request_keeps_its_turn_over_one_that_comes_later() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let pacer = Arc::new(Pacer::default());
        let k = key(BOT, "POST", POST);
        // One slot per 0.2 s window, spent.
        pacer
            .acquire(k)
            .await
            .answered(StatusCode::OK, &limits(1, 0, "0.2"));
        let first = tokio::spawn({
            let pacer = pacer.clone();
            async move { pacer.acquire(k).await }
        });
        tokio::task::yield_now().await;
        // Block this (only) thread past the reset, so the first waiter has not run yet
        // when a newcomer asks: without a line, the newcomer would take the slot.
        std::thread::sleep(Duration::from_millis(300));
        let late = tokio::time::timeout(Duration::from_millis(100), pacer.acquire(k)).await;
        assert!(late.is_err(), "a later request took the waiting one's slot");
        let ticket = first.await.unwrap();
        drop(ticket);
        // A waiter that gives up leaves the line: the next one is not stuck behind it.
        let next = tokio::time::timeout(Duration::from_secs(1), pacer.acquire(k)).await;
        assert!(next.is_ok(), "stuck behind a request that gave up");
    });
}

#[test]
fn a_spent_window_whose_requests_all_went_unanswered_lets_the_next_go() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    s.learn(k, StatusCode::OK, &limits(1, 0, "1"), t0);
    let t1 = t0 + Duration::from_secs(1);
    s.take(k, t1).unwrap();
    // Spent, no reset known, and the request failed without an answer: nothing will tell
    // the window's end, so waiting for an answer would wait forever.
    s.release(k);
    assert!(s.take(k, t1).is_ok());
}

#[test]
fn answers_of_one_window_keep_its_reset_and_a_later_window_moves_it() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    s.learn(k, StatusCode::OK, &limits(2, 0, "1"), t0);
    // A later answer of the same window reports its reset a little differently.
    s.learn(
        k,
        StatusCode::OK,
        &limits(2, 0, "0.9"),
        t0 + Duration::from_millis(50),
    );
    assert_eq!(held_until(s.take(k, t0)), t0 + Duration::from_secs(1));
    // One that reports a window ending well after the known one (Discord restarted it).
    s.learn(k, StatusCode::OK, &limits(2, 0, "5"), t0);
    assert_eq!(held_until(s.take(k, t0)), t0 + Duration::from_secs(5));
}

#[test]
fn a_429_scoped_global_pauses_the_bot_as_the_global_flag_does() {
    let mut s = State::default();
    let k = key(BOT, "POST", POST);
    let t0 = Instant::now();
    s.take(k, t0).unwrap();
    let mut h = HeaderMap::new();
    h.insert("retry-after", "2".parse().unwrap());
    h.insert("x-ratelimit-scope", "global".parse().unwrap());
    s.learn(k, StatusCode::TOO_MANY_REQUESTS, &h, t0);
    let other_route = key(BOT, "GET", "/api/v10/users/@me");
    assert_eq!(
        held_until(s.take(other_route, t0)),
        t0 + Duration::from_secs(2)
    );
    // A shared-scope 429 is the bucket's, not the bot's.
    let mut s = State::default();
    s.take(k, t0).unwrap();
    h.insert("x-ratelimit-scope", "shared".parse().unwrap());
    s.learn(k, StatusCode::TOO_MANY_REQUESTS, &h, t0);
    assert!(s.take(other_route, t0).is_ok());
    assert_eq!(held_until(s.take(k, t0)), t0 + Duration::from_secs(2));
}

#[test]
fn idle_buckets_and_bots_are_forgotten_so_memory_stays_bounded() {
    let mut s = State::default();
    let t0 = Instant::now();
    // A guest sending to ever new paths, from ever new "bots", each answered with a short window.
    for i in 0..3 * PRUNE_AT {
        let auth = format!("Bot {i}");
        let k = key(
            Some(&auth),
            "GET",
            &format!("/api/v10/channels/{i}/messages"),
        );
        let now = t0 + Duration::from_millis(2 * i as u64);
        assert!(s.take(k, now).is_ok());
        s.learn(k, StatusCode::OK, &limits(5, 4, "0.001"), now);
    }
    assert!(s.buckets.len() <= PRUNE_AT, "{} buckets", s.buckets.len());
    assert!(s.bots.len() <= PRUNE_AT, "{} bots", s.bots.len());
}

#[test]
fn pruning_keeps_what_a_request_would_still_wait_for() {
    let mut s = State::default();
    let t0 = Instant::now();
    let spent = key(BOT, "POST", POST);
    assert!(s.take(spent, t0).is_ok());
    s.learn(spent, StatusCode::OK, &limits(1, 0, "60"), t0);
    let probing = key(BOT, "POST", "/api/v10/channels/2/messages");
    assert!(s.take(probing, t0).is_ok()); // in flight, no answer yet
    let paused = key(Some("Bot paused"), "GET", "/api/v10/users/@me");
    assert!(s.take(paused, t0).is_ok());
    let mut global = limits(1, 0, "1");
    global.insert("retry-after", "30".parse().unwrap());
    global.insert("x-ratelimit-global", "true".parse().unwrap());
    s.learn(paused, StatusCode::TOO_MANY_REQUESTS, &global, t0);
    // A request in line for a route (its bucket otherwise empty).
    let queued = key(BOT, "GET", "/api/v10/channels/3/messages");
    s.buckets
        .entry(queued.bucket)
        .or_default()
        .queue
        .push_back(7);
    let later = t0 + Duration::from_secs(5);
    for i in 0..2 * PRUNE_AT {
        // 40 bots share the flood, 1500 requests a window, so the global limit (50 per bot
        // and window) never holds it.
        let auth = format!("Bot flood{}", i % 40);
        let k = key(
            Some(&auth),
            "GET",
            &format!("/api/v10/channels/{}/pins", 1000 + i),
        );
        let now = later + Duration::from_millis(1100 * (i / 1500) as u64);
        assert!(s.take(k, now).is_ok(), "request {i}");
        s.learn(k, StatusCode::OK, &limits(5, 4, "0.001"), now);
    }
    let much_later = later + Duration::from_secs(10);
    assert!(s
        .take(key(BOT, "GET", "/api/v10/gateway"), much_later)
        .is_ok());
    assert!(s.buckets.len() < PRUNE_AT, "idle buckets were pruned");
    // The spent window, the probe in flight, the line and the global pause all still hold.
    assert_eq!(s.buckets[&queued.bucket].queue, [7]);
    assert_eq!(
        held_until(s.take(spent, much_later)),
        t0 + Duration::from_secs(60)
    );
    assert!(matches!(s.take(probing, much_later), Err(Hold::Answer)));
    let other = key(Some("Bot paused"), "GET", "/api/v10/gateway");
    assert_eq!(
        held_until(s.take(other, much_later)),
        t0 + Duration::from_secs(30)
    );
}

#[test]
fn a_map_of_busy_buckets_is_not_pruned_on_every_request() {
    let mut s = State::default();
    let t0 = Instant::now();
    // PRUNE_AT webhook requests (no bot) in flight on as many routes: nothing can be forgotten.
    for i in 0..PRUNE_AT {
        let k = key(None, "POST", &format!("/api/v10/webhooks/{i}/tok"));
        assert!(s.take(k, t0).is_ok());
    }
    let k = key(None, "POST", "/api/v10/webhooks/last/tok");
    assert!(s.take(k, t0).is_ok());
    assert_eq!(s.buckets.len(), PRUNE_AT + 1, "busy buckets are kept");
    assert_eq!(
        s.prune_at,
        2 * PRUNE_AT,
        "the next prune waits for the map to double"
    );
}
