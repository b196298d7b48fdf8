//! Message creates with files (`multipart/form-data`): the form, the stored attachments and
//! their bytes, `attachment://` embeds, the limits, `enforce_nonce`, and what is recorded.

mod common;

use alerter_emulator::{Options, RecordedFile};
use common::{assert_clean, form, send_raw, start, start_with, Client, BOUNDARY, UA};
use serde_json::{json, Value};

fn msgs(channel: &str) -> String {
    format!("/channels/{channel}/messages")
}

/// Bytes with everything a naive parser trips on: CRLFs, a blank line, dashes, the boundary
/// without its leading CRLF, NUL and high bytes.
fn tricky_bytes() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\r\n\r\n--".to_vec();
    b.extend_from_slice(format!("x--{BOUNDARY}\r\n").as_bytes());
    b.extend((0..=255u8).rev());
    b.extend_from_slice(b"\r\n");
    b
}

/// GET on the control API (the attachment `url`s point there).
async fn fetch(c: &Client, url: &str) -> common::Resp {
    let path = url
        .strip_prefix(&format!("http://{}", c.addr))
        .expect("a URL of this emulator");
    send_raw(c.addr, "GET", path, &[], None)
        .await
        .expect("an answer")
}

#[tokio::test]
async fn a_multipart_create_stores_and_serves_the_files() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let png = tricky_bytes();
    let payload = json!({
        "content": "disk almost full",
        "attachments": [{"id": "0", "filename": "plot.png", "description": "disk usage"}],
    });
    let body = form(
        Some(&payload),
        &[
            ("files[0]", "plot.png", "image/png", &png),
            ("files[1]", "log.txt", "text/plain", b"line 1\r\nline 2\n"),
        ],
    );
    let r = c.post_form(&msgs(&ch), body).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let m = r.json();
    assert_eq!(m["content"], "disk almost full");
    let att = m["attachments"].as_array().expect("attachments");
    assert_eq!(att.len(), 2, "{att:?}");
    assert_eq!(att[0]["filename"], "plot.png");
    assert_eq!(att[0]["size"], png.len());
    assert_eq!(att[0]["content_type"], "image/png");
    assert_eq!(att[0]["description"], "disk usage");
    assert_eq!(att[1]["filename"], "log.txt");
    assert!(att[1].get("description").is_none());
    let id = att[0]["id"].as_str().unwrap();
    assert_ne!(id, "0", "a new snowflake, not the placeholder");
    let url = att[0]["url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("http://{}/_emulator/files/{ch}/{id}/plot.png", c.addr)
    );
    assert_eq!(att[0]["proxy_url"], url);

    // The bytes come back intact, from the URL and from the Rust API.
    let served = fetch(&c, url).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.header("content-type").as_deref(), Some("image/png"));
    assert_eq!(&served.body[..], &png[..]);
    assert_eq!(
        emu.attachment(id),
        Some(("image/png".to_string(), png.clone()))
    );
    let txt = fetch(&c, att[1]["url"].as_str().unwrap()).await;
    assert_eq!(&txt.body[..], b"line 1\r\nline 2\n");
    // The wrong name or channel is a 404.
    assert_eq!(
        fetch(&c, &url.replace("plot.png", "x.png")).await.status,
        404
    );
    assert!(emu.attachment("1").is_none());

    // The stored message lists them too (GET and the Rust view).
    let got = c
        .get(&format!("{}/{}", msgs(&ch), m["id"].as_str().unwrap()))
        .await;
    assert_eq!(got.json()["attachments"], m["attachments"]);
    assert_eq!(emu.messages(&ch)[0]["attachments"], m["attachments"]);

    // Recorded: the payload as the body, the parts as files.
    let rec = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(rec.body, Some(payload));
    assert!(rec
        .content_type
        .as_deref()
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
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
                size: 15,
            },
        ]
    );
    assert_clean(&emu);
}

