//! Webhook executes over real HTTP: `wait` (200 with the message, or 204), multipart files,
//! `thread_id`, the webhook's pseudo-user, Unknown Webhook / Invalid Webhook Token, recording,
//! and the control API. What an execute is checked against is in `webhook_checks.rs`.

mod common;

use alerter_emulator::{Emulator, Options, RecordedFile, Webhook};
use common::{assert_clean, execute, execute_form, form, last, path_of, send_raw, start, UA};
use serde_json::json;

#[tokio::test]
async fn execute_with_wait_answers_the_message_as_the_webhook() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let w = emu.add_webhook(&ch, "Alerter");
    assert_eq!(w.channel_id, ch);
    assert_eq!(w.token.len(), 68);
    assert!(w
        .token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(
        w.url,
        format!("{}/webhooks/{}/{}", emu.base_url(), w.id, w.token)
    );

    let r = execute(
        &emu,
        &w,
        "?wait=true",
        &json!({"content": "disk full on db1", "embeds": [{"title": "db1", "description": "97%"}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert!(r.header("x-ratelimit-bucket").is_some());
    let m = r.json();
    assert_eq!(m["content"], "disk full on db1");
    assert_eq!(m["channel_id"], ch.as_str());
    assert_eq!(m["webhook_id"], w.id.as_str());
    assert_eq!(m["author"]["id"], w.id.as_str());
    assert_eq!(m["author"]["username"], "Alerter");
    assert_eq!(m["author"]["bot"], true);
    assert_eq!(m["embeds"][0]["type"], "rich");

    // Stored: the control view, the Rust view and the bot's own reading all show it.
    let stored = last(&emu, &ch);
    assert_eq!(stored["id"], m["id"]);
    assert_eq!(stored["webhook_id"], w.id.as_str());
    let listed = c.get(&format!("/channels/{ch}/messages")).await.json();
    assert_eq!(listed[0]["id"], m["id"]);
    assert_eq!(listed[0]["webhook_id"], w.id.as_str());
    assert_eq!(listed[0]["author"]["username"], "Alerter");
    let one = c
        .get(&format!(
            "/channels/{ch}/messages/{}",
            m["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["webhook_id"], w.id.as_str());

    // `username` overrides the name shown, for that message only.
    let r = execute(
        &emu,
        &w,
        "?wait=True",
        &json!({"content": "x", "username": "db1 alerts", "avatar_url": "https://example.com/a.png"}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["author"]["username"], "db1 alerts");
    assert_eq!(r.json()["author"]["id"], w.id.as_str());

    // The bot cannot edit a webhook's message.
    let edit = c
        .patch(
            &format!("/channels/{ch}/messages/{}", m["id"].as_str().unwrap()),
            &json!({"content": "mine now"}),
        )
        .await;
    assert_eq!(edit.status, 403);
    assert_eq!(edit.json()["code"], 50005);

    // Recorded like a create; the token in the path is recorded as sent.
    let recorded = emu.requests();
    let first = &recorded[0];
    assert_eq!(first.method, "POST");
    assert_eq!(
        first.path,
        format!("/api/v10/webhooks/{}/{}", w.id, w.token)
    );
    assert_eq!(first.query.as_deref(), Some("wait=true"));
    assert_eq!(first.body.as_ref().unwrap()["content"], "disk full on db1");
    assert_eq!(first.status, 200);
    assert!(first.files.is_empty());
    assert_clean(&emu);
}

#[tokio::test]
async fn without_wait_the_answer_is_204_and_the_message_is_stored() {
    let (emu, _c) = start().await;
    let ch = emu.default_channel_id();
    let w = emu.add_webhook(&ch, "Alerter");
    for query in ["", "?wait=false", "?wait=0"] {
        let r = execute(&emu, &w, query, &json!({"content": format!("q {query}")})).await;
        assert_eq!(r.status, 204, "{query}");
        assert!(r.body.is_empty());
        assert!(r.header("x-ratelimit-limit").is_some());
        let m = last(&emu, &ch);
        assert_eq!(m["content"], format!("q {query}"));
        assert_eq!(m["webhook_id"], w.id.as_str());
        assert_eq!(m["author"]["username"], "Alerter");
    }
    assert_eq!(emu.messages(&ch).len(), 3);
    assert_eq!(emu.requests()[0].status, 204);
    assert_clean(&emu);

    // A boolean Discord does not take is a 400 and a violation; nothing is stored.
    let r = execute(&emu, &w, "?wait=yes", &json!({"content": "x"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50035);
    assert!(r.json()["errors"]["wait"].is_object());
    assert_eq!(emu.messages(&ch).len(), 3);
    assert_eq!(emu.violations().len(), 1);
}

#[tokio::test]
async fn a_multipart_execute_attaches_the_files() {
    let (emu, _c) = start().await;
    let ch = emu.default_channel_id();
    let w = emu.add_webhook(&ch, "Alerter");
    let png = b"\x89PNG\r\n\x1a\n\r\n--not-the-boundary\r\n".to_vec();
    let payload = json!({
        "content": "see the plot",
        "embeds": [{"title": "disk", "image": {"url": "attachment://plot.png"}}],
        "attachments": [{"id": "0", "filename": "plot.png"}, {"id": "1", "filename": "log.txt", "description": "the log"}],
    });
    let body = form(
        Some(&payload),
        &[
            ("files[0]", "plot.png", "image/png", &png),
            ("files[1]", "log.txt", "text/plain", b"line 1\nline 2\n"),
        ],
    );
    let r = execute_form(&emu, &w, "?wait=true", body).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let m = r.json();
    assert_eq!(m["webhook_id"], w.id.as_str());
    // The plot shows in the embed, so only the log is listed.
    let att = m["attachments"].as_array().unwrap();
    assert_eq!(att.len(), 1, "{att:?}");
    assert_eq!(att[0]["filename"], "log.txt");
    assert_eq!(att[0]["description"], "the log");
    let id = att[0]["id"].as_str().unwrap();
    assert_eq!(
        emu.attachment(id),
        Some(("text/plain".to_string(), b"line 1\nline 2\n".to_vec()))
    );
    let image = m["embeds"][0]["image"]["url"].as_str().unwrap();
    assert!(image.contains("/_emulator/files/"), "{image}");

    let rec = &emu.requests()[0];
    assert_eq!(rec.body.as_ref().unwrap()["content"], "see the plot");
    assert_eq!(
        rec.files,
        vec![
            RecordedFile {
                field: "files[0]".into(),
                filename: "plot.png".into(),
                content_type: Some("image/png".into()),
                size: png.len(),
            },
            RecordedFile {
                field: "files[1]".into(),
                filename: "log.txt".into(),
                content_type: Some("text/plain".into()),
                size: 14,
            },
        ]
    );
    assert_clean(&emu);

    // Files alone are a message; without wait, 204.
    let r = execute_form(
        &emu,
        &w,
        "",
        form(None, &[("files[0]", "a.txt", "text/plain", b"a")]),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(last(&emu, &ch)["attachments"][0]["filename"], "a.txt");
    assert_clean(&emu);

    // The upload limits are the create's: an attachments entry without its file is a 400.
    let r = execute_form(
        &emu,
        &w,
        "",
        form(
            Some(&json!({"content": "x", "attachments": [{"id": "3"}]})),
            &[("files[0]", "a.txt", "text/plain", b"a")],
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["errors"]["attachments"]["0"]["id"].is_object());
    assert_eq!(emu.violations().len(), 1);
}

#[tokio::test]
async fn thread_id_posts_into_a_thread_of_the_webhooks_channel() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let w = emu.add_webhook(&ch, "Alerter");
    let t = emu.add_thread(&ch, "db1 incident");
    let r = execute(
        &emu,
        &w,
        &format!("?wait=true&thread_id={t}"),
        &json!({"content": "still full"}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["channel_id"], t.as_str());
    assert_eq!(r.json()["webhook_id"], w.id.as_str());
    assert_eq!(last(&emu, &t)["content"], "still full");
    assert!(emu.messages(&ch).is_empty(), "not in the parent");
    let listed = c.get(&format!("/channels/{t}/messages")).await.json();
    assert_eq!(listed[0]["webhook_id"], w.id.as_str());
    // The thread counts it.
    assert_eq!(
        c.get(&format!("/channels/{t}")).await.json()["message_count"],
        1
    );

    // Without wait too.
    let r = execute(
        &emu,
        &w,
        &format!("?thread_id={t}"),
        &json!({"content": "and again"}),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(emu.messages(&t).len(), 2);
    assert_clean(&emu);

    // A thread of another channel, an unknown id, the channel itself: 404 Unknown Channel
    // (answers about the world, not violations).
    let other = emu.add_channel("other");
    let elsewhere = emu.add_thread(&other, "elsewhere");
    for id in [elsewhere.as_str(), "1", ch.as_str(), other.as_str()] {
        let r = execute(
            &emu,
            &w,
            &format!("?wait=true&thread_id={id}"),
            &json!({"content": "x"}),
        )
        .await;
        assert_eq!(r.status, 404, "{id}");
        assert_eq!(
            r.json(),
            json!({"code": 10003, "message": "Unknown Channel"})
        );
    }
    assert!(emu.messages(&elsewhere).is_empty());
    assert_clean(&emu);

    // Not a snowflake: 400 and a violation.
    let r = execute(&emu, &w, "?thread_id=abc", &json!({"content": "x"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50035);
    // thread_name: only forum channels; a text channel's webhook cannot start a thread.
    let r = execute(&emu, &w, "", &json!({"content": "x", "thread_name": "new"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"code": 220003, "message": "Webhooks can only create threads in forum channels"})
    );
    let v = emu.violations();
    assert_eq!(v.len(), 2, "{v:#?}");
    assert!(v[1].contains("thread_name"), "{v:#?}");
}

#[tokio::test]
async fn unknown_webhooks_and_wrong_tokens() {
    let (emu, _c) = start().await;
    let ch = emu.default_channel_id();
    let w = emu.add_webhook(&ch, "Alerter");
    let unknown = Webhook {
        id: "1".into(),
        url: format!("{}/webhooks/1/{}", emu.base_url(), w.token),
        ..w.clone()
    };
    let r = execute(&emu, &unknown, "?wait=true", &json!({"content": "x"})).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"code": 10015, "message": "Unknown Webhook"})
    );
    assert!(r.header("x-ratelimit-bucket").is_some());

    let mut wrong = w.token.clone();
    wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
    let bad = Webhook {
        url: format!("{}/webhooks/{}/{wrong}", emu.base_url(), w.id),
        ..w.clone()
    };
    let r = execute(&emu, &bad, "?wait=true", &json!({"content": "x"})).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"code": 50027, "message": "Invalid Webhook Token"})
    );
    assert!(emu.messages(&ch).is_empty());
    assert_clean(&emu);

    // Another webhook's token does not open this one.
    let w2 = emu.add_webhook(&ch, "Other");
    let crossed = Webhook {
        url: format!("{}/webhooks/{}/{}", emu.base_url(), w.id, w2.token),
        ..w.clone()
    };
    assert_eq!(
        execute(&emu, &crossed, "", &json!({"content": "x"}))
            .await
            .status,
        401
    );
    // The other operations on a webhook URL are not implemented: 404 and a violation that
    // leaves the token out.
    let r = send_raw(
        emu.addr(),
        "GET",
        &path_of(&emu, &w),
        &[("user-agent", UA)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 404);
    let v = emu.violations();
    assert_eq!(v.len(), 1, "{v:#?}");
    assert!(v[0].contains("does not implement"), "{v:#?}");
    assert!(!v[0].contains(&w.token), "{v:#?}");
    assert!(v[0].contains("{webhook_token}"), "{v:#?}");
}

#[tokio::test]
async fn control_api_makes_webhooks() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let made = send_raw(
        c.addr,
        "POST",
        &format!("/_emulator/channels/{ch}/webhooks"),
        &[("content-type", "application/json")],
        Some(br#"{"name": "from outside"}"#.to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(made.status, 200);
    let v = made.json();
    let w = Webhook {
        id: v["id"].as_str().unwrap().into(),
        token: v["token"].as_str().unwrap().into(),
        channel_id: v["channel_id"].as_str().unwrap().into(),
        url: v["url"].as_str().unwrap().into(),
    };
    assert_eq!(w.channel_id, ch);
    assert_eq!(w.token.len(), 68);
    assert_eq!(
        w.url,
        format!("{}/webhooks/{}/{}", emu.base_url(), w.id, w.token)
    );
    let r = execute(&emu, &w, "?wait=true", &json!({"content": "hi"})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["author"]["username"], "from outside");

    let t = emu.add_thread(&ch, "t");
    let control = |path: String, body: &'static [u8]| {
        let addr = c.addr;
        async move {
            send_raw(
                addr,
                "POST",
                &path,
                &[("content-type", "application/json")],
                Some(body.to_vec()),
            )
            .await
            .unwrap()
        }
    };
    let r = control(
        format!("/_emulator/channels/{t}/webhooks"),
        br#"{"name": "x"}"#,
    )
    .await;
    assert_eq!(r.status, 400, "a thread has no webhooks");
    assert!(r.json()["error"].as_str().unwrap().contains("thread"));
    let r = control("/_emulator/channels/1/webhooks".into(), br#"{"name": "x"}"#).await;
    assert_eq!(r.status, 404);
    let r = control(
        format!("/_emulator/channels/{ch}/webhooks"),
        br#"{"name": ""}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    let r = control(format!("/_emulator/channels/{ch}/webhooks"), br#"{}"#).await;
    assert_eq!(r.status, 400);
    assert_clean(&emu);
}

#[test]
#[should_panic(expected = "a webhook belongs to a text channel")]
fn add_webhook_on_a_thread_panics() {
    let emu = Emulator::start_background(Options::default()).unwrap();
    let t = emu.add_thread(&emu.default_channel_id(), "t");
    let _ = emu.add_webhook(&t, "x");
}
