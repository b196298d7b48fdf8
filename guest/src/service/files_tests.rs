//! Posts with files, long bodies sent as a file, threads, idempotency keys and partial
//! receipts, over the scripted transport.

use super::*;
use crate::bindings::AlerterMessage;
use crate::discord::fake::FakeTransport;
use crate::discord::HttpRequest;

const CHANNEL: &str = "111111111111111111";

fn settings() -> Settings {
    Settings::from_lookup(|k| {
        Ok(match k {
            "api_base_url" => Some("http://127.0.0.1:1/api/v10".into()),
            "default_discord_channel_id" => Some(CHANNEL.into()),
            _ => None,
        })
    })
    .unwrap()
}

fn created(id: &str, channel: &str) -> String {
    format!(r#"{{"id":"{id}","channel_id":"{channel}"}}"#)
}

fn png(name: &str) -> Attachment {
    Attachment {
        filename: name.into(),
        content_type: None,
        description: Some("loss curve".into()),
        data: b"\x89PNG\r\n\x1a\n fake pixels".to_vec(),
    }
}

fn structured(body: &str, images: &[&str]) -> Message {
    Message::Structured(AlerterMessage {
        title: Some("Training finished".into()),
        body: Some(body.into()),
        metadata: vec![],
        images: images.iter().map(|s| (*s).to_string()).collect(),
    })
}

/// The `payload_json` part and the `files[n]` parts (name, filename, bytes) of a form.
fn form(req: &HttpRequest) -> (serde_json::Value, Vec<(String, String, Vec<u8>)>) {
    let ct = req
        .headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap();
    let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
    let body = req.body.as_deref().unwrap();
    let sep = format!("--{boundary}");
    let text = latin1(body);
    let mut json = serde_json::Value::Null;
    let mut files = Vec::new();
    for part in text.split(&sep).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let (head, data) = part.split_once("\r\n\r\n").unwrap();
        let data = data.strip_suffix("\r\n").unwrap();
        let bytes: Vec<u8> = data.chars().map(|c| c as u8).collect();
        let name = head
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        if name == "payload_json" {
            json = serde_json::from_slice(&bytes).unwrap();
        } else {
            let filename = head
                .split("filename=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            files.push((name.to_string(), filename.to_string(), bytes));
        }
    }
    (json, files)
}

/// Bytes as chars one to one, so a form splits like text and every byte survives.
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

#[test]
fn files_go_with_the_first_message_as_a_form_and_images_show_them() {
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001", CHANNEL));
    let mut svc = Service::new(settings(), "t", t);
    svc.attach(vec![png("loss.png")]).unwrap();
    let r = svc
        .post(
            &structured("done", &["attachment://loss.png"]),
            &Params::default(),
        )
        .unwrap();
    assert_eq!(r.message_ids, ["900000000000000001"]);
    let sent = &svc.client.transport_ref().sent;
    assert_eq!(sent.len(), 1);
    let (json, files) = form(&sent[0].0);
    assert_eq!(
        json["attachments"],
        serde_json::json!([{"id": "0", "filename": "loss.png", "description": "loss curve"}])
    );
    assert_eq!(json["embeds"][0]["image"]["url"], "attachment://loss.png");
    assert_eq!(json["enforce_nonce"], true);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "files[0]");
    assert_eq!(files[0].1, "loss.png");
    assert_eq!(files[0].2, b"\x89PNG\r\n\x1a\n fake pixels");
}

