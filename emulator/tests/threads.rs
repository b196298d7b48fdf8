//! Threads over real HTTP: starting one from a message (201, the message's id, 160004 the second
//! time), using it as a channel, the parent message's `thread`, the control API and buckets.

mod common;

use alerter_emulator::Options;
use common::{assert_clean, ids, send_raw, start, start_with, Client};
use serde_json::json;

fn msgs(channel: &str) -> String {
    format!("/channels/{channel}/messages")
}

fn threads(channel: &str, message: &str) -> String {
    format!("/channels/{channel}/messages/{message}/threads")
}

async fn post_text(c: &Client, channel: &str, text: &str) -> String {
    let r = c.post(&msgs(channel), &json!({ "content": text })).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    r.json()["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn a_thread_from_a_message_takes_its_id() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let alert = post_text(&c, &ch, "disk full").await;
    let r = c
        .post(
            &threads(&ch, &alert),
            &json!({"name": "disk full on db1", "auto_archive_duration": 60}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json());
    let t = r.json();
    assert_eq!(t["id"], alert.as_str());
    assert_eq!(t["type"], 11);
    assert_eq!(t["parent_id"], ch.as_str());
    assert_eq!(t["guild_id"], emu.guild_id().as_str());
    assert_eq!(t["name"], "disk full on db1");
    assert_eq!(t["owner_id"], emu.bot().id.as_str());
    assert_eq!(t["thread_metadata"]["archived"], false);
    assert_eq!(t["thread_metadata"]["locked"], false);
    assert_eq!(t["thread_metadata"]["auto_archive_duration"], 60);
    assert_eq!(t["message_count"], 0);
    assert!(r.header("x-ratelimit-bucket").is_some());

    // Once per message.
    let again = c
        .post(&threads(&ch, &alert), &json!({"name": "again"}))
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.json(),
        json!({"code": 160004, "message": "A thread has already been created for this message"})
    );
    // Unknown message, unknown channel.
    let r = c.post(&threads(&ch, "1"), &json!({"name": "x"})).await;
    assert_eq!((r.status, r.json()["code"].clone()), (404, json!(10008)));
    let r = c.post(&threads("1", &alert), &json!({"name": "x"})).await;
    assert_eq!((r.status, r.json()["code"].clone()), (404, json!(10003)));
    assert_clean(&emu);

    // The parent message now carries the thread.
    let parent = c.get(&format!("{}/{alert}", msgs(&ch))).await.json();
    assert_eq!(parent["flags"], 1 << 5);
    assert_eq!(parent["thread"]["id"], alert.as_str());
    let listed = c.get(&msgs(&ch)).await.json();
    assert_eq!(listed[0]["thread"]["name"], "disk full on db1");
    assert_clean(&emu);
}

#[tokio::test]
async fn a_thread_is_a_channel() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let alert = post_text(&c, &ch, "cpu hot").await;
    let t = c.post(&threads(&ch, &alert), &json!({"name": "cpu"})).await;
    assert_eq!(t.status, 201);
    let th = alert.clone();

    // GET /channels/{thread} is a ThreadResponse; the parent is still a text channel.
    let got = c.get(&format!("/channels/{th}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["type"], 11);
    assert_eq!(got.json()["parent_id"], ch.as_str());
    assert_eq!(got.json()["thread_metadata"]["auto_archive_duration"], 1440);
    assert_eq!(c.get(&format!("/channels/{ch}")).await.json()["type"], 0);

    // Post, reply, react and edit inside it.
    let first = post_text(&c, &th, "looking").await;
    let alice = emu.add_user("alice", false);
    let answer = emu.say(&th, &alice.id, "it's the backup job", Some(&first));
    let r = c
        .post(
            &msgs(&th),
            &json!({"content": "thanks", "message_reference": {"message_id": answer}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["channel_id"], th.as_str());
    let put = c
        .put(&format!("{}/{answer}/reactions/%E2%9C%85/@me", msgs(&th)))
        .await;
    assert_eq!(put.status, 204);
    let e = c
        .patch(
            &format!("{}/{first}", msgs(&th)),
            &json!({"content": "looking into it"}),
        )
        .await;
    assert_eq!(e.status, 200);

    // The list: newest first, ending with the THREAD_STARTER_MESSAGE (type 21) that points at
    // the parent message.
    let list = c.get(&msgs(&th)).await.json();
    let all = list.as_array().unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0]["content"], "thanks");
    assert_eq!(all[1]["id"], answer.as_str());
    assert_eq!(all[1]["reactions"][0]["me"], true);
    assert_eq!(all[2]["content"], "looking into it");
    let starter = &all[3];
    assert_eq!(starter["type"], 21);
    assert_eq!(starter["message_reference"]["message_id"], alert.as_str());
    assert_eq!(starter["message_reference"]["channel_id"], ch.as_str());
    assert_eq!(starter["referenced_message"]["content"], "cpu hot");
    let after = c.get(&format!("{}?after={first}", msgs(&th))).await.json();
    assert_eq!(
        ids(&after),
        vec![all[0]["id"].as_str().unwrap(), answer.as_str()]
    );
    // The parent channel did not get the thread's messages.
    assert_eq!(emu.messages(&ch).len(), 1);
    // Counts leave out the starter message.
    let t = c.get(&format!("/channels/{th}")).await.json();
    assert_eq!(t["message_count"], 3);
    assert_eq!(t["last_message_id"], all[0]["id"]);
    assert_eq!(
        c.get(&format!("{}/{alert}", msgs(&ch))).await.json()["thread"]["message_count"],
        3
    );
    // Not a thread in a thread.
    let r = c
        .post(&threads(&th, &first), &json!({"name": "deeper"}))
        .await;
    assert_eq!((r.status, r.json()["code"].clone()), (400, json!(50024)));
    let v = emu.violations();
    assert_eq!(v.len(), 1, "{v:?}");
}

#[tokio::test]
async fn bad_thread_bodies_are_50035() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let m = post_text(&c, &ch, "x").await;
    for body in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "n".repeat(101)}),
        json!({"name": "ok", "auto_archive_duration": 61}),
    ] {
        let r = c.post(&threads(&ch, &m), &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["code"], 50035, "{body}");
    }
    assert_eq!(emu.violations().len(), 4, "{:?}", emu.violations());
    // None of them made the thread.
    let r = c
        .post(&threads(&ch, &m), &json!({"name": "n".repeat(100)}))
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn threads_without_a_message_from_the_control_api_and_rust() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let r = send_raw(
        c.addr,
        "POST",
        &format!("/_emulator/channels/{ch}/threads"),
        &[("content-type", "application/json")],
        Some(br#"{"name": "side chat"}"#.to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    let th = r.json()["id"].as_str().unwrap().to_string();
    let t = c.get(&format!("/channels/{th}")).await.json();
    assert_eq!(t["type"], 11);
    assert_eq!(t["name"], "side chat");
    assert_eq!(t["parent_id"], ch.as_str());
    assert_eq!(c.get(&msgs(&th)).await.json(), json!([]));

    // A person writes in it through the control API; the bot reads it.
    let alice = emu.add_user("alice", false);
    let body = serde_json::to_vec(&json!({"user_id": alice.id, "content": "hello"})).unwrap();
    let r = send_raw(
        c.addr,
        "POST",
        &format!("/_emulator/channels/{th}/messages"),
        &[("content-type", "application/json")],
        Some(body),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    let list = c.get(&msgs(&th)).await.json();
    assert_eq!(list[0]["content"], "hello");
    let r = send_raw(
        c.addr,
        "GET",
        &format!("/_emulator/channels/{th}/messages"),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    // The parent channel is unchanged.
    assert!(emu.messages(&ch).is_empty());

    // The Rust API; a thread under a thread is refused by the control API.
    let t2 = emu.add_thread(&ch, "another");
    post_text(&c, &t2, "in t2").await;
    assert_eq!(emu.messages(&t2).len(), 1);
    let r = send_raw(
        c.addr,
        "POST",
        &format!("/_emulator/channels/{t2}/threads"),
        &[("content-type", "application/json")],
        Some(br#"{"name": "x"}"#.to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    let r = send_raw(
        c.addr,
        "POST",
        "/_emulator/channels/1/threads",
        &[("content-type", "application/json")],
        Some(br#"{"name": "x"}"#.to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 404);

    // Hiding the parent hides its threads.
    emu.hide_channel(&ch);
    let r = c.get(&msgs(&th)).await;
    assert_eq!((r.status, r.json()["code"].clone()), (403, json!(50001)));
    assert_clean(&emu);
}

#[tokio::test]
async fn thread_creation_has_its_own_bucket() {
    let (emu, c) = start_with(Options {
        rate_limiter: true,
        ..Options::default()
    })
    .await;
    let ch = emu.default_channel_id();
    let mut made = Vec::new();
    for i in 0..3 {
        made.push(post_text(&c, &ch, &format!("m{i}")).await);
    }
    let bucket = |r: &common::Resp| r.header("x-ratelimit-bucket").unwrap();
    let post = c.post(&msgs(&ch), &json!({"content": "m3"})).await;
    let mut remaining = Vec::new();
    for m in &made {
        let r = c.post(&threads(&ch, m), &json!({"name": "t"})).await;
        assert_eq!(r.status, 201);
        assert_ne!(bucket(&r), bucket(&post));
        remaining.push(r.header("x-ratelimit-remaining").unwrap());
    }
    // Its own count, untouched by the four message posts.
    assert_eq!(remaining, ["4", "3", "2"]);
    assert_clean(&emu);
}
