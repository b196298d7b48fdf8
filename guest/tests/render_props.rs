//! Property tests of the renderer: whatever goes in (huge bodies, dozens of metadata entries,
//! emoji with ZWJ sequences and skin tones, combining marks, CJK, code fences, markdown, long
//! titles, images), every request body is valid per Discord's OpenAPI spec and documented limits,
//! and nothing is lost. The text splitter's own properties are in `split_props.rs`; the
//! strategies and checks both use are in `common/`.
//!
//! `cargo test --release -p alerter-discord --test render_props`

mod common;

use alerter_discord::bindings::{AlerterMessage, ExceptionInfo, Message, Params, RunContext};
use alerter_discord::render::{allowed_mentions, render, CreateMessage, Document};
use common::checks::*;
use common::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    // 64 cases by default (a few seconds in release); PROPTEST_CASES=N for a longer hunt.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Whatever is posted renders to valid, complete requests.
    #[test]
    fn rendered_messages_are_valid_and_complete(msg in message(), params in params()) {
        check_render(&msg, &params, None)?;
    }

    /// The same with an ask-style trailer after the body.
    #[test]
    fn rendered_questions_with_a_trailer_are_valid_and_complete(
        msg in message(),
        params in params(),
        trailer in text(600, 30),
    ) {
        let trailer = if trailer.trim().is_empty() { "Reply approve or decline.".to_string() } else { trailer };
        check_render(&msg, &params, Some(&trailer))?;
    }

    /// The same for a question carrying the longest key marker.
    #[test]
    fn rendered_questions_with_a_key_marker_are_valid_and_complete(
        msg in message(),
        params in params(),
        trailer in text(600, 30),
    ) {
        let trailer = if trailer.trim().is_empty() { "Reply approve or decline.".to_string() } else { trailer };
        let marker = format!("alerter key: {}", "k".repeat(80));
        check_render_marked(&msg, &params, Some(&trailer), Some(&marker))?;
    }

    /// The failure hook's document renders valid and complete for any traceback, with balanced
    /// code blocks in every description and the exception in the first message.
    #[test]
    fn failure_hook_renders_valid_and_complete(
        tb_lines in prop::collection::vec(line(160), 0..400),
        type_name in "[A-Z][a-zA-Z]{2,20}Error",
        // Fences in the message too: the hook must defuse them like the traceback's.
        message in prop_oneof![
            3 => line(300),
            1 => line(100).prop_map(|m| format!("bad config: ```yaml {m}")),
        ],
        params in params(),
    ) {
        let tb = tb_lines.join("\n");
        let ctx = RunContext {
            pipeline_name: "training".into(),
            run_name: "run-42".into(),
            run_id: None,
            step_name: Some("trainer".into()),
            stack_name: None,
            parameters: vec![("lr".into(), "0.001".into())],
        };
        let exc = ExceptionInfo { type_name: type_name.clone(), message, traceback: Some(tb.clone()) };
        let doc = alerter_discord::hooks::failure_message(&ctx, &exc);
        let mentions = allowed_mentions(&params).expect("valid ids");
        let parts = render(&doc, &mentions, TIMESTAMP).expect("renders");
        check_valid(&parts)?;
        for m in &parts {
            for e in &m.embeds {
                if let Some(d) = &e.description {
                    prop_assert_eq!(d.matches("```").count() % 2, 0, "unbalanced description: {}", d);
                }
            }
        }
        let first: String = parts[0].embeds.iter().filter_map(|e| e.description.clone()).collect();
        prop_assert!(first.contains(&type_name));
        let descriptions: Vec<String> =
            parts.iter().flat_map(|m| &m.embeds).filter_map(|e| e.description.clone()).collect();
        // The hook shows ``` inside a traceback as ˋˋˋ so it cannot break the code block.
        check_lines_in_order(&join_repaired(&descriptions), &tb.replace("```", "ˋˋˋ"), "traceback")?;
    }
}

