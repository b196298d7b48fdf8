//! Text splitting for Discord's length limits: cut at line breaks, then spaces, never between a
//! character and its combining marks, and keep ``` code blocks balanced by closing a block at
//! the cut and reopening it (same language) in the next chunk. [`join_split`] undoes it exactly.
//! Lengths are UTF-16 units ([`super::len`]).

use super::len;

/// The longest prefix of `s` of at most `max` UTF-16 units, on a char boundary.
pub(super) fn take_units(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// Marks that must stay with the character before them.
fn is_joiner(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
        | 0x200C | 0x200D | 0xFE00..=0xFE0F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

/// Split text into chunks of at most `max` UTF-16 units (plus a fence repair of at most 20),
/// preferring line breaks, then spaces, never inside a grapheme's combining marks. A chunk that
/// ends inside a ``` code block is closed, and the next one reopens it with the same language.
/// Concatenating the chunks with the fence repairs removed gives back `text`.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    // Counted once and then kept up to date: counting the rest anew for each chunk made a
    // long log quadratic.
    let mut rest_len = len(text);
    let mut reopen: Option<String> = None;
    while !rest.is_empty() {
        let prefix = reopen
            .as_ref()
            .map(|f| format!("{f}\n"))
            .unwrap_or_default();
        let budget = max.saturating_sub(len(&prefix)).max(1);
        let cut = if rest_len <= budget {
            rest.len()
        } else {
            split_point(rest, budget)
        };
        let (head, tail) = rest.split_at(cut);
        rest_len -= len(head);
        let mut chunk = prefix + head;
        reopen = open_fence(&chunk);
        if reopen.is_some() && !tail.is_empty() {
            // Always "\n```", so that `join_split` can undo it exactly.
            chunk.push_str("\n```");
        }
        out.push(chunk);
        rest = tail;
    }
    out
}

/// The inverse of [`split_text`]: concatenate chunks, dropping each fence repair (a closing
/// "\n```" where the next chunk reopens, and that reopening fence line).
pub fn join_split(chunks: &[String]) -> String {
    let mut out = String::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut c = chunk.as_str();
        if i > 0 && chunks[i - 1].ends_with("\n```") && c.starts_with("```") {
            c = c.split_once('\n').map_or("", |(_, rest)| rest);
        }
        if chunks.get(i + 1).is_some_and(|n| n.starts_with("```")) {
            c = c.strip_suffix("\n```").unwrap_or(c);
        }
        out.push_str(c);
    }
    out
}

/// Byte index at which to cut `s` so the head has at most `budget` UTF-16 units.
fn split_point(s: &str, budget: usize) -> usize {
    let hard = take_units(s, budget).len();
    let window = &s[..hard];
    // Prefer the last newline in the second half of the window, then the last space.
    let floor = hard / 2;
    let at = window
        .rfind('\n')
        .filter(|&i| i >= floor)
        .map(|i| i + 1)
        .or_else(|| window.rfind(' ').filter(|&i| i >= floor).map(|i| i + 1))
        .unwrap_or(hard);
    // Never separate a combining mark, variation selector or joiner from its base.
    let mut cut = at;
    while cut > 0 {
        let next = s[cut..].chars().next();
        let prev = s[..cut].chars().next_back();
        if next.is_some_and(is_joiner) || prev == Some('\u{200D}') {
            cut -= prev.map_or(1, char::len_utf8);
        } else {
            break;
        }
    }
    if cut == 0 {
        // A single grapheme longer than the budget: cut hard rather than loop forever.
        cut = s.chars().next().map_or(s.len(), char::len_utf8).max(hard);
    }
    cut
}

/// If `chunk` ends inside a ``` block, the fence that reopens it: "```lang" when the opening
/// fence's info string is a plausible language (at most 20 of `A-Za-z0-9+#._-`), else a bare
/// "```", so a long line after the fence is never copied into every chunk. Every ``` opens or
/// closes a block, at the start of a line or in the middle of one, as Discord renders them.
fn open_fence(chunk: &str) -> Option<String> {
    let mut open: Option<String> = None;
    for line in chunk.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("```") {
            rest = &rest[at + 3..];
            open = match open {
                Some(_) => None,
                None => {
                    let lang = rest.trim();
                    let plausible = lang.len() <= 20
                        && lang
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"+#._-".contains(&b));
                    Some(format!("```{}", if plausible { lang } else { "" }))
                }
            };
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_blocks_stay_balanced_across_splits() {
        let code: String = (0..400).map(|i| format!("    frame {i}\n")).collect();
        let text = format!("Traceback:\n```python\n{code}```\nend");
        for chunk in split_text(&text, 1900) {
            assert_eq!(chunk.matches("```").count() % 2, 0, "unbalanced: {chunk}");
        }
        let chunks = split_text(&text, 1900);
        assert!(chunks[1].starts_with("```python\n"));
    }

    #[test]
    fn join_split_undoes_split_text_exactly() {
        let code: String = (0..300).map(|i| format!("    frame {i}\n")).collect();
        for text in [
            format!("Traceback:\n```python\n{code}```\nend"),
            format!("x\n```{}\n```", "j".repeat(5000)),
            "plain ".repeat(2000),
        ] {
            let chunks = split_text(&text, 1000);
            assert!(chunks.len() > 1);
            assert!(chunks.iter().all(|c| len(c) <= 1000 + 20));
            assert_eq!(join_split(&chunks), text);
        }
    }

    #[test]
    fn a_fence_in_the_middle_of_a_line_is_closed_and_reopened_too() {
        let code: String = (0..300).map(|i| format!("    frame {i}\n")).collect();
        let text = format!("see the log: ```python\n{code}``` and more");
        let chunks = split_text(&text, 1000);
        assert!(chunks.len() > 2);
        for c in &chunks {
            assert_eq!(c.matches("```").count() % 2, 0, "unbalanced: {c}");
        }
        assert!(chunks[1].starts_with("```python\n"), "{}", chunks[1]);
        assert_eq!(join_split(&chunks), text);
        // Inline ```code``` opens and closes on one line: nothing to repair.
        assert_eq!(open_fence("a ```x``` b ```y``` c"), None);
        assert_eq!(open_fence("a ```x``` b ```sh"), Some("```sh".into()));
    }

    #[test]
    fn cuts_fall_after_a_line_break_else_after_a_space() {
        let lines: String = (0..200).map(|i| format!("line number {i:03}\n")).collect();
        let chunks = split_text(&lines, 1000);
        assert!(chunks.len() > 3);
        for c in &chunks[..chunks.len() - 1] {
            assert!(
                c.ends_with('\n'),
                "cut inside a line: {:?}",
                &c[c.len() - 20..]
            );
            assert!(len(c) > 500, "a chunk of {} for a budget of 1000", len(c));
        }
        let words = "word ".repeat(1000);
        let chunks = split_text(&words, 1000);
        for c in &chunks[..chunks.len() - 1] {
            assert!(
                c.ends_with("word "),
                "cut inside a word: {:?}",
                &c[c.len() - 10..]
            );
        }
    }

    #[test]
    fn splits_never_separate_combining_marks() {
        let text = "e\u{301}".repeat(3000);
        for chunk in split_text(&text, 1000) {
            assert!(!chunk.starts_with('\u{301}'));
            assert!(len(&chunk) <= 1000);
        }
    }
}
