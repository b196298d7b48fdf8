//! Rendering whole messages: content, embeds, fields, images, mentions and part markers.

use super::*;
use crate::bindings::{AlerterMessage, MetadataEntry, Payload};

fn params() -> Params {
    Params::default()
}

fn structured(title: &str, body: &str, meta: &[(&str, &str)]) -> Message {
    Message::Structured(AlerterMessage {
        title: Some(title.into()),
        body: Some(body.into()),
        metadata: meta
            .iter()
            .map(|(k, v)| MetadataEntry {
                key: k.to_string(),
                value: MetadataValue::Text(v.to_string()),
            })
            .collect(),
        images: vec![],
    })
}

fn render_msg(m: &Message, p: &Params) -> Result<Vec<CreateMessage>, AlertError> {
    let doc = Document::from_message(m, p)?;
    render(&doc, &allowed_mentions(p)?, "2026-11-28T00:00:00.000Z")
}

#[test]
fn plain_text_becomes_content_with_no_pings() {
    let out = render_msg(&Message::Text("deploy done @everyone".into()), &params()).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].content.as_deref(), Some("deploy done @everyone"));
    assert!(out[0].embeds.is_empty());
    let json = serde_json::to_value(&out[0]).unwrap();
    assert_eq!(json["allowed_mentions"]["parse"], serde_json::json!([]));
}

#[test]
fn structured_message_becomes_one_embed() {
    let m = structured(
        "Run failed",
        "loss diverged",
        &[("epoch", "7"), ("severity", "error")],
    );
    let out = render_msg(&m, &params()).unwrap();
    assert_eq!(out.len(), 1);
    let e = &out[0].embeds[0];
    assert_eq!(e.title.as_deref(), Some("Run failed"));
    assert_eq!(e.description.as_deref(), Some("loss diverged"));
    assert_eq!(e.color, Some(0xE74C3C));
    assert_eq!(e.fields[0].name, "epoch");
    assert!(e.fields[0].inline);
    assert!(e.footer.is_none());
}

#[test]
fn payload_becomes_zenml_format_blocks_first() {
    let mut p = params();
    p.payload = Some(Payload {
        pipeline_name: Some("training".into()),
        step_name: Some("evaluate".into()),
        stack_name: Some("prod".into()),
    });
    let out = render_msg(&Message::Text("accuracy 0.93".into()), &p).unwrap();
    let e = &out[0].embeds[0];
    let names: Vec<_> = e.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Pipeline", "Step", "Stack"]);
    assert_eq!(e.description.as_deref(), Some("accuracy 0.93"));
    p.include_format_blocks = Some(false);
    let out = render_msg(&Message::Text("accuracy 0.93".into()), &p).unwrap();
    assert_eq!(out[0].content.as_deref(), Some("accuracy 0.93"));
}

#[test]
fn empty_message_is_invalid_input() {
    for m in [Message::Text("  ".into()), structured("", "", &[])] {
        assert!(matches!(
            render_msg(&m, &params()),
            Err(AlertError::InvalidInput(_))
        ));
    }
}

#[test]
fn long_text_continues_in_marked_parts_and_loses_nothing() {
    let text: String = (0..500).map(|i| format!("line {i} of the log\n")).collect();
    let out = render_msg(&Message::Text(text.clone()), &params()).unwrap();
    assert!(out.len() > 1);
    let n = out.len();
    let mut joined = String::new();
    for (i, m) in out.iter().enumerate() {
        let c = m.content.as_deref().unwrap();
        assert!(len(c) <= limits::CONTENT);
        let mark = format!("\n-# ({}/{n})", i + 1);
        assert!(c.ends_with(&mark), "part {i} unmarked");
        joined.push_str(c.strip_suffix(&mark).unwrap());
    }
    assert_eq!(joined, text);
}

#[test]
fn many_fields_continue_in_further_embeds() {
    let meta: Vec<(String, String)> = (0..40)
        .map(|i| (format!("key{i}"), format!("value {i}")))
        .collect();
    let meta_ref: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = render_msg(&structured("t", "b", &meta_ref), &params()).unwrap();
    let fields: Vec<_> = out
        .iter()
        .flat_map(|m| &m.embeds)
        .flat_map(|e| &e.fields)
        .map(|f| f.name.clone())
        .collect();
    assert_eq!(fields.len(), 40);
    assert_eq!(fields[39], "key39");
    for m in &out {
        for e in &m.embeds {
            assert!(e.fields.len() <= limits::FIELDS);
        }
    }
}

