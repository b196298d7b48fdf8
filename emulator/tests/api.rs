//! The Discord API routes over real HTTP: auth, messages, limits, mentions, intent, reactions,
//! members, channels. Valid scenarios end with no violations recorded.

mod common;

use alerter_emulator::Options;
use common::{assert_clean, ids, send_raw, start, start_with, Client, UA};
use serde_json::{json, Value};

fn msgs(channel: &str) -> String {
    format!("/channels/{channel}/messages")
}

async fn post_text(c: &Client, channel: &str, text: &str) -> String {
    let r = c.post(&msgs(channel), &json!({ "content": text })).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    r.json()["id"].as_str().expect("id").to_string()
}

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
async fn create_and_list_newest_first_with_paging() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let mut sent = Vec::new();
    for i in 0..7 {
        sent.push(post_text(&c, &ch, &format!("message {i}")).await);
    }
    // Ids increase, and the timestamp is derived from the id.
    let as_u64: Vec<u64> = sent.iter().map(|s| s.parse().unwrap()).collect();
    assert!(as_u64.windows(2).all(|w| w[0] < w[1]));
    let first = &emu.messages(&ch)[0];
    let ms = (as_u64[0] >> 22) + 1_420_070_400_000;
    let ts = first["timestamp"].as_str().unwrap();
    assert!(ts.ends_with("+00:00"), "{ts}");
    assert_eq!(&ts[20..23], format!("{:03}", ms % 1000), "{ts}");

    let newest = |n: usize| -> Vec<String> { sent.iter().rev().take(n).cloned().collect() };
    let all = c.get(&msgs(&ch)).await;
    assert_eq!(all.status, 200);
    assert_eq!(ids(&all.json()), newest(7));

    let page = c.get(&format!("{}?limit=3", msgs(&ch))).await.json();
    assert_eq!(ids(&page), newest(3));
    let older = c
        .get(&format!("{}?limit=3&before={}", msgs(&ch), sent[4]))
        .await
        .json();
    assert_eq!(
        ids(&older),
        vec![sent[3].clone(), sent[2].clone(), sent[1].clone()]
    );
    // after=X: the messages right after X, newest first.
    let after = c
        .get(&format!("{}?after={}&limit=2", msgs(&ch), sent[0]))
        .await
        .json();
    assert_eq!(ids(&after), vec![sent[2].clone(), sent[1].clone()]);
    let tail = c
        .get(&format!("{}?after={}", msgs(&ch), sent[5]))
        .await
        .json();
    assert_eq!(ids(&tail), vec![sent[6].clone()]);
    let nothing = c
        .get(&format!("{}?after={}", msgs(&ch), sent[6]))
        .await
        .json();
    assert_eq!(nothing, json!([]));
    let around = c
        .get(&format!("{}?around={}&limit=3", msgs(&ch), sent[3]))
        .await
        .json();
    assert_eq!(
        ids(&around),
        vec![sent[4].clone(), sent[3].clone(), sent[2].clone()]
    );
    let one = c.get(&format!("{}/{}", msgs(&ch), sent[2])).await;
    assert_eq!(one.json()["content"], "message 2");
    assert_clean(&emu);

    // Bad paging is a 400 and a violation.
    for q in [
        "limit=0",
        "limit=101",
        &format!("before={}&after={}", sent[1], sent[0]),
    ] {
        let r = c.get(&format!("{}?{q}", msgs(&ch))).await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.json()["code"], 50035, "{q}");
    }
    assert_eq!(emu.violations().len(), 3);
    let r = c.get(&format!("{}/999", msgs(&ch))).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"message": "Unknown Message", "code": 10008})
    );
}

