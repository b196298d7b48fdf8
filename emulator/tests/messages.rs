//! Messages over real HTTP: create and list (paging), Discord's limits (content, embeds, empty
//! messages), nonces, edits, mentions and `allowed_mentions`, replies, and the message content
//! intent. Valid scenarios end with no violations recorded.

mod common;

use alerter_emulator::Options;
use common::{assert_clean, ids, msgs, post_text, start, start_with};
use serde_json::{json, Value};

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