#[test]
fn long_titles_and_values_are_marked_not_lost() {
    let title = "T".repeat(300);
    let value = "v".repeat(2500);
    let out = render_msg(&structured(&title, "body", &[("big", &value)]), &params()).unwrap();
    let e = &out[0].embeds[0];
    assert!(e.title.as_deref().unwrap().ends_with('…'));
    assert!(e.description.as_deref().unwrap().contains(&title));
    let big: String = out
        .iter()
        .flat_map(|m| &m.embeds)
        .flat_map(|e| &e.fields)
        .filter(|f| f.name.starts_with("big"))
        .map(|f| f.value.clone())
        .collect();
    assert_eq!(big, value);
}

#[test]
fn mentions_ping_only_named_ids_from_content() {
    let mut p = params();
    p.mention_roles = vec!["222222222222222222".into()];
    let out = render_msg(&structured("Oncall", "@everyone look", &[]), &p).unwrap();
    assert_eq!(out[0].content.as_deref(), Some("<@&222222222222222222>"));
    assert_eq!(out[0].allowed_mentions.roles, ["222222222222222222"]);
    assert!(out[0].allowed_mentions.parse.is_empty());
    p.mention_users = vec!["not-an-id".into()];
    assert!(
        matches!(render_msg(&structured("a", "b", &[]), &p), Err(AlertError::InvalidInput(m)) if m.contains("not-an-id"))
    );
}

#[test]
fn a_repeated_mention_id_pings_once_even_written_differently() {
    let mut p = params();
    p.mention_users = vec![
        "333333333333333333".into(),
        " 333333333333333333".into(),
        "0333333333333333333".into(),
    ];
    p.mention_roles = vec!["0222222222222222222".into(), "222222222222222222".into()];
    let m = allowed_mentions(&p).unwrap();
    assert_eq!(m.users, ["333333333333333333"]);
    assert_eq!(m.roles, ["222222222222222222"]);
    let out = render_msg(&structured("Oncall", "look", &[]), &p).unwrap();
    assert_eq!(
        out[0].content.as_deref(),
        Some("<@&222222222222222222> <@333333333333333333>")
    );
}

#[test]
fn images_first_in_main_embed_rest_in_their_own() {
    let m = Message::Structured(AlerterMessage {
        title: Some("plots".into()),
        body: None,
        metadata: vec![],
        images: vec!["https://e.x/a.png".into(), "https://e.x/b.png".into()],
    });
    let out = render_msg(&m, &params()).unwrap();
    assert_eq!(out[0].embeds.len(), 2);
    assert_eq!(
        out[0].embeds[1].image.as_ref().unwrap().url,
        "https://e.x/b.png"
    );
    let bad = Message::Structured(AlerterMessage {
        title: Some("x".into()),
        body: None,
        metadata: vec![],
        images: vec!["file:///etc/passwd".into()],
    });
    assert!(matches!(
        render_msg(&bad, &params()),
        Err(AlertError::InvalidInput(_))
    ));
}

#[test]
fn a_run_of_blank_lines_never_becomes_a_blank_field_value() {
    // `split_text` cuts this into "a…\n\n" and "\n": the second would be a blank field value,
    // which Discord rejects. Found by the property tests.
    let trailing = "a".repeat(998) + "\n\n\n";
    // A chunk that is blank in the middle: a thousand blank lines between two words.
    let middle = format!("{}\n{}b", "a".repeat(998), "\n".repeat(1500));
    let m = structured(
        "t",
        "b",
        &[("log", trailing.as_str()), ("gap", middle.as_str())],
    );
    let out = render_msg(&m, &params()).unwrap();
    let fields: Vec<&Field> = out
        .iter()
        .flat_map(|m| &m.embeds)
        .flat_map(|e| &e.fields)
        .collect();
    assert!(
        fields.iter().all(|f| !f.value.trim().is_empty()),
        "{fields:?}"
    );
    let gap: Vec<&str> = fields
        .iter()
        .filter(|f| f.name.starts_with("gap"))
        .map(|f| f.value.as_str())
        .collect();
    assert!(gap[0].starts_with("aaa") && gap.last().is_some_and(|v| v.ends_with('b')));
}

