//! Property tests of the renderer: whatever goes in (huge bodies, dozens of metadata entries,
//! emoji with ZWJ sequences and skin tones, combining marks, CJK, code fences, markdown, long
//! titles, images), every request body is valid per Discord's OpenAPI spec and documented limits,
//! and nothing is lost.
//!
//! `cargo test --release -p alerter-discord --test render_props`

// Shared with the end-to-end tests, which own it; lint it there.
#[path = "../../tests/common/spec.rs"]
#[allow(clippy::redundant_closure_for_method_calls)]
mod spec;

use alerter_discord::bindings::{
    AlerterMessage, ExceptionInfo, Message, MetadataEntry, MetadataValue, Params, Payload,
    RunContext, Severity,
};
use alerter_discord::render::{
    self, allowed_mentions, len, limits, render, split_text, CreateMessage, Document,
    MessageReference,
};
use proptest::prelude::*;
use serde_json::Value;

const TIMESTAMP: &str = "2026-11-28T04:07:25.123Z";

// ---------------------------------------------------------------------------------------------
// Strategies

/// Markdown and code-fence pieces. Segments are concatenated, so a fence may stand at the start
/// of a line or in the middle of one (the `fence_info_string_*` tests cover a fence followed by
/// a long token on its line).
const MARKUP: &[&str] = &[
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
const UNICODE: &[&str] = &[
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

fn segment() -> impl Strategy<Value = String> {
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
fn cap(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        s
    } else {
        s.chars().take(max).collect()
    }
}

/// Text of 0..=`max` chars built from segments (some small, some large).
fn text(max: usize, segments: usize) -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 0..segments), 1usize..=3)
        .prop_map(move |(v, r)| cap(v.concat().repeat(r), max))
}

/// One line (no newlines), up to `max` chars.
fn line(max: usize) -> impl Strategy<Value = String> {
    text(max, 40).prop_map(|s| s.replace('\n', " "))
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => text(200, 20),
        2 => text(20_000, 400),
        1 => text(20_000, 2000),
    ]
}

fn title() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        2 => line(80).prop_map(Some),
        2 => line(600).prop_map(Some),
        1 => (200usize..600).prop_map(|n| Some("T".repeat(n))),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z_]{1,20}",
        2 => line(40),
        1 => "[a-zA-Z ]{200,320}",
        1 => (60usize..90).prop_map(|n| "👍🏽".repeat(n)),
        1 => Just("  ".to_string()),
    ]
}

fn value() -> impl Strategy<Value = MetadataValue> {
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

fn metadata() -> impl Strategy<Value = Vec<MetadataEntry>> {
    prop::collection::vec((key(), value()), 0..60).prop_map(|v| {
        v.into_iter()
            .map(|(key, value)| MetadataEntry { key, value })
            .collect()
    })
}

fn images() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        "[a-z0-9]{1,40}".prop_map(|p| format!("https://example.com/{p}.png")),
        0..=5,
    )
}

fn snowflake() -> impl Strategy<Value = String> {
    "[1-9][0-9]{17}"
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        1 => body().prop_map(Message::Text),
        3 => (title(), prop::option::of(body()), metadata(), images()).prop_map(
            |(title, body, metadata, images)| {
                Message::Structured(AlerterMessage { title, body, metadata, images })
            }
        ),
    ]
}

fn params() -> impl Strategy<Value = Params> {
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

// ---------------------------------------------------------------------------------------------
// Checks

/// The bodies as the service sends them: nonce, `enforce_nonce`, parts 2.. reply to the first.
fn as_sent(parts: &[CreateMessage]) -> Vec<Value> {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut p = p.clone();
            p.nonce = Some(alerter_discord::service::nonce(u64::MAX, i));
            p.enforce_nonce = Some(true);
            p.message_reference = (i > 0).then(|| MessageReference {
                message_id: "1234567890123456789".into(),
                fail_if_not_exists: false,
            });
            serde_json::to_value(&p).expect("serializes")
        })
        .collect()
}

fn check_valid(parts: &[CreateMessage]) -> Result<(), TestCaseError> {
    for (i, body) in as_sent(parts).iter().enumerate() {
        let problems = spec::create_body_problems(body);
        prop_assert!(
            problems.is_empty(),
            "part {} of {}: {:#?}\nbody: {}",
            i + 1,
            parts.len(),
            problems,
            spec::truncate_for_log(&body.to_string())
        );
    }
    Ok(())
}

/// The part marker of part `k` of `n`, if the message carries it where the renderer puts them.
fn marked(m: &CreateMessage, k: usize, n: usize) -> bool {
    let mark = format!("({k}/{n})");
    match m.embeds.last() {
        Some(e) => e.footer.as_ref().is_some_and(|f| f.text.contains(&mark)),
        None => m.content.as_deref().is_some_and(|c| c.ends_with(&mark)),
    }
}