#[test]
fn every_file_limit_is_refused_before_any_request() {
    let refused = |files: Vec<Attachment>, images: &[&str], s: Settings| {
        let mut svc = Service::new(s, "t", FakeTransport::new());
        let e = svc
            .attach(files)
            .and_then(|()| svc.post(&structured("x", images), &Params::default()))
            .unwrap_err();
        assert!(svc.client.transport_ref().sent.is_empty(), "{e:?}");
        match e {
            AlertError::InvalidInput(m) => m,
            other => panic!("{other:?}"),
        }
    };
    let eleven = (0..11).map(|i| png(&format!("p{i}.png"))).collect();
    assert!(refused(eleven, &[], settings()).contains("at most 10"));
    let small = Settings {
        max_attachment_bytes: 8,
        ..settings()
    };
    assert!(refused(vec![png("a.png")], &[], small).contains("max_attachment_bytes"));
    assert!(refused(vec![png("my plot.png")], &[], settings()).contains("`my_plot.png`"));
    assert!(refused(vec![], &["attachment://nope.png"], settings()).contains("names no attached"));
    let svg = Attachment {
        filename: "chart.svg".into(),
        ..png("x")
    };
    assert!(refused(vec![svg], &["attachment://chart.svg"], settings()).contains(".png"));
}

#[test]
fn a_170_kb_log_is_an_excerpt_and_a_file_in_one_message() {
    let log: String = (0..7500)
        .map(|i| format!("step {i:05} loss {:.4}\n", 1.0 / f64::from(i + 1)))
        .collect::<String>()
        + "RuntimeError: CUDA out of memory";
    assert!(log.len() > 150_000);
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001", CHANNEL));
    let mut svc = Service::new(settings(), "t", t);
    let r = svc
        .post(&structured(&log, &[]), &Params::default())
        .unwrap();
    assert_eq!(r.message_ids.len(), 1);
    let (json, files) = form(&svc.client.transport_ref().sent[0].0);
    let description = json["embeds"][0]["description"].as_str().unwrap();
    assert!(
        description.ends_with("RuntimeError: CUDA out of memory"),
        "{description}"
    );
    assert!(description.contains("attached as `body.txt`"));
    assert_eq!(files[0].1, "body.txt");
    assert_eq!(files[0].2, log.as_bytes());
    // With the threshold at 0 the same log is split into many messages, as before.
    let s = Settings {
        long_body_max_parts: 0,
        ..settings()
    };
    let svc = Service::new(s, "t", FakeTransport::new());
    let doc = Document::from_message(&structured(&log, &[]), &Params::default()).unwrap();
    assert!(svc.render(&doc, &Params::default()).unwrap().len() > 20);
}

#[test]
fn a_thread_is_started_from_the_first_part_and_the_rest_go_into_it() {
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001", CHANNEL))
        .reply(201, r#"{"id":"900000000000000001","type":11}"#)
        .reply(200, &created("900000000000000002", "900000000000000001"));
    let s = Settings {
        long_body_max_parts: 0,
        ..settings()
    };
    let mut svc = Service::new(s, "t", t);
    let p = Params {
        thread_name: Some("run 42".into()),
        ..Params::default()
    };
    let r = svc.post(&structured(&"y".repeat(9000), &[]), &p).unwrap();
    assert_eq!(r.thread_id.as_deref(), Some("900000000000000001"));
    assert_eq!(r.message_ids.len(), 2);
    let sent = &svc.client.transport_ref().sent;
    assert!(sent[1]
        .0
        .url
        .ends_with("/channels/111111111111111111/messages/900000000000000001/threads"));
    let body: serde_json::Value =
        serde_json::from_slice(sent[1].0.body.as_deref().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({"name": "run 42"}));
    assert!(sent[2]
        .0
        .url
        .ends_with("/channels/900000000000000001/messages"));
    let part2: serde_json::Value =
        serde_json::from_slice(sent[2].0.body.as_deref().unwrap()).unwrap();
    assert!(
        part2.get("message_reference").is_none(),
        "no reply across channels"
    );
    // A retry that finds the thread already started (160004) takes the message's id.
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001", CHANNEL)).reply(
        400,
        r#"{"code":160004,"message":"A thread has already been created for this message"}"#,
    );
    let mut svc = Service::new(settings(), "t", t);
    let r = svc.post(&Message::Text("x".into()), &p).unwrap();
    assert_eq!(r.thread_id.as_deref(), Some("900000000000000001"));
    // Bad names and a thread id with a thread name are refused before any request.
    for bad in [
        Params {
            thread_name: Some(" ".into()),
            ..Params::default()
        },
        Params {
            thread_name: Some("n".repeat(101)),
            ..Params::default()
        },
        Params {
            thread_name: Some("a".into()),
            thread_id: Some("222222222222222222".into()),
            ..Params::default()
        },
        Params {
            thread_id: Some("general".into()),
            ..Params::default()
        },
    ] {
        let mut svc = Service::new(settings(), "t", FakeTransport::new());
        assert!(matches!(
            svc.post(&Message::Text("x".into()), &bad),
            Err(AlertError::InvalidInput(_))
        ));
        assert!(svc.client.transport_ref().sent.is_empty());
    }
}