#[test]
fn a_severity_in_the_metadata_sets_the_colour_unless_the_call_names_one() {
    for (word, colour) in [
        ("info", 0x3498DB),
        ("INFO", 0x3498DB),
        ("success", 0x2ECC71),
        ("ok", 0x2ECC71),
        ("warning", 0xF1C40F),
        ("warn", 0xF1C40F),
        ("critical", 0xE74C3C),
    ] {
        let m = structured("t", "b", &[("Severity", word)]);
        let out = render_msg(&m, &params()).unwrap();
        assert_eq!(out[0].embeds[0].color, Some(colour), "{word}");
    }
    // The call's own severity wins over the metadata's.
    let m = structured("t", "b", &[("severity", "error")]);
    let p = Params {
        severity: Some(Severity::Info),
        ..params()
    };
    assert_eq!(
        render_msg(&m, &p).unwrap()[0].embeds[0].color,
        Some(0x3498DB)
    );
    // Another key named like a severity value is just a field.
    let m = structured("t", "b", &[("status", "error")]);
    assert_ne!(
        render_msg(&m, &params()).unwrap()[0].embeds[0].color,
        Some(0xE74C3C)
    );
}

#[test]
fn at_most_100_users_and_100_roles_can_be_pinged() {
    let ids = |n: u64| -> Vec<String> {
        (0..n)
            .map(|i| (100_000_000_000_000_000 + i).to_string())
            .collect()
    };
    let p = Params {
        mention_users: ids(100),
        mention_roles: ids(100),
        ..params()
    };
    let m = allowed_mentions(&p).unwrap();
    assert_eq!((m.users.len(), m.roles.len()), (100, 100));
    for p in [
        Params {
            mention_users: ids(101),
            ..params()
        },
        Params {
            mention_roles: ids(101),
            ..params()
        },
    ] {
        assert!(
            matches!(allowed_mentions(&p), Err(AlertError::InvalidInput(e)) if e.contains("at most 100"))
        );
    }
}

#[test]
fn an_embed_counts_title_description_footer_and_fields_towards_6000() {
    let e = Embed {
        title: Some("ab".into()),
        description: Some("cde".into()),
        footer: Some(Footer {
            text: "fghi".into(),
        }),
        fields: vec![
            Field {
                name: "j".into(),
                value: "kl".into(),
                inline: false,
            },
            Field {
                name: "mno".into(),
                value: "p".into(),
                inline: true,
            },
        ],
        ..Embed::default()
    };
    assert_eq!(e.text_len(), 2 + 3 + 4 + (1 + 2) + (3 + 1));
}

#[test]
fn image_urls_with_spaces_or_control_characters_are_rejected() {
    for bad in [
        "https://x.example/a b.png",
        "https://x.example/a\u{7}.png",
        "ftp://x.example/a.png",
    ] {
        let m = Message::Structured(AlerterMessage {
            title: Some("t".into()),
            body: None,
            metadata: vec![],
            images: vec![bad.into()],
        });
        assert!(
            matches!(render_msg(&m, &params()), Err(AlertError::InvalidInput(e)) if e.contains("image")),
            "{bad}"
        );
    }
}

#[test]
fn fields_fill_embeds_of_25_within_the_budget_and_every_embed_keeps_the_colour() {
    let many: Vec<(String, String)> = (0..30)
        .map(|i| (format!("k{i:02}"), "v".repeat(1000)))
        .collect();
    let meta: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = Params {
        severity: Some(Severity::Warning),
        ..params()
    };
    let mut msg = structured("t", "body", &meta);
    if let Message::Structured(m) = &mut msg {
        m.images = vec![
            "https://x.example/a.png".into(),
            "https://x.example/b.png".into(),
        ];
    }
    let out = render_msg(&msg, &p).unwrap();
    let embeds: Vec<&Embed> = out.iter().flat_map(|m| &m.embeds).collect();
    assert!(
        embeds
            .iter()
            .any(|e| e.image.is_some() && e.title.is_none()),
        "an image embed"
    );
    assert!(
        embeds.iter().all(|e| e.color == Some(0xF1C40F)),
        "an embed lost its colour"
    );
    for m in &out {
        let total: usize = m.embeds.iter().map(Embed::text_len).sum();
        assert!(
            total <= limits::EMBED_TOTAL,
            "a message of {total} characters"
        );
        assert!(m.embeds.len() <= limits::EMBEDS);
    }
    let fields: Vec<usize> = embeds.iter().map(|e| e.fields.len()).collect();
    assert_eq!(fields.iter().sum::<usize>(), 30);
    assert!(fields.iter().all(|&n| n <= limits::FIELDS));
    // 1,000-character values: five fit the first embed's 5,800 budget with its title and body.
    assert_eq!(fields[0], 5, "{fields:?}");
    // Only short one-line values sit inline.
    let short = render_msg(
        &structured(
            "t",
            "b",
            &[("a", "x"), ("b", &"y".repeat(41)), ("c", "1\n2")],
        ),
        &params(),
    )
    .unwrap();
    let inline: Vec<bool> = short[0].embeds[0].fields.iter().map(|f| f.inline).collect();
    assert_eq!(inline, [true, false, false]);
}

