//! The Discord API routes over real HTTP: auth, routing, reactions, members, channels,
//! malformed bodies, rate limits. Messages themselves are in `messages.rs`. Valid scenarios
//! end with no violations recorded.

mod common;

use alerter_emulator::Options;
use common::{assert_clean, ids, msgs, post_text, send_raw, start, start_with, UA};
use serde_json::json;

#[tokio::test]
async fn auth_is_required() {
    let (emu, c) = start().await;
    let path = "/api/v10/users/@me";
    let none = send_raw(c.addr, "GET", path, &[("user-agent", UA)], None)
        .await
        .unwrap();
    assert_eq!(none.status, 401);
    assert_eq!(
        none.json(),
        json!({"message": "401: Unauthorized", "code": 0})
    );
    let wrong = send_raw(
        c.addr,
        "GET",
        path,
        &[("user-agent", UA), ("authorization", "Bot nope")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(wrong.status, 401);
    let bearer = format!("Bearer {}", emu.token());
    let bearer = send_raw(
        c.addr,
        "GET",
        path,
        &[("user-agent", UA), ("authorization", &bearer)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(bearer.status, 401);

    let me = c.get("/users/@me").await;
    assert_eq!(me.status, 200);
    let body = me.json();
    assert_eq!(body["id"], json!(emu.bot().id));
    assert_eq!(body["username"], "alerter-bot");
    assert_eq!(body["bot"], true);
    assert_eq!(body["discriminator"], "0");
    assert_eq!(
        me.header("content-type").as_deref(),
        Some("application/json")
    );
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
        "x-ratelimit-bucket",
    ] {
        assert!(me.header(h).is_some(), "missing {h}");
    }
    let reset: f64 = me.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset > 1.7e9, "epoch seconds: {reset}");
    let statuses: Vec<u16> = emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 401, 401, 200]);
    assert_clean(&emu);
}

#[tokio::test]
async fn missing_user_agent_is_a_violation_but_served() {
    let (emu, c) = start().await;
    let auth = format!("Bot {}", emu.token());
    let r = send_raw(
        c.addr,
        "GET",
        "/api/v10/users/@me",
        &[("authorization", &auth), ("user-agent", "curl/8")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    let v = emu.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("User-Agent"), "{v:?}");
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let (emu, c) = start().await;
    let r = c.get("/channels/1/nothing-here").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"message": "404: Not Found", "code": 0}));
    let r = send_raw(c.addr, "GET", "/api/v9/users/@me", &[], None)
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    let v = emu.violations();
    assert_eq!(v.len(), 2 + 1, "{v:?}"); // two unknown routes, one missing User-Agent
    assert!(v[0].contains("not a route of Discord's API"), "{v:?}");
}

#[tokio::test]
async fn reactions_add_and_list() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let bot = emu.bot();
    let alice = emu.add_user("alice", false);
    let bob = emu.add_user("bob", false);
    let m = post_text(&c, &ch, "approve with ✅").await;
    let check = "%E2%9C%85";
    let r = c
        .put(&format!("{}/{m}/reactions/{check}/@me", msgs(&ch)))
        .await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    // Twice is the same reaction.
    c.put(&format!("{}/{m}/reactions/{check}/%40me", msgs(&ch)))
        .await;
    emu.react(&ch, &m, "✅", &bob.id);
    emu.react(&ch, &m, "✅", &alice.id);
    emu.react(&ch, &m, "❌", &alice.id);

    let msg = c.get(&format!("{}/{m}", msgs(&ch))).await.json();
    let reactions = msg["reactions"].as_array().expect("reactions");
    assert_eq!(reactions.len(), 2);
    assert_eq!(reactions[0]["emoji"], json!({"id": null, "name": "✅"}));
    assert_eq!(reactions[0]["count"], 3);
    assert_eq!(
        reactions[0]["count_details"],
        json!({"burst": 0, "normal": 3})
    );
    assert_eq!(reactions[0]["me"], true);
    assert_eq!(reactions[1]["count"], 1);
    assert_eq!(reactions[1]["me"], false);

    let url = format!("{}/{m}/reactions/{check}", msgs(&ch));
    let users = c.get(&url).await.json();
    let mut expected = vec![bot.id.clone(), alice.id.clone(), bob.id.clone()];
    expected.sort_by_key(|id| id.parse::<u64>().unwrap());
    assert_eq!(ids(&users), expected);
    assert_eq!(users[0]["discriminator"], "0");
    let page = c
        .get(&format!("{url}?after={}&limit=1", expected[0]))
        .await
        .json();
    assert_eq!(ids(&page), vec![expected[1].clone()]);
    let none = c
        .get(&format!("{}/{m}/reactions/%F0%9F%91%8D", msgs(&ch)))
        .await;
    assert_eq!(none.json(), json!([]));

    let custom = c
        .put(&format!(
            "{}/{m}/reactions/approve:123456789012345678/@me",
            msgs(&ch)
        ))
        .await;
    assert_eq!(custom.status, 204);
    assert_clean(&emu);

    let bad = c.put(&format!("{}/{m}/reactions/abc/@me", msgs(&ch))).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        json!({"message": "Unknown Emoji", "code": 10014})
    );
    let bad = c
        .put(&format!("{}/{m}/reactions/name:notanid/@me", msgs(&ch)))
        .await;
    assert_eq!(bad.json()["code"], 10014);
    let gone = c
        .put(&format!("{}/42/reactions/{check}/@me", msgs(&ch)))
        .await;
    assert_eq!(gone.json()["code"], 10008);
}

