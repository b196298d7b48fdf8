//! The `/_emulator` control API over real HTTP, and the background (sync) start and shutdown.

mod common;

use alerter_emulator::{Emulator, Options};
use common::{assert_clean, ids, send_raw, start, Client, Resp};
use serde_json::{json, Value};

async fn control(c: &Client, method: &str, path: &str, body: Option<Value>) -> Resp {
    let headers: &[(&str, &str)] = if body.is_some() {
        &[("content-type", "application/json")]
    } else {
        &[]
    };
    send_raw(
        c.addr,
        method,
        &format!("/_emulator{path}"),
        headers,
        body.map(|b| serde_json::to_vec(&b).unwrap()),
    )
    .await
    .expect("control answer")
}

#[tokio::test]
async fn control_api_drives_the_world() {
    let (emu, c) = start().await;
    let state = control(&c, "GET", "/state", None).await;
    assert_eq!(state.status, 200);
    let state = state.json();
    assert_eq!(state["base_url"], json!(emu.base_url()));
    assert_eq!(state["guild_id"], json!(emu.guild_id()));
    assert_eq!(state["default_channel_id"], json!(emu.default_channel_id()));
    assert_eq!(state["bot"]["id"], json!(emu.bot().id));
    assert!(
        !state.to_string().contains(&emu.token()),
        "never shows the token"
    );

    let alice = control(&c, "POST", "/users", Some(json!({"username": "alice"})))
        .await
        .json();
    assert_eq!(alice["bot"], false);
    let alice_id = alice["id"].as_str().unwrap().to_string();
    let role = control(&c, "POST", "/roles", Some(json!({"name": "oncall"})))
        .await
        .json();
    let role_id = role["id"].as_str().unwrap().to_string();
    let r = control(
        &c,
        "PUT",
        &format!("/members/{alice_id}/roles/{role_id}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    let member = c
        .get(&format!("/guilds/{}/members/{alice_id}", emu.guild_id()))
        .await
        .json();
    assert_eq!(member["roles"], json!([role_id]));

    let ch = emu.default_channel_id();
    let bot_msg = c
        .post(
            &format!("/channels/{ch}/messages"),
            &json!({"content": "approve?"}),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let said = control(
        &c,
        "POST",
        &format!("/channels/{ch}/messages"),
        Some(json!({"user_id": alice_id, "content": "yes", "reply_to": bot_msg})),
    )
    .await;
    assert_eq!(said.status, 200);
    let said_id = said.json()["id"].as_str().unwrap().to_string();
    let r = control(
        &c,
        "PUT",
        &format!("/channels/{ch}/messages/{bot_msg}/reactions/%E2%9C%85/{alice_id}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204);

    let listed = control(&c, "GET", &format!("/channels/{ch}/messages"), None)
        .await
        .json();
    assert_eq!(ids(&listed), vec![bot_msg.clone(), said_id]);
    assert_eq!(listed[1]["type"], 19);
    assert_eq!(listed[1]["message_reference"]["message_id"], json!(bot_msg));
    assert_eq!(listed[0]["reactions"][0]["count"], 1);
    assert_eq!(listed[0]["reactions"][0]["me"], false);

    let fault = json!({"path_contains": "/users/@me", "kind": {"type": "status", "status": 503}});
    assert_eq!(
        control(&c, "POST", "/faults", Some(fault)).await.status,
        204
    );
    assert_eq!(c.get("/users/@me").await.status, 503);

    let requests = control(&c, "GET", "/requests", None).await.json();
    let methods: Vec<&str> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        vec!["GET", "POST", "GET"],
        "control calls are not recorded"
    );
    assert_eq!(requests[2]["status"], 503);
    assert!(
        !requests.to_string().contains(&emu.token()),
        "token redacted"
    );
    assert!(requests.to_string().contains("Bot [redacted]"));
    assert_eq!(
        control(&c, "GET", "/violations", None).await.json(),
        json!([])
    );

    // Extras: channels, hiding, the intent switch.
    let other = control(&c, "POST", "/channels", Some(json!({"name": "ops"})))
        .await
        .json();
    let other = other["id"].as_str().unwrap().to_string();
    assert_eq!(c.get(&format!("/channels/{other}")).await.status, 200);
    assert_eq!(
        control(&c, "POST", &format!("/channels/{other}/hide"), None)
            .await
            .status,
        204
    );
    assert_eq!(c.get(&format!("/channels/{other}")).await.status, 403);
    let r = control(
        &c,
        "PUT",
        "/intent",
        Some(json!({"message_content": false})),
    )
    .await;
    assert_eq!(r.status, 204);
    let plain = emu.say(&ch, &alice_id, "hello", None);
    let m = c
        .get(&format!("/channels/{ch}/messages/{plain}"))
        .await
        .json();
    assert_eq!(m["content"], "");
    assert_clean(&emu);
}

#[tokio::test]
async fn control_errors_are_answers_not_panics() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let cases = [
        ("POST", "/users".to_string(), Some(json!({}))),
        ("POST", "/users".to_string(), None),
        ("PUT", "/members/1/roles/2".to_string(), None),
        ("PUT", "/members/x/roles/2".to_string(), None),
        (
            "POST",
            format!("/channels/{ch}/messages"),
            Some(json!({"user_id": "1", "content": "x"})),
        ),
        (
            "POST",
            "/channels/1/messages".to_string(),
            Some(json!({"user_id": emu.bot().id, "content": "x"})),
        ),
        (
            "PUT",
            format!("/channels/{ch}/messages/1/reactions/%E2%9C%85/1"),
            None,
        ),
        ("GET", "/channels/1/messages".to_string(), None),
        (
            "POST",
            "/faults".to_string(),
            Some(json!({"kind": {"type": "nope"}})),
        ),
        ("GET", "/nothing".to_string(), None),
    ];
    for (method, path, body) in cases {
        let r = control(&c, method, &path, body).await;
        assert!(
            r.status == 400 || r.status == 404,
            "{method} {path}: {}",
            r.status
        );
        assert!(r.json()["error"].is_string());
    }
    let raw = send_raw(
        c.addr,
        "POST",
        "/_emulator/users",
        &[],
        Some(b"not json".to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(raw.status, 400);
    assert!(emu.requests().is_empty());
}

#[test]
fn background_start_serves_sync_callers_until_shutdown() {
    let emu = Emulator::start_background(Options {
        bot_name: "sync-bot".into(),
        ..Options::default()
    })
    .expect("starts");
    assert!(emu.base_url().starts_with("http://127.0.0.1:"));
    assert!(emu.base_url().ends_with("/api/v10"));
    assert_eq!(
        emu.control_url(),
        emu.base_url().replace("/api/v10", "/_emulator")
    );
    let client = Client::new(&emu);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let me = client.get("/users/@me").await.json();
        assert_eq!(me["username"], "sync-bot");
    });
    assert_clean(&emu);
    emu.shutdown();
    // Once the accept loop has stopped, new requests fail.
    let failed = runtime.block_on(async {
        for _ in 0..50 {
            if client.try_send("GET", "/users/@me", None).await.is_err() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        false
    });
    assert!(failed, "still serving after shutdown");
}

#[tokio::test]
async fn many_emulators_in_one_process_are_independent() {
    let (a, ca) = start().await;
    let (b, cb) = start().await;
    assert_ne!(a.addr(), b.addr());
    assert_ne!(a.guild_id(), b.guild_id());
    let r = ca
        .post(
            &format!("/channels/{}/messages", a.default_channel_id()),
            &json!({"content": "a"}),
        )
        .await;
    assert_eq!(r.status, 200);
    // b does not know a's channel.
    let r = cb
        .post(
            &format!("/channels/{}/messages", a.default_channel_id()),
            &json!({"content": "b"}),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_clean(&a);
    assert_clean(&b);
}
