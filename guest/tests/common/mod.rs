//! What the renderer's property tests share (each file in `tests/` is a test binary of its
//! own that uses a part of it): the strategies that build hostile input, the Discord spec
//! checks (`spec`), and the checks of rendered output (`checks`).

// Each test binary uses only some of these helpers.
#![allow(dead_code)]

// Shared with the end-to-end tests, which own it; lint it there.
#[path = "../../../tests/common/spec.rs"]
#[allow(clippy::redundant_closure_for_method_calls)]
pub mod spec;

pub mod checks;

use alerter_discord::bindings::{
    AlerterMessage, Message, MetadataEntry, MetadataValue, Params, Payload, Severity,
};
use proptest::prelude::*;

/// The timestamp every rendered alert carries.
pub const TIMESTAMP: &str = "2026-11-28T04:07:25.123Z";

/// Proptest cases per property: 64, or `PROPTEST_CASES`.
pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// Markdown and code-fence pieces. Segments are concatenated, so a fence may stand at the start
/// of a line or in the middle of one (the `fence_info_string_*` tests cover a fence followed by
/// a long token on its line).
pub const MARKUP: &[&str] = &[
    "```python\n",
    "```\n",
    "\n```\n",
    "```rust\n",
    "`inline code`",
    "**bold**",
    "*it*",
    "> quote ",
    "# Heading\n",
    "- item\n",
    "||spoiler||",
    "~~strike~~",
    "@everyone",
    "@here",
    "<@&123456789012345678>",
    "<@123456789012345678>",
    "[link](https://example.com)",
    "\t",
];

/// Unicode that is easy to split wrongly.
pub const UNICODE: &[&str] = &[
    "👍",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "❤️",
    "🇺🇸",
    "👩🏿‍💻",
    "🧑‍🤝‍🧑",
    "e\u{301}",
    "a\u{308}\u{301}",
    "漢字",
    "日本語のテキスト",
    "한국어",
    "مرحبا",
    "Ωμέγα",
    "\u{200D}",
    "∑∫√",
    "🅰️",
];

pub fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z0-9_.:()=/,'\"-]{1,12}",
        5 => Just(" ".to_string()),
        4 => Just("\n".to_string()),
        1 => Just("\n\n".to_string()),
        2 => prop::sample::select(MARKUP).prop_map(str::to_string),
        3 => prop::sample::select(UNICODE).prop_map(str::to_string),
        1 => "[a-z]{30,300}",
        1 => (1usize..3000).prop_map(|n| "x".repeat(n)),
        1 => (1usize..400).prop_map(|n| "漢👍🏽".repeat(n)),
    ]
}

/// At most `max` chars of `s`.
pub fn cap(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        s
    } else {
        s.chars().take(max).collect()
    }
}

/// Text of 0..=`max` chars built from segments (some small, some large).
pub fn text(max: usize, segments: usize) -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 0..segments), 1usize..=3)
        .prop_map(move |(v, r)| cap(v.concat().repeat(r), max))
}

/// One line (no newlines), up to `max` chars.
pub fn line(max: usize) -> impl Strategy<Value = String> {
    text(max, 40).prop_map(|s| s.replace('\n', " "))
}

pub fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => text(200, 20),
        2 => text(20_000, 400),
        1 => text(20_000, 2000),
    ]
}

pub fn title() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        2 => line(80).prop_map(Some),
        2 => line(600).prop_map(Some),
        1 => (200usize..600).prop_map(|n| Some("T".repeat(n))),
    ]
}

pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z_]{1,20}",
        2 => line(40),
        1 => "[a-zA-Z ]{200,320}",
        1 => (60usize..90).prop_map(|n| "👍🏽".repeat(n)),
        1 => Just("  ".to_string()),
    ]
}

pub fn value() -> impl Strategy<Value = MetadataValue> {
    prop_oneof![
        4 => "[a-zA-Z0-9 .]{0,40}".prop_map(MetadataValue::Text),
        2 => text(1500, 60).prop_map(MetadataValue::Text),
        1 => any::<i64>().prop_map(MetadataValue::Integer),
        1 => (-1e9f64..1e9).prop_map(MetadataValue::Float),
        1 => any::<bool>().prop_map(MetadataValue::Boolean),
        1 => Just(MetadataValue::Json(r#"{"lr": 0.001, "layers": [64, 128]}"#.into())),
        1 => Just(MetadataValue::Text("   ".into())),
    ]
}

pub fn metadata() -> impl Strategy<Value = Vec<MetadataEntry>> {
    prop::collection::vec((key(), value()), 0..60).prop_map(|v| {
        v.into_iter()
            .map(|(key, value)| MetadataEntry { key, value })
            .collect()
    })
}

pub fn images() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        "[a-z0-9]{1,40}".prop_map(|p| format!("https://example.com/{p}.png")),
        0..=5,
    )
}

pub fn snowflake() -> impl Strategy<Value = String> {
    "[1-9][0-9]{17}"
}

pub fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        1 => body().prop_map(Message::Text),
        3 => (title(), prop::option::of(body()), metadata(), images()).prop_map(
            |(title, body, metadata, images)| {
                Message::Structured(AlerterMessage { title, body, metadata, images })
            }
        ),
    ]
}

pub fn params() -> impl Strategy<Value = Params> {
    let payload = prop::option::of(
        (
            prop::option::of(line(60)),
            prop::option::of(line(60)),
            prop::option::of(line(60)),
        )
            .prop_map(|(pipeline_name, step_name, stack_name)| Payload {
                pipeline_name,
                step_name,
                stack_name,
            }),
    );
    let severity = prop::option::of(prop::sample::select(vec![
        Severity::Info,
        Severity::Success,
        Severity::Warning,
        Severity::Error,
    ]));
    (
        payload,
        prop::option::of(any::<bool>()),
        severity,
        prop::collection::vec(snowflake(), 0..3),
        prop::collection::vec(snowflake(), 0..3),
    )
        .prop_map(
            |(payload, include_format_blocks, severity, mention_users, mention_roles)| Params {
                channel_id: None,
                approve_keywords: None,
                disapprove_keywords: None,
                payload,
                include_format_blocks,
                severity,
                mention_users,
                mention_roles,
                ask: None,
                ..Params::default()
            },
        )
}