#[tokio::test]
async fn content_over_2000_characters_is_rejected() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    // 2000 characters are fine even when they are 3 bytes each.
    post_text(&c, &ch, &"✅".repeat(2000)).await;
    assert_clean(&emu);

    let r = c
        .post(&msgs(&ch), &json!({ "content": "x".repeat(2001) }))
        .await;
    assert_eq!(r.status, 400);
    let body = r.json();
    assert_eq!(body["code"], 50035);
    assert_eq!(body["message"], "Invalid Form Body");
    assert_eq!(
        body["errors"]["content"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    assert_eq!(
        body["errors"]["content"]["_errors"][0]["message"],
        "Must be 2000 or fewer in length."
    );
    assert_eq!(emu.messages(&ch).len(), 1, "nothing stored");
    let v = emu.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("content"), "{v:?}");

    // A spec type error is caught too.
    let r = c.post(&msgs(&ch), &json!({ "content": 5 })).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["errors"]["content"]["_errors"].is_array());
}

#[tokio::test]
async fn embed_limits() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let embed = json!({
        "title": "Disk full",
        "description": "on host-1",
        "color": 15158332,
        "fields": [{"name": "host", "value": "host-1", "inline": true}, {"name": "usage", "value": "99%"}],
        "footer": {"text": "alerter"},
        "author": {"name": "prometheus"},
        "timestamp": "2024-05-01T12:00:00+00:00"
    });
    let ok = c.post(&msgs(&ch), &json!({ "embeds": [embed] })).await;
    assert_eq!(ok.status, 200);
    let e = &ok.json()["embeds"][0];
    assert_eq!(e["type"], "rich");
    assert_eq!(e["fields"][1]["inline"], false);
    assert_eq!(e["footer"]["text"], "alerter");
    assert_clean(&emu);

    // Two embeds of 4000 + 2001 description characters: 6001 in total.
    let big =
        json!({ "embeds": [{"description": "a".repeat(4000)}, {"description": "b".repeat(2001)}] });
    let r = c.post(&msgs(&ch), &big).await;
    assert_eq!(r.status, 400);
    let body = r.json();
    assert_eq!(body["code"], 50035);
    assert_eq!(
        body["errors"]["embeds"]["_errors"][0]["code"],
        "MAX_EMBED_SIZE_EXCEEDED"
    );
    // Exactly 6000 is fine.
    let fits =
        json!({ "embeds": [{"description": "a".repeat(4000)}, {"description": "b".repeat(2000)}] });
    assert_eq!(c.post(&msgs(&ch), &fits).await.status, 200);

    let eleven: Vec<Value> = (0..11).map(|i| json!({"title": format!("t{i}")})).collect();
    assert_eq!(
        c.post(&msgs(&ch), &json!({ "embeds": eleven }))
            .await
            .status,
        400
    );
    let long_title = json!({ "embeds": [{"title": "t".repeat(257)}] });
    let r = c.post(&msgs(&ch), &long_title).await.json();
    assert_eq!(
        r["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    let empty_field = json!({ "embeds": [{"fields": [{"name": "n", "value": ""}]}] });
    let r = c.post(&msgs(&ch), &empty_field).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["errors"]["embeds"]["0"]["fields"]["0"]["value"].is_object());
    let too_many_fields: Vec<Value> = (0..26)
        .map(|_| json!({"name": "n", "value": "v"}))
        .collect();
    let r = c
        .post(
            &msgs(&ch),
            &json!({ "embeds": [{"fields": too_many_fields}] }),
        )
        .await;
    assert_eq!(r.status, 400);
    let v = emu.violations();
    assert_eq!(v.len(), 5, "{v:#?}");
    assert!(v.iter().any(|s| s.contains("embeds.0.title")), "{v:#?}");
    assert_eq!(emu.messages(&ch).len(), 2);
}

#[tokio::test]
async fn empty_message_is_50006() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    for body in [
        json!({}),
        json!({"content": "   "}),
        json!({"content": "", "embeds": []}),
    ] {
        let r = c.post(&msgs(&ch), &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(
            r.json(),
            json!({"code": 50006, "message": "Cannot send an empty message"})
        );
    }
    assert_eq!(emu.violations().len(), 3);
    assert!(emu.messages(&ch).is_empty());
}

