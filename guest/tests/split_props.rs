//! Property tests of the text splitter (`render::split_text`), on which every long message
//! depends: chunks within bounds that give back the text once the fence repairs are removed,
//! never starting inside a grapheme, with code blocks balanced in every chunk.
//!
//! `cargo test --release -p alerter-discord --test split_props`

mod common;

use alerter_discord::render::{len, split_text};
use common::checks::*;
use common::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    // 64 cases by default (a few seconds in release); PROPTEST_CASES=N for a longer hunt.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

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