// ---------------------------------------------------------------------------------------------
// Targeted cases

#[test]
fn fence_info_string_long_renders_valid_messages() {
    let body = format!(
        "log:\n```{}\nmore\n```",
        "{\"k\":1,\"v\":\"x\"}".repeat(400)
    );
    let msg = Message::Structured(AlerterMessage {
        title: Some("t".into()),
        body: Some(body),
        metadata: vec![],
        images: vec![],
    });
    let p = Params::default();
    let doc = Document::from_message(&msg, &p).unwrap();
    let parts = render(&doc, &allowed_mentions(&p).unwrap(), TIMESTAMP).unwrap();
    assert!(
        parts.len() <= 3,
        "{} messages for a 6,400-character body",
        parts.len()
    );
    for body in as_sent(&parts) {
        spec::assert_valid_create_body(&body);
    }
}

/// The failure hook shows ``` in the exception message as ˋˋˋ, as it does in the traceback, so
/// the message cannot open a code block that swallows the rest of the alert.
#[test]
fn failure_hook_message_with_fences_keeps_code_blocks_balanced() {
    let ctx = RunContext {
        pipeline_name: "training".into(),
        run_name: "run-42".into(),
        run_id: None,
        step_name: None,
        stack_name: None,
        parameters: vec![],
    };
    let exc = ExceptionInfo {
        type_name: "ValueError".into(),
        message: "bad config: ```yaml lr: x".into(),
        traceback: Some(
            "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError".into(),
        ),
    };
    let doc = alerter_discord::hooks::failure_message(&ctx, &exc);
    let parts = render(&doc, &Default::default(), TIMESTAMP).unwrap();
    for e in parts.iter().flat_map(|m| &m.embeds) {
        if let Some(d) = &e.description {
            assert_eq!(
                d.matches("```").count() % 2,
                0,
                "unbalanced description:\n{d}"
            );
        }
    }
}

/// `Document` is public and documented "nothing is dropped"; a document with plain text plus a
/// lead or images renders through the content-only path, which ignores both.
#[test]
fn plain_document_keeps_lead_and_images() {
    let doc = Document {
        plain: Some("the text".into()),
        lead: Some("the lead".into()),
        images: vec!["https://example.com/a.png".into()],
        ..Document::default()
    };
    let parts = render(&doc, &Default::default(), TIMESTAMP).unwrap();
    let json = serde_json::to_string(&as_sent(&parts)).unwrap();
    assert!(json.contains("the text"));
    assert!(json.contains("the lead"), "lead dropped: {json}");
    assert!(
        json.contains("https://example.com/a.png"),
        "image dropped: {json}"
    );
}

#[test]
fn checker_and_unrepair_catch_real_problems() {
    // The checks above can fail: an oversized part, a lost line, a chunk that is not the text.
    let big = CreateMessage {
        content: Some("x".repeat(2001)),
        ..CreateMessage::default()
    };
    assert!(!spec::create_body_problems(&as_sent(&[big])[0]).is_empty());
    assert!(check_lines_in_order("a\nc\n", "a\nb\nc", "t").is_err());
    assert!(check_lines_in_order("c\na\n", "a\nc", "t").is_err());
    assert!(unrepair(&["ab".into(), "d".into()], "abcd").is_none());
    assert!(unrepair(&["```\nab\n```".into(), "```\ncd".into()], "```\nab\ncd").is_some());
    assert!(unrepair(&["```\nab\n```".into(), "cd".into()], "```\nab\ncd").is_none());
    assert!(shows_key("k", "k") && !shows_key("k…", "k"));
    let long = "k".repeat(300);
    assert!(shows_key(&format!("{}…", &long[..255]), &long));
    assert!(!shows_key(&format!("{}…", &long[..10]), &long));
    assert_eq!(prefix_units("👍🏽a", 2), "👍");
}