#[tokio::test]
async fn files_alone_make_a_message_and_json_creates_record_no_files() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    // No payload_json at all.
    let r = c
        .post_form(
            &msgs(&ch),
            form(None, &[("files[0]", "a.txt", "text/plain", b"a")]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["content"], "");
    assert_eq!(r.json()["attachments"][0]["filename"], "a.txt");
    assert_eq!(emu.requests().pop().unwrap().body, None);
    // An empty payload and a file.
    let r = c
        .post_form(
            &msgs(&ch),
            form(
                Some(&json!({})),
                &[("files[5]", "b.txt", "text/plain", b"")],
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["attachments"][0]["size"], 0);
    // A payload without files is an ordinary create; an empty one is still 50006.
    let r = c
        .post_form(&msgs(&ch), form(Some(&json!({"content": "hi"})), &[]))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["attachments"], json!([]));
    assert_clean(&emu);
    let r = c.post_form(&msgs(&ch), form(Some(&json!({})), &[])).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50006);
    assert_eq!(emu.violations().len(), 1);

    let r = c.post(&msgs(&ch), &json!({"content": "json"})).await;
    assert_eq!(r.status, 200);
    let rec = emu.requests().pop().unwrap();
    assert!(rec.files.is_empty());
    assert_eq!(rec.content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn attachment_urls_in_embeds_point_at_the_upload() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let payload = json!({
        "embeds": [{
            "title": "CPU",
            "image": {"url": "attachment://cpu.png"},
            "thumbnail": {"url": "attachment://icon.png"},
        }],
        "attachments": [{"id": "0", "filename": "cpu.png"}, {"id": "1", "filename": "icon.png"}],
    });
    let body = form(
        Some(&payload),
        &[
            ("files[0]", "cpu.png", "image/png", b"cpu"),
            ("files[1]", "icon.png", "image/png", b"icon"),
            ("files[2]", "data.csv", "text/csv", b"a,b"),
        ],
    );
    let r = c.post_form(&msgs(&ch), body).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let m = r.json();
    let image = m["embeds"][0]["image"]["url"].as_str().unwrap().to_string();
    assert!(
        image.starts_with(&format!("http://{}/_emulator/files/{ch}/", c.addr))
            && image.ends_with("/cpu.png"),
        "{image}"
    );
    assert_eq!(m["embeds"][0]["image"]["proxy_url"], image.as_str());
    assert!(m["embeds"][0]["thumbnail"]["url"]
        .as_str()
        .unwrap()
        .ends_with("/icon.png"));
    // Files shown by an embed are not listed as attachments (as on Discord); the others are.
    let names: Vec<&str> = m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["data.csv"]);
    assert_eq!(&fetch(&c, &image).await.body[..], b"cpu");
    assert_clean(&emu);

    // A name no file has: still posted, but a violation.
    let payload = json!({"embeds": [{"image": {"url": "attachment://nope.png"}}]});
    let body = form(
        Some(&payload),
        &[("files[0]", "cpu.png", "image/png", b"x")],
    );
    let r = c.post_form(&msgs(&ch), body).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["embeds"][0]["image"]["url"],
        "attachment://nope.png"
    );
    let v = emu.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].contains("embed references attachment://nope.png but no file has that name"),
        "{v:?}"
    );
}