/// Remove `marker` from where the renderer puts it on the first message; false if absent.
fn unmark(m: &mut CreateMessage, marker: &str) -> bool {
    let shared = format!(" · {marker}");
    if let Some(e) = m.embeds.first_mut() {
        let Some(f) = e.footer.take() else {
            return false;
        };
        if f.text == marker {
            return true;
        }
        let rest = f.text.strip_suffix(&shared).map(str::to_string);
        e.footer = Some(render::Footer {
            text: rest.clone().unwrap_or(f.text),
        });
        return rest.is_some();
    }
    let Some(c) = m.content.as_mut() else {
        return false;
    };
    for suffix in [format!("\n-# {marker}"), shared] {
        if let Some(rest) = c.strip_suffix(&suffix) {
            *c = rest.to_string();
            return true;
        }
    }
    false
}

/// The text chunks of the output in order: each part's content (without the ping line and the
/// part marker), then its embed descriptions.
fn text_chunks(parts: &[CreateMessage], ping: Option<&str>) -> Vec<String> {
    let n = parts.len();
    let mut out = Vec::new();
    for (i, m) in parts.iter().enumerate() {
        if let Some(c) = &m.content {
            let mut c = c.as_str();
            if n > 1 {
                c = c
                    .strip_suffix(&format!("\n-# ({}/{n})", i + 1))
                    .unwrap_or(c);
            }
            if let Some(p) = ping {
                c = c
                    .strip_prefix(p)
                    .map_or(c, |r| r.strip_prefix('\n').unwrap_or(r));
            }
            if !c.is_empty() {
                out.push(c.to_string());
            }
        }
        out.extend(m.embeds.iter().filter_map(|e| e.description.clone()));
    }
    out
}

/// Concatenates chunks, removing fence repairs (the renderer's own inverse of `split_text`).
fn join_repaired(chunks: &[String]) -> String {
    alerter_discord::render::join_split(chunks)
}

/// Lines of `input` that must survive: non-blank and not a fence line (markup the renderer may
/// close and reopen).
fn content_lines(input: &str) -> impl Iterator<Item = &str> {
    input
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("```"))
}

fn check_lines_in_order(haystack: &str, input: &str, what: &str) -> Result<(), TestCaseError> {
    let mut at = 0;
    // Trailing whitespace is not content (Discord trims it too).
    for line in content_lines(input).map(str::trim_end) {
        match haystack[at..].find(line) {
            Some(p) => at += p + line.len(),
            None => {
                return Err(TestCaseError::fail(format!(
                    "{what}: line {line:?} is missing (or out of order) after byte {at} of the output:\n{}",
                    spec::truncate_for_log(haystack)
                )))
            }
        }
    }
    Ok(())
}

/// The longest prefix of `s` with at most `max` UTF-16 units.
fn prefix_units(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// Whether field name `name` shows metadata key `key`, whole or visibly cut.
fn shows_key(name: &str, key: &str) -> bool {
    if len(key) <= limits::FIELD_NAME {
        name == key
    } else {
        name.strip_suffix('…')
            .is_some_and(|p| key.starts_with(p) && len(p) >= limits::FIELD_NAME - 8)
    }
}

/// `ids` without repeats, first occurrence kept.
fn dedup(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

fn is_blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|t| t.trim().is_empty())
}

/// Everything checked for one rendered message.
fn check_render(
    msg: &Message,
    params: &Params,
    trailer: Option<&str>,
) -> Result<(), TestCaseError> {
    check_render_marked(msg, params, trailer, None)
}