#[tokio::test]
async fn guild_members_and_roles() {
    let (emu, c) = start().await;
    let alice = emu.add_user("alice", false);
    let oncall = emu.add_role("oncall");
    emu.grant_role(&alice.id, &oncall);
    let g = emu.guild_id();
    let r = c.get(&format!("/guilds/{g}/members/{}", alice.id)).await;
    assert_eq!(r.status, 200);
    let m = r.json();
    assert_eq!(m["roles"], json!([oncall]));
    assert_eq!(m["user"]["id"], json!(alice.id));
    assert_eq!(m["user"]["username"], "alice");
    let bot = c
        .get(&format!("/guilds/{g}/members/{}", emu.bot().id))
        .await
        .json();
    assert_eq!(bot["roles"], json!([]));
    assert_eq!(bot["user"]["bot"], true);
    let r = c.get(&format!("/guilds/{g}/members/1")).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"message": "Unknown Member", "code": 10007})
    );
    let r = c.get(&format!("/guilds/1/members/{}", alice.id)).await;
    assert_eq!(r.json()["code"], 10004);
    assert_clean(&emu);
}

#[tokio::test]
async fn channels_unknown_and_hidden() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let r = c.get(&format!("/channels/{ch}")).await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["type"], 0);
    assert_eq!(body["guild_id"], json!(emu.guild_id()));
    assert_eq!(body["name"], "alerts");
    let r = c.get("/channels/123").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"message": "Unknown Channel", "code": 10003})
    );
    let secret = emu.add_channel("secret");
    emu.hide_channel(&secret);
    for r in [
        c.get(&format!("/channels/{secret}")).await,
        c.post(&msgs(&secret), &json!({"content": "x"})).await,
        c.get(&msgs(&secret)).await,
    ] {
        assert_eq!(r.status, 403);
        assert_eq!(
            r.json(),
            json!({"message": "Missing Access", "code": 50001})
        );
    }
    let r = c.get("/channels/not-a-number").await;
    assert_eq!(r.status, 400);
    assert_clean(&emu);
}

#[tokio::test]
async fn malformed_bodies() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let auth = format!("Bot {}", emu.token());
    let r = send_raw(
        c.addr,
        "POST",
        &format!("/api/v10{}", msgs(&ch)),
        &[
            ("authorization", &auth),
            ("user-agent", UA),
            ("content-type", "application/json"),
        ],
        Some(b"{\"content\": ".to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50109);
    let r = c.post(&msgs(&ch), &json!(["not", "an", "object"])).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50035);
    assert_eq!(emu.violations().len(), 2);
    assert_eq!(emu.requests()[0].body, Some(json!("{\"content\": ")));
}

#[tokio::test]
async fn rate_limiter_enforces_buckets() {
    let (emu, c) = start_with(Options {
        rate_limiter: true,
        ..Options::default()
    })
    .await;
    let ch = emu.default_channel_id();
    let started = std::time::Instant::now();
    let mut remaining = Vec::new();
    let mut limited = None;
    for i in 0..6 {
        let r = c
            .post(&msgs(&ch), &json!({"content": format!("m{i}")}))
            .await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 200);
        remaining.push(r.header("x-ratelimit-remaining").unwrap());
    }
    // Five per second: a sixth one within the window is refused. (Only a machine too slow to
    // send six requests over loopback in 900 ms could see the window roll over.)
    let Some(r) = limited else {
        assert!(
            started.elapsed().as_millis() > 900,
            "no 429 after 6 quick requests"
        );
        return;
    };
    assert_eq!(remaining, vec!["4", "3", "2", "1", "0"]);
    let body = r.json();
    assert_eq!(body["message"], "You are being rate limited.");
    assert_eq!(body["global"], false);
    assert_eq!(body["code"], 0);
    let retry = body["retry_after"].as_f64().unwrap();
    assert!(retry > 0.0 && retry <= 1.0, "{retry}");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert_eq!(r.header("x-ratelimit-scope").as_deref(), Some("user"));
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("0"));
    assert!(r.header("x-ratelimit-global").is_none());
    assert_eq!(emu.requests().last().unwrap().status, 429);
    // Another route has its own bucket.
    assert_eq!(c.get("/users/@me").await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(
        (retry * 1000.0).ceil() as u64 + 20,
    ))
    .await;
    assert_eq!(
        c.post(&msgs(&ch), &json!({"content": "after the wait"}))
            .await
            .status,
        200
    );
    assert_eq!(emu.messages(&ch).len(), 6);
    assert_clean(&emu);
}

#[tokio::test]
async fn headers_never_report_zero_without_the_limiter() {
    let (emu, c) = start().await;
    for _ in 0..8 {
        let r = c.get("/users/@me").await;
        assert_eq!(r.status, 200);
        assert_ne!(r.header("x-ratelimit-remaining").as_deref(), Some("0"));
    }
    assert_clean(&emu);
}