#[tokio::test]
async fn too_many_files_is_50035() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let names: Vec<(String, String)> = (0..11)
        .map(|i| (format!("files[{i}]"), format!("f{i}.txt")))
        .collect();
    let parts: Vec<common::FilePart<'_>> = names
        .iter()
        .map(|(f, n)| (f.as_str(), n.as_str(), "text/plain", &b"x"[..]))
        .collect();
    let r = c
        .post_form(&msgs(&ch), form(Some(&json!({"content": "x"})), &parts))
        .await;
    assert_eq!(r.status, 400);
    let body = r.json();
    assert_eq!(body["code"], 50035);
    assert_eq!(
        body["errors"]["files"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    assert!(emu.messages(&ch).is_empty());
    assert_eq!(emu.violations().len(), 1, "{:?}", emu.violations());
    // Ten is fine.
    let r = c
        .post_form(
            &msgs(&ch),
            form(Some(&json!({"content": "x"})), &parts[..10]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["attachments"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn a_file_over_the_upload_limit_is_413() {
    let (emu, c) = start_with(Options {
        max_file_bytes: 1000,
        ..Options::default()
    })
    .await;
    let ch = emu.default_channel_id();
    let ok = vec![7u8; 1000];
    let big = vec![7u8; 1001];
    let r = c
        .post_form(
            &msgs(&ch),
            form(
                None,
                &[("files[0]", "ok.bin", "application/octet-stream", &ok)],
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_clean(&emu);
    let r = c
        .post_form(
            &msgs(&ch),
            form(
                None,
                &[
                    ("files[0]", "ok.bin", "application/octet-stream", &ok),
                    ("files[1]", "big.bin", "application/octet-stream", &big),
                ],
            ),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json(),
        json!({"code": 40005, "message": "Request entity too large"})
    );
    assert_eq!(emu.messages(&ch).len(), 1);
    let v = emu.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].contains("big.bin") && v[0].contains("1001 bytes"),
        "{v:?}"
    );
}

#[tokio::test]
async fn the_default_upload_limit_is_10_mib() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let big = vec![1u8; 10 * 1024 * 1024 + 1];
    let r = c
        .post_form(
            &msgs(&ch),
            form(
                None,
                &[("files[0]", "big.bin", "application/octet-stream", &big)],
            ),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["code"], 40005);
    let exact = vec![1u8; 10 * 1024 * 1024];
    let r = c
        .post_form(
            &msgs(&ch),
            form(
                None,
                &[("files[0]", "max.bin", "application/octet-stream", &exact)],
            ),
        )
        .await;
    assert_eq!(r.status, 200);
    let id = r.json()["attachments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(emu.attachment(&id).unwrap().1.len(), exact.len());
    assert_eq!(emu.violations().len(), 1);
}

#[tokio::test]
async fn a_request_over_25_mib_is_413() {
    let (emu, c) = start_with(Options {
        max_file_bytes: 100 * 1024 * 1024,
        ..Options::default()
    })
    .await;
    let ch = emu.default_channel_id();
    let big = vec![b'z'; 26 * 1024 * 1024];
    let r = c
        .post_form(
            &msgs(&ch),
            form(
                None,
                &[("files[0]", "big.bin", "application/octet-stream", &big)],
            ),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json(),
        json!({"code": 40005, "message": "Request entity too large"})
    );
    assert!(emu.messages(&ch).is_empty());
    let rec = emu.requests().pop().unwrap();
    assert_eq!(rec.status, 413);
    let v = emu.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("25 MiB"), "{v:?}");
    // Just under 25 MiB in all goes through (files over 10 MiB need a boosted limit).
    let under = vec![b'z'; 24 * 1024 * 1024];
    let r = c
        .post_form(
            &msgs(&ch),
            form(
                None,
                &[("files[0]", "b.bin", "application/octet-stream", &under)],
            ),
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn enforce_nonce_dedupes_multipart_creates() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let payload = json!({"content": "alert", "nonce": "n-1", "enforce_nonce": true});
    let body = || form(Some(&payload), &[("files[0]", "a.txt", "text/plain", b"a")]);
    let a = c.post_form(&msgs(&ch), body()).await.json();
    let b = c.post_form(&msgs(&ch), body()).await.json();
    assert_eq!(a["id"], b["id"]);
    assert_eq!(a["attachments"], b["attachments"]);
    assert_eq!(b["nonce"], "n-1");
    assert_eq!(emu.messages(&ch).len(), 1);
    // The same nonce as JSON is the same message too.
    let j = c.post(&msgs(&ch), &payload).await.json();
    assert_eq!(j["id"], a["id"]);
    assert_clean(&emu);
}

#[tokio::test]
async fn broken_forms_are_400_and_violations() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let count = |emu: &alerter_emulator::Emulator| emu.violations().len();

    // Not valid multipart: no close delimiter.
    let mut raw = form(Some(&json!({"content": "x"})), &[]);
    raw.truncate(raw.len() - format!("--{BOUNDARY}--\r\n").len());
    let r = c.post_form(&msgs(&ch), raw).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50035);
    assert_eq!(
        r.json()["errors"]["_errors"][0]["code"],
        "BASE_TYPE_INVALID"
    );
    assert_eq!(count(&emu), 1);
    assert!(
        emu.violations()[0].contains("multipart"),
        "{:?}",
        emu.violations()
    );

    // No boundary parameter.
    let auth = format!("Bot {}", emu.token());
    let r = send_raw(
        c.addr,
        "POST",
        &format!("/api/v10{}", msgs(&ch)),
        &[
            ("authorization", &auth),
            ("user-agent", UA),
            ("content-type", "multipart/form-data"),
        ],
        Some(form(Some(&json!({"content": "x"})), &[])),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50035);
    assert_eq!(count(&emu), 2);

    // payload_json that is not JSON: 50109, like a JSON body that is not JSON.
    let mut raw = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{{\"content\": \r\n--{BOUNDARY}--\r\n"
    )
    .into_bytes();
    let r = c.post_form(&msgs(&ch), raw.clone()).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50109);
    assert_eq!(count(&emu), 3);
    assert_eq!(
        emu.requests().pop().unwrap().body,
        Some(Value::String("{\"content\": ".into()))
    );
    raw.clear();

    // An attachments entry for a file that was not sent.
    let payload = json!({"content": "x", "attachments": [{"id": "0"}, {"id": "3"}]});
    let r = c
        .post_form(
            &msgs(&ch),
            form(Some(&payload), &[("files[0]", "a.txt", "text/plain", b"a")]),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50035);
    assert!(r.json()["errors"]["attachments"]["1"]["id"]["_errors"].is_array());
    assert_eq!(count(&emu), 4);

    // A numeric placeholder id breaks the spec (ids are strings).
    let payload = json!({"content": "x", "attachments": [{"id": 0}]});
    let r = c
        .post_form(
            &msgs(&ch),
            form(Some(&payload), &[("files[0]", "a.txt", "text/plain", b"a")]),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["errors"]["attachments"]["0"]["id"].is_object());
    assert_eq!(count(&emu), 5);
    assert!(emu.messages(&ch).is_empty());
}

#[tokio::test]
async fn names_discord_would_rewrite_are_violations_but_accepted() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    for name in ["my plot.png", "_x.png", "résumé.txt"] {
        let r = c
            .post_form(
                &msgs(&ch),
                form(None, &[("files[0]", name, "text/plain", b"x")]),
            )
            .await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.json()["attachments"][0]["filename"], name);
        let url = r.json()["attachments"][0]["url"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(&fetch(&c, &url).await.body[..], b"x", "{url}");
    }
    let v = emu.violations();
    assert_eq!(v.len(), 3, "{v:?}");
    assert!(
        v.iter().all(|v| v.contains("Discord would rename it")),
        "{v:?}"
    );
    // A payload filename that differs from the part's is a violation; the payload's wins.
    let payload = json!({"attachments": [{"id": "0", "filename": "b.txt"}]});
    let r = c
        .post_form(
            &msgs(&ch),
            form(Some(&payload), &[("files[0]", "a.txt", "text/plain", b"x")]),
        )
        .await;
    assert_eq!(r.json()["attachments"][0]["filename"], "b.txt");
    assert_eq!(emu.violations().len(), 4);
}

#[tokio::test]
async fn multipart_elsewhere_is_a_violation_and_edits_keep_attachments() {
    let (emu, c) = start().await;
    let ch = emu.default_channel_id();
    let r = c
        .post_form(
            &msgs(&ch),
            form(
                Some(&json!({"content": "v1"})),
                &[("files[0]", "a.txt", "text/plain", b"a")],
            ),
        )
        .await;
    let m = r.json();
    let path = format!("{}/{}", msgs(&ch), m["id"].as_str().unwrap());
    // A JSON edit keeps the attachments...
    let e = c.patch(&path, &json!({"content": "v2"})).await;
    assert_eq!(e.status, 200);
    assert_eq!(e.json()["attachments"], m["attachments"]);
    // ...and `attachments: []` with content left removes them.
    let e = c.patch(&path, &json!({"attachments": []})).await;
    assert_eq!(e.status, 200);
    assert_eq!(e.json()["attachments"], json!([]));
    assert_clean(&emu);
    // Multipart to a route the emulator takes only JSON on.
    let auth = format!("Bot {}", emu.token());
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let r = send_raw(
        c.addr,
        "PATCH",
        &format!("/api/v10{path}"),
        &[
            ("authorization", &auth),
            ("user-agent", UA),
            ("content-type", &ct),
        ],
        Some(form(Some(&json!({"content": "v3"})), &[])),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    let v = emu.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("multipart/form-data body"), "{v:?}");
}