/// The same for a message carrying a marker (an ask's key): valid as sent, the marker on the
/// first message where the renderer promises it, and everything else as without it.
fn check_render_marked(
    msg: &Message,
    params: &Params,
    trailer: Option<&str>,
    marker: Option<&str>,
) -> Result<(), TestCaseError> {
    let mut doc = Document::from_message(msg, params).expect("from_message");
    doc.trailer = trailer.map(str::to_string);
    doc.marker = marker.map(str::to_string);
    let mentions = allowed_mentions(params).expect("valid ids");
    let result = render(&doc, &mentions, TIMESTAMP);
    let result = match (result, marker) {
        (Ok(mut parts), Some(marker)) => {
            check_valid(&parts)?;
            prop_assert!(
                unmark(&mut parts[0], marker),
                "marker missing: {:?}",
                parts[0]
            );
            Ok(parts)
        }
        (other, _) => other,
    };

    let (title, body, metadata, images) = match msg {
        Message::Text(t) => (None, Some(t.clone()), vec![], vec![]),
        Message::Structured(m) => (
            m.title.clone(),
            m.body.clone(),
            m.metadata.clone(),
            m.images.clone(),
        ),
    };
    let payload_shown = params.include_format_blocks.unwrap_or(true)
        && params.payload.as_ref().is_some_and(|p| {
            [&p.pipeline_name, &p.step_name, &p.stack_name]
                .iter()
                .any(|v| !is_blank(v))
        });
    let empty = is_blank(&title)
        && is_blank(&body)
        && metadata.is_empty()
        && images.is_empty()
        && !payload_shown;
    let parts = match result {
        Err(e) => {
            prop_assert!(empty, "a non-empty message was refused: {e:?}");
            return Ok(());
        }
        Ok(parts) => parts,
    };
    prop_assert!(!empty, "an empty message was rendered");
    prop_assert!(!parts.is_empty());

    // 1. Valid per the spec and Discord's limits, with the documented mentions.
    check_valid(&parts)?;
    let n = parts.len();
    for (i, m) in parts.iter().enumerate() {
        prop_assert!(m.allowed_mentions.parse.is_empty());
        prop_assert!(!m.allowed_mentions.replied_user);
        prop_assert_eq!(&m.allowed_mentions.users, &dedup(&params.mention_users));
        prop_assert_eq!(&m.allowed_mentions.roles, &dedup(&params.mention_roles));
        if n > 1 {
            prop_assert!(marked(m, i + 1, n), "part {} of {} is not marked", i + 1, n);
        }
    }

    // 2. Nothing lost: body (and trailer) lines in order, in the text of the parts.
    let pings: Vec<String> = mentions
        .roles
        .iter()
        .map(|r| format!("<@&{r}>"))
        .chain(mentions.users.iter().map(|u| format!("<@{u}>")))
        .collect();
    let ping = (!pings.is_empty()).then(|| pings.join(" "));
    let text = join_repaired(&text_chunks(&parts, ping.as_deref()));
    let mut expected = String::new();
    if let Some(b) = &body {
        expected.push_str(b);
    }
    if let Some(t) = trailer {
        expected.push('\n');
        expected.push_str(t);
    }
    check_lines_in_order(&text, &expected, "body")?;

    // 3. The title: whole as the embed title, or cut with a mark and shown whole in the text.
    let first = parts[0].embeds.first();
    if let Some(t) = title.as_ref().filter(|t| !t.trim().is_empty()) {
        let shown = first.and_then(|e| e.title.as_deref()).unwrap_or("");
        if len(t) <= limits::TITLE {
            prop_assert_eq!(shown, t.as_str());
        } else {
            let cut = shown.strip_suffix('…');
            prop_assert!(
                cut.is_some_and(|c| t.starts_with(c) && !c.is_empty()),
                "title {:?}",
                shown
            );
            prop_assert!(text.contains(t.trim()), "the long title is not shown whole");
        }
    }

    // 4. Every metadata key in order (cut with '…' if long), and every value's lines in order.
    let fields: Vec<&render::Field> = parts
        .iter()
        .flat_map(|m| &m.embeds)
        .flat_map(|e| &e.fields)
        .collect();
    let mut at = 0;
    for entry in metadata.iter().filter(|e| !e.key.trim().is_empty()) {
        let pos = fields[at..]
            .iter()
            .position(|f| shows_key(&f.name, &entry.key));
        prop_assert!(
            pos.is_some(),
            "metadata key {:?} missing or out of order; fields: {:?}",
            entry.key,
            fields.iter().map(|f| &f.name).collect::<Vec<_>>()
        );
        at += pos.unwrap_or(0) + 1;
    }
    prop_assert!(
        fields.len() >= metadata.len(),
        "{} fields for {} metadata entries",
        fields.len(),
        metadata.len()
    );
    let values: Vec<String> = fields.iter().map(|f| f.value.clone()).collect();
    let values = join_repaired(&values);
    let all_values: String = metadata
        .iter()
        .map(|e| render::metadata_text(&e.value) + "\n")
        .collect();
    check_lines_in_order(&values, &all_values, "metadata values")?;

    // 5. Every image, in order.
    let shown: Vec<&str> = parts
        .iter()
        .flat_map(|m| &m.embeds)
        .filter_map(|e| e.image.as_ref().map(|i| i.url.as_str()))
        .collect();
    prop_assert_eq!(shown, images.iter().map(String::as_str).collect::<Vec<_>>());

    // 6. Pings only from the first part's content, and only the ids asked for.
    if let Some(p) = &ping {
        prop_assert!(parts[0]
            .content
            .as_deref()
            .is_some_and(|c| c.starts_with(p.as_str())));
    }
    Ok(())
}