#[tokio::test]
async fn nonce_with_enforce_returns_the_first_message() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let body = json!({"content": "alert 1", "nonce": "alert-1-try", "enforce_nonce": true});
    let a = c.post(&msgs(&ch), &body).await.json();
    let b = c.post(&msgs(&ch), &body).await.json();
    assert_eq!(a["id"], b["id"]);
    assert_eq!(a["nonce"], "alert-1-try");
    assert_eq!(emu.messages(&ch).len(), 1);
    // Without enforce_nonce a retry makes a second message, like Discord.
    let loose = json!({"content": "alert 2", "nonce": "alert-2"});
    let x = c.post(&msgs(&ch), &loose).await.json();
    let y = c.post(&msgs(&ch), &loose).await.json();
    assert_ne!(x["id"], y["id"]);
    // The same nonce in another channel is another message.
    let other = emu.add_channel("other");
    let z = c.post(&msgs(&other), &body).await.json();
    assert_ne!(z["id"], a["id"]);
    assert_clean(&emu);

    let r = c
        .post(
            &msgs(&ch),
            &json!({"content": "x", "nonce": "n".repeat(26)}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(emu.violations().len(), 1);
}

#[tokio::test]
async fn allowed_mentions_decide_who_is_pinged() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let alice = emu.add_user("alice", false);
    let oncall = emu.add_role("oncall");
    let other_role = emu.add_role("other");

    let text = format!("@everyone <@{}> <@&{oncall}>", alice.id);
    let silent = c
        .post(
            &msgs(&ch),
            &json!({"content": text, "allowed_mentions": {"parse": []}}),
        )
        .await
        .json();
    assert_eq!(silent["mention_everyone"], false);
    assert_eq!(silent["mentions"], json!([]));
    assert_eq!(silent["mention_roles"], json!([]));
    assert_eq!(silent["content"], text, "the text still shows");

    let text = format!("@here <@{}> <@&{oncall}> <@&{other_role}>", alice.id);
    let role_only = c
        .post(
            &msgs(&ch),
            &json!({"content": text, "allowed_mentions": {"parse": [], "roles": [oncall]}}),
        )
        .await
        .json();
    assert_eq!(role_only["mention_roles"], json!([oncall]));
    assert_eq!(role_only["mentions"], json!([]));
    assert_eq!(role_only["mention_everyone"], false);

    let everything = c
        .post(
            &msgs(&ch),
            &json!({"content": format!("@everyone <@!{}> <@&{oncall}>", alice.id)}),
        )
        .await
        .json();
    assert_eq!(everything["mention_everyone"], true);
    assert_eq!(everything["mentions"][0]["id"], json!(alice.id));
    assert_eq!(everything["mentions"][0]["username"], "alice");
    assert_eq!(everything["mention_roles"], json!([oncall]));

    let users_only = c
        .post(
            &msgs(&ch),
            &json!({"content": format!("@everyone <@{}>", alice.id), "allowed_mentions": {"parse": ["users"]}}),
        )
        .await
        .json();
    assert_eq!(users_only["mention_everyone"], false);
    assert_eq!(ids(&users_only["mentions"]), vec![alice.id.clone()]);

    // Mentions in embeds never ping.
    let embed = c
        .post(
            &msgs(&ch),
            &json!({"embeds": [{"description": format!("<@{}> @everyone", alice.id)}]}),
        )
        .await
        .json();
    assert_eq!(embed["mentions"], json!([]));
    assert_eq!(embed["mention_everyone"], false);

    // What tests read back: the same fields in messages().
    let stored = emu.messages(&ch);
    assert_eq!(stored[0]["mentions"], json!([]));
    assert_eq!(stored[1]["mention_roles"], json!([oncall]));
    assert_eq!(stored[2]["mention_everyone"], true);
    assert_clean(&emu);

    // parse:["users"] together with users:[...] is rejected like Discord does.
    let r = c
        .post(
            &msgs(&ch),
            &json!({"content": "x", "allowed_mentions": {"parse": ["users"], "users": [alice.id]}}),
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn replies_carry_a_message_reference() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let alice = emu.add_user("alice", false);
    let question = emu.say(&ch, &alice.id, "restart the db?", None);
    let reply = c
        .post(
            &msgs(&ch),
            &json!({"content": "on it", "message_reference": {"message_id": question}, "allowed_mentions": {"parse": []}}),
        )
        .await
        .json();
    assert_eq!(reply["type"], 19);
    assert_eq!(reply["message_reference"]["message_id"], json!(question));
    assert_eq!(reply["message_reference"]["channel_id"], json!(ch));
    assert_eq!(
        reply["message_reference"]["guild_id"],
        json!(emu.guild_id())
    );
    assert_eq!(reply["message_reference"]["type"], 0);
    assert_eq!(reply["referenced_message"]["id"], json!(question));
    assert_eq!(
        reply["mentions"],
        json!([]),
        "replied_user defaults to false"
    );

    let pinging = c
        .post(
            &msgs(&ch),
            &json!({"content": "on it", "message_reference": {"message_id": question}}),
        )
        .await
        .json();
    assert_eq!(ids(&pinging["mentions"]), vec![alice.id.clone()]);

    let gone = json!({"content": "x", "message_reference": {"message_id": "12345"}});
    let r = c.post(&msgs(&ch), &gone).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50035);
    let lenient = json!({"content": "x", "message_reference": {"message_id": "12345", "fail_if_not_exists": false}});
    let r = c.post(&msgs(&ch), &lenient).await.json();
    assert_eq!(r["type"], 0);
    assert!(r.get("message_reference").is_none());
    assert_clean(&emu);
}