#[test]
fn twenty_five_fields_per_embed_then_a_new_one() {
    let many: Vec<(String, String)> = (0..30)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    let meta: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = render_msg(&structured("t", "b", &meta), &params()).unwrap();
    let fields: Vec<usize> = out
        .iter()
        .flat_map(|m| &m.embeds)
        .map(|e| e.fields.len())
        .collect();
    assert_eq!(fields, [25, 5]);
}

#[test]
fn a_question_without_a_body_shows_just_the_instructions() {
    let m = Message::Structured(AlerterMessage {
        title: Some("Deploy?".into()),
        body: None,
        metadata: vec![],
        images: vec![],
    });
    let mut doc = Document::from_message(&m, &params()).unwrap();
    doc.trailer = Some("Answer with ✅".into());
    let out = render(
        &doc,
        &allowed_mentions(&params()).unwrap(),
        "2026-11-28T00:00:00.000Z",
    )
    .unwrap();
    assert_eq!(
        out[0].embeds[0].description.as_deref(),
        Some("Answer with ✅")
    );
}

fn marked(m: &Message, marker: &str) -> Result<Vec<CreateMessage>, AlertError> {
    let mut doc = Document::from_message(m, &params())?;
    doc.marker = Some(marker.into());
    render(
        &doc,
        &allowed_mentions(&params())?,
        "2026-11-28T00:00:00.000Z",
    )
}

#[test]
fn a_marker_goes_in_the_first_embeds_footer_beside_a_part_marker() {
    let out = marked(&structured("Deploy?", "b", &[]), "alerter key: k1").unwrap();
    assert_eq!(
        out[0].embeds[0].footer.as_ref().unwrap().text,
        "alerter key: k1"
    );
    // A question long enough for two messages of one embed each: shared with the part marker.
    let long = structured("Deploy?", &"word ".repeat(1500), &[]);
    let out = marked(&long, "alerter key: k1").unwrap();
    assert!(out.len() > 1 && out[0].embeds.len() == 1);
    assert_eq!(
        out[0].embeds[0].footer.as_ref().unwrap().text,
        "(1/2) · alerter key: k1"
    );
    assert_eq!(
        out[1].embeds[0].footer.as_ref().unwrap().text,
        "(2/2)",
        "first part only"
    );
    // Several embeds in the first message: the first one carries it, the last the part marker.
    let images: Vec<String> = (0..12).map(|i| format!("https://e.com/{i}.png")).collect();
    let many = Message::Structured(AlerterMessage {
        title: Some("Deploy?".into()),
        body: None,
        metadata: vec![],
        images,
    });
    let out = marked(&many, "alerter key: k1").unwrap();
    assert_eq!(
        out[0].embeds[0].footer.as_ref().unwrap().text,
        "alerter key: k1"
    );
    assert_eq!(out[0].embeds[9].footer.as_ref().unwrap().text, "(1/2)");
}

#[test]
fn a_marker_is_the_last_content_line_without_embeds_within_the_limit() {
    let out = marked(&Message::Text("Deploy?".into()), "alerter key: k1").unwrap();
    assert_eq!(
        out[0].content.as_deref(),
        Some("Deploy?\n-# alerter key: k1")
    );
    let marker = format!("alerter key: {}", "k".repeat(80));
    let out = marked(&Message::Text("word ".repeat(2000)), &marker).unwrap();
    let first = out[0].content.as_deref().unwrap();
    assert!(
        first.ends_with(&format!("\n-# (1/{}) · {marker}", out.len())),
        "{first}"
    );
    assert!(out
        .iter()
        .all(|m| len(m.content.as_deref().unwrap()) <= limits::CONTENT));
    assert!(!out[1].content.as_deref().unwrap().contains("alerter key"));
}

#[test]
fn a_marker_must_be_one_short_line() {
    for bad in ["two\nlines", " ", &"k".repeat(limits::MARKER + 1)] {
        let err = marked(&Message::Text("Deploy?".into()), bad).unwrap_err();
        assert_eq!(
            err,
            AlertError::InvalidInput(
                "a message marker must be one line of at most 100 characters".into()
            ),
            "{bad:?}"
        );
    }
}