#[test]
fn a_thread_id_is_where_the_post_goes() {
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000003", "222222222222222222"));
    let mut svc = Service::new(settings(), "t", t);
    let p = Params {
        thread_id: Some("222222222222222222".into()),
        ..Params::default()
    };
    let r = svc
        .post(&Message::Text("in the thread".into()), &p)
        .unwrap();
    assert_eq!(r.channel_id, "222222222222222222");
    assert_eq!(r.thread_id.as_deref(), Some("222222222222222222"));
    assert!(svc.client.transport_ref().sent[0]
        .0
        .url
        .ends_with("/channels/222222222222222222/messages"));
}

#[test]
fn a_part_that_fails_after_others_reports_them_and_a_keyed_retry_reuses_the_nonces() {
    let s = Settings {
        long_body_max_parts: 0,
        delivery_deadline_ms: 1_000,
        ..settings()
    };
    let msg = structured(&"z".repeat(12_000), &[]);
    let keyed = Params {
        idempotency_key: Some("nightly-2026-12-01".into()),
        ..Params::default()
    };
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001", CHANNEL))
        .reply(200, &created("900000000000000002", CHANNEL));
    t.fallback = Some(crate::discord::fake::response(
        403,
        r#"{"code":50013,"message":"Missing Permissions"}"#,
        &[],
    ));
    let mut svc = Service::new(s.clone(), "t", t);
    match svc.post(&msg, &keyed) {
        Err(AlertError::Incomplete(i)) => {
            assert_eq!(i.message_ids, ["900000000000000001", "900000000000000002"]);
            assert_eq!(i.parts, 3);
            assert!(i.reason.contains("Missing Permissions"), "{}", i.reason);
            assert_eq!(i.retry_after_ms, None);
        }
        other => panic!("{other:?}"),
    }
    let nonces = |svc: &Service<FakeTransport>| -> Vec<String> {
        svc.client
            .transport_ref()
            .sent
            .iter()
            .map(|(r, _)| {
                let v: serde_json::Value =
                    serde_json::from_slice(r.body.as_deref().unwrap()).unwrap();
                v["nonce"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let first = nonces(&svc);
    // The retry sends the same nonces part for part (Discord answers the first two with the
    // messages already made), so only the missing parts are created.
    let mut t = FakeTransport::new();
    for i in 1..=3 {
        t.reply(200, &created(&format!("90000000000000000{i}"), CHANNEL));
    }
    let mut svc = Service::new(s.clone(), "t", t);
    svc.post(&msg, &keyed).unwrap();
    let second = nonces(&svc);
    assert_eq!(second[..2], first[..2]);
    assert_eq!(second.len(), 3);
    // Another key (or none) gives other nonces; the first part's failure is the plain error.
    let mut t = FakeTransport::new();
    t.fallback = Some(crate::discord::fake::response(
        403,
        r#"{"code":50013,"message":"Missing Permissions"}"#,
        &[],
    ));
    let mut svc = Service::new(s, "t", t);
    let other = Params {
        idempotency_key: Some("another".into()),
        ..Params::default()
    };
    assert!(matches!(
        svc.post(&msg, &other),
        Err(AlertError::Forbidden(_))
    ));
    assert_ne!(nonces(&svc)[0], first[0]);
}

#[test]
fn many_fields_are_not_moved_into_a_file() {
    // Parts made by metadata, not by a long text: nothing to gain from a file.
    let fields: Vec<crate::bindings::MetadataEntry> = (0..120)
        .map(|i| crate::bindings::MetadataEntry {
            key: format!("metric_{i}"),
            value: crate::bindings::MetadataValue::Text("x".repeat(200)),
        })
        .collect();
    let msg = Message::Structured(AlerterMessage {
        title: Some("Metrics".into()),
        body: Some("short".into()),
        metadata: fields,
        images: vec![],
    });
    let svc = Service::new(settings(), "t", FakeTransport::new());
    let doc = Document::from_message(&msg, &Params::default()).unwrap();
    let parts = svc.render(&doc, &Params::default()).unwrap();
    assert!(parts.len() > 3, "{}", parts.len());
    assert!(
        parts.iter().all(|p| p.files.is_empty()),
        "no file for a short body"
    );
}

#[test]
fn an_uploaded_image_must_land_in_the_message_that_carries_its_file() {
    let s = Settings {
        long_body_max_parts: 0,
        ..settings()
    };
    let mut svc = Service::new(s, "t", FakeTransport::new());
    svc.attach((0..10).map(|i| png(&format!("p{i}.png"))).collect())
        .unwrap();
    // Ten images fill the first message's ten embeds; an eleventh (any name) would be later.
    let images: Vec<String> = (0..11)
        .map(|i| format!("attachment://p{}.png", i % 10))
        .collect();
    let images: Vec<&str> = images.iter().map(String::as_str).collect();
    let e = svc
        .post(
            &structured(&"w ".repeat(10_000), &images),
            &Params::default(),
        )
        .unwrap_err();
    assert!(
        matches!(&e, AlertError::InvalidInput(m) if m.contains("later message")),
        "{e:?}"
    );
    assert!(svc.client.transport_ref().sent.is_empty());
}

#[test]
fn the_key_batch_is_stable() {
    // Pinned: a retry from another build or host must derive the same nonces.
    assert_eq!(
        key_batch(CHANNEL, "nightly-2026-12-01").unwrap(),
        key_batch(CHANNEL, " nightly-2026-12-01 ").unwrap()
    );
    assert_eq!(
        format!("{:016x}", key_batch(CHANNEL, "k").unwrap()),
        "9e976a62d3c5fa4a" // FNV-1a 64 of "111111111111111111\0k", checked with Python
    );
    assert_ne!(
        key_batch(CHANNEL, "k").unwrap(),
        key_batch("111111111111111112", "k").unwrap()
    );
    assert!(key_batch(CHANNEL, "").is_err() && key_batch(CHANNEL, &"k".repeat(101)).is_err());
}

#[test]
fn after_160004_later_parts_still_go_into_the_thread_and_a_failed_thread_keeps_its_kind() {
    let s = Settings {
        long_body_max_parts: 0,
        ..settings()
    };
    let p = Params {
        thread_name: Some("run 42".into()),
        ..Params::default()
    };
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001", CHANNEL))
        .reply(
            400,
            r#"{"code":160004,"message":"A thread has already been created for this message"}"#,
        )
        .reply(200, &created("900000000000000002", "900000000000000001"));
    let mut svc = Service::new(s.clone(), "t", t);
    let r = svc.post(&structured(&"y".repeat(9000), &[]), &p).unwrap();
    assert_eq!(r.thread_id.as_deref(), Some("900000000000000001"));
    assert!(svc.client.transport_ref().sent[2]
        .0
        .url
        .ends_with("/channels/900000000000000001/messages"));
    // The bot may not create threads: the error says so and stays a 403.
    let mut t = FakeTransport::new();
    t.reply(200, &created("900000000000000001", CHANNEL))
        .reply(403, r#"{"code":50013,"message":"Missing Permissions"}"#);
    let mut svc = Service::new(s, "t", t);
    match svc.post(&Message::Text("x".into()), &p) {
        Err(AlertError::Incomplete(i)) => {
            assert_eq!(i.message_ids, ["900000000000000001"]);
            assert!(
                i.reason.contains("the thread could not be started"),
                "{}",
                i.reason
            );
        }
        other => panic!("{other:?}"),
    }
}