#[tokio::test]
async fn intent_off_masks_other_peoples_messages() {
    let (emu, c) = start_with(Options {
        message_content_intent: false,
        ..Options::default()
    })
    .await;
    let ch = emu.default_channel_id();
    let bot = emu.bot();
    let alice = emu.add_user("alice", false);
    let own = post_text(&c, &ch, "deploy?").await;
    let plain = emu.say(&ch, &alice.id, "approve", None);
    let mention = emu.say(&ch, &alice.id, &format!("<@{}> approve", bot.id), None);
    let reply = emu.say(&ch, &alice.id, "approve", Some(&own));

    let list = c.get(&msgs(&ch)).await.json();
    let by_id = |id: &str| -> Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == json!(id))
            .cloned()
            .expect("listed")
    };
    assert_eq!(by_id(&own)["content"], "deploy?");
    assert_eq!(by_id(&plain)["content"], "");
    assert_eq!(by_id(&plain)["embeds"], json!([]));
    assert_eq!(by_id(&mention)["content"], format!("<@{}> approve", bot.id));
    assert_eq!(by_id(&reply)["content"], "approve");
    assert_eq!(by_id(&reply)["type"], 19);
    let single = c.get(&format!("{}/{plain}", msgs(&ch))).await.json();
    assert_eq!(single["content"], "");
    // messages() is never masked; turning the intent on unmasks the API too.
    assert_eq!(emu.messages(&ch)[1]["content"], "approve");
    emu.set_message_content_intent(true);
    let single = c.get(&format!("{}/{plain}", msgs(&ch))).await.json();
    assert_eq!(single["content"], "approve");
    assert_clean(&emu);
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
async fn edit_own_messages_only() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let alice = emu.add_user("alice", false);
    let m = post_text(&c, &ch, "firing").await;
    let before = c.get(&format!("{}/{m}", msgs(&ch))).await.json();
    assert_eq!(before["edited_timestamp"], Value::Null);
    let r = c
        .patch(
            &format!("{}/{m}", msgs(&ch)),
            &json!({"content": format!("resolved <@{}>", alice.id), "embeds": [{"title": "ok"}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let after = r.json();
    assert_eq!(after["content"], format!("resolved <@{}>", alice.id));
    assert!(after["edited_timestamp"].is_string());
    assert_eq!(after["embeds"][0]["title"], "ok");
    assert_eq!(ids(&after["mentions"]), vec![alice.id.clone()]);
    assert_eq!(after["id"], json!(m));

    let hers = emu.say(&ch, &alice.id, "mine", None);
    let r = c
        .patch(&format!("{}/{hers}", msgs(&ch)), &json!({"content": "x"}))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["code"], 50005);
    assert_clean(&emu);

    let r = c
        .patch(
            &format!("{}/{m}", msgs(&ch)),
            &json!({"content": "y".repeat(2001)}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(emu.violations().len(), 1);
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