/// Splits `chunks` back into `text`: each chunk is a piece of the text, except that a chunk may
/// end with a closing fence repair ("```" or "\n```") exactly when the next one starts with a
/// reopening fence line. Returns the heads (the pieces of `text`) or `None`.
fn unrepair(chunks: &[String], text: &str) -> Option<Vec<(usize, usize)>> {
    // States after each chunk: (position in text, next chunk is reopened, parent state index,
    // head range).
    type State = (usize, bool, usize, (usize, usize));
    let mut layers: Vec<Vec<State>> = vec![vec![(0, false, 0, (0, 0))]];
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let mut next: Vec<State> = Vec::new();
        for (si, &(pos, reopened, _, _)) in layers[i].iter().enumerate() {
            let mut c = chunk.as_str();
            if reopened {
                if !c.starts_with("```") {
                    continue;
                }
                match c.find('\n') {
                    Some(nl) => c = &c[nl + 1..],
                    None => continue,
                }
            }
            let rest = &text[pos..];
            let mut candidates: Vec<(&str, bool)> = vec![(c, false)];
            if !last {
                // The repair is "```" after a head ending in a newline, or "\n```".
                if let Some(h) = c.strip_suffix("```").filter(|h| h.ends_with('\n')) {
                    candidates.push((h, true));
                    candidates.push((&h[..h.len() - 1], true));
                }
            }
            for (head, repaired) in candidates {
                if rest.starts_with(head) {
                    let state = (pos + head.len(), repaired, si, (pos, pos + head.len()));
                    if !next.iter().any(|s| s.0 == state.0 && s.1 == state.1) {
                        next.push(state);
                    }
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        layers.push(next);
    }
    let end = layers
        .last()?
        .iter()
        .position(|s| s.0 == text.len() && !s.1)?;
    let mut heads = Vec::with_capacity(chunks.len());
    let mut idx = end;
    for layer in (1..layers.len()).rev() {
        let s = layers[layer][idx];
        heads.push(s.3);
        idx = s.2;
    }
    heads.reverse();
    Some(heads)
}

fn joins_its_predecessor(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0xFE0F | 0x1F3FB..=0x1F3FF)
}

// ---------------------------------------------------------------------------------------------
// Properties

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

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

    /// `split_text(text, n)`: chunks of at most n + 20 UTF-16 units that give back the text once
    /// the fence repairs are removed, and never start with a mark that belongs to the previous
    /// character (unless a single grapheme is longer than the chunk).
    #[test]
    fn split_text_bounds_and_round_trips(
        text in body(),
        n in prop_oneof![1usize..64, 64usize..5000],
    ) {
        let chunks = split_text(&text, n);
        prop_assert_eq!(chunks.is_empty(), text.is_empty());
        for c in &chunks {
            prop_assert!(!c.is_empty());
            prop_assert!(len(c) <= n + 20, "chunk of {} units for n = {}", len(c), n);
        }
        let heads = unrepair(&chunks, &text);
        prop_assert!(heads.is_some(), "the chunks do not give back the text ({} chunks)", chunks.len());
        if n >= 64 {
            for (start, end) in heads.unwrap_or_default().into_iter().skip(1) {
                let head = &text[start..end];
                prop_assert!(
                    !head.chars().next().is_some_and(joins_its_predecessor),
                    "a chunk starts with a combining mark / modifier: {:?}",
                    head.chars().take(3).collect::<String>()
                );
            }
        }
    }

    /// Code blocks stay balanced in every chunk of well-formed markdown.
    #[test]
    fn split_text_keeps_code_blocks_balanced(
        blocks in prop::collection::vec((line(40), text(4000, 200)), 1..6),
        n in 200usize..4000,
    ) {
        let text: String = blocks
            .iter()
            .enumerate()
            .map(|(i, (prose, code))| {
                let (prose, code) = (prose.replace("```", "'''"), code.replace("```", "'''"));
                // Every other block opens in the middle of a line and closes before more text.
                if i % 2 == 0 {
                    format!("{prose}\n```python\n{code}\n```\n")
                } else {
                    format!("{prose} ```python\n{code}\n``` after the block\n")
                }
            })
            .collect();
        for c in split_text(&text, n) {
            prop_assert_eq!(c.matches("```").count() % 2, 0, "unbalanced chunk: {}", c);
        }
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

/// A code fence whose info string is long (a fence followed by a long token on the same line,
/// e.g. minified JSON right after ```) must not blow up the chunks: the reopened fence line is
/// copied whole into every following chunk.
#[test]
fn fence_info_string_long_stays_within_bounds() {
    let text = format!("```{}\n{}\n```", "a".repeat(5000), "b".repeat(5000));
    let chunks = split_text(&text, 3900);
    assert!(
        chunks.len() <= 4,
        "{} chunks for 10,000 characters",
        chunks.len()
    );
    for c in &chunks {
        assert!(len(c) <= 3900 + 20, "chunk of {} units", len(c));
    }
}

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
